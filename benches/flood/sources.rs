//! The load every attack is measured against: a real source submitting a 1 MiB file through
//! the normal form (GET the form for its token, POST the multipart body) again and again, and a
//! returning source logging in with its codename and opening its inbox every few seconds.
//!
//! Part of the flood benchmark, `cargo bench --bench flood [-- --seconds N]` (see `main.rs`).

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::common::client::{form_token, get, post_login, receipt_codename, session_cookie};
use crate::common::procfs::median;
use crate::wire::{
    answer_label, error_label, left, sleep_until_stopped, submit, Frame, Tally, STORED,
};

/// The first submission's form and its target.
pub const SUBMIT: &str = "/en/submit";
/// The login form and its target.
pub const LOGIN: &str = "/en/login";
/// The inbox a session opens.
const INBOX: &str = "/en/inbox";

/// The label of a login that reached the inbox.
pub const IN_INBOX: &str = "inbox";

/// The limit for the real source's submission, and the deadline of each one.
pub const SUBMIT_LIMIT: Duration = Duration::from_secs(120);

/// Pause between the real source's submissions.
const SOURCE_PAUSE: Duration = Duration::from_secs(1);

/// Most submissions by the real source during one attack.
const MAX_SUBMISSIONS: usize = 1000;

/// Pause between the returning source's logins.
const LOGIN_EVERY: Duration = Duration::from_secs(5);

/// Most logins by the returning source during one attack.
const MAX_LOGINS: usize = 200;

/// Deadline of one login and inbox visit.
pub const LOGIN_LIMIT: Duration = Duration::from_secs(120);

/// One request of a source and what it came to.
pub struct Attempt {
    /// When it started (the GET of its form).
    pub started: Instant,
    /// How long it took, form included.
    pub took: Duration,
    /// Its label: [`STORED`], [`IN_INBOX`], or what happened instead.
    pub label: String,
}

/// Submits `file` with `message` as a new source through the normal form, by `deadline`.
/// Returns the label ([`STORED`] for a receipt with a codename) and the codename.
pub fn submit_once(
    addr: &str,
    file: &[u8],
    message: &str,
    deadline: Instant,
) -> (String, Option<String>) {
    let result = (|| -> Result<_> {
        let token = form_token(addr, SUBMIT, SUBMIT, None, left(deadline)?)?;
        let frame = Frame::new(addr, SUBMIT, &token, None, message, file.len() as u64)?;
        submit(addr, &frame, file, deadline)
    })();
    match result {
        Ok(res) if res.status == 200 => match receipt_codename(&res.body) {
            Ok(codename) => (STORED.to_owned(), Some(codename)),
            Err(_) => ("200 without a codename".to_owned(), None),
        },
        Ok(res) => (answer_label(&res), None),
        Err(e) => (error_label(&e), None),
    }
}

/// The real source: submits `file` again and again until `until`; the last one may end later,
/// by its own deadline ([`SUBMIT_LIMIT`]).
pub fn real_source(addr: &str, file: &[u8], until: Instant) -> Vec<Attempt> {
    let mut attempts = Vec::new();
    while Instant::now() < until && attempts.len() < MAX_SUBMISSIONS {
        let started = Instant::now();
        let (label, _) = submit_once(
            addr,
            file,
            "Flood benchmark: the real source's testimony.",
            started + SUBMIT_LIMIT,
        );
        attempts.push(Attempt {
            started,
            took: started.elapsed(),
            label,
        });
        let pause = SOURCE_PAUSE.min(until.saturating_duration_since(Instant::now()));
        std::thread::sleep(pause);
    }
    attempts
}

/// Logs in with the form `token` and `codename`, then opens the inbox with the session, by
/// `deadline`: [`IN_INBOX`] when the inbox opened.
pub fn login_to_inbox(addr: &str, token: &str, codename: &str, deadline: Instant) -> String {
    let result = (|| -> Result<String> {
        let res = post_login(addr, token, codename, left(deadline)?)?;
        let Some(cookie) = session_cookie(&res) else {
            return Ok(if res.status == 200 {
                "login page again".to_owned()
            } else {
                answer_label(&res)
            });
        };
        let inbox = get(addr, INBOX, Some(&cookie), left(deadline)?)?;
        let opened = inbox.status == 200
            && String::from_utf8_lossy(&inbox.body).contains("action=\"/en/inbox/submit\"");
        Ok(if opened {
            IN_INBOX.to_owned()
        } else {
            format!("inbox answered {}", answer_label(&inbox))
        })
    })();
    result.unwrap_or_else(|e| error_label(&e))
}

/// The returning source: every [`LOGIN_EVERY`] until `stop`, gets the login form, logs in
/// and opens its inbox.
pub fn returning_source(addr: &str, codename: &str, stop: &AtomicBool) -> Vec<Attempt> {
    let mut attempts = Vec::new();
    while attempts.len() < MAX_LOGINS {
        let started = Instant::now();
        let deadline = started + LOGIN_LIMIT;
        let label = match left(deadline)
            .map_err(anyhow::Error::from)
            .and_then(|d| form_token(addr, LOGIN, LOGIN, None, d))
        {
            Ok(token) => login_to_inbox(addr, &token, codename, deadline),
            Err(e) => error_label(&e),
        };
        attempts.push(Attempt {
            started,
            took: started.elapsed(),
            label,
        });
        if !sleep_until_stopped(LOGIN_EVERY, stop) {
            break;
        }
    }
    attempts
}

/// What a source's requests during one attack came to.
pub struct Figures {
    /// Requests made.
    pub tried: usize,
    /// Requests that came to the good label.
    pub ok: usize,
    /// Longest and median time of a request, seconds.
    pub max: f64,
    pub median: f64,
    /// Every label.
    pub tally: Tally,
    /// The longest time without a success, retrying after refusals: from the first request
    /// after a success (or the first of all) to the end of the next success; `true` when it
    /// ran to the end of the attack without one.
    pub longest_wait: (Duration, bool),
}

impl Figures {
    /// The figures of `attempts`, where `good` is the label of a success.
    pub fn of(attempts: &[Attempt], good: &str) -> Figures {
        let mut tally = Tally::default();
        // Start of the current run of requests without a success.
        let mut since: Option<Instant> = None;
        let mut longest = (Duration::ZERO, false);
        for a in attempts {
            tally.add(a.label.clone());
            let from = *since.get_or_insert(a.started);
            if a.label == good {
                longest.0 = longest.0.max(a.started + a.took - from);
                since = None;
            }
        }
        if let (Some(from), Some(last)) = (since, attempts.last()) {
            let wait = last.started + last.took - from;
            if wait > longest.0 {
                longest = (wait, true);
            }
        }
        Figures {
            tried: attempts.len(),
            ok: tally.count(good),
            max: attempts
                .iter()
                .map(|a| a.took.as_secs_f64())
                .fold(0.0, f64::max),
            median: median(attempts.iter().map(|a| a.took.as_secs_f64())),
            tally,
            longest_wait: longest,
        }
    }
}
