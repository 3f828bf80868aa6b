//! The contact list as staff browse it: pages in address order (keyset, never OFFSET,
//! so the last page of a million costs what the first does), a search for any part of
//! an address, name or organisation through a trigram index, counts per status, and
//! one contact's whole record: consent evidence, deliveries, mail, audit entries.

use sqlx::{AssertSqlSafe, Row};

use super::contact_filter::like_pattern;
use super::contact_rows::{contact_columns, contact_from_row};
use super::{AuditEntry, Backend, ContactFilter, InboundEntry, Result, Store, StoreError};
use crate::domain::ContactId;
use crate::domain::DeliveryId;
use crate::domain::{
    Contact, ContactStatus, DeliveryStatus, NoticePurpose, NoticeStatus, Timestamp,
};

/// How many matches a search counts before it says "more than".
pub const SEARCH_COUNT_LIMIT: i64 = 5_000;

/// Where a page of the list starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageStart {
    First,
    /// The contacts after this `email_key`.
    After(String),
    /// The contacts before this `email_key` (the page before the one seen).
    Before(String),
}

/// One page of the contact list.
#[derive(Debug, Clone)]
pub struct ContactPage {
    pub contacts: Vec<Contact>,
    /// The key to ask for the next page with, if there is one.
    pub next: Option<String>,
    /// The key to ask for the page before with, if this is not the first.
    pub previous: Option<String>,
}

/// How many contacts a search found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchCount {
    Exactly(i64),
    /// More than this many: counting them all would read the whole list.
    MoreThan(i64),
}

/// Who recorded a contact's consent and where it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsentEvidence {
    /// The actor that recorded it (`web:kari`, `cli:ola`, `web:confirm`).
    pub recorded_by: Option<String>,
    /// Where: an import's file and line.
    pub reference: Option<String>,
}

/// A delivery as a contact's history shows it.
#[derive(Debug, Clone)]
pub struct ContactDelivery {
    pub id: DeliveryId,
    pub issue_slug: String,
    pub issue_subject: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub message_id: Option<String>,
    /// When a hard bounce for it was counted, and what the report said.
    pub bounced_at: Option<Timestamp>,
    pub bounce_report: Option<String>,
}

/// A mail that answered the contact's request (a confirmation link, a leave link).
#[derive(Debug, Clone)]
pub struct ContactNotice {
    pub purpose: NoticePurpose,
    pub status: NoticeStatus,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
}

/// Everything the service holds about one contact, apart from the raw mail.
#[derive(Debug, Clone)]
pub struct ContactRecord {
    pub contact: Contact,
    pub evidence: ConsentEvidence,
    /// Newest first.
    pub deliveries: Vec<ContactDelivery>,
    /// Confirmation and leave-link mails, newest first.
    pub notices: Vec<ContactNotice>,
    /// Mail linked to the contact or sent from its address, newest first.
    pub inbound: Vec<InboundEntry>,
    /// The audit log's entries about the contact, newest first.
    pub audit: Vec<AuditEntry>,
    /// The publications the contact gets or left, each with its consent.
    pub subscriptions: Vec<crate::domain::Subscription>,
}

/// A bounced contact with the last reason given.
#[derive(Debug, Clone)]
pub struct BouncedContact {
    pub contact: Contact,
    /// What the last bounce report said, or else the relay's answer at send time.
    pub reason: Option<String>,
    /// When the last hard bounce was counted.
    pub at: Option<Timestamp>,
}

