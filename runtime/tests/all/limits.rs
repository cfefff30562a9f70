//! Hostile and broken plugins: each fails only its own call, with an error that names the
//! plugin, its version and the limit or rule it hit, while other calls carry on.

use std::time::{Duration, Instant};

use mdc_runtime::plugin::types::{ErrorCode, Value};
use mdc_runtime::plugin::{
    CallContext, CallError, EngineConfig, Failure, Grants, Limits, Plugin, PluginEngine,
};

use crate::support::{Recorder, choice, fixture_bytes, input, load, text};

async fn misbehave(limits: Limits) -> Plugin {
    load("misbehave").await.with_limits(limits)
}

/// The misbehave guest on an engine of its own (for engine-wide settings such as quarantine).
async fn misbehave_on(config: EngineConfig) -> Plugin {
    let engine = PluginEngine::new(config).unwrap();
    engine
        .load("misbehave", &fixture_bytes("misbehave"))
        .await
        .unwrap()
}

async fn run(plugin: &Plugin, mode: &str, context: CallContext) -> Result<Vec<Value>, CallError> {
    let outcome = plugin
        .execute(&input(&[("mode", choice(mode))]), context)
        .await?;
    Ok(outcome.value.values.into_iter().map(|v| v.value).collect())
}

fn expect_prefix(err: &CallError) {
    assert!(
        err.to_string()
            .starts_with("plugin \"misbehave\" 0.1.0: execute: "),
        "{err}"
    );
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
    let err = run(&plugin, "loop", CallContext::default())
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
    let err = run(&plugin, "alloc", CallContext::default())
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
    let err = run(&plugin, "stack", CallContext::default())
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
    let err = run(&plugin, "trap", CallContext::default())
        .await
        .unwrap_err();
    expect_prefix(&err);
    assert!(matches!(err.failure, Failure::Trap { .. }), "{err}");
    assert!(err.to_string().contains("boom from misbehave"), "{err}");
}

#[tokio::test]
async fn gigantic_output_is_refused_at_the_limit() {
    let plugin = misbehave(Limits {
        output_bytes: 16 << 20,
        ..Limits::default()
    })
    .await;
    let err = run(&plugin, "outputs", CallContext::new(Recorder::new()))
        .await
        .unwrap_err();
    expect_prefix(&err);
    assert!(
        matches!(err.failure, Failure::OutputTooLarge { limit, .. } if limit == 16 << 20),
        "{err}"
    );
}

#[tokio::test]
async fn an_origin_the_plugin_did_not_request_is_refused() {
    let plugin = misbehave(Limits::default()).await;
    let recorder = Recorder::new();
    let grants = Grants::none().allow_origin("http://198.51.100.7").unwrap();
    let err = run(
        &plugin,
        "http",
        CallContext::new(recorder.clone()).with_grants(grants),
    )
    .await
    .unwrap_err();
    expect_prefix(&err);
    assert!(
        err.to_string().ends_with(
            "tried to reach http://198.51.100.7:80, which its descriptor does not request"
        ),
        "{err}"
    );
    assert!(
        recorder.requests.lock().unwrap().is_empty(),
        "no request left the host"
    );
}

