//! `witness-review verify`: checks an export without any key.
//!
//! It checks that `export.json` is a version-1 manifest; that every id and blob name is
//! valid and every submission lists exactly `envelope.age`, `file-1.age` … `file-N.age`; that
//! the ledger chain verifies and each submission's ledger entry is the chain's entry for its
//! `seq`, naming the same id, day and blobs, in strictly increasing order; that every blob is
//! a regular file (no symbolic link) of the listed size and SHA-256; and that the export holds
//! nothing unlisted.
//!
//! Invariant: this module only reads. It builds paths only from ids and blob names that have
//! passed [`is_valid_id`] and [`is_valid_blob_name`], never follows a symbolic link inside the
//! export, and reports every problem it finds rather than stopping at the first. A
//! [`VerifiedExport`] can only be obtained from a report without problems, so decryption
//! cannot start on an export that failed.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::day::Day;
use crate::export::{
    file_blob_name, is_valid_blob_name, is_valid_id, ExportedSubmission, LedgerHead, Manifest,
    ENVELOPE_BLOB, EXPORT_FORMAT, MANIFEST,
};
use crate::ledger::{verify_chain, LedgerEntry, LedgerError};

use super::{is_sha256_hex, shown, HashingReader, STREAM_BUF};
use crate::util::files::{open_regular_file, read_capped, Capped};
use crate::util::json::error_summary;

/// `export.json` files larger than this are refused (a manifest is about 1 KiB per
/// submission).
const MAX_MANIFEST_BYTES: u64 = 64 << 20;

/// Why an export could not be verified at all: its `export.json` is missing, too large,
/// malformed or of another format. Everything else wrong with an export is a [`Problem`],
/// collected in a [`VerifyReport`].
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// `export.json` is missing or unreadable.
    #[error("cannot read {path}: {cause}; pass the folder that `witness-drop export` wrote")]
    ReadManifest {
        /// The manifest path.
        path: String,
        /// The cause.
        cause: io::Error,
    },
    /// `export.json` is larger than any real manifest.
    #[error("{path} is larger than {MAX_MANIFEST_BYTES} bytes: this is not a witness-drop export")]
    ManifestTooLarge {
        /// The manifest path.
        path: String,
    },
    /// `export.json` is not valid JSON of the expected shape.
    #[error("export.json is malformed ({detail}): the export is damaged or was altered")]
    ParseManifest {
        /// Where parsing failed (position and category only, no content).
        detail: String,
    },
    /// The manifest names a format this version does not read.
    #[error("export.json has format {found}, expected {EXPORT_FORMAT}: use a witness-review that matches the server")]
    UnknownFormat {
        /// The format found, escaped.
        found: String,
    },
}

