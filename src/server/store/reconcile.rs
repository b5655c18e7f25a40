//! Making the database agree with the journal: at every open, and when `check --repair`
//! rebuilds a lost or damaged database.
//!
//! Invariants:
//! - The journal wins: what it holds is put into sled. The one exception is a fact only sled
//!   holds (a database written before the journal existed), which is written into the journal,
//!   never dropped. A ledger entry that differs between the two is damage that needs a person:
//!   the open fails with [`StoreError::NeedsRepair`] and nothing is changed.
//! - A commit the journal still has as pending was never acknowledged: it is rolled back from
//!   sled and the journal, and its ciphertext folder goes to quarantine.
//! - A consent note a crash left pending is kept exactly when its submission committed.
//! - A repair never deletes the database it replaces: the damaged folder is renamed
//!   `db.damaged`, `db.damaged.2`, and so on.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::journal::{self, ReplyFile};
use super::{id_bytes, json, reply_key, Store, StoreError, SubmissionRecord, DB};
use crate::export::LedgerHead;
use crate::ledger::LedgerEntry;
use crate::util::files::sync_dir;

/// What an open (or a repair) put right.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconciled {
    /// Commits a crash interrupted before their commit point, rolled back.
    pub rolled_back: usize,
    /// New sources' records of those commits, removed.
    pub sources_discarded: usize,
    /// Purges a crash interrupted, finished.
    pub purges_finished: usize,
    /// Ledger entries put back into the database from the journal.
    pub entries_restored: usize,
    /// Submission records put back (or their export day).
    pub submissions_restored: usize,
    /// Sources put back.
    pub sources_restored: usize,
    /// Replies (and deletions of replies) put back.
    pub replies_restored: usize,
    /// Facts only the database held, written into the journal.
    pub journaled: usize,
    /// Consent notes of committed submissions a crash left pending, moved into place.
    #[serde(default)]
    pub notes_finished: usize,
    /// Consent notes of commits that never reached their commit point, removed.
    #[serde(default)]
    pub notes_discarded: usize,
}

impl Reconciled {
    /// True when anything was changed.
    pub fn changed(&self) -> bool {
        *self != Reconciled::default()
    }

    /// One line: what was put right.
    pub fn summary(&self) -> String {
        let parts = [
            (self.rolled_back, "interrupted commit(s) rolled back"),
            (
                self.sources_discarded,
                "unfinished source record(s) removed",
            ),
            (self.purges_finished, "interrupted purge(s) finished"),
            (self.entries_restored, "ledger entries restored"),
            (self.submissions_restored, "submission record(s) restored"),
            (self.sources_restored, "source(s) restored"),
            (self.replies_restored, "reply record(s) restored"),
            (self.journaled, "record(s) copied into the journal"),
            (self.notes_finished, "consent note(s) put in place"),
            (self.notes_discarded, "unfinished consent note(s) removed"),
        ];
        let said: Vec<String> = parts
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect();
        if said.is_empty() {
            "nothing to put right".into()
        } else {
            said.join(", ")
        }
    }
}

/// What `check --repair` did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairReport {
    /// Why the database needed rebuilding (`None`: it opened and agreed with the journal).
    pub damage: Option<String>,
    /// Where the damaged database was moved.
    pub moved_aside: Option<PathBuf>,
    /// What was restored.
    pub reconciled: Reconciled,
    /// Submissions in the repaired database.
    pub submissions: usize,
    /// Sources in the repaired database.
    pub sources: usize,
    /// Ledger entries in the repaired database.
    pub ledger_entries: u64,
    /// What could not be restored (a ledger chain that does not verify, ciphertext missing).
    pub problems: Vec<String>,
}

impl RepairReport {
    /// The report's lines for standard output.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        match (&self.damage, &self.moved_aside) {
            (Some(why), Some(aside)) => out.push(format!(
                "repair: the database {why}; it was moved to {} (kept, not deleted) and rebuilt from the journal",
                aside.display()
            )),
            (Some(why), None) => out.push(format!(
                "repair: the database {why}; it was rebuilt from the journal"
            )),
            (None, _) => out.push("repair: the database opened and agrees with the journal".into()),
        }
        out.push(format!("repair: {}", self.reconciled.summary()));
        out.push(format!(
            "repair: the database now holds {} submission(s), {} source(s), {} ledger entries",
            self.submissions, self.sources, self.ledger_entries
        ));
        out.extend(
            self.problems
                .iter()
                .map(|p| format!("repair: could not restore: {p}")),
        );
        out
    }
}

