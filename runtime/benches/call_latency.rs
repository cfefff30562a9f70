//! Latency of an ordinary plugin call while runaway plugins run beside it:
//! `cargo xtask build-plugins && cargo bench -p mdc-runtime --bench call_latency`.
//!
//! The caller is a small current-thread runtime, like a server's network task. From it, runaway
//! executions are started (more of them than the engine has plugin threads) and then, one
//! request at a time, an ordinary `echo` execute is issued 10 ms after the previous one
//! answered. A request's latency runs from when it was due to when its answer came back, so it
//! includes the time the caller's runtime took to wake the task at all ("wake-up" rows).
//!
//! Scenarios: alone (back to back, the cost of one ordinary call; and at the same pace as the
//! others), beside CPU runaways (misbehave `loop`), and beside runaways re-reading a large
//! asset through host calls (`hostile-reader`, when that guest is built). A number on the
//! command line scales the sample counts; a word runs only the rows whose name contains it;
//! `MDC_BENCH_PLUGIN_THREADS=N` measures another plugin thread count than the default.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mdc_runtime::plugin::types::{
    AssetMetadata, NodeInput, ParamEntry, ParamValue, QualityTier, ServiceError,
};
use mdc_runtime::plugin::{
    CallContext, CancellationToken, EngineConfig, HostServices, Limits, Plugin, PluginEngine,
};

/// Size of the asset the host-call runaways read over and over.
const BIG_ASSET_BYTES: usize = 100 << 20;
/// Gap between an answer and the next request.
const GAP: Duration = Duration::from_millis(10);
/// Longest a scenario samples for, so a slow engine still finishes.
const MAX_SCENARIO: Duration = Duration::from_secs(30);

/// Accepts outputs and serves one large asset, as a worker's services would.
struct Services {
    big: Vec<u8>,
}

#[async_trait::async_trait]
impl HostServices for Services {
    async fn asset_metadata(&self, id: &str) -> Result<AssetMetadata, ServiceError> {
        Ok(AssetMetadata {
            id: id.into(),
            mime: "application/octet-stream".into(),
            size: self.big.len() as u64,
            name: id.into(),
            kind: "file".into(),
            fields: "{}".into(),
        })
    }

    async fn read_asset(&self, _id: &str) -> Result<Vec<u8>, ServiceError> {
        Ok(self.big.clone())
    }

    async fn write_output(&self, _mime: &str, bytes: Vec<u8>) -> Result<String, ServiceError> {
        Ok(format!("out-{}", bytes.len()))
    }
}

mod support;

fn component(name: &str) -> Option<Vec<u8>> {
    std::fs::read(support::guest_path(name)).ok()
}

fn input(params: &[(&str, &str)]) -> NodeInput {
    NodeInput {
        node_id: "bench".into(),
        params: params
            .iter()
            .map(|(id, choice)| ParamEntry {
                id: (*id).into(),
                value: ParamValue::Choice((*choice).into()),
            })
            .collect(),
        inputs: vec![],
        tier: QualityTier::Low,
        seed: 1,
    }
}

/// p50, p95 and p99 of a set of timings.
fn row(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "| {name} | {} | {} | {} | {} |",
        samples.len(),
        fmt(at(0.5)),
        fmt(at(0.95)),
        fmt(at(0.99)),
    );
}

fn fmt(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        format!("{:.1} µs", d.as_nanos() as f64 / 1000.0)
    } else {
        format!("{:.2} ms", d.as_secs_f64() * 1000.0)
    }
}

/// Runaways to start beside the ordinary calls: which plugin, with what input, how many.
struct Runaways {
    plugin: Plugin,
    input: NodeInput,
    count: usize,
}

