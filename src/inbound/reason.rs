//! Why classification kept a message for staff or left it unanswered ([`Reason`]),
//! stored inside the outcome's sentence in the words earlier versions wrote.

use std::borrow::Cow;

/// Why a message was kept for staff, or left unanswered, as classification found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    Empty,
    NoHeaders,
    NotAMailMessage,
    CouldNotParse,
    ToBounceAddress,
    ToJoinAndLeaveAddress,
    LeaveSentToJoinAddress,
    AsksToJoinAndLeave,
    NoRequest,
    NoSenderAddress,
    /// The sender's address cannot be used (why, in the address check's words).
    UnusableAddress(String),
    ForwardedLeave,
    /// Sent from this address of the service's own.
    FromOwnAddress(String),
    OwnListId,
    NamesOwnAddress,
    /// The `Auto-Submitted` header's value.
    AutoSubmitted(String),
    /// The name of an auto-reply header (`X-Autoreply`, …).
    AutoReplyHeader(String),
    /// The `Precedence` header's value.
    Precedence(String),
    MailingList,
    /// Sent by this daemon address.
    SentByDaemon(String),
    NullSender,
    /// The subject holds this phrase of auto-replies.
    AutoReplySubject(String),
}

/// The reasons without details: [`Reason::parse`] reads them back by their words.
pub(super) const PLAIN_REASONS: &[Reason] = &[
    Reason::Empty,
    Reason::NoHeaders,
    Reason::NotAMailMessage,
    Reason::CouldNotParse,
    Reason::ToBounceAddress,
    Reason::ToJoinAndLeaveAddress,
    Reason::LeaveSentToJoinAddress,
    Reason::AsksToJoinAndLeave,
    Reason::NoRequest,
    Reason::NoSenderAddress,
    Reason::ForwardedLeave,
    Reason::OwnListId,
    Reason::NamesOwnAddress,
    Reason::MailingList,
    Reason::NullSender,
];

const UNUSABLE_ADDRESS: &str = "a request from an address that cannot be used: ";
const FROM_OWN_ADDRESS: &str = "sent from the service's own address ";
const AUTO_SUBMITTED: &str = "Auto-Submitted: ";
const PRECEDENCE: &str = "Precedence: ";
const SENT_BY: &str = "sent by ";

