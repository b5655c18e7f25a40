//! `witness-review decrypt`: turns a verified export into the decrypted layout of the spec.
//!
//! ```text
//! OUT_DIR/ID/submission.json    the envelope plus a `verified` object (see `Verification`)
//! OUT_DIR/ID/message.txt        the source's message
//! OUT_DIR/ID/files/N-NAME       attachment N; NAME = safe_name(original name)
//! ```
//!
//! Invariant: never writes outside OUT_DIR, never overwrites, never opens or executes what
//! it decrypts. Every path is OUT_DIR joined with a validated id, a fixed name, or
//! `N-` + [`safe_name`]. A submission is built in a new folder `OUT_DIR/.partial-ID.XXXXXX`
//! and renamed to `OUT_DIR/ID` only when complete, so `OUT_DIR/ID` appears whole or not at
//! all: an existing `OUT_DIR/ID` (or anything at that name) means "already decrypted", and an
//! interrupted decrypt leaves only a `.partial-` folder, which the next run removes (and logs)
//! before it decrypts that submission again. Files are created with `O_EXCL` or persisted
//! with a no-clobber rename. An attachment is written to a
//! temporary file and kept only once age has authenticated the whole stream and its size and
//! SHA-256 equal the envelope's, so a truncated or altered file never appears under its name.
//! The ciphertext is read once: it is hashed while it is decrypted, and what it decrypts to is
//! kept only when both its hash (against the export and the ledger) and the plaintext's (against
//! the envelope) check. Plaintext files are mode 0600 and folders 0700.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufRead, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::case::PARTIAL_PREFIX;
use super::custody::{CustodyError, CustodyLog, Event, FileHash};
use super::identity::ReviewerIdentity;
use super::verify::VerifiedExport;
use super::{is_sha256_hex, shown};
use crate::envelope::{Envelope, HashingWriter, ENVELOPE_FORMAT};
use crate::export::{file_blob_name, is_valid_id, ExportedSubmission, LedgerHead, ENVELOPE_BLOB};
use crate::ledger::BlobDigest;
use crate::safename::safe_name;
use crate::util::files::{
    create_new_private_file, create_private_dir, open_regular_file, private_file_permissions,
    sync_dir,
};
use crate::util::json::error_summary;

/// Ciphertext is read, and plaintext written, in pieces of this size.
const READ_BUF: usize = 1 << 20;

/// Largest decrypted envelope accepted; it holds the message and the attachment list.
pub const MAX_ENVELOPE_BYTES: u64 = 64 << 20;

/// Names inside `OUT_DIR/ID`.
pub const SUBMISSION_JSON: &str = "submission.json";
/// The message file.
pub const MESSAGE_TXT: &str = "message.txt";
/// The attachments folder.
pub const FILES_DIR: &str = "files";

/// Why decrypting an export, or one submission of it, failed.
#[derive(Debug, thiserror::Error)]
pub enum DecryptError {
    /// The custody log could not be written: nothing more is decrypted.
    #[error(transparent)]
    Custody(#[from] CustodyError),
    /// The output folder could not be created or is not a folder.
    #[error("cannot use output folder {path}: {cause}")]
    OutDir {
        /// The folder.
        path: String,
        /// The cause.
        cause: io::Error,
    },
    /// A submission id failed validation (cannot happen after verification; checked anyway).
    #[error("invalid submission id {id}: refusing to use it as a folder name")]
    InvalidId {
        /// The id, escaped.
        id: String,
    },
    /// Creating a folder or file in the output failed.
    #[error("{id}: cannot write {path}: {cause}")]
    Write {
        /// The submission.
        id: String,
        /// The path.
        path: String,
        /// The cause.
        cause: io::Error,
    },
    /// A blob could not be opened or read.
    #[error("{id}: cannot read {blob}: {cause}")]
    ReadBlob {
        /// The submission.
        id: String,
        /// The blob.
        blob: String,
        /// The cause.
        cause: io::Error,
    },
    /// The blob is not encrypted to any key in the identity file.
    #[error("{id}: {blob} is not encrypted to your key: use the identity whose age1… line is in the server's keys/recipients.txt")]
    NotForThisKey {
        /// The submission.
        id: String,
        /// The blob.
        blob: String,
    },
    /// age refused the blob (altered, truncated or malformed); details are not given.
    #[error("{id}: {blob} failed to decrypt: it is damaged or was altered")]
    Corrupt {
        /// The submission.
        id: String,
        /// The blob.
        blob: String,
    },
    /// The ciphertext read while decrypting is not the one that was verified.
    #[error(
        "{id}: {blob} changed after it was verified: do not trust this export; make a fresh copy"
    )]
    CiphertextChanged {
        /// The submission.
        id: String,
        /// The blob.
        blob: String,
    },
    /// The decrypted envelope is larger than [`MAX_ENVELOPE_BYTES`].
    #[error("{id}: the envelope is larger than {MAX_ENVELOPE_BYTES} bytes: refusing it")]
    EnvelopeTooLarge {
        /// The submission.
        id: String,
    },
    /// The decrypted envelope is not valid.
    #[error("{id}: invalid envelope: {detail}")]
    EnvelopeInvalid {
        /// The submission.
        id: String,
        /// What is wrong (no decrypted content).
        detail: String,
    },
    /// A decrypted attachment differs from what the envelope says.
    #[error(
        "{id}: attachment {n} does not match the size and sha256 in its envelope: not written"
    )]
    PlaintextMismatch {
        /// The submission.
        id: String,
        /// The attachment number.
        n: u32,
    },
}

