//! The guided questions and consent as form fields (SPEC: "Guided testimony and consent"):
//! their names, caps and fixed values, read by [`super::receive`] into the envelope's
//! [`Testimony`].
//!
//! Invariants:
//! - Every answer is bounded before it is buffered: the caller reads a text answer with at most
//!   [`Answers::text_cap`] bytes (and never more than is left of the message cap, which the
//!   message and all answers share), a choice with at most [`CHOICE_MAX_BYTES`].
//! - A choice outside its fixed set is refused ([`WebError::BadRequest`]); an empty choice is
//!   "not answered" (the forms offer "I would rather not say" as an empty value, since a radio
//!   cannot be unticked without JavaScript).
//! - The answers live only in [`Answers`], which overwrites them when dropped, then in the
//!   zeroised testimony [`Answers::finish`] returns, and then in the sealed envelope: nothing
//!   here logs, stores or returns a source's words in an error.
//! - Consent is stored only inside the envelope, and, for the source's own inbox, in a note
//!   sealed to the source's key ([`crate::server::consent_note`]); never in the clear.

use zeroize::{Zeroize, Zeroizing};

use super::i18n::Lang;
use super::WebError;
use crate::envelope::{Consent, Danger, Role, Testimony};

/// Longest one-line answer (`when`, `where`), in bytes.
pub const LINE_MAX_BYTES: usize = 2 * 1024;

/// Longest multi-line answer (`who`, `acts`, `injuries`, `witnesses`, `complaints`), in bytes.
/// The message and every answer together stay within [`super::MAX_MESSAGE_BYTES`].
pub const TEXT_MAX_BYTES: usize = 64 * 1024;

/// Longest choice value read (`self`, `records`, `yes`…); longer is a malformed form.
pub const CHOICE_MAX_BYTES: usize = 32;

/// The free-text fields and their caps, in the form's order.
pub const TEXT_FIELDS: [(&str, usize); 7] = [
    ("when", LINE_MAX_BYTES),
    ("where", LINE_MAX_BYTES),
    ("who", TEXT_MAX_BYTES),
    ("acts", TEXT_MAX_BYTES),
    ("injuries", TEXT_MAX_BYTES),
    ("witnesses", TEXT_MAX_BYTES),
    ("complaints", TEXT_MAX_BYTES),
];

/// The choice fields (radios and the one checkbox).
pub const CHOICE_FIELDS: [&str; 4] = ["role", "danger", "consent", "consent_name"];

/// The value the `consent_name` checkbox sends when ticked.
pub const CONSENT_NAME_YES: &str = "yes";

/// True for the name of a free-text answer.
pub fn is_text(name: &str) -> bool {
    TEXT_FIELDS.iter().any(|(n, _)| *n == name)
}

/// True for the name of a choice.
pub fn is_choice(name: &str) -> bool {
    CHOICE_FIELDS.contains(&name)
}

/// The answers of one form as they arrive. The first occurrence of a field counts; a repeated
/// field is read and dropped by the caller.
pub struct Answers {
    testimony: Testimony,
    seen: Vec<&'static str>,
}

impl Answers {
    /// No answers yet, on a page in `lang`.
    pub fn new(lang: Lang) -> Answers {
        Answers {
            testimony: Testimony::new(lang.code()),
            seen: Vec::new(),
        }
    }

