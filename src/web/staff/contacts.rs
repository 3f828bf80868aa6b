//! The contact list for staff: find a person, read their consent and history, add,
//! edit, put a bounced address back, hand them their data, erase them.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::guard::{StaffForm, StaffUser};
use super::page::{Chrome, failure, grouped, oslo_time, problem_page, render, shown};
use crate::domain::{
    Consent, ConsentNote, ConsentSource, ContactChanges, ContactName, ContactStatus, EmailAddress,
    NewContact, Organisation, Timestamp,
};
use crate::ops::{ContactError, PersonalData, PersonalDataFormat};
use crate::store::{ContactFilter, ContactRecord, MatchCount, PageStart, StoreError};
use crate::web::AppState;

/// The longest search text read from the address bar.
const MAX_SEARCH_CHARS: usize = 200;

/// What a redirect's `melding` says, in words (never text from the request itself).
fn notice(code: &str) -> Option<&'static str> {
    Some(match code {
        "lagt-til" => "Kontakten er lagt til.",
        "lagt-til-etter-sletting" => {
            "Kontakten er lagt til. Merk: denne adressen er slettet tidligere fordi personen \
             ba om det. Legg den bare til igjen hvis personen selv har bedt om å stå på listen."
        }
        "endret" => "Endringene er lagret.",
        "tilbake" => "Kontakten står på listen igjen og får neste utgave.",
        "slettet" => {
            "Kontakten og alt som var lagret om personen, er slettet. Slettingen er ført i loggen."
        }
        _ => return None,
    })
}

/// The contact number from the URL, or the page that says there is no such contact.
fn id_of(raw: &str) -> Result<i64, Response> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(contact_not_found)
}

fn contact_not_found() -> Response {
    problem_page(
        StatusCode::NOT_FOUND,
        "Fant ikke kontakten",
        "Det finnes ingen kontakt med dette nummeret. Kanskje er den slettet, eller lenken er feil. Søk etter personen i kontaktlisten.",
    )
}

/// An operation's error as staff read it: a missing contact is its own page, anything
/// else that is not the user's to fix is a failure.
fn refused(e: ContactError) -> Response {
    match e {
        ContactError::Store(StoreError::ContactNotFound(_)) => contact_not_found(),
        other => failure(&other),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    publikasjon: String,
    #[serde(default)]
    etter: String,
    #[serde(default)]
    foer: String,
    #[serde(default)]
    melding: String,
}

/// A contact as a row of the list.
struct ContactRow {
    id: i64,
    email: String,
    name: String,
    organisation: String,
    status: &'static str,
    added: String,
}

struct StatusCount {
    word: &'static str,
    value: &'static str,
    count: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "admin/contacts.html")]
struct ContactsPage {
    chrome: Chrome,
    q: String,
    status: String,
    /// The publication filtered by (its slug), or empty.
    publication: String,
    /// (slug, name) of every publication, for the filter.
    publications: Vec<(String, String)>,
    counts: Vec<StatusCount>,
    total: String,
    matches: Option<String>,
    rows: Vec<ContactRow>,
    next: Option<String>,
    previous: Option<String>,
}

/// `?q=…&status=…&publikasjon=…` plus `extra`, URL-encoded.
fn list_query(q: &str, status: &str, publication: &str, extra: Option<(&str, &str)>) -> String {
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    if !q.is_empty() {
        pairs.push(("q", q));
    }
    if !status.is_empty() {
        pairs.push(("status", status));
    }
    if !publication.is_empty() {
        pairs.push(("publikasjon", publication));
    }
    pairs.extend(extra);
    serde_urlencoded::to_string(&pairs).unwrap_or_default()
}

