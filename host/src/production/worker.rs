//! In-process workers: claim executions from the store's queue, run the plugin, record the take.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use mdc_runtime::plugin::{CallContext, Failure};
use mdc_store::objects::ObjectStore;
use mdc_store::{Execution, Outcome, Store, Tier};
use serde_json::json;
use tokio::sync::{Notify, watch};

use super::PluginSet;
use super::services::ExecutionServices;
use crate::wire::{decode_input, encode_outputs};

/// How long a claim lasts without renewal; a worker that dies loses its jobs after this.
const LEASE: Duration = Duration::from_secs(30);
/// How often a running job renews its lease and flushes progress.
const HEARTBEAT: Duration = Duration::from_millis(500);
/// How often the pool re-queues jobs whose worker died (lease expired), here or elsewhere.
const RECOVERY: Duration = Duration::from_secs(10);
/// Attempts before a job whose workers keep dying is failed instead of re-queued.
const MAX_ATTEMPTS: i64 = 3;

/// Workers running in this process.
pub struct WorkerPool {
    stop: Arc<Notify>,
    stopping: Arc<std::sync::atomic::AtomicBool>,
    handles: Vec<tokio::task::JoinHandle<()>>,
    recovery: tokio::task::JoinHandle<()>,
    wake: Arc<Notify>,
    completed: Arc<Notify>,
}

/// What every worker shares.
#[derive(Clone)]
struct WorkerContext {
    store: Arc<dyn Store>,
    objects: Arc<dyn ObjectStore>,
    plugins: Arc<PluginSet>,
    http: Option<crate::http_client::HttpClient>,
    completed: Arc<Notify>,
}

impl WorkerPool {
    /// Starts `slots` workers serving `tiers`.
    pub fn start(
        store: Arc<dyn Store>,
        objects: Arc<dyn ObjectStore>,
        plugins: Arc<PluginSet>,
        slots: usize,
        tiers: Vec<Tier>,
        name: &str,
    ) -> WorkerPool {
        let wake = Arc::new(Notify::new());
        let stop = Arc::new(Notify::new());
        let stopping = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let completed = Arc::new(Notify::new());
        let context = WorkerContext {
            store,
            objects,
            plugins,
            http: None,
            completed: completed.clone(),
        };
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
        let handles = (0..slots.max(1))
            .map(|slot| {
                let worker_id = format!("{name}-{}-{slot}", std::process::id());
                let (context, tiers, wake, stop, stopping) =
                    (context.clone(), tiers.clone(), wake.clone(), stop.clone(), stopping.clone());
                tokio::spawn(async move {
                    while !stopping.load(std::sync::atomic::Ordering::SeqCst) {
                        match context.store.claim(&worker_id, &tiers, LEASE).await {
                            Ok(Some(execution)) => run_execution(&context, &worker_id, execution).await,
                            Ok(None) => {
                                tokio::select! {
                                    () = wake.notified() => {}
                                    () = stop.notified() => {}
                                    () = tokio::time::sleep(Duration::from_millis(250)) => {}
                                }
                            }
                            Err(err) => {
                                tracing::warn!(%err, worker = %worker_id, "cannot claim work; retrying");
                                tokio::time::sleep(Duration::from_secs(1)).await;
                            }
                        }
                    }
                })
            })
            .collect();
        WorkerPool {
            recovery,
            stop,
            stopping,
            handles,
            wake,
            completed,
        }
    }

