//! Helpers shared by the integration tests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::as_conversions
)]

use rustls_pki_types::UnixTime;
use std::time::Duration;

/// RFC 3339 (`2024-04-01T00:00:00Z`, optional fraction, `Z` or `+00:00`), fraction truncated.
pub(crate) fn rfc3339(s: &str) -> UnixTime {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| s[r].parse::<i64>().expect("time field");
    let (y, mo, d, h, mi, se) = (
        num(0..4),
        num(5..7),
        num(8..10),
        num(11..13),
        num(14..16),
        num(17..19),
    );
    assert!(b[4] == b'-' && b[10] == b'T', "time {s}");
    assert!(
        s.ends_with('Z') || s.ends_with("+00:00"),
        "UTC time expected: {s}"
    );
    // days from civil (Howard Hinnant)
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * (mo + if mo > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + se;
    UnixTime::since_unix_epoch(Duration::from_secs(secs as u64))
}
