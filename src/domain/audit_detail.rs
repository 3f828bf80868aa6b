//! The detail of an audit entry as a type: each kind is written in one stored form
//! (its `Display`, the form earlier versions wrote, so old rows and new read alike),
//! read back from it by [`AuditDetail::read`], and said in bokmål by
//! [`AuditDetail::norwegian`]. Staff never see the stored form.

use super::words::{count, grouped, listed};
use super::{
    ApiScope, AuditAction, ConsentSource, ContactStatus, InboundKind, LoggedAction,
    PublicationKind, Timestamp, oslo_time,
};

mod stored;
#[cfg(test)]
mod tests;

/// What an audit entry's detail holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditDetail {
    /// A contact added: its status and how consent was given.
    ContactAdded {
        status: ContactStatus,
        source: ConsentSource,
    },
    /// A contact changed by staff: the fields (stored names), and the status if it
    /// changed.
    ContactEdited {
        fields: Vec<String>,
        status: Option<(ContactStatus, ContactStatus)>,
    },
    /// A bounced contact put back on the list, with the staff member's reason.
    BounceCleared { note: String },
    /// The person left the last publication they got, and so the list.
    LeftLastPublication,
    /// The publication (its kortnavn) a person left.
    PublicationLeft { slug: String },
    /// A person's own choice on «Velg hva du får»: publications joined and left.
    PublicationsChosen {
        joined: Vec<String>,
        left: Vec<String>,
    },
    /// Mail to the address came back for good this many times.
    HardBounces(i64),
    /// Two contacts found to share one mailbox.
    SameMailbox {
        id: String,
        email: String,
        same_as: String,
        same_as_email: String,
    },
    /// A CSV file imported.
    Imported {
        file: String,
        rows: i64,
        inserted: i64,
        updated: i64,
        refused: i64,
    },
    /// A send started: deliveries queued, and stopped ones queued again.
    Queued { added: i64, resumed: i64 },
    /// Queued deliveries stopped.
    Cancelled(i64),
    /// Failed deliveries queued again.
    Requeued(i64),
    /// A send planned for this moment.
    PlannedFor(Timestamp),
    /// A planned send that did not start: it was planned for this moment.
    PlanMissed(Timestamp),
    /// A publication added, of this kind.
    PublicationAdded(PublicationKind),
    /// A publication changed: its fields (stored names).
    PublicationEdited(Vec<String>),
    /// Staff's own settings changed: which (stored names, as [`IdentityField::as_str`]).
    SettingsEdited(Vec<String>),
    /// A staff account made an administrator.
    Administrator,
    /// A sign-in whose password was right and whose second factor is still due.
    SecondFactorDue,
    /// A failed sign-in to a name that is no account.
    NoSuchAccount,
    /// A wrong set-up code on the page that makes the first account.
    WrongSetUpCode,
    /// A request kept for staff, answered: what it asked.
    Answered(InboundKind),
    /// A received mail's sender added as a contact.
    SenderAdded,
    /// An API token made, with what it may do.
    Scope(ApiScope),
    /// A person's copy of their data made, as a file (`json`) or a page (`html`).
    CopyMade { format: String },
    /// A test copy sent to this address.
    TestCopyTo(String),
    /// A send's ledger downloaded, with this many deliveries.
    Ledger(i64),
    /// A backup made (stored as JSON).
    Backup {
        path: String,
        bytes: u64,
        contacts: Option<u64>,
    },
    /// The database put back from a backup (stored as JSON).
    Restored {
        from: String,
        replaced: Option<String>,
        contacts: Option<u64>,
    },
    /// Old data removed after its retention time (stored as JSON).
    Retention {
        inbound_emptied: u64,
        unconfirmed_removed: u64,
        inbound_days: u64,
        pending_days: u64,
    },
    /// What a Word document held that the issue does not carry (stored as the JSON
    /// list of omissions): how many.
    WordOmissions(usize),
    /// Text already in words (a refusal's reason, an export's summary) or from a
    /// version whose form this one does not know: shown as written.
    Words(String),
}

