//! The graph itself: nodes, edges, and the edits and lookups everything else builds on.
//!
//! A [`Graph`] holds whatever it is given, including edges to missing nodes and parents that
//! are not groups: a stored project may be out of date with the installed plugins, and the
//! user fixes it on the canvas. [`validate`](super::validate()) says what is wrong;
//! [`apply_patch`](super::apply_patch) refuses to make things worse.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fmt;

use crate::plugin::types::{ParamValue, Position};

use super::ids::{EdgeId, NodeId};
use super::index::Index;

/// A node on the canvas: an instance of a node type at one version.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Stable id; the graph's key for the node, never changed once inserted.
    pub id: NodeId,
    /// Node type id (`shot`, or [`SUBFLOW_TYPE`](super::SUBFLOW_TYPE) for a group).
    pub type_id: String,
    /// Version of the node type this node was made with (`1.2.0`).
    pub version: String,
    /// Where the node sits on the canvas.
    pub position: Position,
    /// The group (subflow) the node is inside, if any.
    pub parent: Option<NodeId>,
    /// What the user calls the node (`1.3`, `Noir`); may be empty.
    pub label: String,
    /// Parameter values the user set, by parameter id; defaults are not stored.
    pub params: BTreeMap<String, ParamValue>,
    /// The take the user chose (an opaque take id). While set, nodes downstream use its
    /// outputs and Generate on them does not redo this node; Generate on the node itself
    /// makes a new take. `None`: the take made from the node's current inputs.
    pub active_take: Option<String>,
}

impl Node {
    /// A top-level node at the origin with no label and no parameters.
    pub fn new(
        id: impl Into<NodeId>,
        type_id: impl Into<String>,
        version: impl Into<String>,
    ) -> Node {
        Node {
            id: id.into(),
            type_id: type_id.into(),
            version: version.into(),
            position: Position::default(),
            parent: None,
            label: String::new(),
            params: BTreeMap::new(),
            active_take: None,
        }
    }

    /// This node with `label`.
    pub fn with_label(mut self, label: impl Into<String>) -> Node {
        self.label = label.into();
        self
    }

    /// This node inside the group `parent`.
    pub fn with_parent(mut self, parent: impl Into<NodeId>) -> Node {
        self.parent = Some(parent.into());
        self
    }

    /// This node at `(x, y)`.
    pub fn with_position(mut self, x: f64, y: f64) -> Node {
        self.position = Position { x, y };
        self
    }

    /// This node with `take` as its chosen take.
    pub fn with_active_take(mut self, take: impl Into<String>) -> Node {
        self.active_take = Some(take.into());
        self
    }

    /// This node with parameter `id` set to `value`.
    pub fn with_param(mut self, id: impl Into<String>, value: ParamValue) -> Node {
        self.params.insert(id.into(), value);
        self
    }

    /// The label, or the id when the label is empty: how messages name the node.
    pub fn name(&self) -> &str {
        if self.label.trim().is_empty() {
            self.id.as_str()
        } else {
            &self.label
        }
    }
}

/// A connection from an output port of one node to an input port of another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// Stable id; the graph's key for the edge.
    pub id: EdgeId,
    /// The node the value comes from.
    pub source: NodeId,
    /// Output port id on `source`.
    pub source_port: String,
    /// The node the value goes to.
    pub target: NodeId,
    /// Input port id on `target`.
    pub target_port: String,
}

impl Edge {
    /// An edge from `source`'s output `source_port` to `target`'s input `target_port`.
    pub fn new(
        id: impl Into<EdgeId>,
        (source, source_port): (impl Into<NodeId>, impl Into<String>),
        (target, target_port): (impl Into<NodeId>, impl Into<String>),
    ) -> Edge {
        Edge {
            id: id.into(),
            source: source.into(),
            source_port: source_port.into(),
            target: target.into(),
            target_port: target_port.into(),
        }
    }
}

/// What [`Graph::remove_node`] took out, enough to put it back.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Removed {
    /// The node asked for first, then every node inside it, outermost first.
    pub nodes: Vec<Node>,
    /// Every edge that touched one of those nodes, in the order removed.
    pub edges: Vec<Edge>,
}

/// A node graph: nodes and edges by id, with indexes kept current on every edit.
///
/// Iteration is in id order everywhere, so results are deterministic.
#[derive(Clone, Default)]
pub struct Graph {
    nodes: BTreeMap<NodeId, Node>,
    edges: BTreeMap<EdgeId, Edge>,
    index: Index,
}

