//! What an inbound message is: a request to join or leave, a bounce, an automatic
//! message, a loop, or something for staff to read. Pure: no database, no network, so the
//! fuzz target can run it on any bytes.

use mail_parser::{Message, MessageParser, PartType};

use super::bounce::{self, BounceReport};
use crate::domain::{EmailAddress, InboundKind, TokenKey};

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
        let Ok(id) = id.parse::<i64>() else {
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
    Signed(i64),
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
    /// A person asks to join: mail them a confirmation link.
    Subscribe {
        address: EmailAddress,
        name: Option<String>,
        /// Set when a forwarded request is taken for its original sender.
        forwarded_by: Option<String>,
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
        reason: String,
    },
    /// Mail from the service itself.
    Loop {
        reason: String,
    },
    /// Kept for staff to read.
    Other {
        reason: String,
    },
    /// Not a mail message at all.
    Unreadable {
        reason: String,
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

/// How much of a body's new text is read for keywords: a request is a line or two, and
/// text further down (signatures, quoted newsletters) must not decide anything.
const INTENT_LINES: usize = 8;
const INTENT_CHARS: usize = 1000;

/// Phrases asking to leave, matched on whole words of the lower-cased text.
const LEAVE_PHRASES: &[&str] = &[
    "meld meg av",
    "meld oss av",
    "avmeld",
    "avmelding",
    "avmeld meg",
    "utmelding",
    "fjern meg",
    "fjern oss",
    "ta meg av",
    "slett meg",
    "ikke lenger motta",
    "ikkje lenger motta",
    "unsubscribe",
    "remove me",
    "take me off",
    "opt out",
    "opt-out",
];

/// Phrases asking to join (bokmål, nynorsk, English).
const JOIN_PHRASES: &[&str] = &[
    "meld meg på",
    "meld oss på",
    "påmelding",
    "abonner",
    "abonnere",
    "abonnement",
    "legg meg til",
    "legg oss til",
    "legge meg til",
    "legge oss til",
    "sett meg på",
    "sette meg på",
    "ønsker å motta",
    "ønskjer å motta",
    "vil gjerne motta",
    "vil gjerne få",
    "subscribe",
    "sign up",
    "sign me up",
    "add me",
];

/// Join words that only say which list, not which way ("fjern meg fra kontaktlisten").
const LIST_WORDS: &[&str] = &["kontaktliste", "kontaktlisten", "kontaktlista"];

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
        return unreadable(Summary::default(), "the message is empty");
    }
    let Some(message) = MessageParser::default().parse(raw) else {
        return unreadable(Summary::default(), "no mail headers found");
    };
    let summary = summarise(&message);
    let kind = classify_message(&message, &summary, own, envelope);
    Classified { summary, kind }
}

