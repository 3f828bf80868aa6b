//! A person's copy of everything the service holds about them (GDPR article 15), as
//! one document: the contact, the consent and its evidence, every delivery, every mail
//! that answered a request, every mail they sent us (with its text), and what staff did
//! to their record. Field names are Norwegian: the person reads it.
//!
//! The same copy comes in two forms: [`PersonalData`], the JSON file for machines (a
//! person may take it elsewhere, article 20), and [`PersonalDocument`], a document the
//! person reads and staff print to PDF. Who holds the data ([`DataController`]) is
//! passed in, so that its name can come from staff's own settings.

mod document;
pub mod words;

pub use document::{
    ConsentLines, DeliveryLine, LogLine, MailLine, NoticeLine, PersonalDocument, PublicationLine,
};

use serde::Serialize;

use super::RetentionRules;
use crate::config::Settings;
use crate::domain::{Actor, Contact, Timestamp};
use crate::domain::{ContactId, InboundId};
use crate::inbound::InboundOutcome;
use crate::store::ContactRecord;

/// The organisation that holds the contact list and answers for it (the controller),
/// by its current name. The one place the name is written; staff's own settings will
/// supply it instead.
pub const ORGANISATION_NAME: &str = "Koordineringsenheten mot menneskehandel (KOM)";

/// Who holds a person's data and answers for it (the controller, GDPR article 4 (7)),
/// how the person reaches them, and the rules the data is kept by: what a copy of the
/// data tells the person besides the data itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataController {
    pub name: String,
    /// Where the person writes about their data: the address readers write to.
    pub contact_address: String,
    pub retention: RetentionRules,
}

impl DataController {
    /// From the settings, with [`ORGANISATION_NAME`].
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            name: ORGANISATION_NAME.to_owned(),
            contact_address: settings.contact_address().to_owned(),
            retention: RetentionRules {
                inbound_days: settings.inbound_retention_days,
                pending_days: settings.pending_retention_days,
            },
        }
    }
}

/// The largest number of rows of each history a copy holds: more than a contact can
/// gather in decades of quarterly issues.
pub const PERSONAL_DATA_ROWS: i64 = 100_000;

