//! Office Open XML (docx, xlsx, pptx): a working copy of the zip with its document
//! properties emptied, people's names replaced, and the pictures inside it cleaned.
//!
//! Invariant: every entry is read through a cap ([`MAX_ENTRY_BYTES`] each,
//! [`MAX_TOTAL_BYTES`] in all, at most [`MAX_ENTRIES`]; only stored and deflated entries,
//! none encrypted), so a zip bomb is an error after a bounded amount of work, never gigabytes
//! of memory. The copy is a new zip written entry by entry in the original order, with every
//! time stamp set to 1980-01-01 and no extra fields or comments. In it: `docProps/core.xml`,
//! `app.xml` and `custom.xml` are replaced by empty property sets (creator, last modified by,
//! dates, revision, company, manager, application, template, editing time, custom properties
//! all gone); the thumbnail is removed with its relationship; the names of commenters and
//! tracked-change authors (`w:author`, `w:initials`, people.xml, xlsx comment authors and
//! persons, pptx comment authors) become "Author 1", "Author 2", … and their user ids are
//! emptied; Word's editing-session ids (rsids) and comment dates are removed; external links to
//! files on the author's computer are cut; JPEG and PNG pictures are cleaned by
//! [`super::jpeg`] and [`super::png`]. Everything else is copied unchanged, and what of it can
//! still identify (embedded objects, macros, printer settings, custom XML) is listed in
//! [`Cleaned::kept`].

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Cursor, Read, Write};

use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesStart, BytesText, Event};
use quick_xml::name::QName;
use quick_xml::{Reader, Writer};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

use super::{jpeg, malformed, png, what, About, CleanError, Cleaned, Kind};

/// Most entries accepted in one file.
pub const MAX_ENTRIES: usize = 10_000;
/// Largest uncompressed entry.
pub const MAX_ENTRY_BYTES: u64 = 64 << 20;
/// Largest sum of uncompressed entries.
pub const MAX_TOTAL_BYTES: u64 = 256 << 20;

const EMPTY_CORE: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"></cp:coreProperties>"#;
const EMPTY_APP: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"></Properties>"#;
const EMPTY_CUSTOM: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"></Properties>"#;

/// Content types of the main part, and the kind each makes.
const MAIN_TYPES: &[(&str, Kind)] = &[
    ("wordprocessingml.document.main+xml", Kind::Docx),
    ("wordprocessingml.template.main+xml", Kind::Docx),
    ("ms-word.document.macroEnabled.main+xml", Kind::Docx),
    ("ms-word.template.macroEnabledTemplate.main+xml", Kind::Docx),
    ("spreadsheetml.sheet.main+xml", Kind::Xlsx),
    ("spreadsheetml.template.main+xml", Kind::Xlsx),
    ("ms-excel.sheet.macroEnabled.main+xml", Kind::Xlsx),
    ("ms-excel.template.macroEnabled.main+xml", Kind::Xlsx),
    ("presentationml.presentation.main+xml", Kind::Pptx),
    ("presentationml.slideshow.main+xml", Kind::Pptx),
    ("presentationml.template.main+xml", Kind::Pptx),
    (
        "ms-powerpoint.presentation.macroEnabled.main+xml",
        Kind::Pptx,
    ),
    ("ms-powerpoint.slideshow.macroEnabled.main+xml", Kind::Pptx),
];

/// Recognises a zip (`head` starts with a local file header) as Word, Excel or PowerPoint:
/// by its `[Content_Types].xml` when that is within `head`, otherwise by `name`'s extension.
pub(super) fn detect(head: &[u8], name: &str) -> Option<Kind> {
    if let Ok(mut zip) = ZipArchive::new(Cursor::new(head)) {
        // The whole file: its content types decide.
        let mut file = zip.by_name("[Content_Types].xml").ok()?;
        let mut types = String::new();
        (&mut file).take(1 << 20).read_to_string(&mut types).ok()?;
        return main_kind(&types);
    }
    if let Some(kind) = first_entry_types(head).as_deref().and_then(main_kind) {
        return Some(kind);
    }
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit('.').next()?;
    match ext {
        "docx" | "docm" | "dotx" | "dotm" => Some(Kind::Docx),
        "xlsx" | "xlsm" | "xltx" | "xltm" => Some(Kind::Xlsx),
        "pptx" | "pptm" | "potx" | "ppsx" | "ppsm" => Some(Kind::Pptx),
        _ => None,
    }
}

