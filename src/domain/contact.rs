//! Contacts, their status and the consent that put them on the list.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::ContactId;

use super::{ConsentNote, ContactName, EmailAddress, Organisation, Timestamp};

/// Where a contact stands. Only `Confirmed` contacts are ever mailed an issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContactStatus {
    /// Asked to join, has not yet confirmed the address (double opt-in).
    Pending,
    /// Confirmed: receives issues.
    Confirmed,
    /// Left the list. Nothing is sent to the address again unless they join anew.
    Unsubscribed,
    /// The address bounced hard too often; not mailed.
    Bounced,
}

impl ContactStatus {
    pub const ALL: [ContactStatus; 4] = [
        ContactStatus::Pending,
        ContactStatus::Confirmed,
        ContactStatus::Unsubscribed,
        ContactStatus::Bounced,
    ];

    /// The word stored in the database and printed by `contacts show`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContactStatus::Pending => "pending",
            ContactStatus::Confirmed => "confirmed",
            ContactStatus::Unsubscribed => "unsubscribed",
            ContactStatus::Bounced => "bounced",
        }
    }

    /// The status as staff and the person read it.
    pub fn norwegian(self) -> &'static str {
        match self {
            ContactStatus::Pending => "venter på bekreftelse",
            ContactStatus::Confirmed => "bekreftet",
            ContactStatus::Unsubscribed => "meldt av",
            ContactStatus::Bounced => "avvist (adressen virker ikke)",
        }
    }
}

impl fmt::Display for ContactStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status {0:?}: use pending, confirmed, unsubscribed or bounced")]
pub struct UnknownStatus(pub String);

impl FromStr for ContactStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let word = s.trim().to_lowercase();
        ContactStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == word)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

/// How consent was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConsentSource {
    /// The web form, confirmed by the address owner.
    Web,
    /// A request sent by e-mail to the list's request address (or to staff).
    EmailRequest,
    /// Imported from the list kept before this service.
    Import,
    /// Added by staff, with the reason in the consent note.
    Staff,
}

impl ConsentSource {
    pub const ALL: [ConsentSource; 4] = [
        ConsentSource::Web,
        ConsentSource::EmailRequest,
        ConsentSource::Import,
        ConsentSource::Staff,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConsentSource::Web => "web",
            ConsentSource::EmailRequest => "email-request",
            ConsentSource::Import => "import",
            ConsentSource::Staff => "staff",
        }
    }

    /// How the consent was given, as staff and the person read it.
    pub fn norwegian(self) -> &'static str {
        match self {
            ConsentSource::Web => "skjema på nettsiden, bekreftet med lenke",
            ConsentSource::EmailRequest => "forespørsel på e-post",
            ConsentSource::Import => "importert fra tidligere liste",
            ConsentSource::Staff => "lagt inn av staben",
        }
    }
}

impl ConsentSource {
    /// The sources a staff member records by hand, adding someone or confirming someone
    /// again: a request that reached them by e-mail (a mail in a staff inbox is a real
    /// request, as PRODUCT.md says), or one made another way (a call, a meeting). The
    /// other two are the service's own records, never a person's word: `web` is written
    /// when someone confirms the sign-up form's link, `import` by an import of a list
    /// (an import carries every source over, since an export writes them).
    pub const RECORDED_BY_STAFF: [ConsentSource; 2] =
        [ConsentSource::EmailRequest, ConsentSource::Staff];

    pub fn recorded_by_staff(self) -> bool {
        Self::RECORDED_BY_STAFF.contains(&self)
    }
}

impl fmt::Display for ConsentSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown consent source {0:?}: use web, email-request, import or staff")]
pub struct UnknownConsentSource(pub String);

impl FromStr for ConsentSource {
    type Err = UnknownConsentSource;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let word = s.trim().to_lowercase().replace('_', "-");
        ConsentSource::ALL
            .into_iter()
            .find(|source| source.as_str() == word)
            .ok_or_else(|| UnknownConsentSource(s.to_owned()))
    }
}

/// The record of consent that every address on the list carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub source: ConsentSource,
    pub at: Timestamp,
    pub note: Option<ConsentNote>,
}

/// A consent's date may lie this far ahead of the clock: a date typed in Norway is
/// midnight UTC of that day, which is up to two hours after midnight in Oslo, so today's
/// date is never refused just after midnight; tomorrow's always is.
pub const CONSENT_CLOCK_GRACE_MS: i64 = 2 * 3600 * 1000;

/// Why consent cannot be recorded as given. Each names its part of the consent
/// ([`ConsentProblem::part`]), so a form shows it at that field and the command line
/// names the option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConsentProblem {
    #[error("the consent date is in the future: give the day the person asked")]
    DateInFuture,
    #[error(
        "a consent note is required: say how and when the person asked, e.g. \"e-post 12.03.2025 fra kari@example.no\""
    )]
    NoteMissing,
    #[error(
        "consent from {0} is recorded by the service itself, not by staff: use email-request or staff"
    )]
    SourceNotForStaff(ConsentSource),
}

