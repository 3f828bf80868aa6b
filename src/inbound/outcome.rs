//! What handling a message did ([`InboundOutcome`]) and why classification kept or
//! ignored it ([`Reason`]), as types. Each is stored as the sentence earlier versions
//! wrote in `inbound_messages.result` (the command line and the admin API print that
//! sentence), and read back with `parse` for the staff pages and a person's copy, which
//! show `norwegian()`. A stored sentence this version cannot read back (an older
//! version's wording) is shown as it was stored.

use std::fmt;

use super::reason::{Reason, between};
use crate::domain::DeliveryId;

/// What staff can do about a request to join that was kept for them.
const HELD_FOR_STAFF: &str = "Staben kan sende bekreftelseslenken med knappen «Send \
     bekreftelseslenke» på e-postens side (eller `nyhetsbrev inbound answer`).";

/// What handling one inbound message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundOutcome {
    /// A request to join for `address`, forwarded by someone else: kept for staff.
    HeldForwarded {
        address: String,
        forwarded_by: String,
    },
    /// A request to join from a sender the receiving server did not verify: kept for
    /// staff.
    HeldUnverified {
        address: String,
    },
    /// A confirmation link is queued, for the named publications (none: all).
    ConfirmationQueued {
        address: String,
        publications: Vec<String>,
    },
    AlreadyOnList {
        address: String,
    },
    ConfirmationSentRecently {
        address: String,
    },
    /// Left at once: the receiving server vouched for the sender (its evidence).
    Unsubscribed {
        address: String,
        evidence: String,
    },
    AlreadyLeft {
        address: String,
    },
    NotOnList {
        address: String,
    },
    /// An unverified request to leave from someone not on the list.
    NotOnListNothingSent {
        address: String,
    },
    LeaveLinkQueued {
        address: String,
    },
    LeaveLinkSentRecently {
        address: String,
    },
    /// A delivery report to a bounce address whose signature is wrong.
    ForgedSignature,
    /// A delivery report naming a delivery by Message-ID, not at its bounce address.
    ForgedByMessageId {
        delivery: DeliveryId,
    },
    /// A delivery report matching no delivery (in the standard shape or not).
    ReportUnmatched {
        standard: bool,
    },
    /// A delivery report at a signed bounce address of a delivery that is gone.
    ReportForMissingDelivery {
        standard: bool,
        delivery: DeliveryId,
    },
    ReportWithoutRecipient {
        delivery: DeliveryId,
    },
    ReportDelivered,
    /// A hard bounce that made the address count as bounced.
    HardBounceMarked {
        detail: Option<String>,
        count: i64,
        threshold: u32,
    },
    HardBounceCounted {
        detail: Option<String>,
        count: i64,
        threshold: u32,
    },
    HardBounceAlreadyCounted {
        detail: Option<String>,
    },
    SoftBounce {
        detail: Option<String>,
    },
    IgnoredAutomatic(Reason),
    IgnoredLoop(Reason),
    KeptForStaff(Reason),
    KeptUnreadable(Reason),
    /// A stored sentence this version cannot read back: shown as it is.
    Recorded(String),
}

const NO_REASON: &str = "no reason given";
const CONFIRMATION_TO: &str = "confirmation link to ";
const QUEUED_FOR: &str = " queued, for ";
const HELD_FORWARDED: (&str, &str) = ("ønske om å stå på listen for ", ", videresendt av ");
const HELD_UNVERIFIED: (&str, &str) = (
    "ønske om å stå på listen fra ",
    ", men mottakerserveren har ikke bekreftet avsenderen: ikke besvart. ",
);
const ALREADY_ON_LIST: &str = " is already on the list; nothing sent";
const CONFIRMATION_RECENT: (&str, &str) = (
    "a confirmation went to ",
    " recently; not sent again (rate limit)",
);
const UNSUBSCRIBED: &str = " unsubscribed (sender verified: ";
const ALREADY_LEFT: &str = " had already left the list";
const NOT_ON_LIST: &str = " is not on the list";
const NOTHING_SENT: &str = "; nothing sent";
const LEAVE_LINK_QUEUED: (&str, &str) = (
    "sender not verified: a leave link to ",
    " is queued (sent when the hour's leave_links_per_hour has room); they leave when they use it",
);
const LEAVE_LINK_RECENT: (&str, &str) = (
    "sender not verified; a mail went to ",
    " recently, so no leave link now (rate limit)",
);
const FORGED_SIGNATURE: &str =
    "delivery report to a bounce address whose signature is wrong: forged, not counted";
