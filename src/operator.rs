//! The operator's commands (`export`, `purge`, `check`), the same whether `serve` runs or not.
//!
//! Invariants:
//! - Export never overwrites: each submission folder is created new, each file with
//!   `create_new`, and `export.json` is written last, next to complete folders only. Every
//!   blob's size and SHA-256 are checked against the record while it is copied; submissions are
//!   marked exported only after `export.json` is on disk.
//! - Nothing here handles plaintext.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::admin::Remote;
use crate::day::Day;
use crate::envelope::HashingWriter;
use crate::export::{
    is_valid_blob_name, ExportedSubmission, LedgerHead, Manifest, EXPORT_FORMAT, MANIFEST,
};
use crate::ledger::LedgerEntry;
use crate::store::{ImportOutcome, Store, StoreCounts, StoreError, SubmissionRecord};

/// Why an operator command failed.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file could not be written or read.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The running server reported an error.
    #[error("the server answered: {0}")]
    Server(String),
    /// The admin socket spoke nonsense.
    #[error("admin socket: {0}")]
    Protocol(String),
    /// The export folder already holds an export.
    #[error("{0} already holds an export (export.json): choose a new, empty folder; exports never overwrite")]
    ExportExists(String),
    /// A submission folder already exists in the export folder.
    #[error("{0} already exists: choose a new, empty folder; exports never overwrite")]
    FolderExists(String),
    /// Stored ciphertext does not match its record.
    #[error("stored ciphertext of submission {id} ({blob}) does not match its record: the data folder is damaged; nothing was marked exported")]
    Damaged {
        /// The submission.
        id: String,
        /// The blob.
        blob: String,
    },
    /// The database is held by a server that does not answer on its socket.
    #[error("the database is locked, but no server answers on {0}: is another `witness-drop` command running?")]
    NoServer(String),
}

/// What the operator commands need from the database, locally or through the admin socket.
pub trait Backend {
    /// Every committed submission, in ledger order.
    fn submissions(&mut self) -> Result<Vec<(String, SubmissionRecord)>, OperatorError>;
    /// Ledger entries from `from` on.
    fn ledger_from(&mut self, from: u64) -> Result<Vec<LedgerEntry>, OperatorError>;
    /// The ledger head.
    fn head(&mut self) -> Result<Option<LedgerHead>, OperatorError>;
    /// Size of a stored blob.
    fn blob_size(&mut self, id: &str, blob: u16) -> Result<u64, OperatorError>;
    /// Copies a stored blob's ciphertext into `out`.
    fn copy_blob(&mut self, id: &str, blob: u16, out: &mut dyn Write)
        -> Result<u64, OperatorError>;
    /// Marks submissions exported.
    fn mark_exported(&mut self, ids: &[String]) -> Result<(), OperatorError>;
    /// Deletes exported submissions received before `cutoff`.
    fn purge_before(&mut self, cutoff: Day) -> Result<usize, OperatorError>;
    /// Counts for `check`.
    fn counts(&mut self) -> Result<StoreCounts, OperatorError>;
    /// Missing or damaged ciphertext files.
    fn check_files(&mut self) -> Result<Vec<String>, OperatorError>;
    /// Stores a checked reply.
    fn import_reply(
        &mut self,
        reference: &str,
        reply_id: &str,
        ciphertext: &[u8],
    ) -> Result<ImportOutcome, OperatorError>;
}

impl Backend for Store {
    fn submissions(&mut self) -> Result<Vec<(String, SubmissionRecord)>, OperatorError> {
        Ok(Store::submissions(self)?)
    }
    fn ledger_from(&mut self, from: u64) -> Result<Vec<LedgerEntry>, OperatorError> {
        Ok(Store::ledger_from(self, from)?)
    }
    fn head(&mut self) -> Result<Option<LedgerHead>, OperatorError> {
        Ok(Store::head(self)?)
    }
    fn blob_size(&mut self, id: &str, blob: u16) -> Result<u64, OperatorError> {
        Ok(self.open_blob(id, blob)?.metadata()?.len())
    }
    fn copy_blob(
        &mut self,
        id: &str,
        blob: u16,
        out: &mut dyn Write,
    ) -> Result<u64, OperatorError> {
        let mut f = self.open_blob(id, blob)?;
        Ok(io::copy(&mut f, out)?)
    }
    fn mark_exported(&mut self, ids: &[String]) -> Result<(), OperatorError> {
        Ok(Store::mark_exported(self, ids)?)
    }
    fn purge_before(&mut self, cutoff: Day) -> Result<usize, OperatorError> {
        Ok(self.purge_exported_before(cutoff)?)
    }
    fn counts(&mut self) -> Result<StoreCounts, OperatorError> {
        Ok(Store::counts(self)?)
    }
    fn check_files(&mut self) -> Result<Vec<String>, OperatorError> {
        Ok(Store::check_files(self)?)
    }
    fn import_reply(
        &mut self,
        reference: &str,
        reply_id: &str,
        ciphertext: &[u8],
    ) -> Result<ImportOutcome, OperatorError> {
        Ok(Store::import_reply(self, reference, reply_id, ciphertext)?)
    }
}

