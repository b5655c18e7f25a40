//! `witness-drop`: the server and the operator's commands.
//!
//! Thin by design: it parses the command line, calls `witness_drop::server` and prints. Any
//! failure ends with a non-zero exit status and one line on stderr.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use witness_drop::day::Day;
use witness_drop::server::config::Config;
use witness_drop::server::operator::{self, check, demo, export, import};
use witness_drop::server::serve::{init_logging, serve, DemoKeys};
use witness_drop::util::report::one_line;

#[derive(Parser)]
#[command(
    name = "witness-drop",
    version,
    about = "A secure drop for witness testimony"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the source interface.
    Serve {
        /// Config file (default: witness-drop.toml in the working directory, if present).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// One-command demo with a throw-away reviewer key.
    Demo {
        /// Folder for the demo's key, config and data.
        #[arg(long, default_value = "./demo")]
        dir: PathBuf,
        /// Address to serve on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// Write every submission not yet exported to DIR, and mark them exported.
    Export {
        /// Config file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// A new or empty folder (for example on a USB stick).
        #[arg(long)]
        out: PathBuf,
        /// Export every stored submission, also those exported before.
        #[arg(long)]
        all: bool,
    },
    /// Import reply files written by `witness-review reply`.
    ImportReplies {
        /// Config file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The folder holding the reply files.
        dir: PathBuf,
    },
    /// Delete exported submissions received more than DAYS days ago.
    Purge {
        /// Config file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Age in days.
        #[arg(long = "exported-older-than", value_name = "DAYS")]
        exported_older_than: u64,
    },
    /// Check config, reviewer keys and storage; exit 0 when ready to serve.
    Check {
        /// Config file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// With the server stopped: rebuild whatever of the database is missing or damaged
        /// from the journal, and say what was restored.
        #[arg(long)]
        repair: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("witness-drop: {}", one_line(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve { config } => {
            let config = Config::load(config.as_deref())?;
            Ok(serve(config, DemoKeys::Refuse)?)
        }
        Command::Demo { dir, listen } => {
            let demo = demo::prepare(&dir, &listen)?;
            for line in &demo.instructions {
                println!("{line}");
            }
            Ok(serve(demo.config, DemoKeys::Allow)?)
        }
        Command::Export { config, out, all } => {
            let config = Config::load(config.as_deref())?;
            let mut conn = operator::connect(&config.data_dir)?;
            let report = export::export(conn.backend(), &out, all)
                .with_context(|| format!("export to {} failed", out.display()))?;
            println!(
                "exported {} submission(s), {} bytes of ciphertext, to {}",
                report.submissions,
                report.bytes,
                report.dir.display()
            );
            Ok(())
        }
        Command::Purge {
            config,
            exported_older_than,
        } => {
            let config = Config::load(config.as_deref())?;
            let mut conn = operator::connect(&config.data_dir)?;
            let cutoff = Day::today().minus_days(exported_older_than);
            let n = conn.backend().purge_before(cutoff)?;
            println!("purged {n} exported submission(s) received before {cutoff}");
            Ok(())
        }
        Command::Check { config, repair } => {
            if repair {
                let repaired = check::repair(config.as_deref())?;
                for line in repaired.lines() {
                    println!("{line}");
                }
            }
            let report = check::check(config.as_deref())?;
            for line in report.lines() {
                println!("{line}");
            }
            for p in &report.problems {
                eprintln!("problem: {p}");
            }
            if !report.is_ready() {
                bail!("{} problem(s) in the data folder", report.problems.len());
            }
            Ok(())
        }
        Command::ImportReplies { config, dir } => {
            let config = Config::load(config.as_deref())?;
            let mut conn = operator::connect(&config.data_dir)?;
            let report = import::import_replies(conn.backend(), &dir)
                .with_context(|| format!("cannot import replies from {}", dir.display()))?;
            for line in &report.lines {
                println!("{line}");
            }
            println!("{}", report.summary());
            // Already-imported files are not an error: importing the same folder twice is safe.
            if report.failed() > 0 {
                bail!(
                    "{} reply file(s) refused: see the lines above",
                    report.failed()
                );
            }
            Ok(())
        }
    }
}
