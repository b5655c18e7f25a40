//! Loading the reviewer's identity file and asking for passphrases.
//!
//! An identity file is either plain (age-keygen's format: `#` comments and
//! `AGE-SECRET-KEY-…` lines) or that same text age-encrypted with a passphrase (armored or
//! binary), which is what `witness-review keygen` writes and what the reference `age -d -i`
//! accepts.
//!
//! Invariant: secret material only lives in [`SecretString`] or [`Zeroizing`] buffers, which
//! are wiped when dropped; no error message or `Debug` output contains a passphrase or a key
//! (errors name the file and, at most, a line number).

use std::fmt;
use std::io::{self, Read};
use std::path::Path;

use age::secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::PASSPHRASE_ENV;
use crate::util::files::{read_capped, Capped};

/// Identity files are a few hundred bytes; anything much larger is not one.
const MAX_IDENTITY_FILE_BYTES: u64 = 1 << 20;

/// Highest scrypt work factor (log2 N) accepted for a passphrase-protected identity: the
/// reference `age` accepts up to 22 as well. Higher could take minutes and gigabytes of memory.
pub const MAX_SCRYPT_WORK_FACTOR: u8 = 22;

/// How an age file starts, binary or armored.
const AGE_BINARY_MAGIC: &[u8] = b"age-encryption.org/";
const AGE_ARMOR_BEGIN: &[u8] = b"-----BEGIN AGE ENCRYPTED FILE-----";

/// Why an identity could not be loaded or a passphrase obtained.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The identity file could not be read.
    #[error("cannot read identity file {path}: {cause}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        cause: io::Error,
    },
    /// The file is far larger than any identity file.
    #[error("{path} is too large to be an identity file: pass the file written by `witness-review keygen`")]
    TooLarge {
        /// The file.
        path: String,
    },
    /// A line is neither a comment nor an age secret key (the line itself is not shown).
    #[error("{path} is not an age identity file ({detail}): pass the file written by `witness-review keygen`")]
    NotAnIdentityFile {
        /// The file.
        path: String,
        /// Where parsing stopped, without the content.
        detail: String,
    },
    /// The file parses but holds no secret key.
    #[error("{path} holds no age secret key (AGE-SECRET-KEY-…): pass the file written by `witness-review keygen`, not the recipients file")]
    NoIdentity {
        /// The file.
        path: String,
    },
    /// The file is age-encrypted, but to a key rather than to a passphrase.
    #[error("{path} is age-encrypted to a key, not to a passphrase: decrypt it first or pass the file written by `witness-review keygen`")]
    EncryptedToKey {
        /// The file.
        path: String,
    },
    /// The passphrase does not open the identity file.
    #[error("wrong passphrase for {path} (or the file is damaged): try again, checking the keyboard layout")]
    WrongPassphrase {
        /// The file.
        path: String,
    },
    /// The passphrase-protected file demands more scrypt work than is safe to attempt.
    #[error("{path} asks for an scrypt work factor above {MAX_SCRYPT_WORK_FACTOR}: it was not made by `witness-review keygen` or `age -p`; refusing to spend that much memory")]
    ExcessiveWork {
        /// The file.
        path: String,
    },
    /// The file starts like an age file but is not a valid one.
    #[error("{path} looks like an encrypted age file but is damaged: restore it from your backup")]
    Damaged {
        /// The file.
        path: String,
    },
    /// An empty passphrase was given.
    #[error("the passphrase is empty: choose a real passphrase (or use --no-passphrase for a throw-away key)")]
    EmptyPassphrase,
    /// The two passphrases typed for a new key differ.
    #[error(
        "the two passphrases differ: run the command again and type the same passphrase twice"
    )]
    PassphraseMismatch,
    /// No terminal to ask on, and no passphrase in the environment.
    #[error("cannot ask for a passphrase ({cause}): run in a terminal, or set {PASSPHRASE_ENV} for scripts")]
    NoTerminal {
        /// The cause.
        cause: io::Error,
    },
    /// The environment variable is not valid Unicode.
    #[error("{PASSPHRASE_ENV} is not valid UTF-8: set it to the passphrase as text")]
    EnvNotUnicode,
}

