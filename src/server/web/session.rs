//! Server-side sessions of returning sources, in memory only.
//!
//! Invariants:
//! - A session id is 256 random bits, sent only in an `HttpOnly; SameSite=Strict` cookie, never
//!   logged. The session holds the source's public record and the derived reply identity, whose
//!   secret is zeroised when the session is dropped (age's X25519 identity wraps x25519-dalek's
//!   `StaticSecret`, which zeroises on drop). Sessions end on logout, after [`IDLE`] without a
//!   request, and when the process stops: nothing of them reaches disk.
//! - Memory is bounded: at most [`MAX_SESSIONS_PER_SOURCE`] sessions per source (sessions are
//!   grouped by the source's reference) and [`MAX_SESSIONS`] in all.
//! - A login ends at most one session: its own source's least recently used one when that
//!   source is at its cap; otherwise, and only when the map is full, the least recently used one
//!   of the source that holds the most sessions. So a codename holder who logs in again and
//!   again only ever replaces their own sessions, and a source's only session ends this way
//!   only once no source holds two.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, HeaderValue};

use crate::envelope::SourceInfo;

/// Cookie name.
pub const COOKIE: &str = "wd_session";

/// Shortest idle time after which a session ends. The server uses the longer of this and the
/// upload deadline plus half an hour (a 1 GiB upload at 1 Mbit/s takes about 2.4 hours), so a
/// source is never logged out by a slow upload.
pub const IDLE: Duration = Duration::from_secs(4 * 3600);

/// Sessions one source may hold at once: a few devices or browser windows, and logins after a
/// closed Tor Browser (whose abandoned session lingers until [`IDLE`]). A further login by the
/// same source replaces its least recently used session.
pub const MAX_SESSIONS_PER_SOURCE: usize = 4;

/// Most sessions held at once (a few hundred bytes each). When the map is full, a login
/// replaces the least recently used session of the source that holds the most sessions, rather
/// than refusing the login: refusing would let anyone with enough codenames shut every source
/// out, while this way a source with one session is only logged out once every source has at
/// most one, which takes [`MAX_SESSIONS`] codenames, each the product of a first submission
/// through the derivation queue.
pub const MAX_SESSIONS: usize = 10_000;

/// A logged-in source.
pub struct Session {
    /// The source's public record.
    pub source: SourceInfo,
    /// Decrypts the source's replies. Zeroised on drop.
    pub identity: age::x25519::Identity,
    last_seen: Instant,
}

/// All sessions.
pub struct Sessions {
    map: Mutex<HashMap<[u8; 32], Session>>,
    idle: Duration,
    per_source: usize,
    total: usize,
}

/// What a handler gets for a valid session: the id (hex, to bind form tokens) and clones of
/// what it needs.
pub struct Current {
    /// The session id, hex; used to bind form tokens to the session.
    pub id_hex: String,
    /// The source.
    pub source: SourceInfo,
    /// The reply identity (a copy that lives for this request only).
    pub identity: age::x25519::Identity,
}

fn parse_cookie(headers: &HeaderMap) -> Option<[u8; 32]> {
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=') {
                if k == COOKIE {
                    let mut id = [0u8; 32];
                    if hex::decode_to_slice(v, &mut id).is_ok() {
                        return Some(id);
                    }
                }
            }
        }
    }
    None
}

/// The least recently used session of the source with `reference`.
fn least_recently_used(map: &HashMap<[u8; 32], Session>, reference: &str) -> Option<[u8; 32]> {
    map.iter()
        .filter(|(_, s)| s.source.reference == reference)
        .min_by_key(|(_, s)| s.last_seen)
        .map(|(id, _)| *id)
}

/// The reference of the source that holds the most sessions; of those tied, the one whose
/// least recently used session is the oldest.
fn most_sessions(map: &HashMap<[u8; 32], Session>) -> Option<String> {
    let mut per_source: HashMap<&str, (usize, Instant)> = HashMap::new();
    for s in map.values() {
        let e = per_source
            .entry(s.source.reference.as_str())
            .or_insert((0, s.last_seen));
        e.0 += 1;
        e.1 = e.1.min(s.last_seen);
    }
    per_source
        .into_iter()
        .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then(b.1 .1.cmp(&a.1 .1)))
        .map(|(r, _)| r.to_owned())
}

impl Sessions {
    /// Sessions that end after `idle` without a request (at least [`IDLE`]).
    pub fn new(idle: Duration) -> Sessions {
        Sessions::with_limits(idle.max(IDLE), MAX_SESSIONS_PER_SOURCE, MAX_SESSIONS)
    }

