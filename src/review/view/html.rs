//! Escaping, and the frame every page shares (doctype, `lang`, the CSP and referrer metas, the
//! stylesheet link).
//!
//! Invariant: text from a submission, a reply or an export reaches a page only through
//! [`Html::text`], [`Html::name`] or [`Html::block`], which escape `& < > " '` and show
//! control and bidirectional characters as visible `[U+…]` marks, so no byte of it can open a
//! tag, close an attribute or reorder the page around it. The callers put such text only in
//! element content (never in an attribute or a URL) and wrap it in `<bdi>` or `dir="auto"`.

use std::fmt::Write as _;

use super::{Page, CSP};
use crate::safename::is_invisible_or_control;

/// A page being written.
pub(super) struct Html {
    out: Page,
}

/// How an untrusted character is written.
enum Shown {
    /// As it is.
    Plain(char),
    /// An HTML entity.
    Entity(&'static str),
    /// Dropped (the `\r` of a `\r\n`).
    Nothing,
    /// A visible mark naming its code point.
    Mark(char),
}

impl Html {
    /// Starts a page: everything up to and including `<body>`. `root` is the relative path
    /// from the page to the case folder ("" or "../"), for the stylesheet.
    pub(super) fn start(title: &str, root: &str) -> Html {
        let mut h = Html {
            out: Page::default(),
        };
        h.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        // First after the charset, so it governs everything that follows.
        h.raw("<meta http-equiv=\"Content-Security-Policy\" content=\"");
        h.raw(CSP);
        h.raw("\">\n<meta name=\"referrer\" content=\"no-referrer\">\n");
        h.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        h.raw("<title>");
        h.name(title);
        h.raw("</title>\n<link rel=\"stylesheet\" href=\"");
        h.raw(root);
        h.raw("style.css\">\n</head>\n<body>\n");
        h
    }

    /// Ends the page.
    pub(super) fn finish(mut self) -> Page {
        self.raw("</body>\n</html>\n");
        self.out
    }

    /// Markup written by this module (never anything read from the case folder).
    pub(super) fn raw(&mut self, s: &str) {
        self.out.push_str(s);
    }

    /// A number or other value formatted by this module.
    pub(super) fn num(&mut self, n: impl std::fmt::Display) {
        let _ = write!(self.out, "{n}");
    }

    /// Untrusted text inside running text, isolated (`<bdi>`): a name, a path, a reason.
    /// Every control and invisible character is shown as a mark.
    pub(super) fn text(&mut self, s: &str) {
        self.raw("<bdi>");
        self.name(s);
        self.raw("</bdi>");
    }

    /// Untrusted text without the `<bdi>` (for `<title>` and inside an element that already
    /// isolates it).
    pub(super) fn name(&mut self, s: &str) {
        for c in s.chars() {
            let shown = match escape(c) {
                Some(entity) => Shown::Entity(entity),
                None if is_invisible_or_control(c) => Shown::Mark(c),
                None => Shown::Plain(c),
            };
            self.put(shown);
        }
    }

    /// Untrusted multi-line text (a message, a reply) for an element styled
    /// `white-space: pre-wrap` with `dir="auto"`: line breaks and tabs kept (`\r\n` becomes a
    /// line break), the joiners and selectors that scripts and emoji need kept, and every
    /// other control, bidirectional or invisible character shown as a mark.
    pub(super) fn block(&mut self, s: &str) {
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            let shown = if c == '\r' && chars.peek() == Some(&'\n') {
                Shown::Nothing
            } else if c == '\n' || c == '\t' {
                Shown::Plain(c)
            } else if let Some(entity) = escape(c) {
                Shown::Entity(entity)
            } else if is_hidden_in_text(c) {
                Shown::Mark(c)
            } else {
                Shown::Plain(c)
            };
            self.put(shown);
        }
    }

    fn put(&mut self, shown: Shown) {
        match shown {
            Shown::Plain(c) => self.out.push(c),
            Shown::Entity(e) => self.out.push_str(e),
            Shown::Nothing => {}
            Shown::Mark(c) => {
                let _ = write!(
                    self.out,
                    "<span class=\"mark\" title=\"A hidden character\">[U+{:04X}]</span>",
                    c as u32
                );
            }
        }
    }
}

/// The entity for the five characters that can end text or an attribute value.
fn escape(c: char) -> Option<&'static str> {
    Some(match c {
        '&' => "&amp;",
        '<' => "&lt;",
        '>' => "&gt;",
        '"' => "&quot;",
        '\'' => "&#39;",
        _ => return None,
    })
}

/// Characters shown as marks inside a message: controls, the bidirectional controls that can
/// reorder what follows them, line and paragraph separators, and the zero-width characters
/// that can hide text (zero-width space, word joiner, invisible operators, BOM, interlinear
/// annotations). Zero-width joiners, variation selectors and emoji tags are kept: Persian,
/// Indic scripts and emoji need them, and they reorder nothing.
fn is_hidden_in_text(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061C}'
            | '\u{200B}'
            | '\u{200E}'..='\u{200F}'
            | '\u{2028}'..='\u{2029}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
        )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn name(s: &str) -> String {
        let mut h = Html {
            out: Page::default(),
        };
        h.name(s);
        h.out.to_string()
    }

    fn block(s: &str) -> String {
        let mut h = Html {
            out: Page::default(),
        };
        h.block(s);
        h.out.to_string()
    }

    #[test]
    fn markup_and_quotes_are_escaped() {
        assert_eq!(
            name("<b>\"x\" & 'y'</b>"),
            "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;"
        );
        assert_eq!(block("<img src=x>"), "&lt;img src=x&gt;");
    }

    #[test]
    fn bidirectional_overrides_and_controls_are_shown_as_marks() {
        let n = name("invoice\u{202E}gpj.exe\n\u{1b}[31m");
        assert!(!n.contains('\u{202E}') && !n.contains('\u{1b}') && !n.contains('\n'));
        assert!(n.contains("[U+202E]") && n.contains("[U+000A]") && n.contains("[U+001B]"));
        let b = block("a\u{2067}b\u{200B}c\u{0}");
        assert!(b.contains("[U+2067]") && b.contains("[U+200B]") && b.contains("[U+0000]"));
        assert!(!b.contains('\u{2067}') && !b.contains('\u{0}'));
    }

    #[test]
    fn messages_keep_lines_tabs_joiners_and_emoji() {
        assert_eq!(block("one\r\ntwo\n\tthree"), "one\ntwo\n\tthree");
        // Persian needs the zero-width non-joiner; emoji need the joiner and selectors.
        let persian = "می\u{200C}خواهم";
        assert_eq!(block(persian), persian);
        let family = "👩\u{200D}👧 ❤\u{FE0F}";
        assert_eq!(block(family), family);
        assert_eq!(
            block("lone\rcr"),
            "lone<span class=\"mark\" title=\"A hidden character\">[U+000D]</span>cr"
        );
    }
}
