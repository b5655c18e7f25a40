//! How files and folders are created and how untrusted files are read.
//!
//! Invariants:
//! - Files are created with `O_EXCL` (never over a file, folder or symbolic link that exists,
//!   and a symbolic link is never followed) and mode 0600; folders with mode 0700. The mode is
//!   set at creation, never changed afterwards, so there is no moment at which another user
//!   could open them. [`write_durable_with`] takes its temporary file from the caller instead
//!   (the server's pool of empty private files, made the same way ahead of time), and like
//!   [`write_durable`] moves it into place without replacing anything unless asked to.
//! - Reads of untrusted files are capped: a file longer than its cap is refused after reading at
//!   most one byte more than the cap, so memory stays bounded whatever the file holds. What is
//!   read lands in a buffer that is zeroised when dropped (it may hold testimony or keys).

use std::fs::{DirBuilder, File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

use zeroize::Zeroizing;

use super::wipe::WipedBuf;

/// Creates a new file readable only by its owner; fails if anything exists at `path`
/// (including a symbolic link: `O_EXCL` never follows one).
pub fn create_new_private_file(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

fn private_dir_builder(recursive: bool) -> DirBuilder {
    let mut builder = DirBuilder::new();
    builder.recursive(recursive);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
}

/// Creates one new folder accessible only by its owner; fails if anything exists at `path`.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    private_dir_builder(false).create(path)
}

/// Makes sure `path` is a folder, creating it and any missing parents with mode 0700. A folder
/// that already exists is left as it is (its mode included); anything else at `path` is an
/// error.
pub fn ensure_private_dir(path: &Path) -> io::Result<()> {
    match private_dir_builder(true).create(path) {
        Ok(()) if path.is_dir() => Ok(()),
        Ok(()) => Err(io::Error::new(io::ErrorKind::AlreadyExists, "not a folder")),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Permissions for temporary files that will be renamed into place: owner only.
pub fn private_file_permissions() -> Option<std::fs::Permissions> {
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

/// Makes the entries of folder `path` durable (after creating, renaming or removing in it).
pub fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

/// Prefix and suffix of the temporary files [`write_durable`] makes: `.NAME.XXXXXX.tmp`. A
/// crash can leave one behind; none of them is ever the file it was meant to become.
pub const DURABLE_TEMP_SUFFIX: &str = ".tmp";

/// Writes `bytes` to `dir/name` so that a crash leaves either no file or the whole one: a
/// temporary file in `dir` (mode 0600 at creation), fsynced, then moved into place, then `dir`
/// fsynced. With `replace` false the move never replaces (`AlreadyExists` if `name` exists);
/// with `replace` true it atomically replaces what is there.
pub fn write_durable(dir: &Path, name: &str, bytes: &[u8], replace: bool) -> io::Result<()> {
    use std::io::Write;
    let mut builder = tempfile::Builder::new();
    let prefix = format!(".{name}.");
    builder.prefix(&prefix).suffix(DURABLE_TEMP_SUFFIX);
    if let Some(perms) = private_file_permissions() {
        builder.permissions(perms);
    }
    // Dropped on any error below, which removes the temporary file.
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.as_file_mut().write_all(bytes)?;
    tmp.as_file().sync_all()?;
    let target = dir.join(name);
    if replace {
        tmp.persist(&target).map_err(|e| e.error)?;
    } else {
        tmp.persist_noclobber(&target).map_err(|e| e.error)?;
    }
    sync_dir(dir)
}

/// [`write_durable`] with the temporary file made by `new_file` instead of created here: it
/// gets a path `dir/.NAME.XXXXXXXXXXXX.tmp` (the form [`remove_durable_temporaries`] removes)
/// that does not exist, and must return a file open for writing there, empty, mode 0600 (for
/// example an entry of the server's pool of files made ahead of time, moved to that path). On
/// any error the temporary is removed.
pub fn write_durable_with(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    replace: bool,
    new_file: impl Fn(&Path) -> io::Result<File>,
) -> io::Result<()> {
    use std::io::Write;
    let mut attempts = 0;
    let (tmp, mut file) = loop {
        let mut salt = [0u8; 6];
        getrandom::fill(&mut salt).map_err(|e| io::Error::other(e.to_string()))?;
        let tmp = dir.join(format!(
            ".{name}.{}{DURABLE_TEMP_SUFFIX}",
            hex::encode(salt)
        ));
        match new_file(&tmp) {
            Ok(file) => break (tmp, file),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 8 => attempts += 1,
            Err(e) => return Err(e),
        }
    };
    let target = dir.join(name);
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| {
            drop(file);
            if replace {
                std::fs::rename(&tmp, &target)
            } else {
                rename_noreplace(&tmp, &target)
            }
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(dir)
}

/// Moves `from` to `to` unless something is at `to` (`AlreadyExists`), atomically
/// (`renameat2` with `RENAME_NOREPLACE`). Where the file system lacks that flag, a file is
/// linked under the new name and then unlinked under the old one, which no more replaces.
pub fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {
            std::fs::hard_link(from, to)?;
            std::fs::remove_file(from)
        }
        Err(e) => Err(e.into()),
    }
}

/// Removes the temporaries an interrupted [`write_durable`] left in `dir`; returns how many.
pub fn remove_durable_temporaries(dir: &Path) -> io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && name.starts_with('.') && name.ends_with(DURABLE_TEMP_SUFFIX) {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    if removed > 0 {
        sync_dir(dir)?;
    }
    Ok(removed)
}

/// Opens an existing regular file without following a symbolic link at its last component.
///
/// `std` has no `O_NOFOLLOW`, so this checks the link itself first, opens, and then checks
/// that the opened file is the very inode that was checked: a link swapped in between is
/// detected. Callers get an `InvalidData` error for anything but a regular file.
pub fn open_regular_file(path: &Path) -> io::Result<(File, Metadata)> {
    let before = std::fs::symlink_metadata(path)?;
    if !before.file_type().is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a regular file (a symbolic link, folder or device)",
        ));
    }
    let file = open_without_atime(path)?;
    let after = file.metadata()?;
    if !after.file_type().is_file() || !same_file(&before, &after) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the file changed while it was being opened",
        ));
    }
    Ok((file, after))
}

