//! `witness-review reply`: encrypts a reviewer's reply to the source of a decrypted submission
//! and writes it as one reply file ([`crate::reply`]) for the server's `import-replies`
//! (spec, "Replies"; issue 4, item 6).
//!
//! The recipients are the source's reply recipient (from `submission.json`, written by
//! `witness-review decrypt`), the reviewer keys the case folder trusts ([`super::trust`], set
//! from the reviewers' own key ceremony) and the replying reviewer's own public key, so that
//! every reviewer can read the thread later. A reviewer key the envelope lists that the case
//! folder does not trust is shown and not used: the envelope was written by the server, and a
//! server that added its own key there must not read the replies.
//!
//! Invariant: the reply text only ever leaves memory as age ciphertext, in a freshly created
//! file (`O_EXCL`, mode 0600) inside the output folder whose name is built only from two
//! validated ids; nothing is ever overwritten. The text is held in buffers that are wiped when
//! dropped, and no error message contains it. Everything read from `submission.json` is
//! validated before use (reference with [`is_valid_id`], every recipient parsed as an age
//! X25519 recipient) and shown escaped.
//!
//! The reply is kept in the case folder (`OUT_DIR/ID/replies/REPLY_ID.json`, [`keep_reply`])
//! and logged in its custody log.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::case::{KeptReply, REPLIES_DIR};
use super::decrypt::{MAX_ENVELOPE_BYTES, SUBMISSION_JSON};
use super::identity::IdentityError;
use super::shown;
use crate::envelope::SourceInfo;
use crate::export::is_valid_id;
use crate::reply::{
    decrypt_reply, encrypt_reply, reply_file_name, ReplyError, ReplyName, MAX_REPLY_TEXT,
};
use crate::util::files::{
    create_new_private_file, ensure_private_dir, into_utf8, open_regular_file, read_capped, Capped,
};
use crate::util::json::error_summary;

/// Largest `submission.json` read. It is the decrypted envelope (at most
/// [`MAX_ENVELOPE_BYTES`]) pretty-printed, with its escapes, plus the `verified` object, so it
/// may be somewhat larger than the envelope itself.
pub const MAX_SUBMISSION_JSON_BYTES: u64 = 2 * MAX_ENVELOPE_BYTES;

