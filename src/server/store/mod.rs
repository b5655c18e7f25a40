//! The database: sled for the index and the ledger, a journal of small files from which it can
//! be rebuilt, and one folder of ciphertext files per submission. None of them ever sees
//! plaintext.
//!
//! Invariants:
//! - Every byte written here is age ciphertext, or metadata that names no person and no time
//!   finer than a day (ids, days, sizes, hashes, ledger entries).
//! - The journal ([`journal`]) is the record; sled is an index over it and the ciphertext
//!   folders. Every fact is written to the journal before sled is told, and [`Store::open`]
//!   makes sled agree with the journal (and writes into the journal what only sled knew, from
//!   a version before the journal). A lost or damaged database is rebuilt from the journal by
//!   [`Store::repair`] (`witness-drop check --repair`); the damaged one is moved aside, never
//!   deleted.
//! - Commits are serialised. A commit's steps: the ciphertext files written and fsynced (the
//!   upload), their folder fsynced; a new source's record and the ledger entry written to the
//!   journal as pending; one sled transaction (record, ledger entry, head, source); sled
//!   flushed; the journal's pending files made final, which is the commit point. Only after
//!   [`Store::commit`] returns may a receipt be shown. A step that fails undoes the earlier
//!   ones (sled first, then the journal), so nothing unacknowledged stays visible; a commit
//!   that cannot be undone stops all further commits until restart
//!   ([`StoreError::Uncertain`], ciphertext kept), and the next open rolls back what the
//!   journal still has as pending.
//! - Every file and folder the store makes after open (a submission's folder and files, the
//!   journal's files and their temporaries, the exported marker) is taken from the [`pool`],
//!   made ahead of time, so none is born when a submission arrives; and everything it wrote
//!   is restamped right after ([`stamp`]), and only that.
//! - A ciphertext folder without a record is left by a crash or a failed commit:
//!   `Store::sweep` moves it to `DATA/quarantine/` at every open, never deletes it (it is
//!   ciphertext only, and a commit whose outcome was uncertain may be what a reviewer needs);
//!   `check` lists it. Purge moves a folder to `DATA/purging/` first, then removes the record,
//!   then the folder; the next open finishes a purge cut short.
//!
//! Why the ciphertext is not inside sled: sled 0.34 keeps values inside its tree nodes and
//! rewrites a whole node (up to 16 values) every ten updates, holding copies in memory. Measured
//! on the 2-core development machine for 1 GiB (`cargo bench --bench sled_bulk`): 84-174 MiB/s,
//! 1.4-2.9 GiB on disk and 100 MiB-1 GiB of resident memory depending on the chunk size, against
//! 700 MiB/s for `age -r` to a file. sled also never shrinks its files after deletes, so purged
//! ciphertext would linger on disk. Plain files written once, fsynced, and unlinked on purge
//! meet the memory, speed and deletion goals.
//!
//! Layout:
//! - `DATA/db/`: sled. Trees: `subs` (`id(16)` -> JSON [`SubmissionRecord`]), `ledger`
//!   (`seq(u64 BE)` -> JSON [`LedgerEntry`]), `meta` (`head` -> JSON [`LedgerHead`],
//!   `reply_seq` -> the next reply's import order), `sources` (lookup id(32) -> JSON
//!   [`SourceInfo`]: reference, designation, public reply recipient), `refs` (reference(16) ->
//!   lookup id), `replies` (`reference(16) | reply id(16)` -> JSON [`ReplyRecord`], ciphertext
//!   only), `replies_seen` (reply id(16) -> reference, so a reply is never imported twice).
//! - `DATA/journal/`: see [`journal`].
//! - `DATA/blobs/ID/0.age` (envelope), `DATA/blobs/ID/N.age` (attachment N), `DATA/blobs/ID/exported`
//!   (the day of the first export): mode 0600, folders 0700. `DATA/quarantine/ID/`: folders
//!   moved there by `Store::sweep`. `DATA/purging/ID/`: a purge in progress (the folder made
//!   at open). `DATA/pool/`: see [`pool`].

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use sled::transaction::TransactionError;
use sled::Transactional;

pub mod blobfile;
pub mod journal;
pub mod pool;
mod reconcile;
pub mod stamp;

use crate::day::Day;
use crate::envelope::SourceInfo;
use crate::export::{is_valid_id, LedgerHead};
use crate::ledger::{BlobDigest, LedgerEntry, GENESIS};
use crate::server::failpoint;
use crate::util::files::{ensure_private_dir, sync_dir};
pub use blobfile::BlobWriter;
use journal::{Journal, ReplyFile};
use pool::{Pool, PoolCounts};
pub use reconcile::{Reconciled, RepairReport};

/// sled's page cache. Its default (1 GiB) would dwarf the server; sled holds only small records.
pub const CACHE_CAPACITY: u64 = 8 * 1024 * 1024;