impl Store {
    /// Makes sled agree with the journal (see the module comment).
    pub(super) fn reconcile(&self) -> Result<Reconciled, StoreError> {
        let mut done = Reconciled::default();
        let mut changed = false;

        // Commits a crash interrupted: never acknowledged.
        for entry in self.journal.pending_entries()? {
            let raw = id_bytes(&entry.id)?;
            self.undo_in_db(&raw, &entry, None)?;
            self.journal.discard(entry.seq, None)?;
            done.rolled_back += 1;
        }
        for lookup in self.journal.pending_sources()? {
            self.undo_source(&lookup)?;
            done.sources_discarded += 1;
        }
        self.journal.discard_pending_sources()?;
        // After the roll-back, so only committed entries count.
        (done.notes_finished, done.notes_discarded) = self.journal.settle_pending_notes()?;
        done.purges_finished = self.finish_purges()?;

        // The ledger: the union of both, which must agree wherever both have an entry.
        let mut entries: BTreeMap<u64, LedgerEntry> = self
            .journal
            .entries()?
            .into_iter()
            .map(|e| (e.seq, e))
            .collect();
        for entry in self.ledger_from(0)? {
            match entries.get(&entry.seq) {
                Some(known) if *known == entry => {}
                Some(_) => {
                    return Err(StoreError::NeedsRepair(format!(
                        "and the journal differ at ledger entry {}",
                        entry.seq
                    )))
                }
                None => {
                    self.journal.add_entry(&entry)?;
                    done.journaled += 1;
                    entries.insert(entry.seq, entry);
                }
            }
        }
        for entry in entries.values() {
            if !self.ledger.contains_key(entry.seq.to_be_bytes())? {
                self.ledger.insert(entry.seq.to_be_bytes(), json(entry)?)?;
                done.entries_restored += 1;
                changed = true;
            }
        }
        if let Some(last) = entries.values().next_back() {
            let head = LedgerHead {
                seq: last.seq,
                hash: last.hash.clone(),
            };
            if self.head()? != Some(head.clone()) {
                self.meta.insert("head", json(&head)?)?;
                changed = true;
            }
        }

        // Submissions: every entry whose ciphertext folder is here.
        for entry in entries.values() {
            let raw = id_bytes(&entry.id)?;
            let dir = self.blob_dir(&raw);
            if !dir.is_dir() {
                continue;
            }
            let marker = journal::exported(&dir)?;
            match self.subs.get(raw)? {
                None => {
                    self.subs
                        .insert(raw, json(&SubmissionRecord::of(entry, marker))?)?;
                    done.submissions_restored += 1;
                    changed = true;
                }
                Some(v) => {
                    let mut rec: SubmissionRecord =
                        serde_json::from_slice(&v).map_err(super::corrupt)?;
                    match (&rec.exported, marker) {
                        (Some(day), None) => {
                            journal::mark_exported(&self.pool, &dir, day)?;
                            done.journaled += 1;
                        }
                        (None, Some(day)) => {
                            rec.exported = Some(day);
                            self.subs.insert(raw, json(&rec)?)?;
                            done.submissions_restored += 1;
                            changed = true;
                        }
                        _ => {}
                    }
                }
            }
        }

        // Sources.
        let known: BTreeMap<[u8; 32], _> = self.journal.sources()?.into_iter().collect();
        for item in self.sources.iter() {
            let (k, v) = item?;
            let Ok(lookup) = <[u8; 32]>::try_from(k.as_ref()) else {
                continue;
            };
            if !known.contains_key(&lookup) {
                let info = serde_json::from_slice(&v).map_err(super::corrupt)?;
                self.journal.add_source(&lookup, &info)?;
                done.journaled += 1;
            }
        }
        for (lookup, info) in &known {
            if !self.sources.contains_key(lookup)? {
                self.sources.insert(lookup, json(info)?)?;
                self.refs.insert(id_bytes(&info.reference)?, &lookup[..])?;
                done.sources_restored += 1;
                changed = true;
            }
        }

        // Replies, and the ids of replies the sources deleted.
        let mut replies: BTreeMap<String, ReplyFile> =
            self.journal.replies()?.into_iter().collect();
        for item in self.replies_seen.iter() {
            let (rid, reference) = item?;
            let id = hex::encode(&rid);
            if replies.contains_key(&id) {
                continue;
            }
            let (Ok(rid), Ok(r)) = (
                <[u8; 16]>::try_from(rid.as_ref()),
                <[u8; 16]>::try_from(reference.as_ref()),
            ) else {
                continue;
            };
            let file = match self.replies.get(reply_key(&r, &rid))? {
                Some(v) => ReplyFile::Stored {
                    reference: hex::encode(r),
                    reply: serde_json::from_slice(&v).map_err(super::corrupt)?,
                },
                None => ReplyFile::Deleted {
                    reference: hex::encode(r),
                    id: id.clone(),
                },
            };
            self.journal.add_reply(&file, &id)?;
            done.journaled += 1;
            replies.insert(id, file);
        }
        let mut next_seq = 0;
        for (id, file) in &replies {
            if let ReplyFile::Stored { reply, .. } = file {
                next_seq = next_seq.max(reply.seq + 1);
            }
            if self.put_reply(&id_bytes(id)?, file)? {
                done.replies_restored += 1;
                changed = true;
            }
        }
        let stored_seq = match self.meta.get("reply_seq")? {
            Some(v) => u64::from_be_bytes(v.as_ref().try_into().map_err(super::corrupt)?),
            None => 0,
        };
        if stored_seq < next_seq {
            self.meta.insert("reply_seq", &next_seq.to_be_bytes())?;
            changed = true;
        }

        if changed {
            self.db.flush()?;
        }
        Ok(done)
    }

