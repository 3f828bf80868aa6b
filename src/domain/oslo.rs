//! Times as staff in Norway read and type them (Europe/Oslo), for the staff pages and
//! the mails to staff alike. The EU's summer-time rule is written out, not read from a
//! time-zone database: Norway follows it, and the service needs no other zone.

use super::Timestamp;

/// A time as staff in Norway read it: `02.12.2026 kl. 14:05` (Europe/Oslo).
pub fn oslo_time(at: Timestamp) -> String {
    let local = oslo_local(at);
    format!(
        "{:02}.{:02}.{} kl. {:02}:{:02}",
        local.day(),
        u8::from(local.month()),
        local.year(),
        local.hour(),
        local.minute()
    )
}

/// The months in bokmål, as dates and periods are written out.
pub const MONTHS: [&str; 12] = [
    "januar",
    "februar",
    "mars",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "desember",
];

/// A time written out for someone outside the office, in a letter or a document:
/// `7. desember 2026 kl. 14.05` (Europe/Oslo; the period between hours and minutes is
/// the Language Council's rule for running text).
pub fn oslo_time_written(at: Timestamp) -> String {
    let local = oslo_local(at);
    format!(
        "{}. {} {} kl. {:02}.{:02}",
        local.day(),
        MONTHS[usize::from(u8::from(local.month())) - 1],
        local.year(),
        local.hour(),
        local.minute()
    )
}

fn oslo_local(at: Timestamp) -> time::OffsetDateTime {
    let utc = time::OffsetDateTime::from_unix_timestamp(at.unix_ms() / 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    utc.to_offset(oslo_offset(utc))
}

/// Norway's offset from UTC at `at`: +2 from the last Sunday of March 01:00 UTC to the
/// last Sunday of October 01:00 UTC, else +1 (the EU rule).
fn oslo_offset(at: time::OffsetDateTime) -> time::UtcOffset {
    let year = at.year();
    let last_sunday = |month: time::Month| {
        let last = time::Date::from_calendar_date(year, month, 31).expect("31 days");
        let back = last.weekday().number_days_from_sunday();
        last - time::Duration::days(i64::from(back))
    };
    let start = last_sunday(time::Month::March)
        .with_hms(1, 0, 0)
        .expect("valid")
        .assume_utc();
    let end = last_sunday(time::Month::October)
        .with_hms(1, 0, 0)
        .expect("valid")
        .assume_utc();
    let hours = if at >= start && at < end { 2 } else { 1 };
    time::UtcOffset::from_hms(hours, 0, 0).expect("valid offset")
}

/// A wall-clock time in Norway (`2026-12-03T09:00`, as a `datetime-local` field sends
/// it) as a moment. At the autumn change, when an hour comes twice, the first is
/// meant; a time skipped in spring is read as an hour later.
pub fn from_oslo_local(text: &str) -> Option<Timestamp> {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let text = text.trim();
    let text = text.get(..16).unwrap_or(text);
    let local = time::PrimitiveDateTime::parse(text, format).ok()?;
    for hours in [2, 1] {
        let offset = time::UtcOffset::from_hms(hours, 0, 0).ok()?;
        let candidate = local.assume_offset(offset);
        if oslo_offset(candidate.to_offset(time::UtcOffset::UTC)) == offset {
            return Some(Timestamp::from_unix_ms(candidate.unix_timestamp() * 1000));
        }
    }
    let utc = local.assume_offset(time::UtcOffset::from_hms(1, 0, 0).ok()?);
    Some(Timestamp::from_unix_ms(utc.unix_timestamp() * 1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oslo_time_follows_summer_time() {
        // 2026-03-29 00:30 UTC is winter time (01:30), 01:30 UTC summer time (03:30).
        let winter = Timestamp::from_unix_ms(1_774_744_200_000);
        assert_eq!(oslo_time(winter), "29.03.2026 kl. 01:30");
        let summer = Timestamp::from_unix_ms(1_774_747_800_000);
        assert_eq!(oslo_time(summer), "29.03.2026 kl. 03:30");
        // 2026-12-02 12:00 UTC is 13:00 in Oslo.
        assert_eq!(
            oslo_time(Timestamp::from_unix_ms(1_796_212_800_000)),
            "02.12.2026 kl. 13:00"
        );
    }

    #[test]
    fn a_written_out_time_names_the_month_in_norwegian_time() {
        // 2026-12-07 13:05 UTC is 14.05 in Oslo (winter time).
        assert_eq!(
            oslo_time_written(Timestamp::from_unix_ms(1_796_648_700_000)),
            "7. desember 2026 kl. 14.05"
        );
        // 2026-07-01 10:30 UTC is 12.30 in Oslo (summer time).
        assert_eq!(
            oslo_time_written(Timestamp::from_unix_ms(1_782_901_800_000)),
            "1. juli 2026 kl. 12.30"
        );
        // Late evening in UTC is the next day in Norway.
        assert_eq!(
            oslo_time_written(Timestamp::from_unix_ms(1_798_761_600_000 - 1_800_000)),
            "1. januar 2027 kl. 00.30"
        );
    }

    #[test]
    fn a_time_typed_in_norway_is_read_as_norwegian_time() {
        assert_eq!(
            from_oslo_local("2026-12-02T13:00"),
            Some(Timestamp::from_unix_ms(1_796_212_800_000))
        );
        // Summer time: 03:30 on 29 March 2026 is 01:30 UTC.
        assert_eq!(
            from_oslo_local("2026-03-29T03:30"),
            Some(Timestamp::from_unix_ms(1_774_747_800_000))
        );
        for bad in ["", "i morgen", "2026-13-01T10:00", "2026-12-02 13:00"] {
            assert_eq!(from_oslo_local(bad), None, "{bad}");
        }
    }
}
