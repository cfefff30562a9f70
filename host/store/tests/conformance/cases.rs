//! Store behaviours, each a function over any [`SqlStore`].

use std::collections::HashSet;
use std::time::Duration;

use mdc_store::*;

async fn project(store: &SqlStore) -> Project {
    let user = store
        .create_user("Ana", &format!("ana-{}@studio.test", new_id()))
        .await
        .unwrap();
    store
        .create_project("Harbour Lights", &user.id)
        .await
        .unwrap()
}

fn job(project: &Project, node: &str, tier: Tier, priority: i64) -> NewExecution {
    NewExecution {
        project_id: project.id.clone(),
        node_id: node.into(),
        plugin_type: "shot".into(),
        plugin_version: "0.1.0".into(),
        plugin_digest: SHOT_DIGEST.into(),
        tier,
        priority,
        request: format!(r#"{{"node":"{node}","seed":7}}"#),
        cache_key: format!("key-{node}-{}", tier.as_str()),
        requested_by: None,
    }
}

const LEASE: Duration = Duration::from_secs(30);

/// The component digest of [`job`]'s executions.
const SHOT_DIGEST: &str = "digest-of-shot-0.1.0";

/// What a worker holding the `shot` component offers to claim.
fn shot() -> Vec<String> {
    vec![SHOT_DIGEST.to_string()]
}

pub async fn users_have_unique_emails(store: &SqlStore) {
    store.create_user("Ana", "ana@studio.test").await.unwrap();
    let err = store
        .create_user("Ana B", "ana@studio.test")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    assert_eq!(
        err.to_string(),
        "conflict: a user with e-mail \"ana@studio.test\" exists"
    );
    let found = store
        .user_by_email("ana@studio.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.name, "Ana");
    assert_eq!(
        store.user_by_email("nobody@studio.test").await.unwrap(),
        None
    );
    let err = store.create_user("X", "not-an-email").await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
}

pub async fn projects_have_owners_and_members(store: &SqlStore) {
    let owner = store.create_user("Ana", "ana@studio.test").await.unwrap();
    let editor = store.create_user("Ben", "ben@studio.test").await.unwrap();
    let project = store
        .create_project("  Harbour Lights ", &owner.id)
        .await
        .unwrap();
    assert_eq!(project.name, "Harbour Lights");
    assert_eq!(store.project(&project.id).await.unwrap(), project);
    store
        .set_member(&project.id, &editor.id, Role::Viewer)
        .await
        .unwrap();
    store
        .set_member(&project.id, &editor.id, Role::Editor)
        .await
        .unwrap();
    let mut members = store.members(&project.id).await.unwrap();
    members.sort_by_key(|m| m.role.as_str());
    assert_eq!(members.len(), 2);
    assert!(
        members
            .iter()
            .any(|m| m.user_id == owner.id && m.role == Role::Owner)
    );
    assert!(
        members
            .iter()
            .any(|m| m.user_id == editor.id && m.role == Role::Editor)
    );
    let err = store.create_project("Orphan", "nobody").await.unwrap_err();
    assert_eq!(err.to_string(), "invalid: owner \"nobody\" does not exist");
    let err = store.create_project("   ", &owner.id).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)));
    let err = store.project("missing").await.unwrap_err();
    assert_eq!(err.to_string(), "project \"missing\" not found");
    assert_eq!(store.list_projects(Page::default()).await.unwrap().len(), 1);
}

pub async fn graph_versions_count_up_and_keep_history(store: &SqlStore) {
    let project = project(store).await;
    assert_eq!(store.latest_graph(&project.id).await.unwrap(), None);
    for i in 1..=3 {
        let saved = store
            .save_graph(&project.id, &format!(r#"{{"n":{i}}}"#), None, "edit")
            .await
            .unwrap();
        assert_eq!(saved.version, i);
    }
    let latest = store.latest_graph(&project.id).await.unwrap().unwrap();
    assert_eq!(
        (latest.version, latest.snapshot.as_str()),
        (3, r#"{"n":3}"#)
    );
    assert_eq!(
        store.graph_version(&project.id, 2).await.unwrap().snapshot,
        r#"{"n":2}"#
    );
    let history = store
        .graph_history(&project.id, Page::first(2))
        .await
        .unwrap();
    assert_eq!(
        history.iter().map(|v| v.version).collect::<Vec<_>>(),
        [3, 2]
    );
    assert!(history.iter().all(|v| v.snapshot.is_empty()));
    let err = store.graph_version(&project.id, 9).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }));
    let err = store
        .save_graph("missing", "{}", None, "")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NotFound {
                what: "project",
                ..
            }
        ),
        "{err}"
    );
}

pub async fn concurrent_graph_saves_get_distinct_versions(store: &SqlStore) {
    let project = project(store).await;
    let saves = (0..12).map(|i| {
        let store = store.clone();
        let id = project.id.clone();
        tokio::spawn(async move {
            store
                .save_graph(&id, &format!("{{\"n\":{i}}}"), None, "")
                .await
                .unwrap()
                .version
        })
    });
    let mut versions = Vec::new();
    for save in saves {
        versions.push(save.await.unwrap());
    }
    versions.sort();
    assert_eq!(versions, (1..=12).collect::<Vec<_>>());
}

