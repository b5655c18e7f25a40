//! Returning sources: login with a codename, the inbox of replies, follow-ups, logout.
//!
//! Invariants:
//! - The codename is used only to derive keys (Argon2id, off the async threads, at most
//!   [`super::MAX_DERIVATIONS`] at once; beyond that a "busy" page) and is dropped at once.
//! - A failed login gets the same page whatever the reason, and a wrong codename costs the same
//!   derivation and lookup as a right one, so nothing tells whether a codename ever existed.
//! - Replies are decrypted in memory for one request, with the session's identity; a source
//!   can only list or delete replies under its own reference.
//! - Every form here carries a token bound to the form and to the session.

use std::time::Duration;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use fluent_templates::fluent_bundle::FluentValue;
use serde::Deserialize;
use zeroize::Zeroize;

use super::i18n::Lang;
use super::misc::check_lang;
use super::pages::{render, Chrome, Ctx, FormView};
use super::session::Sessions;
use super::submit::{form_view, receipt, receive, SourcePlan};
use super::{csrf, AppState, WebError};
use crate::export::is_valid_id;
use crate::server::codename::{self, Derived};

/// How long a first submission waits for a derivation slot before "busy".
const DERIVATION_WAIT: Duration = Duration::from_secs(120);

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/{lang}/login", get(login_form).post(login))
        .route("/{lang}/inbox", get(inbox))
        .route("/{lang}/inbox/replies/{id}/delete", post(delete_reply))
        .route("/{lang}/logout", post(logout))
}

/// The follow-up route, with the upload body limit (set by the caller).
pub(super) fn upload_router() -> Router<AppState> {
    Router::new().route("/{lang}/inbox/submit", post(inbox_submit))
}

/// The login page.
#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage {
    c: Chrome,
    action: String,
    token: String,
    failed: bool,
    max_chars: usize,
}

/// One reply, decrypted for this request.
struct ReplyView {
    id: String,
    day_text: String,
    text: String,
    delete_action: String,
    delete_token: String,
}

impl Drop for ReplyView {
    fn drop(&mut self) {
        self.text.zeroize();
    }
}

/// The inbox.
#[derive(askama::Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    c: Chrome,
    replies: Vec<ReplyView>,
    form: FormView,
    logout_action: String,
    logout_token: String,
}

fn login_page(st: &AppState, ctx: &Ctx, lang: Lang, failed: bool) -> Response {
    let action = format!("/{}/login", lang.code());
    render(&LoginPage {
        c: ctx.chrome(st, "login-title"),
        token: csrf::issue(&st.secret, &action),
        action,
        failed,
        max_chars: codename::MAX_INPUT_CHARS,
    })
}

async fn login_form(
    State(st): State<AppState>,
    Path(lang): Path<String>,
    ctx: Ctx,
) -> Result<Response, WebError> {
    let lang = check_lang(&lang)?;
    Ok(login_page(&st, &ctx, lang, false))
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    codename: String,
}

/// Runs the derivation behind the derivation limit. `wait`: queue for a slot (first
/// submissions) instead of answering "busy" at once (logins).
pub async fn derive_limited(
    st: &AppState,
    normalised: zeroize::Zeroizing<String>,
    wait: bool,
) -> Result<Derived, WebError> {
    let permit = if wait {
        match tokio::time::timeout(DERIVATION_WAIT, st.derivations.clone().acquire_owned()).await {
            Ok(Ok(p)) => p,
            _ => return Err(WebError::Busy),
        }
    } else {
        st.derivations
            .clone()
            .try_acquire_owned()
            .map_err(|_| WebError::Busy)?
    };
    let secret = st.secret.clone();
    let derived = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        codename::derive(&normalised, &secret)
    })
    .await
    .map_err(|_| WebError::Internal("derivation task failed".into()))?
    .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(derived)
}

