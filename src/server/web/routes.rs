//! Every path of the source interface, defined once.
//!
//! The router registers [`Route::pattern`]; templates, redirects and form tokens use
//! [`Route::path`], so a link, a redirect or a token can never name a path the router does not
//! serve. Form tokens are bound to the path a form posts to (see [`super::csrf`]).
//!
//! Invariant: paths carry only the language and random ids, never anything a source typed.

use super::i18n::Lang;

/// A page or form target under a language prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /LANG/`: the landing page.
    Landing,
    /// `GET, POST /LANG/submit`: the submission form and its target.
    Submit,
    /// `GET, POST /LANG/login`: the login form and its target.
    Login,
    /// `GET /LANG/inbox`: replies and the follow-up form.
    Inbox,
    /// `POST /LANG/inbox/submit`: a follow-up.
    InboxSubmit,
    /// `POST /LANG/inbox/replies/ID/delete`: the source deletes one reply.
    DeleteReply,
    /// `POST /LANG/logout`.
    Logout,
}

/// The root, the English landing page with links to the others.
pub const ROOT: &str = "/";
/// The one stylesheet.
pub const STYLESHEET: &str = "/static/style.css";
/// `ok` for monitoring.
pub const HEALTH: &str = "/health";
/// Disallow-all.
pub const ROBOTS: &str = "/robots.txt";
/// A bare language prefix, redirected to [`Route::Landing`].
pub const LANG_ONLY: &str = "/{lang}";

impl Route {
    /// GET pages that the language switch keeps when it changes language; elsewhere (POST
    /// results: receipts, errors) it links to the language's landing page.
    pub const KEPT_BY_LANGUAGE_SWITCH: [Route; 3] = [Route::Landing, Route::Submit, Route::Login];

    /// The router's pattern, with `{lang}` (and `{id}`) placeholders.
    pub const fn pattern(self) -> &'static str {
        match self {
            Route::Landing => "/{lang}/",
            Route::Submit => "/{lang}/submit",
            Route::Login => "/{lang}/login",
            Route::Inbox => "/{lang}/inbox",
            Route::InboxSubmit => "/{lang}/inbox/submit",
            Route::DeleteReply => "/{lang}/inbox/replies/{id}/delete",
            Route::Logout => "/{lang}/logout",
        }
    }

    /// The path in `lang`. For [`Route::DeleteReply`] the `{id}` placeholder stays: that is the
    /// form the delete buttons' token is bound to (one token for all of a session's replies).
    pub fn path(self, lang: Lang) -> String {
        self.pattern().replacen("{lang}", lang.code(), 1)
    }

    /// The delete target of one reply.
    pub fn delete_reply(lang: Lang, reply_id: &str) -> String {
        Route::DeleteReply.path(lang).replacen("{id}", reply_id, 1)
    }

    /// The route whose path in some language is `path`, if any (ids do not match).
    pub fn of_path(path: &str) -> Option<(Route, Lang)> {
        let rest = path.strip_prefix('/')?;
        let (code, _) = rest.split_once('/')?;
        let lang = Lang::from_code(code)?;
        ALL_ROUTES
            .into_iter()
            .find(|r| r.path(lang) == path)
            .map(|r| (r, lang))
    }
}

/// Every route, for tests and lookups.
pub const ALL_ROUTES: [Route; 7] = [
    Route::Landing,
    Route::Submit,
    Route::Login,
    Route::Inbox,
    Route::InboxSubmit,
    Route::DeleteReply,
    Route::Logout,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::web::i18n::ALL;

    #[test]
    fn paths_fill_the_language_and_ids_and_are_found_again() {
        assert_eq!(Route::Submit.path(Lang::Az), "/az/submit");
        assert_eq!(Route::Landing.path(Lang::Ru), "/ru/");
        assert_eq!(
            Route::delete_reply(Lang::En, "ab"),
            "/en/inbox/replies/ab/delete"
        );
        for lang in ALL {
            for r in ALL_ROUTES {
                if r != Route::DeleteReply {
                    assert_eq!(Route::of_path(&r.path(lang)), Some((r, lang)));
                }
            }
        }
        assert_eq!(Route::of_path("/xx/submit"), None);
        assert_eq!(Route::of_path("/en/inbox/replies/ab/delete"), None);
    }
}