const FORGED_BY_MESSAGE_ID: (&str, &str) = (
    "delivery report names delivery ",
    " by its Message-ID but was not sent to its signed bounce address: forged, not counted",
);
const REPORT_UNMATCHED: (&str, &str) = ("delivery report (", ") not matched to any delivery");
const KEPT: &str = "; kept for staff";
const NO_SUCH_DELIVERY: (&str, &str) = (" (there is no delivery ", ")");
const WITHOUT_RECIPIENT: (&str, &str) = (
    "delivery report for delivery ",
    " does not name its recipient; not counted",
);
const DELIVERED: &str = "delivery report says the message was delivered";
const HARD_BOUNCE: &str = "hard bounce (";
const SOFT_BOUNCE: (&str, &str) = ("soft bounce (", "); noted, not counted");
const MARKED: &str = ": the address is now marked bounced";
const ALREADY_COUNTED: &str = "already counted for this delivery";
const AUTOMATIC: (&str, &str) = ("ignored: automatic mail (", ")");
const LOOP: (&str, &str) = ("ignored: mail loop (", ")");
const KEPT_UNREADABLE: &str = "kept for staff, unreadable: ";
const KEPT_FOR_STAFF: &str = "kept for staff: ";

fn shape(standard: bool) -> &'static str {
    if standard { "standard" } else { "non-standard" }
}

fn detail_or_none(detail: &Option<String>) -> &str {
    detail.as_deref().unwrap_or(NO_REASON)
}

impl InboundOutcome {
    /// The sentence as stored, printed by the command line and given by the admin API.
    pub fn english(&self) -> String {
        match self {
            InboundOutcome::HeldForwarded {
                address,
                forwarded_by,
            } => format!(
                "{}{address}{}{forwarded_by}: ikke besvart. {HELD_FOR_STAFF}",
                HELD_FORWARDED.0, HELD_FORWARDED.1
            ),
            InboundOutcome::HeldUnverified { address } => format!(
                "{}{address}{}{HELD_FOR_STAFF}",
                HELD_UNVERIFIED.0, HELD_UNVERIFIED.1
            ),
            InboundOutcome::ConfirmationQueued {
                address,
                publications,
            } if publications.is_empty() => format!("{CONFIRMATION_TO}{address} queued"),
            InboundOutcome::ConfirmationQueued {
                address,
                publications,
            } => format!(
                "{CONFIRMATION_TO}{address}{QUEUED_FOR}{}",
                publications.join(", ")
            ),
            InboundOutcome::AlreadyOnList { address } => format!("{address}{ALREADY_ON_LIST}"),
            InboundOutcome::ConfirmationSentRecently { address } => format!(
                "{}{address}{}",
                CONFIRMATION_RECENT.0, CONFIRMATION_RECENT.1
            ),
            InboundOutcome::Unsubscribed { address, evidence } => {
                format!("{address}{UNSUBSCRIBED}{evidence})")
            }
            InboundOutcome::AlreadyLeft { address } => format!("{address}{ALREADY_LEFT}"),
            InboundOutcome::NotOnList { address } => format!("{address}{NOT_ON_LIST}"),
            InboundOutcome::NotOnListNothingSent { address } => {
                format!("{address}{NOT_ON_LIST}{NOTHING_SENT}")
            }
            InboundOutcome::LeaveLinkQueued { address } => {
                format!("{}{address}{}", LEAVE_LINK_QUEUED.0, LEAVE_LINK_QUEUED.1)
            }
            InboundOutcome::LeaveLinkSentRecently { address } => {
                format!("{}{address}{}", LEAVE_LINK_RECENT.0, LEAVE_LINK_RECENT.1)
            }
            InboundOutcome::ForgedSignature => FORGED_SIGNATURE.to_owned(),
            InboundOutcome::ForgedByMessageId { delivery } => format!(
                "{}{delivery}{}",
                FORGED_BY_MESSAGE_ID.0, FORGED_BY_MESSAGE_ID.1
            ),
            InboundOutcome::ReportUnmatched { standard } => format!(
                "{}{}{}{KEPT}",
                REPORT_UNMATCHED.0,
                shape(*standard),
                REPORT_UNMATCHED.1
            ),
            InboundOutcome::ReportForMissingDelivery { standard, delivery } => format!(
                "{}{}{}{}{delivery}{}{KEPT}",
                REPORT_UNMATCHED.0,
                shape(*standard),
                REPORT_UNMATCHED.1,
                NO_SUCH_DELIVERY.0,
                NO_SUCH_DELIVERY.1
            ),
            InboundOutcome::ReportWithoutRecipient { delivery } => {
                format!("{}{delivery}{}", WITHOUT_RECIPIENT.0, WITHOUT_RECIPIENT.1)
            }
            InboundOutcome::ReportDelivered => DELIVERED.to_owned(),
            InboundOutcome::HardBounceMarked {
                detail,
                count,
                threshold,
            } => format!(
                "{HARD_BOUNCE}{}); {count} of {threshold}{MARKED}",
                detail_or_none(detail)
            ),
            InboundOutcome::HardBounceCounted {
                detail,
                count,
                threshold,
            } => format!(
                "{HARD_BOUNCE}{}); {count} of {threshold} counted",
                detail_or_none(detail)
            ),
            InboundOutcome::HardBounceAlreadyCounted { detail } => format!(
                "{HARD_BOUNCE}{}); {ALREADY_COUNTED}",
                detail_or_none(detail)
            ),
            InboundOutcome::SoftBounce { detail } => {
                format!(
                    "{}{}{}",
                    SOFT_BOUNCE.0,
                    detail_or_none(detail),
                    SOFT_BOUNCE.1
                )
            }
            InboundOutcome::IgnoredAutomatic(reason) => {
                format!("{}{}{}", AUTOMATIC.0, reason.english(), AUTOMATIC.1)
            }
            InboundOutcome::IgnoredLoop(reason) => {
                format!("{}{}{}", LOOP.0, reason.english(), LOOP.1)
            }
            InboundOutcome::KeptForStaff(reason) => {
                format!("{KEPT_FOR_STAFF}{}", reason.english())
            }
            InboundOutcome::KeptUnreadable(reason) => {
                format!("{KEPT_UNREADABLE}{}", reason.english())
            }
            InboundOutcome::Recorded(text) => text.clone(),
        }
    }