fn unreadable(summary: Summary, reason: &str) -> Classified {
    Classified {
        summary,
        kind: Kind::Unreadable {
            reason: reason.into(),
        },
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
            reason: "no From, Subject or Message-ID header: not a mail message".into(),
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
            reason: "mail to the bounce address that is not a delivery report".into(),
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
                reason: "sent to both the join and the leave address".into(),
            };
        }
        (false, true) if forwarded_by.is_none() => Intent::Leave,
        (true, false) if !wants_out => Intent::Join,
        (true, false) => {
            return Kind::Other {
                reason: "asks to leave, but was sent to the join address".into(),
            };
        }
        _ => match (wants_in, wants_out) {
            (true, true) => {
                return Kind::Other {
                    reason: "asks both to join and to leave".into(),
                };
            }
            (false, true) => Intent::Leave,
            (true, false) => Intent::Join,
            (false, false) if names_list => Intent::Join,
            (false, false) => {
                return Kind::Other {
                    reason: "no request to join or leave found".into(),
                };
            }
        },
    };
    let Some(requester) = requester else {
        return Kind::Other {
            reason: "a request, but with no sender address to answer".into(),
        };
    };
    let address = match EmailAddress::parse(&requester) {
        Ok(address) => address,
        Err(e) => {
            return Kind::Other {
                reason: format!("a request from an address that cannot be used: {e}"),
            };
        }
    };
    if own.is_own(address.as_str()) {
        return Kind::Loop {
            reason: "a request naming the service's own address".into(),
        };
    }
    match intent {
        Intent::Join => Kind::Subscribe {
            address,
            name: requester_name,
            forwarded_by,
        },
        Intent::Leave if forwarded_by.is_some() => Kind::Other {
            reason: "a forwarded request to leave: staff should check who asked".into(),
        },
        Intent::Leave => {
            let authenticated = own
                .trusted_authserv_id
                .as_deref()
                .and_then(|id| authenticated_sender(message, address.domain(), id));
            Kind::Unsubscribe {
                address,
                authenticated,
            }
        }
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

fn loop_reason(message: &Message<'_>, from: &str, own: &OwnAddresses) -> Option<String> {
    if !from.is_empty() && own.is_own(from) {
        return Some(format!("sent from the service's own address {from}"));
    }
    let list_id = header(message, "List-Id").unwrap_or("");
    if !own.list_id.is_empty() && list_id.to_lowercase().contains(&own.list_id.to_lowercase()) {
        return Some("carries the newsletter's own List-Id".into());
    }
    None
}

fn automatic_reason(
    message: &Message<'_>,
    from: &str,
    subject: &str,
    envelope: &Envelope,
) -> Option<String> {
    if let Some(value) = header(message, "Auto-Submitted")
        && !value.eq_ignore_ascii_case("no")
    {
        return Some(format!("Auto-Submitted: {value}"));
    }
    for name in [
        "X-Autoreply",
        "X-Autorespond",
        "X-Autoresponder",
        "X-Vacation",
    ] {
        if header(message, name).is_some() {
            return Some(format!("has an {name} header"));
        }
    }
    if let Some(value) = header(message, "Precedence") {
        let value = value.to_lowercase();
        if ["bulk", "junk", "list", "auto_reply"].contains(&value.as_str()) {
            return Some(format!("Precedence: {value}"));
        }
    }
    if header(message, "List-Id").is_some() || header(message, "List-Unsubscribe").is_some() {
        return Some("mailing-list traffic (List-Id or List-Unsubscribe)".into());
    }
    if is_daemon(from) {
        return Some(format!("sent by {from}"));
    }
    let null_sender = envelope.sender.as_deref().map(str::trim) == Some("")
        || envelope.sender.as_deref().map(str::trim) == Some("<>")
        || header(message, "Return-Path").is_some_and(|v| v.trim() == "<>");
    if null_sender {
        return Some("null envelope sender (<>)".into());
    }
    let subject = normalise(subject);
    if let Some(phrase) = AUTO_REPLY_SUBJECTS
        .iter()
        .find(|p| contains_words(&subject, &normalise(p)))
    {
        return Some(format!("an automatic reply (subject says \"{phrase}\")"));
    }
    None
}

/// Subject plus the first lines of the new text (quotes and signatures cut away).
/// A reply's subject is the subject of what it answers ("Re: Bekreft påmeldingen til
/// KOMs kontaktliste"), which says nothing of what the person wants now: then only the
/// new text counts.
fn intent_text(subject: &str, message: &Message<'_>) -> String {
    let body = message.body_text(0).unwrap_or_default();
    let lower = subject.trim_start().to_lowercase();
    let is_reply = ["re:", "sv:", "aw:"].iter().any(|p| lower.starts_with(p));
    let mut text = if is_reply {
        String::new()
    } else {
        strip_reply_prefixes(subject).to_owned()
    };
    text.push('\n');
    text.push_str(&first_lines(&body));
    text
}

fn strip_reply_prefixes(subject: &str) -> &str {
    let mut s = subject.trim();
    loop {
        let lower = s.to_lowercase();
        let Some(rest) = [
            "re:",
            "sv:",
            "aw:",
            "vs:",
            "fw:",
            "fwd:",
            "wg:",
            "videresend:",
        ]
        .iter()
        .find_map(|p| lower.starts_with(p).then(|| s[p.len()..].trim_start())) else {
            return s;
        };
        s = rest;
    }
}

/// The first non-empty lines of a body, stopping at a quote, a signature or the
/// quoted-message separator of a reply or forward.
fn first_lines(body: &str) -> String {
    let mut out = String::new();
    let mut lines = 0;
    for line in body.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('>') || line == "--" || line == "-- " || is_separator(line) {
            break;
        }
        out.push_str(line);
        out.push('\n');
        lines += 1;
        if lines >= INTENT_LINES || out.len() >= INTENT_CHARS {
            break;
        }
    }
    out
}

