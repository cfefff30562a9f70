//! What the rest of the product asks of storage, split by area.

use std::collections::HashMap;
use std::time::Duration;

use crate::Result;
use crate::model::*;

/// Users, projects and members.
#[async_trait::async_trait]
pub trait ProjectStore: Send + Sync {
    /// Creates a user; the e-mail must be unique.
    async fn create_user(&self, name: &str, email: &str) -> Result<User>;
    /// The user with this e-mail, if any.
    async fn user_by_email(&self, email: &str) -> Result<Option<User>>;
    /// Creates a project owned (and joined) by `owner_id`.
    async fn create_project(&self, name: &str, owner_id: &str) -> Result<Project>;
    /// A project by id.
    async fn project(&self, id: &str) -> Result<Project>;
    /// Projects, most recently changed first.
    async fn list_projects(&self, page: Page) -> Result<Vec<Project>>;
    /// Adds a member or changes their role.
    async fn set_member(&self, project_id: &str, user_id: &str, role: Role) -> Result<()>;
    /// Members of a project.
    async fn members(&self, project_id: &str) -> Result<Vec<Member>>;
}

/// Versioned graph snapshots and the lease that says which server owns a live graph.
#[async_trait::async_trait]
pub trait GraphStore: Send + Sync {
    /// Saves a new version (the previous latest + 1) and returns it.
    async fn save_graph(
        &self,
        project_id: &str,
        snapshot: &str,
        author_id: Option<&str>,
        message: &str,
    ) -> Result<GraphVersion>;
    /// Saves a new version only if the latest is still `base_version` (0: none saved yet),
    /// the version the writer's change was made on; otherwise [`crate::StoreError::Conflict`]
    /// and nothing is written, so concurrent writers cannot overwrite each other unseen.
    async fn save_graph_on(
        &self,
        project_id: &str,
        base_version: i64,
        snapshot: &str,
        author_id: Option<&str>,
        message: &str,
    ) -> Result<GraphVersion>;
    /// The latest version, if any was saved.
    async fn latest_graph(&self, project_id: &str) -> Result<Option<GraphVersion>>;
    /// One version.
    async fn graph_version(&self, project_id: &str, version: i64) -> Result<GraphVersion>;
    /// Versions newest first, snapshots left empty.
    async fn graph_history(&self, project_id: &str, page: Page) -> Result<Vec<GraphVersion>>;
    /// Takes or renews the lease on a project's live graph; false when another holder has it.
    async fn acquire_graph_lease(
        &self,
        project_id: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool>;
    /// Gives the lease up (no-op when `holder` does not hold it).
    async fn release_graph_lease(&self, project_id: &str, holder: &str) -> Result<()>;
}

/// The asset library.
#[async_trait::async_trait]
pub trait AssetStore: Send + Sync {
    /// Adds an asset.
    async fn insert_asset(&self, asset: NewAsset) -> Result<Asset>;
    /// An asset by id.
    async fn asset(&self, id: &str) -> Result<Asset>;
    /// Assets of a project, optionally of one kind, by name.
    async fn list_assets(
        &self,
        project_id: &str,
        kind: Option<&str>,
        page: Page,
    ) -> Result<Vec<Asset>>;
    /// Changes an asset; every node referencing it sees the change.
    async fn update_asset(&self, id: &str, update: AssetUpdate) -> Result<Asset>;
    /// Deletes an asset record (the caller checks it is unused and removes the bytes).
    async fn delete_asset(&self, id: &str) -> Result<Asset>;
    /// How many assets keep their bytes or their thumbnail under `object_key`, in any project:
    /// objects are shared by content, so bytes may go only when this reaches zero.
    async fn assets_using_object(&self, object_key: &str) -> Result<u64>;
    /// Pins content keys for `ttl` before their bytes are checked or written, so no removal
    /// starts on them until the asset row that uses them is written; returns the pin's id.
    /// [`crate::StoreError::Conflict`] while a removal of one is under way (wait, then pin
    /// again: the bytes may be gone and must be written again).
    async fn pin_objects(&self, object_keys: &[String], ttl: std::time::Duration)
    -> Result<String>;
    /// Drops a pin before it runs out (an upload that failed, so its bytes can go at once).
    async fn unpin_objects(&self, pin_id: &str) -> Result<()>;
    /// Starts removing a key's bytes when no asset uses it and no upload has it pinned; false
    /// when it must stay. After deleting the bytes call [`Self::end_object_removal`].
    async fn begin_object_removal(&self, object_key: &str) -> Result<bool>;
    /// Ends a removal [`Self::begin_object_removal`] started (the bytes are gone).
    async fn end_object_removal(&self, object_key: &str) -> Result<()>;
}

/// The execution queue, takes and the result cache.
///
/// Workers anywhere (in-process or `mdc worker` on other machines) `claim` jobs with a lease,
/// renew it while they run, and `finish`. A worker that dies stops renewing; its job is
/// re-queued by `recover_expired`.
#[async_trait::async_trait]
pub trait ExecutionQueue: Send + Sync {
    /// Queues an execution. Work in flight is shared: when an execution with the same cache
    /// key is already queued or running, that one is returned instead of a new one.
    async fn enqueue(&self, execution: NewExecution) -> Result<Execution>;
    /// Queues several executions in one transaction, all or none, returning one execution per
    /// spec in order (shared with in-flight work of the same key, as [`Self::enqueue`]).
    async fn enqueue_many(&self, executions: Vec<NewExecution>) -> Result<Vec<Execution>>;
    /// Records an execution served from the cache: succeeded at once, marked reused.
    async fn record_reuse(&self, execution: NewExecution, take: &Take) -> Result<Execution>;
    /// Records several cache reuses in one transaction.
    async fn record_reuses(&self, executions: Vec<NewExecution>) -> Result<Vec<Execution>>;
    /// Takes the most urgent queued execution of these tiers whose component digest is one
    /// of `digests` (the worker runs exactly that component), if any, under a lease.
    async fn claim(
        &self,
        worker_id: &str,
        tiers: &[Tier],
        digests: &[String],
        lease: Duration,
    ) -> Result<Option<Execution>>;
    /// Takes up to `limit` of the most urgent queued executions of these tiers and digests,
    /// in queue order, under one lease: how a worker serving many short jobs keeps up.
    async fn claim_many(
        &self,
        worker_id: &str,
        tiers: &[Tier],
        digests: &[String],
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<Execution>>;
    /// Puts executions `worker_id` claimed but has not started back in the queue, as if
    /// never claimed (a worker shutting down); returns the ids it released.
    async fn release(&self, worker_id: &str, ids: &[String]) -> Result<Vec<String>>;
    /// The queue's events (new work, finished executions, changed generations) from now on,
    /// from every process on the database: subscribe before the change awaited.
    fn subscribe(&self) -> crate::Subscription;
    /// Extends the lease; returns the execution so the worker sees `cancel_requested`.
    async fn renew_lease(&self, id: &str, worker_id: &str, lease: Duration) -> Result<Execution>;
    /// Extends the leases of those of `ids` that `worker_id` still runs, and returns them
    /// (so it sees `cancel_requested`); ids it lost are simply absent.
    async fn renew_leases(
        &self,
        worker_id: &str,
        ids: &[String],
        lease: Duration,
    ) -> Result<Vec<Execution>>;
    /// Stores progress reported by the plugin.
    async fn report_progress(
        &self,
        id: &str,
        worker_id: &str,
        fraction: f64,
        message: &str,
    ) -> Result<()>;
    /// Ends a running execution; a success also stores the take and caches it.
    async fn finish(
        &self,
        id: &str,
        worker_id: &str,
        outcome: Outcome,
    ) -> Result<(Execution, Option<Take>)>;
    /// Ends several running executions in one transaction. Each entry gets its own result:
    /// one whose lease was lost is a conflict and does not stop the others.
    async fn finish_many(
        &self,
        worker_id: &str,
        outcomes: Vec<(String, Outcome)>,
    ) -> Result<Vec<Result<(Execution, Option<Take>)>>>;
    /// Cancels: a queued execution ends at once, a running one is flagged for its worker.
    async fn cancel(&self, id: &str) -> Result<Execution>;
    /// Changes the priority of a queued execution.
    async fn set_priority(&self, id: &str, priority: i64) -> Result<Execution>;
    /// 1-based position in its tier's queue, or `None` when not queued.
    async fn queue_position(&self, id: &str) -> Result<Option<u64>>;
    /// An execution by id.
    async fn execution(&self, id: &str) -> Result<Execution>;
    /// Several executions by id (unknown ids are absent), in no particular order.
    async fn executions(&self, ids: &[String]) -> Result<Vec<Execution>>;
    /// Executions of a node, newest first.
    async fn node_executions(
        &self,
        project_id: &str,
        node_id: &str,
        page: Page,
    ) -> Result<Vec<Execution>>;
    /// Re-queues running executions whose lease expired, failing those that used up
    /// `max_attempts`, so nothing stays "running" forever after a crash.
    async fn recover_expired(&self, max_attempts: i64) -> Result<Recovery>;
    /// The outcome of each execution (ids without an execution are absent): one lean read
    /// for following many executions, without their requests or their takes' outputs.
    async fn outcomes(&self, ids: &[String]) -> Result<Vec<ExecutionOutcome>>;
    /// Takes of a node, newest first.
    async fn takes(&self, project_id: &str, node_id: &str) -> Result<Vec<Take>>;
    /// A take by id.
    async fn take(&self, id: &str) -> Result<Take>;
    /// Takes by id, by id (ids without a take are absent).
    async fn takes_by_id(&self, ids: &[String]) -> Result<HashMap<String, Take>>;
    /// A project's takes in id order, those after `after` (`None`: from the first), at most
    /// `limit` (up to [`Page::MAX_LIMIT`]): for walking every take, as garbage collection does.
    async fn project_takes(
        &self,
        project_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Take>>;
    /// The take cached under a key, if any.
    async fn cached_take(&self, cache_key: &str) -> Result<Option<Take>>;
    /// The takes cached under these keys, by key (keys without a take are absent).
    async fn cached_takes(&self, cache_keys: &[String]) -> Result<HashMap<String, Take>>;
    /// Executions, reuses, failures, wall time and cost of a project, per tier.
    async fn tier_usage(&self, project_id: &str) -> Result<Vec<TierUsage>>;
}

/// Passwords, sessions and API tokens of users.
///
/// Secrets (session and token) are 32 bytes from the operating system's random source, given
/// to the caller once and stored only as their SHA-256. A secret that is unknown, expired or
/// revoked is [`StoreError::NotFound`](crate::StoreError::NotFound), whichever it is, so a
/// caller learns nothing about secrets it does not hold.
#[async_trait::async_trait]
pub trait AccountStore: Send + Sync {
    /// Sets (Argon2id, PHC string) or, with `None`, removes a user's password.
    async fn set_password(&self, user_id: &str, password: Option<&str>) -> Result<()>;
    /// The user with this e-mail when `password` is theirs; NotFound ("credentials") when the
    /// e-mail is unknown, the user has no password or the password is wrong.
    async fn check_password(&self, email: &str, password: &str) -> Result<User>;
    /// Starts a session of `user_id` that ends after `ttl`.
    async fn create_session(&self, user_id: &str, ttl: Duration) -> Result<IssuedSession>;
    /// The live session with this secret and its user.
    async fn session_by_secret(&self, secret: &str) -> Result<(Session, User)>;
    /// Ends the session with this secret (signing out); NotFound when there is none live.
    async fn revoke_session(&self, secret: &str) -> Result<()>;
    /// Ends every session of a user (signing out everywhere); returns how many ended.
    async fn revoke_sessions(&self, user_id: &str) -> Result<u64>;
    /// Creates a named API token of `user_id`.
    async fn create_api_token(&self, user_id: &str, name: &str) -> Result<IssuedToken>;
    /// The user's tokens, revoked ones included, newest first.
    async fn api_tokens(&self, user_id: &str) -> Result<Vec<ApiToken>>;
    /// The live token with this secret and its user; records the use.
    async fn token_by_secret(&self, secret: &str) -> Result<(ApiToken, User)>;
    /// Revokes one of the user's tokens; another user's token id is NotFound.
    async fn revoke_api_token(&self, user_id: &str, token_id: &str) -> Result<ApiToken>;
}

/// Generations: the steps of a Generate, kept in the store so they complete without the
/// caller and survive a restart. Whoever advances them (any server's driver) moves steps
/// with compare-and-set, so two drivers never move one step twice.
#[async_trait::async_trait]
pub trait GenerationStore: Send + Sync {
    /// Stores a generation, all steps waiting, and applies its first pass (what the cache and
    /// chosen takes serve, what is queued at once) in the same transaction.
    async fn create_generation(
        &self,
        generation: NewGeneration,
        first: StepChanges,
    ) -> Result<Advanced>;
    /// A generation with all its steps.
    async fn generation(&self, id: &str) -> Result<Generation>;
    /// The steps of a generation moved after revision `after` (0: all of them): a reader
    /// that keeps the revision it last saw reads what changed, not every step.
    async fn generation_changes(&self, id: &str, after: i64) -> Result<GenerationChanges>;
    /// Ids of generations not done yet, oldest first.
    async fn running_generations(&self) -> Result<Vec<String>>;
    /// Ids of running generations with a queued step served by one of these executions.
    async fn generations_awaiting(&self, execution_ids: &[String]) -> Result<Vec<String>>;
    /// Applies one pass's changes in one transaction — executions queued and reuses recorded
    /// with the steps that wait for them, so no worker can finish an execution before its
    /// step says it is queued — marks the generation done when every step is final, and
    /// announces it. The generation must still be at `expected_revision` and every move must
    /// apply, else [`crate::StoreError::Conflict`] and nothing changes: another server moved
    /// it; read it again.
    async fn advance_generation(
        &self,
        generation_id: &str,
        expected_revision: i64,
        changes: StepChanges,
    ) -> Result<Advanced>;
}

/// Everything the product stores.
pub trait Store:
    ProjectStore + AccountStore + GraphStore + AssetStore + ExecutionQueue + GenerationStore
{
}

impl<T> Store for T where
    T: ProjectStore + AccountStore + GraphStore + AssetStore + ExecutionQueue + GenerationStore
{
}
