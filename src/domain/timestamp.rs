//! `Timestamp`: a UTC instant stored as milliseconds since the Unix epoch.
//!
//! Integers, not the databases' own timestamp types: sqlx's `Any` driver cannot read
//! SQLite or PostgreSQL timestamp columns, and integers compare and sort the same on both.

use std::fmt;

use serde::{Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a date: write 2025-03-12, 12.03.2025 or 2025-03-12T09:30:00Z")]
pub struct BadDate(pub String);

impl Timestamp {
    pub fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    pub const fn from_unix_ms(ms: i64) -> Self {
        Self(ms)
    }

    pub const fn unix_ms(self) -> i64 {
        self.0
    }

    fn from_datetime(dt: OffsetDateTime) -> Self {
        Self((dt.unix_timestamp_nanos() / 1_000_000) as i64)
    }

    pub fn to_datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// RFC 3339 in UTC with second precision, e.g. `2025-03-12T09:30:00Z`.
    pub fn to_rfc3339(self) -> String {
        let dt = self
            .to_datetime()
            .replace_millisecond(0)
            .unwrap_or(self.to_datetime());
        dt.format(&Rfc3339).unwrap_or_else(|_| self.0.to_string())
    }

    /// Reads the date forms staff are likely to have in a spreadsheet: ISO dates,
    /// Norwegian `dd.mm.yyyy`, and full RFC 3339 instants. Dates without a time are taken
    /// as midnight UTC.
    pub fn parse_date(input: &str) -> Result<Self, BadDate> {
        let s = input.trim();
        if let Ok(dt) = OffsetDateTime::parse(s, &Rfc3339) {
            return Ok(Self::from_datetime(dt));
        }
        let iso = format_description!("[year]-[month]-[day]");
        let norwegian = format_description!("[day].[month].[year]");
        let iso_time = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
        if let Ok(dt) = PrimitiveDateTime::parse(s, &iso_time) {
            return Ok(Self::from_datetime(dt.assume_offset(UtcOffset::UTC)));
        }
        Date::parse(s, &iso)
            .or_else(|_| Date::parse(s, &norwegian))
            .map(|date| Self::from_datetime(date.midnight().assume_utc()))
            .map_err(|_| BadDate(input.to_owned()))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_date_forms() {
        let expected = Timestamp::parse_date("2025-03-12T00:00:00Z").unwrap();
        assert_eq!(expected.unix_ms(), 1_741_737_600_000);
        assert_eq!(Timestamp::parse_date("2025-03-12").unwrap(), expected);
        assert_eq!(Timestamp::parse_date(" 12.03.2025 ").unwrap(), expected);
        assert_eq!(
            Timestamp::parse_date("2025-03-12 01:00:00")
                .unwrap()
                .unix_ms(),
            expected.unix_ms() + 3_600_000
        );
        assert_eq!(expected.to_rfc3339(), "2025-03-12T00:00:00Z");
    }

    #[test]
    fn refuses_what_is_not_a_date() {
        for bad in ["", "12/03/2025", "2025-13-01", "i går"] {
            assert!(Timestamp::parse_date(bad).is_err(), "{bad:?}");
        }
    }
}
