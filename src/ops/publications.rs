//! Publications: list, add and change them, for the command line and the staff admin
//! alike. A contact's subscriptions are elsewhere: `contacts.rs` for staff,
//! `subscriptions.rs` for the person's own choice.

use crate::domain::{
    NewPublication, Publication, PublicationChanges, PublicationDescription, PublicationError,
    PublicationKind, PublicationName, PublicationSlug,
};
use crate::store::{Actor, PublicationCount, Store, StoreError};

/// Why a publication could not be added or changed; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum PublicationOpsError {
    #[error(transparent)]
    Invalid(#[from] PublicationError),
    #[error("publication {0} exists already: choose another slug")]
    Exists(String),
    #[error("{0} is the slug of an issue (they share the archive's paths): choose another")]
    SlugIsIssue(String),
    #[error("there is no publication {0}")]
    NotFound(String),
    #[error("nothing to change: give a new name, description or kind")]
    NothingToChange,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for PublicationOpsError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::PublicationExists(slug) => PublicationOpsError::Exists(slug),
            StoreError::SlugIsIssue(slug) => PublicationOpsError::SlugIsIssue(slug),
            StoreError::PublicationNotFound(slug) => PublicationOpsError::NotFound(slug),
            other => PublicationOpsError::Store(other),
        }
    }
}

/// A publication to add, as typed: checked here, so every front end refuses the same.
#[derive(Debug, Clone, Default)]
pub struct PublicationInput {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub kind: String,
}

/// Changes as typed; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct PublicationEdit {
    pub name: Option<String>,
    pub description: Option<String>,
    pub kind: Option<String>,
}

#[derive(Clone)]
pub struct Publications {
    store: Store,
}

impl Publications {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Every publication with its confirmed subscribers.
    pub async fn list(&self) -> Result<Vec<PublicationCount>, PublicationOpsError> {
        Ok(self.store.publication_counts().await?)
    }

    pub async fn add(
        &self,
        input: &PublicationInput,
        actor: &Actor,
    ) -> Result<Publication, PublicationOpsError> {
        let new = NewPublication {
            slug: PublicationSlug::parse(&input.slug)?,
            name: PublicationName::parse(&input.name)?,
            description: PublicationDescription::parse(&input.description)?,
            kind: PublicationKind::parse(&input.kind)?,
        };
        Ok(self.store.add_publication(&new, actor).await?)
    }

    pub async fn edit(
        &self,
        slug: &str,
        edit: &PublicationEdit,
        actor: &Actor,
    ) -> Result<Publication, PublicationOpsError> {
        let slug = PublicationSlug::parse(slug)?;
        let changes = PublicationChanges {
            name: edit
                .name
                .as_deref()
                .map(PublicationName::parse)
                .transpose()?,
            description: edit
                .description
                .as_deref()
                .map(PublicationDescription::parse)
                .transpose()?,
            kind: edit
                .kind
                .as_deref()
                .map(PublicationKind::parse)
                .transpose()?,
        };
        if changes == PublicationChanges::default() {
            return Err(PublicationOpsError::NothingToChange);
        }
        Ok(self.store.edit_publication(&slug, &changes, actor).await?)
    }
}