pub async fn graph_lease_is_exclusive_until_it_expires(store: &SqlStore) {
    let project = project(store).await;
    assert!(
        store
            .acquire_graph_lease(&project.id, "server-a", LEASE)
            .await
            .unwrap()
    );
    assert!(
        store
            .acquire_graph_lease(&project.id, "server-a", LEASE)
            .await
            .unwrap(),
        "renewal"
    );
    assert!(
        !store
            .acquire_graph_lease(&project.id, "server-b", LEASE)
            .await
            .unwrap()
    );
    store
        .release_graph_lease(&project.id, "server-b")
        .await
        .unwrap();
    assert!(
        !store
            .acquire_graph_lease(&project.id, "server-b", LEASE)
            .await
            .unwrap(),
        "b cannot release a's lease"
    );
    store
        .release_graph_lease(&project.id, "server-a")
        .await
        .unwrap();
    assert!(
        store
            .acquire_graph_lease(&project.id, "server-b", Duration::ZERO)
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(
        store
            .acquire_graph_lease(&project.id, "server-a", LEASE)
            .await
            .unwrap(),
        "expired lease is taken over"
    );
}

pub async fn assets_round_trip_and_refuse_bad_input(store: &SqlStore) {
    let project = project(store).await;
    let new = NewAsset {
        project_id: project.id.clone(),
        kind: "character".into(),
        name: "Maya".into(),
        mime: "image/png".into(),
        size: 1234,
        sha256: "ab".repeat(32),
        object_key: "objects/ab/abab".into(),
        thumbnail_key: Some("objects/ab/abab-thumb".into()),
        fields: r#"{"age":34}"#.into(),
    };
    let asset = store.insert_asset(new.clone()).await.unwrap();
    assert_eq!(asset.data, new);
    assert_eq!(store.asset(&asset.id).await.unwrap(), asset);
    let update = AssetUpdate {
        name: Some("Maya Reyes".into()),
        fields: Some(r#"{"age":35}"#.into()),
        content: None,
        expected_version: Some(asset.version),
    };
    let updated = store.update_asset(&asset.id, update).await.unwrap();
    assert_eq!(
        (updated.data.name.as_str(), updated.data.fields.as_str()),
        ("Maya Reyes", r#"{"age":35}"#)
    );
    assert_eq!(updated.data.object_key, new.object_key);
    let style = store
        .insert_asset(NewAsset {
            kind: "style".into(),
            name: "Noir".into(),
            ..new.clone()
        })
        .await
        .unwrap();
    let characters = store
        .list_assets(&project.id, Some("character"), Page::default())
        .await
        .unwrap();
    assert_eq!(
        characters.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        [asset.id.as_str()]
    );
    assert_eq!(
        store
            .list_assets(&project.id, None, Page::default())
            .await
            .unwrap()
            .len(),
        2
    );
    let err = store
        .update_asset(
            &style.id,
            AssetUpdate {
                name: Some(" ".into()),
                ..Default::default()
            },
        )
        .await;
    assert!(matches!(err, Err(StoreError::Invalid(_))));
    assert_eq!(store.delete_asset(&asset.id).await.unwrap().id, asset.id);
    assert!(matches!(
        store.asset(&asset.id).await,
        Err(StoreError::NotFound { what: "asset", .. })
    ));
    let err = store
        .insert_asset(NewAsset {
            project_id: "missing".into(),
            ..new
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NotFound {
                what: "project",
                ..
            }
        ),
        "{err}"
    );
}

pub async fn object_users_count_bytes_and_thumbnails_across_projects(store: &SqlStore) {
    let first = project(store).await;
    let second = project(store).await;
    let shared = NewAsset {
        project_id: first.id.clone(),
        kind: "image".into(),
        name: "Harbour at dusk".into(),
        mime: "image/png".into(),
        size: 10,
        sha256: "cd".repeat(32),
        object_key: "objects/cd/shared".into(),
        thumbnail_key: Some("objects/ef/thumb".into()),
        fields: "{}".into(),
    };
    assert_eq!(
        store
            .assets_using_object("objects/cd/shared")
            .await
            .unwrap(),
        0
    );
    let a = store.insert_asset(shared.clone()).await.unwrap();
    let b = store
        .insert_asset(NewAsset {
            project_id: second.id.clone(),
            thumbnail_key: None,
            ..shared.clone()
        })
        .await
        .unwrap();
    // A third asset whose bytes are the others' thumbnail.
    let c = store
        .insert_asset(NewAsset {
            object_key: "objects/ef/thumb".into(),
            thumbnail_key: None,
            ..shared
        })
        .await
        .unwrap();
    assert_eq!(
        store
            .assets_using_object("objects/cd/shared")
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store.assets_using_object("objects/ef/thumb").await.unwrap(),
        2
    );
    store.delete_asset(&a.id).await.unwrap();
    store.delete_asset(&c.id).await.unwrap();
    assert_eq!(
        store
            .assets_using_object("objects/cd/shared")
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.assets_using_object("objects/ef/thumb").await.unwrap(),
        0
    );
    store.delete_asset(&b.id).await.unwrap();
    assert_eq!(
        store
            .assets_using_object("objects/cd/shared")
            .await
            .unwrap(),
        0
    );
}

pub async fn queue_serves_priority_then_age_per_tier(store: &SqlStore) {
    let project = project(store).await;
    let first = store
        .enqueue(job(&project, "a", Tier::Low, 0))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(3)).await;
    let urgent = store
        .enqueue(job(&project, "b", Tier::Low, 5))
        .await
        .unwrap();
    let gpu = store
        .enqueue(job(&project, "c", Tier::High, 9))
        .await
        .unwrap();
    assert_eq!(first.status, ExecutionStatus::Queued);
    let claimed = store
        .claim("w1", &[Tier::Low], &shot(), LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, urgent.id);
    assert_eq!(
        (
            claimed.status,
            claimed.attempts,
            claimed.worker_id.as_deref()
        ),
        (ExecutionStatus::Running, 1, Some("w1"))
    );
    assert_eq!(
        store
            .claim("w1", &[Tier::Low], &shot(), LEASE)
            .await
            .unwrap()
            .unwrap()
            .id,
        first.id
    );
    assert!(
        store
            .claim("w1", &[Tier::Low], &shot(), LEASE)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .claim("w1", &[], &shot(), LEASE)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .claim("w2", &[Tier::Standard, Tier::High], &shot(), LEASE)
            .await
            .unwrap()
            .unwrap()
            .id,
        gpu.id
    );
}

pub async fn claims_are_exclusive_under_concurrency(store: &SqlStore) {
    let project = project(store).await;
    for i in 0..40 {
        store
            .enqueue(job(&project, &format!("n{i}"), Tier::Low, 0))
            .await
            .unwrap();
    }
    let workers = (0..6).map(|w| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(execution) = store
                .claim(&format!("w{w}"), &[Tier::Low], &shot(), LEASE)
                .await
                .unwrap()
            {
                mine.push(execution.id);
            }
            mine
        })
    });
    let mut seen = HashSet::new();
    for worker in workers {
        for id in worker.await.unwrap() {
            assert!(seen.insert(id), "an execution was claimed twice");
        }
    }
    assert_eq!(seen.len(), 40);
}

