//! Records the store keeps, as plain data.

/// A person who can own or join projects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Opaque id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Unique e-mail address.
    pub email: String,
    /// Creation time (Unix ms).
    pub created_at: i64,
}

/// What a member may do in a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Full control.
    Owner,
    /// Edits the graph and generates.
    Editor,
    /// Reads only.
    Viewer,
}

impl Role {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Role> {
        [Role::Owner, Role::Editor, Role::Viewer]
            .into_iter()
            .find(|role| role.as_str() == text)
    }
}

/// A production: one graph, its assets and executions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// Opaque id.
    pub id: String,
    /// Name shown to users.
    pub name: String,
    /// The owning user.
    pub owner_id: String,
    /// Creation time (Unix ms).
    pub created_at: i64,
    /// Last change (Unix ms).
    pub updated_at: i64,
}

/// A member of a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The user.
    pub user_id: String,
    /// Their role.
    pub role: Role,
}

/// A window of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Records to skip.
    pub offset: u32,
    /// Records to return (at most [`Page::MAX_LIMIT`]).
    pub limit: u32,
}

impl Page {
    /// Largest page the store returns.
    pub const MAX_LIMIT: u32 = 500;

    /// The first `limit` records.
    pub fn first(limit: u32) -> Page {
        Page { offset: 0, limit }
    }

    pub(crate) fn sql_limit(self) -> i64 {
        i64::from(self.limit.clamp(1, Page::MAX_LIMIT))
    }
}

impl Default for Page {
    fn default() -> Self {
        Page {
            offset: 0,
            limit: 50,
        }
    }
}

/// One saved version of a project's graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphVersion {
    /// The project.
    pub project_id: String,
    /// 1, 2, 3, … per project.
    pub version: i64,
    /// The full document (nodes, edges, viewport) as JSON.
    pub snapshot: String,
    /// Who saved it, if known.
    pub author_id: Option<String>,
    /// Why ("Break Down to Shots", "rollback to 4", …).
    pub message: String,
    /// When (Unix ms).
    pub created_at: i64,
}

/// An asset to add to the library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAsset {
    /// The project.
    pub project_id: String,
    /// `character`, `style`, `environment`, `image`, `output`, …
    pub kind: String,
    /// Human name.
    pub name: String,
    /// Media type of the stored bytes.
    pub mime: String,
    /// Size in bytes.
    pub size: i64,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// Key in the object store (never shown to users).
    pub object_key: String,
    /// Key of the thumbnail, if one was made.
    pub thumbnail_key: Option<String>,
    /// Kind-specific fields as JSON (traits, keywords, mood, …).
    pub fields: String,
}

/// An asset of the library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    /// Opaque id.
    pub id: String,
    /// Everything given at creation (updated since).
    pub data: NewAsset,
    /// Creation time (Unix ms).
    pub created_at: i64,
    /// Last change (Unix ms).
    pub updated_at: i64,
    /// Counts changes from 1: an update made on an older version is refused.
    pub version: i64,
}

/// Changes to an asset; `None` keeps a field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssetUpdate {
    /// New name.
    pub name: Option<String>,
    /// New fields JSON.
    pub fields: Option<String>,
    /// New bytes: (mime, size, sha256, object key, thumbnail key).
    pub content: Option<(String, i64, String, String, Option<String>)>,
    /// The version this change was made on: when the asset changed since, the update is
    /// refused ([`crate::StoreError::Conflict`]) instead of overwriting that change.
    pub expected_version: Option<i64>,
}

/// Quality tier of an execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    /// Draft, CPU.
    Low,
    /// Production.
    Standard,
    /// Premium.
    High,
}

impl Tier {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Low => "low",
            Tier::Standard => "standard",
            Tier::High => "high",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Tier> {
        [Tier::Low, Tier::Standard, Tier::High]
            .into_iter()
            .find(|tier| tier.as_str() == text)
    }
}

/// Where an execution is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExecutionStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker holds its lease.
    Running,
    /// Finished with a take.
    Succeeded,
    /// Finished with an error.
    Failed,
    /// Cancelled by a user.
    Cancelled,
}

impl ExecutionStatus {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Queued => "queued",
            ExecutionStatus::Running => "running",
            ExecutionStatus::Succeeded => "succeeded",
            ExecutionStatus::Failed => "failed",
            ExecutionStatus::Cancelled => "cancelled",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<ExecutionStatus> {
        use ExecutionStatus::*;
        [Queued, Running, Succeeded, Failed, Cancelled]
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    /// Whether the execution is over.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ExecutionStatus::Succeeded | ExecutionStatus::Failed | ExecutionStatus::Cancelled
        )
    }
}

