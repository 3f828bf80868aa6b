//! Validated domain types. Parse, don't validate: a value of one of these types is valid
//! by construction, so code that receives one never checks it again.

mod api_token;
mod audit;
mod audit_detail;
mod contact;
mod email;
mod identity;
mod ids;
mod ip_block;
mod issue;
mod key;
mod oslo;
mod publication;
mod status;
mod text;
mod timestamp;
mod token;
mod words;

pub use api_token::{API_ACTOR_PREFIX, ApiScope, ApiSecret, ApiTokenName};
pub use audit::{
    Actor, ActorKind, AuditAction, LoggedAction, MailDoor, RecipientDoor, ServiceTask, StaffDoor,
};
pub use audit_detail::{AuditDetail, subject_words};
pub use contact::{
    CONSENT_CLOCK_GRACE_MS, ChangeError, Consent, ConsentPart, ConsentProblem, ConsentSource,
    Contact, ContactChanges, ContactStatus, NewContact, UnknownConsentSource, UnknownStatus,
};
pub use email::{EmailAddress, EmailError, MAX_EMAIL_LEN};
pub use identity::{
    DEFAULT_ORGANISATION_NAME, DEFAULT_ORGANISATION_SHORT_NAME, FooterBlock, FooterNames,
    FooterText, FooterTexts, Identity, IdentityError, IdentityField, IdentityName,
    PublicationFooter, StaffSettings, signature,
};
pub use ids::{ContactId, DeliveryId, InboundId, IssueId, PublicationId};
pub use ip_block::{IpBlock, canonical as canonical_ip};
pub use issue::{Block, CallToAction, Inline, Issue, IssueMeta, Item, Section, Slug, dashed_words};
pub use key::{HOW_TO_MAKE_A_KEY, KeyError, LeaveLink, MIN_KEY_CHARS, SEALED_PREFIX, TokenKey};
pub use oslo::{MONTHS, from_oslo_local, oslo_time, oslo_time_written};
pub use publication::{
    DEFAULT_PUBLICATION, NewPublication, Publication, PublicationChanges, PublicationChoice,
    PublicationDescription, PublicationError, PublicationKind, PublicationName, PublicationSlug,
    Subscription,
};
pub use status::{DeliveryStatus, InboundKind, NoticePurpose, NoticeStatus};
pub use text::{
    ConsentNote, ContactName, Organisation, TextError, is_bidi_control, is_direction_override,
};
pub use timestamp::{BadDate, Timestamp};
pub use token::{TokenHash, TokenSecret};
pub use words::{count, grouped, listed, plural, sentence_case};
