//! The submission form and its handler.
//!
//! Invariant: the handler reads the multipart body part by part and hands every byte of a file
//! to the [`Upload`] pipeline as it arrives; the message is held only in a zeroised buffer of
//! bounded size until it is sealed into the envelope. Nothing from the form is logged. Any
//! failure before [`Upload::commit`] returns drops the upload, which removes what it stored.

use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use tokio::time::{timeout_at, Instant};
use zeroize::Zeroizing;

use super::misc::check_lang;
use super::{html, AppState, WebError, IDLE_TIMEOUT, MAX_MESSAGE_BYTES};
use crate::upload::Upload;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/{lang}/submit", get(form).post(submit))
}

async fn form(
    State(st): State<AppState>,
    Path(lang): Path<String>,
) -> Result<Html<String>, WebError> {
    check_lang(&lang)?;
    let limit = html::human_size(st.config.max_upload_bytes);
    let body = format!(
        "<h1>Send testimony</h1>\n\
<form method=\"post\" action=\"/{lang}/submit\" enctype=\"multipart/form-data\">\n\
<label for=\"message\">Your message</label>\n\
<textarea id=\"message\" name=\"message\" rows=\"12\" maxlength=\"{max}\"></textarea>\n\
<label for=\"files\">Files (optional)</label>\n\
<input type=\"file\" id=\"files\" name=\"files\" multiple>\n\
<p class=\"hint\">All files together may be at most {limit}. Over Tor, large files can take a long time: keep this page open until you see the receipt.</p>\n\
<button type=\"submit\">Send</button>\n\
</form>",
        max = MAX_MESSAGE_BYTES
    );
    Ok(Html(html::page("Send testimony", &body)))
}

/// Maps a multipart error: over the body limit is 413, anything else is a malformed body.
fn multipart_error(e: MultipartError, limit: u64) -> WebError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        WebError::TooLarge { limit }
    } else {
        WebError::BadRequest
    }
}

struct Limits {
    deadline: Instant,
    max_files_bytes: u64,
}

impl Limits {
    /// Waits for `fut`, at most the idle timeout and never past the deadline.
    async fn wait<T>(
        &self,
        fut: impl std::future::Future<Output = Result<T, MultipartError>>,
    ) -> Result<T, WebError> {
        let idle = Instant::now() + IDLE_TIMEOUT;
        let until = idle.min(self.deadline);
        match timeout_at(until, fut).await {
            Ok(r) => r.map_err(|e| multipart_error(e, self.max_files_bytes)),
            Err(_) => Err(WebError::Timeout),
        }
    }
}

async fn submit(
    State(st): State<AppState>,
    Path(lang): Path<String>,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Html<String>, WebError> {
    check_lang(&lang)?;
    let max = st.config.max_upload_bytes;
    // Refuse at once what announces itself as too large.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > st.body_limit() as u64) {
        return Err(WebError::TooLarge { limit: max });
    }
    let mut multipart = multipart.map_err(|_| WebError::BadRequest)?;
    let _permit = st
        .uploads
        .clone()
        .try_acquire_owned()
        .map_err(|_| WebError::Busy)?;
    let limits = Limits {
        deadline: Instant::now() + st.upload_deadline(),
        max_files_bytes: max,
    };
    let mut upload = Upload::start(st.store.clone(), st.recipients.clone()).await?;
    let mut message: Option<Zeroizing<Vec<u8>>> = None;
    let mut files_bytes = 0u64;
    let mut files = 0u32;

    while let Some(mut field) = limits.wait(multipart.next_field()).await? {
        match field.name() {
            Some("message") if message.is_none() => {
                message = Some(read_message(&mut field, &limits).await?);
            }
            Some("files") => {
                let name = field.file_name().unwrap_or_default().to_owned();
                let content_type = field
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_owned();
                let mut started = false;
                while let Some(chunk) = limits.wait(field.chunk()).await? {
                    if chunk.is_empty() {
                        continue;
                    }
                    files_bytes = files_bytes.saturating_add(chunk.len() as u64);
                    if files_bytes > max {
                        return Err(WebError::TooLarge { limit: max });
                    }
                    if !started {
                        upload
                            .start_file(name.clone(), content_type.clone())
                            .await?;
                        started = true;
                    }
                    upload.write(chunk).await?;
                }
                // A browser sends an empty part with no name when no file was chosen; an empty
                // file that has a name is still an attachment.
                if !started && !name.is_empty() {
                    upload.start_file(name, content_type).await?;
                    started = true;
                }
                if started {
                    upload.end_file().await?;
                    files += 1;
                }
            }
            _ => {
                // Unknown or repeated fields are read and discarded, within the body limit.
                while limits.wait(field.chunk()).await?.is_some() {}
            }
        }
    }

    let message = message.unwrap_or_default();
    let text = std::str::from_utf8(&message).map_err(|_| WebError::BadRequest)?;
    if text.trim().is_empty() && files == 0 {
        return Err(WebError::Empty);
    }
    let text = Zeroizing::new(text.to_owned());
    drop(message);
    upload.commit(text, None).await?;
    Ok(Html(receipt_page(files)))
}

async fn read_message(
    field: &mut Field<'_>,
    limits: &Limits,
) -> Result<Zeroizing<Vec<u8>>, WebError> {
    // Reserved up front so the buffer never reallocates and leaves copies behind.
    let mut buf = Zeroizing::new(Vec::with_capacity(MAX_MESSAGE_BYTES));
    while let Some(chunk) = limits.wait(field.chunk()).await? {
        if buf.len() + chunk.len() > MAX_MESSAGE_BYTES {
            return Err(WebError::MessageTooLong);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

fn receipt_page(files: u32) -> String {
    let files_line = match files {
        0 => String::new(),
        1 => "<p>Your message and 1 file were received.</p>\n".to_owned(),
        n => format!("<p>Your message and {n} files were received.</p>\n"),
    };
    let body = format!(
        "<h1 id=\"receipt\">Thank you. Your submission is stored safely.</h1>\n\
{files_line}<p>It was encrypted as it arrived. Only the organisation's reviewers can read it, on \
a computer that is not connected to the internet.</p>\n\
<p>What to do now: close this browser window, or choose \"New Identity\" in Tor Browser's \
menu, so that nobody using this device after you can see this page.</p>"
    );
    html::page("Submission received", &body)
}
