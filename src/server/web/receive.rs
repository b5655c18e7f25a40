//! The receive pipeline, from a multipart body to a durable submission, for both source forms
//! (the first submission and a logged-in source's follow-up).
//!
//! Invariants:
//! - Bounded before checked: the body is metered ([`super::meter`]), so the preamble, the
//!   boundaries and each part's headers are capped at kilobytes; the number of parts, the
//!   length of file names and content types are capped; the form token, the form's first field,
//!   is read under [`TOKEN_DEADLINE`] before the request takes an upload slot.
//! - An upload whose token was accepted waits in line for a slot ([`SLOT_WAIT`], at most
//!   [`WAITING_PER_SLOT`] waiting per slot), so a burst of sources is served in turn.
//! - A slot is never held by a trickle: after [`PROGRESS_GRACE`] the body must have arrived at
//!   [`PROGRESS_FLOOR`] on average, and no wait lasts longer than [`IDLE_TIMEOUT`] or the
//!   upload deadline; an upload cut off gets the 408 page and leaves nothing behind.
//! - The body is read part by part and every byte of a file is handed to the [`Upload`]
//!   pipeline as it arrives; the message and the guided answers ([`super::guided`]) are held
//!   only in zeroised buffers of bounded size until they are sealed into the envelope: each
//!   field is capped before it is read, and the message and all answers together stay within
//!   [`MAX_MESSAGE_BYTES`]. Text fields may come in any order after the token. Each file's
//!   name and content type are copied out of the parser only into zeroised strings. Nothing
//!   from the form is logged. Any failure before [`Upload::commit`] returns drops the upload, which
//!   removes what it stored.
//! - The disk keeps `min_free_bytes`: checked before a slot's upload starts (for the whole
//!   announced body) and every `ROOM_CHECK_EVERY` bytes after; beyond it the "full" page.
//! - A first submission makes a codename and its source record only once everything else has
//!   arrived, so refused requests never cost a key derivation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{header, StatusCode};
use tokio::time::{sleep_until, Instant};
use zeroize::Zeroizing;

use super::derive::{derive_limited, Wait};
use super::guided::{self, Answers, CHOICE_MAX_BYTES};
use super::i18n::Lang;
use super::meter::{Meter, MeteredBody};
use super::{blocking, csrf, AppState, WebError, IDLE_TIMEOUT, MAX_MESSAGE_BYTES};
use crate::envelope::{Consent, SourceInfo};
use crate::server::codename;
use crate::server::consent_note::ConsentNote;
use crate::server::store::StoreError;
use crate::server::upload::Upload;

/// Who a submission comes from.
pub enum SourcePlan {
    /// A first submission: a new codename and source are made when it commits.
    New,
    /// A logged-in source's follow-up, with their current consent note if the session could
    /// open one.
    Existing(SourceInfo, Option<ConsentNote>),
}

/// Name of the hidden field only bots fill in.
pub const HONEYPOT_FIELD: &str = "website";

/// Longest token or honeypot value read.
const SMALL_FIELD: usize = 1024;

/// The form token is the form's first field, a few hundred bytes into the body: it must have
/// arrived within this time of the request, or the request is answered with the 408 page. No
/// upload slot is taken before.
pub const TOKEN_DEADLINE: Duration = Duration::from_secs(60);

/// How long an upload may take before [`PROGRESS_FLOOR`] applies: Tor circuits and phone
/// connections can start slowly.
pub const PROGRESS_GRACE: Duration = Duration::from_secs(60);

/// The slowest average speed, since the body started, at which an upload keeps its slot after
/// [`PROGRESS_GRACE`]: 4 KiB/s. A source on a poor phone connection over Tor at 20 KB/s is five
/// times faster and finishes an hour-long upload; a client sending a byte every few seconds
/// loses the slot after a minute, and holding all eight slots costs at least 32 KiB/s for as
/// long as it lasts.
pub const PROGRESS_FLOOR: u64 = 4 * 1024;

