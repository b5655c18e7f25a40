//! PNG: a working copy with only the chunks needed to show the picture.
//!
//! Invariant: the copy is the signature and, byte for byte, the chunks on an allow-list:
//! the critical ones (IHDR, PLTE, IDAT, IEND), transparency and colour rendering without text
//! (tRNS, gAMA, cHRM, sRGB, sBIT, cICP, mDCV, cLLI, pHYs, bKGD) and APNG animation (acTL,
//! fcTL, fdAT). Every other chunk is dropped, known or not: text (tEXt, zTXt, iTXt, which hold
//! XMP and ImageMagick's EXIF too), eXIf, tIME, iCCP (a profile has a description and
//! device fields), sPLT (named palettes), C2PA, private chunks, and anything after IEND.
//! Every chunk length is checked against the input; compressed text is inflated for the report
//! through a cap.

use std::io::Read;

use super::{exif, malformed, what, xmp, About, CleanError, Cleaned, Kind};

/// The PNG file signature.
pub const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Chunks a working copy keeps.
const KEPT: &[&[u8; 4]] = &[
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"sBIT", b"cICP",
    b"mDCV", b"cLLI", b"pHYs", b"bKGD", b"acTL", b"fcTL", b"fdAT",
];

/// Largest compressed text inflated for the report.
const MAX_TEXT: u64 = 1 << 20;

