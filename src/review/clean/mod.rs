//! Working copies: attachments with their identifying metadata removed, and a report of what
//! the metadata revealed.
//!
//! Invariant: the evidentiary copy is only read. A working copy is a new file (never over
//! anything) written only when cleaning succeeded; a file that cannot be cleaned is reported,
//! not copied. Cleaning uses memory-safe parsers with bounded sizes, never executes or renders
//! anything, and never stops or hangs a decrypt: a hostile attachment is reported and the rest
//! goes on.
//!
//! - [`Kind::detect`]: what an attachment is, by its content.
//! - [`clean_bytes`]: the pure cleaner, in memory, bounded ([`MAX_CLEAN_BYTES`]); one module a
//!   format: [`jpeg`], [`png`], [`pdf`], [`ooxml`], sharing the EXIF and XMP readers of
//!   [`exif`] and [`xmp`].
//! - [`working_copy`]: the same in a child process (`witness-review clean-worker`) that is
//!   killed at a deadline and whose crash is a report, not a failed decrypt ([`worker`]).
//!
//! Cleaning keeps what is needed to show the content and drops everything else it does not
//! know to be harmless (an allow-list, not a block-list): a new metadata field invented by a
//! phone maker is removed without anyone having heard of it.

pub mod exif;
pub mod jpeg;
pub mod ooxml;
pub mod pdf;
pub mod png;
pub mod worker;
pub mod xmp;

use serde::{Deserialize, Serialize};

pub use worker::{run_worker, working_copy, working_copy_in_process, WORKER_SUBCOMMAND};

/// Largest attachment cleaned, in bytes (256 MiB). Larger ones are reported as
/// [`CleanError::TooLarge`] and get no working copy: the cleaner holds the whole file, its
/// parse and the copy in memory.
pub const MAX_CLEAN_BYTES: u64 = 256 << 20;

/// How much of the start of a file [`Kind::detect`] looks at: pass at least this much (or the
/// whole file when it is shorter).
pub const DETECT_HEAD_BYTES: usize = 64 << 10;

/// The kinds of file a working copy can be made of (recognised by content).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// JPEG image.
    Jpeg,
    /// PNG image.
    Png,
    /// PDF document.
    Pdf,
    /// Word document (Office Open XML).
    Docx,
    /// Excel workbook (Office Open XML).
    Xlsx,
    /// PowerPoint presentation (Office Open XML).
    Pptx,
}

impl Kind {
    /// Every kind, in a fixed order.
    pub const ALL: [Kind; 6] = [
        Kind::Jpeg,
        Kind::Png,
        Kind::Pdf,
        Kind::Docx,
        Kind::Xlsx,
        Kind::Pptx,
    ];

    /// Recognises a file by its first bytes (`head`, at least [`DETECT_HEAD_BYTES`] of them
    /// or the whole file). The content decides; `name` (the source's file name, untrusted) is
    /// only consulted to tell Word, Excel and PowerPoint apart when the zip's
    /// `[Content_Types].xml` is not within `head`. A zip that is none of the three, or a file
    /// whose content is none of these kinds, is `None` whatever its name says.
    pub fn detect(head: &[u8], name: &str) -> Option<Kind> {
        if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Some(Kind::Jpeg);
        }
        if head.starts_with(png::SIGNATURE) {
            return Some(Kind::Png);
        }
        if pdf::looks_like_pdf(head) {
            return Some(Kind::Pdf);
        }
        if head.starts_with(b"PK\x03\x04") {
            return ooxml::detect(head, name);
        }
        None
    }

    /// What to call it in the reading view.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Jpeg => "JPEG image",
            Kind::Png => "PNG image",
            Kind::Pdf => "PDF document",
            Kind::Docx => "Word document",
            Kind::Xlsx => "Excel workbook",
            Kind::Pptx => "PowerPoint presentation",
        }
    }

    /// The lower-case name used in JSON and on the worker's command line (`jpeg`, `docx`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Jpeg => "jpeg",
            Kind::Png => "png",
            Kind::Pdf => "pdf",
            Kind::Docx => "docx",
            Kind::Xlsx => "xlsx",
            Kind::Pptx => "pptx",
        }
    }

    /// The inverse of [`Kind::as_str`].
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// What a finding is about, for the reading view to pick its warnings without parsing the
/// English of [`Finding::what`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum About {
    /// Where it was made: GPS coordinates, or place names in the metadata.
    Location,
    /// The camera, phone, lens or computer that made it.
    Device,
    /// A serial number or unique identifier of a device, a document or an image.
    Identifier,
    /// A person's name (author, owner, commenter, who last saved it).
    Person,
    /// When it was made or changed.
    Time,
    /// The software that made or edited it.
    Software,
    /// A hidden picture or older content: thumbnails, earlier revisions, data after the end.
    Hidden,
    /// Anything else (descriptions, comments, unrecognised metadata).
    #[default]
    Other,
}

