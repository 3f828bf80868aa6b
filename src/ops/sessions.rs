//! Staff sessions for the web admin: a random 256-bit id in a cookie (the database holds
//! its SHA-256 only), ending after `session_idle_minutes` without use and after
//! [`MAX_SESSION_AGE`] in any case, with a CSRF token bound to it for every form.

use std::time::Duration;

use crate::domain::{Timestamp, TokenSecret};
use crate::store::{Store, StoreError};

/// However active, a session ends this long after it began.
pub const MAX_SESSION_AGE: Duration = Duration::from_secs(12 * 3600);
/// A use is written back at most this often: every page would otherwise be a write.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// A session just started: the cookie's secret (shown once, never stored) and the
/// CSRF token for its forms.
#[derive(Clone)]
pub struct NewSession {
    pub secret: TokenSecret,
    pub csrf_token: String,
}

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub username: String,
    pub csrf_token: String,
    /// What the session must still pass before it opens staff pages.
    pub due: SecondFactorDue,
    /// The SHA-256 of the cookie's secret: which of the account's sessions this is.
    pub id_hash: String,
}

impl Session {
    /// Whether a form's token is this session's. Compared in constant time: the token
    /// is a secret of the page.
    pub fn csrf_matches(&self, token: &str) -> bool {
        let (a, b) = (self.csrf_token.as_bytes(), token.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
    }
}

/// What a session must still pass after the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactorDue {
    /// Nothing: signed in.
    Nothing,
    /// A code from the authenticator app (or a recovery code).
    Code,
    /// Setting up the app (`staff_require_totp` and none set up yet).
    Enrolment,
}

impl SecondFactorDue {
    fn stored(self) -> i64 {
        match self {
            SecondFactorDue::Nothing => 0,
            SecondFactorDue::Code => 1,
            SecondFactorDue::Enrolment => 2,
        }
    }

    fn from_stored(value: i64) -> Self {
        match value {
            0 => SecondFactorDue::Nothing,
            2 => SecondFactorDue::Enrolment,
            // Anything unknown asks for a code rather than let someone in.
            _ => SecondFactorDue::Code,
        }
    }
}

#[derive(Clone)]
pub struct Sessions {
    store: Store,
    idle: Duration,
}

impl Sessions {
    /// `idle`: `session_idle_minutes`.
    pub fn new(store: Store, idle: Duration) -> Self {
        Self { store, idle }
    }

    /// Starts a session for an account that has just signed in (see `Staff::log_in`).
    pub async fn start(&self, username: &str) -> Result<NewSession, StoreError> {
        self.start_with(username, SecondFactorDue::Nothing).await
    }

    /// Starts a session that must still pass `due` before it opens staff pages.
    pub async fn start_with(
        &self,
        username: &str,
        due: SecondFactorDue,
    ) -> Result<NewSession, StoreError> {
        let secret = TokenSecret::generate();
        let csrf_token = TokenSecret::generate().as_str().to_owned();
        self.store
            .create_staff_session(
                username,
                &secret.hash(),
                &csrf_token,
                Timestamp::now(),
                due.stored(),
            )
            .await?;
        Ok(NewSession { secret, csrf_token })
    }

    /// The session a cookie's value names, if it is still live; a session found to have
    /// run out is deleted. The cookie's value is checked for shape before any lookup.
    pub async fn check(&self, cookie: &str) -> Result<Option<Session>, StoreError> {
        self.check_at(cookie, Timestamp::now()).await
    }

    /// [`Sessions::check`] as if it were `now` (the tests move the clock).
    pub async fn check_at(
        &self,
        cookie: &str,
        now: Timestamp,
    ) -> Result<Option<Session>, StoreError> {
        let Some(secret) = TokenSecret::parse(cookie) else {
            return Ok(None);
        };
        let hash = secret.hash();
        let Some(stored) = self.store.staff_session(&hash).await? else {
            return Ok(None);
        };
        let idle_ms = now.unix_ms() - stored.last_seen_at.unix_ms();
        let age_ms = now.unix_ms() - stored.created_at.unix_ms();
        if idle_ms > self.idle.as_millis() as i64 || age_ms > MAX_SESSION_AGE.as_millis() as i64 {
            self.store.end_staff_session(&hash).await?;
            return Ok(None);
        }
        if idle_ms > TOUCH_EVERY.as_millis() as i64 {
            self.store.touch_staff_session(&hash, now).await?;
        }
        Ok(Some(Session {
            username: stored.username,
            csrf_token: stored.csrf_token,
            id_hash: hash.as_str().to_owned(),
            due: SecondFactorDue::from_stored(stored.second_factor_due),
        }))
    }

    /// The session has passed its second factor: it opens staff pages now.
    pub async fn passed_second_factor(&self, session: &Session) -> Result<(), StoreError> {
        self.store.clear_second_factor_due(&session.id_hash).await
    }

    /// Signs out: the session ends at once.
    pub async fn end(&self, cookie: &str) -> Result<(), StoreError> {
        if let Some(secret) = TokenSecret::parse(cookie) {
            self.store.end_staff_session(&secret.hash()).await?;
        }
        Ok(())
    }

    /// Deletes every session that has run out (the service does it now and then).
    pub async fn sweep(&self) -> Result<u64, StoreError> {
        let now = Timestamp::now().unix_ms();
        self.store
            .end_stale_staff_sessions(
                Timestamp::from_unix_ms(now - self.idle.as_millis() as i64),
                Timestamp::from_unix_ms(now - MAX_SESSION_AGE.as_millis() as i64),
            )
            .await
    }
}
