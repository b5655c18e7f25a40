//! JPEG: a working copy with only the segments a decoder needs.
//!
//! Invariant: the copy is SOI, the frame, tables and scans of the original byte for byte (the
//! picture is not re-encoded, so not a pixel changes), a JFIF APP0 header with its thumbnail
//! cut off, Adobe's APP14 colour-transform flag (12 bytes, no text: without it CMYK and some
//! RGB files decode in wrong colours), an EXIF block built anew holding only the orientation,
//! and EOI. Everything else is dropped: EXIF (GPS, make, model, serial numbers, dates,
//! owner, software, thumbnail), XMP, IPTC/Photoshop, ICC profiles, MPF extra pictures, C2PA,
//! every other APPn, comments, and whatever follows EOI (motion-photo videos, second
//! pictures). The segments are walked by a small parser of our own that checks every length
//! against the input and copies nothing it has not bounded.

use super::{exif, malformed, what, xmp, About, CleanError, Cleaned, Kind};

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const APP0: u8 = 0xE0;
const APP1: u8 = 0xE1;
const APP2: u8 = 0xE2;
const APP11: u8 = 0xEB;
const APP13: u8 = 0xED;
const APP14: u8 = 0xEE;
const COM: u8 = 0xFE;

const EXIF_ID: &[u8] = b"Exif\0\0";
const XMP_ID: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
const XMP_EXT_ID: &[u8] = b"http://ns.adobe.com/xmp/extension/\0";

/// Removed-list wording.
const RM_EXIF: &str = "EXIF metadata (camera, GPS position, dates, serial numbers, thumbnail)";
const RM_XMP: &str = "XMP metadata";
const RM_IPTC: &str = "IPTC and Photoshop metadata";
const RM_ICC: &str = "the colour profile (ICC; colours may look slightly different)";
const RM_COMMENT: &str = "comments";
const RM_THUMB: &str = "the JFIF thumbnail";
const RM_TRAILER: &str = "data after the end of the image";
const RM_APP: &str = "other application data (APPn segments)";
/// What a photo's working copy still shows.
pub(crate) const KEPT_PICTURE: &str =
    "the picture itself: faces, places, signs, screens and reflections in view are unchanged";

