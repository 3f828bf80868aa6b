//! A send under way, for checking that a change of a contact's state skips the
//! contact's queued deliveries at once (in the change's own transaction, before any
//! worker claims them) and that a worker's claim then hands out nothing for it.

use std::collections::BTreeSet;

use nyhetsbrev::domain::{ContactId, IssueId, Timestamp};
use nyhetsbrev::store::{Actor, Store};

use super::TestDb;

/// The sample newsletter issue under another `slug`, queued for every confirmed
/// contact (the issue is sending; no worker has claimed anything): its id.
pub async fn sending_newsletter(store: &Store, slug: &str) -> IssueId {
    let source =
        super::SAMPLE_ISSUE.replacen("slug = \"2024-q1\"", &format!("slug = \"{slug}\""), 1);
    let parsed = nyhetsbrev::render::parse_issue("utgave.md", &source).unwrap();
    let actor = Actor::parse("cli:test");
    store
        .save_draft(&parsed.issue, &source, &actor)
        .await
        .unwrap();
    let slug = parsed.issue.meta.slug;
    store.enqueue_issue(&slug, &actor).await.unwrap();
    store.existing_issue(&slug).await.unwrap().id
}

/// The status of the contact's delivery of the issue, read from the database as it is
/// (`None`: the contact has none, or none any more).
pub async fn delivery_status(
    db: &TestDb,
    issue_id: IssueId,
    contact_id: ContactId,
) -> Option<String> {
    db.query_strings(&format!(
        "SELECT status FROM deliveries WHERE issue_id = {issue_id} AND contact_id = {contact_id}"
    ))
    .await
    .pop()
}

/// Asserts that each contact's delivery of the issue is skipped already, with no
/// worker holding it: the change skipped it, not a later claim.
pub async fn assert_skipped_at_once(db: &TestDb, issue_id: IssueId, contacts: &[ContactId]) {
    for &contact_id in contacts {
        let held = db
            .query_strings(&format!(
                "SELECT status FROM deliveries WHERE issue_id = {issue_id} \
                 AND contact_id = {contact_id} AND lease_owner IS NULL"
            ))
            .await;
        assert_eq!(
            held,
            ["skipped"],
            "contact #{contact_id}'s delivery of issue #{issue_id} is skipped before any claim"
        );
    }
}

/// Claims every due delivery of the issue, as a worker does, and returns whose they
/// are (a worker sends to exactly these).
pub async fn claim_all(store: &Store, issue_id: IssueId) -> BTreeSet<ContactId> {
    let lease_until = Timestamp::from_unix_ms(Timestamp::now().unix_ms() + 60_000);
    store
        .claim_deliveries("test-worker", 10_000, lease_until, Some(issue_id), None)
        .await
        .unwrap()
        .into_iter()
        .map(|delivery| delivery.contact_id)
        .collect()
}
