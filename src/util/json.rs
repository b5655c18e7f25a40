//! What may be said about untrusted JSON that failed to parse.
//!
//! Invariant: serde_json's own message may quote the input, which can be testimony or an
//! attacker's terminal escape sequences; only the error's category and position are ever shown.

/// "Syntax error at line 3 column 7": category and position, never content.
pub fn error_summary(e: &serde_json::Error) -> String {
    format!(
        "{:?} error at line {} column {}",
        e.classify(),
        e.line(),
        e.column()
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_never_quotes_the_input() {
        let e =
            serde_json::from_str::<serde_json::Value>("{\"SECRET-TESTIMONY\" nope}").unwrap_err();
        let s = error_summary(&e);
        assert!(s.starts_with("Syntax error at line 1 column"), "{s}");
        assert!(!s.contains("SECRET") && !s.contains("nope"), "{s}");
    }
}
