//! The ledger a case folder remembers (`OUT_DIR/ledger.jsonl`), and how a new export must
//! agree with it.
//!
//! Every export carries the chain from its first submission to the server's head. A case
//! folder keeps every entry it has verified. A new export must agree with each entry it knows
//! (same entry at the same position, and each link between a known entry and an export entry
//! next to it holds); one that contradicts it is refused before anything is decrypted. An
//! export that starts after the known head leaves a gap, reported loudly: an export may be
//! missing in between, and nothing can say what it held.
//!
//! Invariants: the file is replaced atomically (a temporary file, fsynced, renamed over) and
//! only ever grows: entries are added, never changed or removed; an entry that does not verify
//! its own hash is never kept. Reading it is capped.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use super::case::LEDGER_FILE;
use crate::export::Manifest;
use crate::ledger::LedgerEntry;
use crate::util::files::{open_regular_file, read_capped, write_durable, Capped};

/// The largest ledger file read (an entry is a few hundred bytes).
const MAX_LEDGER_BYTES: u64 = 256 << 20;

/// Why the case folder's ledger could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CaseLedgerError {
    /// Reading or writing it failed.
    #[error("the case folder's ledger {path}: {cause}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        cause: io::Error,
    },
    /// It was altered: a line that is not an entry, or an entry whose hash does not verify.
    #[error("the case folder's ledger {path} was altered (line {line}): restore the case folder from its backup")]
    Damaged {
        /// The file.
        path: String,
        /// The line.
        line: usize,
    },
}

/// How an export compares with what the case folder knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Agreement {
    /// It agrees. `new_entries` were not known; `gap` is the range of positions between the
    /// known head and the export that neither holds.
    Agrees {
        /// Entries the case folder did not know.
        new_entries: usize,
        /// Positions missing between the known head and the export's first entry.
        gap: Option<(u64, u64)>,
        /// The export ends before the newest entry the case folder knows.
        ends_earlier: bool,
    },
    /// It contradicts the case folder at ledger entry `seq`.
    Contradicts {
        /// The first position that differs.
        seq: u64,
        /// What differs, in one line.
        what: String,
    },
}

/// The ledger a case folder knows.
#[derive(Debug, Clone, Default)]
pub struct CaseLedger {
    entries: BTreeMap<u64, LedgerEntry>,
}

fn path_of(case_dir: &Path) -> PathBuf {
    case_dir.join(LEDGER_FILE)
}

