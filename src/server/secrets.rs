//! The per-instance secret (`DATA/instance.secret`) and the keys derived from it.
//!
//! Invariants:
//! - The secret is 32 bytes from the OS generator, never logged or sent. It decrypts nothing: it
//!   keys form tokens, and (with a source's codename) the Argon2id derivations of returning
//!   sources, so a copy of the database alone does not allow guessing codenames offline.
//! - It is created atomically: written to a temporary file in the data folder (mode 0600 at
//!   creation, never chmod after), fsynced, then linked into place under a name that must not
//!   exist yet (`persist_noclobber`: `renameat2` with `RENAME_NOREPLACE`, or a hard link and an
//!   unlink), then the folder is fsynced. A crash leaves no secret or a whole one, never a
//!   partial file; a stray temporary it leaves is removed at the next start.
//! - A whole secret is never replaced. An empty or short file (from a crash of a version that
//!   wrote it in place, or from damage) is replaced only while no returning source exists, with
//!   a warning in the log; while sources exist it is an error that tells the operator to restore
//!   the file from the backup, because with another secret no source could log in again.

use std::io;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::util::files::{
    open_regular_file, read_capped, sync_dir, write_durable, Capped, DURABLE_TEMP_SUFFIX,
};

/// File name inside the data folder.
pub const SECRET_FILE: &str = "instance.secret";

/// Temporary files being made into the secret are `.instance.secret.XXXXXX.tmp` (what
/// [`write_durable`] names them).
const TEMP_PREFIX: &str = ".instance.secret.";
const TEMP_SUFFIX: &str = DURABLE_TEMP_SUFFIX;

/// Why the instance secret could not be read or made.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The OS random generator failed.
    #[error("the operating system's random generator failed: {0}")]
    Random(getrandom::Error),
    /// The file (or the data folder) could not be created, written or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The file is longer than 32 bytes: not a secret this server made.
    #[error("{} is longer than the 32 bytes of an instance secret: put the right file back from the backup (or, while no source has ever logged in, move it away and a new one is made)", path.display())]
    WrongSize {
        /// The secret's path.
        path: PathBuf,
    },
    /// The file is empty or short, and returning sources depend on the secret.
    #[error("{} holds {len} of the 32 bytes of the instance secret, but the database holds {sources} returning source(s): restore it from the backup (without it no source can log in again); not replacing it", path.display())]
    Damaged {
        /// The secret's path.
        path: PathBuf,
        /// Bytes found.
        len: usize,
        /// Sources in the database.
        sources: usize,
    },
    /// The file is missing, and returning sources depend on the secret.
    #[error("{} is missing, but the database holds {sources} returning source(s): restore it from the backup (without it no source can log in again); not making a new one", path.display())]
    Missing {
        /// The secret's path.
        path: PathBuf,
        /// Sources in the database.
        sources: usize,
    },
    /// The file is not a regular file (a symbolic link, a folder).
    #[error("{} is not a regular file: put the instance secret back from the backup", path.display())]
    NotAFile {
        /// The secret's path.
        path: PathBuf,
    },
}

/// The instance secret.
#[derive(Clone)]
pub struct InstanceSecret(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for InstanceSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceSecret").finish_non_exhaustive()
    }
}

/// What is at `DATA/instance.secret`.
enum Found {
    Whole(InstanceSecret),
    Missing,
    /// Empty or short: this many bytes.
    Short(usize),
}

fn io_err(path: &Path) -> impl Fn(io::Error) -> SecretError + '_ {
    move |source| SecretError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn read(path: &Path) -> Result<Found, SecretError> {
    let file = match open_regular_file(path) {
        Ok((file, _)) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Found::Missing),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            return Err(SecretError::NotAFile {
                path: path.to_path_buf(),
            })
        }
        Err(e) => return Err(io_err(path)(e)),
    };
    let data = match read_capped(file, 32).map_err(io_err(path))? {
        Capped::Whole(data) => data,
        Capped::TooLarge => {
            return Err(SecretError::WrongSize {
                path: path.to_path_buf(),
            })
        }
    };
    let mut key = Zeroizing::new([0u8; 32]);
    if data.len() != key.len() {
        return Ok(Found::Short(data.len()));
    }
    key.copy_from_slice(&data);
    Ok(Found::Whole(InstanceSecret(key)))
}

