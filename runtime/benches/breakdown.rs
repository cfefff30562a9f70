//! "Break Down to Shots" on a feature-length screenplay, inside the sandbox and built
//! natively, side by side: `cargo xtask build-plugins && cargo bench -p mdc-runtime --bench
//! breakdown`. The screenplay is the ferry fixture's scenes repeated past 120 pages
//! (`script::sample::feature_length`). Two runs of the action: the first breakdown of an
//! empty graph, and the re-run over the graph it made (nothing changed: every id is stable).

use std::sync::Arc;
use std::time::{Duration, Instant};

use mdc_runtime::plugin::types::{
    ActionInput, GraphNode, GraphPatch, NodeInput, ParamEntry, ParamValue, QualityTier,
};
use mdc_runtime::plugin::{CallContext, NoServices};
use mdc_sdk::testing::{InputBuilder, TestGraph, TestHost};

#[path = "support/mod.rs"]
mod support;
const RUNS: usize = 10;

fn p50(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The nodes a patch creates, as the action sees an existing graph.
fn graph_nodes(patch: &GraphPatch) -> Vec<GraphNode> {
    patch
        .upsert_nodes
        .iter()
        .map(|n| GraphNode {
            id: n.id.clone(),
            type_id: n.type_id.clone(),
            parent: n.parent.clone(),
            label: n.label.clone(),
            params: n.params.clone(),
        })
        .collect()
}

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let ferry =
        std::fs::read_to_string(root.join("plugins/script/tests/fixtures/the-last-ferry.fountain"))
            .expect("fixture screenplay");
    let text = script::sample::feature_length(&ferry, 120);
    let play = script::parse(&text);

    // Native: the script crate through the SDK's test host.
    let host = TestHost::new();
    let input = || {
        InputBuilder::new()
            .node_id("script-1")
            .param("text", text.as_str())
    };
    let mut native_first = Vec::new();
    let mut native_rerun = Vec::new();
    let mut shots = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        let patch = host
            .run_action::<script::Script>("break-down", input())
            .expect("break-down");
        native_first.push(started.elapsed());
        let mut graph = TestGraph::new();
        graph.apply(&patch);
        shots = graph.nodes().iter().filter(|n| n.type_id == "shot").count();
        let started = Instant::now();
        host.run_action::<script::Script>("break-down", input().graph(graph.nodes().to_vec()))
            .expect("re-run");
        native_rerun.push(started.elapsed());
    }

    // Sandbox: target/plugins/script.wasm, a fresh instance per call.
    let (runtime, _engine, plugin) = support::first_party("script");
    let node = NodeInput {
        node_id: "script-1".into(),
        params: plugin.descriptor().params_with_defaults(vec![ParamEntry {
            id: "text".into(),
            value: ParamValue::Text(text.clone()),
        }]),
        inputs: vec![],
        tier: QualityTier::Low,
        seed: 0,
    };
    let call = || CallContext::new(Arc::new(NoServices));
    let mut sandbox_first = Vec::new();
    let mut sandbox_rerun = Vec::new();
    for _ in 0..RUNS {
        let first = ActionInput {
            node: node.clone(),
            graph: vec![],
        };
        let started = Instant::now();
        let patch = runtime
            .block_on(plugin.run_action("break-down", &first, call()))
            .expect("sandboxed break-down")
            .value;
        sandbox_first.push(started.elapsed());
        let rerun = ActionInput {
            node: node.clone(),
            graph: graph_nodes(&patch),
        };
        let started = Instant::now();
        runtime
            .block_on(plugin.run_action("break-down", &rerun, call()))
            .expect("sandboxed re-run");
        sandbox_rerun.push(started.elapsed());
    }

    println!(
        "Screenplay: {} pages, {} scenes, {shots} shots, {} KiB of text; p50 of {RUNS}\n",
        play.page_count(),
        script::scenes(&play).len(),
        text.len() / 1024
    );
    println!("| break down | native | sandbox | target |");
    println!("|---|---|---|---|");
    println!(
        "| first (empty graph) | {:.1} ms | {:.1} ms | ≤ 500 ms |",
        ms(p50(native_first)),
        ms(p50(sandbox_first))
    );
    println!(
        "| re-run (nothing changed) | {:.1} ms | {:.1} ms | ≤ 500 ms |",
        ms(p50(native_rerun)),
        ms(p50(sandbox_rerun))
    );
}
