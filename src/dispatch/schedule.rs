//! Planned sends: every worker looks for plans that are due and starts them (the store
//! lets only one worker take a plan). A plan found more than `schedule_grace` late is
//! not started (the service was down, say) but marked missed, and the dashboard asks a
//! person; with `send_approval` a plan starts only once another staff member approved.

use std::time::Duration;

use crate::domain::Timestamp;
use crate::store::{Actor, Store, StoreError};

/// Starts the plans that are due; marks those too late as missed. One span per look
/// (a scheduler tick), with the slugs of what it started in its lines.
#[tracing::instrument(name = "scheduler_tick", skip_all)]
pub async fn start_due_sends(
    store: &Store,
    grace: Duration,
    approval_required: bool,
) -> Result<(), StoreError> {
    let now = Timestamp::now();
    let actor = Actor::service(crate::domain::ServiceTask::PlannedSend);
    for issue in store.due_plans(now).await? {
        let Some(plan) = issue.plan.clone() else {
            continue;
        };
        if approval_required && plan.approved_by.is_none() {
            continue;
        }
        let late_ms = now.unix_ms() - plan.at.unix_ms();
        if late_ms > grace.as_millis() as i64 {
            if store.mark_plan_missed(&issue, plan.at, &actor).await? {
                tracing::warn!(slug = %issue.slug, late_minutes = late_ms / 60_000, "a planned send was found too late: not started; staff decide");
            }
            continue;
        }
        match store.start_planned(&issue, plan.at, &actor).await {
            Ok(Some(enqueued)) => {
                tracing::info!(slug = %issue.slug, queued = enqueued.added, "planned send started");
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(slug = %issue.slug, error = %e, "could not start a planned send")
            }
        }
    }
    Ok(())
}
