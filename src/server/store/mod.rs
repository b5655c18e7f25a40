//! The database: sled for the index and the ledger, plus one folder of ciphertext files per
//! submission. Neither ever sees plaintext.
//!
//! Invariants:
//! - Every byte written here is age ciphertext, or metadata that names no person and no time
//!   finer than a day (ids, days, sizes, hashes, ledger entries).
//! - A submission exists only once its record is in sled's `subs` tree. Its ciphertext files
//!   are written and fsynced first; then one sled transaction adds the record and appends its
//!   ledger entry; then sled is flushed. Only after [`Store::commit`] returns may a receipt be
//!   shown.
//! - A blob folder without a record is left by a crash or a failed commit: `Store::sweep`
//!   moves it to `DATA/quarantine/` at every open, never deletes it (it is ciphertext only, and
//!   a commit whose outcome was uncertain may be what a reviewer needs); `check` lists it.
//!   Purge removes the record first, so a purge cut short leaves a folder for quarantine too.
//! - A commit that failed after its transaction may have applied ([`StoreError::Unflushed`])
//!   keeps its ciphertext: the record may point to it. The next start reconciles: the record is
//!   there (the submission stays) or it is not (the folder goes to quarantine).
//!
//! Why the ciphertext is not inside sled: sled 0.34 keeps values inside its tree nodes and
//! rewrites a whole node (up to 16 values) every ten updates, holding copies in memory. Measured
//! on the 2-core development machine for 1 GiB (`cargo bench --bench sled_bulk`): 84-174 MiB/s,
//! 1.4-2.9 GiB on disk and 100 MiB-1 GiB of resident memory depending on the chunk size, against
//! 700 MiB/s for `age -r` to a file. sled also never shrinks its files after deletes, so purged
//! ciphertext would linger on disk. Plain files written once, fsynced, and unlinked on purge
//! meet the memory, speed and deletion goals; sled stays the single point of commit.
//!
//! Layout:
//! - `DATA/db/`: sled. Trees: `subs` (`id(16)` -> JSON [`SubmissionRecord`]), `ledger`
//!   (`seq(u64 BE)` -> JSON [`LedgerEntry`]), `meta` (`head` -> JSON [`LedgerHead`]),
//!   `sources` (lookup id(32) -> JSON [`SourceInfo`]: reference, designation, public reply
//!   recipient), `refs` (reference(16) -> lookup id), `replies` (`reference(16) | reply
//!   id(16)` -> JSON [`ReplyRecord`], ciphertext only), `replies_seen` (reply id(16) ->
//!   reference, so a reply is never imported twice).
//! - `DATA/blobs/ID/0.age` (envelope), `DATA/blobs/ID/N.age` (attachment N): mode 0600,
//!   folders 0700. `DATA/quarantine/ID/`: folders moved there by `Store::sweep`.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

pub mod blobfile;

use crate::day::Day;
use crate::envelope::SourceInfo;
use crate::export::{is_valid_id, LedgerHead};
use crate::ledger::{BlobDigest, LedgerEntry, GENESIS};
use crate::util::files::{create_private_dir, ensure_private_dir, sync_dir};
pub use blobfile::BlobWriter;

/// sled's page cache. Its default (1 GiB) would dwarf the server; sled holds only small records.
pub const CACHE_CAPACITY: u64 = 8 * 1024 * 1024;