/// A line that starts quoted or forwarded text in the common clients.
fn is_separator(line: &str) -> bool {
    let lower = line.to_lowercase();
    let dashed = lower.trim_matches(|c: char| c == '-' || c == '_' || c == ' ' || c == '=');
    if lower.starts_with("-----") || lower.starts_with("_____") || lower.starts_with("=====") {
        return dashed.is_empty()
            || [
                "original message",
                "opprinnelig melding",
                "forwarded message",
                "videresendt melding",
                "videresendt e-post",
            ]
            .iter()
            .any(|m| dashed.contains(m));
    }
    lower.starts_with("begin forwarded message")
        || (lower.starts_with("on ") && lower.ends_with("wrote:"))
        || (lower.starts_with("den ") && lower.contains(" skrev") && lower.ends_with(':'))
        || lower.ends_with(" skrev:")
        // Outlook quotes a reply under a header block ("Fra: KOM <…>", "Sendt: …").
        || ((lower.starts_with("from:") || lower.starts_with("fra:")) && lower.contains('@'))
}

/// A forwarded request: who originally wrote it and what it says.
struct Forwarded {
    from: Option<String>,
    name: Option<String>,
    text: String,
}

/// Finds a forwarded message: attached as message/rfc822, or inline after a
/// "Forwarded message" / "Videresendt melding" line with its own From and Subject.
fn forwarded(message: &Message<'_>) -> Option<Forwarded> {
    let subject = message.subject().unwrap_or("").trim().to_lowercase();
    let looks_forwarded = ["fw:", "fwd:", "vs:", "wg:", "videresend:"]
        .iter()
        .any(|p| subject.starts_with(p));
    // Attached original: the outer body says little.
    for part in message.attachments() {
        if let PartType::Message(inner) = &part.body {
            let own_text = first_lines(&message.body_text(0).unwrap_or_default());
            if looks_forwarded || own_text.trim().is_empty() {
                let from = inner.from().and_then(|a| a.first());
                return Some(Forwarded {
                    from: from.and_then(|a| a.address()).map(str::to_owned),
                    name: from.and_then(|a| a.name()).map(str::to_owned),
                    text: intent_text(inner.subject().unwrap_or(""), inner),
                });
            }
        }
    }
    let body = message.body_text(0).unwrap_or_default();
    let mut lines = body.lines().map(str::trim);
    let marker = lines.by_ref().take(40).position(|line| {
        let lower = line.to_lowercase();
        lower.contains("forwarded message")
            || lower.contains("videresendt melding")
            || lower.contains("videresendt e-post")
            || lower.starts_with("begin forwarded message")
            || (looks_forwarded
                && (lower.contains("original message") || lower.contains("opprinnelig melding")))
    });
    marker?;
    let mut from = None;
    let mut name = None;
    let mut inner_subject = String::new();
    let mut rest = Vec::new();
    let mut in_header = true;
    for line in lines.take(60) {
        if in_header {
            let lower = line.to_lowercase();
            if let Some(value) = ["from:", "fra:"]
                .iter()
                .find_map(|p| lower.starts_with(p).then(|| line[p.len()..].trim()))
            {
                let (n, a) = split_mailbox(value);
                from = a;
                name = n;
                continue;
            }
            if let Some(value) = ["subject:", "emne:"]
                .iter()
                .find_map(|p| lower.starts_with(p).then(|| line[p.len()..].trim()))
            {
                inner_subject = value.to_owned();
                continue;
            }
            if [
                "date:", "dato:", "sent:", "sendt:", "to:", "til:", "cc:", "kopi:",
            ]
            .iter()
            .any(|p| lower.starts_with(p))
            {
                continue;
            }
            if line.is_empty() {
                if from.is_some() {
                    in_header = false;
                }
                continue;
            }
            in_header = false;
        }
        rest.push(line);
    }
    from.as_ref()?;
    let mut text = strip_reply_prefixes(&inner_subject).to_owned();
    text.push('\n');
    text.push_str(&first_lines(&rest.join("\n")));
    Some(Forwarded { from, name, text })
}

