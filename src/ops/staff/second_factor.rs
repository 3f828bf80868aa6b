//! The second factor: a TOTP authenticator app (its secret sealed with `token_key`) and
//! recovery codes (stored as hashes), set up, checked at sign-in, sealed again when the
//! key changes.

use super::Staff;
use super::login::FAILURE_WINDOW;
use crate::domain::AuditAction;
use crate::store::{Actor, StoreError};

/// What a TOTP secret is sealed for (see `TokenKey::seal`): bound to its account, so a
/// sealed secret copied onto another account's row opens nothing there.
fn totp_seal(username: &str) -> String {
    format!("staff-totp-secret\0{username}")
}

impl Staff {
    /// With `token_key`, which second factors need: their secrets are kept sealed.
    pub fn with_key(mut self, key: Option<crate::domain::TokenKey>) -> Self {
        self.key = key;
        self
    }

    /// The TOTP secret an account's stored value holds: sealed (opened with the key),
    /// or in clear as versions before sealing wrote it (sealed at the next start). A
    /// sealed secret that no key here opens is [`SecondFactorError::NoKey`].
    fn totp_secret_of(
        &self,
        username: &str,
        stored: Option<&str>,
    ) -> Result<Option<String>, SecondFactorError> {
        let Some(stored) = stored else {
            return Ok(None);
        };
        if !stored.starts_with(crate::domain::SEALED_PREFIX) {
            return Ok(Some(stored.to_owned()));
        }
        match self
            .key
            .as_ref()
            .and_then(|key| key.open(&totp_seal(username), stored))
        {
            Some(secret) => Ok(Some(secret)),
            None => {
                tracing::error!(
                    "a second-factor secret cannot be opened: was token_key changed without \
                     keeping the old one as token_key_previous?"
                );
                Err(SecondFactorError::NoKey)
            }
        }
    }

    /// Seals every second-factor secret still stored in clear (written before this
    /// version) or sealed with a previous `token_key`. `startup::store` does it for every
    /// command that opens the database with `token_key` set, and `serve` again at start.
    /// Returns how many were sealed.
    pub async fn seal_stored_secrets(&self) -> Result<u64, StoreError> {
        let Some(key) = &self.key else {
            return Ok(0);
        };
        let mut sealed = 0;
        for (username, stored) in self.store.stored_totp_secrets().await? {
            if key.sealed_with_current(&stored) {
                continue;
            }
            let Ok(Some(secret)) = self.totp_secret_of(&username, Some(&stored)) else {
                continue;
            };
            let resealed = key.seal(&totp_seal(&username), &secret);
            if self
                .store
                .replace_totp_secret(&username, &stored, &resealed)
                .await?
            {
                sealed += 1;
            }
        }
        if sealed > 0 {
            tracing::info!(sealed, "second-factor secrets sealed with token_key");
        }
        Ok(sealed)
    }
}

/// Recovery codes made at enrolment.
pub const RECOVERY_CODES: usize = 10;
/// Wrong second-factor codes allowed per account in [`FAILURE_WINDOW`].
pub const MAX_CODE_FAILURES: u32 = 10;
/// The name an authenticator app shows for the account.
const TOTP_ISSUER: &str = "Nyhetsbrev fra KOM";

/// What a person needs to set up their authenticator app.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// The secret in base32, for typing in by hand.
    pub secret: String,
    /// The `otpauth://` URL the QR code holds.
    pub url: String,
    /// The QR code as an SVG element.
    pub qr_svg: String,
}

/// Why a second-factor code was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SecondFactorError {
    #[error("the code is wrong, too old or used already")]
    WrongCode,
    #[error("too many wrong codes for this account; wait 15 minutes")]
    TooManyTries,
    #[error("this account has no second factor set up")]
    NotEnrolled,
    #[error(
        "the second factor's secret is sealed with token_key, and no key here opens it (or \
         token_key is not set): set token_key, or the key it replaced as token_key_previous"
    )]
    NoKey,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for SecondFactorError {
    fn from(e: StoreError) -> Self {
        SecondFactorError::Store(e)
    }
}

fn totp_of(secret_base32: &str) -> Option<totp_rs::Totp> {
    let secret = totp_rs::Secret::try_from_base32(secret_base32).ok()?;
    totp_rs::Builder::new()
        .with_secret(secret)
        .with_skew(1)
        .with_step_duration(30)
        .with_digits(6)
        .build()
        .ok()
}

fn unix_seconds() -> u64 {
    (crate::domain::Timestamp::now().unix_ms() / 1000) as u64
}

/// A recovery code as typed (any case, spaces and dashes) in the form it is hashed.
fn recovery_key(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Ten new recovery codes (`abcde-fghij`, 50 random bits each) and their hashes.
fn new_recovery_codes() -> (Vec<String>, Vec<String>) {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let mut bytes = [0u8; 10];
        getrandom::fill(&mut bytes).expect("the system's random source");
        let chars: String = bytes
            .iter()
            .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
            .collect();
        codes.push(format!("{}-{}", &chars[..5], &chars[5..]));
    }
    let hashes = codes.iter().map(|c| sha256_hex(&recovery_key(c))).collect();
    (codes, hashes)
}