impl Store {
    /// Bounced contacts, the most recently changed first, with the last reason.
    pub async fn bounced_contacts(&self, limit: i64) -> Result<Vec<BouncedContact>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            contact_columns!(),
            ", (SELECT m.result FROM inbound_messages m WHERE m.contact_id = contacts.id \
               AND m.kind = 'bounce' ORDER BY m.id DESC LIMIT 1) AS report, \
             (SELECT d.last_error FROM deliveries d WHERE d.contact_id = contacts.id \
               AND d.bounced_at IS NOT NULL ORDER BY d.bounced_at DESC LIMIT 1) AS send_error, \
             (SELECT MAX(d.bounced_at) FROM deliveries d WHERE d.contact_id = contacts.id) AS bounced_at \
             FROM contacts WHERE status = 'bounced' ORDER BY updated_at DESC, id DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let report: Option<String> = row.try_get("report")?;
                let send_error: Option<String> = row.try_get("send_error")?;
                Ok(BouncedContact {
                    contact: contact_from_row(row)?,
                    reason: report.or(send_error),
                    at: row
                        .try_get::<Option<i64>, _>("bounced_at")?
                        .map(Timestamp::from_unix_ms),
                })
            })
            .collect()
    }

    /// How many contacts have each status, from the counts the triggers keep.
    pub async fn contact_counts(&self) -> Result<Vec<(ContactStatus, i64)>> {
        let rows = sqlx::query("SELECT status, n FROM contact_counts")
            .fetch_all(&self.pool)
            .await?;
        super::contact_rows::counts_by_status(&rows)
    }

    /// A page of at most `size` contacts matching `filter`, in address order.
    pub async fn contact_page(
        &self,
        filter: &ContactFilter,
        start: &PageStart,
        size: usize,
    ) -> Result<ContactPage> {
        let search = Search::of(self.backend, filter, self).await?;
        self.page_of(&search, filter, start, size).await
    }

    /// A page as [`Store::contact_page`] gives it and, for a search, how many it found
    /// (the search planned once for both).
    pub async fn contact_page_with_count(
        &self,
        filter: &ContactFilter,
        start: &PageStart,
        size: usize,
    ) -> Result<(ContactPage, Option<MatchCount>)> {
        let search = Search::of(self.backend, filter, self).await?;
        let page = self.page_of(&search, filter, start, size).await?;
        let count = match search.pattern {
            Some(_) => Some(self.matches_of(&search, filter).await?),
            None => None,
        };
        Ok((page, count))
    }

    async fn page_of(
        &self,
        search: &Search,
        filter: &ContactFilter,
        start: &PageStart,
        size: usize,
    ) -> Result<ContactPage> {
        let mut conditions: Vec<String> = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        if let Some(status) = filter.status {
            binds.push(status.as_str().to_owned());
            conditions.push(format!("status = ${}", binds.len()));
        }
        publication_condition(filter, &mut conditions, &mut binds);
        search.conditions(&mut conditions, &mut binds);
        let backwards = matches!(start, PageStart::Before(_));
        match start {
            PageStart::First => {}
            PageStart::After(key) => {
                binds.push(key.clone());
                conditions.push(format!("email_key > ${}", binds.len()));
            }
            PageStart::Before(key) => {
                binds.push(key.clone());
                conditions.push(format!("email_key < ${}", binds.len()));
            }
        }
        let sql = format!(
            "SELECT {} FROM contacts {} ORDER BY email_key {} LIMIT {}",
            contact_columns!(),
            where_clause(&conditions),
            if backwards { "DESC" } else { "ASC" },
            size + 1
        );
        let rows = self.search_rows(search, &sql, &binds).await?;
        let mut contacts = rows
            .iter()
            .map(contact_from_row)
            .collect::<Result<Vec<_>>>()?;
        let more = contacts.len() > size;
        contacts.truncate(size);
        if backwards {
            contacts.reverse();
        }
        let first_key = contacts.first().map(|c| c.email.key());
        let last_key = contacts.last().map(|c| c.email.key());
        let (next, previous) = match start {
            PageStart::First => (last_key.filter(|_| more), None),
            PageStart::After(_) => (last_key.filter(|_| more), first_key),
            // Going back, there is always a page after; one before only if more.
            PageStart::Before(_) => (last_key, first_key.filter(|_| more)),
        };
        Ok(ContactPage {
            contacts,
            next,
            previous,
        })
    }

    /// How many contacts a search (with its status filter) finds, counted up to
    /// [`SEARCH_COUNT_LIMIT`].
    async fn matches_of(&self, search: &Search, filter: &ContactFilter) -> Result<MatchCount> {
        if search.is_dense() {
            return Ok(MatchCount::MoreThan(SEARCH_COUNT_LIMIT));
        }
        let mut conditions: Vec<String> = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        if let Some(status) = filter.status {
            binds.push(status.as_str().to_owned());
            conditions.push(format!("status = ${}", binds.len()));
        }
        publication_condition(filter, &mut conditions, &mut binds);
        search.conditions(&mut conditions, &mut binds);
        let sql = format!(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM contacts {} LIMIT {}) AS hits",
            where_clause(&conditions),
            SEARCH_COUNT_LIMIT + 1
        );
        let rows = self.search_rows(search, &sql, &binds).await?;
        let n: i64 = match rows.first() {
            Some(row) => row.try_get("n")?,
            None => 0,
        };
        Ok(if n > SEARCH_COUNT_LIMIT {
            MatchCount::MoreThan(SEARCH_COUNT_LIMIT)
        } else {
            MatchCount::Exactly(n)
        })
    }

    /// Runs a search query. On PostgreSQL the plan is made for this pattern: a plan
    /// cached for any pattern cannot know that `%ndersen%` is rare and `%.no%` is
    /// everywhere, and picks a scan of the table for both.
    async fn search_rows(
        &self,
        search: &Search,
        sql: &str,
        binds: &[String],
    ) -> Result<Vec<sqlx::any::AnyRow>> {
        let mut query = sqlx::query(AssertSqlSafe(sql.to_owned()));
        for value in binds {
            query = query.bind(value.clone());
        }
        // Only a search on PostgreSQL needs its own plan, and so a transaction to set it
        // in; every other page reads straight from the pool.
        if self.backend != Backend::Postgres || search.pattern.is_none() {
            return Ok(query.fetch_all(&self.pool).await?);
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET LOCAL plan_cache_mode = force_custom_plan")
            .execute(&mut *tx)
            .await?;
        let rows = query.fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// The contact with this id.
    pub async fn contact_by_id(&self, id: ContactId) -> Result<Option<Contact>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            contact_columns!(),
            " FROM contacts WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(contact_from_row).transpose()
    }

    /// Everything held about the contact `id`, or `None` if there is no such contact
    /// (never was, or erased). At most `max_rows` of each history.
    pub async fn contact_record(
        &self,
        id: ContactId,
        max_rows: i64,
    ) -> Result<Option<ContactRecord>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            contact_columns!(),
            ", consent_by, consent_ref FROM contacts WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let contact = contact_from_row(&row)?;
        let evidence = ConsentEvidence {
            recorded_by: row.try_get("consent_by")?,
            reference: row.try_get("consent_ref")?,
        };
        let deliveries = sqlx::query(
            "SELECT d.id, i.slug, i.subject, d.status, d.attempts, d.created_at, d.sent_at, \
             d.last_error, d.message_id, d.bounced_at, \
             (SELECT m.result FROM inbound_messages m WHERE m.delivery_id = d.id \
              ORDER BY m.id DESC LIMIT 1) AS bounce_report \
             FROM deliveries d JOIN issues i ON i.id = d.issue_id \
             WHERE d.contact_id = $1 ORDER BY d.id DESC LIMIT $2",
        )
        .bind(id)
        .bind(max_rows)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(delivery_from_row)
        .collect::<Result<Vec<_>>>()?;
        let notices = sqlx::query(
            "SELECT purpose, status, created_at, sent_at FROM notices \
             WHERE contact_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(id)
        .bind(max_rows)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(ContactNotice {
                purpose: NoticePurpose::try_from(row.try_get::<String, _>("purpose")?.as_str())
                    .map_err(StoreError::Corrupt)?,
                status: NoticeStatus::try_from(row.try_get::<String, _>("status")?.as_str())
                    .map_err(StoreError::Corrupt)?,
                created_at: Timestamp::from_unix_ms(row.try_get("created_at")?),
                sent_at: row
                    .try_get::<Option<i64>, _>("sent_at")?
                    .map(Timestamp::from_unix_ms),
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let key = contact.email.key();
        let inbound = self.inbound_of_contact(id, &key, max_rows).await?;
        let audit = self.audit_about(&key, max_rows).await?;
        let subscriptions = self.subscriptions(id).await?;
        Ok(Some(ContactRecord {
            contact,
            evidence,
            deliveries,
            notices,
            inbound,
            audit,
            subscriptions,
        }))
    }
}

fn delivery_from_row(row: &sqlx::any::AnyRow) -> Result<ContactDelivery> {
    let status: String = row.try_get("status")?;
    let at = |column: &str| -> Result<Option<Timestamp>> {
        Ok(row
            .try_get::<Option<i64>, _>(column)?
            .map(Timestamp::from_unix_ms))
    };
    Ok(ContactDelivery {
        id: row.try_get("id")?,
        issue_slug: row.try_get("slug")?,
        issue_subject: row.try_get("subject")?,
        status: DeliveryStatus::try_from(status.as_str()).map_err(super::StoreError::Corrupt)?,
        attempts: row.try_get("attempts")?,
        created_at: Timestamp::from_unix_ms(row.try_get("created_at")?),
        sent_at: at("sent_at")?,
        last_error: row.try_get("last_error")?,
        message_id: row.try_get("message_id")?,
        bounced_at: at("bounced_at")?,
        bounce_report: row.try_get("bounce_report")?,
    })
}

/// [`ContactFilter::publication`] as a condition with its bind.
fn publication_condition(
    filter: &ContactFilter,
    conditions: &mut Vec<String>,
    binds: &mut Vec<String>,
) {
    if let Some(publication) = &filter.publication {
        binds.push(publication.as_str().to_owned());
        conditions.push(
            super::contact_filter::in_publication!("{}").replace("{}", &binds.len().to_string()),
        );
    }
}

fn where_clause(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    }
}

/// How a search is run on this database for this text.
struct Search {
    /// The LIKE pattern every match satisfies.
    pattern: Option<String>,
    /// SQLite only: the trigram query that narrows the rows first, when the text is
    /// long enough to have trigrams and rare enough for the narrowing to pay.
    trigram: Option<String>,
    /// SQLite only: the text is everywhere; walking the list in address order and
    /// testing each row finds a page sooner than the index would.
    dense: bool,
}

impl Search {
    async fn of(backend: Backend, filter: &ContactFilter, store: &Store) -> Result<Search> {
        let Some(text) = filter
            .search
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        else {
            return Ok(Search {
                pattern: None,
                trigram: None,
                dense: false,
            });
        };
        let pattern = like_pattern(text);
        let lowered = text.to_lowercase();
        // PostgreSQL's planner reads pg_trgm's index or walks the table as the
        // pattern's rarity warrants; SQLite's needs telling.
        if backend == Backend::Postgres || lowered.chars().count() < 3 {
            return Ok(Search {
                pattern: Some(pattern),
                trigram: None,
                dense: false,
            });
        }
        // A phrase of trigrams: the text as one quoted string, quotes doubled.
        let trigram = format!("\"{}\"", lowered.replace('"', "\"\""));
        let candidates: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM (SELECT rowid FROM contacts_search \
             WHERE contacts_search MATCH $1 LIMIT {}) AS hits",
            SEARCH_COUNT_LIMIT + 1
        )))
        .bind(&trigram)
        .fetch_one(&store.pool)
        .await?;
        let dense = candidates > SEARCH_COUNT_LIMIT;
        Ok(Search {
            pattern: Some(pattern),
            trigram: (!dense).then_some(trigram),
            dense,
        })
    }

    fn is_dense(&self) -> bool {
        self.dense
    }

    fn conditions(&self, conditions: &mut Vec<String>, binds: &mut Vec<String>) {
        if let Some(trigram) = &self.trigram {
            binds.push(trigram.clone());
            conditions.push(format!(
                "id IN (SELECT rowid FROM contacts_search WHERE contacts_search MATCH ${})",
                binds.len()
            ));
        }
        if let Some(pattern) = &self.pattern {
            binds.push(pattern.clone());
            conditions.push(format!("search_text LIKE ${} ESCAPE '\\'", binds.len()));
        }
    }
}
