//! Returning sources: login with a codename, the inbox of replies, follow-ups, logout.
//!
//! Invariants:
//! - The codename is used only to derive keys and is dropped at once. A login waits for its
//!   derivation in the bounded queue of [`super::derive`] (Argon2id, off the async threads, a
//!   bounded number at once; beyond the queue, or after a minute, a "busy" page), holding only
//!   the normalised codename; its form is at most [`super::form_body::SMALL_FORM_MAX_BYTES`] bytes.
//! - The login body, the codename as typed and as normalised are held only in memory wiped
//!   when dropped ([`SmallForm`], [`codename::normalise`]); the typed form is dropped before
//!   the derivation starts. Decrypted replies are moved, not copied, into the inbox page, which
//!   is rendered into a wiped buffer (as every page is, see [`super::pages::render`]).
//! - A login adds a session and replaces at most one (see [`super::session`]): a source that
//!   logs in again and again only ever replaces its own sessions.
//! - A failed login gets the same page whatever the reason, and a wrong codename costs the same
//!   derivation and lookup as a right one, so nothing tells whether a codename ever existed.
//! - Replies are decrypted in memory for one request, with the session's identity; a source
//!   can only list or delete replies under its own reference.
//! - Every form here carries a token bound to the form and to the session.
//! - The inbox shows a source their current consent from their consent note
//!   ([`crate::server::consent_note`]), opened in memory with the session's identity, and the
//!   follow-up form starts at that choice. Without a readable note it says it cannot show the
//!   earlier choice and offers "keep my earlier choice" (sent as no consent at all). A
//!   follow-up that carries only a new consent is a submission; one that sends back the
//!   choice already made, and nothing else, is refused as empty.

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use fluent_templates::fluent_bundle::FluentValue;
use serde::Deserialize;
use zeroize::Zeroize;

use super::derive::{derive_limited, Wait};
use super::extract::{LangPrefix, SourceSession};
use super::form_body::SmallForm;
use super::i18n::Lang;
use super::pages::{consent_lines, receipt, render, Chrome, ConsentShown, Ctx, FormView};
use super::receive::{receive, SourcePlan};
use super::routes::Route;
use super::session::Sessions;
use super::{blocking, csrf, AppState, WebError};
use crate::export::is_valid_id;
use crate::server::codename;
use crate::server::consent_note::ConsentNote;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(Route::Login.pattern(), get(login_form).post(login))
        .route(Route::Inbox.pattern(), get(inbox))
        .route(Route::DeleteReply.pattern(), post(delete_reply))
        .route(Route::Logout.pattern(), post(logout))
}

/// The follow-up route, with the upload body limit (set by the caller).
pub(super) fn upload_router() -> Router<AppState> {
    Router::new().route(Route::InboxSubmit.pattern(), post(inbox_submit))
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

/// One reply, decrypted for this request; its text is wiped when the page is dropped.
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
    /// The source's current consent in words; empty when the session could not read it.
    consent_lines: Vec<String>,
    logout_action: String,
    logout_token: String,
}

/// The session's source's current consent note, opened with its identity. A note that is
/// missing, damaged or not for this key is `None`; so is a journal that cannot be read (the
/// inbox still works, and says it cannot show the choice).
async fn current_note(st: &AppState, session: &SourceSession) -> Option<ConsentNote> {
    let store = st.store.clone();
    let reference = session.0.source.reference.clone();
    match blocking("consent note", move || store.consent_note(&reference)).await {
        Ok(Some(sealed)) => ConsentNote::open(&sealed, &session.0.identity),
        Ok(None) => None,
        Err(_) => {
            tracing::warn!("could not read a consent note");
            None
        }
    }
}

fn login_page(st: &AppState, ctx: &Ctx, lang: Lang, failed: bool) -> Response {
    let action = Route::Login.path(lang);
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
    LangPrefix(lang): LangPrefix,
    ctx: Ctx,
) -> Response {
    login_page(&st, &ctx, lang, false)
}

async fn login(
    State(st): State<AppState>,
    LangPrefix(lang): LangPrefix,
    ctx: Ctx,
    form: SmallForm,
) -> Result<Response, WebError> {
    let [token, typed] = form.fields(["token", "codename"])?;
    if !csrf::check(&st.secret, &Route::Login.path(lang), token) {
        return Err(WebError::Forbidden);
    }
    let normalised = codename::normalise(typed);
    // The typed codename (and the whole decoded body) is wiped here, before the derivation.
    drop(form);
    // Empty or over-long input: refused before any derivation, with the same page.
    let Ok(normalised) = normalised else {
        return Ok(login_page(&st, &ctx, lang, true));
    };
    let derived = derive_limited(&st, normalised, Wait::Login).await?;
    let store = st.store.clone();
    let lookup = derived.lookup;
    let found = blocking("lookup", move || store.source_by_lookup(&lookup)).await?;
    let Some(source) = found else {
        return Ok(login_page(&st, &ctx, lang, true));
    };
    let cookie = st
        .sessions
        .create(source, derived.reply_identity)
        .map_err(|_| WebError::Internal("session id".into()))?;
    let mut res = Redirect::to(&Route::Inbox.path(lang)).into_response();
    res.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(res)
}

/// Binds a form's token to the session: a token from one session is useless in another. The
/// delete buttons' token is bound to [`Route::DeleteReply`]'s path with its `{id}` left in: one
/// token for all of a session's replies, since which replies a session may delete is decided by
/// the store, under the session's own reference.
fn binding(route: Route, lang: Lang, session: &SourceSession) -> String {
    format!("{}|{}", route.path(lang), session.0.id_hex)
}

