//! Publications (issue 18): the list gets more than the newsletter, each person gets
//! what they chose, and leaving one publication leaves only that one. On SQLite and
//! PostgreSQL, with real sends through the in-process SMTP sink.

use crate::common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::smtp_sink::SmtpSink;
use common::{TestDb, email, new_contact, nyhetsbrev};
use mail_parser::MessageParser;
use nyhetsbrev::domain::{
    ContactId, ContactStatus, IssueId, PublicationChoice, PublicationSlug, Slug,
};
use nyhetsbrev::store::{Actor, PublicationLeft, PublicationsChosen, Store, StoreError};

on_both_backends!(
    the_three_publications_exist_and_staff_add_and_change_more,
    bad_publication_input_is_refused_and_nothing_is_written,
    an_issue_naming_an_unknown_publication_is_refused_and_nothing_is_stored,
    each_publication_goes_only_to_those_who_chose_it,
    leaving_a_publication_mid_send_skips_only_its_deliveries,
    leaving_the_last_publication_leaves_the_list,
    a_request_to_join_sets_what_the_confirmation_starts,
    a_contact_added_with_unknown_publications_is_not_added,
    staff_putting_back_someone_who_left_restores_what_they_had,
    leaving_one_publication_or_choosing_fewer_skips_those_deliveries_at_once,
    a_persons_copy_names_leaving_a_publication_in_words,
    someone_added_or_imported_as_having_left_is_on_no_publication,
);

const COURT: &str = include_str!("../../examples/2025-04-rettsavgjorelser.md");

fn actor() -> Actor {
    Actor::parse("cli:test")
}

fn slug(s: &str) -> PublicationSlug {
    PublicationSlug::parse(s).unwrap()
}

fn choice(slugs: &[&str]) -> PublicationChoice {
    PublicationChoice::only(slugs.iter().map(|s| slug(s)).collect()).unwrap()
}

/// A confirmed contact who chose `publications` (all for `None`).
async fn add(store: &Store, address: &str, publications: Option<&[&str]>) -> ContactId {
    let mut new = new_contact(address, ContactStatus::Confirmed);
    if let Some(publications) = publications {
        new.publications = choice(publications);
    }
    store.add_contact(&new, &actor()).await.unwrap().id
}

async fn court_draft(store: &Store) -> (Slug, IssueId) {
    let parsed = nyhetsbrev::render::parse_issue_as(
        "court.md",
        COURT,
        nyhetsbrev::domain::PublicationKind::Announcement,
    )
    .unwrap();
    store
        .save_draft(&parsed.issue, COURT, &actor())
        .await
        .unwrap();
    let slug = parsed.issue.meta.slug;
    let id = store.existing_issue(&slug).await.unwrap().id;
    (slug, id)
}

/// Sends issue `issue_id` through `sink` until nothing of it is queued.
async fn send(db: &TestDb, store: &Store, sink: &SmtpSink, issue_id: IssueId, rate: Option<f64>) {
    let mut settings = common::test_settings(db);
    settings.smtp_url = Some(sink.url().into());
    settings.send_rate = rate;
    let dispatcher = nyhetsbrev::startup::dispatcher(store.clone(), &settings)
        .unwrap()
        .with_settings(|s| {
            s.only_issue = Some(issue_id);
            s.until_done = true;
            s.idle_poll = Duration::from_millis(50);
        });
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    tokio::time::timeout(Duration::from_secs(60), dispatcher.run(shutdown))
        .await
        .expect("the send ends within a minute")
        .expect("the worker runs without error");
}

/// Who got a message whose `List-Id` names `list`.
fn recipients(sink: &SmtpSink, list: &str) -> BTreeSet<String> {
    sink.received()
        .iter()
        .filter(|m| {
            MessageParser::default()
                .parse(&m.data)
                .and_then(|p| p.header_raw("List-Id").map(|v| v.contains(list)))
                .unwrap_or(false)
        })
        .flat_map(|m| m.rcpt_to.clone())
        .collect()
}