/// One thing an attachment's metadata reveals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// What it is, in plain English for the reading view ("where the photo was taken (GPS)",
    /// "the camera or phone: make and model", "the author's name").
    pub what: String,
    /// The value found, when it helps the reviewer (shortened; always shown escaped).
    pub detail: Option<String>,
    /// What it is about; [`About::Location`] is the one that must never reach a third party.
    #[serde(default)]
    pub about: About,
}

/// The wording of findings, shared by every format so that the reading view sees one phrase
/// for one thing.
pub mod what {
    /// GPS coordinates.
    pub const GPS: &str = "where the photo was taken (GPS position)";
    /// Place names (IPTC city, XMP location).
    pub const PLACE: &str = "the name of a place (city, region or country)";
    /// Make and model of a camera or phone.
    pub const DEVICE: &str = "the camera or phone (make and model)";
    /// Lens make, model.
    pub const LENS: &str = "the lens (make and model)";
    /// Serial numbers.
    pub const SERIAL: &str = "a device serial number";
    /// Manufacturer-private EXIF data.
    pub const MAKER_NOTE: &str =
        "the maker's private camera data (can hold serial numbers and settings)";
    /// A unique id of the image or document.
    pub const UNIQUE_ID: &str = "a unique image or document identifier";
    /// Author, artist, creator.
    pub const AUTHOR: &str = "the author's name";
    /// Owner of the camera.
    pub const OWNER: &str = "the camera owner's name";
    /// Copyright notice.
    pub const COPYRIGHT: &str = "a copyright notice (often a name)";
    /// Who last saved a document.
    pub const LAST_SAVED_BY: &str = "the name of who last saved it";
    /// Creation time.
    pub const MADE: &str = "when it was made";
    /// Modification time.
    pub const CHANGED: &str = "when it was last changed";
    /// Software.
    pub const SOFTWARE: &str = "the software that made it";
    /// A description, caption or comment in the metadata.
    pub const COMMENT: &str = "a description or comment in the metadata";
    /// A title in the metadata.
    pub const TITLE: &str = "a title, subject or keywords in the metadata";
    /// An embedded thumbnail.
    pub const THUMBNAIL: &str =
        "a small preview picture (thumbnail) that can show the uncropped original";
    /// XMP packets.
    pub const XMP: &str = "XMP metadata (properties and editing history)";
    /// Editing history in XMP.
    pub const HISTORY: &str = "an editing history (which programs changed it, and when)";
    /// IPTC press data.
    pub const IPTC: &str = "press metadata (IPTC: names, places, captions)";
    /// ICC colour profile.
    pub const ICC: &str = "a colour profile (it can name the device or its maker)";
    /// C2PA / JUMBF.
    pub const CREDENTIALS: &str =
        "content credentials (C2PA provenance: can name the author, device and edits)";
    /// Data after the end of an image.
    pub const TRAILER: &str =
        "data hidden after the end of the image (a motion-photo video, a second picture)";
    /// Multi-picture format.
    pub const EXTRA_PICTURES: &str = "extra pictures stored inside the image";
    /// Other metadata not understood in detail.
    pub const OTHER: &str = "other metadata of the program that made it";
    /// PDF incremental updates.
    pub const REVISIONS: &str = "earlier versions of the document (incremental updates)";
    /// PDF annotation authors, OOXML comment authors.
    pub const COMMENTERS: &str = "the names of people who commented or made tracked changes";
    /// Company or manager in Office properties.
    pub const COMPANY: &str = "the company or manager";
    /// Office template path.
    pub const TEMPLATE: &str = "the template it was made from (can be a path with a user name)";
    /// Total editing time, revision count.
    pub const EDITING: &str = "how long and how often it was edited";
    /// Custom properties.
    pub const CUSTOM: &str = "custom document properties";
    /// Word rsids.
    pub const SESSIONS: &str =
        "editing-session numbers that can link documents edited on the same computer";
    /// A link to a file on the author's computer.
    pub const LOCAL_PATH: &str = "a path to a file on the author's computer";
    /// Printer settings.
    pub const PRINTER: &str = "printer settings (can name the printer)";
}

