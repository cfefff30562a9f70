//! Fresh databases for each test.

use mdc_store::SqlStore;
use sqlx::Connection;

/// A store on a database that exists for one test.
pub struct TestDb {
    pub store: SqlStore,
    cleanup: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

/// A new SQLite file in a temporary folder.
pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::open_sqlite(&sqlite_file(&dir))
        .await
        .expect("open SQLite");
    TestDb {
        store,
        cleanup: None,
        _dir: Some(dir),
    }
}

/// The database file of a [`sqlite`] test database in `dir`.
pub fn sqlite_file(dir: &tempfile::TempDir) -> std::path::PathBuf {
    dir.path().join("mdc.db")
}

/// The PostgreSQL server's admin URL.
pub fn postgres_url() -> String {
    std::env::var("MDC_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A new, empty PostgreSQL database.
pub async fn postgres() -> TestDb {
    let admin_url = postgres_url();
    let name = format!("mdc_test_{}", mdc_store::new_id());
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap_or_else(|err| {
        panic!("PostgreSQL at {admin_url} is required for the conformance suite and could not be reached: {err}")
    });
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create test database");
    admin.close().await.ok();
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("URL with a database name");
    let store = SqlStore::connect(&format!("{base}/{name}"))
        .await
        .expect("connect to the test database");
    TestDb {
        store,
        cleanup: Some((admin_url, name)),
        _dir: None,
    }
}

impl TestDb {
    /// The SQLite file of this test's database, if it is one.
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        self._dir.as_ref().map(sqlite_file)
    }

    /// The URL of this test's PostgreSQL database, if it is one.
    pub fn postgres_database_url(&self) -> Option<String> {
        let (admin_url, name) = self.cleanup.as_ref()?;
        let (base, _) = admin_url.rsplit_once('/')?;
        Some(format!("{base}/{name}"))
    }

    /// Drops the PostgreSQL database (SQLite's folder goes with the value).
    pub async fn drop(self) {
        self.store.close().await;
        if let Some((admin_url, name)) = self.cleanup {
            let mut admin = sqlx::PgConnection::connect(&admin_url)
                .await
                .expect("reconnect");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await
            .ok();
        }
    }
}
