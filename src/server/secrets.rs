//! The per-instance secret (`DATA/instance.secret`) and the keys derived from it.
//!
//! Invariant: the secret is 32 bytes from the OS generator, created once with mode 0600 (at
//! creation, never chmod after) and never logged or sent. It decrypts nothing: it keys form
//! tokens, and (with a source's codename) the Argon2id derivations of returning sources, so a
//! copy of the database alone does not allow guessing codenames offline.

use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// File name inside the data folder.
pub const SECRET_FILE: &str = "instance.secret";

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
    pub fn load_or_create(data_dir: &Path) -> io::Result<InstanceSecret> {
        let path = data_dir.join(SECRET_FILE);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(mut f) => {
                let mut key = Zeroizing::new([0u8; 32]);
                getrandom::fill(&mut key[..]).map_err(|e| io::Error::other(e.to_string()))?;
                f.write_all(&key[..])?;
                f.sync_all()?;
                std::fs::File::open(data_dir)?.sync_all()?;
                Ok(InstanceSecret(key))
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let mut f = std::fs::File::open(&path)?;
                let mut key = Zeroizing::new([0u8; 32]);
                f.read_exact(&mut key[..])?;
                let mut extra = [0u8; 1];
                if f.read(&mut extra)? != 0 {
                    return Err(io::Error::other(format!(
                        "{} is not a 32-byte instance secret",
                        path.display()
                    )));
                }
                Ok(InstanceSecret(key))
            }
            Err(e) => Err(e),
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
