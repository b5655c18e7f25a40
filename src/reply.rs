//! The reply file format, shared by `witness-review reply` (which writes reply files) and the
//! server's `import-replies` (which checks and stores them) (spec, "Replies").
//!
//! A reply file is a plain binary age file, so that the reference `age -d -i KEY FILE` opens
//! it, encrypted to the source's reply recipient and to every reviewer recipient. Its only
//! metadata is its name, `reply-{reference}-{reply_id}.age`, where both parts are 32
//! lower-case hex digits: the source reference from the envelope, and 128 random bits.
//!
//! Invariant: a reply file never contains plaintext, and its name carries only opaque ids
//! (no designation, no time, no reviewer). No error of this module contains reply text.
//! Everything read from a reply file is hostile until checked: sizes are capped before
//! anything is parsed ([`MAX_REPLY_BYTES`], [`MAX_REPLY_TEXT`]), and only names accepted by
//! [`parse_reply_file_name`] may become paths.

use zeroize::Zeroizing;

use crate::export::is_valid_id;
use crate::util::files::{into_utf8, read_capped, Capped};

/// Largest reply file accepted, in bytes of ciphertext.
pub const MAX_REPLY_BYTES: u64 = 256 * 1024;

/// Largest reply text, in bytes of UTF-8.
pub const MAX_REPLY_TEXT: usize = 64 * 1024;

/// Size of age's payload nonce, written right after the header.
const AGE_NONCE_BYTES: usize = 16;
/// Size of the authentication tag that ends every age payload chunk.
const AGE_TAG_BYTES: usize = 16;
/// Size of a full age payload chunk on disk: 64 KiB of data plus its tag.
const AGE_CHUNK_BYTES: usize = 64 * 1024 + AGE_TAG_BYTES;

const NAME_PREFIX: &str = "reply-";
const NAME_SUFFIX: &str = ".age";

/// Why a reply could not be written, checked or read. No message includes reply text.
#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    /// The reply file has no bytes at all.
    #[error("the reply file is empty")]
    Empty,
    /// The reply file is larger than [`MAX_REPLY_BYTES`].
    #[error("the reply file is larger than {MAX_REPLY_BYTES} bytes")]
    TooLarge,
    /// The bytes are not a binary age file (armored, damaged, truncated or another format).
    #[error("the reply file is not a valid binary age file")]
    NotAgeFile,
    /// The age file is encrypted to a passphrase, not to recipients' keys.
    #[error(
        "the reply file is encrypted to a passphrase, not to the source's and reviewers' keys"
    )]
    Passphrase,
    /// The reply text is empty, or only white space.
    #[error("the reply text is empty")]
    TextEmpty,
    /// The reply text is longer than [`MAX_REPLY_TEXT`] bytes.
    #[error("the reply text is longer than {MAX_REPLY_TEXT} bytes")]
    TextTooLong,
    /// There is no recipient to encrypt the reply to.
    #[error("no recipient to encrypt the reply to")]
    NoRecipients,
    /// age could not encrypt (the cause concerns the output, never the text).
    #[error("encrypting the reply failed: {0}")]
    Encrypt(#[source] std::io::Error),
    /// The reply is not encrypted to the identity it was opened with.
    #[error("the reply is not encrypted to this key")]
    NotForThisKey,
    /// age refused the ciphertext: it was altered or truncated. Deliberately not detailed.
    #[error("the reply failed to decrypt: it is damaged or was altered")]
    Corrupt,
    /// The decrypted reply is not UTF-8 text.
    #[error("the decrypted reply is not valid UTF-8 text")]
    NotUtf8,
}

/// The two ids in a reply file's name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ReplyName {
    /// The source reference (32 lower-case hex digits), as in the envelope's `source`.
    pub reference: String,
    /// The reply's own random id (32 lower-case hex digits).
    pub reply_id: String,
}

/// The file name `reply-{reference}-{reply_id}.age`.
///
/// Callers MUST pass ids that pass [`is_valid_id`]: the result is then a single, safe path
/// component that [`parse_reply_file_name`] accepts. Anything else yields a name that
/// [`parse_reply_file_name`] refuses and that must not be used as a path.
pub fn reply_file_name(reference: &str, reply_id: &str) -> String {
    format!("{NAME_PREFIX}{reference}-{reply_id}{NAME_SUFFIX}")
}

