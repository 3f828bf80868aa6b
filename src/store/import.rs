//! Bulk import of contacts, all in one transaction.
//!
//! A whole file is imported in a single transaction: a crash, a lost connection or a
//! Ctrl-C part-way leaves the list exactly as it was, and running the same import again
//! is safe. Rows arrive in batches of multi-row INSERTs (one round trip per batch, not
//! per row). To say "line 812 repeats line 17" without holding every address of a
//! million-row file in memory, the lines seen so far live in a temporary table of the
//! import's own connection.

use std::collections::{HashMap, HashSet};

use std::fmt::Write;

use sqlx::{Any, AssertSqlSafe, Row, Transaction};

use super::audit::{self, Actor};
use super::contact_rows::{NEW_CONTACT_VALUES, bind_new_contact, new_contact_columns, search_text};
use super::{Backend, Result, Store};
use crate::domain::AuditAction;
use crate::domain::{ContactName, NewContact, Organisation, Timestamp};

/// Rows per INSERT: 16 parameters each stays well inside SQLite's 32,766 and
/// PostgreSQL's 65,535 bound parameters per statement.
pub const IMPORT_BATCH_ROWS: usize = 500;

/// One valid row of an import file.
#[derive(Debug, Clone)]
pub struct ImportRow {
    /// The line of the file where the row starts (1 is the header).
    pub line: u64,
    pub contact: NewContact,
}

/// What became of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowResult {
    Inserted,
    /// The same address (in any letter case) appeared earlier in the file.
    DuplicateInFile {
        first_line: u64,
    },
    /// The address was on the list before; left as it was.
    AlreadyOnList,
    /// Already on the list; name or organisation updated from the file.
    Updated,
    /// Already on the list with the same name and organisation.
    Unchanged,
}

/// Results in the order of the rows given.
pub type ImportBatchOutcome = Vec<RowResult>;

/// An import in progress: a transaction on one connection.
pub struct ImportSession {
    tx: Transaction<'static, Any>,
    /// An import writes for its whole length: other writers of this process wait.
    _turn: super::WriteTurn,
    backend: Backend,
    now: Timestamp,
    /// Who the contacts' consent says recorded it.
    recorded_by: String,
    /// The file's name, for each contact's "file, line" consent reference.
    label: String,
}

impl Store {
    /// Starts importing the file `label` for `actor`.
    pub async fn begin_import(&self, actor: &Actor, label: &str) -> Result<ImportSession> {
        let (turn, mut tx) = self.begin_write().await?;
        sqlx::query("CREATE TEMP TABLE IF NOT EXISTS import_lines (email_key TEXT PRIMARY KEY, line BIGINT NOT NULL)")
            .execute(&mut *tx)
            .await?;
        // A pooled connection may still hold the table from an earlier import.
        sqlx::query("DELETE FROM import_lines")
            .execute(&mut *tx)
            .await?;
        Ok(ImportSession {
            tx,
            _turn: turn,
            backend: self.backend,
            now: Timestamp::now(),
            recorded_by: actor.as_str().to_owned(),
            label: label
                .chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect(),
        })
    }
}

