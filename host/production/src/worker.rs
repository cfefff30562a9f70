//! In-process workers: claim executions from the store's queue per tier, run the plugin under
//! the tier's limits, record the take, and announce what finished.
//!
//! A worker claims a batch (one for GPU tiers, several for short CPU jobs), renews the
//! leases of everything it holds in one statement per heartbeat (which is also how it sees a
//! cancel request), and records finished executions in one transaction per flush. When the
//! database goes away, claiming retries, finishing retries until the lease would run out, and
//! what could not be recorded is re-queued by recovery once its lease expires: nothing stays
//! "running" and nothing is lost but the time to redo it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use mdc_runtime::plugin::{CallContext, CancellationToken, Failure};
use mdc_store::objects::ObjectStore;
use mdc_store::{Execution, Outcome, ProjectScope, QueueEvent, Store};
use tokio::sync::watch;
use tokio_util::task::AbortOnDropHandle;

use super::PluginSet;
use super::services::ExecutionServices;
use super::tiers::{TierQueue, estimate_for, usage_json};
use mdc_wire::{ExecutionRequest, encode_outputs};

/// How long a claim lasts without renewal; a worker that dies loses its jobs after this.
const LEASE: Duration = Duration::from_secs(30);
/// How often a worker renews its leases, sees cancel requests and flushes progress.
const HEARTBEAT: Duration = Duration::from_millis(500);
/// How often the pool re-queues jobs whose worker died (lease expired), here or elsewhere.
const RECOVERY: Duration = Duration::from_secs(10);
/// Attempts before a job whose workers keep dying is failed instead of re-queued.
const MAX_ATTEMPTS: i64 = 3;
/// Finished executions are recorded together at most this long after the first of them.
const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// How long an idle worker goes without an announcement before it tries to claim anyway (a
/// notification lost with a database connection).
const IDLE_RECHECK: Duration = Duration::from_secs(5);

/// Workers running in this process, per tier.
pub struct WorkerPool {
    stop: CancellationToken,
    handles: Vec<tokio::task::JoinHandle<()>>,
    recovery: tokio::task::JoinHandle<()>,
}

/// What every worker shares.
#[derive(Clone)]
struct WorkerContext {
    store: Arc<dyn Store>,
    objects: Arc<dyn ObjectStore>,
    plugins: Arc<PluginSet>,
    http: Option<mdc_outbound::HttpClient>,
}

/// One worker slot: which queue it serves and under which name it holds leases.
struct Slot {
    context: WorkerContext,
    queue: TierQueue,
    grants: mdc_runtime::plugin::Grants,
    worker_id: String,
}

impl WorkerPool {
    /// Starts `queue.concurrency` workers for each tier queue. Fails when a queue's
    /// configuration is invalid (a malformed pipeline origin).
    pub fn start(
        store: Arc<dyn Store>,
        objects: Arc<dyn ObjectStore>,
        plugins: Arc<PluginSet>,
        queues: Vec<TierQueue>,
        name: &str,
    ) -> anyhow::Result<WorkerPool> {
        let stop = CancellationToken::new();
        let needs_http = queues.iter().any(|q| !q.http_origins.is_empty());
        let context = WorkerContext {
            store,
            objects,
            plugins,
            http: needs_http.then(http_client).transpose()?,
        };
        let mut slots = Vec::new();
        for queue in queues {
            let grants = queue.grants()?;
            for n in 0..queue.concurrency.max(1) {
                slots.push(Slot {
                    context: context.clone(),
                    worker_id: format!("{name}-{}-{}-{n}", std::process::id(), queue.tier.as_str()),
                    queue: queue.clone(),
                    grants: grants.clone(),
                });
            }
        }
        // At start-up and then periodically: jobs a crashed process left "running" go back to
        // the queue once their lease has run out (or fail after too many attempts).
        let recovery = {
            let store = context.store.clone();
            tokio::spawn(async move {
                loop {
                    if let Err(err) = store.recover_expired(MAX_ATTEMPTS).await {
                        tracing::warn!(%err, "cannot recover executions with expired leases");
                    }
                    tokio::time::sleep(RECOVERY).await;
                }
            })
        };
        let handles = slots
            .into_iter()
            .map(|slot| {
                let stop = stop.clone();
                tokio::spawn(async move { slot.serve(&stop).await })
            })
            .collect();
        Ok(WorkerPool {
            recovery,
            stop,
            handles,
        })
    }

