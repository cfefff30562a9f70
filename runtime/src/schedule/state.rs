//! Why a node would re-run: the state shown on every node of the canvas.

use std::collections::HashMap;

use crate::graph::{Graph, NodeId};

/// What the host knows about one node's own inputs, before looking upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnState {
    /// Its active take was made from exactly its current parameters and upstream outputs.
    UpToDate,
    /// It has no take yet.
    NeverRun,
    /// Its parameters (or what it was given) changed since its active take.
    Edited,
    /// Its last execution failed.
    Failed(String),
}

/// The state of a node, with the reason it would re-run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeState {
    /// Nothing to do: Generate would reuse the current take.
    Clean,
    /// Never generated.
    NeverRun,
    /// Its own parameters changed.
    Edited,
    /// A node it depends on changed (named), so its take is out of date.
    StaleBecause {
        /// The upstream node that changed.
        upstream: NodeId,
        /// Its label, for the message.
        name: String,
    },
    /// The last execution failed.
    Failed(String),
}

impl NodeState {
    /// A sentence for the node's badge.
    pub fn describe(&self) -> String {
        match self {
            NodeState::Clean => "up to date".to_string(),
            NodeState::NeverRun => "never generated".to_string(),
            NodeState::Edited => "parameters changed since the last take".to_string(),
            NodeState::StaleBecause { name, .. } => {
                format!("out of date: upstream \"{name}\" changed")
            }
            NodeState::Failed(error) => format!("last run failed: {error}"),
        }
    }

    /// Whether Generate would run (rather than reuse) this node.
    pub fn needs_run(&self) -> bool {
        !matches!(self, NodeState::Clean)
    }
}

/// Combines each node's own state with its upstream: a node whose sources are not clean is
/// stale because of the first such source (in dependency order). `order` must be
/// topological (for example [`Graph::topological_order`]).
pub fn node_states(
    graph: &Graph,
    order: &[NodeId],
    own: impl Fn(&NodeId) -> OwnState,
) -> HashMap<NodeId, NodeState> {
    let mut states: HashMap<NodeId, NodeState> = HashMap::with_capacity(order.len());
    for id in order {
        let upstream_change = graph
            .incoming(id.as_str())
            .map(|edge| &edge.source)
            .find(|source| states.get(*source).is_some_and(NodeState::needs_run))
            .cloned();
        let state = match (own(id), upstream_change) {
            (OwnState::Failed(error), _) => NodeState::Failed(error),
            (OwnState::NeverRun, _) => NodeState::NeverRun,
            (_, Some(upstream)) => {
                let name = graph.name_of(upstream.as_str()).to_string();
                NodeState::StaleBecause { upstream, name }
            }
            (OwnState::Edited, None) => NodeState::Edited,
            (OwnState::UpToDate, None) => NodeState::Clean,
        };
        states.insert(id.clone(), state);
    }
    states
}