    /// Notified when new work is queued, so idle workers claim it at once.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Notified whenever a worker finishes an execution.
    pub fn completions(&self) -> Arc<Notify> {
        self.completed.clone()
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

async fn run_execution(context: &WorkerContext, worker_id: &str, execution: Execution) {
    let outcome = match execute(context, worker_id, &execution).await {
        Ok(outcome) => outcome,
        Err(err) => Outcome::Failed {
            error: format!("{err:#}"),
            usage: "{}".into(),
        },
    };
    if let Err(err) = context
        .store
        .finish(&execution.id, worker_id, outcome)
        .await
    {
        tracing::warn!(%err, execution = %execution.id, "cannot record the end of an execution");
    }
    context.completed.notify_waiters();
}

async fn execute(
    context: &WorkerContext,
    worker_id: &str,
    execution: &Execution,
) -> anyhow::Result<Outcome> {
    let request: serde_json::Value = serde_json::from_str(&execution.spec.request)
        .context("the execution's request is not JSON")?;
    let plugin = context.plugins.require(&execution.spec.plugin_type)?;
    let input = decode_input(&request["input"]).context("the execution's request is malformed")?;
    let (progress, mut progress_seen) = watch::channel((0.0f32, String::new()));
    let services = Arc::new(ExecutionServices {
        store: context.store.clone(),
        objects: context.objects.clone(),
        project_id: execution.spec.project_id.clone(),
        node_id: execution.spec.node_id.clone(),
        progress,
        http: context.http.clone(),
    });
    let call = CallContext::new(services);
    let cancel = call.cancel.clone();
    let heartbeat = {
        let store = context.store.clone();
        let (id, worker) = (execution.id.clone(), worker_id.to_string());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(HEARTBEAT).await;
                match store.renew_lease(&id, &worker, LEASE).await {
                    Ok(current) if current.cancel_requested => cancel.cancel(),
                    Ok(_) => {}
                    Err(err) => {
                        tracing::warn!(%err, "lost the lease; cancelling");
                        cancel.cancel();
                        return;
                    }
                }
                if progress_seen.has_changed().unwrap_or(false) {
                    let (fraction, message) = progress_seen.borrow_and_update().clone();
                    let _ = store
                        .report_progress(&id, &worker, f64::from(fraction), &message)
                        .await;
                }
            }
        })
    };
    let result = plugin.execute(&input, call).await;
    heartbeat.abort();
    Ok(match result {
        Ok(outcome) => {
            let report = &outcome.report;
            let usage = json!({
                "ms": report.duration.as_secs_f64() * 1000.0,
                "cpu_ms": report.cpu_charged.as_millis() as u64,
                "peak_memory_bytes": report.peak_memory_bytes,
                "output_bytes": report.output_bytes,
            });
            Outcome::Succeeded {
                outputs: encode_outputs(&outcome.value).to_string(),
                usage: usage.to_string(),
            }
        }
        Err(err) if matches!(err.failure, Failure::Cancelled { .. }) => Outcome::Cancelled,
        Err(err) => match &err.failure {
            Failure::Reported(reported)
                if reported.code == mdc_runtime::plugin::types::ErrorCode::Cancelled =>
            {
                Outcome::Cancelled
            }
            _ => Outcome::Failed {
                error: err.to_string(),
                usage: "{}".into(),
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use mdc_runtime::plugin::types::{NodeInput, ParamEntry, ParamValue, QualityTier};
    use mdc_runtime::plugin::{EngineConfig, PluginEngine};
    use mdc_store::objects::LocalDirStore;
    use mdc_store::{ExecutionQueue, ExecutionStatus, NewExecution, ProjectStore, SqlStore};

    use super::*;
    use crate::production::request_json;

    fn first_party_plugins() -> PathBuf {
        std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
            .join("plugins")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_left_running_by_a_dead_worker_runs_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            SqlStore::open_sqlite(&dir.path().join("mdc.db"))
                .await
                .unwrap(),
        );
        let objects: Arc<dyn ObjectStore> =
            Arc::new(LocalDirStore::new(dir.path().join("objects")));
        let engine = PluginEngine::new(EngineConfig::default()).unwrap();
        let plugins = Arc::new(
            PluginSet::load_dirs(&engine, &[first_party_plugins().as_path()])
                .await
                .unwrap(),
        );
        let character = plugins
            .require("character")
            .expect("run `cargo xtask build-plugins`");
        let user = store.create_user("Ana", "ana@studio.test").await.unwrap();
        let project = store.create_project("Ferry", &user.id).await.unwrap();
        let given = vec![ParamEntry {
            id: "name".into(),
            value: ParamValue::Text("MAYA".into()),
        }];
        let input = NodeInput {
            node_id: "maya".into(),
            params: character.descriptor().params_with_defaults(given),
            inputs: vec![],
            tier: QualityTier::Low,
            seed: 1,
        };
        let queued = store
            .enqueue(NewExecution {
                project_id: project.id.clone(),
                node_id: "maya".into(),
                plugin_type: "character".into(),
                plugin_version: character.descriptor().version.clone(),
                tier: Tier::Low,
                priority: 0,
                request: request_json(character, &input),
                cache_key: "key".into(),
                requested_by: None,
            })
            .await
            .unwrap();
        // A worker of a process that then crashed: its lease runs out at once.
        store
            .claim("crashed-worker", &[Tier::Low], Duration::ZERO)
            .await
            .unwrap()
            .unwrap();
        // The lease is now in the past: the pool's first recovery pass re-queues the job.
        tokio::time::sleep(Duration::from_millis(5)).await;

        let pool = WorkerPool::start(
            store.clone(),
            objects,
            plugins.clone(),
            1,
            vec![Tier::Low],
            "test",
        );
        let mut finished = None;
        for _ in 0..100 {
            let current = store.execution(&queued.id).await.unwrap();
            if current.status.is_final() {
                finished = Some(current);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        pool.stop().await;
        let finished = finished.expect("the execution finished within 10 s");
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
        assert_eq!(store.takes(&project.id, "maya").await.unwrap().len(), 1);
    }
}
