//! Tests of the SDK's public API as a plugin author uses it: builders,
//! accessors, default validation, the export macro and the test host.

use mdc_sdk::prelude::*;
use mdc_sdk::testing::{InputBuilder, TestAsset, TestHost, WrittenOutput};

/// A tiny node touching every host function.
struct Tiny;

impl Node for Tiny {
    fn describe() -> NodeDescriptor {
        NodeDescriptor::new("tiny", "0.1.0", "Tiny")
            .category("Testing")
            .input(Port::one("text", "Text", "text"))
            .input(Port::many("refs", "References", "image").required())
            .output(Port::one("text", "Text", "text"))
            .output(Port::one("file", "File", "image"))
            .param(Param::text("prompt", "Prompt").default("hi").required())
            .param(Param::integer("count", "Count", 1..=3).default(1))
            .param(Param::number("strength", "Strength", 0.0..=1.0).step(0.1))
            .param(
                Param::choice("tier", "Tier", [("low", "Draft"), ("high", "Premium")])
                    .default("low"),
            )
            .param(Param::asset_ref("source", "Source", "image"))
            .param(Param::json("workflow", "Workflow"))
            .param(Param::boolean("loud", "Loud"))
            .tier(TierEstimate::new(QualityTier::Low).seconds(2.0))
            .action("clone", "Clone", "Adds a copy of this node.")
            .capability(Capability::AssetRead)
            .capability(Capability::OutputWrite)
            .capability(Capability::outbound_http(["http://127.0.0.1:8188"]))
    }

    fn execute(input: NodeInput) -> Result<NodeOutputs, NodeError> {
        let prompt = input.text("prompt").unwrap_or_default().to_owned();
        let count = input.integer("count").unwrap_or(1);
        host::info(&format!("prompt {prompt}"));
        let mut text = prompt.repeat(count as usize);
        if let Some(id) = input.asset_ref("source") {
            let meta = host::asset_metadata(id).map_err(NodeError::failed)?;
            let bytes = host::read_asset(id).map_err(NodeError::failed)?;
            text.push_str(&format!(" [{} {} {}]", meta.name, meta.kind, bytes.len()));
        }
        for step in 1..=4 {
            if host::is_cancelled() {
                return Err(NodeError::cancelled());
            }
            host::progress(step as f32 / 4.0, &format!("step {step}"));
        }
        if input.boolean("loud") == Some(true) {
            let response = host::http_fetch(
                &HttpRequest::get("http://127.0.0.1:8188/shout").header("x", "1"),
            )?;
            text = response.text();
        }
        let id = host::write_output("text/plain", text.as_bytes()).map_err(NodeError::failed)?;
        Ok(NodeOutputs::new()
            .with("text", text)
            .with("file", AssetRef::new(id, "text/plain"))
            .summary("1 text"))
    }

    fn run_action(action: &str, input: ActionInput) -> Result<GraphPatch, NodeError> {
        match action {
            "clone" => {
                let me = &input.node.node_id;
                let copy = format!("{me}-copy");
                let exists = input.graph_node(&copy).is_some();
                Ok(GraphPatch::new()
                    .upsert_node(
                        PatchNode::new(&copy, "tiny", "Copy")
                            .at(10.0, 20.0)
                            .param("prompt", input.node.text("prompt").unwrap_or_default()),
                    )
                    .upsert_edge(PatchEdge::between(me.as_str(), "text", &copy, "text"))
                    .summary(if exists { "updated" } else { "created" }))
            }
            other => Err(NodeError::unsupported(format!("no action {other}"))),
        }
    }
}

/// A node relying on every default of the trait.
struct Bare;

impl Node for Bare {
    fn describe() -> NodeDescriptor {
        NodeDescriptor::new("bare", "0.1.0", "Bare")
    }
}

/// A node without capabilities that still calls capability-gated imports.
struct Greedy;

impl Node for Greedy {
    fn describe() -> NodeDescriptor {
        NodeDescriptor::new("greedy", "0.1.0", "Greedy")
    }

