//! A stored message as staff read it: its headers and text, never its HTML rendered
//! (an HTML-only message is turned into text), its attachments named and sized, never
//! opened. Pure, like `classify`.

use mail_parser::{MessageParser, MimeHeaders};

/// The most text a page shows of one message.
pub const MAX_TEXT_CHARS: usize = 100_000;

/// What a staff member sees of a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Readable {
    pub from: String,
    pub to: String,
    pub date: String,
    pub subject: String,
    pub message_id: String,
    /// The text part, or the HTML part as text; cut at [`MAX_TEXT_CHARS`].
    pub text: String,
    /// Whether the text was cut.
    pub cut: bool,
    /// Each attachment's file name (or its type) and size in bytes.
    pub attachments: Vec<(String, usize)>,
    /// The bytes could not be read as a mail message.
    pub unreadable: bool,
}

/// Reads `raw` for a person to look at.
pub fn readable(raw: &[u8]) -> Readable {
    let as_bytes = || Readable {
        text: String::from_utf8_lossy(&raw[..raw.len().min(MAX_TEXT_CHARS)]).into_owned(),
        cut: raw.len() > MAX_TEXT_CHARS,
        unreadable: true,
        ..Default::default()
    };
    let Some(message) = MessageParser::default().parse(raw) else {
        return as_bytes();
    };
    let addresses = |list: Option<&mail_parser::Address<'_>>| -> String {
        list.map(|a| {
            a.iter()
                .map(|addr| match (addr.name(), addr.address()) {
                    (Some(name), Some(address)) => format!("{name} <{address}>"),
                    (None, Some(address)) => address.to_owned(),
                    (Some(name), None) => name.to_owned(),
                    (None, None) => String::new(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
    };
    // body_text turns an HTML-only body into text: tags, scripts and styles gone.
    let full = message
        .body_text(0)
        .map(|t| t.into_owned())
        .unwrap_or_default();
    let cut = full.chars().count() > MAX_TEXT_CHARS;
    let text: String = full.chars().take(MAX_TEXT_CHARS).collect();
    let attachments = message
        .attachments()
        .map(|part| {
            let name = part
                .attachment_name()
                .map(str::to_owned)
                .or_else(|| {
                    part.content_type()
                        .map(|t| format!("{}/{}", t.ctype(), t.subtype().unwrap_or("?")))
                })
                .unwrap_or_else(|| "vedlegg".to_owned());
            (name, part.contents().len())
        })
        .collect();
    let read = Readable {
        from: addresses(message.from()),
        to: addresses(message.to()),
        date: message.date().map(|d| d.to_rfc3339()).unwrap_or_default(),
        subject: message.subject().unwrap_or_default().to_owned(),
        message_id: message.message_id().unwrap_or_default().to_owned(),
        text,
        cut,
        attachments,
        unreadable: false,
    };
    // Nothing a mail has (no sender, subject or text): the bytes are all there is.
    if read.from.is_empty() && read.subject.is_empty() && read.text.trim().is_empty() {
        return as_bytes();
    }
    read
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_read_as_text_and_attachments_are_listed() {
        let raw = b"From: Kari <kari@example.no>\r\nTo: post@example.org\r\nSubject: Hei\r\n\
Message-ID: <a@example.no>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n\
<p>Hei <script>alert(1)</script><img src=\"https://tracker.example.org/x.png\">der</p>\r\n\
--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"rapport.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\nSGVpIGRlcg==\r\n--b--\r\n";
        let r = readable(raw);
        assert_eq!(r.from, "Kari <kari@example.no>");
        assert_eq!(r.subject, "Hei");
        assert!(r.text.contains("Hei"), "{r:?}");
        assert!(!r.text.contains("<p>") && !r.text.contains("<img"), "{r:?}");
        assert_eq!(r.attachments, vec![("rapport.pdf".to_owned(), 7)]);
    }

    #[test]
    fn garbage_is_shown_as_bytes() {
        let r = readable(b"\x00\x01 not mail");
        assert!(r.unreadable, "{r:?}");
        assert!(r.text.contains("not mail"), "{r:?}");
    }
}
