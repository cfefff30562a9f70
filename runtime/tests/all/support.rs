//! Shared helpers: fixture paths, a shared engine, and host services that record everything.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use mdc_runtime::plugin::types::{
    AssetMetadata, HttpError, HttpRequest, HttpResponse, LogLevel, NodeInput, ParamEntry,
    ParamValue, QualityTier, ServiceError, Value,
};
use mdc_runtime::plugin::{
    CallContext, CallError, EngineConfig, HostServices, LoadError, Plugin, PluginEngine,
};

/// Every guest crate under `runtime/tests/guests`, by directory name. A directory missing here
/// fails `every_guest_is_classified`, so no fixture is silently left untested.
pub const GUESTS: &[&str] = &[
    "bad-descriptor",
    "echo",
    "future-contract",
    "hostile-burner",
    "hostile-chatter",
    "hostile-descriptor",
    "hostile-outputs",
    "hostile-reader",
    "hostile-requests",
    "hostile-sleeper",
    "hostile-spinner",
    "legacy-v0-1-0",
    "live-client",
    "misbehave",
];

/// Path of a built guest component.
pub fn fixture(name: &str) -> PathBuf {
    assert!(GUESTS.contains(&name), "unknown guest {name:?}");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target
        .join("wasm32-wasip2/plugin")
        .join(format!("guest_{}.wasm", name.replace('-', "_")));
    assert!(
        path.is_file(),
        "guest component {} is missing: build the guests with `cargo xtask build-plugins`",
        path.display()
    );
    path
}

/// The bytes of a built guest component.
pub fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).expect("readable fixture")
}

/// The code cache folder every engine of the test binary shares.
pub fn cache_dir() -> PathBuf {
    std::env::temp_dir().join(format!("mdc-runtime-tests-{}", std::process::id()))
}

/// One engine for the whole test binary, with a code cache so each guest compiles once.
pub fn engine() -> PluginEngine {
    static ENGINE: OnceLock<PluginEngine> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            PluginEngine::new(EngineConfig {
                cache_dir: Some(cache_dir()),
                quarantine_after: 0,
                ..EngineConfig::default()
            })
            .expect("engine")
        })
        .clone()
}

/// Loads a guest with the shared engine.
pub async fn load(name: &str) -> Plugin {
    engine()
        .load(name, &fixture_bytes(name))
        .await
        .unwrap_or_else(|err| panic!("load {name}: {err}"))
}

/// Loads a guest on an engine of its own (for engine-wide settings such as quarantine or the
/// describe limits), sharing the test binary's code cache.
pub async fn load_on(config: EngineConfig, name: &str) -> Plugin {
    PluginEngine::new(EngineConfig {
        cache_dir: Some(cache_dir()),
        ..config
    })
    .expect("engine")
    .load(name, &fixture_bytes(name))
    .await
    .unwrap_or_else(|err| panic!("load {name}: {err}"))
}

/// Loads bytes that must be refused, and returns why.
pub async fn refused(engine: &PluginEngine, name: &str, bytes: &[u8]) -> LoadError {
    match engine.load(name, bytes).await {
        Ok(plugin) => panic!("{} loaded", plugin.label()),
        Err(err) => err,
    }
}

/// Executes a plugin with its `mode` choice set, returning the output values.
pub async fn run_mode(
    plugin: &Plugin,
    mode: &str,
    context: CallContext,
) -> Result<Vec<Value>, CallError> {
    let outcome = plugin
        .execute(&input(&[("mode", choice(mode))]), context)
        .await?;
    Ok(outcome.value.values.into_iter().map(|v| v.value).collect())
}

/// Asserts that an error message starts by naming the plugin and the export.
pub fn expect_prefix(err: &CallError, plugin: &str, call: &str) {
    let prefix = format!("plugin {plugin:?} 0.1.0: {call}: ");
    assert!(err.to_string().starts_with(&prefix), "{err}");
}

/// A node input with these parameters, tier low and seed 7.
pub fn input(params: &[(&str, ParamValue)]) -> NodeInput {
    NodeInput {
        node_id: "node-1".into(),
        params: params
            .iter()
            .map(|(id, value)| ParamEntry {
                id: (*id).into(),
                value: value.clone(),
            })
            .collect(),
        inputs: vec![],
        tier: QualityTier::Low,
        seed: 7,
    }
}

/// A text parameter value.
pub fn text(value: &str) -> ParamValue {
    ParamValue::Text(value.into())
}

/// A choice parameter value.
pub fn choice(value: &str) -> ParamValue {
    ParamValue::Choice(value.into())
}

/// Host services that record every call and serve in-memory assets and HTTP answers.
#[derive(Default)]
pub struct Recorder {
    pub logs: Mutex<Vec<(LogLevel, String)>>,
    pub progress: Mutex<Vec<(f32, String)>>,
    pub outputs: Mutex<Vec<(String, Vec<u8>)>>,
    pub requests: Mutex<Vec<HttpRequest>>,
    pub assets: HashMap<String, (AssetMetadata, Vec<u8>)>,
    /// How many asset reads were served.
    pub asset_reads: AtomicUsize,
}

impl Recorder {
    pub fn new() -> Arc<Recorder> {
        Arc::new(Recorder::default())
    }

    pub fn with_asset(id: &str, mime: &str, bytes: &[u8]) -> Arc<Recorder> {
        let mut recorder = Recorder::default();
        let metadata = AssetMetadata {
            id: id.into(),
            mime: mime.into(),
            size: bytes.len() as u64,
            name: id.into(),
            kind: "text".into(),
            fields: "{}".into(),
        };
        recorder
            .assets
            .insert(id.into(), (metadata, bytes.to_vec()));
        Arc::new(recorder)
    }
}

#[async_trait::async_trait]
impl HostServices for Recorder {
    fn log(&self, level: LogLevel, message: &str) {
        self.logs.lock().unwrap().push((level, message.to_string()));
    }

    fn progress(&self, fraction: f32, message: &str) {
        self.progress
            .lock()
            .unwrap()
            .push((fraction, message.to_string()));
    }

    async fn asset_metadata(&self, id: &str) -> Result<AssetMetadata, ServiceError> {
        self.assets
            .get(id)
            .map(|(meta, _)| meta.clone())
            .ok_or_else(|| ServiceError::NotFound(id.to_string()))
    }

    async fn read_asset(&self, id: &str) -> Result<Vec<u8>, ServiceError> {
        self.asset_reads.fetch_add(1, Ordering::Relaxed);
        self.assets
            .get(id)
            .map(|(_, bytes)| bytes.clone())
            .ok_or_else(|| ServiceError::NotFound(id.to_string()))
    }

    async fn write_output(&self, mime: &str, bytes: Vec<u8>) -> Result<String, ServiceError> {
        let mut outputs = self.outputs.lock().unwrap();
        outputs.push((mime.to_string(), bytes));
        Ok(format!("asset-{}", outputs.len()))
    }

    async fn http_fetch(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        self.requests.lock().unwrap().push(request);
        Ok(HttpResponse {
            status: 200,
            headers: vec![],
            body: b"granted answer".to_vec(),
        })
    }
}
