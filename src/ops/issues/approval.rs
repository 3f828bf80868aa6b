//! The second approval of a send (`send_approval`): whose approval counts, and the
//! approval itself.

use super::{IssueError, Issues, SendRequested};
use crate::domain::{AuditAction, Slug, Timestamp};
use crate::store::Actor;

/// How long after someone else made an account, set its password or reset its second
/// factor its approvals do not count: a colleague has a day to notice the owner mail.
pub const APPROVAL_QUARANTINE_MS: i64 = 24 * 3600 * 1000;

/// Why an account's approval of a send does not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalBar {
    #[error("the account was made by the one who asked for the send")]
    CreatedByRequester,
    #[error("the account's password was set by the one who asked for the send")]
    PasswordByRequester,
    #[error("the account's second factor was reset by the one who asked for the send")]
    SecondFactorResetByRequester,
    #[error("someone else made or changed the account in the last 24 hours")]
    ChangedRecently,
    #[error("the account was made or changed by an account the one who asked made or changed")]
    MadeThroughRequester,
    #[error("the approving account made or changed the account of the one who asked")]
    ApproverVouchedForRequester,
    #[error("someone else made or changed the asking account in the last 24 hours")]
    RequesterChangedRecently,
}

impl ApprovalBar {
    /// The reason as staff read it on the page.
    pub fn norwegian(self) -> &'static str {
        match self {
            ApprovalBar::CreatedByRequester => {
                "Kontoen din ble laget av den som ba om utsendingen, så godkjenningen din teller ikke. En annen kollega må godkjenne."
            }
            ApprovalBar::PasswordByRequester => {
                "Passordet ditt ble satt av den som ba om utsendingen, så godkjenningen din teller ikke. En annen kollega må godkjenne."
            }
            ApprovalBar::SecondFactorResetByRequester => {
                "Tofaktoren din ble nullstilt av den som ba om utsendingen, så godkjenningen din teller ikke. En annen kollega må godkjenne."
            }
            ApprovalBar::ChangedRecently => {
                "Kontoen din ble laget, fikk nytt passord eller fikk tofaktor nullstilt av en annen det siste døgnet, så godkjenningen din teller ikke ennå. En annen kollega må godkjenne, eller prøv igjen når det har gått 24 timer."
            }
            ApprovalBar::MadeThroughRequester => {
                "Kontoen din ble laget eller endret av en konto som den som ba om utsendingen selv laget eller endret, så godkjenningen din teller ikke. En annen kollega må godkjenne."
            }
            ApprovalBar::ApproverVouchedForRequester => {
                "Du laget eller endret kontoen til den som ba om utsendingen (eller en konto som gjorde det), så godkjenningen din teller ikke. En kollega hvis konto er laget av en tredje person, eller av driftsansvarlig, må godkjenne."
            }
            ApprovalBar::RequesterChangedRecently => {
                "Kontoen som ba om utsendingen ble laget eller endret av en annen det siste døgnet, så en godkjenning teller ikke ennå. Prøv igjen når det har gått 24 timer, eller be en kollega med en eldre konto om å be om utsendingen."
            }
        }
    }
}

/// The rule for a second approval, in one place: an approval by an account does not
/// count if the one who asked for the send (`requester`) ever made it, set its password
/// or reset its second factor, or if anyone else did any of these in the last 24 hours.
/// `changes` are those made to the approving account by others (the command line, the
/// operator's shell, counts only as a maker of accounts, never as the requester: its
/// changes need no quarantine).
pub fn approval_bar(
    changes: &[crate::store::AccountChange],
    requester: Option<&str>,
    now: Timestamp,
) -> Option<ApprovalBar> {
    use crate::store::AccountChangeKind;
    if let Some(requester) = requester {
        for change in changes {
            if change.by.as_deref() == Some(requester) {
                return Some(match change.kind {
                    AccountChangeKind::Created => ApprovalBar::CreatedByRequester,
                    AccountChangeKind::Password => ApprovalBar::PasswordByRequester,
                    AccountChangeKind::SecondFactorReset => {
                        ApprovalBar::SecondFactorResetByRequester
                    }
                });
            }
        }
    }
    changes
        .iter()
        .any(|c| c.by.is_some() && c.at.unix_ms() > now.unix_ms() - APPROVAL_QUARANTINE_MS)
        .then_some(ApprovalBar::ChangedRecently)
}

impl Issues {
    /// Approves a planned send (never by the account that asked for it, nor by one that
    /// account made or changed: see [`approval_bar`]). A plan that is due starts at once.
    pub async fn approve_send(
        &self,
        slug: &Slug,
        actor: &Actor,
    ) -> Result<SendRequested, IssueError> {
        if let Err(why) = &self.token_key {
            return Err(IssueError::NoTokenKey(why.clone()));
        }
        let planned = self.store.existing_issue(slug).await?;
        if let (Some(plan), Some(approver)) = (
            planned.plan.as_ref(),
            crate::ops::staff::staff_name_of(actor.as_str()),
        ) && plan.requested_by != actor.as_str()
        {
            let changes = self.store.account_changes_by_others(approver).await?;
            let requester = crate::ops::staff::staff_name_of(&plan.requested_by);
            let bar = match approval_bar(&changes, requester, Timestamp::now()) {
                Some(bar) => Some(bar),
                None => match requester {
                    Some(requester) => self.lineage_bar(approver, requester).await?,
                    None => None,
                },
            };
            if let Some(bar) = bar {
                self.store
                    .log_action(
                        actor,
                        AuditAction::StaffApprovalRefused,
                        slug.as_str(),
                        Some(bar.norwegian().to_owned()),
                    )
                    .await?;
                return Err(IssueError::ApprovalRefused(bar));
            }
        }
        let issue = self.store.approve_send(slug, actor).await?;
        let Some(plan) = issue.plan.clone() else {
            return Err(IssueError::NoPlan(slug.to_string()));
        };
        if plan.at.unix_ms() <= Timestamp::now().unix_ms()
            && let Some(enqueued) = self.store.start_planned(&issue, plan.at, actor).await?
        {
            return Ok(SendRequested::Started(enqueued));
        }
        Ok(SendRequested::Planned {
            at: plan.at,
            needs_approval: false,
        })
    }

