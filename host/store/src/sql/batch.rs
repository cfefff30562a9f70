//! Multi-row statements for the queue's bulk operations: a generation's wave is queued, and a
//! worker's finished executions are recorded, with a few statements per few hundred rows
//! instead of one or three per row. Both dialects accept the same SQL — `VALUES` lists,
//! `UPDATE … FROM` a `VALUES` table (whose columns are `column1`, … in both),
//! and `RETURNING` — with placeholders from [`Params`] (`?` on SQLite, `$n` on PostgreSQL).

use std::collections::{HashMap, HashSet};

use super::rows::{EXECUTION_COLUMNS, TAKE_COLUMNS, execution, take};
use super::{Backend, Params};
use crate::model::*;
use crate::{Result, StoreError, new_id};

/// Rows per statement: far below SQLite's (32,766) and PostgreSQL's (65,535) parameter limits.
const ROWS_PER_STATEMENT: usize = 400;

/// Inserts executions (already in a transaction), returning one per spec in the order given
/// and the ids of those inserted now. A queued spec whose cache key is already queued or
/// running is not inserted: the execution in flight is returned in its place.
pub async fn insert_executions(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    now: i64,
    specs: &[NewExecution],
    status: ExecutionStatus,
    reused: bool,
) -> Result<(Vec<Execution>, HashSet<String>)> {
    let finished = status.is_final().then_some(now);
    let progress = if status == ExecutionStatus::Succeeded {
        1.0
    } else {
        0.0
    };
    let ids: Vec<String> = specs.iter().map(|_| new_id()).collect();
    let mut by_id: HashMap<String, Execution> = HashMap::with_capacity(specs.len());
    for (chunk, chunk_ids) in specs
        .chunks(ROWS_PER_STATEMENT)
        .zip(ids.chunks(ROWS_PER_STATEMENT))
    {
        // Only in-flight work can conflict (the partial unique index on the cache key).
        let sql = format!(
            "INSERT INTO node_executions (id, project_id, node_id, plugin_type, plugin_version,
                 plugin_digest, tier, priority, status, request, cache_key, requested_by, progress,
                 reused, enqueued_at, started_at, finished_at)
             VALUES {} ON CONFLICT DO NOTHING RETURNING {EXECUTION_COLUMNS}",
            Params::new(backend).tuples(chunk.len(), 17)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (spec, id) in chunk.iter().zip(chunk_ids) {
            query = query
                .bind(id)
                .bind(&spec.project_id)
                .bind(&spec.node_id)
                .bind(&spec.plugin_type)
                .bind(&spec.plugin_version)
                .bind(&spec.plugin_digest)
                .bind(spec.tier.as_str())
                .bind(spec.priority)
                .bind(status.as_str())
                .bind(&spec.request)
                .bind(&spec.cache_key)
                .bind(&spec.requested_by)
                .bind(progress)
                .bind(reused)
                .bind(now)
                .bind(finished)
                .bind(finished);
        }
        let rows = query
            .fetch_all(&mut **tx)
            .await
            .map_err(|err| missing_project(err, chunk))?;
        for row in rows {
            let inserted = execution(&row)?;
            by_id.insert(inserted.id.clone(), inserted);
        }
    }
    let new: HashSet<String> = by_id.keys().cloned().collect();
    let shared_keys: Vec<String> = specs
        .iter()
        .zip(&ids)
        .filter(|(_, id)| !by_id.contains_key(*id))
        .map(|(spec, _)| spec.cache_key.clone())
        .collect();
    let in_flight = in_flight_by_key(tx, backend, &shared_keys).await?;
    let executions = specs
        .iter()
        .zip(&ids)
        .map(|(spec, id)| {
            by_id
                .get(id)
                .or_else(|| in_flight.get(&spec.cache_key))
                .cloned()
                .ok_or_else(|| {
                    StoreError::Conflict(format!(
                        "execution for {:?} was neither queued nor found in flight (it finished meanwhile); queue it again",
                        spec.node_id
                    ))
                })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((executions, new))
}

/// The queued or running executions of these cache keys, by key.
async fn in_flight_by_key(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    keys: &[String],
) -> Result<HashMap<String, Execution>> {
    let mut found = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "SELECT {EXECUTION_COLUMNS} FROM node_executions
             WHERE status IN ('queued', 'running') AND cache_key IN ({})",
            Params::new(backend).list(chunk.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for key in chunk {
            query = query.bind(key);
        }
        for row in query.fetch_all(&mut **tx).await? {
            let running = execution(&row)?;
            found.insert(running.spec.cache_key.clone(), running);
        }
    }
    Ok(found)
}

/// A foreign-key failure on insert means a project that does not exist: name it.
fn missing_project(err: sqlx::Error, chunk: &[NewExecution]) -> StoreError {
    match StoreError::from(err) {
        StoreError::Invalid(message)
            if message.contains("does not exist") || message.contains("FOREIGN") =>
        {
            let mut projects: Vec<&str> = chunk.iter().map(|s| s.project_id.as_str()).collect();
            projects.sort_unstable();
            projects.dedup();
            StoreError::NotFound {
                what: "project",
                id: projects.join(", "),
            }
        }
        other => other,
    }
}

/// Ends running executions held by `worker_id` (already in a transaction): their status,
/// error and usage, a take for each success, and the result cache. Returns, per outcome in
/// the order given, the recorded execution and take, or `None` when the worker does not
/// hold it (any more).
pub async fn finish_executions(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    now: i64,
    worker_id: &str,
    outcomes: Vec<(String, Outcome)>,
) -> Result<Vec<Option<(Execution, Option<Take>)>>> {
    let mut recorded: HashMap<String, Execution> = HashMap::with_capacity(outcomes.len());
    for chunk in outcomes.chunks(ROWS_PER_STATEMENT) {
        // Placeholders in order of appearance: finished_at, the listed rows, the worker.
        let mut params = Params::new(backend);
        let sql = format!(
            "UPDATE node_executions
             SET status = v.vstatus, error = v.verror, usage = v.vusage, finished_at = {},
                 lease_expires_at = NULL,
                 progress = CASE WHEN v.vstatus = 'succeeded' THEN 1 ELSE node_executions.progress END
             FROM (SELECT column1 AS vid, column2 AS vstatus, column3 AS verror, column4 AS vusage
                   FROM (VALUES {}) AS listed) AS v
             WHERE node_executions.id = v.vid AND node_executions.worker_id = {}
               AND node_executions.status = 'running'
             RETURNING {}",
            params.next(),
            params.tuples(chunk.len(), 4),
            params.next(),
            qualified_execution_columns()
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
        for (id, outcome) in chunk {
            let (status, error, usage) = outcome_columns(outcome);
            query = query.bind(id).bind(status.as_str()).bind(error).bind(usage);
        }
        query = query.bind(worker_id);
        for row in query.fetch_all(&mut **tx).await? {
            let done = execution(&row)?;
            recorded.insert(done.id.clone(), done);
        }
    }

    // Takes for the successes, then their cache entries (one per key: the last take wins).
    let successes: Vec<(&Execution, &str)> = outcomes
        .iter()
        .filter_map(|(id, outcome)| match outcome {
            Outcome::Succeeded { outputs, .. } => {
                recorded.get(id).map(|done| (done, outputs.as_str()))
            }
            _ => None,
        })
        .collect();
    let mut takes: HashMap<String, Take> = HashMap::with_capacity(successes.len());
    for chunk in successes.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO takes ({TAKE_COLUMNS}) VALUES {} RETURNING {TAKE_COLUMNS}",
            Params::new(backend).tuples(chunk.len(), 7)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (done, outputs) in chunk {
            query = query
                .bind(new_id())
                .bind(&done.id)
                .bind(&done.spec.project_id)
                .bind(&done.spec.node_id)
                .bind(*outputs)
                .bind(&done.spec.request)
                .bind(now);
        }
        for row in query.fetch_all(&mut **tx).await? {
            let new_take = take(&row)?;
            takes.insert(new_take.execution_id.clone(), new_take);
        }
    }
    let mut cache: HashMap<&str, &str> = HashMap::with_capacity(takes.len());
    for (done, _) in &successes {
        if let Some(new_take) = takes.get(&done.id) {
            cache.insert(done.spec.cache_key.as_str(), new_take.id.as_str());
        }
    }
    let cache: Vec<(&str, &str)> = cache.into_iter().collect();
    for chunk in cache.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO result_cache (cache_key, take_id, created_at) VALUES {}
             ON CONFLICT (cache_key) DO UPDATE SET take_id = excluded.take_id, created_at = excluded.created_at",
            Params::new(backend).tuples(chunk.len(), 3)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (key, take_id) in chunk {
            query = query.bind(*key).bind(*take_id).bind(now);
        }
        query.execute(&mut **tx).await?;
    }

    Ok(outcomes
        .iter()
        .map(|(id, _)| {
            recorded.remove(id).map(|done| {
                let new_take = takes.remove(&done.id);
                (done, new_take)
            })
        })
        .collect())
}

/// Status, error and usage stored for an outcome.
fn outcome_columns(outcome: &Outcome) -> (ExecutionStatus, Option<String>, String) {
    match outcome {
        Outcome::Succeeded { usage, .. } => (ExecutionStatus::Succeeded, None, usage.clone()),
        Outcome::Failed { error, usage } => {
            (ExecutionStatus::Failed, Some(error.clone()), usage.clone())
        }
        Outcome::Cancelled => (
            ExecutionStatus::Cancelled,
            Some("cancelled".to_string()),
            "{}".to_string(),
        ),
    }
}

/// [`EXECUTION_COLUMNS`] qualified with the table, for statements that join another table.
fn qualified_execution_columns() -> String {
    EXECUTION_COLUMNS
        .split(',')
        .map(|column| format!("node_executions.{}", column.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_dialect() {
        let mut pg = Params::new(Backend::Postgres);
        assert_eq!(pg.next(), "$1");
        assert_eq!(pg.tuples(2, 2), "($2, $3), ($4, $5)");
        assert_eq!(Params::new(Backend::Sqlite).list(3), "?, ?, ?");
        assert!(
            qualified_execution_columns()
                .starts_with("node_executions.id, node_executions.project_id")
        );
    }
}
