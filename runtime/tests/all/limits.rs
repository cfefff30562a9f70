//! Generic broken plugins (the `misbehave` guest): each fails only its own call, with an
//! error that names the plugin, its version and the limit or rule it hit, while other calls
//! carry on. Each hostile class with an attack of its own is in `hostile.rs`.

use std::time::{Duration, Instant};

use mdc_runtime::plugin::types::{ErrorCode, Value};
use mdc_runtime::plugin::{CallContext, CallError, EngineConfig, Failure, Limits, Plugin};

use crate::support::{Recorder, load, load_on, run_mode};

async fn misbehave(limits: Limits) -> Plugin {
    load("misbehave").await.with_limits(limits)
}

fn expect_prefix(err: &CallError) {
    crate::support::expect_prefix(err, "misbehave", "execute");
}

#[tokio::test]
async fn an_endless_loop_is_stopped_at_its_cpu_budget() {
    let budget = Duration::from_millis(200);
    let plugin = misbehave(Limits {
        cpu_time: budget,
        ..Limits::default()
    })
    .await;
    let started = Instant::now();
    let err = run_mode(&plugin, "loop", CallContext::default())
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(err.failure, Failure::CpuBudget { .. }), "{err}");
    expect_prefix(&err);
    assert!(
        err.to_string()
            .ends_with("stopped after using its CPU budget of 200ms"),
        "{err}"
    );
    assert!(elapsed >= budget, "stopped early: {elapsed:?}");
    assert!(
        elapsed < budget + Duration::from_millis(500),
        "stopped late: {elapsed:?}"
    );
}

#[tokio::test]
async fn memory_growth_past_the_limit_is_refused() {
    let plugin = misbehave(Limits {
        memory_bytes: 64 << 20,
        ..Limits::default()
    })
    .await;
    let err = run_mode(&plugin, "alloc", CallContext::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err.failure, Failure::Memory { limit, .. } if limit == 64 << 20),
        "{err}"
    );
    expect_prefix(&err);
    assert!(
        err.to_string().contains("past the limit of 67108864 bytes"),
        "{err}"
    );
}

#[tokio::test]
async fn endless_recursion_is_stopped() {
    let plugin = misbehave(Limits::default()).await;
    let err = run_mode(&plugin, "stack", CallContext::default())
        .await
        .unwrap_err();
    expect_prefix(&err);
    assert!(
        matches!(err.failure, Failure::StackOverflow)
            || matches!(&err.failure, Failure::Trap { message, .. } if message.contains("out of bounds")),
        "{err}"
    );
}

#[tokio::test]
async fn a_panic_fails_the_call_with_the_plugins_last_words() {
    let plugin = misbehave(Limits::default()).await;
    let err = run_mode(&plugin, "trap", CallContext::default())
        .await
        .unwrap_err();
    expect_prefix(&err);
    assert!(matches!(err.failure, Failure::Trap { .. }), "{err}");
    assert!(err.to_string().contains("boom from misbehave"), "{err}");
}

#[tokio::test]
async fn the_filesystem_does_not_exist_for_plugins() {
    let plugin = misbehave(Limits::default()).await;
    let err = run_mode(&plugin, "file", CallContext::default())
        .await
        .unwrap_err();
    expect_prefix(&err);
    let Failure::Reported(reported) = &err.failure else {
        panic!("{err}")
    };
    assert_eq!(reported.code, ErrorCode::Failed);
    assert!(!reported.message.contains("root:"), "{err}");
}

#[tokio::test]
async fn the_environment_is_empty() {
    let plugin = misbehave(Limits::default()).await;
    let values = run_mode(&plugin, "env", CallContext::default())
        .await
        .unwrap();
    assert_eq!(values, [Value::Text("vars=0 HOME=None PATH=None".into())]);
}

#[tokio::test]
async fn a_cancelled_plugin_stops_by_itself() {
    let plugin = misbehave(Limits::default()).await;
    let context = CallContext::new(Recorder::new());
    let cancel = context.cancel.clone();
    let call = tokio::spawn({
        let plugin = plugin.clone();
        async move { run_mode(&plugin, "cancel", context).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    cancel.cancel();
    let err = call.await.unwrap().unwrap_err();
    let Failure::Reported(reported) = &err.failure else {
        panic!("{err}")
    };
    assert_eq!(reported.code, ErrorCode::Cancelled);
}

#[tokio::test]
async fn a_plugin_that_ignores_cancellation_is_stopped_after_the_grace_period() {
    let grace = Duration::from_millis(100);
    let plugin = misbehave(Limits {
        cancel_grace: grace,
        ..Limits::default()
    })
    .await;
    let context = CallContext::default();
    context.cancel.cancel();
    let started = Instant::now();
    let err = run_mode(&plugin, "slow", context).await.unwrap_err();
    assert!(matches!(err.failure, Failure::Cancelled { .. }), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_call_is_stopped_at_its_wall_clock_limit() {
    let wall = Duration::from_millis(300);
    let plugin = misbehave(Limits {
        wall_time: wall,
        ..Limits::default()
    })
    .await;
    let err = run_mode(&plugin, "slow", CallContext::default())
        .await
        .unwrap_err();
    assert!(matches!(err.failure, Failure::WallTime { .. }), "{err}");
    assert!(
        err.to_string()
            .ends_with("stopped after the wall-clock limit of 300ms"),
        "{err}"
    );
}

#[tokio::test]
async fn a_plugin_that_keeps_failing_is_quarantined_with_a_reason() {
    let plugin = load_on(
        EngineConfig {
            quarantine_after: 2,
            ..EngineConfig::default()
        },
        "misbehave",
    )
    .await;
    for _ in 0..2 {
        run_mode(&plugin, "trap", CallContext::default())
            .await
            .unwrap_err();
    }
    let err = run_mode(&plugin, "ok", CallContext::default())
        .await
        .unwrap_err();
    assert!(matches!(err.failure, Failure::Quarantined(_)), "{err}");
    assert!(
        err.to_string()
            .contains("2 execute calls in a row failed; the last one: trapped"),
        "{err}"
    );
    plugin.release_quarantine();
    assert_eq!(
        run_mode(&plugin, "ok", CallContext::default())
            .await
            .unwrap(),
        [Value::Text("fine".into())]
    );
}

#[tokio::test]
async fn a_quarantine_lifts_after_its_time() {
    let plugin = load_on(
        EngineConfig {
            quarantine_after: 1,
            quarantine_for: Duration::from_millis(200),
            ..EngineConfig::default()
        },
        "misbehave",
    )
    .await;
    run_mode(&plugin, "trap", CallContext::default())
        .await
        .unwrap_err();
    assert!(plugin.health().quarantined.is_some());
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        run_mode(&plugin, "ok", CallContext::default())
            .await
            .unwrap(),
        [Value::Text("fine".into())]
    );
}
