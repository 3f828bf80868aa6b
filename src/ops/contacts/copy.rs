//! A person's copy of their data (GDPR articles 15 and 20): the JSON file and the
//! document they read, each written to the audit log when it is made.

use super::{ContactError, Contacts};
use crate::domain::{AuditAction, ContactId, EmailAddress, InboundId, Timestamp};
use crate::ops::privacy::{DataController, PERSONAL_DATA_ROWS, PersonalData, PersonalDocument};
use crate::store::{Actor, ContactRecord, StoreError};

/// The form of a person's copy of their data, as the audit log names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PersonalDataFormat {
    Json,
    Html,
}

impl PersonalDataFormat {
    fn as_str(self) -> &'static str {
        match self {
            PersonalDataFormat::Json => "json",
            PersonalDataFormat::Html => "html",
        }
    }
}

impl Contacts {
    /// Everything held about the contact `id`, for them (GDPR articles 15 and 20), as
    /// the JSON copy. The copy is written to the audit log (who made it, when, in which
    /// form), never its values.
    pub async fn personal_data(
        &self,
        id: ContactId,
        controller: &DataController,
        actor: &Actor,
    ) -> Result<PersonalData, ContactError> {
        let (record, raw) = self
            .personal_record(id, PersonalDataFormat::Json, actor)
            .await?;
        let name = controller.name.clone();
        // Reading each mail's text is CPU work: off the async threads.
        tokio::task::spawn_blocking(move || PersonalData::new(&record, &raw, &name))
            .await
            .map_err(|e| ContactError::Copy(e.to_string()))
    }

    /// The same copy as a document the person reads (GDPR article 15), written to the
    /// audit log as [`Contacts::personal_data`] is.
    pub async fn personal_document(
        &self,
        id: ContactId,
        controller: &DataController,
        actor: &Actor,
    ) -> Result<PersonalDocument, ContactError> {
        let (record, raw) = self
            .personal_record(id, PersonalDataFormat::Html, actor)
            .await?;
        let controller = controller.clone();
        tokio::task::spawn_blocking(move || {
            PersonalDocument::new(&record, &raw, &controller, Timestamp::now())
        })
        .await
        .map_err(|e| ContactError::Copy(e.to_string()))
    }

    /// The record and raw mail behind a copy, once the copy is in the log.
    async fn personal_record(
        &self,
        id: ContactId,
        format: PersonalDataFormat,
        actor: &Actor,
    ) -> Result<(ContactRecord, Vec<(InboundId, Vec<u8>)>), ContactError> {
        let record = self
            .store
            .contact_record(id, PERSONAL_DATA_ROWS)
            .await?
            .ok_or_else(|| {
                ContactError::Store(StoreError::ContactNotFound(format!("contact #{id}")))
            })?;
        let key = record.contact.email.key();
        let raw = self
            .store
            .inbound_raw_of_contact(id, &key, PERSONAL_DATA_ROWS)
            .await?;
        self.store
            .log_action(
                actor,
                AuditAction::ContactExport,
                &key,
                Some(
                    crate::domain::AuditDetail::CopyMade {
                        format: format.as_str().to_owned(),
                    }
                    .to_string(),
                ),
            )
            .await?;
        Ok((record, raw))
    }

    /// Like [`Contacts::personal_data`], for an address.
    pub async fn personal_data_of(
        &self,
        email: &EmailAddress,
        controller: &DataController,
        actor: &Actor,
    ) -> Result<PersonalData, ContactError> {
        let contact = self.store.existing_contact(email).await?;
        self.personal_data(contact.id, controller, actor).await
    }
}