/// What happened to one submission.
#[derive(Debug)]
pub enum Outcome {
    /// Decrypted and written.
    Decrypted {
        /// `OUT_DIR/ID`.
        folder: PathBuf,
        /// Attachments written.
        files: usize,
    },
    /// `OUT_DIR/ID` already existed; nothing was written.
    Skipped {
        /// `OUT_DIR/ID`.
        folder: PathBuf,
    },
    /// Something failed; what could be verified was still written, described in
    /// `submission.json` when it exists.
    Failed {
        /// `OUT_DIR/ID`.
        folder: PathBuf,
        /// Every problem.
        problems: Vec<DecryptError>,
    },
}

/// The result of decrypting an export.
#[derive(Debug)]
pub struct DecryptReport {
    /// The output folder.
    pub out_dir: PathBuf,
    /// One entry per submission, in export order: the id and what happened.
    pub outcomes: Vec<(String, Outcome)>,
}

impl DecryptReport {
    /// Submissions decrypted now.
    pub fn decrypted(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Decrypted { .. }))
    }

    /// Submissions skipped because they were already decrypted.
    pub fn skipped(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Skipped { .. }))
    }

    /// Submissions that failed.
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Failed { .. }))
    }

    /// Attachments written now.
    pub fn files_written(&self) -> usize {
        self.outcomes
            .iter()
            .map(|(_, o)| match o {
                Outcome::Decrypted { files, .. } => *files,
                _ => 0,
            })
            .sum()
    }

    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.outcomes.iter().filter(|(_, o)| f(o)).count()
    }
}

/// `submission.json`: the envelope, plus what was verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecryptedSubmission {
    /// The decrypted envelope, field for field.
    #[serde(flatten)]
    pub envelope: Envelope,
    /// What `witness-review` checked.
    pub verified: Verification,
}

/// The `verified` object of `submission.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// Every ciphertext blob matched the size and SHA-256 in `export.json` and the ledger,
    /// both when verified and while decrypted.
    pub ciphertext_sha256_ok: bool,
    /// Every attachment decrypted to the size and SHA-256 listed in the envelope.
    pub plaintext_sha256_ok: bool,
    /// This submission's ledger entry.
    pub ledger_entry: LedgerHead,
    /// The ledger head of the export (compare it across exports).
    pub ledger_head: Option<LedgerHead>,
    /// `exported_day` of the export.
    pub export_day: String,
    /// The attachments written, relative to the submission folder.
    pub files: Vec<WrittenFile>,
    /// Problems, if any (empty when everything verified).
    pub problems: Vec<String>,
    /// The tool and version that decrypted it.
    pub tool: String,
    /// How this submission's export agreed with the ledger the case folder knew.
    #[serde(default)]
    pub case_ledger: Option<CaseLedgerCheck>,
    /// What each attachment's metadata reveals, and its working copy.
    #[serde(default)]
    pub attachments: Vec<AttachmentReview>,
}

/// How an export agreed with the ledger the case folder knew before it (`verified.case_ledger`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseLedgerCheck {
    /// Ledger entries the case folder knew before this export.
    pub known_before: u64,
    /// Every entry both know is the same, and the export's entries follow the known head.
    pub agrees: bool,
    /// Entries between the known head and the export's first that neither shows (an export
    /// missing in between), as `first..=last` sequence numbers.
    pub gap: Option<(u64, u64)>,
}

