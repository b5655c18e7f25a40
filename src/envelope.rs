//! Sealing data with age while it streams, and the envelope that describes a submission.
//!
//! Invariant: a [`Sealer`] is the only path from a source's plaintext to anything that leaves
//! memory. It encrypts to every reviewer recipient as bytes arrive, and hands the inner writer
//! only ciphertext. Callers MUST call [`Sealer::finish`], or the ciphertext is truncated (age's
//! last chunk is written only then) and the blob does not decrypt.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `format` field of every envelope this version writes.
pub const ENVELOPE_FORMAT: &str = "witness-drop-envelope/1";

/// What the server knows about a submission, sealed as `envelope.age`. Only reviewers read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// [`ENVELOPE_FORMAT`].
    pub format: String,
    /// The submission id (also the folder name in exports).
    pub id: String,
    /// Exact time the submission was committed, RFC 3339 UTC. Kept only here, encrypted.
    pub received_at: String,
    /// The source's message, as typed.
    pub message: String,
    /// The attached files, in upload order; attachment `n` is stored as `file-n.age`.
    pub attachments: Vec<Attachment>,
    /// Who sent it, for replies.
    pub source: Option<SourceInfo>,
    /// The reviewers' recipients (`age1…`) this submission was encrypted to, so a reviewer's
    /// reply can be encrypted to all of them as well as to the source.
    #[serde(default)]
    pub reviewers: Vec<String>,
    /// The guided answers and consent, with the page's language. Absent in envelopes written
    /// before guided testimony existed; every envelope this version writes carries it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub testimony: Option<Testimony>,
}

/// The `format` field of every [`Testimony`] this version writes.
pub const TESTIMONY_FORMAT: &str = "witness-drop-testimony/1";

/// The guided answers and consent of one submission (SPEC: "Guided testimony and consent"),
/// sealed inside the envelope and nowhere else: the server never stores or logs any of it.
///
/// Every question is optional, and an unanswered question is absent from the JSON (never an
/// empty string). Consent:
/// - A first submission always stores its consent explicitly: with no answer it stores
///   `"consent": "records"` and `"consent_name": false`, the most restrictive choice, so
///   reviewers see the choice rather than infer it.
/// - A follow-up from the inbox carries `consent` only when the source chose again, and then
///   `consent_name` with it (`false` when the box was left unticked); a follow-up that only
///   ticks the name box carries `"consent_name": true` alone. For each of the two, the newest
///   envelope of a source that carries it is the choice that stands.
///
/// ```json
/// {"format": "witness-drop-testimony/1", "lang": "ru", "role": "self",
///  "when": "…", "where": "…", "who": "…", "acts": "…", "injuries": "…",
///  "witnesses": "…", "complaints": "…", "danger": "unsure",
///  "consent": "legal", "consent_name": false}
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Testimony {
    /// [`TESTIMONY_FORMAT`].
    pub format: String,
    /// The language of the page the source used: `en`, `az` or `ru`.
    pub lang: String,
    /// How the source knows what they describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// When it happened, as the source put it (approximate is fine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// Where it happened.
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub where_: Option<String>,
    /// Who was responsible: names, ranks, uniforms, units, descriptions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub who: Option<String>,
    /// What was done, how, how long, how often.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acts: Option<String>,
    /// Injuries and health since, medical care given or refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub injuries: Option<String>,
    /// Who else saw it or knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witnesses: Option<String>,
    /// Complaints made, to whom, and what came of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complaints: Option<String>,
    /// Whether the source or their family is in danger now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub danger: Option<Danger>,
    /// What the organisation may do with the testimony (see the type's docs for defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<Consent>,
    /// Whether the source's name, where they gave it, may be used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_name: Option<bool>,
}

impl Testimony {
    /// No answers yet, from a page in `lang`.
    pub fn new(lang: &str) -> Testimony {
        Testimony {
            format: TESTIMONY_FORMAT.to_owned(),
            lang: lang.to_owned(),
            role: None,
            when: None,
            where_: None,
            who: None,
            acts: None,
            injuries: None,
            witnesses: None,
            complaints: None,
            danger: None,
            consent: None,
            consent_name: None,
        }
    }