    fn first_time(&mut self, name: &str) -> Option<&'static str> {
        let known = TEXT_FIELDS
            .iter()
            .map(|(n, _)| *n)
            .chain(CHOICE_FIELDS)
            .find(|n| *n == name)?;
        if self.seen.contains(&known) {
            return None;
        }
        self.seen.push(known);
        Some(known)
    }

    /// The cap for text field `name`, the first time it comes; `None` for a repeat (or a name
    /// that is not a text answer), which the caller skips.
    pub fn text_cap(&mut self, name: &str) -> Option<usize> {
        let cap = TEXT_FIELDS.iter().find(|(n, _)| *n == name)?.1;
        self.first_time(name).map(|_| cap)
    }

    /// Stores a text answer read under [`Answers::text_cap`]. Not UTF-8: a malformed form.
    /// Blank: not answered. Otherwise kept exactly as typed.
    pub fn set_text(&mut self, name: &str, bytes: &[u8]) -> Result<(), WebError> {
        let text = std::str::from_utf8(bytes).map_err(|_| WebError::BadRequest)?;
        if text.trim().is_empty() {
            return Ok(());
        }
        let t = &mut self.testimony;
        let slot = match name {
            "when" => &mut t.when,
            "where" => &mut t.where_,
            "who" => &mut t.who,
            "acts" => &mut t.acts,
            "injuries" => &mut t.injuries,
            "witnesses" => &mut t.witnesses,
            "complaints" => &mut t.complaints,
            _ => return Ok(()),
        };
        *slot = Some(text.to_owned());
        Ok(())
    }

    /// Stores a choice read with at most [`CHOICE_MAX_BYTES`]: a value outside the field's
    /// fixed set is a malformed form; empty is not answered; a repeat is ignored.
    pub fn set_choice(&mut self, name: &str, bytes: &[u8]) -> Result<(), WebError> {
        let value = std::str::from_utf8(bytes).map_err(|_| WebError::BadRequest)?;
        // Checked even for a repeat: no field carries a value outside its set.
        let bad = || WebError::BadRequest;
        let t = &mut self.testimony;
        let first = !self.seen.contains(&name);
        if first {
            if let Some(known) = CHOICE_FIELDS.iter().find(|n| **n == name) {
                self.seen.push(known);
            }
        }
        if value.is_empty() {
            return Ok(());
        }
        match name {
            "role" => {
                let v = Role::from_form(value).ok_or_else(bad)?;
                if first {
                    t.role = Some(v);
                }
            }
            "danger" => {
                let v = Danger::from_form(value).ok_or_else(bad)?;
                if first {
                    t.danger = Some(v);
                }
            }
            "consent" => {
                let v = Consent::from_form(value).ok_or_else(bad)?;
                if first {
                    t.consent = Some(v);
                }
            }
            "consent_name" => {
                if value != CONSENT_NAME_YES {
                    return Err(bad());
                }
                if first {
                    t.consent_name = Some(true);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// True when the source answered a question (consent aside).
    pub fn answers_a_question(&self) -> bool {
        self.testimony.answers_a_question()
    }

    /// True when the source answered a question or, on a follow-up, chose about consent: what
    /// makes a submission without message or files worth storing.
    pub fn says_something(&self, first_submission: bool) -> bool {
        let t = &self.testimony;
        t.answers_a_question()
            || (!first_submission && (t.consent.is_some() || t.consent_name.is_some()))
    }

    /// The testimony for the envelope.
    ///
    /// - A first submission always carries its consent explicitly: no answer is `records`
    ///   and the name not used (`consent_name: false`), and a consent without the box ticked
    ///   is `consent_name: false`.
    /// - A follow-up that chose a consent carries `consent_name` with it (`false` unless
    ///   ticked); one that kept its earlier choice carries no `consent`, and `consent_name`
    ///   only when the box was ticked. The inbox's form starts at the source's current choice
    ///   when their note is readable, so its follow-ups carry the whole choice; reviewers take,
    ///   for each of the two, the newest envelope that has it.
    pub fn finish(mut self, first_submission: bool) -> Zeroizing<Testimony> {
        let mut t = Zeroizing::new(std::mem::replace(&mut self.testimony, Testimony::new("")));
        if first_submission {
            t.consent.get_or_insert(Consent::Records);
        }
        if t.consent.is_some() {
            t.consent_name.get_or_insert(false);
        }
        t
    }
}

impl Drop for Answers {
    fn drop(&mut self) {
        self.testimony.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_answer_on_a_first_submission_is_the_most_restrictive_consent() {
        let t = Answers::new(Lang::Az).finish(true);
        assert_eq!(t.lang, "az");
        assert_eq!(t.consent, Some(Consent::Records));
        assert_eq!(t.consent_name, Some(false));
        assert!(!t.answers_a_question());
    }

    #[test]
    fn a_follow_up_that_keeps_its_choice_carries_no_consent() {
        let mut a = Answers::new(Lang::En);
        a.set_choice("consent", b"").unwrap();
        assert!(!a.says_something(false));
        let t = a.finish(false);
        assert_eq!((t.consent, t.consent_name), (None, None));

        let mut a = Answers::new(Lang::En);
        a.set_choice("consent", b"publish").unwrap();
        assert!(a.says_something(false) && !a.says_something(true));
        let t = a.finish(false);
        assert_eq!(
            (t.consent, t.consent_name),
            (Some(Consent::Publish), Some(false))
        );
    }

    #[test]
    fn values_outside_the_fixed_sets_are_refused() {
        let mut a = Answers::new(Lang::Ru);
        for (name, value) in [
            ("role", "boss"),
            ("danger", "maybe"),
            ("consent", "everything"),
            ("consent", "Records"),
            ("consent_name", "on"),
        ] {
            assert!(
                matches!(
                    a.set_choice(name, value.as_bytes()),
                    Err(WebError::BadRequest)
                ),
                "{name}={value}"
            );
        }
        assert!(a.set_text("who", b"\xff").is_err());
    }

    #[test]
    fn the_first_answer_counts_and_blank_answers_are_absent() {
        let mut a = Answers::new(Lang::Ru);
        assert_eq!(a.text_cap("who"), Some(TEXT_MAX_BYTES));
        a.set_text("who", b"  \n ").unwrap();
        assert_eq!(a.text_cap("who"), None);
        assert_eq!(a.text_cap("when"), Some(LINE_MAX_BYTES));
        a.set_text("when", b"March").unwrap();
        a.set_choice("role", b"self").unwrap();
        a.set_choice("role", b"lawyer").unwrap();
        let t = a.finish(true);
        assert_eq!(t.who, None);
        assert_eq!(t.when.as_deref(), Some("March"));
        assert_eq!(t.role, Some(Role::Myself));
    }
}
