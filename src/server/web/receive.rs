//! The receive pipeline, from a multipart body to a durable submission, for both source forms
//! (the first submission and a logged-in source's follow-up).
//!
//! Invariant: the body is read part by part and every byte of a file is handed to the
//! [`Upload`] pipeline as it arrives; the message is held only in a zeroised buffer of bounded
//! size until it is sealed into the envelope. Nothing from the form is logged. No upload starts
//! before the form token is checked, and any failure before [`Upload::commit`] returns drops
//! the upload, which removes what it stored. A first submission makes a codename and its
//! source record only once everything else has arrived, so refused requests never cost a key
//! derivation.

use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::Multipart;
use axum::http::{header, HeaderMap, StatusCode};
use tokio::time::{timeout_at, Instant};
use zeroize::Zeroizing;

use super::derive::{derive_limited, Wait};
use super::{csrf, AppState, WebError, IDLE_TIMEOUT, MAX_MESSAGE_BYTES};
use crate::envelope::SourceInfo;
use crate::server::codename;
use crate::server::upload::Upload;

/// Who a submission comes from.
pub enum SourcePlan {
    /// A first submission: a new codename and source are made when it commits.
    New,
    /// A logged-in source's follow-up.
    Existing(SourceInfo),
}

/// Name of the hidden field only bots fill in.
pub const HONEYPOT_FIELD: &str = "website";

/// Longest token or honeypot value read.
const SMALL_FIELD: usize = 1024;

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
        let until = (Instant::now() + IDLE_TIMEOUT).min(self.deadline);
        match timeout_at(until, fut).await {
            Ok(r) => r.map_err(|e| multipart_error(e, self.max_files_bytes)),
            Err(_) => Err(WebError::Timeout),
        }
    }

    /// Reads a whole field of at most `max` bytes into a zeroised buffer; `over` if longer.
    async fn read_field(
        &self,
        field: &mut Field<'_>,
        max: usize,
        over: WebError,
    ) -> Result<Zeroizing<Vec<u8>>, WebError> {
        // Reserved up front so the buffer never reallocates and leaves copies behind.
        let mut buf = Zeroizing::new(Vec::with_capacity(max));
        while let Some(chunk) = self.wait(field.chunk()).await? {
            if buf.len() + chunk.len() > max {
                return Err(over);
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf)
    }
}

/// A stored submission.
pub struct Received {
    /// Files attached.
    pub files: u32,
    /// The new source's codename, for a first submission: shown once, never stored.
    pub codename: Option<age::secrecy::SecretString>,
}

/// Receives one submission whose form token is bound to `action`: checks the token and the
/// honeypot, streams the files into encryption, seals the envelope with the source, commits
/// durably.
pub async fn receive(
    st: &AppState,
    action: &str,
    headers: &HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
    plan: SourcePlan,
) -> Result<Received, WebError> {
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
    let mut token_ok = false;
    let mut upload: Option<Upload> = None;
    let mut message: Option<Zeroizing<Vec<u8>>> = None;
    let mut files_bytes = 0u64;
    let mut files = 0u32;

    while let Some(mut field) = limits.wait(multipart.next_field()).await? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "token" => {
                let v = limits
                    .read_field(&mut field, SMALL_FIELD, WebError::Forbidden)
                    .await?;
                let v = std::str::from_utf8(&v).map_err(|_| WebError::Forbidden)?;
                token_ok = csrf::check(&st.secret, action, v);
                if !token_ok {
                    return Err(WebError::Forbidden);
                }
            }
            HONEYPOT_FIELD => {
                let v = limits
                    .read_field(&mut field, SMALL_FIELD, WebError::BadRequest)
                    .await?;
                if v.iter().any(|b| !b.is_ascii_whitespace()) {
                    return Err(WebError::BadRequest);
                }
            }
            "message" if message.is_none() => {
                if !token_ok {
                    return Err(WebError::Forbidden);
                }
                message = Some(
                    limits
                        .read_field(&mut field, MAX_MESSAGE_BYTES, WebError::MessageTooLong)
                        .await?,
                );
            }
            "files" => {
                if !token_ok {
                    return Err(WebError::Forbidden);
                }
                let file_name = field.file_name().unwrap_or_default().to_owned();
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
                    let up = match upload.as_mut() {
                        Some(u) => u,
                        None => upload.insert(start(st).await?),
                    };
                    if !started {
                        up.start_file(file_name.clone(), content_type.clone())
                            .await?;
                        started = true;
                    }
                    up.write(chunk).await?;
                }
                // A browser sends an empty part with no name when no file was chosen; an empty
                // file that has a name is still an attachment.
                if !started && !file_name.is_empty() {
                    let up = match upload.as_mut() {
                        Some(u) => u,
                        None => upload.insert(start(st).await?),
                    };
                    up.start_file(file_name, content_type).await?;
                    started = true;
                }
                if started {
                    if let Some(up) = upload.as_mut() {
                        up.end_file().await?;
                    }
                    files += 1;
                }
            }
            _ => {
                // Unknown or repeated fields are read and discarded, within the body limit.
                while limits.wait(field.chunk()).await?.is_some() {}
            }
        }
    }
    if !token_ok {
        return Err(WebError::Forbidden);
    }
    let message = message.unwrap_or_default();
    let text = std::str::from_utf8(&message).map_err(|_| WebError::BadRequest)?;
    if text.trim().is_empty() && files == 0 {
        return Err(WebError::Empty);
    }
    let text = Zeroizing::new(text.to_owned());
    drop(message);
    let upload = match upload {
        Some(u) => u,
        None => start(st).await?,
    };
    let (source, new_source, codename) = match plan {
        SourcePlan::Existing(info) => (Some(info), None, None),
        SourcePlan::New => {
            let code = codename::generate().map_err(|e| WebError::Internal(e.to_string()))?;
            let normalised = codename::normalise(age::secrecy::ExposeSecret::expose_secret(&code))
                .map_err(|e| WebError::Internal(e.to_string()))?;
            let derived = derive_limited(st, normalised, Wait::Queue).await?;
            let info = SourceInfo {
                reference: crate::export::new_id()
                    .map_err(|e| WebError::Internal(e.to_string()))?,
                designation: codename::designation()
                    .map_err(|e| WebError::Internal(e.to_string()))?,
                reply_recipient: derived.reply_identity.to_public().to_string(),
            };
            (Some(info), Some(derived.lookup), Some(code))
        }
    };
    upload.commit(text, source, new_source).await?;
    Ok(Received { files, codename })
}

async fn start(st: &AppState) -> Result<Upload, WebError> {
    Ok(Upload::start(st.store.clone(), st.recipients.current()).await?)
}
