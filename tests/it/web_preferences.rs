//! Choosing what one gets (issue 18) over HTTP: the leave page's "bare dette" and "alt",
//! RFC 8058 one-click leaving the mail's own publication, and the personal page for
//! choosing publications, with its bad input; an old link never puts back a contact who
//! is off the list (only a confirmation mailed to the address does). On SQLite and
//! PostgreSQL.

use crate::common;

use common::{TestApp, TestDb, email, new_contact, spawn_app, test_key};
use nyhetsbrev::domain::ContactId;
use nyhetsbrev::domain::ContactStatus;
use nyhetsbrev::store::Actor;

on_both_backends!(
    one_click_leaves_only_the_publication_the_mail_came_from,
    the_leave_page_offers_this_publication_or_everything,
    the_preferences_page_shows_and_saves_what_a_person_gets,
    bad_preferences_input_changes_nothing,
    an_old_preferences_link_never_puts_back_a_contact_who_left,
    an_old_preferences_link_never_puts_back_a_contact_staff_took_off,
    the_way_back_is_a_confirmation_mailed_to_the_address,
    a_link_signed_with_a_retired_key_changes_nothing,
    leaving_on_the_preferences_page_skips_queued_deliveries_at_once,
);

const COURT: &str = include_str!("../../examples/2025-04-rettsavgjorelser.md");