    /// What was done, as staff and the person read it.
    pub fn norwegian(&self) -> String {
        let bounce = |detail: &Option<String>| -> String {
            detail
                .clone()
                .unwrap_or_else(|| "ingen grunn oppgitt".to_owned())
        };
        let report_shape = |standard: bool| {
            if standard {
                "standard format"
            } else {
                "annet format"
            }
        };
        match self {
            // Written in bokmål from the start.
            InboundOutcome::HeldForwarded { .. } | InboundOutcome::HeldUnverified { .. } => {
                self.english()
            }
            InboundOutcome::ConfirmationQueued {
                address,
                publications,
            } if publications.is_empty() => {
                format!("bekreftelseslenke til {address} lagt i kø")
            }
            InboundOutcome::ConfirmationQueued {
                address,
                publications,
            } => format!(
                "bekreftelseslenke til {address} lagt i kø, for {}",
                publications.join(", ")
            ),
            InboundOutcome::AlreadyOnList { address } => {
                format!("{address} står allerede på listen; ingenting sendt")
            }
            InboundOutcome::ConfirmationSentRecently { address } => format!(
                "en bekreftelse gikk til {address} nylig; ikke sendt igjen (grensen for hvor ofte)"
            ),
            InboundOutcome::Unsubscribed { address, evidence } => {
                format!("{address} er meldt av (mottakerserveren bekreftet avsenderen: {evidence})")
            }
            InboundOutcome::AlreadyLeft { address } => {
                format!("{address} hadde allerede meldt seg av")
            }
            InboundOutcome::NotOnList { address } => format!("{address} står ikke på listen"),
            InboundOutcome::NotOnListNothingSent { address } => {
                format!("{address} står ikke på listen; ingenting sendt")
            }
            InboundOutcome::LeaveLinkQueued { address } => format!(
                "avsenderen er ikke bekreftet: en lenke for å melde seg av er lagt i kø til \
                 {address} (sendes når timekvoten for slike lenker har plass); personen er \
                 meldt av når lenken brukes"
            ),
            InboundOutcome::LeaveLinkSentRecently { address } => format!(
                "avsenderen er ikke bekreftet, og en e-post gikk til {address} nylig: ingen \
                 lenke for å melde seg av nå (grensen for hvor ofte)"
            ),
            InboundOutcome::ForgedSignature => "melding om at e-post ikke kom fram, til en \
                 returadresse med feil signatur: falsk, ikke talt"
                .to_owned(),
            InboundOutcome::ForgedByMessageId { delivery } => format!(
                "melding om at e-post ikke kom fram, som viser til sending nr. {delivery} med \
                 Message-ID, men ikke ble sendt til sendingens signerte returadresse: falsk, \
                 ikke talt"
            ),
            InboundOutcome::ReportUnmatched { standard } => format!(
                "melding om at e-post ikke kom fram ({}) som ikke hører til noen sending; tatt \
                 vare på for staben",
                report_shape(*standard)
            ),
            InboundOutcome::ReportForMissingDelivery { standard, delivery } => format!(
                "melding om at e-post ikke kom fram ({}) som ikke hører til noen sending (det \
                 finnes ingen sending nr. {delivery}); tatt vare på for staben",
                report_shape(*standard)
            ),
            InboundOutcome::ReportWithoutRecipient { delivery } => format!(
                "melding om at e-post ikke kom fram for sending nr. {delivery}, men den nevner \
                 ikke mottakeren; ikke talt"
            ),
            InboundOutcome::ReportDelivered => {
                "leveringsmeldingen sier at e-posten kom fram".to_owned()
            }
            InboundOutcome::HardBounceMarked {
                detail,
                count,
                threshold,
            } => format!(
                "varig avvisning ({}); {count} av {threshold}: adressen er nå merket som avvist",
                bounce(detail)
            ),
            InboundOutcome::HardBounceCounted {
                detail,
                count,
                threshold,
            } => format!(
                "varig avvisning ({}); {count} av {threshold} talt",
                bounce(detail)
            ),
            InboundOutcome::HardBounceAlreadyCounted { detail } => format!(
                "varig avvisning ({}); allerede talt for denne sendingen",
                bounce(detail)
            ),
            InboundOutcome::SoftBounce { detail } => format!(
                "midlertidig avvisning ({}); notert, ikke talt",
                bounce(detail)
            ),
            InboundOutcome::IgnoredAutomatic(reason) => {
                format!("ikke besvart: automatisk e-post ({})", reason.norwegian())
            }
            InboundOutcome::IgnoredLoop(reason) => {
                format!("ikke besvart: e-post i sløyfe ({})", reason.norwegian())
            }
            InboundOutcome::KeptForStaff(reason) => {
                format!("tatt vare på for staben: {}", reason.norwegian())
            }
            InboundOutcome::KeptUnreadable(reason) => format!(
                "tatt vare på for staben, kunne ikke leses: {}",
                reason.norwegian()
            ),
            InboundOutcome::Recorded(text) => text.clone(),
        }
    }

