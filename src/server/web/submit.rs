//! The first submission: the form, and its target.
//!
//! Invariant: this file only renders and routes; the body is read by [`super::receive`], which
//! encrypts as it reads, and nothing from the form is logged.

use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::extract::LangPrefix;
use super::pages::{receipt, render, ConsentShown, Ctx, FormView, SubmitPage};
use super::receive::{receive, SourcePlan};
use super::routes::Route;
use super::{AppState, WebError};

pub(super) fn router() -> Router<AppState> {
    Router::new().route(Route::Submit.pattern(), get(form).post(submit))
}

async fn form(State(st): State<AppState>, LangPrefix(lang): LangPrefix, ctx: Ctx) -> Response {
    render(&SubmitPage {
        c: ctx.chrome(&st, "submit-title"),
        form: FormView::new(&st, lang, &Route::Submit.path(lang)),
    })
}

async fn submit(
    State(st): State<AppState>,
    LangPrefix(lang): LangPrefix,
    ctx: Ctx,
    req: Request,
) -> Result<Response, WebError> {
    let action = Route::Submit.path(lang);
    let received = receive(&st, &action, lang, req, SourcePlan::New).await?;
    // The codename stays in its `SecretString`: the receipt borrows it into a wiped page.
    Ok(receipt(
        &st,
        &ctx,
        "receipt-title",
        received.files,
        received.codename.as_ref(),
        None,
        &ConsentShown {
            consent: received.consent,
            consent_name: received.consent_name,
        },
    ))
}
