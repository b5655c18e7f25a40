//! `witness-review`: the reviewer's offline tool (spec, "Binaries").
//!
//! Thin by design: it parses arguments, asks for passphrases, draws progress bars and
//! prints; the logic, and every guarantee about what is written where, lives in
//! `witness_drop::review`. Invariant: any failure ends with a non-zero exit status and one
//! line on stderr saying what went wrong and what to do next; nothing here panics on input.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use witness_drop::review::decrypt::{decrypt_export, Outcome, SUBMISSION_JSON};
use witness_drop::review::identity::{load_identity, new_passphrase, passphrase_for};
use witness_drop::review::keygen::keygen;
use witness_drop::review::reply::{load_own_keys, load_reply_target, read_reply_text, write_reply};
use witness_drop::review::verify::{open_export, VerifyReport};
use witness_drop::review::PASSPHRASE_ENV;
use witness_drop::util::report::one_line;

/// The reviewer's offline tool for witness-drop: make a key, verify an export, decrypt it,
/// reply to a source.
#[derive(Parser)]
#[command(name = "witness-review", version)]
#[command(after_help = format!(
    "Passphrases are asked on the terminal; for scripts, {PASSPHRASE_ENV} supplies one."
))]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a new age identity (passphrase-protected unless --no-passphrase) and print its
    /// public key for the server's keys/recipients.txt.
    Keygen {
        /// The identity file to create; it must not exist yet.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Do not protect the file with a passphrase (only for throw-away keys).
        #[arg(long)]
        no_passphrase: bool,
    },
    /// Check an export's ciphertext hashes and ledger chain; needs no key.
    Verify {
        /// The folder written by `witness-drop export`.
        #[arg(long = "in", value_name = "EXPORT_DIR")]
        input: PathBuf,
    },
    /// Verify an export, then decrypt every submission into OUT_DIR (never overwriting).
    Decrypt {
        /// Your identity file, from `witness-review keygen`.
        #[arg(long, value_name = "FILE")]
        identity: PathBuf,
        /// The folder written by `witness-drop export`.
        #[arg(long = "in", value_name = "EXPORT_DIR")]
        input: PathBuf,
        /// Where to write the decrypted submissions (created if missing).
        #[arg(long, value_name = "OUT_DIR")]
        out: PathBuf,
    },
    /// Encrypt a reply to the source of a decrypted submission (and to every reviewer), as a
    /// new file in DIR for `witness-drop import-replies DIR` on the server.
    Reply {
        /// Your identity file, from `witness-review keygen`.
        #[arg(long, value_name = "FILE")]
        identity: PathBuf,
        /// The decrypted submission folder OUT_DIR/ID written by `witness-review decrypt`.
        #[arg(long, value_name = "OUT_DIR/ID")]
        submission: PathBuf,
        /// A UTF-8 text file holding the reply.
        #[arg(long, value_name = "FILE")]
        message: PathBuf,
        /// The folder to write the reply file into (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Internal: the isolated cleaner behind working copies (reads the attachment on stdin,
    /// writes its answer and the working copy on stdout; see review::clean::worker).
    #[command(hide = true)]
    CleanWorker {
        /// The kind of file on stdin (jpeg, png, pdf, docx, xlsx, pptx).
        #[arg(long)]
        kind: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keygen { out, no_passphrase } => cmd_keygen(&out, no_passphrase),
        Command::Verify { input } => cmd_verify(&input).map(|_| ()),
        Command::Decrypt {
            identity,
            input,
            out,
        } => cmd_decrypt(&identity, &input, &out),
        Command::Reply {
            identity,
            submission,
            message,
            out,
        } => cmd_reply(&identity, &submission, &message, &out),
        Command::CleanWorker { kind } => {
            return match witness_drop::review::clean::run_worker(&kind) {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::FAILURE,
            };
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("witness-review: error: {}", one_line(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

fn cmd_keygen(out: &Path, no_passphrase: bool) -> Result<()> {
    let passphrase = if no_passphrase {
        None
    } else {
        Some(new_passphrase().context("no passphrase for the new identity")?)
    };
    let made = keygen(out, passphrase).context("keygen failed")?;
    let (protection, needed) = if made.protected {
        ("passphrase-protected identity", "it and its passphrase")
    } else {
        ("identity WITHOUT a passphrase", "it")
    };
    eprintln!(
        "Wrote a new {protection} to {} (mode 0600). Keep it on this offline machine and back \
         it up: without {needed}, submissions cannot be read.",
        made.path.display()
    );
    // Both lines are valid in a recipients file, so stdout can be appended to it as it is.
    println!("# put this line in the server's keys/recipients.txt:");
    println!("{}", made.recipient);
    Ok(())
}

fn progress_bar(total: u64, what: &'static str) -> ProgressBar {
    // indicatif draws on stderr and hides itself when stderr is not a terminal.
    let bar = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("{msg:10} [{bar:40}] {bytes}/{total_bytes} ({eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what);
    bar
}

/// Verifies an export, prints problems and the summary; the report only if it passed.
fn verify_and_report(input: &Path) -> Result<VerifyReport> {
    let export =
        open_export(input).with_context(|| format!("cannot verify {}", input.display()))?;
    let bar = progress_bar(export.ciphertext_bytes(), "verifying");
    let report = export.verify(&|n| bar.inc(n));
    bar.finish_and_clear();
    for problem in &report.problems {
        eprintln!("problem: {problem}");
    }
    if report.ledger_entries_not_in_export > 0 {
        eprintln!(
            "note: the ledger names {} submission(s) not in this export (exported earlier or \
             purged); compare them with earlier exports",
            report.ledger_entries_not_in_export
        );
    }
    println!("{}", report.summary());
    Ok(report)
}

fn cmd_verify(input: &Path) -> Result<VerifyReport> {
    let report = verify_and_report(input)?;
    if !report.is_ok() {
        bail!(
            "{} failed verification with {} problem(s) listed above: do not use it; ask the \
             operator for a fresh export",
            input.display(),
            report.problems.len()
        );
    }
    Ok(report)
}

fn cmd_decrypt(identity_path: &Path, input: &Path, out: &Path) -> Result<()> {
    // Cheap checks first, so the passphrase is not asked for an obviously wrong folder.
    open_export(input).with_context(|| format!("cannot decrypt {}", input.display()))?;
    let identity = load_identity(identity_path, || passphrase_for(identity_path))
        .context("cannot load your identity")?;

    let report = verify_and_report(input)?;
    let count = report.problems.len();
    let verified = match report.into_verified() {
        Ok(v) => v,
        Err(_) => bail!(
            "refusing to decrypt anything: {} failed verification with {count} problem(s) \
             listed above; ask the operator for a fresh export",
            input.display()
        ),
    };

    let bar = progress_bar(verified.ciphertext_bytes(), "decrypting");
    let result = decrypt_export(&verified, &identity, out, &|n| bar.inc(n));
    bar.finish_and_clear();
    let result = result.context("cannot decrypt")?;

    for (id, outcome) in &result.outcomes {
        match outcome {
            Outcome::Decrypted { folder, files } => {
                println!("{id}: message and {files} file(s) in {}", folder.display());
            }
            Outcome::Skipped { folder } => eprintln!(
                "{id}: already decrypted, not overwriting {} (delete it to decrypt again)",
                folder.display()
            ),
            Outcome::Failed { folder, problems } => {
                for p in problems {
                    eprintln!("problem: {p}");
                }
                if folder.join(SUBMISSION_JSON).exists() {
                    eprintln!(
                        "{id}: what could be verified is in {}; delete that folder to try again",
                        folder.display()
                    );
                }
            }
        }
    }
    println!(
        "decrypted {} submission(s), {} file(s) written into {}; {} skipped (already \
         decrypted), {} failed",
        result.decrypted(),
        result.files_written(),
        result.out_dir.display(),
        result.skipped(),
        result.failed()
    );
    if result.failed() > 0 {
        bail!(
            "{} submission(s) could not be decrypted (see the problems above)",
            result.failed()
        );
    }
    Ok(())
}

fn cmd_reply(identity_path: &Path, submission: &Path, message: &Path, out: &Path) -> Result<()> {
    // Cheap checks first, so the passphrase is not asked for a submission that cannot be
    // answered or a message that cannot be sent.
    let target = load_reply_target(submission).context("cannot reply")?;
    let text = read_reply_text(message).context("cannot reply")?;
    let own = load_own_keys(identity_path, || passphrase_for(identity_path))
        .context("cannot load your identity")?;
    let written = write_reply(&target, &text, &own, out).context("cannot reply")?;
    let reviewers = written.recipients.len().saturating_sub(1);
    eprintln!(
        "Encrypted the reply to source {} and to {reviewers} reviewer key(s), yours included:",
        target.shown_designation()
    );
    for r in written.recipients.iter().skip(1) {
        eprintln!("  {r}");
    }
    println!("{}", written.file_name);
    println!(
        "next: carry {} to the server and run `witness-drop import-replies {}`",
        out.display(),
        out.display()
    );
    Ok(())
}