fn main_kind(types: &str) -> Option<Kind> {
    MAIN_TYPES
        .iter()
        .find(|(t, _)| types.contains(t))
        .map(|(_, k)| *k)
}

/// What of `[Content_Types].xml` is within `head`, when it is the first local entry.
fn first_entry_types(head: &[u8]) -> Option<String> {
    // The first local header: signature, version, flags, method (8), times, crc, sizes,
    // name length (26), extra length (28), name (30).
    let u16_at = |i: usize| head.get(i..i + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let method = u16_at(8)?;
    let name_len = usize::from(u16_at(26)?);
    let extra_len = usize::from(u16_at(28)?);
    if head.get(30..30 + name_len)? != b"[Content_Types].xml" {
        return None;
    }
    let data = head.get(30 + name_len + extra_len..)?;
    let mut text = Vec::new();
    match method {
        0 => text.extend_from_slice(&data[..data.len().min(1 << 20)]),
        8 => {
            // What inflates before the head runs out is enough to find the main type.
            let _ = flate2::read::DeflateDecoder::new(data)
                .take(1 << 20)
                .read_to_end(&mut text);
        }
        _ => return None,
    }
    Some(String::from_utf8_lossy(&text).into_owned())
}

/// Cleans an Office Open XML file of `kind`.
pub fn clean(kind: Kind, input: &[u8]) -> Result<(Vec<u8>, Cleaned), CleanError> {
    let bad = |why: &str| malformed(kind, why);
    let mut zip = ZipArchive::new(Cursor::new(input)).map_err(|_| bad("it is not a valid zip"))?;
    if zip.len() > MAX_ENTRIES {
        return Err(bad("it has too many parts"));
    }
    let mut ctx = Ctx::default();
    // First pass over the names: which parts are dropped, so that references to them go too.
    for name in zip.file_names() {
        if is_thumbnail(&name.to_ascii_lowercase()) {
            ctx.dropped.insert(name.to_ascii_lowercase());
        }
    }
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::DEFAULT);
    let mut out = ZipWriter::new(Cursor::new(Vec::with_capacity(input.len())));
    let mut total = 0u64;
    let mut seen_types = false;
    let mut zip_times = false;
    for i in 0..zip.len() {
        let mut file = zip
            .by_index(i)
            .map_err(|_| bad("a part could not be read"))?;
        if file.encrypted() {
            return Err(bad("a part is encrypted"));
        }
        let name = file.name().to_owned();
        if file
            .last_modified()
            .is_some_and(|t| t.year() > 1980 || t.month() > 1 || t.day() > 1 || t.hour() > 0)
        {
            zip_times = true;
        }
        if file.is_dir() {
            out.add_directory(name.as_str(), options)
                .map_err(|_| bad("it could not be rewritten"))?;
            continue;
        }
        if !matches!(
            file.compression(),
            CompressionMethod::Stored | CompressionMethod::Deflated
        ) {
            return Err(bad("a part uses a compression method Office does not use"));
        }
        let budget = MAX_ENTRY_BYTES.min(MAX_TOTAL_BYTES - total);
        let mut data = Vec::new();
        (&mut file)
            .take(budget + 1)
            .read_to_end(&mut data)
            .map_err(|_| bad("a part is damaged"))?;
        if data.len() as u64 > budget {
            return Err(bad(
                "it unpacks to more than the cleaner accepts (a zip bomb, or too large)",
            ));
        }
        total += data.len() as u64;
        drop(file);
        let lower = name.to_ascii_lowercase();
        if lower == "[content_types].xml" {
            seen_types = true;
        }
        let Some(data) = ctx.transform(kind, &lower, data)? else {
            continue;
        };
        out.start_file(name.as_str(), options)
            .map_err(|_| bad("it could not be rewritten"))?;
        out.write_all(&data)?;
    }
    if !seen_types {
        return Err(bad("it has no [Content_Types].xml"));
    }
    let written = out
        .finish()
        .map_err(|_| bad("it could not be rewritten"))?
        .into_inner();
    let mut report = ctx.report;
    if zip_times {
        report.find(
            About::Time,
            what::CHANGED,
            Some("the time stamps of the parts inside the file".into()),
        );
        report.remove("the time stamps of the parts inside the file");
    }
    if !ctx.names.is_empty() {
        report.remove("the names of commenters and tracked-change authors (now Author 1, 2, …)");
    }
    report.keep("the text, tables, slides and pictures themselves, hidden text, speaker notes and hidden sheets");
    Ok((written, report))
}

