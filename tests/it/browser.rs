//! The subscribe and unsubscribe journeys in a real browser: headless Chromium driven
//! through chromedriver. Screenshots of every page go to target/screenshots/ for review.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them). Without
//! them the test says it was skipped; under CI it fails instead.

use crate::common;

use common::browser::{
    assert_accessible, axe_script, browser, fill, screenshot, show_mail, start_chromedriver,
    wait_for_heading,
};
use common::{TestDb, email, spawn_app};
use fantoccini::Locator;
use nyhetsbrev::domain::ContactStatus;

/// The leave-link mail (for a request to leave by mail that could not be verified), as
/// its recipient sees it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leave_link_mail_in_a_browser() {
    let Some((_driver, webdriver)) = start_chromedriver() else {
        return;
    };
    let client = browser(&webdriver).await;
    let sender = nyhetsbrev::mail::Sender {
        from_address: email("nyhetsbrev@example.no"),
        from_name: "KOM".into(),
        list_id: "nyhetsbrev.example.no".into(),
        unsubscribe_mailbox: email("nyhetsbrev-leave@example.no"),
        organisation_name: "Koordineringsenheten mot menneskehandel".into(),
        organisation_short_name: "KOM".into(),
    };
    let raw = nyhetsbrev::mail::leave_link_message(
        &sender,
        &email("kari@example.org"),
        "https://nyhetsbrev.example.org/avmeld/AbCdEf",
    )
    .unwrap();
    show_mail(
        &client,
        &raw,
        "mail-leave-link",
        "Melde deg av KOMs kontaktliste?",
    )
    .await;
    let button = client.find(Locator::Css("a")).await.unwrap();
    assert_eq!(
        button.attr("href").await.unwrap().as_deref(),
        Some("https://nyhetsbrev.example.org/avmeld/AbCdEf")
    );
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_confirm_and_unsubscribe_in_a_browser() {
    let Some((_driver, webdriver)) = start_chromedriver() else {
        return;
    };
    let Some(axe) = axe_script() else {
        return;
    };
    let db = TestDb::sqlite().await;
    let app = spawn_app(&db).await;

    let client = browser(&webdriver).await;

    // Fill in the form as a person would: find fields by their labels' targets.
    client
        .goto(&format!("{}/subscribe", app.address))
        .await
        .unwrap();
    assert_eq!(
        client
            .find(Locator::Css("html"))
            .await
            .unwrap()
            .attr("lang")
            .await
            .unwrap()
            .as_deref(),
        Some("nb")
    );
    fill(&client, "email", "aase@example.no").await;
    fill(&client, "name", "Åse Ødegård").await;
    fill(&client, "organisation", "Kirkens Bymisjon").await;
    screenshot(&client, "1-subscribe-form").await;
    assert_accessible(&client, &axe, "1-subscribe-form").await;
    client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_heading(&client, "Sjekk e-posten din").await;
    screenshot(&client, "2-check-your-inbox").await;
    assert_accessible(&client, &axe, "2-check-your-inbox").await;

    // Follow the link in the captured mail.
    let mails = app.settled_mails().await;
    assert_eq!(mails.len(), 1, "one confirmation mail");
    show_mail(
        &client,
        &mails[0],
        "2b-confirmation-mail",
        "Bekreft påmeldingen",
    )
    .await;
    let path = common::confirmation_path(&mails[0]);
    client
        .goto(&format!("{}{path}", app.address))
        .await
        .unwrap();
    wait_for_heading(&client, "Bekreft påmeldingen").await;
    screenshot(&client, "3-confirm-page").await;
    assert_accessible(&client, &axe, "3-confirm-page").await;
    assert_eq!(
        app.store
            .existing_contact(&email("aase@example.no"))
            .await
            .unwrap()
            .status,
        ContactStatus::Pending
    );
    client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_heading(&client, "Du står nå på KOMs kontaktliste").await;
    screenshot(&client, "4-confirmed").await;
    assert_accessible(&client, &axe, "4-confirmed").await;
    let contact = app
        .store
        .existing_contact(&email("aase@example.no"))
        .await
        .unwrap();
    assert_eq!(contact.status, ContactStatus::Confirmed);

    // Leave with the personal link, as from the footer of a newsletter.
    let secret = app.store.issue_unsubscribe_token(contact.id).await.unwrap();
    client
        .goto(&format!("{}/avmeld/{}", app.address, secret.as_str()))
        .await
        .unwrap();
    wait_for_heading(&client, "Meld deg av").await;
    screenshot(&client, "5-unsubscribe-page").await;
    assert_accessible(&client, &axe, "5-unsubscribe-page").await;
    client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_heading(&client, "Du er meldt av").await;
    screenshot(&client, "6-unsubscribed").await;
    assert_accessible(&client, &axe, "6-unsubscribed").await;
    assert_eq!(
        app.store
            .existing_contact(&email("aase@example.no"))
            .await
            .unwrap()
            .status,
        ContactStatus::Unsubscribed
    );

    client.close().await.unwrap();
}

