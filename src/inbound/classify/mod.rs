//! What an inbound message is: a request to join or leave, a bounce, an automatic
//! message, a loop, or something for staff to read. Pure: no database, no network, so the
//! fuzz target can run it on any bytes.

use mail_parser::{Message, MessageParser};

mod intent;

use super::bounce::{self, BounceReport};
use super::reason::Reason;
use crate::domain::{DeliveryId, EmailAddress, InboundKind, TokenKey};
use intent::*;

/// The service's own addresses, as they decide what a message is.
#[derive(Debug, Clone)]
pub struct OwnAddresses {
    /// `From` of everything the service sends.
    pub from: EmailAddress,
    /// Mail to this address is a request to join.
    pub join: EmailAddress,
    /// Mail to this address is a request to leave (the `List-Unsubscribe` mailto).
    pub leave: EmailAddress,
    /// Envelope sender of issues; each delivery has its `local+d<id>-<signature>@domain`
    /// variant.
    pub bounce: EmailAddress,
    /// Verifies the signature of those variants (`token_key`); without it no bounce
    /// address can be trusted.
    pub bounce_key: Option<TokenKey>,
    /// `List-Id` of the newsletter, without brackets.
    pub list_id: String,
    /// The authserv-id of the receiving server whose `Authentication-Results` header is
    /// believed (`trusted_authserv_id`); without it no sender counts as verified.
    pub trusted_authserv_id: Option<String>,
}

impl OwnAddresses {
    /// Whether `address` is one of ours, `+` variants included.
    fn is_own(&self, address: &str) -> bool {
        let base = base_address(address);
        [&self.from, &self.join, &self.leave, &self.bounce]
            .iter()
            .any(|own| own.key() == base)
    }

    /// What a per-delivery bounce address `local+d<id>-<signature>@domain` says: the
    /// delivery when the signature is right, [`BounceTag::Forged`] when the address has
    /// the shape but not the signature, `None` when it is no such address.
    pub fn bounce_tag(&self, address: &str) -> Option<BounceTag> {
        let address = address.trim().trim_matches(['<', '>']).to_lowercase();
        let (local, domain) = address.rsplit_once('@')?;
        let own = self.bounce.key();
        let (own_local, own_domain) = own.rsplit_once('@')?;
        if domain != own_domain {
            return None;
        }
        let tag = local.strip_prefix(own_local)?.strip_prefix("+d")?;
        let (id, signature) = tag.split_once('-').unwrap_or((tag, ""));
        if id.is_empty() || id.len() > 18 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Some(BounceTag::Forged);
        }
        let Some(id) = DeliveryId::parse(id) else {
            return Some(BounceTag::Forged);
        };
        match &self.bounce_key {
            Some(key) if key.verify_bounce_tag(id, signature) => Some(BounceTag::Signed(id)),
            _ => Some(BounceTag::Forged),
        }
    }
}

/// A per-delivery bounce address, read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BounceTag {
    /// Signed with our key: delivery `id`.
    Signed(DeliveryId),
    /// The shape of one, but not our signature (or no key to check it with).
    Forged,
}

/// The envelope, when the MTA passes it (a pipe's `${sender}` and `${recipient}`).
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    pub sender: Option<String>,
    pub recipient: Option<String>,
}

/// What the headers say, for the record and for staff.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub from: Option<String>,
    pub from_name: Option<String>,
    pub subject: Option<String>,
    pub message_id: Option<String>,
    /// The `Date` header as Unix milliseconds, when it is a valid date.
    pub date_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A person asks to join: mail them a confirmation link when the receiving server
    /// vouches for the sender (`authenticated`, with its evidence), else keep the
    /// request for staff, since anyone can write any `From:` and each confirmation
    /// spends the hourly budget of requests by mail.
    Subscribe {
        address: EmailAddress,
        name: Option<String>,
        /// Set when a forwarded request is taken for its original sender.
        forwarded_by: Option<String>,
        /// What the request says (subject and first lines), where it may name the one
        /// publication it asks for.
        request: String,
        authenticated: Option<String>,
    },
    /// A person asks to leave: unsubscribe the address at once when the receiving server
    /// vouches for the sender (`authenticated`, with its evidence), else mail the
    /// address a leave link, since anyone can write any `From:`.
    Unsubscribe {
        address: EmailAddress,
        authenticated: Option<String>,
    },
    Bounce(BounceReport),
    /// Auto-replies, list traffic, mail with a null sender: never answered.
    Automatic {
        reason: Reason,
    },
    /// Mail from the service itself.
    Loop {
        reason: Reason,
    },
    /// Kept for staff to read.
    Other {
        reason: Reason,
    },
    /// Not a mail message at all.
    Unreadable {
        reason: Reason,
    },
}

