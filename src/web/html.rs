//! Minimal HTML rendering for the pages of this release.
//!
//! Invariant: every dynamic value passes through [`escape`]; pages use no script, no inline
//! style, and load nothing but `/static/style.css` from this origin.

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A size in binary units, for people.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 || v.fract() == 0.0 {
        format!("{} {}", v as u64, UNITS[u])
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// A whole page around `body` (already HTML).
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta name=\"referrer\" content=\"no-referrer\">\n\
<title>{}</title>\n<link rel=\"stylesheet\" href=\"/static/style.css\">\n</head>\n\
<body>\n<main>\n{}\n</main>\n</body>\n</html>\n",
        escape(title),
        body
    )
}

/// The body of an error page.
pub fn error_body(title: &str, text: &str) -> String {
    format!(
        "<h1>{}</h1>\n<p id=\"error\">{}</p>\n<p><a href=\"/en/\">Back to the start page</a></p>",
        escape(title),
        escape(text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(human_size(1 << 30), "1 GiB");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(10), "10 bytes");
    }
}
