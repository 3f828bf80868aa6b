//! The contact list: add, read, search, edit, remove, import and export contacts.

use std::io::{Read, Write};

use crate::contact_csv::{
    self, ExportError, ImportError, ImportEvent, ImportOptions, ImportSummary,
};
use crate::domain::{Contact, ContactChanges, EmailAddress, NewContact};
use crate::store::{Actor, ContactFilter, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ContactError {
    #[error("nothing to change: give a new address, name, organisation, status or consent")]
    NothingToChange,
    #[error(transparent)]
    Import(ImportError),
    #[error(transparent)]
    Export(ExportError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ContactError {
    fn from(e: StoreError) -> Self {
        ContactError::Store(e)
    }
}

/// The contact operations; cheap to clone.
#[derive(Clone)]
pub struct Contacts {
    store: Store,
}

impl Contacts {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    pub async fn add(&self, new: &NewContact, actor: &Actor) -> Result<Contact, ContactError> {
        Ok(self.store.add_contact(new, actor).await?)
    }

    /// Contacts matching `filter`, at most `limit` of them.
    pub async fn list(
        &self,
        filter: &ContactFilter,
        limit: Option<usize>,
    ) -> Result<Vec<Contact>, ContactError> {
        Ok(self.store.list_contacts(filter, limit).await?)
    }

    pub async fn count(&self, filter: &ContactFilter) -> Result<i64, ContactError> {
        Ok(self.store.count_contacts(filter).await?)
    }

    pub async fn get(&self, email: &EmailAddress) -> Result<Contact, ContactError> {
        Ok(self.store.existing_contact(email).await?)
    }

    /// Applies `changes` (the status rule is `Contact::with_changes`'s). No change at
    /// all is refused, so a mistyped command does not pass for a success.
    pub async fn edit(
        &self,
        email: &EmailAddress,
        changes: &ContactChanges,
        actor: &Actor,
    ) -> Result<Contact, ContactError> {
        if changes.is_empty() {
            return Err(ContactError::NothingToChange);
        }
        Ok(self.store.update_contact(email, changes, actor).await?)
    }

    /// Erases the contact and its history for good; returns what was erased.
    pub async fn remove(
        &self,
        email: &EmailAddress,
        actor: &Actor,
    ) -> Result<Contact, ContactError> {
        let contact = self.store.existing_contact(email).await?;
        self.store.remove_contact(email, actor).await?;
        Ok(contact)
    }

    /// Imports a CSV file as one transaction (or only checks it, with `dry_run`),
    /// reporting each rejected row and the progress through `on_event`.
    pub async fn import<R: Read + Send + 'static>(
        &self,
        source: R,
        label: &str,
        options: &ImportOptions,
        actor: &Actor,
        on_event: impl FnMut(ImportEvent<'_>),
    ) -> Result<ImportSummary, ContactError> {
        contact_csv::import_csv(&self.store, source, label, options, actor, on_event)
            .await
            .map_err(ContactError::Import)
    }

    /// Writes the contacts matching `filter` as CSV; returns how many.
    pub async fn export<W: Write>(
        &self,
        filter: &ContactFilter,
        out: W,
        on_row: impl FnMut(u64),
    ) -> Result<u64, ContactError> {
        contact_csv::export_csv(&self.store, filter, out, on_row)
            .await
            .map_err(ContactError::Export)
    }
}
