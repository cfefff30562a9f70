//! Generate: plan the upstream closure, reuse cached takes, queue the rest wave by wave.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use mdc_runtime::graph::{Graph, NodeId};
use mdc_runtime::plugin::types::{
    ConnectedValue, NodeInput, NodeOutputs, ParamEntry, PortValues, QualityTier, Value,
};
use mdc_runtime::schedule::{AssetHashes, KeyInputs, Plan, cache_key};
use mdc_store::{ExecutionStatus, NewExecution, Store, Tier};
use tokio::sync::Notify;

use super::{PluginSet, request_json};
use crate::wire::decode_outputs;

/// What happened to one node of a generation.
#[derive(Debug, Clone)]
pub enum NodeResult {
    /// Served from the result cache: nothing ran.
    Reused(NodeOutputs),
    /// Ran and produced a new take.
    Generated(NodeOutputs),
    /// Ran and failed.
    Failed(String),
    /// Not run because a node it depends on failed.
    Skipped(String),
}

/// Progress of a generation, for a progress bar or a live event stream.
#[derive(Debug, Clone)]
pub enum GenerateEvent {
    /// The plan is known.
    Planned {
        /// Nodes to bring up to date.
        steps: usize,
    },
    /// A node is done (in whatever way).
    NodeDone {
        /// Its label.
        name: String,
        /// Whether it was served from the cache.
        reused: bool,
        /// Whether it failed or was skipped.
        failed: bool,
    },
}

/// The outcome of a generation.
#[derive(Debug, Clone, Default)]
pub struct GenerateReport {
    /// Every node of the plan, in plan order.
    pub nodes: Vec<(NodeId, NodeResult)>,
}

impl GenerateReport {
    /// The outputs of a node that succeeded.
    pub fn outputs(&self, node: &str) -> Option<&NodeOutputs> {
        self.nodes
            .iter()
            .find(|(id, _)| id.as_str() == node)
            .and_then(|(_, result)| match result {
                NodeResult::Reused(outputs) | NodeResult::Generated(outputs) => Some(outputs),
                _ => None,
            })
    }
}

/// Runs generations against a store whose queue workers serve.
pub struct Generator {
    store: Arc<dyn Store>,
    plugins: Arc<PluginSet>,
    wake_workers: Arc<Notify>,
    completions: Arc<Notify>,
}

/// Asset content hashes fetched before computing keys.
struct Hashes(HashMap<String, String>);

impl AssetHashes for Hashes {
    fn content_hash(&self, asset_id: &str) -> Option<String> {
        self.0.get(asset_id).cloned()
    }
}

impl Generator {
    /// A generator queueing into `store`; `wake_workers` and `completions` come from the
    /// in-process [`super::WorkerPool`] (remote workers are noticed by polling).
    pub fn new(
        store: Arc<dyn Store>,
        plugins: Arc<PluginSet>,
        wake_workers: Arc<Notify>,
        completions: Arc<Notify>,
    ) -> Self {
        Generator {
            store,
            plugins,
            wake_workers,
            completions,
        }
    }

    /// Brings `targets` and everything they depend on up to date at `tier` with `seed`.
    pub async fn generate(
        &self,
        project_id: &str,
        graph: &Graph,
        targets: &[NodeId],
        tier: QualityTier,
        seed: u64,
        events: &(dyn Fn(GenerateEvent) + Sync),
    ) -> anyhow::Result<GenerateReport> {
        let plan = Plan::for_nodes(graph, targets)?;
        events(GenerateEvent::Planned {
            steps: plan.steps.len(),
        });
        let mut results: HashMap<NodeId, NodeResult> = HashMap::new();
        for wave in plan.waves() {
            let mut pending: Vec<(NodeId, String, String)> = Vec::new();
            for node_id in wave {
                let name = graph.name_of(node_id.as_str()).to_string();
                if let Some(failed) = graph
                    .incoming(node_id.as_str())
                    .map(|edge| &edge.source)
                    .find(|source| {
                        !matches!(
                            results.get(*source),
                            Some(NodeResult::Reused(_) | NodeResult::Generated(_))
                        )
                    })
                {
                    let reason = format!(
                        "skipped: upstream \"{}\" did not succeed",
                        graph.name_of(failed.as_str())
                    );
                    events(GenerateEvent::NodeDone {
                        name,
                        reused: false,
                        failed: true,
                    });
                    results.insert(node_id, NodeResult::Skipped(reason));
                    continue;
                }
                let spec = match self
                    .prepare(project_id, graph, &node_id, &results, tier, seed)
                    .await
                {
                    Ok(prepared) => prepared,
                    Err(err) => {
                        events(GenerateEvent::NodeDone {
                            name,
                            reused: false,
                            failed: true,
                        });
                        results.insert(node_id, NodeResult::Failed(format!("{err:#}")));
                        continue;
                    }
                };
                if let Some(take) = self.store.cached_take(&spec.cache_key).await? {
                    let outputs = decode_outputs(&serde_json::from_str(&take.outputs)?)?;
                    self.store.record_reuse(spec, &take).await?;
                    events(GenerateEvent::NodeDone {
                        name,
                        reused: true,
                        failed: false,
                    });
                    results.insert(node_id, NodeResult::Reused(outputs));
                    continue;
                }
                let key = spec.cache_key.clone();
                let execution = self.store.enqueue(spec).await?;
                pending.push((node_id, execution.id, key));
            }
            self.wake_workers.notify_waiters();
            for (node_id, result) in self.wait_for(pending).await? {
                let name = graph.name_of(node_id.as_str()).to_string();
                let failed = !matches!(result, NodeResult::Generated(_));
                events(GenerateEvent::NodeDone {
                    name,
                    reused: false,
                    failed,
                });
                results.insert(node_id, result);
            }
        }
        let nodes = plan
            .steps
            .iter()
            .map(|step| {
                (
                    step.node.clone(),
                    results.remove(&step.node).expect("every step has a result"),
                )
            })
            .collect();
        Ok(GenerateReport { nodes })
    }