impl PartialEq for Graph {
    fn eq(&self, other: &Graph) -> bool {
        self.nodes == other.nodes && self.edges == other.edges
    }
}

impl fmt::Debug for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Graph")
            .field("nodes", &self.nodes)
            .field("edges", &self.edges)
            .finish()
    }
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Graph {
        Graph::default()
    }

    /// A graph of these nodes and edges (later duplicates of an id replace earlier ones).
    pub fn from_parts(
        nodes: impl IntoIterator<Item = Node>,
        edges: impl IntoIterator<Item = Edge>,
    ) -> Graph {
        let mut graph = Graph::new();
        for node in nodes {
            graph.insert_node(node);
        }
        for edge in edges {
            graph.insert_edge(edge);
        }
        graph
    }

    /// The node with this id.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.get(id)
    }

    /// The edge with this id.
    pub fn edge(&self, id: &str) -> Option<&Edge> {
        self.edges.get(id)
    }

    /// Whether a node has this id.
    pub fn contains_node(&self, id: &str) -> bool {
        self.nodes.contains_key(id)
    }

    /// Every node, in id order.
    pub fn nodes(&self) -> impl ExactSizeIterator<Item = &Node> + DoubleEndedIterator {
        self.nodes.values()
    }

    /// Every edge, in id order.
    pub fn edges(&self) -> impl ExactSizeIterator<Item = &Edge> + DoubleEndedIterator {
        self.edges.values()
    }

    /// How many nodes there are.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// How many edges there are.
    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }

    /// How messages name a node: its label, or its id when it has no label or does not exist.
    pub fn name_of<'a>(&'a self, id: &'a str) -> &'a str {
        self.nodes.get(id).map_or(id, Node::name)
    }

    /// Inserts `node`, replacing (and returning) the node with the same id.
    ///
    /// Edges and children of a replaced node stay: they refer to the id, not the node.
    pub fn insert_node(&mut self, mut node: Node) -> Option<Node> {
        self.share(&mut node.id);
        if let Some(parent) = &mut node.parent {
            self.share(parent);
        }
        let id = node.id.clone();
        let previous = self.nodes.insert(id.clone(), node);
        if let Some(previous) = &previous {
            self.index.unplace(&id, previous.parent.as_ref());
        }
        self.index.place(&id, self.nodes[&id].parent.as_ref());
        previous
    }

    /// Edits the node with this id in place; `None` when there is none.
    ///
    /// The id cannot change (an edited id is restored); a changed parent is re-indexed.
    pub fn update_node<R>(&mut self, id: &str, edit: impl FnOnce(&mut Node) -> R) -> Option<R> {
        let node = self.nodes.get_mut(id)?;
        let key = node.id.clone();
        let parent_before = node.parent.clone();
        let result = edit(node);
        node.id = key;
        if node.parent != parent_before {
            let mut parent = node.parent.take();
            if let Some(parent) = &mut parent {
                self.share(parent);
            }
            let node = self.nodes.get_mut(id)?;
            node.parent = parent;
            self.index.unplace(&node.id, parent_before.as_ref());
            self.index.place(&node.id, node.parent.as_ref());
        }
        Some(result)
    }

    /// Removes a node, every edge touching it and, recursively, every node inside it
    /// (removing a scene removes its shots); returns what was removed, empty when nothing was.
    pub fn remove_node(&mut self, id: &str) -> Removed {
        let mut removed = Removed::default();
        if !self.nodes.contains_key(id) {
            return removed;
        }
        let doomed = self.subtree(id);
        for node in &doomed {
            let touching: Vec<EdgeId> = self
                .index
                .incoming(node.as_str())
                .keys()
                .chain(self.index.outgoing(node.as_str()).keys())
                .cloned()
                .collect();
            for edge in touching {
                if let Some(edge) = self.remove_edge(edge.as_str()) {
                    removed.edges.push(edge);
                }
            }
        }
        for node in &doomed {
            if let Some(node) = self.take_node(node.as_str()) {
                removed.nodes.push(node);
            }
        }
        removed
    }

    /// Inserts `edge`, replacing (and returning) the edge with the same id.
    ///
    /// The endpoints need not exist; [`validate`](super::validate()) reports such edges.
    pub fn insert_edge(&mut self, mut edge: Edge) -> Option<Edge> {
        self.share(&mut edge.source);
        self.share(&mut edge.target);
        let previous = self.edges.remove(edge.id.as_str());
        if let Some(previous) = &previous {
            self.index.remove_edge(previous);
        }
        self.index.add_edge(&edge);
        self.edges.insert(edge.id.clone(), edge);
        previous
    }

    /// Removes and returns the edge with this id.
    pub fn remove_edge(&mut self, id: &str) -> Option<Edge> {
        let edge = self.edges.remove(id)?;
        self.index.remove_edge(&edge);
        Some(edge)
    }

    /// The nodes directly inside the group `parent`, in id order.
    pub fn children_of<'a>(&'a self, parent: &str) -> impl Iterator<Item = &'a Node> + use<'a> {
        self.ids_to_nodes(self.index.children(parent).iter())
    }

    /// The nodes that are inside no group, in id order.
    pub fn top_level(&self) -> impl Iterator<Item = &Node> {
        self.ids_to_nodes(self.index.top_level().iter())
    }

    /// The edges arriving at `node`, in id order.
    pub fn incoming<'a>(&'a self, node: &str) -> impl Iterator<Item = &'a Edge> + use<'a> {
        self.ids_to_edges(self.index.incoming(node).keys())
    }

    /// The edges leaving `node`, in id order.
    pub fn outgoing<'a>(&'a self, node: &str) -> impl Iterator<Item = &'a Edge> + use<'a> {
        self.ids_to_edges(self.index.outgoing(node).keys())
    }

    /// The edges arriving at input `port` of `node`, in id order (the order a plugin sees
    /// the connected values in).
    pub fn edges_into<'a>(
        &'a self,
        node: &str,
        port: &'a str,
    ) -> impl Iterator<Item = &'a Edge> + use<'a> {
        self.incoming(node)
            .filter(move |edge| edge.target_port == port)
    }

    /// The edges leaving output `port` of `node`, in id order.
    pub fn edges_from<'a>(
        &'a self,
        node: &str,
        port: &'a str,
    ) -> impl Iterator<Item = &'a Edge> + use<'a> {
        self.outgoing(node)
            .filter(move |edge| edge.source_port == port)
    }

    /// `id` and every node inside it, recursively, outermost first (parent loops are cut);
    /// empty when there is no such node.
    pub fn subtree(&self, id: &str) -> Vec<NodeId> {
        let Some(node) = self.nodes.get(id) else {
            return Vec::new();
        };
        let mut seen: HashSet<&NodeId> = HashSet::from([&node.id]);
        let mut order = vec![node.id.clone()];
        let mut queue = VecDeque::from([&node.id]);
        while let Some(parent) = queue.pop_front() {
            for child in self.index.children(parent.as_str()) {
                if seen.insert(child) {
                    order.push(child.clone());
                    queue.push_back(child);
                }
            }
        }
        order
    }

    /// The nodes at the far end of the edges arriving at `node` (in edge id order, repeated
    /// per edge, possibly missing).
    pub(super) fn sources_of<'a>(
        &'a self,
        node: &str,
    ) -> impl Iterator<Item = &'a NodeId> + use<'a> {
        self.index.incoming(node).values()
    }

    /// The nodes at the far end of the edges leaving `node` (in edge id order, repeated per
    /// edge, possibly missing).
    pub(super) fn targets_of<'a>(
        &'a self,
        node: &str,
    ) -> impl Iterator<Item = &'a NodeId> + use<'a> {
        self.index.outgoing(node).values()
    }

    /// Makes `id` share the allocation of the node with that id, if there is one: lookups by
    /// address then find it (see `numbering`), and equal ids compare by address.
    fn share(&self, id: &mut NodeId) {
        if let Some((key, _)) = self.nodes.get_key_value(id.as_str()) {
            *id = key.clone();
        }
    }

    /// Removes only the node, leaving its edges and children (which then dangle).
    pub(super) fn take_node(&mut self, id: &str) -> Option<Node> {
        let node = self.nodes.remove(id)?;
        self.index.unplace(&node.id, node.parent.as_ref());
        Some(node)
    }

    fn ids_to_nodes<'a>(
        &'a self,
        ids: impl Iterator<Item = &'a NodeId> + 'a,
    ) -> impl Iterator<Item = &'a Node> + 'a {
        ids.filter_map(|id| self.nodes.get(id))
    }

    fn ids_to_edges<'a>(
        &'a self,
        ids: impl Iterator<Item = &'a EdgeId> + 'a,
    ) -> impl Iterator<Item = &'a Edge> + 'a {
        ids.filter_map(|id| self.edges.get(id))
    }
}

#[cfg(test)]
impl Graph {
    /// The index as sorted lines, to compare with a graph rebuilt from scratch.
    pub(super) fn index_snapshot(&self) -> Vec<String> {
        self.index.snapshot()
    }
}
