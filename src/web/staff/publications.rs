//! The publications: the list with each one's subscribers, a form to add one, and a
//! form to change one's name, description or kind (the slug stays: mailed List-Ids and
//! archive links carry it).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::guard::{StaffForm, StaffUser};
use super::page::{Chrome, count, failure, grouped, render};
use super::path::{Missing, PublicationSlugPath};
use crate::domain::{PublicationError, PublicationKind};
use crate::ops::publications::{PublicationEdit, PublicationInput, PublicationOpsError};
use crate::web::AppState;

fn notice(code: &str) -> Option<&'static str> {
    Some(match code {
        "lagt-til" => "Publikasjonen er lagt til. Ingen får den før de selv velger den.",
        "lagret" => "Endringene er lagret.",
        _ => return None,
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct NoticeQuery {
    #[serde(default)]
    melding: String,
}

struct Row {
    slug: String,
    name: String,
    description: String,
    kind: &'static str,
    subscribers: String,
}

/// The form's fields as typed, and the problem with each.
#[derive(Debug, Default, Deserialize)]
pub struct PublicationFields {
    #[serde(default)]
    slug: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    kind: String,
}

#[derive(Default)]
struct Problems {
    slug: Option<String>,
    name: Option<String>,
    description: Option<String>,
    kind: Option<String>,
}

impl Problems {
    fn any(&self) -> bool {
        self.slug.is_some()
            || self.name.is_some()
            || self.description.is_some()
            || self.kind.is_some()
    }

    /// The refusal at its field.
    fn of(error: &PublicationOpsError) -> Option<Self> {
        let mut problems = Problems::default();
        match error {
            PublicationOpsError::Invalid(e) => {
                let text = Some(e.norwegian());
                match e {
                    PublicationError::BadSlug(_) => problems.slug = text,
                    PublicationError::UnknownKind(_) => problems.kind = text,
                    PublicationError::Empty { field }
                    | PublicationError::TooLong { field, .. }
                    | PublicationError::Control { field } => {
                        if *field == "description" {
                            problems.description = text;
                        } else {
                            problems.name = text;
                        }
                    }
                    PublicationError::NoneChosen => return None,
                }
            }
            PublicationOpsError::Exists(slug) => {
                problems.slug = Some(format!(
                    "Det finnes allerede en publikasjon med kortnavnet «{slug}». Velg et annet."
                ));
            }
            PublicationOpsError::SlugIsIssue(slug) => {
                problems.slug = Some(format!(
                    "«{slug}» er kortnavnet til en utgave (de deler adressene i arkivet). Velg et annet."
                ));
            }
            PublicationOpsError::NothingToChange => {
                problems.name = Some("Ingenting er endret.".to_owned());
            }
            PublicationOpsError::NotFound(_) | PublicationOpsError::Store(_) => return None,
        }
        Some(problems)
    }
}

#[derive(Template)]
#[template(path = "admin/publications.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<Row>,
    fields: PublicationFields,
    problems: Problems,
}

#[derive(Template)]
#[template(path = "admin/publication.html")]
struct EditPage {
    chrome: Chrome,
    slug: String,
    subscribers: String,
    fields: PublicationFields,
    problems: Problems,
}

fn kind_word(kind: PublicationKind) -> &'static str {
    match kind {
        PublicationKind::Newsletter => "Nyhetsbrev (seksjoner med innholdsfortegnelse)",
        PublicationKind::Announcement => "Kunngjøring (noen avsnitt og én tydelig lenke)",
    }
}

async fn list_page(
    state: &AppState,
    user: &StaffUser,
    message: Option<&'static str>,
    fields: PublicationFields,
    problems: Problems,
) -> Response {
    let list = match state.admin.publications.list().await {
        Ok(list) => list,
        Err(e) => return failure(&e),
    };
    let status = if problems.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut response = render(ListPage {
        chrome: Chrome::new(user, message),
        rows: list
            .iter()
            .map(|line| Row {
                slug: line.publication.slug.to_string(),
                name: line.publication.name.as_str().to_owned(),
                description: line.publication.description.as_str().to_owned(),
                kind: kind_word(line.publication.kind),
                subscribers: grouped(line.subscribers),
            })
            .collect(),
        fields,
        problems,
    });
    *response.status_mut() = status;
    response
}

/// GET /admin/publications
pub async fn list(
    State(state): State<AppState>,
    user: StaffUser,
    Query(query): Query<NoticeQuery>,
) -> Response {
    let fields = PublicationFields {
        kind: PublicationKind::Announcement.as_str().to_owned(),
        ..Default::default()
    };
    list_page(
        &state,
        &user,
        notice(&query.melding),
        fields,
        Problems::default(),
    )
    .await
}

/// POST /admin/publications: add one.
pub async fn add(
    State(state): State<AppState>,
    StaffForm { user, form }: StaffForm<PublicationFields>,
) -> Response {
    let input = PublicationInput {
        slug: form.slug.clone(),
        name: form.name.clone(),
        description: form.description.clone(),
        kind: form.kind.clone(),
    };
    match state.admin.publications.add(&input, &user.actor()).await {
        Ok(_) => Redirect::to("/admin/publications?melding=lagt-til").into_response(),
        Err(e) => match Problems::of(&e) {
            Some(problems) => list_page(&state, &user, None, form, problems).await,
            None => failure(&e),
        },
    }
}

/// GET /admin/publications/{slug}
pub async fn edit_form(
    State(state): State<AppState>,
    user: StaffUser,
    PublicationSlugPath(slug): PublicationSlugPath,
    Query(query): Query<NoticeQuery>,
) -> Response {
    let list = match state.admin.publications.list().await {
        Ok(list) => list,
        Err(e) => return failure(&e),
    };
    let Some(line) = list.iter().find(|l| l.publication.slug == slug) else {
        return Missing::Publication.into_response();
    };
    let p = &line.publication;
    render(EditPage {
        chrome: Chrome::new(&user, notice(&query.melding)),
        slug: p.slug.to_string(),
        subscribers: count(line.subscribers, "mottaker", "mottakere"),
        fields: PublicationFields {
            slug: p.slug.to_string(),
            name: p.name.as_str().to_owned(),
            description: p.description.as_str().to_owned(),
            kind: p.kind.as_str().to_owned(),
        },
        problems: Problems::default(),
    })
}

/// POST /admin/publications/{slug}: save the changed fields.
pub async fn save(
    State(state): State<AppState>,
    PublicationSlugPath(slug): PublicationSlugPath,
    StaffForm { user, form }: StaffForm<PublicationFields>,
) -> Response {
    let slug = slug.to_string();
    let edit = PublicationEdit {
        name: Some(form.name.clone()),
        description: Some(form.description.clone()),
        kind: Some(form.kind.clone()),
    };
    match state
        .admin
        .publications
        .edit(&slug, &edit, &user.actor())
        .await
    {
        Ok(p) => {
            Redirect::to(&format!("/admin/publications/{}?melding=lagret", p.slug)).into_response()
        }
        Err(e) => match Problems::of(&e) {
            Some(problems) => {
                let mut response = render(EditPage {
                    chrome: Chrome::new(&user, None),
                    slug: slug.clone(),
                    subscribers: String::new(),
                    fields: PublicationFields { slug, ..form },
                    problems,
                });
                *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                response
            }
            None => match e {
                PublicationOpsError::NotFound(_) | PublicationOpsError::Invalid(_) => {
                    Missing::Publication.into_response()
                }
                other => failure(&other),
            },
        },
    }
}
