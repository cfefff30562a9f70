//! The execution queue with leases, takes and the result cache.
//!
//! Claiming is one `UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING`: on PostgreSQL the
//! inner select takes `FOR UPDATE SKIP LOCKED`, so concurrent workers on many machines never
//! claim the same job and never wait on each other; SQLite has a single writer, which gives the
//! same guarantee in one process.
//!
//! Every lease, expiry and queue position is computed on the database's clock
//! ([`Backend::now_sql`]), never a machine's own: clock skew between workers cannot make a
//! running job look expired. A worker claims only executions whose component digest it has
//! loaded. Work in flight is unique per cache key (a partial unique index): queueing what is
//! already queued or running returns the execution in flight.

use std::collections::HashMap;
use std::time::Duration;

use sqlx::Row;

use super::batch;
use super::rows::{EXECUTION_COLUMNS, TAKE_COLUMNS, execution, execution_status, found, take};
use super::{Backend, Params, SqlStore};
use crate::events::{QueueEvent, Subscription};
use crate::model::*;
use crate::traits::ExecutionQueue;
use crate::{Result, StoreError};

/// Ids bound per `IN (…)` list: far below SQLite's and PostgreSQL's parameter limits.
const ID_CHUNK: usize = 500;

/// A lease's length in milliseconds, for SQL.
fn lease_ms(lease: Duration) -> i64 {
    i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2)
}

/// The tiers of a set of executions, once each, as events announcing new work.
fn queued_events<'e>(executions: impl IntoIterator<Item = &'e Execution>) -> Vec<QueueEvent> {
    let mut tiers: Vec<Tier> = executions.into_iter().map(|e| e.spec.tier).collect();
    tiers.sort_unstable();
    tiers.dedup();
    tiers.into_iter().map(QueueEvent::Queued).collect()
}

impl SqlStore {
    /// Inserts executions in one transaction; a missing project fails the whole batch.
    async fn insert_executions(
        &self,
        specs: &[NewExecution],
        status: ExecutionStatus,
        reused: bool,
    ) -> Result<Vec<Execution>> {
        let mut tx = self.writer().begin().await?;
        let now = self.db_now(&mut *tx).await?;
        let (inserted, new) =
            batch::insert_executions(&mut tx, self.backend(), now, specs, status, reused).await?;
        let events = if status == ExecutionStatus::Queued {
            queued_events(inserted.iter().filter(|e| new.contains(&e.id)))
        } else {
            Vec::new()
        };
        self.commit_announcing(tx, events).await?;
        Ok(inserted)
    }

    /// The updated execution, or a conflict explained from its current status.
    async fn updated_or_conflict(
        &self,
        row: Option<sqlx::any::AnyRow>,
        id: &str,
        explain: impl FnOnce(&str) -> String,
    ) -> Result<Execution> {
        match row {
            Some(row) => execution(&row),
            None => {
                let current = self.execution(id).await?;
                Err(StoreError::Conflict(explain(current.status.as_str())))
            }
        }
    }

    /// Why a conditional update on a running execution matched nothing.
    async fn not_running_error(&self, id: &str, worker_id: &str) -> StoreError {
        match self.execution(id).await {
            Ok(current) if current.status != ExecutionStatus::Running => StoreError::Conflict(
                format!("execution {id} is {}, not running", current.status.as_str()),
            ),
            Ok(current) => StoreError::Conflict(format!(
                "execution {id} is held by worker {:?}, not {worker_id:?} (its lease expired and it was re-queued)",
                current.worker_id.unwrap_or_default()
            )),
            Err(err) => err,
        }
    }
}

#[async_trait::async_trait]
impl ExecutionQueue for SqlStore {
    async fn enqueue(&self, spec: NewExecution) -> Result<Execution> {
        let mut queued = self
            .insert_executions(std::slice::from_ref(&spec), ExecutionStatus::Queued, false)
            .await?;
        Ok(queued.remove(0))
    }

    async fn enqueue_many(&self, specs: Vec<NewExecution>) -> Result<Vec<Execution>> {
        self.insert_executions(&specs, ExecutionStatus::Queued, false)
            .await
    }

    async fn record_reuse(&self, spec: NewExecution, _take: &Take) -> Result<Execution> {
        let mut reused = self
            .insert_executions(
                std::slice::from_ref(&spec),
                ExecutionStatus::Succeeded,
                true,
            )
            .await?;
        Ok(reused.remove(0))
    }

