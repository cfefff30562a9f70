//! Plugin engine benchmarks: `cargo xtask bench` (or `cargo bench -p mdc-runtime --bench engine`
//! after `cargo xtask build-plugins`). Prints one table; figures go to BENCHMARKS.md. A word on the
//! command line (`cargo bench -p mdc-runtime --bench engine -- instantiate`) runs only matching rows.
//!
//! Measures cold compile, load from the code cache, instantiation (store included), a
//! `describe` round trip, a trivial `execute`, memory per idle instance, instances per GiB and
//! how far past its CPU budget a runaway plugin runs before it is stopped.

use std::time::{Duration, Instant};

use mdc_runtime::plugin::types::{NodeInput, ParamEntry, ParamValue, QualityTier};
use mdc_runtime::plugin::{CallContext, EngineConfig, Limits, PluginEngine, PoolingConfig};

mod support;

fn fixture(name: &str) -> Vec<u8> {
    let path = support::guest_path(name);
    std::fs::read(&path)
        .unwrap_or_else(|err| panic!("{}: {err}; run `cargo xtask build-plugins`", path.display()))
}

/// Percentiles of repeated timings.
struct Stats {
    samples: Vec<Duration>,
}

impl Stats {
    fn measure(iterations: usize, mut f: impl FnMut() -> Duration) -> Stats {
        let mut samples: Vec<Duration> = (0..iterations).map(|_| f()).collect();
        samples.sort();
        Stats { samples }
    }

    fn percentile(&self, p: f64) -> Duration {
        let index = ((self.samples.len() as f64 - 1.0) * p).round() as usize;
        self.samples[index]
    }

    fn row(&self, name: &str, target: &str) {
        println!(
            "| {name} | {} | {} | {} | {target} |",
            fmt(self.percentile(0.5)),
            fmt(self.percentile(0.9)),
            fmt(self.percentile(0.99)),
        );
    }
}

/// The row filter named on the command line (a word that is neither a flag nor a number).
fn filter() -> Option<String> {
    std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-') && a.parse::<usize>().is_err())
}

/// Whether the row `name` runs under the command line's filter.
fn selected(name: &str) -> bool {
    filter().is_none_or(|filter| name.contains(&filter))
}

/// Measures and prints one row, unless the command line names a filter that `name` lacks.
fn bench(name: &str, target: &str, iterations: usize, f: impl FnMut() -> Duration) {
    if selected(name) {
        Stats::measure(iterations, f).row(name, target);
    }
}

