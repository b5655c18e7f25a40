//! Page frames and templates (askama, compile-time checked and escaped).
//!
//! Invariants:
//! - Every page is rendered through a template with automatic HTML escaping and the frame of
//!   `templates/base.html`: one same-origin stylesheet, no script, no inline style, a language
//!   switch, and the not-on-Tor warning when it applies.
//! - Every page is rendered by [`render`] straight into a wiped buffer and sent as a body that
//!   is wiped once written ([`super::wiped`]): the receipt holds a new source's codename and
//!   the inbox decrypted replies, and no page is left out by mistake. A template's own fields
//!   that hold a codename or a source's words borrow them ([`ReceiptPage::codename`]) or are
//!   wiped when the page is dropped (the inbox's replies, the receipt's consent).

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fluent_templates::fluent_bundle::FluentValue;
use zeroize::Zeroize;

use super::extract::off_onion;
use super::guided::{LINE_MAX_BYTES, TEXT_MAX_BYTES};
use super::i18n::{Lang, ALL};
use super::routes::{self, Route};
use super::wiped::page;
use super::{csrf, AppState, MAX_MESSAGE_BYTES};
use crate::envelope::Consent;
use crate::server::consent_note::ConsentNote;
use crate::util::wipe::WipedBuf;

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
    /// Organisation name, in the page's language where it has its own (`org_name_az`,
    /// `org_name_ru`).
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

    /// The landing page in the page's language.
    pub fn home_href(&self) -> String {
        Route::Landing.path(self.lang)
    }

    /// The submission form in the page's language.
    pub fn submit_href(&self) -> String {
        Route::Submit.path(self.lang)
    }

    /// The login form in the page's language.
    pub fn login_href(&self) -> String {
        Route::Login.path(self.lang)
    }

    /// The stylesheet.
    pub fn stylesheet_href(&self) -> &'static str {
        routes::STYLESHEET
    }
}

/// The parts of a request a page depends on, as an extractor.
pub struct Ctx {
    /// The page language (from the URL prefix; English elsewhere).
    pub lang: Lang,
    /// The route the request is for, when it is one of [`Route`]'s.
    route: Option<Route>,
    onion_warning: Option<String>,
}

impl Ctx {
    /// Builds the context from request parts.
    pub fn from_parts(parts: &Parts, state: &AppState) -> Ctx {
        let path = parts.uri.path();
        let lang = path
            .trim_start_matches('/')
            .split('/')
            .next()
            .and_then(Lang::from_code)
            .unwrap_or(Lang::En);
        let onion_warning = off_onion(state, &parts.headers, &parts.uri)
            .then(|| state.config.onion_address.clone())
            .flatten();
        Ctx {
            lang,
            route: Route::of_path(path).map(|(r, _)| r),
            onion_warning,
        }
    }

    /// The frame of a page titled with text `title_id`.
    pub fn chrome(&self, state: &AppState, title_id: &str) -> Chrome {
        // The switch keeps the page (after the language prefix) for GET pages; POST results
        // (receipts, errors) link to the language's start page instead.
        let kept = self
            .route
            .filter(|r| Route::KEPT_BY_LANGUAGE_SWITCH.contains(r))
            .unwrap_or(Route::Landing);
        let langs = ALL
            .iter()
            .map(|l| LangLink {
                code: l.code(),
                name: l.native_name(),
                href: kept.path(*l),
                current: *l == self.lang,
            })
            .collect();
        Chrome {
            lang: self.lang,
            org: match self.lang {
                Lang::En => state.config.org_name.clone(),
                Lang::Az => state.config.org_name_az.clone(),
                Lang::Ru => state.config.org_name_ru.clone(),
            },
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

/// Renders a template into a response whose body is wiped once sent ([`super::wiped::page`]);
/// a render failure is a 500 without detail (what was rendered so far is wiped).
///
/// askama's own `render` starts a `String` at the template's size hint and lets it grow,
/// leaving a copy of the page in freed memory at each growth; `render_into` a [`WipedBuf`]
/// does not, and askama's escaping writes each value straight into it.
pub fn render<T: Template>(t: &T) -> Response {
    let mut html = WipedBuf::with_capacity(T::SIZE_HINT.max(16 * 1024));
    match t.render_into(&mut html) {
        Ok(()) => page(html),
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

/// The fields of the submission form (also on the inbox): the message, the guided questions
/// and consent (`templates/form.html`, field names and values fixed by the SPEC), the files.
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
    /// `maxlength` of the one-line answers.
    pub line_max: usize,
    /// `maxlength` of the multi-line answers.
    pub text_max: usize,
    /// The inbox's follow-up form (different consent texts).
    pub followup: bool,
    /// The consent radio ticked when the page opens: `records` (the most restrictive) on the
    /// first form, the source's current choice on a follow-up whose choice the session could
    /// read, and `""` ("keep my earlier choice", shown only then) when it could not.
    pub consent_checked: &'static str,
    /// Whether the name box is ticked when the page opens (the source's current choice).
    pub name_checked: bool,
}

impl FormView {
    /// Makes this the inbox's follow-up form, starting at the source's current choice when
    /// `current` is known.
    pub fn follow_up(&mut self, current: Option<&ConsentNote>) {
        self.followup = true;
        match current.and_then(|n| n.consent) {
            Some(consent) => {
                self.consent_checked = consent.as_str();
                self.name_checked = current.and_then(|n| n.consent_name) == Some(true);
            }
            None => {
                self.consent_checked = "";
                self.name_checked = false;
            }
        }
    }
}

impl FormView {
    /// The form posting to `action`, with a token bound to `action`. (The inbox binds its
    /// token to the session too, and replaces it.)
    pub fn new(st: &AppState, lang: Lang, action: &str) -> FormView {
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
                    FluentValue::from(lang.size(st.config.max_upload_bytes)),
                )],
            ),
            // A character is at least one byte; the server checks bytes.
            max_message_chars: MAX_MESSAGE_BYTES,
            // A character is at most four bytes: a browser that keeps to these never reaches
            // an answer's byte cap, only the cap the message and answers share.
            line_max: LINE_MAX_BYTES / 4,
            text_max: TEXT_MAX_BYTES / 4,
            followup: false,
            consent_checked: Consent::Records.as_str(),
            name_checked: false,
        }
    }
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
pub struct ReceiptPage<'a> {
    /// Frame.
    pub c: Chrome,
    /// The heading.
    pub heading: String,
    /// Number of files received.
    pub files: u32,
    /// "Your message and N files were received."
    pub files_text: String,
    /// A new source's codename, shown once: borrowed from its `SecretString`, never copied
    /// but into the wiped page.
    pub codename: Option<&'a str>,
    /// Link back to the inbox, for follow-ups.
    pub back_link: Option<String>,
    /// What the submission says about consent, in words: the choice, then the name. Wiped
    /// with the page.
    pub consent_lines: Vec<String>,
}

