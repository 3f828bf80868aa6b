//! The classifier on hand-written messages.

use super::*;

pub(crate) fn own() -> OwnAddresses {
    OwnAddresses {
        from: EmailAddress::parse("nyhetsbrev@kom.example.no").unwrap(),
        join: EmailAddress::parse("nyhetsbrev-join@kom.example.no").unwrap(),
        leave: EmailAddress::parse("nyhetsbrev-leave@kom.example.no").unwrap(),
        bounce: EmailAddress::parse("retur@kom.example.no").unwrap(),
        bounce_key: Some(TokenKey::parse("a-unit-test-key-that-is-long-enough").unwrap()),
        list_id: "nyhetsbrev.kom.example.no".into(),
        trusted_authserv_id: Some("mx.kom.example.no".into()),
    }
}

fn kind(raw: &str) -> Kind {
    classify(raw.as_bytes(), &own(), &Envelope::default()).kind
}

#[test]
fn words_match_whole_words_only() {
    assert!(contains_phrase("Please UNSUBSCRIBE me", &["unsubscribe"]));
    assert!(!contains_phrase("Please unsubscribe me", &["subscribe"]));
    assert!(contains_phrase("Meld meg på, takk!", &["meld meg på"]));
    assert!(!contains_phrase("påmeldingsfrist", &["påmelding"]));
}

#[test]
fn only_a_signed_bounce_address_names_its_delivery() {
    let own = own();
    let key = own.bounce_key.clone().unwrap();
    let tag = key.bounce_tag(DeliveryId::parse("42").unwrap());
    let signed = |s: &str| own.bounce_tag(s);
    assert_eq!(
        signed(&format!("retur+d42-{tag}@kom.example.no")),
        Some(BounceTag::Signed(DeliveryId::parse("42").unwrap()))
    );
    assert_eq!(
        signed(&format!("RETUR+D42-{}@KOM.EXAMPLE.NO", tag.to_uppercase())),
        Some(BounceTag::Signed(DeliveryId::parse("42").unwrap()))
    );
    // The shape without the signature: forged.
    for forged in [
        "retur+d42@kom.example.no".to_owned(),
        format!("retur+d43-{tag}@kom.example.no"),
        format!("retur+d42-{}@kom.example.no", &tag[..15]),
        "retur+d@kom.example.no".to_owned(),
        "retur+d4x@kom.example.no".to_owned(),
        "retur+d99999999999999999999@kom.example.no".to_owned(),
    ] {
        assert_eq!(signed(&forged), Some(BounceTag::Forged), "{forged}");
    }
    // Not a bounce address of ours at all.
    assert_eq!(signed(&format!("retur+d42-{tag}@example.org")), None);
    assert_eq!(signed("kari@kom.example.no"), None);
    // Without a key nothing can be trusted.
    let unkeyed = OwnAddresses {
        bounce_key: None,
        ..own.clone()
    };
    assert_eq!(
        unkeyed.bounce_tag(&format!("retur+d42-{tag}@kom.example.no")),
        Some(BounceTag::Forged)
    );
}

#[test]
fn a_plain_request_is_a_subscription() {
    let k = kind(
        "From: Kari <kari@example.no>\r\nTo: nyhetsbrev@kom.example.no\r\nSubject: Meld meg på\r\n\r\nHilsen Kari\r\n",
    );
    assert!(
        matches!(k, Kind::Subscribe { ref address, .. } if address.as_str() == "kari@example.no"),
        "{k:?}"
    );
}

#[test]
fn a_quoted_footer_decides_nothing() {
    let k = kind(
        "From: kari@example.no\r\nSubject: Re: Nyhetsbrev fra KOM\r\n\r\nTakk for et godt nyhetsbrev!\r\n\r\n> Vil du melde deg av? Meld meg av\r\n",
    );
    assert!(matches!(k, Kind::Other { .. }), "{k:?}");
}

#[test]
fn a_reply_is_read_for_its_new_text_only() {
    let k = kind(
        "From: kari@example.org\r\nSubject: Re: Bekreft påmeldingen til KOMs kontaktliste\r\n\r\nNei, jeg har ikke bedt om dette.\r\n",
    );
    assert!(matches!(k, Kind::Other { .. }), "{k:?}");
    let k = kind(
        "From: kari@example.org\r\nSubject: SV: Bekreft påmeldingen til KOMs kontaktliste\r\n\r\nJa, meld meg på.\r\n",
    );
    assert!(matches!(k, Kind::Subscribe { .. }), "{k:?}");
}

