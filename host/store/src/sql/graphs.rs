//! Graph versions and the live-graph lease.

use std::time::Duration;

use super::rows::{GRAPH_INFO_COLUMNS, found, graph_version};
use super::{Backend, SqlStore};
use crate::model::*;
use crate::traits::GraphStore;
use crate::{Result, StoreError};

impl SqlStore {
    /// Inserts the next version of a project's graph; with `base`, only if the latest version
    /// is still `base` (0: none).
    async fn insert_graph_version(
        &self,
        project_id: &str,
        base: Option<i64>,
        snapshot: &str,
        author_id: Option<&str>,
        message: &str,
    ) -> Result<GraphVersion> {
        let now = self.local_now();
        let mut tx = self.writer().begin().await?;
        if self.backend() == Backend::Postgres {
            // Two saves of one project must not pick the same version number.
            sqlx::query("SELECT id FROM projects WHERE id = $1 FOR UPDATE")
                .bind(project_id)
                .execute(&mut *tx)
                .await?;
        }
        let row = sqlx::query(
            "INSERT INTO graph_states (project_id, version, snapshot, author_id, message, created_at)
             SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4, $5 FROM graph_states WHERE project_id = $1
             HAVING $6 IS NULL OR COALESCE(MAX(version), 0) = $6
             RETURNING project_id, version, snapshot, author_id, message, created_at",
        )
        .bind(project_id)
        .bind(snapshot)
        .bind(author_id)
        .bind(message)
        .bind(now)
        .bind(base)
        .fetch_optional(&mut *tx)
        .await
        .map_err(crate::error::parent_missing("project", project_id))?;
        let Some(row) = row else {
            let latest: Option<i64> =
                sqlx::query_scalar("SELECT MAX(version) FROM graph_states WHERE project_id = $1")
                    .bind(project_id)
                    .fetch_one(&mut *tx)
                    .await?;
            return Err(StoreError::Conflict(format!(
                "the graph was saved as version {} since version {} this change was made on",
                latest.unwrap_or(0),
                base.unwrap_or(0)
            )));
        };
        sqlx::query("UPDATE projects SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(project_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        graph_version(&row)
    }
}

#[async_trait::async_trait]
impl GraphStore for SqlStore {
    async fn save_graph(
        &self,
        project_id: &str,
        snapshot: &str,
        author_id: Option<&str>,
        message: &str,
    ) -> Result<GraphVersion> {
        self.insert_graph_version(project_id, None, snapshot, author_id, message)
            .await
    }

    async fn save_graph_on(
        &self,
        project_id: &str,
        base_version: i64,
        snapshot: &str,
        author_id: Option<&str>,
        message: &str,
    ) -> Result<GraphVersion> {
        self.insert_graph_version(project_id, Some(base_version), snapshot, author_id, message)
            .await
    }

    async fn latest_graph(&self, project_id: &str) -> Result<Option<GraphVersion>> {
        let row = sqlx::query(sql!(
            "SELECT {GRAPH_INFO_COLUMNS}, snapshot FROM graph_states WHERE project_id = $1 ORDER BY version DESC LIMIT 1"
        ))
        .bind(project_id)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(graph_version).transpose()
    }

    async fn graph_version(&self, project_id: &str, version: i64) -> Result<GraphVersion> {
        let row = sqlx::query(sql!(
            "SELECT {GRAPH_INFO_COLUMNS}, snapshot FROM graph_states WHERE project_id = $1 AND version = $2"
        ))
        .bind(project_id)
        .bind(version)
        .fetch_optional(self.reader())
        .await?;
        graph_version(&found(
            row,
            "graph version",
            &format!("{project_id}@{version}"),
        )?)
    }

    async fn graph_history(&self, project_id: &str, page: Page) -> Result<Vec<GraphVersion>> {
        let rows = sqlx::query(sql!(
            "SELECT {GRAPH_INFO_COLUMNS} FROM graph_states WHERE project_id = $1 ORDER BY version DESC LIMIT $2 OFFSET $3"
        ))
        .bind(project_id)
        .bind(page.sql_limit())
        .bind(i64::from(page.offset))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(graph_version).collect()
    }

    async fn acquire_graph_lease(
        &self,
        project_id: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool> {
        // The database's clock: holders on machines whose clocks disagree still take turns.
        let now = self.db_now(self.reader()).await?;
        let expires = now + ttl.as_millis() as i64;
        let result = sqlx::query(
            "INSERT INTO graph_sessions (project_id, holder, lease_expires_at, acquired_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (project_id) DO UPDATE SET holder = excluded.holder,
                 lease_expires_at = excluded.lease_expires_at,
                 acquired_at = CASE WHEN graph_sessions.holder = excluded.holder
                                    THEN graph_sessions.acquired_at ELSE excluded.acquired_at END
             WHERE graph_sessions.holder = excluded.holder OR graph_sessions.lease_expires_at < $4",
        )
        .bind(project_id)
        .bind(holder)
        .bind(expires)
        .bind(now)
        .execute(self.writer())
        .await
        .map_err(crate::error::parent_missing("project", project_id))?;
        Ok(result.rows_affected() == 1)
    }

    async fn release_graph_lease(&self, project_id: &str, holder: &str) -> Result<()> {
        sqlx::query("DELETE FROM graph_sessions WHERE project_id = $1 AND holder = $2")
            .bind(project_id)
            .bind(holder)
            .execute(self.writer())
            .await?;
        Ok(())
    }
}