async fn inbox(
    State(st): State<AppState>,
    LangPrefix(lang): LangPrefix,
    ctx: Ctx,
    session: Option<SourceSession>,
) -> Result<Response, WebError> {
    let Some(session) = session else {
        return Ok(Redirect::to(&Route::Login.path(lang)).into_response());
    };
    let cur = &session.0;
    let store = st.store.clone();
    let reference = cur.source.reference.clone();
    let records = blocking("replies", move || store.replies_for(&reference)).await?;
    let delete_token = csrf::issue(&st.secret, &binding(Route::DeleteReply, lang, &session));
    let mut replies = Vec::new();
    for r in records {
        let Ok(bytes) = hex::decode(&r.ciphertext) else {
            continue;
        };
        let text = match crate::reply::decrypt_reply(&bytes, &cur.identity) {
            // Moved out of its `Zeroizing` without a copy; `ReplyView` wipes it.
            Ok(mut t) => std::mem::take(&mut *t),
            // Not for this source's key (should not happen): skip, say nothing.
            Err(_) => continue,
        };
        replies.push(ReplyView {
            day_text: lang.t_args(
                "inbox-reply-day",
                &[("day", FluentValue::from(r.day.clone()))],
            ),
            delete_token: delete_token.clone(),
            delete_action: Route::delete_reply(lang, &r.id),
            id: r.id,
            text,
        });
    }
    let note = current_note(&st, &session).await;
    let mut form = FormView::new(&st, lang, &Route::InboxSubmit.path(lang));
    form.token = csrf::issue(&st.secret, &binding(Route::InboxSubmit, lang, &session));
    form.follow_up(note.as_ref());
    let consent_lines = match note {
        Some(n) => consent_lines(
            lang,
            &ConsentShown {
                consent: n.consent,
                consent_name: n.consent_name,
            },
        ),
        None => Vec::new(),
    };
    Ok(render(&InboxPage {
        c: ctx.chrome(&st, "inbox-title"),
        replies,
        form,
        consent_lines,
        logout_token: csrf::issue(&st.secret, &binding(Route::Logout, lang, &session)),
        logout_action: Route::Logout.path(lang),
    }))
}

#[derive(Deserialize)]
struct ReplyId {
    id: String,
}

async fn delete_reply(
    State(st): State<AppState>,
    LangPrefix(lang): LangPrefix,
    Path(ReplyId { id }): Path<ReplyId>,
    session: SourceSession,
    form: SmallForm,
) -> Result<Response, WebError> {
    let [token] = form.fields(["token"])?;
    if !csrf::check(
        &st.secret,
        &binding(Route::DeleteReply, lang, &session),
        token,
    ) {
        return Err(WebError::Forbidden);
    }
    if !is_valid_id(&id) {
        return Err(WebError::NotFound);
    }
    let store = st.store.clone();
    let reference = session.0.source.reference.clone();
    let deleted = blocking("delete", move || store.delete_reply(&reference, &id)).await?;
    if !deleted {
        return Err(WebError::NotFound);
    }
    Ok(Redirect::to(&Route::Inbox.path(lang)).into_response())
}

async fn logout(
    State(st): State<AppState>,
    LangPrefix(lang): LangPrefix,
    session: Option<SourceSession>,
    headers: HeaderMap,
    form: SmallForm,
) -> Result<Response, WebError> {
    let [token] = form.fields(["token"])?;
    if let Some(session) = session {
        if !csrf::check(&st.secret, &binding(Route::Logout, lang, &session), token) {
            return Err(WebError::Forbidden);
        }
        st.sessions.end(&headers);
    }
    let mut res = Redirect::to(&Route::Landing.path(lang)).into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, Sessions::clear_cookie());
    Ok(res)
}

async fn inbox_submit(
    State(st): State<AppState>,
    LangPrefix(lang): LangPrefix,
    ctx: Ctx,
    session: SourceSession,
    req: Request,
) -> Result<Response, WebError> {
    let note = current_note(&st, &session).await;
    let received = receive(
        &st,
        &binding(Route::InboxSubmit, lang, &session),
        lang,
        req,
        SourcePlan::Existing(session.0.source.clone(), note),
    )
    .await?;
    // A follow-up that only changes consent is thanked for the choice, not for a message.
    let heading = if received.only_consent {
        "inbox-sent-consent-title"
    } else {
        "inbox-sent-title"
    };
    Ok(receipt(
        &st,
        &ctx,
        heading,
        received.files,
        None,
        Some(Route::Inbox.path(lang)),
        &ConsentShown {
            consent: received.consent,
            consent_name: received.consent_name,
        },
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::envelope::SourceInfo;
    use crate::server::web::wiped::WipedPage;
    use crate::server::web::{test_ctx, test_state};
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn the_inbox_is_a_wiped_page() {
        let dir = tempfile::tempdir().unwrap();
        let st = test_state(dir.path());
        let identity = age::x25519::Identity::generate();
        let source = SourceInfo {
            reference: crate::export::new_id().unwrap(),
            designation: "amber heron".into(),
            reply_recipient: identity.to_public().to_string(),
        };
        let set_cookie = st.sessions.create(source, identity).unwrap();
        let cookie = set_cookie.to_str().unwrap().split(';').next().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, cookie.parse().unwrap());
        let current = st.sessions.current(&headers).unwrap();
        let res = inbox(
            State(st.clone()),
            LangPrefix(Lang::En),
            test_ctx(&st, "/en/inbox"),
            Some(SourceSession(current)),
        )
        .await
        .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.extensions().get::<WipedPage>(), Some(&WipedPage));
        let html = res.into_body().collect().await.unwrap().to_bytes();
        assert!(std::str::from_utf8(&html)
            .unwrap()
            .contains("id=\"no-replies\""));
    }
}
