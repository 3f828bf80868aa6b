//! The public archive: which issues anyone may read, and their web versions.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use bytes::Bytes;

use crate::domain::{Publication, PublicationSlug, Slug};
use crate::render::{RenderContext, RenderError, SourceError};
use crate::store::{IssueStatus, Store, StoreError, StoredIssue};

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("the stored issue no longer parses: {0}")]
    Source(SourceError),
    #[error(transparent)]
    Render(RenderError),
    #[error(transparent)]
    Store(StoreError),
}

crate::from_cause!(SourceError => ArchiveError::Source);
crate::from_cause!(RenderError => ArchiveError::Render);
crate::from_cause!(StoreError => ArchiveError::Store);

/// When staff last changed their settings and the publication, in ms.
type CacheVersion = (Option<i64>, i64);

/// The archive; cheap to clone (the cache is shared).
#[derive(Clone)]
pub struct Archive {
    store: Store,
    render: RenderContext,
    /// Rendered web versions of sent issues, by slug, with the version of what staff
    /// own that they were rendered with (their settings' and the publication's last
    /// change): a change there renders them again.
    cache: Arc<RwLock<HashMap<Slug, (CacheVersion, Bytes)>>>,
}

impl Archive {
    pub fn new(store: Store, render: RenderContext) -> Self {
        Self {
            store,
            render,
            cache: Arc::default(),
        }
    }

    /// The service's public address, for links that leave the site (the Atom feed).
    pub fn base_url(&self) -> &str {
        self.render.base_url.trim_end_matches('/')
    }

    /// Every publication with its public issues, newest first (publications in the
    /// order they were added).
    pub async fn by_publication(
        &self,
    ) -> Result<Vec<(Publication, Vec<StoredIssue>)>, ArchiveError> {
        let issues = self.store.public_issues().await?;
        Ok(self
            .store
            .publications()
            .await?
            .into_iter()
            .map(|p| {
                let of = issues
                    .iter()
                    .filter(|i| i.publication_id == p.id)
                    .cloned()
                    .collect();
                (p, of)
            })
            .collect())
    }

    /// One publication and its public issues, newest first; `None` when `slug` names
    /// no publication.
    pub async fn publication(
        &self,
        slug: &str,
    ) -> Result<Option<(Publication, Vec<StoredIssue>)>, ArchiveError> {
        let Ok(slug) = PublicationSlug::parse(slug) else {
            return Ok(None);
        };
        let Some(publication) = self.store.publication(&slug).await? else {
            return Ok(None);
        };
        let issues = self
            .store
            .public_issues()
            .await?
            .into_iter()
            .filter(|i| i.publication_id == publication.id)
            .collect();
        Ok(Some((publication, issues)))
    }

    /// Public issues (see `IssueStatus::is_public`), newest first.
    pub async fn issues(&self) -> Result<Vec<StoredIssue>, ArchiveError> {
        Ok(self.store.public_issues().await?)
    }

    /// The web version of a public issue; `None` for a draft, a cancelled issue or a
    /// slug that names nothing.
    pub async fn page(&self, slug: &Slug) -> Result<Option<Bytes>, ArchiveError> {
        let Some(stored) = self.store.issue(slug).await? else {
            return Ok(None);
        };
        if !stored.status.is_public() {
            return Ok(None);
        }
        let publication = self.store.publication_by_id(stored.publication_id).await?;
        let staff = self.store.staff_settings().await?;
        let version = (
            staff.updated_at.map(|t| t.unix_ms()),
            publication.updated_at.unix_ms(),
        );
        if let Some((cached, page)) = self.cache.read().expect("cache lock").get(slug)
            && *cached == version
        {
            return Ok(Some(page.clone()));
        }
        let page = Bytes::from(crate::render::render_web(
            &stored.model()?,
            &publication,
            &self.render.with_staff(&staff),
        )?);
        // A sent issue never changes, so its page is rendered once per process. One that
        // is still sending can be cancelled, which must take it down at once: not cached.
        if stored.status == IssueStatus::Sent {
            self.cache
                .write()
                .expect("cache lock")
                .insert(slug.clone(), (version, page.clone()));
        }
        Ok(Some(page))
    }
}
