//! A contact's page: who they are, their consent and its evidence, what they get, and
//! every history (deliveries, notices, mail from them, what staff did).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;

use super::super::dashboard::NoticeQuery;
use super::super::error::PageError;
use super::super::guard::StaffUser;
use super::super::page::{Chrome, actor_words, oslo_time, render, shown};
use super::super::path::ContactIdPath;
use super::notice;
use crate::domain::{
    ConsentNote, ContactName, ContactStatus, InboundKind, Organisation, Timestamp,
};
use crate::domain::{ContactId, InboundId};
use crate::store::ContactRecord;
use crate::web::AppState;

/// A delivery as a row of a contact's history.
struct DeliveryRow {
    slug: String,
    subject: String,
    status: &'static str,
    queued: String,
    sent: String,
    problem: String,
}

#[derive(Clone)]
struct InboundRow {
    id: InboundId,
    received: String,
    subject: String,
    kind: &'static str,
    result: String,
}

struct LogRow {
    at: String,
    who: String,
    what: String,
    detail: String,
}

struct NoticeRow {
    what: &'static str,
    status: &'static str,
    at: String,
}

/// A publication on the contact's page: whether they get it, and its consent.
struct SubscriptionRow {
    name: String,
    gets: bool,
    how: &'static str,
    at: String,
    note: String,
    left: String,
}

#[derive(Template)]
#[template(path = "admin/contact.html")]
struct ContactPageView {
    chrome: Chrome,
    id: ContactId,
    email: String,
    name: String,
    organisation: String,
    status: &'static str,
    bounced: bool,
    bounce_count: i64,
    added: String,
    confirmed: String,
    left: String,
    consent_how: &'static str,
    consent_at: String,
    consent_note: String,
    consent_by: String,
    consent_ref: String,
    request_mail: Vec<InboundRow>,
    subscriptions: Vec<SubscriptionRow>,
    deliveries: Vec<DeliveryRow>,
    notices: Vec<NoticeRow>,
    inbound: Vec<InboundRow>,
    log: Vec<LogRow>,
}

fn optional_time(at: Option<Timestamp>) -> String {
    at.map(oslo_time).unwrap_or_default()
}

fn shown_or_empty(text: Option<&str>) -> String {
    text.map(shown).unwrap_or_default()
}

/// GET /admin/contacts/{id}
pub async fn show(
    State(state): State<AppState>,
    user: StaffUser,
    ContactIdPath(id): ContactIdPath,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let record = state.admin.contacts.record(id).await?;
    let chrome = Chrome::new(&user, notice(&query.melding));
    Ok(render(ContactPageView::new(chrome, &record)))
}

impl ContactPageView {
    fn new(chrome: Chrome, record: &ContactRecord) -> Self {
        let c = &record.contact;
        let inbound: Vec<InboundRow> = record
            .inbound
            .iter()
            .map(|m| InboundRow {
                id: m.id,
                received: oslo_time(m.received_at),
                subject: shown(m.subject.as_deref().unwrap_or("(uten emne)")),
                kind: m.kind.norwegian(),
                result: shown(&crate::inbound::InboundOutcome::parse(&m.result).norwegian()),
            })
            .collect();
        let request_mail: Vec<InboundRow> = record
            .inbound
            .iter()
            .zip(inbound.iter())
            .filter(|(m, _)| m.kind == InboundKind::Subscribe)
            .map(|(_, row)| row.clone())
            .collect();
        ContactPageView {
            chrome,
            id: c.id,
            email: shown(c.email.as_str()),
            name: shown_or_empty(c.name.as_ref().map(ContactName::as_str)),
            organisation: shown_or_empty(c.organisation.as_ref().map(Organisation::as_str)),
            status: c.status.norwegian(),
            bounced: c.status == ContactStatus::Bounced,
            bounce_count: c.bounce_count,
            added: oslo_time(c.created_at),
            confirmed: optional_time(c.confirmed_at),
            left: optional_time(c.unsubscribed_at),
            consent_how: c.consent.source.norwegian(),
            consent_at: oslo_time(c.consent.at),
            consent_note: shown_or_empty(c.consent.note.as_ref().map(ConsentNote::as_str)),
            consent_by: record
                .evidence
                .recorded_by
                .as_deref()
                .map(|by| shown(&actor_words(by)))
                .unwrap_or_default(),
            // A contact added from a mail has its Message-ID as the reference: the mail
            // itself is linked below instead of a code staff cannot use.
            consent_ref: if request_mail.is_empty() {
                shown_or_empty(record.evidence.reference.as_deref())
            } else {
                String::new()
            },
            request_mail,
            subscriptions: subscription_rows(record),
            deliveries: delivery_rows(record),
            notices: record
                .notices
                .iter()
                .map(|n| NoticeRow {
                    what: n.purpose.norwegian(),
                    status: n.status.norwegian(),
                    at: oslo_time(n.sent_at.unwrap_or(n.created_at)),
                })
                .collect(),
            inbound,
            log: record
                .audit
                .iter()
                .map(|entry| {
                    let words = entry.in_words();
                    LogRow {
                        at: oslo_time(entry.at),
                        who: shown(&words.who),
                        what: words.what,
                        detail: shown(&words.detail),
                    }
                })
                .collect(),
        }
    }
}

fn subscription_rows(record: &ContactRecord) -> Vec<SubscriptionRow> {
    record
        .subscriptions
        .iter()
        .map(|s| SubscriptionRow {
            name: s.name.as_str().to_owned(),
            gets: s.left_at.is_none(),
            how: s.consent.source.norwegian(),
            at: oslo_time(s.consent.at),
            note: shown_or_empty(s.consent.note.as_ref().map(ConsentNote::as_str)),
            left: optional_time(s.left_at),
        })
        .collect()
}

fn delivery_rows(record: &ContactRecord) -> Vec<DeliveryRow> {
    record
        .deliveries
        .iter()
        .map(|d| DeliveryRow {
            slug: d.issue_slug.clone(),
            subject: shown(&d.issue_subject),
            status: d.status.norwegian(),
            queued: oslo_time(d.created_at),
            sent: optional_time(d.sent_at),
            problem: shown(
                &d.bounce_report
                    .as_deref()
                    .map(|report| crate::inbound::InboundOutcome::parse(report).norwegian())
                    .or_else(|| d.last_error.clone())
                    .unwrap_or_default(),
            ),
        })
        .collect()
}