/// A problem found in an export; verification goes on and reports them all in a
/// [`VerifyReport`].
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// The export folder itself cannot be listed.
    #[error("cannot list {path}: {cause}")]
    ReadDir {
        /// The folder.
        path: String,
        /// The cause.
        cause: io::Error,
    },
    /// `exported_day` is not a `YYYY-MM-DD` day.
    #[error("export.json: exported_day {day} is not a YYYY-MM-DD day")]
    BadExportDay {
        /// The value, escaped.
        day: String,
    },
    /// The ledger chain does not verify.
    #[error("ledger: {0}")]
    Ledger(LedgerError),
    /// `ledger_head` is not the last entry of the ledger.
    #[error("ledger_head (seq {seq}) is not the last ledger entry: the ledger was cut or altered")]
    HeadMismatch {
        /// The head's seq.
        seq: u64,
    },
    /// The ledger has entries but no head.
    #[error("export.json has ledger entries but no ledger_head")]
    MissingHead,
    /// A submission id is not 32 lower-case hex digits (it is not used as a path).
    #[error("submission #{index}: invalid id {id}: refusing to use it as a folder name")]
    InvalidId {
        /// Position in the manifest, from 1.
        index: usize,
        /// The id, escaped.
        id: String,
    },
    /// Two submissions share an id.
    #[error("submission {id} is listed more than once")]
    DuplicateId {
        /// The id.
        id: String,
    },
    /// A received day is not a `YYYY-MM-DD` day.
    #[error("submission {id}: received_day {day} is not a YYYY-MM-DD day")]
    BadDay {
        /// The id.
        id: String,
        /// The value, escaped.
        day: String,
    },
    /// The blob list is not `envelope.age`, `file-1.age` … `file-N.age` in order.
    #[error("submission {id}: blob {position} is {found}, expected {expected}")]
    BadBlobList {
        /// The id.
        id: String,
        /// 1-based position in the list.
        position: usize,
        /// The name found, escaped.
        found: String,
        /// The name expected there.
        expected: String,
    },
    /// A blob's listed SHA-256 is not 64 lower-case hex digits.
    #[error("submission {id}: {blob} has a malformed sha256")]
    BadDigest {
        /// The id.
        id: String,
        /// The blob name.
        blob: String,
    },
    /// Submissions are not in strictly increasing ledger order.
    #[error("submission {id}: ledger seq {seq} does not come after {prev_seq}: submissions were reordered")]
    OutOfOrder {
        /// The id.
        id: String,
        /// Its seq.
        seq: u64,
        /// The seq of the submission listed before it.
        prev_seq: u64,
    },
    /// The submission's ledger entry is not in the manifest's ledger.
    #[error("submission {id}: its ledger entry seq {seq} is not in the export's ledger")]
    NotInLedger {
        /// The id.
        id: String,
        /// Its seq.
        seq: u64,
    },
    /// The submission's ledger entry differs from the chain's entry with the same seq.
    #[error("submission {id}: its ledger entry differs from ledger entry {seq}: it was altered")]
    LedgerEntryDiffers {
        /// The id.
        id: String,
        /// The seq.
        seq: u64,
    },
    /// The ledger entry names another id, day or blob list than the submission.
    #[error("submission {id}: ledger entry {seq} names a different {what}: it was altered")]
    LedgerDisagrees {
        /// The id.
        id: String,
        /// The seq.
        seq: u64,
        /// `id`, `day` or `blobs`.
        what: &'static str,
    },
    /// The submission's folder is missing.
    #[error(
        "submission {id}: folder is missing: the export is incomplete or a submission was removed"
    )]
    MissingFolder {
        /// The id.
        id: String,
    },
    /// The submission's path is not a real folder (for example a symbolic link).
    #[error("submission {id}: not a folder (symbolic links are refused)")]
    NotAFolder {
        /// The id.
        id: String,
    },
    /// A listed blob is missing.
    #[error("submission {id}: {blob} is missing")]
    MissingBlob {
        /// The id.
        id: String,
        /// The blob name.
        blob: String,
    },
    /// A blob is not a regular file, or cannot be read.
    #[error("submission {id}: cannot read {blob}: {cause}")]
    ReadBlob {
        /// The id.
        id: String,
        /// The blob name.
        blob: String,
        /// The cause.
        cause: io::Error,
    },
    /// A blob's size differs from the manifest.
    #[error("submission {id}: {blob} is {found} bytes, export.json says {expected}: it was altered or truncated")]
    SizeMismatch {
        /// The id.
        id: String,
        /// The blob name.
        blob: String,
        /// Size listed.
        expected: u64,
        /// Size on disk.
        found: u64,
    },
    /// A blob's SHA-256 differs from the manifest.
    #[error("submission {id}: {blob} does not match its sha256: it was altered")]
    HashMismatch {
        /// The id.
        id: String,
        /// The blob name.
        blob: String,
    },
    /// Something in the export folder that the manifest does not list.
    #[error("unlisted entry in the export folder: {name}")]
    UnlistedEntry {
        /// The name, escaped.
        name: String,
    },
    /// Something in a submission folder that the manifest does not list.
    #[error("submission {id}: unlisted file {name}")]
    UnlistedFile {
        /// The id.
        id: String,
        /// The name, escaped.
        name: String,
    },
}

/// An export folder whose manifest was read and has the right format.
#[derive(Debug)]
pub struct ExportDir {
    dir: PathBuf,
    manifest: Manifest,
}

/// The outcome of verification.
#[derive(Debug)]
pub struct VerifyReport {
    dir: PathBuf,
    manifest: Manifest,
    /// Every problem found, in the order found.
    pub problems: Vec<Problem>,
    /// Blobs whose size and SHA-256 matched.
    pub blobs_verified: usize,
    /// Ledger entries naming submissions not in this export (exported earlier or purged).
    pub ledger_entries_not_in_export: usize,
}

/// An export that passed verification; the only input [`super::decrypt`] accepts.
#[derive(Debug)]
pub struct VerifiedExport {
    dir: PathBuf,
    manifest: Manifest,
    case_ledger: Option<super::decrypt::CaseLedgerCheck>,
}

