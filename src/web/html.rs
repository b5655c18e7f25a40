//! Small formatting helpers for pages.
//!
//! Invariant: pure functions of their arguments; what they return is escaped by the templates.

/// A size in binary units, for people.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    // A no-break space keeps number and unit on one line.
    if u == 0 || v.fract() == 0.0 {
        format!("{}\u{a0}{}", v as u64, UNITS[u])
    } else {
        format!("{v:.1}\u{a0}{}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(human_size(1 << 30), "1\u{a0}GiB");
        assert_eq!(human_size(1536), "1.5\u{a0}KiB");
        assert_eq!(human_size(10), "10\u{a0}bytes");
    }
}