impl CaseLedger {
    /// Reads `case_dir/ledger.jsonl` (empty when there is none yet).
    pub fn load(case_dir: &Path) -> Result<CaseLedger, CaseLedgerError> {
        let path = path_of(case_dir);
        let io_err = |cause| CaseLedgerError::Io {
            path: path.display().to_string(),
            cause,
        };
        let file = match open_regular_file(&path) {
            Ok((f, _)) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(CaseLedger::default()),
            Err(e) => return Err(io_err(e)),
        };
        let data = match read_capped(file, MAX_LEDGER_BYTES).map_err(io_err)? {
            Capped::Whole(d) => d,
            Capped::TooLarge => {
                return Err(io_err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "larger than any ledger this tool writes",
                )))
            }
        };
        let damaged = |line| CaseLedgerError::Damaged {
            path: path.display().to_string(),
            line,
        };
        let mut entries = BTreeMap::new();
        for (i, line) in data.split(|b| *b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            let entry: LedgerEntry = serde_json::from_slice(line).map_err(|_| damaged(i + 1))?;
            if entry.check().is_err() || entries.insert(entry.seq, entry).is_some() {
                return Err(damaged(i + 1));
            }
        }
        let ledger = CaseLedger { entries };
        if let Some(seq) = ledger.broken_link() {
            return Err(damaged(seq as usize + 1));
        }
        Ok(ledger)
    }

    /// The first position whose entry does not link to a known entry before it.
    fn broken_link(&self) -> Option<u64> {
        self.entries.values().find_map(|e| {
            let before = e.seq.checked_sub(1).and_then(|s| self.entries.get(&s));
            before.is_some_and(|b| b.hash != e.prev).then_some(e.seq)
        })
    }

    /// Number of entries known.
    pub fn len(&self) -> u64 {
        self.entries.len() as u64
    }

    /// True when nothing is known yet.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The newest entry known.
    pub fn head(&self) -> Option<&LedgerEntry> {
        self.entries.values().next_back()
    }

    /// How `manifest` (an export that passed verification) compares with what is known.
    pub fn compare(&self, manifest: &Manifest) -> Agreement {
        for e in &manifest.ledger {
            if let Some(known) = self.entries.get(&e.seq) {
                if known != e {
                    let what = if known.id != e.id {
                        "it names another submission there".to_owned()
                    } else if known.blobs != e.blobs {
                        "the submission's ciphertext is not the one verified before (replaced or altered)".to_owned()
                    } else {
                        "the entry is not the one verified before".to_owned()
                    };
                    return Agreement::Contradicts { seq: e.seq, what };
                }
            }
            let before = e.seq.checked_sub(1).and_then(|s| self.entries.get(&s));
            if before.is_some_and(|b| b.hash != e.prev) {
                return Agreement::Contradicts {
                    seq: e.seq,
                    what: "it does not follow the entry verified before it".to_owned(),
                };
            }
            if let Some(after) = self.entries.get(&(e.seq + 1)) {
                if after.prev != e.hash {
                    return Agreement::Contradicts {
                        seq: e.seq,
                        what: "the entry verified after it does not follow it".to_owned(),
                    };
                }
            }
        }
        let new_entries = manifest
            .ledger
            .iter()
            .filter(|e| !self.entries.contains_key(&e.seq))
            .count();
        let known_head = self.head().map(|h| h.seq);
        let first = manifest.ledger.first().map(|e| e.seq);
        let last = manifest
            .ledger_head
            .as_ref()
            .map(|h| h.seq)
            .or(manifest.ledger.last().map(|e| e.seq));
        let gap = match (known_head, first) {
            (Some(k), Some(f)) if f > k + 1 => Some((k + 1, f - 1)),
            _ => None,
        };
        let ends_earlier = matches!((known_head, last), (Some(k), Some(l)) if l < k);
        Agreement::Agrees {
            new_entries,
            gap,
            ends_earlier,
        }
    }

    /// Adds the entries of an export that agrees, and writes the file. Returns how many
    /// were new.
    pub fn remember(
        &mut self,
        case_dir: &Path,
        manifest: &Manifest,
    ) -> Result<usize, CaseLedgerError> {
        let mut added = 0;
        for e in &manifest.ledger {
            if e.check().is_ok() && !self.entries.contains_key(&e.seq) {
                self.entries.insert(e.seq, e.clone());
                added += 1;
            }
        }
        if added == 0 && path_of(case_dir).exists() {
            return Ok(0);
        }
        let mut text = Vec::new();
        for e in self.entries.values() {
            let line = serde_json::to_vec(e).map_err(|e| CaseLedgerError::Io {
                path: path_of(case_dir).display().to_string(),
                cause: io::Error::new(io::ErrorKind::InvalidData, e),
            })?;
            text.extend_from_slice(&line);
            text.push(b'\n');
        }
        write_durable(case_dir, LEDGER_FILE, &text, true).map_err(|cause| CaseLedgerError::Io {
            path: path_of(case_dir).display().to_string(),
            cause,
        })?;
        Ok(added)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::export::{LedgerHead, EXPORT_FORMAT};
    use crate::ledger::{BlobDigest, GENESIS};

    fn chain(n: u64, tag: &str) -> Vec<LedgerEntry> {
        let mut out: Vec<LedgerEntry> = Vec::new();
        for seq in 0..n {
            let prev = out.last().map_or(GENESIS.to_owned(), |e| e.hash.clone());
            let blobs = vec![BlobDigest {
                name: "envelope.age".into(),
                size: 10,
                sha256: crate::review::custody::sha256_hex(format!("{tag}{seq}").as_bytes()),
            }];
            out.push(LedgerEntry::new(
                seq,
                &prev,
                &format!("{seq:032x}"),
                "2026-12-01",
                blobs,
            ));
        }
        out
    }

    fn manifest(entries: &[LedgerEntry]) -> Manifest {
        Manifest {
            format: EXPORT_FORMAT.into(),
            exported_day: "2026-12-01".into(),
            ledger_head: entries.last().map(|e| LedgerHead {
                seq: e.seq,
                hash: e.hash.clone(),
            }),
            ledger: entries.to_vec(),
            submissions: vec![],
        }
    }

    #[test]
    fn agreement_gaps_and_contradictions() {
        let dir = tempfile::tempdir().unwrap();
        let real = chain(10, "real");
        let mut known = CaseLedger::load(dir.path()).unwrap();
        assert!(known.is_empty());
        let first = manifest(&real[..4]);
        assert_eq!(
            known.compare(&first),
            Agreement::Agrees {
                new_entries: 4,
                gap: None,
                ends_earlier: false
            }
        );
        known.remember(dir.path(), &first).unwrap();
        let known = CaseLedger::load(dir.path()).unwrap();
        assert_eq!(known.len(), 4);
        // The next export continues.
        assert!(matches!(
            known.compare(&manifest(&real[4..6])),
            Agreement::Agrees {
                new_entries: 2,
                gap: None,
                ..
            }
        ));
        // One that skips an export leaves a gap.
        assert!(matches!(
            known.compare(&manifest(&real[7..])),
            Agreement::Agrees {
                gap: Some((4, 6)),
                ..
            }
        ));
        // A forged history: the same positions, recomputed with another ciphertext.
        let forged = chain(10, "forged");
        assert!(matches!(
            known.compare(&manifest(&forged[2..])),
            Agreement::Contradicts { seq: 2, .. }
        ));
        // A forged continuation that does not link to the known head.
        assert!(matches!(
            known.compare(&manifest(&forged[4..])),
            Agreement::Contradicts { seq: 4, .. }
        ));
    }

    #[test]
    fn an_altered_ledger_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut known = CaseLedger::default();
        known
            .remember(dir.path(), &manifest(&chain(3, "a")))
            .unwrap();
        let path = dir.path().join(LEDGER_FILE);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replacen("2026-12-01", "2026-11-30", 1)).unwrap();
        assert!(matches!(
            CaseLedger::load(dir.path()),
            Err(CaseLedgerError::Damaged { line: 1, .. })
        ));
    }
}