/// What examining one attachment found (`verified.attachments`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentReview {
    /// The attachment number.
    pub n: u32,
    /// Its kind, when the tool recognises it by content.
    pub kind: Option<super::clean::Kind>,
    /// What its metadata reveals (empty when nothing was found or it was not examined).
    pub found: Vec<super::clean::Finding>,
    /// The working copy, `working/N-NAME`, when one was made.
    pub working: Option<WrittenFile>,
    /// What the working copy no longer has.
    pub removed: Vec<String>,
    /// What the working copy still holds that can identify someone (not removed).
    #[serde(default)]
    pub kept: Vec<String>,
    /// Why no working copy was made, for a kind the tool cleans.
    pub not_cleaned: Option<String>,
}

/// Reads up to [`READ_BUF`] bytes from `from` into `buf` (a reused buffer, or a new one): as
/// many as it gives before its end or an error. Returns the bytes read, and the error if one
/// stopped it.
fn fill(from: &mut impl Read, buf: Option<Vec<u8>>) -> (Vec<u8>, Option<io::Error>) {
    let mut buf = buf.unwrap_or_else(|| Vec::with_capacity(READ_BUF));
    buf.resize(READ_BUF, 0);
    let mut filled = 0;
    let mut failed = None;
    while filled < buf.len() {
        match from.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    buf.truncate(filled);
    (buf, failed)
}

/// Reads a ciphertext file on a thread of its own, hashing it there, a few MiB ahead of the
/// decryption that reads from this side: reading and hashing the ciphertext, decrypting, and
/// hashing and writing the plaintext ([`copy_hashing`]) then all run at once.
struct PrefetchReader<'p> {
    rx: Option<std::sync::mpsc::Receiver<io::Result<Vec<u8>>>>,
    free: std::sync::mpsc::SyncSender<Vec<u8>>,
    worker: Option<std::thread::JoinHandle<(u64, String)>>,
    current: Vec<u8>,
    at: usize,
    progress: &'p dyn Fn(u64),
}