impl Drop for ReceiptPage<'_> {
    fn drop(&mut self) {
        self.consent_lines.zeroize();
    }
}

/// What a receipt confirms about consent: the choice the submission carries, or that the
/// earlier one stands (a follow-up that chose nothing), and what it says about the name.
pub struct ConsentShown {
    /// The consent sent, if any.
    pub consent: Option<Consent>,
    /// The name choice sent, if any.
    pub consent_name: Option<bool>,
}

/// What `shown` says about consent, in words: the choice, then the name.
pub fn consent_lines(lang: Lang, shown: &ConsentShown) -> Vec<String> {
    let mut lines = vec![match shown.consent {
        Some(Consent::Records) => lang.t("receipt-consent-records"),
        Some(Consent::Legal) => lang.t("receipt-consent-legal"),
        Some(Consent::Publish) => lang.t("receipt-consent-publish"),
        None => lang.t("receipt-consent-kept"),
    }];
    match shown.consent_name {
        Some(true) => lines.push(lang.t("receipt-name-yes")),
        Some(false) => lines.push(lang.t("receipt-name-no")),
        None => {}
    }
    lines
}

/// Renders the receipt page: `heading_id` titles it, `codename` is a new source's (shown once),
/// `back_link` leads a returning source back to the inbox.
pub fn receipt(
    st: &AppState,
    ctx: &Ctx,
    heading_id: &str,
    files: u32,
    codename: Option<&age::secrecy::SecretString>,
    back_link: Option<String>,
    consent: &ConsentShown,
) -> Response {
    let c = ctx.chrome(st, heading_id);
    render(&ReceiptPage {
        consent_lines: consent_lines(ctx.lang, consent),
        heading: c.title.clone(),
        files_text: ctx
            .lang
            .t_args("receipt-files", &[("count", FluentValue::from(files))]),
        c,
        files,
        codename: codename.map(age::secrecy::ExposeSecret::expose_secret),
        back_link,
    })
}

/// An error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// Frame (its title is the error's title).
    pub c: Chrome,
    /// What happened and what to do.
    pub text: String,
    /// Advice for large files (on the 408 and 413 pages).
    pub tip: Option<String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::server::web::wiped::WipedPage;
    use crate::server::web::{test_ctx, test_state};
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn the_receipt_is_a_wiped_page_with_the_codename_borrowed() {
        let dir = tempfile::tempdir().unwrap();
        let st = test_state(dir.path());
        let code = age::secrecy::SecretString::from("oak river lamp".to_owned());
        let res = receipt(
            &st,
            &test_ctx(&st, "/en/submit"),
            "receipt-title",
            1,
            Some(&code),
            None,
            &ConsentShown {
                consent: Some(Consent::Legal),
                consent_name: Some(false),
            },
        );
        assert_eq!(res.extensions().get::<WipedPage>(), Some(&WipedPage));
        let html = res.into_body().collect().await.unwrap().to_bytes();
        let html = std::str::from_utf8(&html).unwrap();
        assert!(
            html.contains("<p class=\"codename\" id=\"codename\">oak river lamp</p>"),
            "{html}"
        );
    }

    #[tokio::test]
    async fn pages_larger_than_the_first_buffer_render_whole() {
        let dir = tempfile::tempdir().unwrap();
        let st = test_state(dir.path());
        let lines: Vec<String> = (0..2000).map(|i| format!("line {i} <&>")).collect();
        let page = ErrorPage {
            c: test_ctx(&st, "/en/").chrome(&st, "error-400-title"),
            text: lines.join(" "),
            tip: None,
        };
        let res = render(&page);
        assert_eq!(res.extensions().get::<WipedPage>(), Some(&WipedPage));
        let html = res.into_body().collect().await.unwrap().to_bytes();
        let html = std::str::from_utf8(&html).unwrap();
        assert!(html.len() > 32 * 1024);
        assert!(html.contains("line 0 &#60;&#38;&#62; line 1 "));
        assert!(html.contains("line 1999 &#60;&#38;&#62;"));
        assert!(html.trim_end().ends_with("</html>"));
    }
}
