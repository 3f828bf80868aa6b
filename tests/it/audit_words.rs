//! Staff read the audit log and a contact's history in bokmål: every action, every kind
//! of actor and every stored form of a detail (this version's and the free text older
//! versions wrote) reach the page as words, never as the stored codes. Counts on staff
//! pages take the right form of their noun. On SQLite and PostgreSQL.

use crate::common;

use common::staff::{StaffClient, staff_app};
use common::{TestDb, email, new_contact};
use nyhetsbrev::domain::{AuditAction, AuditDetail, ContactStatus, InboundKind, Timestamp};
use nyhetsbrev::store::{Actor, NewInbound};

on_both_backends!(
    every_action_and_actor_reads_in_words_on_the_log_page,
    a_contacts_history_and_consent_read_in_words,
    counts_on_staff_pages_take_the_right_form,
);

/// Every kind of stored actor: staff on the web and the command line, a user the
/// command line could not name, the bare `unknown` of early versions, a failed sign-in,
/// the recipient's own doors (and the names without `web:` that early versions wrote),
/// their mail, the delivery reports, the service's own tasks and an API token.
const ACTORS: &[&str] = &[
    "web:kari",
    "cli:ola",
    "cli:unknown",
    "unknown",
    "client:127.0.0.1",
    "web:confirm",
    "web:unsubscribe",
    "web:preferences",
    "web:subscribe",
    "confirm",
    "subscribe",
    "unsubscribe",
    "preferences",
    "inbound:subscribe",
    "inbound:unsubscribe",
    "inbound:bounce",
    "worker",
    "worker:plan",
    "serve:backup",
    "serve:retention",
    "service:upgrade",
    "api:Postmottak",
];

/// A detail of `action` as a database may hold it: the forms older versions wrote as
/// free text (kept as they were), and this version's.
fn stored_detail(action: AuditAction) -> Option<String> {
    use AuditAction as A;
    let at = Timestamp::parse_date("2026-12-02T09:30:00Z").unwrap();
    let detail = match action {
        A::ContactAdd => "status=confirmed source=email-request".to_owned(),
        A::ContactEdit => "fields=name,organisation,status status=unsubscribed->confirmed".to_owned(),
        A::ContactResetBounce => "status=bounced->confirmed note=ringte og sa at den virker".to_owned(),
        A::ContactExport => "format=json".to_owned(),
        A::ContactUnsubscribe => "left the last publication".to_owned(),
        A::ContactLeavePublication => "rettsavgjorelser".to_owned(),
        A::ContactPublications => "joined: nyhetsbrev; left: rettsavgjorelser".to_owned(),
        A::ContactBounced => "3 hard bounces".to_owned(),
        A::ContactDuplicateAddress => "contact #3 (Kari@example.org) is the same mailbox as contact #5 (kari@example.org): not merged; remove one of them".to_owned(),
        A::ContactsImport => "file=kontakter.csv rows=3 inserted=2 updated=0 rejected=1".to_owned(),
        A::ContactsExport => "3 kontakter; utvalg: hele listen".to_owned(),
        A::IssueImportDocx => r#"[{"kind":"image","place":"avsnitt 2"}]"#.to_owned(),
        A::IssueTestSend => "prove@example.org".to_owned(),
        A::IssueSend => "queued 496, resumed 0".to_owned(),
        A::IssuePlanSend => format!("at {}", at.to_rfc3339()),
        A::IssuePlanMissed => AuditDetail::PlanMissed(at).to_string(),
        A::IssueCancel => "cancelled 12".to_owned(),
        A::IssueRetryFailed => "queued 1".to_owned(),
        A::IssueExportLedger => "2 leveringer".to_owned(),
        A::PublicationAdd => "kind=newsletter".to_owned(),
        A::PublicationEdit => "name, description".to_owned(),
        A::SettingsEdit => "from_name, reply_address".to_owned(),
        A::StaffAdd => "administrator".to_owned(),
        A::StaffLogin => "password; second factor due".to_owned(),
        A::StaffLoginFailed => "unknown account".to_owned(),
        A::InboundAnswer => "subscribe".to_owned(),
        A::InboundHandled => "sender added as contact".to_owned(),
        A::ApiTokenAdd => "scope: inbound".to_owned(),
        A::BackupMade => {
            r#"{"path":"/srv/kopi/nyhetsbrev-1.db","bytes":2500000,"rows":{"contacts":496,"issues":3}}"#.to_owned()
        }
        A::DatabaseRestored => {
            r#"{"from":"/srv/kopi/nyhetsbrev-1.db","replaced":"/srv/data/gammel.db","rows":{"contacts":496}}"#.to_owned()
        }
        A::RetentionRun => r#"{"inbound_emptied":4,"unconfirmed_removed":1,"inbound_retention_days":90,"pending_retention_days":30}"#.to_owned(),
        _ => return None,
    };
    Some(detail)
}

