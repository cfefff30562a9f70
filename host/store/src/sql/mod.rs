//! The SQL implementation of the store traits, for SQLite and PostgreSQL.
//!
//! Nearly all statements are the same in both dialects (`$n` placeholders, `RETURNING`); the
//! few that differ (row locking for the queue, how a write transaction starts) are chosen by
//! [`Backend`] in one place each.

/// SQL assembled from constant fragments (column lists, placeholders), never from input.
macro_rules! sql {
    ($($arg:tt)*) => {
        sqlx::AssertSqlSafe(format!($($arg)*))
    };
}

mod accounts;
mod assets;
mod batch;
mod generations;
mod graphs;
mod migrate;
mod projects;
mod queue;
mod rows;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions};

use crate::events::{EventHub, QueueEvent, Subscription};
use crate::{Result, StoreError};

/// Which database a [`SqlStore`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One file in the data folder; the embedded default.
    Sqlite,
    /// A PostgreSQL server shared by servers and workers.
    Postgres,
}

impl Backend {
    /// SQL for the database server's current time in Unix milliseconds. Leases, their
    /// expiry and queue order all use this one clock, so machines whose clocks disagree
    /// neither steal nor lose each other's jobs.
    pub(crate) fn now_sql(self) -> &'static str {
        match self {
            Backend::Postgres => "CAST(EXTRACT(EPOCH FROM statement_timestamp()) * 1000 AS BIGINT)",
            Backend::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
        }
    }
}

/// The store on a SQL database.
#[derive(Debug, Clone)]
pub struct SqlStore {
    /// Connections for reads (and, on PostgreSQL, for everything).
    pool: AnyPool,
    /// Connections for writes: on SQLite one connection, so the process's writers queue
    /// for it in order instead of contending for the file's write lock (SQLite's busy
    /// handler sleeps 1–100 ms per retry); on PostgreSQL the same pool as reads.
    writer: AnyPool,
    backend: Backend,
    events: EventHub,
    /// Added to this machine's clock where the store stamps a time itself (creation times
    /// of projects, assets, graph versions); see [`SqlStore::with_local_clock_offset`].
    local_clock_offset_ms: i64,
}

