//! Codenames of returning sources, and what the server derives from them.
//!
//! Invariants:
//! - A codename is 7 words drawn uniformly, with the OS generator, from the EFF large list
//!   (7,776 words: 7 × log2(7776) ≈ 90.5 bits). It is shown once, on the receipt page, and never
//!   stored, logged or put in a cookie.
//! - What the server keeps is derived with Argon2id ([`ARGON2_M_KIB`] KiB, [`ARGON2_T`] passes,
//!   [`ARGON2_P`] lanes) from the normalised codename, salted with the instance secret: a lookup
//!   id (to find the source) and, independently, an age X25519 identity for replies. Only the
//!   lookup id and the identity's *public* recipient are stored; the identity lives in a
//!   session's memory and is zeroised when the session ends.
//! - Typing it back is forgiving: case and white space (spaces, line breaks, none at all) do not
//!   matter. Over-long input is refused before any derivation.

use age::secrecy::{ExposeSecret, SecretString};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::server::secrets::InstanceSecret;

/// Words in a codename.
pub const WORDS: usize = 7;
/// Longest input accepted at login, in characters (7 of the longest words with generous
/// spacing fit many times over).
pub const MAX_INPUT_CHARS: usize = 256;
/// Argon2id memory, KiB (64 MiB).
pub const ARGON2_M_KIB: u32 = 64 * 1024;
/// Argon2id passes.
pub const ARGON2_T: u32 = 3;
/// Argon2id lanes.
pub const ARGON2_P: u32 = 4;

/// Why a codename could not be made or used. Never carries the codename.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodenameError {
    /// Nothing was typed.
    #[error("empty codename")]
    Empty,
    /// More than [`MAX_INPUT_CHARS`] characters.
    #[error("codename input too long")]
    TooLong,
    /// The OS random generator failed.
    #[error("random generator failed")]
    Random,
    /// Argon2 failed (parameters or memory).
    #[error("key derivation failed")]
    Derive,
}

fn words() -> &'static [(u32, &'static str)] {
    eff_wordlist::large::LIST
}

/// A uniformly random index below `n` from the OS generator (rejection sampling).
fn uniform(n: u32) -> Result<usize, CodenameError> {
    let limit = u32::MAX - u32::MAX % n;
    loop {
        let mut b = [0u8; 4];
        getrandom::fill(&mut b).map_err(|_| CodenameError::Random)?;
        let v = u32::from_le_bytes(b);
        if v < limit {
            return Ok((v % n) as usize);
        }
    }
}

/// A new codename: 7 random words separated by spaces.
pub fn generate() -> Result<SecretString, CodenameError> {
    let list = words();
    let mut out = Zeroizing::new(String::new());
    for i in 0..WORDS {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(list[uniform(list.len() as u32)?].1);
    }
    Ok(SecretString::from(out.to_string()))
}

/// A new designation: two random words, for reviewers to refer to a source.
pub fn designation() -> Result<String, CodenameError> {
    let list = words();
    let a = list[uniform(list.len() as u32)?].1;
    let b = list[uniform(list.len() as u32)?].1;
    Ok(format!("{a} {b}"))
}

/// The canonical form of typed input: lower case, all white space removed.
pub fn normalise(input: &str) -> Result<Zeroizing<String>, CodenameError> {
    if input.chars().count() > MAX_INPUT_CHARS {
        return Err(CodenameError::TooLong);
    }
    let out: Zeroizing<String> = Zeroizing::new(
        input
            .chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect(),
    );
    if out.is_empty() {
        return Err(CodenameError::Empty);
    }
    Ok(out)
}

/// What the server derives from a codename.
pub struct Derived {
    /// Finds the source's record. Stored.
    pub lookup: [u8; 32],
    /// Decrypts replies to the source. Never stored.
    pub reply_identity: age::x25519::Identity,
}

impl std::fmt::Debug for Derived {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Derived").finish_non_exhaustive()
    }
}