async fn login(
    State(st): State<AppState>,
    Path(lang): Path<String>,
    ctx: Ctx,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, WebError> {
    let lang = check_lang(&lang)?;
    let Form(mut form) = form.map_err(|_| WebError::BadRequest)?;
    let action = format!("/{}/login", lang.code());
    if !csrf::check(&st.secret, &action, &form.token) {
        form.codename.zeroize();
        return Err(WebError::Forbidden);
    }
    let normalised = codename::normalise(&form.codename);
    form.codename.zeroize();
    // Empty or over-long input: refused before any derivation, with the same page.
    let Ok(normalised) = normalised else {
        return Ok(login_page(&st, &ctx, lang, true));
    };
    let derived = derive_limited(&st, normalised, false).await?;
    let store = st.store.clone();
    let lookup = derived.lookup;
    let found = tokio::task::spawn_blocking(move || store.source_by_lookup(&lookup))
        .await
        .map_err(|_| WebError::Internal("lookup task failed".into()))?
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let Some(source) = found else {
        return Ok(login_page(&st, &ctx, lang, true));
    };
    let cookie = st
        .sessions
        .create(source, derived.reply_identity)
        .map_err(|_| WebError::Internal("session id".into()))?;
    let mut res = Redirect::to(&format!("/{}/inbox", lang.code())).into_response();
    res.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(res)
}

fn to_login(lang: Lang) -> Response {
    Redirect::to(&format!("/{}/login", lang.code())).into_response()
}

/// The token of the delete buttons is bound to the session, not to one reply: which replies a
/// session may delete is decided by the store, under the session's own reference.
fn delete_binding(lang: Lang) -> String {
    format!("/{}/inbox/replies/delete", lang.code())
}

/// Binds a form's token to the session: a token from one session is useless in another.
fn binding(action: &str, session_hex: &str) -> String {
    format!("{action}|{session_hex}")
}

async fn inbox(
    State(st): State<AppState>,
    Path(lang): Path<String>,
    ctx: Ctx,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let lang = check_lang(&lang)?;
    let Some(cur) = st.sessions.current(&headers) else {
        return Ok(to_login(lang));
    };
    let store = st.store.clone();
    let reference = cur.source.reference.clone();
    let records = tokio::task::spawn_blocking(move || store.replies_for(&reference))
        .await
        .map_err(|_| WebError::Internal("replies task failed".into()))?
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let mut replies = Vec::new();
    for r in records {
        let Ok(bytes) = hex::decode(&r.ciphertext) else {
            continue;
        };
        let text = match crate::reply::decrypt_reply(&bytes, &cur.identity) {
            Ok(t) => t.to_string(),
            // Not for this source's key (should not happen): skip, say nothing.
            Err(_) => continue,
        };
        let delete_action = format!("/{}/inbox/replies/{}/delete", lang.code(), r.id);
        replies.push(ReplyView {
            day_text: lang.t_args(
                "inbox-reply-day",
                &[("day", FluentValue::from(r.day.clone()))],
            ),
            delete_token: csrf::issue(&st.secret, &binding(&delete_binding(lang), &cur.id_hex)),
            delete_action,
            id: r.id,
            text,
        });
    }
    let submit_action = format!("/{}/inbox/submit", lang.code());
    let mut form = form_view(&st, lang, &submit_action);
    form.token = csrf::issue(&st.secret, &binding(&submit_action, &cur.id_hex));
    let logout_action = format!("/{}/logout", lang.code());
    Ok(render(&InboxPage {
        c: ctx.chrome(&st, "inbox-title"),
        replies,
        form,
        logout_token: csrf::issue(&st.secret, &binding(&logout_action, &cur.id_hex)),
        logout_action,
    }))
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    token: String,
}

async fn delete_reply(
    State(st): State<AppState>,
    Path((lang, id)): Path<(String, String)>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, WebError> {
    let lang = check_lang(&lang)?;
    let Some(cur) = st.sessions.current(&headers) else {
        return Err(WebError::Unauthorized);
    };
    let Form(form) = form.map_err(|_| WebError::BadRequest)?;
    if !csrf::check(
        &st.secret,
        &binding(&delete_binding(lang), &cur.id_hex),
        &form.token,
    ) {
        return Err(WebError::Forbidden);
    }
    if !is_valid_id(&id) {
        return Err(WebError::NotFound);
    }
    let store = st.store.clone();
    let reference = cur.source.reference.clone();
    let deleted = tokio::task::spawn_blocking(move || store.delete_reply(&reference, &id))
        .await
        .map_err(|_| WebError::Internal("delete task failed".into()))?
        .map_err(|e| WebError::Internal(e.to_string()))?;
    if !deleted {
        return Err(WebError::NotFound);
    }
    Ok(Redirect::to(&format!("/{}/inbox", lang.code())).into_response())
}

async fn logout(
    State(st): State<AppState>,
    Path(lang): Path<String>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, WebError> {
    let lang = check_lang(&lang)?;
    let Form(form) = form.map_err(|_| WebError::BadRequest)?;
    if let Some(cur) = st.sessions.current(&headers) {
        let action = format!("/{}/logout", lang.code());
        if !csrf::check(&st.secret, &binding(&action, &cur.id_hex), &form.token) {
            return Err(WebError::Forbidden);
        }
        st.sessions.end(&headers);
    }
    let mut res = Redirect::to(&format!("/{}/", lang.code())).into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, Sessions::clear_cookie());
    Ok(res)
}

async fn inbox_submit(
    State(st): State<AppState>,
    Path(lang): Path<String>,
    ctx: Ctx,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, WebError> {
    let lang = check_lang(&lang)?;
    let Some(cur) = st.sessions.current(&headers) else {
        return Err(WebError::Unauthorized);
    };
    let action = format!("/{}/inbox/submit", lang.code());
    let received = receive(
        &st,
        &binding(&action, &cur.id_hex),
        &headers,
        multipart,
        SourcePlan::Existing(cur.source.clone()),
    )
    .await?;
    let back = format!("/{}/inbox", lang.code());
    Ok(receipt(
        &st,
        &ctx,
        lang,
        "inbox-sent-title",
        received.files,
        None,
        Some(back),
    ))
}
