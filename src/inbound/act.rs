//! Acting on a classified message: a request to join or leave by mail, and a delivery
//! report matched to its delivery.

use super::InboundOutcome;
use super::{BounceReport, BounceTag, Classified, Inbound, InboundError, Kind, Summary, clip};
use crate::domain::AuditAction;
use crate::domain::{ConsentNote, ConsentSource, ContactName, Timestamp};
use crate::domain::{ContactId, DeliveryId, EmailAddress, InboundKind, MailDoor};
use crate::store::{
    Actor, AddressUnsubscribed, BounceRecorded, LeaveLinkOutcome, NoticeBudget, RequestedBy,
    SubscribeOutcome,
};

impl Inbound {
    pub(super) async fn act(
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
    pub(super) async fn queue_confirmation(
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

pub(super) struct Action {
    pub(super) result: InboundOutcome,
    pub(super) contact_id: Option<ContactId>,
    pub(super) delivery_id: Option<DeliveryId>,
    /// Recorded instead of the classified kind (a report found to be forged).
    pub(super) kind: Option<InboundKind>,
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
pub(super) fn request_note(summary: &Summary, forwarded_by: Option<&str>) -> String {
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
