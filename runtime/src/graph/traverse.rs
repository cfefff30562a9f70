//! Following edges: what a node depends on, what depends on it, and an order to run them in.

use std::collections::{HashSet, VecDeque};
use std::fmt;

use super::ids::NodeId;
use super::model::Graph;
use super::numbering::AddressMap;
use super::topology::Topology;

/// Nodes that depend on each other in a loop, so no order can run them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("these nodes form a cycle: {}", CyclePath(&self.names))]
pub struct CycleError {
    /// The nodes around the cycle, each feeding the next and the last feeding the first.
    pub nodes: Vec<NodeId>,
    /// How messages name those nodes (labels, or ids for unlabelled nodes).
    pub names: Vec<String>,
}

impl CycleError {
    /// The cycle through `nodes` in `graph`, named as the graph names them.
    pub fn new(graph: &Graph, nodes: Vec<NodeId>) -> CycleError {
        let names = nodes
            .iter()
            .map(|id| graph.name_of(id.as_str()).to_string())
            .collect();
        CycleError { nodes, names }
    }

    /// The cycle as text: `A → B → C → A`.
    pub fn path(&self) -> String {
        CyclePath(&self.names).to_string()
    }
}

/// Shows names around a cycle: `A → B → A`.
pub(super) struct CyclePath<'a, T>(pub(super) &'a [T]);

impl<T: AsRef<str>> fmt::Display for CyclePath<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for name in self.0 {
            write!(f, "{} → ", name.as_ref())?;
        }
        match self.0.first() {
            Some(first) => f.write_str(first.as_ref()),
            None => Ok(()),
        }
    }
}

impl Graph {
    /// Everything `node` needs to run, following edges upstream: dependencies first, each
    /// after its own dependencies, `node` last. Groups (parents) are not dependencies; edges
    /// from missing nodes are skipped. Empty when there is no such node.
    pub fn upstream_closure(&self, node: &str) -> Result<Vec<NodeId>, CycleError> {
        let Some(start) = self.node(node) else {
            return Ok(Vec::new());
        };
        #[derive(Clone, Copy)]
        enum Mark {
            Active,
            Done,
        }
        // Keyed by the address of each node's own id (see `numbering`).
        let mut marks: AddressMap<Mark> = AddressMap::default();
        marks.insert(start.id.address(), Mark::Active);
        let mut order: Vec<NodeId> = Vec::new();
        // The depth-first path, each node with the sources of its incoming edges still to
        // visit (reversed, so popping yields them in edge id order).
        let mut path: Vec<(&NodeId, Vec<&NodeId>)> = vec![(&start.id, self.dependencies(node))];
        while let Some((id, pending)) = path.last_mut() {
            let id: &NodeId = id;
            let Some(next) = pending.pop() else {
                marks.insert(id.address(), Mark::Done);
                order.push(id.clone());
                path.pop();
                continue;
            };
            // Edge ends usually share their node's id; otherwise look the node up by text.
            let (next, mark) = match marks.get(&next.address()) {
                Some(&mark) => (next, Some(mark)),
                None => match self.node(next.as_str()) {
                    Some(node) => (&node.id, marks.get(&node.id.address()).copied()),
                    None => continue, // an edge from a missing node
                },
            };
            match mark {
                Some(Mark::Done) => {}
                Some(Mark::Active) => {
                    // `next` feeds the node on top of the path, which is fed (transitively)
                    // by the nodes above `next` on the path.
                    let from = path
                        .iter()
                        .position(|(on_path, _)| *on_path == next)
                        .unwrap_or_default();
                    let mut cycle = vec![next.clone()];
                    cycle.extend(path[from + 1..].iter().rev().map(|(id, _)| (*id).clone()));
                    return Err(CycleError::new(self, cycle));
                }
                None => {
                    marks.insert(next.address(), Mark::Active);
                    path.push((next, self.dependencies(next.as_str())));
                }
            }
        }
        Ok(order)
    }

    /// Every node that depends on `node`, directly or not, nearest first; without `node`.
    pub fn downstream_of(&self, node: &str) -> Vec<NodeId> {
        let Some(start) = self.node(node) else {
            return Vec::new();
        };
        let mut seen: HashSet<&str> = HashSet::from([start.id.as_str()]);
        let mut found = Vec::new();
        let mut queue = VecDeque::from([&start.id]);
        while let Some(id) = queue.pop_front() {
            for target in self.targets_of(id.as_str()) {
                if !seen.contains(target.as_str())
                    && let Some(target) = self.node(target.as_str())
                    && seen.insert(target.id.as_str())
                {
                    found.push(target.id.clone());
                    queue.push_back(&target.id);
                }
            }
        }
        found
    }

    /// Every node, each after everything it depends on; of the nodes ready at once, the
    /// smallest id first.
    pub fn topological_order(&self) -> Result<Vec<NodeId>, CycleError> {
        let topology = Topology::whole(self);
        if let Some(order) = topology.topological() {
            return Ok(order.into_iter().map(|v| topology.id(v).clone()).collect());
        }
        let components = topology.cyclic_components();
        let start = components.list[0][0];
        let cycle = topology
            .cycle_through(&components, start)
            .into_iter()
            .map(|v| topology.id(v).clone())
            .collect();
        Err(CycleError::new(self, cycle))
    }

    /// The sources of the edges into `node`, in reversed edge id order (repeated or missing
    /// nodes are the search's business).
    fn dependencies(&self, node: &str) -> Vec<&NodeId> {
        let mut sources: Vec<&NodeId> = self.sources_of(node).collect();
        sources.reverse();
        sources
    }
}