    fn execute(_input: NodeInput) -> Result<NodeOutputs, NodeError> {
        let read = host::read_asset("a").unwrap_err();
        let write = host::write_output("text/plain", b"x").unwrap_err();
        let fetch = host::http_fetch(&HttpRequest::get("http://127.0.0.1:8188/")).unwrap_err();
        Ok(NodeOutputs::new()
            .with("read", read)
            .with("write", write)
            .with("fetch", format!("{fetch:?}")))
    }
}

// The export glue must compile natively too (plugins are workspace members).
mdc_sdk::export_node!(Tiny);

#[test]
fn descriptor_builders_fill_the_contract_records() {
    let d = Tiny::describe();
    assert_eq!(d.type_id, "tiny");
    assert_eq!(d.inputs[1].cardinality, Cardinality::Many);
    assert!(d.inputs[1].required);
    let count = d.find_param("count").unwrap();
    assert_eq!(
        count.param_type,
        ParamType::Integer(mdc_sdk::types::IntegerRange {
            min: Some(1),
            max: Some(3)
        })
    );
    assert_eq!(count.default, Some(ParamValue::Integer(1)));
    let strength = d.find_param("strength").unwrap();
    assert_eq!(
        strength.param_type,
        ParamType::Number(mdc_sdk::types::NumberRange {
            min: Some(0.0),
            max: Some(1.0),
            step: 0.1
        })
    );
    // A &str default on a choice parameter becomes a choice value.
    assert_eq!(
        d.find_param("tier").unwrap().default,
        Some(ParamValue::Choice("low".into()))
    );
    assert_eq!(d.tiers[0].seconds, 2.0);
    assert_eq!(d.actions[0].id, "clone");
    assert!(d.wants_asset_read() && d.wants_output_write() && d.wants_outbound_http());
    assert_eq!(
        Param::integer("x", "X", 0..10).param_type,
        ParamType::Integer(mdc_sdk::types::IntegerRange {
            min: Some(0),
            max: Some(9)
        })
    );
    assert_eq!(
        Param::integer("x", "X", ..).param_type,
        ParamType::Integer(mdc_sdk::types::IntegerRange {
            min: None,
            max: None
        })
    );
}

#[test]
fn default_validate_reports_one_diagnostic_per_problem() {
    let host = TestHost::new();
    // Defaults are applied by the test host, so a bare input is valid.
    assert_eq!(host.validate::<Tiny>(InputBuilder::new()), vec![]);

    let bad = InputBuilder::new()
        .param("count", 7)
        .param("strength", "strong")
        .param("tier", ParamValue::choice("ultra"))
        .param("workflow", ParamValue::Json("{nope".into()))
        .param("mystery", true);
    let found = host.validate::<Tiny>(bad);
    let fields: Vec<_> = found.iter().map(|d| d.field.clone().unwrap()).collect();
    assert_eq!(fields, ["count", "strength", "tier", "workflow", "mystery"]);
    assert!(found[..4].iter().all(Diagnostic::is_error));
    assert_eq!(found[4].severity, Severity::Warning);
    assert!(
        found[0].message.contains("between 1 and 3"),
        "{}",
        found[0].message
    );
    assert!(
        found[2].message.contains("low, high"),
        "{}",
        found[2].message
    );

    // Without the host's defaults, the required prompt is missing.
    let raw = InputBuilder::new().build();
    let found = mdc_sdk::validate_params(&Tiny::describe(), &raw);
    assert_eq!(
        found,
        vec![Diagnostic::error("prompt", "Prompt is required.")]
    );

    let nan = InputBuilder::new()
        .param("prompt", "p")
        .param("strength", f64::NAN)
        .build();
    let found = mdc_sdk::validate_params(&Tiny::describe(), &nan);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].field.as_deref(), Some("strength"));
}