fn subject_of(action: AuditAction) -> &'static str {
    let code = action.as_str();
    if code.starts_with("issue.") {
        "2026-q4"
    } else if code.starts_with("publication.") {
        "nyhetsbrev"
    } else if code.starts_with("staff.") {
        "ola"
    } else if code.starts_with("inbound.") {
        "inbound #7"
    } else if code.starts_with("contact.") {
        "per@example.org"
    } else {
        ""
    }
}

/// The part of a page between `from` and the end of its table: the rows, without the
/// filter form (whose options carry the action codes as values).
fn table_after<'a>(page: &'a str, from: &str) -> &'a str {
    let start = page
        .find(from)
        .unwrap_or_else(|| panic!("{from} in {page}"));
    let rest = &page[start..];
    let end = rest.find("</tbody>").unwrap_or(rest.len());
    &rest[..end]
}

/// Nothing stored reaches the page as stored: no action code, no actor name, no JSON
/// or `key=value`.
fn assert_no_code_words(rows: &str) {
    for action in AuditAction::ALL {
        assert!(!rows.contains(action.as_str()), "{action} in {rows}");
    }
    for code in [
        "web:",
        "cli:",
        "api:",
        "client:",
        "inbound:",
        "serve:",
        "service:",
        "worker",
        "unknown",
        "confirm",
        "subscribe",
        "preferences",
        "{",
        "}",
        "[",
        "]",
        "->",
        "hard bounces",
        "queued",
        "inbound #",
        "(er)",
    ] {
        assert!(!rows.contains(code), "«{code}» in {rows}");
    }
    // Attributes (`class="…"`) are markup: in the text, no `key=value` at all.
    let text = without(rows, '<', '>');
    assert!(!text.contains('='), "key=value in {text}");
}

/// `text` without the spans from `open` to `close`.
fn without(text: &str, open: char, close: char) -> String {
    let mut kept = String::new();
    let mut inside = false;
    for c in text.chars() {
        match c {
            c if c == open => inside = true,
            c if c == close && inside => inside = false,
            c if !inside => kept.push(c),
            _ => {}
        }
    }
    kept
}

async fn every_action_and_actor_reads_in_words_on_the_log_page(db: &TestDb) {
    let app = staff_app(db).await;
    // Every action once, by every kind of actor in turn (each more than once).
    for (i, action) in AuditAction::ALL.iter().enumerate() {
        let actor = Actor::parse(ACTORS[i % ACTORS.len()]);
        app.store
            .log_action(&actor, *action, subject_of(*action), stored_detail(*action))
            .await
            .unwrap();
    }
    // A wrong code on the page that makes the first account.
    app.store
        .log_action(
            &Actor::parse("client:127.0.0.1"),
            AuditAction::StaffLoginFailed,
            "",
            Some("wrong set-up code".to_owned()),
        )
        .await
        .unwrap();
    assert!(
        AuditAction::ALL.len() >= ACTORS.len(),
        "every actor is shown"
    );
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let page = kari.get_ok("/admin/audit").await;
    let rows = table_after(&page, "<tbody>");
    assert_no_code_words(rows);
    for words in [
        "496 mottakere satt i kø.",
        "Importerte filen «kontakter.csv»: 3 rader; 2 lagt til, 0 oppdatert, 1 ikke importert.",
        "Meldte seg på: nyhetsbrev. Meldte seg av: rettsavgjorelser.",
        "Endret: navn, organisasjon og status. Status fra «meldt av» til «bekreftet».",
        "E-post til adressen har kommet i retur for godt 3 ganger.",
        "1 e-post som ikke kom fram, satt i kø igjen.",
        "Lagret i filen /srv/kopi/nyhetsbrev-1.db (3 MB), med 496 kontakter.",
        "Regnearket har 2 leveringer.",
        "1 del i Word-dokumentet kom ikke med i utgaven.",
        "Ingen konto har det brukernavnet.",
        "Feil engangskode for den første kontoen.",
        "Endret: avsenderens navn og svaradressen.",
        "Status: bekreftet. Samtykke: forespørsel på e-post.",
        "Mottakeren selv, via skjemaet på nettsiden",
        "Mottakeren selv, via bekreftelseslenken i e-posten",
        "Mottakeren selv, via avmeldingslenken i e-posten",
        "Mottakeren selv, ved e-post til KOM",
        "Noen som ikke er logget inn, fra IP-adressen 127.0.0.1",
        "En ukjent bruker på kommandolinjen på tjeneren",
        "ola, på kommandolinjen på tjeneren",
        "Et program med API-nøkkelen «Postmottak»",
        "Tjenesten selv, ved sikkerhetskopiering",
        "utgaven «2026-q4»",
        "e-post nr. 7 til staben",
    ] {
        assert!(rows.contains(words), "«{words}» in {rows}");
    }
    // Each action reads as its own words.
    for action in AuditAction::ALL {
        assert!(rows.contains(action.norwegian()), "{action}: {rows}");
    }
}

