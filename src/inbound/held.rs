//! Requests to join kept for staff (forwarded, or from a sender nobody verified), and
//! staff's answer to one.

use super::act::request_note;
use super::{Classified, Envelope, Handled, Inbound, InboundError, Kind, classify, clip};
use crate::domain::{InboundId, InboundKind};
use crate::store::{Actor, StoreError};

/// Why a held request could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("there is no inbound message {0}")]
    NotFound(InboundId),
    #[error("inbound message {0} is not a request to join kept for staff")]
    NotARequest(InboundId),
    #[error("inbound message {0} was answered already")]
    AlreadyAnswered(InboundId),
    #[error(transparent)]
    Inbound(#[from] InboundError),
    #[error("could not read the message: {0}")]
    Store(StoreError),
}

impl Inbound {
    /// Staff answer a request to join that was kept for them (forwarded by someone
    /// else, or from a sender the receiving server did not verify): the confirmation
    /// goes to the address the request names, who still has to use the link. It spends
    /// the budget of requests by mail, like any confirmation of one.
    pub async fn answer_held(&self, id: InboundId, staff: &Actor) -> Result<Handled, AnswerError> {
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
    pub async fn can_answer(&self, id: InboundId) -> Result<bool, AnswerError> {
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
        id: InboundId,
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
}

// The cause is part of the message, not a `source` (see `InboundError`).
crate::from_cause!(StoreError => AnswerError::Store);
