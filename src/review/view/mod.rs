//! The reading view: static HTML pages over the case folder, for reviewers to read on a laptop
//! and print for a lawyer.
//!
//! ```text
//! CASE/index.html        every source by designation, their submissions and replies
//! CASE/style.css         the one stylesheet
//! CASE/ID/index.html     one submission: message, attachments, verification, replies
//! ```
//!
//! Invariant: the pages run no script and load nothing but `style.css` (a CSP meta
//! `default-src 'none'; style-src 'self'`, and no `<script>`), every byte read from a
//! submission or a reply is escaped by `html` (`& < > " '`, with control and bidirectional
//! characters shown as visible `[U+…]` marks and every piece of source text isolated with
//! `<bdi>` or `dir="auto"`), and no element makes the browser load, render or open an
//! attachment: the pages name the paths of the files as text, and link only to each other.
//! Nothing in the case folder is changed but these pages, each replaced atomically
//! ([`write_durable`]) and only when its bytes differ, so regenerating after every decrypt and
//! every reply stays fast for hundreds of submissions.
//!
//! - `load`: reading `ID/submission.json` and `ID/replies/*.json` (capped, no symbolic link).
//! - `case`: grouping by source, newest first, and what has not been answered yet.
//! - `html`: escaping, and the page frame with the CSP.
//! - `pages`: the two kinds of page.

mod case;
mod html;
mod load;
mod pages;

use std::io;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::case::{INDEX_HTML, STYLE_CSS};
use crate::util::files::{open_regular_file, read_capped, write_durable, Capped};

pub use load::Unreadable;

/// The stylesheet written to `CASE/style.css`.
pub const STYLESHEET: &str = include_str!("style.css");

/// The Content-Security-Policy of every page: nothing may load but the case folder's own
/// stylesheet (Chromium matches `'self'` to `file:` pages; checked by the browser test), no
/// script, no form, no `<base>`.
pub const CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'none'; form-action 'none'; base-uri 'none'";

/// What [`write_views`] did.
#[derive(Debug, Default)]
pub struct ViewReport {
    /// Submissions whose `submission.json` was read.
    pub submissions: usize,
    /// Sources (submissions grouped by reference; a submission without one is its own group).
    pub sources: usize,
    /// Pages (and the stylesheet) written because they were missing or differed.
    pub written: usize,
    /// Pages already exactly as they would be written, left alone.
    pub unchanged: usize,
    /// What could not be read or written; the rest of the view was still made.
    pub problems: Vec<ViewProblem>,
}

/// Something [`write_views`] could not do for one submission; the other pages are still made.
#[derive(Debug, thiserror::Error)]
pub enum ViewProblem {
    /// `ID/submission.json` could not be read; the submission is listed as "could not be read".
    #[error("{id}: submission.json could not be read: {reason}")]
    Submission {
        /// The submission folder's name (a valid id).
        id: String,
        /// Why.
        reason: Unreadable,
    },
    /// A kept reply, `ID/replies/FILE`, could not be read; it is missing from the pages.
    #[error("{id}: reply {file} could not be read: {reason}")]
    Reply {
        /// The submission folder.
        id: String,
        /// The file name in `replies/`, escaped.
        file: String,
        /// Why.
        reason: Unreadable,
    },
    /// A submission's page could not be written.
    #[error("cannot write {path}: {cause}")]
    Page {
        /// The page.
        path: PathBuf,
        /// The cause.
        cause: io::Error,
    },
}

/// Why [`write_views`] made no view at all.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// The case folder could not be listed.
    #[error("cannot read the case folder {path}: {cause}")]
    CaseFolder {
        /// The folder.
        path: PathBuf,
        /// The cause.
        cause: io::Error,
    },
    /// `index.html` or `style.css` could not be written.
    #[error("cannot write {path}: {cause}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        cause: io::Error,
    },
}

/// Writes the reading view of `case_dir`: `index.html`, `style.css` and `ID/index.html` for
/// every submission folder (a valid id, a real folder, not a symbolic link). A submission
/// whose `submission.json` is missing or damaged is listed as "could not be read" and does not
/// stop the others. Each page is replaced atomically, and only when its bytes change.
pub fn write_views(case_dir: &Path) -> Result<ViewReport, ViewError> {
    let folders = load::load_case(case_dir).map_err(|cause| ViewError::CaseFolder {
        path: case_dir.to_path_buf(),
        cause,
    })?;
    let mut report = ViewReport::default();
    for f in &folders {
        match &f.submission {
            Ok(_) => report.submissions += 1,
            Err(reason) => report.problems.push(ViewProblem::Submission {
                id: f.id.clone(),
                reason: reason.clone(),
            }),
        }
        for (file, reason) in &f.bad_replies {
            report.problems.push(ViewProblem::Reply {
                id: f.id.clone(),
                file: file.clone(),
                reason: reason.clone(),
            });
        }
    }
    let case = case::Case::new(&folders);
    report.sources = case.sources();

    let fatal = |name: &str| {
        let path = case_dir.join(name);
        move |cause| ViewError::Write { path, cause }
    };
    let changed =
        write_if_changed(case_dir, STYLE_CSS, STYLESHEET.as_bytes()).map_err(fatal(STYLE_CSS))?;
    report.count(changed);

    for folder in &folders {
        let page = pages::submission_page(&case, folder);
        let dir = case_dir.join(&folder.id);
        match write_if_changed(&dir, INDEX_HTML, page.as_bytes()) {
            Ok(changed) => report.count(changed),
            Err(cause) => report.problems.push(ViewProblem::Page {
                path: dir.join(INDEX_HTML),
                cause,
            }),
        }
    }

    let index = pages::index_page(&case);
    let changed =
        write_if_changed(case_dir, INDEX_HTML, index.as_bytes()).map_err(fatal(INDEX_HTML))?;
    report.count(changed);
    Ok(report)
}

impl ViewReport {
    fn count(&mut self, changed: bool) {
        if changed {
            self.written += 1;
        } else {
            self.unchanged += 1;
        }
    }
}

/// Replaces `dir/name` with `bytes` unless it already holds exactly them (fsyncing hundreds of
/// unchanged pages after every reply would make each reply slow). Returns whether it wrote.
fn write_if_changed(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<bool> {
    let path = dir.join(name);
    // Anything but a regular file of the same bytes (a link, a folder, a changed page) is
    // replaced: the rename replaces the directory entry itself and never follows a link.
    if let Ok((file, meta)) = open_regular_file(&path) {
        if meta.len() == bytes.len() as u64 {
            if let Ok(Capped::Whole(old)) = read_capped(file, bytes.len() as u64) {
                if old.as_slice() == bytes {
                    return Ok(false);
                }
            }
        }
    }
    write_durable(dir, name, bytes, true)?;
    Ok(true)
}

/// A page being built: it holds testimony, so its buffer is wiped when dropped.
type Page = Zeroizing<String>;