fn is_thumbnail(lower: &str) -> bool {
    lower.starts_with("docprops/thumbnail.")
}

/// The state of one cleaning: the report, the pseudonyms given so far, the dropped parts.
#[derive(Default)]
struct Ctx {
    report: Cleaned,
    /// Real name -> pseudonym.
    names: BTreeMap<String, String>,
    /// Lower-case names of parts not copied.
    dropped: BTreeSet<String>,
}

impl Ctx {
    /// What a part becomes: `None` drops it.
    fn transform(
        &mut self,
        kind: Kind,
        lower: &str,
        data: Vec<u8>,
    ) -> Result<Option<Vec<u8>>, CleanError> {
        let bad = |why: &str| malformed(kind, why);
        match lower {
            "docprops/core.xml" => {
                self.core(&data);
                self.report
                    .remove("the document properties (author, last saved by, dates, revision)");
                return Ok(Some(EMPTY_CORE.as_bytes().to_vec()));
            }
            "docprops/app.xml" => {
                self.app(&data);
                self.report.remove(
                    "the application properties (company, manager, program, template, editing time)",
                );
                return Ok(Some(EMPTY_APP.as_bytes().to_vec()));
            }
            "docprops/custom.xml" => {
                self.custom(&data);
                self.report.remove("the custom document properties");
                return Ok(Some(EMPTY_CUSTOM.as_bytes().to_vec()));
            }
            _ => {}
        }
        if self.dropped.contains(lower) {
            self.report.find(About::Hidden, what::THUMBNAIL, None);
            self.report.remove("the thumbnail of the first page");
            return Ok(None);
        }
        if data.starts_with(&[0xFF, 0xD8, 0xFF]) || data.starts_with(png::SIGNATURE) {
            let cleaned = if data.starts_with(png::SIGNATURE) {
                png::clean(&data)
            } else {
                jpeg::clean(&data)
            };
            return Ok(Some(match cleaned {
                Ok((clean, mut inner)) => {
                    inner.kept.clear();
                    self.report
                        .absorb(inner, &format!("a picture inside it ({})", short(lower)));
                    clean
                }
                Err(_) => {
                    self.report
                        .keep("a picture inside it whose metadata could not be checked");
                    data
                }
            }));
        }
        if lower.ends_with(".tif") || lower.ends_with(".tiff") || lower.ends_with(".heic") {
            self.report
                .keep("pictures in formats not cleaned (TIFF, HEIC): they keep their metadata");
        }
        if lower.contains("/embeddings/") {
            self.report
                .keep("embedded objects and documents (not cleaned: open them as originals)");
        }
        if lower.ends_with("vbaproject.bin") {
            self.report.keep("macros (VBA)");
        }
        if lower.contains("printersettings") {
            self.report.find(About::Device, what::PRINTER, None);
            self.report
                .keep("printer settings (they can name the printer)");
        }
        if lower.starts_with("customxml/") && lower.ends_with(".xml") && !lower.contains("/_rels/")
        {
            self.report
                .keep("custom XML data (it can hold names from a document server)");
        }
        let is_xml = lower.ends_with(".xml") || lower.ends_with(".rels");
        let in_body = ["word/", "xl/", "ppt/"]
            .iter()
            .any(|p| lower.starts_with(p));
        if is_xml && (in_body || lower.ends_with(".rels") || lower == "[content_types].xml") {
            let rewritten = self
                .rewrite_xml(lower, &data)
                .map_err(|_| bad("a part is not well-formed XML"))?;
            return Ok(Some(rewritten.unwrap_or(data)));
        }
        Ok(Some(data))
    }

    fn pseudonym(&mut self, real: &str) -> String {
        if let Some(p) = self.names.get(real) {
            return p.clone();
        }
        let p = format!("Author {}", self.names.len() + 1);
        self.names.insert(real.to_owned(), p.clone());
        p
    }