/// Why a storage operation failed. None of these carry plaintext or names.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled reported an error (I/O, corruption).
    #[error("database error: {0}")]
    Db(#[from] sled::Error),
    /// A commit failed and could not be undone, so its outcome is uncertain until the next
    /// start: its ciphertext MUST be kept (a record may point to it), no receipt may be shown,
    /// and the store takes no further commit until restarted.
    #[error(
        "a failed commit could not be undone ({0}); storing is stopped until the server restarts"
    )]
    Uncertain(String),
    /// An earlier commit's outcome is uncertain (see [`StoreError::Uncertain`]).
    #[error("storing is stopped until the server restarts: an earlier commit could not be undone")]
    Stopped,
    /// A ciphertext or journal file could not be written or read.
    #[error("file error: {0}")]
    Io(#[from] io::Error),
    /// The database is locked by another process.
    #[error("the database in {0} is in use by another process: if `witness-drop serve` is running, the operator commands talk to it through its admin socket")]
    Locked(String),
    /// The database is missing, does not open, or contradicts the journal.
    #[error("the database {0}: stop the server and run `witness-drop check --repair`, which rebuilds it from the journal")]
    NeedsRepair(String),
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

impl SubmissionRecord {
    fn of(entry: &LedgerEntry, exported: Option<String>) -> SubmissionRecord {
        SubmissionRecord {
            day: entry.day.clone(),
            blobs: entry.blobs.clone(),
            seq: entry.seq,
            exported,
        }
    }
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
    /// What the last open put right.
    #[serde(default)]
    pub reconciled: Reconciled,
    /// The pool of empty files and folders ([`pool`]).
    #[serde(default)]
    pub pool: PoolCounts,
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
    journal: Journal,
    pool: Pool,
    data: PathBuf,
    blobs: PathBuf,
    quarantine: PathBuf,
    purging: PathBuf,
    /// Held for the whole of a commit, a reply import, and a read of the submissions; true
    /// once a commit could not be undone.
    commit_lock: Arc<Mutex<bool>>,
    reconciled: Reconciled,
}

/// The quarantine folder's name inside the data folder.
pub const QUARANTINE: &str = "quarantine";

/// The folder of purges in progress, inside the data folder.
const PURGING: &str = "purging";

/// The database folder's name inside the data folder.
pub const DB: &str = "db";

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

fn json(value: &impl Serialize) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(corrupt)
}

fn reply_key(reference: &[u8; 16], reply_id: &[u8; 16]) -> Vec<u8> {
    let mut key = reference.to_vec();
    key.extend_from_slice(reply_id);
    key
}

fn txn_error(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => StoreError::Db(e),
    }
}

