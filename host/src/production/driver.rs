//! The generation driver: a background task that advances stored generations as the queue's
//! events say their executions finish, so a generation completes without whoever asked for
//! it and resumes after a restart.
//!
//! One pass over a generation ([`Driver::advance`]) moves queued steps whose execution is
//! final to succeeded or failed, then starts every waiting step whose own inputs are done:
//! skipped when an input failed, served by the take the user chose or by the result cache,
//! otherwise queued. Queueing shares work in flight by cache key, so two generations of the
//! same shot wait for one execution. Steps move by compare-and-set in the store, so drivers
//! of several servers may advance the same generation and each step still moves once.
//!
//! Every pass of one driver runs in its task, one after another: a step's execution cannot
//! be announced finished before the pass that queued it has recorded the step as queued.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use mdc_runtime::graph::{DescriptorCatalog, Graph, NodeId};
use mdc_runtime::plugin::types::{
    ConnectedValue, NodeInput, NodeOutputs, ParamEntry, PortValues, QualityTier, Value,
};
use mdc_runtime::schedule::{AssetHashes, KeyInputs, cache_key};
use mdc_store::{
    Execution, ExecutionStatus, Generation, GenerationStatus, GenerationStep, NewExecution,
    QueueEvent, StepMove, StepStatus, Store, Tier,
};

use super::generator::{GenerateRequest, blocking_problems, read_take};
use super::{PluginSet, request_json};

/// How often every running generation is looked at even without events: a safety net for
/// a notification lost with a database connection.
const SWEEP: Duration = Duration::from_secs(5);
/// How long a driver waits before retrying a generation it could not advance.
const RETRY: Duration = Duration::from_secs(1);

/// What a stored generation asks for (its `request` column), in a versioned JSON form.
pub(super) fn request_to_json(request: &GenerateRequest, targets: &[NodeId]) -> String {
    serde_json::json!({
        "version": 1,
        "tier": request.tier.id(),
        "seed": request.seed,
        "targets": targets.iter().map(NodeId::as_str).collect::<Vec<_>>(),
    })
    .to_string()
}

/// A stored generation decoded once per driver: its graph, request, what blocks nodes and
/// which steps take inputs from which.
struct Loaded {
    project_id: String,
    graph: Graph,
    request: GenerateRequest,
    targets: HashSet<NodeId>,
    blocked: HashMap<NodeId, Vec<String>>,
    downstream: HashMap<String, Vec<String>>,
    position: HashMap<String, i64>,
}

/// A generation this driver follows: what it decoded, and the steps as of `revision`.
struct Tracked {
    loaded: Arc<Loaded>,
    steps: HashMap<String, GenerationStep>,
    revision: i64,
}

impl Loaded {
    fn decode(generation: &Generation, catalog: &DescriptorCatalog) -> anyhow::Result<Loaded> {
        let request: serde_json::Value =
            serde_json::from_str(&generation.request).context("the request is not JSON")?;
        let tier = request["tier"]
            .as_str()
            .and_then(QualityTier::from_id)
            .context("the request names no known tier")?;
        let seed = request["seed"]
            .as_u64()
            .context("the request has no seed")?;
        let targets = request["targets"]
            .as_array()
            .context("the request has no targets")?
            .iter()
            .filter_map(|t| t.as_str().map(NodeId::new))
            .collect();
        let graph = crate::wire::decode_graph(
            &serde_json::from_str(&generation.graph).context("the graph is not JSON")?,
        )?;
        let mut downstream: HashMap<String, Vec<String>> = HashMap::new();
        for step in &generation.steps {
            for up in &step.upstream {
                downstream
                    .entry(up.clone())
                    .or_default()
                    .push(step.node_id.clone());
            }
        }
        Ok(Loaded {
            downstream,
            position: generation
                .steps
                .iter()
                .map(|s| (s.node_id.clone(), s.position))
                .collect(),
            project_id: generation.project_id.clone(),
            blocked: blocking_problems(&graph, catalog),
            graph,
            request: GenerateRequest {
                tier,
                seed,
                requested_by: generation.requested_by.clone(),
            },
            targets,
        })
    }
}