/// A confirmed contact on every publication, and the signed token of a court-decision
/// mail to them (as the worker makes it).
async fn contact_with_court_mail(app: &TestApp, address: &str) -> (ContactId, String) {
    let contact = app
        .store
        .add_contact(
            &new_contact(address, ContactStatus::Confirmed),
            &Actor::parse("test"),
        )
        .await
        .unwrap();
    let issue_id = match app
        .store
        .issue(&nyhetsbrev::domain::Slug::parse("2025-04-rettsavgjorelser").unwrap())
        .await
        .unwrap()
    {
        Some(issue) => issue.id,
        None => {
            let parsed = nyhetsbrev::render::parse_issue_as(
                "court.md",
                COURT,
                nyhetsbrev::domain::PublicationKind::Announcement,
            )
            .unwrap();
            app.store
                .save_draft(&parsed.issue, COURT, &Actor::parse("test"))
                .await
                .unwrap();
            app.store
                .existing_issue(&parsed.issue.meta.slug)
                .await
                .unwrap()
                .id
        }
    };
    (contact.id, test_key().leave_token(contact.id, issue_id))
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn post(app: &TestApp, path: &str, body: &str) -> (u16, String) {
    let response = client()
        .post(format!("{}{path}", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn get(app: &TestApp, path: &str) -> (u16, String) {
    let response = client()
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The publications a contact gets now, by slug.
async fn gets(app: &TestApp, contact_id: ContactId) -> Vec<String> {
    let on_list = app
        .store
        .contact_by_id(contact_id)
        .await
        .unwrap()
        .is_some_and(|c| c.status == ContactStatus::Confirmed);
    if !on_list {
        return Vec::new();
    }
    common::subscribed_to(&app.store, contact_id).await
}

async fn one_click_leaves_only_the_publication_the_mail_came_from(db: &TestDb) {
    let app = spawn_app(db).await;
    let (id, token) = contact_with_court_mail(&app, "kari@example.no").await;
    let (status, body) = post(
        &app,
        &format!("/avmeld/{token}"),
        "List-Unsubscribe=One-Click",
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "Du er meldt av."));
    assert_eq!(gets(&app, id).await, ["nyhetsbrev", "tilstandsrapport"]);
    let contact = app.store.contact_by_id(id).await.unwrap().unwrap();
    assert_eq!(
        contact.status,
        ContactStatus::Confirmed,
        "still on the list"
    );
    // Again: nothing more changes, and it still answers 200.
    let (status, _) = post(
        &app,
        &format!("/avmeld/{token}"),
        "List-Unsubscribe=One-Click",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(gets(&app, id).await, ["nyhetsbrev", "tilstandsrapport"]);
}

async fn the_leave_page_offers_this_publication_or_everything(db: &TestDb) {
    let app = spawn_app(db).await;
    let (kari, kari_token) = contact_with_court_mail(&app, "kari@example.no").await;
    let (ola, ola_token) = contact_with_court_mail(&app, "ola@example.org").await;
    let path = format!("/avmeld/{kari_token}");
    let (status, page) = get(&app, &path).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("value=\"dette\">Meld meg av bare Oversikt over rettsavgjørelser</button>"),
        "{page}"
    );
    assert!(page.contains("value=\"alt\""));
    assert!(page.contains(&format!("href=\"/innstillinger/{kari_token}\"")));
    assert_eq!(gets(&app, kari).await.len(), 3, "a GET changes nothing");

    let (status, receipt) = post(&app, &path, "hva=dette").await;
    assert_eq!(status, 200);
    assert!(
        receipt.contains("får ikke lenger Oversikt over rettsavgjørelser"),
        "{receipt}"
    );
    assert_eq!(gets(&app, kari).await, ["nyhetsbrev", "tilstandsrapport"]);

    let (status, receipt) = post(&app, &format!("/avmeld/{ola_token}"), "hva=alt").await;
    assert_eq!(status, 200);
    assert!(
        receipt.contains("står ikke lenger på KOMs kontaktliste"),
        "{receipt}"
    );
    let ola_contact = app.store.contact_by_id(ola).await.unwrap().unwrap();
    assert_eq!(ola_contact.status, ContactStatus::Unsubscribed);
    assert!(gets(&app, ola).await.is_empty());
}

async fn the_preferences_page_shows_and_saves_what_a_person_gets(db: &TestDb) {
    let app = spawn_app(db).await;
    let (id, token) = contact_with_court_mail(&app, "kari@example.no").await;
    let path = format!("/innstillinger/{token}");
    let (status, page) = get(&app, &path).await;
    assert_eq!(status, 200);
    assert!(page.contains("Velg hva du får") && page.contains("k***@example.no"));
    assert!(!page.contains("kari@example.no"), "never the whole address");
    for slug in ["nyhetsbrev", "rettsavgjorelser", "tilstandsrapport"] {
        assert!(
            page.contains(&format!("value=\"{slug}\" checked")),
            "{slug} ticked: {page}"
        );
    }
    assert!(page.contains("KOMs oversikt over rettsavgjørelser om menneskehandel"));

    let (status, page) = post(
        &app,
        &path,
        "publikasjon=nyhetsbrev&publikasjon=rettsavgjorelser&handling=lagre",
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.contains("Lagret."), "{page}");
    assert!(page.contains("value=\"nyhetsbrev\" checked"));
    assert!(
        page.contains("value=\"tilstandsrapport\" aria-describedby"),
        "{page}"
    );
    assert_eq!(gets(&app, id).await, ["nyhetsbrev", "rettsavgjorelser"]);
    // The dropped one is recorded as left; the kept ones keep their consent.
    let subscriptions = app.store.subscriptions(id).await.unwrap();
    let report = subscriptions
        .iter()
        .find(|s| s.publication.as_str() == "tilstandsrapport")
        .unwrap();
    assert!(report.left_at.is_some());
    let news = subscriptions
        .iter()
        .find(|s| s.publication.as_str() == "nyhetsbrev")
        .unwrap();
    assert_eq!(
        news.consent.source,
        nyhetsbrev::domain::ConsentSource::Staff
    );

    // Taking it up again gives it this page's consent.
    let (status, _) = post(&app, &path, "publikasjon=tilstandsrapport&handling=lagre").await;
    assert_eq!(status, 200);
    assert_eq!(gets(&app, id).await, ["tilstandsrapport"]);
    let report = app
        .store
        .subscriptions(id)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.publication.as_str() == "tilstandsrapport")
        .unwrap();
    assert_eq!(
        report.consent.source,
        nyhetsbrev::domain::ConsentSource::Web
    );
    assert!(
        report
            .consent
            .note
            .unwrap()
            .as_str()
            .contains("Velg hva du får")
    );

    // "Meld meg av alt" is its own button.
    let (status, page) = post(&app, &path, "handling=meld-av-alt").await;
    assert_eq!(status, 200);
    assert!(page.contains("Du er meldt av"), "{page}");
    assert!(gets(&app, id).await.is_empty());
    let audit = app
        .store
        .audit_page(&Default::default(), None, 50)
        .await
        .unwrap()
        .0;
    assert!(
        audit
            .iter()
            .any(|e| e.action == "contact.publications" && e.actor == "web:preferences")
    );
}

async fn bad_preferences_input_changes_nothing(db: &TestDb) {
    let app = spawn_app(db).await;
    let (id, token) = contact_with_court_mail(&app, "kari@example.no").await;
    let path = format!("/innstillinger/{token}");
    let all = ["nyhetsbrev", "rettsavgjorelser", "tilstandsrapport"];
    for (body, says) in [
        (
            "publikasjon=finnes-ikke&handling=lagre",
            "et valg som ikke finnes",
        ),
        (
            "publikasjon=nyhetsbrev&publikasjon=..%2F..%2Fetc&handling=lagre",
            "et valg som ikke finnes",
        ),
        ("handling=lagre", "Du har ikke krysset av for noe"),
        ("", "Du har ikke krysset av for noe"),
    ] {
        let (status, page) = post(&app, &path, body).await;
        assert_eq!(status, 422, "{body}");
        assert!(page.contains(says), "{body}: {page}");
        assert!(page.contains("role=\"alert\""));
        assert_eq!(gets(&app, id).await, all, "{body} changed nothing");
    }
    // Forged links, and a link whose contact has been erased since (a replay after
    // the person's data was removed): refused, nothing written.
    for forged in ["/innstillinger/forfalsket", "/innstillinger/1.1.1.abc"] {
        let (status, page) = post(&app, forged, "publikasjon=nyhetsbrev").await;
        assert_eq!(status, 404, "{forged}");
        assert!(page.contains("Lenken virker ikke"), "{page}");
        assert_eq!(get(&app, forged).await.0, 404);
    }
    let (gone, gone_token) = contact_with_court_mail(&app, "borte@example.org").await;
    assert!(
        app.store
            .remove_contact_by_id(gone, &Actor::parse("test"))
            .await
            .unwrap()
    );
    let gone_path = format!("/innstillinger/{gone_token}");
    let (status, page) = post(&app, &gone_path, "publikasjon=nyhetsbrev&handling=lagre").await;
    assert_eq!(status, 404);
    assert!(page.contains("Lenken virker ikke lenger"), "{page}");
    assert_eq!(get(&app, &gone_path).await.0, 404);
    assert!(
        app.store
            .contact(&email("borte@example.org"))
            .await
            .unwrap()
            .is_none(),
        "nothing recreated"
    );
    assert_eq!(gets(&app, id).await, all);
}

/// Every subscription row of a contact as it stands (publication, left or not, consent
/// source and time): what "nothing changed" compares.
async fn subscription_rows(app: &TestApp, contact_id: ContactId) -> Vec<String> {
    app.store
        .subscriptions(contact_id)
        .await
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} left={:?} {} {}",
                s.publication,
                s.left_at.map(|t| t.unix_ms()),
                s.consent.source,
                s.consent.at.unix_ms()
            )
        })
        .collect()
}

