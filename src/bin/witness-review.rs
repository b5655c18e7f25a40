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

use witness_drop::export::Manifest;
use witness_drop::review::case::{self, CaseLock};
use witness_drop::review::case_ledger::{Agreement, CaseLedger};
use witness_drop::review::custody::{self, hash_file, CustodyLog, Event};
use witness_drop::review::decrypt::{
    decrypt_export, remove_partials, CaseLedgerCheck, Outcome, SUBMISSION_JSON,
};
use witness_drop::review::identity::{load_identity, new_passphrase, passphrase_for};
use witness_drop::review::keygen::keygen;
use witness_drop::review::reply::{
    keep_reply, load_own_keys, load_reply_target, read_reply_text, write_reply,
};
use witness_drop::review::trust::{set_trusted, trusted};
use witness_drop::review::verify::{open_export, VerifyReport};
use witness_drop::review::view::write_views;
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
    /// Check an export's ciphertext hashes and ledger chain; needs no key. With --case, also
    /// that it continues the ledger that case folder knows.
    Verify {
        /// The folder written by `witness-drop export`.
        #[arg(long = "in", value_name = "EXPORT_DIR")]
        input: PathBuf,
        /// A case folder whose remembered ledger the export must agree with.
        #[arg(long = "case", value_name = "OUT_DIR")]
        case: Option<PathBuf>,
    },
    /// Verify an export against the case folder OUT_DIR, then decrypt every submission into it
    /// (never overwriting). OUT_DIR is kept and reused for every later export.
    Decrypt {
        /// Your identity file, from `witness-review keygen`.
        #[arg(long, value_name = "FILE")]
        identity: PathBuf,
        /// The folder written by `witness-drop export`.
        #[arg(long = "in", value_name = "EXPORT_DIR")]
        input: PathBuf,
        /// The case folder (created if missing).
        #[arg(long, value_name = "OUT_DIR")]
        out: PathBuf,
        /// Set the reviewer keys the case folder trusts for replies from this recipients file
        /// of your key ceremony (for example the keys/recipients.txt you signed off).
        #[arg(long, value_name = "FILE")]
        trust: Option<PathBuf>,
    },
    /// Print the case folder's custody log, check its chain and that every file it names is
    /// unchanged; non-zero exit when anything was altered or removed.
    Custody {
        /// The case folder.
        #[arg(long = "in", value_name = "OUT_DIR")]
        input: PathBuf,
    },
    /// Encrypt a reply to the source of a decrypted submission (and to the reviewer keys the
    /// case folder trusts), as a new file in DIR for `witness-drop import-replies DIR` on the
    /// server; the reply is kept in the case folder.
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
        Command::Verify { input, case } => cmd_verify(&input, case.as_deref()),
        Command::Decrypt {
            identity,
            input,
            out,
            trust,
        } => cmd_decrypt(&identity, &input, &out, trust.as_deref()),
        Command::Custody { input } => cmd_custody(&input),
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

/// Prints a verification's problems and its summary.
fn print_report(report: &VerifyReport) {
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
}

/// Verifies an export (hashing every blob), prints problems and the summary.
fn verify_and_report(input: &Path) -> Result<VerifyReport> {
    let export =
        open_export(input).with_context(|| format!("cannot verify {}", input.display()))?;
    let bar = progress_bar(export.ciphertext_bytes(), "verifying");
    let report = export.verify(&|n| bar.inc(n));
    bar.finish_and_clear();
    print_report(&report);
    Ok(report)
}

fn cmd_verify(input: &Path, case_dir: Option<&Path>) -> Result<()> {
    let report = verify_and_report(input)?;
    if !report.is_ok() {
        bail!(
            "{} failed verification with {} problem(s) listed above: do not use it; ask the \
             operator for a fresh export",
            input.display(),
            report.problems.len()
        );
    }
    if let Some(dir) = case_dir {
        let known = CaseLedger::load(dir).context("cannot check against the case folder")?;
        let check = agreement(&known, report.manifest())?;
        println!(
            "agrees with the {} ledger entries the case folder {} knows",
            check.known_before,
            dir.display()
        );
    }
    Ok(())
}