/// Makes a new secret at `DATA/instance.secret`; fails with `AlreadyExists` if anything is there.
fn create(data_dir: &Path) -> Result<InstanceSecret, SecretError> {
    let path = data_dir.join(SECRET_FILE);
    let mut key = Zeroizing::new([0u8; 32]);
    getrandom::fill(&mut key[..]).map_err(SecretError::Random)?;
    write_durable(data_dir, SECRET_FILE, &key[..], false).map_err(io_err(&path))?;
    Ok(InstanceSecret(key))
}

/// Removes temporary files a crash left in the middle of [`create`]: none of them was ever the
/// secret (a secret exists only once linked under its name).
fn remove_stray_temporaries(data_dir: &Path) -> Result<(), SecretError> {
    let mut removed = false;
    for entry in std::fs::read_dir(data_dir).map_err(io_err(data_dir))? {
        let entry = entry.map_err(io_err(data_dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX) {
            std::fs::remove_file(entry.path()).map_err(io_err(&entry.path()))?;
            removed = true;
        }
    }
    if removed {
        sync_dir(data_dir).map_err(io_err(data_dir))?;
    }
    Ok(())
}

impl InstanceSecret {
    /// Reads `DATA/instance.secret`, creating it at first start. `sources` is the number of
    /// returning sources in the database: while there are any, a missing, empty or short file
    /// is an error telling the operator to restore it; while there are none, it is replaced
    /// (and a warning logged).
    pub fn load_or_create(data_dir: &Path, sources: usize) -> Result<InstanceSecret, SecretError> {
        let path = data_dir.join(SECRET_FILE);
        remove_stray_temporaries(data_dir)?;
        match read(&path)? {
            Found::Whole(secret) => return Ok(secret),
            Found::Missing if sources > 0 => return Err(SecretError::Missing { path, sources }),
            Found::Short(len) if sources > 0 => {
                return Err(SecretError::Damaged { path, len, sources })
            }
            Found::Missing => {}
            Found::Short(len) => {
                tracing::warn!(
                    "{} holds {len} of 32 bytes (left by an interrupted first start?) and no \
                     returning source depends on it: replacing it with a new instance secret",
                    path.display()
                );
                std::fs::remove_file(&path).map_err(io_err(&path))?;
                sync_dir(data_dir).map_err(io_err(data_dir))?;
            }
        }
        match create(data_dir) {
            // Something appeared meanwhile: never replace it, read it.
            Err(SecretError::Io { source, .. })
                if source.kind() == io::ErrorKind::AlreadyExists =>
            {
                InstanceSecret::load(data_dir)
            }
            other => other,
        }
    }

    /// Reads `DATA/instance.secret` and never writes: anything but a whole secret is an error.
    pub fn load(data_dir: &Path) -> Result<InstanceSecret, SecretError> {
        let path = data_dir.join(SECRET_FILE);
        match read(&path)? {
            Found::Whole(secret) => Ok(secret),
            Found::Missing => Err(SecretError::Missing { path, sources: 0 }),
            Found::Short(len) => Err(SecretError::Damaged {
                path,
                len,
                sources: 0,
            }),
        }
    }

    /// HMAC-SHA256 of `data` under a key for `purpose` (domain separation).
    pub fn mac(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        let Ok(mut outer) = Hmac::<Sha256>::new_from_slice(&self.0[..]) else {
            return [0u8; 32];
        };
        outer.update(purpose.as_bytes());
        let subkey = Zeroizing::new(outer.finalize().into_bytes());
        let Ok(mut m) = Hmac::<Sha256>::new_from_slice(&subkey) else {
            return [0u8; 32];
        };
        m.update(data);
        m.finalize().into_bytes().into()
    }

    /// The raw secret, for key derivation.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    /// A secret for tests.
    #[cfg(test)]
    pub fn for_tests(b: u8) -> InstanceSecret {
        InstanceSecret(Zeroizing::new([b; 32]))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn created_once_with_mode_0600_and_nothing_else_left() {
        let dir = tempfile::tempdir().unwrap();
        let a = InstanceSecret::load_or_create(dir.path(), 0).unwrap();
        let b = InstanceSecret::load_or_create(dir.path(), 0).unwrap();
        let c = InstanceSecret::load(dir.path()).unwrap();
        assert_eq!(a.expose(), b.expose());
        assert_eq!(a.expose(), c.expose());
        assert_eq!(mode(&dir.path().join(SECRET_FILE)), 0o600);
        assert_eq!(names(dir.path()), [SECRET_FILE]);
        assert_ne!(a.mac("x", b"1"), a.mac("y", b"1"));
    }

    #[test]
    fn a_whole_secret_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SECRET_FILE);
        std::fs::write(&path, [7u8; 32]).unwrap();
        for sources in [0, 3] {
            let s = InstanceSecret::load_or_create(dir.path(), sources).unwrap();
            assert_eq!(s.expose(), &[7u8; 32]);
        }
        // Creation itself refuses to link over it, and leaves no temporary behind.
        let e = create(dir.path()).unwrap_err();
        assert!(
            matches!(&e, SecretError::Io { source, .. } if source.kind() == io::ErrorKind::AlreadyExists),
            "{e}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), [7u8; 32]);
        assert_eq!(names(dir.path()), [SECRET_FILE]);
        // A longer file is not ours: an error, and left as it is.
        std::fs::write(&path, [7u8; 33]).unwrap();
        let e = InstanceSecret::load_or_create(dir.path(), 0).unwrap_err();
        assert!(matches!(e, SecretError::WrongSize { .. }), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), [7u8; 33]);
    }

    #[test]
    fn an_empty_or_short_secret_is_replaced_while_no_source_exists() {
        for len in [0, 31] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(SECRET_FILE);
            std::fs::write(&path, vec![1u8; len]).unwrap();
            let s = InstanceSecret::load_or_create(dir.path(), 0).unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), s.expose());
            assert_ne!(s.expose(), &[0u8; 32]);
            assert_eq!(mode(&path), 0o600);
            assert_eq!(names(dir.path()), [SECRET_FILE]);
        }
    }

    #[test]
    fn a_damaged_or_missing_secret_while_sources_exist_says_restore_it_and_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SECRET_FILE);
        std::fs::write(&path, [1u8; 10]).unwrap();
        let e = InstanceSecret::load_or_create(dir.path(), 2).unwrap_err();
        assert!(
            matches!(
                e,
                SecretError::Damaged {
                    len: 10,
                    sources: 2,
                    ..
                }
            ),
            "{e}"
        );
        let text = e.to_string();
        assert!(text.contains("restore it from the backup"), "{text}");
        assert!(text.contains(SECRET_FILE), "{text}");
        assert_eq!(std::fs::read(&path).unwrap(), [1u8; 10]);

        std::fs::remove_file(&path).unwrap();
        let e = InstanceSecret::load_or_create(dir.path(), 2).unwrap_err();
        assert!(matches!(e, SecretError::Missing { sources: 2, .. }), "{e}");
        assert!(!path.exists());
    }

    #[test]
    fn a_stray_temporary_from_an_interrupted_creation_does_not_block_start_and_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        // A crash after the temporary was written, before it was linked into place.
        let stray = dir.path().join(format!("{TEMP_PREFIX}Ab12Cd{TEMP_SUFFIX}"));
        std::fs::write(&stray, [9u8; 32]).unwrap();
        let other = dir.path().join("db");
        std::fs::create_dir(&other).unwrap();
        let s = InstanceSecret::load_or_create(dir.path(), 0).unwrap();
        assert_ne!(
            s.expose(),
            &[9u8; 32],
            "a temporary is never taken as the secret"
        );
        assert!(!stray.exists());
        assert_eq!(names(dir.path()), ["db", SECRET_FILE]);
    }

    #[test]
    fn a_link_in_place_of_the_secret_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, [5u8; 32]).unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join(SECRET_FILE)).unwrap();
        let e = InstanceSecret::load_or_create(dir.path(), 0).unwrap_err();
        assert!(matches!(e, SecretError::NotAFile { .. }), "{e}");
    }
}