/// Cleans a PNG file.
pub fn clean(input: &[u8]) -> Result<(Vec<u8>, Cleaned), CleanError> {
    let bad = |why: &str| malformed(Kind::Png, why);
    let Some(mut rest) = input.strip_prefix(SIGNATURE) else {
        return Err(bad("it does not start like a PNG"));
    };
    let mut report = Cleaned::default();
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(SIGNATURE);
    let mut first = true;
    let mut ended = false;
    let mut has_data = false;
    while !rest.is_empty() {
        if rest.len() < 12 {
            return Err(bad("it ends inside a chunk"));
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let ty: [u8; 4] = [rest[4], rest[5], rest[6], rest[7]];
        let Some(chunk) = rest.get(..len.saturating_add(12)) else {
            return Err(bad("a chunk runs past the end of the file"));
        };
        if !ty.iter().all(u8::is_ascii_alphabetic) {
            return Err(bad("a chunk has an invalid type"));
        }
        if first && &ty != b"IHDR" {
            return Err(bad("the first chunk is not IHDR"));
        }
        first = false;
        let data = &chunk[8..8 + len];
        rest = &rest[chunk.len()..];
        if KEPT.contains(&&ty) {
            out.extend_from_slice(chunk);
            has_data |= &ty == b"IDAT";
            if &ty == b"IEND" {
                ended = true;
                break;
            }
            continue;
        }
        examine(&ty, data, &mut report);
    }
    if !ended || !has_data {
        return Err(bad("it has no picture data or no end"));
    }
    if rest.iter().any(|&b| b != 0 && b != b'\n' && b != b'\r') {
        report.find(
            About::Hidden,
            what::TRAILER,
            Some(format!("{} bytes", rest.len())),
        );
        report.remove("data after the end of the image");
    }
    report.keep(super::jpeg::KEPT_PICTURE);
    Ok((out, report))
}

/// Reports what a dropped chunk holds.
fn examine(ty: &[u8; 4], data: &[u8], report: &mut Cleaned) {
    match ty {
        b"tEXt" => {
            let (key, value) = split_nul(data);
            text(key, value, report);
        }
        b"zTXt" => {
            let (key, rest) = split_nul(data);
            let value = rest.get(1..).map(inflate).unwrap_or_default();
            text(key, &value, report);
        }
        b"iTXt" => {
            // keyword\0 flag method language\0 translated\0 text
            let (key, rest) = split_nul(data);
            let (flag, rest) = (rest.first().copied(), rest.get(2..).unwrap_or(&[]));
            let (_, rest) = split_nul(rest);
            let (_, value) = split_nul(rest);
            let value = if flag == Some(1) {
                inflate(value)
            } else {
                value.to_vec()
            };
            text(key, &value, report);
        }
        b"eXIf" => {
            exif::examine(data, report);
            report.remove("EXIF metadata (camera, GPS position, dates, serial numbers)");
        }
        b"tIME" => {
            let detail = (data.len() == 7).then(|| {
                let year = u16::from_be_bytes([data[0], data[1]]);
                format!(
                    "{year:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                    data[2], data[3], data[4], data[5], data[6]
                )
            });
            report.find(About::Time, what::CHANGED, detail);
            report.remove("the time it was last changed (tIME)");
        }
        b"iCCP" => report.remove("the colour profile (ICC; colours may look slightly different)"),
        b"caBX" => {
            report.find(About::Other, what::CREDENTIALS, None);
            report.remove("content credentials (C2PA)");
        }
        _ => {
            let name = String::from_utf8_lossy(ty).into_owned();
            report.find(About::Other, what::OTHER, Some(format!("{name} chunk")));
            report.remove("other chunks of the programs that made it");
        }
    }
}

/// Reports one text chunk by its keyword.
fn text(key: &[u8], value: &[u8], report: &mut Cleaned) {
    report.remove("text chunks (tEXt, zTXt, iTXt)");
    let key = String::from_utf8_lossy(key);
    let value_text = String::from_utf8_lossy(value).into_owned();
    if key == "XML:com.adobe.xmp" {
        xmp::examine(value, report);
        return;
    }
    if key.starts_with("Raw profile type exif") || key.starts_with("Raw profile type APP1") {
        // ImageMagick: "\nexif\n   LEN\nHEX…"; the hex holds "Exif\0\0" and a TIFF block.
        let hex: String = value_text
            .lines()
            .skip(3)
            .flat_map(|l| l.chars())
            .filter(char::is_ascii_hexdigit)
            .collect();
        if let Ok(bytes) = hex::decode(&hex[..hex.len() & !1]) {
            let tiff = bytes.strip_prefix(b"Exif\0\0").unwrap_or(&bytes);
            exif::examine(tiff, report);
        }
        return;
    }
    if key.starts_with("Raw profile type xmp") {
        xmp::examine(value, report);
        return;
    }
    let detail = Some(value_text.clone());
    match key.as_ref() {
        "Author" => report.find(About::Person, what::AUTHOR, detail),
        "Copyright" => report.find(About::Person, what::COPYRIGHT, detail),
        "Creation Time" | "date:create" => report.find(About::Time, what::MADE, detail),
        "date:modify" | "date:timestamp" => report.find(About::Time, what::CHANGED, detail),
        "Software" => report.find(About::Software, what::SOFTWARE, detail),
        "Source" => report.find(About::Device, what::DEVICE, detail),
        "Title" => report.find(About::Other, what::TITLE, detail),
        "Description" | "Comment" | "Disclaimer" | "Warning" => {
            report.find(About::Other, what::COMMENT, detail);
        }
        other => report.find(
            About::Other,
            what::OTHER,
            Some(format!("{other}: {value_text}")),
        ),
    }
}

fn split_nul(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// zlib-inflates `data` for the report, at most [`MAX_TEXT`] bytes of it.
fn inflate(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = flate2::read::ZlibDecoder::new(data)
        .take(MAX_TEXT)
        .read_to_end(&mut out);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn chunk(ty: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(ty);
        c.extend_from_slice(data);
        let mut h = flate2::Crc::new();
        h.update(ty);
        h.update(data);
        c.extend_from_slice(&h.sum().to_be_bytes());
        c
    }

    /// A 1x1 grey PNG with text, eXIf (GPS and all), tIME, iCCP and a private chunk.
    pub(crate) fn png_with_metadata() -> Vec<u8> {
        use std::io::Write;
        let mut p = SIGNATURE.to_vec();
        p.extend(chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]));
        p.extend(chunk(b"tEXt", b"Author\0Canary Author"));
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b"Canary zipped comment").unwrap();
        let mut ztxt = b"Comment\0\0".to_vec();
        ztxt.extend(z.finish().unwrap());
        p.extend(chunk(b"zTXt", &ztxt));
        p.extend(chunk(
            b"iTXt",
            b"XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta tiff:Model=\"CanaryXmpModel\"/>",
        ));
        p.extend(chunk(b"eXIf", &super::exif::tests::sample_exif()));
        p.extend(chunk(b"tIME", &[0x07, 0xE9, 5, 17, 12, 30, 0]));
        p.extend(chunk(b"iCCP", b"CanaryIcc\0\0xx"));
        p.extend(chunk(b"prVt", b"CanaryPrivate"));
        p.extend(chunk(b"pHYs", &[0, 0, 0x0b, 0x13, 0, 0, 0x0b, 0x13, 1]));
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&[0, 0x80]).unwrap();
        p.extend(chunk(b"IDAT", &z.finish().unwrap()));
        p.extend(chunk(b"IEND", b""));
        p.extend_from_slice(b"CanaryAfterEnd");
        p
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn a_png_loses_text_exif_time_profile_private_chunks_and_trailer() {
        let (out, report) = clean(&png_with_metadata()).unwrap();
        for canary in [
            &b"Canary"[..],
            b"SN-CANARY",
            b"tEXt",
            b"zTXt",
            b"iTXt",
            b"eXIf",
            b"tIME",
            b"iCCP",
            b"prVt",
        ] {
            assert!(
                !contains(&out, canary),
                "{}",
                String::from_utf8_lossy(canary)
            );
        }
        assert!(contains(&out, b"IHDR") && contains(&out, b"IDAT") && contains(&out, b"pHYs"));
        assert!(out.ends_with(&chunk(b"IEND", b"")));
        let detail = |w: &str| {
            report
                .found
                .iter()
                .find(|f| f.what == w)
                .map(|f| f.detail.clone().unwrap_or_default())
        };
        assert_eq!(detail(what::GPS).as_deref(), Some("40.4093 N, 49.8671 E"));
        assert_eq!(detail(what::AUTHOR).as_deref(), Some("Canary Author"));
        assert_eq!(
            detail(what::COMMENT).as_deref(),
            Some("Canary zipped comment")
        );
        assert!(detail(what::DEVICE).is_some());
        assert_eq!(
            detail(what::CHANGED).as_deref(),
            Some("2025-05-17 12:30:00")
        );
        let (again, report2) = clean(&out).unwrap();
        assert_eq!(again, out);
        assert!(report2.found.is_empty());
    }

    #[test]
    fn truncated_and_garbage_pngs_are_errors_never_panics() {
        let input = png_with_metadata();
        for cut in 0..input.len() {
            let _ = clean(&input[..cut]);
        }
        let mut huge = SIGNATURE.to_vec();
        huge.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
        huge.extend_from_slice(b"IHDR");
        assert!(clean(&huge).is_err());
        assert!(clean(b"\x89PNG\r\n\x1a\n").is_err());
    }
}
