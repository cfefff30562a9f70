//! Reading records out of rows, the same way for both dialects.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::model::*;
use crate::{Result, StoreError};

/// Reads a boolean stored as BOOLEAN (PostgreSQL) or INTEGER (SQLite).
pub fn get_bool(row: &AnyRow, column: &str) -> Result<bool> {
    match row.try_get::<bool, _>(column) {
        Ok(value) => Ok(value),
        Err(_) => Ok(row.try_get::<i64, _>(column)? != 0),
    }
}

/// Columns of `users` in the order [`user`] reads them.
pub const USER_COLUMNS: &str = "id, name, email, created_at";

/// A `users` row.
pub fn user(row: &AnyRow) -> Result<User> {
    Ok(User {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Columns of `projects` in the order [`project`] reads them.
pub const PROJECT_COLUMNS: &str = "id, name, owner_id, created_at, updated_at";

/// A `projects` row.
pub fn project(row: &AnyRow) -> Result<Project> {
    Ok(Project {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        owner_id: row.try_get("owner_id")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Columns of `assets`.
pub const ASSET_COLUMNS: &str = "id, project_id, kind, name, mime, size, sha256, object_key, thumbnail_key, fields, created_at, updated_at, version";

/// An `assets` row.
pub fn asset(row: &AnyRow) -> Result<Asset> {
    Ok(Asset {
        id: row.try_get("id")?,
        data: NewAsset {
            project_id: row.try_get("project_id")?,
            kind: row.try_get("kind")?,
            name: row.try_get("name")?,
            mime: row.try_get("mime")?,
            size: row.try_get("size")?,
            sha256: row.try_get("sha256")?,
            object_key: row.try_get("object_key")?,
            thumbnail_key: row.try_get("thumbnail_key")?,
            fields: row.try_get("fields")?,
        },
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        version: row.try_get("version")?,
    })
}

/// Columns of `graph_states` without the snapshot.
pub const GRAPH_INFO_COLUMNS: &str = "project_id, version, author_id, message, created_at";

/// A `graph_states` row; `snapshot` is empty when the column was not selected.
pub fn graph_version(row: &AnyRow) -> Result<GraphVersion> {
    Ok(GraphVersion {
        project_id: row.try_get("project_id")?,
        version: row.try_get("version")?,
        snapshot: row.try_get("snapshot").unwrap_or_default(),
        author_id: row.try_get("author_id")?,
        message: row.try_get("message")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Columns of `node_executions`.
pub const EXECUTION_COLUMNS: &str = "id, project_id, node_id, plugin_type, plugin_version, plugin_digest, tier, priority, \
     status, request, cache_key, requested_by, progress, progress_message, error, worker_id, lease_expires_at, \
     attempts, cancel_requested, reused, usage, enqueued_at, started_at, finished_at";

/// The `status` column of a `node_executions` row.
pub fn execution_status(row: &AnyRow) -> Result<ExecutionStatus> {
    let status: String = row.try_get("status")?;
    ExecutionStatus::parse(&status)
        .ok_or_else(|| StoreError::Database(format!("unknown execution status {status:?}")))
}

/// A `node_executions` row.
pub fn execution(row: &AnyRow) -> Result<Execution> {
    let tier: String = row.try_get("tier")?;
    Ok(Execution {
        id: row.try_get("id")?,
        spec: NewExecution {
            project_id: row.try_get("project_id")?,
            node_id: row.try_get("node_id")?,
            plugin_type: row.try_get("plugin_type")?,
            plugin_version: row.try_get("plugin_version")?,
            plugin_digest: row.try_get("plugin_digest")?,
            tier: Tier::parse(&tier)
                .ok_or_else(|| StoreError::Database(format!("unknown tier {tier:?}")))?,
            priority: row.try_get("priority")?,
            request: row.try_get("request")?,
            cache_key: row.try_get("cache_key")?,
            requested_by: row.try_get("requested_by")?,
        },
        status: execution_status(row)?,
        progress: row.try_get("progress")?,
        progress_message: row.try_get("progress_message")?,
        error: row.try_get("error")?,
        worker_id: row.try_get("worker_id")?,
        lease_expires_at: row.try_get("lease_expires_at")?,
        attempts: row.try_get("attempts")?,
        cancel_requested: get_bool(row, "cancel_requested")?,
        reused: get_bool(row, "reused")?,
        usage: row.try_get("usage")?,
        enqueued_at: row.try_get("enqueued_at")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

/// Columns of `takes`.
pub const TAKE_COLUMNS: &str =
    "id, execution_id, project_id, node_id, outputs, provenance, created_at";

/// A `takes` row.
pub fn take(row: &AnyRow) -> Result<Take> {
    Ok(Take {
        id: row.try_get("id")?,
        execution_id: row.try_get("execution_id")?,
        project_id: row.try_get("project_id")?,
        node_id: row.try_get("node_id")?,
        outputs: row.try_get("outputs")?,
        provenance: row.try_get("provenance")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Turns "no row" into a precise not-found error.
pub fn found<T>(value: Option<T>, what: &'static str, id: &str) -> Result<T> {
    value.ok_or_else(|| StoreError::NotFound {
        what,
        id: id.to_string(),
    })
}
