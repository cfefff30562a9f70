//! The shot's draft renderer inside the sandbox and built natively, side by side in one run:
//! `cargo xtask build-plugins && cargo bench -p mdc-runtime --bench draft_render`.
//!
//! Native: the `shot` crate's `Node::execute` through the SDK's test host (same code, same PNG
//! encoder). Sandbox: `target/plugins/shot.wasm` through the plugin engine with a fresh instance
//! per call, as production runs it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mdc_runtime::plugin::types::{
    ConnectedValue, NodeInput, ParamEntry, ParamValue, PortValues, QualityTier, ServiceError,
    Value as RtValue,
};
use mdc_runtime::plugin::{CallContext, HostServices};
use mdc_sdk::testing::{InputBuilder, TestHost};

#[path = "support/mod.rs"]
mod support;
const PROMPT: &str = "A fisherman hauls a net at dawn while gulls wheel over the harbour";
const CHARACTER: &str = r#"{"name":"MAYA"}"#;
const ENVIRONMENT: &str = r#"{"mood":"dawn","type":"exterior"}"#;

/// Keeps written outputs in memory, as a worker would hand them to the object store.
struct Sink;

#[async_trait::async_trait]
impl HostServices for Sink {
    async fn write_output(&self, _mime: &str, bytes: Vec<u8>) -> Result<String, ServiceError> {
        Ok(format!("out-{}", bytes.len()))
    }
}

fn p50(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let runs = 20;
    let native_input = InputBuilder::new()
        .param("prompt", PROMPT)
        .param("scene", "1 · EXT. HARBOUR - DAWN")
        .param("shot", "1.1")
        .connect("characters", mdc_sdk::types::Value::Json(CHARACTER.into()))
        .connect(
            "environment",
            mdc_sdk::types::Value::Json(ENVIRONMENT.into()),
        );
    let host = TestHost::new();
    let native: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            host.execute::<shot::Shot>(native_input.clone())
                .expect("native render");
            started.elapsed()
        })
        .collect();

    let (runtime, _engine, plugin) = support::first_party("shot");
    let connected = |port: &str, json: &str| PortValues {
        port: port.into(),
        values: vec![ConnectedValue {
            source_node: "bench".into(),
            source_port: port.into(),
            value: RtValue::Json(json.into()),
        }],
    };
    let text = |id: &str, value: &str| ParamEntry {
        id: id.into(),
        value: ParamValue::Text(value.into()),
    };
    let input = NodeInput {
        node_id: "bench".into(),
        params: plugin.descriptor().params_with_defaults(vec![
            text("prompt", PROMPT),
            text("scene", "1 · EXT. HARBOUR - DAWN"),
            text("shot", "1.1"),
        ]),
        inputs: vec![
            connected("characters", CHARACTER),
            connected("environment", ENVIRONMENT),
        ],
        tier: QualityTier::Low,
        seed: 0,
    };
    let services: Arc<dyn HostServices> = Arc::new(Sink);
    let sandbox: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            runtime
                .block_on(plugin.execute(&input, CallContext::new(services.clone())))
                .expect("sandboxed render");
            started.elapsed()
        })
        .collect();

    let (native, sandbox) = (p50(native), p50(sandbox));
    println!("| draft frame 1280×720, PNG encoded | p50 | target |");
    println!("|---|---|---|");
    println!(
        "| native (release) | {:.1} ms | ≤ 100 ms |",
        native.as_secs_f64() * 1000.0
    );
    println!(
        "| sandbox (shot.wasm, fresh instance) | {:.1} ms | ≤ 100 ms |",
        sandbox.as_secs_f64() * 1000.0
    );
    println!(
        "| sandbox / native | {:.2}× | ≤ 1.5× |",
        sandbox.as_secs_f64() / native.as_secs_f64()
    );
}
