//! PDF: a working copy rewritten from the current objects only, without document
//! properties.
//!
//! Invariant: the copy is written anew by lopdf from the objects the current cross-reference
//! data reaches from the trailer, so every earlier revision of an incrementally updated file
//! (and the old `/Info` it keeps) is gone, and so is every unreferenced object. Before it is
//! written: the trailer loses `/Info` (Title, Author, Subject, Keywords, Creator, Producer,
//! CreationDate, ModDate, custom keys), `/ID` (derived from the time, the path and the
//! properties of the first save) and `/Prev`; every dictionary loses `/Metadata` (XMP),
//! `/PieceInfo` (private application data, which can hold a whole earlier version) and
//! `/LastModified`; every XMP stream is deleted; comment-like annotations lose their author
//! (`/T`) and dates (`/M`, `/CreationDate`), form fields keep their names; and every embedded
//! JPEG picture (DCTDecode) is cleaned by [`super::jpeg`]. The copy is parsed again before it is
//! returned. Encrypted PDFs are refused (their strings cannot be checked without the
//! password, and a copy would change their protection).

use std::collections::BTreeSet;
use std::io::Read;

use lopdf::{Dictionary, Document, LoadOptions, Object};

use super::{jpeg, malformed, what, xmp, About, CleanError, Cleaned, Kind};

/// No single stream is decompressed beyond this while loading (object and xref streams).
const MAX_STREAM_BYTES: usize = 64 << 20;

/// Largest XMP stream inflated for the report.
const MAX_XMP_BYTES: u64 = 4 << 20;

/// Dictionary keys dropped wherever they are.
const DROPPED_KEYS: &[&[u8]] = &[b"Metadata", b"PieceInfo", b"LastModified"];

/// Annotation subtypes whose `/T` is the author's name (not a form field's name).
const MARKUP: &[&[u8]] = &[
    b"Text",
    b"FreeText",
    b"Line",
    b"Square",
    b"Circle",
    b"Polygon",
    b"PolyLine",
    b"Highlight",
    b"Underline",
    b"Squiggly",
    b"StrikeOut",
    b"Stamp",
    b"Caret",
    b"Ink",
    b"Popup",
    b"FileAttachment",
    b"Sound",
    b"Redact",
];

/// Document-information keys, what they reveal, and what that is about.
const INFO_KEYS: &[(&[u8], &str, About)] = &[
    (b"Author", what::AUTHOR, About::Person),
    (b"Creator", what::SOFTWARE, About::Software),
    (b"Producer", what::SOFTWARE, About::Software),
    (b"CreationDate", what::MADE, About::Time),
    (b"ModDate", what::CHANGED, About::Time),
    (b"Title", what::TITLE, About::Other),
    (b"Subject", what::TITLE, About::Other),
    (b"Keywords", what::TITLE, About::Other),
    (b"Company", what::COMPANY, About::Person),
    (b"SourceModified", what::CHANGED, About::Time),
];

/// True when `head` starts like a PDF: `%PDF-` within its first 1024 bytes (the spec lets
/// readers accept junk before it).
pub fn looks_like_pdf(head: &[u8]) -> bool {
    find(&head[..head.len().min(1024)], b"%PDF-").is_some()
}

