//! What a subscriber does on the public pages: ask to join, confirm, leave. Each is
//! recorded as done by the person through the public pages (`RecipientDoor`).

use crate::domain::{ContactId, PublicationId};
use crate::domain::{
    ContactName, ContactStatus, EmailAddress, IssueId, LeaveLink, Organisation, Publication,
    PublicationChoice, PublicationSlug, RecipientDoor, TokenKey, TokenSecret,
};
use crate::notices::Notices;
use crate::store::{
    Actor, ConfirmOutcome, PublicationLeft, PublicationsChosen, Store, StoreError,
    UnsubscribeOutcome,
};

#[derive(Clone)]
pub struct Subscriptions {
    store: Store,
    notices: Notices,
    /// Verifies signed leave links; `None` without `token_key` (then nothing was sent
    /// with one).
    key: Option<TokenKey>,
}

/// The personal part of a leave link, its form checked.
#[derive(Debug, Clone)]
pub enum LeaveToken {
    /// Signed with `token_key` (every issue mail since links were derived): its
    /// signature is already verified.
    Signed(LeaveLink),
    /// A random secret whose hash is stored (issue mail before that, and the leave
    /// link mailed on request).
    Stored(TokenSecret),
}

impl Subscriptions {
    pub fn new(store: Store, notices: Notices, key: Option<TokenKey>) -> Self {
        Self {
            store,
            notices,
            key,
        }
    }

    /// Reads the token of a leave link: a signed one whose signature holds, or one in
    /// the form of a stored secret. `None`: not a link this service made (nothing is
    /// looked up).
    pub fn leave_token(&self, text: &str) -> Option<LeaveToken> {
        if let Some(link) = self.key.as_ref().and_then(|k| k.verify_leave_token(text)) {
            return Some(LeaveToken::Signed(link));
        }
        TokenSecret::parse(text).map(LeaveToken::Stored)
    }

    /// Queues a request to join and wakes the notice sender, which makes the pending
    /// contact and its capped confirmation mail. One insert, whatever the address, so
    /// the answer takes the same time for every address and tells nobody who is on
    /// the list.
    pub async fn request(
        &self,
        email: &EmailAddress,
        name: Option<&ContactName>,
        organisation: Option<&Organisation>,
        publications: &PublicationChoice,
    ) -> Result<(), StoreError> {
        self.store
            .queue_subscription_request(email, name, organisation, publications)
            .await?;
        self.notices.wake();
        Ok(())
    }

    /// The publications a person can choose, in order.
    pub async fn publications(&self) -> Result<Vec<Publication>, StoreError> {
        self.store.publications().await
    }

    /// Uses a confirmation link (once).
    pub async fn confirm(&self, secret: &TokenSecret) -> Result<ConfirmOutcome, StoreError> {
        self.store
            .confirm_subscription(secret, &Actor::recipient(RecipientDoor::Confirm))
            .await
    }

    /// Uses a personal unsubscribe link: the contact leaves at once.
    pub async fn unsubscribe(&self, token: &LeaveToken) -> Result<UnsubscribeOutcome, StoreError> {
        let actor = Actor::recipient(RecipientDoor::Unsubscribe);
        match token {
            LeaveToken::Signed(link) => {
                self.store
                    .unsubscribe_contact(link.contact_id, &actor)
                    .await
            }
            LeaveToken::Stored(secret) => self.store.unsubscribe(secret, &actor).await,
        }
    }
}

/// What a leave link leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveScope {
    /// The publication the mail came from ("bare dette"; RFC 8058 one-click).
    ThisPublication,
    /// The whole list ("alt").
    Everything,
}

/// What leaving by link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaveDone {
    /// Left one publication; the person still gets others.
    LeftPublication {
        email: EmailAddress,
        publication: Publication,
    },
    /// Off the list: every publication left (or the last one).
    LeftEverything { email: EmailAddress },
    /// Had left that publication, or the list, before.
    AlreadyOut { email: EmailAddress },
    /// The link names no contact (erased since).
    Unknown,
}

/// The personal page for choosing publications, as whoever holds the link sees it (the
/// link may be in an old or forwarded mail).
#[derive(Debug, Clone)]
pub struct PreferencesView {
    /// The address masked (`k***@politiet.no`): never the whole address.
    pub masked_email: String,
    /// Whether the person is on the list (confirmed). Only then can the page change
    /// anything; otherwise it offers a confirmation link mailed to the address.
    pub on_list: bool,
    /// Every publication, and whether the person gets it (empty when not on the list).
    pub publications: Vec<(Publication, bool)>,
}