/// The attack: the preferences link from an old mail (kept, forwarded, found) used to
/// put a contact who is off the list back on it. By GET or by POSTing the checkboxes,
/// nothing changes; the page shows the address masked and offers only a mailed link.
async fn an_old_link_cannot_put_back(app: &TestApp, id: ContactId, token: &str) {
    let status_before = app.store.contact_by_id(id).await.unwrap().unwrap().status;
    assert_ne!(status_before, ContactStatus::Confirmed);
    let rows_before = subscription_rows(app, id).await;
    let path = format!("/innstillinger/{token}");
    let (status, page) = get(app, &path).await;
    assert_eq!(status, 200);
    assert!(page.contains("står ikke på KOMs kontaktliste nå"), "{page}");
    assert!(!page.contains("type=\"checkbox\""), "no choices: {page}");
    assert!(page.contains("Send meg en lenke for å melde meg på igjen"));
    assert!(page.contains("k***@example.no"), "{page}");
    assert!(!page.contains("kari@example.no"), "never the whole address");
    for body in [
        "publikasjon=rettsavgjorelser&handling=lagre",
        "publikasjon=nyhetsbrev&publikasjon=rettsavgjorelser&publikasjon=tilstandsrapport&handling=lagre",
        "publikasjon=nyhetsbrev",
    ] {
        let (status, page) = post(app, &path, body).await;
        assert_eq!(status, 409, "{body}: {page}");
        assert!(page.contains("Ingenting er endret"), "{page}");
        assert!(!page.contains("kari@example.no"));
    }
    let contact = app.store.contact_by_id(id).await.unwrap().unwrap();
    assert_eq!(contact.status, status_before, "still off the list");
    assert!(gets(app, id).await.is_empty());
    assert_eq!(
        subscription_rows(app, id).await,
        rows_before,
        "subscriptions unchanged"
    );
    assert!(app.settled_mails().await.is_empty(), "nothing mailed");
    let audit = app
        .store
        .audit_page(&Default::default(), None, 50)
        .await
        .unwrap()
        .0;
    assert!(
        audit.iter().all(|e| e.action != "contact.publications"),
        "no choice recorded"
    );
}