async fn the_three_publications_exist_and_staff_add_and_change_more(db: &TestDb) {
    let store = db.store().await;
    let listed = nyhetsbrev(db)
        .args(["publications", "list"])
        .output()
        .unwrap();
    assert!(listed.status.success());
    let text = String::from_utf8(listed.stdout).unwrap();
    for (slug, kind, name) in [
        ("nyhetsbrev", "newsletter", "Nyhetsbrev fra KOM"),
        (
            "rettsavgjorelser",
            "announcement",
            "Oversikt over rettsavgjørelser",
        ),
        ("tilstandsrapport", "announcement", "KOMs tilstandsrapport"),
    ] {
        let line = text
            .lines()
            .find(|l| l.starts_with(slug))
            .unwrap_or_else(|| panic!("{slug} listed in {text}"));
        assert!(line.contains(kind) && line.contains(name), "{line}");
    }

    let added = nyhetsbrev(db)
        .args([
            "publications",
            "add",
            "arsrapport",
            "--name",
            "KOMs årsrapport",
            "--kind",
            "announcement",
            "--description",
            "Én gang i året: hva KOM har gjort.",
        ])
        .output()
        .unwrap();
    assert!(added.status.success(), "{added:?}");
    let edited = nyhetsbrev(db)
        .args([
            "publications",
            "edit",
            "arsrapport",
            "--name",
            "KOMs årsmelding",
        ])
        .output()
        .unwrap();
    assert!(edited.status.success(), "{edited:?}");
    let json = nyhetsbrev(db)
        .args(["publications", "list", "--json"])
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let new = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["slug"] == "arsrapport")
        .expect("the new publication is listed");
    assert_eq!(new["name"], "KOMs årsmelding");
    assert_eq!(new["kind"], "announcement");
    assert_eq!(new["description"], "Én gang i året: hva KOM har gjort.");
    // Nobody gets a publication they did not choose: a new one starts empty.
    assert_eq!(new["subscribers"], 0);
    let audit = store
        .audit_page(&Default::default(), None, 50)
        .await
        .unwrap()
        .0;
    assert!(audit.iter().any(|e| e.action == "publication.add"));
    assert!(audit.iter().any(|e| e.action == "publication.edit"));
}

async fn bad_publication_input_is_refused_and_nothing_is_written(db: &TestDb) {
    let store = db.store().await;
    let before = store.publications().await.unwrap();
    for (args, says) in [
        (
            vec![
                "add",
                "nyhetsbrev",
                "--name",
                "X",
                "--kind",
                "newsletter",
                "--description",
                "d",
            ],
            "exists already",
        ),
        (
            vec![
                "add",
                "../etc",
                "--name",
                "X",
                "--kind",
                "newsletter",
                "--description",
                "d",
            ],
            "lower-case letters",
        ),
        (
            vec![
                "add",
                "Rapport",
                "--name",
                "X",
                "--kind",
                "newsletter",
                "--description",
                "d",
            ],
            "lower-case letters",
        ),
        (
            vec![
                "add",
                "rapport",
                "--name",
                "X",
                "--kind",
                "weekly",
                "--description",
                "d",
            ],
            "newsletter or announcement",
        ),
        (
            vec![
                "add",
                "rapport",
                "--name",
                "a\u{202E}b",
                "--kind",
                "newsletter",
                "--description",
                "d",
            ],
            "control character",
        ),
        (
            vec![
                "add",
                "rapport",
                "--name",
                " ",
                "--kind",
                "newsletter",
                "--description",
                "d",
            ],
            "empty",
        ),
        (vec!["edit", "finnes-ikke", "--name", "Y"], "no publication"),
        (vec!["edit", "nyhetsbrev"], "nothing to change"),
    ] {
        let out = nyhetsbrev(db)
            .arg("publications")
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} is refused");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    assert_eq!(store.publications().await.unwrap(), before);
}

