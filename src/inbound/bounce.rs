//! Delivery reports: standard DSNs (RFC 3464, multipart/report with a
//! message/delivery-status part) and the common non-standard shapes (Exim's plain text
//! with X-Failed-Recipients, older Exchange and qmail notices).

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

use super::classify::{BounceTag, is_daemon};
use crate::domain::DeliveryId;

/// What a delivery report says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BounceReport {
    /// The per-delivery bounce address the report was sent to, if any: only a signed
    /// one names a delivery the report may count for.
    pub bounce_tag: Option<BounceTag>,
    /// Message-ID of the message that bounced, without brackets, when the report
    /// includes its headers.
    pub original_message_id: Option<String>,
    /// Recipients the report is about; empty when it names none.
    pub recipients: Vec<BouncedRecipient>,
    /// A standard report (a DSN), or one of the common non-standard shapes.
    pub standard: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BouncedRecipient {
    /// Addresses the report names for this recipient (final and original), lower-cased.
    pub addresses: Vec<String>,
    /// Permanent failure (status 5.x.x): counts toward the bounce threshold.
    pub hard: bool,
    /// Not a failure at all (a DSN for a delivered or relayed message).
    pub delivered: bool,
    /// Enhanced status code such as `5.1.1`, when given.
    pub status: Option<String>,
    /// The remote server's words, shortened.
    pub diagnostic: Option<String>,
}

impl BounceReport {
    /// The delivery named by a signed bounce address.
    pub fn signed_delivery(&self) -> Option<DeliveryId> {
        match self.bounce_tag {
            Some(BounceTag::Signed(id)) => Some(id),
            _ => None,
        }
    }

    /// The recipient entry naming `address` (lower-cased), if any.
    pub fn recipient(&self, address_key: &str) -> Option<&BouncedRecipient> {
        self.recipients
            .iter()
            .find(|r| r.addresses.iter().any(|a| a == address_key))
    }
}

const BOUNCE_SUBJECTS: &[&str] = &[
    "undelivered mail",
    "undeliverable",
    "undelivered",
    "delivery status notification",
    "delivery failure",
    "delivery failed",
    "mail delivery failed",
    "mail delivery failure",
    "failure notice",
    "returned mail",
    "returned to sender",
    "non-delivery",
    "nondeliverable",
    "kan ikke leveres",
    "ikke levert",
    "levering mislyktes",
    "kunne ikke leveres",
];

const FAILURE_WORDS: &[&str] = &[
    "could not be delivered",
    "couldn't be delivered",
    "was not delivered",
    "delivery has failed",
    "permanent error",
    "permanent fatal errors",
    "failed permanently",
    "address not found",
    "user unknown",
    "mailbox unavailable",
    "i'm afraid i wasn't able to deliver",
    "did not reach",
    "kunne ikke leveres",
];

const MAX_DIAGNOSTIC: usize = 300;

/// The report, if the message is a delivery report.
pub fn report(
    message: &Message<'_>,
    from: &str,
    subject: &str,
    bounce_tag: Option<BounceTag>,
) -> Option<BounceReport> {
    let status_part = message.parts.iter().find(|part| {
        part.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case("message")
                && ct.subtype().is_some_and(|s| {
                    s.eq_ignore_ascii_case("delivery-status")
                        || s.eq_ignore_ascii_case("global-delivery-status")
                })
        })
    });
    let failed_header = message
        .headers_raw()
        .find(|(n, _)| n.eq_ignore_ascii_case("X-Failed-Recipients"))
        .map(|(_, v)| v.to_owned());
    let standard = status_part.is_some();
    let structured = standard || failed_header.is_some();
    // Without a report part or header, only mail from a daemon or to a per-delivery
    // bounce address can be a notice: ordinary mail's body is not read here at all.
    if !structured && !is_daemon(from) && bounce_tag.is_none() {
        return None;
    }
    let report_text = first_text(message);
    if !structured {
        let subject = subject.to_lowercase();
        let text = report_text.to_lowercase();
        let notice = BOUNCE_SUBJECTS.iter().any(|s| subject.contains(s))
            || FAILURE_WORDS.iter().any(|w| text.contains(w))
            || text.contains("this is the qmail-send program");
        if !notice {
            return None;
        }
    }

    let mut recipients = match status_part {
        Some(part) => parse_delivery_status(&String::from_utf8_lossy(part.contents())),
        None => Vec::new(),
    };
    if recipients.is_empty() {
        recipients = non_standard_recipients(failed_header.as_deref(), &report_text, from);
    }
    Some(BounceReport {
        bounce_tag,
        original_message_id: original_message_id(message),
        recipients,
        standard,
    })
}