impl Reason {
    /// The stored words.
    pub fn english(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            Reason::Empty => "the message is empty",
            Reason::NoHeaders => "no mail headers found",
            Reason::NotAMailMessage => "no From, Subject or Message-ID header: not a mail message",
            Reason::CouldNotParse => "the message could not be parsed",
            Reason::ToBounceAddress => "mail to the bounce address that is not a delivery report",
            Reason::ToJoinAndLeaveAddress => "sent to both the join and the leave address",
            Reason::LeaveSentToJoinAddress => "asks to leave, but was sent to the join address",
            Reason::AsksToJoinAndLeave => "asks both to join and to leave",
            Reason::NoRequest => "no request to join or leave found",
            Reason::NoSenderAddress => "a request, but with no sender address to answer",
            Reason::ForwardedLeave => "a forwarded request to leave: staff should check who asked",
            Reason::OwnListId => "carries the newsletter's own List-Id",
            Reason::NamesOwnAddress => "a request naming the service's own address",
            Reason::MailingList => "mailing-list traffic (List-Id or List-Unsubscribe)",
            Reason::NullSender => "null envelope sender (<>)",
            Reason::UnusableAddress(why) => return format!("{UNUSABLE_ADDRESS}{why}").into(),
            Reason::FromOwnAddress(from) => return format!("{FROM_OWN_ADDRESS}{from}").into(),
            Reason::AutoSubmitted(value) => return format!("{AUTO_SUBMITTED}{value}").into(),
            Reason::AutoReplyHeader(name) => return format!("has an {name} header").into(),
            Reason::Precedence(value) => return format!("{PRECEDENCE}{value}").into(),
            Reason::SentByDaemon(from) => return format!("{SENT_BY}{from}").into(),
            Reason::AutoReplySubject(phrase) => {
                return format!("an automatic reply (subject says \"{phrase}\")").into();
            }
        })
    }

    /// As staff and the person read it.
    pub fn norwegian(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            Reason::Empty => "meldingen er tom",
            Reason::NoHeaders => "fant ingen e-posthoder",
            Reason::NotAMailMessage => "verken avsender, emne eller Message-ID: ikke en e-post",
            Reason::CouldNotParse => "meldingen kunne ikke tolkes",
            Reason::ToBounceAddress => {
                "e-post til returadressen som ikke er en melding om levering"
            }
            Reason::ToJoinAndLeaveAddress => {
                "sendt både til adressen for påmelding og til adressen for avmelding"
            }
            Reason::LeaveSentToJoinAddress => {
                "ber om å melde seg av, men ble sendt til adressen for påmelding"
            }
            Reason::AsksToJoinAndLeave => "ber både om å stå på listen og om å melde seg av",
            Reason::NoRequest => "fant ingen forespørsel om å stå på listen eller melde seg av",
            Reason::NoSenderAddress => "en forespørsel, men uten en avsenderadresse å svare til",
            Reason::ForwardedLeave => {
                "en videresendt forespørsel om å melde seg av: staben bør sjekke hvem som spurte"
            }
            Reason::OwnListId => "har nyhetsbrevets egen List-Id",
            Reason::NamesOwnAddress => "en forespørsel som oppgir tjenestens egen adresse",
            Reason::MailingList => "e-post fra en e-postliste (List-Id eller List-Unsubscribe)",
            Reason::NullSender => "tom avsender i konvolutten (<>)",
            Reason::UnusableAddress(why) => {
                return format!("en forespørsel fra en adresse som ikke kan brukes ({why})").into();
            }
            Reason::FromOwnAddress(from) => {
                return format!("sendt fra tjenestens egen adresse {from}").into();
            }
            Reason::AutoSubmitted(value) => {
                return format!("merket Auto-Submitted: {value}").into();
            }
            Reason::AutoReplyHeader(name) => return format!("har feltet {name}").into(),
            Reason::Precedence(value) => return format!("merket Precedence: {value}").into(),
            Reason::SentByDaemon(from) => return format!("sendt av {from}").into(),
            Reason::AutoReplySubject(phrase) => {
                return format!("et automatisk svar (emnet sier «{phrase}»)").into();
            }
        })
    }

    /// The stored words read back.
    pub fn parse(stored: &str) -> Option<Self> {
        if let Some(reason) = PLAIN_REASONS.iter().find(|r| r.english() == stored) {
            return Some(reason.clone());
        }
        let after = |prefix: &str| stored.strip_prefix(prefix).map(str::to_owned);
        after(UNUSABLE_ADDRESS)
            .map(Reason::UnusableAddress)
            .or_else(|| after(FROM_OWN_ADDRESS).map(Reason::FromOwnAddress))
            .or_else(|| after(AUTO_SUBMITTED).map(Reason::AutoSubmitted))
            .or_else(|| after(PRECEDENCE).map(Reason::Precedence))
            .or_else(|| after(SENT_BY).map(Reason::SentByDaemon))
            .or_else(|| {
                between(stored, "has an ", " header").map(|n| Reason::AutoReplyHeader(n.into()))
            })
            .or_else(|| {
                between(stored, "an automatic reply (subject says \"", "\")")
                    .map(|p| Reason::AutoReplySubject(p.into()))
            })
    }
}

/// `text` without `prefix` and `suffix`, if it has both.
pub(super) fn between<'a>(text: &'a str, prefix: &str, suffix: &str) -> Option<&'a str> {
    text.strip_prefix(prefix)?.strip_suffix(suffix)
}
