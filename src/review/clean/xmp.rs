//! Reading an XMP packet (RDF/XML, in JPEG, PNG and PDF files) for the report.
//!
//! Invariant: XMP is only read, never copied: every cleaner removes whole XMP packets. This
//! is a plain text scan for the properties that identify (no XML parser, no entities, no
//! network), so a hostile packet can at worst make the report less precise.

use super::{what, About, Cleaned};

/// Largest packet scanned; the rest of a longer one is ignored (it is removed all the same).
const MAX_SCAN: usize = 1 << 20;

/// Each property looked for: its qualified name, what it reveals, and what it is about.
const PROPERTIES: &[(&str, &str, About)] = &[
    ("exif:GPSLatitude", what::GPS, About::Location),
    ("exif:GPSLongitude", what::GPS, About::Location),
    ("photoshop:City", what::PLACE, About::Location),
    ("photoshop:State", what::PLACE, About::Location),
    ("photoshop:Country", what::PLACE, About::Location),
    ("Iptc4xmpCore:Location", what::PLACE, About::Location),
    ("tiff:Make", what::DEVICE, About::Device),
    ("tiff:Model", what::DEVICE, About::Device),
    ("exifEX:LensModel", what::LENS, About::Device),
    ("aux:Lens", what::LENS, About::Device),
    ("aux:SerialNumber", what::SERIAL, About::Identifier),
    ("exifEX:BodySerialNumber", what::SERIAL, About::Identifier),
    ("aux:LensSerialNumber", what::SERIAL, About::Identifier),
    ("dc:creator", what::AUTHOR, About::Person),
    ("pdf:Author", what::AUTHOR, About::Person),
    ("tiff:Artist", what::AUTHOR, About::Person),
    ("photoshop:AuthorsPosition", what::AUTHOR, About::Person),
    ("dc:rights", what::COPYRIGHT, About::Person),
    ("xmp:CreateDate", what::MADE, About::Time),
    ("exif:DateTimeOriginal", what::MADE, About::Time),
    ("photoshop:DateCreated", what::MADE, About::Time),
    ("xmp:ModifyDate", what::CHANGED, About::Time),
    ("xmp:MetadataDate", what::CHANGED, About::Time),
    ("xmp:CreatorTool", what::SOFTWARE, About::Software),
    ("pdf:Producer", what::SOFTWARE, About::Software),
    ("xmpMM:History", what::HISTORY, About::Software),
    ("xmpMM:DocumentID", what::UNIQUE_ID, About::Identifier),
    (
        "xmpMM:OriginalDocumentID",
        what::UNIQUE_ID,
        About::Identifier,
    ),
    ("dc:title", what::TITLE, About::Other),
    ("dc:description", what::COMMENT, About::Other),
    ("xmp:Thumbnails", what::THUMBNAIL, About::Hidden),
    ("GCamera:MotionPhoto", what::TRAILER, About::Hidden),
];

/// Adds to `report` what the XMP packet `packet` reveals (always at least that there is XMP).
pub fn examine(packet: &[u8], report: &mut Cleaned) {
    let text = String::from_utf8_lossy(&packet[..packet.len().min(MAX_SCAN)]);
    report.find(About::Other, what::XMP, None);
    for (name, what, about) in PROPERTIES {
        if let Some(value) = value_of(&text, name) {
            let detail = (!value.is_empty()).then_some(value);
            report.find(*about, what, detail);
        }
    }
}

/// The value of property `name`, as an attribute (`name="v"`) or an element (`<name>v</name>`,
/// with the text of any nested `rdf:li`); `Some("")` when present but no short text was found.
fn value_of(text: &str, name: &str) -> Option<String> {
    let attr = format!("{name}=");
    if let Some(at) = text.find(&attr) {
        let rest = &text[at + attr.len()..];
        let quote = rest.chars().next()?;
        if quote == '"' || quote == '\'' {
            let inner = &rest[1..];
            let end = inner.find(quote).unwrap_or(inner.len());
            return Some(unescape(&inner[..end]));
        }
        return Some(String::new());
    }
    let open = format!("<{name}");
    let at = text.find(&open)?;
    let rest = &text[at + open.len()..];
    // Not a longer name sharing the prefix (`<dc:creatorX`).
    if !rest.starts_with(['>', ' ', '\t', '\r', '\n', '/']) {
        return None;
    }
    let rest = &rest[rest.find('>')? + 1..];
    let close = format!("</{name}>");
    let body = match rest.find(&close) {
        Some(end) => &rest[..end],
        None => prefix(rest, 4096),
    };
    Some(unescape(&element_text(body)))
}

/// The character data of an XML fragment, tags dropped, pieces joined by "; ".
fn element_text(body: &str) -> String {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => {
                in_tag = true;
                if !current.trim().is_empty() {
                    parts.push(current.trim().to_owned());
                }
                current.clear();
            }
            '>' => in_tag = false,
            _ if !in_tag => current.push(c),
            _ => {}
        }
    }
    if !current.trim().is_empty() {
        parts.push(current.trim().to_owned());
    }
    parts.join("; ")
}

/// At most `n` bytes of `s`, cut at a character boundary.
fn prefix(s: &str, n: usize) -> &str {
    let mut end = n.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_and_elements_are_both_read() {
        let packet = br#"<x:xmpmeta><rdf:RDF><rdf:Description exif:GPSLatitude="40,24.5N"
            xmp:CreatorTool="Canary Editor 2"><dc:creator><rdf:Seq><rdf:li>Canary Person</rdf:li>
            </rdf:Seq></dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>"#;
        let mut report = Cleaned::default();
        examine(packet, &mut report);
        let get = |w: &str| report.found.iter().find(|f| f.what == w).cloned();
        assert_eq!(get(what::GPS).unwrap().about, About::Location);
        assert_eq!(get(what::GPS).unwrap().detail.as_deref(), Some("40,24.5N"));
        assert_eq!(
            get(what::AUTHOR).unwrap().detail.as_deref(),
            Some("Canary Person")
        );
        assert_eq!(
            get(what::SOFTWARE).unwrap().detail.as_deref(),
            Some("Canary Editor 2")
        );
    }

    #[test]
    fn hostile_packets_do_not_panic() {
        let mut report = Cleaned::default();
        examine(b"dc:creator=", &mut report);
        examine(b"<dc:creator", &mut report);
        examine("<dc:creator>\u{1F600}".as_bytes(), &mut report);
        examine(&[0xff, 0xfe, b'<'], &mut report);
    }
}
