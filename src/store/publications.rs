//! Publications (issue 18): the newsletter and the others a contact may choose. Who is
//! subscribed to which is in `subscriptions.rs`.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::audit::{self, Actor};
use super::staff_settings::footer_text;
use super::{Result, Store, StoreError};
use crate::domain::AuditAction;
use crate::domain::{
    IdentityField, NewPublication, Publication, PublicationChanges, PublicationDescription,
    PublicationFooter, PublicationId, PublicationKind, PublicationName, PublicationSlug, Timestamp,
};

const PUBLICATION_COLUMNS: &str = "id, slug, name, description, kind, footer_contact, footer_about, footer_join, created_at, updated_at";

fn publication_from_row(row: &AnyRow) -> Result<Publication> {
    let corrupt = |e: crate::domain::PublicationError| StoreError::Corrupt(e.to_string());
    Ok(Publication {
        id: row.try_get("id")?,
        slug: PublicationSlug::parse(&row.try_get::<String, _>("slug")?).map_err(corrupt)?,
        name: PublicationName::parse(&row.try_get::<String, _>("name")?).map_err(corrupt)?,
        description: PublicationDescription::parse(&row.try_get::<String, _>("description")?)
            .map_err(corrupt)?,
        kind: PublicationKind::parse(&row.try_get::<String, _>("kind")?).map_err(corrupt)?,
        footer: PublicationFooter {
            contact: footer_text(row.try_get("footer_contact")?, IdentityField::FooterContact)?,
            about: footer_text(row.try_get("footer_about")?, IdentityField::FooterAbout)?,
            join: footer_text(row.try_get("footer_join")?, IdentityField::FooterJoin)?,
        },
        created_at: Timestamp::from_unix_ms(row.try_get("created_at")?),
        updated_at: Timestamp::from_unix_ms(row.try_get("updated_at")?),
    })
}

/// A publication with how many confirmed contacts receive it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicationCount {
    pub publication: Publication,
    pub subscribers: i64,
}

impl Store {
    /// Every publication, in the order they were added (the newsletter first).
    pub async fn publications(&self) -> Result<Vec<Publication>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {PUBLICATION_COLUMNS} FROM publications ORDER BY id"
        )))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(publication_from_row)
        .collect()
    }

    /// Every publication with its number of confirmed subscribers.
    pub async fn publication_counts(&self) -> Result<Vec<PublicationCount>> {
        let publications = self.publications().await?;
        let mut counts = Vec::with_capacity(publications.len());
        for publication in publications {
            let subscribers: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM subscriptions s JOIN contacts c ON c.id = s.contact_id \
                 WHERE s.publication_id = $1 AND s.left_at IS NULL AND c.status = 'confirmed'",
            )
            .bind(publication.id)
            .fetch_one(&self.pool)
            .await?;
            counts.push(PublicationCount {
                publication,
                subscribers,
            });
        }
        Ok(counts)
    }

    pub async fn publication(&self, slug: &PublicationSlug) -> Result<Option<Publication>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {PUBLICATION_COLUMNS} FROM publications WHERE slug = $1"
        )))
        .bind(slug.as_str())
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(publication_from_row)
        .transpose()
    }

    pub async fn existing_publication(&self, slug: &PublicationSlug) -> Result<Publication> {
        self.publication(slug)
            .await?
            .ok_or_else(|| StoreError::PublicationNotFound(slug.to_string()))
    }

    pub async fn publication_by_id(&self, id: PublicationId) -> Result<Publication> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {PUBLICATION_COLUMNS} FROM publications WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(publication_from_row)
        .transpose()?
        .ok_or_else(|| StoreError::PublicationNotFound(format!("#{id}")))
    }

    /// Adds a publication. Nobody is subscribed to it yet: each person chooses it.
    pub async fn add_publication(
        &self,
        new: &NewPublication,
        actor: &Actor,
    ) -> Result<Publication> {
        let now = Timestamp::now().unix_ms();
        let (_turn, mut tx) = self.begin_write().await?;
        let issue: Option<i64> = sqlx::query_scalar("SELECT id FROM issues WHERE slug = $1")
            .bind(new.slug.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if issue.is_some() {
            tx.rollback().await?;
            return Err(StoreError::SlugIsIssue(new.slug.to_string()));
        }
        let id: Option<PublicationId> = sqlx::query_scalar(
            "INSERT INTO publications (slug, name, description, kind, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (slug) DO NOTHING RETURNING id",
        )
        .bind(new.slug.as_str())
        .bind(new.name.as_str())
        .bind(new.description.as_str())
        .bind(new.kind.as_str())
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else {
            tx.rollback().await?;
            return Err(StoreError::PublicationExists(new.slug.to_string()));
        };
        audit::record(
            &mut tx,
            actor,
            AuditAction::PublicationAdd,
            Some(new.slug.as_str()),
            Some(crate::domain::AuditDetail::PublicationAdded(new.kind).to_string()),
        )
        .await?;
        tx.commit().await?;
        self.publication_by_id(id).await
    }

    /// Changes a publication's name, description or kind.
    pub async fn edit_publication(
        &self,
        slug: &PublicationSlug,
        changes: &PublicationChanges,
        actor: &Actor,
    ) -> Result<Publication> {
        let now = Timestamp::now().unix_ms();
        let (_turn, mut tx) = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE publications SET name = COALESCE($2, name), description = COALESCE($3, description), \
             kind = COALESCE($4, kind), updated_at = $5 WHERE slug = $1",
        )
        .bind(slug.as_str())
        .bind(changes.name.as_ref().map(|n| n.as_str().to_owned()))
        .bind(changes.description.as_ref().map(|d| d.as_str().to_owned()))
        .bind(changes.kind.map(|k| k.as_str()))
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            tx.rollback().await?;
            return Err(StoreError::PublicationNotFound(slug.to_string()));
        }
        let fields: Vec<String> = [
            changes.name.as_ref().map(|_| "name"),
            changes.description.as_ref().map(|_| "description"),
            changes.kind.map(|_| "kind"),
        ]
        .into_iter()
        .flatten()
        .map(str::to_owned)
        .collect();
        audit::record(
            &mut tx,
            actor,
            AuditAction::PublicationEdit,
            Some(slug.as_str()),
            Some(crate::domain::AuditDetail::PublicationEdited(fields).to_string()),
        )
        .await?;
        tx.commit().await?;
        self.existing_publication(slug).await
    }
}
