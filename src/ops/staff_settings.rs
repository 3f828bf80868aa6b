//! What staff own of the settings (issue 31): who sends (the organisation's names, the
//! sender's name and address, the reply address) and each publication's footer. Only an
//! administrator changes them; each change is audited and read where it is used, so it
//! takes effect at once. A field left empty, or the same as the settings file's, stays
//! "as the file says", so a later change in the file still reaches it.

use crate::domain::{
    AuditDetail, EmailAddress, FooterText, FooterTexts, Identity, IdentityError, IdentityField,
    IdentityName, Publication, PublicationFooter, PublicationSlug, StaffSettings,
};
use crate::store::{Actor, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum StaffSettingsError {
    #[error(transparent)]
    Invalid(#[from] IdentityError),
    /// Only administrators change what every mail says.
    #[error("only an administrator can change these settings")]
    NotAdmin,
    #[error("there is no publication {0}")]
    NoPublication(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for StaffSettingsError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::PublicationNotFound(slug) => StaffSettingsError::NoPublication(slug),
            other => StaffSettingsError::Store(other),
        }
    }
}

/// The settings page's fields as typed.
#[derive(Debug, Clone, Default)]
pub struct StaffSettingsInput {
    pub organisation_name: String,
    pub organisation_short_name: String,
    pub from_name: String,
    pub from_address: String,
    pub reply_address: String,
}

/// A publication's footer as typed.
#[derive(Debug, Clone, Default)]
pub struct FooterInput {
    pub contact: String,
    pub about: String,
    pub join: String,
}

/// What the settings page shows: what is in use, and what the file says.
#[derive(Debug, Clone)]
pub struct StaffSettingsView {
    pub in_use: Identity,
    pub file: Identity,
    pub staff: StaffSettings,
}

/// What a publication's footer page shows.
#[derive(Debug, Clone)]
pub struct FooterView {
    pub publication: Publication,
    pub in_use: FooterTexts,
    /// Which parts staff have written (the others are the default text).
    pub own: PublicationFooter,
}

#[derive(Clone)]
pub struct StaffSettingsOps {
    store: Store,
    /// Who sends as the settings file says.
    file: Identity,
}

impl StaffSettingsOps {
    pub fn new(store: Store, file: Identity) -> Self {
        StaffSettingsOps { store, file }
    }

    pub async fn current(&self) -> Result<StaffSettingsView, StaffSettingsError> {
        let staff = self.store.staff_settings().await?;
        Ok(StaffSettingsView {
            in_use: self.file.with(&staff),
            file: self.file.clone(),
            staff,
        })
    }

    /// Who mail is from now, as the checklist and the preview show it; the file's if
    /// staff's cannot be read.
    pub async fn from_now(&self) -> (String, EmailAddress) {
        let identity = match self.store.staff_settings().await {
            Ok(staff) => self.file.with(&staff),
            Err(e) => {
                tracing::warn!(error = %e, "staff settings not read");
                self.file.clone()
            }
        };
        (identity.from_name, identity.from_address)
    }

    /// Who holds a person's data, by the names staff have set now: their copy names
    /// the organisation as it is called today, and the address staff answer at.
    pub async fn controller(
        &self,
        base: &crate::ops::DataController,
    ) -> Result<crate::ops::DataController, StaffSettingsError> {
        let identity = self.file.with(&self.store.staff_settings().await?);
        Ok(crate::ops::DataController {
            name: format!(
                "{} ({})",
                identity.organisation_name, identity.organisation_short_name
            ),
            contact_address: identity.reply_address.to_string(),
            retention: base.retention,
        })
    }

    /// Checks and stores the fields; returns the names of what changed (none: nothing
    /// was written).
    pub async fn save(
        &self,
        input: &StaffSettingsInput,
        actor: &Actor,
    ) -> Result<Vec<IdentityField>, StaffSettingsError> {
        self.must_be_admin(actor).await?;
        let old = self.store.staff_settings().await?;
        let new = self.parse(input)?;
        let before = self.file.with(&old);
        let after = self.file.with(&new);
        let changed: Vec<IdentityField> = [
            (before.organisation_name != after.organisation_name)
                .then_some(IdentityField::OrganisationName),
            (before.organisation_short_name != after.organisation_short_name)
                .then_some(IdentityField::OrganisationShortName),
            (before.from_name != after.from_name).then_some(IdentityField::FromName),
            (before.from_address != after.from_address).then_some(IdentityField::FromAddress),
            (before.reply_address != after.reply_address).then_some(IdentityField::ReplyAddress),
        ]
        .into_iter()
        .flatten()
        .collect();
        let unchanged = StaffSettings {
            updated_at: None,
            ..old.clone()
        } == new;
        if !unchanged {
            self.store
                .save_staff_settings(&new, &changed_words(&changed, false), actor)
                .await?;
        }
        Ok(changed)
    }

    fn parse(&self, input: &StaffSettingsInput) -> Result<StaffSettings, StaffSettingsError> {
        let file = &self.file;
        let name = |typed: &str, field, default: &str| -> Result<_, IdentityError> {
            let typed = typed.trim();
            if typed.is_empty() || typed == default {
                return Ok(None);
            }
            IdentityName::parse(typed, field).map(Some)
        };
        let address = |typed: &str, field, default: &EmailAddress| -> Result<_, IdentityError> {
            let typed = typed.trim();
            if typed.is_empty() || typed.eq_ignore_ascii_case(default.as_str()) {
                return Ok(None);
            }
            EmailAddress::parse(typed)
                .map(Some)
                .map_err(|_| IdentityError::NotAnAddress { field })
        };
        let from_address = address(
            &input.from_address,
            IdentityField::FromAddress,
            &file.from_address,
        )?;
        // Mail is signed (DKIM) and allowed (SPF) for the file's sender domain: another
        // domain would be refused by the recipients' providers.
        if let Some(own) = &from_address
            && !own
                .domain()
                .eq_ignore_ascii_case(file.from_address.domain())
        {
            return Err(IdentityError::OtherDomain {
                domain: file.from_address.domain().to_owned(),
            }
            .into());
        }
        Ok(StaffSettings {
            organisation_name: name(
                &input.organisation_name,
                IdentityField::OrganisationName,
                &file.organisation_name,
            )?,
            organisation_short_name: name(
                &input.organisation_short_name,
                IdentityField::OrganisationShortName,
                &file.organisation_short_name,
            )?,
            from_name: name(&input.from_name, IdentityField::FromName, &file.from_name)?,
            from_address,
            reply_address: address(
                &input.reply_address,
                IdentityField::ReplyAddress,
                &file.reply_address,
            )?,
            updated_at: None,
        })
    }

    /// A publication's footer: the texts in use and which are staff's own.
    pub async fn footer(&self, slug: &PublicationSlug) -> Result<FooterView, StaffSettingsError> {
        let publication = self.store.existing_publication(slug).await?;
        let in_use = self.footer_texts(&publication).await?;
        Ok(FooterView {
            own: publication.footer.clone(),
            in_use,
            publication,
        })
    }

    async fn footer_texts(&self, publication: &Publication) -> Result<FooterTexts, StoreError> {
        let identity = self.file.with(&self.store.staff_settings().await?);
        Ok(publication.footer.texts(identity.footer_names()))
    }

    /// Stores a publication's footer; a part left empty, or the same as the default
    /// text, is the default text from now on. Returns what changed.
    pub async fn save_footer(
        &self,
        slug: &PublicationSlug,
        input: &FooterInput,
        actor: &Actor,
    ) -> Result<Vec<IdentityField>, StaffSettingsError> {
        self.must_be_admin(actor).await?;
        let publication = self.store.existing_publication(slug).await?;
        let defaults = self
            .footer_texts(&Publication {
                footer: PublicationFooter::default(),
                ..publication.clone()
            })
            .await?;
        let part = |typed: &str, field, default: &FooterText| -> Result<_, IdentityError> {
            let normalised = typed.replace("\r\n", "\n");
            let trimmed = normalised.trim();
            if trimmed.is_empty() || trimmed == default.as_str() {
                return Ok(None);
            }
            FooterText::parse(trimmed, field).map(Some)
        };
        let footer = PublicationFooter {
            contact: part(
                &input.contact,
                IdentityField::FooterContact,
                &defaults.contact,
            )?,
            about: part(&input.about, IdentityField::FooterAbout, &defaults.about)?,
            join: part(&input.join, IdentityField::FooterJoin, &defaults.join)?,
        };
        let old = &publication.footer;
        let changed: Vec<IdentityField> = [
            (old.contact != footer.contact).then_some(IdentityField::FooterContact),
            (old.about != footer.about).then_some(IdentityField::FooterAbout),
            (old.join != footer.join).then_some(IdentityField::FooterJoin),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !changed.is_empty() {
            self.store
                .save_publication_footer(slug, &footer, &changed_words(&changed, true), actor)
                .await?;
        }
        Ok(changed)
    }

    async fn must_be_admin(&self, actor: &Actor) -> Result<(), StaffSettingsError> {
        if super::staff::acts_as_administrator(&self.store, actor).await? {
            Ok(())
        } else {
            Err(StaffSettingsError::NotAdmin)
        }
    }
}

/// What changed, as the audit log keeps it (and words it).
fn changed_words(changed: &[IdentityField], footer: bool) -> String {
    let fields = changed.iter().map(|f| f.as_str().to_owned()).collect();
    if footer {
        AuditDetail::PublicationEdited(fields).to_string()
    } else {
        AuditDetail::SettingsEdited(fields).to_string()
    }
}
