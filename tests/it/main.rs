//! The integration tests, as one test program: every module below was a test binary of
//! its own, each linking the whole library. `common` holds the shared set-up and comes
//! first, so that its macros (`on_both_backends!`) are in scope in every module after it.

#[macro_use]
mod common;

mod api_tokens;
mod audit_words;
mod browser;
mod browser_admin;
mod browser_contacts;
mod browser_first_start;
mod browser_innsyn;
mod browser_not_found;
mod browser_phone;
mod cli;
mod deploy;
mod dispatch;
mod dispatch_processes;
mod docs;
mod doctor;
mod docx;
mod first_start;
mod imap;
mod import;
mod inbound;
mod issues;
mod link_check;
mod message;
mod new_installation;
mod notice_budgets;
mod operations;
mod ops;
mod publications;
mod render;
mod schema;
mod sessions;
mod smtp_dots;
mod smtp_tls;
mod staff_names;
mod staff_settings;
mod staff_trust;
mod store;
mod subscribe;
mod upgrade;
mod web;
mod web_accounts;
mod web_admin;
mod web_contacts;
mod web_help;
mod web_innsyn;
mod web_preferences;
mod web_staff;
mod web_subscribe;
mod web_unsubscribe;
