//! Codenames of returning sources, designations, and what the server derives from a codename.
//!
//! Invariants:
//! - **What can be drawn.** A codename is [`WORDS`] words drawn uniformly, with the OS
//!   generator, from [`codename_words`]: the EFF large list (7,776 words) less the 776 words of
//!   `codename/excluded.txt` (detention, policing, courts, war and weapons, violence, injury,
//!   death, medicine, illness, drugs, sexual content, humiliation, religion, ethnicity,
//!   nationality, politics, fear, fire), leaving [`CODENAME_WORDS`] = 7,000 words:
//!   7 × log2(7000) ≈ 89.41 bits. A designation is one word of [`designation_adjectives`] and
//!   one of [`designation_nouns`] (hand-made lists, [`DESIGNATION_ADJECTIVES`] ×
//!   [`DESIGNATION_NOUNS`] = 106,265 pairs, ≈ 16.7 bits), none of them excluded. [`generate`]
//!   and [`designation`] index these three lists and nothing else, and an excluded word is in
//!   none of them, so an excluded word can never be drawn.
//! - **The filter changes what is drawn, never what login accepts.** [`normalise`] and
//!   [`derive`] consult no word list: a codename issued before the filter (from the full EFF
//!   list, excluded words included) normalises and derives exactly as it did, and still logs
//!   in.
//! - A codename is shown once, on the receipt page, and never stored, logged or put in a
//!   cookie. In memory it is a `SecretString`, and [`generate`] and [`normalise`] build it in
//!   zeroised strings sized up front, so no growth leaves a copy behind.
//! - What the server keeps is derived with Argon2id ([`ARGON2_M_KIB`] KiB, [`ARGON2_T`] passes,
//!   [`ARGON2_P`] lanes) from the normalised codename, salted with the instance secret: a lookup
//!   id (to find the source) and, independently, an age X25519 identity for replies. Only the
//!   lookup id and the identity's *public* recipient are stored; the identity lives in a
//!   session's memory and is zeroised when the session ends.
//! - Typing it back is forgiving: case and white space (spaces, line breaks, none at all) do not
//!   matter. Over-long input is refused before any derivation.
//! - Designations are not unique: two sources may share one (about a 6.5 % chance somewhere
//!   among 120 sources). The source's reference is what identifies it.

use std::sync::OnceLock;

use age::secrecy::{ExposeSecret, SecretString};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::server::secrets::InstanceSecret;

/// Words in a codename.
pub const WORDS: usize = 7;
/// Words a codename is drawn from: the EFF large list less `codename/excluded.txt`.
pub const CODENAME_WORDS: usize = 7000;
// At least 7,000 words (89.4 bits for 7), checked at compile time; the tests check the list
// really has CODENAME_WORDS words.
const _: () = assert!(CODENAME_WORDS >= 7000);
/// Adjectives a designation's first word is drawn from.
pub const DESIGNATION_ADJECTIVES: usize = 265;
/// Nouns a designation's second word is drawn from.
pub const DESIGNATION_NOUNS: usize = 401;
/// Longest input accepted at login, in characters (7 of the longest words with generous
/// spacing fit many times over).
pub const MAX_INPUT_CHARS: usize = 256;
/// Argon2id memory, KiB (64 MiB).
pub const ARGON2_M_KIB: u32 = 64 * 1024;
/// Argon2id passes.
pub const ARGON2_T: u32 = 3;
/// Argon2id lanes.
pub const ARGON2_P: u32 = 4;

/// The EFF words never drawn, one a line (then its category), sorted, `#` comments.
const EXCLUDED_TXT: &str = include_str!("codename/excluded.txt");
/// Designation adjectives, one a line, sorted, `#` comments.
const ADJECTIVES_TXT: &str = include_str!("codename/designation_adjectives.txt");
/// Designation nouns, one a line, sorted, `#` comments.
const NOUNS_TXT: &str = include_str!("codename/designation_nouns.txt");

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

/// The first word of each non-comment, non-blank line.
fn data_words(text: &'static str) -> Vec<&'static str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next())
        .collect()
}

/// The full EFF large list, as the crate has it (what codenames were drawn from before the
/// filter).
fn eff_words() -> impl Iterator<Item = &'static str> {
    eff_wordlist::large::LIST.iter().map(|(_, w)| *w)
}

