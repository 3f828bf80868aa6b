//! The contact list for staff: find a person, read their consent and history, add,
//! edit, put a bounced address back, hand them their data, erase them.
//!
//! Each handler parses its request, calls one operation of `ops::Contacts` and renders
//! the result; the rules are the operation's, and its refusals are worded once, in
//! `super::error`.

mod add;
mod edit;
mod form;
mod innsyn;
mod list;
mod person;
mod record;

pub use add::{create, new_form};
pub use edit::{edit_form, reset_bounce, save};
pub use innsyn::{personal_data, stylesheet as document_stylesheet};
pub use list::{export_by_get, export_csv, list};
pub use person::{remove, remove_form};
pub use record::show;

use crate::domain::ContactStatus;

/// What a redirect's `melding` says, in words (never text from the request itself).
fn notice(code: &str) -> Option<&'static str> {
    Some(match code {
        "lagt-til" => "Kontakten er lagt til.",
        "lagt-til-etter-sletting" => {
            "Kontakten er lagt til. Merk: denne adressen er slettet tidligere fordi personen \
             ba om det. Legg den bare til igjen hvis personen selv har bedt om å stå på listen."
        }
        "endret" => "Endringene er lagret.",
        "tilbake" => "Kontakten står på listen igjen og får neste utgave.",
        "slettet" => {
            "Kontakten og alt som var lagret om personen, er slettet. Slettingen er ført i loggen."
        }
        _ => return None,
    })
}

/// A status as a word in the list and the form (short).
fn status_label(status: ContactStatus) -> &'static str {
    match status {
        ContactStatus::Pending => "Venter på bekreftelse",
        ContactStatus::Confirmed => "Bekreftet",
        ContactStatus::Unsubscribed => "Meldt av",
        ContactStatus::Bounced => "Avvist",
    }
}
