//! Stored generations and their steps.
//!
//! Steps move by compare-and-set (`… WHERE status = <from>`): several servers may advance the
//! same generation at once and each step still moves once. Every move is announced as
//! [`QueueEvent::GenerationChanged`] so waiters re-read instead of polling.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Params, SqlStore, batch};
use crate::events::QueueEvent;
use crate::model::*;
use crate::traits::GenerationStore;
use crate::{Result, StoreError, new_id};

/// Steps per statement: far below both dialects' parameter limits.
const STEPS_PER_STATEMENT: usize = 400;

const GENERATION_COLUMNS: &str = "g.id, g.project_id, g.status, g.revision, g.requested_by, g.created_at, g.finished_at, p.request, p.graph";
const STEP_COLUMNS: &str = "node_id, position, upstream, status, execution_id, take_id, error";

fn step(row: &AnyRow) -> Result<GenerationStep> {
    let status: String = row.try_get("status")?;
    let upstream: String = row.try_get("upstream")?;
    Ok(GenerationStep {
        node_id: row.try_get("node_id")?,
        position: row.try_get("position")?,
        upstream: parse_ids(&upstream)?,
        status: StepStatus::parse(&status)
            .ok_or_else(|| StoreError::Database(format!("unknown step status {status:?}")))?,
        execution_id: row.try_get("execution_id")?,
        take_id: row.try_get("take_id")?,
        error: row.try_get("error")?,
    })
}

/// The stored form of a step's upstream list: a JSON array of node ids.
fn ids_json(ids: &[String]) -> String {
    serde_json::to_string(ids).expect("a list of strings is always JSON")
}

/// Reads [`ids_json`]'s output.
fn parse_ids(text: &str) -> Result<Vec<String>> {
    serde_json::from_str(text).map_err(|err| {
        StoreError::Database(format!("malformed step upstream list {text:?}: {err}"))
    })
}

/// A waiting step's move to queued on `execution`.
fn queued_move(node: &str, execution: &Execution) -> StepMove {
    StepMove {
        node_id: node.to_string(),
        from: StepStatus::Waiting,
        to: StepStatus::Queued,
        execution_id: Some(execution.id.clone()),
        take_id: None,
        error: None,
    }
}

/// The `status` column of a generation row.
fn generation_status(row: &AnyRow) -> Result<GenerationStatus> {
    let status: String = row.try_get("status")?;
    GenerationStatus::parse(&status)
        .ok_or_else(|| StoreError::Database(format!("unknown generation status {status:?}")))
}

