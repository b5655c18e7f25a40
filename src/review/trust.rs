//! The reviewer keys a case folder trusts (`OUT_DIR/trusted-reviewers.txt`): the keys a reply
//! is encrypted to besides the source's and the replying reviewer's own.
//!
//! They are set by the reviewers from their own key ceremony (`decrypt --trust FILE`, for
//! example the `keys/recipients.txt` they signed off), never from an export: an envelope lists
//! the keys the *server* encrypted to, and a server that added its own key there must not read
//! the replies. A key an envelope lists that is not trusted is shown and not used.
//!
//! Invariants: the file holds public keys only (a file with anything like a secret key is
//! refused, as by the server), is replaced atomically, and every change is in the custody log.

use std::path::Path;

use super::case::TRUSTED_KEYS;
use super::custody::{hash_file, CustodyError, CustodyLog, Event};
use crate::keys::{load_recipients, parse_recipients, KeysError};
use crate::util::files::write_durable;

/// Why the trusted keys could not be read or set.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The keys file given, or the case folder's, was refused.
    #[error(transparent)]
    Keys(#[from] KeysError),
    /// Writing the case folder's file failed.
    #[error("cannot write {path}: {cause}")]
    Write {
        /// The file.
        path: String,
        /// The cause.
        cause: std::io::Error,
    },
    /// The custody log could not be written.
    #[error(transparent)]
    Custody(#[from] CustodyError),
}

/// The keys the case folder trusts; empty when none were set.
pub fn trusted(case_dir: &Path) -> Result<Vec<age::x25519::Recipient>, TrustError> {
    let path = case_dir.join(TRUSTED_KEYS);
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(Vec::new());
    }
    Ok(load_recipients(&path, true)?.list)
}

/// Sets the case folder's trusted keys to those in `from` (a recipients file from the key
/// ceremony), and logs it. Returns the keys.
pub fn set_trusted(
    case_dir: &Path,
    from: &Path,
    log: &mut CustodyLog,
) -> Result<Vec<age::x25519::Recipient>, TrustError> {
    let keys = load_recipients(from, false)?.list;
    let mut text = String::from(
        "# Reviewer keys this case folder trusts: replies are encrypted to these (and to the\n\
         # source and the replying reviewer). Set with `witness-review decrypt --trust FILE`.\n",
    );
    for k in &keys {
        text.push_str(&format!("{k}\n"));
    }
    // The text is checked as the reader will check it.
    parse_recipients(&text, TRUSTED_KEYS)?;
    let path = case_dir.join(TRUSTED_KEYS);
    let write_err = |cause| TrustError::Write {
        path: path.display().to_string(),
        cause,
    };
    write_durable(case_dir, TRUSTED_KEYS, text.as_bytes(), true).map_err(write_err)?;
    let file = hash_file(case_dir, TRUSTED_KEYS).map_err(write_err)?;
    log.append(Event::TrustedKeysSet {
        keys: keys.iter().map(ToString::to_string).collect(),
        file,
    })?;
    Ok(keys)
}
