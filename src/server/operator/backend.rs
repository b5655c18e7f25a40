//! What the operator's commands need from the database, as one trait, and why they fail.
//!
//! The commands ([`super::export`], [`super::import`], `purge`, `check`) are written against
//! [`Backend`]; the database opened directly ([`Store`]) and the running server's admin socket
//! ([`super::socket::Remote`]) both implement it, so a command behaves the same whether `serve`
//! runs or not. The wire depends on this interface, never the reverse.
//!
//! Invariant: nothing that passes through this interface is plaintext: ids, numbers, days and
//! ciphertext only.

use std::io::{self, Read, Write};
use std::path::PathBuf;

use crate::day::Day;
use crate::export::LedgerHead;
use crate::ledger::LedgerEntry;
use crate::server::store::{ImportOutcome, Store, StoreCounts, StoreError, SubmissionRecord};

/// Why an operator command failed.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file or folder of the command's own (the export folder, a reply folder) could not be
    /// read or written.
    #[error("{}: {source}", path.display())]
    File {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Writing copied ciphertext failed; the caller knows the path and turns it into
    /// [`OperatorError::File`].
    #[error("cannot write: {0}")]
    Output(#[source] io::Error),
    /// The admin socket failed.
    #[error("admin socket: {0}")]
    Socket(#[source] io::Error),
    /// The running server reported an error.
    #[error("the server answered: {0}")]
    Server(String),
    /// The admin socket spoke nonsense.
    #[error("admin socket: {0}")]
    Protocol(&'static str),
    /// The export folder already holds an export.
    #[error("{} already holds an export (export.json): choose a new, empty folder; exports never overwrite", .0.display())]
    ExportExists(PathBuf),
    /// A submission folder already exists in the export folder.
    #[error("{} already exists: choose a new, empty folder; exports never overwrite", .0.display())]
    FolderExists(PathBuf),
    /// Stored ciphertext does not match its record.
    #[error("stored ciphertext of submission {id} ({blob}) does not match its record: the data folder is damaged; nothing was marked exported")]
    Damaged {
        /// The submission.
        id: String,
        /// The blob, or "ledger entry".
        blob: String,
    },
    /// The database is held by a server that does not answer on its socket.
    #[error("the database is locked, but no server answers on {}: is another `witness-drop` command running?", .0.display())]
    NoServer(PathBuf),
}

impl OperatorError {
    /// An I/O error on `path`, one of the command's own files.
    pub fn file(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> OperatorError {
        let path = path.into();
        move |source| OperatorError::File { path, source }
    }
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
    /// Copies a stored blob's ciphertext into `out`. A failure to write `out` is
    /// [`OperatorError::Output`].
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

/// Copies all of `from` into `out`, telling a read failure (`read_err`) from a write failure
/// ([`OperatorError::Output`]).
pub(super) fn copy_to(
    mut from: impl Read,
    out: &mut dyn Write,
    read_err: fn(io::Error) -> OperatorError,
) -> Result<u64, OperatorError> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_err(e)),
        };
        out.write_all(&buf[..n]).map_err(OperatorError::Output)?;
        total += n as u64;
    }
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
        let file = self.open_blob(id, blob)?;
        Ok(file.metadata().map_err(StoreError::Io)?.len())
    }
    fn copy_blob(
        &mut self,
        id: &str,
        blob: u16,
        out: &mut dyn Write,
    ) -> Result<u64, OperatorError> {
        let file = self.open_blob(id, blob)?;
        copy_to(file, out, |e| StoreError::Io(e).into())
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
