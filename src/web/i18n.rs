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

    #[test]
    fn no_isolation_marks() {
        let s = Lang::En.t_args("landing-title", &[("org", "Org".into())]);
        assert_eq!(s, "Org: send testimony safely");
    }
}