/// How long an upload whose token was accepted waits for a free slot before the "busy" page.
/// Longer than [`PROGRESS_GRACE`], so a source queued behind uploads that trickle gets the first
/// slot they lose.
pub const SLOT_WAIT: Duration = Duration::from_secs(90);

/// Uploads that may wait for a slot, per slot; beyond them the "busy" page at once. A waiting
/// upload holds a connection and at most the parser's read-ahead: its body is not read.
pub const WAITING_PER_SLOT: usize = 4;

/// Takes an upload slot: at once, or after waiting in line (first come, first served) for at
/// most [`SLOT_WAIT`].
async fn take_slot(st: &AppState) -> Result<tokio::sync::OwnedSemaphorePermit, WebError> {
    if let Ok(permit) = st.uploads.clone().try_acquire_owned() {
        return Ok(permit);
    }
    let _place = st
        .upload_waiters
        .clone()
        .try_acquire_owned()
        .map_err(|_| WebError::Busy)?;
    match tokio::time::timeout(SLOT_WAIT, st.uploads.clone().acquire_owned()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(WebError::Busy),
    }
}

/// Most parts in one body: every file, the form's own fields, and room for a few more.
pub const MAX_PARTS: usize = crate::server::upload::MAX_FILES as usize + 32;

/// Longest file name taken from a part, in bytes (file systems allow 255).
pub const MAX_FILE_NAME_BYTES: usize = 1024;

/// Longest content type taken from a part, in bytes.
pub const MAX_CONTENT_TYPE_BYTES: usize = 255;

/// How often, in file bytes received, an upload checks that the disk keeps `min_free_bytes`.
const ROOM_CHECK_EVERY: u64 = 8 << 20;

/// The bytes an upload in progress has announced and not yet sent, counted in
/// [`AppState::reserved`] so that concurrent uploads do not all count the same free space.
struct Reservation<'a> {
    total: &'a AtomicU64,
    mine: u64,
}

impl<'a> Reservation<'a> {
    fn new(total: &'a AtomicU64, bytes: u64) -> Self {
        total.fetch_add(bytes, Ordering::Relaxed);
        Reservation { total, mine: bytes }
    }

    /// The upload has `remaining` bytes left to send.
    fn shrink_to(&mut self, remaining: u64) {
        if remaining < self.mine {
            self.total
                .fetch_sub(self.mine - remaining, Ordering::Relaxed);
            self.mine = remaining;
        }
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.total.fetch_sub(self.mine, Ordering::Relaxed);
    }
}

/// Refuses with the "full" page when the data folder's disk would fall below `min_free_bytes`
/// once every upload in progress has sent what it announced.
fn check_room(st: &AppState) -> Result<(), WebError> {
    let free = st
        .store
        .free_bytes()
        .map_err(|e| WebError::Internal(format!("free space: {e}")))?;
    let reserved = st.reserved.load(Ordering::Relaxed);
    if free < st.config.min_free_bytes.saturating_add(reserved) {
        return Err(WebError::Full);
    }
    Ok(())
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
    meter: Arc<Meter>,
    started: Instant,
    deadline: Instant,
    max_files_bytes: u64,
}

impl Limits {
    /// When the body, having arrived with `consumed` bytes so far, falls below the progress
    /// floor.
    fn floor_until(&self, consumed: u64) -> Instant {
        let earned = Duration::from_secs(consumed / PROGRESS_FLOOR);
        self.started + PROGRESS_GRACE.max(earned)
    }

