//! Generate: plan the upstream closure, reuse cached takes, queue the rest wave by wave.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use mdc_runtime::graph::{Catalog, DescriptorCatalog, Graph, NodeId, validate};
use mdc_runtime::plugin::types::{
    ConnectedValue, NodeInput, NodeOutputs, ParamEntry, PortValues, QualityTier, Severity, Value,
};
use mdc_runtime::schedule::{AssetHashes, KeyInputs, Plan, cache_key};
use mdc_store::{Execution, ExecutionStatus, NewExecution, Store, Take, Tier};
use tokio::sync::{Notify, broadcast};

use super::{Finished, PluginSet, request_json};
use crate::wire::decode_outputs;

/// What a Generate asks for besides its targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateRequest {
    /// The quality tier every node runs at.
    pub tier: QualityTier,
    /// The seed of every random choice, so each take can be regenerated exactly.
    pub seed: u64,
    /// The user who asked (recorded on every execution), if known.
    pub requested_by: Option<String>,
}

impl GenerateRequest {
    /// A Draft-tier request with `seed`, on nobody's behalf (the terminal).
    pub fn draft(seed: u64) -> GenerateRequest {
        GenerateRequest {
            tier: QualityTier::Low,
            seed,
            requested_by: None,
        }
    }
}

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
    finished: broadcast::Sender<Arc<Finished>>,
    /// The plugins' descriptors, for checking a plan before anything is queued.
    catalog: DescriptorCatalog,
}

/// Asset content hashes fetched before computing keys.
struct Hashes(HashMap<String, String>);

impl AssetHashes for Hashes {
    fn content_hash(&self, asset_id: &str) -> Option<String> {
        self.0.get(asset_id).cloned()
    }
}

impl Generator {
    /// A generator queueing into `store`; `wake_workers` and `finished` come from the
    /// in-process [`super::WorkerPool`] (remote workers are noticed by polling).
    pub fn new(
        store: Arc<dyn Store>,
        plugins: Arc<PluginSet>,
        wake_workers: Arc<Notify>,
        finished: broadcast::Sender<Arc<Finished>>,
    ) -> Self {
        Generator {
            catalog: plugins.catalog(),
            store,
            plugins,
            wake_workers,
            finished,
        }
    }

