//! Reading the case folder for the view: every `ID/submission.json` and `ID/replies/*.json`.
//!
//! Invariant: only folders named by a valid id ([`is_valid_id`]) are looked at, never through a
//! symbolic link (the folder, `replies/` and each file are checked for being what they claim);
//! files are read with a cap; a file that cannot be read is recorded with its reason, never a
//! reason to stop.

use std::io;
use std::path::Path;

use crate::export::is_valid_id;
use crate::review::case::{KeptReply, REPLIES_DIR};
use crate::review::decrypt::{DecryptedSubmission, SUBMISSION_JSON};
use crate::review::reply::MAX_SUBMISSION_JSON_BYTES;
use crate::review::shown;
use crate::util::files::{open_regular_file, read_capped, Capped};
use crate::util::json::error_summary;

/// Largest kept reply read: a reply's text is at most 64 KiB, its JSON escapes at most six
/// times that, plus the recipients.
const MAX_KEPT_REPLY_BYTES: u64 = 1 << 20;

/// Why a file of the case folder could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unreadable {
    /// There is no such file.
    #[error("it is missing")]
    Missing,
    /// A symbolic link, a folder or a device, not a file.
    #[error("it is not a regular file (a symbolic link, folder or device)")]
    NotAFile,
    /// Larger than the cap.
    #[error("it is larger than {0} bytes")]
    TooLarge(u64),
    /// The disk failed.
    #[error("reading it failed ({0})")]
    Io(io::ErrorKind),
    /// Not the JSON this tool writes (category and position only, never content).
    #[error("it is damaged or incomplete ({0})")]
    Damaged(String),
}

/// One submission folder `CASE/ID`.
pub(super) struct Folder {
    /// The folder's name, a valid id.
    pub id: String,
    /// Its `submission.json`.
    pub submission: Result<DecryptedSubmission, Unreadable>,
    /// The replies kept in its `replies/`, by file name.
    pub replies: Vec<KeptReply>,
    /// Reply files that could not be read: the file name (escaped) and why.
    pub bad_replies: Vec<(String, Unreadable)>,
}

/// Every submission folder of `case_dir`, sorted by id. Fails only when `case_dir` cannot be
/// listed.
pub(super) fn load_case(case_dir: &Path) -> io::Result<Vec<Folder>> {
    let mut folders = Vec::new();
    for entry in std::fs::read_dir(case_dir)? {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name();
        let Some(id) = name.to_str().filter(|n| is_valid_id(n)) else {
            continue;
        };
        // `file_type` does not follow a symbolic link: a link named like an id is skipped.
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let dir = case_dir.join(id);
        let submission = read_json(&dir.join(SUBMISSION_JSON), MAX_SUBMISSION_JSON_BYTES);
        let (replies, bad_replies) = load_replies(&dir);
        folders.push(Folder {
            id: id.to_owned(),
            submission,
            replies,
            bad_replies,
        });
    }
    folders.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(folders)
}

type Replies = (Vec<KeptReply>, Vec<(String, Unreadable)>);

fn load_replies(dir: &Path) -> Replies {
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    let replies = dir.join(REPLIES_DIR);
    let is_dir = std::fs::symlink_metadata(&replies).is_ok_and(|m| m.is_dir());
    let Some(entries) = is_dir.then(|| std::fs::read_dir(&replies).ok()).flatten() else {
        return (good, bad);
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        // Not the temporaries of an interrupted `write_durable` (`.NAME.XXXXXX.tmp`).
        .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
        .collect();
    names.sort();
    for name in names {
        match read_json::<KeptReply>(&replies.join(&name), MAX_KEPT_REPLY_BYTES) {
            Ok(reply) => good.push(reply),
            Err(reason) => bad.push((shown(&name), reason)),
        }
    }
    (good, bad)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, cap: u64) -> Result<T, Unreadable> {
    let io_err = |e: io::Error| match e.kind() {
        io::ErrorKind::NotFound => Unreadable::Missing,
        io::ErrorKind::InvalidData => Unreadable::NotAFile,
        kind => Unreadable::Io(kind),
    };
    let (file, _) = open_regular_file(path).map_err(io_err)?;
    let Capped::Whole(data) = read_capped(file, cap).map_err(io_err)? else {
        return Err(Unreadable::TooLarge(cap));
    };
    serde_json::from_slice(&data).map_err(|e| Unreadable::Damaged(error_summary(&e)))
}