/// Cleans a JPEG file.
pub fn clean(input: &[u8]) -> Result<(Vec<u8>, Cleaned), CleanError> {
    let bad = |why: &str| malformed(Kind::Jpeg, why);
    if input.get(..2) != Some(&[0xFF, SOI][..]) {
        return Err(bad("it does not start like a JPEG"));
    }
    let mut report = Cleaned::default();
    let mut jfif: Option<Vec<u8>> = None;
    let mut orientation = None;
    // The kept segments after the header ones, as they appear.
    let mut body = Vec::with_capacity(input.len());
    let mut pos = 2;
    let mut seen_frame = false;
    let mut seen_scan = false;
    while pos < input.len() {
        if input[pos] != 0xFF {
            return Err(bad("a segment does not start with a marker"));
        }
        // Fill bytes: any number of 0xFF before the marker.
        while input.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let Some(&marker) = input.get(pos) else {
            return Err(bad("it ends inside a marker"));
        };
        pos += 1;
        match marker {
            EOI => break,
            SOI | 0x00 => return Err(bad("an unexpected marker")),
            0xD0..=0xD7 | 0x01 => {
                body.extend_from_slice(&[0xFF, marker]);
                continue;
            }
            _ => {}
        }
        let len = match input.get(pos..pos + 2) {
            Some(l) => usize::from(u16::from_be_bytes([l[0], l[1]])),
            None => return Err(bad("it ends inside a segment header")),
        };
        if len < 2 {
            return Err(bad("a segment has an impossible length"));
        }
        let Some(data) = input.get(pos + 2..pos + len) else {
            return Err(bad("a segment runs past the end of the file"));
        };
        let segment = &input[pos - 2..pos + len];
        pos += len;
        match marker {
            APP0 => {
                if data.starts_with(b"JFIF\0") && data.len() >= 14 && jfif.is_none() {
                    let mut header = data[..14].to_vec();
                    if header[12] != 0 || header[13] != 0 || data.len() > 14 {
                        report.find(About::Hidden, what::THUMBNAIL, None);
                        report.remove(RM_THUMB);
                    }
                    header[12] = 0;
                    header[13] = 0;
                    jfif = Some(header);
                } else if data.starts_with(b"JFXX\0") {
                    report.find(About::Hidden, what::THUMBNAIL, None);
                    report.remove(RM_THUMB);
                } else {
                    other_app(marker, data, &mut report);
                }
            }
            APP1 if data.starts_with(EXIF_ID) => {
                if let Some(o) = exif::examine(&data[EXIF_ID.len()..], &mut report) {
                    orientation.get_or_insert(o);
                }
                report.remove(RM_EXIF);
            }
            APP1 if data.starts_with(XMP_ID) => {
                xmp::examine(&data[XMP_ID.len()..], &mut report);
                report.remove(RM_XMP);
            }
            APP1 if data.starts_with(XMP_EXT_ID) => {
                xmp::examine(data, &mut report);
                report.remove(RM_XMP);
            }
            APP2 if data.starts_with(b"ICC_PROFILE\0") => report.remove(RM_ICC),
            APP2 if data.starts_with(b"MPF\0") => {
                report.find(About::Hidden, what::EXTRA_PICTURES, None);
                report.remove(RM_APP);
            }
            APP11 => {
                report.find(About::Other, what::CREDENTIALS, None);
                report.remove(RM_APP);
            }
            APP13 => {
                iptc(data, &mut report);
                report.remove(RM_IPTC);
            }
            APP14 if data.starts_with(b"Adobe") && data.len() >= 12 => {
                // The fixed 12 bytes only: version, flags, colour transform.
                body.extend_from_slice(&[0xFF, APP14, 0, 14]);
                body.extend_from_slice(&data[..12]);
            }
            _ if (APP0..=0xEF).contains(&marker) => other_app(marker, data, &mut report),
            COM => {
                let text = String::from_utf8_lossy(data).into_owned();
                if !text
                    .trim_matches(|c: char| c == '\0' || c.is_whitespace())
                    .is_empty()
                {
                    report.find(About::Other, what::COMMENT, Some(text));
                }
                report.remove(RM_COMMENT);
            }
            SOS => {
                if !seen_frame {
                    return Err(bad("a scan comes before the frame header"));
                }
                seen_scan = true;
                body.extend_from_slice(segment);
                let end = entropy_end(input, pos);
                body.extend_from_slice(&input[pos..end]);
                pos = end;
            }
            _ => {
                if matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF) {
                    seen_frame = true;
                }
                body.extend_from_slice(segment);
            }
        }
    }
    if !seen_frame || !seen_scan {
        return Err(bad("it holds no picture (no frame or no scan)"));
    }
    // A file cut off inside the picture data gets its EOI back below: the copy shows what the
    // original shows.
    let trailer = &input[pos.min(input.len())..];
    if trailer.iter().any(|&b| b != 0 && b != b'\n' && b != b'\r') {
        report.find(
            About::Hidden,
            what::TRAILER,
            Some(format!("{} bytes", trailer.len())),
        );
        report.remove(RM_TRAILER);
    }
    report.keep(KEPT_PICTURE);

    let mut out = Vec::with_capacity(body.len() + 64);
    out.extend_from_slice(&[0xFF, SOI]);
    if let Some(header) = jfif {
        push_segment(&mut out, APP0, &header);
    }
    if let Some(o) = orientation.filter(|&o| o != 1) {
        let mut block = EXIF_ID.to_vec();
        block.extend_from_slice(&exif::orientation_only(o));
        push_segment(&mut out, APP1, &block);
    }
    out.extend_from_slice(&body);
    out.extend_from_slice(&[0xFF, EOI]);
    Ok((out, report))
}

/// Where the entropy-coded data starting at `from` ends: at the first marker that is not a
/// stuffed zero byte or a restart marker (or at the end of the input).
fn entropy_end(input: &[u8], from: usize) -> usize {
    let mut i = from;
    while i + 1 < input.len() {
        if input[i] == 0xFF {
            let next = input[i + 1];
            if next != 0x00 && !(0xD0..=0xD7).contains(&next) && next != 0xFF {
                return i;
            }
            if next == 0xFF {
                // Fill bytes before a marker.
                i += 1;
                continue;
            }
            i += 2;
            continue;
        }
        i += 1;
    }
    input.len()
}

fn push_segment(out: &mut Vec<u8>, marker: u8, data: &[u8]) {
    // Callers pass at most a few dozen bytes.
    let len = u16::try_from(data.len() + 2).unwrap_or(u16::MAX);
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(data);
}

