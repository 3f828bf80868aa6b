//! Whether the service can take traffic: the database answers and its schema is the one
//! this build knows (for a load balancer's readiness check; liveness is `/health`).

use serde::Serialize;

use crate::store::Store;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Readiness {
    pub ready: bool,
    /// Why not, one sentence each.
    pub reasons: Vec<String>,
    /// The newest migration the database has.
    pub schema: Option<i64>,
}

pub async fn readiness(store: &Store) -> Readiness {
    match store.schema_state().await {
        Ok(schema) => {
            let mut reasons = Vec::new();
            let pending = schema.pending();
            if !pending.is_empty() {
                reasons.push(format!(
                    "{} migrations are not applied yet (run nyhetsbrev migrate)",
                    pending.len()
                ));
            }
            let unknown = schema.unknown();
            if !unknown.is_empty() {
                reasons.push(format!(
                    "the database has {} migrations newer than this build: upgrade it",
                    unknown.len()
                ));
            }
            Readiness {
                ready: reasons.is_empty(),
                reasons,
                schema: schema.version(),
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: database unreachable");
            Readiness {
                ready: false,
                reasons: vec!["the database does not answer".into()],
                schema: None,
            }
        }
    }
}