async fn an_issue_naming_an_unknown_publication_is_refused_and_nothing_is_stored(db: &TestDb) {
    let store = db.store().await;
    let file = db.dir().join("ukjent.md");
    std::fs::write(
        &file,
        COURT.replace(
            "publication = \"rettsavgjorelser\"",
            "publication = \"domstolene\"",
        ),
    )
    .unwrap();
    let out = nyhetsbrev(db)
        .args(["issue", "import"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("no publication \"domstolene\""), "{stderr}");
    // A slug that cannot be one is refused by the parser, with its line.
    std::fs::write(
        &file,
        COURT.replace(
            "publication = \"rettsavgjorelser\"",
            "publication = \"../Rett\"",
        ),
    )
    .unwrap();
    let out = nyhetsbrev(db)
        .args(["issue", "import"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("ukjent.md:3: front matter: publication \"../Rett\""),
        "{stderr}"
    );
    assert!(store.list_issues().await.unwrap().is_empty());
}

async fn each_publication_goes_only_to_those_who_chose_it(db: &TestDb) {
    let store = db.store().await;
    let (news, news_id) = common::sample_draft(&store).await;
    let (court, court_id) = court_draft(&store).await;
    // Everything; the newsletter only; the court decisions only; everything, but then
    // left the court decisions.
    add(&store, "alt@example.org", None).await;
    add(&store, "nytt@example.org", Some(&["nyhetsbrev"])).await;
    add(&store, "dommer@example.org", Some(&["rettsavgjorelser"])).await;
    let leaver = add(&store, "forlot@example.org", None).await;
    let court_publication = store
        .existing_publication(&slug("rettsavgjorelser"))
        .await
        .unwrap();
    let left = store
        .leave_publication(leaver, &court_publication, &actor())
        .await
        .unwrap();
    assert!(
        matches!(left, PublicationLeft::Left { remaining: 2, .. }),
        "{left:?}"
    );

    let sink = SmtpSink::start().await;
    assert_eq!(store.count_unqueued(&news).await.unwrap(), 3);
    assert_eq!(store.count_unqueued(&court).await.unwrap(), 2);
    store.enqueue_issue(&news, &actor()).await.unwrap();
    store.enqueue_issue(&court, &actor()).await.unwrap();
    send(db, &store, &sink, news_id, None).await;
    send(db, &store, &sink, court_id, None).await;

    let set = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        recipients(&sink, "<nyhetsbrev.nyhetsbrev.example.org>"),
        set(&["alt@example.org", "forlot@example.org", "nytt@example.org"])
    );
    assert_eq!(
        recipients(&sink, "<rettsavgjorelser.nyhetsbrev.example.org>"),
        set(&["alt@example.org", "dommer@example.org"])
    );
    assert_eq!(sink.count(), 5);

    // Each mail wears its publication: masthead, text title and List-Id.
    let court_mail = sink
        .received()
        .into_iter()
        .find(|m| m.rcpt_to == ["dommer@example.org"])
        .unwrap();
    let parsed = MessageParser::default().parse(&court_mail.data).unwrap();
    let html = parsed.body_html(0).unwrap();
    let text = parsed.body_text(0).unwrap();
    assert!(
        html.contains(">Oversikt over rettsavgjørelser</h1>"),
        "{html}"
    );
    assert!(!html.contains("Nyhetsbrev fra KOM"));
    assert!(
        text.contains("Oversikt over rettsavgjørelser, per 30. april 2025"),
        "{text}"
    );
    let list_id = parsed.header_raw("List-Id").unwrap();
    // Not plain ASCII: an encoded word that decodes to the name.
    assert!(list_id.trim().starts_with("=?utf-8?b?"), "{list_id}");
    let list = parsed
        .header("List-Id")
        .and_then(|h| h.as_address())
        .and_then(|a| a.first())
        .expect("List-Id reads as a phrase and an identifier");
    assert_eq!(list.name(), Some("Oversikt over rettsavgjørelser"));
    assert_eq!(
        list.address(),
        Some("rettsavgjorelser.nyhetsbrev.example.org")
    );
    // The archive's web version says it too.
    let page = nyhetsbrev::ops::Archive::new(
        store.clone(),
        nyhetsbrev::render::RenderContext::new("https://nyhetsbrev.example.org", "kom@example.no"),
    )
    .page(&court)
    .await
    .unwrap()
    .expect("a sent issue is public");
    let page = String::from_utf8(page.to_vec()).unwrap();
    assert!(
        page.contains("<h1>Oversikt over rettsavgjørelser</h1>"),
        "{page}"
    );
}

async fn leaving_a_publication_mid_send_skips_only_its_deliveries(db: &TestDb) {
    let store = db.store().await;
    let (news, news_id) = common::sample_draft(&store).await;
    let (court, court_id) = court_draft(&store).await;
    for i in 0..30 {
        add(&store, &common::numbered_address(i), None).await;
    }
    store.enqueue_issue(&news, &actor()).await.unwrap();
    store.enqueue_issue(&court, &actor()).await.unwrap();
    let leaver = store
        .existing_contact(&email(&common::numbered_address(25)))
        .await
        .unwrap();
    let court_publication = store
        .existing_publication(&slug("rettsavgjorelser"))
        .await
        .unwrap();
    let sink = SmtpSink::start().await;
    // The court send runs slowly, so the worker holds the leaver's delivery when the
    // leave comes (as in a send of thousands).
    let sending = {
        let store = store.clone();
        let sink = sink.clone();
        let settings_db = db;
        let mut settings = common::test_settings(settings_db);
        settings.smtp_url = Some(sink.url().into());
        settings.send_rate = Some(10.0);
        let dispatcher = nyhetsbrev::startup::dispatcher(store, &settings)
            .unwrap()
            .with_settings(|s| {
                s.only_issue = Some(court_id);
                s.until_done = true;
                s.idle_poll = Duration::from_millis(50);
            });
        tokio::spawn(async move {
            let (_stop, shutdown) = tokio::sync::watch::channel(false);
            dispatcher.run(shutdown).await
        })
    };
    sink.wait_for(3, Duration::from_secs(10)).await;
    store
        .leave_publication(leaver.id, &court_publication, &actor())
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(60), sending)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let court_got = recipients(&sink, "<rettsavgjorelser.");
    assert_eq!(court_got.len(), 29);
    assert!(!court_got.contains(&common::numbered_address(25)));
    let problems = store.delivery_problems(court_id).await.unwrap();
    let skipped = problems
        .iter()
        .find(|p| p.email == common::numbered_address(25))
        .expect("the leaver's court delivery is recorded");
    assert_eq!(skipped.status.to_string(), "skipped");
    assert!(skipped.error.as_deref().unwrap().contains("publication"));

    // The newsletter still goes to the leaver: they left one publication, not the list.
    send(db, &store, &sink, news_id, None).await;
    let news_got = recipients(&sink, "<nyhetsbrev.");
    assert_eq!(news_got.len(), 30);
    assert!(news_got.contains(&common::numbered_address(25)));
    let contact = store.existing_contact(&leaver.email).await.unwrap();
    assert_eq!(contact.status, ContactStatus::Confirmed);
    let subscriptions = store.subscriptions(leaver.id).await.unwrap();
    let court_subscription = subscriptions
        .iter()
        .find(|s| s.publication.as_str() == "rettsavgjorelser")
        .unwrap();
    assert!(court_subscription.left_at.is_some());
    assert_eq!(
        subscriptions.iter().filter(|s| s.left_at.is_none()).count(),
        2
    );
}