    /// Builds the node's input from its parameters and upstream outputs, and its queue entry.
    async fn prepare(
        &self,
        project_id: &str,
        graph: &Graph,
        node_id: &NodeId,
        results: &HashMap<NodeId, NodeResult>,
        tier: QualityTier,
        seed: u64,
    ) -> anyhow::Result<NewExecution> {
        let node = graph
            .node(node_id.as_str())
            .context("node vanished from the graph")?;
        let plugin = self.plugins.require(&node.type_id)?;
        let descriptor = plugin.descriptor();
        let given: Vec<ParamEntry> = node
            .params
            .iter()
            .map(|(id, value)| ParamEntry {
                id: id.clone(),
                value: value.clone(),
            })
            .collect();
        let mut by_port: BTreeMap<String, Vec<ConnectedValue>> = BTreeMap::new();
        let mut edges: Vec<_> = graph.incoming(node_id.as_str()).collect();
        edges.sort_by(|a, b| a.id.cmp(&b.id));
        for edge in edges {
            let outputs = match results.get(&edge.source) {
                Some(NodeResult::Reused(outputs) | NodeResult::Generated(outputs)) => outputs,
                _ => continue,
            };
            for output in outputs.values.iter().filter(|v| v.port == edge.source_port) {
                by_port
                    .entry(edge.target_port.clone())
                    .or_default()
                    .push(ConnectedValue {
                        source_node: edge.source.as_str().to_string(),
                        source_port: edge.source_port.clone(),
                        value: output.value.clone(),
                    });
            }
        }
        let input = NodeInput {
            node_id: node_id.as_str().to_string(),
            params: descriptor.params_with_defaults(given),
            inputs: by_port
                .into_iter()
                .map(|(port, values)| PortValues { port, values })
                .collect(),
            tier,
            seed,
        };
        let mut hashes = HashMap::new();
        for value in input.inputs.iter().flat_map(|port| &port.values) {
            if let Value::Asset(asset) = &value.value {
                let stored = self.store.asset(&asset.id).await?;
                hashes.insert(asset.id.clone(), stored.data.sha256);
            }
        }
        let key = cache_key(
            KeyInputs {
                plugin_digest: plugin.digest(),
                params: &input.params,
                inputs: &input.inputs,
                tier,
                seed,
            },
            &Hashes(hashes),
        )?;
        let spec = NewExecution {
            project_id: project_id.to_string(),
            node_id: node_id.as_str().to_string(),
            plugin_type: descriptor.type_id.clone(),
            plugin_version: descriptor.version.clone(),
            tier: Tier::parse(tier.id()).expect("tiers share their ids"),
            priority: 0,
            request: request_json(plugin, &input),
            // Takes are reused within a project only: their assets belong to it.
            cache_key: format!("{project_id}:{key}"),
            requested_by: None,
        };
        Ok(spec)
    }

    /// Waits until every pending execution is final and reads its outputs.
    async fn wait_for(
        &self,
        mut pending: Vec<(NodeId, String, String)>,
    ) -> anyhow::Result<Vec<(NodeId, NodeResult)>> {
        let mut done = Vec::new();
        while !pending.is_empty() {
            let notified = self.completions.notified();
            let mut still = Vec::new();
            for (node_id, execution_id, key) in pending {
                let execution = self.store.execution(&execution_id).await?;
                match execution.status {
                    ExecutionStatus::Succeeded => {
                        let take = self
                            .store
                            .cached_take(&key)
                            .await?
                            .context("a finished execution has a take")?;
                        done.push((
                            node_id,
                            NodeResult::Generated(decode_outputs(&serde_json::from_str(
                                &take.outputs,
                            )?)?),
                        ));
                    }
                    ExecutionStatus::Failed | ExecutionStatus::Cancelled => {
                        let error = execution
                            .error
                            .unwrap_or_else(|| execution.status.as_str().to_string());
                        done.push((node_id, NodeResult::Failed(error)));
                    }
                    ExecutionStatus::Queued | ExecutionStatus::Running => {
                        still.push((node_id, execution_id, key))
                    }
                }
            }
            pending = still;
            if !pending.is_empty() {
                tokio::select! {
                    () = notified => {}
                    () = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        }
        Ok(done)
    }
}