impl SqlStore {
    /// Opens (creating if needed) a SQLite database file and migrates it.
    pub async fn open_sqlite(path: &Path) -> Result<SqlStore> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|err| {
                StoreError::Unavailable(format!("cannot create {}: {err}", parent.display()))
            })?;
        }
        SqlStore::connect(&format!("sqlite://{}?mode=rwc", path.display())).await
    }

    /// Connects to `sqlite://…` or `postgres://…` and applies pending migrations.
    pub async fn connect(url: &str) -> Result<SqlStore> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Invalid(format!(
                "unsupported database URL {url:?}: use sqlite://FILE or postgres://USER@HOST/DB"
            )));
        };
        let options = AnyConnectOptions::from_str(url)
            .map_err(|err| StoreError::Invalid(format!("bad database URL: {err}")))?
            .log_statements(tracing::log::LevelFilter::Trace);
        let connect = |max: u32| {
            let pool_options = match backend {
                Backend::Sqlite => {
                    AnyPoolOptions::new()
                        .max_connections(max)
                        .after_connect(|conn, _| {
                            Box::pin(async move {
                                sqlx::raw_sql(
                                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                                )
                                .execute(conn)
                                .await?;
                                Ok(())
                            })
                        })
                }
                Backend::Postgres => AnyPoolOptions::new().max_connections(max),
            };
            let options = options.clone();
            async move {
                pool_options
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .map_err(|err| {
                        StoreError::Unavailable(format!("cannot connect to {}: {err}", redact(url)))
                    })
            }
        };
        let (pool, writer) = match backend {
            // SQLite has one writer: writes queue for one connection, a few more serve
            // concurrent readers (WAL).
            Backend::Sqlite => {
                let writer = connect(1).await?;
                (connect(4).await?, writer)
            }
            Backend::Postgres => {
                let pool = connect(16).await?;
                (pool.clone(), pool)
            }
        };
        migrate::run(&writer, backend).await?;
        let events = match backend {
            Backend::Sqlite => EventHub::local(),
            Backend::Postgres => EventHub::postgres(url).await.map_err(|err| {
                StoreError::Unavailable(format!(
                    "cannot listen for queue events on {}: {err}",
                    redact(url)
                ))
            })?,
        };
        Ok(SqlStore {
            pool,
            writer,
            backend,
            events,
            local_clock_offset_ms: 0,
        })
    }

    /// Applies pending migrations (done by `connect`; safe to repeat).
    pub async fn migrate(&self) -> Result<()> {
        migrate::run(&self.writer, self.backend).await
    }

    /// The database in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection (later calls fail with [`StoreError::Unavailable`]).
    pub async fn close(&self) {
        self.events.close();
        self.pool.close().await;
        self.writer.close().await;
    }

    /// This handle with its own clock shifted by `offset_ms`, as on a machine whose clock is
    /// wrong. Only the times the store stamps itself (creation times) move; everything the
    /// queue orders or expires by is on the database's clock.
    pub fn with_local_clock_offset(mut self, offset_ms: i64) -> SqlStore {
        self.local_clock_offset_ms = offset_ms;
        self
    }

    /// Connections for statements that only read.
    pub(crate) fn reader(&self) -> &AnyPool {
        &self.pool
    }

    /// Connections for transactions and statements that write.
    pub(crate) fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// This machine's time in Unix milliseconds (with the configured offset).
    pub(crate) fn local_now(&self) -> i64 {
        crate::now_millis() + self.local_clock_offset_ms
    }

    /// The database server's time in Unix milliseconds. SQLite runs in this process, so its
    /// clock is this machine's (without the test offset): read here, not in `conn`, so a
    /// transaction's first statement is its first write and SQLite never has to upgrade a
    /// read snapshot that another writer made stale.
    pub(crate) async fn db_now(
        &self,
        conn: impl sqlx::Executor<'_, Database = sqlx::Any>,
    ) -> Result<i64> {
        if self.backend == Backend::Sqlite {
            return Ok(crate::now_millis());
        }
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {} AS now",
            self.backend.now_sql()
        )))
        .fetch_one(conn)
        .await?;
        Ok(sqlx::Row::try_get(&row, "now")?)
    }

    /// A subscription to the queue's events from now on.
    pub(crate) fn subscribe_events(&self) -> Subscription {
        self.events.subscribe()
    }

    /// Commits `tx` and announces `events` to every listener: on PostgreSQL as notifications
    /// sent by the transaction itself (delivered when, and only if, it commits), on SQLite on
    /// the in-process channel once it committed.
    pub(crate) async fn commit_announcing(
        &self,
        mut tx: sqlx::Transaction<'_, sqlx::Any>,
        events: Vec<QueueEvent>,
    ) -> Result<()> {
        if self.events.through_database() {
            for payload in events.iter().flat_map(QueueEvent::payloads) {
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(crate::events::CHANNEL)
                    .bind(payload)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        } else {
            tx.commit().await?;
            self.events.send_local(events);
        }
        Ok(())
    }
}

/// Placeholders numbered in order of appearance, for statements with many parameters:
/// `$1, $2, …` on PostgreSQL and `?` on SQLite, where sqlx resolves each `$n` through a lookup
/// that scans every parameter name — quadratic in a statement of hundreds of parameters.
/// Bind values in the order the placeholders were taken.
pub(crate) struct Params {
    backend: Backend,
    taken: usize,
}

impl Params {
    /// Placeholders for a statement on `backend`.
    pub(crate) fn new(backend: Backend) -> Params {
        Params { backend, taken: 0 }
    }

    /// The next placeholder.
    pub(crate) fn next(&mut self) -> String {
        self.taken += 1;
        match self.backend {
            Backend::Postgres => format!("${}", self.taken),
            Backend::Sqlite => "?".to_string(),
        }
    }

    /// `count` placeholders separated by commas (an `IN (…)` list).
    pub(crate) fn list(&mut self, count: usize) -> String {
        (0..count)
            .map(|_| self.next())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `rows` parenthesised tuples of `columns` placeholders (a `VALUES` list).
    pub(crate) fn tuples(&mut self, rows: usize, columns: usize) -> String {
        (0..rows)
            .map(|_| format!("({})", self.list(columns)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
