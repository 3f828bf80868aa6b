//! The contact list: add, read, search, edit, remove, import and export contacts.

mod copy;

use std::io::{Read, Write};

pub use super::contact_refusals::{ContactField, ContactRefusal, Refusals};
use crate::contact_csv::{
    self, ExportError, ImportError, ImportEvent, ImportOptions, ImportSummary,
};
use crate::domain::AuditAction;
use crate::domain::ContactId;
use crate::domain::{
    Consent, ConsentNote, Contact, ContactChanges, ContactStatus, EmailAddress, NewContact,
    Timestamp, TokenKey,
};
use crate::store::{
    Actor, ContactFilter, ContactPage, ContactRecord, MatchCount, PageStart, Store, StoreError,
};

/// Contacts on one page of the staff list.
pub const PAGE_SIZE: usize = 50;
/// Rows of each history a contact's page shows.
pub const HISTORY_ROWS: i64 = 500;

/// A page of the contact list with what stands above it.
#[derive(Debug, Clone)]
pub struct ContactListing {
    pub page: ContactPage,
    /// Contacts per status on the whole list.
    pub counts: Vec<(ContactStatus, i64)>,
    /// How many the search found, when there is one.
    pub matches: Option<MatchCount>,
    /// The publications, for the filter.
    pub publications: Vec<crate::domain::Publication>,
}

