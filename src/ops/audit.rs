//! The audit log, read: what staff did, for staff to look through.

use crate::store::{AuditEntry, AuditFilter, Store, StoreError};

#[derive(Clone)]
pub struct AuditLog {
    store: Store,
}

impl AuditLog {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// A page of entries matching `filter`, newest first, older than the entry
    /// `before`; and whether there are older ones.
    pub async fn page(
        &self,
        filter: &AuditFilter,
        before: Option<i64>,
        size: usize,
    ) -> Result<(Vec<AuditEntry>, bool), StoreError> {
        self.store.audit_page(filter, before, size).await
    }
}