pub async fn priority_changes_move_queue_position(store: &SqlStore) {
    let project = project(store).await;
    let a = store
        .enqueue(job(&project, "a", Tier::Low, 0))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(3)).await;
    let b = store
        .enqueue(job(&project, "b", Tier::Low, 0))
        .await
        .unwrap();
    let other_tier = store
        .enqueue(job(&project, "c", Tier::High, 0))
        .await
        .unwrap();
    assert_eq!(store.queue_position(&a.id).await.unwrap(), Some(1));
    assert_eq!(store.queue_position(&b.id).await.unwrap(), Some(2));
    assert_eq!(store.queue_position(&other_tier.id).await.unwrap(), Some(1));
    assert_eq!(
        store.set_priority(&b.id, 10).await.unwrap().spec.priority,
        10
    );
    assert_eq!(store.queue_position(&b.id).await.unwrap(), Some(1));
    assert_eq!(store.queue_position(&a.id).await.unwrap(), Some(2));
    store
        .claim("w", &[Tier::Low], &shot(), LEASE)
        .await
        .unwrap();
    assert_eq!(
        store.queue_position(&b.id).await.unwrap(),
        None,
        "running is not queued"
    );
    let err = store.set_priority(&b.id, 1).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "conflict: only queued executions can change priority; {} is running",
            b.id
        )
    );
}

pub async fn cancel_ends_queued_and_flags_running(store: &SqlStore) {
    let project = project(store).await;
    let queued = store
        .enqueue(job(&project, "a", Tier::Low, 0))
        .await
        .unwrap();
    let cancelled = store.cancel(&queued.id).await.unwrap();
    assert_eq!(cancelled.status, ExecutionStatus::Cancelled);
    assert!(cancelled.finished_at.is_some());
    let running = store
        .enqueue(job(&project, "b", Tier::Low, 0))
        .await
        .unwrap();
    store
        .claim("w", &[Tier::Low], &shot(), LEASE)
        .await
        .unwrap()
        .unwrap();
    let flagged = store.cancel(&running.id).await.unwrap();
    assert_eq!(
        (flagged.status, flagged.cancel_requested),
        (ExecutionStatus::Running, true)
    );
    assert!(
        store
            .renew_lease(&running.id, "w", LEASE)
            .await
            .unwrap()
            .cancel_requested,
        "the worker sees it"
    );
    let (done, take) = store
        .finish(&running.id, "w", Outcome::Cancelled)
        .await
        .unwrap();
    assert_eq!((done.status, take), (ExecutionStatus::Cancelled, None));
    let err = store.cancel(&running.id).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("conflict: execution {} already cancelled", running.id)
    );
}

pub async fn finish_stores_a_take_and_caches_it(store: &SqlStore) {
    let project = project(store).await;
    let spec = job(&project, "shot-1", Tier::Low, 0);
    let queued = store.enqueue(spec.clone()).await.unwrap();
    store
        .claim("w", &[Tier::Low], &shot(), LEASE)
        .await
        .unwrap()
        .unwrap();
    store
        .report_progress(&queued.id, "w", 0.5, "rendering")
        .await
        .unwrap();
    let running = store.execution(&queued.id).await.unwrap();
    assert_eq!(
        (running.progress, running.progress_message.as_str()),
        (0.5, "rendering")
    );
    let outcome = Outcome::Succeeded {
        outputs: r#"{"image":"asset-1"}"#.into(),
        usage: r#"{"ms":12}"#.into(),
    };
    let (done, take) = store.finish(&queued.id, "w", outcome).await.unwrap();
    let take = take.unwrap();
    assert_eq!(
        (done.status, done.progress),
        (ExecutionStatus::Succeeded, 1.0)
    );
    assert_eq!(done.usage, r#"{"ms":12}"#);
    assert_eq!(take.provenance, spec.request);
    assert_eq!(
        store.takes(&project.id, "shot-1").await.unwrap(),
        vec![take.clone()]
    );
    assert_eq!(store.take(&take.id).await.unwrap(), take);
    // Walking a project's takes: in id order, after the last one seen; none of another's.
    let walked = store.project_takes(&project.id, None, 10).await.unwrap();
    assert_eq!(walked, vec![take.clone()]);
    let after = store
        .project_takes(&project.id, Some(&take.id), 10)
        .await
        .unwrap();
    assert!(after.is_empty());
    let other = store
        .create_project("Other", &project.owner_id)
        .await
        .unwrap();
    assert!(
        store
            .project_takes(&other.id, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.cached_take(&spec.cache_key).await.unwrap(),
        Some(take.clone())
    );
    assert_eq!(store.cached_take("other-key").await.unwrap(), None);
    let reused = store.record_reuse(spec, &take).await.unwrap();
    assert_eq!(
        (reused.status, reused.reused),
        (ExecutionStatus::Succeeded, true)
    );
    assert_eq!(
        store
            .node_executions(&project.id, "shot-1", Page::default())
            .await
            .unwrap()
            .len(),
        2
    );
}

pub async fn only_the_lease_holder_may_report_or_finish(store: &SqlStore) {
    let project = project(store).await;
    let queued = store
        .enqueue(job(&project, "a", Tier::Low, 0))
        .await
        .unwrap();
    let err = store
        .report_progress(&queued.id, "w", 0.1, "")
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("conflict: execution {} is queued, not running", queued.id)
    );
    store
        .claim("w", &[Tier::Low], &shot(), LEASE)
        .await
        .unwrap()
        .unwrap();
    let err = store
        .finish(&queued.id, "intruder", Outcome::Cancelled)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("is held by worker \"w\", not \"intruder\""),
        "{err}"
    );
    assert_eq!(
        store.execution(&queued.id).await.unwrap().status,
        ExecutionStatus::Running,
        "nothing changed"
    );
}