    /// Brings `targets` and everything they depend on up to date as `request` says.
    pub async fn generate(
        &self,
        project_id: &str,
        graph: &Graph,
        targets: &[NodeId],
        request: &GenerateRequest,
        events: &(dyn Fn(GenerateEvent) + Sync),
    ) -> anyhow::Result<GenerateReport> {
        let plan = Plan::for_nodes(graph, targets)?;
        events(GenerateEvent::Planned {
            steps: plan.steps.len(),
        });
        let mut results: HashMap<NodeId, NodeResult> = HashMap::new();
        let blocked = blocking_problems(&plan_graph(graph, &plan), &self.catalog);
        let targets: std::collections::HashSet<&NodeId> = targets.iter().collect();
        let mut finished = self.finished.subscribe();
        for wave in plan.waves() {
            let mut ready: Vec<(NodeId, NewExecution)> = Vec::new();
            for node_id in wave {
                let name = graph.name_of(node_id.as_str()).to_string();
                // A take the user chose serves everything downstream; only Generate on the
                // node itself replaces it.
                if !targets.contains(&node_id)
                    && let Some(outputs) = self.chosen_take(project_id, graph, &node_id).await?
                {
                    events(GenerateEvent::NodeDone {
                        name,
                        reused: true,
                        failed: false,
                    });
                    results.insert(node_id, NodeResult::Reused(outputs));
                    continue;
                }
                let prepared = match upstream_failure(graph, &node_id, &results) {
                    Some(reason) => Err(NodeResult::Skipped(reason)),
                    None if blocked.contains_key(&node_id) => Err(NodeResult::Failed(format!(
                        "cannot run: {}",
                        blocked[&node_id].join(" ")
                    ))),
                    None => self
                        .prepare(project_id, graph, &node_id, &results, request)
                        .await
                        .map_err(|err| NodeResult::Failed(format!("{err:#}"))),
                };
                match prepared {
                    Ok(spec) => ready.push((node_id, spec)),
                    Err(result) => {
                        events(GenerateEvent::NodeDone {
                            name,
                            reused: false,
                            failed: true,
                        });
                        results.insert(node_id, result);
                    }
                }
            }
            let keys: Vec<String> = ready.iter().map(|(_, s)| s.cache_key.clone()).collect();
            let cached = self.store.cached_takes(&keys).await?;
            let (hits, misses): (Vec<_>, Vec<_>) = ready
                .into_iter()
                .partition(|(_, spec)| cached.contains_key(&spec.cache_key));
            let mut reuses = Vec::with_capacity(hits.len());
            let mut misses = misses;
            for (node_id, spec) in hits {
                let take = &cached[&spec.cache_key];
                // A take this host cannot read (written by an older one, say) must not fail
                // the node for ever: it is run again, and its new take replaces this one.
                let outputs = match read_take(take) {
                    Ok(outputs) => outputs,
                    Err(err) => {
                        tracing::warn!(node = %node_id, take = %take.id, err = format!("{err:#}"),
                            "the cached take cannot be read; running the node again");
                        misses.push((node_id, spec));
                        continue;
                    }
                };
                events(GenerateEvent::NodeDone {
                    name: graph.name_of(node_id.as_str()).to_string(),
                    reused: true,
                    failed: false,
                });
                results.insert(node_id, NodeResult::Reused(outputs));
                reuses.push(spec);
            }
            self.store.record_reuses(reuses).await?;
            let (nodes, specs): (Vec<NodeId>, Vec<NewExecution>) = misses.into_iter().unzip();
            let queued = self.store.enqueue_many(specs).await?;
            self.wake_workers.notify_waiters();
            let pending = queued
                .into_iter()
                .zip(nodes)
                .map(|(execution, node)| (execution.id, (node, execution.spec.cache_key)))
                .collect();
            for (node_id, result) in self.wait_for(pending, &mut finished).await? {
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

    /// The outputs of the take chosen on `node`, when one is chosen and still exists in this
    /// project (a take deleted since is ignored: the node is brought up to date instead).
    async fn chosen_take(
        &self,
        project_id: &str,
        graph: &Graph,
        node: &NodeId,
    ) -> anyhow::Result<Option<NodeOutputs>> {
        let Some(take_id) = graph
            .node(node.as_str())
            .and_then(|n| n.active_take.as_deref())
        else {
            return Ok(None);
        };
        let take = match self.store.take(take_id).await {
            Ok(take) if take.project_id == project_id && take.node_id == node.as_str() => take,
            Ok(_) | Err(mdc_store::StoreError::NotFound { .. }) => {
                tracing::warn!(%node, take = take_id, "the chosen take is not this node's; ignoring it");
                return Ok(None);
            }
            Err(err) => return Err(err.into()),
        };
        match read_take(&take) {
            Ok(outputs) => Ok(Some(outputs)),
            Err(err) => {
                tracing::warn!(%node, take = take_id, err = format!("{err:#}"),
                    "the chosen take cannot be read; ignoring it");
                Ok(None)
            }
        }
    }

    /// Builds the node's input from its parameters and upstream outputs, and its queue entry.
    async fn prepare(
        &self,
        project_id: &str,
        graph: &Graph,
        node_id: &NodeId,
        results: &HashMap<NodeId, NodeResult>,
        request: &GenerateRequest,
    ) -> anyhow::Result<NewExecution> {
        let (tier, seed) = (request.tier, request.seed);
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
        // Library assets referenced by parameters (a character's sheet): an edit to one
        // changes the key of every node that uses it, so the next Generate redoes them.
        let references = crate::library::reference_fingerprint(
            self.store.as_ref(),
            &crate::library::asset_ref_ids(&input.params),
        )
        .await?;
        let spec = NewExecution {
            project_id: project_id.to_string(),
            node_id: node_id.as_str().to_string(),
            plugin_type: descriptor.type_id.clone(),
            plugin_version: descriptor.version.clone(),
            tier: Tier::parse(tier.id()).expect("tiers share their ids"),
            priority: 0,
            request: request_json(plugin, &input)?,
            // Takes are reused within a project only: their assets belong to it.
            cache_key: if references.is_empty() {
                format!("{project_id}:{key}")
            } else {
                format!("{project_id}:{key}:{references}")
            },
            requested_by: request.requested_by.clone(),
        };
        Ok(spec)
    }

    /// Waits until every pending execution (id → node, cache key) is final. Workers of this
    /// process announce what they finish; the store is re-read every [`POLL`] (and whenever
    /// announcements were missed) for executions that workers elsewhere run.
    async fn wait_for(
        &self,
        mut pending: HashMap<String, (NodeId, String)>,
        finished: &mut broadcast::Receiver<Arc<Finished>>,
    ) -> anyhow::Result<Vec<(NodeId, NodeResult)>> {
        let mut done = Vec::with_capacity(pending.len());
        let mut next_poll = tokio::time::Instant::now() + POLL;
        let mut outage: Option<Instant> = None;
        while !pending.is_empty() {
            tokio::select! {
                event = finished.recv() => match event {
                    Ok(event) => {
                        if let Some((node, _)) = pending.remove(&event.execution.id) {
                            done.push((node, result_of(&event.execution, event.take.as_ref())?));
                        }
                        continue;
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => {
                        tokio::time::sleep_until(next_poll).await;
                    }
                },
                () = tokio::time::sleep_until(next_poll) => {}
            }
            next_poll = tokio::time::Instant::now() + POLL;
            match self.poll(&mut pending).await {
                Ok(finished) => {
                    outage = None;
                    done.extend(finished);
                }
                // The database went away: workers keep their jobs and retry; wait for it.
                Err(err) if outage.get_or_insert_with(Instant::now).elapsed() < OUTAGE_PATIENCE => {
                    tracing::warn!(%err, "cannot read executions; retrying");
                }
                Err(err) => {
                    return Err(err.context(format!(
                        "the database has not answered for {} s while waiting for {} executions",
                        OUTAGE_PATIENCE.as_secs(),
                        pending.len()
                    )));
                }
            }
        }
        Ok(done)
    }

    /// Reads the pending executions from the store and takes out those that are final.
    async fn poll(
        &self,
        pending: &mut HashMap<String, (NodeId, String)>,
    ) -> anyhow::Result<Vec<(NodeId, NodeResult)>> {
        let ids: Vec<String> = pending.keys().cloned().collect();
        let finals: Vec<Execution> = self
            .store
            .executions(&ids)
            .await?
            .into_iter()
            .filter(|e| e.status.is_final())
            .collect();
        let keys: Vec<String> = finals
            .iter()
            .filter(|e| e.status == ExecutionStatus::Succeeded)
            .map(|e| e.spec.cache_key.clone())
            .collect();
        let takes = self.store.cached_takes(&keys).await?;
        let mut done = Vec::with_capacity(finals.len());
        for execution in finals {
            let (node, key) = pending.remove(&execution.id).expect("polled a pending id");
            done.push((node, result_of(&execution, takes.get(&key))?));
        }
        Ok(done)
    }
}

/// How often the store is re-read for executions run by workers of other processes.
const POLL: Duration = Duration::from_millis(500);
/// How long a generation waits for a database that stopped answering before it gives up
/// (the executions themselves are not lost: workers record them once it is back).
const OUTAGE_PATIENCE: Duration = Duration::from_secs(60);

/// The result of a final execution (with its take when it succeeded).
fn result_of(execution: &Execution, take: Option<&Take>) -> anyhow::Result<NodeResult> {
    Ok(match execution.status {
        ExecutionStatus::Succeeded => {
            let take = take.context("a finished execution has a take")?;
            NodeResult::Generated(read_take(take)?)
        }
        _ => NodeResult::Failed(
            execution
                .error
                .clone()
                .unwrap_or_else(|| execution.status.as_str().to_string()),
        ),
    })
}

/// The outputs a take holds.
fn read_take(take: &Take) -> anyhow::Result<NodeOutputs> {
    let json = serde_json::from_str(&take.outputs)
        .with_context(|| format!("take {} is not JSON", take.id))?;
    decode_outputs(&json).with_context(|| format!("take {} cannot be read", take.id))
}

/// The part of `graph` a plan touches: its nodes with their enclosing groups, and the edges
/// into them (whose sources are in the plan too: it is an upstream closure). Validating this
/// instead of the whole project keeps Generate on one node as cheap as the node.
fn plan_graph(graph: &Graph, plan: &Plan) -> Graph {
    let mut part = Graph::new();
    for step in &plan.steps {
        let mut next = Some(step.node.clone());
        while let Some(id) = next.take() {
            if part.node(id.as_str()).is_some() {
                break;
            }
            let Some(node) = graph.node(id.as_str()) else {
                break;
            };
            next = node.parent.clone();
            part.insert_node(node.clone());
        }
    }
    for step in &plan.steps {
        for edge in graph.incoming(step.node.as_str()) {
            part.insert_edge(edge.clone());
        }
    }
    part
}

/// What stops nodes from running, by node: the graph's errors against the installed node
/// types (unknown type, missing required input, incompatible or doubled edges into it, bad
/// parameter values, cycles). Such a node fails with these sentences and its dependents are
/// skipped; nothing is queued for it.
fn blocking_problems(graph: &Graph, catalog: &dyn Catalog) -> HashMap<NodeId, Vec<String>> {
    let mut blocked: HashMap<NodeId, Vec<String>> = HashMap::new();
    for problem in validate(graph, catalog) {
        if problem.severity != Severity::Error {
            continue;
        }
        let mut nodes: Vec<NodeId> = problem.node.iter().cloned().collect();
        if let Some(edge) = problem.edge.as_ref().and_then(|id| graph.edge(id.as_str())) {
            nodes.push(edge.target.clone());
        }
        nodes.extend(problem.related.iter().cloned());
        for node in nodes {
            let messages = blocked.entry(node).or_default();
            if !messages.contains(&problem.message) {
                messages.push(problem.message.clone());
            }
        }
    }
    blocked
}

/// Why `node` cannot run: an upstream node that did not succeed, if any.
fn upstream_failure(
    graph: &Graph,
    node: &NodeId,
    results: &HashMap<NodeId, NodeResult>,
) -> Option<String> {
    let failed = graph
        .incoming(node.as_str())
        .map(|edge| &edge.source)
        .find(|source| {
            !matches!(
                results.get(*source),
                Some(NodeResult::Reused(_) | NodeResult::Generated(_))
            )
        })?;
    Some(format!(
        "skipped: upstream \"{}\" did not succeed",
        graph.name_of(failed.as_str())
    ))
}

#[cfg(test)]
mod tests {
    use mdc_runtime::graph::{Edge, Node};
    use mdc_runtime::plugin::types::ParamValue;
    use mdc_store::{ExecutionQueue, Page};

    use super::*;
    use crate::production::testing::{Fixture, first_party_plugins, fixture};

    fn character(id: &str, name: &str) -> Node {
        Node::new(id, "character", "0.1.0")
            .with_label(name)
            .with_param("name", ParamValue::Text(name.into()))
    }

    /// MAYA (`character`) wired into `shot-1`.
    fn maya_in_a_shot(maya: Node) -> Graph {
        let mut graph = Graph::new();
        graph.insert_node(maya);
        graph.insert_node(
            Node::new("shot-1", "shot", "0.1.0")
                .with_param("prompt", ParamValue::Text("Maya waits".into())),
        );
        graph.insert_edge(Edge::new(
            "e1",
            ("maya", "character"),
            ("shot-1", "characters"),
        ));
        graph
    }

    async fn generate(
        f: &Fixture,
        pool: &crate::production::WorkerPool,
        graph: &Graph,
        targets: &[&str],
    ) -> GenerateReport {
        let generator = Generator::new(
            f.store.clone(),
            f.plugins.clone(),
            pool.waker(),
            pool.finished(),
        );
        let targets: Vec<NodeId> = targets.iter().map(|t| NodeId::new(*t)).collect();
        generator
            .generate(
                &f.project_id,
                graph,
                &targets,
                &GenerateRequest {
                    requested_by: Some("user-ana".into()),
                    ..GenerateRequest::draft(1)
                },
                &|_| {},
            )
            .await
            .unwrap()
    }

    fn result<'r>(report: &'r GenerateReport, id: &str) -> &'r NodeResult {
        report
            .nodes
            .iter()
            .find(|(node, _)| node.as_str() == id)
            .map(|(_, r)| r)
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_node_whose_inputs_are_invalid_fails_clearly_and_queues_nothing() {
        let f = fixture(&[first_party_plugins().as_path()]).await;
        // MAYA's age is out of range; the shot she is wired into depends on her.
        let mut graph =
            maya_in_a_shot(character("maya", "MAYA").with_param("age", ParamValue::Integer(500)));
        graph.insert_node(character("tom", "TOM"));
        let pool = f.pool();
        let report = generate(&f, &pool, &graph, &["shot-1", "tom"]).await;
        pool.stop().await;

        match result(&report, "maya") {
            NodeResult::Failed(why) => {
                assert!(
                    why.starts_with("cannot run:") && why.contains("150"),
                    "{why}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(result(&report, "shot-1"), NodeResult::Skipped(_)));
        assert!(
            matches!(result(&report, "tom"), NodeResult::Generated(_)),
            "unrelated nodes still run"
        );
        for node in ["maya", "shot-1"] {
            let executions = f
                .store
                .node_executions(&f.project_id, node, Page::default())
                .await
                .unwrap();
            assert!(executions.is_empty(), "nothing queued for {node}");
        }
        let tom = f
            .store
            .node_executions(&f.project_id, "tom", Page::default())
            .await
            .unwrap();
        assert_eq!(
            tom[0].spec.requested_by.as_deref(),
            Some("user-ana"),
            "who asked"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cached_take_that_cannot_be_read_is_a_cache_miss() {
        let f = fixture(&[first_party_plugins().as_path()]).await;
        let graph = maya_in_a_shot(character("maya", "MAYA"));
        let pool = f.pool();
        generate(&f, &pool, &graph, &["maya"]).await;
        pool.stop().await;

        // An older host stored a take it cannot read back (a NaN written as `null`) under
        // the key the next Generate of MAYA looks up.
        let executions = f
            .store
            .node_executions(&f.project_id, "maya", Page::default())
            .await
            .unwrap();
        let spec = executions[0].spec.clone();
        let queued = f.store.enqueue(spec).await.unwrap();
        let claimed = f
            .store
            .claim_many("older-host", &[Tier::Low], Duration::from_secs(30), 1)
            .await
            .unwrap();
        assert_eq!(claimed[0].id, queued.id);
        let unreadable =
            r#"{"summary": "", "values": [{"port": "character", "value": {"number": null}}]}"#;
        f.store
            .finish_many(
                "older-host",
                vec![(
                    queued.id.clone(),
                    mdc_store::Outcome::Succeeded {
                        outputs: unreadable.into(),
                        usage: "{}".into(),
                    },
                )],
            )
            .await
            .unwrap();

        // Generate runs MAYA again instead of failing, and the new take heals the cache.
        let pool = f.pool();
        let report = generate(&f, &pool, &graph, &["maya"]).await;
        assert!(
            matches!(result(&report, "maya"), NodeResult::Generated(_)),
            "{:?}",
            result(&report, "maya")
        );
        let report = generate(&f, &pool, &graph, &["maya"]).await;
        pool.stop().await;
        assert!(matches!(result(&report, "maya"), NodeResult::Reused(_)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_chosen_take_serves_downstream_until_the_node_is_generated_again() {
        let f = fixture(&[first_party_plugins().as_path()]).await;
        let pool = f.pool();
        // Two takes of MAYA: as first named, then renamed.
        let first = maya_in_a_shot(character("maya", "MAYA"));
        generate(&f, &pool, &first, &["maya"]).await;
        let renamed = maya_in_a_shot(character("maya", "MAYA RUIZ"));
        generate(&f, &pool, &renamed, &["maya"]).await;
        let takes = f.store.takes(&f.project_id, "maya").await.unwrap();
        assert_eq!(takes.len(), 2);
        let first_take = takes.iter().find(|t| !t.outputs.contains("RUIZ")).unwrap();

        // The user picks the first take: the shot is drawn with it, MAYA is not redone.
        let mut pinned = renamed.clone();
        pinned.update_node("maya", |n| n.active_take = Some(first_take.id.clone()));
        let report = generate(&f, &pool, &pinned, &["shot-1"]).await;
        assert!(matches!(result(&report, "maya"), NodeResult::Reused(_)));
        let NodeResult::Generated(shot) = result(&report, "shot-1") else {
            panic!("{:?}", result(&report, "shot-1"));
        };
        let cast = shot
            .values
            .iter()
            .find(|v| v.port == "shot")
            .and_then(|v| match &v.value {
                Value::Json(json) => Some(json.clone()),
                _ => None,
            })
            .unwrap();
        assert!(
            cast.contains("\"MAYA\"") && !cast.contains("RUIZ"),
            "{cast}"
        );
        assert_eq!(
            f.store.takes(&f.project_id, "maya").await.unwrap().len(),
            2,
            "no new take of MAYA"
        );

        // Generate on MAYA herself brings her up to date (the renamed take, from the cache).
        let report = generate(&f, &pool, &pinned, &["maya"]).await;
        let NodeResult::Reused(outputs) = result(&report, "maya") else {
            panic!("{:?}", result(&report, "maya"));
        };
        assert!(format!("{outputs:?}").contains("RUIZ"));
        pool.stop().await;
    }
}
