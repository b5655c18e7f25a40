//! Sizes: parsed from configuration and command lines, and shown to people.
//!
//! Invariant: pure functions; parsing never overflows (an overflowing size is `None`).

/// Parses `1073741824`, `256MiB`, `1GiB`, `512 KiB`, `1G`, `100MB`: K, M and G alone and with
/// `iB` are binary, KB, MB and GB decimal. Whole numbers only.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// A size in binary units, for people: `10 bytes`, `1.5 KiB`, `1 GiB`. A no-break space keeps
/// number and unit on one line.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 || v.fract() == 0.0 {
        format!("{}\u{a0}{}", v as u64, UNITS[u])
    } else {
        format!("{v:.1}\u{a0}{}", UNITS[u])
    }
}

/// How sizes are written for people reading one language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeStyle {
    /// English: binary units as the configuration writes them, `1.5 KiB`, `1 GiB`.
    English,
    /// Azerbaijani: the usual `KB`, `MB`, `GB` (binary values, as file managers show them),
    /// decimal comma: `1,5 MB`.
    Azerbaijani,
    /// Russian: «КБ», «МБ», «ГБ» (binary values, as file managers show them), decimal
    /// comma: `1,5 МБ`.
    Russian,
}

/// A size for a page in one language, counted in powers of 1024 in every language so every
/// page states the same limit: `1 GiB`, `1 GB`, `1 ГБ`. A no-break space keeps number and
/// unit on one line.
pub fn human_size_in(n: u64, style: SizeStyle) -> String {
    let units: [&str; 4] = match style {
        SizeStyle::English => return human_size(n),
        SizeStyle::Azerbaijani => ["bayt", "KB", "MB", "GB"],
        SizeStyle::Russian => ["байт", "КБ", "МБ", "ГБ"],
    };
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < units.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 || v.fract() == 0.0 {
        format!("{}\u{a0}{}", v as u64, units[u])
    } else {
        format!("{v:.1}\u{a0}{}", units[u]).replacen('.', ",", 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_shown_in_each_languages_units() {
        assert_eq!(human_size_in(1 << 30, SizeStyle::English), "1\u{a0}GiB");
        assert_eq!(human_size_in(1 << 30, SizeStyle::Russian), "1\u{a0}ГБ");
        assert_eq!(human_size_in(3 << 29, SizeStyle::Russian), "1,5\u{a0}ГБ");
        assert_eq!(human_size_in(1 << 30, SizeStyle::Azerbaijani), "1\u{a0}GB");
        assert_eq!(
            human_size_in(1536 << 10, SizeStyle::Azerbaijani),
            "1,5\u{a0}MB"
        );
        assert_eq!(human_size_in(10, SizeStyle::Russian), "10\u{a0}байт");
    }

    #[test]
    fn sizes_are_shown_in_binary_units() {
        assert_eq!(human_size(1 << 30), "1\u{a0}GiB");
        assert_eq!(human_size(1536), "1.5\u{a0}KiB");
        assert_eq!(human_size(10), "10\u{a0}bytes");
    }

    #[test]
    fn sizes_parse_with_binary_and_decimal_units() {
        assert_eq!(parse_size("1GiB"), Some(1 << 30));
        assert_eq!(parse_size("256 MiB"), Some(256 << 20));
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("100MB"), Some(100_000_000));
        assert_eq!(parse_size("42"), Some(42));
        assert_eq!(parse_size("1.5GiB"), None);
        assert_eq!(parse_size("1 parsec"), None);
        assert_eq!(parse_size("99999999999999999999G"), None);
    }
}