impl ImportSession {
    /// Inserts a batch (at most [`IMPORT_BATCH_ROWS`] rows). With `update`, contacts
    /// already on the list get the file's name and organisation where the file has one;
    /// their status is never changed by an import, so nobody who left is put back.
    pub async fn insert_batch(
        &mut self,
        rows: &[ImportRow],
        update: bool,
    ) -> Result<ImportBatchOutcome> {
        assert!(rows.len() <= IMPORT_BATCH_ROWS, "import batch too large");
        let mut results: Vec<Option<RowResult>> = vec![None; rows.len()];
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = rows.iter().map(|row| row.contact.email.key()).collect();

        // Repeats inside this batch.
        let mut first_in_batch: HashMap<&str, usize> = HashMap::with_capacity(rows.len());
        let mut unique: Vec<usize> = Vec::with_capacity(rows.len());
        for (i, key) in keys.iter().enumerate() {
            match first_in_batch.get(key.as_str()) {
                Some(&first) => {
                    results[i] = Some(RowResult::DuplicateInFile {
                        first_line: rows[first].line,
                    })
                }
                None => {
                    first_in_batch.insert(key, i);
                    unique.push(i);
                }
            }
        }

        // Repeats of earlier batches: the temporary table already has the key.
        let sql = format!(
            "INSERT INTO import_lines (email_key, line) VALUES {} ON CONFLICT (email_key) DO NOTHING RETURNING email_key",
            values_placeholders(self.backend, unique.len(), 2)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for &i in &unique {
            query = query.bind(keys[i].as_str()).bind(rows[i].line as i64);
        }
        let fresh: HashSet<String> = query
            .fetch_all(&mut *self.tx)
            .await?
            .iter()
            .map(|row| row.try_get("email_key"))
            .collect::<Result<_, _>>()?;
        let repeated: Vec<usize> = unique
            .iter()
            .copied()
            .filter(|&i| !fresh.contains(&keys[i]))
            .collect();
        if !repeated.is_empty() {
            let first_lines = self
                .first_lines(repeated.iter().map(|&i| keys[i].as_str()).collect())
                .await?;
            for &i in &repeated {
                let first_line = first_lines.get(&keys[i]).copied().unwrap_or(0);
                results[i] = Some(RowResult::DuplicateInFile { first_line });
            }
        }
        // A repeat inside the batch of a row that itself repeats an earlier batch names
        // the earliest line.
        for i in 0..rows.len() {
            if let Some(RowResult::DuplicateInFile { first_line }) = results[i] {
                let first = first_in_batch[keys[i].as_str()];
                if first != i
                    && let Some(RowResult::DuplicateInFile {
                        first_line: earliest,
                    }) = results[first]
                {
                    results[i] = Some(RowResult::DuplicateInFile {
                        first_line: earliest.min(first_line),
                    });
                }
            }
        }

        // New to this file: insert the ones not on the list yet.
        let candidates: Vec<usize> = unique
            .iter()
            .copied()
            .filter(|&i| fresh.contains(&keys[i]))
            .collect();
        if !candidates.is_empty() {
            let inserted = self.insert_contacts(rows, &candidates).await?;
            let existing: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|&i| !inserted.contains(&keys[i]))
                .collect();
            for &i in &candidates {
                if inserted.contains(&keys[i]) {
                    results[i] = Some(RowResult::Inserted);
                }
            }
            if update && !existing.is_empty() {
                self.update_existing(rows, &keys, &existing, &mut results)
                    .await?;
            } else {
                for &i in &existing {
                    results[i] = Some(RowResult::AlreadyOnList);
                }
            }
        }
        Ok(results
            .into_iter()
            .map(|r| r.expect("every row has a result"))
            .collect())
    }

