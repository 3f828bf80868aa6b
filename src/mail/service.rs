//! The service's own mails, one to one address: the double opt-in confirmation, the
//! leave link for an unverified request by mail, and the notice to a staff account's
//! owner. Each is text (and HTML) from a template, signed and sent through [`Outgoing`].

use lettre::message::Mailbox;
use lettre::message::header;

use super::{MailError, Outgoing, SendError, Sender, header_address};
use crate::domain::EmailAddress;

/// Sends double opt-in mails and leave links: everything such a mail needs, shared by
/// the web form and requests by mail (through the notice queue).
#[derive(Clone)]
pub struct ConfirmationMailer {
    pub outgoing: Outgoing,
    /// Public URL the link starts with.
    pub base_url: String,
    /// How long a link works.
    pub valid_days: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfirmationError {
    #[error(transparent)]
    Build(#[from] MailError),
    #[error("could not send mail: {0}")]
    Send(SendError),
}

impl ConfirmationMailer {
    /// The mailer sending as staff have set (name, address, signature).
    pub fn with_staff(&self, staff: &crate::domain::StaffSettings) -> ConfirmationMailer {
        let mut mailer = self.clone();
        mailer.outgoing.sender = self.outgoing.sender.with_staff(staff);
        mailer
    }

    /// How long a link works, in milliseconds.
    pub fn valid_ms(&self) -> i64 {
        i64::from(self.valid_days) * 24 * 3600 * 1000
    }

    /// Mails `to` the link for `secret`.
    pub async fn send(
        &self,
        to: &EmailAddress,
        secret: &crate::domain::TokenSecret,
    ) -> Result<(), ConfirmationError> {
        let url = format!("{}/bekreft/{}", self.base_url, secret.as_str());
        let message =
            confirmation_message(&self.outgoing.sender, to, &url, i64::from(self.valid_days))?;
        self.outgoing.send_one(to, &message).await
    }

    /// Mails `to` a leave link for `secret` (the one-button unsubscribe page).
    pub async fn send_leave_link(
        &self,
        to: &EmailAddress,
        secret: &crate::domain::TokenSecret,
    ) -> Result<(), ConfirmationError> {
        let url = format!("{}/avmeld/{}", self.base_url, secret.as_str());
        let message = leave_link_message(&self.outgoing.sender, to, &url)?;
        self.outgoing.send_one(to, &message).await
    }
}

#[derive(askama::Template)]
#[template(path = "mail/leave.txt")]
struct LeaveText<'a> {
    email: &'a str,
    signature: &'a str,
    short_name: &'a str,
    leave_url: &'a str,
}

#[derive(askama::Template)]
#[template(path = "mail/leave.html")]
struct LeaveHtml<'a> {
    email: &'a str,
    signature: &'a str,
    short_name: &'a str,
    leave_url: &'a str,
}

/// The mail that answers an unverified request to leave: a link only the address's
/// owner can follow, text and HTML.
pub fn leave_link_message(
    sender: &Sender,
    to: &EmailAddress,
    leave_url: &str,
) -> Result<Vec<u8>, MailError> {
    use askama::Template;
    let render_failed = |e: askama::Error| MailError::Build(e.to_string());
    let text = LeaveText {
        email: to.as_str(),
        signature: &sender.signature(),
        short_name: &sender.organisation_short_name,
        leave_url,
    }
    .render()
    .map_err(render_failed)?;
    let html = LeaveHtml {
        email: to.as_str(),
        signature: &sender.signature(),
        short_name: &sender.organisation_short_name,
        leave_url,
    }
    .render()
    .map_err(render_failed)?;
    two_part_message(
        sender,
        to,
        &format!(
            "Vil du melde deg av {}s kontaktliste?",
            sender.organisation_short_name
        ),
        text,
        html,
    )
}

#[derive(askama::Template)]
#[template(path = "mail/account_changed.txt")]
struct AccountChangedText<'a> {
    username: &'a str,
    what: &'a str,
    when: &'a str,
    by: &'a str,
    next: &'a str,
}