    /// Stops claiming and returns once every worker has stopped: the execution each one is
    /// running finishes and is recorded, and what they claimed but had not started goes back
    /// to the queue for other workers (a process asked to stop by SIGTERM loses nothing).
    pub async fn stop(self) {
        self.stop.cancel();
        self.recovery.abort();
        for handle in self.handles {
            let _ = handle.await;
        }
    }
}

impl Slot {
    /// Claims and runs batches until the pool stops. Claims only executions of the exact
    /// plugin builds this process has (by digest), and waits for the queue's announcement
    /// of new work on its tier instead of polling.
    async fn serve(&self, stop: &CancellationToken) {
        let tiers = [self.queue.tier];
        let digests = self.context.plugins.digests();
        // Subscribed before the first claim: work queued after an empty claim is announced.
        let mut events = self.context.store.subscribe();
        let mut sizing = BatchSizing::new(self.queue.claim_batch);
        while !stop.is_cancelled() {
            let want = sizing.next_claim();
            let claimed = self
                .context
                .store
                .claim_many(&self.worker_id, &tiers, &digests, LEASE, want)
                .await;
            match claimed {
                Ok(batch) if !batch.is_empty() => {
                    let (count, started) = (batch.len(), Instant::now());
                    self.run_batch(batch, stop).await;
                    sizing.ran(count, want, started.elapsed());
                }
                Ok(_) => {
                    sizing.idle();
                    self.wait_for_work(&mut events, stop).await;
                }
                Err(err) => {
                    tracing::warn!(%err, worker = %self.worker_id, "cannot claim work; retrying");
                    tokio::select! {
                        () = stop.cancelled() => {}
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
    }

    /// Returns when work may be waiting on this worker's tier: announced, events missed,
    /// or [`IDLE_RECHECK`] passed (a notification lost with a database connection).
    async fn wait_for_work(&self, events: &mut mdc_store::Subscription, stop: &CancellationToken) {
        let deadline = tokio::time::Instant::now() + IDLE_RECHECK;
        loop {
            let event = tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep_until(deadline) => return,
                event = events.recv() => event,
            };
            match event {
                Some(QueueEvent::Queued(tier)) if tier == self.queue.tier => return,
                Some(QueueEvent::Resync) => return,
                Some(_) => {}
                None => {
                    tokio::select! {
                        () = stop.cancelled() => {}
                        () = tokio::time::sleep_until(deadline) => {}
                    }
                    return;
                }
            }
        }
    }

    /// Runs a claimed batch in queue order, keeping every held lease alive meanwhile (the
    /// heartbeat ends with the batch, even when it panics) and recording each result within
    /// [`FLUSH_EVERY`] of its end. When the pool stops, what has not started is released.
    async fn run_batch(&self, batch: Vec<Execution>, stop: &CancellationToken) {
        let held: Arc<Mutex<HashMap<String, CancellationToken>>> = Arc::new(Mutex::new(
            batch
                .iter()
                .map(|e| (e.id.clone(), CancellationToken::new()))
                .collect(),
        ));
        let current: Arc<Mutex<Option<Current>>> = Arc::new(Mutex::new(None));
        let _heartbeat = keep_leases(
            self.context.store.clone(),
            self.worker_id.clone(),
            held.clone(),
            current.clone(),
        );
        let (outcomes, received) = tokio::sync::mpsc::unbounded_channel();
        let run = async {
            // Owned here: the recorder sees the end of the batch when this block ends.
            let outcomes = outcomes;
            for (n, execution) in batch.iter().enumerate() {
                if stop.is_cancelled() {
                    return batch[n..]
                        .iter()
                        .map(|e| e.id.clone())
                        .collect::<Vec<String>>();
                }
                let cancel = held
                    .lock()
                    .expect("held lock")
                    .get(&execution.id)
                    .cloned()
                    .unwrap_or_default();
                let outcome = if cancel.is_cancelled() {
                    Outcome::Cancelled
                } else {
                    let (progress, seen) = watch::channel((0.0f32, String::new()));
                    *current.lock().expect("current lock") = Some(Current {
                        id: execution.id.clone(),
                        progress: seen,
                    });
                    let outcome = self.execute(execution, cancel, progress).await;
                    *current.lock().expect("current lock") = None;
                    outcome
                };
                let _ = outcomes.send((execution.id.clone(), outcome));
            }
            Vec::new()
        };
        let (unstarted, ()) = tokio::join!(run, self.record_as_they_come(received, &held));
        if !unstarted.is_empty() {
            self.release(&unstarted, &held).await;
        }
    }

    /// Records outcomes as they arrive, those that arrive within [`FLUSH_EVERY`] of the first
    /// together, until the batch is over.
    async fn record_as_they_come(
        &self,
        mut received: tokio::sync::mpsc::UnboundedReceiver<(String, Outcome)>,
        held: &Mutex<HashMap<String, CancellationToken>>,
    ) {
        while let Some(first) = received.recv().await {
            let mut outcomes = vec![first];
            let deadline = tokio::time::Instant::now() + FLUSH_EVERY;
            let mut over = false;
            while !over {
                tokio::select! {
                    next = received.recv() => match next {
                        Some(outcome) => outcomes.push(outcome),
                        None => over = true,
                    },
                    () = tokio::time::sleep_until(deadline) => break,
                }
            }
            self.record(outcomes, held).await;
        }
    }

    /// Gives executions claimed but not started back to the queue.
    async fn release(&self, ids: &[String], held: &Mutex<HashMap<String, CancellationToken>>) {
        {
            let mut held = held.lock().expect("held lock");
            for id in ids {
                held.remove(id);
            }
        }
        match self.context.store.release(&self.worker_id, ids).await {
            Ok(released) => {
                tracing::info!(worker = %self.worker_id, released = released.len(), "released executions not started")
            }
            Err(err) => {
                tracing::warn!(%err, worker = %self.worker_id, "cannot release executions; they go back to the queue when their leases expire")
            }
        }
    }

    /// Records finished executions in one transaction and announces them. While the store
    /// is unreachable it retries, giving up shortly before the leases would expire (recovery
    /// then re-queues the executions).
    async fn record(
        &self,
        outcomes: Vec<(String, Outcome)>,
        held: &Mutex<HashMap<String, CancellationToken>>,
    ) {
        if outcomes.is_empty() {
            return;
        }
        let ids: Vec<String> = outcomes.iter().map(|(id, _)| id.clone()).collect();
        let started = Instant::now();
        let mut delay = Duration::from_millis(200);
        let results = loop {
            match self
                .context
                .store
                .finish_many(&self.worker_id, outcomes.clone())
                .await
            {
                Ok(results) => break Some(results),
                Err(err) if started.elapsed() + delay < LEASE - HEARTBEAT * 4 => {
                    tracing::warn!(%err, worker = %self.worker_id, "cannot record finished executions; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(err) => {
                    tracing::error!(%err, worker = %self.worker_id, executions = ids.len(),
                        "cannot record finished executions; they will be re-queued when their leases expire");
                    break None;
                }
            }
        };
        {
            let mut held = held.lock().expect("held lock");
            for id in &ids {
                held.remove(id);
            }
        }
        for result in results.into_iter().flatten() {
            if let Err(err) = result {
                tracing::warn!(%err, worker = %self.worker_id, "a finished execution was not recorded")
            }
        }
    }

    /// Runs one execution and turns every way it can end into an outcome.
    async fn execute(
        &self,
        execution: &Execution,
        cancel: CancellationToken,
        progress: watch::Sender<(f32, String)>,
    ) -> Outcome {
        let started = Instant::now();
        let plugin = self.context.plugins.get(&execution.spec.plugin_type);
        let estimate = plugin.and_then(|p| estimate_for(p.descriptor(), self.queue.tier).cloned());
        match self.call(execution, cancel, progress).await {
            Ok(Ok(outcome)) => {
                let usage = usage_json(estimate.as_ref(), started.elapsed(), Some(&outcome.report));
                match encode_outputs(&outcome.value) {
                    Ok(outputs) => Outcome::Succeeded { outputs, usage },
                    // Stored, it could not be read back: the take would fail every reuse.
                    Err(err) => Outcome::Failed {
                        error: match plugin {
                            Some(plugin) => format!("{}: execute: {err}", plugin.label()),
                            None => err.to_string(),
                        },
                        usage,
                    },
                }
            }
            Ok(Err(err)) if is_cancel(&err.failure) => Outcome::Cancelled,
            Ok(Err(err)) => Outcome::Failed {
                error: err.to_string(),
                usage: usage_json(estimate.as_ref(), started.elapsed(), None),
            },
            Err(err) => Outcome::Failed {
                error: format!("{err:#}"),
                usage: usage_json(None, started.elapsed(), None),
            },
        }
    }

    /// Decodes the request and calls the plugin under the tier's limits and grants.
    async fn call(
        &self,
        execution: &Execution,
        cancel: CancellationToken,
        progress: watch::Sender<(f32, String)>,
    ) -> anyhow::Result<
        Result<
            mdc_runtime::plugin::CallOutcome<mdc_runtime::plugin::types::NodeOutputs>,
            mdc_runtime::plugin::CallError,
        >,
    > {
        let request = ExecutionRequest::from_json(&execution.spec.request)
            .context("the execution's request is malformed")?;
        let plugin = self.context.plugins.require(&execution.spec.plugin_type)?;
        // Claims match digests, so this holds unless the row was edited by hand: running
        // another build would store its take under this build's cache key.
        anyhow::ensure!(
            plugin.digest() == execution.spec.plugin_digest,
            "this worker has build {} of {:?}, not the requested {}",
            plugin.digest(),
            execution.spec.plugin_type,
            execution.spec.plugin_digest
        );
        let mut limits = plugin.limits().clone();
        limits.wall_time = self.queue.timeout;
        let plugin = plugin.with_limits(limits);
        let input = request.into_input();
        let services = Arc::new(ExecutionServices {
            store: self.context.store.clone(),
            scope: ProjectScope::of_execution(self.context.store.clone(), execution),
            objects: self.context.objects.clone(),
            node_id: execution.spec.node_id.clone(),
            progress,
            http: self.context.http.clone(),
        });
        // Quarantine is counted per project: one project's bad inputs cannot disable a node
        // type for the others.
        let mut call = CallContext::new(services)
            .with_grants(self.grants.clone())
            .with_scope(execution.spec.project_id.clone());
        call.cancel = cancel;
        Ok(plugin.execute(&input, call).await)
    }
}

/// The client behind the pipeline origins the tiers grant: the system's roots and the file
/// [`mdc_outbound::CA_FILE_SETTING`] names.
fn http_client() -> anyhow::Result<mdc_outbound::HttpClient> {
    let settings = mdc_outbound::HttpSettings::from_env(
        Duration::from_secs(60),
        mdc_runtime::plugin::Limits::default().http_response_bytes,
    );
    mdc_outbound::HttpClient::new(&settings).context("outbound HTTP cannot be set up")
}

/// How many executions a worker claims next: one at first, doubling while the queue keeps
/// them coming, up to the tier's `claim_batch` and to what runs in about [`BATCH_TARGET`] —
/// so 10,000 trivial jobs go in batches of 64 while 28 draft frames are shared evenly by the
/// workers instead of one worker claiming them all.
#[derive(Debug)]
struct BatchSizing {
    max: usize,
    next: usize,
    per_execution: Option<Duration>,
}

/// The wall time one claimed batch should take.
const BATCH_TARGET: Duration = Duration::from_millis(100);

impl BatchSizing {
    fn new(max: usize) -> BatchSizing {
        BatchSizing {
            max: max.max(1),
            next: 1,
            per_execution: None,
        }
    }

    /// The size of the next claim.
    fn next_claim(&self) -> usize {
        let by_time = match self.per_execution {
            Some(each) if !each.is_zero() => {
                usize::try_from(BATCH_TARGET.as_nanos() / each.as_nanos()).unwrap_or(usize::MAX)
            }
            _ => usize::MAX,
        };
        self.next.min(self.max).min(by_time.max(1))
    }

    /// A batch of `count` (of `wanted`) ran in `took`.
    fn ran(&mut self, count: usize, wanted: usize, took: Duration) {
        let each = took / u32::try_from(count.max(1)).unwrap_or(u32::MAX);
        self.per_execution = Some(match self.per_execution {
            Some(before) => (before * 3 + each) / 4,
            None => each,
        });
        self.next = if count < wanted {
            1
        } else {
            (wanted * 2).min(self.max)
        };
    }

    /// The queue was empty: start small again.
    fn idle(&mut self) {
        self.next = 1;
    }
}

/// Whether a call ended because it was cancelled (stopped by the host or by itself).
fn is_cancel(failure: &Failure) -> bool {
    match failure {
        Failure::Cancelled { .. } => true,
        Failure::Reported(reported) => {
            reported.code == mdc_runtime::plugin::types::ErrorCode::Cancelled
        }
        _ => false,
    }
}

/// The execution running now and its latest progress.
struct Current {
    id: String,
    progress: watch::Receiver<(f32, String)>,
}

/// Every [`HEARTBEAT`]: renews the leases of all held executions in one statement, cancels
/// those a user cancelled or whose lease was lost, and stores the running one's progress.
/// Starts renewing the leases of `held` (and reporting `current`'s progress) until the handle
/// is dropped: a batch that ends in any way, a panic included, stops renewing at once and its
/// unfinished jobs go back to the queue when the leases run out.
fn keep_leases(
    store: Arc<dyn Store>,
    worker_id: String,
    held: Arc<Mutex<HashMap<String, CancellationToken>>>,
    current: Arc<Mutex<Option<Current>>>,
) -> AbortOnDropHandle<()> {
    AbortOnDropHandle::new(tokio::spawn(heartbeat(store, worker_id, held, current)))
}

async fn heartbeat(
    store: Arc<dyn Store>,
    worker_id: String,
    held: Arc<Mutex<HashMap<String, CancellationToken>>>,
    current: Arc<Mutex<Option<Current>>>,
) {
    loop {
        tokio::time::sleep(HEARTBEAT).await;
        let ids: Vec<String> = held.lock().expect("held lock").keys().cloned().collect();
        match store.renew_leases(&worker_id, &ids, LEASE).await {
            Ok(renewed) => {
                let held = held.lock().expect("held lock");
                for (id, cancel) in held.iter() {
                    match renewed.iter().find(|e| &e.id == id) {
                        Some(e) if e.cancel_requested => cancel.cancel(),
                        Some(_) => {}
                        None => {
                            tracing::warn!(execution = %id, "lost the lease; cancelling");
                            cancel.cancel();
                        }
                    }
                }
            }
            Err(err) => tracing::warn!(%err, "cannot renew leases; retrying"),
        }
        let update = {
            let mut current = current.lock().expect("current lock");
            current.as_mut().and_then(|c| {
                c.progress
                    .has_changed()
                    .unwrap_or(false)
                    .then(|| (c.id.clone(), c.progress.borrow_and_update().clone()))
            })
        };
        if let Some((id, (fraction, message))) = update {
            let _ = store
                .report_progress(&id, &worker_id, f64::from(fraction), &message)
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use mdc_runtime::plugin::types::ParamValue;
    use mdc_store::{ExecutionQueue, ExecutionStatus, Tier};

    use super::*;
    use crate::testing::{first_party_plugins, fixture};

    #[test]
    fn batches_grow_while_work_keeps_coming_and_stay_short() {
        let mut sizing = BatchSizing::new(64);
        let mut claims = Vec::new();
        for _ in 0..8 {
            let want = sizing.next_claim();
            claims.push(want);
            sizing.ran(want, want, Duration::from_micros(200) * want as u32);
        }
        assert_eq!(claims, [1, 2, 4, 8, 16, 32, 64, 64]);
        // Slow jobs (40 ms each): at most what runs in about 100 ms.
        let mut sizing = BatchSizing::new(64);
        for _ in 0..6 {
            let want = sizing.next_claim();
            sizing.ran(want, want, Duration::from_millis(40) * want as u32);
        }
        assert_eq!(sizing.next_claim(), 2);
        // A short claim means the queue is draining: back to one.
        sizing.ran(1, 2, Duration::from_millis(40));
        assert_eq!(sizing.next_claim(), 1);
    }

    /// Queues the `character` node MAYA.
    async fn enqueue_maya(f: &crate::testing::Fixture) -> Execution {
        f.enqueue(
            "character",
            "maya",
            &[("name", ParamValue::Text("MAYA".into()))],
        )
        .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_worker_claims_only_the_builds_it_has() {
        let f = fixture(&[first_party_plugins().as_path()]).await;
        let maya = enqueue_maya(&f).await;
        // Ahead in the queue: a job for another build of the node type.
        let mut newer = maya.spec.clone();
        newer.priority = 10;
        newer.node_id = "tom".into();
        newer.cache_key = "key-tom".into();
        newer.plugin_digest = "sha256:a-build-this-worker-does-not-have".into();
        let foreign = f.store.enqueue(newer).await.unwrap();
        let pool = f.pool();
        let done = f.wait_until(&maya.id, |e| e.status.is_final()).await;
        pool.stop().await;
        assert_eq!(done.status, ExecutionStatus::Succeeded, "{:?}", done.error);
        let untouched = f.store.execution(&foreign.id).await.unwrap();
        assert_eq!(
            (untouched.status, untouched.attempts, untouched.worker_id),
            (ExecutionStatus::Queued, 0, None)
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_batch_stops_renewing_its_leases() {
        let f = fixture(&[first_party_plugins().as_path()]).await;
        let queued = enqueue_maya(&f).await;
        let claimed = f
            .store
            .claim("panicky", &[Tier::Low], &f.plugins.digests(), LEASE)
            .await
            .unwrap()
            .unwrap();
        let store: Arc<dyn Store> = f.store.clone();
        let held = Arc::new(Mutex::new(HashMap::from([(
            claimed.id.clone(),
            CancellationToken::new(),
        )])));
        let batch = tokio::spawn(async move {
            let _leases = keep_leases(store, "panicky".into(), held, Arc::new(Mutex::new(None)));
            // The first renewal happens while the batch runs.
            tokio::time::sleep(HEARTBEAT * 3).await;
            panic!("a bug in the batch");
        });
        assert!(batch.await.unwrap_err().is_panic());
        let after_panic = f.store.execution(&queued.id).await.unwrap();
        assert!(
            after_panic.lease_expires_at > claimed.lease_expires_at,
            "renewed while the batch ran"
        );
        // Several heartbeats later nothing renewed the lease any more.
        tokio::time::sleep(HEARTBEAT * 4).await;
        let later = f.store.execution(&queued.id).await.unwrap();
        assert_eq!(later.lease_expires_at, after_panic.lease_expires_at);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_left_running_by_a_dead_worker_runs_again() {
        let f = fixture(&[first_party_plugins().as_path()]).await;
        let queued = f
            .enqueue(
                "character",
                "maya",
                &[("name", ParamValue::Text("MAYA".into()))],
            )
            .await;
        // A worker of a process that then crashed: its lease runs out at once.
        f.store
            .claim(
                "crashed-worker",
                &[Tier::Low],
                &f.plugins.digests(),
                Duration::ZERO,
            )
            .await
            .unwrap()
            .unwrap();
        // The lease is now in the past: the pool's first recovery pass re-queues the job.
        tokio::time::sleep(Duration::from_millis(5)).await;

        let pool = f.pool();
        let finished = f.wait_until(&queued.id, |e| e.status.is_final()).await;
        pool.stop().await;
        assert_eq!(
            finished.status,
            ExecutionStatus::Succeeded,
            "{:?}",
            finished.error
        );
        assert_eq!(
            finished.attempts, 2,
            "claimed once by the dead worker, once after recovery"
        );
        assert_eq!(f.store.takes(&f.project_id, "maya").await.unwrap().len(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cancelling_a_running_execution_reaches_the_plugin() {
        // The test guest that works until `is-cancelled` says stop.
        let guests = tempfile::tempdir().unwrap();
        let built = first_party_plugins().join("../wasm32-wasip2/plugin/guest_misbehave.wasm");
        std::fs::copy(&built, guests.path().join("misbehave.wasm")).unwrap_or_else(|err| {
            panic!(
                "{}: {err}; run `cargo xtask build-plugins`",
                built.display()
            )
        });
        let f = fixture(&[guests.path()]).await;
        let queued = f
            .enqueue(
                "misbehave",
                "waiter",
                &[("mode", ParamValue::Choice("cancel".into()))],
            )
            .await;
        let pool = f.pool();

        // Running, and its progress reached the store through the heartbeat.
        let running = f
            .wait_until(&queued.id, |e| {
                e.progress_message == "waiting for cancellation"
            })
            .await;
        assert_eq!(running.status, ExecutionStatus::Running);
        let asked = std::time::Instant::now();
        let flagged = f.store.cancel(&queued.id).await.unwrap();
        assert!(flagged.cancel_requested);
        let ended = f.wait_until(&queued.id, |e| e.status.is_final()).await;
        pool.stop().await;
        assert_eq!(
            ended.status,
            ExecutionStatus::Cancelled,
            "{:?}",
            ended.error
        );
        assert!(
            asked.elapsed() < Duration::from_secs(3),
            "the plugin saw the cancel within a heartbeat or two: {:?}",
            asked.elapsed()
        );
        assert!(
            f.store
                .takes(&f.project_id, "waiter")
                .await
                .unwrap()
                .is_empty()
        );
    }
}
