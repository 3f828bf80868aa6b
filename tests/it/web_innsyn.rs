//! A person's copy of their data (Innsyn) over HTTP, against the real server: the
//! readable document names the organisation by its current name, writes every time in
//! Norwegian time (winter and summer), holds no stored word or field name, and links its
//! print stylesheet; the JSON file beside it names the same organisation; the contact's
//! page says how to hand both over. On SQLite and PostgreSQL.

use crate::common;

use common::staff::{StaffClient, staff_app};
use common::{TestApp, TestDb, email, new_contact};
use nyhetsbrev::domain::{
    ConsentNote, ConsentSource, ContactId, ContactName, ContactStatus, InboundKind, Timestamp,
};
use nyhetsbrev::ops::ORGANISATION_NAME;
use nyhetsbrev::store::{Actor, NewInbound};

on_both_backends!(
    the_readable_copy_is_norwegian_in_oslo_time_and_names_kom,
    the_contact_page_says_how_to_hand_the_copy_over,
);

/// 2026-01-15 12:00 UTC: 13.00 in Oslo (winter time).
const WINTER_NOON_UTC: i64 = 1_768_478_400_000;
/// 2026-07-01 10:30 UTC: 12.30 in Oslo (summer time).
const SUMMER_UTC: i64 = 1_782_901_800_000;

/// What must never reach the person: stored words, field names, actor names, details
/// as the log keeps them, the old name, and times in UTC.
const FORBIDDEN: &[&str] = &[
    "created_at",
    "updated_at",
    "confirmed_at",
    "bounce_count",
    "contact.",
    "cli:",
    "web:",
    "inbound:",
    "worker",
    "status=",
    "source=",
    "format=",
    "email-request",
    "confirmed",
    "pending",
    "queued",
    "unsubscribed",
    "Some(",
    "None",
    "null",
    "UTC",
    "Z\"",
    "behandlingsansvarlig\"",
    "for ofre for menneskehandel",
    "KOM – Koordineringsenheten",
];

/// Adds a confirmed contact who asked by mail at `consent_at`, and returns its number.
async fn add_asker(app: &TestApp, address: &str, consent_at: i64) -> ContactId {
    let mut person = new_contact(address, ContactStatus::Confirmed);
    person.name = ContactName::parse("Nora Ås").unwrap();
    person.consent.source = ConsentSource::EmailRequest;
    person.consent.at = Timestamp::from_unix_ms(consent_at);
    person.consent.note = ConsentNote::parse("e-post til post@kom.example.no").unwrap();
    app.store
        .add_contact(&person, &Actor::parse("cli:test"))
        .await
        .unwrap()
        .id
}

async fn document_of(kari: &StaffClient, id: ContactId) -> String {
    let response = kari
        .post(
            &format!("/admin/contacts/{id}/innsyn"),
            &[("format", "html")],
        )
        .await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    response.text().await.unwrap()
}