    async fn record_reuses(&self, specs: Vec<NewExecution>) -> Result<Vec<Execution>> {
        self.insert_executions(&specs, ExecutionStatus::Succeeded, true)
            .await
    }

    async fn claim(
        &self,
        worker_id: &str,
        tiers: &[Tier],
        digests: &[String],
        lease: Duration,
    ) -> Result<Option<Execution>> {
        Ok(self
            .claim_many(worker_id, tiers, digests, lease, 1)
            .await?
            .into_iter()
            .next())
    }

    async fn claim_many(
        &self,
        worker_id: &str,
        tiers: &[Tier],
        digests: &[String],
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<Execution>> {
        if tiers.is_empty() || digests.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let now = self.backend().now_sql();
        // Placeholders in order of appearance: worker, lease, tiers, digests, limit.
        let mut params = Params::new(self.backend());
        let (worker, lease_param) = (params.next(), params.next());
        let pick = format!(
            "SELECT id FROM node_executions
             WHERE status = 'queued' AND tier IN ({}) AND plugin_digest IN ({})
             ORDER BY priority DESC, enqueued_at, id LIMIT {}",
            params.list(tiers.len()),
            params.list(digests.len()),
            params.next()
        );
        // PostgreSQL: the pick runs once, as an init plan, and skips rows other workers are
        // claiming (an `IN (…)` semi-join may re-run it and lose rows). SQLite has one writer.
        let chosen = match self.backend() {
            Backend::Postgres => format!("id = ANY(ARRAY({pick} FOR UPDATE SKIP LOCKED))"),
            Backend::Sqlite => format!("id IN ({pick})"),
        };
        let sql = format!(
            "UPDATE node_executions
             SET status = 'running', worker_id = {worker}, lease_expires_at = {now} + {lease_param},
                 started_at = {now}, attempts = attempts + 1, progress = 0, progress_message = ''
             WHERE {chosen} AND status = 'queued'
             RETURNING {EXECUTION_COLUMNS}"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(worker_id)
            .bind(lease_ms(lease));
        for tier in tiers {
            query = query.bind(tier.as_str());
        }
        for digest in digests {
            query = query.bind(digest);
        }
        query = query.bind(i64::try_from(limit).unwrap_or(i64::MAX));
        let rows = query.fetch_all(self.writer()).await?;
        let mut claimed = rows.iter().map(execution).collect::<Result<Vec<_>>>()?;
        // RETURNING gives no order; run them in queue order.
        claimed.sort_by(|a, b| {
            b.spec
                .priority
                .cmp(&a.spec.priority)
                .then(a.enqueued_at.cmp(&b.enqueued_at))
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(claimed)
    }

    async fn release(&self, worker_id: &str, ids: &[String]) -> Result<Vec<String>> {
        let mut tx = self.writer().begin().await?;
        let mut released = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(ID_CHUNK) {
            let mut params = Params::new(self.backend());
            let sql = format!(
                "UPDATE node_executions
                 SET status = 'queued', worker_id = NULL, lease_expires_at = NULL, started_at = NULL,
                     attempts = attempts - 1, progress = 0, progress_message = ''
                 WHERE worker_id = {} AND status = 'running' AND id IN ({})
                 RETURNING {EXECUTION_COLUMNS}",
                params.next(),
                params.list(chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(worker_id);
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&mut *tx).await? {
                released.push(execution(&row)?);
            }
        }
        let events = queued_events(&released);
        self.commit_announcing(tx, events).await?;
        Ok(released.into_iter().map(|e| e.id).collect())
    }

    fn subscribe(&self) -> Subscription {
        self.subscribe_events()
    }

    async fn renew_lease(&self, id: &str, worker_id: &str, lease: Duration) -> Result<Execution> {
        let row = sqlx::query(sql!(
            "UPDATE node_executions SET lease_expires_at = {} + $1
             WHERE id = $2 AND worker_id = $3 AND status = 'running' RETURNING {EXECUTION_COLUMNS}",
            self.backend().now_sql()
        ))
        .bind(lease_ms(lease))
        .bind(id)
        .bind(worker_id)
        .fetch_optional(self.writer())
        .await?;
        match row {
            Some(row) => execution(&row),
            None => Err(self.not_running_error(id, worker_id).await),
        }
    }

    async fn renew_leases(
        &self,
        worker_id: &str,
        ids: &[String],
        lease: Duration,
    ) -> Result<Vec<Execution>> {
        let until = lease_ms(lease);
        let mut renewed = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(ID_CHUNK) {
            let mut params = Params::new(self.backend());
            let sql = format!(
                "UPDATE node_executions SET lease_expires_at = {} + {}
                 WHERE worker_id = {} AND status = 'running' AND id IN ({})
                 RETURNING {EXECUTION_COLUMNS}",
                self.backend().now_sql(),
                params.next(),
                params.next(),
                params.list(chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(until)
                .bind(worker_id);
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(self.writer()).await? {
                renewed.push(execution(&row)?);
            }
        }
        Ok(renewed)
    }

    async fn report_progress(
        &self,
        id: &str,
        worker_id: &str,
        fraction: f64,
        message: &str,
    ) -> Result<()> {
        let fraction = if fraction.is_finite() {
            fraction.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let result = sqlx::query(
            "UPDATE node_executions SET progress = $1, progress_message = $2
             WHERE id = $3 AND worker_id = $4 AND status = 'running'",
        )
        .bind(fraction)
        .bind(message)
        .bind(id)
        .bind(worker_id)
        .execute(self.writer())
        .await?;
        if result.rows_affected() == 0 {
            return Err(self.not_running_error(id, worker_id).await);
        }
        Ok(())
    }

    async fn finish(
        &self,
        id: &str,
        worker_id: &str,
        outcome: Outcome,
    ) -> Result<(Execution, Option<Take>)> {
        self.finish_many(worker_id, vec![(id.to_string(), outcome)])
            .await?
            .remove(0)
    }

    async fn finish_many(
        &self,
        worker_id: &str,
        outcomes: Vec<(String, Outcome)>,
    ) -> Result<Vec<Result<(Execution, Option<Take>)>>> {
        let ids: Vec<String> = outcomes.iter().map(|(id, _)| id.clone()).collect();
        let mut tx = self.writer().begin().await?;
        let now = self.db_now(&mut *tx).await?;
        let recorded =
            batch::finish_executions(&mut tx, self.backend(), now, worker_id, outcomes).await?;
        let finished: Vec<_> = ids.into_iter().zip(recorded).collect();
        let done: Vec<String> = finished
            .iter()
            .filter(|(_, result)| result.is_some())
            .map(|(id, _)| id.clone())
            .collect();
        let events = if done.is_empty() {
            Vec::new()
        } else {
            vec![QueueEvent::Finished(done)]
        };
        self.commit_announcing(tx, events).await?;
        let mut results = Vec::with_capacity(finished.len());
        for (id, result) in finished {
            results.push(match result {
                Some(done) => Ok(done),
                None => Err(self.not_running_error(&id, worker_id).await),
            });
        }
        Ok(results)
    }

    async fn cancel(&self, id: &str) -> Result<Execution> {
        let mut tx = self.writer().begin().await?;
        let row = sqlx::query(sql!(
            "UPDATE node_executions SET status = 'cancelled', error = 'cancelled before it started', finished_at = {}
             WHERE id = $1 AND status = 'queued' RETURNING {EXECUTION_COLUMNS}",
            self.backend().now_sql()
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = row {
            let cancelled = execution(&row)?;
            self.commit_announcing(tx, vec![QueueEvent::Finished(vec![cancelled.id.clone()])])
                .await?;
            return Ok(cancelled);
        }
        tx.rollback().await?;
        let row = sqlx::query(sql!(
            "UPDATE node_executions SET cancel_requested = $1 WHERE id = $2 AND status = 'running'
             RETURNING {EXECUTION_COLUMNS}"
        ))
        .bind(true)
        .bind(id)
        .fetch_optional(self.writer())
        .await?;
        self.updated_or_conflict(row, id, |status| format!("execution {id} already {status}"))
            .await
    }

    async fn set_priority(&self, id: &str, priority: i64) -> Result<Execution> {
        let row = sqlx::query(sql!(
            "UPDATE node_executions SET priority = $1 WHERE id = $2 AND status = 'queued' RETURNING {EXECUTION_COLUMNS}"
        ))
        .bind(priority)
        .bind(id)
        .fetch_optional(self.writer())
        .await?;
        self.updated_or_conflict(row, id, |status| {
            format!("only queued executions can change priority; {id} is {status}")
        })
        .await
    }

    async fn queue_position(&self, id: &str) -> Result<Option<u64>> {
        let current = self.execution(id).await?;
        if current.status != ExecutionStatus::Queued {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT COUNT(*) AS ahead FROM node_executions
             WHERE status = 'queued' AND tier = $1
               AND (priority > $2 OR (priority = $2 AND (enqueued_at < $3 OR (enqueued_at = $3 AND id < $4))))",
        )
        .bind(current.spec.tier.as_str())
        .bind(current.spec.priority)
        .bind(current.enqueued_at)
        .bind(id)
        .fetch_one(self.reader())
        .await?;
        let ahead: i64 = row.try_get("ahead")?;
        Ok(Some(ahead as u64 + 1))
    }

    async fn execution(&self, id: &str) -> Result<Execution> {
        let row = sqlx::query(sql!(
            "SELECT {EXECUTION_COLUMNS} FROM node_executions WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.reader())
        .await?;
        execution(&found(row, "execution", id)?)
    }

    async fn executions(&self, ids: &[String]) -> Result<Vec<Execution>> {
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(ID_CHUNK) {
            let sql = format!(
                "SELECT {EXECUTION_COLUMNS} FROM node_executions WHERE id IN ({})",
                Params::new(self.backend()).list(chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(self.reader()).await? {
                found.push(execution(&row)?);
            }
        }
        Ok(found)
    }

    async fn outcomes(&self, ids: &[String]) -> Result<Vec<ExecutionOutcome>> {
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(ID_CHUNK) {
            let sql = format!(
                "SELECT e.id, e.status, e.error, c.take_id FROM node_executions e
                 LEFT JOIN result_cache c ON c.cache_key = e.cache_key
                 WHERE e.id IN ({})",
                Params::new(self.backend()).list(chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(self.reader()).await? {
                found.push(ExecutionOutcome {
                    id: row.try_get("id")?,
                    status: execution_status(&row)?,
                    error: row.try_get("error")?,
                    take_id: row.try_get("take_id")?,
                });
            }
        }
        Ok(found)
    }

    async fn node_executions(
        &self,
        project_id: &str,
        node_id: &str,
        page: Page,
    ) -> Result<Vec<Execution>> {
        let rows = sqlx::query(sql!(
            "SELECT {EXECUTION_COLUMNS} FROM node_executions WHERE project_id = $1 AND node_id = $2
             ORDER BY enqueued_at DESC, id DESC LIMIT $3 OFFSET $4"
        ))
        .bind(project_id)
        .bind(node_id)
        .bind(page.sql_limit())
        .bind(i64::from(page.offset))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(execution).collect()
    }

    async fn recover_expired(&self, max_attempts: i64) -> Result<Recovery> {
        let now = self.backend().now_sql();
        let mut tx = self.writer().begin().await?;
        let recovered = |rows: Vec<sqlx::any::AnyRow>| -> Result<Vec<Execution>> {
            rows.iter().map(execution).collect()
        };
        let mut failed = recovered(sqlx::query(sql!(
            "UPDATE node_executions SET status = 'cancelled', error = 'cancelled; the worker stopped responding',
                 finished_at = {now}, lease_expires_at = NULL
             WHERE status = 'running' AND lease_expires_at < {now} AND cancel_requested = $1
             RETURNING {EXECUTION_COLUMNS}"
        ))
        .bind(true)
        .fetch_all(&mut *tx)
        .await?)?;
        failed.extend(recovered(sqlx::query(sql!(
            "UPDATE node_executions SET status = 'failed', finished_at = {now}, lease_expires_at = NULL,
                 error = 'the worker running it stopped responding ' || attempts || ' times (lease expired); giving up'
             WHERE status = 'running' AND lease_expires_at < {now} AND attempts >= $1
             RETURNING {EXECUTION_COLUMNS}"
        ))
        .bind(max_attempts)
        .fetch_all(&mut *tx)
        .await?)?);
        let requeued = recovered(sqlx::query(sql!(
            "UPDATE node_executions SET status = 'queued', worker_id = NULL, lease_expires_at = NULL, progress = 0,
                 progress_message = 're-queued: the worker running it stopped responding'
             WHERE status = 'running' AND lease_expires_at < {now} RETURNING {EXECUTION_COLUMNS}"
        ))
        .fetch_all(&mut *tx)
        .await?)?;
        let mut events = queued_events(&requeued);
        if !failed.is_empty() {
            events.push(QueueEvent::Finished(
                failed.iter().map(|e| e.id.clone()).collect(),
            ));
        }
        self.commit_announcing(tx, events).await?;
        if !(requeued.is_empty() && failed.is_empty()) {
            tracing::warn!(
                requeued = requeued.len(),
                failed = failed.len(),
                "recovered executions with expired leases"
            );
        }
        Ok(Recovery {
            requeued: requeued.into_iter().map(|e| e.id).collect(),
            failed: failed.into_iter().map(|e| e.id).collect(),
        })
    }

    async fn takes(&self, project_id: &str, node_id: &str) -> Result<Vec<Take>> {
        let rows = sqlx::query(sql!(
            "SELECT {TAKE_COLUMNS} FROM takes WHERE project_id = $1 AND node_id = $2 ORDER BY created_at DESC, id DESC"
        ))
        .bind(project_id)
        .bind(node_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(take).collect()
    }

    async fn take(&self, id: &str) -> Result<Take> {
        let row = sqlx::query(sql!("SELECT {TAKE_COLUMNS} FROM takes WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        take(&found(row, "take", id)?)
    }

    async fn project_takes(
        &self,
        project_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Take>> {
        let rows = sqlx::query(sql!(
            "SELECT {TAKE_COLUMNS} FROM takes WHERE project_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(project_id)
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit.clamp(1, Page::MAX_LIMIT)))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(take).collect()
    }

    async fn takes_by_id(&self, ids: &[String]) -> Result<HashMap<String, Take>> {
        let mut found = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(ID_CHUNK) {
            let sql = format!(
                "SELECT {TAKE_COLUMNS} FROM takes WHERE id IN ({})",
                Params::new(self.backend()).list(chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(self.reader()).await? {
                let take = take(&row)?;
                found.insert(take.id.clone(), take);
            }
        }
        Ok(found)
    }

    async fn cached_take(&self, cache_key: &str) -> Result<Option<Take>> {
        let mut found = self.cached_takes(&[cache_key.to_string()]).await?;
        Ok(found.remove(cache_key))
    }

    async fn cached_takes(&self, cache_keys: &[String]) -> Result<HashMap<String, Take>> {
        let mut found = HashMap::with_capacity(cache_keys.len());
        for chunk in cache_keys.chunks(ID_CHUNK) {
            let sql = format!(
                "SELECT c.cache_key, t.id, t.execution_id, t.project_id, t.node_id, t.outputs, t.provenance, t.created_at
                 FROM result_cache c JOIN takes t ON t.id = c.take_id WHERE c.cache_key IN ({})",
                Params::new(self.backend()).list(chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for key in chunk {
                query = query.bind(key);
            }
            for row in query.fetch_all(self.reader()).await? {
                found.insert(row.try_get("cache_key")?, take(&row)?);
            }
        }
        Ok(found)
    }

    async fn tier_usage(&self, project_id: &str) -> Result<Vec<TierUsage>> {
        let cost = match self.backend() {
            Backend::Sqlite => "CAST(json_extract(usage, '$.cost_milli') AS INTEGER)",
            Backend::Postgres => "CAST(CAST(usage AS jsonb) ->> 'cost_milli' AS BIGINT)",
        };
        let sql = format!(
            "SELECT tier,
                 CAST(SUM(CASE WHEN reused = $2 OR started_at IS NULL THEN 0 ELSE 1 END) AS BIGINT) AS runs,
                 CAST(SUM(CASE WHEN reused = $2 THEN 1 ELSE 0 END) AS BIGINT) AS reused_count,
                 CAST(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS BIGINT) AS failed,
                 CAST(SUM(CASE WHEN reused = $2 OR started_at IS NULL OR finished_at IS NULL THEN 0
                               ELSE finished_at - started_at END) AS BIGINT) AS wall_ms,
                 CAST(SUM(CASE WHEN reused = $2 THEN 0 ELSE COALESCE({cost}, 0) END) AS BIGINT) AS cost_milli
             FROM node_executions WHERE project_id = $1 GROUP BY tier ORDER BY tier"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(project_id)
            .bind(true)
            .fetch_all(self.reader())
            .await?;
        let mut usage = Vec::with_capacity(rows.len());
        for row in rows {
            let tier: String = row.try_get("tier")?;
            usage.push(TierUsage {
                tier: Tier::parse(&tier)
                    .ok_or_else(|| StoreError::Database(format!("unknown tier {tier:?}")))?,
                runs: row.try_get("runs")?,
                reused: row.try_get("reused_count")?,
                failed: row.try_get("failed")?,
                wall_ms: row.try_get("wall_ms")?,
                cost_milli: row.try_get("cost_milli")?,
            });
        }
        Ok(usage)
    }
}