/// GET /admin/contacts
pub async fn list(
    State(state): State<AppState>,
    user: StaffUser,
    Query(query): Query<ListQuery>,
) -> Response {
    let q: String = query.q.trim().chars().take(MAX_SEARCH_CHARS).collect();
    let status = query.status.parse::<ContactStatus>().ok();
    let status_word = status.map(ContactStatus::as_str).unwrap_or_default();
    let publication = crate::domain::PublicationSlug::parse(&query.publikasjon).ok();
    let publication_word = publication
        .as_ref()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let filter = ContactFilter {
        status,
        search: (!q.is_empty()).then(|| q.clone()),
        publication,
    };
    let start = if !query.etter.is_empty() {
        PageStart::After(query.etter.chars().take(300).collect())
    } else if !query.foer.is_empty() {
        PageStart::Before(query.foer.chars().take(300).collect())
    } else {
        PageStart::First
    };
    let listing = match state.admin.contacts.listing(&filter, &start).await {
        Ok(listing) => listing,
        Err(e) => return failure(&e),
    };
    let total: i64 = listing.counts.iter().map(|(_, n)| n).sum();
    let counts = listing
        .counts
        .iter()
        .map(|(s, n)| StatusCount {
            word: status_label(*s),
            value: s.as_str(),
            count: grouped(*n),
            current: Some(*s) == status,
        })
        .collect();
    let matches = listing.matches.map(|m| match m {
        MatchCount::Exactly(0) => "Ingen treff.".to_owned(),
        MatchCount::Exactly(1) => "1 treff.".to_owned(),
        MatchCount::Exactly(n) => format!("{} treff.", grouped(n)),
        MatchCount::MoreThan(n) => format!(
            "Mer enn {} treff. Skriv mer av adressen eller navnet for å få færre.",
            grouped(n)
        ),
    });
    let rows = listing
        .page
        .contacts
        .iter()
        .map(|c| ContactRow {
            id: c.id,
            email: shown(c.email.as_str()),
            name: c
                .name
                .as_ref()
                .map(|n| shown(n.as_str()))
                .unwrap_or_default(),
            organisation: c
                .organisation
                .as_ref()
                .map(|o| shown(o.as_str()))
                .unwrap_or_default(),
            status: status_label(c.status),
            added: oslo_time(c.created_at),
        })
        .collect();
    render(ContactsPage {
        chrome: Chrome::new(&user, notice(&query.melding)),
        next: listing
            .page
            .next
            .as_deref()
            .map(|key| list_query(&q, status_word, &publication_word, Some(("etter", key)))),
        previous: listing
            .page
            .previous
            .as_deref()
            .map(|key| list_query(&q, status_word, &publication_word, Some(("foer", key)))),
        q,
        status: status_word.to_owned(),
        publications: listing
            .publications
            .iter()
            .map(|p| (p.slug.to_string(), p.name.as_str().to_owned()))
            .collect(),
        publication: publication_word,
        counts,
        total: grouped(total),
        matches,
        rows,
    })
}

/// A status as a word in the list (short).
fn status_label(status: ContactStatus) -> &'static str {
    match status {
        ContactStatus::Pending => "Venter på bekreftelse",
        ContactStatus::Confirmed => "Bekreftet",
        ContactStatus::Unsubscribed => "Meldt av",
        ContactStatus::Bounced => "Avvist",
    }
}

/// GET /admin/contacts/export.csv: never an export (a GET changes and hands out
/// nothing): back to the list with the same filter, where the button is.
pub async fn export_by_get(_user: StaffUser, Query(query): Query<ListQuery>) -> Response {
    Redirect::to(&format!(
        "/admin/contacts?{}",
        list_query(&query.q, &query.status, &query.publikasjon, None)
    ))
    .into_response()
}

