//! Sending: one task per relay connection takes jobs from the claimer, waits for the
//! shared rate limiter, builds the personal message, signs it and sends it; the
//! outcome goes to the recorder. Also the single test copy.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use governor::DefaultDirectRateLimiter;
use tokio::sync::{Mutex, mpsc};
use tokio::time::Instant;

use super::watch::Departures;
use super::{DispatchError, Dispatcher, Done, Job, jitter};
use crate::config::ConfigError;
use crate::domain::{DeliveryId, EmailAddress, Timestamp, TokenKey};
use crate::mail::{ConfirmationError, Envelope, Recipient, SendError};
use crate::store::Outcome;

/// The envelope sender, split so each delivery gets `local+d<id>-<signature>@domain`
/// (VERP): a report that arrives there names its delivery, and only mail from the
/// receiving side (which saw the address) can know the signature.
#[derive(Clone)]
pub(super) struct BounceAddress {
    local: String,
    domain: String,
    key: TokenKey,
}

impl BounceAddress {
    pub(super) fn new(address: &EmailAddress, key: TokenKey) -> Result<Self, ConfigError> {
        let ascii = crate::mail::header_address(address)
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        Ok(BounceAddress {
            local: ascii.user().to_owned(),
            domain: ascii.domain().to_owned(),
            key,
        })
    }

    fn for_delivery(
        &self,
        id: DeliveryId,
    ) -> Result<lettre::Address, lettre::address::AddressError> {
        let tag = self.key.bounce_tag(id);
        lettre::Address::new(format!("{}+d{id}-{tag}", self.local), &self.domain)
    }
}

impl Dispatcher {
    /// Sends one copy of an issue, its subject marked as a test, to any address. The
    /// unsubscribe link in it leads nowhere.
    pub async fn test_send(
        &self,
        slug: &crate::domain::Slug,
        to: &EmailAddress,
    ) -> Result<(), DispatchError> {
        let stored = self.store.existing_issue(slug).await?;
        let fail = |cause: crate::mail::MailError| DispatchError::Prepare {
            issue: stored.id,
            cause: cause.into(),
        };
        let publication = self.store.publication_by_id(stored.publication_id).await?;
        let staff = self.store.staff_settings().await?;
        let prepared = self.prepare_stored(&stored, &publication, &staff, "[TEST] ")?;
        let unsubscribe_url = format!("{}/avmeld/TESTKOPI", self.render.base_url);
        let preferences_url = format!("{}/innstillinger/TESTKOPI", self.render.base_url);
        let message = prepared
            .message(
                &Recipient {
                    email: to,
                    name: None,
                    contact_id: None,
                    unsubscribe_url: &unsubscribe_url,
                    preferences_url: &preferences_url,
                    return_path: None,
                },
                time::OffsetDateTime::now_utc(),
            )
            .map_err(fail)?;
        match self.outgoing.send_one(to, &message).await {
            Ok(()) => Ok(()),
            Err(ConfirmationError::Send(e)) => Err(DispatchError::Send(e)),
            Err(ConfirmationError::Build(e)) => Err(fail(e)),
        }
    }