    /// Rewrites one XML part; `None` when nothing in it had to change.
    fn rewrite_xml(
        &mut self,
        lower: &str,
        data: &[u8],
    ) -> Result<Option<Vec<u8>>, quick_xml::Error> {
        let mut reader = Reader::from_reader(data);
        reader.config_mut().trim_text(false);
        reader.config_mut().check_end_names = false;
        let mut writer = Writer::new(Vec::with_capacity(data.len()));
        let mut changed = false;
        let mut skip_depth = 0usize;
        let mut in_author_text = false;
        let xl_comments = lower.starts_with("xl/comments") || lower.contains("/comments");
        loop {
            let event = reader.read_event()?;
            if skip_depth > 0 {
                match event {
                    Event::Start(_) => skip_depth += 1,
                    Event::End(_) => skip_depth -= 1,
                    Event::Eof => break,
                    _ => {}
                }
                continue;
            }
            match event {
                Event::Eof => break,
                Event::Start(ref e) | Event::Empty(ref e) => {
                    let is_start = matches!(event, Event::Start(_));
                    let qname = e.name();
                    if qname.as_ref() == "w:rsids" {
                        self.report.find(About::Identifier, what::SESSIONS, None);
                        self.report.remove("Word's editing-session numbers (rsids)");
                        changed = true;
                        if is_start {
                            skip_depth = 1;
                        }
                        continue;
                    }
                    if self.drops_reference(e) {
                        changed = true;
                        if is_start {
                            skip_depth = 1;
                        }
                        continue;
                    }
                    in_author_text = is_start && xl_comments && e.local_name().as_ref() == "author";
                    match self.rewrite_start(e)? {
                        Some(new) => {
                            changed = true;
                            writer.write_event(if is_start {
                                Event::Start(new)
                            } else {
                                Event::Empty(new)
                            })?;
                        }
                        None => writer.write_event(event.borrow())?,
                    }
                }
                Event::Text(ref t) if in_author_text => {
                    let real = unescape(t.as_ref());
                    if !real.trim().is_empty() {
                        self.report
                            .find(About::Person, what::COMMENTERS, Some(real.clone()));
                        let p = self.pseudonym(&real);
                        writer.write_event(Event::Text(BytesText::new(&p)))?;
                        changed = true;
                    } else {
                        writer.write_event(event.borrow())?;
                    }
                }
                Event::End(_) => {
                    in_author_text = false;
                    writer.write_event(event.borrow())?;
                }
                _ => writer.write_event(event.borrow())?,
            }
        }
        Ok(changed.then(|| writer.into_inner()))
    }

    /// True for a `<Relationship>` or `<Override>` that names a dropped part.
    fn drops_reference(&self, e: &BytesStart<'_>) -> bool {
        let local = e.local_name();
        let key = match local.as_ref() {
            "Relationship" => "Type",
            "Override" => "PartName",
            _ => return false,
        };
        let Some(value) = attr(e, key) else {
            return false;
        };
        if local.as_ref() == "Relationship" {
            value.ends_with("/metadata/thumbnail")
        } else {
            let part = value.trim_start_matches('/').to_ascii_lowercase();
            self.dropped.contains(&part)
        }
    }

