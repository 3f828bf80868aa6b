//! What a staff page's URL names, read by its own type before the handler runs (see
//! `web/path.rs`): a malformed slug or number gets the same 404 page in the staff
//! layout as one that names nothing.
//!
//! The extractor comes after the session guard among a GET handler's arguments (a
//! visitor who is not signed in is sent to the sign-in page, whatever the URL); a POST's
//! guard reads the body, so it comes last, and a malformed URL is a 404 before it.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::page::problem_page;
use crate::domain::{ContactId, InboundId, PublicationSlug, Slug, TokenSecret};
use crate::web::path::path_extractor;

/// What a staff URL named that does not exist: the page says what, and where to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Issue,
    Publication,
    InboundMessage,
    Contact,
    Import,
    Account,
}

impl Missing {
    /// The 404 page's title and words: written here once, for the extractors and for
    /// the pages that find the row gone after the URL was read.
    pub fn words(self) -> (&'static str, &'static str) {
        match self {
            Missing::Issue => (
                "Fant ikke utgaven",
                "Det finnes ingen utgave med dette kortnavnet. Gå til listen over utgaver.",
            ),
            Missing::Publication => (
                "Fant ikke publikasjonen",
                "Det finnes ingen publikasjon med dette kortnavnet. Se listen over publikasjoner.",
            ),
            Missing::InboundMessage => (
                "Fant ikke e-posten",
                "Det finnes ingen lagret e-post med dette nummeret. Kanskje er den slettet sammen med avsenderen.",
            ),
            Missing::Contact => (
                "Fant ikke kontakten",
                "Det finnes ingen kontakt med dette nummeret. Kanskje er den slettet, eller lenken er feil. Søk etter personen i kontaktlisten.",
            ),
            Missing::Import => (
                "Fant ikke importen",
                "Denne importen finnes ikke (lenger), eller den er ikke din. Last opp filen på nytt.",
            ),
            Missing::Account => (
                "Fant ikke kontoen",
                "Det finnes ingen konto med dette brukernavnet. Se listen over kontoer.",
            ),
        }
    }
}

impl IntoResponse for Missing {
    fn into_response(self) -> Response {
        let (title, message) = self.words();
        problem_page(StatusCode::NOT_FOUND, title, message)
    }
}

path_extractor!(
    /// `/admin/issues/{slug}…`
    IssueSlugPath(Slug) = |raw| Slug::parse(raw).ok(),
    else Missing::Issue
);

path_extractor!(
    /// `/admin/publications/{slug}`
    PublicationSlugPath(PublicationSlug) = |raw| PublicationSlug::parse(raw).ok(),
    else Missing::Publication
);

path_extractor!(
    /// `/admin/inbound/{id}…`
    InboundIdPath(InboundId) = InboundId::parse,
    else Missing::InboundMessage
);

path_extractor!(
    /// `/admin/contacts/{id}…`
    ContactIdPath(ContactId) = ContactId::parse,
    else Missing::Contact
);

path_extractor!(
    /// `/admin/contacts/import/{token}…`: the job's secret, as it was made.
    ImportTokenPath(TokenSecret) = TokenSecret::parse,
    else Missing::Import
);

path_extractor!(
    /// `/admin/staff/{name}/…`: any text; whether an account has that name, and whether
    /// the one asking may change it, is the operation's to say (on the staff page).
    AccountNamePath(String) = |raw| Some(raw.to_owned()),
    else Missing::Account
);
