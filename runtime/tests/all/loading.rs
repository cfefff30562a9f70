//! Loading components: what is refused before compiling, the descriptor rules, the code cache.

use mdc_runtime::plugin::{CodeSource, EngineConfig, LoadError, PluginEngine};

use crate::support::{GUESTS, engine, fixture_bytes, input, load};

fn load_error(bytes: &[u8]) -> LoadError {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    match runtime.block_on(engine().load("upload.wasm", bytes)) {
        Ok(plugin) => panic!("{} loaded", plugin.label()),
        Err(err) => err,
    }
}

#[test]
fn every_guest_is_classified() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guests");
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    assert_eq!(
        found, GUESTS,
        "add new guests to support::GUESTS and give them a test"
    );
}

#[test]
fn refuses_a_file_that_is_not_wasm() {
    let err = load_error(b"\x89PNG\r\n\x1a\n not a plugin");
    assert!(matches!(err, LoadError::NotWasm { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "upload.wasm: not a WebAssembly file (it does not start with the WebAssembly magic bytes)"
    );
}

#[test]
fn refuses_a_core_module_and_says_how_to_build_a_component() {
    let module = wat::parse_str("(module (func (export \"execute\")))").unwrap();
    let err = load_error(&module);
    assert!(matches!(err, LoadError::CoreModule { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("cargo build --target wasm32-wasip2"),
        "{err}"
    );
}

#[test]
fn refuses_a_component_that_is_not_a_node() {
    let component = wat::parse_str("(component)").unwrap();
    let err = load_error(&component);
    assert!(matches!(err, LoadError::NotANode { .. }), "{err}");
}

#[test]
fn refuses_a_truncated_component() {
    let bytes = fixture_bytes("echo");
    let err = load_error(&bytes[..bytes.len() / 2]);
    assert!(matches!(err, LoadError::Invalid { .. }), "{err}");
}

#[test]
fn refuses_an_unknown_contract_version() {
    let err = load_error(&fixture_bytes("future-contract"));
    assert_eq!(
        err.to_string(),
        "upload.wasm: built against contract moviedirector:node@9.0.0, which this host does not support \
         (supported: 0.1.0, 0.2.0); rebuild it with a matching mdc-sdk or upgrade mdc"
    );
}

#[test]
fn refuses_a_descriptor_that_breaks_the_rules() {
    let err = load_error(&fixture_bytes("bad-descriptor"));
    let message = err.to_string();
    assert!(
        message.starts_with("plugin \"bad-descriptor\" 0.1.0: invalid descriptor: "),
        "{message}"
    );
    assert!(
        message.contains("input port id \"characters\" is used more than once"),
        "{message}"
    );
    assert!(
        message.contains("parameter \"steps\": default 50 is outside the range 1..=10"),
        "{message}"
    );
}

#[tokio::test]
async fn loads_a_component_built_against_the_frozen_0_1_0_contract() {
    let plugin = load("legacy-v0-1-0").await;
    assert_eq!(plugin.contract_version(), "0.1.0");
    let outcome = plugin
        .execute(&input(&[]), Default::default())
        .await
        .unwrap();
    assert_eq!(
        outcome.value.values[0].value,
        mdc_runtime::plugin::types::Value::Text("legacy ok".into())
    );
}

#[tokio::test]
async fn compiled_code_is_cached_by_digest() {
    let cache = tempfile::tempdir().unwrap();
    let config = EngineConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        ..EngineConfig::default()
    };
    let bytes = fixture_bytes("echo");
    let first = PluginEngine::new(config.clone()).unwrap();
    let (plugin, source) = first.load_reporting("echo", &bytes).await.unwrap();
    assert_eq!(source, CodeSource::Compiled);
    let entries: Vec<_> = std::fs::read_dir(cache.path()).unwrap().collect();
    assert_eq!(entries.len(), 1, "one cache entry");
    let second = PluginEngine::new(config).unwrap();
    let (again, source) = second.load_reporting("echo", &bytes).await.unwrap();
    assert_eq!(source, CodeSource::Cache);
    assert_eq!(again.digest(), plugin.digest());
    assert_eq!(again.descriptor(), plugin.descriptor());
}

#[tokio::test]
async fn the_code_cache_keeps_within_its_limit_evicting_what_was_used_longest_ago() {
    let cache = tempfile::tempdir().unwrap();
    let entry_sizes = || -> Vec<u64> {
        std::fs::read_dir(cache.path())
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .collect()
    };
    let (echo, legacy) = (fixture_bytes("echo"), fixture_bytes("legacy-v0-1-0"));
    // Measure one entry, then allow a little more than the largest single entry.
    let probe = PluginEngine::new(EngineConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        ..EngineConfig::default()
    })
    .unwrap();
    probe.load("echo", &echo).await.unwrap();
    probe.load("legacy", &legacy).await.unwrap();
    let sizes = entry_sizes();
    assert_eq!(sizes.len(), 2);
    let limit = sizes.iter().max().unwrap() + 1024;
    for entry in std::fs::read_dir(cache.path()).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }

    let engine = PluginEngine::new(EngineConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        cache_bytes: limit,
        ..EngineConfig::default()
    })
    .unwrap();
    engine.load("echo", &echo).await.unwrap();
    engine.load("legacy", &legacy).await.unwrap();
    assert_eq!(entry_sizes().len(), 1, "the older entry made room");
    assert!(entry_sizes().iter().sum::<u64>() <= limit);
    let (_, source) = engine.load_reporting("legacy", &legacy).await.unwrap();
    assert_eq!(source, CodeSource::Cache, "the newest entry stays");
    let (_, source) = engine.load_reporting("echo", &echo).await.unwrap();
    assert_eq!(
        source,
        CodeSource::Compiled,
        "the evicted one compiles again"
    );
}

#[tokio::test]
async fn a_corrupt_cache_entry_is_discarded_and_recompiled() {
    let cache = tempfile::tempdir().unwrap();
    let config = EngineConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        ..EngineConfig::default()
    };
    let bytes = fixture_bytes("echo");
    let engine = PluginEngine::new(config).unwrap();
    engine.load("echo", &bytes).await.unwrap();
    for entry in std::fs::read_dir(cache.path()).unwrap() {
        std::fs::write(entry.unwrap().path(), b"garbage").unwrap();
    }
    let (_, source) = engine.load_reporting("echo", &bytes).await.unwrap();
    assert_eq!(source, CodeSource::Compiled);
}
