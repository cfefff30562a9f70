//! Calling the exports of a well-behaved plugin: results, progress, logs, outputs, patches.

use mdc_runtime::plugin::CallContext;
use mdc_runtime::plugin::types::{
    ActionInput, ConnectedValue, LogLevel, ParamValue, PortValues, Severity, Value,
};

use crate::support::{Recorder, input, load, text};

#[tokio::test]
async fn describe_reports_the_descriptor() {
    let plugin = load("echo").await;
    let descriptor = plugin.describe().await.unwrap();
    assert_eq!(descriptor.type_id, "echo");
    assert_eq!(descriptor.version, "0.1.0");
    assert_eq!(plugin.label().to_string(), "plugin \"echo\" 0.1.0");
    assert!(descriptor.param("repeat").is_some());
    assert_eq!(plugin.digest().len(), 64);
    assert!(
        plugin.capability_mismatches().is_empty(),
        "{:?}",
        plugin.capability_mismatches()
    );
}

#[tokio::test]
async fn validate_flags_a_value_outside_its_range() {
    let plugin = load("echo").await;
    let diagnostics = plugin
        .validate(&input(&[("repeat", ParamValue::Integer(50))]))
        .await
        .unwrap();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0].severity, Severity::Error);
    assert_eq!(diagnostics[0].field.as_deref(), Some("repeat"));
    assert!(
        plugin
            .validate(&input(&[("repeat", ParamValue::Integer(3))]))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn execute_returns_outputs_and_the_host_sees_progress_logs_and_files() {
    let plugin = load("echo").await;
    let recorder = Recorder::new();
    let params = [
        ("message", text("take two")),
        ("repeat", ParamValue::Integer(2)),
    ];
    let outcome = plugin
        .execute(&input(&params), CallContext::new(recorder.clone()))
        .await
        .unwrap();
    let text_out = outcome
        .value
        .values
        .iter()
        .find(|v| v.port == "text")
        .unwrap();
    assert_eq!(text_out.value, Value::Text("take two take two".into()));
    let progress: Vec<f32> = recorder
        .progress
        .lock()
        .unwrap()
        .iter()
        .map(|(f, _)| *f)
        .collect();
    assert_eq!(progress, [0.0, 0.5, 1.0]);
    let outputs = recorder.outputs.lock().unwrap();
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0].0, "text/plain");
    assert_eq!(outcome.report.output_bytes, outputs[0].1.len() as u64);
    assert!(outcome.report.peak_memory_bytes > 0);
    let logs = recorder.logs.lock().unwrap();
    assert!(
        logs.iter().any(|(level, _)| *level == LogLevel::Info),
        "{logs:?}"
    );
    assert!(
        logs.iter().any(|(level, _)| *level == LogLevel::Warn),
        "stderr is captured as warnings: {logs:?}"
    );
}

#[tokio::test]
async fn execute_reads_connected_assets_by_id() {
    let plugin = load("echo").await;
    let recorder = Recorder::with_asset("asset-42", "text/plain", b"from the library");
    let mut node_input = input(&[("message", text("and more"))]);
    node_input.inputs.push(PortValues {
        port: "text".into(),
        values: vec![ConnectedValue {
            source_node: "upstream".into(),
            source_port: "text".into(),
            value: Value::Asset(mdc_runtime::plugin::types::AssetRef {
                id: "asset-42".into(),
                mime: "text/plain".into(),
            }),
        }],
    });
    let outcome = plugin
        .execute(&node_input, CallContext::new(recorder))
        .await
        .unwrap();
    let Value::Text(result) = &outcome
        .value
        .values
        .iter()
        .find(|v| v.port == "text")
        .unwrap()
        .value
    else {
        panic!("text output")
    };
    assert!(result.starts_with("from the library"), "{result}");
}

#[tokio::test]
async fn run_action_returns_a_graph_patch() {
    let plugin = load("echo").await;
    let action_input = ActionInput {
        node: input(&[("message", text("wide shot"))]),
        graph: vec![],
    };
    let outcome = plugin
        .run_action("split", &action_input, CallContext::default())
        .await
        .unwrap();
    let ids: Vec<&str> = outcome
        .value
        .upsert_nodes
        .iter()
        .map(|node| node.id.as_str())
        .collect();
    assert_eq!(ids, ["word-0", "word-1"]);
    let unknown = plugin
        .run_action("explode", &action_input, CallContext::default())
        .await
        .unwrap_err();
    assert!(unknown.to_string().contains("explode"), "{unknown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_many_calls_concurrently() {
    let plugin = load("echo").await;
    let calls = (0..32).map(|i| {
        let plugin = plugin.clone();
        tokio::spawn(async move {
            let params = [("message", text(&format!("call {i}")))];
            plugin
                .execute(&input(&params), CallContext::new(Recorder::new()))
                .await
        })
    });
    for (i, call) in calls.enumerate() {
        let outcome = call.await.unwrap().unwrap();
        let text_out = outcome
            .value
            .values
            .iter()
            .find(|v| v.port == "text")
            .unwrap();
        assert_eq!(text_out.value, Value::Text(format!("call {i}")));
    }
}