/// `Kari Nordmann <kari@example.no>` → (name, address); a bare address works too.
fn split_mailbox(value: &str) -> (Option<String>, Option<String>) {
    if let (Some(open), Some(close)) = (value.rfind('<'), value.rfind('>'))
        && open < close
    {
        let address = value[open + 1..close].trim();
        let name = value[..open].trim().trim_matches('"').trim();
        return (
            (!name.is_empty()).then(|| name.to_owned()),
            address.contains('@').then(|| address.to_owned()),
        );
    }
    let address = value.split_whitespace().find(|w| w.contains('@'));
    (
        None,
        address.map(|a| a.trim_matches(['<', '>', '(', ')', '"']).to_owned()),
    )
}

/// Lower-cased words separated by single spaces, so phrases match on word boundaries.
fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push(' ');
    for word in text
        .to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .filter(|w| !w.is_empty())
    {
        out.push_str(word);
        out.push(' ');
    }
    out
}

fn contains_words(normalised: &str, phrase_normalised: &str) -> bool {
    !phrase_normalised.trim().is_empty() && normalised.contains(phrase_normalised)
}

fn contains_phrase(text: &str, phrases: &[&str]) -> bool {
    let text = normalise(text);
    phrases.iter().any(|p| contains_words(&text, &normalise(p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn own() -> OwnAddresses {
        OwnAddresses {
            from: EmailAddress::parse("nyhetsbrev@kom.example.no").unwrap(),
            join: EmailAddress::parse("nyhetsbrev-join@kom.example.no").unwrap(),
            leave: EmailAddress::parse("nyhetsbrev-leave@kom.example.no").unwrap(),
            bounce: EmailAddress::parse("retur@kom.example.no").unwrap(),
            bounce_key: Some(TokenKey::parse("a-unit-test-key-that-is-long-enough").unwrap()),
            list_id: "nyhetsbrev.kom.example.no".into(),
            trusted_authserv_id: Some("mx.kom.example.no".into()),
        }
    }

    fn kind(raw: &str) -> Kind {
        classify(raw.as_bytes(), &own(), &Envelope::default()).kind
    }

    #[test]
    fn words_match_whole_words_only() {
        assert!(contains_phrase("Please UNSUBSCRIBE me", &["unsubscribe"]));
        assert!(!contains_phrase("Please unsubscribe me", &["subscribe"]));
        assert!(contains_phrase("Meld meg på, takk!", &["meld meg på"]));
        assert!(!contains_phrase("påmeldingsfrist", &["påmelding"]));
    }

    #[test]
    fn only_a_signed_bounce_address_names_its_delivery() {
        let own = own();
        let key = own.bounce_key.clone().unwrap();
        let tag = key.bounce_tag(42);
        let signed = |s: &str| own.bounce_tag(s);
        assert_eq!(
            signed(&format!("retur+d42-{tag}@kom.example.no")),
            Some(BounceTag::Signed(42))
        );
        assert_eq!(
            signed(&format!("RETUR+D42-{}@KOM.EXAMPLE.NO", tag.to_uppercase())),
            Some(BounceTag::Signed(42))
        );
        // The shape without the signature: forged.
        for forged in [
            "retur+d42@kom.example.no".to_owned(),
            format!("retur+d43-{tag}@kom.example.no"),
            format!("retur+d42-{}@kom.example.no", &tag[..15]),
            "retur+d@kom.example.no".to_owned(),
            "retur+d4x@kom.example.no".to_owned(),
            "retur+d99999999999999999999@kom.example.no".to_owned(),
        ] {
            assert_eq!(signed(&forged), Some(BounceTag::Forged), "{forged}");
        }
        // Not a bounce address of ours at all.
        assert_eq!(signed(&format!("retur+d42-{tag}@example.org")), None);
        assert_eq!(signed("kari@kom.example.no"), None);
        // Without a key nothing can be trusted.
        let unkeyed = OwnAddresses {
            bounce_key: None,
            ..own.clone()
        };
        assert_eq!(
            unkeyed.bounce_tag(&format!("retur+d42-{tag}@kom.example.no")),
            Some(BounceTag::Forged)
        );
    }

    #[test]
    fn a_plain_request_is_a_subscription() {
        let k = kind(
            "From: Kari <kari@example.no>\r\nTo: nyhetsbrev@kom.example.no\r\nSubject: Meld meg på\r\n\r\nHilsen Kari\r\n",
        );
        assert!(
            matches!(k, Kind::Subscribe { ref address, .. } if address.as_str() == "kari@example.no"),
            "{k:?}"
        );
    }

    #[test]
    fn a_quoted_footer_decides_nothing() {
        let k = kind(
            "From: kari@example.no\r\nSubject: Re: Nyhetsbrev fra KOM\r\n\r\nTakk for et godt nyhetsbrev!\r\n\r\n> Vil du melde deg av? Meld meg av\r\n",
        );
        assert!(matches!(k, Kind::Other { .. }), "{k:?}");
    }

    #[test]
    fn a_reply_is_read_for_its_new_text_only() {
        let k = kind(
            "From: kari@example.org\r\nSubject: Re: Bekreft påmeldingen til KOMs kontaktliste\r\n\r\nNei, jeg har ikke bedt om dette.\r\n",
        );
        assert!(matches!(k, Kind::Other { .. }), "{k:?}");
        let k = kind(
            "From: kari@example.org\r\nSubject: SV: Bekreft påmeldingen til KOMs kontaktliste\r\n\r\nJa, meld meg på.\r\n",
        );
        assert!(matches!(k, Kind::Subscribe { .. }), "{k:?}");
    }

    fn leave(headers: &str) -> Kind {
        kind(&format!(
            "{headers}From: Kari <kari@post.example.org>\r\nTo: nyhetsbrev@kom.example.no\r\n\
             Subject: Meld meg av\r\n\r\nTakk\r\n"
        ))
    }

    fn vouched(k: &Kind) -> Option<&str> {
        match k {
            Kind::Unsubscribe { authenticated, .. } => authenticated.as_deref(),
            other => panic!("not a request to leave: {other:?}"),
        }
    }

    #[test]
    fn only_the_trusted_servers_aligned_pass_vouches_for_a_request_to_leave() {
        let trusted = "Authentication-Results: mx.kom.example.no;";
        for vouching in [
            format!("{trusted} dmarc=pass (p=none dis=none) header.from=post.example.org\r\n"),
            format!("{trusted} spf=fail; dkim=pass header.d=example.org header.s=s1\r\n"),
            format!("{trusted}\r\n\tdkim=pass header.i=@post.example.org\r\n"),
            format!("{trusted} dkim=pass (2048-bit key) header.d=POST.EXAMPLE.ORG\r\n"),
        ] {
            assert!(vouched(&leave(&vouching)).is_some(), "{vouching}");
        }
        for not in [
            // No header, or one from another server (the sender can write any).
            String::new(),
            "Authentication-Results: mx.evil.example; dmarc=pass header.from=post.example.org\r\n"
                .into(),
            // Our server, but nothing that ties the message to the From domain.
            format!("{trusted} spf=pass smtp.mailfrom=post.example.org\r\n"),
            format!("{trusted} dkim=pass header.d=evil.example\r\n"),
            format!("{trusted} dkim=pass header.d=org\r\n"),
            format!("{trusted} dmarc=fail header.from=post.example.org\r\n"),
            format!("{trusted} dmarc=pass header.from=evil.example\r\n"),
            format!("{trusted} dkim=pass (header.d=post.example.org) header.d=x.example\r\n"),
            // A look-alike written by the sender below the server's own, topmost one.
            format!(
                "{trusted} dmarc=fail header.from=post.example.org\r\n\
                 {trusted} dmarc=pass header.from=post.example.org\r\n"
            ),
        ] {
            assert_eq!(vouched(&leave(&not)), None, "{not}");
        }
        // Without a trusted server set, nobody is vouched for.
        let own = OwnAddresses {
            trusted_authserv_id: None,
            ..own()
        };
        let raw = format!(
            "{trusted} dmarc=pass header.from=post.example.org\r\nFrom: kari@post.example.org\r\n\
             Subject: Meld meg av\r\n\r\n"
        );
        let k = classify(raw.as_bytes(), &own, &Envelope::default()).kind;
        assert_eq!(vouched(&k), None);
    }

    #[test]
    fn separators_end_the_new_text() {
        assert!(is_separator("-----Original Message-----"));
        assert!(is_separator(
            "Den 3. mars 2025 kl. 10:00 skrev Kari <kari@example.no>:"
        ));
        assert!(is_separator("On Mon, 3 Mar 2025 at 10:00, Kari wrote:"));
        assert!(!is_separator("Meld meg på"));
    }
}