async fn an_old_preferences_link_never_puts_back_a_contact_who_left(db: &TestDb) {
    let app = spawn_app(db).await;
    let (id, token) = contact_with_court_mail(&app, "kari@example.no").await;
    post(&app, &format!("/avmeld/{token}"), "hva=alt").await;
    assert_eq!(
        app.store.contact_by_id(id).await.unwrap().unwrap().status,
        ContactStatus::Unsubscribed
    );
    an_old_link_cannot_put_back(&app, id, &token).await;
}

async fn an_old_preferences_link_never_puts_back_a_contact_staff_took_off(db: &TestDb) {
    let app = spawn_app(db).await;
    let (id, token) = contact_with_court_mail(&app, "kari@example.no").await;
    app.store
        .update_contact(
            &email("kari@example.no"),
            &nyhetsbrev::domain::ContactChanges {
                status: Some(ContactStatus::Unsubscribed),
                ..Default::default()
            },
            &Actor::parse("web:ola"),
        )
        .await
        .unwrap();
    an_old_link_cannot_put_back(&app, id, &token).await;
    // A bounced address is off the list the same way.
    db.execute(&format!(
        "UPDATE contacts SET status = 'bounced' WHERE id = {id}"
    ))
    .await;
    an_old_link_cannot_put_back(&app, id, &token).await;
}

