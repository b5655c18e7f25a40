//! Reading EXIF (a TIFF structure, from a JPEG's APP1 or a PNG's `eXIf`) for the report, and
//! the one EXIF field a working copy keeps: the orientation.
//!
//! Invariant: EXIF is only read here, never copied; the only EXIF a working copy gets is the
//! 26-byte block [`orientation_only`] builds from a number. A blob that does not parse is
//! reported as unreadable EXIF (it is removed all the same).

use exif::{Context, In, Reader, Tag, Value};

use super::{what, About, Cleaned};

/// Largest EXIF blob examined (a JPEG APP1 holds at most 64 KiB; a PNG `eXIf` may be larger).
const MAX_EXIF_BYTES: usize = 4 << 20;

/// Adds to `report` what the EXIF block `tiff` (starting with `II*\0` or `MM\0*`) reveals,
/// and returns its orientation (1 to 8) when it has a valid one.
pub fn examine(tiff: &[u8], report: &mut Cleaned) -> Option<u16> {
    if tiff.len() > MAX_EXIF_BYTES {
        report.find(
            About::Other,
            what::OTHER,
            Some("a very large EXIF block".into()),
        );
        return None;
    }
    let parsed = match Reader::new().read_raw(tiff.to_vec()) {
        Ok(p) => p,
        Err(_) => {
            report.find(
                About::Other,
                what::OTHER,
                Some("EXIF data that could not be read".into()),
            );
            return None;
        }
    };
    let mut orientation = None;
    let mut lat = None;
    let mut lon = None;
    let mut lat_ref = None;
    let mut lon_ref = None;
    let mut other_gps = false;
    let mut make = None;
    let mut model = None;
    let mut lens = Vec::new();
    for field in parsed.fields() {
        let tag = field.tag;
        let text = || ascii(&field.value);
        if tag.context() == Context::Gps {
            match tag {
                Tag::GPSLatitude => lat = degrees(&field.value),
                Tag::GPSLongitude => lon = degrees(&field.value),
                Tag::GPSLatitudeRef => lat_ref = text(),
                Tag::GPSLongitudeRef => lon_ref = text(),
                Tag::GPSVersionID => {}
                _ => other_gps = true,
            }
            continue;
        }
        if field.ifd_num == In::THUMBNAIL {
            if matches!(tag, Tag::JPEGInterchangeFormat | Tag::StripOffsets) {
                report.find(About::Hidden, what::THUMBNAIL, None);
            }
            continue;
        }
        match tag {
            Tag::Orientation => {
                if let Some(v) = field.value.get_uint(0) {
                    if (1..=8).contains(&v) {
                        orientation = u16::try_from(v).ok();
                    }
                }
            }
            Tag::Make => make = text(),
            Tag::Model => model = text(),
            Tag::LensMake | Tag::LensModel | Tag::LensSpecification => {
                if let Some(t) = text() {
                    lens.push(t);
                }
            }
            Tag::BodySerialNumber | Tag::LensSerialNumber => {
                report.find(About::Identifier, what::SERIAL, text());
            }
            Tag::ImageUniqueID => report.find(About::Identifier, what::UNIQUE_ID, text()),
            Tag::Artist => report.find(About::Person, what::AUTHOR, text()),
            Tag::CameraOwnerName => report.find(About::Person, what::OWNER, text()),
            Tag::Copyright => report.find(About::Person, what::COPYRIGHT, text()),
            Tag::DateTimeOriginal | Tag::DateTimeDigitized => {
                report.find(About::Time, what::MADE, text());
            }
            Tag::DateTime => report.find(About::Time, what::CHANGED, text()),
            Tag::Software => {
                report.find(About::Software, what::SOFTWARE, text());
            }
            Tag::ImageDescription | Tag::UserComment => {
                let t = text().or_else(|| user_comment(&field.value));
                if t.as_deref().is_some_and(|t| !t.trim().is_empty()) {
                    report.find(About::Other, what::COMMENT, t);
                }
            }
            Tag::MakerNote => report.find(About::Identifier, what::MAKER_NOTE, None),
            _ => {}
        }
    }
    if make.is_some() || model.is_some() {
        let detail = [make, model]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        report.find(About::Device, what::DEVICE, Some(detail));
    }
    if !lens.is_empty() {
        report.find(About::Device, what::LENS, Some(lens.join(" ")));
    }
    match (lat, lon) {
        (Some(lat), Some(lon)) => {
            let ns = if lat_ref.as_deref() == Some("S") {
                'S'
            } else {
                'N'
            };
            let ew = if lon_ref.as_deref() == Some("W") {
                'W'
            } else {
                'E'
            };
            report.find(
                About::Location,
                what::GPS,
                Some(format!("{lat:.4} {ns}, {lon:.4} {ew}")),
            );
        }
        (Some(_), None) | (None, Some(_)) => report.find(About::Location, what::GPS, None),
        (None, None) if other_gps => report.find(
            About::Location,
            what::GPS,
            Some("GPS data without a full position (time, altitude or direction)".into()),
        ),
        (None, None) => {}
    }
    orientation
}

