//! Calendar days and timestamps in UTC, without a date library.
//!
//! Invariant: everything the server stores or logs about *when* goes through [`Day`], which
//! holds nothing finer than a calendar day. Only [`exact_utc_now`] gives a finer time, and its
//! one caller puts it inside the encrypted envelope.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// A UTC calendar day, kept as days since 1970-01-01.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(i64);

impl Day {
    /// Today in UTC.
    pub fn today() -> Day {
        Day(unix_seconds().div_euclid(86_400))
    }

    /// The day `n` days before this one.
    pub fn minus_days(self, n: u64) -> Day {
        Day(self.0.saturating_sub(i64::try_from(n).unwrap_or(i64::MAX)))
    }

    /// Parses `YYYY-MM-DD`; `None` for anything else.
    pub fn parse(s: &str) -> Option<Day> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let part = s.get(r)?;
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
            return None;
        }
        Some(Day(days_from_civil(y, m, d)))
    }

    fn civil(self) -> (i64, i64, i64) {
        civil_from_days(self.0)
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.civil();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

/// The exact time now as RFC 3339 in UTC, to the second. Callers MUST only put this inside
/// encrypted data (the envelope), never in a log line or a stored field.
pub fn exact_utc_now() -> String {
    let secs = unix_seconds();
    let day = Day(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{day}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

fn unix_seconds() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's algorithms (http://howardhinnant.github.io/date_algorithms.html).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_known_days() {
        for s in ["1970-01-01", "2000-02-29", "2026-11-29", "2100-12-31"] {
            assert_eq!(Day::parse(s).map(|d| d.to_string()).as_deref(), Some(s));
        }
        assert_eq!(Day::parse("1970-01-02"), Some(Day(1)));
    }

    #[test]
    fn refuses_bad_days() {
        for s in [
            "2026-02-29",
            "2026-13-01",
            "2026-1-01",
            "",
            "2026-01-01T00",
            "20x6-01-01",
        ] {
            assert_eq!(Day::parse(s), None, "{s}");
        }
    }

    #[test]
    fn exact_time_has_rfc3339_shape() {
        let t = exact_utc_now();
        assert_eq!(t.len(), 20);
        assert!(t.ends_with('Z'));
        assert_eq!(&t[..10], Day::today().to_string());
    }
}
