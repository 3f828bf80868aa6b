//! What every staff page shares: the frame around it (who is signed in, the sign-out
//! button with its CSRF token, a notice after a change), the page for a refusal, and
//! the admin's stylesheet and script.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::guard::StaffUser;

/// The frame of a staff page.
pub struct Chrome {
    pub user: String,
    pub csrf: String,
    /// A line saying what the last change did (after a redirect), if any.
    pub notice: Option<&'static str>,
}

impl Chrome {
    pub fn new(user: &StaffUser, notice: Option<&'static str>) -> Self {
        Self {
            user: user.session.username.clone(),
            csrf: user.session.csrf_token.clone(),
            notice,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/problem.html")]
struct ProblemPage<'a> {
    title: &'a str,
    message: &'a str,
}

/// A refusal or failure, in words: never a stack trace or a database message.
pub fn problem_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = ProblemPage { title, message }
        .render()
        .unwrap_or_else(|_| title.to_owned());
    (status, Html(body)).into_response()
}

/// The page, or a plain failure page if the template cannot be rendered.
pub fn render(page: impl Template) -> Response {
    match page.render() {
        Ok(body) => Html(body).into_response(),
        Err(e) => failure(&e),
    }
}

/// Something went wrong that staff cannot fix (the database, say): the cause goes to
/// the log, the page says what to do.
pub fn failure(cause: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %cause, "staff page failed");
    problem_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Noe gikk galt",
        "Tjenesten klarte ikke å gjøre dette akkurat nå. Ingenting er endret hvis du ikke fikk beskjed om det. Prøv igjen om litt; hjelper ikke det, si fra til den som drifter tjenesten.",
    )
}

/// A stored actor (`web:kari`, `api:Postmottak`, `worker`) as staff read it: see
/// [`crate::domain::Actor::norwegian`].
pub fn actor_words(actor: &str) -> String {
    crate::domain::Actor::parse(actor).norwegian()
}

/// Text from outside (a name, a subject, an address) as a page shows it: bidirectional
/// marks and overrides, which can make text read other than it is, become a visible
/// replacement character. Askama escapes the rest.
pub fn shown(text: &str) -> String {
    text.chars()
        .map(|c| {
            if crate::domain::is_direction_override(c) || (c.is_control() && c != '\n' && c != '\t')
            {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

/// `12 345` for 12345: numbers as staff read them.
pub fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{a0}');
        }
        out.push(c);
    }
    if n < 0 { format!("−{out}") } else { out }
}

/// A time as staff in Norway read it: `02.12.2026 kl. 14:05` (Europe/Oslo).
pub fn oslo_time(at: crate::domain::Timestamp) -> String {
    let utc = time::OffsetDateTime::from_unix_timestamp(at.unix_ms() / 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let local = utc.to_offset(oslo_offset(utc));
    format!(
        "{:02}.{:02}.{} kl. {:02}:{:02}",
        local.day(),
        u8::from(local.month()),
        local.year(),
        local.hour(),
        local.minute()
    )
}

/// Norway's offset from UTC at `at`: +2 from the last Sunday of March 01:00 UTC to the
/// last Sunday of October 01:00 UTC, else +1 (the EU rule).
pub fn oslo_offset(at: time::OffsetDateTime) -> time::UtcOffset {
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
pub fn from_oslo_local(text: &str) -> Option<crate::domain::Timestamp> {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let text = text.trim();
    let text = text.get(..16).unwrap_or(text);
    let local = time::PrimitiveDateTime::parse(text, format).ok()?;
    for hours in [2, 1] {
        let offset = time::UtcOffset::from_hms(hours, 0, 0).ok()?;
        let candidate = local.assume_offset(offset);
        if oslo_offset(candidate.to_offset(time::UtcOffset::UTC)) == offset {
            return Some(crate::domain::Timestamp::from_unix_ms(
                candidate.unix_timestamp() * 1000,
            ));
        }
    }
    let utc = local.assume_offset(time::UtcOffset::from_hms(1, 0, 0).ok()?);
    Some(crate::domain::Timestamp::from_unix_ms(
        utc.unix_timestamp() * 1000,
    ))
}

/// GET /static/admin.css
pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../../static/admin.css"),
    )
}

/// GET /static/admin.js: only an enhancement (live counts); every page works without.
pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../../static/admin.js"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_overrides_are_shown_not_obeyed() {
        assert_eq!(shown("Kari \u{202e}fdp.exe"), "Kari \u{fffd}fdp.exe");
        assert_eq!(shown("Åse <b>"), "Åse <b>");
    }

    #[test]
    fn numbers_are_grouped_as_in_norwegian() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1\u{a0}000");
        assert_eq!(grouped(1_234_567), "1\u{a0}234\u{a0}567");
    }

    #[test]
    fn oslo_time_follows_summer_time() {
        use crate::domain::Timestamp;
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
    fn a_time_typed_in_norway_is_read_as_norwegian_time() {
        use crate::domain::Timestamp;
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
