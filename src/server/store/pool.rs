//! The pool: empty files and folders made ahead of time, so that what a submission writes is
//! not born when it arrives.
//!
//! A file system records when each file and folder was born (ext4's `crtime`, `stat`'s
//! "Birth"; no program can change it) and hands out inode numbers in order, so files made for
//! an upload would show its time to the nanosecond, and sit next to each other and to the
//! journal entry of the same commit. Instead, `DATA/pool/` holds empty private files (0600)
//! and folders (0700) under random names, made only at fixed moments: when the store is opened
//! (the start of `serve`, `check`, `export`, any command that opens it), at the first restamp
//! mark of each UTC day ([`Refills`]), and at the next mark after the pool fell below its low
//! water. Everything the server makes under the data folder during its work is taken from it:
//! a random entry (not the oldest, not the first listed, so the order of use does not follow
//! the order of inode numbers) is moved into place with `renameat2(RENAME_NOREPLACE)`, which
//! keeps its inode and birth time and never replaces anything, then opened for writing with
//! truncation.
//!
//! Invariants:
//! - The pool never hands out an entry with content or a second link: a file is opened with
//!   `O_TRUNC | O_NOFOLLOW` once it is in place and refused (removed, and the next one taken)
//!   unless it is then a regular file with one link; a folder is refused unless it is an empty
//!   folder. Nothing the server writes is ever in the pool: an entry leaves it before it is
//!   opened for writing.
//! - At open, every entry that is not what the pool makes (a name that is not 32 hex digits, a
//!   file that is not empty, has more than one link or is readable by others, a folder that
//!   is not empty or is open to others, a symbolic link or a special file) is taken out:
//!   removed, or, if it holds anything, moved to `DATA/quarantine/` (never deleted, as with
//!   the ciphertext folders). Refills make each entry whole under its final name in one call
//!   (`O_CREAT | O_EXCL` with mode 0600, `mkdir` with 0700), so an interrupted refill leaves no
//!   temporaries, only good entries; anything else named is removed by the name rule.
//! - An empty pool never fails a submission: the entry is then created where it is needed, as
//!   before, and counted ([`Pool::counts`], shown by `witness-drop check`), never logged (a log
//!   line would carry the journal's time).
//! - The pool's entries are stamped at midnight UTC of their day when made, like everything
//!   else in the data folder ([`super::stamp`]); the pool folder is restamped after every
//!   refill, and after every commit that took from it.
//!
//! What remains visible: the birth times of the pool's entries are the refill moments; how
//! many entries are in the pool tells how many were used since the last refill; a refill at a
//! mark other than the day's first says only that the pool ran low in the ten minutes before.
//!
//! Sizes ([`TARGET`]): a submission takes one folder and 1 + 2 × attachments files (the
//! envelope, each attachment unpadded then padded), plus one journal file (two for a first
//! submission). 256 folders and 1,024 files carry a day of 256 submissions of up to three
//! attachments, well above what a drop of this kind receives; they cost 1,280 inodes and
//! 256 folder blocks (1 MiB on ext4), no data blocks. Below [`LOW`] (a quarter), the next
//! ten-minute mark refills.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::fs::{renameat_with, Mode, OFlags, RenameFlags, CWD};
use rustix::io::Errno;
use serde::{Deserialize, Serialize};

use super::stamp;
use crate::util::files::{
    create_new_private_file, create_private_dir, ensure_private_dir, sync_dir,
};

/// The pool's folder inside the data folder.
pub const POOL: &str = "pool";

/// How many of each kind a refill tops the pool up to.
pub const TARGET: Sizes = Sizes {
    files: 1024,
    folders: 256,
};

/// Below this many of either kind, the next restamp mark refills.
pub const LOW: Sizes = Sizes {
    files: 256,
    folders: 64,
};

/// A number of files and of folders.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sizes {
    /// Empty files.
    pub files: usize,
    /// Empty folders.
    pub folders: usize,
}

/// What `check` shows of the pool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolCounts {
    /// Entries ready in the pool.
    pub ready: Sizes,
    /// Files and folders created outside the pool, for want of an entry, since the store was
    /// opened (the server's start, when it runs).
    pub created_outside: u64,
    /// Entries taken out of the pool at open because they were not what it makes.
    pub removed_at_open: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    File,
    Folder,
}