/// Why a storage operation failed. None of these carry plaintext or names.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled reported an error (I/O, corruption).
    #[error("database error: {0}")]
    Db(#[from] sled::Error),
    /// A commit's transaction may have applied, but it could not be made durable: its
    /// ciphertext MUST be kept (the record may point to it), and no receipt may be shown.
    #[error("the database could not be made durable: {0}")]
    Unflushed(#[source] sled::Error),
    /// A ciphertext file could not be written or read.
    #[error("ciphertext file error: {0}")]
    Io(#[from] io::Error),
    /// The database is locked by another process.
    #[error("the database in {0} is in use by another process: if `witness-drop serve` is running, the operator commands talk to it through its admin socket")]
    Locked(String),
    /// A stored record could not be decoded.
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    /// No such submission.
    #[error("no submission {0}")]
    NotFound(String),
    /// A caller passed an id that is not a submission id.
    #[error("not a submission id")]
    BadId,
}

/// What the store keeps about a committed submission. No time finer than a day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmissionRecord {
    /// Day received, `YYYY-MM-DD`.
    pub day: String,
    /// Ciphertext blobs, envelope first.
    pub blobs: Vec<BlobDigest>,
    /// Position in the ledger.
    pub seq: u64,
    /// Day of the first export, if exported.
    pub exported: Option<String>,
}

/// Numbers `check` prints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreCounts {
    /// Committed submissions.
    pub submissions: usize,
    /// Committed and never exported.
    pub not_exported: usize,
    /// Ledger entries (including those of purged submissions).
    pub ledger_entries: u64,
    /// Folders in `DATA/quarantine/`.
    #[serde(default)]
    pub quarantined: usize,
}

/// The database.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    subs: sled::Tree,
    ledger: sled::Tree,
    meta: sled::Tree,
    sources: sled::Tree,
    refs: sled::Tree,
    replies: sled::Tree,
    replies_seen: sled::Tree,
    blobs: PathBuf,
    quarantine: PathBuf,
}

/// The quarantine folder's name inside the data folder.
pub const QUARANTINE: &str = "quarantine";

/// A stored reply: ciphertext only (see [`crate::reply`]), with the day it was imported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyRecord {
    /// Reply id.
    pub id: String,
    /// Day imported, `YYYY-MM-DD`.
    pub day: String,
    /// Import order (for newest first).
    pub seq: u64,
    /// The age ciphertext, hex.
    pub ciphertext: String,
}

/// What importing one reply did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportOutcome {
    /// Stored.
    Imported,
    /// This reply id was imported before (and may since have been deleted by the source).
    AlreadyImported,
    /// No source has this reference.
    UnknownSource,
}

