//! What changed between two versions of a graph: for history, undo and collaborators' views.
//!
//! Both graphs keep nodes and edges in id order, so the comparison is one merge over each:
//! linear time, no hashing.

use std::cmp::Ordering;
use std::fmt;

use crate::plugin::types::{ParamValue, Position};

use super::ids::{EdgeId, NodeId};
use super::model::{Graph, Node};

/// A part of a node other than its position that differs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangedField {
    /// The node type.
    Type,
    /// The node type's version.
    Version,
    /// The containing group.
    Parent,
    /// The label.
    Label,
    /// The value of this parameter (set, changed or cleared).
    Param(String),
    /// The chosen take.
    ActiveTake,
}

impl fmt::Display for ChangedField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChangedField::Type => f.write_str("type"),
            ChangedField::Version => f.write_str("version"),
            ChangedField::Parent => f.write_str("parent"),
            ChangedField::Label => f.write_str("label"),
            ChangedField::Param(id) => write!(f, "param {id}"),
            ChangedField::ActiveTake => f.write_str("active take"),
        }
    }
}

/// A node edited in place: same id, some fields different.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeChange {
    /// The node.
    pub id: NodeId,
    /// What differs, in the order type, version, parent, label, then parameters by id.
    pub fields: Vec<ChangedField>,
}

/// A node dragged to another place.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeMove {
    /// The node.
    pub id: NodeId,
    /// Where it was.
    pub from: Position,
    /// Where it is.
    pub to: Position,
}

/// The differences from one graph to another; every list is in id order.
///
/// A node that was both edited and moved appears in `changed_nodes` and in `moved_nodes`:
/// moves are kept apart because they are frequent and rarely worth a history entry.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GraphDiff {
    /// Nodes only in the new graph.
    pub added_nodes: Vec<NodeId>,
    /// Nodes only in the old graph.
    pub removed_nodes: Vec<NodeId>,
    /// Nodes in both whose type, version, parent, label or parameters differ.
    pub changed_nodes: Vec<NodeChange>,
    /// Nodes in both whose position differs.
    pub moved_nodes: Vec<NodeMove>,
    /// Edges only in the new graph.
    pub added_edges: Vec<EdgeId>,
    /// Edges only in the old graph.
    pub removed_edges: Vec<EdgeId>,
    /// Edges in both whose endpoints or ports differ.
    pub changed_edges: Vec<EdgeId>,
}

impl GraphDiff {
    /// Whether the graphs are the same.
    pub fn is_empty(&self) -> bool {
        self.moved_nodes.is_empty() && self.nothing_but_moves()
    }

    /// Whether only positions differ.
    pub fn is_layout_only(&self) -> bool {
        !self.moved_nodes.is_empty() && self.nothing_but_moves()
    }

    fn nothing_but_moves(&self) -> bool {
        self.added_nodes.is_empty()
            && self.removed_nodes.is_empty()
            && self.changed_nodes.is_empty()
            && self.added_edges.is_empty()
            && self.removed_edges.is_empty()
            && self.changed_edges.is_empty()
    }

    /// A short description: `3 nodes added, 1 removed, 2 edited, 5 moved; 4 edges added`,
    /// or `no changes`.
    pub fn summary(&self) -> String {
        let nodes = counts(
            "node",
            &[
                (self.added_nodes.len(), "added"),
                (self.removed_nodes.len(), "removed"),
                (self.changed_nodes.len(), "edited"),
                (self.moved_nodes.len(), "moved"),
            ],
        );
        let edges = counts(
            "edge",
            &[
                (self.added_edges.len(), "added"),
                (self.removed_edges.len(), "removed"),
                (self.changed_edges.len(), "changed"),
            ],
        );
        let parts: Vec<String> = [nodes, edges].into_iter().flatten().collect();
        if parts.is_empty() {
            "no changes".to_string()
        } else {
            parts.join("; ")
        }
    }
}