    fn with_limits(idle: Duration, per_source: usize, total: usize) -> Sessions {
        Sessions {
            map: Mutex::new(HashMap::new()),
            idle,
            per_source: per_source.max(1),
            total: total.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        match self.map.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Starts a session for `source`, replacing at most one other (see the module docs);
    /// returns the `Set-Cookie` value.
    pub fn create(
        &self,
        source: SourceInfo,
        identity: age::x25519::Identity,
    ) -> Result<HeaderValue, getrandom::Error> {
        let mut id = [0u8; 32];
        getrandom::fill(&mut id)?;
        let mut map = self.lock();
        let now = Instant::now();
        let idle = self.idle;
        map.retain(|_, s| now.duration_since(s.last_seen) < idle);
        // A scan of the whole map: at most 10,000 entries, and logins come at most as fast as
        // the derivation queue lets them (about ten a second).
        let own = map
            .values()
            .filter(|s| s.source.reference == source.reference)
            .count();
        let victim = if own >= self.per_source {
            least_recently_used(&map, &source.reference)
        } else if map.len() >= self.total {
            most_sessions(&map).and_then(|r| least_recently_used(&map, &r))
        } else {
            None
        };
        if let Some(id) = victim {
            map.remove(&id);
        }
        map.insert(
            id,
            Session {
                source,
                identity,
                last_seen: now,
            },
        );
        let cookie = format!(
            "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
            hex::encode(id)
        );
        HeaderValue::from_str(&cookie).map_err(|_| getrandom::Error::UNSUPPORTED)
    }

    /// The session named by the request's cookie, if it is valid; refreshes its idle timer.
    pub fn current(&self, headers: &HeaderMap) -> Option<Current> {
        let id = parse_cookie(headers)?;
        let mut map = self.lock();
        let now = Instant::now();
        let expired = map
            .get(&id)
            .is_some_and(|s| now.duration_since(s.last_seen) >= self.idle);
        if expired {
            map.remove(&id);
            return None;
        }
        let s = map.get_mut(&id)?;
        s.last_seen = now;
        Some(Current {
            id_hex: hex::encode(id),
            source: s.source.clone(),
            identity: s.identity.clone(),
        })
    }

    /// Ends the request's session.
    pub fn end(&self, headers: &HeaderMap) {
        if let Some(id) = parse_cookie(headers) {
            self.lock().remove(&id);
        }
    }

    /// A `Set-Cookie` value that removes the cookie.
    pub fn clear_cookie() -> HeaderValue {
        HeaderValue::from_static("wd_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn source(reference: &str) -> SourceInfo {
        SourceInfo {
            reference: reference.to_owned(),
            designation: "amber heron".to_owned(),
            reply_recipient: String::new(),
        }
    }

    /// Logs `reference` in; returns the request headers that carry the new session's cookie.
    fn login(sessions: &Sessions, reference: &str) -> HeaderMap {
        let set = sessions
            .create(source(reference), age::x25519::Identity::generate())
            .unwrap();
        let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_str(&pair).unwrap());
        // Distinct `last_seen` instants, so "least recently used" is well defined.
        std::thread::sleep(Duration::from_millis(2));
        h
    }

    fn alive(sessions: &Sessions, h: &HeaderMap) -> bool {
        let alive = sessions.current(h).is_some();
        std::thread::sleep(Duration::from_millis(2));
        alive
    }

    #[test]
    fn a_source_logging_in_again_and_again_replaces_only_its_own_least_recently_used_session() {
        let s = Sessions::new(IDLE);
        let other = login(&s, "b");
        let mine: Vec<HeaderMap> = (0..MAX_SESSIONS_PER_SOURCE + 3)
            .map(|_| login(&s, "a"))
            .collect();
        assert!(alive(&s, &other), "another source stays logged in");
        let (old, new) = mine.split_at(3);
        assert!(
            old.iter().all(|h| !alive(&s, h)),
            "the oldest were replaced"
        );
        assert!(new.iter().all(|h| alive(&s, h)), "the newest four remain");
        assert_eq!(s.lock().len(), MAX_SESSIONS_PER_SOURCE + 1);

        // "Oldest" is by last use: a session in use is not the one replaced.
        assert!(alive(&s, &new[0]));
        let newer = login(&s, "a");
        assert!(alive(&s, &new[0]) && alive(&s, &newer));
        assert!(!alive(&s, &new[1]));
    }

    #[test]
    fn a_full_map_takes_from_the_source_with_the_most_sessions() {
        let s = Sessions::with_limits(IDLE, 4, 6);
        let a: Vec<HeaderMap> = (0..4).map(|_| login(&s, "a")).collect();
        let b = login(&s, "b");
        let c = login(&s, "c");
        // Full: a new source's login replaces a session of A, which holds the most (its least
        // recently used), never B's or C's only one.
        let d = login(&s, "d");
        assert!(!alive(&s, &a[0]));
        assert!([&a[1], &a[2], &a[3], &b, &c, &d]
            .iter()
            .all(|h| alive(&s, h)));
        assert_eq!(s.lock().len(), 6);

        // When every source holds one session, the least recently used one ends.
        let s = Sessions::with_limits(IDLE, 4, 3);
        let x = login(&s, "x");
        let y = login(&s, "y");
        let z = login(&s, "z");
        assert!(alive(&s, &x));
        let w = login(&s, "w");
        assert!(!alive(&s, &y));
        assert!([&x, &z, &w].iter().all(|h| alive(&s, h)));
    }

    #[test]
    fn idle_sessions_end_and_logout_ends_one() {
        let s = Sessions::with_limits(Duration::from_millis(30), 4, 10);
        let a = login(&s, "a");
        std::thread::sleep(Duration::from_millis(60));
        assert!(!alive(&s, &a));
        let b = login(&s, "b");
        let b2 = login(&s, "b");
        s.end(&b);
        assert!(!alive(&s, &b) && alive(&s, &b2));
    }
}
