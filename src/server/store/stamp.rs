//! File-system times that place nothing finer than a day.
//!
//! Every file and folder the server keeps under the data folder gets its modification and
//! access times set to 00:00 UTC of the day it was last modified: right after each commit for
//! what the commit wrote, and for the whole data folder (sled's own files included) at every
//! multiple of [`RESTAMP_EVERY`] of the clock, at start and at a clean stop. Setting times
//! changes the change time (ctime) to the moment of the restamp, which the kernel does not let
//! a program set: restamping everything at the same fixed moments makes every ctime one of
//! those moments, the same for all files, so it no longer tells when a file was written.
//!
//! Reading a folder or a file sets its access time again (the kernel's `relatime` does so
//! whenever the access time is not newer than the change time, which a restamp leaves in the
//! past); the next restamp puts it back. Mounting the data folder's file system with `noatime`
//! (the operator's guide) stops that.
//!
//! Invariant: only times are changed, never contents; symbolic links and special files (the
//! admin socket) are skipped, never followed.

use std::fs::{File, FileTimes};
use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How often the whole data folder is restamped (on the clock's multiples of it).
pub const RESTAMP_EVERY: Duration = Duration::from_secs(10 * 60);

const DAY: u64 = 86_400;

/// 00:00 UTC of the day of `t`.
pub fn midnight_of(t: SystemTime) -> SystemTime {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    UNIX_EPOCH + Duration::from_secs(secs - secs % DAY)
}

/// Sets the access and modification times of `path` (a file or folder) to midnight of its
/// modification day, unless they are there already. Returns whether it changed anything.
pub fn restamp(path: &Path) -> io::Result<bool> {
    let meta = std::fs::symlink_metadata(path)?;
    let kind = meta.file_type();
    if !kind.is_file() && !kind.is_dir() {
        return Ok(false);
    }
    let mtime = meta.modified()?;
    let midnight = midnight_of(mtime);
    if mtime == midnight && meta.accessed()? == midnight {
        return Ok(false);
    }
    let file = File::open(path)?;
    file.set_times(
        FileTimes::new()
            .set_accessed(midnight)
            .set_modified(midnight),
    )?;
    Ok(true)
}

/// [`restamp`] for `root` and everything below it. Returns how many entries changed.
///
/// Reading a folder sets its access time, so every folder is read first and only then is
/// anything restamped.
pub fn restamp_tree(root: &Path) -> io::Result<usize> {
    let mut paths = vec![root.to_path_buf()];
    let mut i = 0;
    while i < paths.len() {
        let dir = paths[i].clone();
        i += 1;
        if !std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            // Removed meanwhile (an aborted upload): nothing left to stamp.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            paths.push(entry?.path());
        }
    }
    let mut changed = 0;
    for path in &paths {
        match restamp(path) {
            Ok(true) => changed += 1,
            Ok(false) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(changed)
}

/// How long until the clock's next multiple of [`RESTAMP_EVERY`].
pub fn until_next_restamp(now: SystemTime) -> Duration {
    let every = RESTAMP_EVERY.as_secs();
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    Duration::from_secs(every - secs % every)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_ends_at_midnight_of_its_day() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/f"), b"x").unwrap();
        std::fs::write(dir.path().join("g"), b"y").unwrap();
        assert!(restamp_tree(dir.path()).unwrap() >= 4);
        let today = midnight_of(SystemTime::now());
        for p in ["", "a", "a/b", "a/b/f", "g"] {
            let m = std::fs::metadata(dir.path().join(p)).unwrap();
            assert_eq!(m.modified().unwrap(), today, "{p}");
            assert_eq!(m.accessed().unwrap(), today, "{p}");
        }
        // Listing a folder sets its access time again (relatime): a second pass changes only
        // the three folders it read, never a file.
        assert_eq!(restamp_tree(dir.path()).unwrap(), 3);
    }

    #[test]
    fn the_next_restamp_is_on_the_clock() {
        let t = UNIX_EPOCH + Duration::from_secs(1_000_000_000 + 7);
        let next = t + until_next_restamp(t);
        let secs = next.duration_since(UNIX_EPOCH).unwrap().as_secs();
        assert_eq!(secs % RESTAMP_EVERY.as_secs(), 0);
        assert!(until_next_restamp(t) <= RESTAMP_EVERY);
    }
}