impl VerifiedExport {
    /// The export folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The verified manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Total size of all ciphertext blobs.
    pub fn ciphertext_bytes(&self) -> u64 {
        ciphertext_bytes(&self.manifest)
    }

    /// How the export agreed with the case folder's ledger, once checked.
    pub fn case_ledger(&self) -> Option<&super::decrypt::CaseLedgerCheck> {
        self.case_ledger.as_ref()
    }

    /// Records how the export agreed with the case folder's ledger (for `submission.json`).
    pub fn set_case_ledger(&mut self, check: super::decrypt::CaseLedgerCheck) {
        self.case_ledger = Some(check);
    }
}

/// Reads `DIR/export.json` and checks its format.
pub fn open_export(dir: &Path) -> Result<ExportDir, VerifyError> {
    let path = dir.join(MANIFEST);
    let shown_path = path.display().to_string();
    let read_err = |cause| VerifyError::ReadManifest {
        path: shown_path.clone(),
        cause,
    };
    let (file, _) = open_regular_file(&path).map_err(read_err)?;
    let Capped::Whole(data) = read_capped(file, MAX_MANIFEST_BYTES).map_err(read_err)? else {
        return Err(VerifyError::ManifestTooLarge { path: shown_path });
    };
    // The format is checked before the full shape, so a future version gets a clear message.
    #[derive(serde::Deserialize)]
    struct FormatOnly {
        format: String,
    }
    let format: FormatOnly = serde_json::from_slice(&data).map_err(json_detail)?;
    if format.format != EXPORT_FORMAT {
        return Err(VerifyError::UnknownFormat {
            found: shown(&format.format),
        });
    }
    let manifest: Manifest = serde_json::from_slice(&data).map_err(json_detail)?;
    Ok(ExportDir {
        dir: dir.to_path_buf(),
        manifest,
    })
}

fn json_detail(e: serde_json::Error) -> VerifyError {
    // serde_json's message may quote the hostile input; keep only category and position.
    VerifyError::ParseManifest {
        detail: error_summary(&e),
    }
}

fn ciphertext_bytes(m: &Manifest) -> u64 {
    m.submissions
        .iter()
        .flat_map(|s| s.blobs.iter())
        .fold(0u64, |acc, b| acc.saturating_add(b.size))
}

impl ExportDir {
    /// The manifest as read (not yet verified).
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Total ciphertext size the manifest lists, for a progress bar.
    pub fn ciphertext_bytes(&self) -> u64 {
        ciphertext_bytes(&self.manifest)
    }

    /// Runs every check. `progress` is called with the number of bytes hashed as it goes.
    pub fn verify(self, progress: &dyn Fn(u64)) -> VerifyReport {
        self.run_checks(true, progress)
    }

    /// Runs every check but the hashing of the ciphertext's contents (sizes are still checked):
    /// for `decrypt`, which hashes each blob while it decrypts it and keeps nothing of a blob
    /// whose hash does not match, so the ciphertext is read once.
    pub fn verify_structure(self) -> VerifyReport {
        self.run_checks(false, &|_| {})
    }

    fn run_checks(self, hash_contents: bool, progress: &dyn Fn(u64)) -> VerifyReport {
        let mut v = Verifier {
            dir: &self.dir,
            manifest: &self.manifest,
            problems: Vec::new(),
            blobs_verified: 0,
            hash_contents,
            progress,
        };
        v.check_manifest();
        v.check_ledger();
        v.check_submissions();
        v.check_unlisted();
        let Verifier {
            problems,
            blobs_verified,
            ..
        } = v;
        let in_export: BTreeSet<u64> = self
            .manifest
            .submissions
            .iter()
            .map(|s| s.ledger.seq)
            .collect();
        let ledger_entries_not_in_export = self
            .manifest
            .ledger
            .iter()
            .filter(|e| !in_export.contains(&e.seq))
            .count();
        VerifyReport {
            dir: self.dir,
            manifest: self.manifest,
            problems,
            blobs_verified,
            ledger_entries_not_in_export,
        }
    }
}