pub async fn expired_leases_are_requeued_then_failed(store: &SqlStore) {
    let project = project(store).await;
    let queued = store
        .enqueue(job(&project, "a", Tier::Low, 0))
        .await
        .unwrap();
    store
        .claim("dead-worker", &[Tier::Low], &shot(), Duration::ZERO)
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let recovery = store.recover_expired(2).await.unwrap();
    assert_eq!(
        recovery,
        Recovery {
            requeued: vec![queued.id.clone()],
            failed: vec![]
        }
    );
    let requeued = store.execution(&queued.id).await.unwrap();
    assert_eq!(
        (requeued.status, requeued.worker_id),
        (ExecutionStatus::Queued, None)
    );
    let again = store
        .claim("dead-worker-2", &[Tier::Low], &shot(), Duration::ZERO)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.attempts, 2);
    tokio::time::sleep(Duration::from_millis(5)).await;
    let recovery = store.recover_expired(2).await.unwrap();
    assert_eq!(recovery.failed, vec![queued.id.clone()]);
    let failed = store.execution(&queued.id).await.unwrap();
    assert_eq!(failed.status, ExecutionStatus::Failed);
    assert_eq!(
        failed.error.as_deref(),
        Some("the worker running it stopped responding 2 times (lease expired); giving up")
    );
    let err = store
        .renew_lease(&queued.id, "dead-worker-2", LEASE)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)));
}

pub async fn migrations_are_idempotent(store: &SqlStore) {
    let project = project(store).await;
    store.save_graph(&project.id, "{}", None, "").await.unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(
        store
            .latest_graph(&project.id)
            .await
            .unwrap()
            .unwrap()
            .version,
        1,
        "data survives"
    );
}

pub async fn a_closed_database_reports_unavailable(store: &SqlStore) {
    let project = project(store).await;
    store.close().await;
    let err = store.project(&project.id).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
}

