//! The submission form and the handler that receives it.
//!
//! Invariant: the handler reads the multipart body part by part and hands every byte of a file
//! to the [`Upload`] pipeline as it arrives; the message is held only in a zeroised buffer of
//! bounded size until it is sealed into the envelope. Nothing from the form is logged. No upload
//! starts before the form token is checked, and any failure before [`Upload::commit`] returns
//! drops the upload, which removes what it stored.

use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use fluent_templates::fluent_bundle::FluentValue;
use tokio::time::{timeout_at, Instant};
use zeroize::Zeroizing;

use super::i18n::Lang;
use super::misc::check_lang;
use super::pages::{render, Ctx, FormView, ReceiptPage, SubmitPage};
use super::{csrf, AppState, WebError, IDLE_TIMEOUT, MAX_MESSAGE_BYTES};
use crate::envelope::SourceInfo;
use crate::server::codename;
use crate::server::upload::Upload;
use crate::util::size::human_size;

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

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/{lang}/submit", get(form).post(submit))
}

/// The form's fields, for the submission page and the inbox.
pub fn form_view(st: &AppState, lang: Lang, action: &str) -> FormView {
    FormView {
        action: action.to_owned(),
        token: csrf::issue(&st.secret, action),
        message_hint: lang.t_args(
            "submit-message-hint",
            &[("kib", FluentValue::from(MAX_MESSAGE_BYTES / 1024))],
        ),
        files_hint: lang.t_args(
            "submit-files-hint",
            &[(
                "limit",
                FluentValue::from(human_size(st.config.max_upload_bytes)),
            )],
        ),
        // A character is at least one byte; the server checks bytes.
        max_message_chars: MAX_MESSAGE_BYTES,
    }
}

async fn form(
    State(st): State<AppState>,
    Path(lang): Path<String>,
    ctx: Ctx,
) -> Result<Response, WebError> {
    let lang = check_lang(&lang)?;
    let action = format!("/{}/submit", lang.code());
    Ok(render(&SubmitPage {
        c: ctx.chrome(&st, "submit-title"),
        form: form_view(&st, lang, &action),
    }))
}

async fn submit(
    State(st): State<AppState>,
    Path(lang): Path<String>,
    ctx: Ctx,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, WebError> {
    let lang = check_lang(&lang)?;
    let action = format!("/{}/submit", lang.code());
    let received = receive(&st, &action, &headers, multipart, SourcePlan::New).await?;
    let codename = received
        .codename
        .as_ref()
        .map(|c| age::secrecy::ExposeSecret::expose_secret(c).to_owned());
    Ok(receipt(
        &st,
        &ctx,
        lang,
        "receipt-title",
        received.files,
        codename,
        None,
    ))
}

/// The receipt page.
pub fn receipt(
    st: &AppState,
    ctx: &Ctx,
    lang: Lang,
    heading_id: &str,
    files: u32,
    codename: Option<String>,
    back_link: Option<String>,
) -> Response {
    let c = ctx.chrome(st, heading_id);
    render(&ReceiptPage {
        heading: c.title.clone(),
        files_text: lang.t_args("receipt-files", &[("count", FluentValue::from(files))]),
        c,
        files,
        codename,
        back_link,
    })
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
/// durably. A first submission makes a codename and its source record only once everything
/// else has arrived, so refused requests never cost a key derivation.
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
            let derived = super::source::derive_limited(st, normalised, true).await?;
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