/// An EXIF block (TIFF, big-endian) holding nothing but the orientation: the one field a
/// working copy keeps, so that a photo taken sideways is not shown sideways.
pub fn orientation_only(orientation: u16) -> Vec<u8> {
    let mut b = Vec::with_capacity(26);
    b.extend_from_slice(b"MM\0\x2a");
    b.extend_from_slice(&8u32.to_be_bytes()); // IFD0 right after the header
    b.extend_from_slice(&1u16.to_be_bytes()); // one entry
    b.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    b.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    b.extend_from_slice(&1u32.to_be_bytes()); // count 1
    b.extend_from_slice(&orientation.to_be_bytes());
    b.extend_from_slice(&[0, 0]); // value padding
    b.extend_from_slice(&0u32.to_be_bytes()); // no next IFD: no thumbnail
    b
}

fn ascii(v: &Value) -> Option<String> {
    match v {
        Value::Ascii(parts) => {
            let s = parts
                .iter()
                .map(|p| String::from_utf8_lossy(p).trim_end_matches('\0').to_owned())
                .filter(|p| !p.trim().is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            (!s.is_empty()).then_some(s)
        }
        _ => None,
    }
}

/// EXIF UserComment: an 8-byte character code, then the text.
fn user_comment(v: &Value) -> Option<String> {
    match v {
        Value::Undefined(bytes, _) if bytes.len() > 8 => {
            let text = String::from_utf8_lossy(&bytes[8..])
                .trim_matches(|c: char| c == '\0' || c.is_whitespace())
                .to_owned();
            (!text.is_empty()).then_some(text)
        }
        _ => None,
    }
}

/// Degrees from three rationals (degrees, minutes, seconds).
fn degrees(v: &Value) -> Option<f64> {
    let Value::Rational(r) = v else { return None };
    let part = |i: usize| {
        r.get(i)
            .filter(|x| x.denom != 0)
            .map(|x| f64::from(x.num) / f64::from(x.denom))
    };
    let d = part(0)? + part(1).unwrap_or(0.0) / 60.0 + part(2).unwrap_or(0.0) / 3600.0;
    d.is_finite().then_some(d)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A little EXIF block, built by hand: IFD0 with Make, Model, Orientation 6 and a GPS
    /// pointer; an EXIF IFD with a body serial number; a GPS IFD at 40°24'33.5"N
    /// 49°52'1.6"E.
    pub(crate) fn sample_exif() -> Vec<u8> {
        // Big-endian TIFF. Layout: header (8), IFD0 at 8.
        let mut ifd0: Vec<(u16, u16, u32, Vec<u8>)> = vec![
            (0x010F, 2, 0, b"CanaryMake\0".to_vec()),
            (0x0110, 2, 0, b"CanaryModel X1\0".to_vec()),
            (0x0112, 3, 1, 6u16.to_be_bytes().to_vec()),
            (0x013B, 2, 0, b"Canary Artist\0".to_vec()),
        ];
        let exif_ifd: Vec<(u16, u16, u32, Vec<u8>)> =
            vec![(0xA431, 2, 0, b"SN-CANARY-0042\0".to_vec())];
        let rat = |n: u32, d: u32| {
            let mut v = n.to_be_bytes().to_vec();
            v.extend_from_slice(&d.to_be_bytes());
            v
        };
        let gps_ifd: Vec<(u16, u16, u32, Vec<u8>)> = vec![
            (0x0001, 2, 0, b"N\0".to_vec()),
            (
                0x0002,
                5,
                3,
                [rat(40, 1), rat(24, 1), rat(335, 10)].concat(),
            ),
            (0x0003, 2, 0, b"E\0".to_vec()),
            (0x0004, 5, 3, [rat(49, 1), rat(52, 1), rat(16, 10)].concat()),
        ];
        // Placeholders for the two pointers, filled below.
        ifd0.push((0x8769, 4, 1, vec![0; 4]));
        ifd0.push((0x8825, 4, 1, vec![0; 4]));
        let ifd_len = |n: usize| 2 + 12 * n + 4;
        let data_len = |ifd: &[(u16, u16, u32, Vec<u8>)]| {
            ifd.iter()
                .map(|e| if e.3.len() > 4 { e.3.len() } else { 0 })
                .sum::<usize>()
        };
        let ifd0_at = 8;
        let exif_at = ifd0_at + ifd_len(ifd0.len()) + data_len(&ifd0);
        let gps_at = exif_at + ifd_len(exif_ifd.len()) + data_len(&exif_ifd);
        let n = ifd0.len();
        ifd0[n - 2].3 = (exif_at as u32).to_be_bytes().to_vec();
        ifd0[n - 1].3 = (gps_at as u32).to_be_bytes().to_vec();
        let mut out = b"MM\0\x2a".to_vec();
        out.extend_from_slice(&(ifd0_at as u32).to_be_bytes());
        for (at, ifd) in [(ifd0_at, &ifd0), (exif_at, &exif_ifd), (gps_at, &gps_ifd)] {
            assert_eq!(out.len(), at);
            let mut data_at = at + ifd_len(ifd.len());
            let mut data = Vec::new();
            out.extend_from_slice(&(ifd.len() as u16).to_be_bytes());
            for (tag, ty, count, value) in ifd.iter() {
                out.extend_from_slice(&tag.to_be_bytes());
                out.extend_from_slice(&ty.to_be_bytes());
                let count = if *ty == 2 { value.len() as u32 } else { *count };
                out.extend_from_slice(&count.to_be_bytes());
                if value.len() > 4 {
                    out.extend_from_slice(&(data_at as u32).to_be_bytes());
                    data_at += value.len();
                    data.extend_from_slice(value);
                } else {
                    let mut v = value.clone();
                    v.resize(4, 0);
                    out.extend_from_slice(&v);
                }
            }
            out.extend_from_slice(&0u32.to_be_bytes());
            out.extend_from_slice(&data);
        }
        out
    }

    #[test]
    fn gps_device_serial_and_author_are_each_their_own_finding() {
        let mut report = Cleaned::default();
        let orientation = examine(&sample_exif(), &mut report);
        assert_eq!(orientation, Some(6));
        let gps = report
            .found
            .iter()
            .find(|f| f.what == what::GPS)
            .expect("a GPS finding");
        assert_eq!(gps.about, About::Location);
        assert_eq!(gps.detail.as_deref(), Some("40.4093 N, 49.8671 E"));
        let detail = |w: &str| {
            report
                .found
                .iter()
                .find(|f| f.what == w)
                .and_then(|f| f.detail.clone())
        };
        assert_eq!(
            detail(what::DEVICE).as_deref(),
            Some("CanaryMake CanaryModel X1")
        );
        assert_eq!(detail(what::SERIAL).as_deref(), Some("SN-CANARY-0042"));
        assert_eq!(detail(what::AUTHOR).as_deref(), Some("Canary Artist"));
        assert!(report.reveals_location());
    }

    #[test]
    fn the_orientation_block_parses_and_holds_nothing_else() {
        let mut report = Cleaned::default();
        assert_eq!(examine(&orientation_only(6), &mut report), Some(6));
        assert!(report.found.is_empty(), "{:?}", report.found);
    }

    #[test]
    fn garbage_is_reported_not_a_panic() {
        let mut report = Cleaned::default();
        assert_eq!(examine(b"MM\0\x2a\xff\xff\xff\xff", &mut report), None);
        assert_eq!(examine(b"", &mut report), None);
    }
}
