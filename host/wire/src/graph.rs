//! Graph snapshots ([`GraphDocument`]): what `graph_states` keeps, what a generation runs
//! on, and the graph as JSON that the server hands to clients. Field names follow the
//! canvas (`sourceHandle`, `activeTake`).

use std::collections::BTreeMap;

use mdc_runtime::graph::{Edge, Graph, Node};
use serde::{Deserialize, Serialize};

use crate::{DecodeError, EncodeError, ParamRecord, finite, read, text};

/// A whole graph: its nodes and edges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphDocument {
    /// Every node, groups included.
    pub nodes: Vec<NodeRecord>,
    /// Every edge.
    pub edges: Vec<EdgeRecord>,
}

/// A node of a [`GraphDocument`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeRecord {
    /// Stable node id.
    pub id: String,
    /// Node type id (`shot`, `subflow`).
    #[serde(rename = "type")]
    pub type_id: String,
    /// Version of the node type the node was made with.
    pub version: String,
    /// Where the node sits on the canvas.
    #[serde(default)]
    pub position: PositionRecord,
    /// The enclosing group, if any.
    #[serde(default)]
    pub parent: Option<String>,
    /// What the user calls the node; may be empty.
    pub label: String,
    /// Parameter values the user set, by parameter id.
    #[serde(default)]
    pub params: BTreeMap<String, ParamRecord>,
    /// The take the user chose, if any.
    #[serde(default)]
    pub active_take: Option<String>,
}

/// A position on the canvas.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct PositionRecord {
    /// Horizontal, growing rightwards.
    pub x: f64,
    /// Vertical, growing downwards.
    pub y: f64,
}

/// An edge of a [`GraphDocument`]: from an output port to an input port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EdgeRecord {
    /// Stable edge id.
    pub id: String,
    /// The node the value comes from.
    pub source: String,
    /// Its output port.
    pub source_handle: String,
    /// The node the value goes to.
    pub target: String,
    /// Its input port.
    pub target_handle: String,
}

impl GraphDocument {
    /// The document of `graph`; refuses a number (parameter or position) that is not finite.
    pub fn from_graph(graph: &Graph) -> Result<GraphDocument, EncodeError> {
        let nodes = graph
            .nodes()
            .map(|node| {
                let id = node.id.as_str();
                let params = node
                    .params
                    .iter()
                    .map(|(param, value)| {
                        let at = || format!("parameter {param:?} of node {id:?}");
                        Ok((param.clone(), ParamRecord::at(value, &at)?))
                    })
                    .collect::<Result<_, EncodeError>>()?;
                let at = || format!("the position of node {id:?}");
                Ok(NodeRecord {
                    id: id.to_string(),
                    type_id: node.type_id.clone(),
                    version: node.version.clone(),
                    position: PositionRecord {
                        x: finite(node.position.x, &at)?,
                        y: finite(node.position.y, &at)?,
                    },
                    parent: node.parent.as_ref().map(|p| p.as_str().to_string()),
                    label: node.label.clone(),
                    params,
                    active_take: node.active_take.clone(),
                })
            })
            .collect::<Result<_, EncodeError>>()?;
        let edges = graph
            .edges()
            .map(|edge| EdgeRecord {
                id: edge.id.as_str().to_string(),
                source: edge.source.as_str().to_string(),
                source_handle: edge.source_port.clone(),
                target: edge.target.as_str().to_string(),
                target_handle: edge.target_port.clone(),
            })
            .collect();
        Ok(GraphDocument { nodes, edges })
    }

    /// The graph this document describes.
    pub fn into_graph(self) -> Graph {
        let nodes = self.nodes.into_iter().map(|record| {
            let mut node = Node::new(record.id, record.type_id, record.version)
                .with_label(record.label)
                .with_position(record.position.x, record.position.y);
            if let Some(parent) = record.parent {
                node = node.with_parent(parent);
            }
            if let Some(take) = record.active_take {
                node = node.with_active_take(take);
            }
            for (id, value) in record.params {
                node = node.with_param(id, value.into());
            }
            node
        });
        let edges = self.edges.into_iter().map(|e| {
            Edge::new(
                e.id,
                (e.source, e.source_handle),
                (e.target, e.target_handle),
            )
        });
        Graph::from_parts(nodes, edges)
    }
}

/// A graph snapshot as JSON text; refuses a number that is not finite.
pub fn encode_graph(graph: &Graph) -> Result<String, EncodeError> {
    Ok(text(&GraphDocument::from_graph(graph)?))
}

/// Reads a graph snapshot written by [`encode_graph`].
pub fn decode_graph(json: &str) -> Result<Graph, DecodeError> {
    read::<GraphDocument>("a graph", json).map(GraphDocument::into_graph)
}
