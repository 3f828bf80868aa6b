//! Personalising the rendered 2024 sample for one recipient and building the complete
//! MIME message (headers, both parts, encodings). Issue 3's target: median under 30 µs.
//!
//!     cargo bench --bench personalise

use divan::{Bencher, black_box};
use nyhetsbrev::domain::{ContactId, ContactName, EmailAddress};
use nyhetsbrev::mail::{PreparedIssue, Recipient, Sender};
use nyhetsbrev::render::{Personal, RenderContext, RenderedIssue, parse_issue, render};

const FIXTURE: &str = include_str!("../examples/2024-q1.md");

#[path = "../tests/it/common/publications.rs"]
mod publications;
use publications::newsletter;

fn main() {
    divan::main();
}

fn rendered() -> (nyhetsbrev::domain::Issue, RenderedIssue) {
    let issue = parse_issue("2024-q1.md", FIXTURE).unwrap().issue;
    let context = RenderContext::new("https://nyhetsbrev.example.org", "kom@example.no");
    let rendered = render(&issue, &newsletter(), &context).unwrap();
    (issue, rendered)
}

fn sender() -> Sender {
    Sender {
        from_address: EmailAddress::parse("nyhetsbrev@example.no").unwrap(),
        from_name: "KOM".into(),
        list_id: "nyhetsbrev.example.no".into(),
        unsubscribe_mailbox: EmailAddress::parse("avmelding@example.no").unwrap(),
        organisation_name: "Koordineringsenheten mot menneskehandel".into(),
        organisation_short_name: "KOM".into(),
    }
}

fn key() -> nyhetsbrev::domain::TokenKey {
    nyhetsbrev::domain::TokenKey::parse("a-benchmark-key-that-is-long-enough").unwrap()
}

/// The whole personal message, as the worker will build it for every contact.
#[divan::bench]
fn complete_mime_message(bencher: Bencher) {
    let (issue, rendered) = rendered();
    let prepared =
        PreparedIssue::prepare(&issue, &newsletter(), &rendered, &sender(), &key()).unwrap();
    let email = EmailAddress::parse("ase.odegard@example.org").unwrap();
    let name = ContactName::parse("Åse Ødegård").unwrap().unwrap();
    let url = "https://nyhetsbrev.example.org/avmeld/3f9a0c1e5b7d4a2c8e6f1b3d5a7c9e0f";
    let date = time::OffsetDateTime::now_utc();
    let contact_id = ContactId::parse("4711");
    let mut size = 0;
    bencher.bench_local(|| {
        let recipient = Recipient {
            email: &email,
            name: Some(&name),
            contact_id,
            unsubscribe_url: url,
            preferences_url: url,
            return_path: None,
        };
        let message = prepared.message(black_box(&recipient), date).unwrap();
        size = message.len();
        message
    });
    eprintln!("message size: {size} bytes");
}

/// For reference: filling the slots of the HTML part only (no MIME, no encoding).
#[divan::bench]
fn fill_html_slots(bencher: Bencher) {
    let (_, rendered) = rendered();
    let personal = Personal {
        email: "ase.odegard@example.org",
        unsubscribe_url: "https://nyhetsbrev.example.org/avmeld/x",
        preferences_url: "https://nyhetsbrev.example.org/innstillinger/x",
    };
    bencher.bench_local(|| rendered.html.fill(black_box(&personal)));
}

/// For reference: the once-per-issue work (parse, render, inline CSS, encode).
#[divan::bench(sample_count = 20)]
fn prepare_issue_once(bencher: Bencher) {
    let sender = sender();
    bencher.bench_local(|| {
        let (issue, rendered) = rendered();
        PreparedIssue::prepare(&issue, &newsletter(), &rendered, &sender, &key()).unwrap()
    });
}