/// Why a reply could not be written. No message contains the reply text.
#[derive(Debug, thiserror::Error)]
pub enum ReplyCommandError {
    /// `submission.json` could not be opened or read.
    #[error("cannot read {path}: {cause}: pass the folder OUT_DIR/ID written by `witness-review decrypt`")]
    ReadSubmission {
        /// The file.
        path: String,
        /// The cause.
        cause: io::Error,
    },
    /// `submission.json` is larger than [`MAX_SUBMISSION_JSON_BYTES`].
    #[error("{path} is larger than {MAX_SUBMISSION_JSON_BYTES} bytes: it is not a submission.json written by `witness-review decrypt`")]
    SubmissionTooLarge {
        /// The file.
        path: String,
    },
    /// `submission.json` does not parse as a decrypted submission.
    #[error("{path} is not a submission.json written by `witness-review decrypt` ({detail}): decrypt the export again")]
    SubmissionInvalid {
        /// The file.
        path: String,
        /// What is wrong (category and position, no content).
        detail: String,
    },
    /// The envelope has no `source`: the submission predates codenames.
    #[error("this submission has no reply channel (sent before codenames existed)")]
    NoReplyChannel,
    /// The source reference is not a valid id.
    #[error("the source reference {reference} in {path} is not 32 lower-case hex digits: the file was altered; decrypt the export again")]
    InvalidReference {
        /// The file.
        path: String,
        /// The reference, escaped.
        reference: String,
    },
    /// A recipient in `submission.json` is not an age X25519 recipient.
    #[error("the {what} {value} in {path} is not an age recipient (age1…): the file was altered; decrypt the export again")]
    InvalidRecipient {
        /// The file.
        path: String,
        /// Which recipient ("source's reply recipient" or "reviewer recipient").
        what: &'static str,
        /// The value, escaped.
        value: String,
    },
    /// The message file could not be read.
    #[error("cannot read the message file {path}: {cause}")]
    ReadMessage {
        /// The file.
        path: String,
        /// The cause.
        cause: io::Error,
    },
    /// The message file is longer than [`MAX_REPLY_TEXT`] bytes.
    #[error("the message in {path} is longer than {MAX_REPLY_TEXT} bytes: shorten it")]
    MessageTooLong {
        /// The file.
        path: String,
    },
    /// The message file is not UTF-8 text.
    #[error("the message in {path} is not UTF-8 text: save it as UTF-8")]
    MessageNotUtf8 {
        /// The file.
        path: String,
    },
    /// The message file is empty or only white space.
    #[error("the message in {path} is empty: write the reply into it first")]
    MessageEmpty {
        /// The file.
        path: String,
    },
    /// The identity file could not be loaded.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The identity file holds no X25519 key, so the reviewer's own recipient is unknown.
    #[error("{path} holds no age X25519 key (AGE-SECRET-KEY-…): pass the file written by `witness-review keygen`")]
    NoX25519Key {
        /// The file.
        path: String,
    },
    /// The operating system gave no random numbers for the reply id.
    #[error("no random numbers from the operating system for the reply id: {0}")]
    Random(getrandom::Error),
    /// A reply file name was asked for with ids that are not valid (a bug in the caller).
    #[error("refusing to write a reply file named with invalid ids {ids}")]
    InvalidReplyName {
        /// The ids, escaped.
        ids: String,
    },
    /// The output folder could not be created or is not a folder.
    #[error("cannot use output folder {path}: {cause}")]
    OutDir {
        /// The folder.
        path: String,
        /// The cause.
        cause: io::Error,
    },
    /// The reply file could not be created or written (an existing file is never replaced).
    #[error("cannot write {path}: {cause}")]
    Write {
        /// The file.
        path: String,
        /// The cause.
        cause: io::Error,
    },
    /// Encrypting the reply failed.
    #[error("cannot encrypt the reply: {0}")]
    Reply(#[from] ReplyError),
}

/// Who a reply goes to, from a decrypted submission.
#[derive(Debug, Clone)]
pub struct ReplyTarget {
    /// The source reference, a valid id.
    pub reference: String,
    /// The source's designation, as the envelope has it: untrusted, escape before showing.
    pub designation: String,
    /// The source's reply recipient.
    pub source: age::x25519::Recipient,
    /// The reviewer recipients the submission was encrypted to, in envelope order.
    pub reviewers: Vec<age::x25519::Recipient>,
}

impl ReplyTarget {
    /// The designation, safe to print: control and bidirectional characters spelled out,
    /// shortened.
    pub fn shown_designation(&self) -> String {
        shown(&self.designation)
    }
}

/// The fields of `submission.json` a reply needs; the rest is ignored.
#[derive(Deserialize)]
struct SubmissionFields {
    source: Option<SourceInfo>,
    #[serde(default)]
    reviewers: Vec<String>,
}

/// Reads `submission.json` from a decrypted submission folder (`OUT_DIR/ID`, or the file
/// itself) and validates the reply channel in it.
pub fn load_reply_target(submission: &Path) -> Result<ReplyTarget, ReplyCommandError> {
    let path = if submission.is_dir() {
        submission.join(SUBMISSION_JSON)
    } else {
        submission.to_path_buf()
    };
    let shown_path = path.display().to_string();
    let read_err = |cause| ReplyCommandError::ReadSubmission {
        path: shown_path.clone(),
        cause,
    };
    let (file, _) = open_regular_file(&path).map_err(read_err)?;
    // It holds the source's testimony: wiped when dropped.
    let Capped::Whole(data) = read_capped(file, MAX_SUBMISSION_JSON_BYTES).map_err(read_err)?
    else {
        return Err(ReplyCommandError::SubmissionTooLarge { path: shown_path });
    };
    let fields: SubmissionFields = serde_json::from_slice(&data).map_err(|e| {
        // Category and position only: the file holds testimony.
        ReplyCommandError::SubmissionInvalid {
            path: shown_path.clone(),
            detail: error_summary(&e),
        }
    })?;
    let source = fields.source.ok_or(ReplyCommandError::NoReplyChannel)?;
    if !is_valid_id(&source.reference) {
        return Err(ReplyCommandError::InvalidReference {
            path: shown_path,
            reference: shown(&source.reference),
        });
    }
    let parse = |value: &str, what: &'static str| {
        value
            .parse::<age::x25519::Recipient>()
            .map_err(|_| ReplyCommandError::InvalidRecipient {
                path: shown_path.clone(),
                what,
                value: shown(value),
            })
    };
    let source_recipient = parse(&source.reply_recipient, "source's reply recipient")?;
    let reviewers = fields
        .reviewers
        .iter()
        .map(|r| parse(r, "reviewer recipient"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ReplyTarget {
        reference: source.reference,
        designation: source.designation,
        source: source_recipient,
        reviewers,
    })
}

/// Reads the reply text: at most [`MAX_REPLY_TEXT`] bytes of UTF-8, not only white space.
pub fn read_reply_text(path: &Path) -> Result<Zeroizing<String>, ReplyCommandError> {
    let shown_path = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|cause| ReplyCommandError::ReadMessage {
        path: shown_path.clone(),
        cause,
    })?;
    let read = read_capped(file, MAX_REPLY_TEXT as u64).map_err(|cause| {
        ReplyCommandError::ReadMessage {
            path: shown_path.clone(),
            cause,
        }
    })?;
    let Capped::Whole(data) = read else {
        return Err(ReplyCommandError::MessageTooLong { path: shown_path });
    };
    let Some(text) = into_utf8(data) else {
        return Err(ReplyCommandError::MessageNotUtf8 { path: shown_path });
    };
    if text.trim().is_empty() {
        return Err(ReplyCommandError::MessageEmpty { path: shown_path });
    }
    Ok(text)
}