    /// The element with its identifying attributes replaced; `None` when it has none.
    fn rewrite_start(
        &mut self,
        e: &BytesStart<'_>,
    ) -> Result<Option<BytesStart<'static>>, quick_xml::Error> {
        let local = e.local_name().as_ref().to_owned();
        let mut changed = false;
        let mut attrs: Vec<(String, String)> = Vec::new();
        let is_external = attr(e, "TargetMode").as_deref() == Some("External");
        for a in e.attributes().with_checks(false) {
            let a = a.map_err(quick_xml::Error::from)?;
            let key = a.key.as_ref().to_owned();
            let key_local = a.key.local_name().as_ref().to_owned();
            let value = unescape(&a.value);
            let name_attr = match local.as_str() {
                "cmAuthor" | "author" => key_local == "name",
                "person" => key_local == "displayName",
                _ => false,
            };
            if key_local == "author" || name_attr {
                if !value.trim().is_empty() {
                    self.report
                        .find(About::Person, what::COMMENTERS, Some(value.clone()));
                }
                let p = self.pseudonym(&value);
                attrs.push((key, p));
                changed = true;
            } else if key_local == "initials" {
                attrs.push((key, "A".to_owned()));
                changed = true;
            } else if key_local == "userId" || key_local == "providerId" {
                if !value.is_empty() {
                    self.report
                        .find(About::Identifier, what::UNIQUE_ID, Some(value.clone()));
                }
                attrs.push((key, String::new()));
                changed = true;
            } else if key == "w:date" || key == "w16cex:dateUtc" {
                self.report.find(
                    About::Time,
                    what::CHANGED,
                    Some(format!("comments or tracked changes dated {value}")),
                );
                self.report
                    .remove("the dates of comments and tracked changes");
                changed = true;
            } else if key.starts_with("w:rsid") {
                self.report.find(About::Identifier, what::SESSIONS, None);
                self.report.remove("Word's editing-session numbers (rsids)");
                changed = true;
            } else if local == "Relationship"
                && key == "Target"
                && is_external
                && is_local_path(&value)
            {
                self.report
                    .find(About::Person, what::LOCAL_PATH, Some(value.clone()));
                self.report
                    .remove("links to files on the author's computer (the link text stays)");
                attrs.push((key, "file:///removed".to_owned()));
                changed = true;
            } else {
                attrs.push((key, a.value.to_string()));
            }
        }
        if !changed {
            return Ok(None);
        }
        let name = e.name().as_ref().to_owned();
        let mut new = BytesStart::new(name);
        for (k, v) in &attrs {
            // Values are kept in their escaped form; a double quote from a single-quoted value
            // is escaped for the double quotes the writer uses.
            let v = v.replace('"', "&quot;");
            new.push_attribute(Attribute {
                key: QName(k),
                value: v.into(),
            });
        }
        Ok(Some(new))
    }

    fn core(&mut self, data: &[u8]) {
        for (name, text) in leaf_texts(data) {
            let (about, w) = match name.as_str() {
                "dc:creator" => (About::Person, what::AUTHOR),
                "cp:lastModifiedBy" => (About::Person, what::LAST_SAVED_BY),
                "dcterms:created" => (About::Time, what::MADE),
                "dcterms:modified" | "cp:lastPrinted" => (About::Time, what::CHANGED),
                "cp:revision" => (About::Other, what::EDITING),
                "dc:title" | "dc:subject" | "cp:keywords" | "cp:category" => {
                    (About::Other, what::TITLE)
                }
                "dc:description" => (About::Other, what::COMMENT),
                "cp:contentStatus" | "dc:identifier" | "dc:language" | "cp:version" => {
                    (About::Other, what::OTHER)
                }
                _ => (About::Other, what::OTHER),
            };
            let detail = match name.as_str() {
                "cp:revision" => format!("saved {text} times"),
                "cp:lastPrinted" => format!("last printed {text}"),
                _ => text,
            };
            self.report.find(about, w, Some(detail));
        }
    }

    fn app(&mut self, data: &[u8]) {
        for (name, text) in leaf_texts(data) {
            let local = name.rsplit(':').next().unwrap_or(&name).to_owned();
            match local.as_str() {
                "Company" | "Manager" => self.report.find(About::Person, what::COMPANY, Some(text)),
                "Application" | "AppVersion" => {
                    self.report
                        .find(About::Software, what::SOFTWARE, Some(text));
                }
                "Template" => self.report.find(About::Person, what::TEMPLATE, Some(text)),
                "TotalTime" => self.report.find(
                    About::Other,
                    what::EDITING,
                    Some(format!("{text} minutes of editing")),
                ),
                "HyperlinkBase" => self
                    .report
                    .find(About::Person, what::LOCAL_PATH, Some(text)),
                _ => {}
            }
        }
    }

    fn custom(&mut self, data: &[u8]) {
        let mut reader = Reader::from_reader(data);
        let mut current = None;
        loop {
            match reader.read_event() {
                Ok(Event::Start(e)) if e.local_name().as_ref() == "property" => {
                    current = attr(&e, "name");
                }
                Ok(Event::Text(t)) => {
                    if let Some(name) = &current {
                        let value = unescape(t.as_ref());
                        if !value.trim().is_empty() {
                            self.report.find(
                                About::Other,
                                what::CUSTOM,
                                Some(format!("{name}: {value}")),
                            );
                        }
                    }
                }
                Ok(Event::Eof) | Err(_) => break,
                _ => {}
            }
        }
        self.report.find(About::Other, what::CUSTOM, None);
    }
}