/// Parses a reply file name, strictly: exactly `reply-{reference}-{reply_id}.age` with two
/// valid ids ([`is_valid_id`]); nothing before, after or between.
pub fn parse_reply_file_name(name: &str) -> Option<ReplyName> {
    let ids = name.strip_prefix(NAME_PREFIX)?.strip_suffix(NAME_SUFFIX)?;
    let (reference, reply_id) = ids.split_once('-')?;
    if !is_valid_id(reference) || !is_valid_id(reply_id) {
        return None;
    }
    Some(ReplyName {
        reference: reference.to_owned(),
        reply_id: reply_id.to_owned(),
    })
}

/// Checks, without any key, that `bytes` can be a reply file: not empty, at most
/// [`MAX_REPLY_BYTES`], a binary age file whose header parses and has at least one recipient
/// stanza, not passphrase-encrypted, and followed by a payload of a possible length.
///
/// This is a syntactic check only: whether the payload authenticates can only be known by
/// someone holding one of the keys.
pub fn check_reply_ciphertext(bytes: &[u8]) -> Result<(), ReplyError> {
    if bytes.is_empty() {
        return Err(ReplyError::Empty);
    }
    if bytes.len() as u64 > MAX_REPLY_BYTES {
        return Err(ReplyError::TooLarge);
    }
    // age's v1 header parser requires one or more stanzas and the header MAC line; an armored
    // file does not start with the binary magic and is refused here.
    let decryptor = age::Decryptor::new(bytes).map_err(|_| ReplyError::NotAgeFile)?;
    if decryptor.is_scrypt() {
        return Err(ReplyError::Passphrase);
    }
    let header = header_len(bytes).ok_or(ReplyError::NotAgeFile)?;
    let payload = bytes
        .len()
        .checked_sub(header + AGE_NONCE_BYTES)
        .ok_or(ReplyError::NotAgeFile)?;
    // Every chunk ends with a tag, so the last chunk is at least a tag long; an empty
    // plaintext is one chunk that is only a tag.
    let last_chunk = payload % AGE_CHUNK_BYTES;
    if payload < AGE_TAG_BYTES || (last_chunk != 0 && last_chunk < AGE_TAG_BYTES) {
        return Err(ReplyError::NotAgeFile);
    }
    Ok(())
}

/// Length of the age header, up to and including the newline that ends its MAC line
/// (`--- …`). Only called on bytes whose header age has parsed, so the first line that starts
/// with `--- ` is that MAC line (stanza bodies are base64, stanza lines start with `-> `).
fn header_len(bytes: &[u8]) -> Option<usize> {
    let mac = bytes.windows(5).position(|w| w == b"\n--- ")? + 1;
    let end = bytes[mac..].iter().position(|&b| b == b'\n')?;
    Some(mac + end + 1)
}

/// Encrypts `text` to every recipient, as a binary age file ready to be written as a reply
/// file. Refuses a text that is empty (after trimming white space) or longer than
/// [`MAX_REPLY_TEXT`] bytes, and an empty recipient list. The result passes
/// [`check_reply_ciphertext`].
pub fn encrypt_reply(
    text: &str,
    recipients: &[age::x25519::Recipient],
) -> Result<Vec<u8>, ReplyError> {
    if text.len() > MAX_REPLY_TEXT {
        return Err(ReplyError::TextTooLong);
    }
    if text.trim().is_empty() {
        return Err(ReplyError::TextEmpty);
    }
    if recipients.is_empty() {
        return Err(ReplyError::NoRecipients);
    }
    // Padded to its size bucket ([`crate::pad`]), so the stored reply's size says little
    // about its length.
    let all: Vec<&dyn age::Recipient> = recipients
        .iter()
        .map(|r| r as &dyn age::Recipient)
        .collect();
    let out = crate::pad::encrypt_padded(&all, text.as_bytes()).map_err(|e| match e {
        age::EncryptError::Io(io) => ReplyError::Encrypt(io),
        other => ReplyError::Encrypt(std::io::Error::other(other.to_string())),
    })?;
    check_reply_ciphertext(&out)?;
    Ok(out)
}

