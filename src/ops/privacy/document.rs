//! The person's copy as a document they can read (GDPR article 15): every value as a
//! sentence or a time written out in Norwegian time, with who holds it and the rules it
//! is kept by. The JSON copy ([`super::PersonalData`]) is the same data for machines
//! (article 20); this one leaves out what only a machine reads (the mails' technical
//! names, mail servers' answers), and says so.

use super::{DataController, words};
use crate::domain::{InboundId, Timestamp, oslo_time_written};
use crate::store::ContactRecord;

/// What the person's copy says, ready for a page (`templates/innsyn/document.html`).
#[derive(Debug, Clone)]
pub struct PersonalDocument {
    /// When the copy was made, written out.
    pub made: String,
    /// The organisation that holds the data and answers for it.
    pub controller: String,
    /// Where the person writes about their data.
    pub contact_address: String,
    pub address: String,
    pub name: Option<String>,
    pub organisation: Option<String>,
    /// Where they stand on the list, as a sentence.
    pub standing: &'static str,
    pub added: String,
    pub confirmed: Option<String>,
    pub left: Option<String>,
    /// Mails to them that came back, counted toward the address being set aside.
    pub bounces: i64,
    pub consent: ConsentLines,
    pub publications: Vec<PublicationLine>,
    pub deliveries: Vec<DeliveryLine>,
    pub notices: Vec<NoticeLine>,
    pub mails: Vec<MailLine>,
    pub log: Vec<LogLine>,
    /// Days an unconfirmed request is kept, and the bytes of a mail.
    pub pending_days: u32,
    pub mail_days: u32,
}

#[derive(Debug, Clone)]
pub struct ConsentLines {
    pub how: &'static str,
    pub when: String,
    /// What staff noted about the request (their words, as typed).
    pub note: Option<String>,
    pub recorded_by: Option<&'static str>,
    /// Where the request is on record: an earlier list's file and line, a mail.
    pub source: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PublicationLine {
    pub name: String,
    pub chosen: String,
    pub how: &'static str,
    /// When they left it; `None` while they get it.
    pub left: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DeliveryLine {
    pub subject: String,
    pub state: &'static str,
    pub queued: String,
    pub sent: Option<String>,
    /// When it came back, if it did.
    pub returned: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NoticeLine {
    pub what: &'static str,
    pub state: &'static str,
    pub made: String,
    pub sent: Option<String>,
}

#[derive(Debug, Clone)]
pub struct MailLine {
    pub received: String,
    pub subject: Option<String>,
    pub taken_as: &'static str,
    /// Its text as a person reads it; `None` once the mail itself is deleted.
    pub text: Option<String>,
}

#[derive(Debug, Clone)]
pub struct LogLine {
    pub when: String,
    pub what: &'static str,
    pub who: &'static str,
}

/// A mail's text with its lines ended as a page ends them (mail ends them with CR LF).
fn lines(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

fn written(at: Option<Timestamp>) -> Option<String> {
    at.map(oslo_time_written)
}

impl PersonalDocument {
    /// The document from the stored record, the raw bytes of the person's mail (by
    /// inbound id), who holds the data, and when the copy was made.
    pub fn new(
        record: &ContactRecord,
        raw: &[(InboundId, Vec<u8>)],
        controller: &DataController,
        made: Timestamp,
    ) -> Self {
        let contact = &record.contact;
        PersonalDocument {
            made: oslo_time_written(made),
            controller: controller.name.clone(),
            contact_address: controller.contact_address.clone(),
            address: contact.email.to_string(),
            name: contact.name.as_ref().map(|n| n.as_str().to_owned()),
            organisation: contact.organisation.as_ref().map(|o| o.as_str().to_owned()),
            standing: words::standing(contact.status),
            added: oslo_time_written(contact.created_at),
            confirmed: written(contact.confirmed_at),
            left: written(contact.unsubscribed_at),
            bounces: contact.bounce_count,
            consent: ConsentLines {
                how: words::consent_given(contact.consent.source),
                when: oslo_time_written(contact.consent.at),
                note: contact.consent.note.as_ref().map(|n| n.as_str().to_owned()),
                recorded_by: record
                    .evidence
                    .recorded_by
                    .as_deref()
                    .map(|by| words::who(&crate::domain::Actor::parse(by))),
                source: record.evidence.reference.clone(),
            },
            publications: record
                .subscriptions
                .iter()
                .map(|s| PublicationLine {
                    name: s.name.as_str().to_owned(),
                    chosen: oslo_time_written(s.consent.at),
                    how: words::chosen_by(s.consent.source),
                    left: written(s.left_at),
                })
                .collect(),
            deliveries: record
                .deliveries
                .iter()
                .map(|d| DeliveryLine {
                    subject: d.issue_subject.clone(),
                    state: words::delivery(d.status),
                    queued: oslo_time_written(d.created_at),
                    sent: written(d.sent_at),
                    returned: written(d.bounced_at),
                })
                .collect(),
            notices: record
                .notices
                .iter()
                .map(|n| NoticeLine {
                    what: words::notice(n.purpose),
                    state: words::notice_state(n.status),
                    made: oslo_time_written(n.created_at),
                    sent: written(n.sent_at),
                })
                .collect(),
            mails: record
                .inbound
                .iter()
                .map(|m| MailLine {
                    received: oslo_time_written(m.received_at),
                    subject: m.subject.clone(),
                    taken_as: words::mail_taken_as(m.kind),
                    text: raw
                        .iter()
                        .find(|(id, _)| *id == m.id)
                        .map(|(_, bytes)| lines(&crate::inbound::readable(bytes).text)),
                })
                .collect(),
            log: record
                .audit
                .iter()
                .map(|entry| LogLine {
                    when: oslo_time_written(entry.at),
                    what: words::what_was_done(&entry.action),
                    who: words::who(&entry.actor),
                })
                .collect(),
            pending_days: controller.retention.pending_days,
            mail_days: controller.retention.inbound_days,
        }
    }
}
