//! Landing page, health check, robots.txt and the stylesheet.
//!
//! Invariant: these routes read no request body and store nothing.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::get;
use axum::Router;

use super::{html, AppState, WebError};

/// Languages of the source interface.
pub const LANGS: [&str; 3] = ["en", "az", "ru"];

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(landing_root))
        .route("/{lang}/", get(landing))
        .route("/{lang}", get(lang_redirect))
        .route("/health", get(|| async { "ok" }))
        .route("/robots.txt", get(robots))
        .route("/static/style.css", get(style))
}

/// Checks a language prefix from the URL.
pub fn check_lang(lang: &str) -> Result<(), WebError> {
    if LANGS.contains(&lang) {
        Ok(())
    } else {
        Err(WebError::NotFound)
    }
}

async fn landing_root(State(st): State<AppState>) -> Html<String> {
    Html(landing_page(&st))
}

async fn landing(
    State(st): State<AppState>,
    Path(lang): Path<String>,
) -> Result<Html<String>, WebError> {
    check_lang(&lang)?;
    Ok(Html(landing_page(&st)))
}

async fn lang_redirect(Path(lang): Path<String>) -> Result<Redirect, WebError> {
    check_lang(&lang)?;
    Ok(Redirect::to(&format!("/{lang}/")))
}

fn landing_page(st: &AppState) -> String {
    let org = html::escape(&st.config.org_name);
    let body = format!(
        "<h1>{org}: send testimony safely</h1>\n\
<p>This is a secure drop of {org}. What you send is encrypted the moment it arrives; only the \
organisation's reviewers can read it, on a computer that is never connected to the internet.</p>\n\
<p><a href=\"/en/submit\">Send testimony or files</a></p>\n\
<p lang=\"az\"><a href=\"/az/\">Azərbaycanca</a> · <a href=\"/ru/\" lang=\"ru\">Русский</a></p>"
    );
    html::page(&st.config.org_name, &body)
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
        include_str!("../../static/style.css"),
    )
}
