//! Edits that remember what they replaced, so a batch of them can be undone or summarised.

use std::collections::BTreeMap;

use super::ids::{EdgeId, NodeId};
use super::model::{Edge, Graph, Node};
use super::patch::PatchReport;

/// The state before the first edit of every node and edge a batch touched.
#[derive(Default)]
pub(super) struct Journal {
    nodes: BTreeMap<NodeId, Option<Node>>,
    edges: BTreeMap<EdgeId, Option<Edge>>,
}

impl Journal {
    pub(super) fn insert_node(&mut self, graph: &mut Graph, node: Node) {
        let id = node.id.clone();
        let previous = graph.insert_node(node);
        self.nodes.entry(id).or_insert(previous);
    }

    pub(super) fn remove_node(&mut self, graph: &mut Graph, id: &str) {
        let removed = graph.remove_node(id);
        for node in removed.nodes {
            self.nodes.entry(node.id.clone()).or_insert(Some(node));
        }
        for edge in removed.edges {
            self.edges.entry(edge.id.clone()).or_insert(Some(edge));
        }
    }

    pub(super) fn insert_edge(&mut self, graph: &mut Graph, edge: Edge) {
        let id = edge.id.clone();
        let previous = graph.insert_edge(edge);
        self.edges.entry(id).or_insert(previous);
    }

    pub(super) fn remove_edge(&mut self, graph: &mut Graph, id: &str) {
        if let Some(edge) = graph.remove_edge(id) {
            self.edges.entry(edge.id.clone()).or_insert(Some(edge));
        }
    }

    /// Puts every touched node and edge back as it was.
    pub(super) fn roll_back(self, graph: &mut Graph) {
        for (id, before) in self.nodes {
            match before {
                Some(node) => {
                    graph.insert_node(node);
                }
                None => {
                    graph.take_node(id.as_str());
                }
            }
        }
        for (id, before) in self.edges {
            match before {
                Some(edge) => {
                    graph.insert_edge(edge);
                }
                None => {
                    graph.remove_edge(id.as_str());
                }
            }
        }
    }

    /// What the batch changed, comparing each touched id's first and current state.
    pub(super) fn report(&self, graph: &Graph) -> PatchReport {
        let mut report = PatchReport::default();
        for (id, before) in &self.nodes {
            match (before, graph.node(id.as_str())) {
                (None, Some(_)) => report.nodes_added.push(id.clone()),
                (Some(_), None) => report.nodes_removed.push(id.clone()),
                (Some(before), Some(after)) if before != after => {
                    report.nodes_updated.push(id.clone());
                }
                _ => {}
            }
        }
        for (id, before) in &self.edges {
            match (before, graph.edge(id.as_str())) {
                (None, Some(_)) => report.edges_added.push(id.clone()),
                (Some(_), None) => report.edges_removed.push(id.clone()),
                (Some(before), Some(after)) if before != after => {
                    report.edges_updated.push(id.clone());
                }
                _ => {}
            }
        }
        report
    }
}
