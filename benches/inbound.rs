//! Classifying inbound mail: each message of the test corpus (requests, replies,
//! auto-replies, every bounce shape), and a request carrying a 10 MB attachment. No
//! target in issue 6; the figures say what one message costs.
//!
//!     cargo bench --bench inbound

use divan::{Bencher, black_box};
use nyhetsbrev::config::Settings;
use nyhetsbrev::inbound::{Envelope, OwnAddresses, classify};

fn main() {
    divan::main();
}

fn own() -> OwnAddresses {
    nyhetsbrev::startup::own_addresses(&Settings {
        from_address: "nyhetsbrev@example.no".into(),
        token_key: Some("a-fuzzing-and-benchmark-key-0123456789".into()),
        ..Default::default()
    })
    .unwrap()
}

fn corpus() -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mail");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            String::from_utf8_lossy(&std::fs::read(p).unwrap())
                .replace("{{DELIVERY}}", "42")
                .replace("{{MESSAGE_ID}}", "7.2024-q1@example.no")
                .into_bytes()
        })
        .collect()
}

/// The whole corpus once (45 messages); divide by 45 for one message.
#[divan::bench]
fn whole_corpus(bencher: Bencher) {
    let own = own();
    let corpus = corpus();
    let envelope = Envelope::default();
    bencher.bench_local(|| {
        for raw in &corpus {
            black_box(classify(black_box(raw), &own, &envelope));
        }
    });
}

/// A request with a 10 MB attachment (13.8 MB of base64).
#[divan::bench(sample_count = 20)]
fn request_with_10_mb_attachment(bencher: Bencher) {
    use base64::Engine;
    let own = own();
    let mut raw = String::from(
        "From: Stor Fil <stor.fil@example.org>\r\nSubject: Meld meg på\r\nMessage-ID: <big@example.org>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nVedlagt.\r\n--b\r\n\
         Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    );
    let encoded = base64::engine::general_purpose::STANDARD.encode(vec![7u8; 10 * 1024 * 1024]);
    for line in encoded.as_bytes().chunks(76) {
        raw.push_str(std::str::from_utf8(line).unwrap());
        raw.push_str("\r\n");
    }
    raw.push_str("--b--\r\n");
    let envelope = Envelope::default();
    bencher.bench_local(|| black_box(classify(black_box(raw.as_bytes()), &own, &envelope)));
}
