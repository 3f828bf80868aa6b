//! A staff member in the web admin, driven over HTTP as a browser would: the session
//! cookie kept by hand (so tests can also forge, swap and drop it), the CSRF token read
//! from the page's forms, `Origin` set to the app's own.

use nyhetsbrev::config::Settings;
use nyhetsbrev::store::Actor;

use super::{TestApp, TestDb};

pub const STAFF_PASSWORD: &str = "et langt passord for stab";

/// Adds a staff account through the same operation as `nyhetsbrev staff add`.
pub async fn add_staff(store: &nyhetsbrev::store::Store, name: &str) {
    nyhetsbrev::ops::Staff::new(store.clone())
        .set_account(name, STAFF_PASSWORD, &Actor::parse("cli:test"))
        .await
        .expect("staff account");
}

/// Adds an administrator through the same operation as `nyhetsbrev staff add --admin`,
/// with `email` as the address its owner is told at.
pub async fn add_admin(store: &nyhetsbrev::store::Store, name: &str, email: Option<&str>) {
    nyhetsbrev::ops::Staff::new(store.clone())
        .set_account_from_shell(name, STAFF_PASSWORD, true, email, &Actor::parse("cli:test"))
        .await
        .expect("staff account");
}

/// Adds an account that is not an administrator (`staff add --email`) unless it is the
/// first one.
pub async fn add_staff_with_email(store: &nyhetsbrev::store::Store, name: &str, email: &str) {
    nyhetsbrev::ops::Staff::new(store.clone())
        .set_account_from_shell(
            name,
            STAFF_PASSWORD,
            false,
            Some(email),
            &Actor::parse("cli:test"),
        )
        .await
        .expect("staff account");
}

/// The app as staff use it, with the first account, `kari` (an administrator): its
/// `base_url` is its own address (the staff pages take changes only from pages of
/// `base_url`), and with no relay its mail goes to the outbox.
pub async fn staff_app(db: &TestDb) -> TestApp {
    staff_app_with(db, super::test_settings(db)).await
}

/// [`staff_app`] with these settings.
pub async fn staff_app_with(db: &TestDb, settings: Settings) -> TestApp {
    let app = super::spawn_app_at_own_address(db, settings, None).await;
    add_staff(&app.store, "kari").await;
    app
}

/// [`staff_app`] with these settings, sending through an in-process SMTP sink
/// (`app.sink`).
pub async fn staff_app_relaying(db: &TestDb, mut settings: Settings) -> TestApp {
    let sink = super::smtp_sink::SmtpSink::start().await;
    settings.smtp_url = Some(sink.url().into());
    let app = super::spawn_app_at_own_address(db, settings, Some(sink)).await;
    add_staff(&app.store, "kari").await;
    app
}

/// Signs `name` in with `password` through the login form: the session cookie, or the
/// status of the refusal.
pub async fn sign_in(app: &TestApp, name: &str, password: &str) -> Result<String, u16> {
    let response = http()
        .post(format!("{}/admin/login", app.address))
        .header("origin", &app.address)
        .form(&[("username", name), ("password", password)])
        .send()
        .await
        .unwrap();
    match set_cookie(&response) {
        Some((cookie, _)) if response.status() == 303 => Ok(cookie),
        _ => Err(response.status().as_u16()),
    }
}

/// An HTTP client that follows no redirects: tests look at each 303.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub struct StaffClient {
    pub http: reqwest::Client,
    pub base: String,
    /// The session cookie's value.
    pub cookie: String,
    /// The CSRF token of the session.
    pub csrf: String,
}

/// The session cookie a response sets: its value and its whole `Set-Cookie` line.
pub fn set_cookie(response: &reqwest::Response) -> Option<(String, String)> {
    let line = response
        .headers()
        .get("set-cookie")?
        .to_str()
        .ok()?
        .to_owned();
    let value = line
        .strip_prefix(&format!("{}=", nyhetsbrev::web::staff::SESSION_COOKIE))?
        .split(';')
        .next()?
        .to_owned();
    Some((value, line))
}

/// The first `name="csrf"` value on a page.
pub fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token");
    page[at + 19..].split('"').next().unwrap().to_owned()
}

impl StaffClient {
    /// Signs `name` in through the login form.
    pub async fn log_in(base: &str, name: &str) -> StaffClient {
        let http = http();
        let response = http
            .post(format!("{base}/admin/login"))
            .header("origin", base)
            .form(&[("username", name), ("password", STAFF_PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "signed in");
        let (cookie, _) = set_cookie(&response).expect("a session cookie");
        StaffClient::for_session(base, cookie)
            .with_csrf_from("/admin")
            .await
    }

    /// A client for the session of `cookie`, with no CSRF token yet (a session that
    /// has passed the password only opens no page with a form but the next step's).
    pub fn for_session(base: &str, cookie: String) -> StaffClient {
        StaffClient {
            http: http(),
            base: base.to_owned(),
            cookie,
            csrf: String::new(),
        }
    }

    /// This client with the CSRF token read from the page at `path`.
    pub async fn with_csrf_from(mut self, path: &str) -> StaffClient {
        let page = self.get_ok(path).await;
        self.csrf = csrf_of(&page);
        self
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .header(
                "cookie",
                format!("{}={}", nyhetsbrev::web::staff::SESSION_COOKIE, self.cookie),
            )
            .send()
            .await
            .unwrap()
    }

    /// The page's text, checked to be a 200.
    pub async fn get_ok(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.text().await.unwrap()
    }

    /// A form POST with the session's token and the app's own Origin.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = vec![("csrf", &self.csrf)];
        form.extend_from_slice(fields);
        self.post_raw(path, &form, Some(&self.base)).await
    }

    /// A form POST that manages an account: with the acting person's own password
    /// typed again («Ditt passord»), as an administrator's forms send it.
    pub async fn post_reauth(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("my_password", STAFF_PASSWORD));
        self.post(path, &form).await
    }

    /// A form POST exactly as given: the caller chooses the token and the Origin.
    pub async fn post_raw(
        &self,
        path: &str,
        form: &[(&str, &str)],
        origin: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(
                "cookie",
                format!("{}={}", nyhetsbrev::web::staff::SESSION_COOKIE, self.cookie),
            )
            .form(form);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send().await.unwrap()
    }
}

/// Where a redirect points.
pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// A multipart/form-data body of `(name, file name, bytes)` parts: its content type and
/// the body.
pub fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----nyhetsbrevtest7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(file) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The code an authenticator app shows for `secret` (base32, spaces allowed) at
/// `offset` seconds from now.
pub fn totp_code(secret: &str, offset: i64) -> String {
    let secret: String = secret.chars().filter(|c| !c.is_whitespace()).collect();
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(&secret).unwrap())
        .build()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    totp.generate((now + offset) as u64).to_string()
}
