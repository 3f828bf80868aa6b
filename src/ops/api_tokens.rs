//! API tokens: the admin API's own credentials, one per integration (a mail provider
//! posting inbound mail, say). Staff make and revoke them (`nyhetsbrev staff api-token`,
//! `/admin/api-tokens`); a staff password never opens the API, so a phished password
//! cannot post mail, and a token can do only what its scope says.
//!
//! A token's secret (`nbk_` and 256 random bits) is shown once, when it is made; the
//! database holds its SHA-256. The secret is found by looking up that hash, so nothing
//! compares secrets byte by byte, and nothing logs one.

use crate::domain::{ApiScope, ApiSecret, ApiTokenName};
use crate::ops::staff::{FAILURE_WINDOW, MAX_LOGIN_FAILURES};
use crate::store::{Actor, ApiTokenAdded, ApiTokenLine, ApiTokenRevoked, Store, StoreError};

/// Why a token could not be made or revoked.
#[derive(Debug, thiserror::Error)]
pub enum ApiTokenError {
    #[error("a token's name is 1–64 letters, digits, spaces and . - _")]
    BadName,
    #[error("there is already a token named {0} (revoked tokens keep their names)")]
    NameTaken(String),
    #[error("there is no token named {0}")]
    NotFound(String),
    #[error("the token {0} was revoked already")]
    AlreadyRevoked(String),
    #[error("only an administrator may make or revoke API tokens")]
    NotAllowed,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ApiTokenError {
    fn from(e: StoreError) -> Self {
        ApiTokenError::Store(e)
    }
}

/// Why a presented secret does not open the API.
#[derive(Debug, thiserror::Error)]
pub enum ApiAuthError {
    /// Malformed, unknown or revoked: the answer is the same for each.
    #[error("the API token is wrong or revoked")]
    Refused,
    /// A real token that may not do this.
    #[error("the API token {name} may not do this (its scope is {scope})")]
    OutOfScope { name: String, scope: ApiScope },
    #[error("too many failed attempts from this address; wait 15 minutes")]
    TooManyFailures,
    #[error("the database is not available")]
    Unavailable(#[source] StoreError),
}

/// A token just made: its secret, to show once and never again.
#[derive(Debug)]
pub struct NewApiToken {
    pub name: ApiTokenName,
    pub scope: ApiScope,
    pub secret: ApiSecret,
}

/// Who may make and revoke tokens; cheap to clone.
#[derive(Clone)]
pub struct ApiTokens {
    store: Store,
}

impl ApiTokens {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The one place that decides who manages API tokens. `actor` is `cli:<user>` (at
    /// the server, with the database's settings) or `web:<account>`.
    async fn may_manage(&self, actor: &Actor) -> Result<(), ApiTokenError> {
        // A token is a credential: managed as staff accounts are.
        if super::staff::acts_as_administrator(&self.store, actor).await? {
            Ok(())
        } else {
            Err(ApiTokenError::NotAllowed)
        }
    }

    /// Makes a token named `name` that may do `scope`; the secret is in the answer only.
    pub async fn add(
        &self,
        name: &str,
        scope: ApiScope,
        actor: &Actor,
    ) -> Result<NewApiToken, ApiTokenError> {
        let name = ApiTokenName::parse(name).ok_or(ApiTokenError::BadName)?;
        self.may_manage(actor).await?;
        let secret = ApiSecret::generate();
        match self
            .store
            .add_api_token(&name, scope, &secret.hash_hex(), actor)
            .await?
        {
            ApiTokenAdded::Added { .. } => Ok(NewApiToken {
                name,
                scope,
                secret,
            }),
            ApiTokenAdded::NameTaken => Err(ApiTokenError::NameTaken(name.to_string())),
        }
    }

    /// Every token, revoked ones too, by name; never a secret.
    pub async fn list(&self) -> Result<Vec<ApiTokenLine>, ApiTokenError> {
        Ok(self.store.api_tokens().await?)
    }

    /// Revokes a token at once and for good.
    pub async fn revoke(&self, name: &str, actor: &Actor) -> Result<(), ApiTokenError> {
        let name = ApiTokenName::parse(name)
            .ok_or_else(|| ApiTokenError::NotFound(name.trim().to_owned()))?;
        self.may_manage(actor).await?;
        match self.store.revoke_api_token(&name, actor).await? {
            ApiTokenRevoked::Revoked => Ok(()),
            ApiTokenRevoked::AlreadyRevoked => Err(ApiTokenError::AlreadyRevoked(name.to_string())),
            ApiTokenRevoked::NotFound => Err(ApiTokenError::NotFound(name.to_string())),
        }
    }

    /// The token `presented` (the bearer credential as sent) is, if it may do `scope`.
    /// Each attempt from `client` is counted before the lookup, as a password login's
    /// is, and after too many failures the answer is [`ApiAuthError::TooManyFailures`]
    /// without a lookup; a success does not count.
    pub async fn authenticate(
        &self,
        client: &str,
        presented: &str,
        scope: ApiScope,
    ) -> Result<ApiTokenName, ApiAuthError> {
        let attempt = self
            .store
            .count_login_attempt(
                client,
                MAX_LOGIN_FAILURES,
                FAILURE_WINDOW.as_millis() as i64,
            )
            .await
            .map_err(ApiAuthError::Unavailable)?
            .ok_or_else(|| {
                tracing::warn!(%client, "admin API refused unchecked: too many failures");
                ApiAuthError::TooManyFailures
            })?;
        let found = match ApiSecret::parse(presented.trim()) {
            Some(secret) => self
                .store
                .api_token_by_hash(&secret.hash_hex())
                .await
                .map_err(ApiAuthError::Unavailable)?,
            None => None,
        };
        let token = match found {
            Some(token) if !token.revoked => token,
            Some(token) => {
                tracing::warn!(%client, token = ?token.name, "admin API refused: revoked token");
                return Err(ApiAuthError::Refused);
            }
            None => {
                tracing::warn!(%client, "admin API refused: unknown token");
                return Err(ApiAuthError::Refused);
            }
        };
        if let Err(e) = self.store.login_succeeded(attempt).await {
            tracing::warn!(error = %e, "could not clear a successful API attempt");
        }
        // Names were checked when the token was made; one edited by hand is refused.
        let name = ApiTokenName::parse(&token.name).ok_or(ApiAuthError::Refused)?;
        if token.scope != scope {
            tracing::warn!(%client, token = ?token.name, "admin API refused: out of scope");
            return Err(ApiAuthError::OutOfScope {
                name: name.to_string(),
                scope: token.scope,
            });
        }
        if let Err(e) = self.store.api_token_used(token.id).await {
            tracing::warn!(error = %e, "could not note when an API token was used");
        }
        Ok(name)
    }
}