impl VerifyReport {
    /// True if no problem was found.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The manifest that was checked.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The ledger head: `ledger_head`, or else the last ledger entry.
    pub fn head(&self) -> Option<LedgerHead> {
        self.manifest.ledger_head.clone().or_else(|| {
            self.manifest.ledger.last().map(|e| LedgerHead {
                seq: e.seq,
                hash: e.hash.clone(),
            })
        })
    }

    /// One line: `N submissions, M blobs verified, ledger head seq S hash H`.
    pub fn summary(&self) -> String {
        let head = match self.head() {
            Some(h) => format!("ledger head seq {} hash {}", h.seq, shown(&h.hash)),
            None => "ledger empty".to_owned(),
        };
        format!(
            "{} submissions, {} blobs verified, {head}",
            self.manifest.submissions.len(),
            self.blobs_verified
        )
    }

    /// The verified export, or this report back if it has problems.
    pub fn into_verified(self) -> Result<VerifiedExport, Box<VerifyReport>> {
        if self.is_ok() {
            Ok(VerifiedExport {
                dir: self.dir,
                manifest: self.manifest,
                case_ledger: None,
            })
        } else {
            Err(Box::new(self))
        }
    }
}

/// Verifies `dir`: [`open_export`] then [`ExportDir::verify`].
pub fn verify_export(dir: &Path, progress: &dyn Fn(u64)) -> Result<VerifyReport, VerifyError> {
    Ok(open_export(dir)?.verify(progress))
}

struct Verifier<'a> {
    dir: &'a Path,
    manifest: &'a Manifest,
    problems: Vec<Problem>,
    blobs_verified: usize,
    hash_contents: bool,
    progress: &'a dyn Fn(u64),
}