fn leave(headers: &str) -> Kind {
    kind(&format!(
        "{headers}From: Kari <kari@post.example.org>\r\nTo: nyhetsbrev@kom.example.no\r\n\
         Subject: Meld meg av\r\n\r\nTakk\r\n"
    ))
}

fn vouched(k: &Kind) -> Option<&str> {
    match k {
        Kind::Unsubscribe { authenticated, .. } => authenticated.as_deref(),
        other => panic!("not a request to leave: {other:?}"),
    }
}

#[test]
fn only_the_trusted_servers_aligned_pass_vouches_for_a_request_to_leave() {
    let trusted = "Authentication-Results: mx.kom.example.no;";
    for vouching in [
        format!("{trusted} dmarc=pass (p=none dis=none) header.from=post.example.org\r\n"),
        format!("{trusted} spf=fail; dkim=pass header.d=example.org header.s=s1\r\n"),
        format!("{trusted}\r\n\tdkim=pass header.i=@post.example.org\r\n"),
        format!("{trusted} dkim=pass (2048-bit key) header.d=POST.EXAMPLE.ORG\r\n"),
    ] {
        assert!(vouched(&leave(&vouching)).is_some(), "{vouching}");
    }
    for not in [
        // No header, or one from another server (the sender can write any).
        String::new(),
        "Authentication-Results: mx.evil.example; dmarc=pass header.from=post.example.org\r\n"
            .into(),
        // Our server, but nothing that ties the message to the From domain.
        format!("{trusted} spf=pass smtp.mailfrom=post.example.org\r\n"),
        format!("{trusted} dkim=pass header.d=evil.example\r\n"),
        format!("{trusted} dkim=pass header.d=org\r\n"),
        format!("{trusted} dmarc=fail header.from=post.example.org\r\n"),
        format!("{trusted} dmarc=pass header.from=evil.example\r\n"),
        format!("{trusted} dkim=pass (header.d=post.example.org) header.d=x.example\r\n"),
        // A look-alike written by the sender below the server's own, topmost one.
        format!(
            "{trusted} dmarc=fail header.from=post.example.org\r\n\
             {trusted} dmarc=pass header.from=post.example.org\r\n"
        ),
    ] {
        assert_eq!(vouched(&leave(&not)), None, "{not}");
    }
    // Without a trusted server set, nobody is vouched for.
    let own = OwnAddresses {
        trusted_authserv_id: None,
        ..own()
    };
    let raw = format!(
        "{trusted} dmarc=pass header.from=post.example.org\r\nFrom: kari@post.example.org\r\n\
         Subject: Meld meg av\r\n\r\n"
    );
    let k = classify(raw.as_bytes(), &own, &Envelope::default()).kind;
    assert_eq!(vouched(&k), None);
}

/// A request to join is vouched for exactly as a request to leave (issue 29): only the
/// trusted server's aligned pass counts, never a header the sender wrote.
#[test]
fn only_the_trusted_servers_aligned_pass_vouches_for_a_request_to_join() {
    let join = |headers: &str| match kind(&format!(
        "{headers}From: Kari <kari@post.example.org>\r\nTo: nyhetsbrev@kom.example.no\r\n\
         Subject: Meld meg p\u{e5}\r\n\r\nTakk\r\n"
    )) {
        Kind::Subscribe { authenticated, .. } => authenticated,
        other => panic!("not a request to join: {other:?}"),
    };
    let trusted = "Authentication-Results: mx.kom.example.no;";
    assert!(
        join(&format!(
            "{trusted} dmarc=pass header.from=post.example.org\r\n"
        ))
        .is_some()
    );
    assert!(join(&format!("{trusted} dkim=pass header.d=example.org\r\n")).is_some());
    assert_eq!(join(""), None);
    assert_eq!(
        join(
            "Authentication-Results: mx.evil.example; dmarc=pass header.from=post.example.org\r\n"
        ),
        None
    );
    assert_eq!(
        join(&format!("{trusted} dkim=pass header.d=evil.example\r\n")),
        None
    );
    assert_eq!(
        join(&format!(
            "{trusted} dmarc=fail header.from=post.example.org\r\n"
        )),
        None
    );
}

#[test]
fn separators_end_the_new_text() {
    assert!(is_separator("-----Original Message-----"));
    assert!(is_separator(
        "Den 3. mars 2025 kl. 10:00 skrev Kari <kari@example.no>:"
    ));
    assert!(is_separator("On Mon, 3 Mar 2025 at 10:00, Kari wrote:"));
    assert!(!is_separator("Meld meg på"));
}
