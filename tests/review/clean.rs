//! Working copies (`review::clean`), checked the way a reviewer would check them: files made
//! by real tools (ImageMagick's `convert`, `exiftool`), cleaned through the real
//! `witness-review clean-worker` child process, and read back by `exiftool`, an independent
//! reader. Hostile inputs (zip bombs, truncated files, reference loops, random bytes) must give
//! an error or a clean copy quickly, never a panic, a hang or a half-written file.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use witness_drop::review::clean::{
    self, working_copy, working_copy_in_process, About, CleanError, Cleaned, Kind,
};

/// Generous: a debug build on two shared cores.
const DEADLINE: Duration = Duration::from_secs(60);

fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_witness-review"))
}

/// True when `tool` is on PATH. Otherwise prints a SKIPPED line (and the test returns), or
/// panics when `WITNESS_DROP_REQUIRE_TOOLS=1`.
fn require_tool(tool: &str, test: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if found {
        return true;
    }
    if std::env::var("WITNESS_DROP_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!("{test}: {tool} not installed and WITNESS_DROP_REQUIRE_TOOLS=1");
    }
    println!("SKIPPED: {test}: {tool} not installed");
    false
}

#[track_caller]
fn run(cmd: &mut Command) -> String {
    let o = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        o.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `exiftool -j -a -G1 FILE`: every tag, duplicates included, with its group.
fn exiftool_tags(file: &Path) -> serde_json::Map<String, serde_json::Value> {
    let out = run(Command::new("exiftool")
        .args(["-j", "-a", "-G1", "-n"])
        .arg(file));
    let mut all: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_str(&out).unwrap();
    all.remove(0)
}

fn sha256(path: &Path) -> String {
    hex::encode(Sha256::digest(fs::read(path).unwrap()))
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
}

fn has(report: &Cleaned, what: &str) -> bool {
    report.found.iter().any(|f| f.what == what)
}

#[test]
fn a_photo_tagged_by_exiftool_loses_gps_device_serial_and_artist_and_still_opens() {
    let test = "a_photo_tagged_by_exiftool_loses_gps_device_serial_and_artist_and_still_opens";
    if !require_tool("convert", test) || !require_tool("exiftool", test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("photo.jpg");
    run(Command::new("convert")
        .args(["-size", "64x48", "gradient:red-blue", "-quality", "90"])
        .arg(&original));
    run(Command::new("exiftool")
        .args([
            "-q",
            "-overwrite_original",
            "-GPSLatitude=40.4093",
            "-GPSLatitudeRef=N",
            "-GPSLongitude=49.8671",
            "-GPSLongitudeRef=E",
            "-Make=CanaryMake",
            "-Model=CanaryPhone 7",
            "-SerialNumber=CANARY-SN-0042",
            "-Artist=Canary Artist",
            "-XMP-dc:Creator=Canary Xmp Creator",
            "-Comment=Canary comment",
        ])
        .arg(&original));
    let before = exiftool_tags(&original);
    assert!(
        before.keys().any(|k| k.contains("GPSLatitude")),
        "{before:?}"
    );
    let hash_before = sha256(&original);
    let head = fs::read(&original).unwrap();
    assert_eq!(Kind::detect(&head, "photo.pdf"), Some(Kind::Jpeg));

    let copy = dir.path().join("working.jpg");
    let report = working_copy(&exe(), Kind::Jpeg, &original, &copy, DEADLINE).unwrap();

    assert_eq!(sha256(&original), hash_before, "the original was changed");
    #[cfg(unix)]
    assert_eq!(mode(&copy), 0o600);
    // What the original reveals, each its own finding; GPS with the position.
    let gps = report
        .found
        .iter()
        .find(|f| f.what == clean::what::GPS)
        .expect("a GPS finding");
    assert_eq!(gps.about, About::Location);
    assert_eq!(gps.detail.as_deref(), Some("40.4093 N, 49.8671 E"));
    assert!(report.reveals_location());
    for w in [
        clean::what::DEVICE,
        clean::what::SERIAL,
        clean::what::AUTHOR,
        clean::what::COMMENT,
    ] {
        assert!(has(&report, w), "{w} not reported: {:?}", report.found);
    }
    // exiftool, reading the copy, finds none of it.
    let after = exiftool_tags(&copy);
    for (key, value) in &after {
        let text = format!("{key}={value}");
        for banned in [
            "GPS", "Make", "Model", "Serial", "Artist", "Creator", "Comment", "Canary",
        ] {
            assert!(
                !text.contains(banned) || key == "SourceFile",
                "{text} left in the copy"
            );
        }
    }
    assert!(!contains(&fs::read(&copy).unwrap(), b"Canary"));
    // And it is still the same picture.
    assert_eq!(after["File:ImageWidth"], 64, "{after:?}");
    assert_eq!(after["File:ImageHeight"], 48, "{after:?}");
    if require_tool("identify", test) {
        let size = run(Command::new("identify")
            .args(["-format", "%wx%h"])
            .arg(&copy));
        assert_eq!(size, "64x48");
    }
}

/// A one-page PDF made with lopdf (ImageMagick's PDF writer is disabled by Debian's policy),
/// its author "Canary First Author".
fn plain_pdf() -> Vec<u8> {
    use lopdf::{dictionary, Document, Object, Stream, StringFormat};
    let mut doc = Document::with_version("1.4");
    let pages_id = doc.new_object_id();
    let content_id = doc.add_object(Stream::new(
        dictionary! {},
        b"BT /F1 12 Tf 10 10 Td (Testimony page) Tj ET".to_vec(),
    ));
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
        "MediaBox" => vec![0.into(), 0.into(), 200.into(), 100.into()],
        "Resources" => dictionary! { "Font" => dictionary! { "F1" => font_id } },
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1,
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    let info_id = doc.add_object(dictionary! {
        "Author" => Object::String(b"Canary First Author".to_vec(), StringFormat::Literal),
    });
    doc.trailer.set("Root", catalog_id);
    doc.trailer.set("Info", info_id);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

#[test]
fn a_pdf_whose_author_exiftool_set_twice_loses_it_from_every_revision() {
    let test = "a_pdf_whose_author_exiftool_set_twice_loses_it_from_every_revision";
    if !require_tool("exiftool", test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("statement.pdf");
    fs::write(&original, plain_pdf()).unwrap();
    // exiftool writes PDF metadata as an incremental update, so the first author stays inside
    // the file. (Setting it again replaces exiftool's own earlier update rather than adding a
    // third revision: the file then holds the first and the last author.)
    for author in ["Canary Second Author", "Canary Third Author"] {
        run(Command::new("exiftool")
            .args(["-q", "-overwrite_original"])
            .arg(format!("-Author={author}"))
            .arg("-Creator=Canary Creator Tool")
            .arg(&original));
    }
    let raw = fs::read(&original).unwrap();
    assert!(contains(&raw, b"Canary First Author") && contains(&raw, b"Canary Third Author"));
    let hash_before = sha256(&original);

    let copy = dir.path().join("working.pdf");
    let report = working_copy(&exe(), Kind::Pdf, &original, &copy, DEADLINE).unwrap();
    assert_eq!(sha256(&original), hash_before, "the original was changed");

    let authors: Vec<_> = report
        .found
        .iter()
        .filter(|f| f.what == clean::what::AUTHOR)
        .filter_map(|f| f.detail.clone())
        .collect();
    assert!(
        authors.iter().any(|a| a == "Canary First Author"),
        "{authors:?}"
    );
    assert!(
        authors.iter().any(|a| a == "Canary Third Author"),
        "{authors:?}"
    );
    assert!(has(&report, clean::what::REVISIONS), "{:?}", report.found);

    let bytes = fs::read(&copy).unwrap();
    assert!(
        !contains(&bytes, b"Canary"),
        "an author is left in the raw bytes"
    );
    assert!(contains(&bytes, b"Testimony page"), "the page text is gone");
    let after = exiftool_tags(&copy);
    for (key, value) in &after {
        assert!(
            !key.contains("Author")
                && !key.contains("Creator")
                && !value.to_string().contains("Canary"),
            "{key}={value} left in the copy"
        );
    }
    assert_eq!(after["PDF:PageCount"], 1, "{after:?}");
    // The original's exiftool update can be undone (`-PDF-update:all=` brings back the first
    // author); the copy has no update left to undo.
    let revert = |file: &Path, name: &str| {
        let out = dir.path().join(name);
        let o = Command::new("exiftool")
            .args(["-PDF-update:all="])
            .arg(file)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        (
            o.status.success() && out.exists(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    assert!(revert(&original, "reverted-original.pdf").0);
    let (reverted, said) = revert(&copy, "reverted-copy.pdf");
    assert!(!reverted, "exiftool undid an update of the copy");
    assert!(said.contains("no previous ExifTool update"), "{said}");
}

/// A docx whose one part is 300 MiB of zeros (a 300 KiB file).
fn zip_bomb_docx() -> Vec<u8> {
    use std::io::Write;
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    w.start_file("[Content_Types].xml", opts).unwrap();
    w.write_all(
        br#"<Types><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#,
    )
    .unwrap();
    w.start_file("word/document.xml", opts).unwrap();
    let zeros = vec![b' '; 1 << 20];
    for _ in 0..300 {
        w.write_all(&zeros).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn a_zip_bomb_docx_is_refused_quickly_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = dir.path().join("bomb.docx");
    fs::write(&bomb, zip_bomb_docx()).unwrap();
    assert_eq!(
        Kind::detect(&fs::read(&bomb).unwrap(), "x"),
        Some(Kind::Docx)
    );
    let copy = dir.path().join("working.docx");
    let started = Instant::now();
    let err = working_copy(&exe(), Kind::Docx, &bomb, &copy, DEADLINE).unwrap_err();
    assert!(
        matches!(&err, CleanError::Malformed { why, .. } if why.contains("zip bomb")),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(!copy.exists());
}

#[test]
fn hostile_inputs_of_every_kind_give_errors_or_copies_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let mut inputs: Vec<(Kind, Vec<u8>)> = Vec::new();
    // Random bytes behind each kind's magic.
    let mut noise = vec![0u8; 64 << 10];
    getrandom::fill(&mut noise).unwrap();
    for (kind, magic) in [
        (Kind::Jpeg, &b"\xFF\xD8\xFF\xE1"[..]),
        (Kind::Png, b"\x89PNG\r\n\x1a\n"),
        (Kind::Pdf, b"%PDF-1.7\n"),
        (Kind::Docx, b"PK\x03\x04"),
        (Kind::Xlsx, b"PK\x03\x04"),
        (Kind::Pptx, b"PK\x03\x04"),
    ] {
        inputs.push((kind, [magic, &noise[..]].concat()));
        inputs.push((kind, noise.clone()));
        inputs.push((kind, magic.to_vec()));
    }
    // A truncated JPEG (no scan) and one cut inside its scan.
    inputs.push((
        Kind::Jpeg,
        b"\xFF\xD8\xFF\xE0\x00\x10JFIF\0\x01\x01\0\0\x01".to_vec(),
    ));
    // PDF objects that reference each other in a loop, and a very deep nesting.
    inputs.push((
        Kind::Pdf,
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [2 0 R] /Count 1 /Parent 1 0 R >> endobj\ntrailer << /Root 1 0 R /Info 2 0 R >>\n%%EOF\n".to_vec(),
    ));
    let mut deep = b"%PDF-1.4\n1 0 obj ".to_vec();
    deep.extend(std::iter::repeat_n(b'[', 1 << 20));
    deep.extend_from_slice(b" endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");
    inputs.push((Kind::Pdf, deep));
    for (i, (kind, bytes)) in inputs.iter().enumerate() {
        let input = dir.path().join(format!("in-{i}"));
        fs::write(&input, bytes).unwrap();
        let copy = dir.path().join(format!("out-{i}"));
        let started = Instant::now();
        match working_copy(&exe(), *kind, &input, &copy, DEADLINE) {
            Ok(_) => assert!(copy.exists()),
            Err(CleanError::Malformed { .. } | CleanError::Unsupported) => {
                assert!(!copy.exists(), "a failed clean left {}", copy.display());
            }
            Err(e) => panic!("{kind:?} input {i}: {e}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "input {i} was slow"
        );
        // The in-process cleaner agrees (and does not panic either).
        let copy2 = dir.path().join(format!("out2-{i}"));
        let _ = working_copy_in_process(*kind, &input, &copy2);
    }
}

#[test]
fn a_cleaner_past_its_deadline_is_killed_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = dir.path().join("bomb.docx");
    fs::write(&bomb, zip_bomb_docx()).unwrap();
    let copy = dir.path().join("working.docx");
    let started = Instant::now();
    let err = working_copy(&exe(), Kind::Docx, &bomb, &copy, Duration::from_millis(1)).unwrap_err();
    assert!(matches!(err, CleanError::TimedOut), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(!copy.exists());
}

#[test]
fn a_cleaner_that_crashes_is_a_malformed_file_not_a_failed_decrypt() {
    // A worker that dies without answering stands for one a hostile file made abort.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jpg");
    fs::write(&input, b"\xFF\xD8\xFF").unwrap();
    let copy = dir.path().join("out.jpg");
    let err =
        working_copy(Path::new("/bin/false"), Kind::Jpeg, &input, &copy, DEADLINE).unwrap_err();
    assert!(
        matches!(&err, CleanError::Malformed { why, .. } if why.contains("failed")),
        "{err}"
    );
    assert!(!copy.exists());
}

#[cfg(unix)]
#[test]
fn a_working_copy_never_replaces_a_file_nor_follows_a_link() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.png");
    fs::write(&input, b"\x89PNG\r\n\x1a\n").unwrap();
    let existing = dir.path().join("existing");
    fs::write(&existing, b"keep me").unwrap();
    // A well-formed PNG, so that only the output decides.
    let png = dir.path().join("ok.png");
    if require_tool(
        "convert",
        "a_working_copy_never_replaces_a_file_nor_follows_a_link",
    ) {
        run(Command::new("convert")
            .args(["-size", "4x4", "xc:green"])
            .arg(&png));
        let err = working_copy(&exe(), Kind::Png, &png, &existing, DEADLINE).unwrap_err();
        assert!(matches!(err, CleanError::Io(_)), "{err}");
        assert_eq!(fs::read(&existing).unwrap(), b"keep me");
        let err = working_copy_in_process(Kind::Png, &png, &existing).unwrap_err();
        assert!(matches!(err, CleanError::Io(_)), "{err}");
        assert_eq!(fs::read(&existing).unwrap(), b"keep me");
    }
    let link = dir.path().join("link.png");
    std::os::unix::fs::symlink(&input, &link).unwrap();
    let out = dir.path().join("out.png");
    assert!(working_copy(&exe(), Kind::Png, &link, &out, DEADLINE).is_err());
    assert!(working_copy_in_process(Kind::Png, &link, &out).is_err());
    assert!(!out.exists());
}