/// What asking for a link back onto the list did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComeBack {
    /// A confirmation link is on its way to the address (within the caps that hold for
    /// every request to join; the page says the same either way).
    Requested { masked_email: String },
    /// The person is on the list already: nothing to do.
    OnList,
    /// The link names nobody any more.
    Unknown,
}

/// An address as a page reached by a personal link shows it: the first character of the
/// local part, `***`, and the domain (`k***@politiet.no`).
pub fn masked_address(email: &EmailAddress) -> String {
    let shown = email.as_str();
    match shown.rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

/// What a person ticked on a public form (the sign-up form, the preferences page),
/// checked against what the form offers: each slug one of `offered`, at least one.
/// Every one ticked is `All`.
pub fn ticked_choice(
    offered: &[Publication],
    ticked: &[String],
) -> Result<PublicationChoice, PreferencesError> {
    let mut chosen: Vec<PublicationSlug> = Vec::with_capacity(ticked.len());
    for slug in ticked {
        let publication = offered
            .iter()
            .find(|p| p.slug.as_str() == slug)
            .ok_or_else(|| PreferencesError::NotOffered(slug.clone()))?;
        if !chosen.contains(&publication.slug) {
            chosen.push(publication.slug.clone());
        }
    }
    if chosen.is_empty() {
        return Err(PreferencesError::NoneChosen);
    }
    if offered.iter().all(|p| chosen.contains(&p.slug)) {
        return Ok(PublicationChoice::All);
    }
    PublicationChoice::only(chosen).map_err(|_| PreferencesError::NoneChosen)
}

/// Why a choice from a public form was not taken; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum PreferencesError {
    /// Not a link this service made, or its contact is gone.
    #[error("the link is not valid")]
    InvalidLink,
    /// A publication the page did not offer (a tampered or outdated form).
    #[error("publication {0:?} is not offered")]
    NotOffered(String),
    /// The person is not on the list: only a new confirmation puts them back.
    #[error("the contact is not on the list")]
    NotOnList,
    /// Nothing ticked: leaving everything is its own button.
    #[error("no publication was ticked")]
    NoneChosen,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who a leave link names, and the issue it came with (signed links only).
struct LinkOwner {
    contact_id: ContactId,
    issue_id: Option<IssueId>,
}

impl Subscriptions {
    async fn owner(&self, token: &LeaveToken) -> Result<Option<LinkOwner>, StoreError> {
        Ok(match token {
            LeaveToken::Signed(link) => Some(LinkOwner {
                contact_id: link.contact_id,
                issue_id: Some(link.issue_id),
            }),
            LeaveToken::Stored(secret) => {
                self.store
                    .contact_of_leave_secret(secret)
                    .await?
                    .map(|contact_id| LinkOwner {
                        contact_id,
                        issue_id: None,
                    })
            }
        })
    }

    /// The publication of the issue a leave link came with; `None` for a link that
    /// names no issue (from before publications, or mailed on request) or an issue
    /// that is gone.
    pub async fn publication_of(
        &self,
        token: &LeaveToken,
    ) -> Result<Option<Publication>, StoreError> {
        let Some(LinkOwner {
            issue_id: Some(issue_id),
            ..
        }) = self.owner(token).await?
        else {
            return Ok(None);
        };
        match self.store.issue_by_id(issue_id).await {
            Ok(issue) => Ok(Some(
                self.store.publication_by_id(issue.publication_id).await?,
            )),
            Err(StoreError::IssueNotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Leaves by link: the mail's own publication, or everything. A link that names no
    /// publication leaves everything.
    pub async fn leave(
        &self,
        token: &LeaveToken,
        scope: LeaveScope,
    ) -> Result<LeaveDone, StoreError> {
        let actor = Actor::recipient(RecipientDoor::Unsubscribe);
        let publication = match scope {
            LeaveScope::ThisPublication => self.publication_of(token).await?,
            LeaveScope::Everything => None,
        };
        let Some(publication) = publication else {
            return Ok(match self.unsubscribe(token).await? {
                UnsubscribeOutcome::Unsubscribed(email) => LeaveDone::LeftEverything { email },
                UnsubscribeOutcome::AlreadyOut(email) => LeaveDone::AlreadyOut { email },
                UnsubscribeOutcome::Unknown => LeaveDone::Unknown,
            });
        };
        let Some(owner) = self.owner(token).await? else {
            return Ok(LeaveDone::Unknown);
        };
        Ok(
            match self
                .store
                .leave_publication(owner.contact_id, &publication, &actor)
                .await?
            {
                PublicationLeft::Left { email, .. } => {
                    LeaveDone::LeftPublication { email, publication }
                }
                PublicationLeft::LeftEverything { email } => LeaveDone::LeftEverything { email },
                PublicationLeft::NotSubscribed { email } => LeaveDone::AlreadyOut { email },
                PublicationLeft::Unknown => LeaveDone::Unknown,
            },
        )
    }

    /// The page for choosing publications; `None` when the link names nobody. Only a
    /// confirmed contact's choices are shown (and can be changed).
    pub async fn preferences(
        &self,
        token: &LeaveToken,
    ) -> Result<Option<PreferencesView>, StoreError> {
        let Some(owner) = self.owner(token).await? else {
            return Ok(None);
        };
        let Some(contact) = self.store.contact_by_id(owner.contact_id).await? else {
            return Ok(None);
        };
        let masked_email = masked_address(&contact.email);
        if contact.status != ContactStatus::Confirmed {
            return Ok(Some(PreferencesView {
                masked_email,
                on_list: false,
                publications: Vec::new(),
            }));
        }
        let subscribed: Vec<PublicationSlug> = self
            .store
            .subscriptions(contact.id)
            .await?
            .into_iter()
            .filter(|s| s.left_at.is_none())
            .map(|s| s.publication)
            .collect();
        let publications = self
            .store
            .publications()
            .await?
            .into_iter()
            .map(|p| {
                let gets = subscribed.contains(&p.slug);
                (p, gets)
            })
            .collect();
        Ok(Some(PreferencesView {
            masked_email,
            on_list: true,
            publications,
        }))
    }

    /// For a person who is not on the list: queues a request to join for the link's
    /// address, exactly as the sign-up form does (the same capped confirmation mail),
    /// for what they had when they left. Nothing else changes: they are back only when
    /// the link in that mail is used, so only the mailbox's owner can come back.
    pub async fn come_back(&self, token: &LeaveToken) -> Result<ComeBack, StoreError> {
        let Some(owner) = self.owner(token).await? else {
            return Ok(ComeBack::Unknown);
        };
        let Some(contact) = self.store.contact_by_id(owner.contact_id).await? else {
            return Ok(ComeBack::Unknown);
        };
        if contact.status == ContactStatus::Confirmed {
            return Ok(ComeBack::OnList);
        }
        let subscriptions = self.store.subscriptions(contact.id).await?;
        let current: Vec<String> = subscriptions
            .iter()
            .filter(|s| s.left_at.is_none())
            .map(|s| s.publication.to_string())
            .collect();
        // What they had when they left: what was left last, all at one moment.
        let had = if current.is_empty() {
            let last = subscriptions.iter().filter_map(|s| s.left_at).max();
            subscriptions
                .iter()
                .filter(|s| last.is_some() && s.left_at == last)
                .map(|s| s.publication.to_string())
                .collect()
        } else {
            current
        };
        let offered = self.store.publications().await?;
        let choice = ticked_choice(&offered, &had).unwrap_or(PublicationChoice::All);
        self.request(&contact.email, None, None, &choice).await?;
        Ok(ComeBack::Requested {
            masked_email: masked_address(&contact.email),
        })
    }

    /// Saves what the person ticked (slugs as the form sent them). Every slug must be
    /// one the page offers, and at least one ticked; otherwise nothing changes. Only a
    /// confirmed contact's choice changes: for anyone else nothing does (`NotOnList`).
    pub async fn save_preferences(
        &self,
        token: &LeaveToken,
        ticked: &[String],
    ) -> Result<PublicationsChosen, PreferencesError> {
        let owner = self
            .owner(token)
            .await?
            .ok_or(PreferencesError::InvalidLink)?;
        let offered = self.store.publications().await?;
        let chosen: Vec<PublicationId> = match ticked_choice(&offered, ticked)? {
            PublicationChoice::All => offered.iter().map(|p| p.id).collect(),
            PublicationChoice::Only(slugs) => offered
                .iter()
                .filter(|p| slugs.contains(&p.slug))
                .map(|p| p.id)
                .collect(),
        };
        match self
            .store
            .choose_publications(
                owner.contact_id,
                &chosen,
                &Actor::recipient(RecipientDoor::Preferences),
            )
            .await?
        {
            PublicationsChosen::Unknown => Err(PreferencesError::InvalidLink),
            PublicationsChosen::NotOnList => Err(PreferencesError::NotOnList),
            saved => Ok(saved),
        }
    }
}
