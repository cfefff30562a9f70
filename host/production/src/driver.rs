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
//! A pass decides in memory and writes in one transaction
//! ([`mdc_store::GenerationStore::advance_generation`]): the executions it queues are inserted
//! with the steps that wait for them, so no execution can be announced finished before its
//! step says it is queued, and a pass made on an older revision (another server moved the
//! generation) is refused whole and done again from the store. The first pass runs in the
//! caller's task, inside the transaction that stores the generation
//! ([`Driver::start`]): a Generate that the cache serves entirely is one transaction.

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
    ExecutionOutcome, ExecutionStatus, Generation, GenerationStatus, GenerationStep, NewExecution,
    NewGeneration, QueueEvent, StepChanges, StepMove, StepStatus, Store, StoreError, Tier,
};

use super::generator::{GenerateRequest, NodeResult, blocking_problems, read_take};
use super::{PluginSet, request_json};

/// How often every running generation is looked at even without events: a safety net for
/// a notification lost with a database connection.
const SWEEP: Duration = Duration::from_secs(5);
/// How long a driver gathers announcements before a pass: passes over a generation that
/// thousands of short jobs feed stay few, at this much added latency.
const GATHER: Duration = Duration::from_millis(20);
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
    /// Nodes by the execution they were queued on (entries may be stale: check the step).
    by_execution: HashMap<String, Vec<String>>,
}

impl Tracked {
    fn new(loaded: Arc<Loaded>, steps: Vec<GenerationStep>, revision: i64) -> Tracked {
        let mut by_execution: HashMap<String, Vec<String>> = HashMap::new();
        for step in steps.iter().filter(|s| s.status == StepStatus::Queued) {
            if let Some(execution) = &step.execution_id {
                by_execution
                    .entry(execution.clone())
                    .or_default()
                    .push(step.node_id.clone());
            }
        }
        Tracked {
            loaded,
            steps: steps.into_iter().map(|s| (s.node_id.clone(), s)).collect(),
            revision,
            by_execution,
        }
    }

    /// Queued steps served by `only` (by the index), or every queued step.
    fn queued(&self, only: Option<&HashSet<String>>) -> Vec<&GenerationStep> {
        let queued = |step: &&GenerationStep| step.status == StepStatus::Queued;
        match only {
            Some(ids) => ids
                .iter()
                .filter_map(|id| self.by_execution.get(id))
                .flatten()
                .filter_map(|node| self.steps.get(node))
                .filter(queued)
                .collect(),
            None => self.steps.values().filter(queued).collect(),
        }
    }
}

impl Loaded {
    /// What a generation's steps and request say, for a plan graph at hand.
    fn new(
        project_id: &str,
        graph: Graph,
        request: GenerateRequest,
        targets: HashSet<NodeId>,
        steps: &[GenerationStep],
        catalog: &DescriptorCatalog,
    ) -> Loaded {
        let mut downstream: HashMap<String, Vec<String>> = HashMap::new();
        for step in steps {
            for up in &step.upstream {
                downstream
                    .entry(up.clone())
                    .or_default()
                    .push(step.node_id.clone());
            }
        }
        Loaded {
            downstream,
            position: steps
                .iter()
                .map(|s| (s.node_id.clone(), s.position))
                .collect(),
            project_id: project_id.to_string(),
            blocked: blocking_problems(&graph, catalog),
            graph,
            request,
            targets,
        }
    }

    /// A stored generation decoded.
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
        let graph = mdc_wire::decode_graph(&generation.graph)?;
        let request = GenerateRequest {
            tier,
            seed,
            requested_by: generation.requested_by.clone(),
        };
        Ok(Loaded::new(
            &generation.project_id,
            graph,
            request,
            targets,
            &generation.steps,
            catalog,
        ))
    }
}

/// A step not yet stored: waiting, at `position`, on `upstream`.
fn waiting_step(node_id: &str, position: i64, upstream: Vec<String>) -> GenerationStep {
    GenerationStep {
        node_id: node_id.to_string(),
        position,
        upstream,
        status: StepStatus::Waiting,
        execution_id: None,
        take_id: None,
        error: None,
    }
}

