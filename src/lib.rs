//! nyhetsbrev: a newsletter contact list, issue rendering and sending, for KOM.
//!
//! See ARCHITECTURE.md for the map of the modules and the rules they keep.

pub mod config;
pub mod domain;
pub mod store;
