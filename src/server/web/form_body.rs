//! Small form bodies (login, logout, deleting a reply) read whole, under a size cap and a
//! deadline, before the handler sees them.
//!
//! Invariant: a request on these routes waits at most [`SMALL_FORM_DEADLINE`] for its body and
//! keeps at most [`SMALL_FORM_MAX_BYTES`] of it; past either, the client gets the localised 408
//! or 400 page and the connection is closed (hyper does not keep a connection whose body was
//! not read to the end). The handlers' own extractors then read from memory.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::WebError;

/// How long a small form's body may take to arrive, counted from the end of its request head.
///
/// Why 10 s: these bodies are a few hundred bytes (a form token and a codename), which a
/// browser sends with the head, in the same one or two Tor cells; waiting longer only serves
/// a client trickling them to hold a connection and a task (see the listener's header timeout
/// for the same reasoning).
pub const SMALL_FORM_DEADLINE: Duration = Duration::from_secs(10);

/// Largest small form body: a token and at most [`crate::server::codename::MAX_INPUT_CHARS`]
/// characters, each at most 4 bytes of UTF-8 and 3 characters when percent-encoded, fit in well
/// under 8 KiB; anything larger is not one of our forms.
pub const SMALL_FORM_MAX_BYTES: usize = 8 * 1024;

/// Reads the body under [`SMALL_FORM_DEADLINE`] and [`SMALL_FORM_MAX_BYTES`], then passes the
/// request on with the body in memory.
pub async fn bounded(req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let read = axum::body::to_bytes(body, SMALL_FORM_MAX_BYTES);
    let bytes = match tokio::time::timeout(SMALL_FORM_DEADLINE, read).await {
        Ok(Ok(bytes)) => bytes,
        // Too large, or the client went away mid-body.
        Ok(Err(_)) => return WebError::BadRequest.into_response(),
        Err(_) => return WebError::Timeout.into_response(),
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}
