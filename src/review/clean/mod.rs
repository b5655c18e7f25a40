//! Working copies: attachments with their identifying metadata removed, and a report of what
//! the metadata revealed.
//!
//! Invariant: the evidentiary copy is only read. A working copy is a new file (never over
//! anything) written only when cleaning succeeded; a file that cannot be cleaned is reported,
//! not copied. Cleaning uses memory-safe parsers with bounded sizes, never executes or renders
//! anything, and never stops or hangs a decrypt: a hostile attachment is reported and the rest
//! goes on.

use serde::{Deserialize, Serialize};

/// The kinds of file a working copy can be made of (recognised by content).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// JPEG image.
    Jpeg,
    /// PNG image.
    Png,
    /// PDF document.
    Pdf,
    /// Word document (Office Open XML).
    Docx,
    /// Excel workbook (Office Open XML).
    Xlsx,
    /// PowerPoint presentation (Office Open XML).
    Pptx,
}

/// One thing an attachment's metadata reveals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// What it is, in plain English for the reading view ("where the photo was taken (GPS)",
    /// "the camera or phone: make and model", "the author's name").
    pub what: String,
    /// The value found, when it helps the reviewer (shortened; always shown escaped).
    pub detail: Option<String>,
}

/// What examining and cleaning one attachment found and did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cleaned {
    /// What the original's metadata reveals.
    pub found: Vec<Finding>,
    /// What the working copy no longer has (plain English, one item each).
    pub removed: Vec<String>,
}

/// Why no working copy was made.
#[derive(Debug, thiserror::Error)]
pub enum CleanError {
    /// Not a kind this tool cleans.
    #[error("not a kind of file this tool can clean")]
    Unsupported,
    /// Larger than the cleaner accepts.
    #[error("too large to clean ({0} bytes)")]
    TooLarge(u64),
    /// Malformed, or built to exhaust the cleaner.
    #[error("could not be read as {kind}: {why}")]
    Malformed {
        /// The kind it claimed to be.
        kind: &'static str,
        /// What was wrong (no content from the file).
        why: String,
    },
    /// Cleaning took longer than allowed.
    #[error("cleaning took too long and was stopped")]
    TimedOut,
    /// Reading or writing failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