/// Cleans a PDF file.
pub fn clean(input: &[u8]) -> Result<(Vec<u8>, Cleaned), CleanError> {
    let bad = |why: &str| malformed(Kind::Pdf, why);
    if !looks_like_pdf(input) {
        return Err(bad("it does not start like a PDF"));
    }
    let mut report = Cleaned::default();
    scan_raw(input, &mut report);

    let options = LoadOptions {
        max_decompressed_size: Some(MAX_STREAM_BYTES),
        ..LoadOptions::default()
    };
    let mut doc = Document::load_mem_with_options(input, options)
        .map_err(|_| bad("its structure could not be read"))?;
    if doc.was_encrypted() || doc.trailer.has(b"Encrypt") {
        return Err(bad(
            "it is encrypted: no working copy is made of an encrypted PDF",
        ));
    }

    // The current document information, wherever it lives (an object stream too).
    if let Ok(Object::Reference(id)) = doc.trailer.get(b"Info") {
        if let Ok(Object::Dictionary(info)) = doc.get_object(*id) {
            info_findings(info, &mut report);
        }
    } else if let Ok(Object::Dictionary(info)) = doc.trailer.get(b"Info") {
        info_findings(info, &mut report);
    }
    for key in [&b"Info"[..], b"ID", b"Prev", b"XRefStm"] {
        if doc.trailer.remove(key).is_some() {
            match key {
                b"Info" => {
                    report.remove("the document properties (author, title, software, dates)")
                }
                b"ID" => report.remove("the document identifier"),
                _ => {}
            }
        }
    }
    if doc.trailer.has(b"Info") || doc.trailer.has(b"ID") {
        return Err(bad("its trailer could not be cleaned"));
    }

    let ids: Vec<_> = doc.objects.keys().copied().collect();
    let mut xmp_streams = BTreeSet::new();
    for id in ids {
        let Some(object) = doc.objects.get_mut(&id) else {
            continue;
        };
        if let Object::Stream(stream) = object {
            let is_xmp = stream.dict.has_type(b"Metadata")
                || matches!(stream.dict.get(b"Subtype"), Ok(Object::Name(n)) if n == b"XML");
            if is_xmp {
                let text = stream_text(&stream.dict, &stream.content);
                xmp::examine(&text, &mut report);
                xmp_streams.insert(id);
                continue;
            }
            if is_jpeg_image(&stream.dict) {
                match jpeg::clean(&stream.content) {
                    Ok((clean, inner)) => {
                        if clean.len() != stream.content.len() {
                            stream.set_content(clean);
                        }
                        let mut inner = inner;
                        inner.kept.clear();
                        report.absorb(inner, "a picture inside the document");
                    }
                    Err(_) => report.keep("a picture inside it that could not be checked"),
                }
            }
            if stream.dict.has_type(b"EmbeddedFile") {
                report
                    .keep("files attached inside the PDF (not examined: treat them as originals)");
            }
        }
        scrub(object, &mut report, 0);
    }
    for id in &xmp_streams {
        doc.objects.remove(id);
    }
    if !xmp_streams.is_empty() {
        report.remove("XMP metadata");
    }
    let pruned = doc.prune_objects();
    if !pruned.is_empty() {
        report.remove("objects no page or property uses any more");
    }

    let mut out = Vec::with_capacity(input.len());
    doc.save_to(&mut out)
        .map_err(|_| bad("it could not be rewritten"))?;
    // The copy must itself be a readable PDF.
    Document::load_mem_with_options(
        &out,
        LoadOptions {
            max_decompressed_size: Some(MAX_STREAM_BYTES),
            ..LoadOptions::default()
        },
    )
    .map_err(|_| bad("its rewritten copy could not be read back"))?;
    report.keep("the text and pictures of the pages, and the text of comments (annotations)");
    Ok((out, report))
}

/// Removes metadata keys from `object` and the dictionaries nested in it, and the authors of
/// markup annotations.
fn scrub(object: &mut Object, report: &mut Cleaned, depth: usize) {
    // lopdf's parser nests at most 100 deep; this bound only keeps the recursion finite.
    if depth > 256 {
        return;
    }
    match object {
        Object::Dictionary(dict) => scrub_dict(dict, report, depth),
        Object::Stream(stream) => scrub_dict(&mut stream.dict, report, depth),
        Object::Array(items) => {
            for item in items {
                scrub(item, report, depth + 1);
            }
        }
        _ => {}
    }
}

