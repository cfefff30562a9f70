//! Applying a plugin's [`GraphPatch`] to a graph, all or nothing.
//!
//! Order: edge removals, node removals (with their edges and everything inside them), node
//! upserts, edge upserts; then the result is checked. A patch that fails a check is undone
//! edit by edit (only what it touched is restored), so the graph is exactly as before.

use std::collections::HashSet;
use std::fmt;

use crate::plugin::types::{GraphPatch, PatchEdge, PatchNode};

use super::catalog::{Catalog, WithBuiltins};
use super::ids::{EdgeId, NodeId};
use super::journal::Journal;
use super::model::{Edge, Graph, Node};
use super::placement::Placer;
use super::subflow::SUBFLOW_TYPE;
use super::topology::Topology;
use super::traverse::CycleError;

/// What a patch changed; every list is in id order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PatchReport {
    /// Nodes that did not exist before.
    pub nodes_added: Vec<NodeId>,
    /// Nodes that exist before and after, with some difference.
    pub nodes_updated: Vec<NodeId>,
    /// Nodes removed, including those inside removed groups.
    pub nodes_removed: Vec<NodeId>,
    /// Edges that did not exist before.
    pub edges_added: Vec<EdgeId>,
    /// Edges replaced by a different edge of the same id.
    pub edges_updated: Vec<EdgeId>,
    /// Edges removed, including those of removed nodes.
    pub edges_removed: Vec<EdgeId>,
}

impl PatchReport {
    /// Whether the patch changed nothing.
    pub fn is_empty(&self) -> bool {
        self.nodes_added.is_empty()
            && self.nodes_updated.is_empty()
            && self.nodes_removed.is_empty()
            && self.edges_added.is_empty()
            && self.edges_updated.is_empty()
            && self.edges_removed.is_empty()
    }
}

/// Which side of a node a port is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortSide {
    /// An input port (an edge's target end).
    Input,
    /// An output port (an edge's source end).
    Output,
}

impl fmt::Display for PortSide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PortSide::Input => "input",
            PortSide::Output => "output",
        })
    }
}

/// Why a node cannot be inside its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParentProblem {
    /// The parent would not exist.
    Missing,
    /// The parent is not a group.
    NotAGroup,
    /// Groups would be inside each other.
    Loop,
}

impl fmt::Display for ParentProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParentProblem::Missing => "it would not exist",
            ParentProblem::NotAGroup => "it is not a group",
            ParentProblem::Loop => "groups would be inside each other",
        })
    }
}

/// Why a patch was refused (the graph is unchanged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// A node's type is not installed.
    #[error("node \"{node}\" has type \"{type_id}\", which is not installed")]
    UnknownType {
        /// The node.
        node: NodeId,
        /// Its type id.
        type_id: String,
    },
    /// An edge names a node that would not exist after the patch.
    #[error("edge {edge} connects node \"{node}\", which would not exist")]
    MissingNode {
        /// The edge.
        edge: EdgeId,
        /// The missing node.
        node: NodeId,
    },
    /// An edge names a port the node's type does not have.
    #[error(
        "edge {edge} uses {side} \"{port}\" of node \"{node}\", but \"{type_id}\" {version} has no such {side}"
    )]
    UnknownPort {
        /// The edge.
        edge: EdgeId,
        /// The node at that end.
        node: NodeId,
        /// Which end.
        side: PortSide,
        /// The port id given.
        port: String,
        /// The node's type.
        type_id: String,
        /// The node's version.
        version: String,
    },
    /// A node's parent is missing or not a group, or groups would contain each other.
    #[error("node \"{node}\" cannot be inside \"{parent}\": {problem}")]
    BadParent {
        /// The node.
        node: NodeId,
        /// Its parent.
        parent: NodeId,
        /// What is wrong.
        problem: ParentProblem,
    },
    /// The edges would form a cycle.
    #[error("the patch would create a cycle: {}", .0.path())]
    Cycle(CycleError),
}

/// Applies `patch` to `graph`, or changes nothing and says why.
///
/// Upserted nodes that exist keep their version (unless their type changes), position
/// (unless the patch gives one) and parameters the patch does not set; label and parent are
/// replaced. New nodes get the newest installed version of their type and, without a
/// position, a place [`AUTO_PLACE_STEP`](super::AUTO_PLACE_STEP) right of their rightmost
/// sibling. Removing a missing node or edge is not an error. Refused: node types that are not
/// installed, edges to nodes that would not exist, ports the (installed) node type lacks,
/// parents that are not groups, and new cycles. Everything else a graph may hold
/// (incompatible kinds, bad values) is left to [`validate`](super::validate()).
pub fn apply_patch(
    graph: &mut Graph,
    patch: &GraphPatch,
    catalog: &dyn Catalog,
) -> Result<PatchReport, PatchError> {
    let catalog = WithBuiltins(catalog);
    let mut journal = Journal::default();
    match apply(graph, patch, &catalog, &mut journal) {
        Ok(()) => Ok(journal.report(graph)),
        Err(err) => {
            journal.roll_back(graph);
            Err(err)
        }
    }
}

fn apply(
    graph: &mut Graph,
    patch: &GraphPatch,
    catalog: &WithBuiltins<'_>,
    journal: &mut Journal,
) -> Result<(), PatchError> {
    for id in &patch.remove_edges {
        journal.remove_edge(graph, id);
    }
    for id in &patch.remove_nodes {
        journal.remove_node(graph, id);
    }
    let mut placer = Placer::default();
    for upsert in &patch.upsert_nodes {
        let node = merged_node(graph, upsert, catalog, &mut placer)?;
        placer.placed(node.parent.as_ref(), node.position);
        journal.insert_node(graph, node);
    }
    for upsert in &patch.upsert_edges {
        journal.insert_edge(graph, edge_of(upsert));
    }
    for upsert in &patch.upsert_nodes {
        check_parent(graph, upsert.id.as_str())?;
    }
    for upsert in &patch.upsert_edges {
        check_edge(graph, catalog, upsert)?;
    }
    check_cycles(graph, &patch.upsert_edges)
}