#[tokio::test]
async fn an_origin_the_operator_did_not_grant_is_refused() {
    let plugin = misbehave(Limits::default()).await;
    let recorder = Recorder::new();
    let err = run(&plugin, "http-local", CallContext::new(recorder.clone()))
        .await
        .unwrap_err();
    expect_prefix(&err);
    assert!(
        err.to_string().ends_with(
            "tried to reach http://127.0.0.1:80, which the operator has not granted (granted: none)"
        ),
        "{err}"
    );
    assert!(
        recorder.requests.lock().unwrap().is_empty(),
        "no request left the host"
    );
    let grants = Grants::none().allow_origin("http://127.0.0.1").unwrap();
    let values = run(
        &plugin,
        "http-local",
        CallContext::new(recorder.clone()).with_grants(grants),
    )
    .await
    .unwrap();
    assert_eq!(values, [Value::Text("granted answer".into())]);
    assert_eq!(recorder.requests.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn the_filesystem_does_not_exist_for_plugins() {
    let plugin = misbehave(Limits::default()).await;
    let err = run(&plugin, "file", CallContext::default())
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
    let values = run(&plugin, "env", CallContext::default()).await.unwrap();
    assert_eq!(values, [Value::Text("vars=0 HOME=None PATH=None".into())]);
}

#[tokio::test]
async fn a_cancelled_plugin_stops_by_itself() {
    let plugin = misbehave(Limits::default()).await;
    let context = CallContext::new(Recorder::new());
    let cancel = context.cancel.clone();
    let call = tokio::spawn({
        let plugin = plugin.clone();
        async move { run(&plugin, "cancel", context).await }
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
    let err = run(&plugin, "slow", context).await.unwrap_err();
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
    let err = run(&plugin, "slow", CallContext::default())
        .await
        .unwrap_err();
    assert!(matches!(err.failure, Failure::WallTime { .. }), "{err}");
    assert!(
        err.to_string()
            .ends_with("stopped after the wall-clock limit of 300ms"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_plugins_keep_serving_while_one_runs_away() {
    let runaway = misbehave(Limits {
        cpu_time: Duration::from_secs(2),
        ..Limits::default()
    })
    .await;
    let echo = load("echo").await;
    let looping = tokio::spawn(async move { run(&runaway, "loop", CallContext::default()).await });
    let started = Instant::now();
    for i in 0..20 {
        let params = [("message", text(&format!("still here {i}")))];
        echo.execute(&input(&params), CallContext::new(Recorder::new()))
            .await
            .unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "echo was blocked: {:?}",
        started.elapsed()
    );
    assert!(
        !looping.is_finished(),
        "the runaway was still running meanwhile"
    );
    let err = looping.await.unwrap().unwrap_err();
    assert!(matches!(err.failure, Failure::CpuBudget { .. }), "{err}");
}

#[tokio::test]
async fn a_plugin_that_keeps_failing_is_quarantined_with_a_reason() {
    let plugin = misbehave_on(EngineConfig {
        quarantine_after: 2,
        ..EngineConfig::default()
    })
    .await;
    for _ in 0..2 {
        run(&plugin, "trap", CallContext::default())
            .await
            .unwrap_err();
    }
    let err = run(&plugin, "ok", CallContext::default())
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
        run(&plugin, "ok", CallContext::default()).await.unwrap(),
        [Value::Text("fine".into())]
    );
}

#[tokio::test]
async fn a_number_that_is_not_finite_fails_only_its_own_call() {
    let plugin = misbehave(Limits::default()).await;
    let err = run(&plugin, "nan", CallContext::default())
        .await
        .unwrap_err();
    assert!(matches!(err.failure, Failure::Contract(_)), "{err}");
    expect_prefix(&err);
    assert!(
        err.to_string()
            .ends_with("returned NaN on output port \"text\", which is not a finite number"),
        "{err}"
    );
    assert_eq!(
        run(&plugin, "ok", CallContext::default()).await.unwrap(),
        [Value::Text("fine".into())]
    );
}

#[tokio::test]
async fn stdout_past_its_cap_is_truncated_with_a_marker_not_a_trap() {
    let plugin = misbehave(Limits::default()).await;
    let recorder = Recorder::new();
    let values = run(&plugin, "stdout", CallContext::new(recorder.clone()))
        .await
        .unwrap();
    assert_eq!(values, [Value::Text("printed".into())]);
    let logs = recorder.logs.lock().unwrap();
    let kept: usize = logs.iter().map(|(_, line)| line.len()).sum();
    assert!(kept <= 65 << 10, "kept {kept} bytes");
    let marker = &logs.last().unwrap().1;
    assert!(
        marker.starts_with("[983040 more bytes dropped: output is kept up to 65536 bytes"),
        "{marker}"
    );
}

#[tokio::test]
async fn log_messages_are_cut_and_a_call_has_a_log_budget() {
    let plugin = misbehave(Limits::default()).await;
    let recorder = Recorder::new();
    run(&plugin, "log-flood", CallContext::new(recorder.clone()))
        .await
        .unwrap();
    let logs = recorder.logs.lock().unwrap();
    let total: usize = logs.iter().map(|(_, line)| line.len()).sum();
    assert!(
        total <= (1 << 20) + 256,
        "{total} bytes of logs reached the host"
    );
    assert!(
        logs[0].1.ends_with("more bytes cut]"),
        "{}",
        &logs[0].1[4000..]
    );
    assert_eq!(
        logs.last().unwrap().1,
        "[further log messages dropped: a call may log 1048576 bytes]"
    );
}

#[tokio::test]
async fn the_number_of_outputs_is_capped() {
    let plugin = misbehave(Limits {
        max_outputs: 100,
        ..Limits::default()
    })
    .await;
    let recorder = Recorder::new();
    let err = run(&plugin, "many-outputs", CallContext::new(recorder.clone()))
        .await
        .unwrap_err();
    assert!(
        matches!(err.failure, Failure::TooManyOutputs { limit: 100 }),
        "{err}"
    );
    assert!(
        err.to_string()
            .ends_with("tried to write more than 100 output files"),
        "{err}"
    );
    assert_eq!(recorder.outputs.lock().unwrap().len(), 100);
}

#[tokio::test]
async fn a_validate_that_sleeps_stops_at_the_quick_wall_limit() {
    let plugin = misbehave(Limits {
        quick_wall_time: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let started = Instant::now();
    let err = plugin
        .validate(&input(&[("mode", choice("sleepy-validate"))]))
        .await
        .unwrap_err();
    assert!(matches!(err.failure, Failure::WallTime { .. }), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn sleeping_validates_cannot_take_every_slot_from_other_plugins() {
    let sleepy = misbehave(Limits {
        quick_wall_time: Duration::from_millis(400),
        ..Limits::default()
    })
    .await;
    let sleepers: Vec<_> = (0..260)
        .map(|_| {
            let sleepy = sleepy.clone();
            tokio::spawn(async move {
                sleepy
                    .validate(&input(&[("mode", choice("sleepy-validate"))]))
                    .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let echo = load("echo").await;
    for _ in 0..20 {
        echo.execute(
            &input(&[("message", text("hi"))]),
            CallContext::new(Recorder::new()),
        )
        .await
        .expect("other plugins keep serving");
    }
    for sleeper in sleepers {
        let err = sleeper.await.unwrap().unwrap_err();
        assert!(matches!(err.failure, Failure::WallTime { .. }), "{err}");
    }
    assert_eq!(echo.health().quarantined, None);
    assert_eq!(sleepy.health().quarantined, None);
}

#[tokio::test]
async fn successful_validates_do_not_hide_an_execute_that_always_fails() {
    let plugin = misbehave_on(EngineConfig {
        quarantine_after: 2,
        ..EngineConfig::default()
    })
    .await;
    for _ in 0..2 {
        plugin
            .validate(&input(&[("mode", choice("ok"))]))
            .await
            .unwrap();
        run(&plugin, "trap", CallContext::default())
            .await
            .unwrap_err();
    }
    assert!(
        plugin.health().quarantined.is_some(),
        "{:?}",
        plugin.health()
    );
}

#[tokio::test]
async fn a_quarantine_lifts_after_its_time() {
    let plugin = misbehave_on(EngineConfig {
        quarantine_after: 1,
        quarantine_for: Duration::from_millis(200),
        ..EngineConfig::default()
    })
    .await;
    run(&plugin, "trap", CallContext::default())
        .await
        .unwrap_err();
    assert!(plugin.health().quarantined.is_some());
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        run(&plugin, "ok", CallContext::default()).await.unwrap(),
        [Value::Text("fine".into())]
    );
}