impl Kind {
    /// What it is recorded as.
    pub fn kind(&self) -> InboundKind {
        match self {
            Kind::Subscribe { .. } => InboundKind::Subscribe,
            Kind::Unsubscribe { .. } => InboundKind::Unsubscribe,
            Kind::Bounce(_) => InboundKind::Bounce,
            Kind::Automatic { .. } => InboundKind::Automatic,
            Kind::Loop { .. } => InboundKind::Loop,
            Kind::Other { .. } => InboundKind::Other,
            Kind::Unreadable { .. } => InboundKind::Unreadable,
        }
    }

    /// The word stored in `inbound_messages.kind`.
    pub fn as_str(&self) -> &'static str {
        self.kind().as_str()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub summary: Summary,
    pub kind: Kind,
}

/// Subjects of vacation and out-of-office replies.
const AUTO_REPLY_SUBJECTS: &[&str] = &[
    "out of office",
    "out of the office",
    "automatic reply",
    "auto reply",
    "auto-reply",
    "autoreply",
    "auto response",
    "vacation",
    "on holiday",
    "away from the office",
    "fravær",
    "fraværende",
    "fraværsmelding",
    "autosvar",
    "automatisk svar",
    "ikke til stede",
    "ikkje til stades",
    "er på ferie",
    "på ferie",
    "permisjon",
];

/// Local parts of addresses that send delivery reports.
const DAEMON_LOCALS: &[&str] = &["mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"];

/// Classifies one raw message. Never panics, whatever the bytes.
pub fn classify(raw: &[u8], own: &OwnAddresses, envelope: &Envelope) -> Classified {
    if raw.iter().all(|b| b.is_ascii_whitespace()) {
        return unreadable(Summary::default(), Reason::Empty);
    }
    let Some(message) = MessageParser::default().parse(raw) else {
        return unreadable(Summary::default(), Reason::NoHeaders);
    };
    let summary = summarise(&message);
    let kind = classify_message(&message, &summary, own, envelope);
    Classified { summary, kind }
}

fn unreadable(summary: Summary, reason: Reason) -> Classified {
    Classified {
        summary,
        kind: Kind::Unreadable { reason },
    }
}

/// Header text as one line: decoded headers may hold line breaks and other controls
/// (an encoded word can carry `=0D=0A`), which must not reach logs, listings or mail.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            // Bidirectional overrides can make text read other than it is.
            if c.is_control() || crate::domain::is_direction_override(c) {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .trim()
        .to_owned()
}

fn summarise(message: &Message<'_>) -> Summary {
    let from = message.from().and_then(|a| a.first());
    Summary {
        from: from
            .and_then(|a| a.address())
            .map(one_line)
            .filter(|a| a.contains('@') && !a.contains(' ')),
        from_name: from
            .and_then(|a| a.name())
            .map(one_line)
            .filter(|n| !n.is_empty()),
        subject: message.subject().map(one_line),
        message_id: message.message_id().map(one_line),
        date_ms: message
            .date()
            .filter(|d| d.is_valid())
            .map(|d| d.to_timestamp().saturating_mul(1000)),
    }
}