impl AuditDetail {
    /// The detail as staff read it: one or two sentences in bokmål.
    pub fn norwegian(&self) -> String {
        match self {
            Self::ContactAdded { status, source } => format!(
                "Status: {}. Samtykke: {}.",
                status.norwegian(),
                source.norwegian()
            ),
            Self::ContactEdited { fields, status } => {
                let words: Vec<&str> = fields.iter().map(|f| contact_field_words(f)).collect();
                let mut text = if words.is_empty() {
                    "Ingen felt endret.".to_owned()
                } else {
                    format!("Endret: {}.", listed(&words))
                };
                if let Some((from, to)) = status {
                    text.push_str(&format!(
                        " Status fra «{}» til «{}».",
                        from.norwegian(),
                        to.norwegian()
                    ));
                }
                text
            }
            Self::BounceCleared { note } => {
                format!("Satt tilbake på listen etter avvisning. Begrunnelse: «{note}».")
            }
            Self::LeftLastPublication => {
                "Meldte seg av den siste publikasjonen sin, og dermed av alt.".to_owned()
            }
            Self::PublicationLeft { slug } => format!("Publikasjonen med kortnavn «{slug}»."),
            Self::PublicationsChosen { joined, left } => {
                let mut parts = Vec::new();
                if !joined.is_empty() {
                    parts.push(format!("Meldte seg på: {}.", listed(joined.as_slice())));
                }
                if !left.is_empty() {
                    parts.push(format!("Meldte seg av: {}.", listed(left.as_slice())));
                }
                if parts.is_empty() {
                    "Ingen endring.".to_owned()
                } else {
                    parts.join(" ")
                }
            }
            Self::HardBounces(n) => format!(
                "E-post til adressen har kommet i retur for godt {}.",
                count(*n, "gang", "ganger")
            ),
            Self::SameMailbox {
                id,
                email,
                same_as,
                same_as_email,
            } => format!(
                "Kontakt nr. {id} ({email}) og kontakt nr. {same_as} ({same_as_email}) er samme \
                 postkasse. De er ikke slått sammen: slett den ene."
            ),
            Self::Imported {
                file,
                rows,
                inserted,
                updated,
                refused,
            } => format!(
                "Importerte filen «{file}»: {}; {} lagt til, {} oppdatert, {} ikke importert.",
                count(*rows, "rad", "rader"),
                grouped(*inserted),
                grouped(*updated),
                grouped(*refused)
            ),
            Self::Queued { added, resumed } => {
                let mut text = format!("{} satt i kø", count(*added, "mottaker", "mottakere"));
                if *resumed > 0 {
                    text.push_str(&format!(
                        ", og {} som var stoppet, satt i kø igjen",
                        grouped(*resumed)
                    ));
                }
                text + "."
            }
            Self::Cancelled(n) => format!(
                "{} som ikke var sendt ennå, ble stoppet.",
                count(*n, "e-post", "e-poster")
            ),
            Self::Requeued(n) => format!(
                "{} som ikke kom fram, satt i kø igjen.",
                count(*n, "e-post", "e-poster")
            ),
            Self::PlannedFor(at) => format!("Planlagt til {}.", oslo_time(*at)),
            Self::PlanMissed(at) => format!("Var planlagt til {}.", oslo_time(*at)),
            Self::PublicationAdded(kind) => format!("Type: {}.", kind.norwegian()),
            Self::PublicationEdited(fields) | Self::SettingsEdited(fields) if fields.is_empty() => {
                "Ingen synlig endring: feltene følger nå innstillingsfilen eller standardteksten."
                    .to_owned()
            }
            Self::PublicationEdited(fields) | Self::SettingsEdited(fields) => {
                let words: Vec<&str> = fields.iter().map(|f| publication_field_words(f)).collect();
                format!("Endret: {}.", listed(&words))
            }
            Self::Administrator => "Kontoen er administrator.".to_owned(),
            Self::SecondFactorDue => {
                "Passordet stemte; koden fra tofaktor-appen gjensto.".to_owned()
            }
            Self::NoSuchAccount => "Ingen konto har det brukernavnet.".to_owned(),
            Self::WrongSetUpCode => "Feil engangskode for den første kontoen.".to_owned(),
            Self::Answered(kind) => format!("E-posten var {}.", kind.norwegian()),
            Self::SenderAdded => "Avsenderen ble lagt til som kontakt.".to_owned(),
            Self::Scope(scope) => format!("Kan: {}.", scope.norwegian().to_lowercase()),
            Self::CopyMade { format } => match format.as_str() {
                "json" => "Lastet ned som fil (JSON) til å gi personen.".to_owned(),
                "html" => "Vist som lesbar side.".to_owned(),
                _ => "Kopien ble laget.".to_owned(),
            },
            Self::TestCopyTo(address) => format!("Sendt til {address}."),
            Self::Ledger(n) => format!("Regnearket har {}.", count(*n, "levering", "leveringer")),
            Self::Backup {
                path,
                bytes,
                contacts,
            } => format!(
                "Lagret i filen {path} ({}){}.",
                size_words(*bytes),
                contacts_words(*contacts)
            ),
            Self::Restored {
                from,
                replaced,
                contacts,
            } => {
                let mut text = format!(
                    "Lagt tilbake fra filen {from}{}.",
                    contacts_words(*contacts)
                );
                if let Some(replaced) = replaced {
                    text.push_str(&format!(
                        " Databasen som ble erstattet, ligger i {replaced}."
                    ));
                }
                text
            }
            Self::Retention {
                inbound_emptied,
                unconfirmed_removed,
                inbound_days,
                pending_days,
            } => format!(
                "{} til staben tømt (eldre enn {}); {} som aldri bekreftet, slettet (eldre enn {}).",
                count(to_i64(*inbound_emptied), "e-post", "e-poster"),
                count(to_i64(*inbound_days), "dag", "dager"),
                count(to_i64(*unconfirmed_removed), "kontakt", "kontakter"),
                count(to_i64(*pending_days), "dag", "dager"),
            ),
            Self::WordOmissions(0) => "Alt i Word-dokumentet kom med.".to_owned(),
            Self::WordOmissions(n) => format!(
                "{} i Word-dokumentet kom ikke med i utgaven.",
                count(to_i64(*n as u64), "del", "deler")
            ),
            Self::Words(text) => text.clone(),
        }
    }
}