impl<'p> PrefetchReader<'p> {
    fn new(mut file: File, progress: &'p dyn Fn(u64)) -> PrefetchReader<'p> {
        const AHEAD: usize = 4;
        let (tx, rx) = std::sync::mpsc::sync_channel::<io::Result<Vec<u8>>>(AHEAD);
        let (free, free_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(AHEAD + 1);
        let worker = std::thread::spawn(move || {
            use sha2::Digest;
            let mut hasher = sha2::Sha256::new();
            let mut size = 0u64;
            loop {
                let (buf, failed) = fill(&mut file, free_rx.try_recv().ok());
                let filled = buf.len();
                hasher.update(&buf);
                size += filled as u64;
                let end = filled == 0;
                let sent = match failed {
                    Some(e) => {
                        let _ = tx.send(Err(e));
                        false
                    }
                    None => tx.send(Ok(buf)).is_ok(),
                };
                if end || !sent {
                    break;
                }
            }
            (size, hex::encode(hasher.finalize()))
        });
        PrefetchReader {
            rx: Some(rx),
            free,
            worker: Some(worker),
            current: Vec::new(),
            at: 0,
            progress,
        }
    }

    /// Reads the rest of the stream, so that the digest covers all of it.
    fn drain(&mut self) -> io::Result<()> {
        let mut buf = vec![0u8; READ_BUF];
        while self.read(&mut buf)? > 0 {}
        Ok(())
    }

    /// Size and SHA-256 (lower-case hex) of everything read (all of it, after [`Self::drain`]).
    fn finish(mut self) -> (u64, String) {
        self.rx = None;
        self.worker
            .take()
            .and_then(|w| w.join().ok())
            .unwrap_or((0, String::new()))
    }
}

impl BufRead for PrefetchReader<'_> {
    /// The rest of the current buffer, or the next one from the reading thread; empty at the
    /// end. age reads its chunks straight from here, so the ciphertext is copied once on this
    /// side (into age's chunk), not through a second buffer.
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.at == self.current.len() {
            let Some(rx) = self.rx.as_ref() else {
                self.current.clear();
                self.at = 0;
                return Ok(&[]);
            };
            match rx.recv() {
                Ok(Ok(buf)) if buf.is_empty() => {
                    self.rx = None;
                    self.current.clear();
                    self.at = 0;
                    return Ok(&[]);
                }
                Ok(Ok(buf)) => {
                    let old = std::mem::replace(&mut self.current, buf);
                    let _ = self.free.try_send(old);
                    self.at = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err(io::Error::other("the reading thread stopped")),
            }
        }
        Ok(&self.current[self.at..])
    }

    fn consume(&mut self, n: usize) {
        let n = n.min(self.current.len() - self.at);
        self.at += n;
        (self.progress)(n as u64);
    }
}

impl Read for PrefetchReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = out.len().min(available.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl Drop for PrefetchReader<'_> {
    fn drop(&mut self) {
        // Closing the channel ends the thread at its next buffer.
        self.rx = None;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// Why [`copy_hashing`] stopped.
enum Copy {
    /// Reading (decrypting) failed.
    Read(io::Error),
    /// Writing the plaintext failed.
    Write(io::Error),
}

/// Copies `from` (the decrypting stream) into `to` while hashing what is written, with the
/// hashing and writing on a second thread so that decrypting (and the ciphertext's hash, in
/// the reader) and hashing the plaintext run side by side. Buffers are reused; at most four
/// are in flight, so memory stays at a few MiB whatever the file's size.
fn copy_hashing(mut from: impl Read, to: &File) -> Result<crate::envelope::Digest256, Copy> {
    const IN_FLIGHT: usize = 4;
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(IN_FLIGHT);
    let (free_tx, free_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(IN_FLIGHT);
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> io::Result<crate::envelope::Digest256> {
            // Writeback of what was written starts every WRITEBACK_EVERY bytes, without
            // waiting for it (`POSIX_FADV_DONTNEED` starts it and then drops the pages once
            // clean), so the disk works while the file is still being decrypted and the
            // caller's final fsync has little left to do.
            const WRITEBACK_EVERY: u64 = 16 << 20;
            let mut out = HashingWriter::new(to);
            let (mut written, mut started) = (0u64, 0u64);
            while let Ok(buf) = full_rx.recv() {
                out.write_all(&buf)?;
                written += buf.len() as u64;
                if written - started >= WRITEBACK_EVERY {
                    // Advice only: the caller's own fsync at the end is what counts.
                    let _ = rustix::fs::fadvise(
                        to,
                        started,
                        std::num::NonZeroU64::new(written - started),
                        rustix::fs::Advice::DontNeed,
                    );
                    started = written;
                }
                // A full return channel only means the reader is done.
                let _ = free_tx.try_send(buf);
            }
            Ok(out.finish().1)
        });
        let read_error = loop {
            let (buf, failed) = fill(&mut from, free_rx.try_recv().ok());
            let last = buf.is_empty() || failed.is_some();
            if !buf.is_empty() && full_tx.send(buf).is_err() {
                break failed; // the writer failed: its error is below
            }
            if last {
                break failed;
            }
        };
        drop(full_tx);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the writing thread failed")));
        match (read_error, written) {
            (Some(e), _) => Err(Copy::Read(e)),
            (None, Err(e)) => Err(Copy::Write(e)),
            (None, Ok(digest)) => Ok(digest),
        }
    })
}

/// How long one working copy may take before its worker is stopped.
const CLEAN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(120);

/// What each attachment's metadata reveals, its working copy (made by the isolated worker of
/// `cleaner`, the witness-review binary; none without it), and the custody events for them.
/// Nothing here stops the decrypt: a file that cannot be cleaned is reported.
fn review_attachments(
    work: &Path,
    id: &str,
    envelope: &Envelope,
    files: &[WrittenFile],
    cleaner: Option<&Path>,
) -> (Vec<AttachmentReview>, Vec<Event>) {
    use super::clean::{working_copy, Kind, DETECT_HEAD_BYTES};
    let mut reviews = Vec::new();
    let mut events = Vec::new();
    for file in files {
        let name = envelope
            .attachments
            .iter()
            .find(|a| a.n == file.n)
            .map_or("", |a| a.name.as_str());
        let input = work.join(&file.path);
        let mut head = Vec::new();
        if let Ok((f, _)) = open_regular_file(&input) {
            let _ = f.take(DETECT_HEAD_BYTES as u64).read_to_end(&mut head);
        }
        let kind = Kind::detect(&head, name);
        let mut review = AttachmentReview {
            n: file.n,
            kind,
            found: Vec::new(),
            working: None,
            removed: Vec::new(),
            kept: Vec::new(),
            not_cleaned: None,
        };
        if let (Some(kind), Some(exe)) = (kind, cleaner) {
            let file_name = file
                .path
                .strip_prefix(&format!("{FILES_DIR}/"))
                .unwrap_or(&file.path);
            let relative = format!("{}/{file_name}", super::case::WORKING_DIR);
            let working_dir = work.join(super::case::WORKING_DIR);
            let made = crate::util::files::ensure_private_dir(&working_dir)
                .map_err(super::clean::CleanError::from)
                .and_then(|()| {
                    working_copy(exe, kind, &input, &work.join(&relative), CLEAN_DEADLINE)
                });
            match made {
                Ok(cleaned) => match super::custody::hash_file(work, &relative) {
                    Ok(hash) => {
                        let size = std::fs::metadata(work.join(&relative)).map_or(0, |m| m.len());
                        events.push(Event::WorkingCopyMade {
                            id: id.to_owned(),
                            input: FileHash {
                                path: format!("{id}/{}", file.path),
                                sha256: file.sha256.clone(),
                            },
                            output: FileHash {
                                path: format!("{id}/{relative}"),
                                sha256: hash.sha256.clone(),
                            },
                            removed: cleaned.removed.clone(),
                        });
                        review.working = Some(WrittenFile {
                            n: file.n,
                            path: relative,
                            size,
                            sha256: hash.sha256,
                        });
                        review.found = cleaned.found;
                        review.removed = cleaned.removed;
                        review.kept = cleaned.kept;
                    }
                    Err(e) => {
                        review.not_cleaned =
                            Some(format!("the working copy cannot be read back: {e}"))
                    }
                },
                Err(e) => review.not_cleaned = Some(e.to_string()),
            }
        }
        reviews.push(review);
    }
    (reviews, events)
}

/// One attachment written to `files/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrittenFile {
    /// The attachment number.
    pub n: u32,
    /// Path relative to the submission folder, `files/N-NAME`.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
}

