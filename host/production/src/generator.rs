//! Generate: store a generation (the upstream closure of its targets, step by step) for the
//! [`super::driver`] to advance, and follow it to its end.
//!
//! A generation lives in the store, not in the caller: [`Generator::start`] returns once it
//! is stored, and it completes whether or not anyone waits ([`Generator::wait`]) — a closed
//! browser tab or a dropped request abandons nothing, and a restarted server resumes it.
//! Progress is pushed by the store's events; nothing here polls.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use mdc_runtime::graph::{Catalog, Graph, NodeId, validate};
use mdc_runtime::plugin::types::{NodeOutputs, QualityTier, Severity};
use mdc_runtime::schedule::Plan;
use mdc_store::{
    Generation, GenerationStatus, NewGeneration, QueueEvent, StepStatus, Store, StoreError, Take,
};
use tokio_util::task::AbortOnDropHandle;

use super::PluginSet;
use super::driver::{Driver, request_to_json};
use mdc_wire::decode_outputs;

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
    /// Served from the result cache or by the take the user chose: nothing ran.
    Reused(NodeOutputs),
    /// Ran (for this generation or, shared by cache key, for another) and produced a take.
    Generated(NodeOutputs),
    /// Ran and failed, or could not run.
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

/// Starts generations in a store whose queue workers serve, and advances every running
/// generation of that store in a background task for as long as it lives.
pub struct Generator {
    store: Arc<dyn Store>,
    driver: Arc<Driver>,
    _driving: AbortOnDropHandle<()>,
}

