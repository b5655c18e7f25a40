//! A returning source's current consent, kept so the inbox can show it to them, and only them.
//!
//! The choice itself travels in each submission's envelope, sealed to the reviewers; the
//! reviewers take the newest. This note is a copy for the source: after every submission that
//! changes the choice, the server stores `{"consent": …, "consent_name": …}` encrypted with age
//! to the source's own reply recipient (derived from their codename), padded like every stored
//! ciphertext ([`crate::pad`], so every note has the same size). Only a logged-in session, which
//! holds the reply identity, can read it.
//!
//! Invariants:
//! - The server never stores or logs the choice in the clear: a note is sealed before it leaves
//!   the request that made it, and opened only in the request of a logged-in session, in memory.
//! - A note is written only when the choice changes, so a follow-up that keeps it writes nothing
//!   that ties the source to that submission.
//! - A note the session cannot open (damaged, or for another key) is treated as absent: the
//!   inbox then says it cannot show the earlier choice, as it did before notes existed.

use age::x25519::{Identity, Recipient};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::envelope::{Consent, Testimony};

/// What a source last chose.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentNote {
    /// The newest `consent` sent (`None`: never sent in a follow-up of a source whose earlier
    /// choice is unknown).
    pub consent: Option<Consent>,
    /// The newest `consent_name` sent.
    pub consent_name: Option<bool>,
}

impl ConsentNote {
    /// The note after a submission carrying `testimony`: each of the two choices is the
    /// newest sent, as the reviewers read them from the envelopes.
    pub fn after(previous: Option<ConsentNote>, testimony: &Testimony) -> ConsentNote {
        let before = previous.unwrap_or_default();
        ConsentNote {
            consent: testimony.consent.or(before.consent),
            consent_name: testimony.consent_name.or(before.consent_name),
        }
    }

    /// Seals the note to the source's reply recipient.
    pub fn seal(&self, recipient: &Recipient) -> Result<Vec<u8>, crate::reply::ReplyError> {
        let json = Zeroizing::new(serde_json::to_string(self).map_err(|e| {
            crate::reply::ReplyError::Encrypt(std::io::Error::other(e.to_string()))
        })?);
        crate::reply::encrypt_reply(&json, std::slice::from_ref(recipient))
    }

    /// Opens a sealed note with the session's identity; `None` if it is not one.
    pub fn open(sealed: &[u8], identity: &Identity) -> Option<ConsentNote> {
        let json = crate::reply::decrypt_reply(sealed, identity).ok()?;
        serde_json::from_str(&json).ok()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_note_opens_only_with_its_source_identity_and_every_note_has_one_size() {
        let me = Identity::generate();
        let other = Identity::generate();
        let a = ConsentNote {
            consent: Some(Consent::Publish),
            consent_name: Some(true),
        };
        let sealed = a.seal(&me.to_public()).unwrap();
        assert_eq!(ConsentNote::open(&sealed, &me), Some(a));
        assert_eq!(ConsentNote::open(&sealed, &other), None);
        assert_eq!(ConsentNote::open(b"not age", &me), None);
        let b = ConsentNote::default().seal(&me.to_public()).unwrap();
        assert_eq!(sealed.len(), b.len());
        assert!(!String::from_utf8_lossy(&sealed).contains("publish"));
    }

    #[test]
    fn the_newest_choice_of_each_kind_stands() {
        let first = {
            let mut t = Testimony::new("en");
            t.consent = Some(Consent::Legal);
            t.consent_name = Some(true);
            ConsentNote::after(None, &t)
        };
        assert_eq!(first.consent, Some(Consent::Legal));
        // A follow-up that keeps its choice changes nothing.
        assert_eq!(
            ConsentNote::after(Some(first), &Testimony::new("en")),
            first
        );
        // A new consent comes with its name choice.
        let mut t = Testimony::new("en");
        t.consent = Some(Consent::Records);
        t.consent_name = Some(false);
        assert_eq!(
            ConsentNote::after(Some(first), &t),
            ConsentNote {
                consent: Some(Consent::Records),
                consent_name: Some(false)
            }
        );
        // The name box alone, for a source whose earlier consent is unknown.
        let mut t = Testimony::new("en");
        t.consent_name = Some(true);
        assert_eq!(
            ConsentNote::after(None, &t),
            ConsentNote {
                consent: None,
                consent_name: Some(true)
            }
        );
    }
}
