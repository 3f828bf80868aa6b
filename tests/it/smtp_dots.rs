//! SMTP transparency (RFC 5321, 4.5.2) with the vendored, faster dot-stuffing codec:
//! lines that start with dots, a lone dot, dots after bare CRs and LFs, all arrive in the
//! sink exactly as sent.

use crate::common;

use std::sync::Arc;

use common::smtp_sink::SmtpSink;
use nyhetsbrev::mail::{Envelope, SmtpRelay, Transport};

/// The sink, our relay client pointed at it, and one envelope for every message.
async fn sink_and_relay() -> (SmtpSink, Transport, Envelope) {
    let sink = SmtpSink::start().await;
    let relay = SmtpRelay::from_url(&sink.url(), std::time::Duration::from_secs(5)).unwrap();
    let envelope = Envelope {
        from: Some("nyhetsbrev@example.no".parse().unwrap()),
        to: "kari@example.org".parse().unwrap(),
    };
    (sink, Transport::Smtp(Arc::new(relay)), envelope)
}

#[tokio::test]
async fn dots_at_the_start_of_lines_arrive_unchanged() {
    let (sink, transport, envelope) = sink_and_relay().await;
    let mut body = String::from("Subject: prikker\r\n\r\n.\r\n..\r\n...tre\r\nmidt. i. linja\r\n");
    body.push_str(".start\r\nbare CR\r.ikke linjestart\r\nbare LF\n.heller ikke\r\n");
    // A long run without dots, then one at a line start far into the message.
    for _ in 0..1000 {
        body.push_str(&"a".repeat(70));
        body.push_str("\r\n");
    }
    body.push_str(".slutt\r\n");
    transport.send(&envelope, body.as_bytes()).await.unwrap();
    let received = sink.received();
    assert_eq!(received.len(), 1);
    // lettre ends the data with CRLF . CRLF after the message, so a message that ends
    // its last line arrives with one empty line more (which DKIM's canonical body drops).
    let body = body + "\r\n";
    let got = String::from_utf8_lossy(&received[0].data);
    let first_difference = got
        .bytes()
        .zip(body.bytes())
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(body.len()));
    assert!(
        got == body,
        "differs from byte {first_difference}: sent {:?}, received {:?}",
        &body[first_difference.saturating_sub(20)..(first_difference + 20).min(body.len())],
        &got[first_difference.saturating_sub(20)..(first_difference + 20).min(got.len())]
    );
}

/// Many lines of dots and letters in random order, each message checked byte for byte:
/// every dot that starts a line is doubled on the wire and undone by the sink, no other.
#[tokio::test]
async fn random_lines_of_dots_arrive_unchanged() {
    let (sink, transport, envelope) = sink_and_relay().await;
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut sent = Vec::new();
    for _ in 0..40 {
        let mut body = String::from("Subject: prikker\r\n\r\n");
        for _ in 0..(next() % 60) {
            for _ in 0..(next() % 6) {
                body.push(['.', '.', 'a', ' '][(next() % 4) as usize]);
            }
            body.push_str("\r\n");
        }
        transport.send(&envelope, body.as_bytes()).await.unwrap();
        sent.push(body + "\r\n");
    }
    let received: Vec<String> = sink
        .received()
        .iter()
        .map(|r| String::from_utf8(r.data.clone()).unwrap())
        .collect();
    assert_eq!(received, sent);
}