/// Decrypts every submission of `export` into the case folder `out_dir`, which the caller
/// has created, locked, and checked the export against. A submission whose folder exists is
/// skipped. Working copies are made by the isolated worker of `cleaner` (the witness-review
/// binary; none without it). Each submission decrypted is logged in `log` once its folder is
/// in place. Fails
/// as a whole only if `out_dir` is unusable or the log cannot be written; per-submission
/// failures are in the report. `progress` gets ciphertext bytes as they are read.
pub fn decrypt_export(
    export: &VerifiedExport,
    identity: &ReviewerIdentity,
    out_dir: &Path,
    cleaner: Option<&Path>,
    log: &mut CustodyLog,
    progress: &dyn Fn(u64),
) -> Result<DecryptReport, DecryptError> {
    let out_err = |cause| DecryptError::OutDir {
        path: out_dir.display().to_string(),
        cause,
    };
    if !std::fs::metadata(out_dir).map_err(out_err)?.is_dir() {
        return Err(out_err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a folder",
        )));
    }
    let mut outcomes = Vec::new();
    for sub in &export.manifest().submissions {
        // Count what the readers report, so a skipped or failed submission still moves the
        // bar to where it would be had every byte been read.
        let reported = Cell::new(0u64);
        let counting = |n: u64| {
            reported.set(reported.get().saturating_add(n));
            progress(n);
        };
        let job = Job {
            cleaner,
            export,
            sub,
            identity,
            progress: &counting,
        };
        let (outcome, events) = job.run(out_dir);
        for event in events {
            log.append(event)?;
        }
        progress(job.total_bytes().saturating_sub(reported.get()));
        outcomes.push((sub.id.clone(), outcome));
    }
    Ok(DecryptReport {
        out_dir: out_dir.to_path_buf(),
        outcomes,
    })
}

/// Removes the `.partial-` folders an interrupted decrypt left in `out_dir` (nothing in them
/// was ever taken for finished), logging each. Returns their names. The caller holds the case
/// folder's lock, so no other decrypt is building them.
pub fn remove_partials(out_dir: &Path, log: &mut CustodyLog) -> Result<Vec<String>, DecryptError> {
    let out_err = |cause| DecryptError::OutDir {
        path: out_dir.display().to_string(),
        cause,
    };
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(out_dir).map_err(out_err)? {
        let entry = entry.map_err(out_err)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir && name.starts_with(PARTIAL_PREFIX) {
            std::fs::remove_dir_all(entry.path()).map_err(out_err)?;
            log.append(Event::PartialRemoved { name: name.clone() })?;
            removed.push(name);
        }
    }
    if !removed.is_empty() {
        sync_dir(out_dir).map_err(out_err)?;
    }
    removed.sort();
    Ok(removed)
}

struct Job<'a> {
    cleaner: Option<&'a Path>,
    export: &'a VerifiedExport,
    sub: &'a ExportedSubmission,
    identity: &'a ReviewerIdentity,
    progress: &'a dyn Fn(u64),
}

