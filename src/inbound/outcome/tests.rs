//! The outcome's sentences read back, and read in bokmål.

use super::*;
use crate::inbound::reason::PLAIN_REASONS;

fn delivery(number: u32) -> DeliveryId {
    DeliveryId::parse(&number.to_string()).unwrap()
}

/// A report's own words, holding the stored sentence's separators.
const HOSTILE: &str = "5.1.1 (user unknown); 1 of 2 counted";

fn every_reason() -> Vec<Reason> {
    let mut reasons: Vec<Reason> = PLAIN_REASONS.to_vec();
    reasons.extend([
        Reason::UnusableAddress("the address has no @".into()),
        Reason::FromOwnAddress("nyhetsbrev@example.org".into()),
        Reason::AutoSubmitted("auto-replied".into()),
        Reason::AutoReplyHeader("X-Autoreply".into()),
        Reason::Precedence("bulk".into()),
        Reason::SentByDaemon("mailer-daemon@example.org".into()),
        Reason::AutoReplySubject("out of office".into()),
    ]);
    reasons
}

fn every_outcome() -> Vec<InboundOutcome> {
    let a = || "kari@example.org".to_owned();
    let hostile = || Some(HOSTILE.to_owned());
    let mut outcomes = vec![
        InboundOutcome::HeldForwarded {
            address: a(),
            forwarded_by: "Ola <ola@example.no>".into(),
        },
        InboundOutcome::HeldUnverified { address: a() },
        InboundOutcome::ConfirmationQueued {
            address: a(),
            publications: vec![],
        },
        InboundOutcome::ConfirmationQueued {
            address: a(),
            publications: vec!["nyhetsbrev".into(), "rettsavgjorelser".into()],
        },
        InboundOutcome::AlreadyOnList { address: a() },
        InboundOutcome::ConfirmationSentRecently { address: a() },
        InboundOutcome::Unsubscribed {
            address: a(),
            evidence: "dmarc=pass (p=reject) header.from=example.org".into(),
        },
        InboundOutcome::AlreadyLeft { address: a() },
        InboundOutcome::NotOnList { address: a() },
        InboundOutcome::NotOnListNothingSent { address: a() },
        InboundOutcome::LeaveLinkQueued { address: a() },
        InboundOutcome::LeaveLinkSentRecently { address: a() },
        InboundOutcome::ForgedSignature,
        InboundOutcome::ForgedByMessageId {
            delivery: delivery(42),
        },
        InboundOutcome::ReportUnmatched { standard: true },
        InboundOutcome::ReportUnmatched { standard: false },
        InboundOutcome::ReportForMissingDelivery {
            standard: false,
            delivery: delivery(7),
        },
        InboundOutcome::ReportWithoutRecipient {
            delivery: delivery(9),
        },
        InboundOutcome::ReportDelivered,
        InboundOutcome::HardBounceMarked {
            detail: hostile(),
            count: 3,
            threshold: 3,
        },
        InboundOutcome::HardBounceCounted {
            detail: hostile(),
            count: 1,
            threshold: 3,
        },
        InboundOutcome::HardBounceCounted {
            detail: None,
            count: 2,
            threshold: 5,
        },
        InboundOutcome::HardBounceAlreadyCounted { detail: hostile() },
        InboundOutcome::SoftBounce {
            detail: Some("4.2.2 mailbox full".into()),
        },
        InboundOutcome::SoftBounce { detail: None },
    ];
    for reason in every_reason() {
        outcomes.push(InboundOutcome::IgnoredAutomatic(reason.clone()));
        outcomes.push(InboundOutcome::IgnoredLoop(reason.clone()));
        outcomes.push(InboundOutcome::KeptForStaff(reason.clone()));
        outcomes.push(InboundOutcome::KeptUnreadable(reason));
    }
    outcomes
}

#[test]
fn every_outcome_reads_back_from_its_stored_sentence() {
    for outcome in every_outcome() {
        assert_eq!(InboundOutcome::parse(&outcome.english()), outcome);
    }
}

#[test]
fn the_stored_sentences_are_the_ones_earlier_versions_wrote() {
    let hard = InboundOutcome::HardBounceMarked {
        detail: Some("5.1.1 user unknown".into()),
        count: 3,
        threshold: 3,
    };
    assert_eq!(
        hard.english(),
        "hard bounce (5.1.1 user unknown); 3 of 3: the address is now marked bounced"
    );
    assert_eq!(
        InboundOutcome::ConfirmationQueued {
            address: "kari.nordmann@example.org".into(),
            publications: vec![],
        }
        .english(),
        "confirmation link to kari.nordmann@example.org queued"
    );
    assert_eq!(
        InboundOutcome::KeptForStaff(Reason::NoRequest).english(),
        "kept for staff: no request to join or leave found"
    );
}

#[test]
fn staff_read_every_outcome_in_bokmal() {
    // The English words of the stored sentences, none of which staff should see.
    let english = [
        "queued",
        "nothing sent",
        "rate limit",
        "delivery",
        "bounce",
        "kept for staff",
        "ignored",
        "counted",
        "the list",
        "no reason given",
    ];
    for outcome in every_outcome() {
        // The report's own words are shown as they came.
        let words = outcome.norwegian().replace(HOSTILE, "");
        assert!(!words.is_empty());
        for word in english {
            assert!(!words.contains(word), "{word:?} in {words:?}");
        }
    }
}

#[test]
fn a_sentence_of_another_version_is_shown_as_stored() {
    for text in ["kept for staff", "hard bounce (x); many of 3 counted", ""] {
        assert_eq!(
            InboundOutcome::parse(text),
            InboundOutcome::Recorded(text.to_owned())
        );
        assert_eq!(InboundOutcome::parse(text).norwegian(), text);
    }
}
