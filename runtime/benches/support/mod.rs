//! What the benchmarks share: a first-party component loaded the way production loads it.

use std::path::PathBuf;

use mdc_runtime::plugin::{EngineConfig, Plugin, PluginEngine};

/// Cargo's target folder (`CARGO_TARGET_DIR`, or the workspace's `target/`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// Where `cargo xtask build-plugins` puts the test guest `name` (`runtime/tests/guests/name`).
#[allow(dead_code)] // Not every benchmark loads test guests.
pub fn guest_path(name: &str) -> PathBuf {
    target_dir()
        .join("wasm32-wasip2/plugin")
        .join(format!("guest_{}.wasm", name.replace('-', "_")))
}

/// `target/plugins/<type_id>.wasm` (built by `cargo xtask build-plugins`) loaded into a fresh
/// engine with default limits, and a single-threaded runtime to call it on.
#[allow(dead_code)] // Not every benchmark loads first-party components.
pub fn first_party(type_id: &str) -> (tokio::runtime::Runtime, PluginEngine, Plugin) {
    let component = target_dir().join(format!("plugins/{type_id}.wasm"));
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
