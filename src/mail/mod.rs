//! Building the personal message for each recipient.
//!
//! Everything that is the same for every recipient is encoded once per issue in
//! [`PreparedIssue`]: the static headers, and both parts as quoted-printable with CRLF
//! line ends. Each literal run of a part ends in a soft line break, so a personal value
//! (address, unsubscribe link) starts at column 0 and is encoded on its own. A message
//! is then a few short headers and concatenation: no 70 KB re-encoding per recipient.

use lettre::message::header::{self, Headers};
use lettre::message::{Mailbox, Mailboxes};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

use crate::domain::ContactId;
use crate::domain::{ContactName, EmailAddress, Issue, Publication, TokenKey};
use crate::render::{Personal, RenderedIssue, Segment, Slot};

/// Who the mail is from and how the list is named.
#[derive(Debug, Clone)]
pub struct Sender {
    /// The `From` address.
    pub from_address: EmailAddress,
    /// The `From` display name, e.g. "KOM".
    pub from_name: String,
    /// `List-Id` value without brackets, e.g. `nyhetsbrev.example.org`.
    pub list_id: String,
    /// Where mailto-unsubscribe requests go (`List-Unsubscribe: <mailto:…>`).
    pub unsubscribe_mailbox: EmailAddress,
    /// The organisation's name, in the service's own mails: «Koordineringsenheten …».
    pub organisation_name: String,
    /// Its short name: «KOMs kontaktliste».
    pub organisation_short_name: String,
}

impl Sender {
    /// The sender with what staff have set over it: name, address, the organisation's
    /// names. An address staff chose in another domain than the file's is not used:
    /// mail is signed and allowed for the file's domain only (the operator may have
    /// moved it since).
    pub fn with_staff(&self, staff: &crate::domain::StaffSettings) -> Sender {
        let mut sender = self.clone();
        if let Some(name) = &staff.from_name {
            sender.from_name = name.as_str().to_owned();
        }
        match &staff.from_address {
            Some(address)
                if address
                    .domain()
                    .eq_ignore_ascii_case(self.from_address.domain()) =>
            {
                sender.from_address = address.clone();
            }
            Some(address) => tracing::warn!(
                staff = %address,
                file = %self.from_address,
                "the sender's address staff chose is not in the settings' domain: the settings' is used"
            ),
            None => {}
        }
        if let Some(name) = &staff.organisation_name {
            sender.organisation_name = name.as_str().to_owned();
        }
        if let Some(short) = &staff.organisation_short_name {
            sender.organisation_short_name = short.as_str().to_owned();
        }
        sender
    }

    /// How the service's own mails are signed: «KOM – Koordineringsenheten …».
    pub fn signature(&self) -> String {
        crate::domain::signature(&self.organisation_short_name, &self.organisation_name)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the address {0} cannot be used in a mail header: {1}")]
    Address(String, String),
    #[error("could not build the message: {0}")]
    Build(String),
}

/// One recipient's personal values.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    pub email: &'a EmailAddress,
    pub name: Option<&'a ContactName>,
    /// Stable per contact: with the issue it makes the Message-ID, so a duplicate can be
    /// recognised. `None` for a test copy, which goes to no contact.
    pub contact_id: Option<ContactId>,
    pub unsubscribe_url: &'a str,
    /// Their page for choosing publications (the same token as the leave link).
    pub preferences_url: &'a str,
    /// The bounce address for this message (`Return-Path`), when there is one.
    pub return_path: Option<&'a str>,
}

enum Chunk {
    /// Quoted-printable text, ending in a line break (hard or soft).
    Encoded(String),
    Slot(Slot),
}

/// An issue made ready to be sent: the per-issue work done once.
pub struct PreparedIssue {
    /// Headers that are the same for every recipient, CRLF-terminated.
    common_headers: String,
    text: Vec<Chunk>,
    html: Vec<Chunk>,
    boundary: String,
    slug: String,
    message_id_suffix: String,
    /// Makes each Message-ID's unguessable part.
    key: TokenKey,
    unsubscribe_mailto: String,
    size_hint: usize,
}

/// An address as it may stand in a header: an internationalised domain in its ASCII
/// (punycode) form, so no relay needs SMTPUTF8.
pub fn header_address(email: &EmailAddress) -> Result<lettre::Address, MailError> {
    let domain = email.domain();
    let ascii_domain = if domain.is_ascii() {
        domain.to_owned()
    } else {
        idna::domain_to_ascii(domain)
            .map_err(|e| MailError::Address(email.to_string(), e.to_string()))?
    };
    let local = &email.as_str()[..email.as_str().len() - domain.len() - 1];
    lettre::Address::new(local, ascii_domain)
        .map_err(|e| MailError::Address(email.to_string(), e.to_string()))
}