/// Opens `path` for reading without changing its access time where the system allows it
/// (Linux's `O_NOATIME`, for files this user owns), so reading the server's files (a consent
/// note, on every inbox view) leaves their times as the server's restamps set them;
/// elsewhere, or for a file of another user, a plain open.
fn open_without_atime(path: &Path) -> io::Result<File> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let flags = rustix::fs::OFlags::NOATIME.bits() as i32;
        match std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(flags)
            .open(path)
        {
            Ok(file) => return Ok(file),
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::PERM.raw_os_error()) => {}
            Err(e) => return Err(e),
        }
    }
    File::open(path)
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

/// What [`read_capped`] found.
pub enum Capped {
    /// The whole stream, at most the cap, in a buffer zeroised on drop.
    Whole(Zeroizing<Vec<u8>>),
    /// The stream holds more than the cap; what was read has been wiped.
    TooLarge,
}

/// Reads `reader` to its end, unless it holds more than `max` bytes: then it stops after
/// `max + 1` bytes and answers [`Capped::TooLarge`]. The buffer is a [`WipedBuf`], so growing
/// it leaves no copy behind (a decrypted reply is read this way).
pub fn read_capped(reader: impl Read, max: u64) -> io::Result<Capped> {
    Ok(match WipedBuf::read_capped(reader, max)? {
        Some(data) => Capped::Whole(data.into_inner()),
        None => Capped::TooLarge,
    })
}

/// Moves UTF-8 out of a zeroised buffer into a zeroised string; on invalid UTF-8 the bytes are
/// wiped and `None` is returned.
pub fn into_utf8(mut data: Zeroizing<Vec<u8>>) -> Option<Zeroizing<String>> {
    match String::from_utf8(std::mem::take(&mut *data)) {
        Ok(text) => Some(Zeroizing::new(text)),
        Err(e) => {
            drop(Zeroizing::new(e.into_bytes()));
            None
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn files_and_folders_are_private_and_never_replace_anything() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        create_new_private_file(&f).unwrap();
        assert_eq!(
            std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(create_new_private_file(&f).is_err());
        let d = dir.path().join("a/b");
        ensure_private_dir(&d).unwrap();
        ensure_private_dir(&d).unwrap();
        assert_eq!(
            std::fs::metadata(&d).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert!(create_private_dir(&d).is_err());
        assert!(ensure_private_dir(&f).is_err());
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

    #[test]
    fn write_durable_with_writes_into_the_file_it_is_given_and_never_replaces_unless_asked() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let made = std::cell::RefCell::new(Vec::new());
        let maker = |tmp: &Path| {
            let name = tmp.file_name().unwrap().to_str().unwrap().to_owned();
            assert!(
                name.starts_with(".f.") && name.ends_with(DURABLE_TEMP_SUFFIX),
                "{name}"
            );
            let file = create_new_private_file(tmp)?;
            made.borrow_mut().push(file.metadata()?.ino());
            Ok(file)
        };
        write_durable_with(dir.path(), "f", b"one", false, maker).unwrap();
        let f = dir.path().join("f");
        assert_eq!(std::fs::read(&f).unwrap(), b"one");
        assert_eq!(
            made.borrow().last(),
            Some(&std::fs::metadata(&f).unwrap().ino())
        );
        let err = write_durable_with(dir.path(), "f", b"two", false, maker).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&f).unwrap(), b"one");
        write_durable_with(dir.path(), "f", b"three", true, maker).unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"three");
        // No temporary is left, the refused one included.
        assert_eq!(remove_durable_temporaries(dir.path()).unwrap(), 0);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn capped_reads_stop_one_byte_past_the_cap() {
        assert!(matches!(read_capped(&b"abc"[..], 3).unwrap(), Capped::Whole(d) if *d == b"abc"));
        assert!(matches!(
            read_capped(&b"abcd"[..], 3).unwrap(),
            Capped::TooLarge
        ));
        let endless = std::io::repeat(0);
        assert!(matches!(
            read_capped(endless, 1024).unwrap(),
            Capped::TooLarge
        ));
    }

    #[test]
    fn utf8_is_moved_or_refused() {
        assert_eq!(
            into_utf8(Zeroizing::new(b"ok".to_vec()))
                .as_deref()
                .map(|s| s.as_str()),
            Some("ok")
        );
        assert!(into_utf8(Zeroizing::new(vec![0xff])).is_none());
    }
}