impl Store {
    /// Opens the database in `data_dir`, makes it agree with the journal, and sweeps what
    /// crashed or aborted uploads left behind. A missing database while the journal holds
    /// anything, or one that does not open, is [`StoreError::NeedsRepair`].
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        Self::open_with(data_dir, false)
    }

    fn open_with(data_dir: &Path, rebuilding: bool) -> Result<Store, StoreError> {
        ensure_private_dir(data_dir)?;
        let path = data_dir.join(DB);
        if !rebuilding && fs::symlink_metadata(&path).is_err() && journal::holds_anything(data_dir)?
        {
            return Err(StoreError::NeedsRepair(format!(
                "is missing ({}), while the journal holds submissions",
                path.display()
            )));
        }
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
                sled::Error::Io(io) => StoreError::Io(io),
                other => StoreError::NeedsRepair(format!("does not open ({other})")),
            })?;
        // Only now that sled's lock says no other process has the data folder: the pool (first,
        // so that everything written from here on is taken from it), then the journal, whose
        // open removes the temporaries of interrupted writes.
        let pool = Pool::open(data_dir)?;
        let journal = Journal::open(data_dir, pool.clone())?;
        let tree = |name: &str| {
            db.open_tree(name)
                .map_err(|e| StoreError::NeedsRepair(format!("does not open ({e})")))
        };
        let mut store = Store {
            subs: tree("subs")?,
            ledger: tree("ledger")?,
            meta: tree("meta")?,
            sources: tree("sources")?,
            refs: tree("refs")?,
            replies: tree("replies")?,
            replies_seen: tree("replies_seen")?,
            data: data_dir.to_path_buf(),
            blobs: data_dir.join("blobs"),
            quarantine: data_dir.join(QUARANTINE),
            purging: data_dir.join(PURGING),
            journal,
            pool,
            db,
            commit_lock: Arc::new(Mutex::new(false)),
            reconciled: Reconciled::default(),
        };
        ensure_private_dir(&store.blobs)?;
        // Made now, at open, rather than at the first purge.
        ensure_private_dir(&store.purging)?;
        store.reconciled = store.reconcile().map_err(|e| match e {
            StoreError::Corrupt(why) => StoreError::NeedsRepair(why),
            StoreError::Db(sled::Error::Corruption { .. }) => {
                StoreError::NeedsRepair("is damaged".into())
            }
            other => other,
        })?;
        if store.reconciled.changed() {
            tracing::warn!("at open: {}", store.reconciled.summary());
        }
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

    fn lock(&self) -> std::sync::MutexGuard<'_, bool> {
        self.commit_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts an upload in its own folder. Returns the new random id.
    pub fn begin_upload(&self) -> Result<String, StoreError> {
        let id = crate::export::new_id().map_err(|e| corrupt(format!("random: {e}")))?;
        let dir = self.blob_dir(&id_bytes(&id)?);
        self.pool.take_folder(&dir)?;
        Ok(id)
    }

    /// A writer of the new file `path`, taken from the pool.
    fn new_blob_file(&self, path: &Path) -> Result<BlobWriter, StoreError> {
        Ok(BlobWriter::from_file(self.pool.take_file(path)?, path)?)
    }

    /// A new file for the ciphertext of `blob` of upload `id` (0: envelope, N: attachment N).
    pub fn blob_writer(&self, id: &str, blob: u16) -> Result<BlobWriter, StoreError> {
        self.new_blob_file(&self.blob_path(id, blob)?)
    }

    /// A new file for the unpadded ciphertext of attachment `blob` of upload `id`
    /// (`N.unpadded`), which [`Store::pad_blob`] turns into `N.age`.
    pub fn unpadded_writer(&self, id: &str, blob: u16) -> Result<BlobWriter, StoreError> {
        let path = self
            .blob_dir(&id_bytes(id)?)
            .join(format!("{blob}.unpadded"));
        self.new_blob_file(&path)
    }

    /// Writes `N.age` as the padded copy of `N.unpadded` ([`crate::pad::repad`], with the
    /// file key `key` captured while it was encrypted), fsynced, then removes `N.unpadded`.
    /// Returns the size and SHA-256 of the padded file.
    pub fn pad_blob(
        &self,
        id: &str,
        blob: u16,
        key: &[u8; 16],
    ) -> Result<crate::envelope::Digest256, StoreError> {
        let dir = self.blob_dir(&id_bytes(id)?);
        let unpadded = dir.join(format!("{blob}.unpadded"));
        let file = File::open(&unpadded)?;
        let len = file.metadata()?.len();
        let mut writer = self.new_blob_file(&dir.join(format!("{blob}.age")))?;
        crate::pad::repad(file, len, key, &mut writer)?;
        let digest = writer.finish()?;
        fs::remove_file(&unpadded)?;
        Ok(digest)
    }

    /// Writes `bytes` (an already padded age file: the envelope) as blob `blob`, fsynced.
    pub fn write_blob(
        &self,
        id: &str,
        blob: u16,
        bytes: &[u8],
    ) -> Result<crate::envelope::Digest256, StoreError> {
        use std::io::Write;
        let mut writer = self.blob_writer(id, blob)?;
        writer.write_all(bytes)?;
        Ok(writer.finish()?)
    }

    /// Removes an upload that will not be committed.
    pub fn abort_upload(&self, id: &str) -> Result<(), StoreError> {
        let dir = self.blob_dir(&id_bytes(id)?);
        match fs::remove_dir_all(dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
        // The folders it took from and removed from.
        self.restamp_paths(&[], &[&self.blobs, self.pool.dir()]);
        Ok(())
    }

    /// Commits an upload whose blobs are all written and finished (see the module comment for
    /// the steps). When this returns `Ok`, the submission survives a crash and the loss of the
    /// database; when it returns any other error than [`StoreError::Uncertain`], nothing of it
    /// is left but its ciphertext folder, which the caller removes.
    ///
    /// A new source (first submission) is recorded in the same commit: `new_source` is its
    /// lookup id and public record.
    pub fn commit(
        &self,
        id: &str,
        blobs: Vec<BlobDigest>,
        new_source: Option<([u8; 32], SourceInfo)>,
        note: Option<(String, Vec<u8>)>,
    ) -> Result<LedgerEntry, StoreError> {
        let raw = id_bytes(id)?;
        let source = match &new_source {
            Some((lookup, info)) => Some((*lookup, id_bytes(&info.reference)?, json(info)?)),
            None => None,
        };
        sync_dir(&self.blob_dir(&raw))?;
        sync_dir(&self.blobs)?;
        let mut stopped = self.lock();
        if *stopped {
            return Err(StoreError::Stopped);
        }
        let (seq, prev) = match self.head()? {
            Some(h) => (h.seq + 1, h.hash),
            None => (0, GENESIS.to_owned()),
        };
        let entry = LedgerEntry::new(seq, &prev, id, &Day::today().to_string(), blobs);
        let lookup = new_source.as_ref().map(|(lookup, _)| lookup);
        if let Some((lookup, info)) = &new_source {
            self.journal.write_pending_source(lookup, info)?;
        }
        let note_ref = note.as_ref().map(|(reference, _)| reference.as_str());
        let result = match &note {
            Some((reference, sealed)) => self.journal.write_pending_note(reference, seq, sealed),
            None => Ok(()),
        }
        .and_then(|()| self.journal.write_pending_entry(&entry))
        .map_err(StoreError::from)
        .and_then(|()| self.apply_commit(&raw, &entry, source.as_ref()))
        .and_then(|()| Ok(self.journal.finalize(seq, lookup)?));
        match result {
            Ok(()) => {
                // Committed. The note follows its entry; if moving it fails, the next open
                // moves it (the pending note of a committed entry is kept).
                if let Some(reference) = note_ref {
                    if let Err(e) = self.journal.finalize_note(reference, seq) {
                        tracing::warn!("could not move a consent note into place: {e}");
                    }
                }
                // What the commit wrote shows its day, not its time ([`stamp`]). Times only:
                // a failure here changes nothing about the commit.
                if let Err(e) = self.restamp_commit(&raw, seq, lookup, note_ref) {
                    tracing::warn!("could not set the times of a commit's files: {e}");
                }
                // Committed: only `exit` means anything here (a crash before the receipt).
                let _ = failpoint::hit("commit.done");
                Ok(entry)
            }
            Err(e) => match self.undo_commit(&raw, &entry, lookup, note_ref) {
                Ok(()) => Err(e),
                Err(undo) => {
                    *stopped = true;
                    tracing::error!("a failed commit could not be undone: {undo}");
                    Err(StoreError::Uncertain(format!("{e}; undoing it: {undo}")))
                }
            },
        }
    }

    /// Restamps what a commit wrote, and nothing else, so that its cost does not grow with
    /// the number of submissions: its folder and files, `blobs/`, the pool folder it took
    /// from, the journal files it wrote and their folders, sled's files and the data folder.
    fn restamp_commit(
        &self,
        raw: &[u8; 16],
        seq: u64,
        new_source: Option<&[u8; 32]>,
        note: Option<&str>,
    ) -> io::Result<()> {
        stamp::restamp_tree(&self.blob_dir(raw))?;
        stamp::restamp(&self.blobs)?;
        stamp::restamp(self.pool.dir())?;
        self.journal.restamp_commit(seq, new_source, note)?;
        self.restamp_db()
    }

    /// Restamps sled's files (a handful, and one per value too large for its log: never one
    /// per submission), then the data folder.
    fn restamp_db(&self) -> io::Result<()> {
        stamp::restamp_tree(&self.data.join(DB))?;
        stamp::restamp(&self.data)?;
        Ok(())
    }

    /// Restamps the trees `trees` and the entries `single`, then sled's files and the data
    /// folder; a failure is logged (times only: nothing is at stake but them).
    fn restamp_paths(&self, trees: &[PathBuf], single: &[&Path]) {
        let restamp = || -> io::Result<()> {
            for tree in trees {
                stamp::restamp_tree(tree)?;
            }
            for path in single {
                stamp::restamp(path)?;
            }
            self.restamp_db()
        };
        if let Err(e) = restamp() {
            tracing::warn!("could not set the times of the files just written: {e}");
        }
    }

    /// Restamps the whole data folder ([`stamp`]); returns how many entries changed.
    pub fn restamp_all(&self) -> io::Result<usize> {
        stamp::restamp_tree(&self.data)
    }

    /// The pool of empty files and folders, for its refills ([`pool::Refills`]).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The sled part of a commit: one transaction, then a flush.
    fn apply_commit(
        &self,
        raw: &[u8; 16],
        entry: &LedgerEntry,
        source: Option<&([u8; 32], [u8; 16], Vec<u8>)>,
    ) -> Result<(), StoreError> {
        let record = json(&SubmissionRecord::of(entry, None))?;
        let ledger_value = json(entry)?;
        let head = json(&LedgerHead {
            seq: entry.seq,
            hash: entry.hash.clone(),
        })?;
        let trees = (
            &self.subs,
            &self.ledger,
            &self.meta,
            &self.sources,
            &self.refs,
        );
        trees
            .transaction(|(subs, ledger, meta, sources, refs)| {
                subs.insert(&raw[..], record.as_slice())?;
                ledger.insert(&entry.seq.to_be_bytes(), ledger_value.as_slice())?;
                meta.insert("head", head.as_slice())?;
                if let Some((lookup, reference, info)) = source {
                    if sources.get(lookup)?.is_none() {
                        sources.insert(&lookup[..], info.as_slice())?;
                        refs.insert(&reference[..], &lookup[..])?;
                    }
                }
                Ok(())
            })
            .map_err(txn_error)?;
        // "The transaction failed, perhaps after it applied": the hardest case to undo.
        failpoint::hit("commit.transaction")?;
        failpoint::hit("commit.flush")?;
        self.db.flush()?;
        Ok(())
    }

    /// Undoes every step of a commit that did not reach its commit point.
    fn undo_commit(
        &self,
        raw: &[u8; 16],
        entry: &LedgerEntry,
        new_source: Option<&[u8; 32]>,
        note: Option<&str>,
    ) -> Result<(), StoreError> {
        self.undo_in_db(raw, entry, new_source)?;
        self.journal.discard(entry.seq, new_source)?;
        if let Some(reference) = note {
            self.journal.discard_note(reference, entry.seq)?;
        }
        Ok(())
    }

    /// Removes a commit's record, ledger entry and new source from sled (whatever of them it
    /// holds) and puts the head back; then flushes.
    fn undo_in_db(
        &self,
        raw: &[u8; 16],
        entry: &LedgerEntry,
        new_source: Option<&[u8; 32]>,
    ) -> Result<(), StoreError> {
        let previous = match entry.seq {
            0 => None,
            seq => Some(json(&LedgerHead {
                seq: seq - 1,
                hash: entry.prev.clone(),
            })?),
        };
        let trees = (
            &self.subs,
            &self.ledger,
            &self.meta,
            &self.sources,
            &self.refs,
        );
        trees
            .transaction(|(subs, ledger, meta, sources, refs)| {
                let ours = match subs.get(raw)? {
                    Some(v) => serde_json::from_slice::<SubmissionRecord>(&v)
                        .map_or(true, |r| r.seq == entry.seq),
                    None => false,
                };
                if ours {
                    subs.remove(&raw[..])?;
                }
                ledger.remove(&entry.seq.to_be_bytes())?;
                match &previous {
                    Some(head) => meta.insert("head", head.as_slice())?,
                    None => meta.remove("head")?,
                };
                if let Some(lookup) = new_source {
                    if let Some(v) = sources.remove(&lookup[..])? {
                        if let Ok(info) = serde_json::from_slice::<SourceInfo>(&v) {
                            if let Ok(reference) = id_bytes(&info.reference) {
                                refs.remove(&reference[..])?;
                            }
                        }
                    }
                }
                Ok(())
            })
            .map_err(txn_error)?;
        self.db.flush()?;
        Ok(())
    }

    /// Flushes sled (at shutdown).
    pub fn flush_all(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// Every committed submission, in ledger order. Never one whose commit is in progress.
    pub fn submissions(&self) -> Result<Vec<(String, SubmissionRecord)>, StoreError> {
        let _commits = self.lock();
        self.submissions_unlocked()
    }

    fn submissions_unlocked(&self) -> Result<Vec<(String, SubmissionRecord)>, StoreError> {
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

    /// Marks submissions exported today (only those not yet marked): the marker file in each
    /// folder first, then the records; then flushes. Then restamps their folders (the marker,
    /// and the access times the export's reads set), the pool folder and sled's files.
    pub fn mark_exported(&self, ids: &[String]) -> Result<(), StoreError> {
        let today = Day::today().to_string();
        let mut folders = Vec::new();
        for id in ids {
            let raw = id_bytes(id)?;
            let Some(v) = self.subs.get(raw)? else {
                return Err(StoreError::NotFound(id.clone()));
            };
            let mut rec: SubmissionRecord = serde_json::from_slice(&v).map_err(corrupt)?;
            folders.push(self.blob_dir(&raw));
            if rec.exported.is_none() {
                journal::mark_exported(&self.pool, &self.blob_dir(&raw), &today)?;
                rec.exported = Some(today.clone());
                self.subs.insert(raw, json(&rec)?)?;
            }
        }
        self.db.flush()?;
        self.restamp_paths(&folders, &[self.pool.dir()]);
        Ok(())
    }

    /// Deletes exported submissions received before `cutoff`: each folder is moved to
    /// `DATA/purging/`, then the records go, then the folders. Their ledger entries stay (ids,
    /// days and hashes only), so the chain still verifies. Returns how many were deleted.
    pub fn purge_exported_before(&self, cutoff: Day) -> Result<usize, StoreError> {
        let _commits = self.lock();
        let mut gone = Vec::new();
        for (id, rec) in self.submissions_unlocked()? {
            let old = Day::parse(&rec.day).is_some_and(|d| d < cutoff);
            if rec.exported.is_some() && old {
                gone.push(id_bytes(&id)?);
            }
        }
        if gone.is_empty() {
            return Ok(0);
        }
        ensure_private_dir(&self.purging)?;
        for raw in &gone {
            fs::rename(self.blob_dir(raw), self.purging.join(hex::encode(raw)))?;
        }
        sync_dir(&self.purging)?;
        sync_dir(&self.blobs)?;
        self.finish_purges()?;
        self.restamp_paths(&[], &[&self.blobs, &self.purging]);
        Ok(gone.len())
    }

    /// Removes the records of the folders in `DATA/purging/`, then the folders. Returns how
    /// many.
    fn finish_purges(&self) -> Result<usize, StoreError> {
        let entries = match fs::read_dir(&self.purging) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        let mut folders = Vec::new();
        for entry in entries {
            let entry = entry?;
            if let Some(Ok(raw)) = entry.file_name().to_str().map(id_bytes) {
                self.subs.remove(raw)?;
            }
            folders.push(entry.path());
        }
        // Records first and durable: a crash from here on leaves folders this finishes again.
        self.db.flush()?;
        for folder in &folders {
            match fs::remove_dir_all(folder) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        sync_dir(&self.purging)?;
        Ok(folders.len())
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
            reconciled: self.reconciled.clone(),
            pool: self.pool.counts(),
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

    /// True when a source already has `designation`. A scan of the sources (a few hundred
    /// bytes each), done once per new source.
    pub fn designation_in_use(&self, designation: &str) -> Result<bool, StoreError> {
        for item in self.sources.iter() {
            let (_, v) = item?;
            let info: SourceInfo = serde_json::from_slice(&v).map_err(corrupt)?;
            if info.designation == designation {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The source with this lookup id (derived from a codename), if any.
    pub fn source_by_lookup(&self, lookup: &[u8; 32]) -> Result<Option<SourceInfo>, StoreError> {
        match self.sources.get(lookup)? {
            Some(v) => Ok(Some(serde_json::from_slice(&v).map_err(corrupt)?)),
            None => Ok(None),
        }
    }

    /// Stores a reply for the source with `reference`, unless that reply id was seen before:
    /// in the journal first, then in sled. The caller has checked the ciphertext's form and
    /// size.
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
        let _commits = self.lock();
        if let Some(file) = self.journal.reply(reply_id)? {
            // Seen before; an import cut short after its journal file is completed now.
            if self.replies_seen.contains_key(rid)? {
                return Ok(ImportOutcome::AlreadyImported);
            }
            self.put_reply(&rid, &file)?;
            self.db.flush()?;
            self.restamp_reply(reply_id);
            return Ok(match file {
                ReplyFile::Stored { .. } => ImportOutcome::Imported,
                ReplyFile::Deleted { .. } => ImportOutcome::AlreadyImported,
            });
        }
        let seq = match self.meta.get("reply_seq")? {
            Some(v) => u64::from_be_bytes(v.as_ref().try_into().map_err(corrupt)?),
            None => 0,
        };
        let file = ReplyFile::Stored {
            reference: reference.to_owned(),
            reply: ReplyRecord {
                id: reply_id.to_owned(),
                day: Day::today().to_string(),
                seq,
                ciphertext: hex::encode(ciphertext),
            },
        };
        if !self.journal.add_reply(&file, reply_id)? {
            return Ok(ImportOutcome::AlreadyImported);
        }
        self.meta.insert("reply_seq", &(seq + 1).to_be_bytes())?;
        self.put_reply(&rid, &file)?;
        self.db.flush()?;
        self.restamp_reply(reply_id);
        Ok(ImportOutcome::Imported)
    }

    /// Makes sled hold what a journal reply file says: marked seen, and stored unless deleted.
    /// Returns true when that changed anything.
    fn put_reply(&self, rid: &[u8; 16], file: &ReplyFile) -> Result<bool, StoreError> {
        let r = id_bytes(file.reference())?;
        let key = reply_key(&r, rid);
        let value = match file {
            ReplyFile::Stored { reply, .. } => Some(json(reply)?),
            ReplyFile::Deleted { .. } => None,
        };
        (&self.replies_seen, &self.replies)
            .transaction(|(seen, replies)| {
                let mut changed = seen.insert(&rid[..], &r[..])?.is_none();
                match &value {
                    Some(v) => {
                        if replies.get(key.as_slice())?.is_none() {
                            replies.insert(key.as_slice(), v.as_slice())?;
                            changed = true;
                        }
                    }
                    None => changed |= replies.remove(key.as_slice())?.is_some(),
                }
                Ok(changed)
            })
            .map_err(txn_error)
    }

    /// The sealed consent note of the source with `reference` ([`journal::NoteFile`]), if any.
    pub fn consent_note(&self, reference: &str) -> Result<Option<Vec<u8>>, StoreError> {
        id_bytes(reference)?;
        Ok(self.journal.note(reference)?)
    }

    /// Restamps what importing or deleting a reply wrote: its journal file and folders, the
    /// pool folder, sled's files and the data folder.
    fn restamp_reply(&self, reply_id: &str) {
        if let Err(e) = self.journal.restamp_reply(reply_id) {
            tracing::warn!("could not set the times of a reply's file: {e}");
        }
        self.restamp_paths(&[], &[self.pool.dir()]);
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

    /// Deletes reply `reply_id` of the source with `reference` only (its journal file becomes
    /// a tombstone first); false if that source has no such reply.
    pub fn delete_reply(&self, reference: &str, reply_id: &str) -> Result<bool, StoreError> {
        let key = reply_key(&id_bytes(reference)?, &id_bytes(reply_id)?);
        if !self.replies.contains_key(&key)? {
            return Ok(false);
        }
        self.journal.delete_reply(reference, reply_id)?;
        self.replies.remove(key)?;
        self.db.flush()?;
        self.restamp_reply(reply_id);
        Ok(true)
    }

    /// Checks that every committed submission has all its ciphertext files with the recorded
    /// sizes (hashes are checked by export and by the reviewer), and that the ledger chain
    /// holds. Returns the problems found.
    pub fn check_files(&self) -> Result<Vec<String>, StoreError> {
        let mut problems = Vec::new();
        if let Err(e) = crate::ledger::verify_chain(&self.ledger_from(0)?) {
            problems.push(format!("the ledger does not verify: {e}"));
        }
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
            store.commit(&id, vec![b0, b1], None, None).unwrap();
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

    /// The inode numbers of every entry in the pool folder.
    fn pool_inodes(dir: &Path) -> std::collections::BTreeSet<u64> {
        use std::os::unix::fs::MetadataExt;
        fs::read_dir(dir.join(pool::POOL))
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().ino())
            .collect()
    }

    fn inode(path: &Path) -> u64 {
        use std::os::unix::fs::MetadataExt;
        fs::symlink_metadata(path).unwrap().ino()
    }

    #[test]
    fn every_file_and_folder_a_submission_export_and_reply_write_comes_from_the_pool() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let pooled = pool_inodes(dir.path());
        let id = store.begin_upload().unwrap();
        let b0 = write_blob(&store, &id, 0, b"envelope");
        let b1 = write_blob(&store, &id, 1, &[5u8; 3000]);
        let lookup = [4u8; 32];
        store
            .commit(&id, vec![b0, b1], Some((lookup, source(4))), None)
            .unwrap();
        store.mark_exported(std::slice::from_ref(&id)).unwrap();
        let (r, rid) = (source(4).reference, hex::encode([6u8; 16]));
        store.import_reply(&r, &rid, b"ct").unwrap();
        let blob_dir = dir.path().join("blobs").join(&id);
        let journal = dir.path().join(journal::JOURNAL);
        let mut written = vec![
            blob_dir.clone(),
            blob_dir.join("0.age"),
            blob_dir.join("1.age"),
            blob_dir.join(journal::EXPORTED),
            journal.join("ledger").join(format!("{:020}.json", 0)),
            journal
                .join("sources")
                .join(format!("{}.json", hex::encode(lookup))),
            journal.join("replies").join(format!("{rid}.json")),
        ];
        for path in &written {
            assert!(
                pooled.contains(&inode(path)),
                "{} not from the pool",
                path.display()
            );
        }
        // A deleted reply's tombstone replaces its file with another entry of the pool.
        let before = inode(&written[6]);
        assert!(store.delete_reply(&r, &rid).unwrap());
        assert_ne!(inode(&written[6]), before);
        assert!(pooled.contains(&inode(&written[6])));
        assert_eq!(store.counts().unwrap().pool.created_outside, 0);
        // Nothing taken is still in the pool, and nothing is left of the temporaries.
        let left = pool_inodes(dir.path());
        written.truncate(6);
        assert!(written.iter().all(|p| !left.contains(&inode(p))));
        for sub in ["ledger", "sources", "replies"] {
            for e in fs::read_dir(journal.join(sub)).unwrap() {
                let name = e.unwrap().file_name().into_string().unwrap();
                assert!(!name.starts_with('.'), "{name}");
            }
        }
    }

    #[test]
    fn a_commit_restamps_what_it_wrote_and_nothing_older() {
        use std::time::{Duration, SystemTime};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let first = store.begin_upload().unwrap();
        let b = write_blob(&store, &first, 0, b"first");
        store.commit(&first, vec![b], None, None).unwrap();
        // An earlier entry whose times are not at midnight (as between two marks).
        let old = dir
            .path()
            .join(journal::JOURNAL)
            .join("ledger")
            .join(format!("{:020}.json", 0));
        let old_blob = dir.path().join("blobs").join(&first).join("0.age");
        let odd = stamp::midnight_of(SystemTime::now()) + Duration::from_secs(3_661);
        for p in [&old, &old_blob] {
            File::open(p)
                .unwrap()
                .set_times(fs::FileTimes::new().set_modified(odd).set_accessed(odd))
                .unwrap();
        }
        let id = store.begin_upload().unwrap();
        let b = write_blob(&store, &id, 0, b"second");
        store
            .commit(&id, vec![b], Some(([8; 32], source(8))), None)
            .unwrap();
        let midnight = stamp::midnight_of(SystemTime::now());
        let new = [
            dir.path().join("blobs").join(&id),
            dir.path().join("blobs").join(&id).join("0.age"),
            dir.path().join("blobs"),
            dir.path().join(pool::POOL),
            dir.path().join(journal::JOURNAL).join("ledger"),
            old.with_file_name(format!("{:020}.json", 1)),
            dir.path().join(journal::JOURNAL).join("sources"),
            dir.path().join(DB),
            dir.path().to_path_buf(),
        ];
        for p in &new {
            assert_eq!(
                fs::metadata(p).unwrap().modified().unwrap(),
                midnight,
                "{p:?}"
            );
        }
        // The older entries were not walked: the commit's cost does not grow with them.
        for p in [&old, &old_blob] {
            assert_eq!(fs::metadata(p).unwrap().modified().unwrap(), odd, "{p:?}");
        }
        // The mark's restamp puts them right.
        store.restamp_all().unwrap();
        assert_eq!(fs::metadata(&old).unwrap().modified().unwrap(), midnight);
    }

    #[test]
    fn the_pool_is_neither_swept_nor_reconciled_nor_repaired_away() {
        let names = |dir: &Path| -> Vec<String> {
            let mut v: Vec<String> = fs::read_dir(dir.join(pool::POOL))
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            v.sort();
            v
        };
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            populate(&store);
        }
        // Topped up again by the next open.
        drop(Store::open(dir.path()).unwrap());
        let before = names(dir.path());
        assert_eq!(before.len(), pool::TARGET.files + pool::TARGET.folders);
        let store = Store::open(dir.path()).unwrap();
        assert!(!store.reconciled.changed(), "{:?}", store.reconciled);
        assert!(store.quarantined().unwrap().is_empty());
        assert_eq!(names(dir.path()), before, "the pool kept as it was");
        drop(store);
        fs::remove_dir_all(dir.path().join(DB)).unwrap();
        let (store, report) = Store::repair(dir.path()).unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(report.submissions, 3);
        assert!(store.quarantined().unwrap().is_empty());
        assert_eq!(names(dir.path()), before);
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
            store.commit(&id, vec![b], None, None).unwrap();
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
            store
                .commit(&id, vec![b], Some(([n; 32], src(n))), None)
                .unwrap();
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
        store.commit(&a, vec![b0], None, None).unwrap();
        let b = store.begin_upload().unwrap();
        let b1 = write_blob(&store, &b, 0, b"y");
        store.commit(&b, vec![b1], None, None).unwrap();
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

    fn source(n: u8) -> SourceInfo {
        SourceInfo {
            reference: hex::encode([n; 16]),
            designation: "amber heron".into(),
            reply_recipient: "age1x".into(),
        }
    }

    /// Everything a reviewer and a source can see, to compare before and after.
    fn snapshot(store: &Store) -> impl PartialEq + std::fmt::Debug {
        let replies: Vec<_> = [1u8, 2]
            .iter()
            .map(|n| store.replies_for(&source(*n).reference).unwrap())
            .collect();
        (
            store.submissions().unwrap(),
            store.ledger_from(0).unwrap(),
            store.head().unwrap(),
            store.source_by_lookup(&[1; 32]).unwrap(),
            store.source_by_lookup(&[2; 32]).unwrap(),
            replies,
        )
    }

    fn populate(store: &Store) -> Vec<String> {
        let mut ids = Vec::new();
        for n in [1u8, 2, 1] {
            let id = store.begin_upload().unwrap();
            let b = write_blob(store, &id, 0, &[n; 40]);
            let new = (ids.len() < 2).then(|| ([n; 32], source(n)));
            store.commit(&id, vec![b], new, None).unwrap();
            ids.push(id);
        }
        store.mark_exported(&ids[..1]).unwrap();
        let r1 = source(1).reference;
        for n in [7u8, 8] {
            let rid = hex::encode([n; 16]);
            assert_eq!(
                store.import_reply(&r1, &rid, &[n; 30]).unwrap(),
                ImportOutcome::Imported
            );
        }
        assert!(store.delete_reply(&r1, &hex::encode([7u8; 16])).unwrap());
        ids
    }

    #[test]
    fn a_lost_database_is_refused_then_rebuilt_from_the_journal_with_nothing_missing() {
        let dir = tempfile::tempdir().unwrap();
        let before = {
            let store = Store::open(dir.path()).unwrap();
            populate(&store);
            snapshot(&store)
        };
        fs::remove_dir_all(dir.path().join(DB)).unwrap();
        match Store::open(dir.path()) {
            Err(StoreError::NeedsRepair(why)) => assert!(why.contains("missing"), "{why}"),
            other => panic!("a missing database must need repair: {:?}", other.err()),
        }
        let (store, report) = Store::repair(dir.path()).unwrap();
        assert!(report.damage.is_some() && report.moved_aside.is_none());
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(
            (report.submissions, report.sources, report.ledger_entries),
            (3, 2, 3)
        );
        assert_eq!(report.reconciled.entries_restored, 3);
        assert_eq!(report.reconciled.sources_restored, 2);
        assert_eq!(snapshot(&store), before);
        assert!(store.check_files().unwrap().is_empty());
        // The deleted reply stays deleted and is never imported again; a new one is newest.
        let r1 = source(1).reference;
        assert_eq!(
            store
                .import_reply(&r1, &hex::encode([7u8; 16]), b"x")
                .unwrap(),
            ImportOutcome::AlreadyImported
        );
        store
            .import_reply(&r1, &hex::encode([9u8; 16]), b"y")
            .unwrap();
        assert_eq!(
            store.replies_for(&r1).unwrap()[0].id,
            hex::encode([9u8; 16])
        );
        // Commits go on from the head.
        let id = store.begin_upload().unwrap();
        let b = write_blob(&store, &id, 0, b"after");
        assert_eq!(store.commit(&id, vec![b], None, None).unwrap().seq, 3);
        crate::ledger::verify_chain(&store.ledger_from(0).unwrap()).unwrap();
    }

    #[test]
    fn a_database_from_before_the_journal_is_copied_into_it_and_can_then_be_lost() {
        let dir = tempfile::tempdir().unwrap();
        let before = {
            let store = Store::open(dir.path()).unwrap();
            populate(&store);
            snapshot(&store)
        };
        fs::remove_dir_all(dir.path().join(journal::JOURNAL)).unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            // 3 entries, 2 sources, 2 replies (one a tombstone), 1 export marker.
            assert_eq!(store.reconciled.journaled, 7, "{:?}", store.reconciled);
            assert_eq!(snapshot(&store), before);
        }
        fs::remove_dir_all(dir.path().join(DB)).unwrap();
        let (store, _) = Store::repair(dir.path()).unwrap();
        assert_eq!(snapshot(&store), before);
    }

    #[test]
    fn a_designation_is_in_use_once_its_source_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(!store.designation_in_use("amber heron").unwrap());
        let a = store.begin_upload().unwrap();
        let b = write_blob(&store, &a, 0, b"first");
        store
            .commit(&a, vec![b], Some(([1; 32], source(1))), None)
            .unwrap();
        assert!(store.designation_in_use("amber heron").unwrap());
        assert!(!store.designation_in_use("quiet harbour").unwrap());
    }

    #[test]
    fn a_consent_note_changes_exactly_when_its_submission_commits_and_survives_a_lost_database() {
        let dir = tempfile::tempdir().unwrap();
        let r = source(1).reference;
        {
            let store = Store::open(dir.path()).unwrap();
            assert_eq!(store.consent_note(&r).unwrap(), None);
            let a = store.begin_upload().unwrap();
            let b = write_blob(&store, &a, 0, b"first");
            let new = Some(([1; 32], source(1)));
            store
                .commit(&a, vec![b], new, Some((r.clone(), b"note one".to_vec())))
                .unwrap();
            assert_eq!(
                store.consent_note(&r).unwrap().as_deref(),
                Some(&b"note one"[..])
            );
            let c = store.begin_upload().unwrap();
            let b = write_blob(&store, &c, 0, b"second");
            // Crashes: a committed entry whose note was not moved yet, and a pending note
            // of a commit that never reached its commit point.
            let head = store.head().unwrap().unwrap();
            let entry = LedgerEntry::new(1, &head.hash, &c, "2026-12-01", vec![b]);
            store
                .journal
                .write_pending_note(&r, 1, b"note two")
                .unwrap();
            store.journal.write_pending_entry(&entry).unwrap();
            store
                .apply_commit(&id_bytes(&c).unwrap(), &entry, None)
                .unwrap();
            store.journal.finalize(1, None).unwrap();
            store.journal.write_pending_note(&r, 2, b"never").unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(
            (
                store.reconciled.notes_finished,
                store.reconciled.notes_discarded
            ),
            (1, 1)
        );
        assert_eq!(
            store.consent_note(&r).unwrap().as_deref(),
            Some(&b"note two"[..])
        );
        drop(store);
        // The note is not in sled: a rebuilt database does not change it.
        fs::remove_dir_all(dir.path().join(DB)).unwrap();
        let (store, _) = Store::repair(dir.path()).unwrap();
        assert_eq!(
            store.consent_note(&r).unwrap().as_deref(),
            Some(&b"note two"[..])
        );
        assert!(store.consent_note("../x").is_err());
    }

    #[test]
    fn a_commit_interrupted_before_its_commit_point_is_rolled_back_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let (kept, interrupted) = {
            let store = Store::open(dir.path()).unwrap();
            let a = store.begin_upload().unwrap();
            let b = write_blob(&store, &a, 0, b"acknowledged");
            store.commit(&a, vec![b], None, None).unwrap();
            // A crash after sled's flush, before the journal's rename: everything but the
            // commit point is done.
            let id = store.begin_upload().unwrap();
            let b = write_blob(&store, &id, 0, b"never acknowledged");
            let head = store.head().unwrap().unwrap();
            let entry = LedgerEntry::new(1, &head.hash, &id, "2026-12-01", vec![b]);
            let raw = id_bytes(&id).unwrap();
            let info = source(3);
            store.journal.write_pending_source(&[3; 32], &info).unwrap();
            store.journal.write_pending_entry(&entry).unwrap();
            let src = (
                [3; 32],
                id_bytes(&info.reference).unwrap(),
                json(&info).unwrap(),
            );
            store.apply_commit(&raw, &entry, Some(&src)).unwrap();
            assert_eq!(store.submissions().unwrap().len(), 2);
            (a, id)
        };
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.reconciled.rolled_back, 1);
        assert_eq!(store.reconciled.sources_discarded, 1);
        let ids: Vec<_> = store
            .submissions()
            .unwrap()
            .into_iter()
            .map(|s| s.0)
            .collect();
        assert_eq!(ids, vec![kept]);
        assert_eq!(store.ledger_from(0).unwrap().len(), 1);
        assert_eq!(store.source_by_lookup(&[3; 32]).unwrap(), None);
        assert_eq!(store.quarantined().unwrap(), vec![interrupted]);
        let next = store.begin_upload().unwrap();
        let b = write_blob(&store, &next, 0, b"next");
        assert_eq!(store.commit(&next, vec![b], None, None).unwrap().seq, 1);
        crate::ledger::verify_chain(&store.ledger_from(0).unwrap()).unwrap();
    }

    #[test]
    fn a_journal_that_contradicts_the_database_stops_the_open_and_the_repair_says_so() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            populate(&store);
        }
        let file = dir
            .path()
            .join(journal::JOURNAL)
            .join("ledger")
            .join(format!("{:020}.json", 1));
        let text = fs::read_to_string(&file).unwrap();
        let day = serde_json::from_str::<LedgerEntry>(&text).unwrap().day;
        fs::write(&file, text.replace(&day, "2020-01-01")).unwrap();
        assert!(matches!(
            Store::open(dir.path()),
            Err(StoreError::NeedsRepair(why)) if why.contains("ledger entry 1")
        ));
        let (_store, report) = Store::repair(dir.path()).unwrap();
        assert_eq!(report.moved_aside, Some(dir.path().join("db.damaged")));
        assert!(dir.path().join("db.damaged").is_dir(), "kept, not deleted");
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.contains("does not verify")),
            "{:?}",
            report.problems
        );
    }
}