fn fmt(d: Duration) -> String {
    if d < Duration::from_micros(10) {
        format!("{:.2} µs", d.as_nanos() as f64 / 1000.0)
    } else if d < Duration::from_millis(1) {
        format!("{:.1} µs", d.as_nanos() as f64 / 1000.0)
    } else {
        format!("{:.2} ms", d.as_secs_f64() * 1000.0)
    }
}

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn input() -> NodeInput {
    NodeInput {
        node_id: "bench".into(),
        params: vec![ParamEntry {
            id: "mode".into(),
            value: ParamValue::Choice("ok".into()),
        }],
        inputs: vec![],
        tier: QualityTier::Low,
        seed: 1,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; an optional number scales the iteration counts.
    let scale: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let echo = fixture("echo");
    let misbehave = fixture("misbehave");
    let cache = tempfile::tempdir().unwrap();

    println!("| measure | p50 | p90 | p99 | target |");
    println!("|---|---|---|---|---|");

    let on_demand = EngineConfig {
        pooling: None,
        ..EngineConfig::default()
    };
    let uncached = PluginEngine::new(on_demand.clone()).unwrap();
    let cold = format!("cold compile, echo ({} KiB)", echo.len() / 1024);
    bench(&cold, "—", 5 * scale, || {
        let started = Instant::now();
        uncached.compile("echo", &echo).unwrap();
        started.elapsed()
    });

    let cached = PluginEngine::new(EngineConfig {
        cache_dir: Some(cache.path().into()),
        ..on_demand
    })
    .unwrap();
    cached.compile("echo", &echo).unwrap();
    bench(
        "load from code cache, echo (digest + deserialize)",
        "≤ 2 ms",
        50 * scale,
        || {
            let started = Instant::now();
            let (_, _, _, source) = cached.compile("echo", &echo).unwrap();
            let elapsed = started.elapsed();
            assert_eq!(source, mdc_runtime::plugin::CodeSource::Cache);
            elapsed
        },
    );

    let plugin = runtime.block_on(cached.load("echo", &echo)).unwrap();
    bench(
        "instantiate, on-demand allocator (fresh store + instance)",
        "≤ 15 µs",
        2000 * scale,
        || {
            let started = Instant::now();
            let instance = runtime.block_on(plugin.instantiate()).unwrap();
            let elapsed = started.elapsed();
            drop(instance);
            elapsed
        },
    );

    let pooled_engine = PluginEngine::new(EngineConfig {
        cache_dir: Some(cache.path().into()),
        pooling: Some(PoolingConfig::default()),
        ..EngineConfig::default()
    })
    .unwrap();
    let pooled = runtime.block_on(pooled_engine.load("echo", &echo)).unwrap();
    bench(
        "instantiate, pooling allocator (fresh store + instance)",
        "≤ 15 µs",
        2000 * scale,
        || {
            let started = Instant::now();
            let instance = runtime.block_on(pooled.instantiate()).unwrap();
            let elapsed = started.elapsed();
            drop(instance);
            elapsed
        },
    );
    bench(
        "`describe` in a fresh instance, pooling allocator",
        "—",
        2000 * scale,
        || {
            let started = Instant::now();
            runtime.block_on(pooled.describe()).unwrap();
            started.elapsed()
        },
    );

    let mut live = runtime.block_on(plugin.instantiate()).unwrap();
    bench(
        "`describe` round trip on a live instance",
        "≤ 5 µs",
        5000 * scale,
        || {
            let started = Instant::now();
            runtime.block_on(live.describe()).unwrap();
            started.elapsed()
        },
    );

    bench(
        "`describe` in a fresh instance, on-demand allocator",
        "—",
        2000 * scale,
        || {
            let started = Instant::now();
            runtime.block_on(plugin.describe()).unwrap();
            started.elapsed()
        },
    );

    let trivial = runtime
        .block_on(pooled_engine.load("misbehave", &misbehave))
        .unwrap();
    let node_input = input();
    bench(
        "trivial `execute` in a fresh instance, pooling allocator",
        "—",
        2000 * scale,
        || {
            let started = Instant::now();
            runtime
                .block_on(trivial.execute(&node_input, CallContext::default()))
                .unwrap();
            started.elapsed()
        },
    );

    let budget = Duration::from_millis(100);
    let runaway = trivial.with_limits(Limits {
        cpu_time: budget,
        ..Limits::default()
    });
    let mut looping = input();
    looping.params[0].value = ParamValue::Choice("loop".into());
    bench(
        "runaway: time past a 100 ms CPU budget",
        "≤ 20 ms",
        10 * scale,
        || {
            let started = Instant::now();
            runtime
                .block_on(runaway.execute(&looping, CallContext::default()))
                .unwrap_err();
            started.elapsed().saturating_sub(budget)
        },
    );

    if !selected("idle instances") {
        return;
    }
    idle_instances(&runtime, &plugin, "on-demand allocator", 1000);
    // The default engine: its pool's slots are its real capacity.
    let capacity = PoolingConfig::default().total_instances as usize;
    let kept = idle_instances(
        &runtime,
        &pooled,
        "pooling allocator (the default)",
        capacity,
    );
    let refused = runtime.block_on(pooled.instantiate()).err();
    println!(
        "one more instance beside those {capacity}: {}",
        match &refused {
            Some(err) => format!("refused ({err})"),
            None => "accepted".to_string(),
        }
    );
    drop(kept);
}

/// Keeps `count` idle echo instances live and prints the memory they add; returns them.
fn idle_instances(
    runtime: &tokio::runtime::Runtime,
    plugin: &mdc_runtime::plugin::Plugin,
    allocator: &str,
    count: usize,
) -> Vec<mdc_runtime::plugin::LiveInstance> {
    let before = rss_bytes();
    let mut instances = Vec::with_capacity(count);
    for _ in 0..count {
        match runtime.block_on(plugin.instantiate()) {
            Ok(instance) => instances.push(instance),
            Err(err) => {
                println!(
                    "\n{allocator}: instance {} of {count} refused: {err}",
                    instances.len() + 1
                );
                break;
            }
        }
    }
    let count = instances.len();
    let after = rss_bytes();
    let per_instance = (after.saturating_sub(before)) / count;
    let linear = instances[0].memory_bytes();
    println!();
    println!(
        "idle instances, {allocator}: {count} live echo instances add {:.1} MiB RSS ({:.1} KiB \
         each, linear memory {} KiB reserved per instance); ≈ {} instances fit in 1 GiB",
        (after.saturating_sub(before)) as f64 / (1024.0 * 1024.0),
        per_instance as f64 / 1024.0,
        linear / 1024,
        if per_instance == 0 {
            usize::MAX
        } else {
            (1usize << 30) / per_instance
        },
    );
    instances
}