/// A publication's list identifier (RFC 2919): `<slug>.<list_id>`, so a reader's mail
/// filter can tell the court-decision overview from the newsletter.
pub fn list_id(publication: &Publication, list_id: &str) -> String {
    format!("{}.{list_id}", publication.slug)
}

/// The `List-Id` phrase: the publication's name as it is when it is plain ASCII words,
/// otherwise an RFC 2047 encoded word ("Oversikt over rettsavgjørelser").
fn list_id_phrase(name: &str) -> String {
    if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '!' | '\'' | '+'))
    {
        name.to_owned()
    } else {
        use base64::Engine;
        format!(
            "=?utf-8?b?{}?=",
            base64::engine::general_purpose::STANDARD.encode(name)
        )
    }
}

fn encode_part<'a>(segments: impl Iterator<Item = Segment<'a>>) -> Vec<Chunk> {
    segments
        .map(|segment| match segment {
            Segment::Literal(text) => Chunk::Encoded(qp_block(text)),
            Segment::Slot(slot) => Chunk::Slot(slot),
        })
        .collect()
}

/// Quoted-printable with CRLF line ends, ending in a line break: a soft one (`=`) when
/// the text does not end a line, so whatever follows starts at column 0.
fn qp_block(text: &str) -> String {
    let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
    let mut encoded = quoted_printable::encode_to_str(crlf.as_bytes());
    if !encoded.ends_with("\r\n") {
        encoded.push_str("=\r\n");
    }
    encoded
}

impl PreparedIssue {
    pub fn prepare(
        issue: &Issue,
        publication: &Publication,
        rendered: &RenderedIssue,
        sender: &Sender,
        key: &TokenKey,
    ) -> Result<Self, MailError> {
        let mut headers = Headers::new();
        let from = Mailbox::new(
            Some(sender.from_name.clone()),
            header_address(&sender.from_address)?,
        );
        headers.set(header::From::from(Mailboxes::from(from)));
        headers.set(header::Subject::from(issue.meta.subject.clone()));
        let mut common_headers = headers.to_string();
        // "=_" can never occur in a quoted-printable body, so the boundary is safe.
        let boundary = format!("=_nyhetsbrev_{}", issue.meta.slug);
        common_headers.push_str(&format!(
            "List-Id: {phrase} <{list}>\r\nPrecedence: bulk\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n",
            phrase = list_id_phrase(publication.name.as_str()),
            list = list_id(publication, &sender.list_id)
        ));
        let domain = header_address(&sender.from_address)?.domain().to_owned();
        let text = encode_part(rendered.text.segments());
        let html = encode_part(rendered.html.segments());
        let size_hint = common_headers.len()
            + [&text, &html]
                .iter()
                .flat_map(|p| p.iter())
                .map(|c| {
                    if let Chunk::Encoded(s) = c {
                        s.len()
                    } else {
                        0
                    }
                })
                .sum::<usize>()
            + 1024;
        Ok(PreparedIssue {
            common_headers,
            text,
            html,
            boundary,
            slug: issue.meta.slug.to_string(),
            message_id_suffix: format!("{}@{domain}", issue.meta.slug),
            key: key.clone(),
            unsubscribe_mailto: format!(
                "mailto:{}?subject=unsubscribe",
                header_address(&sender.unsubscribe_mailbox)?
            ),
            size_hint,
        })
    }

    /// The Message-ID (without brackets) of this issue's message to a contact: the same
    /// for every attempt, so a duplicate can be recognised, and signed with the key, so
    /// that nobody can work out another recipient's (a forged delivery report used to
    /// name a message by its predictable Message-ID).
    pub fn message_id(&self, contact_id: ContactId) -> String {
        self.message_id_to(Some(contact_id))
    }

    /// [`Self::message_id`], or a test copy's (`None`).
    fn message_id_to(&self, contact_id: Option<ContactId>) -> String {
        format!(
            "{}.{}",
            self.key.message_id_tag(&self.slug, contact_id),
            self.message_id_suffix
        )
    }

    /// The complete message for one recipient, CRLF line ends, ready for SMTP DATA or an
    /// `.eml` file.
    pub fn message(&self, to: &Recipient<'_>, date: OffsetDateTime) -> Result<Vec<u8>, MailError> {
        let mut out = String::with_capacity(self.size_hint);
        self.write_message(to, date, &mut out)?;
        Ok(out.into_bytes())
    }

