//! The custody log, `OUT_DIR/custody.log`: what was done in a case folder, when, with which
//! tool, and the hashes involved, so that a court can be shown how each file was handled.
//!
//! One JSON object a line ([`Record`]): its number, the local time with its offset, the tool
//! and version, the SHA-256 of the previous line (`prev`; 64 zeros for the first), and the
//! event ([`Event`]). Files an event names are given by their path inside the case folder and
//! their SHA-256, so [`check`] can say whether each is still what was recorded.
//!
//! Invariants: the log is only ever appended to (opened with `O_APPEND`, each line written
//! whole and fsynced); a line is never rewritten. [`check`] only reads, resolves every path it
//! is given against the case folder after checking it is relative and plain (no `..`, no
//! absolute path), never follows a symbolic link, and reports every problem rather than the
//! first.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::case::CUSTODY_LOG;
use super::shown;
use crate::export::LedgerHead;
use crate::util::files::{open_regular_file, sync_dir};

/// `prev` of the first line.
pub const FIRST_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The longest line read back (a line names a submission's files, a few KiB).
const MAX_LINE: u64 = 4 << 20;

/// A file an event names: its path inside the case folder and its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileHash {
    /// Path relative to the case folder, `/`-separated.
    pub path: String,
    /// SHA-256, lower-case hex.
    pub sha256: String,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// An export was verified and agreed with the ledger the case folder knew.
    ExportVerified {
        /// The export's `exported_day`.
        export_day: String,
        /// The export's ledger head.
        head: Option<LedgerHead>,
        /// Submissions in the export.
        submissions: usize,
        /// Ledger entries the case folder had not seen before.
        new_entries: usize,
        /// Entries missing between what the case folder knew and this export.
        gap: Option<(u64, u64)>,
    },
    /// An export was refused; nothing of it was decrypted.
    ExportRefused {
        /// The export's `exported_day`.
        export_day: String,
        /// The export's ledger head.
        head: Option<LedgerHead>,
        /// Why, in one line.
        reason: String,
    },
    /// A submission was decrypted into its folder.
    SubmissionDecrypted {
        /// The submission id.
        id: String,
        /// Its ledger entry.
        ledger_entry: LedgerHead,
        /// `submission.json`, `message.txt` and every evidentiary copy.
        files: Vec<FileHash>,
    },
    /// A working copy was made.
    WorkingCopyMade {
        /// The submission id.
        id: String,
        /// The evidentiary copy it was made from.
        input: FileHash,
        /// The working copy.
        output: FileHash,
        /// What it no longer has.
        removed: Vec<String>,
    },
    /// A reply was written.
    ReplyWritten {
        /// The submission answered.
        id: String,
        /// The reply id.
        reply_id: String,
        /// Who can read it.
        recipients: Vec<String>,
        /// SHA-256 of the reply's text.
        text_sha256: String,
        /// The copy kept in the case folder.
        kept: FileHash,
    },
    /// The reviewer keys trusted for replies were set.
    TrustedKeysSet {
        /// The keys.
        keys: Vec<String>,
        /// The file in the case folder.
        file: FileHash,
    },
    /// An unfinished submission folder left by an interrupted decrypt was removed.
    PartialRemoved {
        /// Its name in the case folder.
        name: String,
    },
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// 1 for the first line.
    pub n: u64,
    /// Local time with its offset and zone, e.g. `2026-12-01T14:03:12+04:00[Asia/Baku]`.
    pub time: String,
    /// `witness-review VERSION`.
    pub tool: String,
    /// SHA-256 of the previous line's bytes (without its newline).
    pub prev: String,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

/// Why the log could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CustodyError {
    /// Reading or writing the log failed.
    #[error("custody log {path}: {cause}")]
    Io {
        /// The log.
        path: String,
        /// The cause.
        cause: io::Error,
    },
    /// A line could not be understood: the log was altered.
    #[error("custody log {path}, line {line}: not a custody record: the log was altered")]
    Damaged {
        /// The log.
        path: String,
        /// The line number.
        line: u64,
    },
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 of a file inside the case folder, by its relative path.
pub fn hash_file(case_dir: &Path, relative: &str) -> io::Result<FileHash> {
    let (file, _) = open_regular_file(&case_dir.join(relative))?;
    Ok(FileHash {
        path: relative.to_owned(),
        sha256: hash_reader(file)?,
    })
}

fn hash_reader(mut r: impl Read) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(hex::encode(hasher.finalize()))
}