impl Finding {
    /// A finding with a value.
    pub fn new(about: About, what: &str, detail: Option<String>) -> Finding {
        Finding {
            what: what.to_owned(),
            detail: detail.map(|d| shorten(&d)),
            about,
        }
    }
}

/// What examining and cleaning one attachment found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cleaned {
    /// What the original's metadata reveals.
    pub found: Vec<Finding>,
    /// What the working copy no longer has (plain English, one item each).
    pub removed: Vec<String>,
    /// What the working copy still has that can identify someone, and was not removed
    /// (plain English, one item each): the reviewer must check it by eye.
    #[serde(default)]
    pub kept: Vec<String>,
}

impl Cleaned {
    /// Adds a finding, once (the same `what` and `detail` twice is one finding).
    pub fn find(&mut self, about: About, what: &str, detail: Option<String>) {
        let f = Finding::new(about, what, detail);
        if !self.found.contains(&f) && self.found.len() < MAX_FINDINGS {
            self.found.push(f);
        }
    }

    /// Records that the working copy no longer has `what`, once.
    pub fn remove(&mut self, what: &str) {
        if !self.removed.iter().any(|r| r == what) {
            self.removed.push(what.to_owned());
        }
    }

    /// Records that the working copy still has `what`, once.
    pub fn keep(&mut self, what: &str) {
        if !self.kept.iter().any(|r| r == what) {
            self.kept.push(what.to_owned());
        }
    }

    /// Takes in what cleaning a picture inside a document found and removed.
    pub(crate) fn absorb(&mut self, inner: Cleaned, prefix: &str) {
        for f in inner.found {
            let detail = match f.detail {
                Some(d) => format!("{prefix}: {d}"),
                None => prefix.to_owned(),
            };
            self.find(f.about, &f.what, Some(detail));
        }
        for r in inner.removed {
            self.remove(&format!("from pictures inside it: {r}"));
        }
        for k in inner.kept {
            self.keep(&format!("in pictures inside it: {k}"));
        }
    }

    /// True when a finding is about where it was made.
    pub fn reveals_location(&self) -> bool {
        self.found.iter().any(|f| f.about == About::Location)
    }
}

/// At most this many findings are kept for one attachment.
const MAX_FINDINGS: usize = 200;

/// Longest detail kept, in characters.
const MAX_DETAIL_CHARS: usize = 120;

/// A value from a file, for a finding's detail: control characters dropped, whitespace
/// collapsed, shortened. (The reading view escapes it again when it shows it.)
pub(crate) fn shorten(s: &str) -> String {
    let mut out = String::new();
    let mut space = false;
    for c in s.trim().chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if c.is_control() || crate::safename::is_invisible_or_control(c) {
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        if out.chars().count() >= MAX_DETAIL_CHARS {
            out.push('…');
            break;
        }
        out.push(c);
    }
    out
}

