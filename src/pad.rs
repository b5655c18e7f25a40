//! Padding age files so their size says little about what they hold, while they stay
//! standard age: the reference `age -d` returns exactly the original bytes.
//!
//! The size of a stored ciphertext is brought up to a Padmé bucket ([`padme`]; Nikitin et al.,
//! "Reducing Metadata Leakage from Encrypted Files and Communication with PURBs", PETS 2019):
//! a length L is rounded up so that only its top ⌊log2 ⌊log2 L⌋⌋ + 1 bits may be non-zero. It
//! leaks O(log log L) bits of the length, for an overhead of at most 12 % (under 3.2 % from
//! 1 GiB, where it is at most 32 MiB). Nothing is smaller than [`FLOOR`] (16 KiB), so every
//! message, reply and file under about 16 KiB has the same size.
//!
//! The padding is one *grease* stanza in the age header, `-> witness-drop-pad ARG` with an
//! empty body, whose single argument is as long as the bucket needs. age implementations skip
//! stanzas they do not know, so every identity decrypts the file as before. The argument is one
//! line (not body lines), because the age crate re-parses the header from its start after
//! every line it reads: a padding of many body lines would make a decrypt quadratic.
//!
//! A file streamed before its length is known is padded afterwards ([`repad`]): its header is
//! rewritten with the same stanzas plus the padding, and a new MAC over it (the header MAC
//! key is HKDF-SHA256 of the file key, info `header`, as in age), and its payload is copied
//! after it unchanged. The file key is captured while the file is encrypted ([`KeyCapture`]),
//! held in memory that is wiped when dropped, and never written anywhere.
//!
//! Invariant: what [`repad`] writes decrypts with every identity the original did, to the
//! same bytes; its length is [`padded_len`] of the original's; nothing is written when the
//! original is not an age v1 file with one `---` MAC line.

use std::io::{self, BufRead, Read, Write};
use std::sync::{Arc, Mutex};

