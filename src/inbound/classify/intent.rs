//! What the person wants: the phrases that ask to join or leave, read in the subject and
//! the first lines of the new text, and forwarded requests.

use mail_parser::{Message, PartType};

/// How much of a body's new text is read for keywords: a request is a line or two, and
/// text further down (signatures, quoted newsletters) must not decide anything.
pub(super) const INTENT_LINES: usize = 8;
pub(super) const INTENT_CHARS: usize = 1000;

/// Phrases asking to leave, matched on whole words of the lower-cased text.
pub(super) const LEAVE_PHRASES: &[&str] = &[
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
pub(super) const JOIN_PHRASES: &[&str] = &[
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
pub(super) const LIST_WORDS: &[&str] = &["kontaktliste", "kontaktlisten", "kontaktlista"];

/// Subject plus the first lines of the new text (quotes and signatures cut away).
/// A reply's subject is the subject of what it answers ("Re: Bekreft påmeldingen til
/// KOMs kontaktliste"), which says nothing of what the person wants now: then only the
/// new text counts.
pub(super) fn intent_text(subject: &str, message: &Message<'_>) -> String {
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

pub(super) fn strip_reply_prefixes(subject: &str) -> &str {
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
pub(super) fn first_lines(body: &str) -> String {
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
pub(super) fn is_separator(line: &str) -> bool {
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
pub(super) struct Forwarded {
    pub(super) from: Option<String>,
    pub(super) name: Option<String>,
    pub(super) text: String,
}

/// Finds a forwarded message: attached as message/rfc822, or inline after a
/// "Forwarded message" / "Videresendt melding" line with its own From and Subject.
pub(super) fn forwarded(message: &Message<'_>) -> Option<Forwarded> {
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
pub(super) fn split_mailbox(value: &str) -> (Option<String>, Option<String>) {
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
pub(super) fn normalise(text: &str) -> String {
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

pub(super) fn contains_words(normalised: &str, phrase_normalised: &str) -> bool {
    !phrase_normalised.trim().is_empty() && normalised.contains(phrase_normalised)
}

pub(super) fn contains_phrase(text: &str, phrases: &[&str]) -> bool {
    let text = normalise(text);
    phrases.iter().any(|p| contains_words(&text, &normalise(p)))
}
