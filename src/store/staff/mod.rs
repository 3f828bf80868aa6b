//! Staff accounts for the web admin: `first_account.rs` (a new installation's one-time
//! set-up code and the first account it makes), `accounts.rs` (the accounts, their passwords
//! (`crate::auth`'s argon2 hashes), who is an administrator, disabling, and
//! `staff_account_changes`: who made an account, set its password or reset its second
//! factor), `sessions.rs` (signed-in sessions), `second_factor.rs` (TOTP secrets and
//! recovery codes), `login_attempts.rs` (the throttle on password and code guesses, which
//! the admin API's tokens share).

mod accounts;
mod first_account;
mod login_attempts;
mod second_factor;
mod sessions;

pub use accounts::{AccountChange, AccountChangeKind, StaffAccount, StaffUserWrite};
pub use first_account::FirstAccount;
pub use second_factor::TotpState;
pub use sessions::{SessionLine, StaffSession};
