//! `witness-review keygen`: a new age X25519 identity for a reviewer.
//!
//! The file has age-keygen's layout (`# created:`, `# public key:`, the `AGE-SECRET-KEY-…`
//! line). Unless the reviewer opts out, the whole text is age-encrypted with a passphrase
//! (scrypt) and ASCII-armored, which is the passphrase-protected identity format that the
//! reference `age -d -i FILE` accepts.
//!
//! Invariant: the file is created with mode 0600 in the same call that creates it (never
//! chmod-ed afterwards), an existing file is never overwritten, and a file left half-written
//! by an error is removed. The secret key exists in memory only inside zeroizing buffers.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use age::secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::util::files::create_new_private_file;

/// Why a new identity could not be written.
#[derive(Debug, thiserror::Error)]
pub enum KeygenError {
    /// Something already exists at the output path.
    #[error("{path} already exists: not overwriting it (it may be a reviewer key); choose another --out file")]
    Exists {
        /// The path.
        path: String,
    },
    /// The output file could not be created.
    #[error("cannot create {path}: {cause}")]
    Create {
        /// The path.
        path: String,
        /// The cause.
        cause: io::Error,
    },
    /// Writing or encrypting the file failed; the partial file was removed.
    #[error("writing {path} failed ({cause}); the partial file was removed: check free space and try again")]
    Write {
        /// The path.
        path: String,
        /// The cause.
        cause: io::Error,
    },
}

/// What `keygen` produced.
#[derive(Debug, Clone)]
pub struct NewIdentity {
    /// The public key (`age1…`), for the server's `keys/recipients.txt`.
    pub recipient: String,
    /// Where the identity was written.
    pub path: PathBuf,
    /// True if the file is passphrase-protected.
    pub protected: bool,
}

/// The identity file's text, as age-keygen writes it. `created` is an RFC 3339 time.
pub fn identity_file_text(identity: &age::x25519::Identity, created: &str) -> Zeroizing<String> {
    let secret = identity.to_string();
    Zeroizing::new(format!(
        "# created: {created}\n# public key: {}\n{}\n",
        identity.to_public(),
        secret.expose_secret()
    ))
}

/// Generates a new identity and writes it to `out`, encrypted with `passphrase` if given.
pub fn keygen(out: &Path, passphrase: Option<SecretString>) -> Result<NewIdentity, KeygenError> {
    let identity = age::x25519::Identity::generate();
    let text = identity_file_text(&identity, &crate::day::exact_utc_now());
    let shown = out.display().to_string();

    let file = create_new_private_file(out).map_err(|cause| {
        if cause.kind() == io::ErrorKind::AlreadyExists {
            KeygenError::Exists {
                path: shown.clone(),
            }
        } else {
            KeygenError::Create {
                path: shown.clone(),
                cause,
            }
        }
    })?;

    let protected = passphrase.is_some();
    let written = match passphrase {
        Some(p) => write_protected(file, text.as_bytes(), p),
        None => write_plain(file, text.as_bytes()),
    };
    if let Err(cause) = written {
        // We created this file a moment ago, so removing it cannot destroy anything else.
        let _ = std::fs::remove_file(out);
        return Err(KeygenError::Write { path: shown, cause });
    }
    Ok(NewIdentity {
        recipient: identity.to_public().to_string(),
        path: out.to_path_buf(),
        protected,
    })
}

fn write_plain(mut file: std::fs::File, text: &[u8]) -> io::Result<()> {
    file.write_all(text)?;
    file.sync_all()
}

fn write_protected(file: std::fs::File, text: &[u8], passphrase: SecretString) -> io::Result<()> {
    let armored = age::armor::ArmoredWriter::wrap_output(file, age::armor::Format::AsciiArmor)?;
    let mut writer = age::Encryptor::with_user_passphrase(passphrase).wrap_output(armored)?;
    writer.write_all(text)?;
    // Both finish() calls are required: the first writes age's last chunk, the second the
    // armor's end line.
    let file = writer.finish()?.finish()?;
    file.sync_all()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_plain_identity_with_mode_0600_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.txt");
        let made = keygen(&path, None).unwrap();
        assert!(made.recipient.starts_with("age1"));
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("# created: 20"));
        assert_eq!(lines[1], format!("# public key: {}", made.recipient));
        assert!(lines[2].starts_with("AGE-SECRET-KEY-"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        match keygen(&path, None) {
            Err(KeygenError::Exists { .. }) => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }

    #[cfg(unix)]
    #[test]
    fn does_not_write_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(keygen(&link, None).is_err());
        assert!(!target.exists());
    }
}
