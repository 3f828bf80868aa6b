//! Inbound mail: requests to join or leave sent by e-mail, and delivery reports.
//!
//! A raw message comes from an MTA pipe (`nyhetsbrev inbound`), a polled IMAP mailbox
//! (`imap.rs`) or the admin API. [`classify`] decides what it is without touching
//! anything; [`Inbound::handle`] acts on it and records it in `inbound_messages`. Every
//! message is recorded, whatever it is, so nothing is dropped; the same bytes twice are
//! handled once.

mod bounce;
mod classify;
pub mod imap;
mod outcome;
mod readable;
mod reason;

use sha2::{Digest, Sha256};

pub use bounce::{BounceReport, BouncedRecipient};
pub use classify::{BounceTag, Classified, Envelope, Kind, OwnAddresses, Summary, classify};
pub use outcome::InboundOutcome;
pub use readable::{Readable, readable};
pub use reason::Reason;

use crate::domain::AuditAction;
use crate::domain::ContactId;
use crate::domain::{ConsentNote, ConsentSource, ContactName, Timestamp};
use crate::domain::{DeliveryId, EmailAddress, InboundKind, MailDoor};
use crate::notices::Notices;
use crate::store::{
    Actor, AddressUnsubscribed, BounceRecorded, LeaveLinkOutcome, NewInbound, NoticeBudget,
    RequestedBy, Store, StoreError, SubscribeOutcome,
};

/// Where a message came from (stored with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Stdin,
    Imap,
    Api,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Stdin => "stdin",
            Channel::Imap => "imap",
            Channel::Api => "api",
        }
    }
}

/// What became of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    /// Its row in `inbound_messages`.
    pub id: i64,
    pub kind: InboundKind,
    /// What was done, as stored: [`InboundOutcome::parse`] reads it back.
    pub result: String,
    /// The same bytes were handled before; nothing was done again.
    pub duplicate: bool,
}

