//! The link check before a send, against a real local web server: HEAD then GET,
//! redirects followed up to five, broken links named with their item, and the
//! internal network kept out of reach.

use crate::common;

use std::time::Duration;

use common::links::start_link_server;
use nyhetsbrev::ops::{LinkChecker, LinkState};
use nyhetsbrev::render::parse_issue;

fn issue_linking(base: &str) -> nyhetsbrev::domain::Issue {
    let source = format!(
        "+++\nslug = \"2025-q1\"\nsubject = \"S\"\nperiod = \"P\"\npreheader = \"H\"\n+++\n\
         ## Verdt å merke seg\nSe [oversikten]({base}/ok).\n\n\
         ### Ny veileder\nLes [veilederen]({base}/veileder) og [rapporten]({base}/borte).\n\n\
         ### Gammel side\n[Her]({base}/flyttet), [her]({base}/bare-get) og [igjen]({base}/borte).\n\n\
         ### Kontakt\nSkriv til [oss](mailto:kom@example.no) eller se [feil]({base}/feil).\n"
    );
    parse_issue("test.md", &source).unwrap().issue
}

#[tokio::test]
async fn every_link_is_fetched_and_broken_ones_are_named_with_their_item() {
    let base = start_link_server().await;
    let checker = LinkChecker::new(true);
    let reports = checker
        .check_issue(&issue_linking(&base), ("2025-q1".into(), 1), false)
        .await;
    let states: Vec<(&str, &LinkState)> = reports
        .iter()
        .map(|r| (r.url.rsplit('/').next().unwrap(), &r.state))
        .collect();
    assert_eq!(
        states,
        [
            ("ok", &LinkState::Works(200)),
            ("veileder", &LinkState::Works(200)),
            ("borte", &LinkState::Broken(404)),
            ("flyttet", &LinkState::Works(200)),
            ("bare-get", &LinkState::Works(200)),
            ("mailto:kom@example.no", &LinkState::NotChecked),
            ("feil", &LinkState::Broken(500)),
        ]
    );
    // A link used twice is fetched once and names both places.
    let gone = reports.iter().find(|r| r.url.ends_with("/borte")).unwrap();
    assert_eq!(gone.places, ["Ny veileder", "Gammel side"]);
    let intro = reports.iter().find(|r| r.url.ends_with("/ok")).unwrap();
    assert_eq!(intro.places, ["innledningen til «Verdt å merke seg»"]);
}

#[tokio::test]
async fn redirects_forever_and_slow_answers_are_cut_off() {
    let base = start_link_server().await;
    let checker = LinkChecker::with_timeout(true, Duration::from_secs(1));
    assert_eq!(
        checker.check(&format!("{base}/sirkel")).await,
        LinkState::TooManyRedirects
    );
    let started = std::time::Instant::now();
    assert_eq!(
        checker.check(&format!("{base}/treg")).await,
        LinkState::Timeout
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "HEAD's timeout ends it"
    );
    assert!(matches!(
        checker.check("http://finnes-ikke.invalid/").await,
        LinkState::Unreachable(_)
    ));
}

#[tokio::test]
async fn the_internal_network_is_not_probed() {
    let base = start_link_server().await;
    let port = base.rsplit(':').next().unwrap();
    let checker = LinkChecker::new(false);
    for url in [
        format!("{base}/ok"),
        format!("http://localhost:{port}/ok"),
        format!("http://[::1]:{port}/ok"),
        format!("http://[::ffff:127.0.0.1]:{port}/ok"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://10.0.0.1/".to_owned(),
        "http://192.168.1.1/admin".to_owned(),
        "http://0.0.0.0/".to_owned(),
        // The reserved ranges the IANA registries mark not globally reachable, one per
        // range the trust review found counted as public.
        "http://192.0.0.8/".to_owned(),
        "http://192.0.2.1/".to_owned(),
        "http://198.18.0.1/".to_owned(),
        "http://198.51.100.1/".to_owned(),
        "http://203.0.113.1/".to_owned(),
        "http://240.0.0.1/".to_owned(),
        format!("http://[64:ff9b::7f00:1]:{port}/ok"),
        format!("http://[64:ff9b:1::7f00:1]:{port}/ok"),
        format!("http://[2002:7f00:1::1]:{port}/ok"),
        "http://[fec0::1]/".to_owned(),
    ] {
        assert_eq!(
            checker.check(&url).await,
            LinkState::PrivateAddress,
            "{url}"
        );
    }
}