#[test]
fn input_and_value_accessors() {
    let input = InputBuilder::new()
        .param("prompt", "a cat")
        .param("count", 2)
        .param("strength", 0.5)
        .param("loud", true)
        .param("tier", ParamValue::choice("high"))
        .param("source", ParamValue::asset_ref("asset-9"))
        .param("workflow", serde_json::json!({"nodes": [1, 2]}))
        .connect("refs", Value::asset("img-1", "image/png"))
        .connect_from("refs", "n2", "image", Value::asset("img-2", "image/png"))
        .connect("text", "upstream text")
        .tier(QualityTier::High)
        .seed(42)
        .build();
    assert_eq!(input.text("prompt"), Some("a cat"));
    assert_eq!(input.text("count"), None);
    assert_eq!(input.integer("count"), Some(2));
    assert_eq!(input.number("count"), Some(2.0));
    assert_eq!(input.number("strength"), Some(0.5));
    assert_eq!(input.boolean("loud"), Some(true));
    assert_eq!(input.choice("tier"), Some("high"));
    assert_eq!(input.asset_ref("source"), Some("asset-9"));
    let wf: serde_json::Value = input.json("workflow").unwrap().unwrap();
    assert_eq!(wf["nodes"][1], 2);
    assert_eq!(input.json_value("missing").unwrap(), None);
    assert_eq!(
        input.json::<u32>("prompt").unwrap_err().code,
        ErrorCode::InvalidInput
    );
    assert_eq!(input.connected("refs").len(), 2);
    assert_eq!(input.connected("refs")[1].source_node, "n2");
    assert_eq!(input.connected("nothing").len(), 0);
    assert_eq!(
        input.connected_value("text").and_then(Value::as_text),
        Some("upstream text")
    );
    assert_eq!(
        input
            .connected_value("refs")
            .and_then(Value::as_asset)
            .map(|a| a.id.as_str()),
        Some("img-1")
    );
    assert_eq!(input.tier, QualityTier::High);
    assert_eq!(input.seed, 42);

    let json = Value::json(&serde_json::json!({"a": 1}));
    assert_eq!(json.as_json(), Some(r#"{"a":1}"#));
    assert_eq!(json.parse_json::<serde_json::Value>().unwrap()["a"], 1);
    assert_eq!(Value::from(3).as_integer(), Some(3));
    assert_eq!(Value::from(3).as_number(), Some(3.0));
    assert_eq!(Value::from(false).as_bool(), Some(false));
    assert_eq!(Value::text("t").as_asset(), None);
}

#[test]
fn errors_outputs_and_patches() {
    assert_eq!(NodeError::invalid_input("x").code, ErrorCode::InvalidInput);
    assert_eq!(NodeError::failed("x").code, ErrorCode::Failed);
    assert_eq!(NodeError::cancelled().code, ErrorCode::Cancelled);
    assert_eq!(
        NodeError::backend_unavailable("x").code,
        ErrorCode::BackendUnavailable
    );
    assert_eq!(NodeError::unsupported("x").message, "x");
    assert_eq!(
        NodeError::from(HttpError::Timeout).code,
        ErrorCode::BackendUnavailable
    );
    assert_eq!(
        NodeError::from(HttpError::InvalidRequest("m".into())).code,
        ErrorCode::Failed
    );

    let out = NodeOutputs::new()
        .with("a", "one")
        .with("a", 2)
        .with("b", 1.5)
        .summary("3 values");
    assert_eq!(out.get("a"), Some(&Value::Text("one".into())));
    assert_eq!(out.all("a").count(), 2);
    assert_eq!(out.get("b").and_then(Value::as_number), Some(1.5));
    assert_eq!(out.summary, "3 values");

    let patch = GraphPatch::new()
        .upsert_node(
            PatchNode::new("n", "shot", "Shot 1")
                .parent("scene-1")
                .param("k", 1)
                .param("k", 2),
        )
        .remove_node("old")
        .upsert_edge(PatchEdge::new("e", "a", "out", "n", "in"))
        .remove_edge("e-old")
        .summary("1 shot");
    assert_eq!(patch.upsert_nodes[0].parent.as_deref(), Some("scene-1"));
    assert_eq!(patch.upsert_nodes[0].params, vec![ParamEntry::new("k", 2)]);
    assert_eq!(patch.remove_nodes, ["old"]);
    assert_eq!(patch.remove_edges, ["e-old"]);
    assert_eq!(PatchEdge::between("a", "o", "b", "i").id, "a.o->b.i");

    assert_eq!(Diagnostic::warning("f", "m").field.as_deref(), Some("f"));
    assert_eq!(Diagnostic::info("f", "m").severity, Severity::Info);
    assert_eq!(Diagnostic::new(Severity::Error, "m").field, None);
}

#[test]
fn test_host_runs_execute_and_records_everything() {
    let host = TestHost::new().asset(
        TestAsset::new("a1", "image/png", vec![1, 2, 3])
            .name("Maya")
            .kind("character")
            .fields(serde_json::json!({"age": 30})),
    );
    let outputs = host
        .execute::<Tiny>(
            InputBuilder::new()
                .param("count", 2)
                .param("source", ParamValue::asset_ref("a1")),
        )
        .unwrap();
    let text = "hihi [Maya character 3]";
    assert_eq!(outputs.get("text").and_then(Value::as_text), Some(text));
    assert_eq!(
        outputs.get("file"),
        Some(&Value::asset("output-1", "text/plain"))
    );
    assert_eq!(
        host.outputs(),
        vec![WrittenOutput {
            id: "output-1".into(),
            mime: "text/plain".into(),
            bytes: text.as_bytes().to_vec()
        }]
    );
    assert_eq!(host.output("output-1").unwrap().mime, "text/plain");
    assert_eq!(host.logs(), vec![(LogLevel::Info, "prompt hi".to_string())]);
    let fractions: Vec<f32> = host.progress().iter().map(|p| p.0).collect();
    assert_eq!(fractions, [0.25, 0.5, 0.75, 1.0]);
    assert_eq!(host.progress()[0].1, "step 1");

    host.clear_records();
    assert!(host.progress().is_empty() && host.logs().is_empty() && host.outputs().is_empty());

    // An unknown asset is an error the node turns into `failed`.
    let err = host
        .execute::<Tiny>(InputBuilder::new().param("source", ParamValue::asset_ref("zz")))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Failed);
    assert!(
        err.message.contains("no asset with id `zz`"),
        "{}",
        err.message
    );
}

#[test]
fn test_host_cancellation() {
    let now = TestHost::new().cancel_now();
    assert_eq!(
        now.execute::<Tiny>(InputBuilder::new()).unwrap_err(),
        NodeError::cancelled()
    );
    assert!(now.progress().is_empty());

    let later = TestHost::new().cancel_after_progress(2);
    assert_eq!(
        later.execute::<Tiny>(InputBuilder::new()).unwrap_err().code,
        ErrorCode::Cancelled
    );
    assert_eq!(later.progress().len(), 2);
}

#[test]
fn test_host_http_routes_by_origin() {
    let host = TestHost::new().http("http://127.0.0.1:8188/", |req| {
        assert_eq!(req.headers, vec![("x".to_string(), "1".to_string())]);
        Ok(HttpResponse::new(
            200,
            format!("{} {}", req.method, req.url),
        ))
    });
    let out = host
        .execute::<Tiny>(InputBuilder::new().param("loud", true))
        .unwrap();
    assert_eq!(
        out.get("text").and_then(Value::as_text),
        Some("GET http://127.0.0.1:8188/shout")
    );
    assert_eq!(host.http_requests().len(), 1);
    assert_eq!(host.http_requests()[0].url, "http://127.0.0.1:8188/shout");

    // No handler for the origin: unreachable, which the node maps to backend-unavailable.
    let other = TestHost::new().http("http://127.0.0.1:9999", |_| Ok(HttpResponse::new(200, "")));
    let err = other
        .execute::<Tiny>(InputBuilder::new().param("loud", true))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::BackendUnavailable);
    assert_eq!(other.http_requests().len(), 1);
}

