//! `witness-drop import-replies`: reply files written by `witness-review reply`, into the store.
//!
//! Invariants: a file is imported only when its name is a reply file name, it is a regular file
//! of at most [`MAX_REPLY_BYTES`], its bytes are an age file that could be a reply, its source
//! exists, and it was not imported before; each file is judged on its own, and every refusal
//! has a typed reason. Nothing here can read a reply: it checks form, never content.

use std::fmt;
use std::fs;
use std::path::Path;

use super::backend::{Backend, OperatorError};
use crate::reply::{check_reply_ciphertext, parse_reply_file_name, ReplyError, MAX_REPLY_BYTES};
use crate::server::store::ImportOutcome;
use crate::util::files::{read_capped, Capped};

/// Why one reply file was not imported.
#[derive(Debug)]
pub enum Refusal {
    /// The name is not `reply-REFERENCE-ID.age`.
    NotAReplyName,
    /// A folder, a symbolic link or a device.
    NotARegularFile,
    /// Larger than any reply.
    TooLarge,
    /// The bytes are not an age reply.
    NotAReply(ReplyError),
    /// The same reply is already stored: not an error, importing a folder twice is safe.
    AlreadyImported,
    /// No source on this server has the reference in the name.
    UnknownSource,
}

impl Refusal {
    /// False only for [`Refusal::AlreadyImported`]: every other refusal needs the operator.
    pub fn is_failure(&self) -> bool {
        !matches!(self, Refusal::AlreadyImported)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotAReplyName => f.write_str("not a reply file name (reply-REFERENCE-ID.age)"),
            Refusal::NotARegularFile => f.write_str("not a regular file"),
            Refusal::TooLarge => write!(f, "larger than {MAX_REPLY_BYTES} bytes"),
            Refusal::NotAReply(e) => write!(f, "not a valid age reply: {e}"),
            Refusal::AlreadyImported => f.write_str("already imported"),
            Refusal::UnknownSource => f.write_str("no source with this reference on this server"),
        }
    }
}

/// One line of the import report.
#[derive(Debug)]
pub struct ImportLine {
    /// The file name, as the folder listing shows it.
    pub file: String,
    /// `None` when imported.
    pub refused: Option<Refusal>,
}

/// What an import did, file by file.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// One line per file looked at, in name order.
    pub lines: Vec<ImportLine>,
}

impl ImportReport {
    /// Replies imported.
    pub fn imported(&self) -> usize {
        self.lines.iter().filter(|l| l.refused.is_none()).count()
    }

    /// Files not imported, for whatever reason.
    pub fn refused(&self) -> usize {
        self.lines.len() - self.imported()
    }

    /// Files refused for a reason the operator must look at (not "already imported").
    pub fn failed(&self) -> usize {
        self.lines
            .iter()
            .filter(|l| l.refused.as_ref().is_some_and(Refusal::is_failure))
            .count()
    }

    /// The closing line: "imported 2 replies, refused 1".
    pub fn summary(&self) -> String {
        let imported = self.imported();
        format!(
            "imported {imported} repl{}, refused {}",
            if imported == 1 { "y" } else { "ies" },
            self.refused()
        )
    }
}

impl fmt::Display for ImportLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.refused {
            None => write!(f, "imported {}", self.file),
            Some(why) => write!(f, "refused {}: {why}", self.file),
        }
    }
}

/// Imports every reply file in `dir` (as written by `witness-review reply`). Names starting
/// with a dot (temporary files, `.DS_Store`) are passed over silently.
pub fn import_replies(
    backend: &mut dyn Backend,
    dir: &Path,
) -> Result<ImportReport, OperatorError> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .map_err(OperatorError::file(dir))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    names.sort();
    let mut report = ImportReport::default();
    for name in names {
        let file = name.to_string_lossy().into_owned();
        let Some(parsed) = name.to_str().and_then(parse_reply_file_name) else {
            if !file.starts_with('.') {
                report.lines.push(ImportLine {
                    file,
                    refused: Some(Refusal::NotAReplyName),
                });
            }
            continue;
        };
        let refused = import_one(
            backend,
            &dir.join(&name),
            &parsed.reference,
            &parsed.reply_id,
        )?;
        report.lines.push(ImportLine { file, refused });
    }
    Ok(report)
}

fn import_one(
    backend: &mut dyn Backend,
    path: &Path,
    reference: &str,
    reply_id: &str,
) -> Result<Option<Refusal>, OperatorError> {
    let meta = fs::symlink_metadata(path).map_err(OperatorError::file(path))?;
    if !meta.is_file() {
        return Ok(Some(Refusal::NotARegularFile));
    }
    let file = fs::File::open(path).map_err(OperatorError::file(path))?;
    let Capped::Whole(bytes) =
        read_capped(file, MAX_REPLY_BYTES).map_err(OperatorError::file(path))?
    else {
        return Ok(Some(Refusal::TooLarge));
    };
    if let Err(e) = check_reply_ciphertext(&bytes) {
        return Ok(Some(Refusal::NotAReply(e)));
    }
    Ok(match backend.import_reply(reference, reply_id, &bytes)? {
        ImportOutcome::Imported => None,
        ImportOutcome::AlreadyImported => Some(Refusal::AlreadyImported),
        ImportOutcome::UnknownSource => Some(Refusal::UnknownSource),
    })
}