    /// Removes a source's record from sled (the commit that made it was rolled back).
    fn undo_source(&self, lookup: &[u8; 32]) -> Result<(), StoreError> {
        if let Some(v) = self.sources.remove(lookup)? {
            if let Ok(info) = serde_json::from_slice::<crate::envelope::SourceInfo>(&v) {
                if let Ok(reference) = id_bytes(&info.reference) {
                    self.refs.remove(reference)?;
                }
            }
        }
        Ok(())
    }

    /// `witness-drop check --repair`: opens the database, or, when it is missing, does not
    /// open or contradicts the journal, moves it aside and rebuilds it from the journal.
    /// MUST only run while the server is stopped (the database lock makes sure of it).
    pub fn repair(data_dir: &Path) -> Result<(Store, RepairReport), StoreError> {
        let (store, damage, moved_aside) = match Store::open(data_dir) {
            Ok(store) => (store, None, None),
            Err(StoreError::NeedsRepair(why)) => {
                let db = data_dir.join(DB);
                let moved_aside = if fs::symlink_metadata(&db).is_ok() {
                    let mut target = data_dir.join(format!("{DB}.damaged"));
                    let mut n = 2;
                    while fs::symlink_metadata(&target).is_ok() {
                        target = data_dir.join(format!("{DB}.damaged.{n}"));
                        n += 1;
                    }
                    fs::rename(&db, &target)?;
                    sync_dir(data_dir)?;
                    Some(target)
                } else {
                    None
                };
                (Store::open_with(data_dir, true)?, Some(why), moved_aside)
            }
            Err(e) => return Err(e),
        };
        let counts = store.counts()?;
        let mut problems = store.check_files()?;
        if let Err(e) = crate::ledger::verify_chain(&store.journal.entries()?) {
            problems.push(format!("the journal's ledger does not verify: {e}"));
        }
        let report = RepairReport {
            damage,
            moved_aside,
            reconciled: store.reconciled.clone(),
            submissions: counts.submissions,
            sources: store.source_count(),
            ledger_entries: counts.ledger_entries,
            problems,
        };
        Ok((store, report))
    }
}