fn scrub_dict(dict: &mut Dictionary, report: &mut Cleaned, depth: usize) {
    for key in DROPPED_KEYS {
        if dict.remove(key).is_some() {
            match *key {
                b"PieceInfo" => {
                    report.find(
                        About::Hidden,
                        what::OTHER,
                        Some("private data of the program that made it (PieceInfo)".into()),
                    );
                    report.remove("private data of the programs that made it (PieceInfo)");
                }
                b"LastModified" => report.remove("modification dates of pages and pictures"),
                _ => report.remove("XMP metadata"),
            }
        }
    }
    let markup = matches!(dict.get(b"Subtype"), Ok(Object::Name(n)) if MARKUP.contains(&n.as_slice()))
        && (dict.has_type(b"Annot") || dict.has(b"Rect"));
    if markup {
        if let Some(Object::String(name, _)) = dict.remove(b"T") {
            report.find(About::Person, what::COMMENTERS, Some(text_string(&name)));
            report.remove("the names of who commented");
        }
        for key in [&b"M"[..], b"CreationDate"] {
            if dict.remove(key).is_some() {
                report.remove("the dates of comments");
            }
        }
    }
    for (_, value) in dict.iter_mut() {
        scrub(value, report, depth + 1);
    }
}

fn is_jpeg_image(dict: &Dictionary) -> bool {
    let is_image = matches!(dict.get(b"Subtype"), Ok(Object::Name(n)) if n == b"Image");
    let dct = match dict.get(b"Filter") {
        Ok(Object::Name(n)) => n == b"DCTDecode",
        Ok(Object::Array(a)) => {
            a.len() == 1 && matches!(&a[0], Object::Name(n) if n == b"DCTDecode")
        }
        _ => false,
    };
    is_image && dct
}

/// An XMP stream's text: as stored, or inflated (FlateDecode) through a cap.
fn stream_text(dict: &Dictionary, content: &[u8]) -> Vec<u8> {
    let flate = match dict.get(b"Filter") {
        Ok(Object::Name(n)) => n == b"FlateDecode",
        Ok(Object::Array(a)) => matches!(a.first(), Some(Object::Name(n)) if n == b"FlateDecode"),
        _ => false,
    };
    if !flate {
        return content.to_vec();
    }
    let mut out = Vec::new();
    let _ = flate2::read::ZlibDecoder::new(content)
        .take(MAX_XMP_BYTES)
        .read_to_end(&mut out);
    out
}

fn info_findings(info: &Dictionary, report: &mut Cleaned) {
    for (key, value) in info.iter() {
        let text = match value {
            Object::String(s, _) => text_string(s),
            Object::Name(n) => String::from_utf8_lossy(n).into_owned(),
            _ => continue,
        };
        if text.trim().is_empty() {
            continue;
        }
        match INFO_KEYS.iter().find(|(k, _, _)| *k == key.as_slice()) {
            Some((_, what, about)) => report.find(*about, what, Some(pdf_date(&text))),
            None => report.find(
                About::Other,
                what::CUSTOM,
                Some(format!("{}: {text}", String::from_utf8_lossy(key))),
            ),
        }
    }
}

/// Looks through the raw bytes for what earlier revisions still hold: the number of
/// revisions, and every `/Author`-like value written in the clear.
fn scan_raw(input: &[u8], report: &mut Cleaned) {
    let saves = count(input, b"startxref");
    let linearized = find(&input[..input.len().min(2048)], b"/Linearized").is_some();
    let earlier = if linearized {
        saves.saturating_sub(2)
    } else {
        saves.saturating_sub(1)
    };
    if earlier > 0 {
        report.find(
            About::Hidden,
            what::REVISIONS,
            Some(format!("{earlier} earlier version(s) kept inside the file")),
        );
        report.remove("earlier versions of the document");
    }
    // Title, Subject and Keywords are also the names of outline and other entries: only the
    // current Info's are reported (by `info_findings`).
    for (key, what, about) in &INFO_KEYS[..5] {
        let mut pattern = b"/".to_vec();
        pattern.extend_from_slice(key);
        let mut from = 0;
        let mut seen = 0;
        while let Some(at) = find(&input[from..], &pattern) {
            let start = from + at + pattern.len();
            from = start;
            // Not a longer name (`/AuthorX`).
            if input.get(start).is_some_and(|b| b.is_ascii_alphanumeric()) {
                continue;
            }
            if let Some(value) = string_at(&input[start..]) {
                let value = text_string(&value);
                if !value.trim().is_empty() {
                    report.find(*about, what, Some(pdf_date(&value)));
                }
            }
            seen += 1;
            if seen > 50 {
                break;
            }
        }
    }
}

