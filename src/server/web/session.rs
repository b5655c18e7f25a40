//! Server-side sessions of returning sources, in memory only.
//!
//! Invariants: a session id is 256 random bits, sent only in an `HttpOnly; SameSite=Strict`
//! cookie, never logged. The session holds the source's public record and the derived reply
//! identity, whose secret is zeroised when the session is dropped (age's X25519 identity wraps
//! x25519-dalek's `StaticSecret`, which zeroises on drop). Sessions end on logout, after
//! [`IDLE`] without a request, and when the process stops: nothing of them reaches disk.

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

/// Most sessions held at once; the oldest is dropped beyond it.
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

impl Sessions {
    /// Sessions that end after `idle` without a request (at least [`IDLE`]).
    pub fn new(idle: Duration) -> Sessions {
        Sessions {
            map: Mutex::new(HashMap::new()),
            idle: idle.max(IDLE),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        match self.map.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Starts a session; returns the `Set-Cookie` value.
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
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map.iter().min_by_key(|(_, s)| s.last_seen).map(|(k, _)| *k) {
                map.remove(&oldest);
            }
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