async fn leaving_the_last_publication_leaves_the_list(db: &TestDb) {
    let store = db.store().await;
    let (news, _) = common::sample_draft(&store).await;
    let id = add(&store, "bare-nytt@example.org", Some(&["nyhetsbrev"])).await;
    store.enqueue_issue(&news, &actor()).await.unwrap();
    let newsletter = store
        .existing_publication(&slug("nyhetsbrev"))
        .await
        .unwrap();
    let court = store
        .existing_publication(&slug("rettsavgjorelser"))
        .await
        .unwrap();
    // Leaving what one never had changes nothing.
    assert!(matches!(
        store.leave_publication(id, &court, &actor()).await.unwrap(),
        PublicationLeft::NotSubscribed { .. }
    ));
    assert!(matches!(
        store
            .leave_publication(id, &newsletter, &actor())
            .await
            .unwrap(),
        PublicationLeft::LeftEverything { .. }
    ));
    let contact = store
        .existing_contact(&email("bare-nytt@example.org"))
        .await
        .unwrap();
    assert_eq!(contact.status, ContactStatus::Unsubscribed);
    let counts = store
        .send_counts(store.existing_issue(&news).await.unwrap().id)
        .await
        .unwrap();
    assert_eq!((counts.queued, counts.skipped), (0, 1));
    // An unknown contact is told apart from one who left.
    assert_eq!(
        store
            .leave_publication(common::contact_number(999_999), &newsletter, &actor())
            .await
            .unwrap(),
        PublicationLeft::Unknown
    );
}

