//! Brings a database's schema up to date with sqlx's migrator over the files embedded from
//! `migrations/<backend>/` (`sqlx::migrate!`): each applied once, in order, under a lock on
//! PostgreSQL, and a shipped migration whose text changed after it was applied is refused
//! (`VersionMismatch`) instead of half-applied.
//!
//! Databases made before the product used sqlx's migrator kept their history in
//! `schema_migrations` with a checksum of our own; they are adopted once — their history is
//! checked against the files as before, recorded in sqlx's table as applied, and the old
//! table dropped — so upgrading a data folder runs nothing twice.

use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Row};

use super::Backend;
use crate::{Result, StoreError};

static SQLITE: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("../../migrations/postgres");

/// Brings the schema up to date.
pub async fn run(pool: &AnyPool, backend: Backend) -> Result<()> {
    let migrator = match backend {
        Backend::Sqlite => &SQLITE,
        Backend::Postgres => &POSTGRES,
    };
    adopt_earlier_history(pool, backend, migrator).await?;
    migrator.run(pool).await.map_err(refused)
}

/// The migrator's refusal in the store's words.
fn refused(err: sqlx::migrate::MigrateError) -> StoreError {
    use sqlx::migrate::MigrateError;
    match err {
        MigrateError::VersionMismatch(version) => StoreError::Invalid(format!(
            "migration {version} changed after it was applied; restore it and add a new migration"
        )),
        MigrateError::VersionMissing(version) => StoreError::Invalid(format!(
            "the database has migration {version}, which this build does not know: it was \
             migrated by a newer version of the product"
        )),
        MigrateError::Execute(err) => StoreError::from(err),
        other => StoreError::Database(format!("cannot migrate the database: {other}")),
    }
}

/// Adopts a history kept in `schema_migrations` (see the module documentation).
async fn adopt_earlier_history(
    pool: &AnyPool,
    backend: Backend,
    migrator: &Migrator,
) -> Result<()> {
    let exists = match backend {
        Backend::Sqlite => {
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        }
        Backend::Postgres => {
            "SELECT COUNT(*) AS n FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_name = 'schema_migrations'"
        }
    };
    let count: i64 = sqlx::query(exists).fetch_one(pool).await?.try_get("n")?;
    if count == 0 {
        return Ok(());
    }
    let applied =
        match sqlx::query("SELECT version, checksum FROM schema_migrations ORDER BY version")
            .fetch_all(pool)
            .await
        {
            Ok(rows) => rows,
            // Another server adopted it meanwhile.
            Err(_) => return Ok(()),
        };
    let mut last = 0;
    for row in &applied {
        let version: i64 = row.try_get("version")?;
        let stored: String = row.try_get("checksum")?;
        let migration = migrator
            .iter()
            .find(|m| m.version == version)
            .ok_or_else(|| refused(sqlx::migrate::MigrateError::VersionMissing(version)))?;
        if stored != earlier_checksum(migration.sql.as_str()) {
            return Err(refused(sqlx::migrate::MigrateError::VersionMismatch(
                version,
            )));
        }
        last = last.max(version);
    }
    migrator.skip(pool, Some(last)).await.map_err(refused)?;
    sqlx::query("DROP TABLE IF EXISTS schema_migrations")
        .execute(pool)
        .await?;
    tracing::info!(through = last, "adopted the earlier migration history");
    Ok(())
}

/// The checksum the earlier runner recorded (FNV-1a, 64 bits, of the migration's text).
fn earlier_checksum(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_embedded_for_both_dialects() {
        for (migrator, dir) in [(&SQLITE, "sqlite"), (&POSTGRES, "postgres")] {
            let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../migrations")
                .join(dir);
            let files = std::fs::read_dir(folder).unwrap().count();
            assert_eq!(migrator.iter().count(), files, "{dir}");
        }
        let versions = |m: &Migrator| m.iter().map(|m| m.version).collect::<Vec<_>>();
        assert_eq!(versions(&SQLITE), versions(&POSTGRES));
    }

    async fn sqlite() -> (tempfile::TempDir, crate::SqlStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::SqlStore::open_sqlite(&dir.path().join("mdc.db"))
            .await
            .unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn a_shipped_migration_that_changed_is_refused() {
        let (_dir, store) = sqlite().await;
        sqlx::query("UPDATE _sqlx_migrations SET checksum = X'00' WHERE version = 1")
            .execute(store.writer())
            .await
            .unwrap();
        let err = store.migrate().await.unwrap_err();
        assert!(
            err.to_string()
                .contains("migration 1 changed after it was applied"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn an_earlier_history_is_adopted_and_nothing_runs_twice() {
        let (_dir, store) = sqlite().await;
        let user = crate::ProjectStore::create_user(&store, "Ana", "ana@studio.test")
            .await
            .unwrap();
        // The database as the earlier runner left it: every migration applied, recorded in
        // its own history table only.
        sqlx::raw_sql(
            "DELETE FROM _sqlx_migrations;
             CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL,
                 checksum TEXT NOT NULL, applied_at BIGINT NOT NULL);",
        )
        .execute(store.writer())
        .await
        .unwrap();
        for migration in SQLITE.iter() {
            sqlx::query("INSERT INTO schema_migrations VALUES ($1, $2, $3, 0)")
                .bind(migration.version)
                .bind(migration.description.to_string())
                .bind(earlier_checksum(migration.sql.as_str()))
                .execute(store.writer())
                .await
                .unwrap();
        }
        // Had any migration run again, creating its tables or columns would fail.
        store.migrate().await.unwrap();
        let recorded: i64 = sqlx::query("SELECT COUNT(*) AS n FROM _sqlx_migrations")
            .fetch_one(store.writer())
            .await
            .unwrap()
            .try_get("n")
            .unwrap();
        assert_eq!(recorded, SQLITE.iter().count() as i64);
        assert!(
            crate::ProjectStore::user_by_email(&store, &user.email)
                .await
                .unwrap()
                .is_some(),
            "data survives"
        );
        let gone = sqlx::query("SELECT 1 FROM schema_migrations")
            .fetch_all(store.writer())
            .await;
        assert!(gone.is_err(), "the earlier history table is dropped");

        // An earlier history that does not match the files is refused.
        sqlx::raw_sql(
            "DELETE FROM _sqlx_migrations;
             CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL,
                 checksum TEXT NOT NULL, applied_at BIGINT NOT NULL);
             INSERT INTO schema_migrations VALUES (1, 'core', 'not-the-file', 0);",
        )
        .execute(store.writer())
        .await
        .unwrap();
        assert!(store.migrate().await.is_err());
    }
}