use age_core::format::{FileKey, Stanza};
use age_core::secrecy::ExposeSecret;
use base64::{prelude::BASE64_STANDARD_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// The padding stanza's tag.
pub const PAD_TAG: &str = "witness-drop-pad";

const MAGIC: &[u8] = b"age-encryption.org/v1\n";

/// `-> witness-drop-pad ` + one argument byte + `\n` + the empty body line `\n`.
const MIN_STANZA: u64 = (3 + PAD_TAG.len() + 1 + 1 + 1 + 1) as u64;

/// The longest header [`repad`] reads back (its stanzas: a few hundred bytes per reviewer).
const MAX_HEADER: u64 = 1 << 20;

/// Padmé: `len` rounded up so that at most ⌊log2 ⌊log2 len⌋⌋ + 1 of its top bits are set.
pub fn padme(len: u64) -> u64 {
    if len < 2 {
        return len;
    }
    let e = 63 - u64::from(len.leading_zeros()); // ⌊log2 len⌋
    let s = 64 - u64::from(e.leading_zeros()); // ⌊log2 e⌋ + 1
    let low = e.saturating_sub(s);
    let mask = (1u64 << low) - 1;
    len.saturating_add(mask) & !mask
}

/// No padded file is smaller: short messages, replies and small files all look alike.
pub const FLOOR: u64 = 16 * 1024;

/// The size of an age file of `len` bytes once padded: the Padmé bucket of `len` plus the
/// smallest padding stanza, and at least [`FLOOR`].
pub fn padded_len(len: u64) -> u64 {
    padme(len + MIN_STANZA).max(FLOOR)
}

/// A pseudo-recipient that adds no stanza and keeps a copy of the file key, so the file can
/// be padded once its length is known. Pass it to `age::Encryptor::with_recipients` along
/// with the real recipients.
#[derive(Clone, Default)]
pub struct KeyCapture {
    key: Arc<Mutex<Option<Zeroizing<[u8; 16]>>>>,
}

impl KeyCapture {
    /// A new capture, empty until the file is encrypted.
    pub fn new() -> KeyCapture {
        KeyCapture::default()
    }

    /// The captured file key.
    pub fn take(&self) -> Option<Zeroizing<[u8; 16]>> {
        self.key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

impl age::Recipient for KeyCapture {
    fn wrap_file_key(
        &self,
        file_key: &FileKey,
    ) -> Result<(Vec<Stanza>, std::collections::HashSet<String>), age::EncryptError> {
        let mut key = Zeroizing::new([0u8; 16]);
        key.copy_from_slice(file_key.expose_secret());
        *self
            .key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(key);
        Ok((Vec::new(), std::collections::HashSet::new()))
    }
}

fn bad(why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("not a padded age file: {why}"),
    )
}

/// Reads an age v1 header (through its `--- MAC` line) from `input`; returns the header bytes
/// up to and not including the `---` line.
fn read_stanzas(input: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut header = Vec::new();
    let mut limited = input.take(MAX_HEADER);
    loop {
        let start = header.len();
        if limited.read_until(b'\n', &mut header)? == 0 {
            return Err(bad("the header ends early"));
        }
        let line = &header[start..];
        if start == 0 && line != MAGIC {
            return Err(bad("no age v1 magic line"));
        }
        if line.starts_with(b"--- ") {
            header.truncate(start);
            return Ok(header);
        }
    }
}

/// Writes `original` (a whole age file, `original_len` bytes, encrypted with `key` as its file
/// key) into `out`, padded to [`padded_len`]`(original_len)`. Returns the bytes written.
pub fn repad(
    original: impl Read,
    original_len: u64,
    key: &[u8; 16],
    out: &mut impl Write,
) -> io::Result<u64> {
    repad_to(original, original_len, key, out, padded_len(original_len))
}

/// [`repad`] to an exact `target` length (at least the original's plus the smallest stanza).
fn repad_to(
    original: impl Read,
    original_len: u64,
    key: &[u8; 16],
    out: &mut impl Write,
    target: u64,
) -> io::Result<u64> {
    if target < original_len + MIN_STANZA {
        return Err(bad("the target is too small"));
    }
    let mut input = io::BufReader::with_capacity(1 << 20, original);
    let stanzas = read_stanzas(&mut input)?;
    if stanzas
        .windows(PAD_TAG.len() + 4)
        .any(|w| w == format!("-> {PAD_TAG} ").as_bytes())
    {
        return Err(bad("it is padded already"));
    }
    // The original's MAC line: "--- " + 43 characters + "\n".
    let mac_line = 4 + 43 + 1;
    let payload = original_len
        .checked_sub(stanzas.len() as u64 + mac_line)
        .ok_or_else(|| bad("shorter than its header"))?;
    let arg_len = target - original_len - (MIN_STANZA - 1);
    let mut header = stanzas;
    header.extend_from_slice(format!("-> {PAD_TAG} ").as_bytes());
    header.extend(filler(arg_len)?);
    header.extend_from_slice(b"\n\n---");
    let mac_key = Zeroizing::new(age_core::primitives::hkdf(&[], b"header", key));
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(&mac_key[..]).map_err(|_| bad("MAC key"))?;
    mac.update(&header);
    let tag = mac.finalize().into_bytes();
    header.push(b' ');
    header.extend_from_slice(BASE64_STANDARD_NO_PAD.encode(tag).as_bytes());
    header.push(b'\n');
    out.write_all(&header)?;
    let copied = io::copy(&mut input.take(payload), out)?;
    if copied != payload {
        return Err(bad("its payload ends early"));
    }
    Ok(header.len() as u64 + copied)
}

/// `n` random letters and digits: the padding argument (age arguments are visible ASCII).
fn filler(n: u64) -> io::Result<Vec<u8>> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let n = usize::try_from(n).map_err(|_| bad("padding too large"))?;
    let mut out = vec![0u8; n];
    getrandom::fill(&mut out).map_err(|e| io::Error::other(e.to_string()))?;
    for b in &mut out {
        *b = ALPHABET[usize::from(*b) % ALPHABET.len()];
    }
    Ok(out)
}

/// Encrypts `data` (in memory: an envelope, a reply) to `recipients` and pads it. Returns the
/// padded age file.
pub fn encrypt_padded(
    recipients: &[&dyn age::Recipient],
    data: &[u8],
) -> Result<Vec<u8>, age::EncryptError> {
    let capture = KeyCapture::new();
    let mut all: Vec<&dyn age::Recipient> = recipients.to_vec();
    all.push(&capture);
    let mut plain_file = Vec::new();
    let mut w = age::Encryptor::with_recipients(all.into_iter())?.wrap_output(&mut plain_file)?;
    w.write_all(data)?;
    w.finish()?;
    let key = capture
        .take()
        .ok_or_else(|| age::EncryptError::Io(io::Error::other("no file key")))?;
    let mut out = Vec::with_capacity(padded_len(plain_file.len() as u64) as usize);
    repad(&plain_file[..], plain_file.len() as u64, &key, &mut out)?;
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn decrypt(file: &[u8], id: &age::x25519::Identity) -> Vec<u8> {
        let d = age::Decryptor::new_buffered(file).unwrap();
        let mut r = d
            .decrypt(std::iter::once(id as &dyn age::Identity))
            .unwrap();
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn padme_matches_the_paper() {
        assert_eq!(padme(0), 0);
        assert_eq!(padme(1), 1);
        assert_eq!(padme(9), 10); // E=3, S=2: one low bit cleared
        assert_eq!(padme(1000), 1024);
        assert_eq!(padme(1001), 1024);
        for l in [
            100u64,
            1000,
            12_345,
            1 << 20,
            1_234_567,
            1 << 30,
            (1 << 30) + 1,
        ] {
            let p = padme(l);
            assert!(p >= l && (p - l) as f64 <= 0.12 * l as f64, "{l} -> {p}");
            assert_eq!(padme(p), p, "a bucket is its own bucket");
        }
        assert!(padme((1 << 30) + 1) - ((1 << 30) + 1) < 32 << 20);
    }

    #[test]
    fn padded_files_of_near_sizes_are_equal_and_decrypt_to_the_original() {
        let id = age::x25519::Identity::generate();
        let other = age::x25519::Identity::generate();
        let r1 = id.to_public();
        let r2 = other.to_public();
        let recipients: [&dyn age::Recipient; 2] = [&r1, &r2];
        let mut sizes = Vec::new();
        for n in [1000usize, 1001, 1_234_567, 1_234_600] {
            let data: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
            let file = encrypt_padded(&recipients, &data).unwrap();
            assert_eq!(decrypt(&file, &id), data);
            assert_eq!(decrypt(&file, &other), data);
            sizes.push(file.len());
        }
        assert_eq!(sizes[0], sizes[1]);
        assert_eq!(sizes[2], sizes[3]);
    }

    /// The largest padding the scheme produces (just under 32 MiB, for an upload of about
    /// 1 GiB, the default `max_upload_bytes`) on a small file, decrypted by the age crate and
    /// by Debian's `age`.
    #[test]
    fn the_largest_padding_decrypts_with_the_age_crate_and_the_reference_age() {
        let id = age::x25519::Identity::generate();
        let r = id.to_public();
        let capture = KeyCapture::new();
        let mut plain_file = Vec::new();
        let recipients: [&dyn age::Recipient; 2] = [&r, &capture];
        let mut w = age::Encryptor::with_recipients(recipients.into_iter())
            .unwrap()
            .wrap_output(&mut plain_file)
            .unwrap();
        w.write_all(b"the original bytes").unwrap();
        w.finish().unwrap();
        let key = capture.take().unwrap();
        let largest = padme((1 << 30) + 1) - ((1 << 30) + 1);
        assert!(largest > 31 << 20);
        let target = plain_file.len() as u64 + largest;
        let mut file = Vec::new();
        let n = repad_to(
            &plain_file[..],
            plain_file.len() as u64,
            &key,
            &mut file,
            target,
        )
        .unwrap();
        assert_eq!(n, target);
        assert_eq!(file.len() as u64, target);
        let started = std::time::Instant::now();
        assert_eq!(decrypt(&file, &id), b"the original bytes");
        assert!(
            started.elapsed().as_secs() < 20,
            "the age crate reads it in linear time"
        );

        if std::process::Command::new("age")
            .arg("--version")
            .output()
            .is_err()
        {
            if std::env::var("WITNESS_DROP_REQUIRE_TOOLS").as_deref() == Ok("1") {
                panic!("age is not installed (WITNESS_DROP_REQUIRE_TOOLS=1)");
            }
            eprintln!("SKIPPED: the_largest_padding_decrypts_with_the_reference_age: age is not installed");
            return;
        }
        use age::secrecy::ExposeSecret;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("key"), id.to_string().expose_secret()).unwrap();
        std::fs::write(dir.path().join("f.age"), &file).unwrap();
        let out = std::process::Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(dir.path().join("key"))
            .arg(dir.path().join("f.age"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, b"the original bytes");
    }

    #[test]
    fn an_altered_padding_fails_the_mac() {
        let id = age::x25519::Identity::generate();
        let r = id.to_public();
        let mut file = encrypt_padded(&[&r], b"hello").unwrap();
        let at = file
            .windows(PAD_TAG.len())
            .position(|w| w == PAD_TAG.as_bytes())
            .unwrap()
            + PAD_TAG.len()
            + 1;
        file[at] = if file[at] == b'A' { b'B' } else { b'A' };
        let d = age::Decryptor::new_buffered(&file[..]).unwrap();
        assert!(d
            .decrypt(std::iter::once(&id as &dyn age::Identity))
            .is_err());
    }
}