/// What an entry is about, as staff read it: an issue, a publication, an account or a
/// received mail named as one; a contact by their address.
pub fn subject_words(action: &LoggedAction, subject: &str) -> String {
    if let Some(number) = subject
        .strip_prefix("contact #")
        .and_then(|rest| rest.strip_suffix(" (erased)"))
    {
        return format!("kontakt nr. {number} (slettet)");
    }
    if let Some(number) = subject.strip_prefix("inbound #") {
        return format!("e-post nr. {number} til staben");
    }
    let LoggedAction::Known(action) = action else {
        return subject.to_owned();
    };
    let code = action.as_str();
    if code.starts_with("issue.") || *action == AuditAction::StaffApprovalRefused {
        format!("utgaven «{subject}»")
    } else if code.starts_with("publication.") {
        format!("publikasjonen «{subject}»")
    } else if code.starts_with("staff.") {
        format!("kontoen «{subject}»")
    } else if code.starts_with("api_token.") {
        format!("API-nøkkelen «{subject}»")
    } else {
        subject.to_owned()
    }
}

fn contacts_words(contacts: Option<u64>) -> String {
    contacts.map_or_else(String::new, |n| {
        format!(", med {}", count(to_i64(n), "kontakt", "kontakter"))
    })
}

fn size_words(bytes: u64) -> String {
    const MB: u64 = 1024 * 1024;
    if bytes >= MB {
        format!("{} MB", grouped(to_i64(bytes.div_ceil(MB))))
    } else {
        format!("{} kB", grouped(to_i64(bytes.div_ceil(1024))))
    }
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A contact's field, as `ContactChanges::field_names` stores it.
fn contact_field_words(field: &str) -> &str {
    match field {
        "email" => "e-postadresse",
        "name" => "navn",
        "organisation" => "organisasjon",
        "status" => "status",
        "consent" => "samtykke",
        "publications" => "publikasjoner",
        other => other,
    }
}

/// A publication's field, as the store names it in the log.
fn publication_field_words(field: &str) -> &str {
    match field {
        "name" => "navn",
        "description" => "beskrivelse",
        "kind" => "type",
        other => crate::domain::IdentityField::parse(other).map_or(other, |f| f.norwegian()),
    }
}
