//! The node graph of a project: nodes, edges and groups, checked against installed node types.
//!
//! - [`Graph`] holds nodes and edges by id, with indexes (edges by endpoint, nodes by group)
//!   kept current on every edit, and answers dependency questions
//!   ([`Graph::upstream_closure`], [`Graph::downstream_of`], [`Graph::topological_order`]).
//! - Groups are nodes of the built-in type [`SUBFLOW_TYPE`]; other nodes name one as their
//!   `parent`. Removing a group removes everything inside it.
//! - [`Catalog`] says which node types and versions are installed; [`validate`] lists what is
//!   wrong with a graph in sentences a user understands.
//! - [`diff`] compares two graphs; [`apply_patch`] applies a plugin's patch all or nothing.
//!
//! This module sees plugins only through their descriptors ([`crate::plugin::types`]); it
//! knows nothing of how they run.

mod catalog;
mod describe;
mod diff;
mod ids;
mod index;
mod journal;
mod model;
mod numbering;
mod patch;
mod placement;
mod subflow;
mod topology;
mod traverse;
mod validate;

#[cfg(test)]
mod tests;

pub use catalog::{Catalog, CatalogError, DescriptorCatalog, WithBuiltins};
pub use describe::{ANY_KIND, ports_compatible};
pub use diff::{ChangedField, GraphDiff, NodeChange, NodeMove, diff};
pub use ids::{EdgeId, NodeId};
pub use model::{Edge, Graph, Node, Removed};
pub use patch::{ParentProblem, PatchError, PatchReport, PortSide, apply_patch};
pub use placement::AUTO_PLACE_STEP;
pub use subflow::{SUBFLOW_TITLE_PARAM, SUBFLOW_TYPE, SUBFLOW_VERSION, subflow_descriptor};
pub use traverse::CycleError;
pub use validate::{DiagnosticCode, GraphDiagnostic, validate};