#[test]
fn test_host_enforces_capabilities_and_output_limit() {
    let host = TestHost::new().asset(TestAsset::new("a", "text/plain", "x"));
    let out = host.execute::<Greedy>(InputBuilder::new()).unwrap();
    for port in ["read", "write", "fetch"] {
        let msg = out.get(port).and_then(Value::as_text).unwrap();
        assert!(msg.contains("is not declared"), "{port}: {msg}");
    }
    assert!(host.outputs().is_empty());

    let limited = TestHost::new().output_limit(3);
    let err = limited
        .execute::<Tiny>(InputBuilder::new().param("count", 2))
        .unwrap_err();
    assert!(
        err.message.contains("output limit of 3 bytes"),
        "{}",
        err.message
    );
}

#[test]
fn test_host_runs_actions_and_trait_defaults() {
    let host = TestHost::new();
    let input = InputBuilder::new()
        .node_id("n1")
        .param("prompt", "p")
        .graph_node(GraphNode {
            id: "n1-copy".into(),
            type_id: "tiny".into(),
            parent: None,
            label: "Copy".into(),
            params: vec![],
        });
    let patch = host.run_action::<Tiny>("clone", input).unwrap();
    assert_eq!(patch.summary, "updated");
    assert_eq!(patch.upsert_nodes[0].id, "n1-copy");
    assert_eq!(
        patch.upsert_nodes[0].position,
        Some(Position { x: 10.0, y: 20.0 })
    );
    assert_eq!(patch.upsert_edges[0].id, "n1.text->n1-copy.text");
    let err = host
        .run_action::<Tiny>("nope", InputBuilder::new())
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Unsupported);

    assert_eq!(host.describe::<Bare>().type_id, "bare");
    assert_eq!(host.validate::<Bare>(InputBuilder::new()), vec![]);
    let err = host.execute::<Bare>(InputBuilder::new()).unwrap_err();
    assert_eq!(err, NodeError::unsupported("this node does not execute"));
    let err = host
        .run_action::<Bare>("split", InputBuilder::new().build())
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Unsupported);
    assert!(err.message.contains("split"));
}