/// A PDF string (literal or hex) right after a name, after optional whitespace.
fn string_at(b: &[u8]) -> Option<Vec<u8>> {
    let mut i = 0;
    while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
        i += 1;
    }
    match b.get(i)? {
        b'(' => {
            let mut out = Vec::new();
            let mut level = 0usize;
            let mut j = i + 1;
            while let Some(&c) = b.get(j) {
                if out.len() > 1024 {
                    break;
                }
                match c {
                    b'\\' => {
                        j += 1;
                        match b.get(j) {
                            Some(b'n') => out.push(b'\n'),
                            Some(b'r') => out.push(b'\r'),
                            Some(b't') => out.push(b'\t'),
                            Some(d @ b'0'..=b'7') => {
                                let mut v = u32::from(d - b'0');
                                let mut k = 1;
                                while k < 3 {
                                    match b.get(j + 1) {
                                        Some(d @ b'0'..=b'7') => {
                                            v = v * 8 + u32::from(d - b'0');
                                            j += 1;
                                            k += 1;
                                        }
                                        _ => break,
                                    }
                                }
                                out.push((v & 0xFF) as u8);
                            }
                            Some(&other) => out.push(other),
                            None => break,
                        }
                    }
                    b'(' => {
                        level += 1;
                        out.push(c);
                    }
                    b')' if level == 0 => return Some(out),
                    b')' => {
                        level -= 1;
                        out.push(c);
                    }
                    _ => out.push(c),
                }
                j += 1;
            }
            Some(out)
        }
        b'<' if b.get(i + 1) != Some(&b'<') => {
            let end = b[i + 1..].iter().position(|&c| c == b'>')?.min(2048);
            let hex: Vec<u8> = b[i + 1..i + 1 + end]
                .iter()
                .copied()
                .filter(u8::is_ascii_hexdigit)
                .collect();
            let hex = if hex.len() % 2 == 1 {
                [hex, vec![b'0']].concat()
            } else {
                hex
            };
            hex::decode(hex).ok()
        }
        _ => None,
    }
}