impl Staff {
    /// What a session must pass after the password: a code when the account has a
    /// second factor, enrolment when `require` says every account must have one.
    pub async fn due_after_password(
        &self,
        username: &str,
        require: bool,
    ) -> Result<crate::ops::SecondFactorDue, StoreError> {
        use crate::ops::SecondFactorDue;
        let state = self.store.totp_state(username).await?.unwrap_or_default();
        Ok(if state.enabled {
            SecondFactorDue::Code
        } else if require || self.store.staff_must_enrol(username).await? {
            SecondFactorDue::Enrolment
        } else {
            SecondFactorDue::Nothing
        })
    }

    /// Whether the account has a second factor in force, and how many recovery codes
    /// it has left.
    pub async fn second_factor(&self, username: &str) -> Result<(bool, i64), StoreError> {
        let state = self.store.totp_state(username).await?.unwrap_or_default();
        let left = self.store.recovery_codes_left(username).await?;
        Ok((state.enabled, left))
    }

    /// Starts (or shows again) setting up an authenticator app: a new secret unless
    /// one is waiting for its first code.
    pub async fn totp_enrolment(&self, username: &str) -> Result<Enrolment, SecondFactorError> {
        let Some(key) = &self.key else {
            return Err(SecondFactorError::NoKey);
        };
        let state = self.store.totp_state(username).await?.unwrap_or_default();
        // A waiting secret that cannot be opened is replaced by a new one: nothing
        // depends on it yet.
        let waiting = self
            .totp_secret_of(username, state.secret.as_deref().filter(|_| !state.enabled))
            .unwrap_or(None);
        let secret = match waiting {
            Some(secret) => secret,
            None => {
                let mut bytes = vec![0u8; 20];
                getrandom::fill(&mut bytes).expect("the system's random source");
                let secret = totp_rs::Secret::from(bytes).to_base32();
                self.store
                    .set_totp_secret(username, &key.seal(&totp_seal(username), &secret))
                    .await?;
                secret
            }
        };
        let label =
            url::form_urlencoded::byte_serialize(format!("{TOTP_ISSUER}:{username}").as_bytes())
                .collect::<String>()
                .replace('+', "%20");
        let issuer = url::form_urlencoded::byte_serialize(TOTP_ISSUER.as_bytes())
            .collect::<String>()
            .replace('+', "%20");
        let url = format!(
            "otpauth://totp/{label}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits=6&period=30"
        );
        let qr_svg = qrcode::QrCode::new(url.as_bytes())
            .map(|code| {
                code.render::<qrcode::render::svg::Color<'_>>()
                    .min_dimensions(200, 200)
                    .build()
            })
            .unwrap_or_default();
        Ok(Enrolment {
            secret,
            url,
            qr_svg,
        })
    }

    /// Puts the second factor in force once a code from the new secret is typed;
    /// returns the recovery codes, shown once and stored only as hashes.
    pub async fn confirm_totp(
        &self,
        username: &str,
        code: &str,
        actor: &Actor,
    ) -> Result<Vec<String>, SecondFactorError> {
        let state = self.store.totp_state(username).await?.unwrap_or_default();
        let Some(totp) = self
            .totp_secret_of(username, state.secret.as_deref())?
            .as_deref()
            .and_then(totp_of)
        else {
            return Err(SecondFactorError::NotEnrolled);
        };
        let code: String = code.chars().filter(char::is_ascii_digit).collect();
        let Some(step) = totp.check(&code, unix_seconds()) else {
            return Err(SecondFactorError::WrongCode);
        };
        let (codes, hashes) = new_recovery_codes();
        self.store
            .enable_totp(username, step as i64, &hashes, actor)
            .await?;
        Ok(codes)
    }

    /// Checks the second factor at sign-in: a code from the app (each time step once,
    /// one step of clock drift either way) or an unused recovery code. Wrong codes are
    /// counted per account before the check.
    pub async fn check_second_factor(
        &self,
        username: &str,
        code: &str,
    ) -> Result<(), SecondFactorError> {
        let Some(attempt) = self
            .store
            .count_login_attempt(
                &format!("totp:{username}"),
                MAX_CODE_FAILURES,
                FAILURE_WINDOW.as_millis() as i64,
            )
            .await?
        else {
            return Err(SecondFactorError::TooManyTries);
        };
        let state = self.store.totp_state(username).await?.unwrap_or_default();
        let Some(totp) = self
            .totp_secret_of(username, state.secret.as_deref().filter(|_| state.enabled))?
            .as_deref()
            .and_then(totp_of)
        else {
            return Err(SecondFactorError::NotEnrolled);
        };
        let digits: String = code.chars().filter(char::is_ascii_digit).collect();
        let accepted = if digits.len() == 6 && digits.len() == code.trim().len() {
            match totp.check(&digits, unix_seconds()) {
                Some(step) => self.store.take_totp_step(username, step as i64).await?,
                None => false,
            }
        } else {
            let key = recovery_key(code);
            key.len() == 10
                && self
                    .store
                    .use_recovery_code(username, &sha256_hex(&key))
                    .await?
        };
        if !accepted {
            if let Err(e) = self
                .store
                .log_action(
                    &Actor::web(username),
                    AuditAction::StaffTotpFailed,
                    username,
                    None,
                )
                .await
            {
                tracing::warn!(error = %e, "could not log a wrong second-factor code");
            }
            return Err(SecondFactorError::WrongCode);
        }
        self.store.login_succeeded(attempt).await?;
        Ok(())
    }
}