pub async fn batches_enqueue_claim_renew_and_finish_in_queue_order(store: &SqlStore) {
    let project = project(store).await;
    let specs: Vec<NewExecution> = (0..5)
        .map(|n| job(&project, &format!("b{n}"), Tier::Low, n % 2))
        .collect();
    let queued = store.enqueue_many(specs.clone()).await.unwrap();
    assert_eq!(queued.len(), 5);
    assert!(queued.iter().all(|e| e.status == ExecutionStatus::Queued));

    // Priority 1 first (b1, b3), then the oldest priority 0 (b0).
    let claimed = store
        .claim_many("w", &[Tier::Low], &shot(), LEASE, 3)
        .await
        .unwrap();
    let nodes: Vec<&str> = claimed.iter().map(|e| e.spec.node_id.as_str()).collect();
    assert_eq!(nodes, ["b1", "b3", "b0"]);
    assert!(claimed.iter().all(|e| e.worker_id.as_deref() == Some("w")));
    let rest = store
        .claim_many("v", &[Tier::Low], &shot(), LEASE, 10)
        .await
        .unwrap();
    assert_eq!(rest.len(), 2, "the other two, to the other worker");
    assert!(
        store
            .claim_many("v", &[Tier::Low], &shot(), LEASE, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Renewing names only what the worker still holds.
    let mut ids: Vec<String> = claimed.iter().map(|e| e.id.clone()).collect();
    ids.push(rest[0].id.clone());
    store.cancel(&claimed[0].id).await.unwrap();
    let renewed = store.renew_leases("w", &ids, LEASE).await.unwrap();
    assert_eq!(renewed.len(), 3);
    let flagged = renewed.iter().find(|e| e.id == claimed[0].id).unwrap();
    assert!(flagged.cancel_requested);

    // One transaction: the two held jobs finish, the one held by `v` is a conflict.
    let outcomes = vec![
        (
            claimed[1].id.clone(),
            Outcome::Succeeded {
                outputs: "{}".into(),
                usage: r#"{"cost_milli":5}"#.into(),
            },
        ),
        (rest[0].id.clone(), Outcome::Cancelled),
        (
            claimed[2].id.clone(),
            Outcome::Failed {
                error: "boom".into(),
                usage: "{}".into(),
            },
        ),
    ];
    let results = store.finish_many("w", outcomes).await.unwrap();
    let (done, take) = results[0].as_ref().unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert!(take.is_some());
    assert!(matches!(results[1], Err(StoreError::Conflict(_))));
    assert_eq!(
        results[2].as_ref().unwrap().0.status,
        ExecutionStatus::Failed
    );
    let still = store.execution(&rest[0].id).await.unwrap();
    assert_eq!(still.status, ExecutionStatus::Running, "not finished by w");

    let all: Vec<String> = queued.iter().map(|e| e.id.clone()).collect();
    let mut fetched = store.executions(&all).await.unwrap();
    fetched.sort_by(|a, b| a.spec.node_id.cmp(&b.spec.node_id));
    assert_eq!(fetched.len(), 5);
    assert_eq!(fetched[3].status, ExecutionStatus::Succeeded, "b3");

    let keys = vec![specs[3].cache_key.clone(), specs[0].cache_key.clone()];
    let cached = store.cached_takes(&keys).await.unwrap();
    assert_eq!(cached.len(), 1, "only b3 succeeded");
    assert_eq!(cached[&specs[3].cache_key].node_id, "b3");

    let reused = store.record_reuses(vec![specs[3].clone()]).await.unwrap();
    assert!(reused[0].reused && reused[0].status == ExecutionStatus::Succeeded);

    // A batch naming a missing project writes nothing (new keys: in-flight ones are shared).
    let mut broken = specs.clone();
    for spec in &mut broken {
        spec.cache_key.push_str(":again");
    }
    broken[1].project_id = "no-such-project".into();
    assert!(matches!(
        store.enqueue_many(broken).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        store
            .node_executions(&project.id, "b0", Page::default())
            .await
            .unwrap()
            .len(),
        1,
        "the failed batch left no rows"
    );

    // Identical requests in flight share one execution, in one batch or across batches;
    // once it is final, the same request queues a new one.
    let twins = store
        .enqueue_many(vec![
            job(&project, "twin", Tier::High, 0),
            job(&project, "twin", Tier::High, 0),
        ])
        .await
        .unwrap();
    assert_eq!(twins[0].id, twins[1].id, "{twins:?}");
    let again = store
        .enqueue(job(&project, "twin", Tier::High, 0))
        .await
        .unwrap();
    assert_eq!(again.id, twins[0].id);
    let claimed = store
        .claim_many("w", &[Tier::High], &shot(), LEASE, 2)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "one run for both");
    let shared = store
        .enqueue(job(&project, "twin", Tier::High, 0))
        .await
        .unwrap();
    assert_eq!(shared.id, twins[0].id, "a running execution is shared too");
    let outcome = Outcome::Succeeded {
        outputs: r#"{"from":"twin"}"#.into(),
        usage: "{}".into(),
    };
    let results = store
        .finish_many("w", vec![(twins[0].id.clone(), outcome)])
        .await
        .unwrap();
    let take = results[0].as_ref().unwrap().1.clone().unwrap();
    assert_eq!(
        store.cached_take(&twins[0].spec.cache_key).await.unwrap(),
        Some(take)
    );
    let later = store
        .enqueue(job(&project, "twin", Tier::High, 0))
        .await
        .unwrap();
    assert_ne!(later.id, twins[0].id, "a final execution is not shared");
}

pub async fn tier_usage_counts_runs_reuses_failures_and_cost(store: &SqlStore) {
    let project = project(store).await;
    let other = self::project(store).await;
    store
        .enqueue_many(vec![
            job(&project, "a", Tier::Standard, 0),
            job(&project, "b", Tier::Standard, 0),
            job(&other, "c", Tier::Standard, 0),
        ])
        .await
        .unwrap();
    let claimed = store
        .claim_many("w", &[Tier::Standard], &shot(), LEASE, 3)
        .await
        .unwrap();
    let outcomes = claimed
        .iter()
        .map(|e| {
            let outcome = if e.spec.node_id == "b" {
                Outcome::Failed {
                    error: "backend down".into(),
                    usage: r#"{"cost_milli":250}"#.into(),
                }
            } else {
                Outcome::Succeeded {
                    outputs: "{}".into(),
                    usage: r#"{"ms":3,"cost_milli":1000}"#.into(),
                }
            };
            (e.id.clone(), outcome)
        })
        .collect();
    store.finish_many("w", outcomes).await.unwrap();
    store
        .record_reuses(vec![job(&project, "a", Tier::Standard, 0)])
        .await
        .unwrap();
    store
        .enqueue(job(&project, "d", Tier::Low, 0))
        .await
        .unwrap();

    let usage = store.tier_usage(&project.id).await.unwrap();
    let standard = usage.iter().find(|u| u.tier == Tier::Standard).unwrap();
    assert_eq!(
        (
            standard.runs,
            standard.reused,
            standard.failed,
            standard.cost_milli
        ),
        (2, 1, 1, 1250)
    );
    assert!(standard.wall_ms >= 0);
    let low = usage.iter().find(|u| u.tier == Tier::Low).unwrap();
    assert_eq!(
        (low.runs, low.reused, low.cost_milli),
        (0, 0, 0),
        "still queued"
    );
}

pub async fn accounts_sign_in_by_password_session_and_token(store: &SqlStore) {
    let ana = store
        .create_user("Ana", &format!("ana-{}@studio.test", new_id()))
        .await
        .unwrap();
    let ben = store
        .create_user("Ben", &format!("ben-{}@studio.test", new_id()))
        .await
        .unwrap();
    let refused = |err: StoreError| assert!(matches!(err, StoreError::NotFound { .. }), "{err}");

    // Passwords: none until set, then only the right one.
    refused(store.check_password(&ana.email, "pw").await.unwrap_err());
    store.set_password(&ana.id, Some("harbour")).await.unwrap();
    assert_eq!(
        store.check_password(&ana.email, "harbour").await.unwrap(),
        ana
    );
    refused(
        store
            .check_password(&ana.email, "harbor")
            .await
            .unwrap_err(),
    );
    refused(
        store
            .check_password("nobody@studio.test", "harbour")
            .await
            .unwrap_err(),
    );
    store.set_password(&ana.id, None).await.unwrap();
    refused(
        store
            .check_password(&ana.email, "harbour")
            .await
            .unwrap_err(),
    );

    // Sessions: found by secret until revoked or expired.
    let live = store
        .create_session(&ana.id, Duration::from_secs(3600))
        .await
        .unwrap();
    assert!(live.secret.starts_with("mdcs_") && live.secret.len() == 5 + 64);
    let (session, user) = store.session_by_secret(&live.secret).await.unwrap();
    assert_eq!((session, user), (live.session.clone(), ana.clone()));
    refused(store.session_by_secret("mdcs_unknown").await.unwrap_err());
    let expired = store.create_session(&ana.id, Duration::ZERO).await.unwrap();
    refused(store.session_by_secret(&expired.secret).await.unwrap_err());
    store.revoke_session(&live.secret).await.unwrap();
    refused(store.session_by_secret(&live.secret).await.unwrap_err());
    refused(store.revoke_session(&live.secret).await.unwrap_err());
    let other = store
        .create_session(&ana.id, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(store.revoke_sessions(&ana.id).await.unwrap(), 1);
    refused(store.session_by_secret(&other.secret).await.unwrap_err());

    // API tokens: recognisable, record their use, revocable only by their owner.
    let issued = store
        .create_api_token(&ana.id, "render farm")
        .await
        .unwrap();
    assert!(issued.secret.starts_with("mdc_") && issued.secret.len() == 4 + 64);
    assert_ne!(issued.secret, other.secret);
    let (token, user) = store.token_by_secret(&issued.secret).await.unwrap();
    assert_eq!(
        (token.id.as_str(), user.id.as_str()),
        (issued.token.id.as_str(), ana.id.as_str())
    );
    assert!(token.last_used_at.is_some());
    assert_eq!(
        store.api_tokens(&ana.id).await.unwrap(),
        vec![token.clone()]
    );
    assert!(store.api_tokens(&ben.id).await.unwrap().is_empty());
    refused(
        store
            .revoke_api_token(&ben.id, &token.id)
            .await
            .unwrap_err(),
    );
    assert!(store.token_by_secret(&issued.secret).await.is_ok());
    let revoked = store.revoke_api_token(&ana.id, &token.id).await.unwrap();
    assert!(revoked.revoked_at.is_some());
    refused(store.token_by_secret(&issued.secret).await.unwrap_err());
    let err = store.create_api_token(&ana.id, "  ").await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
}

pub async fn claims_match_the_requested_build_and_release_gives_back(store: &SqlStore) {
    let project = project(store).await;
    let mut events = store.subscribe();
    let mut other_build = job(&project, "newer", Tier::Low, 0);
    other_build.plugin_digest = "digest-of-shot-0.2.0".into();
    let newer = store.enqueue(other_build).await.unwrap();
    assert_eq!(events.recv().await, Some(QueueEvent::Queued(Tier::Low)));
    assert!(
        store
            .claim("old-worker", &[Tier::Low], &shot(), LEASE)
            .await
            .unwrap()
            .is_none(),
        "a worker without the requested build claims nothing"
    );
    let digests = vec![SHOT_DIGEST.to_string(), "digest-of-shot-0.2.0".to_string()];
    let claimed = store
        .claim_many("new-worker", &[Tier::Low], &digests, LEASE, 5)
        .await
        .unwrap();
    assert_eq!(
        claimed.iter().map(|e| &e.id).collect::<Vec<_>>(),
        [&newer.id]
    );
    assert_eq!(claimed[0].attempts, 1);

    // Released, it is queued as if never claimed, and announced again.
    assert!(
        store
            .release("someone-else", &[newer.id.clone()])
            .await
            .unwrap()
            .is_empty()
    );
    let released = store
        .release("new-worker", &[newer.id.clone()])
        .await
        .unwrap();
    assert_eq!(released, [newer.id.clone()]);
    assert_eq!(events.recv().await, Some(QueueEvent::Queued(Tier::Low)));
    let back = store.execution(&newer.id).await.unwrap();
    assert_eq!(
        (back.status, back.worker_id, back.attempts),
        (ExecutionStatus::Queued, None, 0)
    );
    let finished = store
        .claim_many("new-worker", &[Tier::Low], &digests, LEASE, 5)
        .await
        .unwrap();
    store
        .finish_many(
            "new-worker",
            vec![(finished[0].id.clone(), Outcome::Cancelled)],
        )
        .await
        .unwrap();
    assert_eq!(
        events.recv().await,
        Some(QueueEvent::Finished(vec![newer.id.clone()]))
    );
}

pub async fn multi_row_claims_are_exclusive_under_concurrency(store: &SqlStore) {
    let project = project(store).await;
    let specs = (0..120)
        .map(|i| job(&project, &format!("n{i}"), Tier::Low, 0))
        .collect();
    store.enqueue_many(specs).await.unwrap();
    let workers = (0..6).map(|w| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store
                    .claim_many(&format!("w{w}"), &[Tier::Low], &shot(), LEASE, 7)
                    .await
                    .unwrap();
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|e| e.id));
            }
        })
    });
    let mut seen = HashSet::new();
    for worker in workers {
        for id in worker.await.unwrap() {
            assert!(seen.insert(id), "an execution was claimed twice");
        }
    }
    assert_eq!(seen.len(), 120);
}

