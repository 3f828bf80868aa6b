//! nyhetsbrev: a newsletter contact list, issue rendering and sending, for KOM.
//!
//! See ARCHITECTURE.md for the map of the modules and the rules they keep.

/// `From<Cause>` for an error variant that writes its cause into its own message, for
/// errors that do not also give it as their `source` (which would print it twice).
#[macro_export]
macro_rules! from_cause {
    ($cause:ty => $error:ident :: $variant:ident) => {
        impl From<$cause> for $error {
            fn from(cause: $cause) -> Self {
                $error::$variant(cause)
            }
        }
    };
}

pub mod auth;
pub mod cli;
pub mod config;
pub mod contact_csv;
pub mod dispatch;
pub mod docx;
pub mod domain;
pub mod inbound;
pub mod mail;
pub mod metrics;
pub mod notices;
pub mod ops;
pub mod render;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod web;