/// The reviewer's decryption keys, loaded from an identity file.
pub struct ReviewerIdentity {
    identities: Vec<Box<dyn age::Identity + Send + Sync>>,
    /// The file's X25519 keys again, as concrete keys: their public halves are needed to
    /// encrypt replies to the reviewer too.
    x25519: Vec<age::x25519::Identity>,
}

impl fmt::Debug for ReviewerIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReviewerIdentity")
            .field("keys", &self.identities.len())
            .finish_non_exhaustive()
    }
}

impl ReviewerIdentity {
    /// The keys, in the form age's decryptor takes.
    pub fn age_identities(&self) -> impl Iterator<Item = &dyn age::Identity> {
        self.identities
            .iter()
            .map(|i| i.as_ref() as &dyn age::Identity)
    }

    /// The file's X25519 keys (the kind `witness-review keygen` makes).
    pub fn x25519_keys(&self) -> &[age::x25519::Identity] {
        &self.x25519
    }

    /// Number of keys in the file.
    pub fn len(&self) -> usize {
        self.identities.len()
    }

    /// True if the file held no key (never true for a loaded identity).
    pub fn is_empty(&self) -> bool {
        self.identities.is_empty()
    }
}

/// Reads an identity file. If it is passphrase-protected, `ask_passphrase` is called once;
/// it is never called for a plain file.
pub fn load_identity(
    path: &Path,
    ask_passphrase: impl FnOnce() -> Result<SecretString, IdentityError>,
) -> Result<ReviewerIdentity, IdentityError> {
    let shown = path.display().to_string();
    let read_err = |cause| IdentityError::Read {
        path: shown.clone(),
        cause,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let Capped::Whole(data) = read_capped(file, MAX_IDENTITY_FILE_BYTES).map_err(read_err)? else {
        return Err(IdentityError::TooLarge { path: shown });
    };
    parse_identity(&data, &shown, ask_passphrase)
}

/// Parses the bytes of an identity file (see [`load_identity`]); `path` only names it in
/// errors.
pub fn parse_identity(
    data: &[u8],
    path: &str,
    ask_passphrase: impl FnOnce() -> Result<SecretString, IdentityError>,
) -> Result<ReviewerIdentity, IdentityError> {
    if is_age_ciphertext(data) {
        let plain = decrypt_with_passphrase(data, path, ask_passphrase)?;
        parse_plain(&plain, path)
    } else {
        parse_plain(data, path)
    }
}

/// True if `data` starts (after leading whitespace) like an age file, binary or armored.
fn is_age_ciphertext(data: &[u8]) -> bool {
    let start = data
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(data.len());
    let data = &data[start..];
    data.starts_with(AGE_BINARY_MAGIC) || data.starts_with(AGE_ARMOR_BEGIN)
}

fn decrypt_with_passphrase(
    data: &[u8],
    path: &str,
    ask_passphrase: impl FnOnce() -> Result<SecretString, IdentityError>,
) -> Result<Zeroizing<Vec<u8>>, IdentityError> {
    let damaged = || IdentityError::Damaged {
        path: path.to_owned(),
    };
    let decryptor =
        age::Decryptor::new(age::armor::ArmoredReader::new(data)).map_err(|_| damaged())?;
    if !decryptor.is_scrypt() {
        return Err(IdentityError::EncryptedToKey {
            path: path.to_owned(),
        });
    }
    let passphrase = ask_passphrase()?;
    let mut identity = age::scrypt::Identity::new(passphrase);
    identity.set_max_work_factor(MAX_SCRYPT_WORK_FACTOR);
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::DecryptionFailed | age::DecryptError::KeyDecryptionFailed => {
                IdentityError::WrongPassphrase {
                    path: path.to_owned(),
                }
            }
            age::DecryptError::ExcessiveWork { .. } => IdentityError::ExcessiveWork {
                path: path.to_owned(),
            },
            _ => damaged(),
        })?;
    let mut plain = Zeroizing::new(Vec::new());
    (&mut reader)
        .take(MAX_IDENTITY_FILE_BYTES)
        .read_to_end(&mut plain)
        .map_err(|_| damaged())?;
    Ok(plain)
}

