//! Counted login attempts: each password or second-factor guess (and each admin API
//! request) is written before it is checked, so guesses in parallel cannot outrun the
//! limit, and every process shares the count.

use crate::domain::Timestamp;
use crate::store::{Result, Store};

/// The PostgreSQL advisory lock that serialises login attempts.
const LOGIN_LOCK: i64 = 0x6e79_6c6f_6769;

impl Store {
    /// Counts an attempt under `client_key` (a client's address, or a name for an
    /// account's tries from anywhere) before its secret is checked, unless `max`
    /// attempts under that key are already counted in the last `window_ms`: then `None`,
    /// and the secret is not checked at all. Returns the attempt's id, for
    /// [`Store::login_succeeded`]. Check and insert are one statement under a lock, so
    /// parallel guesses cannot all slip through.
    pub async fn count_login_attempt(
        &self,
        client_key: &str,
        max: u32,
        window_ms: i64,
    ) -> Result<Option<i64>> {
        let now = Timestamp::now().unix_ms();
        let (_turn, mut tx) = self.begin_serialised(LOGIN_LOCK).await?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO login_attempts (client_key, at) SELECT $1, $2 \
             WHERE (SELECT COUNT(*) FROM login_attempts WHERE client_key = $1 AND at > $3) < $4 \
             RETURNING id",
        )
        .bind(client_key)
        .bind(now)
        .bind(now - window_ms)
        .bind(i64::from(max))
        .fetch_optional(&mut *tx)
        .await?;
        // Old attempts are forgotten as new ones come.
        sqlx::query("DELETE FROM login_attempts WHERE at < $1")
            .bind(now - window_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The attempt succeeded: it does not count against its key.
    pub async fn login_succeeded(&self, attempt_id: i64) -> Result<()> {
        let _turn = self.write_turn().await;
        sqlx::query("DELETE FROM login_attempts WHERE id = $1")
            .bind(attempt_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
