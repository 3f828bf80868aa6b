//! Staff operations: every rule a staff action follows, one module per area, for the
//! command line and the web admin alike.
//!
//! A front end parses its input into domain types, calls one operation, and renders
//! the result or the error; operations call the store; only the store writes SQL.
//! Operations take the acting staff member (`Actor`) so the store records who did it,
//! and their errors say what went wrong in words a user can act on. Nothing here knows
//! of clap, axum, terminals or HTML; hints that name a command or a page belong to the
//! front end.

pub mod api_tokens;
pub mod archive;
pub mod audit;
pub mod backup;
pub mod contact_refusals;
pub mod contacts;
pub mod dashboard;
pub mod doctor;
pub mod health;
pub mod imports;
pub mod inbound;
pub mod issues;
pub mod links;
pub mod metrics;
pub mod privacy;
pub mod publications;
pub mod retention;
pub mod sessions;
pub mod staff;
pub mod staff_settings;
pub mod subscriptions;
pub mod token_key_file;

pub use api_tokens::{ApiAuthError, ApiTokenError, ApiTokens, NewApiToken};
pub use archive::{Archive, ArchiveError};
pub use audit::AuditLog;
pub use backup::{BackupError, BackupMade, Backups, Restored};
pub use contacts::{
    Added, ContactError, ContactField, ContactListing, ContactRefusal, Contacts, Refusals,
};
pub use dashboard::{Dashboard, IssueLine, Overview, Progress, Warning};
pub use inbound::{InboundMail, InboundOpsError, InboundRecord};
pub use issues::{
    ApprovalBar, DOCX_REPORT_ACTION, DocxImported, DraftImported, IssueError, IssueField, Issues,
    PREVIEW_EMAIL, Preview, SendRequested, SendStatus,
};
pub use links::{LinkChecker, LinkReport, LinkState};
pub use privacy::{DataController, ORGANISATION_NAME, PersonalData, PersonalDocument};
pub use retention::{Retention, RetentionRules, RetentionRun};
pub use sessions::{NewSession, SecondFactorDue, Session, Sessions};
pub use staff::{
    AccountSaved, Enrolment, FirstAccountError, FirstAccountForm, LoginError, NewAccount,
    OwnerTold, Reauth, SecondFactorError, Staff, StaffError,
};
pub use subscriptions::{
    ComeBack, LeaveDone, LeaveScope, LeaveToken, PreferencesError, PreferencesView, Subscriptions,
    masked_address, ticked_choice,
};