fn classify_message(
    message: &Message<'_>,
    summary: &Summary,
    own: &OwnAddresses,
    envelope: &Envelope,
) -> Kind {
    let recipients = recipients(message, envelope);
    // A signed address wins over a forged one beside it.
    let tags: Vec<BounceTag> = recipients
        .iter()
        .filter_map(|r| own.bounce_tag(r))
        .collect();
    let to_bounce_address = tags
        .iter()
        .find(|t| matches!(t, BounceTag::Signed(_)))
        .or(tags.first())
        .copied();
    let from = summary.from.as_deref().unwrap_or("");
    let subject = summary.subject.as_deref().unwrap_or("");

    if let Some(report) = bounce::report(message, from, subject, to_bounce_address) {
        return Kind::Bounce(report);
    }
    if summary.from.is_none() && summary.subject.is_none() && summary.message_id.is_none() {
        return Kind::Unreadable {
            reason: Reason::NotAMailMessage,
        };
    }
    if let Some(reason) = loop_reason(message, from, own) {
        return Kind::Loop { reason };
    }
    if let Some(reason) = automatic_reason(message, from, subject, envelope) {
        return Kind::Automatic { reason };
    }
    // Mail to the bounce address that is no report (a vacation reply sent to the
    // Return-Path, say) asks nothing, unless the bounce address is also the one people
    // write to.
    let bounce_only = own.bounce.key() != own.from.key()
        && recipients
            .iter()
            .any(|r| base_address(r) == own.bounce.key());
    if to_bounce_address.is_some() || bounce_only {
        return Kind::Other {
            reason: Reason::ToBounceAddress,
        };
    }

    let to_join = recipients.iter().any(|r| base_address(r) == own.join.key());
    let to_leave = recipients
        .iter()
        .any(|r| base_address(r) == own.leave.key());
    let (requester, requester_name, text, forwarded_by) = match forwarded(message) {
        Some(inner) => (inner.from, inner.name, inner.text, summary.from.clone()),
        None => (
            summary.from.clone(),
            summary.from_name.clone(),
            intent_text(subject, message),
            None,
        ),
    };
    let wants_out = contains_phrase(&text, LEAVE_PHRASES);
    let wants_in = contains_phrase(&text, JOIN_PHRASES);
    let names_list = contains_phrase(&text, LIST_WORDS);

    enum Intent {
        Join,
        Leave,
    }
    let intent = match (to_join, to_leave) {
        (true, true) => {
            return Kind::Other {
                reason: Reason::ToJoinAndLeaveAddress,
            };
        }
        (false, true) if forwarded_by.is_none() => Intent::Leave,
        (true, false) if !wants_out => Intent::Join,
        (true, false) => {
            return Kind::Other {
                reason: Reason::LeaveSentToJoinAddress,
            };
        }
        _ => match (wants_in, wants_out) {
            (true, true) => {
                return Kind::Other {
                    reason: Reason::AsksToJoinAndLeave,
                };
            }
            (false, true) => Intent::Leave,
            (true, false) => Intent::Join,
            (false, false) if names_list => Intent::Join,
            (false, false) => {
                return Kind::Other {
                    reason: Reason::NoRequest,
                };
            }
        },
    };
    let Some(requester) = requester else {
        return Kind::Other {
            reason: Reason::NoSenderAddress,
        };
    };
    let address = match EmailAddress::parse(&requester) {
        Ok(address) => address,
        Err(e) => {
            return Kind::Other {
                reason: Reason::UnusableAddress(e.to_string()),
            };
        }
    };
    if own.is_own(address.as_str()) {
        return Kind::Loop {
            reason: Reason::NamesOwnAddress,
        };
    }
    let authenticated = || {
        own.trusted_authserv_id
            .as_deref()
            .and_then(|id| authenticated_sender(message, address.domain(), id))
    };
    match intent {
        Intent::Join => Kind::Subscribe {
            authenticated: authenticated(),
            address,
            name: requester_name,
            forwarded_by,
            request: text,
        },
        Intent::Leave if forwarded_by.is_some() => Kind::Other {
            reason: Reason::ForwardedLeave,
        },
        Intent::Leave => Kind::Unsubscribe {
            authenticated: authenticated(),
            address,
        },
    }
}

/// Whether the receiving server named `trusted_id` says the message really comes from
/// `from_domain` (RFC 8601): a DMARC pass for that header.from, or a DKIM pass whose
/// signing domain is the From domain or a parent of it (relaxed alignment). Only the
/// topmost `Authentication-Results` with that id is read: the receiving server adds
/// its own above everything the sender wrote (and should remove look-alikes, RFC 8601
/// 5). Returns the evidence, for the record.
fn authenticated_sender(
    message: &Message<'_>,
    from_domain: &str,
    trusted_id: &str,
) -> Option<String> {
    let from_domain = from_domain.to_lowercase();
    let header = message
        .headers_raw()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Authentication-Results"))
        .map(|(_, v)| strip_comments(v))
        .find(|v| {
            v.split(';')
                .next()
                .and_then(|id| id.split_whitespace().next())
                .is_some_and(|id| id.eq_ignore_ascii_case(trusted_id.trim()))
        })?;
    let aligned = |domain: &str| {
        let domain = domain.trim().trim_start_matches('@').to_lowercase();
        let domain = domain.rsplit_once('@').map_or(domain.as_str(), |(_, d)| d);
        domain.contains('.')
            && (domain == from_domain || from_domain.ends_with(&format!(".{domain}")))
    };
    for result in header.split(';').skip(1) {
        let mut words = result.split_whitespace();
        let Some((method, outcome)) = words.next().and_then(|w| w.split_once('=')) else {
            continue;
        };
        if !outcome.eq_ignore_ascii_case("pass") {
            continue;
        }
        let property = |name: &str| {
            result.split_whitespace().find_map(|w| {
                w.split_once('=')
                    .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.to_owned())
            })
        };
        let evidence = match method.to_lowercase().as_str() {
            "dmarc" => {
                property("header.from").filter(|d| d.trim().eq_ignore_ascii_case(&from_domain))
            }
            "dkim" => property("header.d")
                .or_else(|| property("header.i"))
                .filter(|d| aligned(d)),
            _ => None,
        };
        if let Some(domain) = evidence {
            return Some(one_line(&format!(
                "{method}=pass for {domain} ({trusted_id})"
            )));
        }
    }
    None
}