    /// Waits for `fut`: never past the deadline, never longer than the idle timeout without a
    /// byte arriving, and never once the body has fallen below the progress floor.
    async fn wait<T>(
        &self,
        fut: impl std::future::Future<Output = Result<T, MultipartError>>,
    ) -> Result<T, WebError> {
        let mut fut = std::pin::pin!(fut);
        let mut seen = self.meter.consumed();
        let mut idle_until = Instant::now() + IDLE_TIMEOUT;
        loop {
            let until = idle_until.min(self.deadline).min(self.floor_until(seen));
            tokio::select! {
                r = &mut fut => return r.map_err(|e| multipart_error(e, self.max_files_bytes)),
                () = sleep_until(until) => {
                    let now = Instant::now();
                    let consumed = self.meter.consumed();
                    if consumed > seen {
                        seen = consumed;
                        idle_until = now + IDLE_TIMEOUT;
                    }
                    if now >= self.deadline || now >= idle_until || now >= self.floor_until(seen) {
                        return Err(WebError::Timeout);
                    }
                }
            }
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
            self.meter.delivered(chunk.len());
            if buf.len() + chunk.len() > max {
                return Err(over);
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf)
    }

    /// Reads and drops the rest of a field.
    async fn skip_field(&self, field: &mut Field<'_>) -> Result<(), WebError> {
        while let Some(chunk) = self.wait(field.chunk()).await? {
            self.meter.delivered(chunk.len());
        }
        Ok(())
    }
}

/// A stored submission.
pub struct Received {
    /// Files attached.
    pub files: u32,
    /// The new source's codename, for a first submission: shown once, never stored.
    pub codename: Option<age::secrecy::SecretString>,
    /// The consent this submission carries (`None`: a follow-up that kept the earlier
    /// choice), for the receipt to confirm; held only for this response.
    pub consent: Option<Consent>,
    /// Whether the name may be used, as this submission carries it.
    pub consent_name: Option<bool>,
    /// True when the submission carries nothing but a consent choice (a follow-up).
    pub only_consent: bool,
}

/// Reads the form token, which must be the body's first field, within [`TOKEN_DEADLINE`]:
/// true when it was issued for `action`.
async fn first_field_is_token(
    limits: &Limits,
    multipart: &mut Multipart,
    secret: &crate::server::secrets::InstanceSecret,
    action: &str,
) -> Result<bool, WebError> {
    let Some(mut field) = limits.wait(multipart.next_field()).await? else {
        return Ok(false);
    };
    limits.meter.part_accepted();
    if field.name() != Some("token") {
        return Ok(false);
    }
    let v = limits
        .read_field(&mut field, SMALL_FIELD, WebError::Forbidden)
        .await?;
    let v = std::str::from_utf8(&v).map_err(|_| WebError::Forbidden)?;
    Ok(csrf::check(secret, action, v))
}

/// Receives one submission whose form token is bound to `action`: checks the token and the
/// honeypot, streams the files into encryption, seals the envelope with the source, commits
/// durably. `req` is the whole request; its body is read here, metered. `lang` is the page's
/// language, which the testimony records.
pub async fn receive(
    st: &AppState,
    action: &str,
    lang: Lang,
    req: Request,
    plan: SourcePlan,
) -> Result<Received, WebError> {
    let max = st.config.max_upload_bytes;
    // Refuse at once what announces itself as too large.
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > st.body_limit() as u64) {
        return Err(WebError::TooLarge { limit: max });
    }
    let meter = Meter::new();
    let req = req.map(|body| Body::new(MeteredBody::new(body, meter.clone())));
    let mut multipart = Multipart::from_request(req, st)
        .await
        .map_err(|_| WebError::BadRequest)?;
    let result = receive_fields(st, action, lang, &mut multipart, &meter, declared, plan).await;
    if let Err(e) = &result {
        if e.read_rest_first() {
            drain(&mut multipart, &meter).await;
        }
    }
    result
}

/// How much of a refused body is still read, so that the client sees the page instead of a
/// connection reset, which browsers show when a server closes while they are still sending.
const DRAIN_MAX: u64 = 8 << 20;

/// The longest time spent reading a refused body.
const DRAIN_TIME: Duration = Duration::from_secs(10);

