//! API tokens: the admin API's credentials, one per integration. The list (never a
//! secret), a form to make one (its secret shown once, on the page that answers the
//! POST), and a revoke button per token.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::guard::{StaffForm, StaffUser};
use super::page::{Chrome, actor_words, failure, oslo_time, problem_page, render, shown};
use crate::domain::{ApiScope, ApiTokenName};
use crate::ops::{ApiTokenError, NewApiToken};
use crate::web::AppState;

fn notice(code: &str) -> Option<&'static str> {
    Some(match code {
        "trukket" => "Nøkkelen er trukket tilbake. Det som bruker den, kommer ikke inn lenger.",
        _ => return None,
    })
}

struct TokenRow {
    name: String,
    scope: &'static str,
    created: String,
    created_by: String,
    last_used: String,
    revoked: String,
}

/// The secret of a token just made, shown on this one page.
struct Made {
    name: String,
    scope: &'static str,
    secret: String,
}

#[derive(Template)]
#[template(path = "admin/api_tokens.html")]
struct ApiTokensPage {
    chrome: Chrome,
    rows: Vec<TokenRow>,
    made: Option<Made>,
    name: String,
    name_error: Option<&'static str>,
}

#[derive(Debug, Default, Deserialize)]
pub struct NoticeQuery {
    #[serde(default)]
    melding: String,
}

async fn page(
    state: &AppState,
    user: &StaffUser,
    notice: Option<&'static str>,
    made: Option<NewApiToken>,
    name: &str,
    name_error: Option<&'static str>,
) -> Response {
    let tokens = match state.api_tokens.list().await {
        Ok(tokens) => tokens,
        Err(e) => return failure(&e),
    };
    let rows = tokens
        .iter()
        .map(|t| TokenRow {
            name: shown(&t.name),
            scope: t.scope.norwegian(),
            created: oslo_time(t.created_at),
            created_by: shown(&actor_words(&t.created_by)),
            last_used: t.last_used_at.map(oslo_time).unwrap_or_default(),
            revoked: t
                .revoked_at
                .map(|at| {
                    let by = t.revoked_by.as_deref().map(actor_words).unwrap_or_default();
                    shown(&format!("{} av {by}", oslo_time(at)))
                })
                .unwrap_or_default(),
        })
        .collect();
    render(ApiTokensPage {
        chrome: Chrome::new(user, notice),
        rows,
        made: made.map(|m| Made {
            name: m.name.to_string(),
            scope: m.scope.norwegian(),
            secret: m.secret.expose().to_owned(),
        }),
        name: name.chars().take(ApiTokenName::MAX_CHARS * 2).collect(),
        name_error,
    })
}

/// GET /admin/api-tokens
pub async fn list(
    State(state): State<AppState>,
    user: StaffUser,
    Query(query): Query<NoticeQuery>,
) -> Response {
    page(&state, &user, notice(&query.melding), None, "", None).await
}

#[derive(Debug, Default, Deserialize)]
pub struct NewToken {
    #[serde(default)]
    name: String,
}

/// POST /admin/api-tokens: makes a token and answers with its secret, once. (Not a
/// redirect: the secret must never be in a URL, and no later page can show it.)
pub async fn add(
    State(state): State<AppState>,
    StaffForm { user, form }: StaffForm<NewToken>,
) -> Response {
    match state
        .api_tokens
        .add(&form.name, ApiScope::Inbound, &user.actor())
        .await
    {
        Ok(made) => page(&state, &user, None, Some(made), "", None).await,
        Err(e) => {
            let problem = match e {
                ApiTokenError::BadName => {
                    "Navnet kan ha 1–64 bokstaver, sifre, mellomrom og tegnene . - _ (for eksempel «Postmottak hos leverandøren»)."
                }
                ApiTokenError::NameTaken(_) => {
                    "Det finnes allerede en nøkkel med dette navnet (også tilbaketrukne beholder navnet sitt). Velg et annet."
                }
                e => return refused(e),
            };
            let mut response = page(&state, &user, None, None, &form.name, Some(problem)).await;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            response
        }
    }
}

/// POST /admin/api-tokens/revoke
pub async fn revoke(
    State(state): State<AppState>,
    StaffForm { user, form }: StaffForm<NewToken>,
) -> Response {
    match state.api_tokens.revoke(&form.name, &user.actor()).await {
        Ok(()) => Redirect::to("/admin/api-tokens?melding=trukket").into_response(),
        Err(e) => refused(e),
    }
}

fn refused(e: ApiTokenError) -> Response {
    let message = match e {
        ApiTokenError::NotFound(_) => "Det finnes ingen nøkkel med dette navnet.",
        ApiTokenError::AlreadyRevoked(_) => "Nøkkelen var allerede trukket tilbake.",
        ApiTokenError::NotAllowed => "Bare en administrator kan lage og trekke tilbake API-nøkler.",
        ApiTokenError::BadName | ApiTokenError::NameTaken(_) => {
            "Navnet kan ikke brukes. Gå tilbake og velg et annet."
        }
        ApiTokenError::Store(e) => return failure(&e),
    };
    let status = if matches!(e, ApiTokenError::NotAllowed) {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    problem_page(
        status,
        "Det gikk ikke",
        &format!("{message} Ingenting er endret."),
    )
}
