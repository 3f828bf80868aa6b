//! nyhetsbrev: a newsletter contact list, issue rendering and sending, for KOM.
//!
//! See ARCHITECTURE.md for the map of the modules and the rules they keep.

pub mod auth;
pub mod cli;
pub mod config;
pub mod contact_csv;
pub mod dispatch;
pub mod domain;
pub mod inbound;
pub mod mail;
pub mod notices;
pub mod render;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod web;