    /// The free-text answers, in the SPEC's order, with their field names.
    pub fn texts(&self) -> [(&'static str, Option<&str>); 7] {
        [
            ("when", self.when.as_deref()),
            ("where", self.where_.as_deref()),
            ("who", self.who.as_deref()),
            ("acts", self.acts.as_deref()),
            ("injuries", self.injuries.as_deref()),
            ("witnesses", self.witnesses.as_deref()),
            ("complaints", self.complaints.as_deref()),
        ]
    }

    /// True when any question (not consent) was answered.
    pub fn answers_a_question(&self) -> bool {
        self.role.is_some()
            || self.danger.is_some()
            || self.texts().iter().any(|(_, v)| v.is_some())
    }
}

impl zeroize::Zeroize for Testimony {
    /// Overwrites the free-text answers (the enums hold no text a source typed).
    fn zeroize(&mut self) {
        for v in [
            &mut self.when,
            &mut self.where_,
            &mut self.who,
            &mut self.acts,
            &mut self.injuries,
            &mut self.witnesses,
            &mut self.complaints,
        ] {
            if let Some(s) = v.as_mut() {
                s.zeroize();
            }
            *v = None;
        }
    }
}

/// Defines a closed set of form values: the JSON value is the form value.
macro_rules! form_values {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $value:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $value)] $variant,)+
        }

        impl $name {
            /// Every value, in the form's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The form and JSON value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $value,)+
                }
            }

            /// The value for a form value; `None` outside the fixed set.
            pub fn from_form(value: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.as_str() == value)
            }
        }
    };
}

form_values! {
    /// The `role` field: how the source knows what they describe.
    Role {
        /// It happened to the source.
        Myself = "self",
        /// The source saw it happen to someone else.
        Witness = "witness",
        /// It happened to a relative.
        Relative = "relative",
        /// The source is the lawyer of the person it happened to.
        Lawyer = "lawyer",
        /// Another way.
        Other = "other",
    }
}

form_values! {
    /// The `danger` field: whether the source or their family is in danger now.
    Danger {
        /// Not in danger.
        No = "no",
        /// In danger.
        Yes = "yes",
        /// Not sure.
        Unsure = "unsure",
    }
}

form_values! {
    /// The `consent` field, from the most restrictive.
    Consent {
        /// For the organisation's records only.
        Records = "records",
        /// May also go, without the source's name, to lawyers and international bodies.
        Legal = "legal",
        /// May also be published without the source's name.
        Publish = "publish",
    }
}

/// One attached file, as the source's browser described it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// 1-based position; the blob is `file-{n}.age`.
    pub n: u32,
    /// The file name the browser sent: untrusted, never used as a path as it is.
    pub name: String,
    /// The content type the browser sent: untrusted.
    pub content_type: String,
    /// Plaintext size in bytes.
    pub size: u64,
    /// SHA-256 of the plaintext, lower-case hex.
    pub sha256: String,
}

/// A returning source, as reviewers see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// Opaque reference that links all submissions of one source.
    pub reference: String,
    /// Human-friendly two-word name for the source, e.g. "amber heron".
    pub designation: String,
    /// The source's age recipient for replies (`age1…`).
    pub reply_recipient: String,
}

/// Size and SHA-256 of a byte stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digest256 {
    /// Bytes seen.
    pub size: u64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
}

/// Why sealing failed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// There was no recipient to encrypt to.
    #[error("no recipient to encrypt to")]
    NoRecipients,
    /// Writing the ciphertext failed.
    #[error("writing ciphertext failed: {0}")]
    Io(#[from] io::Error),
}

