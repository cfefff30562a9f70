//! # mdc-runtime — the node runtime of Movie Director Canvas
//!
//! Everything between "a node type is a WebAssembly component" and "a node ran and produced
//! outputs": the plugin contract's types as the rest of the product sees them
//! ([`plugin::types`]), the rules a node descriptor must follow ([`plugin::check_descriptor`]),
//! and the sandboxed engine that loads components and runs their exports under limits
//! ([`plugin::PluginEngine`], [`plugin::Plugin`]); and the project's node graph, checked,
//! compared and patched against the installed node types ([`graph`]).
//!
//! Invariants:
//! - wasmtime and generated binding types never leave `plugin::engine`.
//! - This crate knows nothing of HTTP servers, SQL or the browser; side effects a plugin may
//!   cause go through [`plugin::HostServices`], which the embedding implements.
//! - [`graph`] sees plugins only through [`plugin::types`] and [`plugin::descriptor_check`],
//!   never through the engine.

/// The node graph: model, validation, diff and patches.
pub mod graph;
pub mod plugin;
pub mod schedule;