/// (qualified name, text) of every element holding text, in order; stops at the first error.
fn leaf_texts(data: &[u8]) -> Vec<(String, String)> {
    let mut reader = Reader::from_reader(data);
    let mut stack: Vec<String> = Vec::new();
    let mut out = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                if stack.len() > 64 {
                    break;
                }
                stack.push(e.name().as_ref().to_owned());
            }
            Ok(Event::End(_)) => {
                stack.pop();
            }
            Ok(Event::Text(t)) => {
                let text = unescape(t.as_ref());
                if let (Some(name), false) = (stack.last(), text.trim().is_empty()) {
                    if out.len() < 200 {
                        out.push((name.clone(), text));
                    }
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    out
}

/// The value of attribute `key` (exact qualified name), unescaped.
fn attr(e: &BytesStart<'_>, key: &str) -> Option<String> {
    e.attributes()
        .with_checks(false)
        .flatten()
        .find(|a| a.key.as_ref() == key)
        .map(|a| unescape(&a.value))
}

fn is_local_path(target: &str) -> bool {
    let t = target.to_ascii_lowercase();
    t.starts_with("file:")
        || t.starts_with("\\\\")
        || t.starts_with('/')
        || t.get(1..3) == Some(":\\")
        || t.get(1..3) == Some(":/")
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn short(name: &str) -> String {
    name.rsplit('/').next().unwrap_or(name).to_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="jpeg" ContentType="image/jpeg"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/><Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/><Override PartName="/docProps/thumbnail.jpeg" ContentType="image/jpeg"/></Types>"#;

    /// A small docx with the properties, comments, tracked changes, rsids, a template path,
    /// a thumbnail and a photo with EXIF.
    pub(crate) fn docx_with_metadata() -> Vec<u8> {
        let parts: Vec<(&str, Vec<u8>)> = vec![
            ("[Content_Types].xml", CONTENT_TYPES.as_bytes().to_vec()),
            ("_rels/.rels", br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/><Relationship Id="rId4" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/thumbnail" Target="docProps/thumbnail.jpeg"/><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#.to_vec()),
            ("docProps/core.xml", br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"><dc:creator>Canary Creator</dc:creator><cp:lastModifiedBy>Canary Modifier</cp:lastModifiedBy><cp:revision>7</cp:revision><dcterms:created>2024-02-01T10:00:00Z</dcterms:created></cp:coreProperties>"#.to_vec()),
            ("docProps/app.xml", br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Template>C:\Users\canaryuser\Normal.dotm</Template><TotalTime>42</TotalTime><Application>Canary Word</Application><Company>Canary Company</Company></Properties>"#.to_vec()),
            ("word/document.xml", br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p w:rsidR="00CA11AB" w:rsidRDefault="00CA11AB"><w:ins w:id="1" w:author="Canary Tracker" w:date="2024-03-01T00:00:00Z"><w:r><w:t>Testimony &amp; text</w:t></w:r></w:ins></w:p></w:body></w:document>"#.to_vec()),
            ("word/comments.xml", br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:comments xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:comment w:id="0" w:author="Canary Commenter" w:initials="CC"><w:p><w:r><w:t>note</w:t></w:r></w:p></w:comment></w:comments>"#.to_vec()),
            ("word/people.xml", br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w15:people xmlns:w15="http://schemas.microsoft.com/office/word/2012/wordml"><w15:person w15:author="Canary Commenter"><w15:presenceInfo w15:providerId="AD" w15:userId="S::canary@example.org::1234"/></w15:person></w15:people>"#.to_vec()),
            ("word/settings.xml", br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:settings xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:rsids><w:rsidRoot w:val="00CA11AB"/><w:rsid w:val="00CA11AB"/></w:rsids></w:settings>"#.to_vec()),
            ("word/_rels/settings.xml.rels", br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate" Target="file:///C:\Users\canaryuser\Templates\Canary.dotm" TargetMode="External"/></Relationships>"#.to_vec()),
            ("docProps/thumbnail.jpeg", super::jpeg::tests::jpeg_with_metadata()),
            ("word/media/image1.jpeg", super::jpeg::tests::jpeg_with_metadata()),
        ];
        build_zip(&parts, CompressionMethod::Deflated)
    }

    pub(crate) fn build_zip(parts: &[(&str, Vec<u8>)], method: CompressionMethod) -> Vec<u8> {
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        let opts = SimpleFileOptions::default().compression_method(method);
        for (name, data) in parts {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn all_text(zip: &[u8]) -> (Vec<String>, Vec<u8>) {
        let mut z = ZipArchive::new(Cursor::new(zip)).unwrap();
        let mut names = Vec::new();
        let mut all = Vec::new();
        for i in 0..z.len() {
            let mut f = z.by_index(i).unwrap();
            names.push(f.name().to_owned());
            assert_eq!(f.last_modified().unwrap(), DateTime::DEFAULT);
            f.read_to_end(&mut all).unwrap();
        }
        (names, all)
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn a_docx_loses_properties_names_rsids_template_path_thumbnail_and_photo_exif() {
        let input = docx_with_metadata();
        assert_eq!(Kind::detect(&input, "x.bin"), Some(Kind::Docx));
        assert_eq!(Kind::detect(&input[..200], "x.docx"), Some(Kind::Docx));
        let (out, report) = clean(Kind::Docx, &input).unwrap();
        let (names, all) = all_text(&out);
        assert!(!names.iter().any(|n| n.contains("thumbnail")), "{names:?}");
        assert!(names.iter().any(|n| n == "word/media/image1.jpeg"));
        for canary in [
            &b"Canary"[..],
            b"canary",
            b"CANARY",
            b"00CA11AB",
            b"rsid",
            b"2024-",
            b"thumbnail",
        ] {
            assert!(
                !contains(&all, canary),
                "{}",
                String::from_utf8_lossy(canary)
            );
        }
        // The text is intact, and names were replaced consistently.
        assert!(contains(&all, b"Testimony &amp; text"));
        assert!(contains(&all, br#"w:author="Author 2""#));
        assert!(contains(&all, br#"w15:author="Author 2""#));
        let whats = |w: &str| {
            report
                .found
                .iter()
                .filter(|f| f.what == w)
                .filter_map(|f| f.detail.clone())
                .collect::<Vec<_>>()
        };
        assert!(whats(what::AUTHOR).contains(&"Canary Creator".to_owned()));
        assert_eq!(
            whats(what::LAST_SAVED_BY),
            vec!["Canary Modifier".to_owned()]
        );
        assert!(whats(what::COMMENTERS).contains(&"Canary Commenter".to_owned()));
        assert!(whats(what::COMMENTERS).contains(&"Canary Tracker".to_owned()));
        assert!(whats(what::COMPANY).contains(&"Canary Company".to_owned()));
        assert!(!whats(what::GPS).is_empty(), "{:?}", report.found);
        assert!(!whats(what::LOCAL_PATH).is_empty());
        // Again: nothing left to find but the names it gave itself.
        let (_, report2) = clean(Kind::Docx, &out).unwrap();
        assert!(report2.found.iter().all(|f| f.about != About::Location
            && f.what != what::AUTHOR
            && f.what != what::SESSIONS));
    }

    #[test]
    fn a_zip_bomb_is_refused_after_bounded_work() {
        // 300 MiB of zeros in one entry deflate to about 300 KiB.
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        w.start_file("[Content_Types].xml", opts).unwrap();
        w.write_all(CONTENT_TYPES.as_bytes()).unwrap();
        w.start_file("word/media/zeros.bin", opts.large_file(true))
            .unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..300 {
            w.write_all(&zeros).unwrap();
        }
        let bomb = w.finish().unwrap().into_inner();
        assert!(bomb.len() < 2 << 20);
        let started = std::time::Instant::now();
        let err = clean(Kind::Docx, &bomb).unwrap_err();
        assert!(err.to_string().contains("zip bomb"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
    }

    #[test]
    fn garbage_zips_are_errors_never_panics() {
        let input = docx_with_metadata();
        for cut in (0..input.len()).step_by(53) {
            let _ = clean(Kind::Docx, &input[..cut]);
        }
        assert!(clean(Kind::Docx, b"PK\x03\x04garbage").is_err());
        let no_types = build_zip(&[("a.xml", b"<a/>".to_vec())], CompressionMethod::Stored);
        assert!(clean(Kind::Docx, &no_types).is_err());
        assert_eq!(Kind::detect(&no_types, "a.zip"), None);
        let bad_xml = build_zip(
            &[
                ("[Content_Types].xml", CONTENT_TYPES.as_bytes().to_vec()),
                ("word/document.xml", b"<w:a w:author=\"x".to_vec()),
            ],
            CompressionMethod::Stored,
        );
        assert!(clean(Kind::Docx, &bad_xml).is_err());
    }
}
