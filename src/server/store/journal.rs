//! The journal: the files outside sled from which the database can be rebuilt.
//!
//! sled 0.34 has open reports of databases that do not open after an abrupt stop, so it is not
//! trusted as the only copy of anything. Every fact the database holds that cannot be
//! recomputed is also a small file here, and the database is an index over these files and the
//! ciphertext folders.
//!
//! Invariants:
//! - A file here is written whole or not at all ([`write_durable_with`]: a temporary file,
//!   fsynced, moved into place, the folder fsynced), and always before sled is told the same
//!   fact. The temporary is an empty file taken from the store's pool ([`super::pool`]), so
//!   no journal file is born when it is written.
//! - A committed ledger entry is `ledger/SEQ.json` and is never changed or removed. While a
//!   commit is in progress its entry is `ledger/SEQ.pending` (and a new source's record is
//!   `sources/LOOKUP.pending`); the commit's last step makes them final, the source first. At
//!   most one commit is in progress (the store serialises them), so a pending file is always
//!   the newest entry; found at start, it was never acknowledged and is rolled back.
//! - Nothing here names a person or a time finer than a day, and nothing is plaintext: ledger
//!   entries (ids, days, sizes, hashes), sources' public records (reference, designation, reply
//!   recipient) under their lookup id, and replies as age ciphertext.
//!
//! Layout, under `DATA/journal/`:
//! - `ledger/SEQ.json` (SEQ in 20 digits, so names sort in ledger order): a [`LedgerEntry`].
//! - `sources/LOOKUP.json` (the lookup id in hex): a [`SourceInfo`].
//! - `replies/REPLY_ID.json`: a [`ReplyFile`]: the stored reply, or, once the source deleted it,
//!   a tombstone that keeps the id known so the reply is never imported again.
//! - `consent/REFERENCE.json`: a [`NoteFile`]: a source's current consent, sealed to their own
//!   reply key ([`crate::server::consent_note`]), with the ledger position of the submission
//!   that set it. Not in sled at all. A commit that changes it writes
//!   `consent/REFERENCE.SEQ.pending` before its commit point and moves it over the note just
//!   after; at open, a pending note whose entry is committed is moved into place, any other is
//!   removed.
//!
//! And in each submission's ciphertext folder, `DATA/blobs/ID/exported` holds the day of its
//! first export.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use super::pool::Pool;
use super::{stamp, ReplyRecord};
use crate::envelope::SourceInfo;
use crate::ledger::LedgerEntry;
use crate::server::failpoint;
use crate::util::files::{
    ensure_private_dir, open_regular_file, read_capped, remove_durable_temporaries, sync_dir,
    write_durable_with, Capped,
};

/// The journal's folder inside the data folder.
pub const JOURNAL: &str = "journal";

/// The marker file of an exported submission, inside its ciphertext folder.
pub const EXPORTED: &str = "exported";

/// No journal file is larger: a reply is at most 256 KiB of ciphertext (512 KiB in hex); the
/// rest are a few hundred bytes.
const MAX_FILE: u64 = 1024 * 1024;

const FINAL: &str = ".json";
const PENDING: &str = ".pending";

/// A reply as the journal keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ReplyFile {
    /// The reply, for the source with `reference`.
    Stored {
        /// The source's reference.
        reference: String,
        /// The reply.
        reply: ReplyRecord,
    },
    /// The source deleted it; its id stays known.
    Deleted {
        /// The source's reference.
        reference: String,
        /// The reply id.
        id: String,
    },
}

impl ReplyFile {
    /// The source's reference.
    pub fn reference(&self) -> &str {
        match self {
            ReplyFile::Stored { reference, .. } | ReplyFile::Deleted { reference, .. } => reference,
        }
    }
}

/// Why a journal file could not be read.
fn damaged(path: &Path, why: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("journal file {} is damaged: {why}", path.display()),
    )
}

fn read_json<T: DeserializeOwned>(path: &Path) -> io::Result<T> {
    let (file, _) = open_regular_file(path)?;
    match read_capped(file, MAX_FILE)? {
        Capped::Whole(data) => serde_json::from_slice(&data).map_err(|e| damaged(path, e)),
        Capped::TooLarge => Err(damaged(path, "too large")),
    }
}

fn to_json(value: &impl Serialize) -> io::Result<Vec<u8>> {
    serde_json::to_vec_pretty(value).map_err(io::Error::from)
}

fn remove_if_there(path: &Path) -> io::Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// The journal's folders.
#[derive(Clone, Debug)]
pub struct Journal {
    root: PathBuf,
    ledger: PathBuf,
    sources: PathBuf,
    replies: PathBuf,
    consent: PathBuf,
    pool: Pool,
}

