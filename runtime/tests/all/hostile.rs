//! Hostile components, one guest per class of attack (`runtime/tests/guests/hostile-*`), and
//! components generated here to attack the compiler: each is stopped, cut or refused at the
//! limit that names it, quickly, while other plugins keep serving.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mdc_runtime::plugin::types::{ErrorCode, Value};
use mdc_runtime::plugin::{
    CallContext, CallError, EngineConfig, Failure, Grants, Limits, LoadError, Plugin, PluginEngine,
};

use crate::support::{
    Recorder, engine, expect_prefix, fixture_bytes, input, load, load_on, refused, run_mode, text,
};

/// A guest on the shared engine, with these limits.
async fn hostile(name: &str, limits: Limits) -> Plugin {
    load(name).await.with_limits(limits)
}

/// Runs one mode and expects the call to fail; checks the message names plugin and export.
async fn failing(plugin: &Plugin, name: &str, mode: &str, context: CallContext) -> CallError {
    let err = run_mode(plugin, mode, context).await.unwrap_err();
    expect_prefix(&err, name, "execute");
    err
}

/// Echo answers 20 executes within 2 s while something else runs.
async fn echo_keeps_serving(echo: &Plugin) {
    let started = Instant::now();
    for i in 0..20 {
        let params = [("message", text(&format!("still here {i}")))];
        echo.execute(&input(&params), CallContext::new(Recorder::new()))
            .await
            .expect("other plugins keep serving");
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "echo was held up: {:?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------------------------
// hostile-sleeper: describe and validate sleep on the WASI clock.

#[tokio::test]
async fn a_describe_that_sleeps_is_stopped_at_the_describe_wall_limit() {
    let wall = Duration::from_millis(200);
    let config = EngineConfig {
        cache_dir: Some(crate::support::cache_dir()),
        limits: Limits {
            quick_wall_time: wall,
            ..Limits::default()
        },
        ..EngineConfig::default()
    };
    let engine = PluginEngine::new(config).unwrap();
    let err = refused(
        &engine,
        "hostile-sleeper",
        &fixture_bytes("hostile-sleeper"),
    )
    .await;
    let LoadError::Describe { source, .. } = &err else {
        panic!("{err}")
    };
    // The describe sleeps 600 ms: only the 200 ms limit can end it this way.
    assert!(
        matches!(source.failure, Failure::WallTime { limit } if limit == wall),
        "{err}"
    );
    assert!(
        err.to_string()
            .ends_with("describe: stopped after the wall-clock limit of 200ms"),
        "{err}"
    );
}

#[tokio::test]
async fn a_validate_that_sleeps_is_stopped_at_the_validate_wall_limit() {
    let plugin = hostile(
        "hostile-sleeper",
        Limits {
            quick_wall_time: Duration::from_millis(300),
            ..Limits::default()
        },
    )
    .await;
    let started = Instant::now();
    let err = plugin.validate(&input(&[])).await.unwrap_err();
    assert!(
        matches!(err.failure, Failure::WallTime { limit } if limit == Duration::from_millis(300)),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sleeping_validates_cannot_take_every_slot_from_other_plugins() {
    // Quarantine on (the engine's default): sleeping is the wall limit's business, not
    // misbehaviour, so neither plugin may end up quarantined.
    let config = EngineConfig::default();
    let sleepy = load_on(config.clone(), "hostile-sleeper")
        .await
        .with_limits(Limits {
            quick_wall_time: Duration::from_millis(400),
            ..Limits::default()
        });
    let sleepers: Vec<_> = (0..260)
        .map(|_| {
            let sleepy = sleepy.clone();
            tokio::spawn(async move { sleepy.validate(&input(&[])).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let echo = load_on(config, "echo").await;
    echo_keeps_serving(&echo).await;
    for sleeper in sleepers {
        let err = sleeper.await.unwrap().unwrap_err();
        assert!(matches!(err.failure, Failure::WallTime { .. }), "{err}");
    }
    assert_eq!(echo.health().quarantined, None);
    assert_eq!(sleepy.health().quarantined, None);
}

// ---------------------------------------------------------------------------------------------
// hostile-chatter: 16 MiB messages and floods of logs, progress and stdout.

#[tokio::test]
async fn a_16_mib_log_message_is_cut_to_the_message_limit() {
    let plugin = hostile("hostile-chatter", Limits::default()).await;
    let recorder = Recorder::new();
    run_mode(&plugin, "huge-log", CallContext::new(recorder.clone()))
        .await
        .unwrap();
    let logs = recorder.logs.lock().unwrap();
    assert_eq!(logs.len(), 1);
    let message = &logs[0].1;
    assert!(message.len() < (4 << 10) + 64, "{} bytes", message.len());
    assert!(
        message.ends_with(&format!("… [{} more bytes cut]", (16 << 20) - (4 << 10))),
        "{}",
        &message[4000..]
    );
}

#[tokio::test]
async fn a_16_mib_progress_message_is_cut_to_the_message_limit() {
    let plugin = hostile("hostile-chatter", Limits::default()).await;
    let recorder = Recorder::new();
    run_mode(&plugin, "huge-progress", CallContext::new(recorder.clone()))
        .await
        .unwrap();
    let progress = recorder.progress.lock().unwrap();
    assert_eq!(progress.len(), 1);
    assert_eq!(progress[0].0, 0.5);
    assert!(
        progress[0].1.len() < (4 << 10) + 64,
        "{}",
        progress[0].1.len()
    );
    assert!(progress[0].1.ends_with("more bytes cut]"));
}

#[tokio::test]
async fn a_progress_flood_reaches_the_host_cut_message_by_message() {
    let plugin = hostile("hostile-chatter", Limits::default()).await;
    let recorder = Recorder::new();
    let started = Instant::now();
    run_mode(
        &plugin,
        "progress-flood",
        CallContext::new(recorder.clone()),
    )
    .await
    .unwrap();
    let progress = recorder.progress.lock().unwrap();
    assert_eq!(progress.len(), 1000);
    let longest = progress.iter().map(|(_, m)| m.len()).max().unwrap();
    assert!(longest < (4 << 10) + 64, "{longest} bytes");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn log_messages_are_cut_and_a_call_has_a_log_budget() {
    let plugin = hostile("hostile-chatter", Limits::default()).await;
    let recorder = Recorder::new();
    run_mode(&plugin, "log-flood", CallContext::new(recorder.clone()))
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
async fn stdout_past_its_cap_is_truncated_with_a_marker_not_a_trap() {
    let plugin = hostile("hostile-chatter", Limits::default()).await;
    let recorder = Recorder::new();
    let values = run_mode(&plugin, "stdout", CallContext::new(recorder.clone()))
        .await
        .unwrap();
    assert_eq!(values, [Value::Text("said it all".into())]);
    let logs = recorder.logs.lock().unwrap();
    let kept: usize = logs.iter().map(|(_, line)| line.len()).sum();
    assert!(kept <= 65 << 10, "kept {kept} bytes");
    let marker = &logs.last().unwrap().1;
    assert!(
        marker.starts_with("[983040 more bytes dropped: output is kept up to 65536 bytes"),
        "{marker}"
    );
}

// ---------------------------------------------------------------------------------------------
// hostile-outputs: too many, too large, not finite.

#[tokio::test]
async fn hundreds_of_thousands_of_empty_outputs_stop_at_the_output_count() {
    let plugin = hostile("hostile-outputs", Limits::default()).await;
    let recorder = Recorder::new();
    let started = Instant::now();
    let err = failing(
        &plugin,
        "hostile-outputs",
        "many-outputs",
        CallContext::new(recorder.clone()),
    )
    .await;
    assert!(
        matches!(err.failure, Failure::TooManyOutputs { limit: 4096 }),
        "{err}"
    );
    assert!(
        err.to_string()
            .ends_with("tried to write more than 4096 output files"),
        "{err}"
    );
    assert_eq!(recorder.outputs.lock().unwrap().len(), 4096);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn one_output_larger_than_a_default_host_call_is_stored() {
    let plugin = hostile("hostile-outputs", Limits::default()).await;
    let recorder = Recorder::new();
    let values = run_mode(&plugin, "big-output", CallContext::new(recorder.clone()))
        .await
        .unwrap();
    assert_eq!(values.len(), 1);
    let outputs = recorder.outputs.lock().unwrap();
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0].1.len(), 160 << 20);
}

/// One output past the call's output bytes, and outputs adding up past them, are refused with
/// the limit and the total attempted; what fitted before is kept.
#[tokio::test]
async fn outputs_past_the_output_bytes_are_refused() {
    for (mode, limit, attempted, kept) in [
        ("output", 64u64 << 20, 100u64 << 20, 0),
        ("outputs", 100 << 20, 128 << 20, 1),
    ] {
        let plugin = hostile(
            "hostile-outputs",
            Limits {
                output_bytes: limit,
                ..Limits::default()
            },
        )
        .await;
        let recorder = Recorder::new();
        let err = failing(
            &plugin,
            "hostile-outputs",
            mode,
            CallContext::new(recorder.clone()),
        )
        .await;
        assert!(
            matches!(
                err.failure,
                Failure::OutputTooLarge { limit: l, attempted: a } if l == limit && a == attempted
            ),
            "{mode}: {err}"
        );
        assert_eq!(recorder.outputs.lock().unwrap().len(), kept, "{mode}");
    }
}

#[tokio::test]
async fn numbers_that_are_not_finite_fail_only_their_own_call() {
    let plugin = hostile("hostile-outputs", Limits::default()).await;
    for (mode, shown) in [("nan", "NaN"), ("infinity", "inf")] {
        let err = failing(&plugin, "hostile-outputs", mode, CallContext::default()).await;
        assert!(matches!(err.failure, Failure::Contract(_)), "{err}");
        assert!(
            err.to_string().ends_with(&format!(
                "returned {shown} on output port \"number\", which is not a finite number"
            )),
            "{err}"
        );
    }
}

#[tokio::test]
async fn a_text_value_past_the_value_limit_is_a_contract_violation() {
    let plugin = hostile("hostile-outputs", Limits::default()).await;
    let err = failing(
        &plugin,
        "hostile-outputs",
        "huge-text",
        CallContext::default(),
    )
    .await;
    assert!(matches!(err.failure, Failure::Contract(_)), "{err}");
    assert!(
        err.to_string().contains(&format!(
            "of {} bytes, past the limit of 16777216 bytes",
            17 << 20
        )),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// hostile-descriptor: 400,000 ports and 2,000,000 choice options.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enormous_descriptor_is_refused_quickly() {
    let bytes = fixture_bytes("hostile-descriptor");
    // Compile (and cache) first: what is timed is describing and checking.
    let compile = {
        let engine = engine();
        let bytes = bytes.clone();
        tokio::task::spawn_blocking(move || engine.compile("hostile-descriptor", &bytes))
    };
    compile.await.unwrap().unwrap();
    let started = Instant::now();
    let err = refused(&engine(), "hostile-descriptor", &bytes).await;
    let elapsed = started.elapsed();
    match &err {
        // The answer is larger than wasmtime lifts out of a guest in one call (its hostcall
        // fuel, 128 MiB by default): refused part-way through lifting it.
        LoadError::Describe { source, .. } => assert!(
            matches!(&source.failure, Failure::Trap { message, .. }
                if message.contains("too much data is being copied between the host and the guest")),
            "{err}"
        ),
        // Lifted, it is refused by the descriptor rules, counts first.
        LoadError::Descriptor { problems, .. } => assert_eq!(
            problems[0].0,
            "declares 400000 input ports; at most 1024 are allowed"
        ),
        _ => panic!("{err}"),
    }
    // Measured in a debug build: 1.9 s, of which building it costs the guest 0.5 s (charged
    // to its 2 s describe budget) and lifting it until wasmtime stops the rest.
    assert!(
        elapsed < Duration::from_secs(3),
        "refused after {elapsed:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// hostile-reader: the host copies, the guest barely runs.

#[tokio::test]
async fn re_reading_a_large_asset_is_charged_and_stopped_at_the_cpu_budget() {
    const ASSET: usize = 64 << 20;
    let budget = Duration::from_millis(500);
    let plugin = hostile(
        "hostile-reader",
        Limits {
            cpu_time: budget,
            ..Limits::default()
        },
    )
    .await;
    let recorder = Recorder::with_asset("big", "application/octet-stream", &vec![7; ASSET]);
    let started = Instant::now();
    let err = plugin
        .execute(&input(&[]), CallContext::new(recorder.clone()))
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        matches!(err.failure, Failure::CpuBudget { limit } if limit == budget),
        "{err}"
    );
    // Each 64 MiB read is charged 64 MiB at 1 GiB/s = 62.5 ms: the 500 ms budget holds eight
    // reads, plus the one in flight when the budget ran out. Uncharged, each read would cost
    // one 5 ms tick at most, and a hundred reads would fit.
    let reads = recorder.asset_reads.load(Ordering::Relaxed);
    assert!((1..=10).contains(&reads), "{reads} reads");
    // A read takes 0.2–0.6 s in a debug build on a busy machine: bounded, not fast.
    assert!(
        elapsed < Duration::from_secs(15),
        "stopped after {elapsed:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// hostile-spinner: CPU runaways, several at once.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_runaways_are_each_stopped_while_other_plugins_serve() {
    let budget = Duration::from_millis(600);
    let spinner = hostile(
        "hostile-spinner",
        Limits {
            cpu_time: budget,
            quick_cpu_time: budget,
            ..Limits::default()
        },
    )
    .await;
    let echo = load("echo").await;
    let started = Instant::now();
    let executes = (0..2).map(|_| {
        let spinner = spinner.clone();
        tokio::spawn(async move {
            spinner
                .execute(&input(&[]), CallContext::default())
                .await
                .map(|_| ())
        })
    });
    let validates = (0..2).map(|_| {
        let spinner = spinner.clone();
        tokio::spawn(async move { spinner.validate(&input(&[])).await.map(|_| ()) })
    });
    let runaways: Vec<_> = executes.chain(validates).collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    echo_keeps_serving(&echo).await;
    assert!(
        runaways.iter().all(|runaway| !runaway.is_finished()),
        "the runaways were still running meanwhile"
    );
    for runaway in runaways {
        let err = runaway.await.unwrap().unwrap_err();
        assert!(
            matches!(err.failure, Failure::CpuBudget { limit } if limit == budget),
            "{err}"
        );
    }
    // Four runaways of 600 ms on two cores, and echo: a few seconds at most.
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------------------------
// hostile-burner: cheap validates succeed, every execute burns its budget.

#[tokio::test]
async fn successful_validates_do_not_hide_an_execute_that_always_burns_its_budget() {
    let plugin = load_on(
        EngineConfig {
            quarantine_after: 3,
            ..EngineConfig::default()
        },
        "hostile-burner",
    )
    .await
    .with_limits(Limits {
        cpu_time: Duration::from_millis(100),
        ..Limits::default()
    });
    for _ in 0..3 {
        plugin.validate(&input(&[])).await.unwrap();
        let err = plugin
            .execute(&input(&[]), CallContext::default())
            .await
            .unwrap_err();
        assert!(matches!(err.failure, Failure::CpuBudget { .. }), "{err}");
    }
    let err = plugin
        .execute(&input(&[]), CallContext::default())
        .await
        .unwrap_err();
    assert!(matches!(err.failure, Failure::Quarantined(_)), "{err}");
    assert!(
        err.to_string()
            .contains("3 execute calls in a row failed; the last one: stopped after using its CPU budget of 100ms"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// hostile-requests: headers, methods and timeouts that would steer the host's client.

/// The requests guest with `http://127.0.0.1` granted, a 30 s wall limit and a recorder.
async fn requests_call(mode: &str) -> (Result<Vec<Value>, CallError>, std::sync::Arc<Recorder>) {
    let plugin = hostile(
        "hostile-requests",
        Limits {
            wall_time: Duration::from_secs(30),
            ..Limits::default()
        },
    )
    .await;
    let recorder = Recorder::new();
    let grants = Grants::none().allow_origin("http://127.0.0.1").unwrap();
    let context = CallContext::new(recorder.clone()).with_grants(grants);
    (run_mode(&plugin, mode, context).await, recorder)
}

#[tokio::test]
async fn requests_that_steer_the_hosts_client_are_refused_before_they_leave() {
    for (mode, reason) in [
        (
            "host-header",
            "sets the \"Host\" header, which only the host's HTTP client sets",
        ),
        (
            "forwarded-for",
            "sets the \"X-Forwarded-For\" header, which only the host's HTTP client sets",
        ),
        (
            "connect",
            "uses the CONNECT method, which plugins may not use",
        ),
        ("trace", "uses the TRACE method, which plugins may not use"),
    ] {
        let (result, recorder) = requests_call(mode).await;
        let err = result.unwrap_err();
        expect_prefix(&err, "hostile-requests", "execute");
        let Failure::Reported(reported) = &err.failure else {
            panic!("{mode}: {err}")
        };
        assert_eq!(reported.code, ErrorCode::Failed, "{mode}");
        assert_eq!(
            reported.message,
            format!("invalid HTTP request: the request {reason}"),
            "{mode}"
        );
        assert!(
            recorder.requests.lock().unwrap().is_empty(),
            "{mode}: no request left the host"
        );
    }
}

#[tokio::test]
async fn a_49_day_timeout_is_capped_at_the_calls_time_left() {
    let (result, recorder) = requests_call("long-timeout").await;
    assert_eq!(result.unwrap(), [Value::Text("granted answer".into())]);
    let requests = recorder.requests.lock().unwrap();
    let timeout = requests[0].timeout_ms;
    assert!((29_000..=30_000).contains(&timeout), "timeout {timeout} ms");
}

#[tokio::test]
async fn a_plugins_own_authorization_goes_to_its_granted_origin_unchanged() {
    let (result, recorder) = requests_call("authorization").await;
    assert_eq!(result.unwrap(), [Value::Text("granted answer".into())]);
    let requests = recorder.requests.lock().unwrap();
    assert_eq!(requests[0].url, "http://127.0.0.1/prompt");
    assert_eq!(
        requests[0].headers,
        [("Authorization".to_string(), "Bearer plugin-own".to_string())]
    );
}

#[tokio::test]
async fn an_origin_the_plugin_did_not_request_is_refused() {
    let plugin = hostile("hostile-requests", Limits::default()).await;
    let recorder = Recorder::new();
    let grants = Grants::none().allow_origin("http://198.51.100.7").unwrap();
    let context = CallContext::new(recorder.clone()).with_grants(grants);
    let err = failing(&plugin, "hostile-requests", "ungranted", context).await;
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
    let plugin = hostile("hostile-requests", Limits::default()).await;
    let recorder = Recorder::new();
    let context = CallContext::new(recorder.clone());
    let err = failing(&plugin, "hostile-requests", "authorization", context).await;
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
}

// ---------------------------------------------------------------------------------------------
// Components generated here: compile bombs and too many memories.

/// A component with one core module defining `functions` empty functions.
fn component_with_functions(functions: usize) -> Vec<u8> {
    let module = format!("(core module {})", "(func)".repeat(functions));
    wat::parse_str(format!("(component {module})")).unwrap()
}

/// An engine of its own whose code cache is a fresh folder.
fn engine_with_cache(config: EngineConfig) -> (PluginEngine, tempfile::TempDir) {
    let cache = tempfile::tempdir().unwrap();
    let engine = PluginEngine::new(EngineConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        ..config
    })
    .unwrap();
    (engine, cache)
}

fn is_empty(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir).map_or(true, |mut entries| entries.next().is_none())
}

#[tokio::test]
async fn a_million_functions_are_refused_before_compiling_and_nothing_is_cached() {
    let bytes = component_with_functions(1_000_000);
    let (engine, cache) = engine_with_cache(EngineConfig::default());
    let started = Instant::now();
    let err = refused(&engine, "bomb.wasm", &bytes).await;
    let elapsed = started.elapsed();
    assert!(matches!(err, LoadError::TooMuchCode { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "bomb.wasm: not compiled: it defines at least 1000000 core functions; at most 200000 \
         are compiled"
    );
    assert!(
        elapsed < Duration::from_secs(2),
        "refused after {elapsed:?}"
    );
    assert!(is_empty(cache.path()), "something was cached");
}

#[tokio::test]
async fn a_compilation_past_its_time_limit_fails_and_nothing_is_cached() {
    let (engine, cache) = engine_with_cache(EngineConfig {
        compile_time: Duration::from_millis(1),
        ..EngineConfig::default()
    });
    let err = refused(&engine, "echo.wasm", &fixture_bytes("echo")).await;
    assert!(matches!(err, LoadError::CompileTime { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "echo.wasm: not compiled: compilation took longer than 1ms"
    );
    // The abandoned compilation runs on to its end on its thread; it must not be stored then.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(is_empty(cache.path()), "something was cached");
}
