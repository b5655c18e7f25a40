//! Safe file names for decrypted attachments.
//!
//! A source's browser sends a file name; a hostile source can send anything: `../../x`,
//! `/etc/passwd`, `C:\Windows\x`, NUL bytes, terminal escapes, a right-to-left override that
//! makes `invoice\u{202E}gpj.exe` display as `invoiceexe.jpg`, or a megabyte of text.
//!
//! Invariant: [`safe_name`] always returns exactly one non-empty path component of at most
//! [`MAX_NAME_BYTES`] bytes (one more for a reserved Windows name) that cannot climb out of
//! a folder, cannot hide what it is, has no leading dot and no character that Windows or macOS
//! refuses or treats specially. It never fails.
//!
//! It does not make names unique: the reviewer tool writes attachment `N` as `files/N-NAME`
//! (spec, "Decrypted layout"), and attachment numbers are distinct within a submission, so two
//! files can never collide however equal their safe names are. The `N-` prefix also means a
//! written name never starts with a dot or a dash (no hidden file, no option injection in a
//! shell command). The result is at most 150 bytes, so `N-` plus it stays far below the
//! 255-byte limit of common filesystems.

/// Longest safe name in bytes (before a `_` that may be added for reserved Windows names).
pub const MAX_NAME_BYTES: usize = 150;

/// Longest extension (with its dot) that is kept when a long name is shortened.
pub const MAX_KEPT_EXTENSION_BYTES: usize = 16;

/// What is used when nothing of the original name is left.
pub const FALLBACK_NAME: &str = "file";

/// Turns an untrusted file name into one safe path component (see the module comment).
pub fn safe_name(original: &str) -> String {
    // 1. Keep only the last component, whatever the separator: an attacker may use either, and
    //    a name ending in a separator ("dir/") keeps its last non-empty part.
    let last = original
        .split(['/', '\\'])
        .rev()
        .find(|part| !part.trim().is_empty())
        .unwrap_or("");

    // 2. Drop invisible and control characters; replace what filesystems refuse.
    let mut name: String = last
        .chars()
        .filter(|&c| !is_invisible_or_control(c))
        .map(|c| if is_forbidden_on_some_fs(c) { '_' } else { c })
        .collect();

    // 3. No leading dots (hidden files, "." and ".."), no spaces or dots at either end (Windows
    //    silently strips trailing ones, which could turn "a.exe." into "a.exe").
    name = trim_ends(&name).to_owned();

    // 4. Bounded length, keeping a short extension so the reviewer still sees the type.
    if name.len() > MAX_NAME_BYTES {
        name = shorten(&name);
    }

    if name.is_empty() {
        return FALLBACK_NAME.to_owned();
    }

    // 5. Names Windows reserves for devices, with or without an extension.
    if is_windows_reserved(&name) {
        name.insert(0, '_');
    }
    name
}

/// Trims spaces (any whitespace) and dots from both ends.
fn trim_ends(s: &str) -> &str {
    s.trim_matches(|c: char| c == '.' || c.is_whitespace())
}