/// The way back: the page's button queues a confirmation mail to the address (the
/// sign-up form's capped path) and changes nothing else; only the link in that mail
/// puts the person back, with what they had.
async fn the_way_back_is_a_confirmation_mailed_to_the_address(db: &TestDb) {
    let app = spawn_app(db).await;
    let (id, token) = contact_with_court_mail(&app, "kari@example.no").await;
    let path = format!("/innstillinger/{token}");
    post(&app, &path, "publikasjon=rettsavgjorelser&handling=lagre").await;
    post(&app, &format!("/avmeld/{token}"), "hva=alt").await;
    let (status, page) = post(&app, &path, "handling=meld-paa-igjen").await;
    assert_eq!(status, 200);
    assert!(page.contains("Sjekk e-posten din"), "{page}");
    assert!(page.contains("k***@example.no"), "{page}");
    assert!(!page.contains("kari@example.no"));
    let mails = app.settled_mails().await;
    assert_eq!(mails.len(), 1, "one confirmation mail");
    let sink = app.sink.as_ref().unwrap().received();
    assert_eq!(
        sink[0].rcpt_to,
        ["kari@example.no"],
        "to the address itself"
    );
    // Until the link is used, the person is off the list.
    assert_eq!(
        app.store.contact_by_id(id).await.unwrap().unwrap().status,
        ContactStatus::Unsubscribed
    );
    assert!(gets(&app, id).await.is_empty());
    // Pressing again at once mails nothing more (the sign-up form's caps).
    post(&app, &path, "handling=meld-paa-igjen").await;
    assert_eq!(app.settled_mails().await.len(), 1);
    // The link in the mail puts them back, with what they had when they left.
    let link = common::confirmation_path(&mails[0]);
    let response = client()
        .post(format!("{}{link}", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(
        app.store.contact_by_id(id).await.unwrap().unwrap().status,
        ContactStatus::Confirmed
    );
    assert_eq!(gets(&app, id).await, ["rettsavgjorelser"]);
    // Now the page shows the choices again.
    let (_, page) = get(&app, &path).await;
    assert!(
        page.contains("value=\"rettsavgjorelser\" checked"),
        "{page}"
    );
}

/// A personal link lives as long as its key: after `token_key` is replaced and the old
/// one is no longer kept as `token_key_previous`, a page saved from an old mail is
/// refused, and nothing changes.
async fn a_link_signed_with_a_retired_key_changes_nothing(db: &TestDb) {
    const NEW_KEY: &str = "the-replacement-key-0123456789abcdef01234";
    let mut settings = common::test_settings(db);
    settings.token_key = Some(NEW_KEY.into());
    settings.token_key_previous = None;
    let app = common::spawn_app_with(db, settings, None).await;
    let (id, old_token) = contact_with_court_mail(&app, "kari@example.no").await;
    for (path, body) in [
        (
            format!("/innstillinger/{old_token}"),
            "publikasjon=nyhetsbrev&handling=lagre",
        ),
        (
            format!("/innstillinger/{old_token}"),
            "handling=meld-av-alt",
        ),
        (format!("/avmeld/{old_token}"), "hva=alt"),
        (format!("/avmeld/{old_token}"), "List-Unsubscribe=One-Click"),
    ] {
        let (status, _) = post(&app, &path, body).await;
        assert_eq!(status, 404, "{path} {body}");
    }
    assert_eq!(
        get(&app, &format!("/innstillinger/{old_token}")).await.0,
        404
    );
    assert_eq!(
        gets(&app, id).await,
        ["nyhetsbrev", "rettsavgjorelser", "tilstandsrapport"]
    );
    // A link signed with the key in use works.
    let new_token = nyhetsbrev::domain::TokenKey::parse(NEW_KEY)
        .unwrap()
        .leave_token(id, common::issue_number(1));
    assert_eq!(
        get(&app, &format!("/innstillinger/{new_token}")).await.0,
        200
    );
}

/// Dropping a publication on one's own page, or leaving everything there, skips the
/// contact's queued deliveries of what was left in that same change, before any worker
/// claims them.
async fn leaving_on_the_preferences_page_skips_queued_deliveries_at_once(db: &TestDb) {
    let app = spawn_app(db).await;
    let (stays, _) = contact_with_court_mail(&app, "blir@example.no").await;
    let (chooser, chooser_token) = contact_with_court_mail(&app, "kari@example.no").await;
    let (leaver, leaver_token) = contact_with_court_mail(&app, "ola@example.org").await;
    let issue = common::queue::sending_newsletter(&app.store, "2024-q1").await;

    let (status, page) = post(
        &app,
        &format!("/innstillinger/{chooser_token}"),
        "publikasjon=rettsavgjorelser&publikasjon=tilstandsrapport&handling=lagre",
    )
    .await;
    assert!(status == 200 && page.contains("Lagret."), "{page}");
    let (status, page) = post(
        &app,
        &format!("/innstillinger/{leaver_token}"),
        "handling=meld-av-alt",
    )
    .await;
    assert!(status == 200 && page.contains("Du er meldt av"), "{page}");

    common::queue::assert_skipped_at_once(db, issue, &[chooser, leaver]).await;
    assert_eq!(
        common::queue::claim_all(&app.store, issue).await,
        [stays].into()
    );
    assert_eq!(
        gets(&app, chooser).await,
        ["rettsavgjorelser", "tilstandsrapport"]
    );
    assert!(common::subscribed_to(&app.store, leaver).await.is_empty());
}
