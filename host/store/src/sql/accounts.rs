//! Passwords, sessions and API tokens.
//!
//! Secrets are looked up by their SHA-256, never compared: the database finds the row whose
//! `secret_hash` equals the hash of what the caller presented. How long that index lookup takes
//! can only reveal something about the *hash* of a guess, and learning a prefix of a SHA-256
//! does not help to find a secret that produces it (preimage resistance), so no constant-time
//! comparison is needed and none would add protection. Passwords are checked by `argon2`,
//! whose verification compares in constant time.

use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::SqlStore;
use super::rows::{USER_COLUMNS, found, user};
use crate::model::*;
use crate::traits::AccountStore;
use crate::{Result, StoreError, new_id};

/// What a session secret starts with.
const SESSION_PREFIX: &str = "mdcs_";
/// What an API token secret starts with, so a leaked one is easy to spot and to scan for.
const TOKEN_PREFIX: &str = "mdc_";

/// Columns of `api_tokens` in the order [`api_token`] reads them.
const TOKEN_COLUMNS: &str = "id, user_id, name, created_at, last_used_at, revoked_at";

/// A new secret: `prefix` and 32 random bytes from the operating system, in hex.
fn new_secret(prefix: &str) -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|err| StoreError::Database(format!("no random bytes from the system: {err}")))?;
    Ok(format!("{prefix}{}", hex::encode(bytes)))
}

/// What is stored of a secret: its SHA-256 in hex.
fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The NotFound of every failed sign-in, whatever the reason.
fn bad_credentials() -> StoreError {
    StoreError::NotFound {
        what: "credentials",
        id: String::new(),
    }
}

/// Runs CPU-heavy password work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| StoreError::Database(format!("password hashing stopped: {err}")))?
}

/// The Argon2id PHC string of a password, with a fresh random salt.
fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|err| StoreError::Database(format!("no random bytes from the system: {err}")))?;
    let salt = SaltString::encode_b64(&salt)
        .map_err(|err| StoreError::Database(format!("password salt: {err}")))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| StoreError::Invalid(format!("password cannot be hashed: {err}")))
}

/// An `api_tokens` row.
fn api_token(row: &AnyRow) -> Result<ApiToken> {
    Ok(ApiToken {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

impl SqlStore {
    /// A user by id.
    async fn user_by_id(&self, id: &str) -> Result<User> {
        let row = sqlx::query(sql!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        user(&found(row, "user", id)?)
    }
}

#[async_trait::async_trait]
impl AccountStore for SqlStore {
    async fn set_password(&self, user_id: &str, password: Option<&str>) -> Result<()> {
        let hash = match password {
            Some(password) if password.is_empty() => {
                return Err(StoreError::Invalid("a password cannot be empty".into()));
            }
            Some(password) => {
                let password = password.to_string();
                Some(blocking(move || hash_password(&password)).await?)
            }
            None => None,
        };
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(user_id)
            .execute(self.writer())
            .await?;
        found((done.rows_affected() > 0).then_some(()), "user", user_id)
    }

    async fn check_password(&self, email: &str, password: &str) -> Result<User> {
        let row = sqlx::query(sql!(
            "SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1"
        ))
        .bind(email)
        .fetch_optional(self.reader())
        .await?
        .ok_or_else(bad_credentials)?;
        let stored: Option<String> = row.try_get("password_hash")?;
        let stored = stored.ok_or_else(bad_credentials)?;
        let password = password.to_string();
        blocking(move || {
            let hash = PasswordHash::new(&stored)
                .map_err(|err| StoreError::Database(format!("stored password hash: {err}")))?;
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .map_err(|_| bad_credentials())
        })
        .await?;
        user(&row)
    }

    async fn create_session(&self, user_id: &str, ttl: Duration) -> Result<IssuedSession> {
        let now = self.local_now();
        let ttl = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let session = Session {
            id: new_id(),
            user_id: user_id.to_string(),
            created_at: now,
            expires_at: now.saturating_add(ttl),
        };
        let secret = new_secret(SESSION_PREFIX)?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, secret_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&session.id)
        .bind(&session.user_id)
        .bind(secret_hash(&secret))
        .bind(session.created_at)
        .bind(session.expires_at)
        .execute(self.writer())
        .await
        .map_err(crate::error::parent_missing("user", user_id))?;
        Ok(IssuedSession { session, secret })
    }

    async fn session_by_secret(&self, secret: &str) -> Result<(Session, User)> {
        let row = sqlx::query(
            "SELECT s.id AS session_id, s.created_at AS session_created_at, s.expires_at,
                    u.id, u.name, u.email, u.created_at
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.secret_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2",
        )
        .bind(secret_hash(secret))
        .bind(self.local_now())
        .fetch_optional(self.reader())
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "session",
            id: String::new(),
        })?;
        let user = user(&row)?;
        let session = Session {
            id: row.try_get("session_id")?,
            user_id: user.id.clone(),
            created_at: row.try_get("session_created_at")?,
            expires_at: row.try_get("expires_at")?,
        };
        Ok((session, user))
    }

    async fn revoke_session(&self, secret: &str) -> Result<()> {
        let now = self.local_now();
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $1
             WHERE secret_hash = $2 AND revoked_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(secret_hash(secret))
        .execute(self.writer())
        .await?;
        found((done.rows_affected() > 0).then_some(()), "session", "")
    }

    async fn revoke_sessions(&self, user_id: &str) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $1
             WHERE user_id = $2 AND revoked_at IS NULL AND expires_at > $1",
        )
        .bind(self.local_now())
        .bind(user_id)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected())
    }

    async fn create_api_token(&self, user_id: &str, name: &str) -> Result<IssuedToken> {
        if name.trim().is_empty() {
            return Err(StoreError::Invalid("an API token needs a name".into()));
        }
        let token = ApiToken {
            id: new_id(),
            user_id: user_id.to_string(),
            name: name.trim().to_string(),
            created_at: self.local_now(),
            last_used_at: None,
            revoked_at: None,
        };
        let secret = new_secret(TOKEN_PREFIX)?;
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, name, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&token.id)
        .bind(&token.user_id)
        .bind(&token.name)
        .bind(secret_hash(&secret))
        .bind(token.created_at)
        .execute(self.writer())
        .await
        .map_err(crate::error::parent_missing("user", user_id))?;
        Ok(IssuedToken { token, secret })
    }

    async fn api_tokens(&self, user_id: &str) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query(sql!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
        ))
        .bind(user_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(api_token).collect()
    }

    async fn token_by_secret(&self, secret: &str) -> Result<(ApiToken, User)> {
        let row = sqlx::query(sql!(
            "UPDATE api_tokens SET last_used_at = $1
             WHERE secret_hash = $2 AND revoked_at IS NULL RETURNING {TOKEN_COLUMNS}"
        ))
        .bind(self.local_now())
        .bind(secret_hash(secret))
        .fetch_optional(self.writer())
        .await?;
        let token = api_token(&found(row, "API token", "")?)?;
        let user = self.user_by_id(&token.user_id).await?;
        Ok((token, user))
    }

    async fn revoke_api_token(&self, user_id: &str, token_id: &str) -> Result<ApiToken> {
        let row = sqlx::query(sql!(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1)
             WHERE id = $2 AND user_id = $3 RETURNING {TOKEN_COLUMNS}"
        ))
        .bind(self.local_now())
        .bind(token_id)
        .bind(user_id)
        .fetch_optional(self.writer())
        .await?;
        api_token(&found(row, "API token", token_id)?)
    }
}