/// A source's current consent note as the journal keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteFile {
    /// Ledger position of the submission that set it.
    pub seq: u64,
    /// The sealed note, hex.
    pub sealed: String,
}

impl Journal {
    /// Opens the journal in `data_dir`, creating its folders, and removes the temporaries an
    /// interrupted write left. Its files are taken from `pool`.
    pub fn open(data_dir: &Path, pool: Pool) -> io::Result<Journal> {
        let root = data_dir.join(JOURNAL);
        let journal = Journal {
            ledger: root.join("ledger"),
            sources: root.join("sources"),
            replies: root.join("replies"),
            consent: root.join("consent"),
            root,
            pool,
        };
        for dir in [
            &journal.ledger,
            &journal.sources,
            &journal.replies,
            &journal.consent,
        ] {
            ensure_private_dir(dir)?;
            remove_durable_temporaries(dir)?;
        }
        sync_dir(&journal.root)?;
        Ok(journal)
    }

    /// The journal's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes `dir/name` whole ([`write_durable_with`]), its temporary taken from the pool.
    fn write(&self, dir: &Path, name: &str, bytes: &[u8], replace: bool) -> io::Result<()> {
        write_durable_with(dir, name, bytes, replace, |tmp| self.pool.take_file(tmp))
    }

    /// Restamps what a commit wrote ([`stamp`]): its ledger entry and, for a first
    /// submission, the source's record, the source's consent note if it changed, their
    /// folders and the journal's own.
    pub fn restamp_commit(
        &self,
        seq: u64,
        new_source: Option<&[u8; 32]>,
        note: Option<&str>,
    ) -> io::Result<()> {
        stamp::restamp(&self.ledger.join(Self::entry_name(seq, FINAL)))?;
        stamp::restamp(&self.ledger)?;
        if let Some(lookup) = new_source {
            stamp::restamp(&self.sources.join(format!("{}{FINAL}", hex::encode(lookup))))?;
            stamp::restamp(&self.sources)?;
        }
        if let Some(reference) = note {
            match stamp::restamp(&self.note_final(reference)) {
                // Not moved into place yet: the next open does, and the next mark restamps.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                other => {
                    other?;
                }
            }
            stamp::restamp(&self.consent)?;
        }
        stamp::restamp(&self.root)?;
        Ok(())
    }

    /// Restamps a reply's file (imported or deleted), its folder and the journal's own.
    pub fn restamp_reply(&self, id: &str) -> io::Result<()> {
        stamp::restamp(&self.replies.join(format!("{id}{FINAL}")))?;
        stamp::restamp(&self.replies)?;
        stamp::restamp(&self.root)?;
        Ok(())
    }

    fn entry_name(seq: u64, suffix: &str) -> String {
        format!("{seq:020}{suffix}")
    }

    /// Names in `dir` ending in `suffix`, with the suffix taken off, sorted.
    fn names(dir: &Path, suffix: &str) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(dir)? {
            let name = entry?.file_name();
            if let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(suffix)) {
                if !stem.starts_with('.') {
                    out.push(stem.to_owned());
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Writes the entry of the commit now in progress (`SEQ.pending`).
    pub fn write_pending_entry(&self, entry: &LedgerEntry) -> io::Result<()> {
        failpoint::hit("commit.pending")?;
        let name = Self::entry_name(entry.seq, PENDING);
        self.write(&self.ledger, &name, &to_json(entry)?, false)
    }

    /// Writes a new source's record while its first submission commits (`LOOKUP.pending`).
    pub fn write_pending_source(&self, lookup: &[u8; 32], info: &SourceInfo) -> io::Result<()> {
        failpoint::hit("commit.source")?;
        let name = format!("{}{PENDING}", hex::encode(lookup));
        self.write(&self.sources, &name, &to_json(info)?, false)
    }

    /// The commit point: makes the pending source (if any), then the pending entry, final.
    pub fn finalize(&self, seq: u64, new_source: Option<&[u8; 32]>) -> io::Result<()> {
        failpoint::hit("commit.finalize")?;
        if let Some(lookup) = new_source {
            let stem = hex::encode(lookup);
            let from = self.sources.join(format!("{stem}{PENDING}"));
            let to = self.sources.join(format!("{stem}{FINAL}"));
            fs::rename(from, to)?;
            sync_dir(&self.sources)?;
        }
        let from = self.ledger.join(Self::entry_name(seq, PENDING));
        let to = self.ledger.join(Self::entry_name(seq, FINAL));
        if fs::symlink_metadata(&to).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("ledger entry {seq} is already in the journal"),
            ));
        }
        fs::rename(from, to)?;
        sync_dir(&self.ledger)
    }

    /// Undoes a commit that did not reach its commit point: removes its pending entry and the
    /// new source's record (pending or, if the commit failed between the two renames, final).
    pub fn discard(&self, seq: u64, new_source: Option<&[u8; 32]>) -> io::Result<()> {
        if let Some(lookup) = new_source {
            let stem = hex::encode(lookup);
            remove_if_there(&self.sources.join(format!("{stem}{PENDING}")))?;
            remove_if_there(&self.sources.join(format!("{stem}{FINAL}")))?;
            sync_dir(&self.sources)?;
        }
        remove_if_there(&self.ledger.join(Self::entry_name(seq, PENDING)))?;
        sync_dir(&self.ledger)
    }

    /// The pending entries a crash left (at most one, unless the journal was tampered with).
    pub fn pending_entries(&self) -> io::Result<Vec<LedgerEntry>> {
        Self::names(&self.ledger, PENDING)?
            .iter()
            .map(|stem| read_json(&self.ledger.join(format!("{stem}{PENDING}"))))
            .collect()
    }

    /// The lookup ids of the pending source records a crash left.
    pub fn pending_sources(&self) -> io::Result<Vec<[u8; 32]>> {
        let mut out = Vec::new();
        for stem in Self::names(&self.sources, PENDING)? {
            let mut lookup = [0u8; 32];
            if hex::decode_to_slice(&stem, &mut lookup).is_ok() {
                out.push(lookup);
            }
        }
        Ok(out)
    }

    /// Removes every pending source record a crash left; returns how many.
    pub fn discard_pending_sources(&self) -> io::Result<usize> {
        let stems = Self::names(&self.sources, PENDING)?;
        for stem in &stems {
            fs::remove_file(self.sources.join(format!("{stem}{PENDING}")))?;
        }
        if !stems.is_empty() {
            sync_dir(&self.sources)?;
        }
        Ok(stems.len())
    }

    /// Every committed ledger entry, in ledger order. A file whose name and entry disagree is
    /// damage.
    pub fn entries(&self) -> io::Result<Vec<LedgerEntry>> {
        let mut out = Vec::new();
        for stem in Self::names(&self.ledger, FINAL)? {
            let path = self.ledger.join(format!("{stem}{FINAL}"));
            let entry: LedgerEntry = read_json(&path)?;
            if Self::entry_name(entry.seq, "") != stem {
                return Err(damaged(&path, "its name is not its sequence number"));
            }
            out.push(entry);
        }
        Ok(out)
    }

    /// Writes a committed entry the journal lacks (a database from before the journal).
    pub fn add_entry(&self, entry: &LedgerEntry) -> io::Result<()> {
        let name = Self::entry_name(entry.seq, FINAL);
        self.write(&self.ledger, &name, &to_json(entry)?, false)
    }

    /// Every source's record, by lookup id.
    pub fn sources(&self) -> io::Result<Vec<([u8; 32], SourceInfo)>> {
        let mut out = Vec::new();
        for stem in Self::names(&self.sources, FINAL)? {
            let path = self.sources.join(format!("{stem}{FINAL}"));
            let mut lookup = [0u8; 32];
            hex::decode_to_slice(&stem, &mut lookup)
                .map_err(|_| damaged(&path, "its name is not a lookup id"))?;
            out.push((lookup, read_json(&path)?));
        }
        Ok(out)
    }

    /// Writes a source's record the journal lacks (a database from before the journal).
    pub fn add_source(&self, lookup: &[u8; 32], info: &SourceInfo) -> io::Result<()> {
        let name = format!("{}{FINAL}", hex::encode(lookup));
        self.write(&self.sources, &name, &to_json(info)?, false)
    }

    /// Stores a reply; `false` when a reply (or tombstone) with this id is already there.
    pub fn add_reply(&self, file: &ReplyFile, id: &str) -> io::Result<bool> {
        match self.write(
            &self.replies,
            &format!("{id}{FINAL}"),
            &to_json(file)?,
            false,
        ) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The reply (or tombstone) with this id, if any.
    pub fn reply(&self, id: &str) -> io::Result<Option<ReplyFile>> {
        match read_json(&self.replies.join(format!("{id}{FINAL}"))) {
            Ok(file) => Ok(Some(file)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Replaces a stored reply by its tombstone.
    pub fn delete_reply(&self, reference: &str, id: &str) -> io::Result<()> {
        let file = ReplyFile::Deleted {
            reference: reference.to_owned(),
            id: id.to_owned(),
        };
        self.write(
            &self.replies,
            &format!("{id}{FINAL}"),
            &to_json(&file)?,
            true,
        )
    }

    fn note_pending(&self, reference: &str, seq: u64) -> PathBuf {
        self.consent.join(format!(
            "{reference}.{}{PENDING}",
            Self::entry_name(seq, "")
        ))
    }

    fn note_final(&self, reference: &str) -> PathBuf {
        self.consent.join(format!("{reference}{FINAL}"))
    }

    /// Writes the consent note of the commit now in progress (`REFERENCE.SEQ.pending`).
    pub fn write_pending_note(&self, reference: &str, seq: u64, sealed: &[u8]) -> io::Result<()> {
        failpoint::hit("commit.consent")?;
        let file = NoteFile {
            seq,
            sealed: hex::encode(sealed),
        };
        let path = self.note_pending(reference, seq);
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| io::Error::other("bad consent note name"))?;
        self.write(&self.consent, name, &to_json(&file)?, false)
    }

    /// Moves a committed submission's pending note over the source's note.
    pub fn finalize_note(&self, reference: &str, seq: u64) -> io::Result<()> {
        fs::rename(
            self.note_pending(reference, seq),
            self.note_final(reference),
        )?;
        sync_dir(&self.consent)
    }

    /// Removes the pending note of a commit that did not reach its commit point.
    pub fn discard_note(&self, reference: &str, seq: u64) -> io::Result<()> {
        if remove_if_there(&self.note_pending(reference, seq))? {
            sync_dir(&self.consent)?;
        }
        Ok(())
    }

    /// The sealed consent note of the source with `reference`, if any.
    pub fn note(&self, reference: &str) -> io::Result<Option<Vec<u8>>> {
        let path = self.note_final(reference);
        match read_json::<NoteFile>(&path) {
            Ok(file) => hex::decode(&file.sealed)
                .map(Some)
                .map_err(|e| damaged(&path, e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Settles the pending notes a crash left: a note whose ledger entry is committed is moved
    /// into place (unless a newer note is there), any other removed. Returns (moved, removed).
    pub fn settle_pending_notes(&self) -> io::Result<(usize, usize)> {
        let (mut moved, mut removed) = (0, 0);
        for stem in Self::names(&self.consent, PENDING)? {
            let pending = self.consent.join(format!("{stem}{PENDING}"));
            let parsed = stem
                .rsplit_once('.')
                .and_then(|(r, s)| Some((r.to_owned(), s.parse::<u64>().ok()?)));
            let committed = match &parsed {
                Some((_, seq)) => self
                    .ledger
                    .join(Self::entry_name(*seq, FINAL))
                    .try_exists()?,
                None => false,
            };
            let newer_there = match &parsed {
                Some((reference, seq)) => {
                    match read_json::<NoteFile>(&self.note_final(reference)) {
                        Ok(current) => current.seq > *seq,
                        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
                        Err(e) => return Err(e),
                    }
                }
                None => false,
            };
            match parsed {
                Some((reference, _)) if committed && !newer_there => {
                    fs::rename(&pending, self.note_final(&reference))?;
                    moved += 1;
                }
                _ => {
                    fs::remove_file(&pending)?;
                    removed += 1;
                }
            }
        }
        if moved + removed > 0 {
            sync_dir(&self.consent)?;
        }
        Ok((moved, removed))
    }

    /// Every reply and tombstone, by reply id.
    pub fn replies(&self) -> io::Result<Vec<(String, ReplyFile)>> {
        let mut out = Vec::new();
        for stem in Self::names(&self.replies, FINAL)? {
            let file = read_json(&self.replies.join(format!("{stem}{FINAL}")))?;
            out.push((stem, file));
        }
        Ok(out)
    }
}

/// True when the journal in `data_dir` holds at least one ledger entry, source or reply (final
/// or pending). Reads only: it may run before the database's lock is taken.
pub fn holds_anything(data_dir: &Path) -> io::Result<bool> {
    let root = data_dir.join(JOURNAL);
    for sub in ["ledger", "sources", "replies"] {
        match fs::read_dir(root.join(sub)) {
            Ok(entries) => {
                for entry in entries {
                    // Not the temporaries of an interrupted write.
                    if !entry?.file_name().to_string_lossy().starts_with('.') {
                        return Ok(true);
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

/// Writes the exported marker into a submission's ciphertext folder, unless it is there; its
/// temporary is taken from `pool`.
pub fn mark_exported(pool: &Pool, blob_dir: &Path, day: &str) -> io::Result<()> {
    let take = |tmp: &Path| pool.take_file(tmp);
    match write_durable_with(blob_dir, EXPORTED, day.as_bytes(), false, take) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    }
}

/// The day a submission was first exported, from its marker.
pub fn exported(blob_dir: &Path) -> io::Result<Option<String>> {
    let path = blob_dir.join(EXPORTED);
    match open_regular_file(&path) {
        Ok((file, _)) => match read_capped(file, 64)? {
            Capped::Whole(data) => match crate::day::Day::parse(&String::from_utf8_lossy(&data)) {
                Some(day) => Ok(Some(day.to_string())),
                None => Err(damaged(&path, "not a day")),
            },
            Capped::TooLarge => Err(damaged(&path, "too large")),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