    /// The same as [`PreparedIssue::message`], written over `out`: a sender reuses one
    /// buffer for message after message instead of allocating 85 KB each time. Returns
    /// the Message-ID it wrote, for the delivery's record (its HMAC is computed once).
    pub fn write_message(
        &self,
        to: &Recipient<'_>,
        date: OffsetDateTime,
        out: &mut String,
    ) -> Result<String, MailError> {
        out.clear();
        out.reserve(self.size_hint);
        if let Some(return_path) = to.return_path {
            out.push_str("Return-Path: <");
            out.push_str(return_path);
            out.push_str(">\r\n");
        }
        let mut headers = Headers::new();
        let mailbox = Mailbox::new(
            to.name.map(|n| n.as_str().to_owned()),
            header_address(to.email)?,
        );
        headers.set(header::To::from(Mailboxes::from(mailbox)));
        out.push_str(&headers.to_string());
        out.push_str(&self.common_headers);
        out.push_str("Date: ");
        out.push_str(&date.format(&Rfc2822).unwrap_or_default());
        out.push_str("\r\nMessage-ID: <");
        let message_id = self.message_id_to(to.contact_id);
        out.push_str(&message_id);
        out.push_str(">\r\nList-Unsubscribe: <");
        out.push_str(to.unsubscribe_url);
        out.push_str(">, <");
        out.push_str(&self.unsubscribe_mailto);
        out.push_str(">\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\n");

        let personal = Personal {
            email: to.email.as_str(),
            unsubscribe_url: to.unsubscribe_url,
            preferences_url: to.preferences_url,
        };
        for (content_type, chunks) in [("text/plain", &self.text), ("text/html", &self.html)] {
            out.push_str("--");
            out.push_str(&self.boundary);
            out.push_str("\r\nContent-Type: ");
            out.push_str(content_type);
            out.push_str("; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
            for chunk in chunks {
                match chunk {
                    Chunk::Encoded(text) => out.push_str(text),
                    Chunk::Slot(slot) => out.push_str(&qp_block(personal.value(*slot))),
                }
            }
        }
        out.push_str("--");
        out.push_str(&self.boundary);
        out.push_str("--\r\n");
        Ok(message_id)
    }
}

mod dkim;
mod service;
mod smtp;
mod transport;
pub use dkim::DkimSigner;
pub use service::{
    AccountChangedNotice, ConfirmationError, ConfirmationMailer, account_changed_message,
    confirmation_message, leave_link_message,
};
pub(crate) use smtp::tls_handshake;
pub use smtp::{SmtpConnection, SmtpRelay, TlsMode};
pub use transport::{Connection, Envelope, SendError, Transport};

/// What every outgoing mail needs, built once at start-up and shared by the worker, the
/// notice sender and test copies: the way out, who mail is from, the DKIM signer.
#[derive(Clone)]
pub struct Outgoing {
    pub transport: Transport,
    pub sender: Sender,
    pub dkim: Option<std::sync::Arc<DkimSigner>>,
}

impl Outgoing {
    /// The message as it goes out: with a DKIM signature in front when a signer is
    /// configured. The one place mail is signed.
    pub fn sign<'m>(&self, message: &'m [u8]) -> Result<std::borrow::Cow<'m, [u8]>, MailError> {
        match &self.dkim {
            Some(signer) => signer
                .sign(message)
                .map(std::borrow::Cow::Owned)
                .map_err(MailError::Build),
            None => Ok(std::borrow::Cow::Borrowed(message)),
        }
    }

    /// Signs the message in `buffer` in place, on the signing pool (see
    /// [`DkimSigner::sign_in_place`]), when a signer is configured: the sending path's
    /// way, which keeps the runtime's threads free for the connections.
    pub async fn sign_in_place(&self, buffer: &mut String) -> Result<(), MailError> {
        match &self.dkim {
            Some(signer) => signer.sign_in_place(buffer).await.map_err(MailError::Build),
            None => Ok(()),
        }
    }

    /// Signs and sends one service mail (not an issue) from `from_address` to `to`.
    pub async fn send_one(
        &self,
        to: &EmailAddress,
        message: &[u8],
    ) -> Result<(), ConfirmationError> {
        let message = self.sign(message)?;
        let envelope = envelope(&self.sender.from_address, to)?;
        self.transport.send(&envelope, &message).await?;
        Ok(())
    }
}

/// The envelope of a mail to one address: `MAIL FROM` is `bounce_to`.
pub fn envelope(bounce_to: &EmailAddress, to: &EmailAddress) -> Result<Envelope, MailError> {
    Ok(Envelope {
        from: Some(header_address(bounce_to)?),
        to: header_address(to)?,
    })
}
