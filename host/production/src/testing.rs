//! What the production tests share: a SQLite store in a temporary folder, a local object
//! folder, loaded plugins, a project, and helpers to queue, serve and wait.

use std::sync::Arc;
use std::time::Duration;

use mdc_runtime::plugin::types::{NodeInput, ParamEntry, ParamValue, QualityTier};
use mdc_runtime::plugin::{EngineConfig, PluginEngine};
use mdc_store::objects::{LocalDirStore, ObjectStore};
use mdc_store::{Execution, ExecutionQueue, NewExecution, ProjectStore, SqlStore, Tier};

use super::{LoadPolicy, PluginFolders, PluginSet, TierQueue, WorkerPool, request_json};

/// Where `cargo xtask build-plugins` puts the first-party components.
pub(crate) fn first_party_plugins() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("plugins")
}

/// A SQLite store, a local object folder, and the plugins of `dirs`.
pub(crate) struct Fixture {
    _dir: tempfile::TempDir,
    pub(crate) store: Arc<SqlStore>,
    pub(crate) objects: Arc<dyn ObjectStore>,
    pub(crate) plugins: Arc<PluginSet>,
    pub(crate) project_id: String,
}

pub(crate) async fn fixture(dirs: &[&std::path::Path]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqlStore::open_sqlite(&dir.path().join("mdc.db"))
            .await
            .unwrap(),
    );
    let objects: Arc<dyn ObjectStore> = Arc::new(LocalDirStore::new(dir.path().join("objects")));
    let engine = PluginEngine::new(EngineConfig::default()).unwrap();
    let folders = PluginFolders::first_party(dirs);
    let plugins = Arc::new(
        PluginSet::load(&engine, &folders, &LoadPolicy::default())
            .await
            .set,
    );
    let user = store.create_user("Ana", "ana@studio.test").await.unwrap();
    let project = store.create_project("Ferry", &user.id).await.unwrap();
    Fixture {
        _dir: dir,
        store,
        objects,
        plugins,
        project_id: project.id,
    }
}

impl Fixture {
    /// Queues `type_id` on node `node` with these parameters.
    pub(crate) async fn enqueue(
        &self,
        type_id: &str,
        node: &str,
        params: &[(&str, ParamValue)],
    ) -> Execution {
        let plugin = self
            .plugins
            .require(type_id)
            .expect("run `cargo xtask build-plugins`");
        let given = params
            .iter()
            .map(|(id, value)| ParamEntry {
                id: (*id).into(),
                value: value.clone(),
            })
            .collect();
        let input = NodeInput {
            node_id: node.into(),
            params: plugin.descriptor().params_with_defaults(given),
            inputs: vec![],
            tier: QualityTier::Low,
            seed: 1,
        };
        self.store
            .enqueue(NewExecution {
                project_id: self.project_id.clone(),
                node_id: node.into(),
                plugin_type: type_id.into(),
                plugin_version: plugin.descriptor().version.clone(),
                plugin_digest: plugin.digest().to_string(),
                tier: Tier::Low,
                priority: 0,
                request: request_json(plugin, &input).unwrap(),
                cache_key: format!("key-{node}"),
                requested_by: None,
            })
            .await
            .unwrap()
    }

    pub(crate) fn pool(&self) -> WorkerPool {
        WorkerPool::start(
            self.store.clone(),
            self.objects.clone(),
            self.plugins.clone(),
            vec![TierQueue::defaults(Tier::Low).with_concurrency(1)],
            "test",
        )
        .unwrap()
    }

    /// Waits until `done` says so of the execution (at most 10 s): re-read whenever the
    /// queue announces something, and every 100 ms for what it does not announce (a job
    /// starting to run, its progress).
    pub(crate) async fn wait_until(
        &self,
        id: &str,
        done: impl Fn(&Execution) -> bool,
    ) -> Execution {
        let mut events = mdc_store::ExecutionQueue::subscribe(self.store.as_ref());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let current = self.store.execution(id).await.unwrap();
            if done(&current) {
                return current;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!("execution did not get there within 10 s: {current:?}");
            }
            tokio::select! {
                _ = events.recv() => {}
                () = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
        }
    }
}
