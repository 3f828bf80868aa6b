//! «Innstillinger»: what staff own of the settings (who sends, each publication's
//! footer), changed by an administrator and in effect at once; and the settings that
//! come from the file or the environment, with where each comes from.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::guard::{StaffForm, StaffUser};
use super::page::{Chrome, failure, render};
use super::path::{Missing, PublicationSlugPath};
use crate::config::OperatorSetting;
use crate::domain::IdentityField;
use crate::ops::staff_settings::{
    FooterInput, StaffSettingsError, StaffSettingsInput, StaffSettingsView,
};
use crate::web::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct NoticeQuery {
    #[serde(default)]
    melding: String,
}

fn notice(code: &str) -> Option<&'static str> {
    Some(match code {
        "lagret" => {
            "Endringene er lagret. De gjelder for neste utgave, testkopi og bekreftelse som sendes."
        }
        "uendret" => "Ingenting var endret.",
        _ => return None,
    })
}

/// The who-sends form as typed.
#[derive(Debug, Default, Deserialize)]
pub struct IdentityFields {
    #[serde(default)]
    organisation_name: String,
    #[serde(default)]
    organisation_short_name: String,
    #[serde(default)]
    from_name: String,
    #[serde(default)]
    from_address: String,
    #[serde(default)]
    reply_address: String,
}

/// The refusal and the field it is about.
struct Refusal {
    field: &'static str,
    text: String,
}

fn field_id(field: IdentityField) -> &'static str {
    match field {
        IdentityField::OrganisationName => "organisation_name",
        IdentityField::OrganisationShortName => "organisation_short_name",
        IdentityField::FromName => "from_name",
        IdentityField::FromAddress => "from_address",
        IdentityField::ReplyAddress => "reply_address",
        IdentityField::FooterContact => "contact",
        IdentityField::FooterAbout => "about",
        IdentityField::FooterJoin => "join",
    }
}

fn refusal(error: &StaffSettingsError) -> Option<Refusal> {
    match error {
        StaffSettingsError::Invalid(e) => Some(Refusal {
            field: e.field().map_or("", field_id),
            text: e.norwegian(),
        }),
        StaffSettingsError::NotAdmin => Some(Refusal {
            field: "",
            text: "Bare en administrator kan endre disse innstillingene.".to_owned(),
        }),
        _ => None,
    }
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    chrome: Chrome,
    fields: IdentityFields,
    file: IdentityFields,
    refusal: Option<Refusal>,
    publications: Vec<(String, String)>,
    operator: Vec<OperatorSetting>,
}

fn typed(view: &StaffSettingsView, file: bool) -> IdentityFields {
    let i = if file { &view.file } else { &view.in_use };
    IdentityFields {
        organisation_name: i.organisation_name.clone(),
        organisation_short_name: i.organisation_short_name.clone(),
        from_name: i.from_name.clone(),
        from_address: i.from_address.to_string(),
        reply_address: i.reply_address.to_string(),
    }
}

async fn settings_page(
    state: &AppState,
    user: &StaffUser,
    message: Option<&'static str>,
    fields: Option<IdentityFields>,
    refusal: Option<Refusal>,
) -> Response {
    let view = match state.admin.staff_settings.current().await {
        Ok(view) => view,
        Err(e) => return failure(&e),
    };
    let publications = match state.admin.publications.list().await {
        Ok(list) => list
            .into_iter()
            .map(|l| {
                (
                    l.publication.slug.to_string(),
                    l.publication.name.as_str().to_owned(),
                )
            })
            .collect(),
        Err(e) => return failure(&e),
    };
    let status = if refusal.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut response = render(SettingsPage {
        chrome: Chrome::new(user, message),
        fields: fields.unwrap_or_else(|| typed(&view, false)),
        file: typed(&view, true),
        refusal,
        publications,
        operator: state.admin.operator_settings.clone(),
    });
    *response.status_mut() = status;
    response
}

/// GET /admin/innstillinger
pub async fn show(
    State(state): State<AppState>,
    user: StaffUser,
    Query(query): Query<NoticeQuery>,
) -> Response {
    settings_page(&state, &user, notice(&query.melding), None, None).await
}