fn id_bytes(id: &str) -> Result<[u8; 16], StoreError> {
    if !is_valid_id(id) {
        return Err(StoreError::BadId);
    }
    let mut out = [0u8; 16];
    hex::decode_to_slice(id, &mut out).map_err(|_| StoreError::BadId)?;
    Ok(out)
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl Store {
    /// Opens (or creates) the database in `data_dir` and sweeps what crashed or aborted uploads
    /// left behind.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        ensure_private_dir(data_dir)?;
        let path = data_dir.join("db");
        let db = sled::Config::new()
            .path(&path)
            .cache_capacity(CACHE_CAPACITY)
            .open()
            .map_err(|e| match e {
                sled::Error::Io(ref io)
                    if io.kind() == io::ErrorKind::WouldBlock
                        || io.to_string().contains("lock") =>
                {
                    StoreError::Locked(path.display().to_string())
                }
                other => StoreError::Db(other),
            })?;
        let blobs = data_dir.join("blobs");
        ensure_private_dir(&blobs)?;
        let quarantine = data_dir.join(QUARANTINE);
        let store = Store {
            subs: db.open_tree("subs")?,
            ledger: db.open_tree("ledger")?,
            meta: db.open_tree("meta")?,
            sources: db.open_tree("sources")?,
            refs: db.open_tree("refs")?,
            replies: db.open_tree("replies")?,
            replies_seen: db.open_tree("replies_seen")?,
            db,
            blobs,
            quarantine,
        };
        store.sweep()?;
        Ok(store)
    }

    /// Moves every blob folder that belongs to no committed submission into quarantine.
    /// Returns how many. MUST only run when no upload is in progress: at open, which the
    /// database lock makes exclusive to one process.
    fn sweep(&self) -> Result<usize, StoreError> {
        let mut moved = 0;
        for entry in fs::read_dir(&self.blobs)? {
            let entry = entry?;
            let name = entry.file_name();
            let committed = match name.to_str().map(id_bytes) {
                Some(Ok(raw)) => self.subs.contains_key(raw)?,
                _ => false,
            };
            if !committed {
                ensure_private_dir(&self.quarantine)?;
                // A name already in quarantine (the same folder swept twice) gets a suffix.
                let mut target = self.quarantine.join(&name);
                let mut n = 1;
                while fs::symlink_metadata(&target).is_ok() {
                    target = self
                        .quarantine
                        .join(format!("{}.{n}", name.to_string_lossy()));
                    n += 1;
                }
                fs::rename(entry.path(), &target)?;
                moved += 1;
            }
        }
        if moved > 0 {
            sync_dir(&self.quarantine)?;
            sync_dir(&self.blobs)?;
            tracing::warn!("moved {moved} unfinished upload folder(s) to quarantine");
        }
        Ok(moved)
    }

    fn blob_dir(&self, raw: &[u8; 16]) -> PathBuf {
        self.blobs.join(hex::encode(raw))
    }

    fn blob_path(&self, id: &str, blob: u16) -> Result<PathBuf, StoreError> {
        Ok(self.blob_dir(&id_bytes(id)?).join(format!("{blob}.age")))
    }

    /// Starts an upload in its own folder. Returns the new random id.
    pub fn begin_upload(&self) -> Result<String, StoreError> {
        let id = crate::export::new_id().map_err(|e| corrupt(format!("random: {e}")))?;
        let dir = self.blob_dir(&id_bytes(&id)?);
        create_private_dir(&dir)?;
        Ok(id)
    }

    /// A new file for the ciphertext of `blob` of upload `id` (0: envelope, N: attachment N).
    pub fn blob_writer(&self, id: &str, blob: u16) -> Result<BlobWriter, StoreError> {
        Ok(BlobWriter::create(&self.blob_path(id, blob)?)?)
    }

    /// Removes an upload that will not be committed.
    pub fn abort_upload(&self, id: &str) -> Result<(), StoreError> {
        let dir = self.blob_dir(&id_bytes(id)?);
        match fs::remove_dir_all(dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Commits an upload whose blobs are all written and finished: makes the folder durable,
    /// then adds the record and appends the ledger entry in one transaction, then flushes.
    /// When this returns `Ok`, the submission survives a crash.
    ///
    /// A new source (first submission) is recorded in the same transaction: `new_source` is its
    /// lookup id and public record.
    pub fn commit(
        &self,
        id: &str,
        blobs: Vec<BlobDigest>,
        new_source: Option<([u8; 32], SourceInfo)>,
    ) -> Result<LedgerEntry, StoreError> {
        let raw = id_bytes(id)?;
        let source = match &new_source {
            Some((lookup, info)) => Some((
                *lookup,
                id_bytes(&info.reference)?,
                serde_json::to_vec(info).map_err(corrupt)?,
            )),
            None => None,
        };
        sync_dir(&self.blob_dir(&raw))?;
        sync_dir(&self.blobs)?;
        let day = Day::today().to_string();
        let trees = (
            &self.subs,
            &self.ledger,
            &self.meta,
            &self.sources,
            &self.refs,
        );
        let result = trees.transaction(|(subs, ledger, meta, sources, refs)| {
            let abort = |e: serde_json::Error| ConflictableTransactionError::Abort(corrupt(e));
            let head: Option<LedgerHead> = match meta.get("head")? {
                Some(v) => Some(serde_json::from_slice(&v).map_err(abort)?),
                None => None,
            };
            let (seq, prev) = match &head {
                Some(h) => (h.seq + 1, h.hash.clone()),
                None => (0, GENESIS.to_owned()),
            };
            let entry = LedgerEntry::new(seq, &prev, id, &day, blobs.clone());
            let record = SubmissionRecord {
                day: day.clone(),
                blobs: blobs.clone(),
                seq,
                exported: None,
            };
            let new_head = LedgerHead {
                seq,
                hash: entry.hash.clone(),
            };
            subs.insert(&raw, serde_json::to_vec(&record).map_err(abort)?)?;
            ledger.insert(
                &seq.to_be_bytes(),
                serde_json::to_vec(&entry).map_err(abort)?,
            )?;
            meta.insert("head", serde_json::to_vec(&new_head).map_err(abort)?)?;
            if let Some((lookup, reference, record)) = &source {
                if sources.get(lookup)?.is_none() {
                    sources.insert(&lookup[..], record.as_slice())?;
                    refs.insert(&reference[..], &lookup[..])?;
                }
            }
            Ok(entry)
        });
        let entry = match result {
            Ok(entry) => entry,
            Err(TransactionError::Abort(e)) => return Err(e),
            // sled may have applied part of it: keep the ciphertext.
            Err(TransactionError::Storage(e)) => return Err(StoreError::Unflushed(e)),
        };
        self.db.flush().map_err(StoreError::Unflushed)?;
        Ok(entry)
    }

    /// Flushes sled (at shutdown).
    pub fn flush_all(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// Every committed submission, in ledger order.
    pub fn submissions(&self) -> Result<Vec<(String, SubmissionRecord)>, StoreError> {
        let mut out = Vec::new();
        for item in self.subs.iter() {
            let (k, v) = item?;
            let rec: SubmissionRecord = serde_json::from_slice(&v).map_err(corrupt)?;
            out.push((hex::encode(&k), rec));
        }
        out.sort_by_key(|(_, r)| r.seq);
        Ok(out)
    }

    /// The ledger head, if anything was ever committed.
    pub fn head(&self) -> Result<Option<LedgerHead>, StoreError> {
        match self.meta.get("head")? {
            Some(v) => Ok(Some(serde_json::from_slice(&v).map_err(corrupt)?)),
            None => Ok(None),
        }
    }

    /// Ledger entries with `seq >= from`, in order.
    pub fn ledger_from(&self, from: u64) -> Result<Vec<LedgerEntry>, StoreError> {
        let mut out = Vec::new();
        for item in self.ledger.range(from.to_be_bytes()..) {
            let (_, v) = item?;
            out.push(serde_json::from_slice(&v).map_err(corrupt)?);
        }
        Ok(out)
    }

    /// Opens the ciphertext of blob `blob` of committed submission `id` for reading.
    pub fn open_blob(&self, id: &str, blob: u16) -> Result<File, StoreError> {
        if !self.subs.contains_key(id_bytes(id)?)? {
            return Err(StoreError::NotFound(id.to_owned()));
        }
        Ok(File::open(self.blob_path(id, blob)?)?)
    }

    /// Marks submissions exported today (only those not yet marked), then flushes.
    pub fn mark_exported(&self, ids: &[String]) -> Result<(), StoreError> {
        let today = Day::today().to_string();
        for id in ids {
            let raw = id_bytes(id)?;
            let Some(v) = self.subs.get(raw)? else {
                return Err(StoreError::NotFound(id.clone()));
            };
            let mut rec: SubmissionRecord = serde_json::from_slice(&v).map_err(corrupt)?;
            if rec.exported.is_none() {
                rec.exported = Some(today.clone());
                self.subs
                    .insert(raw, serde_json::to_vec(&rec).map_err(corrupt)?)?;
            }
        }
        self.db.flush()?;
        Ok(())
    }

    /// Deletes exported submissions received before `cutoff`: their records, then their
    /// ciphertext files. Their ledger entries stay (ids, days and hashes only), so the chain still
    /// verifies. Returns how many were deleted.
    pub fn purge_exported_before(&self, cutoff: Day) -> Result<usize, StoreError> {
        let mut gone = Vec::new();
        for (id, rec) in self.submissions()? {
            let old = Day::parse(&rec.day).is_some_and(|d| d < cutoff);
            if rec.exported.is_some() && old {
                let raw = id_bytes(&id)?;
                self.subs.remove(raw)?;
                gone.push(raw);
            }
        }
        // Records first and durable: a crash from here on leaves only orphan folders, which
        // the next open sweeps.
        self.db.flush()?;
        for raw in &gone {
            match fs::remove_dir_all(self.blob_dir(raw)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        if !gone.is_empty() {
            sync_dir(&self.blobs)?;
        }
        Ok(gone.len())
    }

    /// Number of sources (returning-source records).
    pub fn source_count(&self) -> usize {
        self.sources.len()
    }

    /// Counts for `check`.
    pub fn counts(&self) -> Result<StoreCounts, StoreError> {
        let subs = self.submissions()?;
        Ok(StoreCounts {
            submissions: subs.len(),
            not_exported: subs.iter().filter(|(_, r)| r.exported.is_none()).count(),
            ledger_entries: self.head()?.map_or(0, |h| h.seq + 1),
            quarantined: self.quarantined()?.len(),
        })
    }

    /// Bytes free for unprivileged writes on the data folder's file system.
    pub fn free_bytes(&self) -> io::Result<u64> {
        let st = rustix::fs::statvfs(&self.blobs)?;
        Ok(st.f_bavail.saturating_mul(st.f_frsize))
    }

    /// The folders in `DATA/quarantine/`, by name.
    pub fn quarantined(&self) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        match fs::read_dir(&self.quarantine) {
            Ok(entries) => {
                for entry in entries {
                    out.push(entry?.file_name().to_string_lossy().into_owned());
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        out.sort();
        Ok(out)
    }

    /// The source with this lookup id (derived from a codename), if any.
    pub fn source_by_lookup(&self, lookup: &[u8; 32]) -> Result<Option<SourceInfo>, StoreError> {
        match self.sources.get(lookup)? {
            Some(v) => Ok(Some(serde_json::from_slice(&v).map_err(corrupt)?)),
            None => Ok(None),
        }
    }

    /// Stores a reply for the source with `reference`, unless that reply id was seen before.
    /// The caller has checked the ciphertext's form and size.
    pub fn import_reply(
        &self,
        reference: &str,
        reply_id: &str,
        ciphertext: &[u8],
    ) -> Result<ImportOutcome, StoreError> {
        let r = id_bytes(reference)?;
        let rid = id_bytes(reply_id)?;
        if !self.refs.contains_key(r)? {
            return Ok(ImportOutcome::UnknownSource);
        }
        let record = ReplyRecord {
            id: reply_id.to_owned(),
            day: Day::today().to_string(),
            seq: self.db.generate_id()?,
            ciphertext: hex::encode(ciphertext),
        };
        let value = serde_json::to_vec(&record).map_err(corrupt)?;
        let mut key = r.to_vec();
        key.extend_from_slice(&rid);
        // Marked seen and stored in one transaction: a crash cannot leave a reply that is
        // "already imported" but missing.
        let result = (&self.replies_seen, &self.replies).transaction(|(seen, replies)| {
            if seen.insert(&rid[..], &r[..])?.is_some() {
                return Ok(ImportOutcome::AlreadyImported);
            }
            replies.insert(key.as_slice(), value.as_slice())?;
            Ok(ImportOutcome::Imported)
        });
        let outcome = match result {
            Ok(o) => o,
            Err(TransactionError::Abort(e)) => return Err(e),
            Err(TransactionError::Storage(e)) => return Err(StoreError::Db(e)),
        };
        self.db.flush()?;
        Ok(outcome)
    }

    /// The replies to the source with `reference`, newest first.
    pub fn replies_for(&self, reference: &str) -> Result<Vec<ReplyRecord>, StoreError> {
        let r = id_bytes(reference)?;
        let mut out = Vec::new();
        for item in self.replies.scan_prefix(r) {
            let (_, v) = item?;
            out.push(serde_json::from_slice::<ReplyRecord>(&v).map_err(corrupt)?);
        }
        out.sort_by_key(|r| std::cmp::Reverse(r.seq));
        Ok(out)
    }

    /// Deletes reply `reply_id` of the source with `reference` only; false if that source has
    /// no such reply.
    pub fn delete_reply(&self, reference: &str, reply_id: &str) -> Result<bool, StoreError> {
        let mut key = id_bytes(reference)?.to_vec();
        key.extend_from_slice(&id_bytes(reply_id)?);
        let gone = self.replies.remove(key)?.is_some();
        if gone {
            self.db.flush()?;
        }
        Ok(gone)
    }

    /// Checks that every committed submission has all its ciphertext files with the recorded
    /// sizes (hashes are checked by export and by the reviewer). Returns the problems found.
    pub fn check_files(&self) -> Result<Vec<String>, StoreError> {
        let mut problems = Vec::new();
        for (id, rec) in self.submissions()? {
            for (i, blob) in rec.blobs.iter().enumerate() {
                let path = self.blob_path(&id, i as u16)?;
                match fs::metadata(&path) {
                    Ok(m) if m.len() == blob.size => {}
                    Ok(_) => {
                        problems.push(format!("submission {id}: {} has the wrong size", blob.name))
                    }
                    Err(_) => problems.push(format!("submission {id}: {} is missing", blob.name)),
                }
            }
        }
        Ok(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn write_blob(store: &Store, id: &str, blob: u16, data: &[u8]) -> BlobDigest {
        let mut w = store.blob_writer(id, blob).unwrap();
        w.write_all(data).unwrap();
        w.finish().unwrap();
        BlobDigest {
            name: if blob == 0 {
                "envelope.age".into()
            } else {
                format!("file-{blob}.age")
            },
            size: data.len() as u64,
            sha256: String::new(),
        }
    }

    fn read(store: &Store, id: &str, blob: u16) -> Vec<u8> {
        let mut out = Vec::new();
        store
            .open_blob(id, blob)
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn commit_read_and_ledger() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let big: Vec<u8> = (0..3_000_017u32).map(|i| i as u8).collect();
        let mut ids = Vec::new();
        for _ in 0..3 {
            let id = store.begin_upload().unwrap();
            let b0 = write_blob(&store, &id, 0, b"env");
            let b1 = write_blob(&store, &id, 1, &big);
            store.commit(&id, vec![b0, b1], None).unwrap();
            ids.push(id);
        }
        assert_eq!(read(&store, &ids[1], 1), big);
        let ledger = store.ledger_from(0).unwrap();
        assert_eq!(ledger.len(), 3);
        crate::ledger::verify_chain(&ledger).unwrap();
        assert_eq!(store.head().unwrap().unwrap().hash, ledger[2].hash);
        let subs = store.submissions().unwrap();
        assert_eq!(subs.iter().map(|s| s.0.clone()).collect::<Vec<_>>(), ids);
        assert!(store.check_files().unwrap().is_empty());
    }

    #[test]
    fn uncommitted_uploads_are_swept_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let kept;
        {
            let store = Store::open(dir.path()).unwrap();
            let id = store.begin_upload().unwrap();
            let b = write_blob(&store, &id, 0, b"committed");
            store.commit(&id, vec![b], None).unwrap();
            kept = id;
            let pending = store.begin_upload().unwrap();
            write_blob(&store, &pending, 1, &[7u8; 5000]);
        }
        let store = Store::open(dir.path()).unwrap();
        let left: Vec<_> = fs::read_dir(dir.path().join("blobs"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(left, vec![kept.clone()]);
        assert_eq!(store.submissions().unwrap().len(), 1);
    }

    #[test]
    fn replies_belong_to_their_source_and_import_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let src = |n: u8| SourceInfo {
            reference: hex::encode([n; 16]),
            designation: "amber heron".into(),
            reply_recipient: "age1x".into(),
        };
        for n in [1u8, 2] {
            let id = store.begin_upload().unwrap();
            let b = write_blob(&store, &id, 0, b"e");
            store.commit(&id, vec![b], Some(([n; 32], src(n)))).unwrap();
        }
        assert_eq!(store.source_by_lookup(&[1; 32]).unwrap(), Some(src(1)));
        assert_eq!(store.source_by_lookup(&[3; 32]).unwrap(), None);
        let (r1, r2) = (src(1).reference, src(2).reference);
        let rid = hex::encode([9u8; 16]);
        assert_eq!(
            store.import_reply(&r1, &rid, b"ct").unwrap(),
            ImportOutcome::Imported
        );
        assert_eq!(
            store.import_reply(&r1, &rid, b"ct").unwrap(),
            ImportOutcome::AlreadyImported
        );
        assert_eq!(
            store
                .import_reply(&hex::encode([7u8; 16]), &hex::encode([8u8; 16]), b"ct")
                .unwrap(),
            ImportOutcome::UnknownSource
        );
        assert_eq!(store.replies_for(&r1).unwrap().len(), 1);
        assert!(store.replies_for(&r2).unwrap().is_empty());
        assert!(
            !store.delete_reply(&r2, &rid).unwrap(),
            "another source cannot delete it"
        );
        assert_eq!(store.replies_for(&r1).unwrap().len(), 1);
        assert!(store.delete_reply(&r1, &rid).unwrap());
        assert!(store.replies_for(&r1).unwrap().is_empty());
        assert_eq!(
            store.import_reply(&r1, &rid, b"ct").unwrap(),
            ImportOutcome::AlreadyImported
        );
    }

    #[test]
    fn blob_writer_reports_size_and_hash_of_what_it_wrote() {
        use sha2::Digest;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let id = store.begin_upload().unwrap();
        let data: Vec<u8> = (0..(3 * crate::server::store::blobfile::BUFFER + 12_345))
            .map(|i| (i % 253) as u8)
            .collect();
        let mut w = store.blob_writer(&id, 1).unwrap();
        for chunk in data.chunks(70_001) {
            w.write_all(chunk).unwrap();
        }
        let digest = w.finish().unwrap();
        assert_eq!(digest.size, data.len() as u64);
        assert_eq!(digest.sha256, hex::encode(sha2::Sha256::digest(&data)));
        let on_disk = std::fs::read(dir.path().join("blobs").join(&id).join("1.age")).unwrap();
        assert_eq!(on_disk, data);
    }

    #[test]
    fn aborted_upload_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let id = store.begin_upload().unwrap();
        write_blob(&store, &id, 1, &[1u8; 100]);
        store.abort_upload(&id).unwrap();
        assert_eq!(fs::read_dir(dir.path().join("blobs")).unwrap().count(), 0);
        assert!(matches!(
            store.open_blob(&id, 1),
            Err(StoreError::NotFound(_))
        ));
    }

    #[test]
    fn purge_removes_only_old_exported() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let a = store.begin_upload().unwrap();
        let b0 = write_blob(&store, &a, 0, b"x");
        store.commit(&a, vec![b0], None).unwrap();
        let b = store.begin_upload().unwrap();
        let b1 = write_blob(&store, &b, 0, b"y");
        store.commit(&b, vec![b1], None).unwrap();
        store.mark_exported(std::slice::from_ref(&a)).unwrap();
        assert_eq!(store.purge_exported_before(Day::today()).unwrap(), 0);
        let future = Day::parse("2999-01-01").unwrap();
        assert_eq!(store.purge_exported_before(future).unwrap(), 1);
        let left: Vec<_> = store
            .submissions()
            .unwrap()
            .into_iter()
            .map(|s| s.0)
            .collect();
        assert_eq!(left, vec![b.clone()]);
        assert!(!dir.path().join("blobs").join(&a).exists());
        assert_eq!(store.ledger_from(0).unwrap().len(), 2);
    }
}
