//! The database goes away in the middle of a generation: PostgreSQL refuses connections and
//! drops every open one for two seconds while in-process workers draw shots. Workers retry
//! their claims and the recording of what they finished, the generator waits for the
//! database to return, and in the end every shot has exactly one take and nothing is left
//! queued or running.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mdc_production::{
    GenerateRequest, Generator, LoadPolicy, NodeResult, PluginFolders, PluginSet, TierQueue,
    WorkerPool,
};
use mdc_runtime::graph::{Graph, Node, NodeId};
use mdc_runtime::plugin::types::ParamValue;
use mdc_runtime::plugin::{EngineConfig, PluginEngine};
use mdc_store::objects::{LocalDirStore, ObjectStore};
use mdc_store::{ExecutionStatus, Page, SqlStore, Store, Tier, new_id};
use sqlx::Connection;

const SHOTS: usize = 24;

fn plugins_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("plugins")
}

fn admin_url() -> String {
    std::env::var("MDC_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

async fn admin(sql: String) {
    let url = admin_url();
    let mut conn = sqlx::PgConnection::connect(&url)
        .await
        .unwrap_or_else(|err| panic!("PostgreSQL at {url} is required: {err}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
        .expect("admin statement");
    conn.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generation_survives_the_database_going_away() {
    let name = format!("mdc_outage_{}", new_id());
    admin(format!("CREATE DATABASE {name}")).await;
    let (base, _) = admin_url()
        .rsplit_once('/')
        .map(|(b, d)| (b.to_string(), d.to_string()))
        .unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqlStore::connect(&format!("{base}/{name}")).await.unwrap());

    let dir = tempfile::tempdir().unwrap();
    let objects: Arc<dyn ObjectStore> = Arc::new(LocalDirStore::new(dir.path().join("objects")));
    let engine = PluginEngine::new(EngineConfig::default()).unwrap();
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
        .require("shot")
        .expect("run `cargo xtask build-plugins` first");

    let user = store.create_user("Ana", "ana@studio.test").await.unwrap();
    let project = store.create_project("Outage", &user.id).await.unwrap();
    let mut graph = Graph::new();
    for n in 0..SHOTS {
        let mut node = Node::new(format!("shot-{n}"), "shot", "0.1.0");
        node.params.insert(
            "prompt".into(),
            ParamValue::Text(format!("Maya waits, take {n}")),
        );
        node.params.insert(
            "scene".into(),
            ParamValue::Text("1 · EXT. PIER - NIGHT".into()),
        );
        graph.insert_node(node);
    }
    let targets: Vec<NodeId> = graph.nodes().map(|n| n.id.clone()).collect();

    let mut queue = TierQueue::defaults(Tier::Low).with_concurrency(2);
    queue.claim_batch = 2;
    let pool = WorkerPool::start(
        store.clone(),
        objects,
        plugins.clone(),
        vec![queue],
        "outage",
    )
    .unwrap();
    let generator = Generator::new(store.clone(), plugins);

    let outage = {
        let (store, project_id, name) = (store.clone(), project.id.clone(), name.clone());
        tokio::spawn(async move {
            // Wait until the generation is under way.
            loop {
                let usage = store.tier_usage(&project_id).await.unwrap();
                if usage.iter().any(|u| u.runs > 0) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            admin(format!(
                "ALTER DATABASE {name} ALLOW_CONNECTIONS false;
                 SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = '{name}' AND pid <> pg_backend_pid();"
            ))
            .await;
            tokio::time::sleep(Duration::from_secs(2)).await;
            admin(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await;
            std::time::Instant::now()
        })
    };

    let report = generator
        .generate(
            &project.id,
            &graph,
            &targets,
            &GenerateRequest::draft(7),
            &|_| {},
        )
        .await
        .expect("the generation waits for the database to come back");
    let generated_at = std::time::Instant::now();
    let outage_ended_at = outage.await.unwrap();
    assert!(
        generated_at > outage_ended_at,
        "the outage happened while the generation was running"
    );
    pool.stop().await;

    for (node, result) in &report.nodes {
        assert!(
            matches!(result, NodeResult::Generated(_)),
            "{node}: {result:?}"
        );
    }
    for node in &targets {
        let executions = store
            .node_executions(&project.id, node.as_str(), Page::default())
            .await
            .unwrap();
        assert!(
            executions
                .iter()
                .all(|e| e.status == ExecutionStatus::Succeeded),
            "{node}: {executions:?}"
        );
        assert_eq!(
            store.takes(&project.id, node.as_str()).await.unwrap().len(),
            1,
            "{node}"
        );
    }

    drop(store);
    admin(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
}
