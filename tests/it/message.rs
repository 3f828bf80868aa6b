//! The complete personal message, parsed back by an independent MIME parser.

use mail_parser::MessageParser;
use nyhetsbrev::domain::{ContactName, EmailAddress};
use nyhetsbrev::mail::{PreparedIssue, Recipient, Sender};
use nyhetsbrev::render::{RenderContext, parse_issue, render};
use time::macros::datetime;

use crate::common;
use crate::common::publications;

const FIXTURE: &str = include_str!("../../examples/2024-q1.md");

fn prepared() -> PreparedIssue {
    let issue = parse_issue("2024-q1.md", FIXTURE).unwrap().issue;
    let context = RenderContext::new("https://nyhetsbrev.example.org", "kom@example.no");
    let rendered = render(&issue, &publications::newsletter(), &context).unwrap();
    let sender = Sender {
        from_address: EmailAddress::parse("nyhetsbrev@example.no").unwrap(),
        from_name: "KOM – Koordineringsenheten mot menneskehandel".into(),
        list_id: "nyhetsbrev.example.no".into(),
        unsubscribe_mailbox: EmailAddress::parse("avmelding@example.no").unwrap(),
        organisation_name: "Koordineringsenheten mot menneskehandel".into(),
        organisation_short_name: "KOM".into(),
    };
    let key = nyhetsbrev::domain::TokenKey::parse("a-test-key-that-is-long-enough-0001").unwrap();
    PreparedIssue::prepare(
        &issue,
        &publications::newsletter(),
        &rendered,
        &sender,
        &key,
    )
    .unwrap()
}

#[test]
fn a_personal_message_parses_back_with_every_header_and_both_parts() {
    let email = EmailAddress::parse("aase@blåbær.example.no").unwrap();
    let name = ContactName::parse("Åse Ødegård, \"KOM\" <test>")
        .unwrap()
        .unwrap();
    let unsubscribe = "https://nyhetsbrev.example.org/avmeld/AbC=123_xyz";
    let recipient = Recipient {
        email: &email,
        name: Some(&name),
        contact_id: Some(common::contact_number(4711)),
        unsubscribe_url: unsubscribe,
        preferences_url: "https://nyhetsbrev.example.org/innstillinger/AbC=123_xyz",
        return_path: Some("bounces+d9@example.no"),
    };
    let bytes = prepared()
        .message(&recipient, datetime!(2024-04-15 09:30 UTC))
        .unwrap();

    let raw = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        raw.is_ascii(),
        "7-bit clean: headers encoded, bodies quoted-printable"
    );
    assert!(
        !raw.replace("\r\n", "").contains('\n'),
        "only CRLF line ends"
    );
    assert!(
        raw.split("\r\n").all(|line| line.len() <= 998),
        "no line over SMTP's limit"
    );

    let message = MessageParser::default().parse(&bytes).expect("parses");
    assert_eq!(
        message.subject(),
        Some("Nyhetsbrev fra KOM, januar–mars 2024")
    );
    let to = message.to().unwrap().first().unwrap();
    assert_eq!(to.name(), Some("Åse Ødegård, \"KOM\" <test>"));
    assert_eq!(to.address(), Some("aase@xn--blbr-roah.example.no"));
    let from = message.from().unwrap().first().unwrap();
    assert_eq!(
        from.name(),
        Some("KOM – Koordineringsenheten mot menneskehandel")
    );
    // The Message-ID names the issue, and its first part is signed: no contact id or
    // other guessable value in it.
    let message_id = message.message_id().unwrap();
    let (tag, rest) = message_id.split_once('.').unwrap();
    assert_eq!(rest, "2024-q1@example.no");
    assert_eq!(tag.len(), 24, "{message_id}");
    assert!(tag.bytes().all(|b| b.is_ascii_hexdigit()), "{message_id}");
    assert!(!message_id.contains("4711"), "{message_id}");
    assert_eq!(
        prepared().message_id(common::contact_number(4711)),
        message_id
    );
    assert_eq!(message.date().unwrap().to_rfc3339(), "2024-04-15T09:30:00Z");
    let header = |name: &str| {
        message
            .header_raw(name)
            .map(str::trim)
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        header("List-Id"),
        "Nyhetsbrev fra KOM <nyhetsbrev.nyhetsbrev.example.no>"
    );
    assert_eq!(
        header("List-Unsubscribe"),
        format!("<{unsubscribe}>, <mailto:avmelding@example.no?subject=unsubscribe>")
    );
    assert_eq!(
        header("List-Unsubscribe-Post"),
        "List-Unsubscribe=One-Click"
    );
    assert_eq!(header("Precedence"), "bulk");
    assert_eq!(header("Return-Path"), "<bounces+d9@example.no>");

    // Decoded parts keep the wire's CRLF line ends.
    let text = message.body_text(0).unwrap().replace("\r\n", "\n");
    let html = message.body_html(0).unwrap();
    assert!(
        text.contains(
            "Du får denne e-posten fordi aase@blåbær.example.no står på KOMs\nkontaktliste."
        ),
        "address in text"
    );
    assert!(
        text.contains(&format!("Meld deg av:\n{unsubscribe}")),
        "unsubscribe link in text"
    );
    assert!(
        text.contains("Velg hva du får:\nhttps://nyhetsbrev.example.org/innstillinger/AbC=123_xyz"),
        "preferences link in text"
    );
    assert!(text.contains("Østersjørådet") && html.contains("Østersjørådet"));
    assert!(
        html.contains(&format!("href=\"{unsubscribe}\"")),
        "unsubscribe link in HTML"
    );
    assert!(html.contains("<html lang=\"nb\""));
    assert!(!text.contains('\u{E000}') && !html.contains('\u{E000}'));
}

#[test]
fn each_recipient_gets_their_own_values_and_message_id() {
    let prepared = prepared();
    let a = EmailAddress::parse("ola@example.org").unwrap();
    let b = EmailAddress::parse("kari@example.org").unwrap();
    let msg = |email, id, url| {
        let bytes = prepared
            .message(
                &Recipient {
                    email,
                    name: None,
                    contact_id: Some(common::contact_number(id)),
                    unsubscribe_url: url,
                    preferences_url: url,
                    return_path: None,
                },
                datetime!(2024-04-15 09:30 UTC),
            )
            .unwrap();
        String::from_utf8(bytes).unwrap()
    };
    let first = msg(&a, 1, "https://x.example.org/avmeld/one");
    let second = msg(&b, 2, "https://x.example.org/avmeld/two");
    let (id_one, id_two) = (
        prepared.message_id(common::contact_number(1)),
        prepared.message_id(common::contact_number(2)),
    );
    assert_ne!(id_one, id_two);
    assert!(
        first.contains(&format!("Message-ID: <{id_one}>"))
            && second.contains(&format!("Message-ID: <{id_two}>"))
    );
    assert!(first.contains("To: ola@example.org") && !first.contains("kari@example.org"));
    assert!(second.contains("avmeld/two") && !second.contains("avmeld/one"));
}
