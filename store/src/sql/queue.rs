//! The execution queue with leases, takes and the result cache.
//!
//! Claiming is one `UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING`: on PostgreSQL the
//! inner select takes `FOR UPDATE SKIP LOCKED`, so concurrent workers on many machines never
//! claim the same job and never wait on each other; SQLite has a single writer, which gives the
//! same guarantee in one process.

use std::time::Duration;

use sqlx::Row;

use super::rows::{EXECUTION_COLUMNS, TAKE_COLUMNS, execution, found, take};
use super::{Backend, SqlStore};
use crate::model::*;
use crate::traits::ExecutionQueue;
use crate::{Result, StoreError, new_id, now_millis};

fn lease_end(lease: Duration) -> i64 {
    now_millis() + lease.as_millis() as i64
}

impl SqlStore {
    async fn insert_execution(
        &self,
        spec: &NewExecution,
        status: ExecutionStatus,
        reused: bool,
    ) -> Result<Execution> {
        let now = now_millis();
        let finished = status.is_final().then_some(now);
        let row = sqlx::query(sql!(
            "INSERT INTO node_executions (id, project_id, node_id, plugin_type, plugin_version, tier, priority, status,
                 request, cache_key, requested_by, progress, reused, enqueued_at, started_at, finished_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
             RETURNING {EXECUTION_COLUMNS}"
        ))
        .bind(new_id())
        .bind(&spec.project_id)
        .bind(&spec.node_id)
        .bind(&spec.plugin_type)
        .bind(&spec.plugin_version)
        .bind(spec.tier.as_str())
        .bind(spec.priority)
        .bind(status.as_str())
        .bind(&spec.request)
        .bind(&spec.cache_key)
        .bind(&spec.requested_by)
        .bind(if status == ExecutionStatus::Succeeded { 1.0 } else { 0.0 })
        .bind(reused)
        .bind(now)
        .bind(finished)
        .bind(finished)
        .fetch_one(self.pool())
        .await
        .map_err(|err| match StoreError::from(err) {
            StoreError::Invalid(message) if message.contains("does not exist") || message.contains("FOREIGN") => {
                StoreError::NotFound { what: "project", id: spec.project_id.clone() }
            }
            other => other,
        })?;
        execution(&row)
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
        self.insert_execution(&spec, ExecutionStatus::Queued, false)
            .await
    }

    async fn record_reuse(&self, spec: NewExecution, _take: &Take) -> Result<Execution> {
        self.insert_execution(&spec, ExecutionStatus::Succeeded, true)
            .await
    }

    async fn claim(
        &self,
        worker_id: &str,
        tiers: &[Tier],
        lease: Duration,
    ) -> Result<Option<Execution>> {
        if tiers.is_empty() {
            return Ok(None);
        }
        let placeholders: Vec<String> = (0..tiers.len()).map(|i| format!("${}", i + 4)).collect();
        let lock = match self.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE node_executions
             SET status = 'running', worker_id = $1, lease_expires_at = $2, started_at = $3,
                 attempts = attempts + 1, progress = 0, progress_message = ''
             WHERE id = (SELECT id FROM node_executions
                         WHERE status = 'queued' AND tier IN ({})
                         ORDER BY priority DESC, enqueued_at, id LIMIT 1 {lock})
               AND status = 'queued'
             RETURNING {EXECUTION_COLUMNS}",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(worker_id)
            .bind(lease_end(lease))
            .bind(now_millis());
        for tier in tiers {
            query = query.bind(tier.as_str());
        }
        let row = query.fetch_optional(self.pool()).await?;
        row.as_ref().map(execution).transpose()
    }

    async fn renew_lease(&self, id: &str, worker_id: &str, lease: Duration) -> Result<Execution> {
        let row = sqlx::query(sql!(
            "UPDATE node_executions SET lease_expires_at = $1
             WHERE id = $2 AND worker_id = $3 AND status = 'running' RETURNING {EXECUTION_COLUMNS}"
        ))
        .bind(lease_end(lease))
        .bind(id)
        .bind(worker_id)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(row) => execution(&row),
            None => Err(self.not_running_error(id, worker_id).await),
        }
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
        .execute(self.pool())
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
        let now = now_millis();
        let (status, error, usage) = match &outcome {
            Outcome::Succeeded { usage, .. } => (ExecutionStatus::Succeeded, None, usage.clone()),
            Outcome::Failed { error, usage } => {
                (ExecutionStatus::Failed, Some(error.clone()), usage.clone())
            }
            Outcome::Cancelled => (
                ExecutionStatus::Cancelled,
                Some("cancelled".to_string()),
                "{}".to_string(),
            ),
        };
        let mut tx = self.pool().begin().await?;
        let row = sqlx::query(sql!(
            "UPDATE node_executions
             SET status = $1, error = $2, usage = $3, finished_at = $4, lease_expires_at = NULL,
                 progress = CASE WHEN $1 = 'succeeded' THEN 1 ELSE progress END
             WHERE id = $5 AND worker_id = $6 AND status = 'running' RETURNING {EXECUTION_COLUMNS}"
        ))
        .bind(status.as_str())
        .bind(error)
        .bind(usage)
        .bind(now)
        .bind(id)
        .bind(worker_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            drop(tx);
            return Err(self.not_running_error(id, worker_id).await);
        };
        let finished = execution(&row)?;
        let mut stored_take = None;
        if let Outcome::Succeeded { outputs, .. } = outcome {
            let row = sqlx::query(sql!(
                "INSERT INTO takes ({TAKE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {TAKE_COLUMNS}"
            ))
            .bind(new_id())
            .bind(id)
            .bind(&finished.spec.project_id)
            .bind(&finished.spec.node_id)
            .bind(outputs)
            .bind(&finished.spec.request)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let new_take = take(&row)?;
            sqlx::query(
                "INSERT INTO result_cache (cache_key, take_id, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (cache_key) DO UPDATE SET take_id = excluded.take_id, created_at = excluded.created_at",
            )
            .bind(&finished.spec.cache_key)
            .bind(&new_take.id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            stored_take = Some(new_take);
        }
        tx.commit().await?;
        Ok((finished, stored_take))
    }

