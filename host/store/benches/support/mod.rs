//! What the store benchmarks share: their runtime and a fresh PostgreSQL database.

use mdc_store::{SqlStore, new_id};
use sqlx::Connection;

/// An empty PostgreSQL database made for one benchmark run (from `MDC_TEST_POSTGRES_URL`,
/// default `postgres://postgres@127.0.0.1:5432/test`), dropped by [`ScratchDatabase::drop`].
pub struct ScratchDatabase {
    admin: sqlx::PgConnection,
    name: String,
    /// Its URL.
    pub url: String,
}

impl ScratchDatabase {
    /// Creates the database.
    pub async fn create() -> ScratchDatabase {
        let admin_url = std::env::var("MDC_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let name = format!("mdc_bench_{}", new_id());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("PostgreSQL for the benchmark");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        let (base, _) = admin_url.rsplit_once('/').unwrap();
        let url = format!("{base}/{name}");
        ScratchDatabase { admin, name, url }
    }

    /// A store on it.
    pub async fn store(&self) -> SqlStore {
        SqlStore::connect(&self.url).await.unwrap()
    }

    /// Drops the database, whoever is still connected.
    pub async fn drop(mut self) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut self.admin)
        .await
        .ok();
    }
}

/// The runtime every store benchmark runs on: two worker threads, as the machines have cores.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}