/// Decrypts a reply file with one identity, in memory. Refuses files that fail
/// [`check_reply_ciphertext`] before trying any key, plaintext longer than
/// [`MAX_REPLY_TEXT`] bytes, and plaintext that is not UTF-8. The text is returned in a buffer
/// that is wiped when dropped; buffers used on the way are wiped too.
pub fn decrypt_reply(
    bytes: &[u8],
    identity: &age::x25519::Identity,
) -> Result<Zeroizing<String>, ReplyError> {
    check_reply_ciphertext(bytes)?;
    let decryptor = age::Decryptor::new_buffered(bytes).map_err(|_| ReplyError::NotAgeFile)?;
    let reader = decryptor
        .decrypt(std::iter::once(identity as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => ReplyError::NotForThisKey,
            _ => ReplyError::Corrupt,
        })?;
    // Reading to the end of the capped reader reaches age's final chunk, so everything
    // returned has been authenticated; a damaged chunk is an error here.
    match read_capped(reader, MAX_REPLY_TEXT as u64).map_err(|_| ReplyError::Corrupt)? {
        Capped::Whole(plain) => into_utf8(plain).ok_or(ReplyError::NotUtf8),
        Capped::TooLarge => Err(ReplyError::TextTooLong),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::io::Write;

    fn id() -> String {
        crate::export::new_id().unwrap()
    }

    fn encrypt_raw(data: &[u8], recipient: &dyn age::Recipient) -> Vec<u8> {
        let enc = age::Encryptor::with_recipients(std::iter::once(recipient)).unwrap();
        let mut out = Vec::new();
        let mut w = enc.wrap_output(&mut out).unwrap();
        w.write_all(data).unwrap();
        w.finish().unwrap();
        out
    }

    #[test]
    fn names_round_trip_and_are_strict() {
        let (reference, reply_id) = (id(), id());
        assert_ne!(reference, reply_id);
        let name = reply_file_name(&reference, &reply_id);
        assert_eq!(name, format!("reply-{reference}-{reply_id}.age"));
        assert_eq!(
            parse_reply_file_name(&name),
            Some(ReplyName {
                reference: reference.clone(),
                reply_id: reply_id.clone()
            })
        );
        let r = &reference;
        let i = &reply_id;
        let upper = i.to_uppercase();
        let bad = [
            String::new(),
            "reply-.age".to_owned(),
            format!("reply-{r}.age"),
            format!("reply-{r}-{i}"),
            format!("reply-{r}-{i}.age.age"),
            format!("reply-{r}-{i}.AGE"),
            format!("Reply-{r}-{i}.age"),
            format!("xreply-{r}-{i}.age"),
            format!("reply-{r}-{i}.age\n"),
            format!(" reply-{r}-{i}.age"),
            format!("reply-{r}--{i}.age"),
            format!("reply-{r}-{upper}.age"),
            format!("reply-{r}-{}.age", &i[..31]),
            format!("reply-{r}-{i}0.age"),
            format!("reply-{r}-{r}-{i}.age"),
            format!("reply-{r}-../{}.age", &i[3..]),
            format!("reply-{r}/{i}.age"),
            format!("reply-{r}-{}g.age", &i[..31]),
        ];
        for name in &bad {
            assert_eq!(parse_reply_file_name(name), None, "{name:?}");
        }
    }

    #[test]
    fn reply_ids_are_random_and_valid() {
        let ids: std::collections::BTreeSet<String> = (0..100).map(|_| id()).collect();
        assert_eq!(ids.len(), 100);
        assert!(ids.iter().all(|i| is_valid_id(i)));
    }

    #[test]
    fn every_recipient_reads_the_reply_and_no_one_else() {
        let source = age::x25519::Identity::generate();
        let reviewer = age::x25519::Identity::generate();
        let stranger = age::x25519::Identity::generate();
        let text = "When did you see the convoy? Reply in your own words.\n— «Ünïcödé» ✓";
        let ct = encrypt_reply(text, &[source.to_public(), reviewer.to_public()]).unwrap();
        check_reply_ciphertext(&ct).unwrap();
        assert!(!ct.windows(12).any(|w| w == &text.as_bytes()[..12]));
        assert!(ct.starts_with(b"age-encryption.org/v1\n"));
        for who in [&source, &reviewer] {
            assert_eq!(decrypt_reply(&ct, who).unwrap().as_str(), text);
        }
        assert!(matches!(
            decrypt_reply(&ct, &stranger),
            Err(ReplyError::NotForThisKey)
        ));
    }

    #[test]
    fn encrypt_refuses_empty_long_text_and_no_recipients() {
        let r = [age::x25519::Identity::generate().to_public()];
        for empty in ["", " ", "\n\t \r\n"] {
            assert!(matches!(
                encrypt_reply(empty, &r),
                Err(ReplyError::TextEmpty)
            ));
        }
        assert!(encrypt_reply(&"a".repeat(MAX_REPLY_TEXT), &r).is_ok());
        let long = "b".repeat(MAX_REPLY_TEXT + 1);
        let err = encrypt_reply(&long, &r).unwrap_err();
        assert!(matches!(err, ReplyError::TextTooLong));
        assert!(!err.to_string().contains("bbbb"));
        assert!(matches!(
            encrypt_reply("hello", &[]),
            Err(ReplyError::NoRecipients)
        ));
    }

    #[test]
    fn check_refuses_what_is_not_a_reply_file() {
        let who = age::x25519::Identity::generate();
        let good = encrypt_reply("a question", &[who.to_public()]).unwrap();
        assert!(matches!(
            check_reply_ciphertext(b""),
            Err(ReplyError::Empty)
        ));
        let huge = vec![b'a'; MAX_REPLY_BYTES as usize + 1];
        assert!(matches!(
            check_reply_ciphertext(&huge),
            Err(ReplyError::TooLarge)
        ));
        for bad in [
            &b"hello"[..],
            b"age-encryption.org/v1\n",
            b"age-encryption.org/v1\n--- AAAA\n",
            b"-----BEGIN AGE ENCRYPTED FILE-----\n",
            &good[..good.len() / 3],
        ] {
            assert!(
                matches!(check_reply_ciphertext(bad), Err(ReplyError::NotAgeFile)),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        // Header intact, payload cut to less than one tag.
        let header = header_len(&good).unwrap();
        for cut in [
            header,
            header + AGE_NONCE_BYTES,
            header + AGE_NONCE_BYTES + 4,
        ] {
            assert!(
                matches!(
                    check_reply_ciphertext(&good[..cut]),
                    Err(ReplyError::NotAgeFile)
                ),
                "{cut}"
            );
        }
        // Armored age is refused: import expects the binary form.
        let armored = {
            let r = who.to_public();
            let enc = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
                .unwrap();
            let out =
                age::armor::ArmoredWriter::wrap_output(Vec::new(), age::armor::Format::AsciiArmor)
                    .unwrap();
            let mut w = enc.wrap_output(out).unwrap();
            w.write_all(b"x").unwrap();
            w.finish().unwrap().finish().unwrap()
        };
        assert!(matches!(
            check_reply_ciphertext(&armored),
            Err(ReplyError::NotAgeFile)
        ));
        // A passphrase file is refused.
        let mut scrypt =
            age::scrypt::Recipient::new(age::secrecy::SecretString::from("pass".to_owned()));
        scrypt.set_work_factor(2);
        let pass = encrypt_raw(b"x", &scrypt);
        assert!(matches!(
            check_reply_ciphertext(&pass),
            Err(ReplyError::Passphrase)
        ));
        assert!(matches!(
            decrypt_reply(&pass, &who),
            Err(ReplyError::Passphrase)
        ));
    }

    #[test]
    fn decrypt_refuses_altered_long_and_non_utf8_plaintext() {
        let who = age::x25519::Identity::generate();
        let r = who.to_public();
        let mut ct = encrypt_reply("the question", std::slice::from_ref(&r)).unwrap();
        let last = ct.len() - 1;
        ct[last] ^= 1;
        assert!(matches!(decrypt_reply(&ct, &who), Err(ReplyError::Corrupt)));

        let long = encrypt_raw(&vec![b'x'; MAX_REPLY_TEXT + 1], &r);
        check_reply_ciphertext(&long).unwrap();
        assert!(matches!(
            decrypt_reply(&long, &who),
            Err(ReplyError::TextTooLong)
        ));
        let exact = encrypt_raw(&vec![b'x'; MAX_REPLY_TEXT], &r);
        assert_eq!(decrypt_reply(&exact, &who).unwrap().len(), MAX_REPLY_TEXT);

        let binary = encrypt_raw(&[0xff, 0xfe, 0x00], &r);
        assert!(matches!(
            decrypt_reply(&binary, &who),
            Err(ReplyError::NotUtf8)
        ));
    }
}
