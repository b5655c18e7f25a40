//! Landing pages, health check, robots.txt and the stylesheet.
//!
//! Invariant: these routes read no request body and store nothing.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use super::i18n::Lang;
use super::pages::{render, Ctx, LandingPage};
use super::{AppState, WebError};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(landing))
        .route("/{lang}/", get(landing_lang))
        .route("/{lang}", get(lang_redirect))
        .route("/health", get(|| async { "ok" }))
        .route("/robots.txt", get(robots))
        .route("/static/style.css", get(style))
}

/// Checks a language prefix from the URL.
pub fn check_lang(lang: &str) -> Result<Lang, WebError> {
    Lang::from_code(lang).ok_or(WebError::NotFound)
}

async fn landing(State(st): State<AppState>, ctx: Ctx) -> Response {
    render(&LandingPage {
        c: ctx.chrome(&st, "landing-submit-button").titled_org(),
    })
}

async fn landing_lang(
    State(st): State<AppState>,
    Path(lang): Path<String>,
    ctx: Ctx,
) -> Result<Response, WebError> {
    check_lang(&lang)?;
    Ok(landing(State(st), ctx).await)
}

async fn lang_redirect(Path(lang): Path<String>) -> Result<Redirect, WebError> {
    check_lang(&lang)?;
    Ok(Redirect::to(&format!("/{lang}/")))
}

async fn robots() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "User-agent: *\nDisallow: /\n",
    )
}

async fn style() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../../static/style.css"),
    )
}
