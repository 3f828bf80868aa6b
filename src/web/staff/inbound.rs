//! Mail kept for staff: one message as text (never its HTML rendered, attachments
//! named and never opened).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::guard::{Empty, StaffForm, StaffUser};
use super::page::{Chrome, actor_words, failure, grouped, oslo_time, problem_page, render, shown};
use super::path::{InboundIdPath, Missing};
use crate::domain::{ContactId, InboundId};
use crate::domain::{ContactName, Organisation};
use crate::inbound::{AnswerError, InboundOutcome};
use crate::ops::{ContactError, InboundOpsError};
use crate::store::StoreError;
use crate::web::AppState;

/// What a redirect's `melding` says, in words.
fn notice(code: &str) -> Option<&'static str> {
    Some(match code {
        "behandlet" => "E-posten er merket som behandlet.",
        "besvart" => {
            "Svaret er lagt i køen: bekreftelseslenken går ut så snart timekvoten gir plass. \
             Personen kommer på listen først når lenken er brukt."
        }
        _ => return None,
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    alle: String,
    #[serde(default)]
    foer: String,
    #[serde(default)]
    melding: String,
}

struct KeptRow {
    id: InboundId,
    received: String,
    from: String,
    subject: String,
    unreadable: bool,
    handled: String,
}

#[derive(Template)]
#[template(path = "admin/inbound.html")]
struct ListPage {
    chrome: Chrome,
    all: bool,
    waiting: String,
    rows: Vec<KeptRow>,
    older: Option<String>,
}

/// GET /admin/inbound: mail kept for a person, newest first.
pub async fn list(
    State(state): State<AppState>,
    user: StaffUser,
    Query(query): Query<ListQuery>,
) -> Response {
    let all = query.alle == "ja";
    let before = InboundId::parse(&query.foer);
    let (entries, more) = match state.admin.inbound.for_staff(all, before).await {
        Ok(page) => page,
        Err(e) => return failure(&e),
    };
    let waiting = match state.admin.inbound.waiting().await {
        Ok(n) => grouped(n),
        Err(e) => return failure(&e),
    };
    let older = more
        .then(|| entries.last().map(|e| e.id))
        .flatten()
        .map(|last| format!("{}foer={last}", if all { "alle=ja&" } else { "" }));
    let rows = entries
        .iter()
        .map(|m| KeptRow {
            id: m.id,
            received: oslo_time(m.received_at),
            from: shown(m.from_address.as_deref().unwrap_or("(ukjent avsender)")),
            subject: shown(m.subject.as_deref().unwrap_or("(uten emne)")),
            unreadable: m.kind == crate::domain::InboundKind::Unreadable,
            handled: match (&m.handled_at, &m.handled_by) {
                (Some(at), by) => format!(
                    "Behandlet {}{}",
                    oslo_time(*at),
                    by.as_deref()
                        .map(|b| format!(" av {}", shown(&actor_words(b))))
                        .unwrap_or_default()
                ),
                (None, _) => String::new(),
            },
        })
        .collect();
    render(ListPage {
        chrome: Chrome::new(&user, notice(&query.melding)),
        all,
        waiting,
        rows,
        older,
    })
}

/// POST /admin/inbound/{id}/handled
pub async fn mark_handled(
    State(state): State<AppState>,
    InboundIdPath(id): InboundIdPath,
    StaffForm { user, .. }: StaffForm<Empty>,
) -> Response {
    match state.admin.inbound.mark_handled(id, &user.actor()).await {
        Ok(_) => Redirect::to("/admin/inbound?melding=behandlet").into_response(),
        Err(InboundOpsError::NotFound(_)) => Missing::InboundMessage.into_response(),
        Err(e) => failure(&e),
    }
}

#[derive(Template)]
#[template(path = "admin/inbound_add.html")]
struct AddSenderPage {
    chrome: Chrome,
    id: InboundId,
    email: String,
    name: String,
    organisation: String,
    asked_at: String,
    note: String,
    problem: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct AddSenderForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    organisation: String,
}

async fn add_sender_page(
    state: &AppState,
    user: &StaffUser,
    id: InboundId,
    form: AddSenderForm,
    problem: Option<String>,
) -> Response {
    let sender = match state.admin.inbound.sender_as_contact(id).await {
        Ok(sender) => sender,
        Err(InboundOpsError::NotFound(_)) => return Missing::InboundMessage.into_response(),
        Err(InboundOpsError::NoSender(_)) => {
            return problem_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Avsenderen kan ikke legges til",
                "E-posten har ingen avsenderadresse det går an å sende til. Ingenting er endret.",
            );
        }
        Err(e) => return failure(&e),
    };
    let status = if problem.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut response = render(AddSenderPage {
        chrome: Chrome::new(user, None),
        id,
        email: shown(sender.email.as_str()),
        name: if form.name.is_empty() && problem.is_none() {
            shown(&sender.name.unwrap_or_default())
        } else {
            shown(&form.name)
        },
        organisation: shown(&form.organisation),
        asked_at: oslo_time(sender.asked_at),
        note: shown(&sender.note),
        problem,
    });
    if response.status() == StatusCode::OK {
        *response.status_mut() = status;
    }
    response
}

