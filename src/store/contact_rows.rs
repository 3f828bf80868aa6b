//! How a contact is stored: the columns read and written, a row read back, a new row
//! bound, the text a search matches.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Row};

use super::{Result, StoreError};
use crate::domain::{
    Consent, ConsentNote, Contact, ContactName, ContactStatus, EmailAddress, NewContact,
    Organisation, Timestamp,
};

/// The columns every contact query reads, in the order `contact_from_row` expects.
macro_rules! contact_columns {
    () => {
        "id, email, name, organisation, status, consent_source, consent_at, consent_note, \
         created_at, updated_at, confirmed_at, unsubscribed_at, bounce_count"
    };
}
pub(super) use contact_columns;

/// What `contacts list --search` matches. Lower-cased here rather than in SQL because
/// SQLite's `lower()` only knows ASCII, and "Øst" must find "østfold".
pub(super) fn search_text(
    email: &EmailAddress,
    name: Option<&ContactName>,
    organisation: Option<&Organisation>,
) -> String {
    let mut text = email.key();
    // An internationalised domain is found by either form: the key holds the A-label,
    // people type the Unicode one.
    if !email.domain().is_ascii() {
        text.push('\n');
        text.push_str(&email.as_str().to_lowercase());
    }
    for part in [
        name.map(ContactName::as_str),
        organisation.map(Organisation::as_str),
    ]
    .into_iter()
    .flatten()
    {
        text.push('\n');
        text.push_str(&part.to_lowercase());
    }
    text
}

pub(super) fn contact_from_row(row: &AnyRow) -> Result<Contact> {
    let text =
        |column: &str| -> Result<Option<String>> { Ok(row.try_get::<Option<String>, _>(column)?) };
    let corrupt = |what: String| StoreError::Corrupt(what);
    let email = EmailAddress::parse(&row.try_get::<String, _>("email")?)?;
    let status: String = row.try_get("status")?;
    let source: String = row.try_get("consent_source")?;
    Ok(Contact {
        id: row.try_get("id")?,
        name: ContactName::parse(&text("name")?.unwrap_or_default())
            .map_err(|e| corrupt(e.to_string()))?,
        organisation: Organisation::parse(&text("organisation")?.unwrap_or_default())
            .map_err(|e| corrupt(e.to_string()))?,
        status: status
            .parse()
            .map_err(|e: crate::domain::UnknownStatus| corrupt(e.to_string()))?,
        consent: Consent {
            source: source
                .parse()
                .map_err(|e: crate::domain::UnknownConsentSource| corrupt(e.to_string()))?,
            at: Timestamp::from_unix_ms(row.try_get("consent_at")?),
            note: ConsentNote::parse(&text("consent_note")?.unwrap_or_default())
                .map_err(|e| corrupt(e.to_string()))?,
        },
        created_at: Timestamp::from_unix_ms(row.try_get("created_at")?),
        updated_at: Timestamp::from_unix_ms(row.try_get("updated_at")?),
        confirmed_at: row
            .try_get::<Option<i64>, _>("confirmed_at")?
            .map(Timestamp::from_unix_ms),
        unsubscribed_at: row
            .try_get::<Option<i64>, _>("unsubscribed_at")?
            .map(Timestamp::from_unix_ms),
        bounce_count: row.try_get("bounce_count")?,
        email,
    })
}

/// The columns of a new contact row, in the order [`bind_new_contact`] binds them.
macro_rules! new_contact_columns {
    () => {
        "email, email_key, name, organisation, search_text, status, consent_source, consent_at, \
         consent_note, confirmed_at, unsubscribed_at, bounce_count, created_at, updated_at, \
         consent_by, consent_ref"
    };
}
pub(super) use new_contact_columns;

/// How many values [`bind_new_contact`] binds.
pub(super) const NEW_CONTACT_VALUES: usize = 16;

/// Binds the values of a new contact row: the one place, for a single add and for a
/// batch import alike, that knows how a `NewContact` is stored. `recorded_by` is who
/// recorded the consent, `reference` where it came from (an import's file and line).
pub(super) fn bind_new_contact<'q>(
    query: Query<'q, Any, AnyArguments>,
    new: &'q NewContact,
    now: Timestamp,
    recorded_by: &'q str,
    reference: Option<String>,
) -> Query<'q, Any, AnyArguments> {
    let (confirmed_at, unsubscribed_at) = status_times(new.status, new.consent.at, now);
    query
        .bind(new.email.as_str())
        .bind(new.email.key())
        .bind(new.name.as_ref().map(ContactName::as_str))
        .bind(new.organisation.as_ref().map(Organisation::as_str))
        .bind(search_text(
            &new.email,
            new.name.as_ref(),
            new.organisation.as_ref(),
        ))
        .bind(new.status.as_str())
        .bind(new.consent.source.as_str())
        .bind(new.consent.at.unix_ms())
        .bind(new.consent.note.as_ref().map(ConsentNote::as_str))
        .bind(confirmed_at)
        .bind(unsubscribed_at)
        .bind(0_i64)
        .bind(now.unix_ms())
        .bind(now.unix_ms())
        .bind(recorded_by)
        .bind(reference)
}

/// When a contact entering with `status` counts as confirmed or unsubscribed.
pub(super) fn status_times(
    status: ContactStatus,
    consent_at: Timestamp,
    now: Timestamp,
) -> (Option<i64>, Option<i64>) {
    match status {
        ContactStatus::Confirmed => (Some(consent_at.unix_ms()), None),
        ContactStatus::Unsubscribed => (None, Some(now.unix_ms())),
        ContactStatus::Pending | ContactStatus::Bounced => (None, None),
    }
}

/// `(status, n)` rows as a count for each of the four statuses, zeros included.
pub(super) fn counts_by_status(rows: &[AnyRow]) -> Result<Vec<(ContactStatus, i64)>> {
    let mut counts: Vec<(ContactStatus, i64)> =
        ContactStatus::ALL.iter().map(|s| (*s, 0)).collect();
    for row in rows {
        let status: String = row.try_get("status")?;
        let n: i64 = row.try_get("n")?;
        if let Some(entry) = counts.iter_mut().find(|(s, _)| s.as_str() == status) {
            entry.1 = n;
        }
    }
    Ok(counts)
}