/// The human-readable first text part (the notice before the attached original).
fn first_text(message: &Message<'_>) -> String {
    let text = message.body_text(0).unwrap_or_default();
    text.chars().take(20_000).collect()
}

/// Parses the per-recipient fields of a message/delivery-status body.
fn parse_delivery_status(body: &str) -> Vec<BouncedRecipient> {
    // Unfold continuation lines, then split into field groups at blank lines: the first
    // group is per message, each later one per recipient.
    let mut lines: Vec<String> = Vec::new();
    for line in body.lines() {
        if (line.starts_with(' ') || line.starts_with('\t'))
            && !line.trim().is_empty()
            && let Some(last) = lines.last_mut()
            && !last.is_empty()
        {
            last.push(' ');
            last.push_str(line.trim());
            continue;
        }
        lines.push(line.trim_end().to_owned());
    }
    let mut out = Vec::new();
    for group in lines.split(|l| l.trim().is_empty()) {
        let mut addresses = Vec::new();
        let mut action = None;
        let mut status = None;
        let mut diagnostic = None;
        for line in group {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "final-recipient" | "original-recipient" | "x-actual-recipient" => {
                    let address = value
                        .split_once(';')
                        .map_or(value, |(_, a)| a)
                        .trim()
                        .trim_matches(['<', '>'])
                        .to_lowercase();
                    if address.contains('@') && !addresses.contains(&address) {
                        addresses.push(address);
                    }
                }
                "action" => action = Some(value.to_ascii_lowercase()),
                "status" => status = Some(value.split_whitespace().next().unwrap_or("").to_owned()),
                "diagnostic-code" => diagnostic = Some(shorten(value)),
                _ => {}
            }
        }
        if addresses.is_empty() {
            continue;
        }
        let action = action.unwrap_or_else(|| "failed".into());
        let delivered = matches!(action.as_str(), "delivered" | "relayed" | "expanded");
        let hard = !delivered
            && action == "failed"
            && status.as_deref().is_none_or(|s| s.starts_with('5'));
        out.push(BouncedRecipient {
            addresses,
            hard,
            delivered,
            status: status.filter(|s| !s.is_empty()),
            diagnostic,
        });
    }
    out
}

/// Recipients of a report with no delivery-status part: the X-Failed-Recipients header,
/// or the addresses the notice names; hard or soft from its status codes and wording.
fn non_standard_recipients(
    failed_header: Option<&str>,
    text: &str,
    from: &str,
) -> Vec<BouncedRecipient> {
    let mut addresses: Vec<String> = match failed_header {
        Some(value) => value
            .split(',')
            .map(|a| a.trim().trim_matches(['<', '>']).to_lowercase())
            .filter(|a| a.contains('@'))
            .collect(),
        None => Vec::new(),
    };
    // The notice itself: up to where the original message is quoted.
    let notice: String = text
        .lines()
        .take_while(|l| {
            let l = l.to_lowercase();
            !(l.contains("original message") || l.starts_with("------ this is a copy"))
        })
        .collect::<Vec<_>>()
        .join("\n");
    if addresses.is_empty() {
        for word in notice.split(|c: char| c.is_whitespace() || "<>()[]\"',;:".contains(c)) {
            let word = word.trim_matches('.').to_lowercase();
            if word.contains('@')
                && word.len() <= 254
                && !is_daemon(&word)
                && !word.eq_ignore_ascii_case(from)
                && !addresses.contains(&word)
            {
                addresses.push(word);
            }
            if addresses.len() >= 20 {
                break;
            }
        }
    }
    if addresses.is_empty() {
        return Vec::new();
    }
    let status = enhanced_status(&notice);
    let lower = notice.to_lowercase();
    let soft_words = [
        "temporary",
        "delayed",
        "will be retried",
        "will retry",
        "midlertidig",
    ];
    let hard = match &status {
        Some(s) => s.starts_with('5'),
        None => !soft_words.iter().any(|w| lower.contains(w)),
    };
    let diagnostic = notice
        .lines()
        .map(str::trim)
        .find(|l| {
            l.split_whitespace().next().is_some_and(|w| {
                w.len() == 3 && w.starts_with(['4', '5']) && w.bytes().all(|b| b.is_ascii_digit())
            }) || l.contains("SMTP error")
        })
        .map(shorten);
    vec![BouncedRecipient {
        addresses,
        hard,
        delivered: false,
        status,
        diagnostic,
    }]
}