/// Advances stored generations; see the module documentation.
pub(super) struct Driver {
    store: Arc<dyn Store>,
    plugins: Arc<PluginSet>,
    catalog: DescriptorCatalog,
    /// Generations this driver follows (taken out while a pass runs).
    tracked: std::sync::Mutex<HashMap<String, Tracked>>,
}

/// Asset content hashes fetched before computing keys.
struct Hashes(HashMap<String, String>);

impl AssetHashes for Hashes {
    fn content_hash(&self, asset_id: &str) -> Option<String> {
        self.0.get(asset_id).cloned()
    }
}

impl Driver {
    /// A driver of generations in `store`, run by `plugins`.
    pub(super) fn new(store: Arc<dyn Store>, plugins: Arc<PluginSet>) -> Driver {
        Driver {
            catalog: plugins.catalog(),
            store,
            plugins,
            tracked: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Advances generations for ever: every running one at start (a restart resumes them),
    /// then those the queue's events concern.
    pub(super) async fn run(self: Arc<Self>) {
        let mut events = self.store.subscribe();
        // Generations to look at in full, and those to look at for these finished executions.
        let mut full: HashSet<String> = HashSet::new();
        let mut awaiting: HashSet<String> = HashSet::new();
        let mut finished: HashSet<String> = HashSet::new();
        let mut sweep = true;
        loop {
            if sweep {
                match self.store.running_generations().await {
                    Ok(ids) => full.extend(ids),
                    Err(err) => tracing::warn!(%err, "cannot list running generations; retrying"),
                }
            }
            if !finished.is_empty() {
                let ids: Vec<String> = finished.iter().cloned().collect();
                match self.store.generations_awaiting(&ids).await {
                    Ok(ids) => awaiting.extend(ids),
                    Err(err) => {
                        tracing::warn!(%err, "cannot find generations awaiting executions; looking at all");
                        sweep = true;
                        continue;
                    }
                }
            }
            let mut failed = false;
            for id in full.drain().collect::<Vec<_>>() {
                awaiting.remove(&id);
                if let Err(err) = self.advance(&id, None).await {
                    tracing::warn!(generation = %id, err = format!("{err:#}"), "cannot advance a generation; retrying");
                    full.insert(id);
                    failed = true;
                }
            }
            for id in awaiting.drain().collect::<Vec<_>>() {
                if let Err(err) = self.advance(&id, Some(&finished)).await {
                    tracing::warn!(generation = %id, err = format!("{err:#}"), "cannot advance a generation; retrying");
                    full.insert(id);
                    failed = true;
                }
            }
            finished.clear();
            let wait = if failed { RETRY } else { SWEEP };
            sweep = false;
            let first = tokio::select! {
                event = events.recv() => event,
                () = tokio::time::sleep(wait) => {
                    sweep = !failed;
                    continue;
                }
            };
            let Some(first) = first else {
                return;
            };
            // A burst of events (a flush of finished executions) is handled at once.
            let mut next = Some(first);
            while let Some(event) = next {
                match event {
                    QueueEvent::Finished(ids) => finished.extend(ids),
                    QueueEvent::GenerationChanged(id) => {
                        if !self.tracked.lock().expect("tracked lock").contains_key(&id) {
                            full.insert(id);
                        }
                    }
                    QueueEvent::Resync => sweep = true,
                    QueueEvent::Queued(_) => {}
                }
                next = events.try_recv();
            }
        }
    }

    /// One pass over a generation (see the module documentation); marks it done when every
    /// step is final. With `finished`, only queued steps served by those executions and the
    /// dependents of what changed are looked at (what an event announced); otherwise every
    /// queued and waiting step.
    pub(super) async fn advance(
        &self,
        id: &str,
        finished: Option<&HashSet<String>>,
    ) -> anyhow::Result<()> {
        let known = self.tracked.lock().expect("tracked lock").remove(id);
        let (mut tracked, finished) = match known {
            Some(tracked) => (tracked, finished),
            None => {
                let generation = self.store.generation(id).await?;
                if generation.status == GenerationStatus::Done {
                    return Ok(());
                }
                let loaded = Loaded::decode(&generation, &self.catalog)
                    .with_context(|| format!("generation {id} cannot be read"))?;
                let tracked = Tracked {
                    loaded: Arc::new(loaded),
                    steps: generation
                        .steps
                        .into_iter()
                        .map(|s| (s.node_id.clone(), s))
                        .collect(),
                    revision: generation.revision,
                };
                (tracked, None)
            }
        };
        // Catch up with what this and other drivers moved since.
        let changes = self.store.generation_changes(id, tracked.revision).await?;
        if changes.status == GenerationStatus::Done {
            return Ok(());
        }
        tracked.revision = changes.revision;
        let mut changed: Vec<String> = Vec::new();
        for step in changes.steps {
            changed.push(step.node_id.clone());
            tracked.steps.insert(step.node_id.clone(), step);
        }
        let loaded = tracked.loaded.clone();
        let mut moves = self.finished_executions(&tracked.steps, finished).await?;
        apply(&mut tracked.steps, &moves);
        changed.extend(moves.iter().map(|m| m.node_id.clone()));
        // Waiting steps are started in rounds: a step served by the cache in one round lets
        // its dependents start in the next, within this pass.
        let mut candidates: Vec<String> = match finished {
            None => tracked.steps.keys().cloned().collect(),
            Some(_) => dependents(&loaded, &changed),
        };
        let mut outputs: HashMap<String, NodeOutputs> = HashMap::new();
        while !candidates.is_empty() {
            candidates.sort_by_key(|node| loaded.position.get(node).copied().unwrap_or(i64::MAX));
            candidates.dedup();
            let round = self
                .start_ready(&loaded, &candidates, &tracked.steps, &mut outputs)
                .await?;
            apply(&mut tracked.steps, &round);
            let moved: Vec<String> = round.iter().map(|m| m.node_id.clone()).collect();
            candidates = dependents(&loaded, &moved);
            moves.extend(round);
        }
        if !moves.is_empty() {
            let count = moves.len();
            let moved = self.store.move_steps(id, moves).await?;
            if moved.len() < count {
                // Another driver moved some of these steps first: start again from what
                // the store now holds.
                return Box::pin(self.advance(id, None)).await;
            }
        }
        if tracked.steps.values().all(|s| s.status.is_final()) {
            self.store.finish_generation(id).await?;
            return Ok(());
        }
        self.tracked
            .lock()
            .expect("tracked lock")
            .insert(id.to_string(), tracked);
        Ok(())
    }

    /// Moves of queued steps whose execution is final.
    async fn finished_executions(
        &self,
        steps: &HashMap<String, GenerationStep>,
        only: Option<&HashSet<String>>,
    ) -> anyhow::Result<Vec<StepMove>> {
        let ids: Vec<String> = steps
            .values()
            .filter(|s| s.status == StepStatus::Queued)
            .filter_map(|s| s.execution_id.clone())
            .filter(|id| only.is_none_or(|only| only.contains(id)))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let finals: HashMap<String, Execution> = self
            .store
            .executions(&ids)
            .await?
            .into_iter()
            .filter(|e| e.status.is_final())
            .map(|e| (e.id.clone(), e))
            .collect();
        let keys: Vec<String> = finals
            .values()
            .filter(|e| e.status == ExecutionStatus::Succeeded)
            .map(|e| e.spec.cache_key.clone())
            .collect();
        let takes = self.store.cached_takes(&keys).await?;
        let mut moves = Vec::new();
        for step in steps.values().filter(|s| s.status == StepStatus::Queued) {
            let Some(execution) = step.execution_id.as_ref().and_then(|id| finals.get(id)) else {
                continue;
            };
            let take = takes.get(&execution.spec.cache_key);
            moves.push(match (execution.status, take) {
                (ExecutionStatus::Succeeded, Some(take)) => {
                    step_move(step, StepStatus::Succeeded, Some(take.id.clone()), None)
                }
                (ExecutionStatus::Succeeded, None) => step_move(
                    step,
                    StepStatus::Failed,
                    None,
                    Some("the execution finished without a take".into()),
                ),
                (status, _) => step_move(
                    step,
                    StepStatus::Failed,
                    None,
                    Some(
                        execution
                            .error
                            .clone()
                            .unwrap_or_else(|| status.as_str().to_string()),
                    ),
                ),
            });
        }
        Ok(moves)
    }

    /// Starts the waiting steps whose inputs are all final; returns their moves.
    async fn start_ready(
        &self,
        loaded: &Loaded,
        candidates: &[String],
        steps: &HashMap<String, GenerationStep>,
        outputs: &mut HashMap<String, NodeOutputs>,
    ) -> anyhow::Result<Vec<StepMove>> {
        let mut moves = Vec::new();
        let mut ready: Vec<(&GenerationStep, NewExecution)> = Vec::new();
        for step in candidates.iter().filter_map(|id| steps.get(id)) {
            if step.status != StepStatus::Waiting {
                continue;
            }
            let upstream: Vec<&GenerationStep> = step
                .upstream
                .iter()
                .filter_map(|id| steps.get(id))
                .collect();
            if upstream.iter().any(|u| !u.status.is_final()) {
                continue;
            }
            let node = NodeId::new(step.node_id.as_str());
            if let Some(failed) = upstream.iter().find(|u| !u.status.has_take()) {
                let reason = format!(
                    "skipped: upstream \"{}\" did not succeed",
                    loaded.graph.name_of(&failed.node_id)
                );
                moves.push(step_move(step, StepStatus::Skipped, None, Some(reason)));
                continue;
            }
            // A take the user chose serves everything downstream; only Generate on the node
            // itself replaces it.
            if !loaded.targets.contains(&node)
                && let Some(take_id) = self.chosen_take(loaded, &node).await?
            {
                moves.push(step_move(step, StepStatus::Reused, Some(take_id), None));
                continue;
            }
            if let Some(problems) = loaded.blocked.get(&node) {
                let reason = format!("cannot run: {}", problems.join(" "));
                moves.push(step_move(step, StepStatus::Failed, None, Some(reason)));
                continue;
            }
            let mut inputs = HashMap::new();
            for up in &upstream {
                let take_id = up
                    .take_id
                    .as_deref()
                    .context("a step with a take names it")?;
                if !outputs.contains_key(take_id) {
                    outputs.insert(
                        take_id.to_string(),
                        read_take(&self.store.take(take_id).await?)?,
                    );
                }
                inputs.insert(NodeId::new(up.node_id.as_str()), outputs[take_id].clone());
            }
            match self.prepare(loaded, &node, &inputs).await {
                Ok(spec) => ready.push((step, spec)),
                Err(err) => moves.push(step_move(
                    step,
                    StepStatus::Failed,
                    None,
                    Some(format!("{err:#}")),
                )),
            }
        }
        let keys: Vec<String> = ready.iter().map(|(_, s)| s.cache_key.clone()).collect();
        let cached = self.store.cached_takes(&keys).await?;
        let mut reuses = Vec::new();
        let mut misses = Vec::new();
        for (step, spec) in ready {
            match cached.get(&spec.cache_key) {
                // A take this host cannot read (written by an older one, say) must not fail
                // the node for ever: it is run again, and its new take replaces this one.
                Some(take) if read_take(take).is_ok() => {
                    moves.push(step_move(
                        step,
                        StepStatus::Reused,
                        Some(take.id.clone()),
                        None,
                    ));
                    reuses.push(spec);
                }
                Some(take) => {
                    tracing::warn!(node = %step.node_id, take = %take.id,
                        "the cached take cannot be read; running the node again");
                    misses.push((step, spec));
                }
                None => misses.push((step, spec)),
            }
        }
        self.store.record_reuses(reuses).await?;
        let (queued_steps, specs): (Vec<_>, Vec<_>) = misses.into_iter().unzip();
        let queued = self.store.enqueue_many(specs).await?;
        for (step, execution) in queued_steps.into_iter().zip(queued) {
            let mut moved = step_move(step, StepStatus::Queued, None, None);
            moved.execution_id = Some(execution.id);
            moves.push(moved);
        }
        Ok(moves)
    }

    /// The take chosen on `node`, when one is chosen and still exists in this project (a
    /// take deleted since is ignored: the node is brought up to date instead).
    async fn chosen_take(&self, loaded: &Loaded, node: &NodeId) -> anyhow::Result<Option<String>> {
        let Some(take_id) = loaded
            .graph
            .node(node.as_str())
            .and_then(|n| n.active_take.as_deref())
        else {
            return Ok(None);
        };
        let take = match self.store.take(take_id).await {
            Ok(take) if take.project_id == loaded.project_id && take.node_id == node.as_str() => {
                take
            }
            Ok(_) | Err(mdc_store::StoreError::NotFound { .. }) => {
                tracing::warn!(%node, take = take_id, "the chosen take is not this node's; ignoring it");
                return Ok(None);
            }
            Err(err) => return Err(err.into()),
        };
        match read_take(&take) {
            Ok(_) => Ok(Some(take.id)),
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
        loaded: &Loaded,
        node_id: &NodeId,
        upstream: &HashMap<NodeId, NodeOutputs>,
    ) -> anyhow::Result<NewExecution> {
        let (graph, project_id) = (&loaded.graph, loaded.project_id.as_str());
        let (tier, seed) = (loaded.request.tier, loaded.request.seed);
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
            let Some(outputs) = upstream.get(&edge.source) else {
                continue;
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
        Ok(NewExecution {
            project_id: project_id.to_string(),
            node_id: node_id.as_str().to_string(),
            plugin_type: descriptor.type_id.clone(),
            plugin_version: descriptor.version.clone(),
            plugin_digest: plugin.digest().to_string(),
            tier: Tier::parse(tier.id()).expect("tiers share their ids"),
            priority: 0,
            request: request_json(plugin, &input)?,
            // Takes are reused within a project only: their assets belong to it.
            cache_key: if references.is_empty() {
                format!("{project_id}:{key}")
            } else {
                format!("{project_id}:{key}:{references}")
            },
            requested_by: loaded.request.requested_by.clone(),
        })
    }
}

/// A move of `step` from where it is now.
fn step_move(
    step: &GenerationStep,
    to: StepStatus,
    take_id: Option<String>,
    error: Option<String>,
) -> StepMove {
    StepMove {
        node_id: step.node_id.clone(),
        from: step.status,
        to,
        execution_id: step.execution_id.clone(),
        take_id,
        error,
    }
}

/// The steps that take inputs from any of `nodes`.
fn dependents(loaded: &Loaded, nodes: &[String]) -> Vec<String> {
    nodes
        .iter()
        .filter_map(|node| loaded.downstream.get(node))
        .flatten()
        .cloned()
        .collect()
}

/// Applies moves to this pass's view of the steps.
fn apply(steps: &mut HashMap<String, GenerationStep>, moves: &[StepMove]) {
    for moved in moves {
        if let Some(step) = steps.get_mut(&moved.node_id) {
            step.status = moved.to;
            step.execution_id = moved.execution_id.clone();
            step.take_id = moved.take_id.clone();
            step.error = moved.error.clone();
        }
    }
}