async fn a_contacts_history_and_consent_read_in_words(db: &TestDb) {
    let app = staff_app(db).await;
    // Signed up through the form, in an early version's words for it.
    let contact = app
        .store
        .add_contact(
            &new_contact("per@example.org", ContactStatus::Confirmed),
            &Actor::parse("subscribe"),
        )
        .await
        .unwrap();
    let key = email("per@example.org").key();
    let history = [
        ("web:confirm", AuditAction::ContactConfirm, None),
        (
            "web:preferences",
            AuditAction::ContactPublications,
            Some("joined: rettsavgjorelser; left: -".to_owned()),
        ),
        (
            "inbound:bounce",
            AuditAction::ContactBounced,
            Some("1 hard bounces".to_owned()),
        ),
        (
            "cli:ola",
            AuditAction::ContactEdit,
            Some("fields=name".to_owned()),
        ),
        ("inbound:unsubscribe", AuditAction::ContactUnsubscribe, None),
    ];
    for (actor, action, detail) in history {
        app.store
            .log_action(&Actor::parse(actor), action, &key, detail)
            .await
            .unwrap();
    }
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let page = kari
        .get_ok(&format!("/admin/contacts/{}", contact.id))
        .await;
    let consent = table_after(&page, "<h2 id=\"samtykke\"");
    assert!(
        consent.contains(
            "<dt>Registrert av</dt><dd><bdi>Mottakeren selv, via skjemaet på nettsiden</bdi></dd>"
        ),
        "{consent}"
    );
    let history = table_after(&page, "<h2 id=\"logg\"");
    assert_no_code_words(history);
    for words in [
        "Mottakeren selv, via bekreftelseslenken i e-posten",
        "Mottakeren selv, via lenken i e-posten til siden «Velg hva du får»",
        "Meldte seg på: rettsavgjorelser.",
        "E-post til adressen har kommet i retur for godt 1 gang.",
        "Endret: navn.",
        "Mottakeren selv, ved e-post til KOM om å melde seg av",
        "Status: bekreftet. Samtykke: lagt inn av staben.",
    ] {
        assert!(history.contains(words), "«{words}» in {history}");
    }
}

async fn counts_on_staff_pages_take_the_right_form(db: &TestDb) {
    let app = staff_app(db).await;
    let contact = app
        .store
        .add_contact(
            &new_contact("en@example.org", ContactStatus::Confirmed),
            &Actor::parse("cli:test"),
        )
        .await
        .unwrap();
    use sha2::Digest;
    let raw = b"From: en@example.org\r\nSubject: Hei\r\n\r\nHei\r\n";
    let hash: String = sha2::Sha256::digest(raw)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    app.store
        .record_inbound(&NewInbound {
            channel: "api",
            raw,
            raw_sha256: &hash,
            from_address: Some("en@example.org"),
            subject: Some("Hei"),
            message_id: Some("<en@example.org>"),
            sent_at: None,
            kind: InboundKind::Other,
            result: "kept for staff",
            contact_id: Some(contact.id),
            delivery_id: None,
        })
        .await
        .unwrap();
    let kari = StaffClient::log_in(&app.address, "kari").await;
    let remove = kari
        .get_ok(&format!("/admin/contacts/{}/remove", contact.id))
        .await;
    assert!(
        remove.contains("samtykket, 0 utsendinger, 1 e-post fra adressen"),
        "{remove}"
    );
    // Erasing is destructive, and looks it.
    assert!(
        remove.contains("<button type=\"submit\" class=\"danger\">Slett for godt</button>"),
        "{remove}"
    );
    let dashboard = kari.get_ok("/admin").await;
    assert!(
        dashboard.contains("1 e-post til staben venter på behandling"),
        "{dashboard}"
    );
    let publication = kari.get_ok("/admin/publications/nyhetsbrev").await;
    assert!(publication.contains(">1 mottaker</a>"), "{publication}");
    // No staff page leaves the noun's form to the reader.
    for entry in std::fs::read_dir("templates/admin").unwrap() {
        let path = entry.unwrap().path();
        // What the page says, not the template's code (`Some(e)`).
        let text = without(&std::fs::read_to_string(&path).unwrap(), '{', '}');
        for bracketed in ["(er)", "(e)", "(r)", "(ar)", "(ene)"] {
            assert!(
                !text.contains(bracketed),
                "{bracketed} in {}",
                path.display()
            );
        }
    }
}
