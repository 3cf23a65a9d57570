//! Time for the channel: UTC timestamps in the one RFC 3339 form the channel
//! document uses (`YYYY-MM-DDTHH:MM:SSZ`), and a clock that tests can stop.
//!
//! The clock is the system's, except in builds with debug assertions, where
//! `PANE_TEST_NOW` (an RFC 3339 timestamp) fixes it, so a drill can drive
//! simulated time through real `pane` processes. A release build never reads
//! that variable, like `PANE_TEST_PUBKEY`.

use std::fmt;
use std::str::FromStr;

/// Seconds since the Unix epoch, UTC. Ordered; at one-second resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// The text was not a `YYYY-MM-DDTHH:MM:SSZ` timestamp.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a UTC timestamp of the form YYYY-MM-DDTHH:MM:SSZ")]
pub struct TimestampError {
    pub text: String,
}

impl Timestamp {
    pub const fn from_unix(seconds: i64) -> Timestamp {
        Timestamp(seconds)
    }

    pub const fn unix(self) -> i64 {
        self.0
    }

    /// This timestamp moved by `seconds` (negative: earlier), saturating.
    pub fn plus_seconds(self, seconds: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(seconds))
    }

    /// Parses `YYYY-MM-DDTHH:MM:SSZ` exactly: four-digit year from 1970, no
    /// fractions, no offsets other than `Z` (the channel document is written
    /// in UTC; anything else is a mistake worth refusing).
    pub fn parse(text: &str) -> Result<Timestamp, TimestampError> {
        parse_fields(text.as_bytes())
            .map(Timestamp)
            .ok_or_else(|| TimestampError {
                text: text.to_string(),
            })
    }
}

fn parse_fields(b: &[u8]) -> Option<i64> {
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = &b[range];
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(digits).ok()?.parse().ok()
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if year < 1970
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`, <https://howardhinnant.github.io/date_algorithms.html>).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (days, seconds) = (self.0.div_euclid(86_400), self.0.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            seconds / 3_600,
            seconds % 3_600 / 60,
            seconds % 60
        )
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;
    fn from_str(text: &str) -> Result<Timestamp, TimestampError> {
        Timestamp::parse(text)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Where "now" comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// The system clock.
    System,
    /// A fixed instant (`PANE_TEST_NOW`, or a test).
    Fixed(Timestamp),
}

impl Clock {
    /// The clock for this build given the value of `PANE_TEST_NOW`: the value
    /// fixes the clock only in builds with debug assertions; a release build
    /// ignores it. A value that is not a timestamp is an error in a debug
    /// build, so a drill with a typo fails instead of running in real time.
    pub fn for_build(test_now: Option<&str>) -> Result<Clock, TimestampError> {
        match test_now {
            Some(text) if cfg!(debug_assertions) => Timestamp::parse(text).map(Clock::Fixed),
            _ => Ok(Clock::System),
        }
    }

    /// `PANE_TEST_NOW` from the process environment, read only in builds with
    /// debug assertions. For the edge of the program (where the environment
    /// is read once); everything else takes a [`Clock`].
    pub fn test_now_from_process() -> Option<String> {
        if cfg!(debug_assertions) {
            std::env::var("PANE_TEST_NOW")
                .ok()
                .filter(|v| !v.is_empty())
        } else {
            None
        }
    }

    pub fn now(self) -> Timestamp {
        match self {
            Clock::Fixed(at) => at,
            Clock::System => {
                let seconds = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
                    .unwrap_or(0);
                Timestamp(seconds)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        for (text, unix) in [
            ("1970-01-01T00:00:00Z", 0),
            ("2000-02-29T12:34:56Z", 951_827_696),
            ("2026-12-01T10:00:00Z", 1_796_119_200),
            ("2100-03-01T00:00:00Z", 4_107_542_400),
        ] {
            let parsed = Timestamp::parse(text).unwrap();
            assert_eq!(parsed.unix(), unix, "{text}");
            assert_eq!(parsed.to_string(), text);
        }
    }

    #[test]
    fn display_inverts_parse_across_days() {
        // Every day boundary of a few leap cycles, and odd seconds within.
        for day in (0..(366 * 12)).step_by(7) {
            let at = Timestamp::from_unix(day * 86_400 + 3_723 + day % 60);
            assert_eq!(Timestamp::parse(&at.to_string()).unwrap(), at);
        }
    }

    #[test]
    fn refusals() {
        for bad in [
            "",
            "2026-12-01",
            "2026-12-01T10:00:00",
            "2026-12-01T10:00:00+00:00",
            "2026-12-01T10:00:00.5Z",
            "2026-12-01 10:00:00Z",
            "2026-13-01T10:00:00Z",
            "2026-02-29T10:00:00Z",
            "2026-04-31T10:00:00Z",
            "2026-12-01T24:00:00Z",
            "2026-12-01T10:60:00Z",
            "2026-12-01T10:00:60Z",
            "1969-12-31T23:59:59Z",
            "+026-12-01T10:00:00Z",
            "2026-12-0１T10:00:00Z",
            "2026-12-01t10:00:00z",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(Timestamp::parse("2024-02-29T00:00:00Z").is_ok());
    }

    #[test]
    fn the_test_clock_is_honoured_only_with_debug_assertions() {
        let clock = Clock::for_build(Some("2026-12-01T10:00:00Z")).unwrap();
        if cfg!(debug_assertions) {
            assert_eq!(clock, Clock::Fixed(Timestamp::from_unix(1_796_119_200)));
            assert_eq!(clock.now().unix(), 1_796_119_200);
            assert!(Clock::for_build(Some("tomorrow")).is_err());
        } else {
            assert_eq!(clock, Clock::System);
        }
        assert_eq!(Clock::for_build(None).unwrap(), Clock::System);
        // The system clock is past the time this code was written.
        assert!(Clock::System.now() > Timestamp::parse("2024-01-01T00:00:00Z").unwrap());
    }
}
