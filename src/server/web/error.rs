//! One error type for the web: a generic, localised page for the client, the detail for the log.
//!
//! Invariant: the page says what happened in words a source understands and never includes
//! internal detail; only [`WebError::Internal`] is logged, and its detail (from the upload and
//! store errors) never includes plaintext, names or times. Handlers return a `WebError`; the
//! [`render_errors`] middleware, which knows the page's language, turns it into the page.

use crate::server::store::StoreError;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fluent_templates::fluent_bundle::FluentValue;

use super::pages::{render, Ctx, ErrorPage};
use super::AppState;

/// Everything that can go wrong in a request.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WebError {
    /// Unknown page.
    #[error("not found")]
    NotFound,
    /// The form was malformed, or a bot filled the honeypot.
    #[error("bad request")]
    BadRequest,
    /// A cross-site request, or a missing or bad form token.
    #[error("forbidden")]
    Forbidden,
    /// A request through a Tor2web proxy.
    #[error("tor2web")]
    Tor2web,
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
    /// Too many uploads or logins at once.
    #[error("busy")]
    Busy,
    /// The data folder's disk is (nearly) full: nothing more is accepted for now.
    #[error("full")]
    Full,
    /// The upload was too slow or stalled.
    #[error("upload timed out")]
    Timeout,
    /// No session, or it ended.
    #[error("not logged in")]
    Unauthorized,
    /// A failure on our side; the detail is logged, not shown.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<crate::server::upload::UploadError> for WebError {
    fn from(e: crate::server::upload::UploadError) -> Self {
        match e {
            crate::server::upload::UploadError::TooManyFiles => WebError::TooManyFiles,
            other if is_disk_full(&other) => WebError::Full,
            // A commit that could not be undone stops storing until restart: to the source,
            // the drop cannot take submissions now, which the "full" page says.
            crate::server::upload::UploadError::Store(
                StoreError::Stopped | StoreError::Uncertain(_),
            ) => WebError::Full,
            other => WebError::Internal(other.to_string()),
        }
    }
}

/// True when `e` or an error it wraps is "no space left" (or the user's disk quota).
fn is_disk_full(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            // ENOSPC, EDQUOT on Linux.
            if matches!(io.raw_os_error(), Some(28) | Some(122)) {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

impl WebError {
    /// True for refusals of a well-formed upload that are decided while its body still arrives:
    /// the rest of the body is read (within bounds) before the page is sent, so that browsers
    /// show it. Not for malformed bodies or clients too slow to wait for.
    pub fn read_rest_first(&self) -> bool {
        matches!(
            self,
            WebError::Forbidden
                | WebError::Empty
                | WebError::MessageTooLong
                | WebError::TooLarge { .. }
                | WebError::TooManyFiles
                | WebError::Busy
                | WebError::Full
        )
    }

    fn status(&self) -> StatusCode {
        match self {
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::BadRequest | WebError::Empty => StatusCode::BAD_REQUEST,
            WebError::Forbidden | WebError::Tor2web => StatusCode::FORBIDDEN,
            WebError::MessageTooLong | WebError::TooLarge { .. } | WebError::TooManyFiles => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            WebError::Busy | WebError::Full => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Timeout => StatusCode::REQUEST_TIMEOUT,
            WebError::Unauthorized => StatusCode::UNAUTHORIZED,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Title and text ids, and the text, in `lang`.
    fn texts(&self, lang: super::i18n::Lang) -> (&'static str, String) {
        let t = |id: &str| lang.t(id);
        match self {
            WebError::NotFound => ("error-404-title", t("error-404-text")),
            WebError::BadRequest => ("error-400-title", t("error-400-text")),
            WebError::Forbidden => ("error-403-title", t("error-403-text")),
            WebError::Tor2web => ("tor2web-title", t("tor2web-text")),
            WebError::Empty => ("error-empty-title", t("error-empty-text")),
            WebError::MessageTooLong => (
                "error-413-title",
                lang.t_args(
                    "error-413-message",
                    &[("kib", FluentValue::from(super::MAX_MESSAGE_BYTES / 1024))],
                ),
            ),
            WebError::TooLarge { limit } => (
                "error-413-title",
                lang.t_args(
                    "error-413-files",
                    &[("limit", FluentValue::from(lang.size(*limit)))],
                ),
            ),
            WebError::TooManyFiles => (
                "error-413-title",
                lang.t_args(
                    "error-413-count",
                    &[("max", FluentValue::from(crate::server::upload::MAX_FILES))],
                ),
            ),
            WebError::Busy => ("error-503-title", t("error-503-text")),
            WebError::Full => ("error-full-title", t("error-full-text")),
            WebError::Timeout => ("error-408-title", t("error-408-text")),
            WebError::Unauthorized => ("error-401-title", t("error-401-text")),
            WebError::Internal(_) => ("error-500-title", t("error-500-text")),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let WebError::Internal(detail) = &self {
            tracing::error!("request failed: {detail}");
        }
        let mut res = self.status().into_response();
        match self {
            WebError::Busy => {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("120"));
            }
            WebError::Full => {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("3600"));
            }
            _ => {}
        }
        res.extensions_mut().insert(self);
        res
    }
}

/// Renders every error (ours, and axum's own rejections) as a localised page.
pub async fn render_errors(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let ctx = Ctx::from_parts(&parts, &st);
    let res = next.run(Request::from_parts(parts, body)).await;
    let status = res.status();
    let err = match res.extensions().get::<WebError>() {
        Some(e) => e.clone(),
        None if status.is_client_error() || status.is_server_error() => match status {
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => WebError::NotFound,
            StatusCode::PAYLOAD_TOO_LARGE => WebError::TooLarge {
                limit: st.config.max_upload_bytes,
            },
            s if s.is_server_error() => WebError::Internal(format!("status {s}")),
            _ => WebError::BadRequest,
        },
        None => return res,
    };
    let (title_id, text) = err.texts(ctx.lang);
    // Over Tor, a large upload that stalls or is too big is best split: one file at a time
    // from the inbox, each stored as soon as it arrives.
    let tip = matches!(
        err,
        WebError::Timeout | WebError::TooLarge { .. } | WebError::TooManyFiles
    )
    .then(|| ctx.lang.t("large-files-tip"));
    let page = ErrorPage {
        c: ctx.chrome(&st, title_id),
        text,
        tip,
    };
    let mut out = render(&page);
    *out.status_mut() = status;
    for (k, v) in res.headers() {
        if k == header::RETRY_AFTER || k.as_str() == "onion-location" {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    out
}
