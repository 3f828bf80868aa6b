//! Asking for a send (now, or at a time), a test copy, approving a planned send and
//! cancelling the plan. A refusal shows on the checklist at the field it concerns.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::checklist::{Form, again};
use crate::domain::{EmailAddress, Slug};
use crate::ops::SendRequested;
use crate::web::AppState;
use crate::web::staff::error::{PageError, Refusal, no_token_key};
use crate::web::staff::guard::{Empty, StaffForm, StaffUser};
use crate::web::staff::page::from_oslo_local;
use crate::web::staff::path::IssueSlugPath;

#[derive(Debug, Deserialize)]
pub struct TestForm {
    #[serde(default)]
    to: String,
}
/// POST /admin/issues/{slug}/test: one copy, its subject marked [TEST].
pub async fn test_copy(
    State(state): State<AppState>,
    IssueSlugPath(slug): IssueSlugPath,
    StaffForm { user, form }: StaffForm<TestForm>,
) -> Result<Response, PageError> {
    let refused = match send_test(&state, &slug, &form.to, &user).await {
        Ok(()) => {
            return Ok(
                Redirect::to(&format!("/admin/issues/{slug}/send?melding=test")).into_response(),
            );
        }
        Err(e) => e.for_form()?,
    };
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    again(
        &state,
        &user,
        &slug,
        refused,
        Form::Test,
        unprocessable,
        Some(&form.to),
    )
    .await
}

async fn send_test(
    state: &AppState,
    slug: &Slug,
    to: &str,
    user: &StaffUser,
) -> Result<(), PageError> {
    let to = EmailAddress::parse(to).map_err(|_| {
        PageError::Refused(vec![Refusal {
            field: Some("to"),
            ..Refusal::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Adressen kan ikke brukes",
                "Skriv en hel e-postadresse, for eksempel navn@example.no.",
            )
        }])
    })?;
    let Some(sender) = &state.admin.test_sender else {
        return Err(PageError::Refused(vec![no_token_key()]));
    };
    let issues = &state.admin.issues;
    Ok(issues.test_send(sender, slug, &to, &user.actor()).await?)
}

#[derive(Debug, Deserialize)]
pub struct StartForm {
    #[serde(default)]
    antall: String,
    /// `na` (now) or `senere` (at `tidspunkt`).
    #[serde(default)]
    naar: String,
    /// `2026-12-03T09:00`, Norwegian time.
    #[serde(default)]
    tidspunkt: String,
}

/// POST /admin/issues/{slug}/send: asks for the send once the typed number is the
/// number of recipients: now, or at a time (Europe/Oslo).
pub async fn start(
    State(state): State<AppState>,
    IssueSlugPath(slug): IssueSlugPath,
    StaffForm { user, form }: StaffForm<StartForm>,
) -> Result<Response, PageError> {
    let refused = match request_send(&state, &slug, &form, &user).await {
        Ok(SendRequested::Started(_)) => {
            let to = format!("/admin/issues/{slug}/report?melding=startet");
            return Ok(Redirect::to(&to).into_response());
        }
        Ok(SendRequested::Planned { needs_approval, .. }) => {
            let code = if needs_approval {
                "venter-godkjenning"
            } else {
                "planlagt"
            };
            let to = format!("/admin/issues/{slug}/send?melding={code}");
            return Ok(Redirect::to(&to).into_response());
        }
        Err(e) => e.for_form()?,
    };
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    again(
        &state,
        &user,
        &slug,
        refused,
        Form::Start,
        unprocessable,
        None,
    )
    .await
}

async fn request_send(
    state: &AppState,
    slug: &Slug,
    form: &StartForm,
    user: &StaffUser,
) -> Result<SendRequested, PageError> {
    // Only read here; whether the time will do is the operation's rule.
    let at = if form.naar == "senere" {
        let unreadable = || {
            PageError::Refused(vec![Refusal {
                field: Some("tidspunkt"),
                ..Refusal::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Tidspunktet kan ikke leses",
                    "Skriv dato og klokkeslett for utsendingen, for eksempel 03.12.2026 09:00.",
                )
            }])
        };
        Some(from_oslo_local(&form.tidspunkt).ok_or_else(unreadable)?)
    } else {
        None
    };
    let issues = &state.admin.issues;
    Ok(issues
        .request_send(slug, &form.antall, at, &user.actor())
        .await?)
}

/// POST /admin/issues/{slug}/approve: another staff member approves a planned send;
/// one that is due starts at once. Why this account's approval does not count is shown
/// at the plan; any other refusal is a page of its own.
pub async fn approve(
    State(state): State<AppState>,
    IssueSlugPath(slug): IssueSlugPath,
    StaffForm { user, .. }: StaffForm<Empty>,
) -> Result<Response, PageError> {
    let refused = match state.admin.issues.approve_send(&slug, &user.actor()).await {
        Ok(SendRequested::Started(_)) => {
            let to = format!("/admin/issues/{slug}/report?melding=startet");
            return Ok(Redirect::to(&to).into_response());
        }
        Ok(SendRequested::Planned { .. }) => {
            let to = format!("/admin/issues/{slug}/send?melding=godkjent");
            return Ok(Redirect::to(&to).into_response());
        }
        Err(e) => PageError::from(e).for_form()?,
    };
    let Some(status) = refused
        .iter()
        .find(|r| r.field == Some("approval"))
        .map(|r| r.status)
    else {
        return Err(PageError::Refused(refused));
    };
    again(&state, &user, &slug, refused, Form::Start, status, None).await
}

/// POST /admin/issues/{slug}/cancel-plan
pub async fn cancel_plan(
    State(state): State<AppState>,
    IssueSlugPath(slug): IssueSlugPath,
    StaffForm { user, .. }: StaffForm<Empty>,
) -> Result<Response, PageError> {
    state.admin.issues.cancel_plan(&slug, &user.actor()).await?;
    let to = format!("/admin/issues/{slug}/send?melding=plan-avbrutt");
    Ok(Redirect::to(&to).into_response())
}
