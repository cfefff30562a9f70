//! Lookup tables the graph keeps up to date on every edit: edges by endpoint, nodes by parent.
//!
//! Keys are ids, not references, and do not require the node to exist: an edge that points to a
//! missing node (which [`validate`](super::validate()) reports) is indexed like any other.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::ids::{EdgeId, NodeId};
use super::model::Edge;

/// Edges by source and by target (each with the node at its other end), children by parent.
#[derive(Debug, Clone, Default)]
pub(super) struct Index {
    outgoing: HashMap<NodeId, BTreeMap<EdgeId, NodeId>>,
    incoming: HashMap<NodeId, BTreeMap<EdgeId, NodeId>>,
    children: HashMap<NodeId, BTreeSet<NodeId>>,
    top_level: BTreeSet<NodeId>,
}

static NONE_EDGES: BTreeMap<EdgeId, NodeId> = BTreeMap::new();
static NONE_NODES: BTreeSet<NodeId> = BTreeSet::new();

impl Index {
    pub(super) fn add_edge(&mut self, edge: &Edge) {
        self.outgoing
            .entry(edge.source.clone())
            .or_default()
            .insert(edge.id.clone(), edge.target.clone());
        self.incoming
            .entry(edge.target.clone())
            .or_default()
            .insert(edge.id.clone(), edge.source.clone());
    }

    pub(super) fn remove_edge(&mut self, edge: &Edge) {
        for (map, node) in [
            (&mut self.outgoing, &edge.source),
            (&mut self.incoming, &edge.target),
        ] {
            if let Some(edges) = map.get_mut(node) {
                edges.remove(&edge.id);
                if edges.is_empty() {
                    map.remove(node);
                }
            }
        }
    }

    /// Files `node` under `parent` (or the top level).
    pub(super) fn place(&mut self, node: &NodeId, parent: Option<&NodeId>) {
        match parent {
            Some(parent) => {
                self.children
                    .entry(parent.clone())
                    .or_default()
                    .insert(node.clone());
            }
            None => {
                self.top_level.insert(node.clone());
            }
        }
    }

    /// Undoes [`Index::place`].
    pub(super) fn unplace(&mut self, node: &NodeId, parent: Option<&NodeId>) {
        match parent {
            Some(parent) => {
                if let Some(children) = self.children.get_mut(parent) {
                    children.remove(node);
                    if children.is_empty() {
                        self.children.remove(parent);
                    }
                }
            }
            None => {
                self.top_level.remove(node);
            }
        }
    }

    /// The edges leaving `node`, in id order, each with its target.
    pub(super) fn outgoing(&self, node: &str) -> &BTreeMap<EdgeId, NodeId> {
        self.outgoing.get(node).unwrap_or(&NONE_EDGES)
    }

    /// The edges arriving at `node`, in id order, each with its source.
    pub(super) fn incoming(&self, node: &str) -> &BTreeMap<EdgeId, NodeId> {
        self.incoming.get(node).unwrap_or(&NONE_EDGES)
    }

    /// Ids of the nodes whose parent is `parent`, in id order.
    pub(super) fn children(&self, parent: &str) -> &BTreeSet<NodeId> {
        self.children.get(parent).unwrap_or(&NONE_NODES)
    }

    /// Ids of the nodes without a parent, in id order.
    pub(super) fn top_level(&self) -> &BTreeSet<NodeId> {
        &self.top_level
    }
}

#[cfg(test)]
impl Index {
    /// Every entry as a line, sorted: equal for equal indexes.
    pub(super) fn snapshot(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for (name, map) in [("out", &self.outgoing), ("in", &self.incoming)] {
            for (node, edges) in map {
                lines.push(format!("{name} {node}: {edges:?}"));
            }
        }
        for (parent, children) in &self.children {
            lines.push(format!("children {parent}: {children:?}"));
        }
        lines.push(format!("top: {:?}", self.top_level));
        lines.sort();
        lines
    }
}