    /// The rest of the rule for a second approval, beyond the approving account's own
    /// history ([`approval_bar`]): one person with several accounts must not be two
    /// people. So an approval does not count when the requester is anywhere among
    /// those who made or changed the approving account, or those who made or changed
    /// theirs, and so on (kari makes b, b makes c: c cannot approve kari's send); when
    /// the approver is anywhere in that line behind the requesting account (kari makes
    /// b, b asks, kari approves); nor when the requesting account itself was made or
    /// changed by someone else in the last 24 hours.
    async fn lineage_bar(
        &self,
        approver: &str,
        requester: &str,
    ) -> Result<Option<ApprovalBar>, IssueError> {
        if self.vouchers(approver).await?.contains(requester) {
            return Ok(Some(ApprovalBar::MadeThroughRequester));
        }
        if self.vouchers(requester).await?.contains(approver) {
            return Ok(Some(ApprovalBar::ApproverVouchedForRequester));
        }
        let now = Timestamp::now().unix_ms();
        let requester_changes = self.store.account_changes_by_others(requester).await?;
        if requester_changes
            .iter()
            .any(|c| c.by.is_some() && c.at.unix_ms() > now - APPROVAL_QUARANTINE_MS)
        {
            return Ok(Some(ApprovalBar::RequesterChangedRecently));
        }
        Ok(None)
    }

    /// Every web account that made or changed `username`'s account, every account that
    /// made or changed theirs, and so on (the command line counts as nobody: it is the
    /// operator's shell).
    async fn vouchers(
        &self,
        username: &str,
    ) -> Result<std::collections::HashSet<String>, IssueError> {
        /// Far more accounts than a unit of a few people will ever have; a bound all
        /// the same, so a long history cannot make an approval slow.
        const MOST: usize = 500;
        let mut found = std::collections::HashSet::new();
        let mut to_visit = vec![username.to_owned()];
        while let Some(name) = to_visit.pop() {
            for change in self.store.account_changes_by_others(&name).await? {
                if let Some(by) = change.by
                    && by != username
                    && found.len() < MOST
                    && found.insert(by.clone())
                {
                    to_visit.push(by);
                }
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod approval_rule_tests {
    use super::{APPROVAL_QUARANTINE_MS, ApprovalBar, approval_bar};
    use crate::domain::Timestamp;
    use crate::store::{AccountChange, AccountChangeKind};

    fn change(kind: AccountChangeKind, by: Option<&str>, hours_ago: i64) -> AccountChange {
        AccountChange {
            kind,
            by: by.map(str::to_owned),
            at: Timestamp::from_unix_ms(NOW - hours_ago * 3600 * 1000),
        }
    }

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn the_requester_never_vouches_for_an_account_they_made_or_changed() {
        let now = Timestamp::from_unix_ms(NOW);
        for (kind, bar) in [
            (AccountChangeKind::Created, ApprovalBar::CreatedByRequester),
            (
                AccountChangeKind::Password,
                ApprovalBar::PasswordByRequester,
            ),
            (
                AccountChangeKind::SecondFactorReset,
                ApprovalBar::SecondFactorResetByRequester,
            ),
        ] {
            // A year ago still counts.
            let changes = [change(kind, Some("kari"), 24 * 365)];
            assert_eq!(approval_bar(&changes, Some("kari"), now), Some(bar));
            // By a third person a year ago: fine.
            assert_eq!(approval_bar(&changes, Some("per"), now), None);
        }
    }

    #[test]
    fn a_change_by_someone_else_waits_a_day_and_the_shell_does_not() {
        let now = Timestamp::from_unix_ms(NOW);
        let recent = [change(AccountChangeKind::Password, Some("per"), 23)];
        assert_eq!(
            approval_bar(&recent, Some("kari"), now),
            Some(ApprovalBar::ChangedRecently)
        );
        let old = [change(AccountChangeKind::Created, Some("per"), 25)];
        assert_eq!(approval_bar(&old, Some("kari"), now), None);
        assert_eq!(APPROVAL_QUARANTINE_MS, 24 * 3600 * 1000);
        // The command line (the operator's shell) made it an hour ago: no wait.
        let shell = [change(AccountChangeKind::Created, None, 1)];
        assert_eq!(approval_bar(&shell, Some("kari"), now), None);
        // A requester who is not a web account (none known) is matched with nobody.
        assert_eq!(approval_bar(&old, None, now), None);
    }
}
