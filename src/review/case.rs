//! The case folder: the one folder on the offline computer into which every export is
//! decrypted, and which remembers what it has verified and everything done in it.
//!
//! ```text
//! OUT_DIR/index.html              the reading view ([`super::view`])
//! OUT_DIR/style.css               its stylesheet
//! OUT_DIR/custody.log             the custody log ([`super::custody`])
//! OUT_DIR/ledger.jsonl            every ledger entry this case folder has verified, one a line
//! OUT_DIR/trusted-reviewers.txt   the reviewer keys replies go to (from the key ceremony)
//! OUT_DIR/ID/index.html           one submission's reading view
//! OUT_DIR/ID/submission.json      the envelope plus what was verified ([`super::decrypt`])
//! OUT_DIR/ID/message.txt
//! OUT_DIR/ID/files/N-NAME         the evidentiary copy, byte for byte what the source sent
//! OUT_DIR/ID/working/N-NAME       a working copy without identifying metadata ([`super::clean`])
//! OUT_DIR/ID/replies/REPLY_ID.json a reply written to this submission's source ([`KeptReply`])
//! OUT_DIR/.partial-ID.XXXXXX/     a submission being decrypted; renamed to ID when complete
//! ```
//!
//! Invariants: a submission folder `OUT_DIR/ID` appears whole (by one rename) or not at all;
//! evidentiary files are never replaced; the files this module replaces (the reading view,
//! `ledger.jsonl`) are replaced atomically (a temporary file, fsynced, renamed over), and
//! `custody.log` is only ever appended to.

use serde::{Deserialize, Serialize};

/// The case folder's reading view, and each submission's.
pub const INDEX_HTML: &str = "index.html";
/// The reading view's stylesheet.
pub const STYLE_CSS: &str = "style.css";
/// The custody log.
pub const CUSTODY_LOG: &str = "custody.log";
/// The ledger entries the case folder has verified.
pub const LEDGER_FILE: &str = "ledger.jsonl";
/// The reviewer keys the case folder trusts for replies.
pub const TRUSTED_KEYS: &str = "trusted-reviewers.txt";
/// Working copies, inside a submission folder.
pub const WORKING_DIR: &str = "working";
/// Replies kept, inside a submission folder.
pub const REPLIES_DIR: &str = "replies";
/// Prefix of a submission folder being built.
pub const PARTIAL_PREFIX: &str = ".partial-";

/// A reply a reviewer wrote with `witness-review reply`, kept in the case folder
/// (`OUT_DIR/ID/replies/REPLY_ID.json`), where only the reviewers' offline computer has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptReply {
    /// The reply id (the server's id for it).
    pub id: String,
    /// The source's reference.
    pub reference: String,
    /// The day it was written (local), `YYYY-MM-DD`.
    pub day: String,
    /// The text as written.
    pub text: String,
    /// SHA-256 of the text, lower-case hex.
    pub text_sha256: String,
    /// Who can read it: the source's reply recipient first, then the reviewer keys.
    pub recipients: Vec<String>,
    /// The reply file written for `import-replies` (its file name).
    pub file: String,
}

/// The lock file that keeps two `witness-review` commands from working in one case folder at
/// once (held while the command runs; the kernel drops it if the process dies).
pub const LOCK_FILE: &str = ".lock";

/// Why a case folder could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// It could not be created or is not a folder.
    #[error("cannot use the case folder {path}: {cause}")]
    Folder {
        /// The folder.
        path: String,
        /// The cause.
        cause: std::io::Error,
    },
    /// Another `witness-review` command is working in it.
    #[error("another witness-review command is working in the case folder {path}: wait for it to finish")]
    Busy {
        /// The folder.
        path: String,
    },
}

/// A case folder held by this process: created (mode 0700) if missing, and locked.
#[derive(Debug)]
pub struct CaseLock {
    _file: std::fs::File,
}

/// Creates `dir` if missing and locks it for this process.
pub fn lock(dir: &std::path::Path) -> Result<CaseLock, CaseError> {
    let folder_err = |cause| CaseError::Folder {
        path: dir.display().to_string(),
        cause,
    };
    crate::util::files::ensure_private_dir(dir).map_err(folder_err)?;
    let path = dir.join(LOCK_FILE);
    if std::fs::symlink_metadata(&path).is_ok_and(|m| !m.file_type().is_file()) {
        return Err(folder_err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "its .lock is not a regular file",
        )));
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(&path).map_err(folder_err)?;
    match file.try_lock() {
        Ok(()) => Ok(CaseLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(CaseError::Busy {
            path: dir.display().to_string(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(folder_err(e)),
    }
}