/// The parts of a consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentPart {
    Source,
    Date,
    Note,
}

impl ConsentProblem {
    pub fn part(self) -> ConsentPart {
        match self {
            ConsentProblem::DateInFuture => ConsentPart::Date,
            ConsentProblem::NoteMissing => ConsentPart::Note,
            ConsentProblem::SourceNotForStaff(_) => ConsentPart::Source,
        }
    }

    /// The problem as staff read it, on a form or in an import's report.
    pub fn norwegian(self) -> &'static str {
        match self {
            ConsentProblem::DateInFuture => {
                "Datoen personen ba om å stå på listen, kan ikke være fram i tid."
            }
            ConsentProblem::NoteMissing => {
                "Skriv hvordan personen ba om det, for eksempel «e-post 12.03.2025 til post@kom.no»."
            }
            ConsentProblem::SourceNotForStaff(_) => {
                "Velg hvordan personen ba om det: på e-post, eller på annen måte (telefon, møte)."
            }
        }
    }
}

impl Consent {
    /// The rule every recorded consent keeps, one carried over from an old list too:
    /// it was given by now.
    pub fn date_problem(&self, now: Timestamp) -> Option<ConsentProblem> {
        (self.at.unix_ms() > now.unix_ms() + CONSENT_CLOCK_GRACE_MS)
            .then_some(ConsentProblem::DateInFuture)
    }

    /// The rule of consent a staff member records (adding someone, or confirming
    /// someone who left): consent must be documented, so it comes from a source staff
    /// record, on a day that has come, with a note saying how the person asked. Every
    /// problem at once.
    pub fn problems_as_staff_record(&self, now: Timestamp) -> Vec<ConsentProblem> {
        let mut problems = Vec::new();
        if !self.source.recorded_by_staff() {
            problems.push(ConsentProblem::SourceNotForStaff(self.source));
        }
        problems.extend(self.date_problem(now));
        if self.note.is_none() {
            problems.push(ConsentProblem::NoteMissing);
        }
        problems
    }
}

/// Everything needed to put a new contact on the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewContact {
    pub email: EmailAddress,
    pub name: Option<ContactName>,
    pub organisation: Option<Organisation>,
    pub status: ContactStatus,
    pub consent: Consent,
    /// The publications the contact gets, each with this consent.
    pub publications: super::PublicationChoice,
}

/// A contact as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub id: ContactId,
    pub email: EmailAddress,
    pub name: Option<ContactName>,
    pub organisation: Option<Organisation>,
    pub status: ContactStatus,
    pub consent: Consent,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub confirmed_at: Option<Timestamp>,
    pub unsubscribed_at: Option<Timestamp>,
    pub bounce_count: i64,
}

/// A staff edit. `None` leaves a field as it is; `Some(None)` clears an optional field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactChanges {
    pub email: Option<EmailAddress>,
    pub name: Option<Option<ContactName>>,
    pub organisation: Option<Option<Organisation>>,
    pub status: Option<ContactStatus>,
    /// New consent, required to confirm a contact who has left or bounced.
    pub consent: Option<Consent>,
}

impl ContactChanges {
    pub fn is_empty(&self) -> bool {
        *self == ContactChanges::default()
    }

    /// The names of the fields this edit sets, for the audit log (which holds no values).
    pub fn field_names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.email.is_some() {
            names.push("email");
        }
        if self.name.is_some() {
            names.push("name");
        }
        if self.organisation.is_some() {
            names.push("organisation");
        }
        if self.status.is_some() {
            names.push("status");
        }
        if self.consent.is_some() {
            names.push("consent");
        }
        names
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    #[error(
        "{email} is {status}: confirming it again needs new consent; give a consent note saying when and how they asked"
    )]
    ConsentRequired {
        email: String,
        status: ContactStatus,
    },
}

