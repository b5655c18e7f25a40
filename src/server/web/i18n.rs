//! Languages of the source interface and their texts (Fluent files in `locales/LANG/`).
//!
//! Invariant: the language comes only from the URL prefix (`/en/`, `/az/`, `/ru/`): Tor Browser
//! hides the browser's language, and a guess from headers would differ between sources.
//! Isolation marks are off, so texts carry no invisible characters.

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{static_loader, Loader};
use unic_langid::{langid, LanguageIdentifier};

use crate::util::size::{human_size_in, SizeStyle};

static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// A language of the interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Azerbaijani.
    Az,
    /// Russian.
    Ru,
}

/// Every language, in the order of the language switch.
pub const ALL: [Lang; 3] = [Lang::En, Lang::Az, Lang::Ru];

impl Lang {
    /// The language for a URL prefix.
    pub fn from_code(code: &str) -> Option<Lang> {
        ALL.into_iter().find(|l| l.code() == code)
    }

    /// The URL prefix and `lang` attribute.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Az => "az",
            Lang::Ru => "ru",
        }
    }

    /// The language's name in itself, for the switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Az => "Azərbaycanca",
            Lang::Ru => "Русский",
        }
    }

    /// A size written the way this language writes it (see [`SizeStyle`]).
    pub fn size(self, bytes: u64) -> String {
        let style = match self {
            Lang::En => SizeStyle::English,
            Lang::Az => SizeStyle::Azerbaijani,
            Lang::Ru => SizeStyle::Russian,
        };
        human_size_in(bytes, style)
    }

    fn id(self) -> LanguageIdentifier {
        match self {
            Lang::En => langid!("en"),
            Lang::Az => langid!("az"),
            Lang::Ru => langid!("ru"),
        }
    }

    /// The text `id`; the id itself if it is missing (a test keeps that from happening).
    pub fn t(self, id: &str) -> String {
        LOCALES
            .try_lookup(&self.id(), id)
            .unwrap_or_else(|| id.to_owned())
    }

    /// The text `id` with arguments.
    pub fn t_args(self, id: &str, args: &[(&'static str, FluentValue<'static>)]) -> String {
        let map: HashMap<Cow<'static, str>, FluentValue<'static>> = args
            .iter()
            .map(|(k, v)| (Cow::Borrowed(*k), v.clone()))
            .collect();
        LOCALES
            .try_lookup_with_args(&self.id(), id, &map)
            .unwrap_or_else(|| id.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_plurals() {
        let t = |n: u32| Lang::Ru.t_args("receipt-files", &[("count", n.into())]);
        assert!(
            t(1).contains("1 файл") && !t(1).contains("файла"),
            "{}",
            t(1)
        );
        assert!(t(3).contains("3 файла"), "{}", t(3));
        assert!(t(5).contains("5 файлов"), "{}", t(5));
        assert!(
            t(21).contains("21 файл") && !t(21).contains("файла"),
            "{}",
            t(21)
        );
    }

    fn ids(lang: &str) -> Vec<String> {
        let path = format!("{}/locales/{lang}/main.ftl", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        text.lines()
            .filter_map(|l| {
                let (id, _) = l.split_once(" =")?;
                (id.chars().next()?.is_ascii_lowercase()
                    && id
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
                .then(|| id.to_owned())
            })
            .collect()
    }

    fn sources() -> String {
        let root = env!("CARGO_MANIFEST_DIR");
        let mut all = String::new();
        let mut stack = vec![format!("{root}/templates"), format!("{root}/src")];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p.display().to_string());
                } else if p.extension().is_some_and(|x| x == "rs" || x == "html") {
                    all.push_str(&std::fs::read_to_string(&p).unwrap());
                }
            }
        }
        all
    }

    /// Fails when a message id is missing in a language, or defined but never used.
    #[test]
    fn every_language_has_every_message_and_every_message_is_used() {
        let en = ids("en");
        assert!(en.len() > 50);
        for lang in ["az", "ru"] {
            let other = ids(lang);
            let missing: Vec<_> = en.iter().filter(|id| !other.contains(id)).collect();
            let extra: Vec<_> = other.iter().filter(|id| !en.contains(id)).collect();
            assert!(missing.is_empty(), "{lang} lacks {missing:?}");
            assert!(extra.is_empty(), "{lang} has unknown {extra:?}");
        }
        let code = sources();
        let unused: Vec<_> = en
            .iter()
            .filter(|id| !code.contains(&format!("\"{id}\"")))
            .collect();
        assert!(unused.is_empty(), "unused message ids: {unused:?}");
        for lang in ALL {
            for id in &en {
                let text = lang.t_args(
                    id,
                    &[
                        ("org", "O".into()),
                        ("kib", 1.into()),
                        ("limit", "1 GiB".into()),
                        ("count", 2.into()),
                        ("day", "2026-01-01".into()),
                        ("max", 3.into()),
                    ],
                );
                assert!(!text.is_empty() && text != *id, "{}: {id}", lang.code());
                assert!(
                    !text.contains('{'),
                    "{}: {id} has an unresolved placeable",
                    lang.code()
                );
            }
        }
    }

    /// Fails when a text of the guided questions, consent or large-file advice is left in
    /// English in another language (the completeness check above only sees that it exists),
    /// or when a language calls testimony by a word the review ruled out.
    #[test]
    fn guided_texts_are_translated_and_avoid_the_ruled_out_words() {
        let en = ids("en");
        let new: Vec<_> = en
            .iter()
            .filter(|id| {
                [
                    "guided-",
                    "consent-",
                    "receipt-consent",
                    "receipt-name",
                    "large-files",
                ]
                .iter()
                .any(|p| id.starts_with(p))
                    || id.ends_with("-large-files")
            })
            .collect();
        assert!(new.len() > 40, "{new:?}");
        for lang in [Lang::Az, Lang::Ru] {
            for id in &new {
                let (here, english) = (lang.t(id), Lang::En.t(id));
                // Short answers may match by chance (none do today).
                assert_ne!(here, english, "{}: {id} is not translated", lang.code());
            }
        }
        // Azerbaijani: not "ifadə" (statements police take) nor "kod adı"; Russian: not
        // «показания», «под стражей», «кодовое имя» or a Tor Browser level that does not exist.
        let ruled_out: [(Lang, &[&str]); 2] = [
            (Lang::Az, &["ifadə", "kod adı", "əməkdaş"]),
            (
                Lang::Ru,
                &[
                    "показани",
                    "под стражей",
                    "кодовое имя",
                    "кодового имени",
                    "кодовому имени",
                    "Наиболее безопасный",
                    "сотрудник",
                ],
            ),
        ];
        for (lang, words) in ruled_out {
            for id in &en {
                let text = lang.t_args(
                    id,
                    &[
                        ("org", "O".into()),
                        ("kib", 1.into()),
                        ("limit", "1".into()),
                        ("count", 2.into()),
                        ("day", "2026-01-01".into()),
                        ("max", 3.into()),
                    ],
                );
                let text = text.to_lowercase();
                for w in words {
                    let w = w.to_lowercase();
                    // At the start of a word: "istifadə" (use) is not "ifadə".
                    let starts_word = text.match_indices(&w).any(|(at, _)| {
                        !text[..at]
                            .chars()
                            .next_back()
                            .is_some_and(char::is_alphabetic)
                    });
                    assert!(!starts_word, "{}: {id} says {w:?}", lang.code());
                }
            }
        }
    }

    #[test]
    fn no_isolation_marks() {
        let s = Lang::En.t_args("landing-title", &[("org", "Org".into())]);
        assert_eq!(s, "Org: send testimony safely");
    }
}
