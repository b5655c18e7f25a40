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

pub mod decrypt;
pub mod identity;
pub mod keygen;
pub mod reply;
pub mod verify;

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

/// Environment variable that supplies the passphrase to scripts (spec, "witness-review").
pub const PASSPHRASE_ENV: &str = "WITNESS_REVIEW_PASSPHRASE";

/// Size of the buffer used to stream large files.
const STREAM_BUF: usize = 1 << 20;

/// Opens an existing regular file without following a symbolic link at its last component.
///
/// `std` has no `O_NOFOLLOW`, so this checks the link itself first, opens, and then checks
/// that the opened file is the very inode that was checked: a link swapped in between is
/// detected. Callers get an `InvalidData` error for anything but a regular file.
pub(crate) fn open_regular_file(path: &Path) -> io::Result<(File, Metadata)> {
    let before = std::fs::symlink_metadata(path)?;
    if !before.file_type().is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a regular file (a symbolic link, folder or device)",
        ));
    }
    let file = File::open(path)?;
    let after = file.metadata()?;
    if !after.file_type().is_file() || !same_file(&before, &after) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the file changed while it was being opened",
        ));
    }
    Ok((file, after))
}

#[cfg(unix)]
fn same_file(a: &Metadata, b: &Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(a: &Metadata, b: &Metadata) -> bool {
    a.len() == b.len()
}

/// Creates a new file readable only by its owner; fails if anything exists at `path`
/// (including a symbolic link: `O_EXCL` never follows one).
pub(crate) fn create_new_private_file(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// Creates one new folder accessible only by its owner; fails if anything exists at `path`.
pub(crate) fn create_private_dir(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Permissions for temporary plaintext files: owner only.
pub(crate) fn private_file_permissions() -> Option<std::fs::Permissions> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Some(std::fs::Permissions::from_mode(0o600))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

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

    /// Reads the rest of the stream, so that the digest covers all of it.
    pub(crate) fn drain(&mut self) -> io::Result<()> {
        let mut buf = vec![0u8; STREAM_BUF];
        while self.read(&mut buf)? > 0 {}
        Ok(())
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

    #[cfg(unix)]
    #[test]
    fn open_regular_file_refuses_links_and_folders() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t");
        std::fs::write(&target, b"x").unwrap();
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(open_regular_file(&target).is_ok());
        assert!(open_regular_file(&link).is_err());
        assert!(open_regular_file(dir.path()).is_err());
        assert!(create_new_private_file(&link).is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"x");
    }
}
