//! `witness-drop`: the server and the operator's commands. Thin: parse, build state, run.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use witness_drop::config::Config;
use witness_drop::day::Day;
use witness_drop::keys::{self, DEMO_MARKER};
use witness_drop::operator;
use witness_drop::store::Store;
use witness_drop::web::{self, AppState};

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
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("witness-drop: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr, with no timestamps: journald adds its own, and our lines must not place a
/// submission in time. Nothing logs per request.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .without_time()
        .with_target(false)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .init();
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve { config } => {
            let config = Config::load(config.as_deref())?;
            serve(config, false)
        }
        Command::Demo { dir, listen } => demo(&dir, &listen),
        Command::Export { config, out, all } => {
            let config = Config::load(config.as_deref())?;
            let mut conn = operator::connect(&config.data_dir)?;
            let report = operator::export(conn.backend(), &out, all)
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
        Command::Check { config } => check(config.as_deref()),
        Command::ImportReplies { config, dir } => {
            let config = Config::load(config.as_deref())?;
            let mut conn = operator::connect(&config.data_dir)?;
            let lines = operator::import_replies(conn.backend(), &dir)
                .with_context(|| format!("cannot import replies from {}", dir.display()))?;
            let imported = lines.iter().filter(|l| l.refused.is_none()).count();
            for l in &lines {
                match &l.refused {
                    None => println!("imported {}", l.file),
                    Some(why) => println!("refused {}: {why}", l.file),
                }
            }
            let failed = lines
                .iter()
                .filter(|l| {
                    l.refused
                        .as_deref()
                        .is_some_and(|w| w != "already imported")
                })
                .count();
            println!(
                "imported {imported} repl{}, refused {}",
                if imported == 1 { "y" } else { "ies" },
                lines.len() - imported
            );
            // Already-imported files are not an error: importing the same folder twice is safe.
            if failed > 0 {
                bail!("{failed} reply file(s) refused: see the lines above");
            }
            Ok(())
        }
    }
}

fn serve(config: Config, allow_demo: bool) -> Result<()> {
    let recipients = keys::LiveRecipients::load(&config.recipients, allow_demo)?;
    let store = Store::open(&config.data_dir)
        .with_context(|| format!("cannot open the data folder {}", config.data_dir.display()))?;
    witness_drop::admin::spawn_server(store.clone(), &config.data_dir)
        .context("cannot open the admin socket")?;
    tracing::info!(
        "{} reviewer key(s); max upload {} bytes; {} uploads at once",
        recipients.current().len(),
        config.max_upload_bytes,
        config.max_concurrent_uploads
    );
    let secret_path = config.data_dir.join(witness_drop::secrets::SECRET_FILE);
    if !secret_path.exists() && store.source_count() > 0 {
        bail!(
            "{} is missing, but the database holds {} returning source(s): restore it from the backup (without it no source can log in again); not making a new one",
            secret_path.display(),
            store.source_count()
        );
    }
    let secret = witness_drop::secrets::InstanceSecret::load_or_create(&config.data_dir)
        .context("cannot read or create the instance secret")?;
    let state = AppState::new(config, recipients, store.clone(), secret);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(web::serve(state, shutdown_signal()))
        .context("the server stopped")?;
    store.flush_all().context("final flush failed")?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

fn check(config: Option<&Path>) -> Result<()> {
    let config = Config::load(config)?;
    println!(
        "config: ok{}",
        match &config.source_file {
            Some(f) => format!(" ({})", f.display()),
            None => " (defaults and environment)".into(),
        }
    );
    let recipients = keys::load_recipients(&config.recipients, false)?;
    println!(
        "reviewer keys: {} in {}",
        recipients.list.len(),
        config.recipients.display()
    );
    let mut conn = operator::connect(&config.data_dir)
        .with_context(|| format!("cannot open the data folder {}", config.data_dir.display()))?;
    let how = conn.describe();
    let backend = conn.backend();
    let counts = backend.counts()?;
    let problems = backend.check_files()?;
    println!(
        "storage: {} ({how}): {} submission(s), {} not yet exported, {} ledger entries",
        config.data_dir.display(),
        counts.submissions,
        counts.not_exported,
        counts.ledger_entries
    );
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("problem: {p}");
        }
        bail!("{} problem(s) in the data folder", problems.len());
    }
    // Host hardening: reported, never fatal.
    for w in witness_drop::hardening::warnings() {
        println!("warning: {w}");
    }
    println!("ready to serve on {}", config.listen);
    Ok(())
}

fn demo(dir: &Path, listen: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;

    std::fs::create_dir_all(dir.join("keys"))
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let dir = dir
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", dir.display()))?;
    let identity_path = dir.join("reviewer-identity.txt");
    let recipients_path = dir.join("keys").join("recipients.txt");
    if !identity_path.exists() {
        let identity = age::x25519::Identity::generate();
        let recipient = identity.to_public().to_string();
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&identity_path)
            .with_context(|| format!("cannot create {}", identity_path.display()))?;
        use age::secrecy::ExposeSecret;
        writeln!(
            f,
            "# witness-drop DEMO reviewer identity: throw-away, never for real testimony\n# public key: {recipient}\n{}",
            identity.to_string().expose_secret()
        )?;
        std::fs::write(
            &recipients_path,
            format!("{DEMO_MARKER}\n# The demo's throw-away reviewer key. `serve` and `check` refuse this file.\n{recipient}\n"),
        )?;
    }
    let config_path = dir.join("witness-drop.toml");
    std::fs::write(
        &config_path,
        format!(
            "# witness-drop demo configuration (throw-away)\nlisten = \"{listen}\"\ndata_dir = \"data\"\nrecipients = \"keys/recipients.txt\"\norg_name = \"witness-drop demo\"\n"
        ),
    )?;
    let config = Config::load(Some(&config_path))?;
    let d = dir.display();
    println!("witness-drop demo in {d} (throw-away reviewer key: never use it for real testimony)");
    if config.listen.port() == 0 {
        // The system picks the port when the socket is bound; `serve` prints it.
        println!("  1. Open the address on the `witness-drop listening on` line below, and send a message with a file or two.");
    } else {
        println!(
            "  1. Open http://{}/ and send a message with a file or two.",
            config.listen
        );
    }
    println!("  2. In another terminal, export what arrived (works while this server runs):");
    println!("       cargo run --release --bin witness-drop -- export --config {d}/witness-drop.toml --out {d}/export-1");
    println!("  3. Decrypt it as a reviewer would, on the offline machine:");
    println!("       cargo run --release --bin witness-review -- decrypt --identity {d}/reviewer-identity.txt --in {d}/export-1 --out {d}/decrypted");
    println!("  Stop with Ctrl-C.");
    serve(config, true)
}