/// Wake-up delays and latencies of `samples` ordinary calls, issued one after the other from
/// this (the caller's) runtime while `runaways` run.
async fn measure(
    echo: &Plugin,
    context: &CallContext,
    runaways: Option<&Runaways>,
    samples: usize,
) -> (Vec<Duration>, Vec<Duration>) {
    let stop = CancellationToken::new();
    let mut running = Vec::new();
    if let Some(runaways) = runaways {
        for _ in 0..runaways.count {
            let plugin = runaways.plugin.clone();
            let input = runaways.input.clone();
            let context = CallContext {
                cancel: stop.clone(),
                ..context.clone()
            };
            running.push(tokio::spawn(async move {
                while !context.cancel.is_cancelled() {
                    let _ = plugin.execute(&input, context.clone()).await;
                }
            }));
        }
        // Let every runaway reach the guest before the first request.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let echo_input = input(&[]);
    let (mut wakes, mut latencies) = (Vec::new(), Vec::new());
    let started = Instant::now();
    let mut due = Instant::now() + GAP;
    while latencies.len() < samples && started.elapsed() < MAX_SCENARIO {
        tokio::time::sleep_until(due.into()).await;
        wakes.push(due.elapsed());
        echo.execute(&echo_input, context.clone())
            .await
            .expect("echo answers");
        latencies.push(due.elapsed());
        due = Instant::now() + GAP;
    }
    stop.cancel();
    for task in running {
        task.abort();
        let _ = task.await;
    }
    (wakes, latencies)
}

fn main() {
    let scale: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1);
    let filter = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-') && a.parse::<usize>().is_err());
    let selected = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    let caller = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let defaults = EngineConfig::default();
    // `MDC_BENCH_PLUGIN_THREADS=N` measures another thread count than the default.
    let plugin_threads = std::env::var("MDC_BENCH_PLUGIN_THREADS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(defaults.plugin_threads);
    let engine = PluginEngine::new(EngineConfig {
        // Runaways fail over and over here; quarantine would stop them, which is not the point.
        quarantine_after: 0,
        plugin_threads,
        ..defaults
    })
    .unwrap();
    let load = |name: &str| {
        let bytes = component(name).unwrap_or_else(|| {
            panic!("guest {name} is not built: run `cargo xtask build-plugins`")
        });
        caller
            .block_on(engine.load(name, &bytes))
            .unwrap_or_else(|err| panic!("load {name}: {err}"))
    };
    let echo = load("echo");
    let runaway_limits = Limits {
        // Longer than any scenario: the runaways are stopped by the benchmark, not by a limit.
        cpu_time: Duration::from_secs(600),
        cancel_grace: Duration::ZERO,
        ..Limits::default()
    };
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let count = 4 * cores;
    let context = CallContext::new(Arc::new(Services {
        big: vec![0x42; BIG_ASSET_BYTES],
    }));

    println!(
        "{cores} cores; {count} runaways in each runaway scenario; one request every 10 ms after the last answer"
    );
    println!();
    println!("| measure | n | p50 | p95 | p99 |");
    println!("|---|---|---|---|---|");
    if selected("back to back") {
        let echo_input = input(&[]);
        let samples = (0..2000 * scale)
            .map(|_| {
                let started = Instant::now();
                caller
                    .block_on(echo.execute(&echo_input, context.clone()))
                    .expect("echo answers");
                started.elapsed()
            })
            .collect();
        row("echo execute, alone, back to back", samples);
    }
    let mut scenarios: Vec<(String, Option<Runaways>, usize)> =
        vec![("alone".to_string(), None, 300 * scale)];
    scenarios.push((
        format!("beside {count} CPU runaways"),
        Some(Runaways {
            plugin: load("misbehave").with_limits(runaway_limits.clone()),
            input: input(&[("mode", "loop")]),
            count,
        }),
        300 * scale,
    ));
    if component("hostile-reader").is_some() {
        scenarios.push((
            format!("beside {count} runaways re-reading a 100 MiB asset"),
            Some(Runaways {
                plugin: load("hostile-reader").with_limits(runaway_limits.clone()),
                input: input(&[]),
                count,
            }),
            300 * scale,
        ));
    } else {
        println!("(hostile-reader is not built: its scenario is skipped)");
    }
    for (name, runaways, samples) in &scenarios {
        if !selected(name) {
            continue;
        }
        let (wakes, latencies) =
            caller.block_on(measure(&echo, &context, runaways.as_ref(), *samples));
        row(&format!("echo execute, {name}: latency"), latencies);
        if runaways.is_some() {
            row(
                &format!("echo execute, {name}: wake-up of the caller's task"),
                wakes,
            );
        }
    }
}