async fn the_readable_copy_is_norwegian_in_oslo_time_and_names_kom(db: &TestDb) {
    let app = staff_app(db).await;
    let winter = add_asker(&app, "nora@example.no", WINTER_NOON_UTC).await;
    let summer = add_asker(&app, "sommer@example.no", SUMMER_UTC).await;
    // A history: an issue queued for her, a mail from her.
    let (slug, _) = common::sample_draft(&app.store).await;
    app.store
        .enqueue_issue(&slug, &Actor::parse("cli:test"))
        .await
        .unwrap();
    let raw = b"From: nora@example.no\r\nSubject: Hva har dere om meg?\r\n\r\nJeg vil se alt.\r\n";
    app.store
        .record_inbound(&NewInbound {
            channel: "api",
            raw,
            raw_sha256: "innsyn",
            from_address: Some("nora@example.no"),
            subject: Some("Hva har dere om meg?"),
            message_id: Some("<innsyn-2@example.no>"),
            sent_at: None,
            kind: InboundKind::Other,
            result: "kept for staff",
            contact_id: Some(winter),
            delivery_id: None,
        })
        .await
        .unwrap();
    let kari = StaffClient::log_in(&app.address, "kari").await;

    let document = document_of(&kari, winter).await;
    // Who holds the data, by its current name, and how to reach them.
    assert!(document.contains(ORGANISATION_NAME), "{document}");
    assert!(
        document.contains("Koordineringsenheten mot menneskehandel (KOM)"),
        "the current name"
    );
    assert!(document.contains("mailto:kom@example.no"), "{document}");
    // Oslo time, written out: the consent at 12.00 UTC in January is 13.00 in Norway.
    assert!(
        document.contains("15. januar 2026 kl. 13.00"),
        "winter time: {document}"
    );
    assert!(!document.contains("15. januar 2026 kl. 12.00"), "not UTC");
    // What is held and why, how long, the rights, and the history in sentences.
    for words in [
        "Dette har vi lagret om deg",
        "Du ba om å komme på listen i en e-post til oss.",
        "Grunnlaget er samtykket ditt",
        "Hvor lenge vi beholder opplysningene",
        "sletter vi etter 90 dager",
        "Rettelse",
        "Sletting",
        "Protest og begrensning",
        "Datatilsynet",
        "JSON-fil",
        "Du ble lagt inn på kontaktlisten. Hvem: en medarbeider hos oss.",
        "Nyhetsbrev fra KOM",
        "venter på å bli sendt",
        "Jeg vil se alt.",
        "Vi leste den som en henvendelse til oss",
        "e-post til post@kom.example.no",
    ] {
        assert!(document.contains(words), "{words:?} in {document}");
    }
    for code in FORBIDDEN {
        assert!(
            !document.contains(code),
            "{code:?} in the document: {document}"
        );
    }
    // The page prints as the document: its own stylesheet, which hides the staff box.
    assert!(document.contains(r#"<link rel="stylesheet" href="/static/innsyn.css">"#));
    assert!(
        !document.contains("/static/admin.css"),
        "not the admin's frame"
    );
    assert!(document.contains(r#"class="for-staff""#));
    let css = reqwest::get(format!("{}/static/innsyn.css", app.address))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let print = &css[css.find("@media print").expect("a print stylesheet")..];
    assert!(print.contains(".for-staff { display: none; }"), "{print}");
    assert!(print.contains("@page { size: A4;"), "{print}");
    assert!(
        !document.contains('\u{fffd}'),
        "the mail's line ends are kept as lines"
    );

    // Summer time: 10.30 UTC in July is 12.30 in Norway.
    let document = document_of(&kari, summer).await;
    assert!(
        document.contains("1. juli 2026 kl. 12.30"),
        "summer time: {document}"
    );
    assert!(!document.contains("1. juli 2026 kl. 10.30"), "not UTC");

    // The JSON file beside it: the same organisation, still complete.
    let response = kari
        .post(
            &format!("/admin/contacts/{winter}/innsyn"),
            &[("format", "json")],
        )
        .await;
    assert_eq!(response.status(), 200);
    let data: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(data["behandlingsansvarlig"], ORGANISATION_NAME);
    assert_eq!(data["kontakt"]["adresse"], "nora@example.no");
    let consent_at = data["samtykke"]["tidspunkt"].as_str().unwrap();
    assert!(
        consent_at.starts_with("2026-01-15T12:00:00"),
        "{consent_at}"
    );
    assert_eq!(data["utsendelser"].as_array().unwrap().len(), 1);
    assert_eq!(data["epost_fra_deg"].as_array().unwrap().len(), 1);

    // Each copy is in the log, in words in the next copy.
    let log = app.store.audit_about("nora@example.no", 20).await.unwrap();
    let copies = log.iter().filter(|e| e.action == "contact.export").count();
    assert_eq!(copies, 2);
    let document = document_of(&kari, winter).await;
    assert!(
        document.contains("Det ble laget en kopi av opplysningene om deg (innsyn)"),
        "{document}"
    );
    assert!(
        !document.contains("kari"),
        "staff are named by role, not account"
    );
    assert!(
        app.store
            .contact(&email("nora@example.no"))
            .await
            .unwrap()
            .is_some()
    );
}

async fn the_contact_page_says_how_to_hand_the_copy_over(db: &TestDb) {
    let app = staff_app(db).await;
    let id = add_asker(&app, "nora@example.no", WINTER_NOON_UTC).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let page = kari.get_ok(&format!("/admin/contacts/{id}")).await;
    for words in [
        "skriv det ut som PDF",
        "Ctrl+P",
        "Del → Skriv ut",
        "«Lagre som PDF»",
        "JSON-filen",
        "kryptert eller på en annen sikker måte",
        "Åpne dokumentet for utskrift",
        "Last ned JSON-filen",
    ] {
        assert!(page.contains(words), "{words:?} on the contact page");
    }
}
