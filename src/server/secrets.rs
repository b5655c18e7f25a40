//! The per-instance secret (`DATA/instance.secret`) and the keys derived from it.
//!
//! Invariant: the secret is 32 bytes from the OS generator, created once with mode 0600 (at
//! creation, never chmod after) and never logged or sent. It decrypts nothing: it keys form
//! tokens, and (with a source's codename) the Argon2id derivations of returning sources, so a
//! copy of the database alone does not allow guessing codenames offline.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::util::files::{create_new_private_file, sync_dir};

/// File name inside the data folder.
pub const SECRET_FILE: &str = "instance.secret";

/// Why the instance secret could not be read or made.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The OS random generator failed.
    #[error("the operating system's random generator failed: {0}")]
    Random(getrandom::Error),
    /// The file could not be created, written or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The secret's path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The file is not 32 bytes long.
    #[error("{} is not a 32-byte instance secret", path.display())]
    WrongSize {
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

impl InstanceSecret {
    /// Reads `DATA/instance.secret`, creating it at first start.
    pub fn load_or_create(data_dir: &Path) -> Result<InstanceSecret, SecretError> {
        let path = data_dir.join(SECRET_FILE);
        let io_err = |source| SecretError::Io {
            path: path.clone(),
            source,
        };
        match create_new_private_file(&path) {
            Ok(mut f) => {
                let mut key = Zeroizing::new([0u8; 32]);
                getrandom::fill(&mut key[..]).map_err(SecretError::Random)?;
                f.write_all(&key[..])
                    .and_then(|()| f.sync_all())
                    .map_err(io_err)?;
                sync_dir(data_dir).map_err(|source| SecretError::Io {
                    path: data_dir.to_path_buf(),
                    source,
                })?;
                Ok(InstanceSecret(key))
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let mut f = std::fs::File::open(&path).map_err(io_err)?;
                let mut key = Zeroizing::new([0u8; 32]);
                let mut extra = [0u8; 1];
                match f.read_exact(&mut key[..]) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                        return Err(SecretError::WrongSize { path });
                    }
                    Err(e) => return Err(io_err(e)),
                }
                if f.read(&mut extra).map_err(io_err)? != 0 {
                    return Err(SecretError::WrongSize { path });
                }
                Ok(InstanceSecret(key))
            }
            Err(e) => Err(io_err(e)),
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
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let a = InstanceSecret::load_or_create(dir.path()).unwrap();
        let b = InstanceSecret::load_or_create(dir.path()).unwrap();
        assert_eq!(a.expose(), b.expose());
        let mode = std::fs::metadata(dir.path().join(SECRET_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_ne!(a.mac("x", b"1"), a.mac("y", b"1"));
    }
}