/// A PDF text string: UTF-16BE with a byte-order mark, UTF-8 with one, or PDFDocEncoding
/// (read as Latin-1, close enough for a report).
fn text_string(s: &[u8]) -> String {
    if let Some(rest) = s.strip_prefix(&[0xFE, 0xFF]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    if let Some(rest) = s.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    s.iter().map(|&b| char::from(b)).collect()
}

/// `D:20240131120000+01'00'` as `2024-01-31 12:00:00`; anything else as it is.
fn pdf_date(s: &str) -> String {
    let Some(d) = s.strip_prefix("D:") else {
        return s.to_owned();
    };
    let digits: String = d.chars().take_while(char::is_ascii_digit).collect();
    if digits.len() < 8 {
        return s.to_owned();
    }
    let part = |a: usize, b: usize| digits.get(a..b).unwrap_or("00").to_owned();
    format!(
        "{}-{}-{} {}:{}:{}",
        part(0, 4),
        part(4, 6),
        part(6, 8),
        part(8, 10),
        part(10, 12),
        part(12, 14)
    )
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    let mut n = 0;
    let mut from = 0;
    while let Some(at) = find(&hay[from..], needle) {
        n += 1;
        from += at + needle.len();
    }
    n
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod tests {
    use super::*;
    use lopdf::{dictionary, Stream, StringFormat};

    /// A one-page PDF with an Info dictionary (author "Canary Author One"), catalog XMP, a
    /// commented annotation and a JPEG picture with EXIF; then an incremental update,
    /// appended by hand, that replaces the Info with author "Canary Author Two".
    pub(crate) fn pdf_with_two_revisions() -> Vec<u8> {
        let mut doc = Document::with_version("1.5");
        let pages_id = doc.new_object_id();
        let xmp = Stream::new(
            dictionary! { "Type" => "Metadata", "Subtype" => "XML" },
            br#"<x:xmpmeta><rdf:Description pdf:Author="Canary Xmp Author"/></x:xmpmeta>"#.to_vec(),
        );
        let xmp_id = doc.add_object(xmp);
        let image = Stream::new(
            dictionary! {
                "Type" => "XObject", "Subtype" => "Image", "Width" => 8, "Height" => 8,
                "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8, "Filter" => "DCTDecode",
            },
            super::jpeg::tests::jpeg_with_metadata(),
        );
        let image_id = doc.add_object(image);
        let content = Stream::new(dictionary! {}, b"q 8 0 0 8 0 0 cm /Im0 Do Q".to_vec());
        let content_id = doc.add_object(content);
        let annot_id = doc.add_object(dictionary! {
            "Type" => "Annot", "Subtype" => "Text", "Rect" => vec![0.into(), 0.into(), 5.into(), 5.into()],
            "T" => Object::String(b"Canary Commenter".to_vec(), StringFormat::Literal),
            "Contents" => Object::String(b"a note".to_vec(), StringFormat::Literal),
            "M" => Object::String(b"D:20240101000000Z".to_vec(), StringFormat::Literal),
        });
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "MediaBox" => vec![0.into(), 0.into(), 8.into(), 8.into()],
            "Contents" => content_id, "Annots" => vec![annot_id.into()],
            "Resources" => dictionary! { "XObject" => dictionary! { "Im0" => image_id } },
            "PieceInfo" => dictionary! { "Canary" => dictionary! { "Private" => Object::String(b"CanaryPiece".to_vec(), StringFormat::Literal) } },
        });
        doc.objects.insert(
            pages_id,
            Object::Dictionary(
                dictionary! { "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1 },
            ),
        );
        let catalog_id = doc.add_object(dictionary! {
            "Type" => "Catalog", "Pages" => pages_id, "Metadata" => xmp_id,
        });
        let info_id = doc.add_object(dictionary! {
            "Author" => Object::String(b"Canary Author One".to_vec(), StringFormat::Literal),
            "Producer" => Object::String(b"Canary Producer 1.0".to_vec(), StringFormat::Literal),
            "CreationDate" => Object::String(b"D:20240131120000+01'00'".to_vec(), StringFormat::Literal),
        });
        doc.trailer.set("Root", catalog_id);
        doc.trailer.set("Info", info_id);
        doc.trailer.set(
            "ID",
            vec![
                Object::String(b"CanaryIdentifier".to_vec(), StringFormat::Hexadecimal),
                Object::String(b"CanaryIdentifier".to_vec(), StringFormat::Hexadecimal),
            ],
        );
        let mut first = Vec::new();
        doc.save_to(&mut first).unwrap();
        append_info_update(&first, doc.max_id + 1, catalog_id.0, "Canary Author Two")
    }

    /// Appends an incremental update giving the document a new Info dictionary (object
    /// `new_id`), the way a PDF editor saves a change of author.
    pub(crate) fn append_info_update(pdf: &[u8], new_id: u32, root: u32, author: &str) -> Vec<u8> {
        let text = String::from_utf8_lossy(pdf);
        let prev = text
            .rfind("startxref")
            .and_then(|at| text[at + 9..].split_whitespace().next().map(str::to_owned))
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap();
        let mut out = pdf.to_vec();
        if !out.ends_with(b"\n") {
            out.push(b'\n');
        }
        let offset = out.len();
        out.extend_from_slice(
            format!(
                "{new_id} 0 obj\n<< /Author ({author}) /Producer (Canary Editor 2) >>\nendobj\n"
            )
            .as_bytes(),
        );
        let xref = out.len();
        out.extend_from_slice(
            format!(
                "xref\n{new_id} 1\n{offset:010} 00000 n \ntrailer\n<< /Size {} /Root {root} 0 R /Info {new_id} 0 R /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n",
                new_id + 1
            )
            .as_bytes(),
        );
        out
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        find(hay, needle).is_some()
    }

    #[test]
    fn every_revision_of_the_info_and_all_xmp_and_annotation_authors_are_gone() {
        let input = pdf_with_two_revisions();
        // The fixture really has both authors, in two revisions.
        assert!(contains(&input, b"Canary Author One") && contains(&input, b"Canary Author Two"));
        let (out, report) = clean(&input).unwrap();
        for canary in [
            &b"Canary Author"[..],
            b"Canary Producer",
            b"Canary Editor",
            b"Canary Xmp",
            b"Canary Commenter",
            b"CanaryPiece",
            b"CanaryMake",
            b"SN-CANARY",
            b"/Info",
            b"/Metadata",
        ] {
            assert!(
                !contains(&out, canary),
                "{}",
                String::from_utf8_lossy(canary)
            );
        }
        assert_eq!(count(&out, b"startxref"), 1);
        let doc = Document::load_mem(&out).unwrap();
        assert_eq!(doc.get_pages().len(), 1);
        assert!(doc.trailer.get(b"ID").is_err());
        let details: Vec<String> = report
            .found
            .iter()
            .filter(|f| f.what == what::AUTHOR)
            .filter_map(|f| f.detail.clone())
            .collect();
        assert!(
            details.iter().any(|d| d == "Canary Author One"),
            "{details:?}"
        );
        assert!(
            details.iter().any(|d| d == "Canary Author Two"),
            "{details:?}"
        );
        let whats: Vec<&str> = report.found.iter().map(|f| f.what.as_str()).collect();
        for w in [
            what::REVISIONS,
            what::COMMENTERS,
            what::GPS,
            what::MADE,
            what::SOFTWARE,
        ] {
            assert!(whats.contains(&w), "{w} missing from {whats:?}");
        }
        // The picture is still there, cleaned.
        assert!(contains(&out, b"/DCTDecode"));
    }

    #[test]
    fn hostile_pdfs_are_errors_or_copies_never_panics() {
        // Objects that reference each other in a loop, and a Pages tree that contains itself.
        let looped = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R /Info 3 0 R >> endobj\n\
            2 0 obj << /Type /Pages /Kids [2 0 R 1 0 R] /Count 1 /Parent 2 0 R >> endobj\n\
            3 0 obj << /Author 3 0 R /Next 1 0 R >> endobj\n\
            trailer << /Root 1 0 R /Info 3 0 R >>\n%%EOF\n";
        let _ = clean(looped);
        // Very deep nesting.
        let mut deep = b"%PDF-1.4\n1 0 obj ".to_vec();
        deep.extend(std::iter::repeat_n(b'[', 100_000));
        deep.extend(std::iter::repeat_n(b']', 100_000));
        deep.extend_from_slice(b" endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");
        let _ = clean(&deep);
        let mut dicts = b"%PDF-1.4\n1 0 obj ".to_vec();
        dicts.extend(std::iter::repeat_n(&b"<< /A "[..], 50_000).flatten());
        let _ = clean(&dicts);
        assert!(clean(b"%PDF-").is_err());
        assert!(clean(b"not a pdf").is_err());
        let input = pdf_with_two_revisions();
        for cut in (0..input.len()).step_by(97) {
            let _ = clean(&input[..cut]);
        }
    }

    #[test]
    fn strings_and_dates_are_read_for_the_report() {
        assert_eq!(string_at(b" (a\\(b\\) c)").unwrap(), b"a(b) c");
        assert_eq!(string_at(b"<FEFF0041>").unwrap(), vec![0xFE, 0xFF, 0, 0x41]);
        assert_eq!(text_string(&[0xFE, 0xFF, 0, 0x41]), "A");
        assert_eq!(pdf_date("D:20240131120000+01'00'"), "2024-01-31 12:00:00");
        assert!(string_at(b"(unterminated").is_some());
        assert!(string_at(b"<<").is_none());
    }
}