/// POST /admin/innstillinger
pub async fn save(
    State(state): State<AppState>,
    StaffForm { user, form }: StaffForm<IdentityFields>,
) -> Response {
    let input = StaffSettingsInput {
        organisation_name: form.organisation_name.clone(),
        organisation_short_name: form.organisation_short_name.clone(),
        from_name: form.from_name.clone(),
        from_address: form.from_address.clone(),
        reply_address: form.reply_address.clone(),
    };
    match state.admin.staff_settings.save(&input, &user.actor()).await {
        Ok(changed) if changed.is_empty() => {
            Redirect::to("/admin/innstillinger?melding=uendret").into_response()
        }
        Ok(_) => Redirect::to("/admin/innstillinger?melding=lagret").into_response(),
        Err(e) => match refusal(&e) {
            Some(refusal) => settings_page(&state, &user, None, Some(form), Some(refusal)).await,
            None => failure(&e),
        },
    }
}

/// A publication's footer as typed.
#[derive(Debug, Default, Deserialize)]
pub struct FooterFields {
    #[serde(default)]
    contact: String,
    #[serde(default)]
    about: String,
    #[serde(default)]
    join: String,
}

#[derive(Template)]
#[template(path = "admin/footer.html")]
struct FooterPage {
    chrome: Chrome,
    slug: String,
    name: String,
    short_name: String,
    fields: FooterFields,
    /// Which parts are the default text.
    default_contact: bool,
    default_about: bool,
    default_join: bool,
    refusal: Option<Refusal>,
}

async fn footer_page(
    state: &AppState,
    user: &StaffUser,
    slug: &crate::domain::PublicationSlug,
    message: Option<&'static str>,
    typed: Option<FooterFields>,
    refusal: Option<Refusal>,
) -> Response {
    let (view, identity) = match (
        state.admin.staff_settings.footer(slug).await,
        state.admin.staff_settings.current().await,
    ) {
        (Ok(view), Ok(identity)) => (view, identity),
        (Err(StaffSettingsError::NoPublication(_)), _) => {
            return Missing::Publication.into_response();
        }
        (Err(e), _) | (_, Err(e)) => return failure(&e),
    };
    let status = if refusal.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut response = render(FooterPage {
        chrome: Chrome::new(user, message),
        slug: slug.to_string(),
        name: view.publication.name.as_str().to_owned(),
        short_name: identity.in_use.organisation_short_name,
        fields: typed.unwrap_or_else(|| FooterFields {
            contact: view.in_use.contact.as_str().to_owned(),
            about: view.in_use.about.as_str().to_owned(),
            join: view.in_use.join.as_str().to_owned(),
        }),
        default_contact: view.own.contact.is_none(),
        default_about: view.own.about.is_none(),
        default_join: view.own.join.is_none(),
        refusal,
    });
    *response.status_mut() = status;
    response
}

/// GET /admin/publications/{slug}/bunntekst
pub async fn footer(
    State(state): State<AppState>,
    user: StaffUser,
    PublicationSlugPath(slug): PublicationSlugPath,
    Query(query): Query<NoticeQuery>,
) -> Response {
    footer_page(&state, &user, &slug, notice(&query.melding), None, None).await
}

/// POST /admin/publications/{slug}/bunntekst
pub async fn save_footer(
    State(state): State<AppState>,
    PublicationSlugPath(slug): PublicationSlugPath,
    StaffForm { user, form }: StaffForm<FooterFields>,
) -> Response {
    let input = FooterInput {
        contact: form.contact.clone(),
        about: form.about.clone(),
        join: form.join.clone(),
    };
    let back = |code: &str| format!("/admin/publications/{slug}/bunntekst?melding={code}");
    match state
        .admin
        .staff_settings
        .save_footer(&slug, &input, &user.actor())
        .await
    {
        Ok(changed) if changed.is_empty() => Redirect::to(&back("uendret")).into_response(),
        Ok(_) => Redirect::to(&back("lagret")).into_response(),
        Err(StaffSettingsError::NoPublication(_)) => Missing::Publication.into_response(),
        Err(e) => match refusal(&e) {
            Some(refusal) => {
                footer_page(&state, &user, &slug, None, Some(form), Some(refusal)).await
            }
            None => failure(&e),
        },
    }
}