/// Compares an export with the case folder's ledger: an error naming the first entry that
/// differs, or the check (a gap is said loudly on stderr).
fn agreement(known: &CaseLedger, manifest: &Manifest) -> Result<CaseLedgerCheck> {
    match known.compare(manifest) {
        Agreement::Contradicts { seq, what } => bail!(
            "ledger entry {seq} of this export contradicts the one this case folder verified \
             before ({what}): the export was altered or the server's history was rewritten; \
             do not trust it, and keep it for investigation"
        ),
        Agreement::Agrees {
            gap, ends_earlier, ..
        } => {
            if let Some((a, b)) = gap {
                eprintln!(
                    "WARNING: ledger entries {a} to {b} were never seen by this case folder: \
                     an export may be missing in between (lost, or held back). Ask the operator \
                     for it, or for an export with --all"
                );
            }
            if ends_earlier {
                eprintln!(
                    "note: this export ends before the newest ledger entry this case folder \
                     knows ({}): it is older, or the server lost entries",
                    known.head().map_or(0, |h| h.seq)
                );
            }
            Ok(CaseLedgerCheck {
                known_before: known.len(),
                agrees: true,
                gap,
            })
        }
    }
}

fn cmd_decrypt(identity_path: &Path, input: &Path, out: &Path, trust: Option<&Path>) -> Result<()> {
    // Cheap checks first, so the passphrase is not asked for an obviously wrong folder.
    let export =
        open_export(input).with_context(|| format!("cannot decrypt {}", input.display()))?;
    let identity = load_identity(identity_path, || passphrase_for(identity_path))
        .context("cannot load your identity")?;
    let _lock: CaseLock = case::lock(out)?;
    let mut log = CustodyLog::open(out).context("cannot open the case folder's custody log")?;
    if let Some(file) = trust {
        let keys = set_trusted(out, file, &mut log).context("cannot set the trusted keys")?;
        eprintln!(
            "the case folder now trusts {} reviewer key(s) for replies, from {}",
            keys.len(),
            file.display()
        );
    }

    // Every check but the ciphertext's hashes, which are checked while decrypting (one read).
    let report = export.verify_structure();
    print_report(&report);
    let export_day = report.manifest().exported_day.clone();
    let head = report.head();
    let refuse = |log: &mut CustodyLog, reason: String| -> Result<()> {
        log.append(Event::ExportRefused {
            export_day: export_day.clone(),
            head: head.clone(),
            reason: reason.clone(),
        })?;
        bail!("refusing to decrypt anything: {reason}")
    };
    if !report.is_ok() {
        let n = report.problems.len();
        return refuse(
            &mut log,
            format!(
                "{} failed verification with {n} problem(s) listed above; ask the operator for \
                 a fresh export",
                input.display()
            ),
        );
    }
    let mut known = CaseLedger::load(out).context("cannot read the case folder's ledger")?;
    let check = match agreement(&known, report.manifest()) {
        Ok(c) => c,
        Err(e) => return refuse(&mut log, e.to_string()),
    };
    let Ok(mut verified) = report.into_verified() else {
        bail!("refusing to decrypt anything: the export did not verify");
    };
    let new_entries = known
        .remember(out, verified.manifest())
        .context("cannot record the ledger in the case folder")?;
    log.append(Event::ExportVerified {
        export_day,
        head,
        submissions: verified.manifest().submissions.len(),
        new_entries,
        gap: check.gap,
    })?;
    verified.set_case_ledger(check);
    for name in remove_partials(out, &mut log)? {
        eprintln!("removed {name}, left unfinished by an interrupted decrypt; decrypting it again");
    }

    let bar = progress_bar(verified.ciphertext_bytes(), "decrypting");
    // Working copies are made by this very binary, in a separate process for each file.
    let cleaner = std::env::current_exe().ok();
    if cleaner.is_none() {
        eprintln!("note: cannot find this program's own path, so no working copies are made");
    }
    let result = decrypt_export(
        &verified,
        &identity,
        out,
        cleaner.as_deref(),
        &mut log,
        &|n| bar.inc(n),
    );
    bar.finish_and_clear();
    let result = result.context("cannot decrypt")?;

    for (id, outcome) in &result.outcomes {
        match outcome {
            Outcome::Decrypted { folder, files } => {
                println!("{id}: message and {files} file(s) in {}", folder.display());
            }
            Outcome::Skipped { folder } => eprintln!(
                "{id}: already decrypted, not overwriting {}",
                folder.display()
            ),
            Outcome::Failed { folder, problems } => {
                for p in problems {
                    eprintln!("problem: {p}");
                }
                if folder.join(SUBMISSION_JSON).exists() {
                    eprintln!(
                        "{id}: what could be verified is in {}; its problems are recorded there",
                        folder.display()
                    );
                }
            }
        }
    }
    refresh_view(out);
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

/// Regenerates the case folder's reading view; what it could not do is said, not fatal (the
/// evidence is in place either way).
fn refresh_view(case_dir: &Path) {
    match write_views(case_dir) {
        Ok(report) => {
            for p in &report.problems {
                eprintln!("reading view: {p}");
            }
            eprintln!(
                "reading view: {} (open it in a browser)",
                case_dir.join("index.html").display()
            );
        }
        Err(e) => eprintln!("reading view not updated: {}", one_line(&e)),
    }
}

fn cmd_custody(case_dir: &Path) -> Result<()> {
    let report = custody::check(case_dir).context("cannot read the custody log")?;
    for record in &report.records {
        println!("{}", custody::describe(record));
    }
    for p in &report.problems {
        eprintln!("problem: {p}");
    }
    println!(
        "{} record(s); {} file(s) checked against their recorded SHA-256",
        report.records.len(),
        report.files_checked
    );
    if !report.is_ok() {
        bail!(
            "the custody log of {} shows {} problem(s) listed above: something was altered or \
             removed",
            case_dir.display(),
            report.problems.len()
        );
    }
    Ok(())
}

fn cmd_reply(identity_path: &Path, submission: &Path, message: &Path, out: &Path) -> Result<()> {
    // Cheap checks first, so the passphrase is not asked for a submission that cannot be
    // answered or a message that cannot be sent.
    let target = load_reply_target(submission).context("cannot reply")?;
    let text = read_reply_text(message).context("cannot reply")?;
    let submission_dir = if submission.is_dir() {
        submission.to_path_buf()
    } else {
        submission
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    };
    let case_dir = submission_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let _lock: CaseLock = case::lock(&case_dir)?;
    let trusted_keys = trusted(&case_dir).context("cannot read the trusted reviewer keys")?;
    let own = load_own_keys(identity_path, || passphrase_for(identity_path))
        .context("cannot load your identity")?;
    let written = write_reply(&target, &text, &own, &trusted_keys, out).context("cannot reply")?;
    let reviewers = written.recipients.len().saturating_sub(1);
    eprintln!(
        "Encrypted the reply to source {} and to {reviewers} reviewer key(s), yours included:",
        target.shown_designation()
    );
    for r in written.recipients.iter().skip(1) {
        eprintln!("  {r}");
    }
    if !written.untrusted.is_empty() {
        eprintln!(
            "NOT used: the submission lists {} reviewer key(s) that this case folder does not \
             trust (the server wrote that list):",
            written.untrusted.len()
        );
        for k in &written.untrusted {
            eprintln!("  {k}");
        }
    }
    if trusted_keys.is_empty() {
        eprintln!(
            "note: {} trusts no reviewer keys yet, so only you and the source can read this \
             reply; set them with `witness-review decrypt --trust FILE` from your key ceremony",
            case_dir.display()
        );
    }
    let (kept, kept_path) =
        keep_reply(&submission_dir, &target, &written, &text).context("cannot keep the reply")?;
    let mut log = CustodyLog::open(&case_dir).context("cannot open the custody log")?;
    log.append(Event::ReplyWritten {
        id: submission_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        reply_id: kept.id.clone(),
        recipients: kept.recipients.clone(),
        text_sha256: kept.text_sha256.clone(),
        kept: hash_file(&case_dir, &kept_path).context("cannot hash the kept reply")?,
    })?;
    refresh_view(&case_dir);
    println!("{}", written.file_name);
    println!(
        "next: carry {} to the server and run `witness-drop import-replies {}`",
        out.display(),
        out.display()
    );
    Ok(())
}
