//! Any bytes given to the inbound parser and classifier: it must never panic, loop or
//! blow up, and what it says must hold together.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nyhetsbrev::config::Settings;
use nyhetsbrev::inbound::{Envelope, Kind, classify};

fuzz_target!(|data: &[u8]| {
    static OWN: std::sync::OnceLock<nyhetsbrev::inbound::OwnAddresses> = std::sync::OnceLock::new();
    let own = OWN.get_or_init(|| {
        nyhetsbrev::startup::own_addresses(&Settings {
            from_address: "nyhetsbrev@example.no".into(),
            token_key: Some("a-fuzzing-and-benchmark-key-0123456789".into()),
            ..Default::default()
        })
        .unwrap()
    });
    let classified = classify(data, own, &Envelope::default());
    match &classified.kind {
        Kind::Subscribe { address, .. } | Kind::Unsubscribe { address } => {
            // A request is only ever answered to a valid address that is not ours.
            assert!(nyhetsbrev::domain::EmailAddress::parse(address.as_str()).is_ok());
            assert_ne!(address.key(), own.from.key());
        }
        Kind::Bounce(report) => {
            for recipient in &report.recipients {
                assert!(!(recipient.hard && recipient.delivered));
            }
        }
        _ => {}
    }
    for text in [
        &classified.summary.subject,
        &classified.summary.from,
        &classified.summary.message_id,
    ]
    .into_iter()
    .flatten()
    {
        assert!(!text.contains(['\r', '\n']), "header text is one line");
    }
});