/// The replying reviewer's X25519 keys, from their identity file.
pub struct OwnKeys {
    keys: Vec<age::x25519::Identity>,
}

impl std::fmt::Debug for OwnKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnKeys")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl OwnKeys {
    /// The public keys, in file order.
    pub fn recipients(&self) -> Vec<age::x25519::Recipient> {
        self.keys.iter().map(|k| k.to_public()).collect()
    }
}

/// Loads the reviewer's identity file exactly as `witness-review decrypt` does (plain, or
/// passphrase-protected, armored or binary; `ask_passphrase` is called at most once), and keeps
/// its X25519 keys, whose public halves are added to a reply's recipients.
pub fn load_own_keys(
    path: &Path,
    ask_passphrase: impl FnOnce() -> Result<SecretString, IdentityError>,
) -> Result<OwnKeys, ReplyCommandError> {
    let identity = super::identity::load_identity(path, ask_passphrase)?;
    let keys = identity.x25519_keys().to_vec();
    if keys.is_empty() {
        return Err(ReplyCommandError::NoX25519Key {
            path: path.display().to_string(),
        });
    }
    Ok(OwnKeys { keys })
}

/// The recipients of a reply: the source first, then the trusted reviewer keys, then the
/// replying reviewer's own keys; each once. Also returns the envelope's reviewer keys that are
/// not among them: shown to the reviewer, never used.
pub fn reply_recipients(
    target: &ReplyTarget,
    own: &OwnKeys,
    trusted: &[age::x25519::Recipient],
) -> (Vec<age::x25519::Recipient>, Vec<String>) {
    let mut out: Vec<age::x25519::Recipient> = Vec::new();
    let all = std::iter::once(target.source.clone())
        .chain(trusted.iter().cloned())
        .chain(own.recipients());
    for r in all {
        let key = r.to_string();
        if !out.iter().any(|o| o.to_string() == key) {
            out.push(r);
        }
    }
    let mut untrusted: Vec<String> = Vec::new();
    for r in &target.reviewers {
        let key = r.to_string();
        if !out.iter().any(|o| o.to_string() == key) && !untrusted.contains(&key) {
            untrusted.push(key);
        }
    }
    (out, untrusted)
}