impl SqlStore {
    /// A generation's row as `select` (`SELECT … FROM generations g …`) reads it, or not
    /// found.
    async fn generation_row(&self, select: &str, id: &str) -> Result<AnyRow> {
        sqlx::query(sqlx::AssertSqlSafe(format!("{select} WHERE g.id = $1")))
            .bind(id)
            .fetch_optional(self.reader())
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "generation",
                id: id.to_string(),
            })
    }

    async fn steps_of(&self, generation_id: &str, after: i64) -> Result<Vec<GenerationStep>> {
        let rows = sqlx::query(sql!(
            "SELECT {STEP_COLUMNS} FROM generation_steps
             WHERE generation_id = $1 AND revision > $2 ORDER BY position"
        ))
        .bind(generation_id)
        .bind(after)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(step).collect()
    }

    /// Applies one pass's changes in `tx` (see [`GenerationStore::advance_generation`]) and
    /// returns what it did with the events to announce on commit.
    async fn apply_changes(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        generation_id: &str,
        now: i64,
        expected_revision: i64,
        changes: StepChanges,
    ) -> Result<(Advanced, Vec<QueueEvent>)> {
        // Counting the revision up locks the generation's row: passes over one generation
        // commit one after another, so revisions become visible in order.
        let row = sqlx::query(
            "UPDATE generations SET revision = revision + 1
             WHERE id = $1 AND status = 'running' AND revision = $2
             RETURNING revision",
        )
        .bind(generation_id)
        .bind(expected_revision)
        .fetch_optional(&mut **tx)
        .await?;
        let Some(row) = row else {
            // Read in this transaction: its connection is the one at hand.
            let current = sqlx::query("SELECT status, revision FROM generations WHERE id = $1")
                .bind(generation_id)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or_else(|| StoreError::NotFound {
                    what: "generation",
                    id: generation_id.to_string(),
                })?;
            return Err(StoreError::Conflict(format!(
                "generation {generation_id} is at revision {} ({}), not {}",
                current.try_get::<i64, _>("revision")?,
                generation_status(&current)?.as_str(),
                expected_revision
            )));
        };
        let revision: i64 = row.try_get("revision")?;
        let mut events = vec![QueueEvent::GenerationChanged(generation_id.to_string())];

        // Executions first, in this transaction: a worker cannot finish one before the step
        // that waits for it is recorded as queued.
        let (queued, shared) = self
            .insert_pass_executions(tx, now, &changes, &mut events)
            .await?;
        let mut moves = changes.moves;
        for ((node, _), execution) in changes.queue.iter().zip(&queued) {
            moves.push(queued_move(node, execution));
        }
        let wanted = moves.len();
        let moved = self
            .move_steps_in(tx, generation_id, now, revision, &moves)
            .await?;
        if moved < wanted {
            return Err(StoreError::Conflict(format!(
                "steps of generation {generation_id} moved meanwhile"
            )));
        }
        let done = sqlx::query(
            "UPDATE generations SET status = 'done', finished_at = $2
             WHERE id = $1 AND status = 'running' AND NOT EXISTS (
                 SELECT 1 FROM generation_steps
                 WHERE generation_id = $1 AND status IN ('waiting', 'queued'))",
        )
        .bind(generation_id)
        .bind(now)
        .execute(&mut **tx)
        .await?
        .rows_affected()
            > 0;
        let queued = changes
            .queue
            .into_iter()
            .map(|(node, _)| node)
            .zip(queued)
            .collect();
        Ok((
            Advanced {
                generation_id: generation_id.to_string(),
                revision,
                queued,
                shared,
                done,
            },
            events,
        ))
    }

    /// Inserts the executions a pass queues (sharing those in flight) and the reuses it
    /// records; returns the queued ones in order and the ids of those that were shared, and
    /// adds the announcements of new work to `events`.
    async fn insert_pass_executions(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        now: i64,
        changes: &StepChanges,
        events: &mut Vec<QueueEvent>,
    ) -> Result<(Vec<Execution>, Vec<String>)> {
        let specs: Vec<NewExecution> = changes.queue.iter().map(|(_, spec)| spec.clone()).collect();
        let (queued, new) = batch::insert_executions(
            tx,
            self.backend(),
            now,
            &specs,
            ExecutionStatus::Queued,
            false,
        )
        .await?;
        let mut tiers: Vec<Tier> = queued
            .iter()
            .filter(|e| new.contains(&e.id))
            .map(|e| e.spec.tier)
            .collect();
        tiers.sort_unstable();
        tiers.dedup();
        events.extend(tiers.into_iter().map(QueueEvent::Queued));
        batch::insert_executions(
            tx,
            self.backend(),
            now,
            &changes.reuses,
            ExecutionStatus::Succeeded,
            true,
        )
        .await?;
        let shared = queued
            .iter()
            .filter(|e| !new.contains(&e.id))
            .map(|e| e.id.clone())
            .collect();
        Ok((queued, shared))
    }

    /// Moves steps whose status is still `from` (a few hundred per statement), stamping them
    /// with `revision`; returns how many moved.
    async fn move_steps_in(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        generation_id: &str,
        now: i64,
        revision: i64,
        moves: &[StepMove],
    ) -> Result<usize> {
        let mut moved = 0;
        for chunk in moves.chunks(STEPS_PER_STATEMENT) {
            // Placeholders in order of appearance (SQLite's are positional): the moves, then
            // the time, the revision and the generation.
            let mut params = Params::new(self.backend());
            let values = params.tuples(chunk.len(), 6);
            let (now_param, revision_param, generation_param) =
                (params.next(), params.next(), params.next());
            let sql = format!(
                "WITH moves (node_id, from_status, to_status, execution_id, take_id, error) AS (VALUES {values})
                 UPDATE generation_steps
                 SET status = moves.to_status,
                     execution_id = COALESCE(moves.execution_id, generation_steps.execution_id),
                     take_id = moves.take_id, error = moves.error,
                     updated_at = {now_param}, revision = {revision_param}
                 FROM moves
                 WHERE generation_steps.generation_id = {generation_param}
                   AND generation_steps.node_id = moves.node_id
                   AND generation_steps.status = moves.from_status"
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for change in chunk {
                query = query
                    .bind(&change.node_id)
                    .bind(change.from.as_str())
                    .bind(change.to.as_str())
                    .bind(&change.execution_id)
                    .bind(&change.take_id)
                    .bind(&change.error);
            }
            query = query.bind(now).bind(revision).bind(generation_id);
            moved += query.execute(&mut **tx).await?.rows_affected() as usize;
        }
        Ok(moved)
    }
}