#[derive(Debug, Clone, Serialize)]
pub struct PersonalData {
    /// When the copy was made.
    pub laget: Timestamp,
    pub behandlingsansvarlig: String,
    pub kontakt: ContactData,
    pub samtykke: ConsentData,
    /// Each publication the person gets or left, with the consent for it.
    pub publikasjoner: Vec<SubscriptionData>,
    pub utsendelser: Vec<DeliveryData>,
    pub svar_pa_foresporsler: Vec<NoticeData>,
    pub epost_fra_deg: Vec<InboundData>,
    pub logg: Vec<LogData>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ContactData {
    pub nummer: ContactId,
    pub adresse: String,
    pub navn: Option<String>,
    pub organisasjon: Option<String>,
    pub status: &'static str,
    pub lagt_til: Timestamp,
    pub sist_endret: Timestamp,
    pub bekreftet: Option<Timestamp>,
    pub meldt_av: Option<Timestamp>,
    pub avvisninger: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SubscriptionData {
    pub publikasjon: String,
    pub hvordan: &'static str,
    pub tidspunkt: Timestamp,
    pub notat: Option<String>,
    pub meldt_av: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConsentData {
    pub hvordan: &'static str,
    pub tidspunkt: Timestamp,
    pub notat: Option<String>,
    pub registrert_av: Option<String>,
    pub kilde: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeliveryData {
    pub utgave: String,
    pub emne: String,
    pub status: &'static str,
    pub lagt_i_ko: Timestamp,
    pub sendt: Option<Timestamp>,
    pub forsok: i64,
    pub feilmelding: Option<String>,
    pub message_id: Option<String>,
    pub avvist: Option<Timestamp>,
    pub avvisningsmelding: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NoticeData {
    pub hva: &'static str,
    pub status: &'static str,
    pub laget: Timestamp,
    pub sendt: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InboundData {
    pub nummer: InboundId,
    pub mottatt: Timestamp,
    pub fra: Option<String>,
    pub emne: Option<String>,
    pub message_id: Option<String>,
    pub tolket_som: &'static str,
    pub hva_vi_gjorde: String,
    pub storrelse_bytes: i64,
    /// The message's text as a person reads it (HTML turned into text).
    pub tekst: String,
    /// The message as it arrived (bytes that are not UTF-8 replaced).
    pub innhold: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LogData {
    pub tidspunkt: Timestamp,
    pub hvem: String,
    pub handling: String,
    pub detaljer: Option<String>,
}

impl PersonalData {
    /// Builds the copy from the stored record, the raw bytes of the person's mail (by
    /// inbound id) and the name of who holds the data.
    pub fn new(record: &ContactRecord, raw: &[(InboundId, Vec<u8>)], controller: &str) -> Self {
        let contact: &Contact = &record.contact;
        PersonalData {
            laget: Timestamp::now(),
            behandlingsansvarlig: controller.to_owned(),
            kontakt: ContactData {
                nummer: contact.id,
                adresse: contact.email.to_string(),
                navn: contact.name.as_ref().map(|n| n.as_str().to_owned()),
                organisasjon: contact.organisation.as_ref().map(|o| o.as_str().to_owned()),
                status: contact.status.norwegian(),
                lagt_til: contact.created_at,
                sist_endret: contact.updated_at,
                bekreftet: contact.confirmed_at,
                meldt_av: contact.unsubscribed_at,
                avvisninger: contact.bounce_count,
            },
            samtykke: ConsentData {
                hvordan: contact.consent.source.norwegian(),
                tidspunkt: contact.consent.at,
                notat: contact.consent.note.as_ref().map(|n| n.as_str().to_owned()),
                registrert_av: record
                    .evidence
                    .recorded_by
                    .as_deref()
                    .map(|by| Actor::parse(by).norwegian()),
                kilde: record.evidence.reference.clone(),
            },
            publikasjoner: record
                .subscriptions
                .iter()
                .map(|s| SubscriptionData {
                    publikasjon: s.name.as_str().to_owned(),
                    hvordan: s.consent.source.norwegian(),
                    tidspunkt: s.consent.at,
                    notat: s.consent.note.as_ref().map(|n| n.as_str().to_owned()),
                    meldt_av: s.left_at,
                })
                .collect(),
            utsendelser: record
                .deliveries
                .iter()
                .map(|d| DeliveryData {
                    utgave: d.issue_slug.clone(),
                    emne: d.issue_subject.clone(),
                    status: d.status.norwegian(),
                    lagt_i_ko: d.created_at,
                    sendt: d.sent_at,
                    forsok: d.attempts,
                    feilmelding: d.last_error.clone(),
                    message_id: d.message_id.clone(),
                    avvist: d.bounced_at,
                    avvisningsmelding: d
                        .bounce_report
                        .as_deref()
                        .map(|report| InboundOutcome::parse(report).norwegian()),
                })
                .collect(),
            svar_pa_foresporsler: record
                .notices
                .iter()
                .map(|n| NoticeData {
                    hva: n.purpose.norwegian(),
                    status: n.status.norwegian(),
                    laget: n.created_at,
                    sendt: n.sent_at,
                })
                .collect(),
            epost_fra_deg: record
                .inbound
                .iter()
                .map(|m| InboundData {
                    nummer: m.id,
                    mottatt: m.received_at,
                    fra: m.from_address.clone(),
                    emne: m.subject.clone(),
                    message_id: m.message_id.clone(),
                    tolket_som: m.kind.norwegian(),
                    hva_vi_gjorde: InboundOutcome::parse(&m.result).norwegian(),
                    storrelse_bytes: m.size,
                    tekst: raw
                        .iter()
                        .find(|(id, _)| *id == m.id)
                        .map(|(_, bytes)| crate::inbound::readable(bytes).text)
                        .unwrap_or_default(),
                    innhold: raw
                        .iter()
                        .find(|(id, _)| *id == m.id)
                        .map(|(_, bytes)| String::from_utf8_lossy(bytes).into_owned())
                        .unwrap_or_default(),
                })
                .collect(),
            logg: record
                .audit
                .iter()
                .map(|entry| LogData {
                    tidspunkt: entry.at,
                    hvem: entry.actor.norwegian(),
                    handling: entry.action.norwegian().into_owned(),
                    detaljer: Some(entry.in_words().detail).filter(|d| !d.is_empty()),
                })
                .collect(),
        }
    }
}