fn parse_plain(data: &[u8], path: &str) -> Result<ReviewerIdentity, IdentityError> {
    let file = age::IdentityFile::from_buffer(data).map_err(|e| {
        // age's message names the line number only, never its content.
        IdentityError::NotAnIdentityFile {
            path: path.to_owned(),
            detail: e.to_string(),
        }
    })?;
    let identities = file
        .into_identities()
        .map_err(|_| IdentityError::NoIdentity {
            path: path.to_owned(),
        })?;
    if identities.is_empty() {
        return Err(IdentityError::NoIdentity {
            path: path.to_owned(),
        });
    }
    // age accepted the file, so it is UTF-8; its X25519 lines parse again here.
    let x25519 = std::str::from_utf8(data)
        .map(|text| {
            text.lines()
                .map(str::trim)
                .filter(|l| l.starts_with("AGE-SECRET-KEY-"))
                .filter_map(|l| l.parse::<age::x25519::Identity>().ok())
                .collect()
        })
        .unwrap_or_default();
    Ok(ReviewerIdentity { identities, x25519 })
}

/// The passphrase from [`PASSPHRASE_ENV`] if set, else `None`. An empty value is refused.
pub fn passphrase_from_env() -> Result<Option<SecretString>, IdentityError> {
    match std::env::var(PASSPHRASE_ENV) {
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(IdentityError::EnvNotUnicode),
        // Moved, not copied, into the secret.
        Ok(value) => non_empty(SecretString::from(value)).map(Some),
    }
}

/// The passphrase of an existing identity file: from [`PASSPHRASE_ENV`], or asked once on the
/// terminal.
pub fn passphrase_for(path: &Path) -> Result<SecretString, IdentityError> {
    if let Some(p) = passphrase_from_env()? {
        return Ok(p);
    }
    prompt(&format!("Passphrase for {}: ", path.display()))
}

/// A passphrase for a new identity file: from [`PASSPHRASE_ENV`], or asked twice on the
/// terminal (refused if the two differ).
pub fn new_passphrase() -> Result<SecretString, IdentityError> {
    if let Some(p) = passphrase_from_env()? {
        return Ok(p);
    }
    let first = prompt("Passphrase to protect the new identity: ")?;
    let second = prompt("Type it again: ")?;
    if first.expose_secret() != second.expose_secret() {
        return Err(IdentityError::PassphraseMismatch);
    }
    Ok(first)
}

fn prompt(text: &str) -> Result<SecretString, IdentityError> {
    let typed =
        rpassword::prompt_password(text).map_err(|cause| IdentityError::NoTerminal { cause })?;
    non_empty(SecretString::from(typed))
}