#[test]
fn progress_is_clamped() {
    struct Wild;
    impl Node for Wild {
        fn describe() -> NodeDescriptor {
            NodeDescriptor::new("wild", "0.1.0", "Wild")
        }
        fn execute(_: NodeInput) -> Result<NodeOutputs, NodeError> {
            host::progress(2.0, "over");
            host::progress(-1.0, "under");
            host::progress(f32::NAN, "nan");
            Ok(NodeOutputs::new())
        }
    }
    let host = TestHost::new();
    host.execute::<Wild>(InputBuilder::new()).unwrap();
    let fractions: Vec<f32> = host.progress().iter().map(|p| p.0).collect();
    assert_eq!(fractions, [1.0, 0.0, 0.0]);
}

#[test]
fn nested_test_hosts_restore_the_outer_one() {
    struct Outer;
    impl Node for Outer {
        fn describe() -> NodeDescriptor {
            NodeDescriptor::new("outer", "0.1.0", "Outer")
        }
        fn execute(_: NodeInput) -> Result<NodeOutputs, NodeError> {
            host::info("before");
            let inner = TestHost::new();
            inner.execute::<Tiny>(InputBuilder::new()).unwrap();
            host::info("after");
            Ok(NodeOutputs::new())
        }
    }
    let host = TestHost::new();
    host.execute::<Outer>(InputBuilder::new()).unwrap();
    let lines: Vec<String> = host.logs().into_iter().map(|l| l.1).collect();
    assert_eq!(lines, ["before", "after"]);
}

#[test]
#[should_panic(expected = "no test host installed")]
fn host_functions_panic_without_a_test_host() {
    host::info("nobody listens");
}