    /// A stored sentence read back; one this version did not write is kept as it is.
    pub fn parse(stored: &str) -> Self {
        Self::parse_known(stored).unwrap_or_else(|| InboundOutcome::Recorded(stored.to_owned()))
    }

    fn parse_known(stored: &str) -> Option<Self> {
        let address = |text: &str| text.to_owned();
        if let Some(rest) = stored.strip_prefix(HELD_FORWARDED.0)
            && let Some(rest) = rest.strip_suffix(HELD_FOR_STAFF)
            && let Some(rest) = rest.strip_suffix(": ikke besvart. ")
            && let Some((to, by)) = rest.split_once(HELD_FORWARDED.1)
        {
            return Some(InboundOutcome::HeldForwarded {
                address: address(to),
                forwarded_by: by.to_owned(),
            });
        }
        if let Some(rest) = stored.strip_suffix(HELD_FOR_STAFF)
            && let Some(to) = between(rest, HELD_UNVERIFIED.0, HELD_UNVERIFIED.1)
        {
            return Some(InboundOutcome::HeldUnverified {
                address: address(to),
            });
        }
        if let Some(rest) = stored.strip_prefix(CONFIRMATION_TO) {
            if let Some(to) = rest.strip_suffix(" queued") {
                return Some(InboundOutcome::ConfirmationQueued {
                    address: address(to),
                    publications: Vec::new(),
                });
            }
            let (to, list) = rest.split_once(QUEUED_FOR)?;
            return Some(InboundOutcome::ConfirmationQueued {
                address: address(to),
                publications: list.split(", ").map(str::to_owned).collect(),
            });
        }
        if let Some(to) = between(stored, CONFIRMATION_RECENT.0, CONFIRMATION_RECENT.1) {
            return Some(InboundOutcome::ConfirmationSentRecently {
                address: address(to),
            });
        }
        if let Some(to) = between(stored, LEAVE_LINK_QUEUED.0, LEAVE_LINK_QUEUED.1) {
            return Some(InboundOutcome::LeaveLinkQueued {
                address: address(to),
            });
        }
        if let Some(to) = between(stored, LEAVE_LINK_RECENT.0, LEAVE_LINK_RECENT.1) {
            return Some(InboundOutcome::LeaveLinkSentRecently {
                address: address(to),
            });
        }
        if stored == FORGED_SIGNATURE {
            return Some(InboundOutcome::ForgedSignature);
        }
        if let Some(id) = between(stored, FORGED_BY_MESSAGE_ID.0, FORGED_BY_MESSAGE_ID.1) {
            return Some(InboundOutcome::ForgedByMessageId {
                delivery: id.parse().ok()?,
            });
        }
        if let Some(rest) = stored.strip_prefix(REPORT_UNMATCHED.0) {
            let (shape, rest) = rest.split_once(REPORT_UNMATCHED.1)?;
            let standard = match shape {
                "standard" => true,
                "non-standard" => false,
                _ => return None,
            };
            let rest = rest.strip_suffix(KEPT)?;
            if rest.is_empty() {
                return Some(InboundOutcome::ReportUnmatched { standard });
            }
            let id = between(rest, NO_SUCH_DELIVERY.0, NO_SUCH_DELIVERY.1)?;
            return Some(InboundOutcome::ReportForMissingDelivery {
                standard,
                delivery: id.parse().ok()?,
            });
        }
        if let Some(id) = between(stored, WITHOUT_RECIPIENT.0, WITHOUT_RECIPIENT.1) {
            return Some(InboundOutcome::ReportWithoutRecipient {
                delivery: id.parse().ok()?,
            });
        }
        if stored == DELIVERED {
            return Some(InboundOutcome::ReportDelivered);
        }
        if let Some(rest) = stored.strip_prefix(HARD_BOUNCE) {
            return parse_hard_bounce(rest);
        }
        if let Some(detail) = between(stored, SOFT_BOUNCE.0, SOFT_BOUNCE.1) {
            return Some(InboundOutcome::SoftBounce {
                detail: detail_read(detail),
            });
        }
        if let Some(reason) = between(stored, AUTOMATIC.0, AUTOMATIC.1) {
            return Reason::parse(reason).map(InboundOutcome::IgnoredAutomatic);
        }
        if let Some(reason) = between(stored, LOOP.0, LOOP.1) {
            return Reason::parse(reason).map(InboundOutcome::IgnoredLoop);
        }
        if let Some(reason) = stored.strip_prefix(KEPT_UNREADABLE) {
            return Reason::parse(reason).map(InboundOutcome::KeptUnreadable);
        }
        if let Some(reason) = stored.strip_prefix(KEPT_FOR_STAFF) {
            return Reason::parse(reason).map(InboundOutcome::KeptForStaff);
        }
        // The sentences that start with the address: their fixed ends tell them apart.
        if let Some((to, evidence)) = stored.split_once(UNSUBSCRIBED) {
            return Some(InboundOutcome::Unsubscribed {
                address: address(to),
                evidence: evidence.strip_suffix(')')?.to_owned(),
            });
        }
        if let Some(to) = stored.strip_suffix(ALREADY_ON_LIST) {
            return Some(InboundOutcome::AlreadyOnList {
                address: address(to),
            });
        }
        if let Some(to) = stored.strip_suffix(ALREADY_LEFT) {
            return Some(InboundOutcome::AlreadyLeft {
                address: address(to),
            });
        }
        if let Some(rest) = stored.strip_suffix(NOTHING_SENT)
            && let Some(to) = rest.strip_suffix(NOT_ON_LIST)
        {
            return Some(InboundOutcome::NotOnListNothingSent {
                address: address(to),
            });
        }
        if let Some(to) = stored.strip_suffix(NOT_ON_LIST) {
            return Some(InboundOutcome::NotOnList {
                address: address(to),
            });
        }
        None
    }
}