#[derive(Debug, thiserror::Error)]
pub enum ContactError {
    #[error("nothing to change: give a new address, name, organisation, status or consent")]
    NothingToChange,
    #[error("could not make the copy of a person's data: {0}")]
    Copy(String),
    /// The request breaks a rule: each refusal names its field.
    #[error(transparent)]
    Refused(Refusals),
    #[error(transparent)]
    Import(ImportError),
    #[error(transparent)]
    Export(ExportError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ContactError {
    /// The store's refusals are typed here once, for every operation.
    fn from(e: StoreError) -> Self {
        let refusal = match e {
            StoreError::ContactExists(address) => ContactRefusal::AlreadyOnList(address),
            StoreError::Refused(change) => ContactRefusal::NewConsentRequired(change),
            StoreError::ConcurrentChange(address) => ContactRefusal::ChangedMeanwhile(address),
            StoreError::NotBounced(address) => ContactRefusal::NotBounced(address),
            other => return ContactError::Store(other),
        };
        ContactError::Refused(Refusals::one(refusal))
    }
}

/// The consent rule of a staff record (`Consent::problems_as_staff_record`), as refusals.
fn staff_consent_refused(consent: &Consent) -> Result<(), ContactError> {
    let problems = consent.problems_as_staff_record(Timestamp::now());
    match Refusals::of(problems.into_iter().map(ContactRefusal::Consent).collect()) {
        Some(refusals) => Err(ContactError::Refused(refusals)),
        None => Ok(()),
    }
}

/// A contact added, and whether the address had been erased at the person's request
/// before (staff should check that the person asked to be added again).
#[derive(Debug, Clone)]
pub struct Added {
    pub contact: Contact,
    pub erased_on: Option<Timestamp>,
}

/// The contact operations; cheap to clone.
#[derive(Clone)]
pub struct Contacts {
    store: Store,
    /// `token_key`: erased addresses are remembered as its keyed hash. Without it no
    /// address is remembered (and none can be recognised).
    key: Option<TokenKey>,
}

impl Contacts {
    pub fn new(store: Store) -> Self {
        Self { store, key: None }
    }

    /// With `token_key`, so that erasures are remembered and recognised.
    pub fn with_key(mut self, key: Option<TokenKey>) -> Self {
        self.key = key;
        self
    }

    /// Adds a contact a staff member puts on the list, with the consent they record:
    /// documented (a note), dated by now, from a source staff record. Every consent
    /// problem is refused at once, before anything is written.
    pub async fn add(&self, new: &NewContact, actor: &Actor) -> Result<Added, ContactError> {
        staff_consent_refused(&new.consent)?;
        let contact = self.store.add_contact(new, actor).await?;
        let erased_on = self.erased_on(&new.email).await?;
        Ok(Added { contact, erased_on })
    }

    /// When this address was erased at the person's request, if it was.
    pub async fn erased_on(&self, email: &EmailAddress) -> Result<Option<Timestamp>, ContactError> {
        match &self.key {
            Some(key) => {
                for hash in key.erased_address_hashes(email) {
                    if let Some(at) = self.store.erased_at(&hash).await? {
                        return Ok(Some(at));
                    }
                }
                Ok(None)
            }
            None => Ok(None),
        }
    }

    /// Clears what the erasure freed out of the database's files. The erasure itself
    /// has happened and is remembered by then; a scrub that fails (the database busy)
    /// is logged, and the next erasure or retention run does it.
    async fn scrub_after_erasure(&self) {
        if let Err(e) = self.store.scrub_deleted().await {
            tracing::warn!(error = %e, "could not clear an erased person's data out of the database files yet");
        }
    }

    /// Remembers an erased address by its keyed hash only.
    async fn remember_erased(&self, email: &EmailAddress) -> Result<(), ContactError> {
        match &self.key {
            Some(key) => Ok(self
                .store
                .remember_erased(&key.erased_address_hash(&email.key()), Timestamp::now())
                .await?),
            None => {
                tracing::warn!("no token_key: an erased address cannot be remembered");
                Ok(())
            }
        }
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

    /// The publications a contact gets or left, each with its consent.
    pub async fn subscriptions(
        &self,
        contact_id: ContactId,
    ) -> Result<Vec<crate::domain::Subscription>, ContactError> {
        Ok(self.store.subscriptions(contact_id).await?)
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
        if let Some(consent) = &changes.consent {
            staff_consent_refused(consent)?;
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
        self.remember_erased(&contact.email).await?;
        self.scrub_after_erasure().await;
        Ok(contact)
    }

    /// A page of the list in address order, with the counts per status and, for a
    /// search, how many it found.
    pub async fn listing(
        &self,
        filter: &ContactFilter,
        start: &PageStart,
    ) -> Result<ContactListing, ContactError> {
        let (page, matches) = self
            .store
            .contact_page_with_count(filter, start, PAGE_SIZE)
            .await?;
        let counts = self.store.contact_counts().await?;
        let publications = self.store.publications().await?;
        Ok(ContactListing {
            page,
            counts,
            matches,
            publications,
        })
    }

    /// The contact with this number.
    pub async fn by_id(&self, id: ContactId) -> Result<Contact, ContactError> {
        self.store.contact_by_id(id).await?.ok_or_else(|| {
            ContactError::Store(StoreError::ContactNotFound(format!("contact #{id}")))
        })
    }

    /// A contact with the consent evidence and the newest [`HISTORY_ROWS`] of each
    /// history: what their page shows.
    pub async fn record(&self, id: ContactId) -> Result<ContactRecord, ContactError> {
        self.store
            .contact_record(id, HISTORY_ROWS)
            .await?
            .ok_or_else(|| {
                ContactError::Store(StoreError::ContactNotFound(format!("contact #{id}")))
            })
    }

    /// Bounced contacts with the last reason, newest first (at most 500).
    pub async fn bounced(&self) -> Result<Vec<crate::store::BouncedContact>, ContactError> {
        Ok(self.store.bounced_contacts(500).await?)
    }

    /// Puts a bounced contact back on the list, with the reason in `note`.
    pub async fn reset_bounced(
        &self,
        id: ContactId,
        note: &ConsentNote,
        actor: &Actor,
    ) -> Result<Contact, ContactError> {
        Ok(self.store.reset_bounced(id, note, actor).await?)
    }

    /// Erases the contact `id` and everything tied to it (GDPR article 17): deliveries,
    /// links, mails that answered them, mail from their address. A second erasure of
    /// the same contact finds nobody and changes nothing.
    pub async fn erase(&self, id: ContactId, actor: &Actor) -> Result<Contact, ContactError> {
        let contact = self.by_id(id).await?;
        if !self.store.remove_contact_by_id(id, actor).await? {
            return Err(ContactError::Store(StoreError::ContactNotFound(format!(
                "contact #{id}"
            ))));
        }
        self.remember_erased(&contact.email).await?;
        self.scrub_after_erasure().await;
        Ok(contact)
    }

    /// The CSV export of the contacts matching `filter` as a stream of chunks (the
    /// header, then a page of rows at a time in address order, so memory stays flat at
    /// any size), for a download. The export is written to the audit log as `actor`'s
    /// with the filter and the rows handed out: when the last page is out, or, if the
    /// download stops before that, with the rows out by then.
    pub fn export_stream(
        &self,
        filter: ContactFilter,
        actor: Actor,
    ) -> impl futures_util::Stream<Item = Result<Vec<u8>, ContactError>> + Send + 'static {
        const EXPORT_PAGE: usize = 2_000;
        let audit = ExportAudit::new(self.store.clone(), actor, &filter);
        let state = ExportState {
            audit,
            filter,
            next: Some(PageStart::First),
            header_sent: false,
        };
        futures_util::stream::try_unfold(state, move |mut state| async move {
            if !state.header_sent {
                state.header_sent = true;
                let header = csv_chunk(|w| w.write_record(contact_csv::EXPORT_HEADER))?;
                return Ok(Some((header, state)));
            }
            if let Some(start) = state.next.take() {
                let page = state
                    .audit
                    .store
                    .contact_page(&state.filter, &start, EXPORT_PAGE)
                    .await?;
                if !page.contacts.is_empty() {
                    let chunk = csv_chunk(|w| {
                        for contact in &page.contacts {
                            w.write_record(contact_csv::export_record(contact))?;
                        }
                        Ok(())
                    })?;
                    state.audit.rows += page.contacts.len() as u64;
                    state.next = page.next.clone().map(PageStart::After);
                    return Ok(Some((chunk, state)));
                }
            }
            state.audit.record(true).await?;
            Ok::<_, ContactError>(None)
        })
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
        let mut options = options.clone();
        if options.erased_key.is_none() {
            options.erased_key = self.key.clone();
        }
        contact_csv::import_csv(&self.store, source, label, &options, actor, on_event)
            .await
            .map_err(ContactError::Import)
    }

    /// Writes the contacts matching `filter` as CSV; returns how many. The export is
    /// written to the audit log as `actor`'s, with the filter and the rows written
    /// (those written before a failure, too).
    pub async fn export<W: Write>(
        &self,
        filter: &ContactFilter,
        out: W,
        mut on_row: impl FnMut(u64),
        actor: &Actor,
    ) -> Result<u64, ContactError> {
        let mut audit = ExportAudit::new(self.store.clone(), actor.clone(), filter);
        let mut written = 0;
        let result = contact_csv::export_csv(&self.store, filter, out, |n| {
            written = n;
            on_row(n);
        })
        .await
        .map_err(ContactError::Export);
        audit.rows = written;
        audit.record(result.is_ok()).await?;
        result
    }
}

/// An export's audit entry, written once: by [`ExportAudit::record`], or, when a
/// download is dropped before it ends, from `Drop` with the rows handed out by then.
struct ExportAudit {
    store: Store,
    actor: Actor,
    filter: String,
    rows: u64,
    recorded: bool,
}

impl ExportAudit {
    fn new(store: Store, actor: Actor, filter: &ContactFilter) -> Self {
        Self {
            store,
            actor,
            filter: filter_in_words(filter),
            rows: 0,
            recorded: false,
        }
    }

    async fn record(&mut self, finished: bool) -> Result<(), StoreError> {
        self.recorded = true;
        self.store
            .log_action(
                &self.actor,
                EXPORT_ACTION,
                "",
                Some(export_detail(self.rows, finished, &self.filter)),
            )
            .await
    }
}

impl Drop for ExportAudit {
    fn drop(&mut self) {
        if self.recorded {
            return;
        }
        let (store, actor) = (self.store.clone(), self.actor.clone());
        let detail = export_detail(self.rows, false, &self.filter);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if let Err(e) = store
                        .log_action(&actor, EXPORT_ACTION, "", Some(detail.clone()))
                        .await
                    {
                        tracing::error!(error = %e, %detail, "an export stopped early and could not be audited");
                    }
                });
            }
            Err(_) => {
                tracing::error!(%detail, "an export stopped early outside the runtime: not audited");
            }
        }
    }
}