/// POST /admin/contacts/export.csv: the contacts of the current filter, streamed a
/// page at a time. A POST with the CSRF token, since the operation writes the export
/// to the audit log (who, the filter, the rows).
pub async fn export_csv(
    State(state): State<AppState>,
    StaffForm { user, form: query }: StaffForm<ListQuery>,
) -> Response {
    use futures_util::StreamExt;
    let q: String = query.q.trim().chars().take(MAX_SEARCH_CHARS).collect();
    let filter = ContactFilter {
        status: query.status.parse::<ContactStatus>().ok(),
        search: (!q.is_empty()).then_some(q),
        publication: crate::domain::PublicationSlug::parse(&query.publikasjon).ok(),
    };
    let chunks = state
        .admin
        .contacts
        .export_stream(filter, user.actor())
        .map(|chunk| {
            chunk.map_err(|e| {
                // Headers are gone already: the download ends short, and the log says why.
                tracing::error!(error = %e, "the contact export stopped");
                std::io::Error::other("the contacts could not be read")
            })
        });
    let mut response = axum::body::Body::from_stream(chunks).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"kontakter.csv\""),
    );
    response
}

/// The fields of the add and edit forms, as typed. Read from the form's pairs, since
/// the publication checkboxes repeat one name.
#[derive(Debug, Default, Deserialize)]
#[serde(from = "Vec<(String, String)>")]
pub struct ContactForm {
    email: String,
    name: String,
    organisation: String,
    source: String,
    asked_on: String,
    note: String,
    status: String,
    /// The publications ticked (the add form).
    publications: Vec<String>,
    /// Set by a form that shows the publications.
    choosing: bool,
}

impl From<Vec<(String, String)>> for ContactForm {
    fn from(pairs: Vec<(String, String)>) -> Self {
        let mut form = ContactForm::default();
        for (key, value) in pairs {
            match key.as_str() {
                "email" => form.email = value,
                "name" => form.name = value,
                "organisation" => form.organisation = value,
                "source" => form.source = value,
                "asked_on" => form.asked_on = value,
                "note" => form.note = value,
                "status" => form.status = value,
                "publikasjon" => form.publications.push(value),
                "valg" => form.choosing = true,
                _ => {}
            }
        }
        form
    }
}

/// What was wrong with a contact form, field by field, in bokmål.
#[derive(Debug, Default)]
struct FormProblems {
    email: Option<String>,
    publications: Option<String>,
    name: Option<String>,
    organisation: Option<String>,
    asked_on: Option<String>,
    note: Option<String>,
    status: Option<String>,
    general: Option<String>,
}

impl FormProblems {
    fn any(&self) -> bool {
        self.email.is_some()
            || self.publications.is_some()
            || self.name.is_some()
            || self.organisation.is_some()
            || self.asked_on.is_some()
            || self.note.is_some()
            || self.status.is_some()
            || self.general.is_some()
    }

    /// (field id, message) for the summary at the top.
    fn summary(&self) -> Vec<(&'static str, &str)> {
        [
            ("email", &self.email),
            ("name", &self.name),
            ("organisation", &self.organisation),
            ("asked_on", &self.asked_on),
            ("note", &self.note),
            ("status", &self.status),
        ]
        .into_iter()
        .filter_map(|(id, m)| m.as_deref().map(|m| (id, m)))
        .collect()
    }
}

fn text_problem(e: &crate::domain::TextError) -> String {
    match e {
        crate::domain::TextError::TooLong { max, .. } => {
            format!("Teksten er for lang: høyst {max} tegn.")
        }
        crate::domain::TextError::ControlCharacter { .. } => {
            "Teksten kan ikke ha linjeskift eller usynlige kontrolltegn.".to_owned()
        }
        crate::domain::TextError::DirectionControl { .. } => {
            "Teksten har et usynlig tegn som snur skriveretningen og kan få den til å se ut som noe annet: fjern det (skriv teksten inn på nytt).".to_owned()
        }
    }
}

fn email_problem() -> String {
    "Skriv en gyldig e-postadresse, for eksempel navn@example.no.".to_owned()
}

