//! The contact pages (`web/staff/contacts/`) in a real browser (headless Chromium
//! through chromedriver): the list and a search, the add form (empty, with a mistake in
//! the address, with the consent refused at its fields), the record page (with its
//! history, and of a bounced address), the edit form (with the rule that confirming
//! someone who left needs new consent), the person's data page and the erase page. Each
//! page at desktop width and at 390 px: its Norwegian heading, a screenshot under
//! target/screenshots/, axe-core with no violation of impact serious or critical, no
//! sideways scrolling. On SQLite and PostgreSQL.

use crate::common;

use common::browser::{
    axe_script, browser, check_page_at_both_widths, click, fill, sign_in_as, start_chromedriver,
    text_of, wait_for_heading, wait_for_text,
};
use common::{TestDb, add_confirmed, email, new_contact};
use fantoccini::{Client, Locator};
use nyhetsbrev::domain::{ContactId, ContactName, ContactStatus, InboundKind, Organisation};
use nyhetsbrev::store::Actor;

on_both_backends!(
    the_contact_list_and_the_add_form_in_the_browser,
    a_contact_record_edit_and_data_pages_in_the_browser,
);

/// A long address with no place to break it: the pages must still fit a phone.
const LONG_ADDRESS: &str =
    "anne-kristine.haugland-johannessen@kommunal-og-distriktsdepartementet.example.no";

/// Adds `address` (confirmed, with a name and organisation) and returns its number.
async fn add_person(
    store: &nyhetsbrev::store::Store,
    address: &str,
    status: ContactStatus,
) -> ContactId {
    let mut person = new_contact(address, status);
    person.name = ContactName::parse("Anne-Kristine Haugland Johannessen").unwrap();
    person.organisation = Organisation::parse("Kommunal- og distriktsdepartementet").unwrap();
    store
        .add_contact(&person, &Actor::parse("cli:test"))
        .await
        .unwrap()
        .id
}

/// The browser's own checks of the form are set aside, so the service's refusals show.
async fn without_browser_checks(client: &Client) {
    client
        .execute(
            "document.querySelector('main form').noValidate = true",
            vec![],
        )
        .await
        .unwrap();
}

/// Sets a field's value as a script would: a date field's typed form depends on the
/// browser's language.
async fn set_value(client: &Client, id: &str, value: &str) {
    client
        .execute(
            "document.getElementById(arguments[0]).value = arguments[1]",
            vec![id.into(), value.into()],
        )
        .await
        .unwrap();
}

async fn field_error(client: &Client, field: &str) -> String {
    text_of(client, &format!("#{field}-error")).await
}

async fn the_contact_list_and_the_add_form_in_the_browser(db: &TestDb) {
    let Some((_driver, webdriver)) = start_chromedriver() else {
        return;
    };
    let Some(axe) = axe_script() else {
        return;
    };
    let app = common::staff::staff_app(db).await;
    add_confirmed(&app.store, 0..30).await;
    add_person(&app.store, LONG_ADDRESS, ContactStatus::Confirmed).await;
    let name = |page: &str| format!("contact-pages-{}-{page}", db.kind.name());
    let client = browser(&webdriver).await;
    sign_in_as(&client, &app.address, "kari").await;

    // The list, and a search for part of a name.
    client
        .goto(&format!("{}/admin/contacts", app.address))
        .await
        .unwrap();
    check_page_at_both_widths(&client, &axe, &name("list"), "Kontakter").await;
    assert!(text_of(&client, "main table").await.contains(LONG_ADDRESS));
    fill(&client, "q", "Haugland").await;
    click(&client, "form.search button").await;
    wait_for_text(&client, "main", "1 treff.", 10).await;
    check_page_at_both_widths(&client, &axe, &name("list-search"), "Kontakter").await;

    // The add form, empty.
    click(&client, "a[href='/admin/contacts/new']").await;
    wait_for_heading(&client, "Legg til kontakt").await;
    check_page_at_both_widths(&client, &axe, &name("add"), "Legg til kontakt").await;

    // An address that is none: the problem at its field, what was typed kept.
    without_browser_checks(&client).await;
    fill(&client, "email", "liv.berg-ved-example.no").await;
    fill(&client, "note", "e-post 12.03.2025").await;
    click(&client, "main form button[type=submit]").await;
    wait_for_text(&client, ".error-summary", "Kontakten ble ikke lagret", 10).await;
    assert!(
        field_error(&client, "email")
            .await
            .contains("Skriv en gyldig e-postadresse")
    );
    check_page_at_both_widths(&client, &axe, &name("add-bad-address"), "Legg til kontakt").await;

    // Consent the operation refuses: a date to come and no note, both at their fields.
    without_browser_checks(&client).await;
    fill(&client, "email", "liv.berg@example.no").await;
    set_value(&client, "asked_on", "2999-01-01").await;
    fill(&client, "note", "").await;
    click(&client, "main form button[type=submit]").await;
    wait_for_text(&client, ".error-summary", "Kontakten ble ikke lagret", 10).await;
    let (date, note) = (
        field_error(&client, "asked_on").await,
        field_error(&client, "note").await,
    );
    assert!(!date.is_empty() && !note.is_empty(), "{date} / {note}");
    let summary = text_of(&client, ".error-summary").await;
    assert!(
        summary.contains(&date) && summary.contains(&note),
        "{summary}"
    );
    check_page_at_both_widths(
        &client,
        &axe,
        &name("add-consent-refused"),
        "Legg til kontakt",
    )
    .await;
    assert!(
        app.store
            .contact(&email("liv.berg@example.no"))
            .await
            .unwrap()
            .is_none(),
        "nothing was added"
    );

    // Put right, it is added: the record page says so.
    set_value(&client, "asked_on", "2025-03-12").await;
    fill(&client, "note", "e-post 12.03.2025 til post@kom.example.no").await;
    click(&client, "main form button[type=submit]").await;
    wait_for_text(&client, ".notice", "Kontakten er lagt til.", 10).await;
    check_page_at_both_widths(&client, &axe, &name("added"), "liv.berg@example.no").await;
    client.close().await.unwrap();
}