async fn a_request_to_join_sets_what_the_confirmation_starts(db: &TestDb) {
    let store = db.store().await;
    let address = email("ny@example.org");
    let by = |publications: PublicationChoice| nyhetsbrev::store::RequestedBy {
        source: nyhetsbrev::domain::ConsentSource::Web,
        note: None,
        actor: Actor::parse("web:subscribe"),
        publications,
    };
    let (id, _) = store
        .request_subscription_by(
            &address,
            None,
            None,
            by(PublicationChoice::All),
            nyhetsbrev::store::NoticeBudget::Web,
        )
        .await
        .unwrap();
    // Asked again, now for the court decisions only: that is what they will get.
    store
        .request_subscription_by(
            &address,
            None,
            None,
            by(choice(&["rettsavgjorelser"])),
            nyhetsbrev::store::NoticeBudget::Web,
        )
        .await
        .unwrap();
    assert_eq!(
        common::subscribed_to(&store, id).await,
        ["rettsavgjorelser"]
    );
    // Unknown names are refused and change nothing.
    let refused = store
        .request_subscription_by(
            &address,
            None,
            None,
            by(choice(&["ukjent"])),
            nyhetsbrev::store::NoticeBudget::Web,
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::PublicationNotFound(_))),
        "{refused:?}"
    );
    assert_eq!(
        common::subscribed_to(&store, id).await,
        ["rettsavgjorelser"]
    );

    // Once confirmed, a request in the person's name (from anyone) changes nothing.
    let contact = store.existing_contact(&address).await.unwrap();
    store
        .update_contact(
            &contact.email,
            &nyhetsbrev::domain::ContactChanges {
                status: Some(ContactStatus::Confirmed),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .unwrap();
    store
        .request_subscription_by(
            &address,
            None,
            None,
            by(PublicationChoice::All),
            nyhetsbrev::store::NoticeBudget::Web,
        )
        .await
        .unwrap();
    assert_eq!(
        common::subscribed_to(&store, id).await,
        ["rettsavgjorelser"]
    );
}

async fn a_contact_added_with_unknown_publications_is_not_added(db: &TestDb) {
    let store = db.store().await;
    let out = nyhetsbrev(db)
        .args([
            "contacts",
            "add",
            "kari@example.org",
            "--publications",
            "nyhetsbrev,domstolene",
            "--note",
            "e-post 12.03.2025",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("no publication domstolene"), "{stderr}");
    assert!(
        store
            .contact(&email("kari@example.org"))
            .await
            .unwrap()
            .is_none()
    );
    let out = nyhetsbrev(db)
        .args([
            "contacts",
            "add",
            "kari@example.org",
            "--publications",
            "nyhetsbrev, tilstandsrapport",
            "--note",
            "e-post 12.03.2025",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let shown = nyhetsbrev(db)
        .args(["contacts", "show", "kari@example.org", "--json"])
        .output()
        .unwrap();
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    let publications: Vec<&str> = shown["publications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["publication"].as_str().unwrap())
        .collect();
    assert_eq!(publications, ["nyhetsbrev", "tilstandsrapport"]);
    assert_eq!(shown["publications"][0]["consent"]["source"], "staff");
}

/// A person who left everything asks to come back and staff put them back (new consent):
/// they get again what they had when they left, not what they had left before that.
async fn staff_putting_back_someone_who_left_restores_what_they_had(db: &TestDb) {
    let store = db.store().await;
    let id = add(&store, "tilbake@example.org", None).await;
    let court = store
        .existing_publication(&slug("rettsavgjorelser"))
        .await
        .unwrap();
    store.leave_publication(id, &court, &actor()).await.unwrap();
    // Left later, everything at once (a fixed wait: times are kept to the millisecond).
    tokio::time::sleep(Duration::from_millis(5)).await;
    store
        .unsubscribe_contact(id, &Actor::parse("web:unsubscribe"))
        .await
        .unwrap();
    let out = nyhetsbrev(db)
        .args([
            "contacts",
            "edit",
            "tilbake@example.org",
            "--status",
            "confirmed",
            "--consent-note",
            "ba om å komme tilbake på e-post 3.12.2026",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        common::subscribed_to(&store, id).await,
        ["nyhetsbrev", "tilstandsrapport"]
    );
    let subscriptions = store.subscriptions(id).await.unwrap();
    let news = subscriptions
        .iter()
        .find(|s| s.publication.as_str() == "nyhetsbrev")
        .unwrap();
    assert_eq!(
        news.consent.note.as_ref().unwrap().as_str(),
        "ba om å komme tilbake på e-post 3.12.2026"
    );
    let (news_slug, _) = common::sample_draft(&store).await;
    assert_eq!(store.count_unqueued(&news_slug).await.unwrap(), 1);

    // Someone imported as having left, with no publication, gets every one.
    let mut gone = new_contact("aldri@example.org", ContactStatus::Unsubscribed);
    gone.publications = PublicationChoice::All;
    let gone = store.add_contact(&gone, &actor()).await.unwrap();
    db.execute(&format!(
        "DELETE FROM subscriptions WHERE contact_id = {}",
        gone.id
    ))
    .await;
    store
        .update_contact(
            &gone.email,
            &nyhetsbrev::domain::ContactChanges {
                status: Some(ContactStatus::Confirmed),
                consent: Some(nyhetsbrev::domain::Consent {
                    source: nyhetsbrev::domain::ConsentSource::Staff,
                    at: nyhetsbrev::domain::Timestamp::now(),
                    note: nyhetsbrev::domain::ConsentNote::parse("ringte og ba om det").unwrap(),
                }),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .unwrap();
    assert_eq!(common::subscribed_to(&store, gone.id).await.len(), 3);
}

/// Leaving one publication by link, or choosing fewer on one's own page, skips the
/// contact's queued deliveries of what was left in that same change, before any worker
/// claims them; its deliveries of what it kept still go out.
async fn leaving_one_publication_or_choosing_fewer_skips_those_deliveries_at_once(db: &TestDb) {
    let store = db.store().await;
    let stays = add(&store, "blir@example.org", None).await;
    let leaver = add(&store, "forlater@example.org", None).await;
    let chooser = add(&store, "velger@example.org", None).await;
    let news_id = common::queue::sending_newsletter(&store, "2024-q1").await;
    let (court, court_id) = court_draft(&store).await;
    store.enqueue_issue(&court, &actor()).await.unwrap();
    let court_publication = store
        .existing_publication(&slug("rettsavgjorelser"))
        .await
        .unwrap();
    let kept: Vec<nyhetsbrev::domain::PublicationId> = store
        .publications()
        .await
        .unwrap()
        .into_iter()
        .filter(|p| p.slug.as_str() != "rettsavgjorelser")
        .map(|p| p.id)
        .collect();

    assert!(matches!(
        store
            .leave_publication(leaver, &court_publication, &Actor::parse("web:unsubscribe"))
            .await
            .unwrap(),
        PublicationLeft::Left { remaining: 2, .. }
    ));
    let chosen = store
        .choose_publications(chooser, &kept, &Actor::parse("web:preferences"))
        .await
        .unwrap();
    assert!(
        matches!(&chosen, PublicationsChosen::Saved { left, .. } if left == &["rettsavgjorelser"]),
        "{chosen:?}"
    );

    common::queue::assert_skipped_at_once(db, court_id, &[leaver, chooser]).await;
    for contact in [leaver, chooser] {
        assert_eq!(
            common::queue::delivery_status(db, news_id, contact)
                .await
                .as_deref(),
            Some("queued"),
            "the newsletter still goes to them"
        );
        assert_eq!(
            common::subscribed_to(&store, contact).await,
            ["nyhetsbrev", "tilstandsrapport"]
        );
    }
    assert_eq!(
        common::queue::claim_all(&store, court_id).await,
        [stays].into()
    );
    assert_eq!(
        common::queue::claim_all(&store, news_id).await,
        [stays, leaver, chooser].into()
    );
}

/// A person's copy of their data names what was done and by whom in words: leaving
/// one publication (an action the labels once missed) shows no stored code.
async fn a_persons_copy_names_leaving_a_publication_in_words(db: &TestDb) {
    use nyhetsbrev::domain::{AuditAction, RecipientDoor};
    use nyhetsbrev::ops::PersonalData;

    let store = db.store().await;
    let id = add(
        &store,
        "to-av-tre@example.org",
        Some(&["nyhetsbrev", "rettsavgjorelser"]),
    )
    .await;
    let court = store
        .existing_publication(&slug("rettsavgjorelser"))
        .await
        .unwrap();
    let leaver = Actor::recipient(RecipientDoor::Unsubscribe);
    assert!(matches!(
        store.leave_publication(id, &court, &leaver).await.unwrap(),
        PublicationLeft::Left { .. }
    ));
    let record = store.contact_record(id, 100).await.unwrap().unwrap();
    let copy = PersonalData::new(&record, &[], nyhetsbrev::ops::ORGANISATION_NAME);
    let left = copy
        .logg
        .iter()
        .find(|entry| entry.handling == AuditAction::ContactLeavePublication.norwegian())
        .unwrap_or_else(|| panic!("leaving is in the copy: {:?}", copy.logg));
    assert_eq!(
        left.hvem,
        "Mottakeren selv, via avmeldingslenken i e-posten"
    );
    assert!(
        copy.logg
            .iter()
            .any(|entry| entry.hvem == "test, på kommandolinjen på tjeneren"),
        "{:?}",
        copy.logg
    );
    let json = serde_json::to_string(&copy.logg).unwrap();
    for action in AuditAction::ALL {
        assert!(
            !json.contains(&format!("\"{}\"", action.as_str())),
            "{action} as a code: {json}"
        );
    }
    for code in ["web:", "cli:", "inbound:", "worker"] {
        assert!(!json.contains(code), "{code} in {json}");
    }
}

/// Someone added or imported as having left (unsubscribed) is on no publication, as an
/// unsubscribe leaves them all; what they chose is kept, and putting them back with new
/// consent resumes it.
async fn someone_added_or_imported_as_having_left_is_on_no_publication(db: &TestDb) {
    let store = db.store().await;
    let mut left = new_contact("gikk@example.org", ContactStatus::Unsubscribed);
    left.publications = choice(&["nyhetsbrev", "rettsavgjorelser"]);
    let left = store.add_contact(&left, &actor()).await.unwrap();
    assert!(common::subscribed_to(&store, left.id).await.is_empty());
    let kept = store.subscriptions(left.id).await.unwrap();
    assert_eq!(kept.len(), 2, "the choice is kept, as left: {kept:?}");
    assert!(kept.iter().all(|s| s.left_at.is_some()));

    let options = nyhetsbrev::contact_csv::ImportOptions {
        status: ContactStatus::Unsubscribed,
        ..Default::default()
    };
    nyhetsbrev::contact_csv::import_csv(
        &store,
        std::io::Cursor::new(b"email\nimportert@example.org\n".to_vec()),
        "avmeldte.csv",
        &options,
        &actor(),
        |_| {},
    )
    .await
    .unwrap();
    let imported = store
        .contact(&email("importert@example.org"))
        .await
        .unwrap()
        .expect("imported");
    assert_eq!(imported.status, ContactStatus::Unsubscribed);
    assert!(common::subscribed_to(&store, imported.id).await.is_empty());
    let publications = store.publication_counts().await.unwrap();
    assert!(
        publications.iter().all(|p| p.subscribers == 0),
        "nobody who left counts as a subscriber: {publications:?}"
    );

    // Put back with new consent: what they chose, and only that.
    store
        .update_contact(
            &left.email,
            &nyhetsbrev::domain::ContactChanges {
                status: Some(ContactStatus::Confirmed),
                consent: Some(nyhetsbrev::domain::Consent {
                    source: nyhetsbrev::domain::ConsentSource::Staff,
                    at: nyhetsbrev::domain::Timestamp::now(),
                    note: nyhetsbrev::domain::ConsentNote::parse("ba om det selv").unwrap(),
                }),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .unwrap();
    assert_eq!(
        common::subscribed_to(&store, left.id).await,
        ["nyhetsbrev", "rettsavgjorelser"]
    );
}