/// `3 nodes added, 1 removed` (zero counts left out), `None` when all are zero.
fn counts(noun: &str, parts: &[(usize, &str)]) -> Option<String> {
    let mut text = String::new();
    for &(number, verb) in parts.iter().filter(|(number, _)| *number > 0) {
        if text.is_empty() {
            let plural = if number == 1 { "" } else { "s" };
            text = format!("{number} {noun}{plural} {verb}");
        } else {
            text.push_str(&format!(", {number} {verb}"));
        }
    }
    (!text.is_empty()).then_some(text)
}

/// Compares two graphs.
pub fn diff(old: &Graph, new: &Graph) -> GraphDiff {
    let mut result = GraphDiff::default();
    merge(
        old.nodes(),
        new.nodes(),
        |node| &node.id,
        |side| match side {
            Side::Old(node) => result.removed_nodes.push(node.id.clone()),
            Side::New(node) => result.added_nodes.push(node.id.clone()),
            Side::Both(before, after) => compare_nodes(before, after, &mut result),
        },
    );
    merge(
        old.edges(),
        new.edges(),
        |edge| &edge.id,
        |side| match side {
            Side::Old(edge) => result.removed_edges.push(edge.id.clone()),
            Side::New(edge) => result.added_edges.push(edge.id.clone()),
            Side::Both(before, after) => {
                if before != after {
                    result.changed_edges.push(after.id.clone());
                }
            }
        },
    );
    result
}

fn compare_nodes(before: &Node, after: &Node, result: &mut GraphDiff) {
    let mut fields = Vec::new();
    if before.type_id != after.type_id {
        fields.push(ChangedField::Type);
    }
    if before.version != after.version {
        fields.push(ChangedField::Version);
    }
    if before.parent != after.parent {
        fields.push(ChangedField::Parent);
    }
    if before.label != after.label {
        fields.push(ChangedField::Label);
    }
    if before.active_take != after.active_take {
        fields.push(ChangedField::ActiveTake);
    }
    if before.params != after.params {
        merge(
            before.params.iter(),
            after.params.iter(),
            |(id, _)| *id,
            |side| match side {
                Side::Old((id, _)) | Side::New((id, _)) => {
                    fields.push(ChangedField::Param(id.clone()));
                }
                Side::Both((id, old), (_, new)) => {
                    if !same_value(old, new) {
                        fields.push(ChangedField::Param(id.clone()));
                    }
                }
            },
        );
    }
    if !fields.is_empty() {
        result.changed_nodes.push(NodeChange {
            id: after.id.clone(),
            fields,
        });
    }
    if !same_position(before.position, after.position) {
        result.moved_nodes.push(NodeMove {
            id: after.id.clone(),
            from: before.position,
            to: after.position,
        });
    }
}

/// Equal values, with numbers compared bit for bit (so a stored NaN is not a change).
fn same_value(old: &ParamValue, new: &ParamValue) -> bool {
    match (old, new) {
        (ParamValue::Number(a), ParamValue::Number(b)) => a.to_bits() == b.to_bits() || a == b,
        _ => old == new,
    }
}

fn same_position(a: Position, b: Position) -> bool {
    (a.x == b.x || a.x.to_bits() == b.x.to_bits()) && (a.y == b.y || a.y.to_bits() == b.y.to_bits())
}

/// Where an item of a merge was found.
enum Side<T> {
    Old(T),
    New(T),
    Both(T, T),
}

/// Walks two sequences sorted by key together, reporting each key once.
fn merge<T, K: Ord + ?Sized>(
    old: impl Iterator<Item = T>,
    new: impl Iterator<Item = T>,
    key: impl Fn(&T) -> &K,
    mut visit: impl FnMut(Side<T>),
) {
    let mut old = old.peekable();
    let mut new = new.peekable();
    loop {
        let order = match (old.peek(), new.peek()) {
            (None, None) => return,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(a), Some(b)) => key(a).cmp(key(b)),
        };
        match order {
            Ordering::Less => visit(Side::Old(old.next().expect("peeked"))),
            Ordering::Greater => visit(Side::New(new.next().expect("peeked"))),
            Ordering::Equal => {
                let a = old.next().expect("peeked");
                let b = new.next().expect("peeked");
                visit(Side::Both(a, b));
            }
        }
    }
}
