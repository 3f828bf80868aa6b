//! What a URL's path names (an issue's slug, a message's number, a link's token), read
//! by its own type before the handler runs.
//!
//! Each extractor here is for a route with one path parameter. A parameter that cannot
//! be what the route names (`../`, capitals, `0`, bytes that are no UTF-8) is refused
//! with the 404 page the handler itself gives for something that does not exist: in
//! bokmål, never the framework's English refusal, and never telling a malformed name
//! from an unknown one. The public extractors are here; the staff pages' are in
//! `staff/path.rs`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::error::AppError;
use crate::domain::{Slug, TokenSecret};

/// `pub struct $name(pub $ty)`, extracted from a route's one path parameter by
/// `$parse` (`&str -> Option<$ty>`), refused with `$missing::$variant`.
macro_rules! path_extractor {
    ($(#[$doc:meta])* $name:ident($ty:ty) = $parse:expr, else $missing:ident::$variant:ident) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name(pub $ty);

        impl<S: Send + Sync> axum::extract::FromRequestParts<S> for $name {
            type Rejection = $missing;

            async fn from_request_parts(
                parts: &mut axum::http::request::Parts,
                state: &S,
            ) -> Result<Self, $missing> {
                let parse: fn(&str) -> Option<$ty> = $parse;
                $crate::web::path::segment(parts, state)
                    .await
                    .as_deref()
                    .and_then(parse)
                    .map($name)
                    .ok_or($missing::$variant)
            }
        }
    };
}
pub(super) use path_extractor;

/// The route's one path parameter, percent-decoded; `None` if it is no UTF-8 text.
pub(super) async fn segment<S: Send + Sync>(
    parts: &mut axum::http::request::Parts,
    state: &S,
) -> Option<String> {
    use axum::extract::FromRequestParts;
    axum::extract::Path::<String>::from_request_parts(parts, state)
        .await
        .ok()
        .map(|axum::extract::Path(raw)| raw)
}

/// What a public URL named that cannot exist: each is the page the handler gives for a
/// page or link it does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// An archive page or feed: the public "Fant ikke siden".
    ArchivePage,
    /// A confirmation link: "Lenken virker ikke", with the way to sign up again.
    ConfirmLink,
    /// A leave or preferences link: "Lenken virker ikke", with the way to write to us.
    LeaveLink,
}

impl IntoResponse for Missing {
    fn into_response(self) -> Response {
        match self {
            Missing::ArchivePage => AppError::NotFound.into_response(),
            Missing::ConfirmLink => super::subscribe::invalid_link_page(StatusCode::NOT_FOUND),
            Missing::LeaveLink => super::unsubscribe::invalid_link_page(StatusCode::NOT_FOUND),
        }
    }
}

path_extractor!(
    /// `/arkiv/{slug}`: a publication's or an issue's slug (every publication slug is
    /// also a well-formed issue slug, and the two never coincide).
    ArchiveSlugPath(Slug) = |raw| Slug::parse(raw).ok(),
    else Missing::ArchivePage
);

path_extractor!(
    /// `/bekreft/{token}`: a confirmation link's secret, as it was made.
    ConfirmTokenPath(TokenSecret) = TokenSecret::parse,
    else Missing::ConfirmLink
);

path_extractor!(
    /// `/avmeld/{token}`, `/innstillinger/{token}`: the text of a personal link. Only
    /// the token key can tell whether it is one (`Subscriptions::leave_token`), so the
    /// handler does; this refuses only what is no text at all.
    LeaveLinkPath(String) = |raw| Some(raw.to_owned()),
    else Missing::LeaveLink
);
