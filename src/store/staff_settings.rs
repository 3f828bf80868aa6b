//! What staff own of the settings (issue 31): who sends, and each publication's footer.
//! Read where it is used, so a change takes effect at once in every process.

use sqlx::Row;

use super::audit::{self, Actor};
use super::{Result, Store, StoreError};
use crate::domain::{
    AuditAction, EmailAddress, FooterText, IdentityField, IdentityName, PublicationFooter,
    PublicationSlug, StaffSettings, Timestamp,
};

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn name(value: Option<String>, field: IdentityField) -> Result<Option<IdentityName>> {
    value
        .map(|v| IdentityName::parse(&v, field).map_err(corrupt))
        .transpose()
}

fn address(value: Option<String>) -> Result<Option<EmailAddress>> {
    value
        .map(|v| EmailAddress::parse(&v).map_err(corrupt))
        .transpose()
}

/// A stored footer part back as text.
pub(super) fn footer_text(
    value: Option<String>,
    field: IdentityField,
) -> Result<Option<FooterText>> {
    value
        .map(|v| FooterText::parse(&v, field).map_err(corrupt))
        .transpose()
}

impl Store {
    /// What staff have set; all `None` until they save the settings page.
    pub async fn staff_settings(&self) -> Result<StaffSettings> {
        let row = sqlx::query(
            "SELECT organisation_name, organisation_short_name, from_name, from_address, \
             reply_address, updated_at FROM staff_settings WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(StaffSettings::default());
        };
        Ok(StaffSettings {
            organisation_name: name(
                row.try_get("organisation_name")?,
                IdentityField::OrganisationName,
            )?,
            organisation_short_name: name(
                row.try_get("organisation_short_name")?,
                IdentityField::OrganisationShortName,
            )?,
            from_name: name(row.try_get("from_name")?, IdentityField::FromName)?,
            from_address: address(row.try_get("from_address")?)?,
            reply_address: address(row.try_get("reply_address")?)?,
            updated_at: Some(Timestamp::from_unix_ms(row.try_get("updated_at")?)),
        })
    }

    /// Stores what staff set, and in the same transaction who did it and what changed
    /// (`changed`, in words).
    pub async fn save_staff_settings(
        &self,
        settings: &StaffSettings,
        changed: &str,
        actor: &Actor,
    ) -> Result<()> {
        let now = Timestamp::now().unix_ms();
        let text = |n: &Option<IdentityName>| n.as_ref().map(|n| n.as_str().to_owned());
        let addr = |a: &Option<EmailAddress>| a.as_ref().map(|a| a.as_str().to_owned());
        let (_turn, mut tx) = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO staff_settings (id, organisation_name, organisation_short_name, from_name, \
             from_address, reply_address, updated_at) VALUES (1, $1, $2, $3, $4, $5, $6) \
             ON CONFLICT (id) DO UPDATE SET organisation_name = $1, organisation_short_name = $2, \
             from_name = $3, from_address = $4, reply_address = $5, updated_at = $6",
        )
        .bind(text(&settings.organisation_name))
        .bind(text(&settings.organisation_short_name))
        .bind(text(&settings.from_name))
        .bind(addr(&settings.from_address))
        .bind(addr(&settings.reply_address))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            AuditAction::SettingsEdit,
            None,
            Some(changed.to_owned()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a publication's footer (`None` parts go back to the default text), with
    /// who did it and what changed.
    pub async fn save_publication_footer(
        &self,
        slug: &PublicationSlug,
        footer: &PublicationFooter,
        changed: &str,
        actor: &Actor,
    ) -> Result<()> {
        let now = Timestamp::now().unix_ms();
        let text = |t: &Option<FooterText>| t.as_ref().map(|t| t.as_str().to_owned());
        let (_turn, mut tx) = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE publications SET footer_contact = $2, footer_about = $3, footer_join = $4, \
             updated_at = $5 WHERE slug = $1",
        )
        .bind(slug.as_str())
        .bind(text(&footer.contact))
        .bind(text(&footer.about))
        .bind(text(&footer.join))
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            tx.rollback().await?;
            return Err(StoreError::PublicationNotFound(slug.to_string()));
        }
        audit::record(
            &mut tx,
            actor,
            AuditAction::PublicationEdit,
            Some(slug.as_str()),
            Some(changed.to_owned()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
