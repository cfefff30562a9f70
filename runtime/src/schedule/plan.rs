//! What must run, in which order, when a user presses Generate on a node.

use std::collections::{BTreeSet, HashMap};

use crate::graph::{CycleError, Graph, NodeId, SUBFLOW_TYPE};

/// One node to bring up to date, after the nodes it depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The node.
    pub node: NodeId,
    /// Nodes of the plan whose outputs it consumes.
    pub depends_on: Vec<NodeId>,
}

/// The upstream closure of a target in dependency order. Each step is either served from the
/// result cache (when its key is known) or executed; steps whose dependencies are done may
/// run in parallel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Steps, dependencies first; the target is last.
    pub steps: Vec<Step>,
}

/// Why a plan could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The target does not exist.
    #[error("node {0:?} does not exist")]
    UnknownNode(String),
    /// The target is a group, which does not generate.
    #[error("{0:?} is a group; generate its shots instead")]
    Group(String),
    /// The graph has a cycle upstream of the target.
    #[error(transparent)]
    Cycle(#[from] CycleError),
}

impl Plan {
    /// Plans the generation of `target` (groups are skipped: they have no plugin).
    pub fn for_node(graph: &Graph, target: &str) -> Result<Plan, PlanError> {
        let node = graph
            .node(target)
            .ok_or_else(|| PlanError::UnknownNode(target.to_string()))?;
        if node.type_id == SUBFLOW_TYPE {
            return Err(PlanError::Group(node.name().to_string()));
        }
        Plan::for_nodes(graph, &[NodeId::new(target)])
    }

    /// Plans several targets at once; shared upstream nodes appear once.
    pub fn for_nodes(graph: &Graph, targets: &[NodeId]) -> Result<Plan, PlanError> {
        let mut included: BTreeSet<NodeId> = BTreeSet::new();
        let mut order = Vec::new();
        for target in targets {
            if graph.node(target.as_str()).is_none() {
                return Err(PlanError::UnknownNode(target.as_str().to_string()));
            }
            for id in graph.upstream_closure(target.as_str())? {
                if included.insert(id.clone()) {
                    order.push(id);
                }
            }
        }
        // The closures are each topological; merging keeps every node after its sources
        // because a source is always inserted by the first closure that reaches it.
        let position: HashMap<&NodeId, usize> =
            order.iter().enumerate().map(|(i, id)| (id, i)).collect();
        let mut steps = Vec::with_capacity(order.len());
        for id in &order {
            let node = graph
                .node(id.as_str())
                .expect("closure holds existing nodes");
            if node.type_id == SUBFLOW_TYPE {
                continue;
            }
            let mut depends_on: Vec<NodeId> = graph
                .incoming(id.as_str())
                .map(|edge| edge.source.clone())
                .filter(|source| position.contains_key(source))
                .collect();
            depends_on.sort();
            depends_on.dedup();
            steps.push(Step {
                node: id.clone(),
                depends_on,
            });
        }
        Ok(Plan { steps })
    }

    /// Groups of steps that can run together: each wave depends only on earlier waves.
    pub fn waves(&self) -> Vec<Vec<NodeId>> {
        let mut level: HashMap<&NodeId, usize> = HashMap::new();
        let mut waves: Vec<Vec<NodeId>> = Vec::new();
        for step in &self.steps {
            let wave = step
                .depends_on
                .iter()
                .filter_map(|dep| level.get(dep))
                .map(|l| l + 1)
                .max()
                .unwrap_or(0);
            level.insert(&step.node, wave);
            if waves.len() <= wave {
                waves.resize_with(wave + 1, Vec::new);
            }
            waves[wave].push(step.node.clone());
        }
        waves
    }
}