    /// A sender task: one relay connection, jobs one after the other.
    pub(super) async fn send_jobs(
        self,
        jobs: Arc<Mutex<mpsc::UnboundedReceiver<Job>>>,
        results: mpsc::UnboundedSender<Done>,
        limiter: Option<Arc<DefaultDirectRateLimiter>>,
        stopping: Arc<AtomicBool>,
        departures: Arc<Departures>,
    ) {
        let mut connection = None;
        let mut backoff = Duration::from_millis(250);
        let mut buffer = String::new();
        loop {
            let job = jobs.lock().await.recv().await;
            let Some(job) = job else { break };
            let outcome = 'outcome: {
                if stopping.load(Ordering::SeqCst) {
                    break 'outcome Outcome::Released;
                }
                // Until the relay answers, wait here: a relay that is down pauses the
                // send rather than failing the list.
                while connection.is_none() {
                    if stopping.load(Ordering::SeqCst) || Instant::now() >= job.send_before {
                        break 'outcome Outcome::Released;
                    }
                    match self.outgoing.transport.open().await {
                        Ok(open) => {
                            connection = Some(open);
                            backoff = Duration::from_millis(250);
                        }
                        Err(e) => {
                            tracing::warn!(parent: &job.batch, error = %e, retry_in = ?backoff, "relay unavailable: pausing");
                            tokio::time::sleep(jitter(backoff)).await;
                            backoff = (backoff * 2).min(Duration::from_secs(30));
                        }
                    }
                }
                if let Some(limiter) = &limiter {
                    limiter.until_ready().await;
                }
                if let Some(reason) = departures.reason(&job.delivery) {
                    break 'outcome Outcome::Skipped {
                        reason: reason.to_owned(),
                    };
                }
                if Instant::now() >= job.send_before || stopping.load(Ordering::SeqCst) {
                    break 'outcome Outcome::Released;
                }
                let open = connection.as_mut().expect("connected above");
                let outcome = self.send_one(open, &job, &mut buffer).await;
                if !open.is_usable()
                    && let Some(broken) = connection.take()
                {
                    broken.close().await;
                }
                outcome
            };
            let done = Done {
                delivery_id: job.delivery.id,
                outcome,
                _permit: job.permit,
            };
            if results.send(done).is_err() {
                break;
            }
        }
        if let Some(open) = connection {
            open.close().await;
        }
    }

    async fn send_one(
        &self,
        connection: &mut crate::mail::Connection,
        job: &Job,
        buffer: &mut String,
    ) -> Outcome {
        let delivery = &job.delivery;
        // One signed token opens both personal pages: leaving and choosing.
        let token = self.key.leave_token(delivery.contact_id, delivery.issue_id);
        let unsubscribe_url = format!("{}/avmeld/{token}", self.render.base_url);
        let preferences_url = format!("{}/innstillinger/{token}", self.render.base_url);
        let fail = |error: String| Outcome::Failed {
            error,
            hard_bounce: false,
        };
        let (bounce, to) = match (
            self.bounce.for_delivery(delivery.id),
            crate::mail::header_address(&delivery.email),
        ) {
            (Ok(bounce), Ok(to)) => (bounce, to),
            (Err(e), _) => return fail(format!("bad bounce address: {e}")),
            (_, Err(e)) => return fail(e.to_string()),
        };
        let return_path = bounce.to_string();
        let recipient = Recipient {
            email: &delivery.email,
            name: delivery.name.as_ref(),
            contact_id: Some(delivery.contact_id),
            unsubscribe_url: &unsubscribe_url,
            preferences_url: &preferences_url,
            return_path: Some(&return_path),
        };
        let message_id =
            match job
                .issue
                .write_message(&recipient, time::OffsetDateTime::now_utc(), buffer)
            {
                Ok(message_id) => message_id,
                Err(e) => return fail(e.to_string()),
            };
        if let Err(e) = self.outgoing.sign_in_place(buffer).await {
            return fail(e.to_string());
        }
        let message = buffer.as_bytes();
        let envelope = Envelope {
            from: Some(bounce),
            to,
        };
        let sent = connection.send(&envelope, message).await;
        let counters = crate::metrics::counters();
        match &sent {
            Ok(()) => {
                counters.messages_sent.inc();
            }
            Err(e) => {
                let class = match e {
                    SendError::Unavailable(_) => "unavailable",
                    SendError::Transient(_) => "transient",
                    SendError::Permanent(_) => "permanent",
                };
                counters
                    .send_failures
                    .get_or_create(&vec![("class", class.to_owned())])
                    .inc();
            }
        }
        match sent {
            Ok(()) => Outcome::Sent { message_id },
            Err(SendError::Permanent(error)) => Outcome::Failed {
                error,
                hard_bounce: true,
            },
            Err(SendError::Transient(error)) => {
                let attempt = delivery.attempts + 1;
                if attempt >= i64::from(self.settings.max_attempts) {
                    Outcome::Failed {
                        error: format!("gave up after {attempt} attempts: {error}"),
                        hard_bounce: false,
                    }
                } else {
                    let delay = jitter(
                        self.settings
                            .retry_delay
                            .saturating_mul(1 << (attempt - 1).clamp(0, 16) as u32)
                            .min(Duration::from_secs(6 * 3600)),
                    );
                    Outcome::Retry {
                        error,
                        at: Timestamp::from_unix_ms(
                            Timestamp::now().unix_ms() + delay.as_millis() as i64,
                        ),
                    }
                }
            }
            // The relay went away between connecting and sending: not this message's
            // fault, so it costs no attempt.
            Err(SendError::Unavailable(error)) => {
                tracing::warn!(parent: &job.batch, %error, "relay unavailable");
                Outcome::Released
            }
        }
    }
}