fn other_app(marker: u8, data: &[u8], report: &mut Cleaned) {
    let id: String = data
        .iter()
        .take_while(|&&b| b != 0)
        .take(32)
        .filter(|b| b.is_ascii_graphic() || **b == b' ')
        .map(|&b| char::from(b))
        .collect();
    let detail = if id.is_empty() {
        format!("APP{}", marker - APP0)
    } else {
        format!("APP{} {id}", marker - APP0)
    };
    report.find(About::Other, what::OTHER, Some(detail));
    report.remove(RM_APP);
}

/// Reads Photoshop image resources (APP13) for IPTC datasets and thumbnails.
fn iptc(data: &[u8], report: &mut Cleaned) {
    report.find(About::Other, what::IPTC, None);
    let Some(mut rest) = data.strip_prefix(b"Photoshop 3.0\0") else {
        return;
    };
    // 8BIM, id (2), Pascal name padded to even, size (4), data padded to even.
    while rest.len() >= 12 && rest.starts_with(b"8BIM") {
        let id = u16::from_be_bytes([rest[4], rest[5]]);
        let name_len = usize::from(rest[6]);
        let name_total = (1 + name_len + 1) & !1;
        let at = 6 + name_total;
        let Some(size) = rest.get(at..at + 4) else {
            return;
        };
        let size = u32::from_be_bytes([size[0], size[1], size[2], size[3]]) as usize;
        let Some(body) = rest.get(at + 4..(at + 4).saturating_add(size)) else {
            return;
        };
        match id {
            0x0404 => iim(body, report),
            0x0409 | 0x040C => report.find(About::Hidden, what::THUMBNAIL, None),
            _ => {}
        }
        let next = (at + 4).saturating_add(size).saturating_add(size & 1);
        rest = rest.get(next..).unwrap_or(&[]);
    }
}