#[derive(Template)]
#[template(path = "admin/contact_form.html")]
struct ContactFormPage {
    chrome: Chrome,
    /// `None` for a new contact.
    id: Option<i64>,
    fields: ContactForm,
    problems: FormProblems,
    sources: Vec<(&'static str, &'static str)>,
    statuses: Vec<(&'static str, &'static str)>,
    today: String,
    /// The stored name or organisation held direction overrides, left out of the form.
    cleaned: bool,
    /// The publications as checkboxes (the add form only).
    choices: Vec<crate::web::subscribe::Choice>,
}

fn consent_sources() -> Vec<(&'static str, &'static str)> {
    vec![
        ("email-request", "Personen ba om det på e-post"),
        ("staff", "Personen ba om det på annen måte (telefon, møte)"),
    ]
}

fn statuses() -> Vec<(&'static str, &'static str)> {
    ContactStatus::ALL
        .iter()
        .map(|s| (s.as_str(), status_label(*s)))
        .collect()
}

fn today() -> String {
    let now = Timestamp::now().to_rfc3339();
    now.get(..10).unwrap_or_default().to_owned()
}

fn form_page(
    user: &StaffUser,
    id: Option<i64>,
    mut fields: ContactForm,
    problems: FormProblems,
    choices: Vec<crate::web::subscribe::Choice>,
) -> Response {
    // A field holds the stored text, to be saved again: direction overrides, which would
    // make it read other than it is, are left out of it (and so out of what is saved).
    let strip = |text: &mut String| {
        let clean: String = text
            .chars()
            .filter(|c| !crate::domain::is_direction_override(*c))
            .collect();
        let changed = clean != *text;
        *text = clean;
        changed
    };
    let cleaned =
        strip(&mut fields.name) | strip(&mut fields.organisation) | strip(&mut fields.note);
    let status = if problems.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut response = render(ContactFormPage {
        chrome: Chrome::new(user, None),
        id,
        fields,
        problems,
        sources: consent_sources(),
        statuses: statuses(),
        today: today(),
        cleaned,
        choices,
    });
    if response.status() == StatusCode::OK {
        *response.status_mut() = status;
    }
    response
}

/// The publications as the add form's checkboxes: all ticked for a new form, else as
/// they were sent.
async fn publication_choices(
    state: &AppState,
    form: &ContactForm,
) -> Result<Vec<crate::web::subscribe::Choice>, Response> {
    let offered = state
        .admin
        .issues
        .publications()
        .await
        .map_err(|e| failure(&e))?;
    Ok(offered
        .iter()
        .map(|p| {
            let ticked = !form.choosing || form.publications.iter().any(|t| t == p.slug.as_str());
            crate::web::subscribe::Choice::of(p, ticked)
        })
        .collect())
}

/// GET /admin/contacts/new
pub async fn new_form(State(state): State<AppState>, user: StaffUser) -> Response {
    let fields = ContactForm {
        source: "email-request".into(),
        asked_on: today(),
        ..Default::default()
    };
    let choices = match publication_choices(&state, &fields).await {
        Ok(choices) => choices,
        Err(response) => return response,
    };
    form_page(&user, None, fields, FormProblems::default(), choices)
}

/// The optional text fields of a form, or their problems.
fn name_and_organisation(
    fields: &ContactForm,
    problems: &mut FormProblems,
) -> (Option<ContactName>, Option<Organisation>) {
    let name = ContactName::parse(&fields.name).unwrap_or_else(|e| {
        problems.name = Some(text_problem(&e));
        None
    });
    let organisation = Organisation::parse(&fields.organisation).unwrap_or_else(|e| {
        problems.organisation = Some(text_problem(&e));
        None
    });
    (name, organisation)
}