/// The local time now, with offset and zone.
pub fn local_now() -> String {
    let now = jiff::Zoned::now();
    format!(
        "{}[{}]",
        now.strftime("%Y-%m-%dT%H:%M:%S%:z"),
        now.time_zone().iana_name().unwrap_or("local")
    )
}

/// The custody log of a case folder, open for appending.
pub struct CustodyLog {
    path: PathBuf,
    file: File,
    next_n: u64,
    prev: String,
}

impl CustodyLog {
    /// Opens (or creates) `case_dir/custody.log`. Reads it to find the last line's hash; a
    /// damaged log is an error (nothing is appended to a log that does not verify its chain
    /// up to its last line: run `witness-review custody` to see what changed).
    pub fn open(case_dir: &Path) -> Result<CustodyLog, CustodyError> {
        let path = case_dir.join(CUSTODY_LOG);
        let io_err = |cause| CustodyError::Io {
            path: path.display().to_string(),
            cause,
        };
        let (next_n, prev) = match read_lines(&path)? {
            None => (1, FIRST_PREV.to_owned()),
            Some(lines) => match lines.last() {
                None => (1, FIRST_PREV.to_owned()),
                Some((n, line)) => {
                    let record: Record =
                        serde_json::from_str(line).map_err(|_| CustodyError::Damaged {
                            path: path.display().to_string(),
                            line: *n,
                        })?;
                    (record.n + 1, sha256_hex(line.as_bytes()))
                }
            },
        };
        let mut opts = OpenOptions::new();
        opts.append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        if std::fs::symlink_metadata(&path).is_ok_and(|m| !m.file_type().is_file()) {
            return Err(io_err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            )));
        }
        let file = opts.open(&path).map_err(io_err)?;
        Ok(CustodyLog {
            path,
            file,
            next_n,
            prev,
        })
    }

    /// Appends one event, fsynced.
    pub fn append(&mut self, event: Event) -> Result<(), CustodyError> {
        let record = Record {
            n: self.next_n,
            time: local_now(),
            tool: format!("witness-review {}", env!("CARGO_PKG_VERSION")),
            prev: self.prev.clone(),
            event,
        };
        let io_err = |cause| CustodyError::Io {
            path: self.path.display().to_string(),
            cause,
        };
        let line = serde_json::to_string(&record)
            .map_err(|e| io_err(io::Error::new(io::ErrorKind::InvalidData, e)))?;
        let mut bytes = line.clone().into_bytes();
        bytes.push(b'\n');
        self.file.write_all(&bytes).map_err(io_err)?;
        self.file.sync_all().map_err(io_err)?;
        if record.n == 1 {
            if let Some(dir) = self.path.parent() {
                sync_dir(dir).map_err(io_err)?;
            }
        }
        self.next_n += 1;
        self.prev = sha256_hex(line.as_bytes());
        Ok(())
    }
}

/// The log's lines with their numbers (1-based), or `None` if there is no log.
fn read_lines(path: &Path) -> Result<Option<Vec<(u64, String)>>, CustodyError> {
    let io_err = |cause| CustodyError::Io {
        path: path.display().to_string(),
        cause,
    };
    let file = match open_regular_file(path) {
        Ok((f, _)) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(e)),
    };
    let mut reader = BufReader::new(file);
    let mut out = Vec::new();
    let mut n = 0u64;
    loop {
        let mut line = Vec::new();
        let read = (&mut reader)
            .take(MAX_LINE + 1)
            .read_until(b'\n', &mut line)
            .map_err(io_err)?;
        if read == 0 {
            break;
        }
        n += 1;
        if line.last() == Some(&b'\n') {
            line.pop();
        } else if line.len() as u64 > MAX_LINE {
            return Err(CustodyError::Damaged {
                path: path.display().to_string(),
                line: n,
            });
        }
        let text = String::from_utf8(line).map_err(|_| CustodyError::Damaged {
            path: path.display().to_string(),
            line: n,
        })?;
        out.push((n, text));
    }
    Ok(Some(out))
}

