//! Applies the embedded migrations of `migrations/<backend>/` in order, once each, recording a
//! checksum so a changed migration that already shipped is refused instead of half-applied.

use sqlx::{AnyPool, Row};

use super::Backend;
use crate::{Result, StoreError, now_millis};

/// (version, name, SQL) of every migration, per backend.
const SQLITE: &[(i64, &str, &str)] = &[
    (
        1,
        "core",
        include_str!("../../../../migrations/sqlite/0001_core.sql"),
    ),
    (
        2,
        "accounts",
        include_str!("../../../../migrations/sqlite/0002_accounts.sql"),
    ),
    (
        3,
        "generations",
        include_str!("../../../../migrations/sqlite/0003_generations.sql"),
    ),
];
const POSTGRES: &[(i64, &str, &str)] = &[
    (
        1,
        "core",
        include_str!("../../../../migrations/postgres/0001_core.sql"),
    ),
    (
        2,
        "accounts",
        include_str!("../../../../migrations/postgres/0002_accounts.sql"),
    ),
    (
        3,
        "generations",
        include_str!("../../../../migrations/postgres/0003_generations.sql"),
    ),
];

/// Brings the schema up to date.
pub async fn run(pool: &AnyPool, backend: Backend) -> Result<()> {
    let migrations = match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(pool)
    .await?;
    for (version, name, sql) in migrations {
        let mut tx = pool.begin().await?;
        if backend == Backend::Postgres {
            // Serialise concurrent servers migrating the same database.
            sqlx::query("SELECT pg_advisory_xact_lock(7305521)")
                .execute(&mut *tx)
                .await?;
        }
        let applied = sqlx::query("SELECT checksum FROM schema_migrations WHERE version = $1")
            .bind(*version)
            .fetch_optional(&mut *tx)
            .await?;
        let sum = checksum(sql);
        match applied {
            Some(row) => {
                let stored: String = row.try_get("checksum")?;
                if stored != sum {
                    return Err(StoreError::Invalid(format!(
                        "migration {version} ({name}) changed after it was applied; restore it and add a new migration"
                    )));
                }
            }
            None => {
                sqlx::raw_sql(*sql).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)")
                    .bind(*version)
                    .bind(*name)
                    .bind(sum)
                    .bind(now_millis())
                    .execute(&mut *tx)
                    .await?;
                tracing::info!(version, name, "applied migration");
            }
        }
        tx.commit().await?;
    }
    Ok(())
}

/// A dependency-free checksum (FNV-1a, 64 bits) of a migration's text.
fn checksum(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}