impl Verifier<'_> {
    fn check_manifest(&mut self) {
        if Day::parse(&self.manifest.exported_day).is_none() {
            self.problems.push(Problem::BadExportDay {
                day: shown(&self.manifest.exported_day),
            });
        }
    }

    fn check_ledger(&mut self) {
        let ledger = &self.manifest.ledger;
        if let Err(e) = verify_chain(ledger) {
            self.problems.push(Problem::Ledger(e));
        }
        match (&self.manifest.ledger_head, ledger.last()) {
            (Some(head), Some(last)) => {
                if head.seq != last.seq || head.hash != last.hash {
                    self.problems.push(Problem::HeadMismatch { seq: head.seq });
                }
            }
            (None, Some(_)) => self.problems.push(Problem::MissingHead),
            // An export with nothing new may carry the head alone.
            (_, None) => {}
        }
    }

    fn check_submissions(&mut self) {
        let by_seq: BTreeMap<u64, &LedgerEntry> = self
            .manifest
            .ledger
            .iter()
            .rev() // the first entry with a seq wins, as a reader would expect
            .map(|e| (e.seq, e))
            .collect();
        let mut seen = BTreeSet::new();
        let mut prev_seq: Option<u64> = None;
        for (i, sub) in self.manifest.submissions.iter().enumerate() {
            if !is_valid_id(&sub.id) {
                self.problems.push(Problem::InvalidId {
                    index: i + 1,
                    id: shown(&sub.id),
                });
                continue;
            }
            let id = sub.id.clone();
            if !seen.insert(id.clone()) {
                self.problems.push(Problem::DuplicateId { id });
                continue;
            }
            if Day::parse(&sub.received_day).is_none() {
                self.problems.push(Problem::BadDay {
                    id: id.clone(),
                    day: shown(&sub.received_day),
                });
            }

            // Ledger: the submission's entry is the chain's entry, and names this submission.
            let seq = sub.ledger.seq;
            if let Some(prev) = prev_seq {
                if seq <= prev {
                    self.problems.push(Problem::OutOfOrder {
                        id: id.clone(),
                        seq,
                        prev_seq: prev,
                    });
                }
            }
            prev_seq = Some(seq);
            match by_seq.get(&seq) {
                None => self.problems.push(Problem::NotInLedger {
                    id: id.clone(),
                    seq,
                }),
                Some(entry) if **entry != sub.ledger => {
                    self.problems.push(Problem::LedgerEntryDiffers {
                        id: id.clone(),
                        seq,
                    })
                }
                Some(_) => {}
            }
            for (what, same) in [
                ("id", sub.ledger.id == sub.id),
                ("day", sub.ledger.day == sub.received_day),
                ("blob list", sub.ledger.blobs == sub.blobs),
            ] {
                if !same {
                    self.problems.push(Problem::LedgerDisagrees {
                        id: id.clone(),
                        seq,
                        what,
                    });
                }
            }

            // Blob list shape, then the files themselves.
            if sub.blobs.is_empty() {
                self.problems.push(Problem::BadBlobList {
                    id: id.clone(),
                    position: 1,
                    found: "nothing".to_owned(),
                    expected: ENVELOPE_BLOB.to_owned(),
                });
            }
            for (pos, blob) in sub.blobs.iter().enumerate() {
                let expected = expected_blob_name(pos);
                if blob.name != expected {
                    self.problems.push(Problem::BadBlobList {
                        id: id.clone(),
                        position: pos + 1,
                        found: shown(&blob.name),
                        expected,
                    });
                }
                if !is_sha256_hex(&blob.sha256) {
                    self.problems.push(Problem::BadDigest {
                        id: id.clone(),
                        blob: shown(&blob.name),
                    });
                }
            }
            self.check_folder(&id, sub);
        }
    }

    fn check_folder(&mut self, id: &str, sub: &ExportedSubmission) {
        // `id` passed is_valid_id: one component of hex digits, safe to join.
        let folder = self.dir.join(id);
        match std::fs::symlink_metadata(&folder) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.problems
                    .push(Problem::MissingFolder { id: id.to_owned() });
                return;
            }
            Err(cause) => {
                self.problems.push(Problem::ReadDir {
                    path: folder.display().to_string(),
                    cause,
                });
                return;
            }
            Ok(m) if !m.file_type().is_dir() => {
                self.problems
                    .push(Problem::NotAFolder { id: id.to_owned() });
                return;
            }
            Ok(_) => {}
        }
        for (pos, blob) in sub.blobs.iter().enumerate() {
            // Only a name that is exactly the one expected at its position becomes a path, so
            // a list with one bad entry still has the rest of its blobs checked.
            if blob.name != expected_blob_name(pos) || !is_valid_blob_name(&blob.name) {
                continue;
            }
            self.check_blob(id, &folder, &blob.name, blob.size, &blob.sha256);
        }
        let listed: BTreeSet<&str> = sub
            .blobs
            .iter()
            .map(|b| b.name.as_str())
            .filter(|n| is_valid_blob_name(n))
            .collect();
        match std::fs::read_dir(&folder) {
            Err(cause) => self.problems.push(Problem::ReadDir {
                path: folder.display().to_string(),
                cause,
            }),
            Ok(entries) => {
                let mut unlisted = Vec::new();
                for entry in entries {
                    match entry {
                        Ok(entry) => {
                            let name = entry.file_name();
                            let name = name.to_string_lossy();
                            if !listed.contains(name.as_ref()) {
                                unlisted.push(shown(&name));
                            }
                        }
                        Err(cause) => self.problems.push(Problem::ReadDir {
                            path: folder.display().to_string(),
                            cause,
                        }),
                    }
                }
                unlisted.sort();
                for name in unlisted {
                    self.problems.push(Problem::UnlistedFile {
                        id: id.to_owned(),
                        name,
                    });
                }
            }
        }
    }

    fn check_blob(&mut self, id: &str, folder: &Path, name: &str, size: u64, sha256: &str) {
        let path = folder.join(name);
        let blob = name.to_owned();
        let (file, meta) = match open_regular_file(&path) {
            Ok(x) => x,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.problems.push(Problem::MissingBlob {
                    id: id.to_owned(),
                    blob,
                });
                return;
            }
            Err(cause) => {
                self.problems.push(Problem::ReadBlob {
                    id: id.to_owned(),
                    blob,
                    cause,
                });
                return;
            }
        };
        if meta.len() != size {
            self.problems.push(Problem::SizeMismatch {
                id: id.to_owned(),
                blob,
                expected: size,
                found: meta.len(),
            });
            (self.progress)(size);
            return;
        }
        if !self.hash_contents {
            return;
        }
        let mut reader = HashingReader::new(file, self.progress);
        let mut buf = vec![0u8; STREAM_BUF];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(cause) => {
                    self.problems.push(Problem::ReadBlob {
                        id: id.to_owned(),
                        blob,
                        cause,
                    });
                    return;
                }
            }
        }
        let (found_size, found_sha) = reader.finish();
        if found_size != size {
            self.problems.push(Problem::SizeMismatch {
                id: id.to_owned(),
                blob,
                expected: size,
                found: found_size,
            });
        } else if found_sha != sha256 {
            self.problems.push(Problem::HashMismatch {
                id: id.to_owned(),
                blob,
            });
        } else {
            self.blobs_verified += 1;
        }
    }

    fn check_unlisted(&mut self) {
        let listed: BTreeSet<&str> = self
            .manifest
            .submissions
            .iter()
            .map(|s| s.id.as_str())
            .filter(|id| is_valid_id(id))
            .collect();
        let entries = match std::fs::read_dir(self.dir) {
            Ok(e) => e,
            Err(cause) => {
                self.problems.push(Problem::ReadDir {
                    path: self.dir.display().to_string(),
                    cause,
                });
                return;
            }
        };
        let mut unlisted = Vec::new();
        for entry in entries {
            match entry {
                Ok(entry) => {
                    let name = entry.file_name();
                    let name = name.to_string_lossy();
                    if name != MANIFEST && !listed.contains(name.as_ref()) {
                        unlisted.push(shown(&name));
                    }
                }
                Err(cause) => self.problems.push(Problem::ReadDir {
                    path: self.dir.display().to_string(),
                    cause,
                }),
            }
        }
        unlisted.sort();
        for name in unlisted {
            self.problems.push(Problem::UnlistedEntry { name });
        }
    }
}