    async fn cancel(&self, id: &str) -> Result<Execution> {
        let row = sqlx::query(sql!(
            "UPDATE node_executions SET status = 'cancelled', error = 'cancelled before it started', finished_at = $1
             WHERE id = $2 AND status = 'queued' RETURNING {EXECUTION_COLUMNS}"
        ))
        .bind(now_millis())
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        if let Some(row) = row {
            return execution(&row);
        }
        let row = sqlx::query(sql!(
            "UPDATE node_executions SET cancel_requested = $1 WHERE id = $2 AND status = 'running'
             RETURNING {EXECUTION_COLUMNS}"
        ))
        .bind(true)
        .bind(id)
        .fetch_optional(self.pool())
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
        .fetch_optional(self.pool())
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
        .fetch_one(self.pool())
        .await?;
        let ahead: i64 = row.try_get("ahead")?;
        Ok(Some(ahead as u64 + 1))
    }

    async fn execution(&self, id: &str) -> Result<Execution> {
        let row = sqlx::query(sql!(
            "SELECT {EXECUTION_COLUMNS} FROM node_executions WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        execution(&found(row, "execution", id)?)
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
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(execution).collect()
    }

    async fn recover_expired(&self, max_attempts: i64) -> Result<Recovery> {
        let now = now_millis();
        let mut tx = self.pool().begin().await?;
        let ids = |rows: Vec<sqlx::any::AnyRow>| -> Result<Vec<String>> {
            rows.iter()
                .map(|row| Ok(row.try_get::<String, _>("id")?))
                .collect()
        };
        let mut failed = ids(sqlx::query(
            "UPDATE node_executions SET status = 'cancelled', error = 'cancelled; the worker stopped responding',
                 finished_at = $1, lease_expires_at = NULL
             WHERE status = 'running' AND lease_expires_at < $1 AND cancel_requested = $2 RETURNING id",
        )
        .bind(now)
        .bind(true)
        .fetch_all(&mut *tx)
        .await?)?;
        failed.extend(ids(sqlx::query(
            "UPDATE node_executions SET status = 'failed', finished_at = $1, lease_expires_at = NULL,
                 error = 'the worker running it stopped responding ' || attempts || ' times (lease expired); giving up'
             WHERE status = 'running' AND lease_expires_at < $1 AND attempts >= $2 RETURNING id",
        )
        .bind(now)
        .bind(max_attempts)
        .fetch_all(&mut *tx)
        .await?)?);
        let requeued = ids(sqlx::query(
            "UPDATE node_executions SET status = 'queued', worker_id = NULL, lease_expires_at = NULL, progress = 0,
                 progress_message = 're-queued: the worker running it stopped responding'
             WHERE status = 'running' AND lease_expires_at < $1 RETURNING id",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await?)?;
        tx.commit().await?;
        if !(requeued.is_empty() && failed.is_empty()) {
            tracing::warn!(
                requeued = requeued.len(),
                failed = failed.len(),
                "recovered executions with expired leases"
            );
        }
        Ok(Recovery { requeued, failed })
    }

    async fn takes(&self, project_id: &str, node_id: &str) -> Result<Vec<Take>> {
        let rows = sqlx::query(sql!(
            "SELECT {TAKE_COLUMNS} FROM takes WHERE project_id = $1 AND node_id = $2 ORDER BY created_at DESC, id DESC"
        ))
        .bind(project_id)
        .bind(node_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(take).collect()
    }

    async fn take(&self, id: &str) -> Result<Take> {
        let row = sqlx::query(sql!("SELECT {TAKE_COLUMNS} FROM takes WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        take(&found(row, "take", id)?)
    }

    async fn cached_take(&self, cache_key: &str) -> Result<Option<Take>> {
        let row = sqlx::query(
            "SELECT t.id, t.execution_id, t.project_id, t.node_id, t.outputs, t.provenance, t.created_at
             FROM result_cache c JOIN takes t ON t.id = c.take_id WHERE c.cache_key = $1",
        )
        .bind(cache_key)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(take).transpose()
    }
}