/// A header value without its (possibly nested) comments.
fn strip_comments(value: &str) -> String {
    let mut depth = 0usize;
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Every address the message was sent to: the envelope recipient, To, Cc and the
/// delivery headers MTAs add.
fn recipients(message: &Message<'_>, envelope: &Envelope) -> Vec<String> {
    let mut out: Vec<String> = envelope.recipient.iter().cloned().collect();
    for address in message.to().into_iter().chain(message.cc()) {
        out.extend(
            address
                .iter()
                .filter_map(|a| a.address())
                .map(str::to_owned),
        );
    }
    for (name, value) in message.headers_raw() {
        if name.eq_ignore_ascii_case("Delivered-To")
            || name.eq_ignore_ascii_case("X-Original-To")
            || name.eq_ignore_ascii_case("Envelope-To")
        {
            out.push(value.trim().trim_matches(['<', '>']).to_owned());
        }
    }
    out
}

/// `local+tag@domain` → `local@domain`, lower-cased.
fn base_address(address: &str) -> String {
    let address = address.trim().trim_matches(['<', '>']).to_lowercase();
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let local = local.split_once('+').map_or(local, |(base, _)| base);
            format!("{local}@{domain}")
        }
        None => address,
    }
}

pub(super) fn is_daemon(address: &str) -> bool {
    let local = address
        .rsplit_once('@')
        .map_or(address, |(local, _)| local)
        .to_lowercase();
    DAEMON_LOCALS.contains(&local.as_str())
}

fn header<'a>(message: &'a Message<'_>, name: &str) -> Option<&'a str> {
    message
        .headers_raw()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

fn loop_reason(message: &Message<'_>, from: &str, own: &OwnAddresses) -> Option<Reason> {
    if !from.is_empty() && own.is_own(from) {
        return Some(Reason::FromOwnAddress(from.to_owned()));
    }
    let list_id = header(message, "List-Id").unwrap_or("");
    if !own.list_id.is_empty() && list_id.to_lowercase().contains(&own.list_id.to_lowercase()) {
        return Some(Reason::OwnListId);
    }
    None
}

fn automatic_reason(
    message: &Message<'_>,
    from: &str,
    subject: &str,
    envelope: &Envelope,
) -> Option<Reason> {
    if let Some(value) = header(message, "Auto-Submitted")
        && !value.eq_ignore_ascii_case("no")
    {
        return Some(Reason::AutoSubmitted(value.to_owned()));
    }
    for name in [
        "X-Autoreply",
        "X-Autorespond",
        "X-Autoresponder",
        "X-Vacation",
    ] {
        if header(message, name).is_some() {
            return Some(Reason::AutoReplyHeader(name.to_owned()));
        }
    }
    if let Some(value) = header(message, "Precedence") {
        let value = value.to_lowercase();
        if ["bulk", "junk", "list", "auto_reply"].contains(&value.as_str()) {
            return Some(Reason::Precedence(value));
        }
    }
    if header(message, "List-Id").is_some() || header(message, "List-Unsubscribe").is_some() {
        return Some(Reason::MailingList);
    }
    if is_daemon(from) {
        return Some(Reason::SentByDaemon(from.to_owned()));
    }
    let null_sender = envelope.sender.as_deref().map(str::trim) == Some("")
        || envelope.sender.as_deref().map(str::trim) == Some("<>")
        || header(message, "Return-Path").is_some_and(|v| v.trim() == "<>");
    if null_sender {
        return Some(Reason::NullSender);
    }
    let subject = normalise(subject);
    if let Some(phrase) = AUTO_REPLY_SUBJECTS
        .iter()
        .find(|p| contains_words(&subject, &normalise(p)))
    {
        return Some(Reason::AutoReplySubject((*phrase).to_owned()));
    }
    None
}

#[cfg(test)]
mod tests;