/// Why a Generate could not be started or followed. The cases say whose fault it is, so a
/// server can answer with the right status.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The targets cannot be planned (a node that does not exist, a group, a cycle).
    #[error(transparent)]
    Plan(#[from] mdc_runtime::schedule::PlanError),
    /// A value in the graph cannot be stored (a number that is not finite).
    #[error(transparent)]
    Encode(#[from] mdc_wire::EncodeError),
    /// The store refused or failed (not found, a conflict, unavailable).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A fault of the host (a stored record that cannot be read, …); the message is for
    /// the log, not for a user.
    #[error("{0:#}")]
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for GenerateError {
    /// The typed error inside `err` when it holds one, else [`GenerateError::Internal`].
    fn from(err: anyhow::Error) -> GenerateError {
        let err = match err.downcast::<StoreError>() {
            Ok(store) => return GenerateError::Store(store),
            Err(err) => err,
        };
        let err = match err.downcast::<mdc_runtime::schedule::PlanError>() {
            Ok(plan) => return GenerateError::Plan(plan),
            Err(err) => err,
        };
        match err.downcast::<mdc_wire::EncodeError>() {
            Ok(encode) => GenerateError::Encode(encode),
            Err(err) => GenerateError::Internal(err),
        }
    }
}

/// How long a waiter goes without an event before it re-reads the generation anyway (a
/// notification lost with a database connection).
const RECHECK: Duration = Duration::from_secs(5);
/// How long a waiter gathers changes before it reads them: progress is read at most about
/// this often, however many steps move.
const GATHER: Duration = Duration::from_millis(10);
/// How long a generation waits for a database that stopped answering before it gives up
/// (the executions themselves are not lost: workers record them once it is back).
const OUTAGE_PATIENCE: Duration = Duration::from_secs(60);

impl Generator {
    /// A generator storing into `store`; it starts the driver, so it must be created inside
    /// a Tokio runtime.
    pub fn new(store: Arc<dyn Store>, plugins: Arc<PluginSet>) -> Self {
        let driver = Arc::new(Driver::new(store.clone(), plugins));
        Generator {
            store,
            _driving: AbortOnDropHandle::new(tokio::spawn(driver.clone().run())),
            driver,
        }
    }

    /// Stores a generation that brings `targets` and everything they depend on up to date
    /// as `request` says, and returns its id once it is stored (with what the cache and the
    /// chosen takes serve already recorded, and the rest queued).
    pub async fn start(
        &self,
        project_id: &str,
        graph: &Graph,
        targets: &[NodeId],
        request: &GenerateRequest,
    ) -> Result<String, GenerateError> {
        Ok(self
            .start_reporting(project_id, graph, targets, request)
            .await?
            .0)
    }

    /// [`Self::start`], with the outcome of every step when the first pass finished it.
    async fn start_reporting(
        &self,
        project_id: &str,
        graph: &Graph,
        targets: &[NodeId],
        request: &GenerateRequest,
    ) -> Result<(String, Option<super::driver::StepOutputs>), GenerateError> {
        let plan = Plan::for_nodes(graph, targets)?;
        let part = plan_graph(graph, &plan);
        let steps = plan
            .steps
            .iter()
            .map(|step| {
                let mut upstream: Vec<String> = graph
                    .incoming(step.node.as_str())
                    .map(|edge| edge.source.as_str().to_string())
                    .collect();
                upstream.sort();
                upstream.dedup();
                (step.node.as_str().to_string(), upstream)
            })
            .collect();
        let new = NewGeneration {
            project_id: project_id.to_string(),
            request: request_to_json(request, targets),
            graph: mdc_wire::encode_graph(&part)?,
            requested_by: request.requested_by.clone(),
            steps,
        };
        Ok(self
            .driver
            .start(
                new,
                part,
                request.clone(),
                targets.iter().cloned().collect(),
            )
            .await?)
    }

    /// Follows a generation to its end, telling `events` as its steps finish. Reads what
    /// changed when the store announces a change, not every step each time.
    pub async fn wait(
        &self,
        generation_id: &str,
        events: &(dyn Fn(GenerateEvent) + Sync),
    ) -> Result<GenerateReport, GenerateError> {
        let mut changes = self.store.subscribe();
        let generation = self.store.generation(generation_id).await?;
        events(GenerateEvent::Planned {
            steps: generation.steps.len(),
        });
        let names = stored_graph(&generation)?;
        let mut told: HashSet<String> = HashSet::new();
        let tell = |told: &mut HashSet<String>, steps: &[mdc_store::GenerationStep]| {
            for step in steps.iter().filter(|s| s.status.is_final()) {
                if told.insert(step.node_id.clone()) {
                    events(GenerateEvent::NodeDone {
                        name: names.name_of(&step.node_id).to_string(),
                        reused: step.status == StepStatus::Reused,
                        failed: !step.status.has_take(),
                    });
                }
            }
        };
        tell(&mut told, &generation.steps);
        let (mut status, mut revision) = (generation.status, generation.revision);
        let mut outage: Option<Instant> = None;
        while status != GenerationStatus::Done {
            let patience = if outage.is_some() {
                Duration::from_secs(1)
            } else {
                RECHECK
            };
            wait_for_change(&mut changes, generation_id, patience).await;
            match self.store.generation_changes(generation_id, revision).await {
                Ok(changed) => {
                    outage = None;
                    tell(&mut told, &changed.steps);
                    (status, revision) = (changed.status, changed.revision);
                }
                // The database went away: workers and the driver retry; wait for it.
                Err(err) if outage.get_or_insert_with(Instant::now).elapsed() < OUTAGE_PATIENCE => {
                    tracing::warn!(%err, "cannot read the generation; retrying");
                }
                Err(err) => {
                    tracing::error!(
                        generation = generation_id,
                        "the database has not answered for {} s while waiting",
                        OUTAGE_PATIENCE.as_secs(),
                    );
                    return Err(err.into());
                }
            }
        }
        let generation = self.store.generation(generation_id).await?;
        tell(&mut told, &generation.steps);
        Ok(self.report(&generation).await?)
    }

    /// Brings `targets` and everything they depend on up to date as `request` says: starts
    /// a generation and waits for it. Dropping the future stops the waiting, not the work.
    pub async fn generate(
        &self,
        project_id: &str,
        graph: &Graph,
        targets: &[NodeId],
        request: &GenerateRequest,
        events: &(dyn Fn(GenerateEvent) + Sync),
    ) -> Result<GenerateReport, GenerateError> {
        let (id, served) = self
            .start_reporting(project_id, graph, targets, request)
            .await?;
        let Some(nodes) = served else {
            return self.wait(&id, events).await;
        };
        // The first pass served every step: nothing to wait for.
        events(GenerateEvent::Planned { steps: nodes.len() });
        for (node, result) in &nodes {
            events(GenerateEvent::NodeDone {
                name: graph.name_of(node.as_str()).to_string(),
                reused: matches!(result, NodeResult::Reused(_)),
                failed: !matches!(result, NodeResult::Reused(_) | NodeResult::Generated(_)),
            });
        }
        Ok(GenerateReport { nodes })
    }

    /// The outcome of a finished generation, step by step.
    async fn report(&self, generation: &Generation) -> anyhow::Result<GenerateReport> {
        let take_ids: Vec<String> = generation
            .steps
            .iter()
            .filter_map(|s| s.take_id.clone())
            .collect();
        let takes = self.store.takes_by_id(&take_ids).await?;
        let mut nodes = Vec::with_capacity(generation.steps.len());
        for step in &generation.steps {
            let reason = || {
                step.error
                    .clone()
                    .unwrap_or_else(|| step.status.as_str().into())
            };
            let result = match step.status {
                StepStatus::Reused | StepStatus::Succeeded => {
                    let take = step
                        .take_id
                        .as_ref()
                        .and_then(|id| takes.get(id))
                        .with_context(|| format!("the take of {} is gone", step.node_id))?;
                    let outputs = read_take(take)?;
                    if step.status == StepStatus::Reused {
                        NodeResult::Reused(outputs)
                    } else {
                        NodeResult::Generated(outputs)
                    }
                }
                StepStatus::Skipped => NodeResult::Skipped(reason()),
                _ => NodeResult::Failed(reason()),
            };
            nodes.push((NodeId::new(step.node_id.as_str()), result));
        }
        Ok(GenerateReport { nodes })
    }
}

/// Returns when `generation_id` may have changed: its event, missed events, or `patience`.
async fn wait_for_change(
    changes: &mut mdc_store::Subscription,
    generation_id: &str,
    patience: Duration,
) {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        let event = tokio::select! {
            event = changes.recv() => event,
            () = tokio::time::sleep_until(deadline) => return,
        };
        match event {
            Some(QueueEvent::GenerationChanged(id)) if id == generation_id => break,
            Some(QueueEvent::Resync) => break,
            Some(_) => {}
            // The store is closing: the next read says so.
            None => return,
        }
    }
    // Several moves in a burst are read once.
    tokio::time::sleep(GATHER).await;
    while changes.try_recv().is_some() {}
}

/// The planned part of the graph a generation stored.
fn stored_graph(generation: &Generation) -> anyhow::Result<Graph> {
    mdc_wire::decode_graph(&generation.graph)
        .with_context(|| format!("generation {}'s graph cannot be read", generation.id))
}

/// The outputs a take holds.
pub(super) fn read_take(take: &Take) -> anyhow::Result<NodeOutputs> {
    decode_outputs(&take.outputs).with_context(|| format!("take {} cannot be read", take.id))
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
pub(super) fn blocking_problems(
    graph: &Graph,
    catalog: &dyn Catalog,
) -> HashMap<NodeId, Vec<String>> {
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

#[cfg(test)]
mod tests {
    use mdc_runtime::graph::{Edge, Node};
    use mdc_runtime::plugin::types::ParamValue;
    use mdc_runtime::plugin::types::Value;
    use mdc_store::{ExecutionQueue, GenerationStore, Page, Tier};

    use super::*;
    use crate::testing::{Fixture, first_party_plugins, fixture};

    #[test]
    fn errors_inside_the_driver_keep_their_case_at_the_edge() {
        let store = anyhow::Error::from(StoreError::Unavailable("gone".into())).context("a pass");
        assert!(matches!(
            GenerateError::from(store),
            GenerateError::Store(StoreError::Unavailable(_))
        ));
        let plan = anyhow::Error::from(mdc_runtime::schedule::PlanError::UnknownNode("x".into()));
        assert!(matches!(GenerateError::from(plan), GenerateError::Plan(_)));
        let other = anyhow::anyhow!("a take cannot be read");
        assert!(matches!(
            GenerateError::from(other),
            GenerateError::Internal(_)
        ));
    }

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
        _workers: &crate::WorkerPool,
        graph: &Graph,
        targets: &[&str],
    ) -> GenerateReport {
        let generator = Generator::new(f.store.clone(), f.plugins.clone());
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

    /// `count` shots, each with its own prompt.
    fn shots(count: usize) -> Graph {
        let mut graph = Graph::new();
        for n in 0..count {
            graph.insert_node(
                Node::new(format!("shot-{n}"), "shot", "0.1.0")
                    .with_param("prompt", ParamValue::Text(format!("Maya waits, take {n}"))),
            );
        }
        graph
    }

    /// The id of the next generation stored after `events` subscribed.
    async fn next_generation(events: &mut mdc_store::Subscription) -> String {
        loop {
            if let Some(QueueEvent::GenerationChanged(id)) = events.recv().await {
                return id;
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_generation_completes_when_its_caller_goes_away() {
        let f = fixture(&[first_party_plugins().as_path()]).await;
        let pool = f.pool();
        let generator = Arc::new(Generator::new(f.store.clone(), f.plugins.clone()));
        let graph = maya_in_a_shot(character("maya", "MAYA"));
        let mut events = f.store.subscribe();
        let caller = {
            let (generator, project) = (generator.clone(), f.project_id.clone());
            tokio::spawn(async move {
                let targets = [NodeId::new("shot-1")];
                generator
                    .generate(
                        &project,
                        &graph,
                        &targets,
                        &GenerateRequest::draft(1),
                        &|_| {},
                    )
                    .await
            })
        };
        // The browser tab closes as soon as the generation is stored.
        let id = next_generation(&mut events).await;
        caller.abort();
        assert!(caller.await.unwrap_err().is_cancelled());

        let report = generator.wait(&id, &|_| {}).await.unwrap();
        pool.stop().await;
        for node in ["maya", "shot-1"] {
            assert!(
                matches!(result(&report, node), NodeResult::Generated(_)),
                "{node}: {:?}",
                result(&report, node)
            );
            assert_eq!(f.store.takes(&f.project_id, node).await.unwrap().len(), 1);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_generation_resumes_after_a_restart() {
        let f = fixture(&[first_party_plugins().as_path()]).await;
        let graph = maya_in_a_shot(character("maya", "MAYA"));
        // A server stores a generation and stops before any worker ran a step.
        let before = Generator::new(f.store.clone(), f.plugins.clone());
        let id = before
            .start(
                &f.project_id,
                &graph,
                &[NodeId::new("shot-1")],
                &GenerateRequest::draft(1),
            )
            .await
            .unwrap();
        drop(before);

        let pool = f.pool();
        let after = Generator::new(f.store.clone(), f.plugins.clone());
        let report = after.wait(&id, &|_| {}).await.unwrap();
        pool.stop().await;
        assert!(matches!(
            result(&report, "shot-1"),
            NodeResult::Generated(_)
        ));
        assert!(f.store.running_generations().await.unwrap().is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_generations_of_the_same_shots_share_every_run() {
        let f = fixture(&[first_party_plugins().as_path()]).await;
        let graph = shots(100);
        let targets: Vec<NodeId> = graph.nodes().map(|n| n.id.clone()).collect();
        let generator = Generator::new(f.store.clone(), f.plugins.clone());
        let ask = |who: &str| GenerateRequest {
            requested_by: Some(who.into()),
            ..GenerateRequest::draft(3)
        };
        let (ana, ben) = (ask("user-ana"), ask("user-ben"));
        let first = generator
            .start(&f.project_id, &graph, &targets, &ana)
            .await
            .unwrap();
        let second = generator
            .start(&f.project_id, &graph, &targets, &ben)
            .await
            .unwrap();
        let pool = f.pool();
        let (first, second) = tokio::join!(
            generator.wait(&first, &|_| {}),
            generator.wait(&second, &|_| {})
        );
        pool.stop().await;
        for report in [first.unwrap(), second.unwrap()] {
            assert_eq!(report.nodes.len(), 100);
            for (node, outcome) in &report.nodes {
                assert!(
                    matches!(outcome, NodeResult::Generated(_) | NodeResult::Reused(_)),
                    "{node}: {outcome:?}"
                );
            }
        }
        let usage = f.store.tier_usage(&f.project_id).await.unwrap();
        let runs: i64 = usage.iter().map(|u| u.runs).sum();
        assert_eq!(runs, 100, "{usage:?}");
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
            .claim_many(
                "older-host",
                &[Tier::Low],
                &f.plugins.digests(),
                Duration::from_secs(30),
                1,
            )
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
