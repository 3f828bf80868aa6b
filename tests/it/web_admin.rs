//! The admin API under attack, against the real server (our accept loop, on a real
//! port): who is asking is settled from the headers before a body is read, token
//! checks are counted before they run, and slow or many connections are cut off. On
//! SQLite and PostgreSQL where the attempt count is stored.

use crate::common;

use std::io::{Read, Write};
use std::time::Duration;

use common::{TestApp, TestDb};

on_both_backends!(
    guessing_an_api_token_is_cut_off,
    parallel_guesses_are_counted_before_they_are_checked,
);

/// The app with an API token for posting inbound mail: the app and the token's
/// secret.
async fn app_with_token(
    db: &TestDb,
    change: impl FnOnce(&mut nyhetsbrev::config::Settings),
) -> (TestApp, String) {
    let mut settings = common::test_settings(db);
    change(&mut settings);
    let app = common::spawn_app_with(db, settings, None).await;
    let token = common::api_token(&app.store, "Postmottak").await;
    (app, token)
}

/// A guess of the token's shape, never a real one.
fn guess(i: usize) -> String {
    format!("nbk_{i:0>43}")
}

fn inbound_url(app: &TestApp) -> String {
    format!("{}/admin/api/inbound", app.address)
}

async fn guessing_an_api_token_is_cut_off(db: &TestDb) {
    let (app, token) = app_with_token(db, |_| {}).await;
    let client = reqwest::Client::new();
    let post = |token: String| {
        client
            .post(inbound_url(&app))
            .bearer_auth(token)
            .body("From: a@example.org\r\nSubject: x\r\n\r\n")
            .send()
    };
    // A right token does not count as a failure.
    assert_eq!(post(token.clone()).await.unwrap().status(), 200);
    for i in 0..nyhetsbrev::web::MAX_LOGIN_FAILURES as usize {
        assert_eq!(post(guess(i)).await.unwrap().status(), 401);
    }
    // Now even the right token is refused, unchecked, for a while.
    let blocked = post(token).await.unwrap();
    assert_eq!(blocked.status(), 429);
    assert!(blocked.headers().contains_key("retry-after"));
    assert_eq!(app.store.list_inbound(None, 10).await.unwrap().len(), 1);
}