/// GET /admin/inbound/{id}/add-contact: what will be recorded, for staff to confirm.
pub async fn add_sender_form(
    State(state): State<AppState>,
    user: StaffUser,
    InboundIdPath(id): InboundIdPath,
) -> Response {
    add_sender_page(&state, &user, id, AddSenderForm::default(), None).await
}

/// POST /admin/inbound/{id}/add-contact
pub async fn add_sender(
    State(state): State<AppState>,
    InboundIdPath(id): InboundIdPath,
    StaffForm { user, form }: StaffForm<AddSenderForm>,
) -> Response {
    let (name, organisation) = match (
        ContactName::parse(&form.name),
        Organisation::parse(&form.organisation),
    ) {
        (Ok(name), Ok(organisation)) => (name, organisation),
        _ => {
            let problem =
                "Navn og organisasjon kan være høyst 200 tegn, uten linjeskift.".to_owned();
            return add_sender_page(&state, &user, id, form, Some(problem)).await;
        }
    };
    match state
        .admin
        .inbound
        .add_sender(id, name, organisation, &user.actor())
        .await
    {
        Ok(contact) => Redirect::to(&format!("/admin/contacts/{}?melding=lagt-til", contact.id))
            .into_response(),
        Err(InboundOpsError::Store(StoreError::ContactExists(_))) => {
            let problem =
                "Avsenderen står allerede på kontaktlisten. Søk etter adressen i kontaktlisten."
                    .to_owned();
            add_sender_page(&state, &user, id, form, Some(problem)).await
        }
        Err(InboundOpsError::NotFound(_)) => Missing::InboundMessage.into_response(),
        Err(e) => failure(&e),
    }
}

struct BouncedRow {
    id: ContactId,
    email: String,
    name: String,
    reason: String,
    at: String,
}

#[derive(Template)]
#[template(path = "admin/bounces.html")]
struct BouncesPage {
    chrome: Chrome,
    rows: Vec<BouncedRow>,
}

/// GET /admin/bounces: the contacts whose address does not work, with the last reason.
pub async fn bounces(State(state): State<AppState>, user: StaffUser) -> Response {
    let bounced = match state.admin.contacts.bounced().await {
        Ok(bounced) => bounced,
        Err(ContactError::Store(e)) => return failure(&e),
        Err(e) => return failure(&e),
    };
    render(BouncesPage {
        chrome: Chrome::new(&user, None),
        rows: bounced
            .iter()
            .map(|b| BouncedRow {
                id: b.contact.id,
                email: shown(b.contact.email.as_str()),
                name: b
                    .contact
                    .name
                    .as_ref()
                    .map(|n| shown(n.as_str()))
                    .unwrap_or_default(),
                // The last report's outcome, or else the relay's own words at send time.
                reason: b.reason.as_deref().map_or_else(
                    || "(ingen melding lagret)".to_owned(),
                    |reason| shown(&InboundOutcome::parse(reason).norwegian()),
                ),
                at: b.at.map(oslo_time).unwrap_or_default(),
            })
            .collect(),
    })
}