/// The first RFC 3463 enhanced status code (`5.1.1`) in a text.
fn enhanced_status(text: &str) -> Option<String> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map(|w| w.trim_end_matches('.'))
        .find(|w| {
            let parts: Vec<&str> = w.split('.').collect();
            parts.len() == 3
                && ["2", "4", "5"].contains(&parts[0])
                && parts[1..]
                    .iter()
                    .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(str::to_owned)
}

/// The Message-ID of the bounced message: from an attached message/rfc822 or
/// text/rfc822-headers part, else from a `Message-ID:` line quoted in the text.
fn original_message_id(message: &Message<'_>) -> Option<String> {
    let own = message.message_id();
    for part in &message.parts {
        match &part.body {
            PartType::Message(inner) => {
                if let Some(id) = inner.message_id() {
                    return Some(id.to_owned());
                }
            }
            PartType::Text(text)
                if part.content_type().is_some_and(|ct| {
                    ct.subtype()
                        .is_some_and(|s| s.eq_ignore_ascii_case("rfc822-headers"))
                }) =>
            {
                if let Some(id) = MessageParser::default()
                    .parse_headers(text.as_bytes())
                    .and_then(|m| m.message_id().map(str::to_owned))
                {
                    return Some(id);
                }
            }
            _ => {}
        }
    }
    for part in &message.parts {
        let text = match &part.body {
            PartType::Text(t) | PartType::Html(t) => t.as_ref(),
            _ => continue,
        };
        for line in text.lines() {
            let line = line.trim();
            let Some(prefix) = line.get(..11) else {
                continue;
            };
            if !prefix.eq_ignore_ascii_case("message-id:") {
                continue;
            }
            let value = line[11..].trim().trim_matches(['<', '>']).trim();
            if !value.is_empty() && Some(value) != own && value.contains('@') {
                return Some(value.to_owned());
            }
        }
    }
    None
}

fn shorten(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= MAX_DIAGNOSTIC {
        text
    } else {
        let mut short: String = text.chars().take(MAX_DIAGNOSTIC - 1).collect();
        short.push('…');
        short
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_status_fields_per_recipient() {
        let body = "Reporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; Kari@Example.no\r\nOriginal-Recipient: rfc822;kari@example.no\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <kari@example.no>:\r\n Recipient address rejected\r\n\r\nFinal-Recipient: rfc822; ola@example.org\r\nAction: delayed\r\nStatus: 4.2.2\r\n";
        let r = parse_delivery_status(body);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].addresses, vec!["kari@example.no"]);
        assert!(r[0].hard);
        assert_eq!(r[0].status.as_deref(), Some("5.1.1"));
        assert_eq!(
            r[0].diagnostic.as_deref(),
            Some("smtp; 550 5.1.1 <kari@example.no>: Recipient address rejected")
        );
        assert!(!r[1].hard);
        assert!(!r[1].delivered);
    }

    #[test]
    fn enhanced_status_codes() {
        assert_eq!(
            enhanced_status("said: 550 5.1.1 no such user").as_deref(),
            Some("5.1.1")
        );
        assert_eq!(
            enhanced_status("version 1.2.3.4 and 4.2.2.").as_deref(),
            Some("4.2.2")
        );
        assert_eq!(enhanced_status("nothing here 1.2"), None);
    }
}
