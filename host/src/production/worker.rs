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
use mdc_store::{Execution, Outcome, Store, Take};
use tokio::sync::{Notify, broadcast, watch};

use super::PluginSet;
use super::services::ExecutionServices;
use super::tiers::{TierQueue, estimate_for, usage_json};
use crate::wire::{decode_input, encode_outputs};

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
/// Finished executions announced but not yet read before a listener has to re-read the store.
const EVENT_BUFFER: usize = 8192;

/// An execution a worker of this process finished and recorded.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The execution as recorded (succeeded, failed or cancelled).
    pub execution: Execution,
    /// Its take, when it succeeded.
    pub take: Option<Take>,
}

/// Workers running in this process, per tier.
pub struct WorkerPool {
    stop: Arc<Notify>,
    stopping: Arc<std::sync::atomic::AtomicBool>,
    handles: Vec<tokio::task::JoinHandle<()>>,
    recovery: tokio::task::JoinHandle<()>,
    wake: Arc<Notify>,
    finished: broadcast::Sender<Arc<Finished>>,
}

/// What every worker shares.
#[derive(Clone)]
struct WorkerContext {
    store: Arc<dyn Store>,
    objects: Arc<dyn ObjectStore>,
    plugins: Arc<PluginSet>,
    http: Option<crate::http_client::HttpClient>,
    finished: broadcast::Sender<Arc<Finished>>,
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
        let wake = Arc::new(Notify::new());
        let stop = Arc::new(Notify::new());
        let stopping = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (finished, _) = broadcast::channel(EVENT_BUFFER);
        let needs_http = queues.iter().any(|q| !q.http_origins.is_empty());
        let context = WorkerContext {
            store,
            objects,
            plugins,
            http: needs_http.then(http_client).transpose()?,
            finished: finished.clone(),
        };
        let mut slots = Vec::new();
        for queue in queues {
            let grants = queue.grants().map_err(anyhow::Error::msg)?;
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
                let (wake, stop, stopping) = (wake.clone(), stop.clone(), stopping.clone());
                tokio::spawn(async move { slot.serve(&wake, &stop, &stopping).await })
            })
            .collect();
        Ok(WorkerPool {
            recovery,
            stop,
            stopping,
            handles,
            wake,
            finished,
        })
    }

    /// Notified when new work is queued, so idle workers claim it at once.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Announces every execution this pool finishes; subscribe before queueing.
    pub fn finished(&self) -> broadcast::Sender<Arc<Finished>> {
        self.finished.clone()
    }

    /// Stops claiming; running executions finish first.
    pub async fn stop(self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.stop.notify_waiters();
        self.recovery.abort();
        for handle in self.handles {
            let _ = handle.await;
        }
    }
}

impl Slot {
    /// Claims and runs batches until the pool stops.
    async fn serve(&self, wake: &Notify, stop: &Notify, stopping: &std::sync::atomic::AtomicBool) {
        let tiers = [self.queue.tier];
        let mut sizing = BatchSizing::new(self.queue.claim_batch);
        while !stopping.load(std::sync::atomic::Ordering::SeqCst) {
            let want = sizing.next_claim();
            let claimed = self
                .context
                .store
                .claim_many(&self.worker_id, &tiers, LEASE, want)
                .await;
            match claimed {
                Ok(batch) if !batch.is_empty() => {
                    let (count, started) = (batch.len(), Instant::now());
                    self.run_batch(batch).await;
                    sizing.ran(count, want, started.elapsed());
                }
                Ok(_) => {
                    sizing.idle();
                    tokio::select! {
                        () = wake.notified() => {}
                        () = stop.notified() => {}
                        () = tokio::time::sleep(Duration::from_millis(250)) => {}
                    }
                }
                Err(err) => {
                    tracing::warn!(%err, worker = %self.worker_id, "cannot claim work; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Runs a claimed batch in queue order, keeping every held lease alive meanwhile.
    async fn run_batch(&self, batch: Vec<Execution>) {
        let held: Arc<Mutex<HashMap<String, CancellationToken>>> = Arc::new(Mutex::new(
            batch
                .iter()
                .map(|e| (e.id.clone(), CancellationToken::new()))
                .collect(),
        ));
        let current: Arc<Mutex<Option<Current>>> = Arc::new(Mutex::new(None));
        let heartbeat = tokio::spawn(heartbeat(
            self.context.store.clone(),
            self.worker_id.clone(),
            held.clone(),
            current.clone(),
        ));
        let mut unrecorded: Vec<(String, Outcome)> = Vec::new();
        let mut first_unrecorded: Option<Instant> = None;
        for execution in batch {
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
                let outcome = self.execute(&execution, cancel, progress).await;
                *current.lock().expect("current lock") = None;
                outcome
            };
            unrecorded.push((execution.id.clone(), outcome));
            let since = *first_unrecorded.get_or_insert_with(Instant::now);
            if since.elapsed() >= FLUSH_EVERY {
                self.record(std::mem::take(&mut unrecorded), &held).await;
                first_unrecorded = None;
            }
        }
        self.record(unrecorded, &held).await;
        heartbeat.abort();
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
            match result {
                Ok((execution, take)) => {
                    // Nobody listening is fine: listeners re-read the store.
                    let _ = self
                        .context
                        .finished
                        .send(Arc::new(Finished { execution, take }));
                }
                Err(err) => {
                    tracing::warn!(%err, worker = %self.worker_id, "a finished execution was not recorded")
                }
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
                    Ok(outputs) => Outcome::Succeeded {
                        outputs: outputs.to_string(),
                        usage,
                    },
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
        let request: serde_json::Value = serde_json::from_str(&execution.spec.request)
            .context("the execution's request is not JSON")?;
        let plugin = self.context.plugins.require(&execution.spec.plugin_type)?;
        let mut limits = plugin.limits().clone();
        limits.wall_time = self.queue.timeout;
        let plugin = plugin.with_limits(limits);
        let input =
            decode_input(&request["input"]).context("the execution's request is malformed")?;
        let services = Arc::new(ExecutionServices {
            store: self.context.store.clone(),
            objects: self.context.objects.clone(),
            project_id: execution.spec.project_id.clone(),
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
/// [`crate::http_client::CA_FILE_SETTING`] names.
fn http_client() -> anyhow::Result<crate::http_client::HttpClient> {
    let settings = crate::http_client::HttpSettings::from_env(
        Duration::from_secs(60),
        mdc_runtime::plugin::Limits::default().http_response_bytes,
    );
    crate::http_client::HttpClient::new(&settings).context("outbound HTTP cannot be set up")
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
    use crate::production::testing::{first_party_plugins, fixture};

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
            .claim("crashed-worker", &[Tier::Low], Duration::ZERO)
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
