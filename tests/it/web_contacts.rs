//! The staff web admin's contacts over HTTP, against the real server: finding a person,
//! their consent and history, adding and editing, putting a bounced address back, a
//! person's copy of their data and their erasure, with the refusals; a kept message as
//! text; the audit log with its filters. On SQLite and PostgreSQL.

use crate::common;

use common::staff::{StaffClient, add_staff, http, location, multipart, staff_app};
use common::{TestApp, TestDb, email, new_contact};
use nyhetsbrev::domain::{ContactId, ContactName, ContactStatus, InboundKind, Organisation};
use nyhetsbrev::store::{Actor, NewInbound};

on_both_backends!(
    contact_pages_need_a_session_and_changes_a_token,
    contacts_are_found_by_any_part_and_paged_by_address,
    a_contact_added_by_staff_shows_its_consent_and_history,
    hostile_contact_input_is_refused_or_shown_inert,
    a_person_gets_their_data_and_is_erased_once,
    a_bounced_contact_is_put_back_with_a_note,
    a_kept_message_is_shown_as_text_only,
    the_audit_log_is_filtered_by_person_action_and_date,
    every_audit_action_is_offered_and_shown_in_words,
    kept_mail_is_handled_and_its_sender_added_with_the_mail_as_consent,
    bounced_contacts_are_listed_with_the_last_reason,
    a_csv_file_is_checked_then_imported,
    hostile_csv_files_are_refused_in_words_and_write_nothing,
    staff_see_and_manage_publications_and_who_gets_them,
    every_export_of_the_list_is_a_post_in_the_log_and_on_the_dashboard,
    an_upload_is_kept_private_and_imported_only_as_checked,
    abandoned_uploads_and_leftover_folders_are_removed,
    staff_taking_a_contact_off_skips_its_queued_deliveries_at_once,
    consent_is_recorded_by_the_rules_the_command_line_keeps,
);

fn cli() -> Actor {
    Actor::parse("cli:test")
}

/// The id of the contact with this address.
async fn id_of(app: &TestApp, address: &str) -> ContactId {
    app.store
        .contact(&email(address))
        .await
        .unwrap()
        .expect("contact exists")
        .id
}

/// Records a message from `from` as the inbound handler would.
async fn record_mail(
    app: &TestApp,
    from: &str,
    raw: &[u8],
    kind: InboundKind,
    contact: Option<ContactId>,
) -> nyhetsbrev::domain::InboundId {
    use sha2::Digest;
    let hash: String = sha2::Sha256::digest(raw)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    app.store
        .record_inbound(&NewInbound {
            channel: "api",
            raw,
            raw_sha256: &hash,
            from_address: Some(from),
            subject: Some("Hei"),
            message_id: Some("<m1@example.no>"),
            sent_at: None,
            kind,
            result: "kept for staff",
            contact_id: contact,
            delivery_id: None,
        })
        .await
        .unwrap()
}

async fn contact_pages_need_a_session_and_changes_a_token(db: &TestDb) {
    let app = staff_app(db).await;
    app.store
        .add_contact(
            &new_contact("ola@example.no", ContactStatus::Confirmed),
            &cli(),
        )
        .await
        .unwrap();
    let id = id_of(&app, "ola@example.no").await;
    let mail = record_mail(
        &app,
        "ny@example.no",
        b"From: ny@example.no\r\nSubject: Hei\r\n\r\nKan jeg bli med?\r\n",
        InboundKind::Other,
        None,
    )
    .await;
    let anonymous = http();
    for path in [
        "/admin/contacts".to_owned(),
        "/admin/contacts/new".to_owned(),
        "/admin/contacts/export.csv".to_owned(),
        format!("/admin/contacts/{id}"),
        format!("/admin/contacts/{id}/edit"),
        format!("/admin/contacts/{id}/remove"),
        "/admin/contacts/import".to_owned(),
        "/admin/contacts/import/abc".to_owned(),
        "/admin/inbound".to_owned(),
        "/admin/inbound/1".to_owned(),
        "/admin/inbound/1/add-contact".to_owned(),
        "/admin/bounces".to_owned(),
        "/admin/audit".to_owned(),
    ] {
        let response = anonymous
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "GET {path} without a session");
        assert!(location(&response).starts_with("/admin/login"), "{path}");
    }
    let kari = StaffClient::log_in(&app.address, "kari").await;
    for path in [
        format!("/admin/contacts/{id}/remove"),
        format!("/admin/contacts/{id}/innsyn"),
        format!("/admin/contacts/{id}/edit"),
        format!("/admin/contacts/{id}/reset-bounce"),
        "/admin/contacts/new".to_owned(),
        format!("/admin/inbound/{mail}/handled"),
        format!("/admin/inbound/{mail}/add-contact"),
        "/admin/contacts/export.csv".to_owned(),
        format!("/admin/inbound/{mail}/answer"),
    ] {
        let fields = [
            ("csrf", "feil"),
            ("confirm", "ja"),
            ("email", "ny@example.no"),
            ("format", "json"),
        ];
        let response = kari.post_raw(&path, &fields, Some(&app.address)).await;
        assert_eq!(response.status(), 403, "POST {path} with a wrong token");
        let mut with_token = fields.to_vec();
        with_token[0] = ("csrf", kari.csrf.as_str());
        let response = kari
            .post_raw(&path, &with_token, Some("https://evil.example.org"))
            .await;
        assert_eq!(response.status(), 403, "POST {path} from another site");
    }
    // Nothing of it happened.
    assert!(
        app.store
            .contact(&email("ola@example.no"))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        app.store
            .contact(&email("ny@example.no"))
            .await
            .unwrap()
            .is_none()
    );
    let exports = app.store.audit_about("ola@example.no", 10).await.unwrap();
    assert!(exports.iter().all(|e| e.action != "contact.export"));
    let log = app.store.audit_log(100).await.unwrap();
    assert!(
        log.iter().all(|e| e.action != "contacts.export"),
        "no export without the token"
    );
    assert_eq!(
        app.store.inbound_waiting().await.unwrap(),
        1,
        "not marked handled"
    );
    // An upload without the token, or from elsewhere, is refused before it is read.
    let (content_type, body) = multipart(&[
        ("csrf", None, b"feil"),
        ("file", Some("liste.csv"), b"email\nny2@example.no\n"),
    ]);
    let refused = kari
        .http
        .post(format!("{}/admin/contacts/import", app.address))
        .header("cookie", format!("nyhetsbrev_stab={}", kari.cookie))
        .header("origin", &app.address)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert!(
        app.store
            .contact(&email("ny2@example.no"))
            .await
            .unwrap()
            .is_none()
    );
}

async fn contacts_are_found_by_any_part_and_paged_by_address(db: &TestDb) {
    let app = staff_app(db).await;
    common::add_confirmed(&app.store, 0..120).await;
    let mut andersen = new_contact("per.andersen@politiet.example.no", ContactStatus::Confirmed);
    andersen.name = ContactName::parse("Per Andersen").unwrap();
    andersen.organisation = Organisation::parse("Øst politidistrikt").unwrap();
    app.store.add_contact(&andersen, &cli()).await.unwrap();
    app.store
        .add_contact(
            &new_contact("gikk@example.no", ContactStatus::Unsubscribed),
            &cli(),
        )
        .await
        .unwrap();
    let kari = StaffClient::log_in(&app.address, "kari").await;

    // Counts per status, from the counts the triggers keep.
    let page = kari.get_ok("/admin/contacts").await;
    assert!(page.contains("Alle: 122"), "{page}");
    assert!(page.contains("Bekreftet: 121"), "{page}");
    assert!(page.contains("Meldt av: 1"), "{page}");

    // Any part of the address, the name or the organisation, any letter case, æøå too.
    for (query, expect) in [
        ("ndersen", "per.andersen@politiet.example.no"),
        ("PER AND", "per.andersen@politiet.example.no"),
        ("øST POLITI", "per.andersen@politiet.example.no"),
        ("t00042", "kontakt00042@example.org"),
    ] {
        let page = kari
            .get_ok(&format!("/admin/contacts?q={}", urlencode(query)))
            .await;
        assert!(page.contains(expect), "{query}: {page}");
        assert!(page.contains("1 treff."), "{query} finds one: {page}");
    }
    // LIKE's wildcards are text.
    let page = kari.get_ok("/admin/contacts?q=%25").await;
    assert!(page.contains("Ingen treff."), "{page}");
    // Status filter with a search.
    let page = kari
        .get_ok("/admin/contacts?q=example.no&status=unsubscribed")
        .await;
    assert!(
        page.contains("gikk@example.no") && page.contains("1 treff."),
        "{page}"
    );
    assert!(!page.contains("per.andersen"), "{page}");

    // Pages by address: 50, 50, 22, each after the last; then back again.
    let mut seen: Vec<String> = Vec::new();
    let mut path = "/admin/contacts".to_owned();
    let mut pages = Vec::new();
    loop {
        let page = kari.get_ok(&path).await;
        let rows = addresses_on(&page);
        assert!(rows.len() <= 50);
        seen.extend(rows.clone());
        pages.push((path.clone(), rows));
        match link_after(&page, "rel=\"next\"") {
            Some(next) => path = next,
            None => break,
        }
    }
    assert_eq!(pages.len(), 3, "three pages");
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 122, "every contact once");
    assert_eq!(seen, sorted, "in address order");
    let last = kari.get_ok(&pages[2].0).await;
    let back = link_after(&last, "rel=\"prev\"").expect("a link back");
    let middle = kari.get_ok(&back).await;
    assert_eq!(addresses_on(&middle), pages[1].1, "back to the second page");

    // The export of the current filter.
    let csv = kari
        .post("/admin/contacts/export.csv", &[("q", "ndersen")])
        .await;
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.contains("per.andersen@politiet.example.no"));
    let all = kari
        .post("/admin/contacts/export.csv", &[])
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(all.lines().count(), 123);
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The addresses in the list's table, in order.
fn addresses_on(page: &str) -> Vec<String> {
    page.split("<td><a href=\"/admin/contacts/")
        .skip(1)
        .filter_map(|rest| {
            let start = rest.find("<bdi>")? + 5;
            let end = rest.find("</bdi>")?;
            Some(rest[start..end].to_owned())
        })
        .collect()
}