/// POST /admin/inbound/{id}/answer: one click answers a request to join kept for
/// staff with the confirmation link (the person still has to use it).
pub async fn answer(
    State(state): State<AppState>,
    InboundIdPath(id): InboundIdPath,
    StaffForm { user, .. }: StaffForm<Empty>,
) -> Response {
    match state.inbound.answer_held(id, &user.actor()).await {
        Ok(_) => Redirect::to(&format!("/admin/inbound/{id}?melding=besvart")).into_response(),
        Err(InboundOpsError::NotFound(_)) => Missing::InboundMessage.into_response(),
        Err(InboundOpsError::Answer(AnswerError::AlreadyAnswered(_))) => problem_page(
            StatusCode::CONFLICT,
            "E-posten er allerede besvart",
            "Bekreftelseslenken er sendt før. Ingenting er sendt på nytt.",
        ),
        Err(InboundOpsError::Answer(AnswerError::NotARequest(_))) => problem_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "E-posten kan ikke besvares slik",
            "Dette er ikke et ønske om å stå på listen. Ingenting er sendt.",
        ),
        Err(e) => failure(&e),
    }
}

#[derive(Template)]
#[template(path = "admin/inbound_message.html")]
struct MessagePage {
    chrome: Chrome,
    id: InboundId,
    received: String,
    kind: &'static str,
    result: String,
    contact_id: Option<ContactId>,
    kept: bool,
    /// A request to join kept for staff: one click sends the confirmation link.
    answerable: bool,
    handled: bool,
    from: String,
    to: String,
    date: String,
    subject: String,
    message_id: String,
    text: String,
    cut: bool,
    unreadable: bool,
    /// When the bytes were removed by the retention rule, in Oslo time.
    removed: Option<String>,
    attachments: Vec<(String, String)>,
}

/// GET /admin/inbound/{id}
pub async fn show(
    State(state): State<AppState>,
    user: StaffUser,
    InboundIdPath(id): InboundIdPath,
    Query(query): Query<ListQuery>,
) -> Response {
    let (entry, message) = match state.admin.inbound.readable(id).await {
        Ok(found) => found,
        Err(InboundOpsError::NotFound(_)) => return Missing::InboundMessage.into_response(),
        Err(e) => return failure(&e),
    };
    let answerable = entry.kind == crate::domain::InboundKind::Other
        && match state.inbound.can_answer(id).await {
            Ok(answerable) => answerable,
            Err(InboundOpsError::NotFound(_)) => return Missing::InboundMessage.into_response(),
            Err(e) => return failure(&e),
        };
    render(MessagePage {
        chrome: Chrome::new(&user, notice(&query.melding)),
        answerable,
        id,
        received: oslo_time(entry.received_at),
        kind: entry.kind.norwegian(),
        result: shown(&InboundOutcome::parse(&entry.result).norwegian()),
        contact_id: entry.contact_id,
        kept: matches!(
            entry.kind,
            crate::domain::InboundKind::Other | crate::domain::InboundKind::Unreadable
        ),
        handled: entry.handled_at.is_some(),
        // Once the bytes are gone, what was recorded when it came is all there is.
        from: match (&entry.raw_removed_at, &entry.from_address) {
            (Some(_), Some(from)) => shown(from),
            _ => shown(&message.from),
        },
        to: shown(&message.to),
        date: shown(&message.date),
        subject: match (&entry.raw_removed_at, &entry.subject) {
            (Some(_), Some(subject)) => shown(subject),
            _ => shown(&message.subject),
        },
        message_id: match (&entry.raw_removed_at, &entry.message_id) {
            (Some(_), Some(id)) => shown(id),
            _ => shown(&message.message_id),
        },
        text: shown(&message.text),
        cut: message.cut,
        unreadable: message.unreadable && entry.raw_removed_at.is_none(),
        removed: entry.raw_removed_at.map(oslo_time),
        attachments: message
            .attachments
            .iter()
            .map(|(name, size)| (shown(name), grouped(*size as i64)))
            .collect(),
    })
}
