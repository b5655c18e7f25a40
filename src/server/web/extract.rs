//! What handlers take from a request, as extractors: add one as a parameter to require it.
//!
//! - [`LangPrefix`]: the `{lang}` of the path, a supported language, or the 404 page.
//! - [`SourceSession`]: the logged-in source, or the 401 page; `Option<SourceSession>` for
//!   pages that send a visitor without a session elsewhere.
//! - [`request_host`]: the host a request was addressed to, one rule for every caller.
//!
//! Invariant: nothing here logs, and a rejection is a [`WebError`] rendered as the localised
//! page, never a detail of why.

use std::convert::Infallible;

use axum::extract::{FromRequestParts, OptionalFromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Uri};

use super::i18n::Lang;
use super::session::Current;
use super::{AppState, WebError};

/// The page's language, from the `{lang}` path parameter. Unknown languages are 404.
#[derive(Clone, Copy, Debug)]
pub struct LangPrefix(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for LangPrefix {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| WebError::NotFound)?;
        params
            .iter()
            .find(|(k, _)| *k == "lang")
            .and_then(|(_, v)| Lang::from_code(v))
            .map(LangPrefix)
            .ok_or(WebError::NotFound)
    }
}

/// A logged-in source: the session named by the request's cookie, if it is valid (its idle
/// timer is refreshed).
pub struct SourceSession(pub Current);

impl FromRequestParts<AppState> for SourceSession {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        state
            .sessions
            .current(&parts.headers)
            .map(SourceSession)
            .ok_or(WebError::Unauthorized)
    }
}

impl OptionalFromRequestParts<AppState> for SourceSession {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(state.sessions.current(&parts.headers).map(SourceSession))
    }
}

/// The host a request was addressed to (`Host`, or the request line's authority), without a
/// port, lower case.
pub fn request_host(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| uri.host())?;
    let host = host.rsplit_once(':').map_or(host, |(h, p)| {
        if p.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    Some(host.to_ascii_lowercase())
}

/// True when the request did not come through the configured onion address (and one is set).
pub fn off_onion(state: &AppState, headers: &HeaderMap, uri: &Uri) -> bool {
    state
        .config
        .onion_address
        .as_ref()
        .is_some_and(|onion| request_host(headers, uri).as_deref() != Some(onion.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_host_loses_its_port_and_case() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("ABC.onion:8080"));
        let uri: Uri = "/en/".parse().unwrap_or_default();
        assert_eq!(request_host(&h, &uri).as_deref(), Some("abc.onion"));
        h.insert(header::HOST, HeaderValue::from_static("[::1]:80"));
        assert_eq!(request_host(&h, &uri).as_deref(), Some("[::1]"));
        let absolute: Uri = "http://x.onion/en/".parse().unwrap_or_default();
        assert_eq!(
            request_host(&HeaderMap::new(), &absolute).as_deref(),
            Some("x.onion")
        );
    }
}
