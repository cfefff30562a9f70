//! Store round trips on SQLite and PostgreSQL side by side:
//! `cargo bench -p mdc-store --bench round_trips` (PostgreSQL from `MDC_TEST_POSTGRES_URL`,
//! default `postgres://postgres@127.0.0.1:5432/test`; a fresh database is made and dropped).

use std::time::{Duration, Instant};

use mdc_store::{
    AssetStore, ExecutionQueue, GraphStore, NewExecution, Outcome, ProjectStore, SqlStore, Tier,
    new_id,
};

mod support;

const RUNS: usize = 300;

fn p50(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn job(project: &str, i: usize) -> NewExecution {
    NewExecution {
        project_id: project.into(),
        node_id: format!("shot-{i}"),
        plugin_type: "shot".into(),
        plugin_version: "0.1.0".into(),
        plugin_digest: "bench-digest".into(),
        tier: Tier::Low,
        priority: 0,
        request: format!(r#"{{"seed":{i}}}"#),
        cache_key: format!("key-{i}"),
        requested_by: None,
    }
}

/// p50 of: a cache-hit lookup, a graph save, an asset read, and a full job (enqueue + claim +
/// finish with a take).
async fn measure(store: &SqlStore) -> [Duration; 4] {
    let user = store
        .create_user("Bench", &format!("{}@bench.test", new_id()))
        .await
        .unwrap();
    let project = store.create_project("Bench", &user.id).await.unwrap().id;
    let mut jobs = Vec::new();
    for i in 0..RUNS {
        let started = Instant::now();
        let queued = store.enqueue(job(&project, i)).await.unwrap();
        store
            .claim(
                "bench",
                &[Tier::Low],
                &["bench-digest".to_string()],
                Duration::from_secs(30),
            )
            .await
            .unwrap()
            .unwrap();
        let outcome = Outcome::Succeeded {
            outputs: r#"{"values":[]}"#.into(),
            usage: "{}".into(),
        };
        store.finish(&queued.id, "bench", outcome).await.unwrap();
        jobs.push(started.elapsed());
    }
    let mut hits = Vec::new();
    for i in 0..RUNS {
        let started = Instant::now();
        assert!(
            store
                .cached_take(&format!("key-{i}"))
                .await
                .unwrap()
                .is_some()
        );
        hits.push(started.elapsed());
    }
    let snapshot = format!(r#"{{"nodes":[{}]}}"#, vec![r#"{"id":"n"}"#; 200].join(","));
    let mut saves = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        store
            .save_graph(&project, &snapshot, None, "bench")
            .await
            .unwrap();
        saves.push(started.elapsed());
    }
    let asset = store
        .insert_asset(mdc_store::NewAsset {
            project_id: project.clone(),
            kind: "image".into(),
            name: "ref".into(),
            mime: "image/png".into(),
            size: 1,
            sha256: "00".repeat(32),
            object_key: "objects/00/00".into(),
            thumbnail_key: None,
            fields: "{}".into(),
        })
        .await
        .unwrap();
    let mut reads = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        store.asset(&asset.id).await.unwrap();
        reads.push(started.elapsed());
    }
    [p50(hits), p50(saves), p50(reads), p50(jobs)]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    support::runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqlStore::open_sqlite(&dir.path().join("bench.db"))
            .await
            .unwrap();
        let sqlite_figures = measure(&sqlite).await;

        let scratch = support::ScratchDatabase::create().await;
        let postgres = scratch.store().await;
        let postgres_figures = measure(&postgres).await;
        postgres.close().await;
        scratch.drop().await;

        println!("| round trip (p50 of {RUNS}) | SQLite | PostgreSQL |");
        println!("|---|---|---|");
        let names = [
            "cache-hit lookup (`cached_take`)",
            "save a graph version (200-node snapshot)",
            "read an asset record",
            "job: enqueue + claim + finish with a take",
        ];
        for (i, name) in names.iter().enumerate() {
            println!(
                "| {name} | {} | {} |",
                ms(sqlite_figures[i]),
                ms(postgres_figures[i])
            );
        }
    });
}