/// The pool (cheap to clone; all clones share it).
#[derive(Clone, Debug)]
pub struct Pool {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    quarantine: PathBuf,
    target: Sizes,
    low: Sizes,
    /// The names of the entries in the pool folder, by kind.
    ready: Mutex<Ready>,
    /// One refill at a time.
    refilling: Mutex<()>,
    created_outside: AtomicU64,
    removed_at_open: usize,
}

#[derive(Debug, Default)]
struct Ready {
    files: Vec<String>,
    folders: Vec<String>,
}

impl Ready {
    fn of(&mut self, kind: Kind) -> &mut Vec<String> {
        match kind {
            Kind::File => &mut self.files,
            Kind::Folder => &mut self.folders,
        }
    }
}

fn random_name() -> io::Result<String> {
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(hex::encode(raw))
}

fn is_pool_name(name: &str) -> bool {
    name.len() == 32
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Only the owner may have any permission.
fn is_private(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o077 == 0
}

fn is_empty_dir(path: &Path) -> io::Result<bool> {
    Ok(fs::read_dir(path)?.next().is_none())
}

/// What an entry found in the pool folder at open is.
enum Found {
    Good(Kind),
    /// Empty but not what the pool makes: removed.
    Wrong,
    /// Holds something: moved to quarantine.
    Content,
}

fn classify(name: &str, meta: &fs::Metadata, path: &Path) -> io::Result<Found> {
    use std::os::unix::fs::MetadataExt;
    let kind = meta.file_type();
    if kind.is_file() {
        if meta.len() > 0 {
            return Ok(Found::Content);
        }
        let good = is_pool_name(name) && meta.nlink() == 1 && is_private(meta);
        return Ok(if good {
            Found::Good(Kind::File)
        } else {
            Found::Wrong
        });
    }
    if kind.is_dir() {
        if !is_empty_dir(path)? {
            return Ok(Found::Content);
        }
        let good = is_pool_name(name) && is_private(meta);
        return Ok(if good {
            Found::Good(Kind::Folder)
        } else {
            Found::Wrong
        });
    }
    // A symbolic link (never followed) or a special file.
    Ok(Found::Wrong)
}

impl Pool {
    /// Opens the pool in `data_dir` (creating its folder), takes out what is not a good entry,
    /// and refills it to [`TARGET`].
    pub fn open(data_dir: &Path) -> io::Result<Pool> {
        Self::open_sized(data_dir, TARGET, LOW)
    }

    /// [`Pool::open`] with other sizes (tests).
    pub(crate) fn open_sized(data_dir: &Path, target: Sizes, low: Sizes) -> io::Result<Pool> {
        let dir = data_dir.join(POOL);
        let quarantine = data_dir.join(super::QUARANTINE);
        ensure_private_dir(&dir)?;
        let mut ready = Ready::default();
        let mut removed = 0;
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            // Not followed: the entry itself.
            let meta = fs::symlink_metadata(&path)?;
            let name = entry.file_name().into_string().unwrap_or_default();
            match classify(&name, &meta, &path)? {
                Found::Good(kind) => ready.of(kind).push(name),
                Found::Wrong if meta.is_dir() => {
                    fs::remove_dir(&path)?;
                    removed += 1;
                }
                Found::Wrong => {
                    fs::remove_file(&path)?;
                    removed += 1;
                }
                Found::Content => {
                    ensure_private_dir(&quarantine)?;
                    let mut target = quarantine.join(format!("pool-{}", random_name()?));
                    while fs::symlink_metadata(&target).is_ok() {
                        target = quarantine.join(format!("pool-{}", random_name()?));
                    }
                    fs::rename(&path, &target)?;
                    sync_dir(&quarantine)?;
                    removed += 1;
                }
            }
        }
        if removed > 0 {
            sync_dir(&dir)?;
        }
        let pool = Pool {
            inner: Arc::new(Inner {
                dir,
                quarantine,
                target,
                low,
                ready: Mutex::new(ready),
                refilling: Mutex::new(()),
                created_outside: AtomicU64::new(0),
                removed_at_open: removed,
            }),
        };
        pool.refill()?;
        stamp::restamp(data_dir)?;
        Ok(pool)
    }

    /// The pool's folder.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    fn ready(&self) -> std::sync::MutexGuard<'_, Ready> {
        self.inner
            .ready
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// What is in the pool, and how many entries were made outside it since open.
    pub fn counts(&self) -> PoolCounts {
        let ready = self.ready();
        PoolCounts {
            ready: Sizes {
                files: ready.files.len(),
                folders: ready.folders.len(),
            },
            created_outside: self.inner.created_outside.load(Ordering::Relaxed),
            removed_at_open: self.inner.removed_at_open,
        }
    }

    /// True when either kind is below the low-water mark.
    pub fn is_low(&self) -> bool {
        let ready = self.ready();
        ready.files.len() < self.inner.low.files || ready.folders.len() < self.inner.low.folders
    }

    /// Tops the pool up to its target; returns how many entries it made. Each entry is made
    /// whole under its name, private from its creation, with its times at midnight; then the
    /// pool folder is made durable and restamped.
    pub fn refill(&self) -> io::Result<usize> {
        let _one = self
            .inner
            .refilling
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let need = {
            let ready = self.ready();
            Sizes {
                files: self.inner.target.files.saturating_sub(ready.files.len()),
                folders: self
                    .inner
                    .target
                    .folders
                    .saturating_sub(ready.folders.len()),
            }
        };
        if need == Sizes::default() {
            return Ok(0);
        }
        let midnight = stamp::midnight_of(SystemTime::now());
        let times = fs::FileTimes::new()
            .set_accessed(midnight)
            .set_modified(midnight);
        let mut made = Ready::default();
        let result = self.make(need, times, &mut made);
        let count = made.files.len() + made.folders.len();
        {
            let mut ready = self.ready();
            ready.files.append(&mut made.files);
            ready.folders.append(&mut made.folders);
        }
        result.map(|()| count)
    }

    /// Makes `need` new entries, with `times`, pushing each name to `made` once it exists.
    fn make(&self, need: Sizes, times: fs::FileTimes, made: &mut Ready) -> io::Result<()> {
        while made.files.len() < need.files {
            let name = random_name()?;
            match create_new_private_file(&self.inner.dir.join(&name)) {
                Ok(file) => {
                    made.files.push(name);
                    file.set_times(times)?;
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        while made.folders.len() < need.folders {
            let name = random_name()?;
            let path = self.inner.dir.join(&name);
            match create_private_dir(&path) {
                Ok(()) => {
                    made.folders.push(name);
                    File::open(&path)?.set_times(times)?;
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        sync_dir(&self.inner.dir)?;
        stamp::restamp(&self.inner.dir)?;
        Ok(())
    }

    /// A random entry's name, out of the list (`None` when there is none).
    fn pick(&self, kind: Kind) -> io::Result<Option<String>> {
        let mut ready = self.ready();
        let list = ready.of(kind);
        if list.is_empty() {
            return Ok(None);
        }
        let len = list.len() as u64;
        let i = getrandom::u64().map_err(|e| io::Error::other(e.to_string()))? % len;
        // `i < len`, which is a usize.
        Ok(Some(list.swap_remove(usize::try_from(i).unwrap_or(0))))
    }

    fn put_back(&self, kind: Kind, name: String) {
        self.ready().of(kind).push(name);
    }

    /// Moves a random entry of `kind` to `target`. `Ok(false)`: none could be used (the pool
    /// is empty, or the file system cannot rename without replacing); the caller creates the
    /// entry itself.
    fn take(&self, kind: Kind, target: &Path) -> io::Result<bool> {
        loop {
            let Some(name) = self.pick(kind)? else {
                return Ok(false);
            };
            let from = self.inner.dir.join(&name);
            match renameat_with(CWD, &from, CWD, target, RenameFlags::NOREPLACE) {
                Ok(()) => return Ok(true),
                // The entry is gone (not by this server); the next one.
                Err(Errno::NOENT) if fs::symlink_metadata(&from).is_err() => {}
                Err(Errno::INVAL | Errno::NOSYS) => {
                    self.put_back(kind, name);
                    return Ok(false);
                }
                Err(e) => {
                    self.put_back(kind, name);
                    return Err(e.into());
                }
            }
        }
    }

    fn created_outside(&self) {
        self.inner.created_outside.fetch_add(1, Ordering::Relaxed);
    }

    /// A new empty file at `target` (which must not exist), open for writing, mode 0600:
    /// taken from the pool, or created there when the pool has none.
    pub fn take_file(&self, target: &Path) -> io::Result<File> {
        while self.take(Kind::File, target)? {
            let opened = rustix::fs::open(
                target,
                OFlags::WRONLY | OFlags::TRUNC | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            );
            let file = match opened {
                Ok(fd) => File::from(fd),
                // A symbolic link swapped into the pool: removed, never followed.
                Err(Errno::LOOP) => {
                    fs::remove_file(target)?;
                    continue;
                }
                Err(e) => {
                    let _ = fs::remove_file(target);
                    return Err(e.into());
                }
            };
            let meta = file.metadata()?;
            if meta.is_file() && std::os::unix::fs::MetadataExt::nlink(&meta) == 1 {
                return Ok(file);
            }
            // A second link (or not a file): not handed out.
            drop(file);
            fs::remove_file(target)?;
        }
        self.created_outside();
        create_new_private_file(target)
    }

    /// A new empty folder at `target` (which must not exist), mode 0700: taken from the pool,
    /// or created there when the pool has none.
    pub fn take_folder(&self, target: &Path) -> io::Result<()> {
        while self.take(Kind::Folder, target)? {
            let meta = fs::symlink_metadata(target)?;
            if meta.is_dir() && is_empty_dir(target)? {
                return Ok(());
            }
            // Not an empty folder (something was put into the pool meanwhile): out of the way,
            // kept if it holds anything.
            if meta.is_dir() {
                ensure_private_dir(&self.inner.quarantine)?;
                fs::rename(
                    target,
                    self.inner
                        .quarantine
                        .join(format!("pool-{}", random_name()?)),
                )?;
            } else {
                fs::remove_file(target)?;
            }
        }
        self.created_outside();
        create_private_dir(target)
    }
}

/// When the pool is refilled besides at open: at the first restamp mark of each UTC day, and
/// at any mark when it is low.
#[derive(Debug)]
pub struct Refills {
    /// The UTC day (days since the epoch) of the last full refill.
    day: u64,
}

fn day_number(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
        / 86_400
}

impl Refills {
    /// The pool was refilled (opened) at `now`.
    pub fn starting(now: SystemTime) -> Refills {
        Refills {
            day: day_number(now),
        }
    }

    /// At a restamp mark (`now`): refills when the day changed since the last full refill or
    /// the pool is low. Returns how many entries it made.
    pub fn at_mark(&mut self, pool: &Pool, now: SystemTime) -> io::Result<usize> {
        let today = day_number(now);
        if today != self.day {
            self.day = today;
            return pool.refill();
        }
        if pool.is_low() {
            return pool.refill();
        }
        Ok(0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::MetadataExt;

    const SMALL: Sizes = Sizes {
        files: 8,
        folders: 4,
    };
    const SMALL_LOW: Sizes = Sizes {
        files: 3,
        folders: 2,
    };

    fn names(dir: &Path) -> Vec<String> {
        let mut out: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        out.sort();
        out
    }

    fn kinds(pool: &Pool) -> Sizes {
        let mut s = Sizes::default();
        for name in names(pool.dir()) {
            let m = fs::symlink_metadata(pool.dir().join(name)).unwrap();
            if m.is_dir() {
                s.folders += 1;
            } else {
                s.files += 1;
            }
        }
        s
    }

    #[test]
    fn refills_to_its_target_with_private_empty_entries_at_midnight() {
        let data = tempfile::tempdir().unwrap();
        let pool = Pool::open_sized(data.path(), SMALL, SMALL_LOW).unwrap();
        assert_eq!(kinds(&pool), SMALL);
        assert_eq!(pool.counts().ready, SMALL);
        let midnight = stamp::midnight_of(SystemTime::now());
        for name in names(pool.dir()) {
            assert!(is_pool_name(&name), "{name}");
            let m = fs::symlink_metadata(pool.dir().join(&name)).unwrap();
            assert_eq!(m.mode() & 0o777, if m.is_dir() { 0o700 } else { 0o600 });
            assert_eq!(m.modified().unwrap(), midnight);
            assert_eq!(m.accessed().unwrap(), midnight);
            if m.is_file() {
                assert_eq!(m.len(), 0);
            }
        }
        let m = fs::metadata(pool.dir()).unwrap();
        assert_eq!(m.modified().unwrap(), midnight);
        // Taken entries are made again, up to the target and no more.
        for i in 0..5 {
            pool.take_file(&data.path().join(format!("f{i}"))).unwrap();
        }
        pool.take_folder(&data.path().join("d")).unwrap();
        assert_eq!(
            pool.counts().ready,
            Sizes {
                files: 3,
                folders: 3
            }
        );
        assert_eq!(pool.refill().unwrap(), 6);
        assert_eq!(kinds(&pool), SMALL);
        assert_eq!(pool.refill().unwrap(), 0);
        // A second open finds the same entries and makes none.
        drop(pool);
        let again = Pool::open_sized(data.path(), SMALL, SMALL_LOW).unwrap();
        assert_eq!(again.counts().ready, SMALL);
        assert_eq!(again.counts().removed_at_open, 0);
    }

    #[test]
    fn a_taken_entry_keeps_its_inode_and_birth_and_is_written_from_empty() {
        let data = tempfile::tempdir().unwrap();
        let pool = Pool::open_sized(data.path(), SMALL, SMALL_LOW).unwrap();
        let before: Vec<(u64, Option<SystemTime>)> = names(pool.dir())
            .iter()
            .map(|n| {
                let m = fs::symlink_metadata(pool.dir().join(n)).unwrap();
                (m.ino(), m.created().ok())
            })
            .collect();
        let target = data.path().join("x.age");
        let mut f = pool.take_file(&target).unwrap();
        f.write_all(b"ciphertext").unwrap();
        drop(f);
        let m = fs::symlink_metadata(&target).unwrap();
        assert!(before.contains(&(m.ino(), m.created().ok())));
        assert_eq!(m.mode() & 0o777, 0o600);
        assert_eq!(fs::read(&target).unwrap(), b"ciphertext");
        let folder = data.path().join("sub");
        pool.take_folder(&folder).unwrap();
        let m = fs::symlink_metadata(&folder).unwrap();
        assert!(m.is_dir() && before.iter().any(|(ino, _)| *ino == m.ino()));
        // Never over anything.
        let err = pool.take_file(&target).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&target).unwrap(), b"ciphertext");
        assert_eq!(
            pool.take_folder(&folder).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        // Both entries went back to the pool, and nothing was created outside it.
        assert_eq!(
            pool.counts().ready,
            Sizes {
                files: 7,
                folders: 3
            }
        );
        assert_eq!(pool.counts().created_outside, 0);
    }

    #[test]
    fn an_empty_pool_falls_back_to_creating_and_counts_it() {
        let data = tempfile::tempdir().unwrap();
        let pool = Pool::open_sized(
            data.path(),
            Sizes {
                files: 1,
                folders: 1,
            },
            SMALL_LOW,
        )
        .unwrap();
        assert!(pool.is_low());
        pool.take_file(&data.path().join("a")).unwrap();
        pool.take_folder(&data.path().join("b")).unwrap();
        assert_eq!(pool.counts().created_outside, 0);
        let mut f = pool.take_file(&data.path().join("c")).unwrap();
        f.write_all(b"x").unwrap();
        pool.take_folder(&data.path().join("d")).unwrap();
        assert_eq!(pool.counts().created_outside, 2);
        assert_eq!(fs::read(data.path().join("c")).unwrap(), b"x");
        let m = fs::metadata(data.path().join("c")).unwrap();
        assert_eq!(m.mode() & 0o777, 0o600);
        let m = fs::metadata(data.path().join("d")).unwrap();
        assert_eq!(m.mode() & 0o777, 0o700);
        assert!(names(pool.dir()).is_empty());
    }

    #[test]
    fn never_hands_out_content_or_a_second_link() {
        let data = tempfile::tempdir().unwrap();
        let pool = Pool::open_sized(
            data.path(),
            Sizes {
                files: 2,
                folders: 1,
            },
            SMALL_LOW,
        )
        .unwrap();
        // While the server runs, someone writes into one entry and links the other.
        let entries = names(pool.dir());
        let files: Vec<_> = entries
            .iter()
            .filter(|n| fs::metadata(pool.dir().join(n)).unwrap().is_file())
            .collect();
        fs::write(pool.dir().join(files[0]), b"planted").unwrap();
        let outside = data.path().join("held");
        fs::hard_link(pool.dir().join(files[1]), &outside).unwrap();
        let folder = entries
            .iter()
            .find(|n| fs::metadata(pool.dir().join(n)).unwrap().is_dir())
            .unwrap();
        fs::write(pool.dir().join(folder).join("inside"), b"x").unwrap();
        for i in 0..2 {
            let target = data.path().join(format!("t{i}"));
            let mut f = pool.take_file(&target).unwrap();
            f.write_all(b"mine").unwrap();
            drop(f);
            assert_eq!(fs::read(&target).unwrap(), b"mine", "written from empty");
            assert_eq!(fs::metadata(&target).unwrap().nlink(), 1);
        }
        assert_eq!(
            fs::read(&outside).unwrap(),
            b"",
            "the linked entry was not used"
        );
        let d = data.path().join("d");
        pool.take_folder(&d).unwrap();
        assert!(is_empty_dir(&d).unwrap());
        // The linked one and the non-empty folder were refused: two entries made outside.
        assert_eq!(pool.counts().created_outside, 2);
    }

    #[test]
    fn bad_entries_are_taken_out_at_open() {
        let data = tempfile::tempdir().unwrap();
        let dir = data.path().join(POOL);
        drop(Pool::open_sized(data.path(), SMALL, SMALL_LOW).unwrap());
        let good = names(&dir);
        let some = |i: usize| dir.join(&good[i]);
        let files: Vec<_> = (0..good.len()).filter(|i| some(*i).is_file()).collect();
        // Content, a second link, a mode open to others, a bad name, a temporary, a symbolic
        // link, a non-empty folder.
        fs::write(some(files[0]), b"content").unwrap();
        fs::hard_link(some(files[1]), data.path().join("link")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(some(files[2]), fs::Permissions::from_mode(0o644)).unwrap();
        fs::write(dir.join("not-a-pool-name"), b"").unwrap();
        fs::write(dir.join(".0123.tmp"), b"").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.join("0".repeat(32))).unwrap();
        let folder = (0..good.len()).find(|i| some(*i).is_dir()).unwrap();
        fs::write(some(folder).join("f"), b"x").unwrap();
        let pool = Pool::open_sized(data.path(), SMALL, SMALL_LOW).unwrap();
        assert_eq!(pool.counts().removed_at_open, 7);
        assert_eq!(kinds(&pool), SMALL, "refilled after the cleaning");
        for name in names(&dir) {
            let m = fs::symlink_metadata(dir.join(&name)).unwrap();
            assert!(is_pool_name(&name) && !m.file_type().is_symlink());
            assert!(m.is_dir() || (m.len() == 0 && m.nlink() == 1 && m.mode() & 0o077 == 0));
        }
        // What held something is kept in quarantine, not deleted.
        let q = data.path().join(super::super::QUARANTINE);
        assert_eq!(names(&q).len(), 2);
        assert!(
            fs::read(data.path().join("link")).is_ok(),
            "the other link stays"
        );
    }

    #[test]
    fn entries_are_not_taken_in_the_order_of_their_inodes() {
        let data = tempfile::tempdir().unwrap();
        let pool = Pool::open_sized(
            data.path(),
            Sizes {
                files: 64,
                folders: 0,
            },
            SMALL_LOW,
        )
        .unwrap();
        let mut inodes = Vec::new();
        for i in 0..64 {
            let target = data.path().join(format!("t{i}"));
            let f = pool.take_file(&target).unwrap();
            inodes.push(f.metadata().unwrap().ino());
        }
        assert_eq!(pool.counts().created_outside, 0);
        let mut sorted = inodes.clone();
        sorted.sort_unstable();
        assert_ne!(inodes, sorted, "taken in inode order (chance 1/64!)");
        sorted.reverse();
        assert_ne!(
            inodes, sorted,
            "taken in reverse inode order (chance 1/64!)"
        );
    }

    #[test]
    fn refills_at_the_day_s_first_mark_and_when_low() {
        let data = tempfile::tempdir().unwrap();
        let pool = Pool::open_sized(data.path(), SMALL, SMALL_LOW).unwrap();
        let day = UNIX_EPOCH + Duration::from_secs(20_000 * 86_400);
        let mut refills = Refills::starting(day + Duration::from_secs(3600));
        // Above the low water: the day's later marks make nothing.
        for i in 0..2 {
            pool.take_file(&data.path().join(format!("a{i}"))).unwrap();
        }
        let mark = day + Duration::from_secs(7200);
        assert_eq!(refills.at_mark(&pool, mark).unwrap(), 0);
        // Low: the next mark refills.
        for i in 0..4 {
            pool.take_file(&data.path().join(format!("b{i}"))).unwrap();
        }
        assert!(pool.is_low());
        assert_eq!(refills.at_mark(&pool, mark).unwrap(), 6);
        // The next day's first mark tops up whatever was used.
        pool.take_folder(&data.path().join("c")).unwrap();
        let next = day + Duration::from_secs(86_400);
        assert_eq!(refills.at_mark(&pool, next).unwrap(), 1);
        assert_eq!(refills.at_mark(&pool, next).unwrap(), 0);
    }
}