/// An execution to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewExecution {
    /// The project.
    pub project_id: String,
    /// The graph node to execute.
    pub node_id: String,
    /// Plugin type id.
    pub plugin_type: String,
    /// Plugin version.
    pub plugin_version: String,
    /// SHA-256 of the exact component that must run it: a worker claims only executions
    /// whose digest it has loaded, so the take is recorded under the key it was asked for.
    pub plugin_digest: String,
    /// Quality tier (selects the queue).
    pub tier: Tier,
    /// Higher runs first.
    pub priority: i64,
    /// The full request as JSON: parameters, input hashes, seed, plugin digest — the
    /// provenance that regenerates the take exactly.
    pub request: String,
    /// Key over (plugin digest, params, input hashes, tier, seed).
    pub cache_key: String,
    /// Who asked.
    pub requested_by: Option<String>,
}

/// An execution record.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    /// Opaque id.
    pub id: String,
    /// What was asked.
    pub spec: NewExecution,
    /// Where it is.
    pub status: ExecutionStatus,
    /// 0..=1.
    pub progress: f64,
    /// What the plugin is doing.
    pub progress_message: String,
    /// Why it failed or was cancelled.
    pub error: Option<String>,
    /// The worker holding the lease.
    pub worker_id: Option<String>,
    /// When the lease ends (Unix ms).
    pub lease_expires_at: Option<i64>,
    /// How many times a worker took it.
    pub attempts: i64,
    /// A user asked to cancel while it ran.
    pub cancel_requested: bool,
    /// Served from the result cache.
    pub reused: bool,
    /// Measured usage as JSON (time, peak memory, cost).
    pub usage: String,
    /// Queued at (Unix ms).
    pub enqueued_at: i64,
    /// Started at (Unix ms).
    pub started_at: Option<i64>,
    /// Finished at (Unix ms).
    pub finished_at: Option<i64>,
}

/// What became of an execution, as a generation needs it: its status, its error, and the
/// take its result is cached as (a succeeded execution's own, or the one it shares).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionOutcome {
    /// The execution.
    pub id: String,
    /// Its status.
    pub status: ExecutionStatus,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// The take cached under its cache key, if any.
    pub take_id: Option<String>,
}

/// How a worker finished an execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Outputs (JSON) become a take, cached under the execution's key.
    Succeeded {
        /// Output values as JSON.
        outputs: String,
        /// Measured usage as JSON.
        usage: String,
    },
    /// The error to show.
    Failed {
        /// What went wrong.
        error: String,
        /// Measured usage as JSON.
        usage: String,
    },
    /// The plugin stopped after a cancel.
    Cancelled,
}

/// A generated result on a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Take {
    /// Opaque id.
    pub id: String,
    /// The execution that made it.
    pub execution_id: String,
    /// The project.
    pub project_id: String,
    /// The node.
    pub node_id: String,
    /// Output values as JSON (assets by id).
    pub outputs: String,
    /// The request that made it (copied from the execution).
    pub provenance: String,
    /// When (Unix ms).
    pub created_at: i64,
}

/// What a project spent on one tier ([`crate::ExecutionQueue::tier_usage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierUsage {
    /// The tier.
    pub tier: Tier,
    /// Executions that ran (succeeded, failed or cancelled after starting).
    pub runs: i64,
    /// Executions served from the result cache (free).
    pub reused: i64,
    /// Executions that failed.
    pub failed: i64,
    /// Wall time of the runs, in milliseconds.
    pub wall_ms: i64,
    /// Cost of the runs in thousandths of a currency unit (the tier's estimate per run,
    /// recorded in each execution's usage as `cost_milli`).
    pub cost_milli: i64,
}

/// What [`crate::ExecutionQueue::recover_expired`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Executions put back in the queue.
    pub requeued: Vec<String>,
    /// Executions failed after too many attempts.
    pub failed: Vec<String>,
}

/// A signed-in browser: the server keeps this record, the browser keeps the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Opaque id (safe to show and log, unlike the secret).
    pub id: String,
    /// Whose session it is.
    pub user_id: String,
    /// Creation time (Unix ms).
    pub created_at: i64,
    /// After this time (Unix ms) the session no longer signs anyone in.
    pub expires_at: i64,
}

/// A session just created, with its secret: the only time the secret is available.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedSession {
    /// The stored record.
    pub session: Session,
    /// What the caller hands to the browser (`mdcs_` + 64 hex digits); stored only as a hash.
    pub secret: String,
}

/// A named API token of a user, for scripts and remote workers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Opaque id.
    pub id: String,
    /// Whose token it is.
    pub user_id: String,
    /// The name the user gave it ("render farm", "CI").
    pub name: String,
    /// Creation time (Unix ms).
    pub created_at: i64,
    /// When it last authenticated a request (Unix ms), if ever.
    pub last_used_at: Option<i64>,
    /// When it was revoked (Unix ms); a revoked token authenticates nothing.
    pub revoked_at: Option<i64>,
}

/// An API token just created, with its secret: the only time the secret is available.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The stored record.
    pub token: ApiToken,
    /// What the user copies (`mdc_` + 64 hex digits, recognisable when it leaks); stored only
    /// as a hash.
    pub secret: String,
}