/// How the command reached the database.
pub enum Connection {
    /// Through the running server's admin socket.
    Remote(Remote),
    /// Directly (no server running).
    Local(Store),
}

impl Connection {
    /// The backend.
    pub fn backend(&mut self) -> &mut dyn Backend {
        match self {
            Connection::Remote(r) => r,
            Connection::Local(s) => s,
        }
    }

    /// "through the running server" or "directly".
    pub fn describe(&self) -> &'static str {
        match self {
            Connection::Remote(_) => "through the running server",
            Connection::Local(_) => "directly (no server running)",
        }
    }
}

/// Connects to a running server, or opens the database when none runs.
pub fn connect(data_dir: &Path) -> Result<Connection, OperatorError> {
    if let Some(r) = Remote::connect(data_dir)? {
        return Ok(Connection::Remote(r));
    }
    match Store::open(data_dir) {
        Ok(s) => Ok(Connection::Local(s)),
        Err(StoreError::Locked(_)) => {
            // The server may be starting: its socket appears right after it opens the database.
            std::thread::sleep(std::time::Duration::from_millis(500));
            match Remote::connect(data_dir)? {
                Some(r) => Ok(Connection::Remote(r)),
                None => Err(OperatorError::NoServer(
                    crate::admin::socket_path(data_dir).display().to_string(),
                )),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// What an export wrote.
#[derive(Debug)]
pub struct ExportReport {
    /// Submissions written.
    pub submissions: usize,
    /// Ciphertext bytes written.
    pub bytes: u64,
    /// The export folder.
    pub dir: PathBuf,
}

fn create_new(path: &Path) -> io::Result<fs::File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// Writes every committed submission not yet exported (or all, with `all`) to `out`, then marks
/// them exported.
pub fn export(
    backend: &mut dyn Backend,
    out: &Path,
    all: bool,
) -> Result<ExportReport, OperatorError> {
    fs::create_dir_all(out)?;
    let manifest_path = out.join(MANIFEST);
    if manifest_path.exists() {
        return Err(OperatorError::ExportExists(out.display().to_string()));
    }
    let chosen: Vec<(String, SubmissionRecord)> = backend
        .submissions()?
        .into_iter()
        .filter(|(_, r)| all || r.exported.is_none())
        .collect();
    // The head is read before the chain and the chain is cut at it, so a submission committed
    // meanwhile (the server may be running) cannot make the manifest disagree with itself.
    let head = backend.head()?;
    let ledger: Vec<LedgerEntry> = match (chosen.first(), &head) {
        (Some((_, r)), Some(h)) => backend
            .ledger_from(r.seq)?
            .into_iter()
            .take_while(|e| e.seq <= h.seq)
            .collect(),
        _ => Vec::new(),
    };
    let mut submissions = Vec::new();
    let mut bytes = 0u64;
    for (id, rec) in &chosen {
        let dir = out.join(id);
        fs::create_dir(&dir).map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => OperatorError::FolderExists(dir.display().to_string()),
            _ => e.into(),
        })?;
        for (i, blob) in rec.blobs.iter().enumerate() {
            let damaged = || OperatorError::Damaged {
                id: id.clone(),
                blob: blob.name.clone(),
            };
            if !is_valid_blob_name(&blob.name) {
                return Err(damaged());
            }
            let file = create_new(&dir.join(&blob.name))?;
            let mut w = HashingWriter::new(io::BufWriter::with_capacity(256 * 1024, file));
            backend.copy_blob(id, i as u16, &mut w)?;
            let (buf, digest) = w.finish();
            let file = buf.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            if digest.size != blob.size || digest.sha256 != blob.sha256 {
                return Err(damaged());
            }
            bytes += digest.size;
        }
        fs::File::open(&dir)?.sync_all()?;
        let entry = ledger
            .iter()
            .find(|e| e.seq == rec.seq)
            .cloned()
            .ok_or_else(|| OperatorError::Damaged {
                id: id.clone(),
                blob: "ledger entry".into(),
            })?;
        submissions.push(ExportedSubmission {
            id: id.clone(),
            received_day: rec.day.clone(),
            blobs: rec.blobs.clone(),
            ledger: entry,
        });
    }
    let manifest = Manifest {
        format: EXPORT_FORMAT.to_owned(),
        exported_day: Day::today().to_string(),
        ledger_head: head,
        ledger,
        submissions,
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| io::Error::other(e.to_string()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".export.json.")
        .tempfile_in(out)?;
    tmp.write_all(&json)?;
    tmp.as_file().sync_all()?;
    tmp.persist_noclobber(&manifest_path)
        .map_err(|_| OperatorError::ExportExists(out.display().to_string()))?;
    fs::File::open(out)?.sync_all()?;
    let ids: Vec<String> = chosen.iter().map(|(id, _)| id.clone()).collect();
    if !ids.is_empty() {
        backend.mark_exported(&ids)?;
    }
    Ok(ExportReport {
        submissions: ids.len(),
        bytes,
        dir: out.to_path_buf(),
    })
}

/// One line of the import report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportLine {
    /// The file name.
    pub file: String,
    /// `None` when imported; the reason otherwise.
    pub refused: Option<String>,
}

/// Imports every reply file in `dir` (as written by `witness-review reply`): checks its name,
/// size and age format, that its source exists, and that it was not imported before.
pub fn import_replies(
    backend: &mut dyn Backend,
    dir: &Path,
) -> Result<Vec<ImportLine>, OperatorError> {
    use crate::reply::{check_reply_ciphertext, parse_reply_file_name, MAX_REPLY_BYTES};
    let mut names: Vec<_> = fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let shown = name.to_string_lossy().into_owned();
        let refuse = |why: &str| ImportLine {
            file: shown.clone(),
            refused: Some(why.to_owned()),
        };
        let Some(parsed) = name.to_str().and_then(parse_reply_file_name) else {
            if !shown.starts_with('.') {
                out.push(refuse("not a reply file name (reply-REFERENCE-ID.age)"));
            }
            continue;
        };
        let path = dir.join(&name);
        let meta = fs::symlink_metadata(&path)?;
        if !meta.is_file() {
            out.push(refuse("not a regular file"));
            continue;
        }
        if meta.len() > MAX_REPLY_BYTES {
            out.push(refuse(&format!("larger than {MAX_REPLY_BYTES} bytes")));
            continue;
        }
        let bytes = fs::read(&path)?;
        if let Err(e) = check_reply_ciphertext(&bytes) {
            out.push(refuse(&format!("not a valid age reply: {e}")));
            continue;
        }
        match backend.import_reply(&parsed.reference, &parsed.reply_id, &bytes)? {
            ImportOutcome::Imported => out.push(ImportLine {
                file: shown,
                refused: None,
            }),
            ImportOutcome::AlreadyImported => out.push(refuse("already imported")),
            ImportOutcome::UnknownSource => {
                out.push(refuse("no source with this reference on this server"))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit_one(store: &Store, payload: &[u8]) -> String {
        let id = store.begin_upload().unwrap();
        let mut w = store.blob_writer(&id, 0).unwrap();
        w.write_all(payload).unwrap();
        w.finish().unwrap();
        let digest = crate::ledger::BlobDigest {
            name: "envelope.age".into(),
            size: payload.len() as u64,
            sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(payload)),
        };
        store.commit(&id, vec![digest], None).unwrap();
        id
    }

    #[test]
    fn export_writes_each_submission_once_and_never_overwrites() {
        let data = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let mut store = Store::open(data.path()).unwrap();
        let a = commit_one(&store, b"first");
        let r = export(&mut store, &out.path().join("e1"), false).unwrap();
        assert_eq!(r.submissions, 1);
        let b = commit_one(&store, b"second");
        let r = export(&mut store, &out.path().join("e2"), false).unwrap();
        assert_eq!(r.submissions, 1);
        assert!(out
            .path()
            .join("e2")
            .join(&b)
            .join("envelope.age")
            .is_file());
        assert!(!out.path().join("e2").join(&a).exists());
        // Same folder again: refused, nothing overwritten.
        assert!(matches!(
            export(&mut store, &out.path().join("e2"), true),
            Err(OperatorError::ExportExists(_))
        ));
        let r = export(&mut store, &out.path().join("e3"), true).unwrap();
        assert_eq!(r.submissions, 2);
        let m: Manifest =
            serde_json::from_slice(&fs::read(out.path().join("e3/export.json")).unwrap()).unwrap();
        assert_eq!(m.format, EXPORT_FORMAT);
        crate::ledger::verify_chain(&m.ledger).unwrap();
        assert_eq!(m.submissions.len(), 2);
    }

    #[test]
    fn export_detects_damaged_ciphertext() {
        let data = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let mut store = Store::open(data.path()).unwrap();
        let a = commit_one(&store, b"first");
        fs::write(data.path().join("blobs").join(&a).join("0.age"), b"First").unwrap();
        assert!(matches!(
            export(&mut store, &out.path().join("e"), false),
            Err(OperatorError::Damaged { .. })
        ));
        assert_eq!(Store::counts(&store).unwrap().not_exported, 1);
    }
}
