//! [`ProjectScope`]: the store as one project sees it.
//!
//! Rows found by id (an asset, a take, an execution, a generation) are checked against the
//! project before anything is returned or changed, and a row of another project is reported
//! as not found — exactly as if the id did not exist, so ids cannot be probed. A request
//! handler that holds a scope cannot reach another project's rows by forgetting a check.

use std::sync::Arc;

use crate::model::*;
use crate::traits::Store;
use crate::{Result, StoreError};

/// The store bound to one project; see the module documentation.
#[derive(Clone)]
pub struct ProjectScope {
    store: Arc<dyn Store>,
    project_id: String,
}

impl std::fmt::Debug for ProjectScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProjectScope")
            .field("project_id", &self.project_id)
            .finish_non_exhaustive()
    }
}

/// Not found, in the words of `what` and `id`.
fn not_found(what: &'static str, id: &str) -> StoreError {
    StoreError::NotFound {
        what,
        id: id.to_string(),
    }
}

impl ProjectScope {
    /// The scope of a project that exists.
    pub async fn open(store: Arc<dyn Store>, project_id: &str) -> Result<ProjectScope> {
        store.project(project_id).await?;
        Ok(ProjectScope {
            store,
            project_id: project_id.to_string(),
        })
    }

    /// The scope of the project a claimed execution belongs to: the row names its project, so
    /// nothing is read. For a worker, which acts for that project alone while it runs it.
    pub fn of_execution(store: Arc<dyn Store>, execution: &Execution) -> ProjectScope {
        ProjectScope {
            store,
            project_id: execution.spec.project_id.clone(),
        }
    }

    /// The scope of a project for one of its members, with their role; a project the user is
    /// not a member of is not found.
    pub async fn for_member(
        store: Arc<dyn Store>,
        project_id: &str,
        user_id: &str,
    ) -> Result<(ProjectScope, Role)> {
        let members = match store.members(project_id).await {
            Err(StoreError::NotFound { .. }) => Vec::new(),
            other => other?,
        };
        let role = members
            .iter()
            .find(|m| m.user_id == user_id)
            .map(|m| m.role)
            .ok_or_else(|| not_found("project", project_id))?;
        Ok((
            ProjectScope {
                store,
                project_id: project_id.to_string(),
            },
            role,
        ))
    }

    /// The project's id.
    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    /// The project.
    pub async fn project(&self) -> Result<Project> {
        self.store.project(&self.project_id).await
    }

    /// `found` when it belongs to this project, else not found as `what`.
    fn mine<T>(&self, found: T, project_of: &str, what: &'static str, id: &str) -> Result<T> {
        if project_of == self.project_id {
            Ok(found)
        } else {
            Err(not_found(what, id))
        }
    }

    /// An asset of this project.
    pub async fn asset(&self, id: &str) -> Result<Asset> {
        let asset = self.store.asset(id).await?;
        let project = asset.data.project_id.clone();
        self.mine(asset, &project, "asset", id)
    }

    /// Assets of this project, optionally of one kind, by name.
    pub async fn assets(&self, kind: Option<&str>, page: Page) -> Result<Vec<Asset>> {
        self.store.list_assets(&self.project_id, kind, page).await
    }

    /// Adds an asset to this project (whatever project `asset` names).
    pub async fn insert_asset(&self, mut asset: NewAsset) -> Result<Asset> {
        asset.project_id = self.project_id.clone();
        self.store.insert_asset(asset).await
    }

    /// Changes an asset of this project.
    pub async fn update_asset(&self, id: &str, update: AssetUpdate) -> Result<Asset> {
        self.asset(id).await?;
        self.store.update_asset(id, update).await
    }

    /// Deletes an asset record of this project.
    pub async fn delete_asset(&self, id: &str) -> Result<Asset> {
        self.asset(id).await?;
        self.store.delete_asset(id).await
    }

    /// A take of this project.
    pub async fn take(&self, id: &str) -> Result<Take> {
        let take = self.store.take(id).await?;
        let project = take.project_id.clone();
        self.mine(take, &project, "take", id)
    }

    /// Takes of a node of this project, newest first.
    pub async fn takes(&self, node_id: &str) -> Result<Vec<Take>> {
        self.store.takes(&self.project_id, node_id).await
    }

    /// An execution of this project.
    pub async fn execution(&self, id: &str) -> Result<Execution> {
        let execution = self.store.execution(id).await?;
        let project = execution.spec.project_id.clone();
        self.mine(execution, &project, "execution", id)
    }

    /// Executions of a node of this project, newest first.
    pub async fn node_executions(&self, node_id: &str, page: Page) -> Result<Vec<Execution>> {
        self.store
            .node_executions(&self.project_id, node_id, page)
            .await
    }

    /// Cancels an execution of this project.
    pub async fn cancel(&self, id: &str) -> Result<Execution> {
        self.execution(id).await?;
        self.store.cancel(id).await
    }

    /// Changes the priority of an execution of this project.
    pub async fn set_priority(&self, id: &str, priority: i64) -> Result<Execution> {
        self.execution(id).await?;
        self.store.set_priority(id, priority).await
    }

    /// A generation of this project.
    pub async fn generation(&self, id: &str) -> Result<Generation> {
        let generation = self.store.generation(id).await?;
        let project = generation.project_id.clone();
        self.mine(generation, &project, "generation", id)
    }

    /// Saves the next version of this project's graph, made on `base_version` (see
    /// [`crate::GraphStore::save_graph_on`]).
    pub async fn save_graph(
        &self,
        base_version: i64,
        snapshot: &str,
        author_id: Option<&str>,
        message: &str,
    ) -> Result<GraphVersion> {
        self.store
            .save_graph_on(&self.project_id, base_version, snapshot, author_id, message)
            .await
    }

    /// The latest version of this project's graph, if any was saved.
    pub async fn latest_graph(&self) -> Result<Option<GraphVersion>> {
        self.store.latest_graph(&self.project_id).await
    }

    /// One version of this project's graph.
    pub async fn graph_version(&self, version: i64) -> Result<GraphVersion> {
        self.store.graph_version(&self.project_id, version).await
    }

    /// Versions of this project's graph, newest first, snapshots left empty.
    pub async fn graph_history(&self, page: Page) -> Result<Vec<GraphVersion>> {
        self.store.graph_history(&self.project_id, page).await
    }

    /// Executions, reuses, failures, wall time and cost of this project, per tier.
    pub async fn tier_usage(&self) -> Result<Vec<TierUsage>> {
        self.store.tier_usage(&self.project_id).await
    }
}