/// A writer that counts and hashes everything written through it.
pub struct HashingWriter<W> {
    inner: W,
    /// `None`: count only (the inner writer hashes, as the store's blob writer does).
    hasher: Option<Sha256>,
    size: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Some(Sha256::new()),
            size: 0,
        }
    }

    /// Returns the inner writer and the digest of what went through.
    pub fn finish(self) -> (W, Digest256) {
        let digest = Digest256 {
            size: self.size,
            sha256: self
                .hasher
                .map(|h| hex::encode(h.finalize()))
                .unwrap_or_default(),
        };
        (self.inner, digest)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(h) = self.hasher.as_mut() {
            h.update(&buf[..n]);
        }
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Encrypts one stream to many recipients as it is written.
pub struct Sealer<W: Write> {
    stream: age::stream::StreamWriter<HashingWriter<W>>,
    /// `None` when the caller hashes the plaintext itself (see [`Sealer::without_hashes`]).
    plain: Option<Sha256>,
    plain_size: u64,
}

impl<W: Write> Sealer<W> {
    /// Starts an age stream to every recipient, writing ciphertext into `out`.
    pub fn new(recipients: &[age::x25519::Recipient], out: W) -> Result<Self, SealError> {
        let encryptor =
            age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
                .map_err(|_| SealError::NoRecipients)?;
        let stream = encryptor.wrap_output(HashingWriter::new(out))?;
        Ok(Sealer {
            stream,
            plain: Some(Sha256::new()),
            plain_size: 0,
        })
    }

    /// Like [`Sealer::new`], but hashes nothing: the caller hashes the plaintext and the inner
    /// writer the ciphertext, each on another core (the upload pipeline does). The digests from
    /// [`Sealer::finish`] then carry sizes only, with empty `sha256`.
    pub fn without_hashes(
        recipients: &[age::x25519::Recipient],
        out: W,
    ) -> Result<Self, SealError> {
        let encryptor =
            age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
                .map_err(|_| SealError::NoRecipients)?;
        let mut counting = HashingWriter::new(out);
        counting.hasher = None;
        let stream = encryptor.wrap_output(counting)?;
        Ok(Sealer {
            stream,
            plain: None,
            plain_size: 0,
        })
    }

    /// Like [`Sealer::without_hashes`], and `capture` keeps the file key so the file can be
    /// padded once its length is known ([`crate::pad::repad`]).
    pub fn without_hashes_padded_later(
        recipients: &[age::x25519::Recipient],
        out: W,
        capture: &crate::pad::KeyCapture,
    ) -> Result<Self, SealError> {
        let all = recipients
            .iter()
            .map(|r| r as &dyn age::Recipient)
            .chain(std::iter::once(capture as &dyn age::Recipient));
        let encryptor =
            age::Encryptor::with_recipients(all).map_err(|_| SealError::NoRecipients)?;
        let mut counting = HashingWriter::new(out);
        counting.hasher = None;
        let stream = encryptor.wrap_output(counting)?;
        Ok(Sealer {
            stream,
            plain: None,
            plain_size: 0,
        })
    }

    /// Encrypts `data`.
    pub fn write_all(&mut self, data: &[u8]) -> Result<(), SealError> {
        if let Some(h) = self.plain.as_mut() {
            h.update(data);
        }
        self.plain_size += data.len() as u64;
        self.stream.write_all(data)?;
        Ok(())
    }

    /// Writes age's final chunk. Returns the inner writer, the plaintext digest and the
    /// ciphertext digest.
    pub fn finish(self) -> Result<(W, Digest256, Digest256), SealError> {
        let hashing = self.stream.finish()?;
        let (inner, cipher) = hashing.finish();
        let plain = Digest256 {
            size: self.plain_size,
            sha256: self
                .plain
                .map(|h| hex::encode(h.finalize()))
                .unwrap_or_default(),
        };
        Ok((inner, plain, cipher))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn sealed_stream_opens_for_every_recipient_and_digests_match() {
        let a = age::x25519::Identity::generate();
        let b = age::x25519::Identity::generate();
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut s = Sealer::new(&[a.to_public(), b.to_public()], Vec::new()).unwrap();
        for chunk in data.chunks(7000) {
            s.write_all(chunk).unwrap();
        }
        let (ct, plain, cipher) = s.finish().unwrap();
        assert_eq!(plain.size, data.len() as u64);
        assert_eq!(plain.sha256, hex::encode(Sha256::digest(&data)));
        assert_eq!(cipher.size, ct.len() as u64);
        assert_eq!(cipher.sha256, hex::encode(Sha256::digest(&ct)));
        for id in [&a, &b] {
            let d = age::Decryptor::new(&ct[..]).unwrap();
            let mut r = d
                .decrypt(std::iter::once(id as &dyn age::Identity))
                .unwrap();
            let mut out = Vec::new();
            r.read_to_end(&mut out).unwrap();
            assert_eq!(out, data);
        }
        assert!(!ct.windows(16).any(|w| w == &data[1000..1016]));
    }

    #[test]
    fn unanswered_questions_are_absent_and_old_envelopes_still_parse() {
        let mut t = Testimony::new("ru");
        t.where_ = Some("town".into());
        t.consent = Some(Consent::Records);
        t.consent_name = Some(false);
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"format": "witness-drop-testimony/1", "lang": "ru",
                "where": "town", "consent": "records", "consent_name": false})
        );
        assert_eq!(serde_json::from_value::<Testimony>(v).unwrap(), t);
        let old = r#"{"format":"witness-drop-envelope/1","id":"x","received_at":"t",
            "message":"m","attachments":[],"source":null}"#;
        let e: Envelope = serde_json::from_str(old).unwrap();
        assert!(e.testimony.is_none());
        assert!(!serde_json::to_string(&e).unwrap().contains("testimony"));
        assert_eq!(Role::from_form("self"), Some(Role::Myself));
        assert_eq!(Consent::from_form("everything"), None);
        assert_eq!(Danger::ALL.len(), 3);
    }

    #[test]
    fn without_hashes_still_encrypts_and_counts() {
        let a = age::x25519::Identity::generate();
        let mut s = Sealer::without_hashes(&[a.to_public()], Vec::new()).unwrap();
        s.write_all(b"hello").unwrap();
        let (ct, plain, cipher) = s.finish().unwrap();
        assert_eq!((plain.size, plain.sha256.as_str()), (5, ""));
        assert_eq!((cipher.size, cipher.sha256.as_str()), (ct.len() as u64, ""));
        let d = age::Decryptor::new(&ct[..]).unwrap();
        let mut r = d
            .decrypt(std::iter::once(&a as &dyn age::Identity))
            .unwrap();
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"hello");
    }
}