    async fn first_lines(&mut self, keys: Vec<&str>) -> Result<HashMap<String, u64>> {
        let sql = format!(
            "SELECT email_key, line FROM import_lines WHERE email_key IN {}",
            list_placeholders(self.backend, keys.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for key in keys {
            query = query.bind(key);
        }
        query
            .fetch_all(&mut *self.tx)
            .await?
            .iter()
            .map(|row| {
                Ok((
                    row.try_get("email_key")?,
                    row.try_get::<i64, _>("line")? as u64,
                ))
            })
            .collect()
    }

    async fn insert_contacts(
        &mut self,
        rows: &[ImportRow],
        which: &[usize],
    ) -> Result<HashSet<String>> {
        let now = self.now;
        let sql = format!(
            "INSERT INTO contacts ({}) VALUES {} ON CONFLICT (email_key) DO NOTHING RETURNING email_key",
            new_contact_columns!(),
            values_placeholders(self.backend, which.len(), NEW_CONTACT_VALUES)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for &i in which {
            let reference = format!("{}, linje {}", self.label, rows[i].line);
            query = bind_new_contact(
                query,
                &rows[i].contact,
                now,
                &self.recorded_by,
                Some(reference),
            );
        }
        let inserted: HashSet<String> = query
            .fetch_all(&mut *self.tx)
            .await?
            .iter()
            .map(|row| Ok(row.try_get("email_key")?))
            .collect::<Result<_>>()?;
        // Each new contact's publications, one statement per distinct choice (nearly
        // always one: all of them).
        let mut by_choice: Vec<(&crate::domain::PublicationChoice, Vec<String>)> = Vec::new();
        for &i in which {
            let contact = &rows[i].contact;
            let key = contact.email.key();
            if !inserted.contains(&key) {
                continue;
            }
            match by_choice
                .iter_mut()
                .find(|(choice, _)| **choice == contact.publications)
            {
                Some((_, keys)) => keys.push(key),
                None => by_choice.push((&contact.publications, vec![key])),
            }
        }
        for (choice, keys) in by_choice {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            super::subscriptions::subscribe_new_contacts(&mut self.tx, self.backend, &keys, choice)
                .await?;
        }
        Ok(inserted)
    }

    async fn update_existing(
        &mut self,
        rows: &[ImportRow],
        keys: &[String],
        which: &[usize],
        results: &mut [Option<RowResult>],
    ) -> Result<()> {
        let sql = format!(
            "SELECT email, email_key, name, organisation FROM contacts WHERE email_key IN {}",
            list_placeholders(self.backend, which.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for &i in which {
            query = query.bind(keys[i].as_str());
        }
        let current: HashMap<String, (String, Option<String>, Option<String>)> = query
            .fetch_all(&mut *self.tx)
            .await?
            .iter()
            .map(|row| {
                Ok((
                    row.try_get("email_key")?,
                    (
                        row.try_get("email")?,
                        row.try_get("name")?,
                        row.try_get("organisation")?,
                    ),
                ))
            })
            .collect::<Result<_>>()?;
        for &i in which {
            let contact = &rows[i].contact;
            let Some((email, old_name, old_org)) = current.get(&keys[i]) else {
                results[i] = Some(RowResult::AlreadyOnList);
                continue;
            };
            // An empty cell means "not known here", not "erase what we have".
            let name = contact
                .name
                .as_ref()
                .map(|n| n.as_str().to_owned())
                .or_else(|| old_name.clone());
            let organisation = contact
                .organisation
                .as_ref()
                .map(|o| o.as_str().to_owned())
                .or_else(|| old_org.clone());
            if name == *old_name && organisation == *old_org {
                results[i] = Some(RowResult::Unchanged);
                continue;
            }
            let stored_email = crate::domain::EmailAddress::parse(email)?;
            let search = search_text(
                &stored_email,
                ContactName::parse(name.as_deref().unwrap_or_default())
                    .ok()
                    .flatten()
                    .as_ref(),
                Organisation::parse(organisation.as_deref().unwrap_or_default())
                    .ok()
                    .flatten()
                    .as_ref(),
            );
            sqlx::query(
                "UPDATE contacts SET name = $1, organisation = $2, search_text = $3, updated_at = $4 \
                 WHERE email_key = $5",
            )
            .bind(name)
            .bind(organisation)
            .bind(search)
            .bind(self.now.unix_ms())
            .bind(keys[i].as_str())
            .execute(&mut *self.tx)
            .await?;
            results[i] = Some(RowResult::Updated);
        }
        Ok(())
    }

    /// Makes the whole import visible at once, with one audit entry for it.
    pub async fn commit(mut self, actor: &Actor, detail: String) -> Result<()> {
        sqlx::query("DROP TABLE import_lines")
            .execute(&mut *self.tx)
            .await?;
        audit::record(
            &mut self.tx,
            actor,
            AuditAction::ContactsImport,
            None,
            Some(detail),
        )
        .await?;
        self.tx.commit().await?;
        Ok(())
    }

    /// Undoes everything this import did (used by `--dry-run`).
    pub async fn rollback(self) -> Result<()> {
        self.tx.rollback().await?;
        Ok(())
    }
}

/// `($1, $2), ($3, $4), …` for `rows` rows of `columns` values.
///
/// The one place where the dialects' placeholders differ. sqlx's `QueryBuilder` writes
/// `?` for `Any`, which PostgreSQL does not accept, so PostgreSQL gets numbered `$n`.
/// SQLite gets plain `?`: for every `$n` sqlx asks SQLite for the parameter's name, a
/// linear search, which made a 7,000-parameter batch quadratic (83% of an import's
/// time in `sqlite3_bind_parameter_name`).
pub(super) fn values_placeholders(backend: Backend, rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 6);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            let sep = if column == 0 { "" } else { ", " };
            match backend {
                Backend::Sqlite => {
                    let _ = write!(sql, "{sep}?");
                }
                Backend::Postgres => {
                    let _ = write!(sql, "{sep}${}", row * columns + column + 1);
                }
            }
        }
        sql.push(')');
    }
    sql
}

/// `($1, $2, …, $n)` (or `(?, ?, …)`) for an `IN` list; `(NULL)` when empty.
pub(super) fn list_placeholders(backend: Backend, n: usize) -> String {
    if n == 0 {
        return "(NULL)".into();
    }
    values_placeholders(backend, 1, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_suit_each_backend() {
        assert_eq!(
            values_placeholders(Backend::Postgres, 2, 3),
            "($1, $2, $3), ($4, $5, $6)"
        );
        assert_eq!(values_placeholders(Backend::Sqlite, 2, 2), "(?, ?), (?, ?)");
        assert_eq!(list_placeholders(Backend::Postgres, 3), "($1, $2, $3)");
        assert_eq!(list_placeholders(Backend::Sqlite, 0), "(NULL)");
    }
}