/// POST /admin/contacts/new
pub async fn create(
    State(state): State<AppState>,
    StaffForm { user, form }: StaffForm<ContactForm>,
) -> Response {
    let mut problems = FormProblems::default();
    let email = EmailAddress::parse(&form.email)
        .map_err(|_| problems.email = Some(email_problem()))
        .ok();
    let (name, organisation) = name_and_organisation(&form, &mut problems);
    let source = match form.source.as_str() {
        "email-request" => ConsentSource::EmailRequest,
        _ => ConsentSource::Staff,
    };
    let asked_at = match Timestamp::parse_date(&form.asked_on) {
        Ok(at) if at <= Timestamp::now() => Some(at),
        Ok(_) => {
            problems.asked_on = Some("Datoen kan ikke være fram i tid.".into());
            None
        }
        Err(_) => {
            problems.asked_on = Some(
                "Skriv datoen personen ba om å stå på listen, for eksempel 12.03.2025.".into(),
            );
            None
        }
    };
    let note = match ConsentNote::parse(&form.note) {
        Ok(Some(note)) => Some(note),
        Ok(None) => {
            problems.note = Some(
                "Skriv hvordan personen ba om det, for eksempel «e-post 12.03.2025 til post@kom.no».".into(),
            );
            None
        }
        Err(e) => {
            problems.note = Some(text_problem(&e));
            None
        }
    };
    let offered = match state.admin.issues.publications().await {
        Ok(offered) => offered,
        Err(e) => return failure(&e),
    };
    let publications = if form.choosing {
        crate::ops::ticked_choice(&offered, &form.publications)
            .map_err(|e| {
                problems.publications = Some(match e {
                    crate::ops::PreferencesError::NoneChosen => {
                        "Kryss av for minst én publikasjon personen skal få.".to_owned()
                    }
                    _ => "Velg blant publikasjonene i listen.".to_owned(),
                })
            })
            .ok()
    } else {
        Some(crate::domain::PublicationChoice::All)
    };
    let (Some(email), Some(at), Some(note), Some(publications), false) =
        (email, asked_at, note, publications, problems.any())
    else {
        let choices = match publication_choices(&state, &form).await {
            Ok(choices) => choices,
            Err(response) => return response,
        };
        return form_page(&user, None, form, problems, choices);
    };
    let new = NewContact {
        email,
        name,
        organisation,
        status: ContactStatus::Confirmed,
        consent: Consent {
            source,
            at,
            note: Some(note),
        },
        publications,
    };
    match state.admin.contacts.add(&new, &user.actor()).await {
        Ok(added) => {
            let notice = if added.erased_on.is_some() {
                "lagt-til-etter-sletting"
            } else {
                "lagt-til"
            };
            Redirect::to(&format!(
                "/admin/contacts/{}?melding={notice}",
                added.contact.id
            ))
            .into_response()
        }
        Err(ContactError::Store(StoreError::ContactExists(_))) => {
            problems.email = Some(
                "Denne adressen står allerede på listen. Søk etter den i kontaktlisten.".into(),
            );
            let choices = match publication_choices(&state, &form).await {
                Ok(choices) => choices,
                Err(response) => return response,
            };
            form_page(&user, None, form, problems, choices)
        }
        Err(e) => failure(&e),
    }
}

/// A delivery as a row of a contact's history.
struct DeliveryRow {
    slug: String,
    subject: String,
    status: &'static str,
    queued: String,
    sent: String,
    problem: String,
}