/// The node an upsert leaves behind: merged into the existing one, or new.
fn merged_node(
    graph: &Graph,
    upsert: &PatchNode,
    catalog: &WithBuiltins<'_>,
    placer: &mut Placer,
) -> Result<Node, PatchError> {
    let Some(latest) = catalog.latest(&upsert.type_id) else {
        return Err(PatchError::UnknownType {
            node: NodeId::from(&upsert.id),
            type_id: upsert.type_id.clone(),
        });
    };
    let parent = upsert.parent.as_ref().map(NodeId::from);
    let mut node = match graph.node(&upsert.id) {
        Some(existing) => {
            let mut node = existing.clone();
            if node.type_id != upsert.type_id {
                node.type_id = upsert.type_id.clone();
                node.version = latest.version.clone();
            }
            node
        }
        None => Node {
            position: upsert
                .position
                .unwrap_or_else(|| placer.free_place(graph, parent.as_ref())),
            ..Node::new(
                upsert.id.as_str(),
                upsert.type_id.as_str(),
                latest.version.as_str(),
            )
        },
    };
    if let Some(position) = upsert.position {
        node.position = position;
    }
    node.label = upsert.label.clone();
    node.parent = parent;
    for entry in &upsert.params {
        node.params.insert(entry.id.clone(), entry.value.clone());
    }
    Ok(node)
}

fn edge_of(upsert: &PatchEdge) -> Edge {
    Edge::new(
        upsert.id.as_str(),
        (upsert.source.as_str(), upsert.source_port.as_str()),
        (upsert.target.as_str(), upsert.target_port.as_str()),
    )
}

/// The node's parent exists, is a group and is not inside the node; a node that holds
/// others is a group.
fn check_parent(graph: &Graph, id: &str) -> Result<(), PatchError> {
    let Some(node) = graph.node(id) else {
        return Ok(());
    };
    if node.type_id != SUBFLOW_TYPE
        && let Some(child) = graph.children_of(id).next()
    {
        return Err(PatchError::BadParent {
            node: child.id.clone(),
            parent: node.id.clone(),
            problem: ParentProblem::NotAGroup,
        });
    }
    let mut seen: HashSet<&str> = HashSet::from([id]);
    let mut at = node;
    while let Some(parent_id) = &at.parent {
        let problem = match graph.node(parent_id.as_str()) {
            None => ParentProblem::Missing,
            Some(parent) if parent.type_id != SUBFLOW_TYPE => ParentProblem::NotAGroup,
            Some(parent) if !seen.insert(parent.id.as_str()) => ParentProblem::Loop,
            Some(parent) => {
                at = parent;
                continue;
            }
        };
        return Err(PatchError::BadParent {
            node: at.id.clone(),
            parent: parent_id.clone(),
            problem,
        });
    }
    Ok(())
}

/// Both ends exist and, where their types are installed, have the named ports.
fn check_edge(
    graph: &Graph,
    catalog: &WithBuiltins<'_>,
    upsert: &PatchEdge,
) -> Result<(), PatchError> {
    for (node_id, port, side) in [
        (&upsert.source, &upsert.source_port, PortSide::Output),
        (&upsert.target, &upsert.target_port, PortSide::Input),
    ] {
        let Some(node) = graph.node(node_id) else {
            return Err(PatchError::MissingNode {
                edge: EdgeId::from(&upsert.id),
                node: NodeId::from(node_id),
            });
        };
        let Some(descriptor) = catalog.descriptor(&node.type_id, &node.version) else {
            continue;
        };
        let found = match side {
            PortSide::Input => descriptor.input(port).is_some(),
            PortSide::Output => descriptor.output(port).is_some(),
        };
        if !found {
            return Err(PatchError::UnknownPort {
                edge: EdgeId::from(&upsert.id),
                node: node.id.clone(),
                side,
                port: port.clone(),
                type_id: node.type_id.clone(),
                version: node.version.clone(),
            });
        }
    }
    Ok(())
}

/// No upserted edge lies on a cycle. Only the part of the graph downstream of the new
/// edges is searched: a new cycle must run through one of them.
fn check_cycles(graph: &Graph, upserts: &[PatchEdge]) -> Result<(), PatchError> {
    if upserts.is_empty() {
        return Ok(());
    }
    let starts: Vec<&NodeId> = upserts
        .iter()
        .filter_map(|upsert| graph.node(&upsert.target).map(|node| &node.id))
        .collect();
    let topology = Topology::reachable(graph, &starts);
    let components = topology.cyclic_components();
    if components.list.is_empty() {
        return Ok(());
    }
    for upsert in upserts {
        let (Some(source), Some(target)) = (
            topology.number_of(&upsert.source),
            topology.number_of(&upsert.target),
        ) else {
            continue;
        };
        let cycle = if source == target {
            vec![source]
        } else {
            match (components.of(source), components.of(target)) {
                (Some(a), Some(b)) if a == b => {
                    let back = topology
                        .path_within(&components, a, target, source)
                        .unwrap_or_default();
                    let mut cycle = vec![source];
                    cycle.extend(back.iter().take(back.len().saturating_sub(1)));
                    cycle
                }
                _ => continue,
            }
        };
        let nodes = cycle.into_iter().map(|v| topology.id(v).clone()).collect();
        return Err(PatchError::Cycle(CycleError::new(graph, nodes)));
    }
    Ok(())
}
