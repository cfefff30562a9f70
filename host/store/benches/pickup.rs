//! How soon a waiting worker picks up a newly queued execution: woken by the queue's
//! announcement (PostgreSQL LISTEN/NOTIFY from another connection pool, as another process
//! would; SQLite's in-process channel) versus polling every 250 ms.
//! `cargo bench -p mdc-store --bench pickup` (PostgreSQL from `MDC_TEST_POSTGRES_URL`,
//! default `postgres://postgres@127.0.0.1:5432/test`; a fresh database is made and dropped).

use std::time::{Duration, Instant};

use mdc_store::{ExecutionQueue, NewExecution, ProjectStore, QueueEvent, SqlStore, Tier, new_id};

mod support;

const RUNS: usize = 40;
/// How often a polling worker looked for work before the queue announced it.
const POLL: Duration = Duration::from_millis(250);
const DIGEST: &str = "bench-digest";

fn job(project: &str, i: usize) -> NewExecution {
    NewExecution {
        project_id: project.into(),
        node_id: format!("shot-{i}"),
        plugin_type: "shot".into(),
        plugin_version: "0.1.0".into(),
        plugin_digest: DIGEST.into(),
        tier: Tier::Low,
        priority: 0,
        request: "{}".into(),
        cache_key: format!("key-{}", new_id()),
        requested_by: None,
    }
}

/// Time from the start of an enqueue on `queue` to its claim by an idle worker on `worker`.
async fn pickups(queue: &SqlStore, worker: &SqlStore, pushed: bool) -> Vec<Duration> {
    let user = queue
        .create_user("Bench", &format!("{}@bench.test", new_id()))
        .await
        .unwrap();
    let project = queue.create_project("Bench", &user.id).await.unwrap().id;
    let mut samples = Vec::new();
    for i in 0..RUNS {
        let (ready, is_ready) = tokio::sync::oneshot::channel();
        let waiting = {
            let worker = worker.clone();
            tokio::spawn(async move {
                let mut events = worker.subscribe();
                let digests = [DIGEST.to_string()];
                let mut ready = Some(ready);
                loop {
                    let claimed = worker
                        .claim("bench", &[Tier::Low], &digests, Duration::from_secs(30))
                        .await
                        .unwrap();
                    if claimed.is_some() {
                        return Instant::now();
                    }
                    if let Some(ready) = ready.take() {
                        ready.send(()).unwrap();
                    }
                    if pushed {
                        while !matches!(events.recv().await, Some(QueueEvent::Queued(_))) {}
                    } else {
                        tokio::time::sleep(POLL).await;
                    }
                }
            })
        };
        is_ready.await.unwrap();
        // Work arrives at any moment of a polling worker's sleep.
        tokio::time::sleep(Duration::from_millis((i as u64 * 37) % 250)).await;
        let started = Instant::now();
        queue.enqueue(job(&project, i)).await.unwrap();
        samples.push(waiting.await.unwrap() - started);
    }
    samples.sort();
    samples
}

fn figures(samples: &[Duration]) -> String {
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize].as_secs_f64() * 1000.0;
    format!("{:.2} ms | {:.2} ms", at(0.5), at(0.95))
}

fn main() {
    support::runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqlStore::open_sqlite(&dir.path().join("bench.db"))
            .await
            .unwrap();

        let scratch = support::ScratchDatabase::create().await;
        // Two stores on one database: the server queueing and a worker elsewhere.
        let server = scratch.store().await;
        let remote_worker = scratch.store().await;

        println!("| pick-up of a queued execution (of {RUNS}) | p50 | p95 |");
        println!("|---|---|---|");
        for (label, queue, worker) in [
            ("SQLite, same process", &sqlite, &sqlite),
            (
                "PostgreSQL, another connection pool",
                &server,
                &remote_worker,
            ),
        ] {
            for pushed in [true, false] {
                let samples = pickups(queue, worker, pushed).await;
                let how = if pushed {
                    "announced".to_string()
                } else {
                    format!("polled every {} ms", POLL.as_millis())
                };
                println!("| {label}, {how} | {} |", figures(&samples));
            }
        }
        server.close().await;
        remote_worker.close().await;
        scratch.drop().await;
    });
}
