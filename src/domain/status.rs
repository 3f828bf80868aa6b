//! The words stored for a delivery's status, an inbound message's kind and a notice's
//! purpose and status, as types.

use std::fmt;

/// Generates an enum of stored words: `as_str`, `parse`, `ALL`, `Display`, and
/// comparison with the word itself.
macro_rules! stored_words {
    ($(#[$meta:meta])* $name:ident, $error:literal { $($(#[$vmeta:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }

            /// The stored word read back; `None` for a word this version does not know.
            pub fn parse(word: &str) -> Option<Self> {
                match word {
                    $($word => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl TryFrom<&str> for $name {
            type Error = String;
            fn try_from(word: &str) -> Result<Self, String> {
                Self::parse(word).ok_or_else(|| format!(concat!($error, " {:?}"), word))
            }
        }
    };
}
pub(super) use stored_words;

stored_words! {
    /// Where a delivery stands.
    DeliveryStatus, "unknown delivery status" {
        /// Waiting to be sent (or for a retry).
        Queued = "queued",
        Sent = "sent",
        Failed = "failed",
        /// Not sent: the contact left, or the issue was cancelled, before it went out.
        Skipped = "skipped",
        Cancelled = "cancelled",
    }
}

stored_words! {
    /// What an inbound message was taken for.
    InboundKind, "unknown inbound kind" {
        /// A request to join.
        Subscribe = "subscribe",
        /// A request to leave.
        Unsubscribe = "unsubscribe",
        /// A delivery report that named a delivery of ours.
        Bounce = "bounce",
        /// A delivery report that failed its signature check: counts nothing.
        Forged = "forged",
        /// Auto-replies, list traffic, null senders.
        Automatic = "automatic",
        /// Mail from the service itself.
        Loop = "loop",
        /// Kept for staff to read.
        Other = "other",
        /// Not a mail message at all.
        Unreadable = "unreadable",
    }
}

stored_words! {
    /// What a notice (a mail that answers a request) carries.
    NoticePurpose, "unknown notice purpose" {
        /// The double opt-in link.
        Confirm = "confirm",
        /// A leave link, for a request to leave by mail whose sender was not verified.
        Leave = "leave",
    }
}

stored_words! {
    /// Where a notice stands.
    NoticeStatus, "unknown notice status" {
        /// Waiting to be sent (for room in its budget, or a retry).
        Queued = "queued",
        Sent = "sent",
        Failed = "failed",
        /// Not sent: it no longer made sense (a confirmation to someone confirmed).
        Skipped = "skipped",
    }
}

impl NoticePurpose {
    /// What the notice was, as staff and the person read it.
    pub fn norwegian(self) -> &'static str {
        match self {
            NoticePurpose::Confirm => "e-post med lenke for å bekrefte påmeldingen",
            NoticePurpose::Leave => "e-post med lenke for å melde seg av",
        }
    }
}

impl NoticeStatus {
    /// Where the notice stands, as staff and the person read it.
    pub fn norwegian(self) -> &'static str {
        match self {
            NoticeStatus::Queued => "i kø",
            NoticeStatus::Sent => "sendt",
            NoticeStatus::Failed => "feilet",
            NoticeStatus::Skipped => "ikke sendt",
        }
    }
}

impl DeliveryStatus {
    /// The status as staff and the person read it.
    pub fn norwegian(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "i kø",
            DeliveryStatus::Sent => "sendt",
            DeliveryStatus::Failed => "feilet",
            DeliveryStatus::Skipped => "ikke sendt",
            DeliveryStatus::Cancelled => "stoppet",
        }
    }
}

impl InboundKind {
    /// What a message was taken for, as staff and the person read it.
    pub fn norwegian(self) -> &'static str {
        match self {
            InboundKind::Subscribe => "ønske om å stå på listen",
            InboundKind::Unsubscribe => "ønske om å melde seg av",
            InboundKind::Bounce => "melding om at e-post ikke kom fram",
            InboundKind::Forged => "falsk melding om at e-post ikke kom fram",
            InboundKind::Automatic => "automatisk svar",
            InboundKind::Loop => "e-post i sløyfe",
            InboundKind::Other => "annen e-post (til staben)",
            InboundKind::Unreadable => "e-post som ikke kunne leses",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_reads_back() {
        for kind in InboundKind::ALL {
            assert_eq!(InboundKind::parse(kind.as_str()), Some(*kind));
        }
        for status in DeliveryStatus::ALL {
            assert_eq!(DeliveryStatus::parse(status.as_str()), Some(*status));
        }
        for purpose in NoticePurpose::ALL {
            assert_eq!(NoticePurpose::parse(purpose.as_str()), Some(*purpose));
            assert!(!purpose.norwegian().is_empty());
        }
        for status in NoticeStatus::ALL {
            assert_eq!(NoticeStatus::parse(status.as_str()), Some(*status));
            assert!(!status.norwegian().is_empty());
        }
        assert_eq!(InboundKind::parse("spam"), None);
        assert_eq!(InboundKind::Bounce, "bounce");
    }
}