/// Publications (issue 18): a court-decision mail, its leave page with "bare dette" and
/// "alt", and the page for choosing what one gets: shown, saved, and refused when
/// nothing is ticked; for someone off the list, the offer of a mailed link instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn choosing_publications_in_a_browser() {
    let Some((_driver, webdriver)) = start_chromedriver() else {
        return;
    };
    let Some(axe) = axe_script() else {
        return;
    };
    let db = TestDb::sqlite().await;
    let app = spawn_app(&db).await;
    let actor = nyhetsbrev::store::Actor::parse("test");
    let contact = app
        .store
        .add_contact(
            &common::new_contact("aase@example.no", ContactStatus::Confirmed),
            &actor,
        )
        .await
        .unwrap();
    let court = include_str!("../../examples/2025-04-rettsavgjorelser.md");
    let parsed = nyhetsbrev::render::parse_issue_as(
        "court.md",
        court,
        nyhetsbrev::domain::PublicationKind::Announcement,
    )
    .unwrap();
    app.store
        .save_draft(&parsed.issue, court, &actor)
        .await
        .unwrap();
    let stored = app
        .store
        .existing_issue(&parsed.issue.meta.slug)
        .await
        .unwrap();
    let publication = app
        .store
        .publication_by_id(stored.publication_id)
        .await
        .unwrap();
    let token = common::test_key().leave_token(contact.id, stored.id);

    // The mail as the contact gets it: the publication's masthead, both personal links.
    let context = nyhetsbrev::render::RenderContext::new(app.address.clone(), "kom@example.no");
    let rendered = nyhetsbrev::render::render(&parsed.issue, &publication, &context).unwrap();
    let sender = nyhetsbrev::mail::Sender {
        from_address: email("nyhetsbrev@example.no"),
        from_name: "KOM".into(),
        list_id: "nyhetsbrev.example.no".into(),
        unsubscribe_mailbox: email("nyhetsbrev-leave@example.no"),
        organisation_name: "Koordineringsenheten mot menneskehandel".into(),
        organisation_short_name: "KOM".into(),
    };
    let prepared = nyhetsbrev::mail::PreparedIssue::prepare(
        &parsed.issue,
        &publication,
        &rendered,
        &sender,
        &common::test_key(),
    )
    .unwrap();
    let leave_url = format!("{}/avmeld/{token}", app.address);
    let preferences_url = format!("{}/innstillinger/{token}", app.address);
    let raw = prepared
        .message(
            &nyhetsbrev::mail::Recipient {
                email: &contact.email,
                name: None,
                contact_id: Some(contact.id),
                unsubscribe_url: &leave_url,
                preferences_url: &preferences_url,
                return_path: None,
            },
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
    let client = browser(&webdriver).await;
    show_mail(
        &client,
        &raw,
        "mail-court-decisions",
        "Oversikt over rettsavgjørelser",
    )
    .await;
    client.goto(&leave_url).await.unwrap();
    wait_for_heading(&client, "Meld deg av").await;
    screenshot(&client, "p1-leave-this-or-all").await;
    assert_accessible(&client, &axe, "p1-leave-this-or-all").await;
    client
        .find(Locator::LinkText("Velg heller hva du vil få"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_heading(&client, "Velg hva du får").await;
    screenshot(&client, "p2-preferences").await;
    assert_accessible(&client, &axe, "p2-preferences").await;

    // Untick the status report (by its label, as a person would) and save.
    let notice = untick_and_save(&client, &["tilstandsrapport"], "[role=status]").await;
    assert!(notice.contains("Lagret."), "{notice}");
    screenshot(&client, "p3-preferences-saved").await;
    assert_accessible(&client, &axe, "p3-preferences-saved").await;
    assert_eq!(
        common::subscribed_to(&app.store, contact.id).await,
        ["nyhetsbrev", "rettsavgjorelser"]
    );

    // Nothing ticked: told so, nothing changed.
    let alert = untick_and_save(&client, &["nyhetsbrev", "rettsavgjorelser"], "[role=alert]").await;
    assert!(alert.contains("Du har ikke krysset av for noe"), "{alert}");
    screenshot(&client, "p4-preferences-nothing-ticked").await;
    assert_accessible(&client, &axe, "p4-preferences-nothing-ticked").await;
    assert_eq!(
        common::subscribed_to(&app.store, contact.id).await,
        ["nyhetsbrev", "rettsavgjorelser"]
    );

    // The archive: every publication, then one publication's page, once its issue is
    // out (sending makes it public).
    app.store
        .enqueue_issue(&parsed.issue.meta.slug, &actor)
        .await
        .unwrap();
    client
        .goto(&format!("{}/arkiv", app.address))
        .await
        .unwrap();
    wait_for_heading(&client, "Arkiv").await;
    screenshot(&client, "p5-archive").await;
    assert_accessible(&client, &axe, "p5-archive").await;
    client
        .find(Locator::LinkText("Oversikt over rettsavgjørelser"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_heading(&client, "Oversikt over rettsavgjørelser").await;
    screenshot(&client, "p6-publication-archive").await;
    assert_accessible(&client, &axe, "p6-publication-archive").await;
    client
        .find(Locator::LinkText(
            "KOMs oversikt over rettsavgjørelser per 30. april 2025",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The publication's page has the same heading: wait for the announcement's link.
    client
        .wait()
        .at_most(std::time::Duration::from_secs(10))
        .for_element(Locator::Css("a.cta"))
        .await
        .unwrap();
    screenshot(&client, "p7-announcement-web").await;
    assert_accessible(&client, &axe, "p7-announcement-web").await;

    // Off the list: the page from the old mail offers only a link mailed to the
    // address, shown masked; it never puts the person back by itself.
    app.store
        .unsubscribe_contact(contact.id, &actor)
        .await
        .unwrap();
    client.goto(&preferences_url).await.unwrap();
    wait_for_heading(&client, "Velg hva du får").await;
    let source = client.source().await.unwrap();
    assert!(source.contains("a***@example.no"), "{source}");
    assert!(
        !source.contains("aase@example.no"),
        "never the whole address"
    );
    assert!(!source.contains("type=\"checkbox\""));
    screenshot(&client, "p8-preferences-off-list").await;
    assert_accessible(&client, &axe, "p8-preferences-off-list").await;
    client
        .find(Locator::Css("button[value=meld-paa-igjen]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_heading(&client, "Sjekk e-posten din").await;
    screenshot(&client, "p9-come-back-link-mailed").await;
    assert_accessible(&client, &axe, "p9-come-back-link-mailed").await;
    assert_eq!(
        app.store
            .contact_by_id(contact.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        ContactStatus::Unsubscribed,
        "back only when the mailed link is used"
    );
    client.close().await.unwrap();
}

/// On the preferences page: unticks these publications by their labels, saves, and
/// returns the text of `answer`, waited for (the page before has the same heading).
async fn untick_and_save(client: &fantoccini::Client, slugs: &[&str], answer: &str) -> String {
    for slug in slugs {
        client
            .find(Locator::Css(&format!("label[for=p-{slug}]")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
    client
        .find(Locator::Css("button[value=lagre]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .at_most(std::time::Duration::from_secs(10))
        .for_element(Locator::Css(answer))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}