#[async_trait::async_trait]
impl GenerationStore for SqlStore {
    async fn create_generation(&self, spec: NewGeneration, first: StepChanges) -> Result<Advanced> {
        let mut tx = self.writer().begin().await?;
        let now = self.db_now(&mut *tx).await?;
        let id = new_id();
        sqlx::query(
            "INSERT INTO generations (id, project_id, status, revision, requested_by, created_at)
             VALUES ($1, $2, 'running', 1, $3, $4)",
        )
        .bind(&id)
        .bind(&spec.project_id)
        .bind(&spec.requested_by)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(crate::error::parent_missing("project", &spec.project_id))?;
        sqlx::query(
            "INSERT INTO generation_plans (generation_id, request, graph) VALUES ($1, $2, $3)",
        )
        .bind(&id)
        .bind(&spec.request)
        .bind(&spec.graph)
        .execute(&mut *tx)
        .await?;
        // The first pass is written with the steps: each starts where the pass left it.
        let mut events = vec![QueueEvent::GenerationChanged(id.clone())];
        let (queued, shared) = self
            .insert_pass_executions(&mut tx, now, &first, &mut events)
            .await?;
        let mut state: std::collections::HashMap<&str, StepMove> = first
            .moves
            .iter()
            .map(|m| (m.node_id.as_str(), m.clone()))
            .collect();
        for ((node, _), execution) in first.queue.iter().zip(&queued) {
            state.insert(node.as_str(), queued_move(node, execution));
        }
        let numbered: Vec<(i64, &(String, Vec<String>))> =
            (0i64..).zip(spec.steps.iter()).collect();
        for chunk in numbered.chunks(STEPS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO generation_steps (generation_id, node_id, position, upstream, status,
                     execution_id, take_id, error, updated_at, revision)
                 VALUES {}",
                Params::new(self.backend()).tuples(chunk.len(), 10)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (position, (node, upstream)) in chunk {
                let moved = state.get(node.as_str());
                query = query
                    .bind(&id)
                    .bind(node)
                    .bind(*position)
                    .bind(ids_json(upstream))
                    .bind(moved.map_or(StepStatus::Waiting, |m| m.to).as_str())
                    .bind(moved.and_then(|m| m.execution_id.clone()))
                    .bind(moved.and_then(|m| m.take_id.clone()))
                    .bind(moved.and_then(|m| m.error.clone()))
                    .bind(now)
                    .bind(1i64);
            }
            query.execute(&mut *tx).await?;
        }
        let done = spec
            .steps
            .iter()
            .all(|(node, _)| state.get(node.as_str()).is_some_and(|m| m.to.is_final()));
        if done {
            sqlx::query("UPDATE generations SET status = 'done', finished_at = $2 WHERE id = $1")
                .bind(&id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        self.commit_announcing(tx, events).await?;
        Ok(Advanced {
            generation_id: id,
            revision: 1,
            queued: first
                .queue
                .into_iter()
                .map(|(node, _)| node)
                .zip(queued)
                .collect(),
            shared,
            done,
        })
    }

    async fn generation(&self, id: &str) -> Result<Generation> {
        let row = self
            .generation_row(
                &format!(
                    "SELECT {GENERATION_COLUMNS} FROM generations g \
                     JOIN generation_plans p ON p.generation_id = g.id"
                ),
                id,
            )
            .await?;
        let steps = self.steps_of(id, 0).await?;
        Ok(Generation {
            id: row.try_get("id")?,
            project_id: row.try_get("project_id")?,
            status: generation_status(&row)?,
            request: row.try_get("request")?,
            graph: row.try_get("graph")?,
            requested_by: row.try_get("requested_by")?,
            steps,
            revision: row.try_get("revision")?,
            created_at: row.try_get("created_at")?,
            finished_at: row.try_get("finished_at")?,
        })
    }

    async fn generation_changes(&self, id: &str, after: i64) -> Result<GenerationChanges> {
        // The revision first: every move up to it has committed (movers of a generation
        // commit in revision order), so the steps read next include them all; a reader that
        // asks again from it misses nothing (and may see a newer step twice).
        let row = self
            .generation_row("SELECT g.status, g.revision FROM generations g", id)
            .await?;
        Ok(GenerationChanges {
            status: generation_status(&row)?,
            revision: row.try_get("revision")?,
            steps: self.steps_of(id, after).await?,
        })
    }

    async fn running_generations(&self) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT id FROM generations WHERE status = 'running' ORDER BY created_at, id",
        )
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| Ok(row.try_get::<String, _>("id")?))
            .collect()
    }

    async fn generations_awaiting(&self, execution_ids: &[String]) -> Result<Vec<String>> {
        let mut found = Vec::new();
        for chunk in execution_ids.chunks(STEPS_PER_STATEMENT) {
            let sql = format!(
                "SELECT DISTINCT generation_id FROM generation_steps
                 WHERE status = 'queued' AND execution_id IN ({})",
                Params::new(self.backend()).list(chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(self.reader()).await? {
                found.push(row.try_get::<String, _>("generation_id")?);
            }
        }
        found.sort_unstable();
        found.dedup();
        Ok(found)
    }

    async fn advance_generation(
        &self,
        generation_id: &str,
        expected_revision: i64,
        changes: StepChanges,
    ) -> Result<Advanced> {
        let mut tx = self.writer().begin().await?;
        let now = self.db_now(&mut *tx).await?;
        let (advanced, events) = self
            .apply_changes(&mut tx, generation_id, now, expected_revision, changes)
            .await?;
        self.commit_announcing(tx, events).await?;
        Ok(advanced)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_lists_read_back() {
        for ids in [
            vec![],
            vec!["a".to_string()],
            vec![
                "shot \"1\"".to_string(),
                "back\\slash".into(),
                "tab\t".into(),
            ],
        ] {
            assert_eq!(parse_ids(&ids_json(&ids)).unwrap(), ids);
        }
        assert!(parse_ids("[\"unterminated]").is_err());
        assert!(parse_ids("{}").is_err());
    }
}
