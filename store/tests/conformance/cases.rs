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
        tier,
        priority,
        request: format!(r#"{{"node":"{node}","seed":7}}"#),
        cache_key: format!("key-{node}-{}", tier.as_str()),
        requested_by: None,
    }
}

const LEASE: Duration = Duration::from_secs(30);

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
        .claim("w1", &[Tier::Low], LEASE)
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
            .claim("w1", &[Tier::Low], LEASE)
            .await
            .unwrap()
            .unwrap()
            .id,
        first.id
    );
    assert!(
        store
            .claim("w1", &[Tier::Low], LEASE)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.claim("w1", &[], LEASE).await.unwrap().is_none());
    assert_eq!(
        store
            .claim("w2", &[Tier::Standard, Tier::High], LEASE)
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
                .claim(&format!("w{w}"), &[Tier::Low], LEASE)
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
    store.claim("w", &[Tier::Low], LEASE).await.unwrap();
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
        .claim("w", &[Tier::Low], LEASE)
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
        .claim("w", &[Tier::Low], LEASE)
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
        .claim("w", &[Tier::Low], LEASE)
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
        .claim("dead-worker", &[Tier::Low], Duration::ZERO)
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
        .claim("dead-worker-2", &[Tier::Low], Duration::ZERO)
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