/// The excluded words, sorted and without repeats.
pub fn excluded_words() -> &'static [&'static str] {
    static LIST: OnceLock<Vec<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        let mut v = data_words(EXCLUDED_TXT);
        v.sort_unstable();
        v.dedup();
        v
    })
}

/// Whether `word` is one that is never drawn.
pub fn is_excluded(word: &str) -> bool {
    excluded_words().binary_search(&word).is_ok()
}

/// The words codenames are drawn from: the EFF large list, in its order, less the excluded
/// words. Built once.
pub fn codename_words() -> &'static [&'static str] {
    static LIST: OnceLock<Vec<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| eff_words().filter(|w| !is_excluded(w)).collect())
}

/// A designation list, less any excluded word (a second guard: the lists are made without
/// them, and a test checks it).
fn designation_list(text: &'static str) -> Vec<&'static str> {
    data_words(text)
        .into_iter()
        .filter(|w| !is_excluded(w))
        .collect()
}

/// The adjectives a designation starts with.
pub fn designation_adjectives() -> &'static [&'static str] {
    static LIST: OnceLock<Vec<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| designation_list(ADJECTIVES_TXT))
}

/// The nouns a designation ends with.
pub fn designation_nouns() -> &'static [&'static str] {
    static LIST: OnceLock<Vec<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| designation_list(NOUNS_TXT))
}

/// A uniformly random index below `n` from the OS generator (rejection sampling).
fn uniform(n: u32) -> Result<usize, CodenameError> {
    if n == 0 {
        return Err(CodenameError::Random);
    }
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

/// One word of `list`, at the index `index(list.len())` gives. Only `list` is indexed; an
/// index out of range is an error, never another list's word.
fn pick(
    list: &'static [&'static str],
    index: &mut impl FnMut(u32) -> Result<usize, CodenameError>,
) -> Result<&'static str, CodenameError> {
    let n = u32::try_from(list.len()).map_err(|_| CodenameError::Random)?;
    list.get(index(n)?).copied().ok_or(CodenameError::Random)
}

/// A codename from [`codename_words`], with indices from `index` (the OS generator in
/// [`generate`], fixed ones in tests).
fn generate_with(
    mut index: impl FnMut(u32) -> Result<usize, CodenameError>,
) -> Result<SecretString, CodenameError> {
    let list = codename_words();
    // Room for the longest codename up front: a `String` that grew would leave the words so
    // far in the memory it gave back.
    let longest = list.iter().map(|w| w.len()).max().unwrap_or(0);
    let mut out = Zeroizing::new(String::with_capacity(WORDS * (longest + 1)));
    for i in 0..WORDS {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(pick(list, &mut index)?);
    }
    // An exact-size copy: `SecretString` keeps a `Box<str>`, and boxing a `String` with spare
    // room would reallocate it unwiped. `out` is wiped as it is dropped.
    Ok(SecretString::from(out.as_str().to_owned()))
}

/// A new codename: 7 random words of [`codename_words`] separated by spaces.
pub fn generate() -> Result<SecretString, CodenameError> {
    generate_with(uniform)
}

/// A designation from [`designation_adjectives`] and [`designation_nouns`], with indices from
/// `index`.
fn designation_with(
    mut index: impl FnMut(u32) -> Result<usize, CodenameError>,
) -> Result<String, CodenameError> {
    let a = pick(designation_adjectives(), &mut index)?;
    let b = pick(designation_nouns(), &mut index)?;
    Ok(format!("{a} {b}"))
}

/// A new designation, for reviewers to refer to a source: a random adjective and a random
/// noun ("amber heron"). New sources get one no other source has ([`unused_designation`]);
/// the source's reference is what is unique.
pub fn designation() -> Result<String, CodenameError> {
    designation_with(uniform)
}

/// Draws of a designation before a taken one is accepted.
pub const DESIGNATION_TRIES: usize = 64;

/// A designation for which `in_use` says no, drawn with `draw`, so reviewers never see two
/// sources under one name. After [`DESIGNATION_TRIES`] draws that are all taken (with some
/// 100,000 sources), the last is used: the reference, not the designation, tells sources
/// apart.
pub fn unused_designation<E>(
    mut draw: impl FnMut() -> Result<String, E>,
    mut in_use: impl FnMut(&str) -> Result<bool, E>,
) -> Result<String, E> {
    let mut last = draw()?;
    for _ in 1..DESIGNATION_TRIES {
        if !in_use(&last)? {
            return Ok(last);
        }
        last = draw()?;
    }
    Ok(last)
}

