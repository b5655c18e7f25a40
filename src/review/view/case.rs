//! What the pages say about the case, before any HTML: submissions grouped by source, newest
//! first, which sources have not been answered yet, and what needs the reviewer's attention.
//!
//! Invariant: everything here is decided from the records alone (no clock, no file system),
//! so the same case folder always gives the same pages, byte for byte.

use std::collections::{BTreeMap, BTreeSet};

use super::load::Folder;
use crate::day::Day;
use crate::review::case::KeptReply;
use crate::review::clean::Finding;
use crate::review::decrypt::DecryptedSubmission;

/// The case: every source, and the submissions that could not be read.
pub(super) struct Case<'a> {
    /// Sources waiting for an answer first, then the others; each part newest first.
    pub groups: Vec<Group<'a>>,
    /// Folders whose `submission.json` could not be read.
    pub unreadable: Vec<&'a Folder>,
}

/// One source: the submissions sharing a reference (or one submission without a source).
pub(super) struct Group<'a> {
    /// `source.reference`; `None` for a submission sent without one.
    pub reference: Option<&'a str>,
    /// The designation in the newest submission.
    pub designation: Option<&'a str>,
    /// Newest first.
    pub subs: Vec<Sub<'a>>,
    /// Newest first.
    pub replies: Vec<Reply<'a>>,
    /// Whether it waits for an answer.
    pub state: State,
}

/// One readable submission.
pub(super) struct Sub<'a> {
    /// Its folder name.
    pub id: &'a str,
    /// Its `submission.json`.
    pub s: &'a DecryptedSubmission,
    /// `received_at` when it is the RFC 3339 UTC time this tool writes (`None` sorts oldest).
    pub received: Option<Received<'a>>,
}

/// A `received_at` of the form `YYYY-MM-DDTHH:MM:SSZ`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Received<'a> {
    /// The whole timestamp (this form sorts as text).
    pub raw: &'a str,
}

impl<'a> Received<'a> {
    /// Parses the one form the server writes; anything else is shown as text only.
    pub fn parse(raw: &'a str) -> Option<Received<'a>> {
        let b = raw.as_bytes();
        if b.len() != 20 || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z' {
            return None;
        }
        Day::parse(&raw[..10])?;
        let two = |i: usize| -> Option<u8> {
            let s = raw.get(i..i + 2)?;
            s.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| s.parse().ok())?
        };
        let (h, m, s) = (two(11)?, two(14)?, two(17)?);
        (h < 24 && m < 60 && s < 61).then_some(Received { raw })
    }

    /// `YYYY-MM-DD`.
    pub fn date(self) -> &'a str {
        &self.raw[..10]
    }

    /// `HH:MM:SS`.
    pub fn time(self) -> &'a str {
        &self.raw[11..19]
    }
}

/// One reply sent to the source.
pub(super) struct Reply<'a> {
    /// The submission folder it is kept in (the submission it answers).
    pub folder: &'a str,
    /// The record.
    pub r: &'a KeptReply,
    /// Sorts it among the submissions: right after the submission it answers when written
    /// the same day, else at the end of its day; "" (oldest) for a malformed day.
    key: String,
}

/// Whether a source waits for an answer.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(super) enum State {
    /// The newest submission came after the newest reply, or there is no reply.
    Waiting,
    /// A reply came after the newest submission.
    Answered,
    /// Sent without a source reference: there is no way to reply.
    NoWayToReply,
}

