//! Page frames and templates (askama, compile-time checked and escaped).
//!
//! Invariant: every page is rendered through a template with automatic HTML escaping and the
//! frame of `templates/base.html`: one same-origin stylesheet, no script, no inline style, a
//! language switch, and the not-on-Tor warning when it applies.

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use fluent_templates::fluent_bundle::FluentValue;

use super::i18n::{Lang, ALL};
use super::AppState;

/// One entry of the language switch.
pub struct LangLink {
    /// `en`, `az`, `ru`.
    pub code: &'static str,
    /// The language's own name.
    pub name: &'static str,
    /// The same page in that language.
    pub href: String,
    /// True for the page's language.
    pub current: bool,
}

/// What every page needs: language, organisation name, title, language switch, Tor warning.
pub struct Chrome {
    /// Page language.
    pub lang: Lang,
    /// Organisation name.
    pub org: String,
    /// Page title.
    pub title: String,
    /// The onion address, when the request did not come through it.
    pub onion_warning: Option<String>,
    /// The language switch.
    pub langs: Vec<LangLink>,
}

impl Chrome {
    /// A text in the page's language.
    pub fn t(&self, id: &str) -> String {
        self.lang.t(id)
    }

    /// A text that takes the organisation's name as `$org`.
    pub fn t_org(&self, id: &str) -> String {
        self.lang
            .t_args(id, &[("org", FluentValue::from(self.org.clone()))])
    }

    /// Sets the title to the organisation's landing title.
    pub fn titled_org(mut self) -> Self {
        self.title = self.t_org("landing-title");
        self
    }

    /// Sets the title from a text id.
    pub fn titled(mut self, id: &str) -> Self {
        self.title = self.t(id);
        self
    }
}

/// The parts of a request a page depends on, as an extractor.
pub struct Ctx {
    /// The page language (from the URL prefix; English elsewhere).
    pub lang: Lang,
    path: String,
    onion_warning: Option<String>,
}

/// The host a request was addressed to, without port, lower case.
pub fn request_host(parts: &Parts) -> Option<String> {
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| parts.uri.host())?;
    let host = host.rsplit_once(':').map_or(host, |(h, p)| {
        if p.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    Some(host.to_ascii_lowercase())
}

impl Ctx {
    /// Builds the context from request parts.
    pub fn from_parts(parts: &Parts, state: &AppState) -> Ctx {
        let path = parts.uri.path().to_owned();
        let lang = path
            .trim_start_matches('/')
            .split('/')
            .next()
            .and_then(Lang::from_code)
            .unwrap_or(Lang::En);
        let onion_warning = state.config.onion_address.as_ref().and_then(|onion| {
            (request_host(parts).as_deref() != Some(onion.as_str())).then(|| onion.clone())
        });
        Ctx {
            lang,
            path,
            onion_warning,
        }
    }

    /// The frame of a page titled with text `title_id`.
    pub fn chrome(&self, state: &AppState, title_id: &str) -> Chrome {
        // The switch keeps the page (after the language prefix) for GET pages; POST results
        // (receipts, errors) link to the language's start page instead.
        let rest = self
            .path
            .trim_start_matches('/')
            .split_once('/')
            .map(|(_, r)| r)
            .filter(|r| matches!(*r, "" | "submit" | "login"))
            .unwrap_or("");
        let langs = ALL
            .iter()
            .map(|l| LangLink {
                code: l.code(),
                name: l.native_name(),
                href: format!("/{}/{}", l.code(), rest),
                current: *l == self.lang,
            })
            .collect();
        Chrome {
            lang: self.lang,
            org: state.config.org_name.clone(),
            title: String::new(),
            onion_warning: self.onion_warning.clone(),
            langs,
        }
        .titled(title_id)
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Ctx::from_parts(parts, state))
    }
}

/// Renders a template into a response; a render failure is a 500 without detail.
pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!("template failed: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// The landing page.
#[derive(Template)]
#[template(path = "landing.html")]
pub struct LandingPage {
    /// Frame.
    pub c: Chrome,
}

/// The fields of the submission form (also on the inbox).
pub struct FormView {
    /// Where it posts.
    pub action: String,
    /// The per-form token.
    pub token: String,
    /// The hint under the message field (with its limit).
    pub message_hint: String,
    /// The hint under the file field (with the size limit).
    pub files_hint: String,
    /// `maxlength` of the textarea, in characters.
    pub max_message_chars: usize,
}

/// The submission form.
#[derive(Template)]
#[template(path = "submit.html")]
pub struct SubmitPage {
    /// Frame.
    pub c: Chrome,
    /// The form.
    pub form: FormView,
}

/// The receipt after a submission.
#[derive(Template)]
#[template(path = "receipt.html")]
pub struct ReceiptPage {
    /// Frame.
    pub c: Chrome,
    /// The heading.
    pub heading: String,
    /// Number of files received.
    pub files: u32,
    /// "Your message and N files were received."
    pub files_text: String,
    /// A new source's codename, shown once.
    pub codename: Option<String>,
    /// Link back to the inbox, for follow-ups.
    pub back_link: Option<String>,
}

/// An error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// Frame (its title is the error's title).
    pub c: Chrome,
    /// What happened and what to do.
    pub text: String,
}