/// Reads and drops what remains of the body, at most [`DRAIN_MAX`] bytes and [`DRAIN_TIME`].
async fn drain(multipart: &mut Multipart, meter: &Meter) {
    let from = meter.consumed();
    let until = Instant::now() + DRAIN_TIME;
    while let Ok(Ok(Some(mut field))) = tokio::time::timeout_at(until, multipart.next_field()).await
    {
        meter.part_accepted();
        while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(until, field.chunk()).await {
            meter.delivered(chunk.len());
            if meter.consumed().saturating_sub(from) > DRAIN_MAX {
                return;
            }
        }
    }
}

/// [`receive`] once the body is a multipart stream.
async fn receive_fields(
    st: &AppState,
    action: &str,
    lang: Lang,
    multipart: &mut Multipart,
    meter: &Arc<Meter>,
    declared: Option<u64>,
    plan: SourcePlan,
) -> Result<Received, WebError> {
    let max = st.config.max_upload_bytes;
    let started = Instant::now();
    let token_limits = Limits {
        meter: meter.clone(),
        started,
        deadline: started + TOKEN_DEADLINE,
        max_files_bytes: max,
    };
    if !first_field_is_token(&token_limits, multipart, &st.secret, action).await? {
        return Err(WebError::Forbidden);
    }
    let _permit = take_slot(st).await?;
    // The upload's own clock (progress floor, deadline) starts once it has a slot.
    let started = Instant::now();
    let remaining = |consumed: u64| declared.map_or(0, |d| d.saturating_sub(consumed));
    let mut reservation = Reservation::new(&st.reserved, remaining(meter.consumed()));
    check_room(st)?;
    let limits = Limits {
        started,
        deadline: started + st.upload_deadline(),
        ..token_limits
    };
    let mut upload: Option<Upload> = None;
    let mut message: Option<Zeroizing<Vec<u8>>> = None;
    let mut answers = Answers::new(lang);
    // Bytes of text (message and answers) read so far, within MAX_MESSAGE_BYTES.
    let mut text_bytes = 0usize;
    let mut files_bytes = 0u64;
    let mut files = 0u32;
    let mut parts = 1usize;

    while let Some(mut field) = limits.wait(multipart.next_field()).await? {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(WebError::TooManyFiles);
        }
        limits.meter.part_accepted();
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            HONEYPOT_FIELD => {
                let v = limits
                    .read_field(&mut field, SMALL_FIELD, WebError::BadRequest)
                    .await?;
                if v.iter().any(|b| !b.is_ascii_whitespace()) {
                    return Err(WebError::BadRequest);
                }
            }
            "message" if message.is_none() => {
                let v = limits
                    .read_field(
                        &mut field,
                        MAX_MESSAGE_BYTES - text_bytes,
                        WebError::MessageTooLong,
                    )
                    .await?;
                text_bytes += v.len();
                message = Some(v);
            }
            n if guided::is_text(n) => match answers.text_cap(n) {
                Some(cap) => {
                    let v = limits
                        .read_field(
                            &mut field,
                            cap.min(MAX_MESSAGE_BYTES - text_bytes),
                            WebError::MessageTooLong,
                        )
                        .await?;
                    text_bytes += v.len();
                    answers.set_text(n, &v)?;
                }
                None => limits.skip_field(&mut field).await?,
            },
            n if guided::is_choice(n) => {
                let v = limits
                    .read_field(&mut field, CHOICE_MAX_BYTES, WebError::BadRequest)
                    .await?;
                answers.set_choice(n, &v)?;
            }
            "files" => {
                // Copies that are wiped; the parser's own (its part headers) are not ours.
                let file_name = Zeroizing::new(field.file_name().unwrap_or_default().to_owned());
                let content_type = Zeroizing::new(
                    field
                        .content_type()
                        .unwrap_or("application/octet-stream")
                        .to_owned(),
                );
                if file_name.len() > MAX_FILE_NAME_BYTES
                    || content_type.len() > MAX_CONTENT_TYPE_BYTES
                {
                    return Err(WebError::BadRequest);
                }
                let mut started = false;
                while let Some(chunk) = limits.wait(field.chunk()).await? {
                    limits.meter.delivered(chunk.len());
                    if chunk.is_empty() {
                        continue;
                    }
                    let before = files_bytes;
                    files_bytes = files_bytes.saturating_add(chunk.len() as u64);
                    if files_bytes > max {
                        return Err(WebError::TooLarge { limit: max });
                    }
                    if before / ROOM_CHECK_EVERY != files_bytes / ROOM_CHECK_EVERY {
                        reservation.shrink_to(remaining(limits.meter.consumed()));
                        check_room(st)?;
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
                // Unknown or repeated fields (a second token included) are read and discarded,
                // within the body limit.
                limits.skip_field(&mut field).await?;
            }
        }
    }
    let message = message.unwrap_or_default();
    let text = std::str::from_utf8(&message).map_err(|_| WebError::BadRequest)?;
    let first = matches!(plan, SourcePlan::New);
    let nothing_else = text.trim().is_empty() && files == 0 && !answers.answers_a_question();
    if nothing_else && !answers.says_something(first) {
        return Err(WebError::Empty);
    }
    let previous = match &plan {
        SourcePlan::Existing(_, note) => *note,
        SourcePlan::New => None,
    };
    let testimony = answers.finish(first);
    let note = ConsentNote::after(previous, &testimony);
    // Written only when this submission says something about consent that changes the note.
    let says_consent = testimony.consent.is_some() || testimony.consent_name.is_some();
    let note_changed = says_consent && previous != Some(note);
    if nothing_else && !note_changed {
        // A follow-up that only sends back the choice already made (the testimony is wiped
        // as it drops).
        return Err(WebError::Empty);
    }

    let text = Zeroizing::new(text.to_owned());
    drop(message);
    let upload = match upload {
        Some(u) => u,
        None => start(st).await?,
    };
    let (source, new_source, codename) = match plan {
        SourcePlan::Existing(info, _) => (Some(info), None, None),
        SourcePlan::New => {
            let code = codename::generate().map_err(|e| WebError::Internal(e.to_string()))?;
            let normalised = codename::normalise(age::secrecy::ExposeSecret::expose_secret(&code))
                .map_err(|e| WebError::Internal(e.to_string()))?;
            let derived = derive_limited(st, normalised, Wait::Queue).await?;
            let info = SourceInfo {
                reference: crate::export::new_id()
                    .map_err(|e| WebError::Internal(e.to_string()))?,
                designation: unique_designation(st).await?,
                reply_recipient: derived.reply_identity.to_public().to_string(),
            };
            (Some(info), Some(derived.lookup), Some(code))
        }
    };
    let (consent, consent_name) = (testimony.consent, testimony.consent_name);
    let note = match (&source, note_changed) {
        (Some(info), true) => Some(seal_note(&note, info)?),
        _ => None,
    };
    upload
        .commit(text, testimony, source, new_source, note)
        .await?;
    Ok(Received {
        files,
        codename,
        consent,
        consent_name,
        only_consent: nothing_else,
    })
}

/// A designation no other source has ([`codename::unused_designation`]). Two first
/// submissions in the same moment could still draw the same one (about one chance in 100,000).
async fn unique_designation(st: &AppState) -> Result<String, WebError> {
    let store = st.store.clone();
    blocking("designation", move || {
        let draw = || {
            codename::designation()
                .map_err(|e| StoreError::from(std::io::Error::other(e.to_string())))
        };
        codename::unused_designation(draw, |d| store.designation_in_use(d))
    })
    .await
}

/// The source's new consent note, sealed to their reply recipient, with their reference.
fn seal_note(note: &ConsentNote, info: &SourceInfo) -> Result<(String, Vec<u8>), WebError> {
    let recipient: age::x25519::Recipient = info
        .reply_recipient
        .parse()
        .map_err(|_| WebError::Internal("a source's reply recipient does not parse".into()))?;
    let sealed = note
        .seal(&recipient)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok((info.reference.clone(), sealed))
}

async fn start(st: &AppState) -> Result<Upload, WebError> {
    Ok(Upload::start(st.store.clone(), st.recipients.current()).await?)
}
