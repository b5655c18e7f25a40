//! The export format (version 1): what travels from the server to the offline machine.
//!
//! ```text
//! EXPORT_DIR/export.json        the manifest below, plain JSON
//! EXPORT_DIR/ID/envelope.age    age-encrypted JSON envelope (see `envelope`)
//! EXPORT_DIR/ID/file-N.age      age-encrypted attachment N (1-based)
//! ```
//!
//! Invariant: the manifest holds nothing a seized USB stick should not show: ids, days,
//! ciphertext sizes and hashes, and ledger entries. Everything a reader takes from it is
//! validated before use ([`is_valid_id`], [`is_valid_blob_name`]), because an export may have
//! been tampered with on its way to the reviewer.

use serde::{Deserialize, Serialize};

use crate::ledger::{BlobDigest, LedgerEntry};

/// The `format` field of `export.json`.
pub const EXPORT_FORMAT: &str = "witness-drop-export/1";

/// File name of the manifest inside an export folder.
pub const MANIFEST: &str = "export.json";

/// Name of the envelope blob.
pub const ENVELOPE_BLOB: &str = "envelope.age";

/// `export.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`EXPORT_FORMAT`].
    pub format: String,
    /// The day the export was made, `YYYY-MM-DD`.
    pub exported_day: String,
    /// The newest ledger entry at export time; reviewers can compare it across exports.
    pub ledger_head: Option<LedgerHead>,
    /// The chain from the first submission in this export to the head, consecutive. It may
    /// name submissions that are not in this export (exported earlier, or purged).
    pub ledger: Vec<LedgerEntry>,
    /// The submissions in this export, in ledger order.
    pub submissions: Vec<ExportedSubmission>,
}

/// The head of the ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerHead {
    /// Its position.
    pub seq: u64,
    /// Its hash.
    pub hash: String,
}

/// One submission in an export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedSubmission {
    /// Random id; also the folder name.
    pub id: String,
    /// Day received, `YYYY-MM-DD` (UTC).
    pub received_day: String,
    /// Ciphertext blobs, envelope first.
    pub blobs: Vec<BlobDigest>,
    /// This submission's ledger entry.
    pub ledger: LedgerEntry,
}

/// Length of a submission id in characters.
pub const ID_LEN: usize = 32;

/// A new random submission id: 128 bits from the OS generator, lower-case hex.
pub fn new_id() -> Result<String, getrandom::Error> {
    let mut b = [0u8; ID_LEN / 2];
    getrandom::fill(&mut b)?;
    Ok(hex::encode(b))
}

/// True for exactly 32 lower-case hex digits: safe as a single path component.
pub fn is_valid_id(s: &str) -> bool {
    s.len() == ID_LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// True for `envelope.age` and `file-N.age` with N a positive number without leading zeros.
pub fn is_valid_blob_name(s: &str) -> bool {
    if s == ENVELOPE_BLOB {
        return true;
    }
    blob_file_number(s).is_some()
}

/// `N` for `file-N.age`.
pub fn blob_file_number(s: &str) -> Option<u32> {
    let n = s.strip_prefix("file-")?.strip_suffix(".age")?;
    if n.is_empty() || n.starts_with('0') || n.len() > 9 || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

/// The blob name of attachment `n`.
pub fn file_blob_name(n: u32) -> String {
    format!("file-{n}.age")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random_and_valid() {
        let a = new_id().unwrap();
        let b = new_id().unwrap();
        assert!(is_valid_id(&a) && is_valid_id(&b));
        assert_ne!(a, b);
        for bad in ["", "../x", &a.to_uppercase(), &a[..31], &format!("{a}0")] {
            assert!(!is_valid_id(bad), "{bad}");
        }
    }

    #[test]
    fn blob_names() {
        assert!(is_valid_blob_name("envelope.age"));
        assert_eq!(blob_file_number("file-12.age"), Some(12));
        for bad in [
            "file-0.age",
            "file-01.age",
            "file-.age",
            "file-1.age/..",
            "../file-1.age",
            "file-1",
        ] {
            assert!(!is_valid_blob_name(bad), "{bad}");
        }
    }
}