/// Thirty wrong tokens at once: only the allowance is looked up, the rest are refused
/// without a check (each attempt is counted before its lookup, in one statement, so
/// parallel guesses cannot all slip through).
async fn parallel_guesses_are_counted_before_they_are_checked(db: &TestDb) {
    let (app, _token) = app_with_token(db, |_| {}).await;
    let guesses: Vec<_> = (0..30)
        .map(|i| {
            let url = inbound_url(&app);
            tokio::spawn(async move {
                reqwest::Client::new()
                    .post(url)
                    .bearer_auth(guess(i))
                    .body("x")
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for guess in guesses {
        statuses.push(guess.await.unwrap());
    }
    let checked = statuses.iter().filter(|&&s| s == 401).count();
    let refused = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!(
        (checked, refused),
        (
            nyhetsbrev::web::MAX_LOGIN_FAILURES as usize,
            30 - nyhetsbrev::web::MAX_LOGIN_FAILURES as usize
        ),
        "{statuses:?}"
    );
}

/// Writes raw bytes to the server and reads what comes back until it closes the
/// connection or `wait` passes; `None` if it was still open then.
fn exchange(address: &str, request: &[u8], wait: Duration) -> Option<String> {
    let address = address.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(wait)).unwrap();
    stream.write_all(request).unwrap();
    let mut response = Vec::new();
    match stream.read_to_end(&mut response) {
        Ok(_) => Some(String::from_utf8_lossy(&response).into_owned()),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            None
        }
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
            Some(String::from_utf8_lossy(&response).into_owned())
        }
        Err(e) => panic!("{e}"),
    }
}

/// Three idle connections the server keeps open, one in each of its three places. The
/// places of connections it has just closed come back a moment later: until they have,
/// one of the three is closed at once, and three new ones are tried.
fn hold_every_place(address: &str) -> Vec<std::net::TcpStream> {
    let address = address.trim_start_matches("http://");
    common::eventually_blocking("three places free", Duration::from_secs(5), || {
        let held: Vec<_> = (0..3)
            .map(|_| std::net::TcpStream::connect(address).unwrap())
            .collect();
        let closed = held.iter().filter(|stream| closed_at_once(stream)).count();
        if closed == 0 {
            Ok(held)
        } else {
            Err(format!("{closed} of 3 closed at once"))
        }
    })
}

/// Whether the server closed the connection (without a word) within 100 ms: as it does
/// when it has no place for it. One it keeps stays silent: it waits for a request.
fn closed_at_once(mut stream: &std::net::TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    match stream.read(&mut [0u8; 1]) {
        Ok(read) => read == 0,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

/// A 20 MB upload without credentials is answered 401 from its headers: the server
/// never waits for (or reads) the body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_body_is_read_before_the_login() {
    let db = TestDb::sqlite().await;
    let (app, _token) = app_with_token(&db, |_| {}).await;
    let address = app.address.clone();
    let response = tokio::task::spawn_blocking(move || {
        exchange(
            &address,
            b"POST /admin/api/inbound HTTP/1.1\r\nHost: x\r\nContent-Length: 20000000\r\n\r\nFrom: only the start",
            Duration::from_secs(10),
        )
    })
    .await
    .unwrap();
    let response = response.expect("answered without the body");
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    // With the right token, a body over the limit is refused as it is read.
    let big = vec![b'x'; 1024 * 1024 + 10];
    let other = TestDb::sqlite().await;
    let (small, token) = app_with_token(&other, |s| s.inbound_max_size = 1024 * 1024).await;
    let refused = reqwest::Client::new()
        .post(inbound_url(&small))
        .bearer_auth(token)
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 413);
    assert!(small.store.list_inbound(None, 10).await.unwrap().is_empty());
    // The refused post is in the log as the token's all the same.
    let log = small.store.audit_log(10).await.unwrap();
    assert!(
        log.iter().any(|e| e.action == "inbound.api_post"
            && e.actor == "api:Postmottak"
            && e.detail.as_deref().is_some_and(|d| d.contains("for stor"))),
        "{log:#?}"
    );
}

/// Half-sent headers, or a body that trickles in, are cut off by the timeouts; more
/// connections than `http_max_connections` are closed at once; the service stays up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_surplus_connections_are_cut_off() {
    let db = TestDb::sqlite().await;
    let (app, _token) = app_with_token(&db, |s| {
        s.http_header_timeout = 1.5;
        s.http_body_timeout = 1.0;
        s.http_max_connections = 3;
    })
    .await;
    let address = app.address.clone();
    let results = tokio::task::spawn_blocking(move || {
        // Headers never finished: closed after the header timeout, no answer.
        let half = exchange(&address, b"POST /admin/api/inbound HTTP/1.1\r\nHost: x\r\n", Duration::from_secs(10));
        // A body promised and never sent, to a page that reads it: refused, closed.
        let slow_body = exchange(
            &address,
            b"POST /subscribe HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nemail=",
            Duration::from_secs(10),
        );
        // Three idle connections take every place; a fourth is closed at once.
        let held = hold_every_place(&address);
        let surplus = exchange(&address, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n", Duration::from_secs(2));
        drop(held);
        // Once they are gone, all is well.
        let after = common::eventually_blocking("served again", Duration::from_secs(5), || {
            let answer = exchange(
                &address,
                b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                Duration::from_secs(5),
            );
            match answer {
                Some(answer) if !answer.is_empty() => Ok(answer),
                closed => Err(closed),
            }
        });
        (half, slow_body, surplus, after)
    })
    .await
    .unwrap();
    let (half, slow_body, surplus, after) = results;
    assert_eq!(
        half.as_deref(),
        Some(""),
        "closed without an answer: {half:?}"
    );
    let slow_body = slow_body.expect("answered, then closed");
    assert!(
        slow_body.starts_with("HTTP/1.1 400") || slow_body.starts_with("HTTP/1.1 408"),
        "{slow_body}"
    );
    assert_eq!(surplus.as_deref(), Some(""), "closed at once: {surplus:?}");
    assert!(after.starts_with("HTTP/1.1 200"), "{after}");
}