/// The outputs of every step of a generation its first pass finished, in plan order, as
/// [`Driver::start`] returns them.
pub(super) type StepOutputs = Vec<(NodeId, NodeResult)>;

/// What each step of a finished pass came to, from the takes it read.
fn outputs_by_step(tracked: &Tracked, outputs: &HashMap<String, NodeOutputs>) -> StepOutputs {
    let mut steps: Vec<&GenerationStep> = tracked.steps.values().collect();
    steps.sort_by_key(|s| s.position);
    steps
        .into_iter()
        .map(|step| {
            let reason = || {
                step.error
                    .clone()
                    .unwrap_or_else(|| step.status.as_str().into())
            };
            let result = match (
                step.status,
                step.take_id.as_ref().and_then(|t| outputs.get(t)),
            ) {
                (StepStatus::Reused, Some(outputs)) => NodeResult::Reused(outputs.clone()),
                (StepStatus::Skipped, _) => NodeResult::Skipped(reason()),
                _ => NodeResult::Failed(reason()),
            };
            (NodeId::new(step.node_id.as_str()), result)
        })
        .collect()
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
            // Workers finishing many short jobs announce them in bursts: what arrives within
            // a few milliseconds is handled in one pass, not one pass per flush.
            tokio::time::sleep(GATHER).await;
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

    /// Stores a new generation with its first pass applied in the same transaction (what
    /// chosen takes and the cache serve, what is queued at once) and follows it. Returns its
    /// id and, when that pass finished it (every step served), what each step came to.
    pub(super) async fn start(
        &self,
        new: NewGeneration,
        graph: Graph,
        request: GenerateRequest,
        targets: HashSet<NodeId>,
    ) -> anyhow::Result<(String, Option<StepOutputs>)> {
        let steps: Vec<GenerationStep> = (0i64..)
            .zip(&new.steps)
            .map(|(position, (node, upstream))| waiting_step(node, position, upstream.clone()))
            .collect();
        let loaded = Arc::new(Loaded::new(
            &new.project_id,
            graph,
            request,
            targets,
            &steps,
            &self.catalog,
        ));
        let mut tracked = Tracked::new(loaded, steps, 0);
        let mut outputs = HashMap::new();
        let changes = self.plan_pass(&mut tracked, None, &mut outputs).await?;
        let advanced = self.store.create_generation(new, changes).await?;
        let id = advanced.generation_id.clone();
        if advanced.done {
            return Ok((id, Some(outputs_by_step(&tracked, &outputs))));
        }
        self.settle(&id, tracked, advanced).await?;
        Ok((id, None))
    }

    /// One pass over a generation (see the module documentation). With `finished`, only
    /// queued steps served by those executions and the dependents of what changed are looked
    /// at (what an event announced); otherwise every queued and waiting step.
    pub(super) async fn advance(
        &self,
        id: &str,
        finished: Option<&HashSet<String>>,
    ) -> anyhow::Result<()> {
        let known = self.tracked.lock().expect("tracked lock").remove(id);
        let (mut tracked, finished) = match known {
            Some(tracked) => (tracked, finished),
            None => match self.load(id).await? {
                Some(tracked) => (tracked, None),
                None => return Ok(()),
            },
        };
        let mut outputs = HashMap::new();
        let changes = self.plan_pass(&mut tracked, finished, &mut outputs).await?;
        // Nothing changed: nothing to write, unless the generation is complete already (its
        // last step moved by a pass that failed to mark it done).
        if changes.is_empty() && !tracked.steps.values().all(|s| s.status.is_final()) {
            self.follow(id, tracked);
            return Ok(());
        }
        match self
            .store
            .advance_generation(id, tracked.revision, changes)
            .await
        {
            Ok(advanced) if advanced.done => Ok(()),
            Ok(advanced) => self.settle(id, tracked, advanced).await,
            // Another server moved it first: start again from what the store holds.
            Err(StoreError::Conflict(why)) => {
                tracing::debug!(generation = id, %why, "reading the generation again");
                Box::pin(self.advance(id, None)).await
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Records what a pass queued and follows the generation on. An execution shared with
    /// another generation may have finished before this pass committed (its announcement
    /// found no step waiting for it): those are looked at once more now.
    async fn settle(
        &self,
        id: &str,
        mut tracked: Tracked,
        advanced: mdc_store::Advanced,
    ) -> anyhow::Result<()> {
        for (node, execution) in &advanced.queued {
            if let Some(step) = tracked.steps.get_mut(node) {
                step.execution_id = Some(execution.id.clone());
            }
            tracked
                .by_execution
                .entry(execution.id.clone())
                .or_default()
                .push(node.clone());
        }
        tracked.revision = advanced.revision;
        self.follow(id, tracked);
        if advanced.shared.is_empty() {
            return Ok(());
        }
        let shared: HashSet<String> = advanced.shared.iter().cloned().collect();
        Box::pin(self.advance(id, Some(&shared))).await
    }

    /// Keeps following a generation between passes.
    fn follow(&self, id: &str, tracked: Tracked) {
        self.tracked
            .lock()
            .expect("tracked lock")
            .insert(id.to_string(), tracked);
    }

    /// A stored generation to follow, or `None` once it is done.
    async fn load(&self, id: &str) -> anyhow::Result<Option<Tracked>> {
        let generation = self.store.generation(id).await?;
        if generation.status == GenerationStatus::Done {
            return Ok(None);
        }
        let loaded = Loaded::decode(&generation, &self.catalog)
            .with_context(|| format!("generation {id} cannot be read"))?;
        Ok(Some(Tracked::new(
            Arc::new(loaded),
            generation.steps,
            generation.revision,
        )))
    }

    /// What one pass changes (nothing is written here), applied to `tracked` as if stored:
    /// queued steps whose execution is final move on, then waiting steps whose inputs are done
    /// start, in rounds — a step served by the cache in one round lets its dependents start in
    /// the next. `outputs` collects the outputs of the takes read, by take id.
    async fn plan_pass(
        &self,
        tracked: &mut Tracked,
        finished: Option<&HashSet<String>>,
        outputs: &mut HashMap<String, NodeOutputs>,
    ) -> anyhow::Result<StepChanges> {
        let loaded = tracked.loaded.clone();
        let mut changes = StepChanges::default();
        let moves = self.finished_executions(&tracked.queued(finished)).await?;
        apply(&mut tracked.steps, &moves);
        let mut candidates: Vec<String> = match finished {
            None => tracked.steps.keys().cloned().collect(),
            Some(_) => dependents(&loaded, moves.iter().map(|m| &m.node_id)),
        };
        changes.moves = moves;
        while !candidates.is_empty() {
            candidates.sort_by_key(|node| loaded.position.get(node).copied().unwrap_or(i64::MAX));
            candidates.dedup();
            let round = self
                .start_ready(&loaded, &candidates, &tracked.steps, outputs)
                .await?;
            apply(&mut tracked.steps, &round.moves);
            for (node, _) in &round.queue {
                if let Some(step) = tracked.steps.get_mut(node) {
                    step.status = StepStatus::Queued;
                }
            }
            candidates = dependents(&loaded, round.moves.iter().map(|m| &m.node_id));
            changes.moves.extend(round.moves);
            changes.queue.extend(round.queue);
            changes.reuses.extend(round.reuses);
        }
        Ok(changes)
    }

    /// Moves of queued steps whose execution is final.
    async fn finished_executions(
        &self,
        queued: &[&GenerationStep],
    ) -> anyhow::Result<Vec<StepMove>> {
        let ids: Vec<String> = queued
            .iter()
            .filter_map(|s| s.execution_id.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let finals: HashMap<String, ExecutionOutcome> = self
            .store
            .outcomes(&ids)
            .await?
            .into_iter()
            .filter(|e| e.status.is_final())
            .map(|e| (e.id.clone(), e))
            .collect();
        let mut moves = Vec::new();
        for step in queued {
            let Some(outcome) = step.execution_id.as_ref().and_then(|id| finals.get(id)) else {
                continue;
            };
            moves.push(match (outcome.status, &outcome.take_id) {
                (ExecutionStatus::Succeeded, Some(take)) => {
                    step_move(step, StepStatus::Succeeded, Some(take.clone()), None)
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
                        outcome
                            .error
                            .clone()
                            .unwrap_or_else(|| status.as_str().to_string()),
                    ),
                ),
            });
        }
        Ok(moves)
    }

    /// Decides what happens to the waiting candidates whose inputs are all final: skipped,
    /// failed, served by a chosen or cached take (its outputs go into `outputs`), or queued.
    async fn start_ready(
        &self,
        loaded: &Loaded,
        candidates: &[String],
        steps: &HashMap<String, GenerationStep>,
        outputs: &mut HashMap<String, NodeOutputs>,
    ) -> anyhow::Result<StepChanges> {
        let mut changes = StepChanges::default();
        let mut ready: Vec<(&GenerationStep, NewExecution)> = Vec::new();
        self.read_upstream_takes(candidates, steps, outputs).await?;
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
                changes
                    .moves
                    .push(step_move(step, StepStatus::Skipped, None, Some(reason)));
                continue;
            }
            // A take the user chose serves everything downstream; only Generate on the node
            // itself replaces it.
            if !loaded.targets.contains(&node)
                && let Some((take_id, chosen)) = self.chosen_take(loaded, &node).await?
            {
                outputs.insert(take_id.clone(), chosen);
                changes
                    .moves
                    .push(step_move(step, StepStatus::Reused, Some(take_id), None));
                continue;
            }
            if let Some(problems) = loaded.blocked.get(&node) {
                let reason = format!("cannot run: {}", problems.join(" "));
                changes
                    .moves
                    .push(step_move(step, StepStatus::Failed, None, Some(reason)));
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
                Err(err) => changes.moves.push(step_move(
                    step,
                    StepStatus::Failed,
                    None,
                    Some(format!("{err:#}")),
                )),
            }
        }
        let keys: Vec<String> = ready.iter().map(|(_, s)| s.cache_key.clone()).collect();
        let cached = self.store.cached_takes(&keys).await?;
        for (step, spec) in ready {
            // A take this host cannot read (written by an older one, say) must not fail the
            // node for ever: it is run again, and its new take replaces this one.
            let readable = cached
                .get(&spec.cache_key)
                .and_then(|take| match read_take(take) {
                    Ok(read) => Some((take, read)),
                    Err(err) => {
                        tracing::warn!(node = %step.node_id, take = %take.id, err = format!("{err:#}"),
                            "the cached take cannot be read; running the node again");
                        None
                    }
                });
            match readable {
                Some((take, read)) => {
                    outputs.insert(take.id.clone(), read);
                    changes.moves.push(step_move(
                        step,
                        StepStatus::Reused,
                        Some(take.id.clone()),
                        None,
                    ));
                    changes.reuses.push(spec);
                }
                None => changes.queue.push((step.node_id.clone(), spec)),
            }
        }
        Ok(changes)
    }

    /// Reads, in one query, the takes of the finished upstream steps of waiting candidates
    /// that `outputs` does not hold yet.
    async fn read_upstream_takes(
        &self,
        candidates: &[String],
        steps: &HashMap<String, GenerationStep>,
        outputs: &mut HashMap<String, NodeOutputs>,
    ) -> anyhow::Result<()> {
        let wanted: Vec<String> = candidates
            .iter()
            .filter_map(|id| steps.get(id))
            .filter(|step| step.status == StepStatus::Waiting)
            .flat_map(|step| step.upstream.iter().filter_map(|id| steps.get(id)))
            .filter_map(|up| up.take_id.clone())
            .filter(|take| !outputs.contains_key(take))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        for (id, take) in self.store.takes_by_id(&wanted).await? {
            outputs.insert(id, read_take(&take)?);
        }
        Ok(())
    }

    /// The take chosen on `node`, when one is chosen and still exists in this project (a
    /// take deleted since is ignored: the node is brought up to date instead).
    async fn chosen_take(
        &self,
        loaded: &Loaded,
        node: &NodeId,
    ) -> anyhow::Result<Option<(String, NodeOutputs)>> {
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
            Ok(outputs) => Ok(Some((take.id, outputs))),
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
        let references = mdc_library::reference_fingerprint(
            self.store.as_ref(),
            &mdc_library::asset_ref_ids(&input.params),
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
fn dependents<'a>(loaded: &Loaded, nodes: impl Iterator<Item = &'a String>) -> Vec<String> {
    nodes
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
