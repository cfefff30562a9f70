//! # mdc-store — storage of Movie Director Canvas
//!
//! Users with their passwords, sessions and API tokens, projects and their members, versioned graph snapshots, the per-graph session lease, the asset
//! library, the execution queue with leases, takes and the result cache.
//!
//! One set of traits ([`ProjectStore`], [`AccountStore`], [`GraphStore`], [`AssetStore`],
//! [`ExecutionQueue`], [`GenerationStore`], together [`Store`]), the project-bound view every
//! request goes through ([`ProjectScope`]), and one SQL implementation, [`SqlStore`], that speaks two dialects:
//! SQLite (the embedded default, one file, no set-up) and PostgreSQL (`DATABASE_URL`, for
//! several servers and `mdc worker` processes coordinating through row locks and leases).
//! The same conformance suite (`tests/conformance/`) runs against both.
//!
//! Invariants:
//! - Every multi-row change is one transaction: a failed call leaves nothing half-written.
//! - Times are Unix milliseconds; ids are opaque strings generated here (UUID v7).
//! - No file paths or object keys leave through ids: assets carry an `object_key` for the
//!   host's object store, never shown to users.

mod error;
mod events;
mod model;
pub mod objects;
mod scoped;
mod sql;
mod traits;

pub use error::StoreError;
pub use events::{QueueEvent, Subscription};
pub use model::*;
pub use scoped::ProjectScope;
pub use sql::{Backend, SqlStore};
pub use traits::{
    AccountStore, AssetStore, ExecutionQueue, GenerationStore, GraphStore, ProjectStore, Store,
};

/// Result type of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Current time in Unix milliseconds.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// A new opaque id (UUID v7: time-ordered, so indexes stay compact).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}
