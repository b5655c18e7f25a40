//! Codename derivations (Argon2id, 64 MiB each) behind one bounded queue, off the async threads.
//!
//! Logins and first submissions wait in the same first-come, first-served queue
//! ([`DerivationQueue`]): a place in it ([`MAX_QUEUED`]), then one of the [`MAX_DERIVATIONS`]
//! slots that run a derivation on the blocking pool.
//!
//! Invariants:
//! - At most [`MAX_DERIVATIONS`] derivations run at once, whatever the flood, so logins and
//!   first submissions use at most that many times 64 MiB beyond the server's own memory.
//! - At most [`MAX_QUEUED`] requests wait for a slot or hold one. A login that finds every place
//!   taken gets "busy" at once; nothing is kept for it. A place is a semaphore permit, not a
//!   thread or a buffer: a request in the queue holds only its normalised codename (a few hundred
//!   bytes, zeroised on drop), and a request dropped while it waits (the client went away) gives
//!   its place back at once.
//! - No request waits longer than its kind's bound ([`LOGIN_WAIT`], [`SUBMISSION_WAIT`]); then
//!   it gets "busy".
//! - The codename is moved into the blocking task and dropped (zeroised) there; the slot is held
//!   by that task, so a derivation whose client went away still counts until it ends.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::Instant;
use zeroize::Zeroizing;

use super::{blocking, AppState, WebError};
use crate::server::codename::{self, Derived};

/// Argon2id derivations at once (64 MiB each).
pub const MAX_DERIVATIONS: usize = 2;

/// Requests (logins and first submissions) waiting for a derivation or running one.
///
/// A derivation takes 0.1-0.3 s on the 2-core host the guide recommends, two at once, so the
/// last of 64 is served after about 64 / 2 × 0.3 s ≈ 10 s: a burst of a few dozen logins
/// completes, and [`LOGIN_WAIT`] is reached only on a host six times slower. A larger queue
/// would only make everyone in it wait longer under a flood, which it cannot stop (the
/// derivation rate is the limit); a place costs a semaphore permit and the request's small
/// state, so 64 of them cost well under a megabyte.
pub const MAX_QUEUED: usize = 64;

// A burst of two dozen logins (the figure the README promises) waits; it is never "busy".
const _: () = assert!(MAX_QUEUED >= 24);

/// Longest a login waits for a derivation slot once it has a place in the queue. A Tor user
/// waits about a minute for a page before giving up; beyond that a "busy" page with
/// `Retry-After` tells them more than a page that never comes.
pub const LOGIN_WAIT: Duration = Duration::from_secs(60);

/// Longest a first submission waits for a place and a slot together. Its upload has already
/// arrived (and holds an upload slot), so it waits longer than a login rather than throw the
/// upload away, and it waits for a place instead of being turned away when the queue is full.
pub const SUBMISSION_WAIT: Duration = Duration::from_secs(120);

/// Which kind of request wants a derivation, and so how it waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// A first submission, which has already arrived: waits for a place in the queue and then
    /// for a slot, up to [`SUBMISSION_WAIT`] in all.
    Queue,
    /// A login: takes a place in the queue at once or answers "busy", then waits for a slot up
    /// to [`LOGIN_WAIT`].
    Login,
}

/// The one queue in front of the derivation slots. See the module docs for its invariants.
pub struct DerivationQueue {
    /// Places in the queue: held from entry until the derivation ends.
    places: Arc<Semaphore>,
    /// Derivation slots: held by the blocking task while it derives.
    slots: Arc<Semaphore>,
    login_wait: Duration,
    submission_wait: Duration,
}

impl Default for DerivationQueue {
    fn default() -> Self {
        DerivationQueue::with_limits(MAX_DERIVATIONS, MAX_QUEUED, LOGIN_WAIT, SUBMISSION_WAIT)
    }
}

impl DerivationQueue {
    /// A queue of `places` in front of `slots` derivations at once (at least one of each).
    fn with_limits(
        slots: usize,
        places: usize,
        login_wait: Duration,
        submission_wait: Duration,
    ) -> Self {
        DerivationQueue {
            places: Arc::new(Semaphore::new(places.max(slots).max(1))),
            slots: Arc::new(Semaphore::new(slots.max(1))),
            login_wait,
            submission_wait,
        }
    }