/// What someone else changed on a staff account, for the mail to its owner.
#[derive(Debug, Clone, Copy)]
pub struct AccountChangedNotice<'a> {
    pub username: &'a str,
    /// «Passordet er endret», «Tofaktor er nullstilt».
    pub what: &'a str,
    /// When, in Norwegian time.
    pub when: &'a str,
    /// Who did it.
    pub by: &'a str,
    /// What the owner does now.
    pub next: &'a str,
}

/// The plain-text mail that tells a staff account's owner that someone else set its
/// password or reset its second factor.
pub fn account_changed_message(
    sender: &Sender,
    to: &EmailAddress,
    notice: &AccountChangedNotice<'_>,
) -> Result<Vec<u8>, MailError> {
    use askama::Template;
    let text = AccountChangedText {
        username: notice.username,
        what: notice.what,
        when: notice.when,
        by: notice.by,
        next: notice.next,
    }
    .render()
    .map_err(|e| MailError::Build(e.to_string()))?;
    let from = Mailbox::new(
        Some(sender.from_name.clone()),
        header_address(&sender.from_address)?,
    );
    let message = lettre::Message::builder()
        .from(from)
        .to(Mailbox::new(None, header_address(to)?))
        .subject(format!(
            "{} for kontoen din i Nyhetsbrev fra KOM",
            notice.what
        ))
        .header(header::ContentType::TEXT_PLAIN)
        .body(text)
        .map_err(|e| MailError::Build(e.to_string()))?;
    Ok(message.formatted())
}

/// A text + HTML mail from the service to one address.
fn two_part_message(
    sender: &Sender,
    to: &EmailAddress,
    subject: &str,
    text: String,
    html: String,
) -> Result<Vec<u8>, MailError> {
    use lettre::message::MultiPart;
    let from = Mailbox::new(
        Some(sender.from_name.clone()),
        header_address(&sender.from_address)?,
    );
    let message = lettre::Message::builder()
        .from(from)
        .to(Mailbox::new(None, header_address(to)?))
        .subject(subject)
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| MailError::Build(e.to_string()))?;
    Ok(message.formatted())
}

#[derive(askama::Template)]
#[template(path = "mail/confirm.txt")]
struct ConfirmText<'a> {
    email: &'a str,
    signature: &'a str,
    short_name: &'a str,
    organisation: &'a str,
    confirm_url: &'a str,
    valid_days: i64,
}

#[derive(askama::Template)]
#[template(path = "mail/confirm.html")]
struct ConfirmHtml<'a> {
    email: &'a str,
    signature: &'a str,
    short_name: &'a str,
    organisation: &'a str,
    confirm_url: &'a str,
    valid_days: i64,
}

/// The mail that asks the address owner to confirm (double opt-in), text and HTML.
pub fn confirmation_message(
    sender: &Sender,
    to: &EmailAddress,
    confirm_url: &str,
    valid_days: i64,
) -> Result<Vec<u8>, MailError> {
    use askama::Template;
    let render_failed = |e: askama::Error| MailError::Build(e.to_string());
    let text = ConfirmText {
        email: to.as_str(),
        signature: &sender.signature(),
        short_name: &sender.organisation_short_name,
        organisation: &sender.organisation_name,
        confirm_url,
        valid_days,
    }
    .render()
    .map_err(render_failed)?;
    let html = ConfirmHtml {
        email: to.as_str(),
        signature: &sender.signature(),
        short_name: &sender.organisation_short_name,
        organisation: &sender.organisation_name,
        confirm_url,
        valid_days,
    }
    .render()
    .map_err(render_failed)?;
    two_part_message(
        sender,
        to,
        &format!(
            "Bekreft påmeldingen til {}s kontaktliste",
            sender.organisation_short_name
        ),
        text,
        html,
    )
}

// The cause is part of the message, not a `source`: an error chain printed with
// `{:#}` names it once.
crate::from_cause!(SendError => ConfirmationError::Send);