impl Job<'_> {
    fn id(&self) -> String {
        self.sub.id.clone()
    }

    fn total_bytes(&self) -> u64 {
        self.sub
            .blobs
            .iter()
            .fold(0u64, |acc, b| acc.saturating_add(b.size))
    }

    fn run(&self, out_dir: &Path) -> (Outcome, Vec<Event>) {
        let id = &self.sub.id;
        if !is_valid_id(id) {
            let outcome = Outcome::Failed {
                folder: out_dir.to_path_buf(),
                problems: vec![DecryptError::InvalidId { id: shown(id) }],
            };
            return (outcome, Vec::new());
        }
        let folder = out_dir.join(id);
        if std::fs::symlink_metadata(&folder).is_ok() {
            return (Outcome::Skipped { folder }, Vec::new());
        }
        // Removed when dropped, so a failure leaves nothing; kept only by the final rename.
        let prefix = format!("{PARTIAL_PREFIX}{id}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o700));
        }
        let partial = match builder.tempdir_in(out_dir) {
            Ok(p) => p,
            Err(cause) => {
                let outcome = Outcome::Failed {
                    problems: vec![self.write_err(out_dir, cause)],
                    folder,
                };
                return (outcome, Vec::new());
            }
        };
        let work = partial.path().to_path_buf();

        let Some(envelope_blob) = self.sub.blobs.first() else {
            return (self.fail_empty(folder, "no envelope blob"), Vec::new());
        };
        let envelope = match self.decrypt_envelope(envelope_blob) {
            Ok(e) => e,
            Err(e) => {
                let outcome = Outcome::Failed {
                    folder,
                    problems: vec![e],
                };
                return (outcome, Vec::new());
            }
        };

        let mut problems = Vec::new();
        let mut ciphertext_ok = true;
        let mut files = Vec::new();
        let files_dir = work.join(FILES_DIR);
        if let Err(cause) = create_private_dir(&files_dir) {
            problems.push(self.write_err(&files_dir, cause));
        } else {
            for (attachment, blob) in envelope.attachments.iter().zip(&self.sub.blobs[1..]) {
                match self.decrypt_attachment(&files_dir, attachment, blob) {
                    Ok(written) => files.push(written),
                    Err(e) => {
                        if matches!(
                            e,
                            DecryptError::CiphertextChanged { .. }
                                | DecryptError::Corrupt { .. }
                                | DecryptError::ReadBlob { .. }
                        ) {
                            ciphertext_ok = false;
                        }
                        problems.push(e);
                    }
                }
            }
        }
        let (attachments, working_events) =
            review_attachments(&work, id, &envelope, &files, self.cleaner);

        let verification = Verification {
            ciphertext_sha256_ok: ciphertext_ok,
            plaintext_sha256_ok: problems.is_empty(),
            ledger_entry: LedgerHead {
                seq: self.sub.ledger.seq,
                hash: self.sub.ledger.hash.clone(),
            },
            ledger_head: self.export.manifest().ledger_head.clone(),
            export_day: self.export.manifest().exported_day.clone(),
            files,
            problems: problems.iter().map(ToString::to_string).collect(),
            tool: format!("witness-review {}", env!("CARGO_PKG_VERSION")),
            case_ledger: self.export.case_ledger().cloned(),
            attachments,
        };
        let written = verification.files.len();
        let mut recorded: Vec<FileHash> = Vec::new();
        let message = envelope.message.as_bytes();
        match self.write_text(&work.join(MESSAGE_TXT), message) {
            Ok(()) => recorded.push(FileHash {
                path: format!("{id}/{MESSAGE_TXT}"),
                sha256: super::custody::sha256_hex(message),
            }),
            Err(e) => problems.push(e),
        }
        recorded.extend(verification.files.iter().map(|f| FileHash {
            path: format!("{id}/{}", f.path),
            sha256: f.sha256.clone(),
        }));
        let record = DecryptedSubmission {
            envelope,
            verified: verification,
        };
        match serde_json::to_vec_pretty(&record) {
            Ok(mut json) => {
                json.push(b'\n');
                match self.write_text(&work.join(SUBMISSION_JSON), &json) {
                    Ok(()) => recorded.insert(
                        0,
                        FileHash {
                            path: format!("{id}/{SUBMISSION_JSON}"),
                            sha256: super::custody::sha256_hex(&json),
                        },
                    ),
                    Err(e) => problems.push(e),
                }
            }
            Err(e) => problems.push(self.write_err(
                &work.join(SUBMISSION_JSON),
                io::Error::new(io::ErrorKind::InvalidData, e),
            )),
        }

        // Ciphertext that is not the one the ledger names (altered, or unreadable): nothing of
        // this submission is kept, and a later run tries again.
        if !ciphertext_ok {
            return (Outcome::Failed { folder, problems }, Vec::new());
        }
        // Complete as far as it goes: into place in one rename.
        if let Err(e) = self.publish(partial, &folder, out_dir) {
            problems.push(e);
            return (Outcome::Failed { folder, problems }, Vec::new());
        }
        let mut events = vec![Event::SubmissionDecrypted {
            id: id.clone(),
            ledger_entry: record.verified.ledger_entry.clone(),
            files: recorded,
        }];
        events.extend(working_events);
        let outcome = if problems.is_empty() {
            Outcome::Decrypted {
                folder,
                files: written,
            }
        } else {
            Outcome::Failed { folder, problems }
        };
        (outcome, events)
    }

    /// Renames the finished partial folder to `folder`, never over anything, and makes it
    /// durable.
    fn publish(
        &self,
        partial: tempfile::TempDir,
        folder: &Path,
        out_dir: &Path,
    ) -> Result<(), DecryptError> {
        sync_dir(partial.path()).map_err(|e| self.write_err(partial.path(), e))?;
        if std::fs::symlink_metadata(folder).is_ok() {
            return Err(self.write_err(
                folder,
                io::Error::new(io::ErrorKind::AlreadyExists, "appeared meanwhile"),
            ));
        }
        std::fs::rename(partial.path(), folder).map_err(|e| self.write_err(folder, e))?;
        // Renamed away: nothing is left for the guard to remove.
        let _ = partial.keep();
        sync_dir(out_dir).map_err(|e| self.write_err(out_dir, e))
    }

    fn fail_empty(&self, folder: PathBuf, detail: &str) -> Outcome {
        Outcome::Failed {
            folder,
            problems: vec![DecryptError::EnvelopeInvalid {
                id: self.id(),
                detail: detail.to_owned(),
            }],
        }
    }

    fn write_err(&self, path: &Path, cause: io::Error) -> DecryptError {
        DecryptError::Write {
            id: self.id(),
            path: path.display().to_string(),
            cause,
        }
    }

    /// Writes a new file (never overwriting), mode 0600.
    fn write_text(&self, path: &Path, data: &[u8]) -> Result<(), DecryptError> {
        let mut f = create_new_private_file(path).map_err(|e| self.write_err(path, e))?;
        f.write_all(data)
            .and_then(|()| f.sync_all())
            .map_err(|e| self.write_err(path, e))
    }

    /// Opens a blob and starts age decryption, hashing the ciphertext as it is read.
    fn open_blob<'r, 'p>(
        &self,
        name: &str,
        reader: &'r mut PrefetchReader<'p>,
    ) -> Result<age::stream::StreamReader<&'r mut PrefetchReader<'p>>, DecryptError> {
        let decryptor = age::Decryptor::new_buffered(reader).map_err(|e| self.age_err(name, e))?;
        decryptor
            .decrypt(self.identity.age_identities())
            .map_err(|e| self.age_err(name, e))
    }

    fn open_file(&self, name: &str) -> Result<File, DecryptError> {
        // `name` is ENVELOPE_BLOB or file_blob_name(n): fixed shapes, safe to join.
        let path = self.export.dir().join(&self.sub.id).join(name);
        open_regular_file(&path)
            .map(|(f, _)| f)
            .map_err(|cause| DecryptError::ReadBlob {
                id: self.id(),
                blob: name.to_owned(),
                cause,
            })
    }

    fn age_err(&self, blob: &str, e: age::DecryptError) -> DecryptError {
        match e {
            age::DecryptError::NoMatchingKeys => DecryptError::NotForThisKey {
                id: self.id(),
                blob: blob.to_owned(),
            },
            age::DecryptError::Io(cause) if cause.kind() != io::ErrorKind::InvalidData => {
                DecryptError::ReadBlob {
                    id: self.id(),
                    blob: blob.to_owned(),
                    cause,
                }
            }
            _ => DecryptError::Corrupt {
                id: self.id(),
                blob: blob.to_owned(),
            },
        }
    }

    fn io_read_err(&self, blob: &str, e: io::Error) -> DecryptError {
        // age reports a damaged chunk as InvalidData; anything else is the disk.
        if e.kind() == io::ErrorKind::InvalidData || e.kind() == io::ErrorKind::UnexpectedEof {
            DecryptError::Corrupt {
                id: self.id(),
                blob: blob.to_owned(),
            }
        } else {
            DecryptError::ReadBlob {
                id: self.id(),
                blob: blob.to_owned(),
                cause: e,
            }
        }
    }

    /// After a blob was decrypted: read what age left, then check that the whole ciphertext is
    /// the one verified.
    fn finish_blob(
        &self,
        mut reader: PrefetchReader<'_>,
        blob: &BlobDigest,
    ) -> Result<(), DecryptError> {
        reader
            .drain()
            .map_err(|e| self.io_read_err(&blob.name, e))?;
        let (size, sha256) = reader.finish();
        if size != blob.size || sha256 != blob.sha256 {
            return Err(DecryptError::CiphertextChanged {
                id: self.id(),
                blob: blob.name.clone(),
            });
        }
        Ok(())
    }

    fn decrypt_envelope(&self, blob: &BlobDigest) -> Result<Envelope, DecryptError> {
        let invalid = |detail: String| DecryptError::EnvelopeInvalid {
            id: self.id(),
            detail,
        };
        let file = self.open_file(ENVELOPE_BLOB)?;
        let mut reader = PrefetchReader::new(file, self.progress);
        let mut plain = zeroize::Zeroizing::new(Vec::new());
        {
            let stream = self.open_blob(ENVELOPE_BLOB, &mut reader)?;
            stream
                .take(MAX_ENVELOPE_BYTES + 1)
                .read_to_end(&mut plain)
                .map_err(|e| self.io_read_err(ENVELOPE_BLOB, e))?;
        }
        if plain.len() as u64 > MAX_ENVELOPE_BYTES {
            return Err(DecryptError::EnvelopeTooLarge { id: self.id() });
        }
        self.finish_blob(reader, blob)?;

        let envelope: Envelope = serde_json::from_slice(&plain).map_err(|e| {
            // No decrypted content in the message: category and position only.
            invalid(format!("not a valid envelope ({})", error_summary(&e)))
        })?;
        if envelope.format != ENVELOPE_FORMAT {
            return Err(invalid(format!(
                "format {}, expected {ENVELOPE_FORMAT}",
                shown(&envelope.format)
            )));
        }
        if envelope.id != self.sub.id {
            return Err(invalid(format!(
                "it names submission {}, not this one: envelopes were swapped",
                shown(&envelope.id)
            )));
        }
        let file_blobs = self.sub.blobs.len() - 1;
        if envelope.attachments.len() != file_blobs {
            return Err(invalid(format!(
                "it lists {} attachments but the export has {file_blobs} files",
                envelope.attachments.len()
            )));
        }
        for (i, a) in envelope.attachments.iter().enumerate() {
            if usize::try_from(a.n).ok() != Some(i + 1) {
                return Err(invalid(format!("attachment {} is numbered {}", i + 1, a.n)));
            }
            if !is_sha256_hex(&a.sha256) {
                return Err(invalid(format!(
                    "attachment {} has a malformed sha256",
                    a.n
                )));
            }
        }
        Ok(envelope)
    }

    fn decrypt_attachment(
        &self,
        files_dir: &Path,
        attachment: &crate::envelope::Attachment,
        blob: &BlobDigest,
    ) -> Result<WrittenFile, DecryptError> {
        let n = attachment.n;
        let blob_name = file_blob_name(n);
        if blob.name != blob_name {
            // Verification guarantees the order; this only guards against a future change.
            return Err(DecryptError::EnvelopeInvalid {
                id: self.id(),
                detail: format!("attachment {n} has no {blob_name}"),
            });
        }
        let mut builder = tempfile::Builder::new();
        builder.prefix(".partial-");
        if let Some(perms) = private_file_permissions() {
            builder.permissions(perms);
        }
        let tmp = builder
            .tempfile_in(files_dir)
            .map_err(|e| self.write_err(files_dir, e))?;

        let file = self.open_file(&blob_name)?;
        let mut reader = PrefetchReader::new(file, self.progress);
        let plain = {
            let stream = self.open_blob(&blob_name, &mut reader)?;
            // Never more than one byte beyond what the envelope announces.
            let limited = stream.take(attachment.size.saturating_add(1));
            match copy_hashing(limited, tmp.as_file()) {
                Ok(digest) => digest,
                Err(Copy::Read(e)) => return Err(self.io_read_err(&blob_name, e)),
                Err(Copy::Write(e)) => return Err(self.write_err(tmp.path(), e)),
            }
        };
        self.finish_blob(reader, blob)?;
        if plain.size != attachment.size || plain.sha256 != attachment.sha256 {
            // `tmp` is deleted when dropped.
            return Err(DecryptError::PlaintextMismatch { id: self.id(), n });
        }
        let relative = format!("{n}-{}", safe_name(&attachment.name));
        let dest = files_dir.join(&relative);
        tmp.as_file()
            .sync_all()
            .map_err(|e| self.write_err(&dest, e))?;
        tmp.persist_noclobber(&dest)
            .map_err(|e| self.write_err(&dest, e.error))?;
        Ok(WrittenFile {
            n,
            path: format!("{FILES_DIR}/{relative}"),
            size: plain.size,
            sha256: plain.sha256,
        })
    }
}