/// A reply file that was written.
#[derive(Debug, Clone)]
pub struct WrittenReply {
    /// The file's path, inside the output folder.
    pub path: PathBuf,
    /// The file name, `reply-{reference}-{reply_id}.age`.
    pub file_name: String,
    /// The reply's id.
    pub reply_id: String,
    /// Recipients it is encrypted to, the source included.
    pub recipients: Vec<age::x25519::Recipient>,
    /// Reviewer keys the envelope lists that the case folder does not trust: not used.
    pub untrusted: Vec<String>,
}

/// Encrypts `text` to [`reply_recipients`] and writes it as a new reply file into `out_dir`
/// (created, mode 0700, if missing). Before writing, the ciphertext is opened again with the
/// reviewer's own key, so a file that is written can be read.
pub fn write_reply(
    target: &ReplyTarget,
    text: &str,
    own: &OwnKeys,
    trusted: &[age::x25519::Recipient],
    out_dir: &Path,
) -> Result<WrittenReply, ReplyCommandError> {
    let (recipients, untrusted) = reply_recipients(target, own, trusted);
    let ciphertext = encrypt_reply(text, &recipients)?;
    if let Some(key) = own.keys.first() {
        let again = decrypt_reply(&ciphertext, key)?;
        if again.as_str() != text {
            return Err(ReplyError::Corrupt.into());
        }
    }
    let name = ReplyName {
        reference: target.reference.clone(),
        reply_id: crate::export::new_id().map_err(ReplyCommandError::Random)?,
    };
    let path = write_reply_file(out_dir, &name, &ciphertext)?;
    Ok(WrittenReply {
        path,
        file_name: reply_file_name(&name.reference, &name.reply_id),
        reply_id: name.reply_id,
        recipients,
        untrusted,
    })
}

/// Keeps a written reply in the case folder, `SUBMISSION/replies/REPLY_ID.json` (a new file,
/// mode 0600), and returns what was kept and its path relative to the case folder.
pub fn keep_reply(
    submission_dir: &Path,
    target: &ReplyTarget,
    written: &WrittenReply,
    text: &str,
) -> Result<(KeptReply, String), ReplyCommandError> {
    let kept = KeptReply {
        id: written.reply_id.clone(),
        reference: target.reference.clone(),
        day: local_day(),
        text: text.to_owned(),
        text_sha256: super::custody::sha256_hex(text.as_bytes()),
        recipients: written.recipients.iter().map(ToString::to_string).collect(),
        file: written.file_name.clone(),
    };
    let dir = submission_dir.join(REPLIES_DIR);
    let write_err = |path: &Path, cause| ReplyCommandError::Write {
        path: path.display().to_string(),
        cause,
    };
    ensure_private_dir(&dir).map_err(|e| write_err(&dir, e))?;
    if !is_valid_id(&kept.id) {
        return Err(ReplyCommandError::InvalidReplyName {
            ids: shown(&kept.id),
        });
    }
    let name = format!("{}.json", kept.id);
    let path = dir.join(&name);
    let mut json = serde_json::to_vec_pretty(&kept)
        .map_err(|e| write_err(&path, io::Error::new(io::ErrorKind::InvalidData, e)))?;
    json.push(b'\n');
    let mut file = create_new_private_file(&path).map_err(|e| write_err(&path, e))?;
    file.write_all(&json)
        .and_then(|()| file.sync_all())
        .map_err(|e| write_err(&path, e))?;
    crate::util::files::sync_dir(&dir).map_err(|e| write_err(&dir, e))?;
    let submission = submission_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((kept, format!("{submission}/{REPLIES_DIR}/{name}")))
}