/// The canonical form of typed input: lower case, all white space removed.
pub fn normalise(input: &str) -> Result<Zeroizing<String>, CodenameError> {
    if input.chars().count() > MAX_INPUT_CHARS {
        return Err(CodenameError::TooLong);
    }
    let canonical = || {
        input
            .chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
    };
    // Sized first, so the string never grows and leaves no copy of the codename behind.
    let mut out = Zeroizing::new(String::with_capacity(canonical().map(char::len_utf8).sum()));
    out.extend(canonical());
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
    #[test]
    fn a_new_designation_is_one_no_other_source_has() {
        let taken = ["amber heron", "quiet harbour"];
        let mut drawn = ["amber heron", "quiet harbour", "gentle river"].into_iter();
        let d = unused_designation::<CodenameError>(
            || Ok(drawn.next().unwrap_or("none").to_owned()),
            |d| Ok(taken.contains(&d)),
        )
        .unwrap();
        assert_eq!(d, "gentle river");
        // When every draw is taken, the last one is used rather than failing.
        let mut n = 0;
        let d = unused_designation::<CodenameError>(
            || {
                n += 1;
                Ok(format!("d{n}"))
            },
            |_| Ok(true),
        )
        .unwrap();
        assert_eq!(d, format!("d{DESIGNATION_TRIES}"));
    }

    use std::collections::HashSet;

    use super::*;

    /// Categories `codename/excluded.txt` may name.
    const CATEGORIES: &[&str] = &[
        "body",
        "courts",
        "death",
        "detention",
        "drugs",
        "ethnicity",
        "explosion",
        "fear",
        "fire",
        "harm",
        "humiliation",
        "illness",
        "injury",
        "insult",
        "medicine",
        "military",
        "nationality",
        "policing",
        "politics",
        "religion",
        "sexual",
        "violence",
    ];

    fn eff() -> HashSet<&'static str> {
        eff_words().collect()
    }

    #[test]
    fn codenames_have_seven_list_words_and_differ() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a.expose_secret(), b.expose_secret());
        let ws: Vec<&str> = a.expose_secret().split(' ').collect();
        assert_eq!(ws.len(), WORDS);
        for w in ws {
            assert!(codename_words().contains(&w), "{w}");
        }
    }

    // (a) Every excluded word is absent from every list anything is drawn from.
    #[test]
    fn excluded_words_are_in_no_drawn_list() {
        assert!(!excluded_words().is_empty());
        let lists = [
            ("codename", codename_words()),
            ("adjectives", designation_adjectives()),
            ("nouns", designation_nouns()),
        ];
        for w in excluded_words() {
            for (name, list) in lists {
                assert!(!list.contains(w), "excluded {w:?} is in the {name} list");
            }
        }
        // The designation files themselves hold no excluded word (not only after filtering).
        for text in [ADJECTIVES_TXT, NOUNS_TXT] {
            for w in data_words(text) {
                assert!(!is_excluded(w), "designation file holds excluded {w:?}");
            }
        }
    }

    #[test]
    fn excluded_file_is_sorted_known_words_with_a_category() {
        let eff = eff();
        let mut previous = "";
        let mut lines = 0;
        for line in EXCLUDED_TXT.lines() {
            if line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split(' ').collect();
            assert_eq!(fields.len(), 2, "line {line:?}: word, one space, category");
            let (word, category) = (fields[0], fields[1]);
            assert!(eff.contains(word), "{word:?} is not an EFF word");
            assert!(
                CATEGORIES.contains(&category),
                "{word:?}: category {category:?}"
            );
            assert!(
                word > previous,
                "{word:?} after {previous:?}: not sorted or repeated"
            );
            previous = word;
            lines += 1;
        }
        assert_eq!(lines, excluded_words().len());
        // The header says how the list was made.
        assert!(EXCLUDED_TXT.starts_with("# "));
        assert!(EXCLUDED_TXT.contains("all 7,776 words were read"));
    }

    #[test]
    fn designation_files_are_sorted_distinct_plain_words() {
        for (text, len) in [
            (ADJECTIVES_TXT, DESIGNATION_ADJECTIVES),
            (NOUNS_TXT, DESIGNATION_NOUNS),
        ] {
            let words = data_words(text);
            assert_eq!(words.len(), len);
            for pair in words.windows(2) {
                assert!(pair[0] < pair[1], "{pair:?}: not sorted or repeated");
            }
            for w in &words {
                assert!(
                    !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()),
                    "{w:?}"
                );
            }
        }
        assert_eq!(designation_adjectives().len(), DESIGNATION_ADJECTIVES);
        assert_eq!(designation_nouns().len(), DESIGNATION_NOUNS);
        // No word is both: "heron heron" cannot happen, and each designation reads as
        // adjective + noun.
        let adjectives: HashSet<_> = designation_adjectives().iter().collect();
        for n in designation_nouns() {
            assert!(!adjectives.contains(n), "{n:?} is in both lists");
        }
    }

    // (b) Structurally, generate() and designation() index only the filtered lists: the index
    // source is asked for indices below exactly those lists' lengths, every index it may give
    // yields that list's word, and an index out of range is an error, not some other word.
    #[test]
    fn generate_indexes_only_the_filtered_list() {
        let list = codename_words();
        let mut asked = Vec::new();
        let code = generate_with(|n| {
            asked.push(n);
            Ok(asked.len() - 1)
        })
        .unwrap();
        assert_eq!(asked, vec![CODENAME_WORDS as u32; WORDS]);
        let expected: Vec<&str> = list[..WORDS].to_vec();
        assert_eq!(code.expose_secret(), expected.join(" "));
        // Every index the generator can produce, 0..n, gives a drawable word.
        for (i, &word) in list.iter().enumerate() {
            let code = generate_with(|_| Ok(i)).unwrap();
            for w in code.expose_secret().split(' ') {
                assert_eq!(w, word);
                assert!(!is_excluded(w), "{w:?}");
            }
        }
        assert_eq!(
            generate_with(|n| Ok(n as usize)).map(|_| ()),
            Err(CodenameError::Random)
        );
    }

    #[test]
    fn designation_indexes_only_the_designation_lists() {
        let mut asked = Vec::new();
        let d = designation_with(|n| {
            asked.push(n);
            Ok(n as usize - 1)
        })
        .unwrap();
        assert_eq!(
            asked,
            vec![DESIGNATION_ADJECTIVES as u32, DESIGNATION_NOUNS as u32]
        );
        let last = |l: &[&'static str]| l[l.len() - 1];
        assert_eq!(
            d,
            format!(
                "{} {}",
                last(designation_adjectives()),
                last(designation_nouns())
            )
        );
        for (i, a) in designation_adjectives().iter().enumerate() {
            for (j, n) in designation_nouns().iter().enumerate() {
                let mut k = [i, j].into_iter();
                let d = designation_with(|_| Ok(k.next().unwrap())).unwrap();
                assert_eq!(d, format!("{a} {n}"));
            }
        }
        assert_eq!(
            designation_with(|n| Ok(n as usize)),
            Err(CodenameError::Random)
        );
    }

    #[test]
    fn uniform_stays_below_its_bound() {
        for n in [1u32, 2, 3, DESIGNATION_NOUNS as u32, CODENAME_WORDS as u32] {
            for _ in 0..2000 {
                assert!(uniform(n).unwrap() < n as usize);
            }
        }
        assert_eq!(uniform(0), Err(CodenameError::Random));
    }

    // (b) Statistical smoke test: many real draws, no excluded word.
    #[test]
    fn many_draws_never_give_an_excluded_word() {
        let mut seen = HashSet::new();
        for _ in 0..5000 {
            let code = generate().unwrap();
            for w in code.expose_secret().split(' ') {
                assert!(!is_excluded(w), "drew excluded {w:?}");
                seen.insert(w.to_owned());
            }
        }
        // 35,000 draws over 7,000 words reach nearly all of them (expected ~6,950).
        assert!(seen.len() > 6800, "{}", seen.len());
        let mut designations = HashSet::new();
        for _ in 0..20_000 {
            let d = designation().unwrap();
            let (a, n) = d.split_once(' ').unwrap();
            assert!(!is_excluded(a) && !is_excluded(n), "{d:?}");
            assert!(designation_adjectives().contains(&a), "{d:?}");
            assert!(designation_nouns().contains(&n), "{d:?}");
            designations.insert(d);
        }
        // 106,265 pairs: 20,000 draws repeat about 1,800 times; far fewer distinct would mean
        // a broken draw.
        assert!(designations.len() > 17_000, "{}", designations.len());
    }

    // (c) A fixed sample of excluded words, by category.
    #[test]
    fn sample_of_harmful_words_is_excluded() {
        let sample = [
            // Named in the brief.
            "bruising",
            "captive",
            "custody",
            "gag",
            "handcuff",
            "strangle",
            "suffocate",
            "prison",
            "police",
            "morphine",
            "corned",
            // Detention and captivity.
            "cage",
            "muzzle",
            "deport",
            "squatting",
            // Policing and courts.
            "frisk",
            "snitch",
            "verdict",
            // Military and weapons.
            "shrapnel",
            "revolver",
            "jackknife",
            // Violence and injury.
            "flogging",
            "pummel",
            "mutilated",
            "scalding",
            // Death.
            "casket",
            "mortuary",
            // Medicine, illness, drugs.
            "sedative",
            "gangrene",
            "junkie",
            // Sexual content.
            "grope",
            "underwear",
            // Humiliation and insult.
            "imbecile",
            "scapegoat",
            "chimp",
            // Religion, ethnicity, nationality, politics.
            "blasphemy",
            "eskimo",
            "aliens",
            "dictator",
            // Fear, fire, explosion, harm.
            "shriek",
            "charred",
            "detonate",
            "voltage",
        ];
        assert!(sample.len() >= 31);
        let eff = eff();
        for w in sample {
            assert!(
                eff.contains(w),
                "{w:?} is not an EFF word: the sample proves nothing"
            );
            assert!(is_excluded(w), "{w:?} is not excluded");
            assert!(!codename_words().contains(&w), "{w:?}");
        }
    }

    // (d) The codename list keeps at least 7,000 words, and the documented figures are exact.
    #[test]
    fn codename_list_size_and_entropy_are_as_documented() {
        let eff = eff();
        assert_eq!(eff.len(), 7776);
        assert_eq!(codename_words().len(), CODENAME_WORDS);
        assert_eq!(eff.len() - excluded_words().len(), CODENAME_WORDS);
        let distinct: HashSet<_> = codename_words().iter().collect();
        assert_eq!(distinct.len(), CODENAME_WORDS);
        let bits = WORDS as f64 * (CODENAME_WORDS as f64).log2();
        assert!((bits - 89.41).abs() < 0.005, "{bits}");
        let pairs = DESIGNATION_ADJECTIVES * DESIGNATION_NOUNS;
        assert_eq!(pairs, 106_265);
        assert!(((pairs as f64).log2() - 16.7).abs() < 0.05);
    }

    // (e) A codename issued before the filter, made of now-excluded words, normalises and
    // derives exactly as before: the expected values were computed with the code as it was
    // before the filter existed (commit 263682b).
    #[test]
    fn issued_codenames_with_excluded_words_still_log_in() {
        let issued = "Bruising captive  custody\nGAG handcuff strangle prison";
        for w in issued.split_whitespace() {
            let w = w.to_lowercase();
            assert!(is_excluded(&w), "{w:?}: not an excluded word");
        }
        let normalised = normalise(issued).unwrap();
        assert_eq!(
            normalised.as_str(),
            "bruisingcaptivecustodygaghandcuffstrangleprison"
        );
        let d = derive(&normalised, &InstanceSecret::for_tests(1)).unwrap();
        assert_eq!(hex::encode(d.lookup), GOLDEN_LOOKUP);
        assert_eq!(d.reply_identity.to_public().to_string(), GOLDEN_RECIPIENT);
    }

    const GOLDEN_LOOKUP: &str = "b484b74f935ac46d46ea9452f30505d4005184e5aa2c3f07ca543a453783dcc5";
    const GOLDEN_RECIPIENT: &str = "age1fyafffzn0qxvmadh8qj4554gfsrnzdwp50ckwhmd3lylsqu355vshspc9d";

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
    fn the_normalised_codename_is_sized_up_front_and_never_grows() {
        // A `String` collected char by char grows by doubling, leaving copies behind; one sized
        // first has exactly the room it needs.
        for input in [
            "Oak  River\r\nLAMP stone fern cloud hill",
            "\u{130}stanbul Stra\u{df}e",
            "a",
        ] {
            let n = normalise(input).unwrap();
            assert_eq!(n.capacity(), n.len(), "{input}");
        }
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