fn non_empty(p: SecretString) -> Result<SecretString, IdentityError> {
    if p.expose_secret().is_empty() {
        Err(IdentityError::EmptyPassphrase)
    } else {
        Ok(p)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::io::Write;

    fn plain_identity() -> (age::x25519::Identity, String) {
        let id = age::x25519::Identity::generate();
        let text = format!(
            "# created: 2026-01-01T00:00:00Z\n# public key: {}\n{}\n",
            id.to_public(),
            id.to_string().expose_secret()
        );
        (id, text)
    }

    /// Passphrase-encrypts `text` with a low work factor so the test stays fast.
    fn protect(text: &str, pass: &str, armor: bool) -> Vec<u8> {
        let mut r = age::scrypt::Recipient::new(SecretString::from(pass.to_owned()));
        r.set_work_factor(10);
        let enc =
            age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient)).unwrap();
        let format = if armor {
            age::armor::Format::AsciiArmor
        } else {
            age::armor::Format::Binary
        };
        let out = age::armor::ArmoredWriter::wrap_output(Vec::new(), format).unwrap();
        let mut w = enc.wrap_output(out).unwrap();
        w.write_all(text.as_bytes()).unwrap();
        w.finish().unwrap().finish().unwrap()
    }

    fn decrypts_for(loaded: &ReviewerIdentity, id: &age::x25519::Identity) {
        let recipient = id.to_public();
        let enc =
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                .unwrap();
        let mut ct = Vec::new();
        let mut w = enc.wrap_output(&mut ct).unwrap();
        w.write_all(b"hello").unwrap();
        w.finish().unwrap();
        let d = age::Decryptor::new(&ct[..]).unwrap();
        let mut out = Vec::new();
        d.decrypt(loaded.age_identities())
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"hello");
    }

    fn never() -> Result<SecretString, IdentityError> {
        panic!("a plain identity file must not ask for a passphrase")
    }

    #[test]
    fn plain_file_loads_without_asking() {
        let (id, text) = plain_identity();
        let loaded = parse_identity(text.as_bytes(), "k.txt", never).unwrap();
        assert_eq!(loaded.len(), 1);
        decrypts_for(&loaded, &id);
    }

    #[test]
    fn protected_file_loads_with_the_right_passphrase_only() {
        let (id, text) = plain_identity();
        for armor in [true, false] {
            let data = protect(&text, "correct horse", armor);
            let ok = parse_identity(&data, "k.age", || {
                Ok(SecretString::from("correct horse".to_owned()))
            })
            .unwrap();
            decrypts_for(&ok, &id);
            let wrong = parse_identity(&data, "k.age", || {
                Ok(SecretString::from("wrong".to_owned()))
            });
            match wrong {
                Err(e @ IdentityError::WrongPassphrase { .. }) => {
                    assert!(e.to_string().contains("k.age"));
                    assert!(!e.to_string().contains("wrong\""));
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn refuses_what_is_not_an_identity() {
        let (_, text) = plain_identity();
        let secret_line = text.lines().nth(2).unwrap().to_owned();
        let bad = format!("{text}not a key {secret_line}\n");
        match parse_identity(bad.as_bytes(), "k.txt", never) {
            Err(e @ IdentityError::NotAnIdentityFile { .. }) => {
                assert!(!e.to_string().contains("AGE-SECRET-KEY"), "{e}")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_identity(b"# only comments\n", "r.txt", never),
            Err(IdentityError::NoIdentity { .. })
        ));
        assert!(matches!(
            parse_identity(b"age-encryption.org/v1\ngarbage", "x", never),
            Err(IdentityError::Damaged { .. })
        ));
    }

    #[test]
    fn refuses_a_file_encrypted_to_a_key() {
        let other = age::x25519::Identity::generate().to_public();
        let enc = age::Encryptor::with_recipients(std::iter::once(&other as &dyn age::Recipient))
            .unwrap();
        let mut ct = Vec::new();
        let mut w = enc.wrap_output(&mut ct).unwrap();
        w.write_all(concat!("AGE-SECRET-KEY-", "1").as_bytes())
            .unwrap();
        w.finish().unwrap();
        assert!(matches!(
            parse_identity(&ct, "x", never),
            Err(IdentityError::EncryptedToKey { .. })
        ));
    }

    #[test]
    fn debug_does_not_print_keys() {
        let (_, text) = plain_identity();
        let loaded = parse_identity(text.as_bytes(), "k", never).unwrap();
        let dbg = format!("{loaded:?}");
        assert!(!dbg.contains("AGE-SECRET"), "{dbg}");
    }
}