/// What [`check`] found.
#[derive(Debug, Default)]
pub struct CustodyReport {
    /// Every record, in order, as read (those that could be read).
    pub records: Vec<Record>,
    /// Every problem: a broken chain, a line that is not a record, a file altered or missing.
    pub problems: Vec<String>,
    /// Files checked against their recorded hash.
    pub files_checked: usize,
}

impl CustodyReport {
    /// True when nothing was altered or removed.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A relative path of plain components, or `None`.
fn plain_relative(path: &str) -> Option<PathBuf> {
    let p = Path::new(path);
    let plain = !path.is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)));
    plain.then(|| p.to_path_buf())
}

/// Reads the case folder's custody log, checks its chain, and checks that the newest record of
/// every file it names still matches (a file recorded twice, such as a regenerated one, is
/// checked against its last record).
pub fn check(case_dir: &Path) -> Result<CustodyReport, CustodyError> {
    let path = case_dir.join(CUSTODY_LOG);
    let mut report = CustodyReport::default();
    let Some(lines) = read_lines(&path)? else {
        report
            .problems
            .push(format!("there is no custody log in {}", case_dir.display()));
        return Ok(report);
    };
    let mut prev = FIRST_PREV.to_owned();
    let mut expected_n = 1u64;
    let mut files: std::collections::BTreeMap<String, (u64, String)> = Default::default();
    for (line_no, line) in &lines {
        let record: Record = match serde_json::from_str(line) {
            Ok(r) => r,
            Err(_) => {
                report.problems.push(format!(
                    "line {line_no} is not a custody record: the log was altered"
                ));
                prev = sha256_hex(line.as_bytes());
                expected_n += 1;
                continue;
            }
        };
        if record.prev != prev {
            report.problems.push(format!(
                "line {line_no} does not follow the line before it (the chain is broken): a line was altered, removed or inserted before it"
            ));
        }
        if record.n != expected_n {
            report.problems.push(format!(
                "line {line_no} is record {} where record {expected_n} was expected: a line was removed or inserted",
                record.n
            ));
        }
        for f in event_files(&record.event) {
            files.insert(f.path.clone(), (record.n, f.sha256.clone()));
        }
        prev = sha256_hex(line.as_bytes());
        expected_n = record.n.max(expected_n) + 1;
        report.records.push(record);
    }
    for (relative, (n, sha256)) in &files {
        let Some(rel) = plain_relative(relative) else {
            report.problems.push(format!(
                "record {n} names {}, which is not a path inside the case folder",
                shown(relative)
            ));
            continue;
        };
        match open_regular_file(&case_dir.join(rel)).and_then(|(f, _)| hash_reader(f)) {
            Ok(found) if &found == sha256 => report.files_checked += 1,
            Ok(_) => report.problems.push(format!(
                "{} was altered since record {n} (its SHA-256 is not the one recorded)",
                shown(relative)
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => report
                .problems
                .push(format!("{} was removed since record {n}", shown(relative))),
            Err(e) => report
                .problems
                .push(format!("{} cannot be read: {e}", shown(relative))),
        }
    }
    Ok(report)
}

/// The files an event names.
fn event_files(event: &Event) -> Vec<&FileHash> {
    match event {
        Event::SubmissionDecrypted { files, .. } => files.iter().collect(),
        Event::WorkingCopyMade { input, output, .. } => vec![input, output],
        Event::ReplyWritten { kept, .. } => vec![kept],
        Event::TrustedKeysSet { file, .. } => vec![file],
        Event::ExportVerified { .. }
        | Event::ExportRefused { .. }
        | Event::PartialRemoved { .. } => Vec::new(),
    }
}

/// One readable line for a record.
pub fn describe(record: &Record) -> String {
    let what = match &record.event {
        Event::ExportVerified {
            export_day,
            head,
            submissions,
            new_entries,
            gap,
        } => {
            let mut s = format!(
                "export of {} verified: {submissions} submission(s), {new_entries} new ledger entries, head {}",
                shown(export_day),
                head_text(head)
            );
            if let Some((a, b)) = gap {
                s.push_str(&format!(
                    "; ledger entries {a} to {b} were never seen (an export missing in between)"
                ));
            }
            s
        }
        Event::ExportRefused {
            export_day,
            head,
            reason,
        } => format!(
            "export of {} REFUSED (head {}): {}",
            shown(export_day),
            head_text(head),
            shown(reason)
        ),
        Event::SubmissionDecrypted {
            id,
            ledger_entry,
            files,
        } => format!(
            "submission {} decrypted (ledger entry {}), {} file(s) recorded",
            shown(id),
            ledger_entry.seq,
            files.len()
        ),
        Event::WorkingCopyMade {
            id,
            output,
            removed,
            ..
        } => format!(
            "working copy {} of submission {} made; removed: {}",
            shown(&output.path),
            shown(id),
            if removed.is_empty() {
                "nothing".to_owned()
            } else {
                removed
                    .iter()
                    .map(|r| shown(r))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ),
        Event::ReplyWritten {
            id,
            reply_id,
            recipients,
            ..
        } => format!(
            "reply {} to the source of submission {} written, readable by {} key(s)",
            shown(reply_id),
            shown(id),
            recipients.len()
        ),
        Event::TrustedKeysSet { keys, .. } => {
            format!("reviewer keys trusted for replies set: {}", keys.len())
        }
        Event::PartialRemoved { name } => format!(
            "unfinished folder {} of an interrupted decrypt removed",
            shown(name)
        ),
    };
    format!(
        "#{} {} {}: {what}",
        record.n,
        shown(&record.time),
        shown(&record.tool)
    )
}

fn head_text(head: &Option<LedgerHead>) -> String {
    match head {
        Some(h) => format!("seq {} hash {}", h.seq, shown(&h.hash)),
        None => "none".into(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn decrypted(dir: &Path) -> Event {
        std::fs::create_dir_all(dir.join("a")).unwrap();
        std::fs::write(dir.join("a/message.txt"), b"hello").unwrap();
        Event::SubmissionDecrypted {
            id: "a".into(),
            ledger_entry: LedgerHead {
                seq: 0,
                hash: "h".into(),
            },
            files: vec![hash_file(dir, "a/message.txt").unwrap()],
        }
    }

    #[test]
    fn the_chain_and_the_files_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut log = CustodyLog::open(dir.path()).unwrap();
            log.append(decrypted(dir.path())).unwrap();
            log.append(Event::PartialRemoved { name: "x".into() })
                .unwrap();
        }
        // Reopened, it goes on from the last line.
        CustodyLog::open(dir.path())
            .unwrap()
            .append(Event::PartialRemoved { name: "y".into() })
            .unwrap();
        let report = check(dir.path()).unwrap();
        assert!(report.is_ok(), "{:?}", report.problems);
        assert_eq!(report.records.len(), 3);
        assert_eq!(report.files_checked, 1);

        std::fs::write(dir.path().join("a/message.txt"), b"hellO").unwrap();
        let report = check(dir.path()).unwrap();
        assert!(report.problems.iter().any(|p| p.contains("altered")));

        std::fs::write(dir.path().join("a/message.txt"), b"hello").unwrap();
        let log = dir.path().join(CUSTODY_LOG);
        let text = std::fs::read_to_string(&log).unwrap();
        std::fs::write(&log, text.replacen("\"x\"", "\"z\"", 1)).unwrap();
        let report = check(dir.path()).unwrap();
        assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
        assert!(report.problems[0].contains("line 3") && report.problems[0].contains("chain"));
        assert!(CustodyLog::open(dir.path()).is_ok());
    }

    #[test]
    fn a_path_outside_the_case_folder_is_a_problem_not_a_read() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = CustodyLog::open(dir.path()).unwrap();
        log.append(Event::TrustedKeysSet {
            keys: vec![],
            file: FileHash {
                path: "../../etc/passwd".into(),
                sha256: "0".repeat(64),
            },
        })
        .unwrap();
        let report = check(dir.path()).unwrap();
        assert!(report.problems[0].contains("not a path inside"));
        assert_eq!(report.files_checked, 0);
    }
}