impl Contact {
    /// The contact after `changes`, keeping the status timestamps true.
    ///
    /// A contact who left or bounced is only confirmed again with new consent: leaving
    /// is "for good" until the person asks anew.
    pub fn with_changes(
        &self,
        changes: &ContactChanges,
        now: Timestamp,
    ) -> Result<Contact, ChangeError> {
        let mut next = self.clone();
        if let Some(email) = &changes.email {
            next.email = email.clone();
        }
        if let Some(name) = &changes.name {
            next.name = name.clone();
        }
        if let Some(organisation) = &changes.organisation {
            next.organisation = organisation.clone();
        }
        if let Some(consent) = &changes.consent {
            next.consent = consent.clone();
        }
        if let Some(status) = changes.status
            && status != self.status
        {
            let was_out = matches!(
                self.status,
                ContactStatus::Unsubscribed | ContactStatus::Bounced
            );
            if status == ContactStatus::Confirmed && was_out && changes.consent.is_none() {
                return Err(ChangeError::ConsentRequired {
                    email: self.email.to_string(),
                    status: self.status,
                });
            }
            next.status = status;
            match status {
                ContactStatus::Confirmed => {
                    next.confirmed_at = Some(now);
                    next.unsubscribed_at = None;
                    next.bounce_count = 0;
                }
                ContactStatus::Unsubscribed => next.unsubscribed_at = Some(now),
                ContactStatus::Pending | ContactStatus::Bounced => {}
            }
        }
        next.updated_at = now;
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(status: ContactStatus) -> Contact {
        let at = Timestamp::from_unix_ms(1_700_000_000_000);
        Contact {
            id: ContactId::parse("1").unwrap(),
            email: EmailAddress::parse("kari@example.org").unwrap(),
            name: None,
            organisation: None,
            status,
            consent: Consent {
                source: ConsentSource::Web,
                at,
                note: None,
            },
            created_at: at,
            updated_at: at,
            confirmed_at: None,
            unsubscribed_at: None,
            bounce_count: 2,
        }
    }

    #[test]
    fn confirming_a_contact_who_left_needs_new_consent() {
        let now = Timestamp::from_unix_ms(1_800_000_000_000);
        let left = contact(ContactStatus::Unsubscribed);
        let confirm = ContactChanges {
            status: Some(ContactStatus::Confirmed),
            ..Default::default()
        };
        assert!(matches!(
            left.with_changes(&confirm, now),
            Err(ChangeError::ConsentRequired { .. })
        ));

        let consent = Consent {
            source: ConsentSource::EmailRequest,
            at: now,
            note: ConsentNote::parse("e-post 12.03.2025").unwrap(),
        };
        let with_consent = ContactChanges {
            consent: Some(consent.clone()),
            ..confirm
        };
        let back = left.with_changes(&with_consent, now).unwrap();
        assert_eq!(back.status, ContactStatus::Confirmed);
        assert_eq!(back.consent, consent);
        assert_eq!(back.confirmed_at, Some(now));
        assert_eq!(back.bounce_count, 0);
    }

    #[test]
    fn consent_staff_record_is_documented_dated_and_theirs_to_record() {
        let now = Timestamp::from_unix_ms(1_800_000_000_000);
        let consent = |source, at: i64, note: &str| Consent {
            source,
            at: Timestamp::from_unix_ms(at),
            note: ConsentNote::parse(note).unwrap(),
        };
        let good = consent(ConsentSource::EmailRequest, 1_700_000_000_000, "e-post");
        assert!(good.problems_as_staff_record(now).is_empty());
        // Just after midnight in Oslo, today's date is midnight UTC: not the future.
        let today = consent(ConsentSource::Staff, now.unix_ms() + 3600 * 1000, "telefon");
        assert!(today.problems_as_staff_record(now).is_empty());
        let everything_wrong = consent(ConsentSource::Web, now.unix_ms() + 86_400_000, "");
        assert_eq!(
            everything_wrong.problems_as_staff_record(now),
            [
                ConsentProblem::SourceNotForStaff(ConsentSource::Web),
                ConsentProblem::DateInFuture,
                ConsentProblem::NoteMissing,
            ]
        );
        // Carried over from an old list, any source stands; the date rule holds.
        let imported = consent(ConsentSource::Web, 1_700_000_000_000, "");
        assert_eq!(imported.date_problem(now), None);
        assert_eq!(
            everything_wrong.date_problem(now),
            Some(ConsentProblem::DateInFuture)
        );
        assert_eq!(
            ConsentSource::ALL
                .into_iter()
                .filter(|s| s.recorded_by_staff())
                .collect::<Vec<_>>(),
            ConsentSource::RECORDED_BY_STAFF
        );
    }

    #[test]
    fn unsubscribing_records_when() {
        let now = Timestamp::from_unix_ms(1_800_000_000_000);
        let change = ContactChanges {
            status: Some(ContactStatus::Unsubscribed),
            ..Default::default()
        };
        let left = contact(ContactStatus::Confirmed)
            .with_changes(&change, now)
            .unwrap();
        assert_eq!(left.unsubscribed_at, Some(now));
        assert_eq!(left.updated_at, now);
        assert_eq!(change.field_names(), ["status"]);
    }

    #[test]
    fn status_words_round_trip() {
        for status in ContactStatus::ALL {
            assert_eq!(status.as_str().parse::<ContactStatus>(), Ok(status));
        }
        assert_eq!(
            " Confirmed ".parse::<ContactStatus>(),
            Ok(ContactStatus::Confirmed)
        );
        assert!("active".parse::<ContactStatus>().is_err());
    }

    #[test]
    fn consent_sources_round_trip() {
        for source in ConsentSource::ALL {
            assert_eq!(source.as_str().parse::<ConsentSource>(), Ok(source));
        }
        assert_eq!("email_request".parse(), Ok(ConsentSource::EmailRequest));
        assert!("phone".parse::<ConsentSource>().is_err());
    }
}
