//! The public web service over real HTTP, on SQLite and PostgreSQL.

use crate::common;

use common::{TestDb, spawn_app};
use nyhetsbrev::render::parse_issue;
use nyhetsbrev::store::Actor;
use sqlx::{AnyConnection, Connection};

on_both_backends!(
    the_archive_lists_sent_issues_only_and_shows_their_web_version,
    every_response_carries_the_security_headers,
    oversized_requests_are_refused_before_any_handler,
    a_cancelled_issue_leaves_the_archive_at_once,
    each_publication_has_its_archive_and_feed,
    malformed_names_in_public_urls_get_the_norwegian_404,
    every_response_carries_a_request_id_of_our_own,
);

const FIXTURE: &str = include_str!("../../examples/2024-q1.md");

async fn import(db: &TestDb, app: &common::TestApp, slug: &str, sent_at: Option<i64>) {
    let source = FIXTURE.replacen("slug = \"2024-q1\"", &format!("slug = \"{slug}\""), 1);
    let issue = parse_issue("x.md", &source).unwrap().issue;
    app.store
        .save_draft(&issue, &source, &Actor::parse("test"))
        .await
        .unwrap();
    if let Some(at) = sent_at {
        let mut conn = AnyConnection::connect(db.url.expose()).await.unwrap();
        sqlx::query("UPDATE issues SET status = 'sent', sent_at = $1 WHERE slug = $2")
            .bind(at)
            .bind(slug)
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
}

/// Each entry of an Atom feed: (title, link, updated, summary).
fn atom_entries(xml: &str) -> Vec<(String, String, String, String)> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut entries = Vec::new();
    let mut current: Option<(String, String, String, String)> = None;
    let mut field = String::new();
    let mut saw_feed = false;
    loop {
        match reader.read_event().expect("the feed is well-formed XML") {
            Event::Start(e) | Event::Empty(e) => {
                let name = e.local_name().as_ref().to_owned();
                match name.as_str() {
                    "feed" => saw_feed = true,
                    "entry" => current = Some(Default::default()),
                    "link" => {
                        if let Some(entry) = current.as_mut() {
                            let href = e
                                .attributes()
                                .flatten()
                                .find(|a| a.key.as_ref() == "href")
                                .unwrap();
                            entry.1 = href
                                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .unwrap()
                                .into_owned();
                        }
                    }
                    _ => {}
                }
                field = name;
            }
            Event::Text(text) => {
                if let Some(entry) = current.as_mut() {
                    let text = text.xml10_content().into_owned();
                    match field.as_str() {
                        "title" => entry.0.push_str(&text),
                        "updated" => entry.2.push_str(&text),
                        "summary" => entry.3.push_str(&text),
                        _ => {}
                    }
                }
            }
            Event::End(e) => {
                if e.local_name().as_ref() == "entry" {
                    entries.push(current.take().unwrap());
                }
                field.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(saw_feed, "{xml}");
    entries
}

async fn the_archive_lists_sent_issues_only_and_shows_their_web_version(db: &TestDb) {
    let app = spawn_app(db).await;
    let empty = reqwest::get(format!("{}/arkiv", app.address))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(empty.contains("Ingen utgaver er sendt ennå."), "{empty}");

    import(db, &app, "2023-q4", Some(1_000)).await;
    import(db, &app, "2024-q1", Some(2_000)).await;
    import(db, &app, "2024-q2", None).await; // a draft
    let page = reqwest::get(format!("{}/arkiv", app.address))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let html = page.text().await.unwrap();
    assert!(html.contains("<html lang=\"nb\">"));
    let newest = html.find("/arkiv/2024-q1").expect("2024-q1 listed");
    let older = html.find("/arkiv/2023-q4").expect("2023-q4 listed");
    assert!(newest < older, "newest first");
    assert!(!html.contains("2024-q2"), "drafts are never listed");

    // The Atom feed of the same issues (issue 17), read back with an XML parser.
    let feed = reqwest::get(format!("{}/arkiv/feed.xml", app.address))
        .await
        .unwrap();
    assert_eq!(feed.status(), 200);
    assert_eq!(
        feed.headers()["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    let entries = atom_entries(&feed.text().await.unwrap());
    let base = "https://nyhetsbrev.example.org";
    assert_eq!(
        entries,
        [
            (
                "Nyhetsbrev fra KOM, januar–mars 2024".to_owned(),
                format!("{base}/arkiv/2024-q1"),
                "1970-01-01T00:00:02Z".to_owned(),
                "januar–mars 2024".to_owned()
            ),
            (
                "Nyhetsbrev fra KOM, januar–mars 2024".to_owned(),
                format!("{base}/arkiv/2023-q4"),
                "1970-01-01T00:00:01Z".to_owned(),
                "januar–mars 2024".to_owned()
            ),
        ]
    );

    let issue = reqwest::get(format!("{}/arkiv/2024-q1", app.address))
        .await
        .unwrap();
    assert_eq!(issue.status(), 200);
    let web = issue.text().await.unwrap();
    assert!(
        web.contains("Østersjørådet")
            && web.contains("<link rel=\"stylesheet\" href=\"/static/stil.css\">")
    );
    assert!(
        !web.contains("avmeld"),
        "no personal links on the web version"
    );
    let again = reqwest::get(format!("{}/arkiv/2024-q1", app.address))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(again, web, "served from the cache, unchanged");

    for path in [
        "/arkiv/2024-q2",
        "/arkiv/1999-q1",
        "/arkiv/..%2Fetc",
        "/finnes-ikke",
    ] {
        let response = reqwest::get(format!("{}{path}", app.address))
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
        let body = response.text().await.unwrap();
        assert!(
            body.contains("Fant ikke siden") && body.contains("lang=\"nb\""),
            "{path}: {body}"
        );
    }
    let css = reqwest::get(format!("{}/static/stil.css", app.address))
        .await
        .unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
}

async fn every_response_carries_the_security_headers(db: &TestDb) {
    let app = spawn_app(db).await;
    for path in ["/arkiv", "/finnes-ikke", "/health", "/static/stil.css"] {
        let response = reqwest::get(format!("{}{path}", app.address))
            .await
            .unwrap();
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("script-src"),
            "no scripts at all: {csp}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
    }
}

/// POSTs headers announcing `length` bytes and sends none of them; the answer as text.
async fn announced(host: &str, path: &str, headers: &str, length: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\n{headers}Content-Length: {length}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut response),
    )
    .await;
    String::from_utf8_lossy(&response).into_owned()
}

async fn oversized_requests_are_refused_before_any_handler(db: &TestDb) {
    let app = spawn_app(db).await;
    // Announce 10 MB and send none of it: the refusal must come from the headers alone,
    // before anything reads (or buffers) the body.
    let host = app.address.trim_start_matches("http://");
    let response = announced(
        host,
        "/arkiv",
        "Content-Type: application/x-www-form-urlencoded\r\n",
        10 * 1024 * 1024,
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    // In words, in Norwegian, never the framework's English.
    assert!(response.contains("For mye på én gang"), "{response}");
    assert!(!response.contains("length limit exceeded"), "{response}");

    // A body that is not a form gets the Norwegian page too. (A form too large is the
    // announced body above: writing one races the server's early answer.)
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let json = http
        .post(format!("{}/subscribe", app.address))
        .header("content-type", "application/json")
        .body(r#"{"email":"kari@example.no"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 415);
    let page = json.text().await.unwrap();
    assert!(page.contains("Siden tar ikke imot dette"), "{page}");
    assert!(!page.contains("Form requests must have"), "{page}");
    // The admin API answers in JSON (the body announced, never sent: the answer comes
    // from the headers, as above).
    let api = announced(host, "/admin/api/inbound", "", 400 * 1024 * 1024).await;
    assert!(api.starts_with("HTTP/1.1 413"), "{api}");
    assert!(api.contains("content-type: application/json"), "{api}");
    assert!(api.contains("{\"error\":"), "{api}");
    // The service is still there.
    assert_eq!(
        reqwest::get(format!("{}/health", app.address))
            .await
            .unwrap()
            .status(),
        200
    );
}

/// The web version is public while an issue is sending; a cancel takes it down at once
/// (it used to stay in the page cache until the service restarted).
async fn a_cancelled_issue_leaves_the_archive_at_once(db: &TestDb) {
    let app = spawn_app(db).await;
    import(db, &app, "2024-q1", None).await;
    common::add_confirmed(&app.store, 0..2).await;
    let slug = nyhetsbrev::domain::Slug::parse("2024-q1").unwrap();
    app.store
        .enqueue_issue(&slug, &Actor::parse("cli:test"))
        .await
        .unwrap();
    let url = format!("{}/arkiv/2024-q1", app.address);
    for _ in 0..2 {
        assert_eq!(reqwest::get(&url).await.unwrap().status(), 200);
    }
    app.store
        .cancel_issue(&slug, &Actor::parse("cli:test"))
        .await
        .unwrap();
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 404);
}

const COURT: &str = include_str!("../../examples/2025-04-rettsavgjorelser.md");

/// Issue 18: `/arkiv` lists each publication with its issues, `/arkiv/{publication}`
/// one publication's, and each has an Atom feed of its own; an issue cannot take a
/// publication's slug, and the other way round.
async fn each_publication_has_its_archive_and_feed(db: &TestDb) {
    let app = spawn_app(db).await;
    import(db, &app, "2024-q1", Some(1_000)).await;
    let court = nyhetsbrev::render::parse_issue_as(
        "court.md",
        COURT,
        nyhetsbrev::domain::PublicationKind::Announcement,
    )
    .unwrap()
    .issue;
    app.store
        .save_draft(&court, COURT, &Actor::parse("test"))
        .await
        .unwrap();
    let mut conn = AnyConnection::connect(db.url.expose()).await.unwrap();
    sqlx::query(
        "UPDATE issues SET status = 'sent', sent_at = 2000 WHERE slug = '2025-04-rettsavgjorelser'",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let get = |path: &'static str| {
        let address = app.address.clone();
        async move {
            let response = reqwest::get(format!("{address}{path}")).await.unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        }
    };
    let (status, all) = get("/arkiv").await;
    assert_eq!(status, 200);
    let news = all
        .find("<h2 id=\"nyhetsbrev\">")
        .expect("the newsletter's part");
    let decisions = all
        .find("<h2 id=\"rettsavgjorelser\">")
        .expect("the court decisions' part");
    let report = all
        .find("<h2 id=\"tilstandsrapport\">")
        .expect("the status report's part");
    assert!(news < decisions && decisions < report);
    let at = |slug: &str| all.find(&format!("href=\"/arkiv/{slug}\">")).unwrap();
    assert!(news < at("2024-q1") && at("2024-q1") < decisions);
    assert!(decisions < at("2025-04-rettsavgjorelser") && at("2025-04-rettsavgjorelser") < report);
    assert!(all[report..].contains("Ingen utgaver er sendt ennå."));

    let (status, page) = get("/arkiv/rettsavgjorelser").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("<h1>Oversikt over rettsavgjørelser</h1>"),
        "{page}"
    );
    assert!(page.contains("href=\"/arkiv/2025-04-rettsavgjorelser\""));
    assert!(!page.contains("2024-q1"));
    let (status, web) = get("/arkiv/2025-04-rettsavgjorelser").await;
    assert_eq!(status, 200);
    assert!(web.contains("Last ned oversikten (PDF)"), "{web}");

    let base = "https://nyhetsbrev.example.org";
    let (status, feed) = get("/arkiv/rettsavgjorelser/feed.xml").await;
    assert_eq!(status, 200);
    assert!(feed.contains("<title>Oversikt over rettsavgjørelser</title>"));
    assert!(feed.contains(&format!("href=\"{base}/arkiv/rettsavgjorelser/feed.xml\"")));
    assert_eq!(
        atom_entries(&feed),
        [(
            "KOMs oversikt over rettsavgjørelser per 30. april 2025".to_owned(),
            format!("{base}/arkiv/2025-04-rettsavgjorelser"),
            "1970-01-01T00:00:02Z".to_owned(),
            "per 30. april 2025".to_owned()
        )]
    );
    let (_, news_feed) = get("/arkiv/nyhetsbrev/feed.xml").await;
    assert_eq!(atom_entries(&news_feed).len(), 1);
    let (_, everything) = get("/arkiv/feed.xml").await;
    assert_eq!(atom_entries(&everything).len(), 2);
    for path in [
        "/arkiv/finnes-ikke/feed.xml",
        "/arkiv/..%2Fetc/feed.xml",
        "/arkiv/Nyhetsbrev/feed.xml",
    ] {
        assert_eq!(get(path).await.0, 404, "{path}");
    }

    // The archive's paths are shared: neither can take the other's slug.
    let named_like_publication =
        FIXTURE.replacen("slug = \"2024-q1\"", "slug = \"tilstandsrapport\"", 1);
    let issue = parse_issue("x.md", &named_like_publication).unwrap().issue;
    let refused = app
        .store
        .save_draft(&issue, &named_like_publication, &Actor::parse("test"))
        .await;
    assert!(
        matches!(
            refused,
            Err(nyhetsbrev::store::StoreError::SlugIsPublication(_))
        ),
        "{refused:?}"
    );
    let refused = app
        .store
        .add_publication(
            &nyhetsbrev::domain::NewPublication {
                slug: nyhetsbrev::domain::PublicationSlug::parse("2024-q1").unwrap(),
                name: nyhetsbrev::domain::PublicationName::parse("X").unwrap(),
                description: nyhetsbrev::domain::PublicationDescription::parse("Y").unwrap(),
                kind: nyhetsbrev::domain::PublicationKind::Newsletter,
            },
            &Actor::parse("test"),
        )
        .await;
    assert!(
        matches!(refused, Err(nyhetsbrev::store::StoreError::SlugIsIssue(_))),
        "{refused:?}"
    );
}

/// A slug or link token in a public URL that cannot be one (bytes that are no UTF-8
/// above all, which the framework refused in English plain text) is the same 404 page
/// as one that names nothing.
async fn malformed_names_in_public_urls_get_the_norwegian_404(db: &TestDb) {
    let app = spawn_app(db).await;
    let http = reqwest::Client::new();
    for (path, words) in [
        ("/arkiv/%FF", "Fant ikke siden"),
        ("/arkiv/%C3%28/feed.xml", "Fant ikke siden"),
        ("/arkiv/Store-Bokstaver", "Fant ikke siden"),
        ("/bekreft/%FF", "Lenken virker ikke"),
        ("/avmeld/%FF", "Lenken virker ikke"),
        ("/innstillinger/%FF", "Lenken virker ikke"),
    ] {
        for post in [false, true] {
            if post && path.starts_with("/arkiv") {
                continue;
            }
            let request = if post {
                http.post(format!("{}{path}", app.address))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("")
            } else {
                http.get(format!("{}{path}", app.address))
            };
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 404, "{path} (POST: {post})");
            assert!(
                response.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/html"),
                "{path}"
            );
            let body = response.text().await.unwrap();
            assert!(
                body.contains(words) && body.contains("lang=\"nb\""),
                "{path}: {body}"
            );
            assert!(!body.contains("Invalid URL"), "{path}: {body}");
        }
    }
}

/// Every response names its request by an id of ours, which the request's log lines
/// carry too. One a client sends is not believed (see `web::drop_client_request_id`).
async fn every_response_carries_a_request_id_of_our_own(db: &TestDb) {
    let app = spawn_app(db).await;
    let http = reqwest::Client::new();
    let id_of = |response: &reqwest::Response| {
        response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    let is_ours =
        |id: &str| id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    let mut seen = std::collections::HashSet::new();
    for path in ["/arkiv", "/finnes-ikke", "/health", "/arkiv/%FF", "/admin"] {
        let response = http
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        let id = id_of(&response);
        assert!(is_ours(&id), "{path}: {id}");
        assert!(seen.insert(id), "{path}: one id per request");
    }
    // A client's own id, long or short, is replaced by ours.
    let long = "a".repeat(4000);
    for theirs in ["kari@example.no", "1234", long.as_str()] {
        let response = http
            .get(format!("{}/arkiv", app.address))
            .header("x-request-id", theirs)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let id = id_of(&response);
        assert!(is_ours(&id) && id != theirs, "{id}");
        assert_eq!(response.headers().get_all("x-request-id").iter().count(), 1);
    }
}
