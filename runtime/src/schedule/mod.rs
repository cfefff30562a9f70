//! Scheduling: what Generate must run and in which order ([`Plan`]), the result-cache key
//! ([`cache_key`]) and why each node would re-run ([`node_states`]).
//!
//! Pure logic: the host's executor claims work from the store's queue, runs plugins and
//! records takes; this module decides, it does not run anything.

mod cache_key;
mod plan;
mod state;

#[cfg(test)]
mod tests;

pub use cache_key::{AssetHashes, KeyInputs, UnknownAsset, cache_key};
pub use plan::{Plan, PlanError, Step};
pub use state::{NodeState, OwnState, node_states};
