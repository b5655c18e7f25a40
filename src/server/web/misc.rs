//! Landing pages, health check, robots.txt and the stylesheet.
//!
//! Invariant: these routes read no request body and store nothing.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use super::extract::LangPrefix;
use super::pages::{render, Ctx, LandingPage};
use super::routes::{self, Route};
use super::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(routes::ROOT, get(landing))
        .route(Route::Landing.pattern(), get(landing_lang))
        .route(routes::LANG_ONLY, get(lang_redirect))
        .route(routes::HEALTH, get(|| async { "ok" }))
        .route(routes::ROBOTS, get(robots))
        .route(routes::STYLESHEET, get(style))
}

async fn landing(State(st): State<AppState>, ctx: Ctx) -> Response {
    render(&LandingPage {
        c: ctx.chrome(&st, "landing-submit-button").titled_org(),
    })
}

async fn landing_lang(st: State<AppState>, _: LangPrefix, ctx: Ctx) -> Response {
    landing(st, ctx).await
}

async fn lang_redirect(LangPrefix(lang): LangPrefix) -> Redirect {
    Redirect::to(&Route::Landing.path(lang))
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