/// The blob name expected at 0-based position `pos`.
fn expected_blob_name(pos: usize) -> String {
    if pos == 0 {
        ENVELOPE_BLOB.to_owned()
    } else {
        u32::try_from(pos).map_or_else(|_| "nothing".to_owned(), file_blob_name)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::ledger::{BlobDigest, GENESIS};

    fn manifest(submissions: Vec<ExportedSubmission>, ledger: Vec<LedgerEntry>) -> Manifest {
        Manifest {
            format: EXPORT_FORMAT.into(),
            exported_day: "2026-11-29".into(),
            ledger_head: ledger.last().map(|e| LedgerHead {
                seq: e.seq,
                hash: e.hash.clone(),
            }),
            ledger,
            submissions,
        }
    }

    fn write(dir: &Path, m: &Manifest) {
        std::fs::write(dir.join(MANIFEST), serde_json::to_vec(m).unwrap()).unwrap();
    }

    #[test]
    fn an_empty_export_verifies() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &manifest(vec![], vec![]));
        let report = verify_export(dir.path(), &|_| {}).unwrap();
        assert!(report.is_ok(), "{:?}", report.problems);
        assert_eq!(
            report.summary(),
            "0 submissions, 0 blobs verified, ledger empty"
        );
        assert!(report.into_verified().is_ok());
    }

    #[test]
    fn blob_lists_must_be_envelope_then_files_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let id = "0123456789abcdef0123456789abcdef";
        let blob = |name: &str| BlobDigest {
            name: name.into(),
            size: 1,
            sha256: "0".repeat(64),
        };
        let blobs = vec![blob("file-1.age"), blob("envelope.age"), blob("file-3.age")];
        let entry = LedgerEntry::new(0, GENESIS, id, "2026-11-29", blobs.clone());
        let sub = ExportedSubmission {
            id: id.into(),
            received_day: "2026-11-29".into(),
            blobs,
            ledger: entry.clone(),
        };
        write(dir.path(), &manifest(vec![sub], vec![entry]));
        let report = verify_export(dir.path(), &|_| {}).unwrap();
        let bad_positions: Vec<usize> = report
            .problems
            .iter()
            .filter_map(|p| match p {
                Problem::BadBlobList { position, .. } => Some(*position),
                _ => None,
            })
            .collect();
        assert_eq!(bad_positions, vec![1, 2, 3]);
        assert!(report
            .problems
            .iter()
            .any(|p| matches!(p, Problem::MissingFolder { .. })));
        assert!(report.into_verified().is_err());
    }

    #[test]
    fn unknown_format_and_garbage_stop_at_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MANIFEST), br#"{"format":"other/9"}"#).unwrap();
        assert!(matches!(
            open_export(dir.path()),
            Err(VerifyError::UnknownFormat { .. })
        ));
        std::fs::write(dir.path().join(MANIFEST), b"\x1b[31m not json").unwrap();
        match open_export(dir.path()) {
            Err(e @ VerifyError::ParseManifest { .. }) => {
                assert!(!e.to_string().contains('\u{1b}'))
            }
            other => panic!("{other:?}"),
        }
    }
}