struct InboundRow {
    id: i64,
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

#[derive(Template)]
#[template(path = "admin/contact.html")]
struct ContactPageView {
    chrome: Chrome,
    id: i64,
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

/// A publication on the contact's page: whether they get it, and its consent.
struct SubscriptionRow {
    name: String,
    gets: bool,
    how: &'static str,
    at: String,
    note: String,
    left: String,
}

fn optional_time(at: Option<Timestamp>) -> String {
    at.map(oslo_time).unwrap_or_default()
}

/// GET /admin/contacts/{id}
pub async fn show(
    State(state): State<AppState>,
    user: StaffUser,
    Path(raw): Path<String>,
    Query(query): Query<ListQuery>,
) -> Response {
    let id = match id_of(&raw) {
        Ok(id) => id,
        Err(page) => return page,
    };
    let record: ContactRecord = match state.admin.contacts.record(id).await {
        Ok(record) => record,
        Err(e) => return refused(e),
    };
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
    let request_mail = record
        .inbound
        .iter()
        .zip(inbound.iter())
        .filter(|(m, _)| m.kind == crate::domain::InboundKind::Subscribe)
        .map(|(_, row)| InboundRow {
            id: row.id,
            received: row.received.clone(),
            subject: row.subject.clone(),
            kind: row.kind,
            result: row.result.clone(),
        })
        .collect();
    let view = ContactPageView {
        chrome: Chrome::new(&user, notice(&query.melding)),
        id: c.id,
        email: shown(c.email.as_str()),
        name: c
            .name
            .as_ref()
            .map(|n| shown(n.as_str()))
            .unwrap_or_default(),
        organisation: c
            .organisation
            .as_ref()
            .map(|o| shown(o.as_str()))
            .unwrap_or_default(),
        status: c.status.norwegian(),
        bounced: c.status == ContactStatus::Bounced,
        bounce_count: c.bounce_count,
        added: oslo_time(c.created_at),
        confirmed: optional_time(c.confirmed_at),
        left: optional_time(c.unsubscribed_at),
        consent_how: c.consent.source.norwegian(),
        consent_at: oslo_time(c.consent.at),
        consent_note: c
            .consent
            .note
            .as_ref()
            .map(|n| shown(n.as_str()))
            .unwrap_or_default(),
        consent_by: record
            .evidence
            .recorded_by
            .as_deref()
            .map(|by| shown(&super::page::actor_words(by)))
            .unwrap_or_default(),
        consent_ref: record
            .evidence
            .reference
            .as_deref()
            .map(shown)
            .unwrap_or_default(),
        request_mail,
        subscriptions: record
            .subscriptions
            .iter()
            .map(|s| SubscriptionRow {
                name: s.name.as_str().to_owned(),
                gets: s.left_at.is_none(),
                how: s.consent.source.norwegian(),
                at: oslo_time(s.consent.at),
                note: s
                    .consent
                    .note
                    .as_ref()
                    .map(|n| shown(n.as_str()))
                    .unwrap_or_default(),
                left: optional_time(s.left_at),
            })
            .collect(),
        deliveries: record
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
            .collect(),
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
            .map(|entry| LogRow {
                at: oslo_time(entry.at),
                who: shown(&entry.actor.norwegian()),
                what: entry.action.norwegian().into_owned(),
                detail: shown(entry.detail.as_deref().unwrap_or_default()),
            })
            .collect(),
    };
    render(view)
}

/// GET /admin/contacts/{id}/edit
pub async fn edit_form(
    State(state): State<AppState>,
    user: StaffUser,
    Path(raw): Path<String>,
) -> Response {
    let id = match id_of(&raw) {
        Ok(id) => id,
        Err(page) => return page,
    };
    let contact = match state.admin.contacts.by_id(id).await {
        Ok(contact) => contact,
        Err(e) => return refused(e),
    };
    let fields = ContactForm {
        email: contact.email.to_string(),
        name: contact
            .name
            .map(|n| n.as_str().to_owned())
            .unwrap_or_default(),
        organisation: contact
            .organisation
            .map(|o| o.as_str().to_owned())
            .unwrap_or_default(),
        status: contact.status.as_str().to_owned(),
        ..Default::default()
    };
    form_page(&user, Some(id), fields, FormProblems::default(), Vec::new())
}

/// POST /admin/contacts/{id}/edit
pub async fn save(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    StaffForm { user, form }: StaffForm<ContactForm>,
) -> Response {
    let id = match id_of(&raw) {
        Ok(id) => id,
        Err(page) => return page,
    };
    let current = match state.admin.contacts.by_id(id).await {
        Ok(contact) => contact,
        Err(e) => return refused(e),
    };
    let mut problems = FormProblems::default();
    let email = EmailAddress::parse(&form.email)
        .map_err(|_| problems.email = Some(email_problem()))
        .ok();
    let (name, organisation) = name_and_organisation(&form, &mut problems);
    let status = form.status.parse::<ContactStatus>().ok();
    if status.is_none() {
        problems.status = Some("Velg en status.".into());
    }
    let note = ConsentNote::parse(&form.note).unwrap_or_else(|e| {
        problems.note = Some(text_problem(&e));
        None
    });
    let was_out = matches!(
        current.status,
        ContactStatus::Unsubscribed | ContactStatus::Bounced
    );
    if was_out
        && status == Some(ContactStatus::Confirmed)
        && note.is_none()
        && problems.note.is_none()
    {
        problems.note = Some(
            "Personen har meldt seg av eller adressen er avvist. For å bekrefte kontakten igjen må du skrive når og hvordan personen ba om det på nytt.".into(),
        );
    }
    let (Some(email), Some(status), false) = (email, status, problems.any()) else {
        return form_page(&user, Some(id), form, problems, Vec::new());
    };
    let mut changes = ContactChanges::default();
    if email != current.email {
        changes.email = Some(email);
    }
    if name != current.name {
        changes.name = Some(name);
    }
    if organisation != current.organisation {
        changes.organisation = Some(organisation);
    }
    if status != current.status {
        changes.status = Some(status);
        if let Some(note) = note.filter(|_| status == ContactStatus::Confirmed) {
            changes.consent = Some(Consent {
                source: ConsentSource::Staff,
                at: Timestamp::now(),
                note: Some(note),
            });
        }
    }
    if changes.is_empty() {
        return Redirect::to(&format!("/admin/contacts/{id}")).into_response();
    }
    match state
        .admin
        .contacts
        .edit(&current.email, &changes, &user.actor())
        .await
    {
        Ok(_) => Redirect::to(&format!("/admin/contacts/{id}?melding=endret")).into_response(),
        Err(ContactError::Store(StoreError::ContactExists(_))) => {
            problems.email = Some("En annen kontakt har allerede denne adressen.".into());
            form_page(&user, Some(id), form, problems, Vec::new())
        }
        Err(ContactError::Store(StoreError::ConcurrentChange(_))) => {
            problems.general = Some(
                "Kontakten ble endret av noen andre (eller meldte seg av) mens du skrev. Ingenting er lagret. Se over kontakten og prøv igjen.".into(),
            );
            form_page(&user, Some(id), form, problems, Vec::new())
        }
        Err(ContactError::Store(StoreError::Refused(_))) => {
            problems.status = Some(
                "Denne statusendringen er ikke lov: en som har meldt seg av eller er avvist, kan bare bekreftes med nytt samtykke.".into(),
            );
            form_page(&user, Some(id), form, problems, Vec::new())
        }
        Err(e) => refused(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    note: String,
}

/// POST /admin/contacts/{id}/reset-bounce
pub async fn reset_bounce(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    StaffForm { user, form }: StaffForm<NoteForm>,
) -> Response {
    let id = match id_of(&raw) {
        Ok(id) => id,
        Err(page) => return page,
    };
    let note = match ConsentNote::parse(&form.note) {
        Ok(Some(note)) => note,
        Ok(None) => {
            return problem_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Skriv hvorfor adressen virker igjen",
                "Skriv en kort merknad, for eksempel «personen ringte 03.12.2026, postkassen er full igjen». Gå tilbake og prøv igjen; ingenting er endret.",
            );
        }
        Err(e) => {
            return problem_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Merknaden kan ikke brukes",
                &format!(
                    "{} Gå tilbake og prøv igjen; ingenting er endret.",
                    text_problem(&e)
                ),
            );
        }
    };
    match state
        .admin
        .contacts
        .reset_bounced(id, &note, &user.actor())
        .await
    {
        Ok(_) => Redirect::to(&format!("/admin/contacts/{id}?melding=tilbake")).into_response(),
        Err(ContactError::Store(StoreError::NotBounced(_))) => problem_page(
            StatusCode::CONFLICT,
            "Kontakten er ikke avvist",
            "Bare en kontakt med status avvist kan settes tilbake slik. Ingenting er endret.",
        ),
        Err(e) => refused(e),
    }
}

#[derive(Template)]
#[template(path = "admin/contact_remove.html")]
struct RemovePage {
    chrome: Chrome,
    id: i64,
    email: String,
    deliveries: usize,
    inbound: usize,
}

/// GET /admin/contacts/{id}/remove: what erasing will remove, and the button.
pub async fn remove_form(
    State(state): State<AppState>,
    user: StaffUser,
    Path(raw): Path<String>,
) -> Response {
    let id = match id_of(&raw) {
        Ok(id) => id,
        Err(page) => return page,
    };
    let record = match state.admin.contacts.record(id).await {
        Ok(record) => record,
        Err(e) => return refused(e),
    };
    render(RemovePage {
        chrome: Chrome::new(&user, None),
        id,
        email: shown(record.contact.email.as_str()),
        deliveries: record.deliveries.len(),
        inbound: record.inbound.len(),
    })
}

#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    confirm: String,
}

/// POST /admin/contacts/{id}/remove
pub async fn remove(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    StaffForm { user, form }: StaffForm<RemoveForm>,
) -> Response {
    let id = match id_of(&raw) {
        Ok(id) => id,
        Err(page) => return page,
    };
    if form.confirm != "ja" {
        return problem_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Slettingen er ikke bekreftet",
            "Kryss av for at du vil slette kontakten for godt, og prøv igjen. Ingenting er slettet.",
        );
    }
    match state.admin.contacts.erase(id, &user.actor()).await {
        Ok(_) => Redirect::to("/admin/contacts?melding=slettet").into_response(),
        Err(ContactError::Store(StoreError::ContactNotFound(_))) => problem_page(
            StatusCode::NOT_FOUND,
            "Kontakten finnes ikke",
            "Kontakten er allerede slettet, eller nummeret er feil. Ingenting mer er slettet.",
        ),
        Err(e) => refused(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct ExportForm {
    #[serde(default)]
    format: String,
}

#[derive(Template)]
#[template(path = "admin/personal_data.html")]
struct PersonalDataPage<'a> {
    data: &'a PersonalData,
}

/// POST /admin/contacts/{id}/innsyn: the person's copy of their data, as a JSON file
/// or a readable page. A POST, since it is written to the audit log.
pub async fn personal_data(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    StaffForm { user, form }: StaffForm<ExportForm>,
) -> Response {
    let id = match id_of(&raw) {
        Ok(id) => id,
        Err(page) => return page,
    };
    let format = if form.format == "html" {
        PersonalDataFormat::Html
    } else {
        PersonalDataFormat::Json
    };
    let data = match state
        .admin
        .contacts
        .personal_data(id, format, &user.actor())
        .await
    {
        Ok(data) => data,
        Err(e) => return refused(e),
    };
    let (body, content_type, name) = match format {
        PersonalDataFormat::Json => match serde_json::to_vec_pretty(&data) {
            Ok(body) => (body, "application/json", format!("innsyn-{id}.json")),
            Err(e) => return failure(&e),
        },
        PersonalDataFormat::Html => match (PersonalDataPage { data: &data }).render() {
            Ok(body) => (
                body.into_bytes(),
                "text/html; charset=utf-8",
                format!("innsyn-{id}.html"),
            ),
            Err(e) => return failure(&e),
        },
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let disposition = match format {
        PersonalDataFormat::Json => "attachment",
        PersonalDataFormat::Html => "inline",
    };
    if let Ok(value) = HeaderValue::from_str(&format!("{disposition}; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}
