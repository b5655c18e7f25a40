//! One error type for the web: a generic page for the client, the detail for the log.
//!
//! Invariant: the page says what happened in words a source understands and never includes
//! internal detail; the log line gets the detail, which by construction of the upload and
//! store errors never includes plaintext, names or times.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::html;

/// Everything that can go wrong in a request.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Unknown page.
    #[error("not found")]
    NotFound,
    /// The form was malformed.
    #[error("bad request")]
    BadRequest,
    /// Nothing to submit.
    #[error("empty submission")]
    Empty,
    /// The message is longer than allowed.
    #[error("message too long")]
    MessageTooLong,
    /// The files are larger than allowed.
    #[error("upload too large")]
    TooLarge {
        /// The limit, for the page.
        limit: u64,
    },
    /// Too many files.
    #[error("too many files")]
    TooManyFiles,
    /// Too many uploads at once.
    #[error("busy")]
    Busy,
    /// The upload was too slow or stalled.
    #[error("upload timed out")]
    Timeout,
    /// A failure on our side; the detail is logged, not shown.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<crate::upload::UploadError> for WebError {
    fn from(e: crate::upload::UploadError) -> Self {
        match e {
            crate::upload::UploadError::TooManyFiles => WebError::TooManyFiles,
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, title, text): (StatusCode, &str, String) = match &self {
            WebError::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "This page does not exist. Go back to the start page.".into(),
            ),
            WebError::BadRequest => (
                StatusCode::BAD_REQUEST,
                "The form could not be read",
                "Nothing was stored. Please go back and send the form again.".into(),
            ),
            WebError::Empty => (
                StatusCode::BAD_REQUEST,
                "Nothing to send",
                "Please write a message or attach at least one file. Nothing was stored.".into(),
            ),
            WebError::MessageTooLong => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Message too long",
                format!(
                    "The message may be at most {} KiB. Put longer texts in a file and attach it. Nothing was stored.",
                    super::MAX_MESSAGE_BYTES / 1024
                ),
            ),
            WebError::TooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Files too large",
                format!(
                    "All files together may be at most {}. Nothing was stored. Send fewer or smaller files, or split them over several submissions.",
                    html::human_size(*limit)
                ),
            ),
            WebError::TooManyFiles => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too many files",
                format!(
                    "One submission may have at most {} files. Nothing was stored.",
                    crate::upload::MAX_FILES
                ),
            ),
            WebError::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Busy, please try again",
                "Many people are sending at this moment. Nothing was stored and nothing is lost: please try again in a few minutes.".into(),
            ),
            WebError::Timeout => (
                StatusCode::REQUEST_TIMEOUT,
                "The upload took too long",
                "The connection stalled. Nothing was stored. Please try again, perhaps with fewer files at a time.".into(),
            ),
            WebError::Internal(detail) => {
                tracing::error!("request failed: {detail}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Your submission was not stored. Please try again later.".into(),
                )
            }
        };
        let mut res = Html(html::page(title, &html::error_body(title, &text))).into_response();
        *res.status_mut() = status;
        if matches!(self, WebError::Busy) {
            res.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("120"),
            );
        }
        res
    }
}