pub async fn leases_follow_the_database_clock_not_the_workers(store: &SqlStore) {
    const TEN_MINUTES: i64 = 10 * 60 * 1000;
    let project = project(store).await;
    let ahead = store.clone().with_local_clock_offset(TEN_MINUTES);
    let behind = store.clone().with_local_clock_offset(-TEN_MINUTES);
    let first = store
        .enqueue(job(&project, "a", Tier::Low, 0))
        .await
        .unwrap();
    let second = store
        .enqueue(job(&project, "b", Tier::Low, 0))
        .await
        .unwrap();

    // A worker whose clock is behind holds a lease that a recovery pass on a machine whose
    // clock is ahead does not take away.
    let held = behind
        .claim("behind", &[Tier::Low], &shot(), LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held.id, first.id);
    assert_eq!(ahead.recover_expired(3).await.unwrap(), Recovery::default());
    assert!(behind.renew_lease(&held.id, "behind", LEASE).await.is_ok());

    // A worker whose clock is ahead does not see its lease as lasting longer: it dies, and a
    // machine whose clock is behind still recovers its job.
    let lost = ahead
        .claim("ahead", &[Tier::Low], &shot(), Duration::from_millis(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lost.id, second.id);
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(
        behind.recover_expired(3).await.unwrap().requeued,
        vec![second.id.clone()]
    );
    let running = store.execution(&first.id).await.unwrap();
    assert_eq!(running.status, ExecutionStatus::Running, "not stolen");
}

pub async fn generation_steps_move_once(store: &SqlStore) {
    let project = project(store).await;
    let mut events = store.subscribe();
    let spec = NewGeneration {
        project_id: project.id.clone(),
        request: r#"{"tier":"low"}"#.into(),
        graph: "{}".into(),
        requested_by: None,
        steps: vec![
            ("maya".into(), vec![]),
            ("shot-1".into(), vec!["maya".into()]),
        ],
    };
    // The first pass queues MAYA in the transaction that stores the generation.
    let first = StepChanges {
        queue: vec![("maya".into(), job(&project, "maya", Tier::Low, 0))],
        ..StepChanges::default()
    };
    let created = store.create_generation(spec, first).await.unwrap();
    let id = created.generation_id.clone();
    assert!(!created.done);
    let execution = created.queued[0].1.clone();
    assert_eq!(created.queued[0].0, "maya");
    assert_eq!(
        events.recv().await,
        Some(QueueEvent::GenerationChanged(id.clone()))
    );
    assert_eq!(events.recv().await, Some(QueueEvent::Queued(Tier::Low)));
    let generation = store.generation(&id).await.unwrap();
    assert_eq!(generation.status, GenerationStatus::Running);
    assert_eq!(generation.revision, created.revision);
    assert_eq!(
        generation
            .steps
            .iter()
            .map(|s| (s.node_id.as_str(), s.status, s.upstream.len()))
            .collect::<Vec<_>>(),
        [
            ("maya", StepStatus::Queued, 0),
            ("shot-1", StepStatus::Waiting, 1)
        ]
    );
    assert_eq!(
        generation.steps[0].execution_id.as_ref(),
        Some(&execution.id)
    );
    assert_eq!(store.running_generations().await.unwrap(), [id.clone()]);
    assert_eq!(
        store
            .generations_awaiting(std::slice::from_ref(&execution.id))
            .await
            .unwrap(),
        [id.clone()]
    );
    assert!(
        store
            .generations_awaiting(&["other".into()])
            .await
            .unwrap()
            .is_empty()
    );

    let failed = StepMove {
        node_id: "maya".into(),
        from: StepStatus::Queued,
        to: StepStatus::Failed,
        execution_id: Some(execution.id.clone()),
        take_id: None,
        error: Some("boom".into()),
    };
    let skipped = StepMove {
        node_id: "shot-1".into(),
        from: StepStatus::Waiting,
        to: StepStatus::Skipped,
        execution_id: None,
        take_id: None,
        error: Some("skipped: upstream \"maya\" did not succeed".into()),
    };
    let pass = |moves: Vec<StepMove>| StepChanges {
        moves,
        ..StepChanges::default()
    };
    // A server working from an older revision, or on a step that already moved, is refused
    // as a whole and changes nothing.
    assert!(matches!(
        store
            .advance_generation(&id, created.revision - 1, pass(vec![failed.clone()]))
            .await,
        Err(StoreError::Conflict(_))
    ));
    let moved_already = StepMove {
        from: StepStatus::Waiting,
        ..failed.clone()
    };
    assert!(matches!(
        store
            .advance_generation(
                &id,
                created.revision,
                pass(vec![skipped.clone(), moved_already])
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    let unchanged = store.generation(&id).await.unwrap();
    assert_eq!(unchanged.revision, created.revision);
    assert_eq!(unchanged.steps[1].status, StepStatus::Waiting);

    let last = store
        .advance_generation(&id, created.revision, pass(vec![failed, skipped]))
        .await
        .unwrap();
    assert!(last.done);
    assert_eq!(last.revision, created.revision + 1);
    let changed = store
        .generation_changes(&id, created.revision)
        .await
        .unwrap();
    assert_eq!(changed.status, GenerationStatus::Done);
    assert_eq!(changed.revision, last.revision);
    assert_eq!(changed.steps.len(), 2);
    assert!(
        store
            .generation_changes(&id, last.revision)
            .await
            .unwrap()
            .steps
            .is_empty()
    );
    let done = store.generation(&id).await.unwrap();
    assert!(done.finished_at.is_some());
    assert_eq!(done.steps[0].error.as_deref(), Some("boom"));
    assert_eq!(done.steps[1].status, StepStatus::Skipped);
    assert!(store.running_generations().await.unwrap().is_empty());
    assert!(matches!(
        store
            .advance_generation(&id, last.revision, StepChanges::default())
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.generation("no-such-generation").await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn concurrent_writers_lose_nothing(store: &SqlStore) {
    let project = project(store).await;
    // Graph saves made on the version a writer saw: of eight writers on version 0 one wins,
    // the others are told, none overwrites unseen.
    let writers = (0..8).map(|n| {
        let (store, project) = (store.clone(), project.id.clone());
        tokio::spawn(async move {
            store
                .save_graph_on(&project, 0, &format!(r#"{{"writer":{n}}}"#), None, "edit")
                .await
        })
    });
    let mut won = 0;
    for writer in writers {
        match writer.await.unwrap() {
            Ok(saved) => {
                won += 1;
                assert_eq!(saved.version, 1);
            }
            Err(StoreError::Conflict(why)) => assert!(why.contains("version 1"), "{why}"),
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(won, 1);
    let next = store
        .save_graph_on(&project.id, 1, "{}", None, "edit")
        .await
        .unwrap();
    assert_eq!(next.version, 2);
    assert!(matches!(
        store
            .save_graph_on("no-such-project", 0, "{}", None, "edit")
            .await,
        Err(StoreError::NotFound { .. })
    ));

    // Asset updates of different parts at once both stay; one made on an old version is
    // refused.
    let asset = store
        .insert_asset(NewAsset {
            project_id: project.id.clone(),
            kind: "character".into(),
            name: "Maya".into(),
            mime: "image/png".into(),
            size: 1,
            sha256: "ab".repeat(32),
            object_key: "objects/ab/abab".into(),
            thumbnail_key: None,
            fields: r#"{"age":34}"#.into(),
        })
        .await
        .unwrap();
    assert_eq!(asset.version, 1);
    let rename = {
        let (store, id) = (store.clone(), asset.id.clone());
        tokio::spawn(async move {
            let update = AssetUpdate {
                name: Some("Maya Reyes".into()),
                ..Default::default()
            };
            store.update_asset(&id, update).await
        })
    };
    let refield = {
        let (store, id) = (store.clone(), asset.id.clone());
        tokio::spawn(async move {
            let update = AssetUpdate {
                fields: Some(r#"{"age":35}"#.into()),
                ..Default::default()
            };
            store.update_asset(&id, update).await
        })
    };
    rename.await.unwrap().unwrap();
    refield.await.unwrap().unwrap();
    let both = store.asset(&asset.id).await.unwrap();
    assert_eq!(
        (
            both.data.name.as_str(),
            both.data.fields.as_str(),
            both.version
        ),
        ("Maya Reyes", r#"{"age":35}"#, 3)
    );
    let stale = AssetUpdate {
        name: Some("Maya R.".into()),
        expected_version: Some(1),
        ..Default::default()
    };
    assert!(matches!(
        store.update_asset(&asset.id, stale).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .update_asset("no-such-asset", AssetUpdate::default())
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        store.asset(&asset.id).await.unwrap().data.name,
        "Maya Reyes"
    );
}

pub async fn a_project_scope_refuses_other_projects_ids(store: &SqlStore) {
    let shared: std::sync::Arc<dyn Store> = std::sync::Arc::new(store.clone());
    let mine = project(store).await;
    let theirs = project(store).await;
    let image = |project: &Project| NewAsset {
        project_id: project.id.clone(),
        kind: "image".into(),
        name: "ref".into(),
        mime: "image/png".into(),
        size: 1,
        sha256: "cd".repeat(32),
        object_key: "objects/cd/cdcd".into(),
        thumbnail_key: None,
        fields: "{}".into(),
    };
    let their_asset = store.insert_asset(image(&theirs)).await.unwrap();
    let their_job = store
        .enqueue(job(&theirs, "shot-1", Tier::Low, 0))
        .await
        .unwrap();
    let owner = store.members(&mine.id).await.unwrap()[0].user_id.clone();

    let (scope, role) = ProjectScope::for_member(shared.clone(), &mine.id, &owner)
        .await
        .unwrap();
    assert_eq!(role, Role::Owner);
    let not_found = |result: Result<(), StoreError>| {
        assert!(
            matches!(result, Err(StoreError::NotFound { .. })),
            "{result:?}"
        )
    };
    not_found(scope.asset(&their_asset.id).await.map(drop));
    not_found(
        scope
            .update_asset(
                &their_asset.id,
                AssetUpdate {
                    name: Some("mine now".into()),
                    ..Default::default()
                },
            )
            .await
            .map(drop),
    );
    not_found(scope.delete_asset(&their_asset.id).await.map(drop));
    not_found(scope.execution(&their_job.id).await.map(drop));
    not_found(scope.cancel(&their_job.id).await.map(drop));
    not_found(scope.set_priority(&their_job.id, 9).await.map(drop));
    // Nothing of theirs changed.
    assert_eq!(store.asset(&their_asset.id).await.unwrap().data.name, "ref");
    let job = store.execution(&their_job.id).await.unwrap();
    assert_eq!(
        (job.status, job.spec.priority),
        (ExecutionStatus::Queued, 0)
    );

    // What it inserts lands in its own project, whatever the request said.
    let inserted = scope.insert_asset(image(&theirs)).await.unwrap();
    assert_eq!(inserted.data.project_id, mine.id);
    assert_eq!(scope.asset(&inserted.id).await.unwrap().id, inserted.id);
    assert_eq!(
        scope
            .save_graph(0, "{}", None, "first")
            .await
            .unwrap()
            .version,
        1
    );

    // Strangers do not learn that the project exists.
    let stranger = store
        .create_user("Eve", &format!("eve-{}@elsewhere.test", new_id()))
        .await
        .unwrap();
    not_found(
        ProjectScope::for_member(shared.clone(), &mine.id, &stranger.id)
            .await
            .map(drop),
    );
    not_found(
        ProjectScope::for_member(shared, "no-such-project", &stranger.id)
            .await
            .map(drop),
    );
}

pub async fn uploads_and_removals_of_shared_bytes_take_turns(store: &SqlStore) {
    let project = project(store).await;
    let minute = Duration::from_secs(60);
    // An upload pinned its key: no removal starts until it is done.
    let uploading = "objects/aa/uploading".to_string();
    let pin = store
        .pin_objects(std::slice::from_ref(&uploading), minute)
        .await
        .unwrap();
    assert!(!store.begin_object_removal(&uploading).await.unwrap());
    // The upload failed and dropped its pin: its bytes can go at once.
    store.unpin_objects(&pin).await.unwrap();
    assert!(store.begin_object_removal(&uploading).await.unwrap());
    store.end_object_removal(&uploading).await.unwrap();

    // Unused, unpinned bytes can go; an upload of the same bytes meanwhile is told to wait,
    // and pins once the removal ended (it then writes the bytes again).
    let unused = "objects/bb/unused".to_string();
    assert!(store.begin_object_removal(&unused).await.unwrap());
    assert!(
        !store.begin_object_removal(&unused).await.unwrap(),
        "one removal at a time"
    );
    assert!(matches!(
        store
            .pin_objects(std::slice::from_ref(&unused), minute)
            .await,
        Err(StoreError::Conflict(_))
    ));
    store.end_object_removal(&unused).await.unwrap();
    store
        .pin_objects(std::slice::from_ref(&unused), minute)
        .await
        .unwrap();

    // Bytes an asset uses stay, pinned or not.
    let used = "objects/cc/used".to_string();
    store
        .insert_asset(NewAsset {
            project_id: project.id.clone(),
            kind: "image".into(),
            name: "ref".into(),
            mime: "image/png".into(),
            size: 1,
            sha256: "cc".repeat(32),
            object_key: used.clone(),
            thumbnail_key: None,
            fields: "{}".into(),
        })
        .await
        .unwrap();
    assert!(!store.begin_object_removal(&used).await.unwrap());
    // A pin that ran out no longer holds bytes nobody uses.
    let expired = "objects/dd/expired".to_string();
    store
        .pin_objects(std::slice::from_ref(&expired), Duration::ZERO)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(store.begin_object_removal(&expired).await.unwrap());
}