/// `no reason given` is how a report without one was stored.
fn detail_read(detail: &str) -> Option<String> {
    (detail != NO_REASON).then(|| detail.to_owned())
}

/// The rest of `hard bounce (…`: the detail runs to the last `); `, since the report's
/// own words may hold one too.
fn parse_hard_bounce(rest: &str) -> Option<InboundOutcome> {
    let (detail, tail) = rest.rsplit_once("); ")?;
    let detail = detail_read(detail);
    if tail == ALREADY_COUNTED {
        return Some(InboundOutcome::HardBounceAlreadyCounted { detail });
    }
    let counts = |text: &str| -> Option<(i64, u32)> {
        let (count, threshold) = text.split_once(" of ")?;
        Some((count.parse().ok()?, threshold.parse().ok()?))
    };
    if let Some(text) = tail.strip_suffix(MARKED) {
        let (count, threshold) = counts(text)?;
        return Some(InboundOutcome::HardBounceMarked {
            detail,
            count,
            threshold,
        });
    }
    let (count, threshold) = counts(tail.strip_suffix(" counted")?)?;
    Some(InboundOutcome::HardBounceCounted {
        detail,
        count,
        threshold,
    })
}

impl fmt::Display for InboundOutcome {
    /// The stored sentence.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.english())
    }
}

#[cfg(test)]
mod tests;
