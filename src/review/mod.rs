//! The reviewer's offline tool (`witness-review`): key generation, export verification and
//! decryption. The binary only parses arguments and prints; everything else is here.
//!
//! Invariant: every byte of an export is treated as hostile. Nothing read from an export is
//! used as a path until it has been validated ([`crate::export::is_valid_id`],
//! [`crate::export::is_valid_blob_name`], [`crate::safename::safe_name`]); no symbolic link in
//! an export is followed; output goes only into freshly created files and folders inside the
//! reviewer's output folder, so nothing is ever overwritten; decrypted content is never
//! opened or executed. Secret files are created with mode 0600 and folders with 0700.
//!
//! - [`keygen`]: `witness-review keygen`, a new age identity, optionally passphrase-protected.
//! - [`identity`]: loading an identity file and asking for passphrases.
//! - [`verify`]: `witness-review verify`, hashes and ledger, no key needed.
//! - [`decrypt`]: `witness-review decrypt`, the decrypted layout of the spec.
//! - [`reply`]: `witness-review reply`, a reply file for the source of a decrypted submission.
//! - [`case`]: the case folder's layout and the records kept in it.
//! - [`case_ledger`]: the ledger a case folder remembers, and how a new export must agree.
//! - [`custody`]: the custody log, and `witness-review custody`.
//! - [`trust`]: the reviewer keys a case folder trusts for replies.
//! - [`clean`]: working copies without identifying metadata.
//! - [`view`]: the reading view (static HTML).

pub mod case;
pub mod case_ledger;
pub mod clean;
pub mod custody;
pub mod decrypt;
pub mod identity;
pub mod keygen;
pub mod reply;
pub mod trust;
pub mod verify;
pub mod view;

use std::io::{self, Read};

use sha2::{Digest, Sha256};

/// Environment variable that supplies the passphrase to scripts (spec, "witness-review").
pub const PASSPHRASE_ENV: &str = "WITNESS_REVIEW_PASSPHRASE";

/// Size of the buffer used to stream large files.
const STREAM_BUF: usize = 1 << 20;

/// A reader that hashes and counts everything read through it, and reports progress.
pub(crate) struct HashingReader<'p, R> {
    inner: R,
    hasher: Sha256,
    size: u64,
    progress: &'p dyn Fn(u64),
}

impl<'p, R: Read> HashingReader<'p, R> {
    pub(crate) fn new(inner: R, progress: &'p dyn Fn(u64)) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            size: 0,
            progress,
        }
    }

    /// Size and SHA-256 (lower-case hex) of everything read.
    pub(crate) fn finish(self) -> (u64, String) {
        (self.size, hex::encode(self.hasher.finalize()))
    }
}

impl<R: Read> Read for HashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        (self.progress)(n as u64);
        Ok(n)
    }
}

/// Shows an untrusted string in a message: control, format and bidirectional characters
/// spelled out as `\u{…}` (no terminal escape sequences, no right-to-left tricks), shortened.
pub(crate) fn shown(s: &str) -> String {
    const MAX_CHARS: usize = 80;
    let mut out = String::new();
    for c in s.chars().take(MAX_CHARS) {
        if crate::safename::is_invisible_or_control(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    if s.chars().nth(MAX_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// True for 64 lower-case hex digits, the way every SHA-256 in the format is written.
pub(crate) fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn shown_escapes_hostile_text() {
        assert_eq!(shown("abc"), "abc");
        let s = shown("a\u{202E}b\n\u{1b}[31m");
        assert!(
            !s.contains('\u{202E}') && !s.contains('\n') && !s.contains('\u{1b}'),
            "{s}"
        );
        assert!(shown(&"x".repeat(1000)).chars().count() <= 81);
    }
}