async fn a_contact_record_edit_and_data_pages_in_the_browser(db: &TestDb) {
    let Some((_driver, webdriver)) = start_chromedriver() else {
        return;
    };
    let Some(axe) = axe_script() else {
        return;
    };
    let app = common::staff::staff_app(db).await;
    let actor = Actor::parse("cli:test");
    let id = add_person(&app.store, LONG_ADDRESS, ContactStatus::Confirmed).await;
    let left = add_person(
        &app.store,
        "meldt.av@example.no",
        ContactStatus::Unsubscribed,
    )
    .await;
    let bounced = add_person(&app.store, "full@example.no", ContactStatus::Bounced).await;
    // A history to show: an issue queued for them, a mail from them.
    let (slug, _) = common::sample_draft(&app.store).await;
    app.store.enqueue_issue(&slug, &actor).await.unwrap();
    app.store
        .record_inbound(&nyhetsbrev::store::NewInbound {
            channel: "api",
            raw: b"From: Anne-Kristine <anne@example.no>\r\nSubject: Hva har dere lagret om meg?\r\n\r\nHei\r\n",
            raw_sha256: "aa",
            from_address: Some(LONG_ADDRESS),
            subject: Some("Hva har dere lagret om meg?"),
            message_id: Some("<innsyn-1@example.no>"),
            sent_at: None,
            kind: InboundKind::Other,
            result: "kept for staff",
            contact_id: Some(id),
            delivery_id: None,
        })
        .await
        .unwrap();
    let name = |page: &str| format!("contact-pages-{}-{page}", db.kind.name());
    let client = browser(&webdriver).await;
    sign_in_as(&client, &app.address, "kari").await;

    // The record page, with its history.
    client
        .goto(&format!("{}/admin/contacts/{id}", app.address))
        .await
        .unwrap();
    check_page_at_both_widths(&client, &axe, &name("record"), LONG_ADDRESS).await;
    let page = text_of(&client, "main").await;
    assert!(
        page.contains("Samtykke")
            && page.contains("Utgaver sendt til kontakten")
            && page.contains("i kø")
            && page.contains("Hva har dere lagret om meg?"),
        "{page}"
    );

    // A bounced address's record page, with the way to put it back.
    client
        .goto(&format!("{}/admin/contacts/{bounced}", app.address))
        .await
        .unwrap();
    check_page_at_both_widths(&client, &axe, &name("record-bounced"), "full@example.no").await;
    assert!(
        text_of(&client, "main")
            .await
            .contains("Adressen virker igjen?")
    );

    // The edit form.
    client
        .goto(&format!("{}/admin/contacts/{id}", app.address))
        .await
        .unwrap();
    click(&client, &format!("a[href='/admin/contacts/{id}/edit']")).await;
    wait_for_heading(&client, "Endre kontakt").await;
    check_page_at_both_widths(&client, &axe, &name("edit"), "Endre kontakt").await;
    fill(&client, "organisation", "KDD").await;
    click(&client, "main form button[type=submit]").await;
    wait_for_text(&client, ".notice", "Endringene er lagret.", 10).await;
    assert_eq!(
        app.store
            .existing_contact(&email(LONG_ADDRESS))
            .await
            .unwrap()
            .organisation
            .map(|o| o.as_str().to_owned())
            .as_deref(),
        Some("KDD")
    );

    // Confirming someone who left, without new consent: refused at the field.
    client
        .goto(&format!("{}/admin/contacts/{left}/edit", app.address))
        .await
        .unwrap();
    wait_for_heading(&client, "Endre kontakt").await;
    client
        .find(Locator::Css("#status option[value=confirmed]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click(&client, "main form button[type=submit]").await;
    wait_for_text(&client, ".error-summary", "Kontakten ble ikke lagret", 10).await;
    assert!(!field_error(&client, "note").await.is_empty());
    check_page_at_both_widths(&client, &axe, &name("edit-refused"), "Endre kontakt").await;
    assert_eq!(
        app.store
            .existing_contact(&email("meldt.av@example.no"))
            .await
            .unwrap()
            .status,
        ContactStatus::Unsubscribed,
        "nothing was changed"
    );

    // The person's data, as a readable page.
    client
        .goto(&format!("{}/admin/contacts/{id}", app.address))
        .await
        .unwrap();
    wait_for_heading(&client, LONG_ADDRESS).await;
    click(
        &client,
        "form[action$='/innsyn'] input[value=html] ~ button",
    )
    .await;
    let data_heading = "Dette har vi lagret om deg";
    wait_for_heading(&client, data_heading).await;
    check_page_at_both_widths(&client, &axe, &name("personal-data"), data_heading).await;
    assert!(
        text_of(&client, "main")
            .await
            .contains("Hva har dere lagret om meg?")
    );

    // The erase page, before the button.
    client
        .goto(&format!("{}/admin/contacts/{id}/remove", app.address))
        .await
        .unwrap();
    let erase_heading = format!("Slett {LONG_ADDRESS} for godt?");
    check_page_at_both_widths(&client, &axe, &name("remove"), &erase_heading).await;
    client.close().await.unwrap();
}
