//! Cross-site request refusal: the request's own origin headers, and a per-form token.
//!
//! Invariant: a POST is handled only when (a) the browser does not say it came from another
//! site (`Sec-Fetch-Site`, or an `Origin` that names another host; `Origin: null` is what our
//! `no-referrer` policy makes browsers send for our own forms), and (b) it carries a token this
//! instance issued for that form. Tokens need no cookie (sources get none before logging in):
//! they are an expiry and a MAC of the form's path and that expiry under the instance secret.
//! They live a day, far longer than an hour-long upload over Tor, and are checked when the upload
//! starts, not when it ends.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{header, HeaderMap};
use subtle::ConstantTimeEq;

use crate::server::secrets::InstanceSecret;

/// How long a form token is accepted.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn mac(secret: &InstanceSecret, action: &str, expiry: u64) -> [u8; 32] {
    let mut data = expiry.to_be_bytes().to_vec();
    data.extend_from_slice(action.as_bytes());
    secret.mac("form-token", &data)
}

/// A token for the form that posts to `action`. The expiry is rounded to the hour so the token
/// says nothing finer about when the page was loaded.
pub fn issue(secret: &InstanceSecret, action: &str) -> String {
    let expiry = (now() + TOKEN_LIFETIME.as_secs()).div_ceil(3600) * 3600;
    let mut out = expiry.to_be_bytes().to_vec();
    out.extend_from_slice(&mac(secret, action, expiry)[..16]);
    hex::encode(out)
}

/// True when `token` was issued for `action` and has not expired.
pub fn check(secret: &InstanceSecret, action: &str, token: &str) -> bool {
    let Ok(raw) = hex::decode(token.trim()) else {
        return false;
    };
    if raw.len() != 24 {
        return false;
    }
    let mut e = [0u8; 8];
    e.copy_from_slice(&raw[..8]);
    let expiry = u64::from_be_bytes(e);
    let good = mac(secret, action, expiry);
    let mac_ok: bool = good[..16].ct_eq(&raw[8..]).into();
    mac_ok && expiry >= now() && expiry <= now() + TOKEN_LIFETIME.as_secs() + 3600
}

/// False when the browser says the request comes from another site.
pub fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes() == b"same-origin";
    }
    match headers.get(header::ORIGIN).map(|v| v.to_str()) {
        None => true,
        Some(Ok("null")) => true,
        Some(Ok(origin)) => {
            let host = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"))
                .unwrap_or("");
            let expected = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("");
            !host.is_empty() && host.eq_ignore_ascii_case(expected)
        }
        Some(Err(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn tokens_bind_to_form_and_instance() {
        let s = InstanceSecret::for_tests(1);
        let t = issue(&s, "/en/submit");
        assert!(check(&s, "/en/submit", &t));
        assert!(!check(&s, "/en/login", &t));
        assert!(!check(&InstanceSecret::for_tests(2), "/en/submit", &t));
        assert!(!check(&s, "/en/submit", ""));
        assert!(!check(&s, "/en/submit", "zz"));
        let mut forged = hex::decode(&t).unwrap();
        forged[0..8].copy_from_slice(&(now() + 10 * 24 * 3600).to_be_bytes());
        assert!(!check(&s, "/en/submit", &hex::encode(forged)));
        let expired = {
            let expiry = now() - 10;
            let mut out = expiry.to_be_bytes().to_vec();
            out.extend_from_slice(&mac(&s, "/en/submit", expiry)[..16]);
            hex::encode(out)
        };
        assert!(!check(&s, "/en/submit", &expired));
    }

    #[test]
    fn origin_rules() {
        let h = |pairs: &[(&'static str, &'static str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(*k, HeaderValue::from_static(v));
            }
            m
        };
        assert!(same_origin(&h(&[("host", "x.onion")])));
        assert!(same_origin(&h(&[("host", "x.onion"), ("origin", "null")])));
        assert!(same_origin(&h(&[
            ("host", "x.onion"),
            ("origin", "http://x.onion")
        ])));
        assert!(!same_origin(&h(&[
            ("host", "x.onion"),
            ("origin", "http://evil.example")
        ])));
        assert!(same_origin(&h(&[
            ("sec-fetch-site", "same-origin"),
            ("origin", "null")
        ])));
        assert!(!same_origin(&h(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "null")
        ])));
        assert!(!same_origin(&h(&[("sec-fetch-site", "same-site")])));
    }
}
