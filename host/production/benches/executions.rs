//! Execution throughput and cache-hit latency through the whole production path:
//! `cargo xtask build-plugins && cargo bench -p mdc --bench executions`.
//!
//! A project of 10,000 independent `character` nodes (each with its own name, so each is its
//! own cache key) is generated at the Draft tier: planned, looked up in the result cache,
//! queued in one transaction, claimed in batches by the in-process workers, executed in the
//! real sandboxed component, and recorded with takes in batched transactions. Then the same
//! generation again (every node served from the cache), and the latency of Generate on one
//! node whose take is cached. Prints a table; figures go to BENCHMARKS.md.
//!
//! SQLite always; PostgreSQL too when `MDC_BENCH_POSTGRES_URL` names a database to use
//! (its tables are created if missing; rows are added, never removed).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mdc_production::{
    GenerateRequest, Generator, LoadPolicy, PluginFolders, PluginSet, TierQueue, WorkerPool,
};
use mdc_runtime::graph::{Graph, Node, NodeId};
use mdc_runtime::plugin::types::ParamValue;
use mdc_runtime::plugin::{EngineConfig, PluginEngine};
use mdc_store::objects::{LocalDirStore, ObjectStore};
use mdc_store::{SqlStore, Store, Tier};

const NODES: usize = 10_000;
const CACHE_HIT_RUNS: usize = 200;

fn plugins_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("plugins")
}

fn project_graph(nodes: usize, tag: &str) -> Graph {
    let mut graph = Graph::new();
    for n in 0..nodes {
        let mut node = Node::new(format!("c{n}"), "character", "0.1.0");
        node.params
            .insert("name".into(), ParamValue::Text(format!("EXTRA {tag} {n}")));
        graph.insert_node(node);
    }
    graph
}

/// One measured configuration.
struct Figures {
    generate_s: f64,
    regenerate_s: f64,
    cache_hit_p50_ms: f64,
    cache_hit_p95_ms: f64,
}

async fn measure(
    store: Arc<dyn Store>,
    objects: Arc<dyn ObjectStore>,
    plugins: Arc<PluginSet>,
    queue: TierQueue,
    nodes: usize,
    tag: &str,
) -> Figures {
    let user = store
        .create_user(
            "Bench",
            &format!("bench-{}@studio.test", mdc_store::new_id()),
        )
        .await
        .unwrap();
    let project = store.create_project("Bench", &user.id).await.unwrap();
    let pool = WorkerPool::start(
        store.clone(),
        objects,
        plugins.clone(),
        vec![queue],
        "bench",
    )
    .unwrap();
    let generator = Generator::new(store, plugins);
    let graph = project_graph(nodes, tag);
    let targets: Vec<NodeId> = graph.nodes().map(|n| n.id.clone()).collect();
    let quiet = |_| {};

    let started = Instant::now();
    let report = generator
        .generate(
            &project.id,
            &graph,
            &targets,
            &GenerateRequest::draft(1),
            &quiet,
        )
        .await
        .unwrap();
    let generate_s = started.elapsed().as_secs_f64();
    let generated = report
        .nodes
        .iter()
        .filter(|(_, r)| matches!(r, mdc_production::NodeResult::Generated(_)))
        .count();
    assert_eq!(generated, nodes, "every node ran once");

    let started = Instant::now();
    let again = generator
        .generate(
            &project.id,
            &graph,
            &targets,
            &GenerateRequest::draft(1),
            &quiet,
        )
        .await
        .unwrap();
    let regenerate_s = started.elapsed().as_secs_f64();
    assert!(
        again
            .nodes
            .iter()
            .all(|(_, r)| matches!(r, mdc_production::NodeResult::Reused(_))),
        "the second generation is served from the cache"
    );

    let one = [targets[nodes / 2].clone()];
    let mut samples: Vec<Duration> = (0..CACHE_HIT_RUNS).map(|_| Duration::ZERO).collect();
    for sample in &mut samples {
        let started = Instant::now();
        generator
            .generate(
                &project.id,
                &graph,
                &one,
                &GenerateRequest::draft(1),
                &quiet,
            )
            .await
            .unwrap();
        *sample = started.elapsed();
    }
    samples.sort();
    pool.stop().await;
    Figures {
        generate_s,
        regenerate_s,
        cache_hit_p50_ms: samples[samples.len() / 2].as_secs_f64() * 1000.0,
        cache_hit_p95_ms: samples[samples.len() * 95 / 100].as_secs_f64() * 1000.0,
    }
}

fn print_row(name: &str, nodes: usize, f: &Figures) {
    println!(
        "{name:<34} {:>9.0} {:>10.0} {:>12.3} {:>12.3}",
        nodes as f64 / f.generate_s,
        nodes as f64 / f.regenerate_s,
        f.cache_hit_p50_ms,
        f.cache_hit_p95_ms,
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    if let Ok(path) = std::env::var("MDC_BENCH_SQL_LOG") {
        let file = std::fs::File::create(path).unwrap();
        tracing_subscriber::fmt()
            .with_env_filter("sqlx::query=trace")
            .with_writer(std::sync::Mutex::new(file))
            .with_ansi(false)
            .init();
    }
    let nodes = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(NODES);
    let dir = tempfile::tempdir().unwrap();
    let engine = PluginEngine::new(EngineConfig {
        cache_dir: Some(dir.path().join("code-cache")),
        ..EngineConfig::default()
    })
    .unwrap();
    let plugins = Arc::new(
        PluginSet::load(
            &engine,
            &PluginFolders::first_party([plugins_dir()]),
            &LoadPolicy::default(),
        )
        .await
        .set,
    );
    plugins
        .require("character")
        .expect("run `cargo xtask build-plugins` first");
    let objects: Arc<dyn ObjectStore> = Arc::new(LocalDirStore::new(dir.path().join("objects")));
    let cores = std::thread::available_parallelism().map_or(2, usize::from);

    println!("{nodes} trivial executions (`character` component), {cores} workers, Draft tier\n");
    println!(
        "{:<34} {:>9} {:>10} {:>12} {:>12}",
        "store / most claimed at once", "runs/s", "reuses/s", "hit p50 ms", "hit p95 ms"
    );
    for batch in [64, 16, 1] {
        let store: Arc<dyn Store> = Arc::new(
            SqlStore::open_sqlite(&dir.path().join(format!("bench-{batch}.db")))
                .await
                .unwrap(),
        );
        let mut queue = TierQueue::defaults(Tier::Low).with_concurrency(cores);
        queue.claim_batch = batch;
        let figures = measure(
            store,
            objects.clone(),
            plugins.clone(),
            queue,
            nodes,
            &format!("sqlite-{batch}"),
        )
        .await;
        print_row(&format!("SQLite, ≤ {batch}"), nodes, &figures);
    }
    if let Ok(url) = std::env::var("MDC_BENCH_POSTGRES_URL") {
        let store: Arc<dyn Store> = Arc::new(SqlStore::connect(&url).await.unwrap());
        let queue = TierQueue::defaults(Tier::Low).with_concurrency(cores);
        let figures = measure(store, objects.clone(), plugins, queue, nodes, "postgres").await;
        print_row("PostgreSQL, ≤ 64 (Draft default)", nodes, &figures);
    }
}