/// IPTC-IIM datasets (0x1C, record, dataset, size (2), data).
fn iim(mut data: &[u8], report: &mut Cleaned) {
    while data.len() >= 5 && data[0] == 0x1C {
        let (record, dataset) = (data[1], data[2]);
        let size = usize::from(u16::from_be_bytes([data[3], data[4]]) & 0x7FFF);
        let Some(value) = data.get(5..5 + size) else {
            return;
        };
        let text = Some(String::from_utf8_lossy(value).into_owned());
        if record == 2 {
            match dataset {
                80 | 122 => report.find(About::Person, what::AUTHOR, text),
                116 => report.find(About::Person, what::COPYRIGHT, text),
                90 | 92 | 95 | 100 | 101 => report.find(About::Location, what::PLACE, text),
                55 | 62 => report.find(About::Time, what::MADE, text),
                120 => report.find(About::Other, what::COMMENT, text),
                65 => report.find(About::Software, what::SOFTWARE, text),
                _ => {}
            }
        }
        data = &data[5 + size..];
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod tests {
    use super::*;

    /// A real 8x8 grey baseline JPEG (frame, tables and scan), with no metadata at all.
    pub(crate) fn tiny_jpeg_parts() -> (Vec<u8>, Vec<u8>) {
        // DQT, SOF0 8x8 1 component, DHT (DC and AC tables with one code each), SOS, data.
        let mut tables = Vec::new();
        let mut dqt = vec![0xFF, 0xDB, 0x00, 0x43, 0x00];
        dqt.extend_from_slice(&[1u8; 64]);
        tables.extend_from_slice(&dqt);
        tables.extend_from_slice(&[
            0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x08, 0x00, 0x08, 0x01, 0x01, 0x11, 0x00,
        ]);
        // DC table 0: one code of length 1 for category 0.
        let mut dht_dc = vec![0xFF, 0xC4, 0x00, 0x14, 0x00, 0x01];
        dht_dc.extend_from_slice(&[0u8; 15]);
        dht_dc.push(0x00);
        tables.extend_from_slice(&dht_dc);
        // AC table 0: one code of length 1 for EOB (0x00).
        let mut dht_ac = vec![0xFF, 0xC4, 0x00, 0x14, 0x10, 0x01];
        dht_ac.extend_from_slice(&[0u8; 15]);
        dht_ac.push(0x00);
        tables.extend_from_slice(&dht_ac);
        let mut scan = vec![0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00];
        // DC diff 0 (code 0), EOB (code 0): bits "00", padded with ones.
        scan.push(0x3F);
        (tables, scan)
    }

    /// A JPEG with every kind of metadata the cleaner must remove.
    pub(crate) fn jpeg_with_metadata() -> Vec<u8> {
        let (tables, scan) = tiny_jpeg_parts();
        let mut j = vec![0xFF, 0xD8];
        // JFIF with a 1x1 thumbnail (3 bytes of RGB).
        let mut jfif = b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x01\x01".to_vec();
        jfif.extend_from_slice(&[9, 9, 9]);
        push_segment(&mut j, APP0, &jfif);
        let mut exif_block = EXIF_ID.to_vec();
        exif_block.extend_from_slice(&super::exif::tests::sample_exif());
        push_segment(&mut j, APP1, &exif_block);
        let mut xmp_block = XMP_ID.to_vec();
        xmp_block.extend_from_slice(
            br#"<x:xmpmeta><rdf:Description dc:creator="Canary Xmp"/></x:xmpmeta>"#,
        );
        push_segment(&mut j, APP1, &xmp_block);
        push_segment(&mut j, APP2, b"ICC_PROFILE\0\x01\x01CanaryProfileText");
        let mut iptc_block = b"Photoshop 3.0\08BIM\x04\x04\0\0".to_vec();
        let iim = b"\x1c\x02\x50\x00\x0dCanary Byline\x1c\x02\x5a\x00\x04Baku";
        iptc_block.extend_from_slice(&(iim.len() as u32).to_be_bytes());
        iptc_block.extend_from_slice(iim);
        push_segment(&mut j, APP13, &iptc_block);
        push_segment(&mut j, APP14, b"Adobe\x00\x64\x00\x00\x00\x00\x01");
        push_segment(&mut j, COM, b"Canary comment");
        j.extend_from_slice(&tables);
        j.extend_from_slice(&scan);
        j.extend_from_slice(&[0xFF, EOI]);
        j.extend_from_slice(b"CanaryTrailerVideo....");
        j
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn a_jpeg_loses_exif_xmp_iptc_icc_comments_thumbnail_and_trailer() {
        let input = jpeg_with_metadata();
        let (out, report) = clean(&input).unwrap();
        for canary in [
            &b"CanaryMake"[..],
            b"CanaryModel",
            b"SN-CANARY",
            b"Canary Artist",
            b"Canary Xmp",
            b"CanaryProfileText",
            b"Canary Byline",
            b"Baku",
            b"Canary comment",
            b"CanaryTrailer",
            b"ICC_PROFILE",
            b"http://ns.adobe.com",
        ] {
            assert!(
                !contains(&out, canary),
                "{}",
                String::from_utf8_lossy(canary)
            );
        }
        // What a decoder needs is still there, byte for byte.
        let (tables, scan) = tiny_jpeg_parts();
        assert!(contains(&out, &tables) && contains(&out, &scan));
        assert!(contains(&out, b"Adobe\x00\x64"));
        assert!(out.starts_with(&[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F']));
        assert!(out.ends_with(&[0xFF, 0xD9]));
        // The orientation survives, alone.
        let mut again = Cleaned::default();
        let at = out
            .windows(EXIF_ID.len())
            .position(|w| w == EXIF_ID)
            .unwrap();
        assert_eq!(
            super::exif::examine(&out[at + 6..at + 6 + 26], &mut again),
            Some(6)
        );
        let whats: Vec<&str> = report.found.iter().map(|f| f.what.as_str()).collect();
        for w in [
            what::GPS,
            what::DEVICE,
            what::SERIAL,
            what::AUTHOR,
            what::THUMBNAIL,
            what::PLACE,
            what::COMMENT,
            what::TRAILER,
            what::XMP,
            what::IPTC,
        ] {
            assert!(whats.contains(&w), "{w} missing from {whats:?}");
        }
        assert!(report.removed.iter().any(|r| r == RM_EXIF));
        // Cleaning a working copy again finds nothing.
        let (out2, report2) = clean(&out).unwrap();
        assert_eq!(out2, out);
        assert!(report2.found.is_empty(), "{:?}", report2.found);
    }

    #[test]
    fn truncated_and_garbage_jpegs_are_errors_or_cut_copies_never_panics() {
        let input = jpeg_with_metadata();
        for cut in 0..input.len() {
            let _ = clean(&input[..cut]);
        }
        assert!(clean(b"\xFF\xD8\xFF").is_err());
        assert!(clean(b"\xFF\xD8\xFF\xE1\x00\x01").is_err());
        assert!(clean(b"\xFF\xD8\xFF\xD9").is_err());
        assert!(clean(b"not a jpeg").is_err());
    }
}