/// Why a held request could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("there is no inbound message {0}")]
    NotFound(i64),
    #[error("inbound message {0} is not a request to join kept for staff")]
    NotARequest(i64),
    #[error("inbound message {0} was answered already")]
    AlreadyAnswered(i64),
    #[error(transparent)]
    Inbound(#[from] InboundError),
    #[error("could not read the message: {0}")]
    Store(StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    #[error("the message is {size} bytes; the limit is {limit} (inbound_max_size)")]
    TooLarge { size: usize, limit: usize },
    #[error("could not record the message: {0}")]
    Store(StoreError),
}

impl InboundError {
    /// Worth trying again later (the MTA's EX_TEMPFAIL, the mailbox's next poll): the
    /// message was not recorded and nothing of it is lost.
    pub fn is_temporary(&self) -> bool {
        !matches!(self, InboundError::TooLarge { .. })
    }
}

/// Acts on inbound messages.
#[derive(Clone)]
pub struct Inbound {
    store: Store,
    own: OwnAddresses,
    notices: Notices,
    bounce_threshold: u32,
    max_size: usize,
}

impl Inbound {
    /// `bounce_threshold`: hard bounces after which a contact counts as bounced;
    /// `max_size`: larger messages are refused.
    pub fn new(
        store: Store,
        own: OwnAddresses,
        notices: Notices,
        bounce_threshold: u32,
        max_size: usize,
    ) -> Self {
        Self {
            store,
            own,
            notices,
            bounce_threshold,
            max_size,
        }
    }

    pub fn max_size(&self) -> usize {
        self.max_size
    }

    /// The store the handler records in (for the operations that audit around it).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Reads one raw message, acts on it and records it.
    pub async fn handle(
        &self,
        raw: &[u8],
        channel: Channel,
        envelope: &Envelope,
    ) -> Result<Handled, InboundError> {
        self.handle_by(raw, channel, envelope, None).await
    }

    /// [`Inbound::handle`] for a message someone handed in (an API token's holder):
    /// the changes it makes are audited as done by `poster` instead of `inbound:…`.
    /// One span per message: the way it came, and its id once it is recorded (never
    /// its sender: a span's fields reach the log).
    #[tracing::instrument(
        name = "inbound",
        skip_all,
        fields(channel = channel.as_str(), inbound_id = tracing::field::Empty)
    )]
    pub async fn handle_by(
        &self,
        raw: &[u8],
        channel: Channel,
        envelope: &Envelope,
        poster: Option<&Actor>,
    ) -> Result<Handled, InboundError> {
        if raw.len() > self.max_size {
            return Err(InboundError::TooLarge {
                size: raw.len(),
                limit: self.max_size,
            });
        }
        let hash = hex(&Sha256::digest(raw));
        if let Some(seen) = self.store.inbound_by_hash(&hash).await? {
            tracing::Span::current().record("inbound_id", seen.id);
            return Ok(Handled {
                id: seen.id,
                kind: seen.kind,
                result: seen.result,
                duplicate: true,
            });
        }
        // Parsing a hostile message is CPU work on untrusted input: keep it off the
        // async workers.
        let parsed = {
            let raw = raw.to_vec();
            let own = self.own_for(channel);
            let envelope = envelope.clone();
            tokio::task::spawn_blocking(move || classify(&raw, &own, &envelope))
                .await
                .unwrap_or_else(|_| Classified {
                    summary: Summary::default(),
                    kind: Kind::Unreadable {
                        reason: Reason::CouldNotParse,
                    },
                })
        };
        let action = self.act(&parsed, poster).await?;
        let kind = action.kind.unwrap_or(parsed.kind.kind());
        let summary = &parsed.summary;
        let result = action.result.english();
        let id = self
            .store
            .record_inbound(&NewInbound {
                channel: channel.as_str(),
                raw,
                raw_sha256: &hash,
                from_address: summary.from.as_deref().map(|s| clip(s, 320)),
                subject: summary.subject.as_deref().map(|s| clip(s, 500)),
                message_id: summary.message_id.as_deref().map(|s| clip(s, 500)),
                sent_at: summary.date_ms,
                kind,
                result: &result,
                contact_id: action.contact_id,
                delivery_id: action.delivery_id,
            })
            .await?;
        tracing::Span::current().record("inbound_id", id);
        // Not the result in words: it can name the sender's address (staff read it on
        // the message's page).
        tracing::info!(id, kind = kind.as_str(), "inbound message handled");
        crate::metrics::counters()
            .inbound_handled
            .get_or_create(&vec![("kind", kind.as_str().to_owned())])
            .inc();
        self.send_queued().await;
        Ok(Handled {
            id,
            kind,
            result,
            duplicate: false,
        })
    }

    /// Our addresses as classifying mail from `channel` needs them. Mail posted to the
    /// API went through no receiving server of ours: an `Authentication-Results` in
    /// its bytes is the poster's own word, so no sender of it counts as verified.
    fn own_for(&self, channel: Channel) -> OwnAddresses {
        let mut own = self.own.clone();
        if channel == Channel::Api {
            own.trusted_authserv_id = None;
        }
        own
    }

    async fn act(
        &self,
        parsed: &Classified,
        poster: Option<&Actor>,
    ) -> Result<Action, InboundError> {
        // Who the audit log names for what this mail changes.
        let actor = |door: MailDoor| poster.cloned().unwrap_or_else(|| Actor::mail(door));
        Ok(match &parsed.kind {
            Kind::Subscribe {
                address,
                forwarded_by: Some(forwarder),
                ..
            } if !same_address(forwarder, address) => Action {
                // Answering would let anyone direct our mail at a third party: staff
                // read it and answer it if it is genuine (one click on its page).
                result: InboundOutcome::HeldForwarded {
                    address: address.to_string(),
                    forwarded_by: clip(forwarder, 100).to_owned(),
                },
                contact_id: None,
                delivery_id: None,
                kind: Some(InboundKind::Other),
            },
            Kind::Subscribe {
                address,
                authenticated: None,
                ..
            } => Action {
                // Anyone can write any From: answering every such request would let a
                // flood of made-up senders spend the budget of requests by mail (and
                // mail strangers). Nothing is queued or spent; staff decide.
                result: InboundOutcome::HeldUnverified {
                    address: address.to_string(),
                },
                contact_id: None,
                delivery_id: None,
                kind: Some(InboundKind::Other),
            },
            Kind::Subscribe {
                address,
                name,
                forwarded_by,
                request,
                authenticated: Some(_),
            } => {
                self.queue_confirmation(
                    address,
                    name.as_deref(),
                    request,
                    request_note(&parsed.summary, forwarded_by.as_deref()),
                    actor(MailDoor::Subscribe),
                )
                .await?
            }
            Kind::Unsubscribe {
                address,
                authenticated: Some(evidence),
            } => {
                let outcome = self
                    .store
                    .unsubscribe_address(address, &actor(MailDoor::Unsubscribe))
                    .await?;
                let address = address.to_string();
                let (result, contact_id) = match outcome {
                    AddressUnsubscribed::Unsubscribed { contact_id } => (
                        InboundOutcome::Unsubscribed {
                            address,
                            evidence: evidence.clone(),
                        },
                        Some(contact_id),
                    ),
                    AddressUnsubscribed::AlreadyOut { contact_id } => {
                        (InboundOutcome::AlreadyLeft { address }, Some(contact_id))
                    }
                    AddressUnsubscribed::NotOnList => (InboundOutcome::NotOnList { address }, None),
                };
                Action {
                    result,
                    contact_id,
                    delivery_id: None,
                    kind: None,
                }
            }
            Kind::Unsubscribe {
                address,
                authenticated: None,
            } => {
                // Anyone can write any From: only the mailbox's owner can use the link.
                let outcome = self.store.request_leave_link(address).await?;
                if let LeaveLinkOutcome::Queued { .. } = outcome {
                    self.store
                        .log_action(
                            &actor(MailDoor::Unsubscribe),
                            AuditAction::ContactLeaveLink,
                            &address.key(),
                            None,
                        )
                        .await?;
                }
                let address = address.to_string();
                let (result, contact_id) = match outcome {
                    LeaveLinkOutcome::Queued { contact_id } => (
                        InboundOutcome::LeaveLinkQueued { address },
                        Some(contact_id),
                    ),
                    LeaveLinkOutcome::NotOnList => {
                        (InboundOutcome::NotOnListNothingSent { address }, None)
                    }
                    LeaveLinkOutcome::AlreadyOut { contact_id } => {
                        (InboundOutcome::AlreadyLeft { address }, Some(contact_id))
                    }
                    LeaveLinkOutcome::RecentlySent { contact_id } => (
                        InboundOutcome::LeaveLinkSentRecently { address },
                        Some(contact_id),
                    ),
                };
                Action {
                    result,
                    contact_id,
                    delivery_id: None,
                    kind: None,
                }
            }
            Kind::Bounce(report) => self.bounce(report, actor(MailDoor::Bounce)).await?,
            Kind::Automatic { reason } => {
                Action::note(InboundOutcome::IgnoredAutomatic(reason.clone()))
            }
            Kind::Loop { reason } => Action::note(InboundOutcome::IgnoredLoop(reason.clone())),
            Kind::Other { reason } => Action::note(InboundOutcome::KeptForStaff(reason.clone())),
            Kind::Unreadable { reason } => {
                Action::note(InboundOutcome::KeptUnreadable(reason.clone()))
            }
        })
    }

    /// Queues the confirmation mail for a request to join by mail, spending the budget
    /// of requests by mail when it is sent.
    async fn queue_confirmation(
        &self,
        address: &EmailAddress,
        name: Option<&str>,
        request: &str,
        note: String,
        actor: Actor,
    ) -> Result<Action, InboundError> {
        let name = name.and_then(|n| ContactName::parse(n).ok().flatten());
        let publications = named_publications(request, &self.store.publications().await?);
        let by = RequestedBy {
            source: ConsentSource::EmailRequest,
            note: ConsentNote::parse(&note).ok().flatten(),
            actor,
            publications: publications.clone(),
        };
        let (contact_id, outcome) = self
            .store
            .request_subscription_by(address, name.as_ref(), None, by, NoticeBudget::Mail)
            .await?;
        let address = address.to_string();
        let result = match outcome {
            SubscribeOutcome::Queued { .. } => InboundOutcome::ConfirmationQueued {
                address,
                publications: match &publications {
                    crate::domain::PublicationChoice::All => Vec::new(),
                    crate::domain::PublicationChoice::Only(slugs) => {
                        slugs.iter().map(|s| s.as_str().to_owned()).collect()
                    }
                },
            },
            SubscribeOutcome::AlreadyConfirmed => InboundOutcome::AlreadyOnList { address },
            SubscribeOutcome::RecentlySent => InboundOutcome::ConfirmationSentRecently { address },
        };
        Ok(Action {
            result,
            contact_id: Some(contact_id),
            delivery_id: None,
            kind: None,
        })
    }

    /// Staff answer a request to join that was kept for them (forwarded by someone
    /// else, or from a sender the receiving server did not verify): the confirmation
    /// goes to the address the request names, who still has to use the link. It spends
    /// the budget of requests by mail, like any confirmation of one.
    pub async fn answer_held(&self, id: i64, staff: &Actor) -> Result<Handled, AnswerError> {
        let (entry, parsed) = self.held_request(id).await?;
        let Kind::Subscribe {
            address,
            name,
            forwarded_by,
            request,
            ..
        } = &parsed.kind
        else {
            return Err(AnswerError::NotARequest(id));
        };
        if entry.kind != InboundKind::Other {
            return Err(AnswerError::AlreadyAnswered(id));
        }
        let mut note = request_note(&parsed.summary, forwarded_by.as_deref());
        note.push_str(&format!(", besvart av {}", clip(&staff.norwegian(), 60)));
        let action = self
            .queue_confirmation(
                address,
                name.as_deref(),
                request,
                note,
                // The staff member who answered is who acted: the log says so.
                staff.clone(),
            )
            .await?;
        self.store
            .update_inbound_result(
                id,
                InboundKind::Subscribe,
                &action.result.english(),
                action.contact_id,
                staff,
            )
            .await?;
        self.send_queued().await;
        Ok(Handled {
            id,
            kind: InboundKind::Subscribe,
            result: action.result.english(),
            duplicate: false,
        })
    }

    /// Whether message `id` is a request to join that waits for staff to answer it
    /// (for the button on its page).
    pub async fn can_answer(&self, id: i64) -> Result<bool, AnswerError> {
        match self.held_request(id).await {
            Ok((entry, parsed)) => {
                Ok(entry.kind == InboundKind::Other
                    && matches!(parsed.kind, Kind::Subscribe { .. }))
            }
            Err(AnswerError::NotARequest(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Message `id` as recorded, and what it is read as now.
    async fn held_request(
        &self,
        id: i64,
    ) -> Result<(crate::store::InboundEntry, Classified), AnswerError> {
        let Some((entry, raw)) = self.store.inbound_message(id).await? else {
            return Err(AnswerError::NotFound(id));
        };
        let own = self.own.clone();
        let parsed =
            tokio::task::spawn_blocking(move || classify(&raw, &own, &Envelope::default()))
                .await
                .map_err(|_| AnswerError::NotARequest(id))?;
        Ok((entry, parsed))
    }

    /// Sends what acting queued (confirmation, leave link) now, where the message was
    /// handled; what cannot go now waits in the queue for the service's sender.
    async fn send_queued(&self) {
        if let Err(e) = self.notices.send_due().await {
            tracing::warn!(error = %e, "queued confirmation not sent yet");
        }
    }

    /// Matches a report to its delivery and records it. A report counts only when it
    /// arrived at a delivery's signed bounce address (the envelope recipient, or the
    /// address the report says it was sent to) and names that delivery's recipient:
    /// anyone can write a delivery report, but only the receiving side of a message saw
    /// its bounce address. Anything else that claims a delivery of ours is recorded as
    /// forged and counts nothing.
    async fn bounce(&self, report: &BounceReport, actor: Actor) -> Result<Action, InboundError> {
        let Some(delivery_id) = report.signed_delivery() else {
            let by_message_id = match &report.original_message_id {
                Some(id) => self.store.delivery_for_bounce(None, Some(id)).await?,
                None => None,
            };
            return Ok(match (report.bounce_tag, by_message_id) {
                (Some(BounceTag::Forged), delivery) => Action {
                    result: InboundOutcome::ForgedSignature,
                    contact_id: delivery.as_ref().map(|d| d.contact_id),
                    delivery_id: delivery.as_ref().map(|d| d.id),
                    kind: Some(InboundKind::Forged),
                },
                (_, Some(delivery)) => Action {
                    result: InboundOutcome::ForgedByMessageId {
                        delivery: delivery.id,
                    },
                    contact_id: Some(delivery.contact_id),
                    delivery_id: Some(delivery.id),
                    kind: Some(InboundKind::Forged),
                },
                (_, None) => Action::note(InboundOutcome::ReportUnmatched {
                    standard: report.standard,
                }),
            });
        };
        let Some(delivery) = self
            .store
            .delivery_for_bounce(Some(delivery_id), None)
            .await?
        else {
            return Ok(Action::note(InboundOutcome::ReportForMissingDelivery {
                standard: report.standard,
                delivery: delivery_id,
            }));
        };
        let Some(recipient) = report.recipient(&delivery.email_key) else {
            return Ok(Action {
                result: InboundOutcome::ReportWithoutRecipient {
                    delivery: delivery.id,
                },
                contact_id: Some(delivery.contact_id),
                delivery_id: Some(delivery.id),
                kind: None,
            });
        };
        if recipient.delivered {
            return Ok(Action {
                result: InboundOutcome::ReportDelivered,
                contact_id: Some(delivery.contact_id),
                delivery_id: Some(delivery.id),
                kind: None,
            });
        }
        let detail = [recipient.status.as_deref(), recipient.diagnostic.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        // Stored as `no reason given` when empty (see `InboundOutcome`).
        let detail = (!detail.is_empty()).then_some(detail);
        let recorded = self
            .store
            .record_bounce(
                &delivery,
                recipient.hard,
                detail.as_deref().unwrap_or("no reason given"),
                self.bounce_threshold,
                &actor,
            )
            .await?;
        let threshold = self.bounce_threshold;
        let result = match recorded {
            BounceRecorded::Counted {
                bounce_count: count,
                now_bounced: true,
            } => InboundOutcome::HardBounceMarked {
                detail,
                count,
                threshold,
            },
            BounceRecorded::Counted {
                bounce_count: count,
                ..
            } => InboundOutcome::HardBounceCounted {
                detail,
                count,
                threshold,
            },
            BounceRecorded::AlreadyCounted => InboundOutcome::HardBounceAlreadyCounted { detail },
            BounceRecorded::Noted => InboundOutcome::SoftBounce { detail },
        };
        Ok(Action {
            result,
            contact_id: Some(delivery.contact_id),
            delivery_id: Some(delivery.id),
            kind: None,
        })
    }
}

struct Action {
    result: InboundOutcome,
    contact_id: Option<ContactId>,
    delivery_id: Option<DeliveryId>,
    /// Recorded instead of the classified kind (a report found to be forged).
    kind: Option<InboundKind>,
}

impl Action {
    fn note(result: InboundOutcome) -> Self {
        Self {
            result,
            contact_id: None,
            delivery_id: None,
            kind: None,
        }
    }
}

/// Whether two addresses are the same mailbox (letter case aside).
fn same_address(a: &str, b: &EmailAddress) -> bool {
    crate::domain::EmailAddress::parse(a).is_ok_and(|a| a.key() == b.key())
}

/// The consent evidence of a request by mail, in Norwegian for staff: when it was
/// written and its Message-ID.
fn request_note(summary: &Summary, forwarded_by: Option<&str>) -> String {
    let mut note = String::from("forespørsel på e-post");
    if let Some(ms) = summary.date_ms {
        let date = Timestamp::from_unix_ms(ms).to_rfc3339();
        note.push_str(&format!(" {date}"));
    }
    if let Some(id) = &summary.message_id {
        note.push_str(&format!(", Message-ID <{}>", clip(id, 200)));
    }
    if let Some(by) = forwarded_by {
        note.push_str(&format!(", videresendt av {}", clip(by, 100)));
    }
    // A note is one line: strip anything a hostile header might smuggle in.
    note.chars().filter(|c| !c.is_control()).collect()
}

fn clip(text: &str, max_chars: usize) -> &str {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// The cause is part of the message, not a `source`: an error chain printed with
// `{:#}` names it once.
crate::from_cause!(StoreError => AnswerError::Store);
crate::from_cause!(StoreError => InboundError::Store);

/// The publications a request by mail names: a publication's whole name ("Oversikt over
/// rettsavgjørelser") or its slug as a word ("tilstandsrapport"), in any case. A request
/// that names none asks for everything (what the list always meant).
fn named_publications(
    request: &str,
    publications: &[crate::domain::Publication],
) -> crate::domain::PublicationChoice {
    let text = request.to_lowercase();
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .filter(|w| !w.is_empty())
        .collect();
    let named: Vec<crate::domain::PublicationSlug> = publications
        .iter()
        .filter(|p| {
            text.contains(&p.name.as_str().to_lowercase()) || words.contains(&p.slug.as_str())
        })
        .map(|p| p.slug.clone())
        .collect();
    crate::domain::PublicationChoice::only(named).unwrap_or_default()
}