/// One line of a source's history.
pub(super) enum Entry<'g, 'a> {
    /// A submission received.
    Sub(&'g Sub<'a>),
    /// A reply sent.
    Reply(&'g Reply<'a>),
}

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key<'a> {
    Source(&'a str),
    Alone(&'a str),
}

impl<'a> Case<'a> {
    /// Groups the folders by source and orders everything.
    pub fn new(folders: &'a [Folder]) -> Case<'a> {
        let mut groups: BTreeMap<Key<'a>, Group<'a>> = BTreeMap::new();
        let mut unreadable = Vec::new();
        let empty = |reference| Group {
            reference,
            designation: None,
            subs: Vec::new(),
            replies: Vec::new(),
            state: State::Waiting,
        };
        for f in folders {
            let Ok(s) = &f.submission else {
                unreadable.push(f);
                continue;
            };
            let reference = s.envelope.source.as_ref().map(|src| src.reference.as_str());
            let key = reference.map_or(Key::Alone(&f.id), Key::Source);
            groups
                .entry(key)
                .or_insert_with(|| empty(reference))
                .subs
                .push(Sub {
                    id: &f.id,
                    s,
                    received: Received::parse(&s.envelope.received_at),
                });
        }
        for f in folders {
            let answered = f.submission.as_ref().ok();
            for r in &f.replies {
                let key = reply_key(
                    r,
                    answered.and_then(|s| Received::parse(&s.envelope.received_at)),
                );
                groups
                    .entry(Key::Source(&r.reference))
                    .or_insert_with(|| empty(Some(&r.reference)))
                    .replies
                    .push(Reply {
                        folder: &f.id,
                        r,
                        key,
                    });
            }
        }
        let mut groups: Vec<Group<'a>> = groups.into_values().collect();
        for g in &mut groups {
            g.subs
                .sort_by(|a, b| (b.received, b.id).cmp(&(a.received, a.id)));
            g.replies
                .sort_by(|a, b| (&b.key, &b.r.id).cmp(&(&a.key, &a.r.id)));
            g.designation = g
                .subs
                .first()
                .and_then(|s| s.s.envelope.source.as_ref())
                .map(|src| src.designation.as_str());
            g.state = state(g);
        }
        groups.sort_by(|a, b| {
            let rank = |g: &Group<'_>| u8::from(g.state != State::Waiting);
            (rank(a), b.newest()).cmp(&(rank(b), a.newest()))
        });
        Case { groups, unreadable }
    }

    /// How many sources.
    pub fn sources(&self) -> usize {
        self.groups.len()
    }

    /// The source of the submission in folder `id`.
    pub fn group_of(&self, id: &str) -> Option<&Group<'a>> {
        self.groups
            .iter()
            .find(|g| g.subs.iter().any(|s| s.id == id))
    }
}

impl<'a> Group<'a> {
    /// The newest submission's time, for ordering sources.
    fn newest(&self) -> (Option<Received<'a>>, &'a str) {
        self.subs.first().map_or((None, ""), |s| (s.received, s.id))
    }

    /// Submissions and replies merged, newest first.
    pub fn timeline(&self) -> Vec<Entry<'_, 'a>> {
        let mut out = Vec::with_capacity(self.subs.len() + self.replies.len());
        let (mut subs, mut replies) = (self.subs.iter().peekable(), self.replies.iter().peekable());
        loop {
            let take_reply = match (subs.peek(), replies.peek()) {
                (None, None) => break,
                (Some(_), None) => false,
                (None, Some(_)) => true,
                (Some(s), Some(r)) => r.key.as_str() >= s.received.map_or("", |t| t.raw),
            };
            if take_reply {
                out.extend(replies.next().map(Entry::Reply));
            } else {
                out.extend(subs.next().map(Entry::Sub));
            }
        }
        out
    }
}

fn reply_key(r: &KeptReply, answered: Option<Received<'_>>) -> String {
    if Day::parse(&r.day).is_none() {
        return String::new();
    }
    match answered {
        // '~' sorts after every digit and 'Z': just after the submission, before anything
        // received later that day.
        Some(t) if t.date() == r.day => format!("{}~", t.raw),
        _ => format!("{}T~", r.day),
    }
}

/// A source is answered when a reply is kept with its newest submission, or a reply was
/// written on a later day than the newest submission arrived. (A reply records only its
/// day, so one written the same day with an older submission does not count.)
fn state(g: &Group<'_>) -> State {
    if g.reference.is_none() {
        return State::NoWayToReply;
    }
    let Some(newest) = g.subs.first() else {
        return State::Answered;
    };
    let later_day = |r: &Reply<'_>| {
        Day::parse(&r.r.day).is_some()
            && newest.received.is_some_and(|t| r.r.day.as_str() > t.date())
    };
    if g.replies
        .iter()
        .any(|r| r.folder == newest.id || later_day(r))
    {
        State::Answered
    } else {
        State::Waiting
    }
}

/// Something about a submission the reviewer must know before relying on it.
pub(super) fn problems(s: &DecryptedSubmission) -> Vec<String> {
    let v = &s.verified;
    let mut out = Vec::new();
    if !v.ciphertext_sha256_ok {
        out.push(
            "The encrypted files did not match the export's record: this copy may have been altered."
                .to_owned(),
        );
    }
    if !v.plaintext_sha256_ok {
        out.push(
            "A decrypted file did not match the size and checksum the server recorded.".to_owned(),
        );
    }
    if let Some(c) = &v.case_ledger {
        if !c.agrees {
            out.push("This export does not agree with the ledger this case folder already knew: an export may have been altered or replaced.".to_owned());
        }
        if let Some((first, last)) = c.gap {
            out.push(format!("Ledger entries {first} to {last} were in no export this case folder has seen: an export may be missing."));
        }
    }
    out
}

/// True when the submission has a problem or its `problems` list is not empty.
pub(super) fn has_problems(s: &DecryptedSubmission) -> bool {
    !problems(s).is_empty() || !s.verified.problems.is_empty()
}

/// What a metadata finding is about, for the sentence said prominently.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(super) enum Reveal {
    /// Where (GPS, a place).
    Location,
    /// The camera, phone, computer or program.
    Device,
    /// A person's name (author, owner, editor).
    Person,
    /// When it was made or changed.
    Time,
    /// Anything else.
    Other,
}

/// Sorts a finding by what it is `about`, or else by the words of its plain-English `what`
/// (the cleaner's wording, e.g.
/// "where the photo was taken (GPS)", "the camera or phone: make and model", "the author's
/// name").
pub(super) fn classify(f: &Finding) -> Reveal {
    use crate::review::clean::About;
    // The cleaner says what a finding is about; the words are read only when it does not.
    match f.about {
        About::Location => return Reveal::Location,
        About::Device | About::Identifier | About::Software => return Reveal::Device,
        About::Person => return Reveal::Person,
        About::Time => return Reveal::Time,
        About::Hidden | About::Other => {}
    }
    let w = f.what.to_lowercase();
    let any = |words: &[&str]| words.iter().any(|x| w.contains(x));
    if any(&[
        "gps",
        "location",
        "where",
        "coordinate",
        "latitude",
        "longitude",
        "place",
        "address",
    ]) {
        Reveal::Location
    } else if any(&[
        "camera",
        "phone",
        "device",
        "make",
        "model",
        "serial",
        "lens",
        "software",
        "program",
        "computer",
        "application",
        "producer",
    ]) {
        Reveal::Device
    } else if any(&[
        "author",
        "creator",
        "owner",
        "name",
        "user",
        "editor",
        "company",
        "artist",
        "copyright",
        "person",
        "organisation",
        "organization",
    ]) {
        Reveal::Person
    } else if any(&["time", "date", "when", "created", "modified", "edited"]) {
        Reveal::Time
    } else {
        Reveal::Other
    }
}

/// What the attachments of a submission reveal, over all of them.
pub(super) fn reveals(s: &DecryptedSubmission) -> BTreeSet<Reveal> {
    s.verified
        .attachments
        .iter()
        .flat_map(|a| a.found.iter().map(classify))
        .collect()
}