/// Runs Argon2id over the normalised codename. Slow on purpose (about 0.2-0.3 s and 64 MiB on
/// the 2-core development machine):
/// callers MUST run it off the async threads and behind a limit on concurrent derivations.
pub fn derive(normalised: &str, secret: &InstanceSecret) -> Result<Derived, CodenameError> {
    let params = Params::new(ARGON2_M_KIB, ARGON2_T, ARGON2_P, Some(32))
        .map_err(|_| CodenameError::Derive)?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut master = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(normalised.as_bytes(), secret.expose(), &mut master[..])
        .map_err(|_| CodenameError::Derive)?;
    let sub = |label: &[u8]| -> Zeroizing<[u8; 32]> {
        let mut h = Sha256::new();
        h.update(b"witness-drop/v1/");
        h.update(label);
        h.update(&master[..]);
        Zeroizing::new(h.finalize().into())
    };
    let lookup = *sub(b"lookup");
    let key = sub(b"reply-identity");
    let reply_identity = identity_from_bytes(&key)?;
    Ok(Derived {
        lookup,
        reply_identity,
    })
}

/// An age X25519 identity from 32 secret bytes: bech32 with the `AGE-SECRET-KEY-` prefix, upper
/// case, as age itself encodes them (the reference `age-keygen -y` agrees).
pub fn identity_from_bytes(bytes: &[u8; 32]) -> Result<age::x25519::Identity, CodenameError> {
    let hrp = bech32::Hrp::parse("age-secret-key-").map_err(|_| CodenameError::Derive)?;
    let text = Zeroizing::new(
        bech32::encode_upper::<bech32::Bech32>(hrp, bytes).map_err(|_| CodenameError::Derive)?,
    );
    text.parse::<age::x25519::Identity>()
        .map_err(|_| CodenameError::Derive)
}

/// The secret-key line of an identity (for tests and for the reviewer's reference checks).
pub fn identity_line(identity: &age::x25519::Identity) -> SecretString {
    SecretString::from(identity.to_string().expose_secret().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codenames_have_seven_list_words_and_differ() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a.expose_secret(), b.expose_secret());
        let ws: Vec<&str> = a.expose_secret().split(' ').collect();
        assert_eq!(ws.len(), WORDS);
        for w in ws {
            assert!(words().iter().any(|(_, x)| *x == w), "{w}");
        }
        assert_eq!(words().len(), 7776);
    }

    #[test]
    fn normalisation_forgives_case_and_spacing() {
        let n = |s: &str| normalise(s).unwrap().to_string();
        let canon = n("apple banana cherry");
        assert_eq!(n("  Apple   BANANA\ncherry "), canon);
        assert_eq!(n("applebanana\r\n\tcherry"), canon);
        assert_eq!(normalise(""), Err(CodenameError::Empty));
        assert_eq!(normalise(" \n "), Err(CodenameError::Empty));
        assert_eq!(
            normalise(&"a".repeat(MAX_INPUT_CHARS + 1)),
            Err(CodenameError::TooLong)
        );
    }

    #[test]
    fn derivation_is_deterministic_per_instance_and_independent() {
        let s1 = InstanceSecret::for_tests(1);
        let s2 = InstanceSecret::for_tests(2);
        let a = derive("applebananacherry", &s1).unwrap();
        let b = derive("applebananacherry", &s1).unwrap();
        let c = derive("applebananacherry", &s2).unwrap();
        let d = derive("applebananacherri", &s1).unwrap();
        assert_eq!(a.lookup, b.lookup);
        assert_eq!(
            a.reply_identity.to_public().to_string(),
            b.reply_identity.to_public().to_string()
        );
        assert_ne!(a.lookup, c.lookup);
        assert_ne!(a.lookup, d.lookup);
        // The lookup id is not the key material.
        let key_line = identity_line(&a.reply_identity);
        assert!(!key_line
            .expose_secret()
            .to_lowercase()
            .contains(&hex::encode(a.lookup)));
    }

    #[test]
    fn identity_from_bytes_round_trips() {
        let id = identity_from_bytes(&[7u8; 32]).unwrap();
        let line = identity_line(&id);
        assert!(line.expose_secret().starts_with("AGE-SECRET-KEY-"));
        let again: age::x25519::Identity = line.expose_secret().parse().unwrap();
        assert_eq!(again.to_public().to_string(), id.to_public().to_string());
    }

    #[test]
    fn designations_are_two_words() {
        assert_eq!(designation().unwrap().split(' ').count(), 2);
    }
}
