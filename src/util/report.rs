//! How a binary reports a failure: one line, each cause once.
//!
//! Invariant: the line has no line breaks (a hostile name cannot forge a second line), and a
//! cause whose text the line already holds (an error that both shows and wraps its cause) is
//! not repeated.

use std::error::Error;

/// The error and its causes, joined with ": ", each cause's text at most once, on one line.
pub fn one_line(e: &(dyn Error + 'static)) -> String {
    let mut line = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = c.source();
    }
    line.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read {path}: {source}")]
    struct Shows {
        path: String,
        source: std::io::Error,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("export failed")]
    struct Hides(#[source] Shows);

    #[test]
    fn each_cause_is_said_once_on_one_line() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "not there");
        let e = Hides(Shows {
            path: "a\nb".into(),
            source: io,
        });
        assert_eq!(one_line(&e), "export failed: cannot read a b: not there");
    }
}