    /// Runs `f` on the blocking pool once a place and a slot are free; "busy" when the queue is
    /// full (a login) or the wait is over. `f` is the derivation: it MUST own everything secret
    /// it needs, so that what waits is dropped (and zeroised) with it.
    async fn run<T, E>(
        &self,
        what: &'static str,
        wait: Wait,
        f: impl FnOnce() -> Result<T, E> + Send + 'static,
    ) -> Result<T, WebError>
    where
        T: Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        let (place, deadline) = match wait {
            Wait::Login => {
                let place = self
                    .places
                    .clone()
                    .try_acquire_owned()
                    .map_err(|_| WebError::Busy)?;
                (place, Instant::now() + self.login_wait)
            }
            Wait::Queue => {
                let deadline = Instant::now() + self.submission_wait;
                match tokio::time::timeout_at(deadline, self.places.clone().acquire_owned()).await {
                    Ok(Ok(place)) => (place, deadline),
                    _ => return Err(WebError::Busy),
                }
            }
        };
        let slot = match tokio::time::timeout_at(deadline, self.slots.clone().acquire_owned()).await
        {
            Ok(Ok(slot)) => slot,
            _ => return Err(WebError::Busy),
        };
        blocking(what, move || {
            let _held = (place, slot);
            f()
        })
        .await
    }
}

/// Derives the lookup id and reply identity of `normalised` through the derivation queue.
pub async fn derive_limited(
    st: &AppState,
    normalised: Zeroizing<String>,
    wait: Wait,
) -> Result<Derived, WebError> {
    let secret = st.secret.clone();
    st.derivations
        .run("derivation", wait, move || {
            codename::derive(&normalised, &secret)
        })
        .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    const SHORT: Duration = Duration::from_millis(300);
    const LONG: Duration = Duration::from_secs(30);

    /// A derivation that runs until `gate` is sent to (or dropped).
    fn held(gate: mpsc::Receiver<()>) -> impl FnOnce() -> Result<u8, String> + Send + 'static {
        move || {
            let _ = gate.recv();
            Ok(1)
        }
    }

    fn instant() -> impl FnOnce() -> Result<u8, String> + Send + 'static {
        || Ok(2)
    }

    async fn until(cond: impl Fn() -> bool) {
        let end = Instant::now() + LONG;
        while !cond() {
            assert!(Instant::now() < end, "condition not reached");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn beyond_the_queue_a_login_is_busy_at_once_and_a_submission_waits_its_turn() {
        let q = Arc::new(DerivationQueue::with_limits(1, 2, LONG, LONG));
        let (open_first, gate) = mpsc::channel();
        let first = tokio::spawn({
            let q = q.clone();
            async move { q.run("t", Wait::Login, held(gate)).await }
        });
        until(|| q.slots.available_permits() == 0).await;
        let second = tokio::spawn({
            let q = q.clone();
            async move { q.run("t", Wait::Login, instant()).await }
        });
        until(|| q.places.available_permits() == 0).await;

        // The queue is full: a third login is turned away without waiting.
        let started = Instant::now();
        let third = q.run("t", Wait::Login, instant()).await;
        assert!(matches!(third, Err(WebError::Busy)), "{third:?}");
        assert!(started.elapsed() < Duration::from_secs(1));

        // A first submission waits for a place instead.
        let submission = tokio::spawn({
            let q = q.clone();
            async move { q.run("t", Wait::Queue, instant()).await }
        });
        tokio::time::sleep(SHORT).await;
        assert!(!submission.is_finished(), "it waits for a place");
        open_first.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap(), 1);
        assert_eq!(second.await.unwrap().unwrap(), 2);
        assert_eq!(submission.await.unwrap().unwrap(), 2);
        assert_eq!(q.places.available_permits(), 2, "every place given back");
        assert_eq!(q.slots.available_permits(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_wait_beyond_its_bound_is_busy_and_a_dropped_waiter_gives_its_place_back() {
        let q = Arc::new(DerivationQueue::with_limits(1, 3, SHORT, SHORT));
        let (open, gate) = mpsc::channel();
        let first = tokio::spawn({
            let q = q.clone();
            async move { q.run("t", Wait::Login, held(gate)).await }
        });
        until(|| q.slots.available_permits() == 0).await;

        // Both kinds give up when the slot stays taken past their bound.
        for wait in [Wait::Login, Wait::Queue] {
            let started = Instant::now();
            let r = q.run("t", wait, instant()).await;
            assert!(matches!(r, Err(WebError::Busy)), "{wait:?}: {r:?}");
            assert!(started.elapsed() >= SHORT && started.elapsed() < LONG);
        }
        assert_eq!(q.places.available_permits(), 2);

        // A waiter whose request is dropped (the client went away) frees its place at once.
        let waiter = tokio::spawn({
            let q = q.clone();
            async move { q.run("t", Wait::Login, instant()).await }
        });
        until(|| q.places.available_permits() == 1).await;
        waiter.abort();
        let _ = waiter.await;
        assert_eq!(q.places.available_permits(), 2);

        open.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap(), 1);
        assert_eq!(q.places.available_permits(), 3);
    }

    #[test]
    fn the_default_queue_has_the_documented_places_and_slots() {
        let q = DerivationQueue::default();
        assert_eq!(q.slots.available_permits(), MAX_DERIVATIONS);
        assert_eq!(q.places.available_permits(), MAX_QUEUED);
    }
}
