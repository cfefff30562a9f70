//! What the benchmarks share: a first-party component loaded the way production loads it.

use mdc_runtime::plugin::{EngineConfig, Plugin, PluginEngine};

/// `target/plugins/<type_id>.wasm` (built by `cargo xtask build-plugins`) loaded into a fresh
/// engine with default limits, and a single-threaded runtime to call it on.
pub fn first_party(type_id: &str) -> (tokio::runtime::Runtime, PluginEngine, Plugin) {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let component = target.join(format!("plugins/{type_id}.wasm"));
    let bytes = std::fs::read(&component).unwrap_or_else(|err| {
        panic!(
            "{}: {err}; run `cargo xtask build-plugins`",
            component.display()
        )
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let engine = PluginEngine::new(EngineConfig::default()).unwrap();
    let plugin = runtime
        .block_on(engine.load(type_id, &bytes))
        .unwrap_or_else(|err| panic!("load {type_id}: {err}"));
    (runtime, engine, plugin)
}