/// Why no working copy was made.
#[derive(Debug, thiserror::Error)]
pub enum CleanError {
    /// Not a kind this tool cleans.
    #[error("not a kind of file this tool can clean")]
    Unsupported,
    /// Larger than the cleaner accepts.
    #[error("too large to clean ({0} bytes)")]
    TooLarge(u64),
    /// Malformed, or built to exhaust the cleaner.
    #[error("could not be read as {kind}: {why}")]
    Malformed {
        /// The kind it claimed to be.
        kind: &'static str,
        /// What was wrong (no content from the file).
        why: String,
    },
    /// Cleaning took longer than allowed.
    #[error("cleaning took too long and was stopped")]
    TimedOut,
    /// Reading or writing failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A [`CleanError::Malformed`] for `kind`.
pub(crate) fn malformed(kind: Kind, why: impl Into<String>) -> CleanError {
    CleanError::Malformed {
        kind: kind.label(),
        why: why.into(),
    }
}

/// Cleans `input`, a file of `kind`, in memory: the working copy's bytes and what was found
/// and removed. Pure and bounded: refuses inputs over [`MAX_CLEAN_BYTES`], caps every
/// decompression, never panics on input. Run it through [`working_copy`] on untrusted files,
/// so that a hang or a crash in a parser costs only a child process.
pub fn clean_bytes(kind: Kind, input: &[u8]) -> Result<(Vec<u8>, Cleaned), CleanError> {
    let len = input.len() as u64;
    if len > MAX_CLEAN_BYTES {
        return Err(CleanError::TooLarge(len));
    }
    match kind {
        Kind::Jpeg => jpeg::clean(input),
        Kind::Png => png::clean(input),
        Kind::Pdf => pdf::clean(input),
        Kind::Docx | Kind::Xlsx | Kind::Pptx => ooxml::clean(kind, input),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_recognised_by_content_not_by_name() {
        assert_eq!(
            Kind::detect(b"\xFF\xD8\xFF\xE0rest", "x.pdf"),
            Some(Kind::Jpeg)
        );
        assert_eq!(
            Kind::detect(b"\x89PNG\r\n\x1a\n....", "x.docx"),
            Some(Kind::Png)
        );
        assert_eq!(Kind::detect(b"%PDF-1.7\n", "photo.jpg"), Some(Kind::Pdf));
        assert_eq!(Kind::detect(b"hello", "photo.jpg"), None);
        assert_eq!(Kind::detect(b"", "a.pdf"), None);
        for k in Kind::ALL {
            assert_eq!(Kind::from_name(k.as_str()), Some(k));
            assert!(!k.label().is_empty());
        }
    }

    #[test]
    fn details_are_shortened_and_lose_control_characters() {
        assert_eq!(shorten("  a\n\tb\u{1b}[31m  "), "a b[31m");
        assert_eq!(shorten("x\u{202E}y"), "xy");
        assert!(shorten(&"z".repeat(1000)).chars().count() <= MAX_DETAIL_CHARS + 1);
    }

    /// The fixtures of the unit tests, as seeds for the fuzz targets (fuzz/seeds/TARGET/).
    #[test]
    #[ignore = "run by hand: WITNESS_FUZZ_SEEDS=fuzz/seeds cargo test --lib write_fuzz_seeds -- --ignored"]
    fn write_fuzz_seeds() {
        let dir = std::path::PathBuf::from(std::env::var("WITNESS_FUZZ_SEEDS").unwrap());
        let seeds: [(&str, Kind, Vec<u8>); 4] = [
            ("clean_jpeg", Kind::Jpeg, jpeg::tests::jpeg_with_metadata()),
            ("clean_png", Kind::Png, png::tests::png_with_metadata()),
            ("clean_pdf", Kind::Pdf, pdf::tests::pdf_with_two_revisions()),
            (
                "clean_ooxml",
                Kind::Docx,
                ooxml::tests::docx_with_metadata(),
            ),
        ];
        for (target, kind, bytes) in seeds {
            let d = dir.join(target);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("fixture"), &bytes).unwrap();
            let (copy, _) = clean_bytes(kind, &bytes).unwrap();
            std::fs::write(d.join("fixture-cleaned"), &copy).unwrap();
        }
    }

    #[test]
    fn inputs_over_the_cap_are_refused_before_parsing() {
        let big = vec![0u8; (MAX_CLEAN_BYTES + 1) as usize];
        for k in Kind::ALL {
            assert!(matches!(clean_bytes(k, &big), Err(CleanError::TooLarge(_))));
        }
    }
}
