//! What every staff page shares: the frame around it (who is signed in, the sign-out
//! button with its CSRF token, a notice after a change), the page for a refusal, and
//! the admin's stylesheet and script.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::guard::StaffUser;
use super::menu::{MenuItem, Place, menu};

// Times are the domain's (ops mails them too); pages name them from here.
pub use crate::domain::{from_oslo_local, oslo_time};

/// The frame of a staff page.
pub struct Chrome {
    pub user: String,
    pub csrf: String,
    /// A line saying what the last change did (after a redirect), if any.
    pub notice: Option<&'static str>,
    /// Where the page is, for the menu to mark.
    pub place: Place,
}

impl Chrome {
    pub fn new(user: &StaffUser, notice: Option<&'static str>) -> Self {
        Self {
            user: user.session.username.clone(),
            csrf: user.session.csrf_token.clone(),
            notice,
            place: user.place,
        }
    }

    /// The menu, with this page's place marked.
    pub fn menu(&self) -> Vec<MenuItem> {
        menu(self.place)
    }

    /// Whether this is a page of one's own account (the «Innlogget som» link is marked).
    pub fn on_own_account(&self) -> bool {
        self.place == Place::OwnAccount
    }
}

#[derive(Template)]
#[template(path = "admin/problem.html")]
struct ProblemPage<'a> {
    title: &'a str,
    message: &'a str,
}

/// A refusal or failure, in words: never a stack trace or a database message.
pub fn problem_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = ProblemPage { title, message }
        .render()
        .unwrap_or_else(|_| title.to_owned());
    (status, Html(body)).into_response()
}

/// The page, or a plain failure page if the template cannot be rendered.
pub fn render(page: impl Template) -> Response {
    match page.render() {
        Ok(body) => Html(body).into_response(),
        Err(e) => failure(&e),
    }
}

/// Something went wrong that staff cannot fix (the database, say): the cause goes to
/// the log, the page says what to do.
pub fn failure(cause: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %cause, "staff page failed");
    problem_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Noe gikk galt",
        "Tjenesten klarte ikke å gjøre dette akkurat nå. Ingenting er endret hvis du ikke fikk beskjed om det. Prøv igjen om litt; hjelper ikke det, si fra til den som drifter tjenesten.",
    )
}

/// A stored actor (`web:kari`, `api:Postmottak`, `worker`) as staff read it: see
/// [`crate::domain::Actor::norwegian`].
pub fn actor_words(actor: &str) -> String {
    crate::domain::Actor::parse(actor).norwegian()
}

/// Text from outside (a name, a subject, an address) as a page shows it: bidirectional
/// marks and overrides, which can make text read other than it is, become a visible
/// replacement character. Askama escapes the rest.
pub fn shown(text: &str) -> String {
    text.chars()
        .map(|c| {
            if crate::domain::is_direction_override(c) || (c.is_control() && c != '\n' && c != '\t')
            {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

/// Numbers and counted nouns as staff read them (`12 345`, «1 utsending»): one
/// helper for pages and the audit log's sentences alike.
pub use crate::domain::{count, grouped};

/// GET /static/admin.css
pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../../static/admin.css"),
    )
}

/// GET /static/admin.js: only an enhancement (live counts); every page works without.
pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../../static/admin.js"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_overrides_are_shown_not_obeyed() {
        assert_eq!(shown("Kari \u{202e}fdp.exe"), "Kari \u{fffd}fdp.exe");
        assert_eq!(shown("Åse <b>"), "Åse <b>");
    }

    #[test]
    fn numbers_are_grouped_as_in_norwegian() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1\u{a0}000");
        assert_eq!(grouped(1_234_567), "1\u{a0}234\u{a0}567");
    }
}