/// The href of the link whose attributes hold `marker`, HTML entities undone.
fn link_after(page: &str, marker: &str) -> Option<String> {
    let at = page.find(marker)?;
    let before = &page[..at];
    let href = before.rfind("href=\"")? + 6;
    let end = before[href..].find('"')? + href;
    Some(
        before[href..end]
            .replace("&#38;", "&")
            .replace("&amp;", "&"),
    )
}

async fn a_contact_added_by_staff_shows_its_consent_and_history(db: &TestDb) {
    let app = staff_app(db).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let form = kari.get_ok("/admin/contacts/new").await;
    assert!(form.contains("Legg til kontakt"));
    let response = kari
        .post(
            "/admin/contacts/new",
            &[
                ("email", "Liv.Berg@Example.NO"),
                ("name", "Liv Berg"),
                ("organisation", "Kirkens Bymisjon"),
                ("source", "email-request"),
                ("asked_on", "2025-03-12"),
                ("note", "e-post 12.03.2025 til post@kom.no"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let id = id_of(&app, "liv.berg@example.no").await;
    assert_eq!(
        location(&response),
        format!("/admin/contacts/{id}?melding=lagt-til")
    );
    // The same address again is refused in words, on the form.
    let again = kari
        .post(
            "/admin/contacts/new",
            &[
                ("email", "liv.berg@example.no"),
                ("source", "staff"),
                ("asked_on", "2025-03-12"),
                ("note", "telefon"),
            ],
        )
        .await;
    assert_eq!(again.status(), 422);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("står allerede på listen")
    );

    // An import names its file and line; the contact's delivery shows in its history.
    let csv = "email,name\nimportert@example.no,Ida\n";
    nyhetsbrev::ops::Contacts::new(app.store.clone())
        .import(
            std::io::Cursor::new(csv.as_bytes().to_vec()),
            "gammel-liste.csv",
            &Default::default(),
            &cli(),
            |_| {},
        )
        .await
        .unwrap();
    let (slug, _) = common::sample_draft(&app.store).await;
    app.store.enqueue_issue(&slug, &cli()).await.unwrap();

    let page = kari
        .get_ok(&format!("/admin/contacts/{id}?melding=lagt-til"))
        .await;
    assert!(page.contains("Kontakten er lagt til."), "{page}");
    assert!(page.contains("Liv.Berg@example.no"), "{page}");
    assert!(page.contains("forespørsel på e-post"), "{page}");
    assert!(page.contains("e-post 12.03.2025 til post@kom.no"), "{page}");
    assert!(page.contains("12.03.2025"), "when they asked: {page}");
    assert!(
        page.contains("<dt>Registrert av</dt><dd><bdi>kari</bdi>"),
        "{page}"
    );
    assert!(page.contains("i kø"), "the queued delivery: {page}");
    assert!(page.contains("lagt til på listen"), "the log: {page}");

    let imported = id_of(&app, "importert@example.no").await;
    let page = kari.get_ok(&format!("/admin/contacts/{imported}")).await;
    assert!(page.contains("gammel-liste.csv, linje 2"), "{page}");

    // Editing: a new name; confirming someone who left needs new consent.
    let response = kari
        .post(
            &format!("/admin/contacts/{id}/edit"),
            &[
                ("email", "liv.berg@example.no"),
                ("name", "Liv Berg Hansen"),
                ("organisation", "Kirkens Bymisjon"),
                ("status", "unsubscribed"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let contact = app.store.contact_by_id(id).await.unwrap().unwrap();
    assert_eq!(contact.status, ContactStatus::Unsubscribed);
    assert_eq!(contact.name.unwrap().as_str(), "Liv Berg Hansen");
    let refused = kari
        .post(
            &format!("/admin/contacts/{id}/edit"),
            &[("email", "liv.berg@example.no"), ("status", "confirmed")],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let page = refused.text().await.unwrap();
    assert!(page.contains("bekrefte kontakten igjen"), "{page}");
    assert_eq!(
        app.store.contact_by_id(id).await.unwrap().unwrap().status,
        ContactStatus::Unsubscribed,
        "not confirmed without new consent"
    );
    let response = kari
        .post(
            &format!("/admin/contacts/{id}/edit"),
            &[
                ("email", "liv.berg@example.no"),
                ("status", "confirmed"),
                ("note", "ringte 02.12.2026 og ville stå på listen igjen"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let contact = app.store.contact_by_id(id).await.unwrap().unwrap();
    assert_eq!(contact.status, ContactStatus::Confirmed);
    assert_eq!(
        contact.consent.note.unwrap().as_str(),
        "ringte 02.12.2026 og ville stå på listen igjen"
    );
}

async fn hostile_contact_input_is_refused_or_shown_inert(db: &TestDb) {
    let app = staff_app(db).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    // Not an address, a header injection, an overlong name: each in words, nothing stored.
    for (address, name, message) in [
        ("ikke en adresse", "", "gyldig e-postadresse"),
        (
            "a@example.no\r\nBcc: x@example.org",
            "",
            "gyldig e-postadresse",
        ),
        ("b@example.no", "Navn\r\nBcc: x@example.org", "linjeskift"),
        ("c@example.no", &"x".repeat(201), "høyst 200 tegn"),
        (
            "d@example.no",
            "Kari \u{2067}Nordmann\u{2069}",
            "snur skriveretningen",
        ),
    ] {
        let response = kari
            .post(
                "/admin/contacts/new",
                &[
                    ("email", address),
                    ("name", name),
                    ("source", "staff"),
                    ("asked_on", "2025-03-12"),
                    ("note", "telefon"),
                ],
            )
            .await;
        assert_eq!(response.status(), 422, "{address:?}");
        let page = response.text().await.unwrap();
        assert!(page.contains(message), "{address:?}: {page}");
    }
    assert_eq!(
        app.store
            .contact_counts()
            .await
            .unwrap()
            .iter()
            .map(|(_, n)| n)
            .sum::<i64>(),
        0
    );
    // A future date and a missing note.
    let response = kari
        .post(
            "/admin/contacts/new",
            &[
                ("email", "d@example.no"),
                ("source", "staff"),
                ("asked_on", "2999-01-01"),
                ("note", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("fram i tid") && page.contains("hvordan personen ba om det"),
        "{page}"
    );

    // Script tags are shown as text on every page (direction overrides cannot be
    // stored in a name any more: refused above).
    let mut hostile = new_contact("skript@example.no", ContactStatus::Confirmed);
    hostile.name = ContactName::parse("<script>alert(1)</script> \u{200f}fdp.exe").unwrap();
    hostile.organisation = Organisation::parse("<img src=x onerror=alert(2)>").unwrap();
    app.store.add_contact(&hostile, &cli()).await.unwrap();
    let id = id_of(&app, "skript@example.no").await;
    for path in [
        "/admin/contacts".to_owned(),
        "/admin/contacts?q=skript".to_owned(),
        format!("/admin/contacts/{id}"),
        format!("/admin/contacts/{id}/edit"),
    ] {
        let page = kari.get_ok(&path).await;
        assert!(!page.contains("<script>alert"), "{path}: {page}");
        assert!(!page.contains("<img src=x"), "{path}");
        assert!(
            !page.contains('\u{202e}'),
            "{path}: the override is not obeyed"
        );
    }
    let page = kari.get_ok(&format!("/admin/contacts/{id}")).await;
    assert!(
        page.contains("&#60;script&#62;alert(1)&#60;/script&#62; \u{fffd}fdp.exe"),
        "{page}"
    );

    // Ids that are no contact: the page says so in words.
    for path in [
        "/admin/contacts/999999",
        "/admin/contacts/0",
        "/admin/contacts/abc",
        "/admin/contacts/-1/edit",
    ] {
        let response = kari.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("Fant ikke kontakten"),
            "{path}"
        );
    }
    // An overlong search is cut, not an error.
    let long = "a".repeat(5000);
    kari.get_ok(&format!("/admin/contacts?q={long}")).await;
}

async fn a_person_gets_their_data_and_is_erased_once(db: &TestDb) {
    let app = staff_app(db).await;
    let mut person = new_contact("nora@example.no", ContactStatus::Confirmed);
    person.name = ContactName::parse("Nora Ås").unwrap();
    app.store.add_contact(&person, &cli()).await.unwrap();
    app.store
        .add_contact(
            &new_contact("annen@example.no", ContactStatus::Confirmed),
            &cli(),
        )
        .await
        .unwrap();
    let id = id_of(&app, "nora@example.no").await;
    let (slug, _) = common::sample_draft(&app.store).await;
    app.store.enqueue_issue(&slug, &cli()).await.unwrap();
    // Mail linked to her, and one from her address that was never linked.
    record_mail(
        &app,
        "nora@example.no",
        b"From: nora@example.no\r\nSubject: Hei\r\n\r\nKan dere ringe meg?\r\n",
        InboundKind::Other,
        Some(id),
    )
    .await;
    record_mail(
        &app,
        "Nora@Example.no",
        b"From: Nora@Example.no\r\nSubject: Igjen\r\n\r\nEn gang til.\r\n",
        InboundKind::Other,
        None,
    )
    .await;
    record_mail(
        &app,
        "annen@example.no",
        b"From: annen@example.no\r\nSubject: Annen\r\n\r\nIkke Nora.\r\n",
        InboundKind::Other,
        None,
    )
    .await;

    let kari = StaffClient::log_in(&app.address, "kari").await;
    let response = kari
        .post(
            &format!("/admin/contacts/{id}/innsyn"),
            &[("format", "json")],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .get("content-disposition")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let data: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(data["kontakt"]["adresse"], "nora@example.no");
    assert_eq!(data["kontakt"]["navn"], "Nora Ås");
    assert_eq!(data["utsendelser"].as_array().unwrap().len(), 1);
    assert_eq!(data["utsendelser"][0]["status"], "i kø");
    let mails = data["epost_fra_deg"].as_array().unwrap();
    assert_eq!(
        mails.len(),
        2,
        "both of her mails, not the other person's: {data}"
    );
    assert!(mails.iter().any(|m| {
        m["innhold"]
            .as_str()
            .unwrap()
            .contains("Kan dere ringe meg?")
    }));
    assert!(!data.to_string().contains("Ikke Nora"));

    let html = kari
        .post(
            &format!("/admin/contacts/{id}/innsyn"),
            &[("format", "html")],
        )
        .await;
    assert_eq!(html.status(), 200);
    let html = html.text().await.unwrap();
    assert!(
        html.contains("Dette har vi lagret om deg") && html.contains("Kan dere ringe meg?"),
        "{html}"
    );

    // Both copies are in the log: who, what, never the values.
    let log = app.store.audit_about("nora@example.no", 20).await.unwrap();
    let exports: Vec<_> = log
        .iter()
        .filter(|e| e.action == "contact.export")
        .collect();
    assert_eq!(exports.len(), 2);
    assert!(exports.iter().all(|e| e.actor == "web:kari"));
    assert!(
        exports
            .iter()
            .all(|e| !e.detail.as_deref().unwrap_or("").contains("Nora"))
    );

    // Erasure needs the confirmation, then takes everything tied to her.
    let unconfirmed = kari
        .post(&format!("/admin/contacts/{id}/remove"), &[])
        .await;
    assert_eq!(unconfirmed.status(), 422);
    assert!(app.store.contact_by_id(id).await.unwrap().is_some());
    let confirm_page = kari.get_ok(&format!("/admin/contacts/{id}/remove")).await;
    assert!(confirm_page.contains("Slett for godt"));
    let response = kari
        .post(
            &format!("/admin/contacts/{id}/remove"),
            &[("confirm", "ja")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/admin/contacts?melding=slettet");
    assert!(app.store.contact_by_id(id).await.unwrap().is_none());
    let left = app.store.list_inbound(None, 100).await.unwrap();
    assert_eq!(left.len(), 1, "only the other person's mail is left");
    assert_eq!(left[0].from_address.as_deref(), Some("annen@example.no"));
    assert!(
        app.store
            .audit_about("nora@example.no", 20)
            .await
            .unwrap()
            .is_empty()
    );
    let erased = app
        .store
        .audit_about(&format!("contact #{id} (erased)"), 20)
        .await
        .unwrap();
    assert!(
        erased
            .iter()
            .any(|e| e.action == "contact.remove" && e.actor == "web:kari")
    );
    assert!(
        erased.iter().any(|e| e.action == "contact.export"),
        "the log keeps that a copy was made"
    );

    // Replayed: nothing more happens, and the page says so.
    let again = kari
        .post(
            &format!("/admin/contacts/{id}/remove"),
            &[("confirm", "ja")],
        )
        .await;
    assert_eq!(again.status(), 404);
    assert!(again.text().await.unwrap().contains("allerede slettet"));
    let removals = app
        .store
        .audit_about(&format!("contact #{id} (erased)"), 20)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == "contact.remove")
        .count();
    assert_eq!(removals, 1);
    assert_eq!(
        kari.get(&format!("/admin/contacts/{id}")).await.status(),
        404
    );
    let export = kari
        .post(
            &format!("/admin/contacts/{id}/innsyn"),
            &[("format", "json")],
        )
        .await;
    assert_eq!(export.status(), 404);
    // The other person is untouched.
    assert!(
        app.store
            .contact(&email("annen@example.no"))
            .await
            .unwrap()
            .is_some()
    );
}

async fn a_bounced_contact_is_put_back_with_a_note(db: &TestDb) {
    let app = staff_app(db).await;
    app.store
        .add_contact(
            &new_contact("full@example.no", ContactStatus::Bounced),
            &cli(),
        )
        .await
        .unwrap();
    app.store
        .add_contact(
            &new_contact("ok@example.no", ContactStatus::Confirmed),
            &cli(),
        )
        .await
        .unwrap();
    let id = id_of(&app, "full@example.no").await;
    let ok = id_of(&app, "ok@example.no").await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let page = kari.get_ok(&format!("/admin/contacts/{id}")).await;
    assert!(page.contains("Sett tilbake på listen"));
    let no_note = kari
        .post(
            &format!("/admin/contacts/{id}/reset-bounce"),
            &[("note", " ")],
        )
        .await;
    assert_eq!(no_note.status(), 422);
    let response = kari
        .post(
            &format!("/admin/contacts/{id}/reset-bounce"),
            &[("note", "personen ringte, postkassen er tømt")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let contact = app.store.contact_by_id(id).await.unwrap().unwrap();
    assert_eq!(contact.status, ContactStatus::Confirmed);
    assert_eq!(contact.bounce_count, 0);
    let log = app.store.audit_about("full@example.no", 10).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.action == "contact.reset-bounce" && e.actor == "web:kari")
    );
    // Only a bounced contact.
    let refused = kari
        .post(
            &format!("/admin/contacts/{ok}/reset-bounce"),
            &[("note", "prøver")],
        )
        .await;
    assert_eq!(refused.status(), 409);
    let counts = app.store.contact_counts().await.unwrap();
    assert!(counts.contains(&(ContactStatus::Confirmed, 2)));
    assert!(counts.contains(&(ContactStatus::Bounced, 0)));
}

async fn a_kept_message_is_shown_as_text_only(db: &TestDb) {
    let app = staff_app(db).await;
    let raw = b"From: Kari <sender@example.no>\r\nTo: post@example.org\r\nSubject: Sp\xc3\xb8rsm\xc3\xa5l\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
Content-Type: text/html; charset=utf-8\r\n\r\n<style>body{display:none}</style>\
<p onclick=\"x()\">Hei, kan dere <b>sende</b> rapporten?</p><script>alert(1)</script>\
<img src=\"https://tracker.example.org/pixel.png\">\r\n--b\r\n\
Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"rapport.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\nSGVpIGRlcg==\r\n--b--\r\n";
    let id = record_mail(&app, "sender@example.no", raw, InboundKind::Other, None).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let page = kari.get_ok(&format!("/admin/inbound/{id}")).await;
    assert!(page.contains("sende"), "{page}");
    assert!(page.contains("rapport.pdf"), "{page}");
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(!page.contains("tracker.example.org/pixel.png\">"), "{page}");
    assert!(!page.contains("<img"), "{page}");
    assert!(!page.contains("<style>"), "{page}");
    let missing = kari.get("/admin/inbound/99999").await;
    assert_eq!(missing.status(), 404);
}

/// The audit page's «Hva» offers every action the log records, each by its words, and
/// an entry of one the labels once missed (a person's own choice of publications) is
/// found by it and shown with who did it in words, not as stored.
async fn every_audit_action_is_offered_and_shown_in_words(db: &TestDb) {
    use nyhetsbrev::domain::{AuditAction, RecipientDoor};

    let app = staff_app(db).await;
    app.store
        .log_action(
            &Actor::recipient(RecipientDoor::Preferences),
            AuditAction::ContactPublications,
            "valgte@example.no",
            Some("joined: -; left: rettsavgjorelser".to_owned()),
        )
        .await
        .unwrap();
    let wrong = http()
        .post(format!("{}/admin/login", app.address))
        .header("origin", &app.address)
        .form(&[("username", "kari"), ("password", "feil passord her")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401, "refused");
    let kari = StaffClient::log_in(&app.address, "kari").await;

    let page = kari.get_ok("/admin/audit").await;
    for action in AuditAction::ALL {
        assert!(
            page.contains(&format!(
                "<option value=\"{}\">{}</option>",
                action.as_str(),
                action.norwegian()
            )),
            "{action} offered: {page}"
        );
    }
    assert!(
        page.contains("Noen som ikke er logget inn, fra IP-adressen "),
        "a failed sign-in: {page}"
    );
    assert!(!page.contains("<bdi>client:"), "{page}");

    let page = kari
        .get_ok("/admin/audit?handling=contact.publications")
        .await;
    assert_eq!(
        page.matches("valgte selv hvilke publikasjoner som kommer</td>")
            .count(),
        1,
        "{page}"
    );
    assert!(
        page.contains(
            "<bdi>Mottakeren selv, via lenken i e-posten til siden «Velg hva du får»</bdi>"
        ),
        "{page}"
    );
    assert!(!page.contains("web:preferences"), "{page}");
    assert!(!page.contains("logget inn</td>"), "{page}");
}

async fn the_audit_log_is_filtered_by_person_action_and_date(db: &TestDb) {
    let app = staff_app(db).await;
    add_staff(&app.store, "ola").await;
    // A failed sign-in for kari, then both sign in.
    let wrong = http()
        .post(format!("{}/admin/login", app.address))
        .header("origin", &app.address)
        .form(&[("username", "kari"), ("password", "feil passord her")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401, "refused");
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let ola = StaffClient::log_in(&app.address, "ola").await;
    let added = ola
        .post(
            "/admin/contacts/new",
            &[
                ("email", "logget@example.no"),
                ("source", "staff"),
                ("asked_on", "2025-03-12"),
                ("note", "telefon"),
            ],
        )
        .await;
    assert_eq!(added.status(), 303);

    let page = kari.get_ok("/admin/audit").await;
    assert!(page.contains("mislykket innlogging"), "{page}");
    assert!(page.contains("logget inn"), "{page}");
    assert!(page.contains("lagt til på listen"), "{page}");

    let page = kari.get_ok("/admin/audit?hvem=ola").await;
    assert!(
        page.contains("lagt til på listen") && page.contains("logget@example.no"),
        "{page}"
    );
    assert!(!page.contains("<bdi>kari</bdi>"), "only ola's: {page}");

    let page = kari
        .get_ok("/admin/audit?handling=staff.login_failed")
        .await;
    assert_eq!(
        page.matches("mislykket innlogging</td>").count(),
        1,
        "{page}"
    );
    assert!(!page.contains("lagt til på listen</td>"), "{page}");

    let today = time::OffsetDateTime::now_utc().date();
    let yesterday = today.previous_day().unwrap();
    let page = kari.get_ok(&format!("/admin/audit?til={yesterday}")).await;
    assert!(
        page.contains("Ingen oppføringer."),
        "nothing before today: {page}"
    );
    let page = kari
        .get_ok(&format!("/admin/audit?fra={yesterday}&til={today}"))
        .await;
    assert!(page.contains("lagt til på listen"), "{page}");
    let page = kari.get_ok("/admin/audit?fra=i+går").await;
    assert!(page.contains("kunne ikke leses"), "{page}");

    // 150 more entries: a page of 100, and the older ones behind a link.
    for i in 0..150 {
        app.store
            .log_action(
                &Actor::parse("web:ola"),
                nyhetsbrev::domain::AuditAction::IssueTestSend,
                &format!("utgave-{i}"),
                None,
            )
            .await
            .unwrap();
    }
    let page = kari
        .get_ok("/admin/audit?hvem=ola&handling=issue.test_send")
        .await;
    assert_eq!(page.matches("prøveeksemplar sendt</td>").count(), 100);
    assert!(
        page.contains("utgaven «utgave-149»") && !page.contains("«utgave-49»"),
        "newest first"
    );
    let older = link_after(&page, "rel=\"next\"").expect("a link to older entries");
    let page = kari.get_ok(&older).await;
    assert_eq!(page.matches("prøveeksemplar sendt</td>").count(), 50);
    assert!(page.contains("utgaven «utgave-49»") && page.contains("«utgave-0»"));
    assert!(!page.contains("rel=\"next\""));
}

async fn kept_mail_is_handled_and_its_sender_added_with_the_mail_as_consent(db: &TestDb) {
    let app = staff_app(db).await;
    let request = b"From: \"Siri Dahl\" <siri.dahl@example.no>\r\nTo: post@example.org\r\n\
Date: Wed, 12 Mar 2025 10:00:00 +0100\r\nMessage-ID: <foresporsel-1@example.no>\r\n\
Subject: Nyhetsbrev\r\n\r\nKan jeg f\xc3\xa5 nyhetsbrevet fra KOM?\r\n";
    // (The helper records every message with the Message-ID <m1@example.no>.)
    let asking = record_mail(
        &app,
        "siri.dahl@example.no",
        request,
        InboundKind::Other,
        None,
    )
    .await;
    let question = record_mail(
        &app,
        "ola@example.no",
        b"From: ola@example.no\r\nSubject: Rapport\r\n\r\nHvor er rapporten?\r\n",
        InboundKind::Other,
        None,
    )
    .await;
    let nobody = record_mail(
        &app,
        "",
        b"garbage without headers",
        InboundKind::Unreadable,
        None,
    )
    .await;
    let kari = StaffClient::log_in(&app.address, "kari").await;

    let page = kari.get_ok("/admin/inbound").await;
    assert!(page.contains("3 venter på behandling"), "{page}");
    let dashboard = kari.get_ok("/admin").await;
    assert!(
        dashboard.contains("3 e-poster til staben venter på behandling"),
        "{dashboard}"
    );
    assert!(
        page.contains("siri.dahl@example.no") && page.contains("(kunne ikke leses)"),
        "{page}"
    );

    // Marking one handled takes it off the list (and is logged); twice is harmless.
    let response = kari
        .post(&format!("/admin/inbound/{question}/handled"), &[])
        .await;
    assert_eq!(response.status(), 303);
    let again = kari
        .post(&format!("/admin/inbound/{question}/handled"), &[])
        .await;
    assert_eq!(again.status(), 303);
    let page = kari.get_ok("/admin/inbound").await;
    assert!(
        page.contains("2 venter på behandling") && !page.contains("ola@example.no"),
        "{page}"
    );
    let page = kari.get_ok("/admin/inbound?alle=ja").await;
    assert!(
        page.contains("ola@example.no") && page.contains("av kari"),
        "{page}"
    );
    let log = app
        .store
        .audit_about(&format!("inbound #{question}"), 10)
        .await
        .unwrap();
    assert_eq!(
        log.iter().filter(|e| e.action == "inbound.handled").count(),
        1
    );

    // Adding the sender: the page shows what will be recorded; staff confirm.
    let form = kari
        .get_ok(&format!("/admin/inbound/{asking}/add-contact"))
        .await;
    assert!(
        form.contains("Siri Dahl") && form.contains("m1@example.no"),
        "{form}"
    );
    assert!(form.contains("12.03.2025"), "the request's date: {form}");
    let response = kari
        .post(
            &format!("/admin/inbound/{asking}/add-contact"),
            &[("name", "Siri Dahl"), ("organisation", "Kirkens Bymisjon")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let contact = app
        .store
        .contact(&email("siri.dahl@example.no"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(contact.status, ContactStatus::Confirmed);
    assert_eq!(contact.consent.source.as_str(), "email-request");
    assert_eq!(contact.consent.at.to_rfc3339(), "2025-03-12T09:00:00Z");
    assert!(
        contact
            .consent
            .note
            .unwrap()
            .as_str()
            .contains("Message-ID <m1@example.no>")
    );
    let page = kari
        .get_ok(&format!("/admin/contacts/{}", contact.id))
        .await;
    assert!(
        page.contains(&format!("/admin/inbound/{asking}")),
        "the mail is the evidence: {page}"
    );
    assert!(page.contains("m1@example.no"), "{page}");
    let page = kari.get_ok("/admin/inbound").await;
    assert!(page.contains("1 venter på behandling"), "{page}");
    // Twice: refused in words, nothing doubled.
    let again = kari
        .post(
            &format!("/admin/inbound/{asking}/add-contact"),
            &[("name", "Siri")],
        )
        .await;
    assert_eq!(again.status(), 422);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("står allerede på kontaktlisten")
    );
    // A message without a sender cannot be added; one that does not exist is a 404.
    let response = kari
        .get(&format!("/admin/inbound/{nobody}/add-contact"))
        .await;
    assert_eq!(response.status(), 422);
    assert_eq!(
        kari.get("/admin/inbound/424242/add-contact").await.status(),
        404
    );
    assert_eq!(
        kari.post("/admin/inbound/424242/handled", &[])
            .await
            .status(),
        404
    );
}

async fn bounced_contacts_are_listed_with_the_last_reason(db: &TestDb) {
    let app = staff_app(db).await;
    common::add_confirmed(&app.store, 0..3).await;
    let (slug, _) = common::sample_draft(&app.store).await;
    app.store.enqueue_issue(&slug, &cli()).await.unwrap();
    let bounced = email(&common::numbered_address(1));
    let contact = app.store.contact(&bounced).await.unwrap().unwrap();
    app.store
        .update_contact(
            &bounced,
            &nyhetsbrev::domain::ContactChanges {
                status: Some(ContactStatus::Bounced),
                ..Default::default()
            },
            &cli(),
        )
        .await
        .unwrap();
    record_mail(&app, "mailer-daemon@example.org", b"From: mailer-daemon@example.org\r\nSubject: Undelivered\r\n\r\n550 5.1.1 user unknown\r\n", InboundKind::Bounce, Some(contact.id)).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let page = kari.get_ok("/admin/bounces").await;
    assert!(page.contains(bounced.as_str()), "{page}");
    assert!(
        page.contains("kept for staff"),
        "the last report's reason: {page}"
    );
    assert!(!page.contains(&common::numbered_address(0)), "{page}");
}

/// Uploads `csv` to the import form; the response (a redirect to the job, or a refusal).
async fn upload_csv(
    kari: &StaffClient,
    name: &str,
    csv: &[u8],
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut parts: Vec<(&str, Option<&str>, &[u8])> = vec![("csrf", None, kari.csrf.as_bytes())];
    for (field, value) in extra {
        parts.push((field, None, value.as_bytes()));
    }
    parts.push(("file", Some(name), csv));
    let (content_type, body) = multipart(&parts);
    kari.http
        .post(format!("{}/admin/contacts/import", kari.base))
        .header("cookie", format!("nyhetsbrev_stab={}", kari.cookie))
        .header("origin", &kari.base)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

/// The job's page once it has stopped working (checked, imported or failed).
async fn settled(kari: &StaffClient, path: &str) -> String {
    let what = format!("the import at {path} finishes");
    common::eventually(&what, std::time::Duration::from_secs(10), async || {
        let page = kari.get_ok(path).await;
        if page.contains("Siden oppdaterer seg selv") {
            Err("still working")
        } else {
            Ok(page)
        }
    })
    .await
}

async fn contacts_on_list(app: &TestApp) -> i64 {
    app.store
        .contact_counts()
        .await
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum()
}

async fn a_csv_file_is_checked_then_imported(db: &TestDb) {
    let app = staff_app(db).await;
    add_staff(&app.store, "ola").await;
    app.store
        .add_contact(
            &new_contact("finnes@example.no", ContactStatus::Confirmed),
            &cli(),
        )
        .await
        .unwrap();
    let kari = StaffClient::log_in(&app.address, "kari").await;
    assert!(
        kari.get_ok("/admin/contacts/import")
            .await
            .contains("Sjekk filen")
    );
    let csv = "email;navn;organisasjon\n\
        liv@example.no;Liv Berg;Kirkens Bymisjon\n\
        ikke-en-adresse;Ola;UDI\n\
        per@example.no;Per;Politiet\n\
        LIV@example.no;Liv igjen;\n\
        finnes@example.no;Finnes;\n\
        formel@example.no;=HYPERLINK(\"https://evil.example.org\");@SUM(A1)\n\
        \"brudd@example.no;Uten slutt;\n";
    let response = upload_csv(&kari, "gammel liste.csv", csv.as_bytes(), &[]).await;
    assert_eq!(response.status(), 303);
    let job = location(&response);
    assert!(job.starts_with("/admin/contacts/import/"), "{job}");
    let page = settled(&kari, &job).await;
    assert!(
        page.contains("Filen er sjekket. Ingenting er lagret ennå."),
        "{page}"
    );
    assert_eq!(
        contacts_on_list(&app).await,
        1,
        "nothing written by the check"
    );
    // Every problem with its line and reason, in bokmål.
    assert!(
        page.contains(
            "<td>3</td><td><bdi>ikke-en-adresse</bdi></td><td>Ikke importert: e-postadressen mangler @</td>"
        ),
        "{page}"
    );
    assert!(
        page.contains("<td>5</td>") && page.contains("adressen står også på linje 2"),
        "{page}"
    );
    assert!(page.contains("anførselstegn"), "the unclosed quote: {page}");
    assert!(
        page.contains("Importer 3 kontakter"),
        "liv, per and the formula row: {page}"
    );
    // Only the one who uploaded it sees it.
    let ola = StaffClient::log_in(&app.address, "ola").await;
    assert_eq!(ola.get(&job).await.status(), 404);
    assert_eq!(ola.post(&format!("{job}/confirm"), &[]).await.status(), 404);

    let response = kari.post(&format!("{job}/confirm"), &[]).await;
    assert_eq!(response.status(), 303);
    let again = kari.post(&format!("{job}/confirm"), &[]).await;
    assert_eq!(again.status(), 303, "a second click changes nothing");
    let page = settled(&kari, &job).await;
    assert!(page.contains("Importen er ferdig."), "{page}");
    assert_eq!(contacts_on_list(&app).await, 4);
    let liv = app
        .store
        .contact(&email("liv@example.no"))
        .await
        .unwrap()
        .unwrap();
    let record = app.store.contact_record(liv.id, 10).await.unwrap().unwrap();
    assert_eq!(
        record.evidence.reference.as_deref(),
        Some("gammel liste.csv, linje 2")
    );
    assert_eq!(record.evidence.recorded_by.as_deref(), Some("web:kari"));
    let imports = app
        .store
        .audit_log(50)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "contacts.import")
        .count();
    assert_eq!(imports, 1, "imported once");
    // A formula is kept as text, and never leaves as a formula.
    let export = kari
        .post("/admin/contacts/export.csv", &[("q", "formel")])
        .await
        .text()
        .await
        .unwrap();
    assert!(export.contains("'=HYPERLINK"), "{export}");
}

async fn hostile_csv_files_are_refused_in_words_and_write_nothing(db: &TestDb) {
    let app = staff_app(db).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    // Not CSV at all (a PNG): the file's problem in words.
    let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01";
    let response = upload_csv(&kari, "bilde.png", png, &[]).await;
    let page = settled(&kari, &location(&response)).await;
    assert!(
        page.contains("ikke UTF-8") || page.contains("ingen kolonne med e-postadresser"),
        "{page}"
    );
    // A spreadsheet saved as CSV but with no address column.
    let response = upload_csv(&kari, "liste.csv", b"navn,telefon\nKari,12345678\n", &[]).await;
    let page = settled(&kari, &location(&response)).await;
    assert!(page.contains("ingen kolonne med e-postadresser"), "{page}");
    // Not UTF-8 (saved by an older Excel): each such row says so, and the choice works.
    let latin1 = b"email,name\nase@example.no,\xc5se \xd8deg\xe5rd\n";
    let response = upload_csv(&kari, "excel.csv", latin1, &[]).await;
    let page = settled(&kari, &location(&response)).await;
    assert!(page.contains("ikke UTF-8-tekst"), "{page}");
    let response = upload_csv(&kari, "excel.csv", latin1, &[("latin1", "ja")]).await;
    let job = location(&response);
    let page = settled(&kari, &job).await;
    // One contact is «kontakt», not «kontakter».
    assert!(page.contains("Importer 1 kontakt<"), "{page}");
    // An empty file, and one over the limit.
    let response = upload_csv(&kari, "tom.csv", b"", &[]).await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("Filen er tom"));
    let big = vec![b'a'; 40 * 1024 * 1024];
    let response = upload_csv(&kari, "stor.csv", &big, &[]).await;
    assert_eq!(response.status(), 413);
    assert!(response.text().await.unwrap().contains("for stor"));
    // 200 MB: refused (the connection may be cut once the service has read enough).
    let huge = vec![b'a'; 200 * 1024 * 1024];
    let (content_type, body) = multipart(&[
        ("csrf", None, kari.csrf.as_bytes()),
        ("file", Some("enorm.csv"), &huge),
    ]);
    let sent = kari
        .http
        .post(format!("{}/admin/contacts/import", kari.base))
        .header("cookie", format!("nyhetsbrev_stab={}", kari.cookie))
        .header("origin", &kari.base)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await;
    if let Ok(response) = sent {
        assert_eq!(response.status(), 413);
    }
    assert_eq!(contacts_on_list(&app).await, 0, "nothing was written");
    // Confirming someone else's token, or a made-up one.
    assert_eq!(
        kari.post("/admin/contacts/import/abc/confirm", &[])
            .await
            .status(),
        404
    );
    assert_eq!(kari.get("/admin/contacts/import/abc").await.status(), 404);
    // Cancelling the checked latin1 file: nothing is imported.
    assert_eq!(kari.post(&format!("{job}/cancel"), &[]).await.status(), 303);
    assert!(kari.get_ok(&job).await.contains("avbrutt"));
    assert_eq!(
        kari.post(&format!("{job}/confirm"), &[]).await.status(),
        303
    );
    assert_eq!(contacts_on_list(&app).await, 0);
}

/// Issue 18 in the staff admin: the publications page (list, add, change, with the
/// refusals at their fields), the dashboard's counts per publication, the contact
/// page's subscriptions with their consent, and the contacts list filtered by
/// publication.
async fn staff_see_and_manage_publications_and_who_gets_them(db: &TestDb) {
    let app = staff_app(db).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let mut only_court = new_contact("dommer@example.org", ContactStatus::Confirmed);
    only_court.publications =
        nyhetsbrev::domain::PublicationChoice::parse_list("rettsavgjorelser").unwrap();
    app.store.add_contact(&only_court, &cli()).await.unwrap();
    common::add_confirmed(&app.store, 0..2).await;

    let list = kari.get_ok("/admin/publications").await;
    for (slug, count) in [
        ("nyhetsbrev", "2"),
        ("rettsavgjorelser", "3"),
        ("tilstandsrapport", "2"),
    ] {
        assert!(
            list.contains(&format!(
                "<a href=\"/admin/contacts?status=confirmed&amp;publikasjon={slug}\">{count}</a>"
            )),
            "{slug}: {list}"
        );
    }
    let dashboard = kari.get_ok("/admin").await;
    assert!(dashboard.contains(
        "<a href=\"/admin/publications/rettsavgjorelser\">Oversikt over rettsavgjørelser</a>"
    ));

    // Refused, each at its field, nothing written.
    for (fields, says) in [
        (
            [
                ("slug", "../x"),
                ("name", "X"),
                ("description", "D"),
                ("kind", "announcement"),
            ],
            "Kortnavnet «../x» må være",
        ),
        (
            [
                ("slug", "nyhetsbrev"),
                ("name", "X"),
                ("description", "D"),
                ("kind", "newsletter"),
            ],
            "finnes allerede en publikasjon",
        ),
        (
            [
                ("slug", "arsrapport"),
                ("name", " "),
                ("description", "D"),
                ("kind", "newsletter"),
            ],
            "Navnet mangler",
        ),
        (
            [
                ("slug", "arsrapport"),
                ("name", "X"),
                ("description", "D"),
                ("kind", "ukentlig"),
            ],
            "Typen «ukentlig» finnes ikke",
        ),
    ] {
        let response = kari.post("/admin/publications", &fields).await;
        assert_eq!(response.status(), 422, "{fields:?}");
        let page = response.text().await.unwrap();
        assert!(page.contains(says), "{says}: {page}");
        assert!(page.contains("class=\"field-error\" id="), "at its field");
    }
    assert_eq!(app.store.publications().await.unwrap().len(), 3);

    let response = kari
        .post(
            "/admin/publications",
            &[
                ("slug", "arsrapport"),
                ("name", "KOMs årsrapport"),
                ("description", "Én gang i året: hva KOM har gjort."),
                ("kind", "announcement"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/admin/publications?melding=lagt-til");
    let list = kari.get_ok("/admin/publications?melding=lagt-til").await;
    assert!(list.contains("Ingen får den før de selv velger den."));
    assert!(list.contains("<a href=\"/admin/publications/arsrapport\">KOMs årsrapport</a>"));

    let edit = kari.get_ok("/admin/publications/arsrapport").await;
    assert!(edit.contains("value=\"announcement\" checked"));
    let response = kari
        .post(
            "/admin/publications/arsrapport",
            &[
                ("name", "KOMs årsmelding"),
                ("description", "Én gang i året."),
                ("kind", "announcement"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let changed = app
        .store
        .existing_publication(&nyhetsbrev::domain::PublicationSlug::parse("arsrapport").unwrap())
        .await
        .unwrap();
    assert_eq!(changed.name.as_str(), "KOMs årsmelding");
    assert_eq!(
        kari.get("/admin/publications/finnes-ikke").await.status(),
        404
    );
    // Without the session's token, nothing is added.
    let forged = http()
        .post(format!("{}/admin/publications", app.address))
        .form(&[
            ("slug", "falsk"),
            ("name", "X"),
            ("description", "D"),
            ("kind", "newsletter"),
        ])
        .send()
        .await
        .unwrap();
    assert!(forged.status().is_client_error() || forged.status().is_redirection());
    assert_eq!(app.store.publications().await.unwrap().len(), 4);

    // The contact's page: what they get, with the consent for each.
    let id = id_of(&app, "dommer@example.org").await;
    let page = kari.get_ok(&format!("/admin/contacts/{id}")).await;
    let section = &page[page
        .find("id=\"publikasjoner\"")
        .expect("a section of publications")..];
    assert!(
        section.contains(
            "<td>Oversikt over rettsavgjørelser</td>\n<td data-label=\"Får den\">Ja</td>"
        ),
        "{section}"
    );
    assert!(!section[..section.find("</table>").unwrap()].contains("Nyhetsbrev fra KOM"));

    // Staff add someone who asked for the court decisions only: the add form has the
    // publications as checkboxes, all ticked; nothing ticked is refused at its place.
    let form = kari.get_ok("/admin/contacts/new").await;
    assert!(form.contains("name=\"publikasjon\" value=\"tilstandsrapport\" checked"));
    let asked = |ticked: &'static [&'static str]| {
        let mut fields = vec![
            ("email", "bare-dommer@example.org"),
            ("source", "email-request"),
            ("asked_on", "2025-03-12"),
            (
                "note",
                "e-post 12.03.2025: vil ha oversikten over rettsavgjørelser",
            ),
            ("valg", "1"),
        ];
        fields.extend(ticked.iter().map(|slug| ("publikasjon", *slug)));
        fields
    };
    let refused = kari.post("/admin/contacts/new", &asked(&[])).await;
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Kryss av for minst én publikasjon")
    );
    let added = kari
        .post("/admin/contacts/new", &asked(&["rettsavgjorelser"]))
        .await;
    assert_eq!(added.status(), 303);
    let added_id = id_of(&app, "bare-dommer@example.org").await;
    let gets: Vec<String> = app
        .store
        .subscriptions(added_id)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.publication.to_string())
        .collect();
    assert_eq!(gets, ["rettsavgjorelser"]);

    // The list by publication.
    let newsletter = kari.get_ok("/admin/contacts?publikasjon=nyhetsbrev").await;
    assert!(!newsletter.contains("dommer@example.org"));
    assert!(newsletter.contains("kontakt00000@example.org"));
    let court = kari
        .get_ok("/admin/contacts?publikasjon=rettsavgjorelser&q=dommer")
        .await;
    assert!(court.contains("dommer@example.org"));
    assert!(court.contains("<option value=\"rettsavgjorelser\" selected>"));
}

/// The attack: the whole list leaves without trace. A GET (a link, an image, a
/// prefetch) exports nothing; a POST without the token is refused; every export is in
/// the log with who, the filter and the rows, and on the dashboard.
async fn every_export_of_the_list_is_a_post_in_the_log_and_on_the_dashboard(db: &TestDb) {
    let app = staff_app(db).await;
    for address in [
        "per@politiet.example.no",
        "liv@example.no",
        "ola@example.no",
    ] {
        app.store
            .add_contact(&new_contact(address, ContactStatus::Confirmed), &cli())
            .await
            .unwrap();
    }
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let dashboard = kari.get_ok("/admin").await;
    assert!(dashboard.contains("Siste eksporter"));
    assert!(dashboard.contains("Ingen har lastet ned kontaktlisten"));
    // The list's button carries the filter and the token.
    let list = kari
        .get_ok("/admin/contacts?q=politiet&status=confirmed")
        .await;
    assert!(list.contains("<form method=\"post\" action=\"/admin/contacts/export.csv\">"));
    assert!(list.contains("name=\"q\" value=\"politiet\""), "{list}");
    assert!(list.contains("name=\"status\" value=\"confirmed\""));
    assert!(
        !list.contains("href=\"/admin/contacts/export.csv"),
        "no export link"
    );

    // A GET hands out nothing: back to the list with the filter.
    let by_get = kari.get("/admin/contacts/export.csv?q=politiet").await;
    assert_eq!(by_get.status(), 303);
    assert_eq!(location(&by_get), "/admin/contacts?q=politiet");
    assert!(!by_get.text().await.unwrap().contains("@"), "no address");
    let exports = |app: &TestApp| {
        let store = app.store.clone();
        async move {
            store
                .audit_log(100)
                .await
                .unwrap()
                .into_iter()
                .filter(|e| e.action == "contacts.export")
                .collect::<Vec<_>>()
        }
    };
    assert!(exports(&app).await.is_empty(), "a GET is no export");

    // The export with the filter: in the log with who, the filter and the rows written.
    let csv = kari
        .post(
            "/admin/contacts/export.csv",
            &[("q", "politiet"), ("status", "confirmed")],
        )
        .await;
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    let all = kari.post("/admin/contacts/export.csv", &[]).await;
    assert_eq!(all.text().await.unwrap().lines().count(), 4);
    let logged = exports(&app).await;
    assert_eq!(logged.len(), 2, "{logged:?}");
    assert!(logged.iter().all(|e| e.actor == "web:kari"));
    assert_eq!(
        logged[1].detail.as_deref(),
        Some("1 kontakt; utvalg: status bekreftet, et søk")
    );
    assert_eq!(
        logged[0].detail.as_deref(),
        Some("3 kontakter; utvalg: hele listen")
    );
    // The log reads it in words.
    let audit = kari.get_ok("/admin/audit?handling=contacts.export").await;
    assert!(audit.contains("kontaktlisten eksportert"), "{audit}");

    // The dashboard: newest first, when, who, rows, filter.
    let dashboard = kari.get_ok("/admin").await;
    let recent = &dashboard[dashboard.find("Siste eksporter").unwrap()..];
    let whole = recent.find("hele listen").expect("the second export");
    let filtered = recent
        .find("status bekreftet, et søk")
        .expect("the first export");
    assert!(whole < filtered, "newest first: {recent}");
    assert!(
        recent.contains(
            "<td data-label=\"Hvem\"><bdi>kari</bdi></td><td data-label=\"Kontakter\">3</td>"
        ),
        "{recent}"
    );

    // The command line: the same entry, as `cli:<user>`.
    let out = db.dir().join("eksport.csv");
    let status = common::nyhetsbrev(db)
        .args(["contacts", "export", "--status", "confirmed", "-o"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 4);
    let logged = exports(&app).await;
    assert_eq!(logged.len(), 3);
    assert!(
        logged[0].actor.as_str().starts_with("cli:"),
        "{:?}",
        logged[0]
    );
    assert_eq!(
        logged[0].detail.as_deref(),
        Some("3 kontakter; utvalg: status bekreftet")
    );
}

/// Waits until the job is no longer working; its state then.
async fn job_settled(
    jobs: &nyhetsbrev::ops::imports::ImportJobs,
    token: &str,
) -> nyhetsbrev::ops::imports::JobState {
    use nyhetsbrev::ops::imports::JobState;
    common::eventually(
        "the import job finishes",
        std::time::Duration::from_secs(10),
        async || {
            let state = jobs.get("kari", token).expect("the job").state;
            match state {
                JobState::Checking { .. } | JobState::Importing { .. } => Err(state),
                state => Ok(state),
            }
        },
    )
    .await
}

fn mode_of(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

/// The attacks on an upload by another local user: read the list from a predictable,
/// world-readable folder (or one they made in advance), or swap the file between the
/// check staff saw and the import. The folder is new, random and 0700, the file 0600
/// (with umask 022), and a swapped file is refused with nothing imported.
async fn an_upload_is_kept_private_and_imported_only_as_checked(db: &TestDb) {
    use nyhetsbrev::ops::imports::{FILE_CHANGED, ImportChoice, ImportJobs, JobState};
    let _umask = common::umask::set(0o022).await;
    let parent = db.dir().join("tmp");
    std::fs::create_dir_all(&parent).unwrap();
    // Made in advance by someone else at the old, predictable name: never used.
    let planted = parent.join(format!("nyhetsbrev-imports-{}", std::process::id()));
    std::fs::create_dir_all(&planted).unwrap();
    let store = db.store().await;
    let jobs = ImportJobs::new(
        nyhetsbrev::ops::Contacts::new(store.clone()),
        parent.clone(),
    );
    let checked = b"email;navn\nliv@example.no;Liv\n".to_vec();
    let token = jobs
        .start(
            "kari",
            "liste.csv",
            checked,
            ImportChoice {
                latin1: false,
                update: false,
            },
        )
        .unwrap();
    let folder = jobs.upload_folder().expect("the upload folder");
    assert_ne!(folder, planted, "a folder that was there is never taken");
    assert!(folder.starts_with(&parent));
    assert_eq!(mode_of(&folder), 0o700, "the folder is ours alone");
    let file = folder.join(format!("import-{}.csv", &token[..16]));
    assert_eq!(mode_of(&file), 0o600, "the file is ours alone");
    assert!(std::fs::read_dir(&planted).unwrap().next().is_none());
    assert!(matches!(
        job_settled(&jobs, &token).await,
        JobState::Checked(_)
    ));

    // The swap: another list in the checked file's place.
    std::fs::remove_file(&file).unwrap();
    std::fs::write(&file, b"email;navn\nangriper@example.org;Falsk\n").unwrap();
    assert!(jobs.confirm("kari", &token));
    match job_settled(&jobs, &token).await {
        JobState::Failed(words) => assert_eq!(words, FILE_CHANGED),
        other => panic!("a swapped file is refused: {other:?}"),
    }
    assert!(
        store
            .contact(&email("angriper@example.org"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .contact(&email("liv@example.no"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(!file.exists(), "the refused file is removed");
    let imports = store.audit_log(50).await.unwrap();
    assert!(imports.iter().all(|e| e.action != "contacts.import"));

    // Untouched, the checked bytes are imported.
    let token = jobs
        .start(
            "kari",
            "liste.csv",
            b"email;navn\nliv@example.no;Liv\n".to_vec(),
            ImportChoice {
                latin1: false,
                update: false,
            },
        )
        .unwrap();
    assert!(matches!(
        job_settled(&jobs, &token).await,
        JobState::Checked(_)
    ));
    assert!(jobs.confirm("kari", &token));
    assert!(matches!(
        job_settled(&jobs, &token).await,
        JobState::Imported(_)
    ));
    assert!(
        store
            .contact(&email("liv@example.no"))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        std::fs::read_dir(&folder).unwrap().next().is_none(),
        "nothing left"
    );
}

/// Uploads nobody confirms, cancelled ones, and the folders of a process that died are
/// not left lying about.
async fn abandoned_uploads_and_leftover_folders_are_removed(db: &TestDb) {
    use nyhetsbrev::ops::imports::{ImportChoice, ImportJobs, JobState};
    let parent = db.dir().join("tmp");
    std::fs::create_dir_all(&parent).unwrap();
    // A process that is gone (no such pid) left a list behind; a running one has its own.
    let dead = parent.join("nyhetsbrev-imports-4294967-gammel");
    std::fs::create_dir_all(&dead).unwrap();
    std::fs::write(dead.join("import-x.csv"), b"email\nliv@example.no\n").unwrap();
    let old_style = parent.join("nyhetsbrev-imports-4294966");
    std::fs::create_dir_all(&old_style).unwrap();
    let live = parent.join(format!("nyhetsbrev-imports-{}-annen", std::process::id()));
    std::fs::create_dir_all(&live).unwrap();
    let store = db.store().await;
    let jobs = ImportJobs::new(
        nyhetsbrev::ops::Contacts::new(store.clone()),
        parent.clone(),
    );
    assert!(
        !dead.exists() && !old_style.exists(),
        "leftovers removed at start"
    );
    assert!(live.exists(), "a running process's folder is left alone");

    let choice = ImportChoice {
        latin1: false,
        update: false,
    };
    let abandoned = jobs
        .start("kari", "a.csv", b"email\nliv@example.no\n".to_vec(), choice)
        .unwrap();
    let cancelled = jobs
        .start("kari", "b.csv", b"email\nper@example.no\n".to_vec(), choice)
        .unwrap();
    let folder = jobs.upload_folder().unwrap();
    let file_of = |token: &str| folder.join(format!("import-{}.csv", &token[..16]));
    assert!(matches!(
        job_settled(&jobs, &abandoned).await,
        JobState::Checked(_)
    ));
    assert!(matches!(
        job_settled(&jobs, &cancelled).await,
        JobState::Checked(_)
    ));
    assert!(jobs.cancel("kari", &cancelled));
    assert!(
        !file_of(&cancelled).exists(),
        "a cancelled upload is removed"
    );
    assert!(file_of(&abandoned).exists());
    // Younger than an hour: kept.
    assert_eq!(
        jobs.forget_older_than(nyhetsbrev::ops::imports::JOB_LIFETIME),
        0
    );
    assert!(file_of(&abandoned).exists());
    // Past its age: forgotten, and its file gone.
    assert_eq!(jobs.forget_older_than(std::time::Duration::ZERO), 2);
    assert!(
        !file_of(&abandoned).exists(),
        "an abandoned upload is removed"
    );
    assert!(jobs.get("kari", &abandoned).is_none());
    assert!(!jobs.confirm("kari", &abandoned), "nothing left to import");
    assert_eq!(
        store
            .contact_counts()
            .await
            .unwrap()
            .iter()
            .map(|(_, n)| n)
            .sum::<i64>(),
        0
    );
    // The folder goes with the last handle on the jobs (a finished check's task may
    // hold one for a moment longer).
    drop(jobs);
    common::eventually(
        "the upload folder is removed",
        std::time::Duration::from_secs(2),
        async || common::ok_if(!folder.exists(), folder.display().to_string()),
    )
    .await;
}

/// Staff taking a contact off the list on its page (unsubscribed, bounced, or erased)
/// skip its queued deliveries of an issue being sent in that same change, before any
/// worker claims them. Unsubscribed by staff is leaving as the person's own link does:
/// every publication left; a bounced contact keeps them.
async fn staff_taking_a_contact_off_skips_its_queued_deliveries_at_once(db: &TestDb) {
    let app = staff_app(db).await;
    let mut id = std::collections::BTreeMap::new();
    for address in [
        "blir@example.no",
        "av@example.no",
        "avvist@example.no",
        "slett@example.no",
    ] {
        let contact = app
            .store
            .add_contact(&new_contact(address, ContactStatus::Confirmed), &cli())
            .await
            .unwrap();
        id.insert(address, contact.id);
    }
    let issue = common::queue::sending_newsletter(&app.store, "2024-q1").await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    for (address, status) in [
        ("av@example.no", "unsubscribed"),
        ("avvist@example.no", "bounced"),
    ] {
        let response = kari
            .post(
                &format!("/admin/contacts/{}/edit", id[address]),
                &[("email", address), ("status", status)],
            )
            .await;
        assert_eq!(response.status(), 303, "{address}");
    }
    let response = kari
        .post(
            &format!("/admin/contacts/{}/remove", id["slett@example.no"]),
            &[("confirm", "ja")],
        )
        .await;
    assert_eq!(response.status(), 303);

    let off = [id["av@example.no"], id["avvist@example.no"]];
    common::queue::assert_skipped_at_once(db, issue, &off).await;
    assert_eq!(
        common::queue::delivery_status(db, issue, id["slett@example.no"]).await,
        None
    );
    assert_eq!(
        common::queue::claim_all(&app.store, issue).await,
        [id["blir@example.no"]].into()
    );
    assert!(
        common::subscribed_to(&app.store, id["av@example.no"])
            .await
            .is_empty()
    );
    assert_eq!(
        common::subscribed_to(&app.store, id["avvist@example.no"])
            .await
            .len(),
        3
    );
}

/// Issue 30's consent rules, kept by the operation for every front end (tests/cli.rs
/// runs them on the command line): staff record a request by e-mail or another way,
/// never a web sign-up or an import; on a day that has come; with a note. An import
/// refuses a row dated ahead and carries an old list's sources over.
async fn consent_is_recorded_by_the_rules_the_command_line_keeps(db: &TestDb) {
    let app = staff_app(db).await;
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let form = kari.get_ok("/admin/contacts/new").await;
    assert!(
        form.contains("name=\"source\" value=\"email-request\"")
            && form.contains("name=\"source\" value=\"staff\""),
        "{form}"
    );
    assert!(
        !form.contains("value=\"web\"") && !form.contains("value=\"import\""),
        "{form}"
    );
    for source in ["web", "import"] {
        let response = kari
            .post(
                "/admin/contacts/new",
                &[
                    ("email", "kilde@example.no"),
                    ("source", source),
                    ("asked_on", "2025-03-12"),
                    ("note", "telefon"),
                ],
            )
            .await;
        assert_eq!(response.status(), 422, "{source}");
        let page = response.text().await.unwrap();
        assert!(
            page.contains("id=\"source-error\">Velg hvordan personen ba om det: på e-post"),
            "{source}: {page}"
        );
    }
    // Each refusal at its field, all at once.
    let ahead = (time::OffsetDateTime::now_utc() + time::Duration::days(2)).date();
    let response = kari
        .post(
            "/admin/contacts/new",
            &[
                ("email", "fram@example.no"),
                ("source", "staff"),
                ("asked_on", &ahead.to_string()),
                ("note", " "),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(
        page.contains(
            "id=\"asked_on-error\">Datoen personen ba om å stå på listen, kan ikke være fram i tid."
        ),
        "{page}"
    );
    assert!(
        page.contains("id=\"note-error\">Skriv hvordan personen ba om det"),
        "{page}"
    );
    assert_eq!(contacts_on_list(&app).await, 0, "nothing stored");

    let csv = "email;consent_date;consent_source\n\
        fram@example.no;2999-01-01;staff\n\
        gammel@example.no;2024-01-10;web\n";
    let response = upload_csv(&kari, "gammel.csv", csv.as_bytes(), &[]).await;
    let job = location(&response);
    let page = settled(&kari, &job).await;
    assert!(
        page.contains("<td>2</td><td><bdi>fram@example.no</bdi></td><td>Ikke importert: samtykkedato: Datoen personen ba om å stå på listen, kan ikke være fram i tid.</td>"),
        "{page}"
    );
    assert!(page.contains("Importer 1 kontakt<"), "{page}");
    kari.post(&format!("{job}/confirm"), &[]).await;
    assert!(settled(&kari, &job).await.contains("Importen er ferdig."));
    let old = app
        .store
        .contact(&email("gammel@example.no"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.consent.source.as_str(), "web", "carried over");
    assert_eq!(
        old.consent.note.unwrap().as_str(),
        "importert fra gammel.csv"
    );
    assert_eq!(contacts_on_list(&app).await, 1);
}