/// Today, local time, `YYYY-MM-DD`.
fn local_day() -> String {
    jiff::Zoned::now().strftime("%Y-%m-%d").to_string()
}

/// Writes `ciphertext` as `out_dir/reply-{reference}-{reply_id}.age`, creating `out_dir`
/// (mode 0700) if missing. The file is created with `O_EXCL` and mode 0600: if anything
/// already exists under that name (a file, a folder, a symbolic link), nothing is written and
/// it is left as it was. Refuses ids that are not valid, so the name is one path component.
pub fn write_reply_file(
    out_dir: &Path,
    name: &ReplyName,
    ciphertext: &[u8],
) -> Result<PathBuf, ReplyCommandError> {
    let out_err = |cause| ReplyCommandError::OutDir {
        path: out_dir.display().to_string(),
        cause,
    };
    if !is_valid_id(&name.reference) || !is_valid_id(&name.reply_id) {
        return Err(ReplyCommandError::InvalidReplyName {
            ids: shown(&format!("{}-{}", name.reference, name.reply_id)),
        });
    }
    ensure_private_dir(out_dir).map_err(out_err)?;
    let path = out_dir.join(reply_file_name(&name.reference, &name.reply_id));
    let write_err = |cause| ReplyCommandError::Write {
        path: path.display().to_string(),
        cause,
    };
    let mut file = create_new_private_file(&path).map_err(write_err)?;
    if let Err(cause) = file.write_all(ciphertext).and_then(|()| file.sync_all()) {
        // This call created the file, so removing it removes only a partial reply.
        drop(file);
        let _ = std::fs::remove_file(&path);
        return Err(write_err(cause));
    }
    Ok(path)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::reply::parse_reply_file_name;
    use age::secrecy::ExposeSecret;

    fn own_keys() -> (age::x25519::Identity, OwnKeys) {
        let k = age::x25519::Identity::generate();
        let text = format!("# c\n{}\n", k.to_string().expose_secret());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.txt");
        std::fs::write(&p, text).unwrap();
        let own = load_own_keys(&p, || panic!("no passphrase for a plain file")).unwrap();
        (k, own)
    }

    #[test]
    fn recipients_are_the_source_then_trusted_keys_and_an_untrusted_envelope_key_is_not_used() {
        let source = age::x25519::Identity::generate().to_public();
        let (me, own) = own_keys();
        let other = age::x25519::Identity::generate().to_public();
        let target = ReplyTarget {
            reference: crate::export::new_id().unwrap(),
            designation: "amber heron".to_owned(),
            source: source.clone(),
            reviewers: vec![other.clone(), me.to_public(), other.clone()],
        };
        let trusted = age::x25519::Identity::generate().to_public();
        let (used, untrusted) = reply_recipients(&target, &own, &[trusted.clone(), me.to_public()]);
        let used: Vec<String> = used.iter().map(ToString::to_string).collect();
        assert_eq!(
            used,
            [
                source.to_string(),
                trusted.to_string(),
                me.to_public().to_string()
            ]
        );
        assert_eq!(untrusted, [other.to_string()], "shown once, never used");
    }

    #[test]
    fn write_reply_file_never_overwrites_and_refuses_bad_ids() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a/b");
        let name = ReplyName {
            reference: crate::export::new_id().unwrap(),
            reply_id: crate::export::new_id().unwrap(),
        };
        let p = write_reply_file(&out, &name, b"first").unwrap();
        assert_eq!(
            parse_reply_file_name(p.file_name().unwrap().to_str().unwrap()),
            Some(name.clone())
        );
        assert!(write_reply_file(&out, &name, b"second").is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"first");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let bad = ReplyName {
            reference: "../x".to_owned(),
            reply_id: name.reply_id.clone(),
        };
        assert!(write_reply_file(&out, &bad, b"x").is_err());
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
    }
}