/// Cuts `name` (longer than [`MAX_NAME_BYTES`]) at a char boundary, keeping a short extension.
fn shorten(name: &str) -> String {
    let ext = name
        .rfind('.')
        .map(|i| &name[i..])
        .filter(|ext| ext.len() > 1 && ext.len() <= MAX_KEPT_EXTENSION_BYTES);
    match ext {
        Some(ext) => {
            let stem = &name[..name.len() - ext.len()];
            let stem = trim_ends(prefix_at_boundary(stem, MAX_NAME_BYTES - ext.len()));
            if stem.is_empty() {
                // Only the extension would be left: keep it without its dot (no hidden file).
                ext.trim_start_matches('.').to_owned()
            } else {
                format!("{stem}{ext}")
            }
        }
        None => trim_ends(prefix_at_boundary(name, MAX_NAME_BYTES)).to_owned(),
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends at a char boundary.
fn prefix_at_boundary(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Characters that Windows or macOS refuse or give a meaning to (`:` is the path separator in
/// macOS Finder and starts an alternate data stream on NTFS).
fn is_forbidden_on_some_fs(c: char) -> bool {
    matches!(c, '<' | '>' | ':' | '"' | '/' | '\\' | '|' | '?' | '*')
}

/// Control characters (Unicode Cc), line and paragraph separators, bidirectional controls and
/// every other format character (Unicode Cf), plus a few default-ignorable characters that
/// render as nothing (variation selectors, Hangul fillers, the combining grapheme joiner).
pub(crate) fn is_invisible_or_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') || is_format_char(c) || is_ignorable(c)
}

/// Unicode general category Cf (Unicode 16). It includes the bidirectional controls U+061C,
/// U+200E, U+200F, U+202A–U+202E and U+2066–U+2069, the zero-width characters and the BOM.
fn is_format_char(c: char) -> bool {
    matches!(c,
        '\u{00AD}'
        | '\u{0600}'..='\u{0605}'
        | '\u{061C}'
        | '\u{06DD}'
        | '\u{070F}'
        | '\u{0890}'..='\u{0891}'
        | '\u{08E2}'
        | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}'
        | '\u{110BD}'
        | '\u{110CD}'
        | '\u{13430}'..='\u{1343F}'
        | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0001}'
        | '\u{E0020}'..='\u{E007F}'
    )
}

/// Default-ignorable characters outside Cf that display as nothing.
fn is_ignorable(c: char) -> bool {
    matches!(c,
        '\u{034F}'
        | '\u{115F}'..='\u{1160}'
        | '\u{17B4}'..='\u{17B5}'
        | '\u{180B}'..='\u{180D}'
        | '\u{180F}'
        | '\u{3164}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FFA0}'
        | '\u{E0100}'..='\u{E01EF}'
    )
}

/// Windows device names: reserved with any extension ("CON.txt") and with trailing spaces
/// before it. The superscript digits are reserved too on current Windows.
fn is_windows_reserved(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or("").trim_end();
    let upper = stem.to_uppercase();
    match upper.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$" => true,
        _ => {
            let rest = upper
                .strip_prefix("COM")
                .or_else(|| upper.strip_prefix("LPT"));
            match rest {
                Some(d) => {
                    let mut chars = d.chars();
                    matches!(
                        (chars.next(), chars.next()),
                        (Some('1'..='9' | '¹' | '²' | '³'), None)
                    )
                }
                None => false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The properties every output must have.
    fn assert_safe(input: &str) -> String {
        let out = safe_name(input);
        assert!(!out.is_empty(), "{input:?}");
        assert!(
            out.len() <= MAX_NAME_BYTES + 1,
            "{input:?} -> {} bytes",
            out.len()
        );
        assert!(!out.starts_with('.'), "{input:?} -> {out:?}");
        assert!(
            !out.ends_with('.') && !out.ends_with(' '),
            "{input:?} -> {out:?}"
        );
        assert!(out != "." && out != "..");
        for c in out.chars() {
            assert!(!c.is_control(), "{input:?} -> {out:?}");
            assert!(!is_format_char(c), "{input:?} -> {out:?}");
            assert!(!"<>:\"/\\|?*".contains(c), "{input:?} -> {out:?}");
        }
        // One component that stays inside its folder.
        let p = std::path::Path::new(&out);
        assert_eq!(p.components().count(), 1, "{input:?} -> {out:?}");
        assert!(matches!(
            p.components().next(),
            Some(std::path::Component::Normal(_))
        ));
        out
    }

    #[test]
    fn strips_directories() {
        assert_eq!(assert_safe("../../x"), "x");
        assert_eq!(assert_safe("/etc/passwd"), "passwd");
        assert_eq!(assert_safe("C:\\Windows\\x"), "x");
        assert_eq!(assert_safe("a/b\\c.pdf"), "c.pdf");
        assert_eq!(assert_safe("report/"), "report");
        assert_eq!(assert_safe("C:evil.txt"), "C_evil.txt");
    }

    #[test]
    fn dots_and_empty_fall_back_or_lose_leading_dots() {
        for input in ["", ".", "..", "...", ". . .", "/", "\\", "../..", "   "] {
            assert_eq!(assert_safe(input), "file", "{input:?}");
        }
        assert_eq!(assert_safe(".hidden"), "hidden");
        assert_eq!(assert_safe("..bashrc"), "bashrc");
        assert_eq!(assert_safe("name.pdf. . "), "name.pdf");
    }

    #[test]
    fn removes_nul_controls_and_invisible_characters() {
        assert_eq!(assert_safe("a\0b.txt"), "ab.txt");
        assert_eq!(assert_safe("a\u{1b}[31mred\n.txt"), "a[31mred.txt");
        assert_eq!(
            assert_safe("zero\u{200B}width\u{FEFF}.doc"),
            "zerowidth.doc"
        );
        assert_eq!(assert_safe("\u{0}\u{7f}\u{9b}"), "file");
        assert_eq!(assert_safe("line\u{2028}sep"), "linesep");
    }

    #[test]
    fn removes_bidirectional_controls() {
        // Displays as "invoiceexe.jpg" in a bidi-aware viewer; the truth is .exe.
        assert_eq!(assert_safe("invoice\u{202E}gpj.exe"), "invoicegpj.exe");
        for c in [
            '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{2066}',
            '\u{2067}', '\u{2068}', '\u{2069}', '\u{061C}',
        ] {
            assert_eq!(assert_safe(&format!("a{c}b")), "ab", "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn replaces_characters_windows_or_macos_refuse() {
        assert_eq!(assert_safe("a<b>c:d\"e|f?g*h"), "a_b_c_d_e_f_g_h");
    }

    #[test]
    fn avoids_windows_device_names() {
        for (input, want) in [
            ("CON", "_CON"),
            ("con.txt", "_con.txt"),
            ("NUL", "_NUL"),
            ("aux.tar.gz", "_aux.tar.gz"),
            ("COM1", "_COM1"),
            ("lpt9.pdf", "_lpt9.pdf"),
            ("PRN .txt", "_PRN .txt"),
            ("COM¹", "_COM¹"),
        ] {
            assert_eq!(assert_safe(input), want, "{input:?}");
        }
        for fine in ["CONTRACT.pdf", "COM10", "LPT0", "console", "nullable.txt"] {
            assert_eq!(assert_safe(fine), fine);
        }
    }

    #[test]
    fn bounds_length_and_keeps_short_extension() {
        let long = format!("{}.pdf", "a".repeat(1000));
        let out = assert_safe(&long);
        assert_eq!(out.len(), MAX_NAME_BYTES);
        assert!(out.ends_with("aaa.pdf"));

        // Multi-byte characters are never cut in half.
        let cyr = format!("{}.docx", "ж".repeat(1000));
        let out = assert_safe(&cyr);
        assert!(out.ends_with(".docx") && out.len() <= MAX_NAME_BYTES);

        // A long "extension" is not an extension worth keeping.
        let out = assert_safe(&format!("x.{}", "b".repeat(1000)));
        assert_eq!(out.len(), MAX_NAME_BYTES);

        // No extension at all.
        assert_eq!(assert_safe(&"é".repeat(1000)).len(), MAX_NAME_BYTES);

        // Stem made only of dots and spaces: the extension survives without its dot.
        assert_eq!(assert_safe(&format!("{}.pdf", ". ".repeat(500))), "pdf");
    }

    #[test]
    fn keeps_ordinary_names() {
        for name in [
            "report.pdf",
            "Фото 1.jpg",
            "şəkil.png",
            "a b c.txt",
            "x.tar.gz",
        ] {
            assert_eq!(assert_safe(name), name);
        }
    }

    #[test]
    fn many_hostile_inputs_are_safe() {
        let pieces = [
            "..", ".", "/", "\\", "\0", "\u{202E}", "CON", " ", "a", "ж", ":", "*", "\u{200B}",
            ".pdf", "\n", "😀",
        ];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    assert_safe(&format!("{a}{b}{c}"));
                }
            }
        }
    }
}