/// Where a generation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GenerationStatus {
    /// Steps remain to be brought up to date.
    Running,
    /// Every step is final.
    Done,
}

impl GenerationStatus {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            GenerationStatus::Running => "running",
            GenerationStatus::Done => "done",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<GenerationStatus> {
        [GenerationStatus::Running, GenerationStatus::Done]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// Where one step (node) of a generation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepStatus {
    /// Waiting for the steps it takes inputs from.
    Waiting,
    /// Its execution is queued or running (perhaps shared with another generation).
    Queued,
    /// Served by an existing take (the result cache, or the take chosen on the node).
    Reused,
    /// Its execution produced a take.
    Succeeded,
    /// It failed, or could not run.
    Failed,
    /// Not run because a step it depends on did not succeed.
    Skipped,
}

impl StepStatus {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Waiting => "waiting",
            StepStatus::Queued => "queued",
            StepStatus::Reused => "reused",
            StepStatus::Succeeded => "succeeded",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<StepStatus> {
        use StepStatus::*;
        [Waiting, Queued, Reused, Succeeded, Failed, Skipped]
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    /// Whether the step is over.
    pub fn is_final(self) -> bool {
        !matches!(self, StepStatus::Waiting | StepStatus::Queued)
    }

    /// Whether the step has a take its dependents can use.
    pub fn has_take(self) -> bool {
        matches!(self, StepStatus::Reused | StepStatus::Succeeded)
    }
}

/// A generation to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGeneration {
    /// The project.
    pub project_id: String,
    /// What was asked (tier, seed, targets) as JSON, for whoever advances it.
    pub request: String,
    /// The part of the graph the plan touches, as JSON, as it was when asked.
    pub graph: String,
    /// Who asked.
    pub requested_by: Option<String>,
    /// Its steps in plan order, each with the nodes it takes inputs from.
    pub steps: Vec<(String, Vec<String>)>,
}

/// One step of a stored generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerationStep {
    /// The node.
    pub node_id: String,
    /// Place in plan order (0-based).
    pub position: i64,
    /// The steps whose outputs it takes.
    pub upstream: Vec<String>,
    /// Where it is.
    pub status: StepStatus,
    /// The execution serving it, once queued.
    pub execution_id: Option<String>,
    /// The take it ended with (reused or generated).
    pub take_id: Option<String>,
    /// Why it failed or was skipped.
    pub error: Option<String>,
}

/// A stored generation with its steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    /// Opaque id.
    pub id: String,
    /// The project.
    pub project_id: String,
    /// Where it is.
    pub status: GenerationStatus,
    /// What was asked, as JSON.
    pub request: String,
    /// The planned part of the graph, as JSON.
    pub graph: String,
    /// Who asked.
    pub requested_by: Option<String>,
    /// Steps in plan order.
    pub steps: Vec<GenerationStep>,
    /// How many times steps were moved: read the changes after it to catch up.
    pub revision: i64,
    /// Created at (Unix ms, database clock).
    pub created_at: i64,
    /// Done at (Unix ms, database clock).
    pub finished_at: Option<i64>,
}

/// What changed in a generation since a revision
/// ([`crate::GenerationStore::generation_changes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerationChanges {
    /// Where the generation is.
    pub status: GenerationStatus,
    /// The revision these changes bring the reader to.
    pub revision: i64,
    /// Steps moved after the revision asked for, in plan order.
    pub steps: Vec<GenerationStep>,
}

/// What one pass over a generation changes, applied in one transaction
/// ([`crate::GenerationStore::advance_generation`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepChanges {
    /// Steps to move (each only if it still has its `from` status).
    pub moves: Vec<StepMove>,
    /// Waiting steps to queue, by node, each with its execution (the one in flight for the
    /// same cache key is shared instead of queueing another).
    pub queue: Vec<(String, NewExecution)>,
    /// Executions served by the result cache, recorded as reused.
    pub reuses: Vec<NewExecution>,
}

impl StepChanges {
    /// Whether there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.moves.is_empty() && self.queue.is_empty() && self.reuses.is_empty()
    }
}

/// What applying [`StepChanges`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Advanced {
    /// The generation.
    pub generation_id: String,
    /// Its revision now (the next pass expects it).
    pub revision: i64,
    /// The steps queued, by node, with the execution serving each.
    pub queued: Vec<(String, Execution)>,
    /// Ids of executions among those that were already in flight for other work (shared by
    /// cache key): one may have finished before this was committed.
    pub shared: Vec<String>,
    /// Whether every step is final now (the generation is done).
    pub done: bool,
}

/// A step's move from one status to another ([`crate::GenerationStore::move_steps`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepMove {
    /// The node.
    pub node_id: String,
    /// The status it must still have: the move is skipped when another process moved it.
    pub from: StepStatus,
    /// The new status.
    pub to: StepStatus,
    /// The execution serving it.
    pub execution_id: Option<String>,
    /// The take it ended with.
    pub take_id: Option<String>,
    /// Why it failed or was skipped.
    pub error: Option<String>,
}