/// The state of a streamed export between chunks.
struct ExportState {
    audit: ExportAudit,
    filter: ContactFilter,
    next: Option<PageStart>,
    header_sent: bool,
}

/// CSV records written by `write`, as one chunk.
fn csv_chunk(
    write: impl FnOnce(&mut csv::Writer<Vec<u8>>) -> Result<(), csv::Error>,
) -> Result<Vec<u8>, ContactError> {
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    write(&mut writer).map_err(|e| ContactError::Export(ExportError::Write(e)))?;
    writer
        .into_inner()
        .map_err(|e| ContactError::Export(ExportError::Io(e.into_error())))
}

/// The audit action of an export of the contact list.
pub const EXPORT_ACTION: AuditAction = AuditAction::ContactsExport;

/// How an export's filter reads in the audit log and on the dashboard.
pub fn filter_in_words(filter: &ContactFilter) -> String {
    let mut parts = Vec::new();
    if let Some(status) = filter.status {
        parts.push(format!(
            "status {}",
            match status {
                ContactStatus::Pending => "venter på bekreftelse",
                ContactStatus::Confirmed => "bekreftet",
                ContactStatus::Unsubscribed => "meldt av",
                ContactStatus::Bounced => "avvist",
            }
        ));
    }
    if let Some(publication) = &filter.publication {
        parts.push(format!("får {publication}"));
    }
    // What was searched for is not kept: it is often a person's name or address, and
    // the log outlives an erasure of that person.
    if filter.search.is_some() {
        parts.push("et søk".to_owned());
    }
    if parts.is_empty() {
        "hele listen".to_owned()
    } else {
        parts.join(", ")
    }
}

/// `1 234 kontakter; utvalg: …` (with «avbrutt» when the export stopped early).
fn export_detail(rows: u64, finished: bool, filter: &str) -> String {
    format!(
        "{rows} {}{}; utvalg: {filter}",
        crate::domain::plural(rows as i64, "kontakt", "kontakter"),
        if finished { "" } else { " (avbrutt)" }
    )
}

/// An export as the audit log holds it (the dashboard's «Siste eksporter»).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRecord {
    pub at: Timestamp,
    pub actor: Actor,
    /// The rows written; `None` if the entry cannot be read.
    pub rows: Option<u64>,
    /// Stopped before the end.
    pub stopped: bool,
    /// The filter in words.
    pub filter: String,
}

impl ExportRecord {
    pub fn from_entry(entry: &crate::store::AuditEntry) -> Self {
        let detail = entry.detail.as_deref().unwrap_or_default();
        let (count, filter) = detail.split_once("; utvalg: ").unwrap_or((detail, ""));
        let digits: String = count.chars().take_while(char::is_ascii_digit).collect();
        Self {
            at: entry.at,
            actor: entry.actor.clone(),
            rows: digits.parse().ok(),
            stopped: count.contains("(avbrutt)"),
            filter: filter.to_owned(),
        }
    }
}
