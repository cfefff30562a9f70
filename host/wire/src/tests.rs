use mdc_runtime::graph::{Edge, Graph, Node, diff};
use mdc_runtime::plugin::types::{
    AssetRef, ConnectedValue, NodeInput, NodeOutputs, OutputValue, ParamEntry, ParamValue,
    PortValues, QualityTier, Value,
};

use super::*;

fn input() -> NodeInput {
    NodeInput {
        node_id: "shot-1".into(),
        params: vec![
            ParamEntry {
                id: "prompt".into(),
                value: ParamValue::Text("dawn".into()),
            },
            ParamEntry {
                id: "steps".into(),
                value: ParamValue::Integer(20),
            },
            ParamEntry {
                id: "cfg".into(),
                value: ParamValue::Number(7.5),
            },
            ParamEntry {
                id: "look".into(),
                value: ParamValue::Choice("warm".into()),
            },
        ],
        inputs: vec![PortValues {
            port: "characters".into(),
            values: vec![ConnectedValue {
                source_node: "maya".into(),
                source_port: "character".into(),
                value: Value::Asset(AssetRef {
                    id: "a1".into(),
                    mime: "image/png".into(),
                }),
            }],
        }],
        tier: QualityTier::High,
        seed: u64::MAX,
    }
}

fn build() -> PluginBuild {
    PluginBuild {
        type_id: "shot".into(),
        version: "0.1.0".into(),
        digest: "sha256:ab".into(),
    }
}

#[test]
fn inputs_requests_and_outputs_round_trip() {
    assert_eq!(
        decode_input(&encode_input(&input()).unwrap()).unwrap(),
        input()
    );
    let request = ExecutionRequest::new(build(), &input()).unwrap();
    let read = ExecutionRequest::from_json(&request.to_json()).unwrap();
    assert_eq!(read.plugin, build());
    assert_eq!(read.into_input(), input());
    let outputs = NodeOutputs {
        values: vec![
            OutputValue {
                port: "image".into(),
                value: Value::Integer(3),
            },
            OutputValue {
                port: "meta".into(),
                value: Value::Json("{\"a\":1}".into()),
            },
        ],
        summary: "2 values".into(),
    };
    assert_eq!(
        decode_outputs(&encode_outputs(&outputs).unwrap()).unwrap(),
        outputs
    );
}

fn graph() -> Graph {
    Graph::from_parts(
        [
            Node::new("scene-1", "subflow", "0.1.0").with_label("1 · INT. HARBOUR"),
            Node::new("shot-1", "shot", "0.1.0")
                .with_parent("scene-1")
                .with_position(10.0, -4.5)
                .with_param("prompt", ParamValue::Text("fog".into())),
            Node::new("maya", "character", "0.1.0").with_active_take("take-7"),
        ],
        [Edge::new(
            "maya--shot-1",
            ("maya", "character"),
            ("shot-1", "characters"),
        )],
    )
}

#[test]
fn graphs_round_trip() {
    let decoded = decode_graph(&encode_graph(&graph()).unwrap()).unwrap();
    assert!(diff(&graph(), &decoded).is_empty());
    assert_eq!(
        decoded.node("maya").unwrap().active_take.as_deref(),
        Some("take-7")
    );
}

/// Records exactly as 0.2.0 stored them (its hand-written encoder, keys in its order).
#[test]
fn records_written_by_0_2_0_are_read() {
    let request = r#"{"input":{"inputs":[{"port":"characters","values":[{"source_node":"maya","source_port":"character","value":{"asset":{"id":"a1","mime":"image/png"}}}]}],"node_id":"shot-1","params":[{"id":"prompt","value":{"text":"dawn"}},{"id":"steps","value":{"integer":20}},{"id":"cfg","value":{"number":7.5}},{"id":"look","value":{"choice":"warm"}}],"seed":18446744073709551615,"tier":"high"},"plugin":{"digest":"sha256:ab","type":"shot","version":"0.1.0"}}"#;
    let read = ExecutionRequest::from_json(request).unwrap();
    assert_eq!(read.plugin, build());
    assert_eq!(read.into_input(), input());

    let outputs = r#"{"summary":"a frame","values":[{"port":"image","value":{"asset":{"id":"o1","mime":"image/png"}}},{"port":"n","value":{"number":-0.5}},{"port":"ok","value":{"boolean":true}}]}"#;
    let read = decode_outputs(outputs).unwrap();
    assert_eq!(read.summary, "a frame");
    assert_eq!(read.values[1].value, Value::Number(-0.5));
    assert_eq!(read.values[2].value, Value::Boolean(true));

    let graph_json = r#"{"edges":[{"id":"maya--shot-1","source":"maya","sourceHandle":"character","target":"shot-1","targetHandle":"characters"}],"nodes":[{"activeTake":null,"id":"scene-1","label":"1 · INT. HARBOUR","params":{},"parent":null,"position":{"x":0.0,"y":0.0},"type":"subflow","version":"0.1.0"},{"activeTake":null,"id":"shot-1","label":"","params":{"prompt":{"text":"fog"}},"parent":"scene-1","position":{"x":10.0,"y":-4.5},"type":"shot","version":"0.1.0"},{"activeTake":"take-7","id":"maya","label":"","params":{},"parent":null,"position":{"x":0.0,"y":0.0},"type":"character","version":"0.1.0"}]}"#;
    assert!(diff(&graph(), &decode_graph(graph_json).unwrap()).is_empty());
}

#[test]
fn numbers_that_cannot_be_read_back_are_refused() {
    for number in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let outputs = NodeOutputs {
            values: vec![OutputValue {
                port: "depth".into(),
                value: Value::Number(number),
            }],
            summary: String::new(),
        };
        assert_eq!(
            encode_outputs(&outputs).unwrap_err().to_string(),
            format!(
                "output \"depth\" is {number}, which cannot be stored: only finite numbers can"
            )
        );
        assert!(ValueRecord::try_from(&Value::Number(number)).is_err());
        assert!(ParamRecord::try_from(&ParamValue::Number(number)).is_err());
        let mut bad = input();
        bad.params[2].value = ParamValue::Number(number);
        let err = encode_input(&bad).unwrap_err().to_string();
        assert!(
            err.starts_with("parameter \"cfg\" of node \"shot-1\" is "),
            "{err}"
        );
        assert!(ExecutionRequest::new(build(), &bad).is_err());
        let graph = Graph::from_parts(
            [Node::new("shot-1", "shot", "0.1.0").with_param("cfg", ParamValue::Number(number))],
            [],
        );
        assert!(encode_graph(&graph).is_err());
        let graph = Graph::from_parts(
            [Node::new("shot-1", "shot", "0.1.0").with_position(number, 0.0)],
            [],
        );
        let err = encode_graph(&graph).unwrap_err().to_string();
        assert!(
            err.starts_with("the position of node \"shot-1\" is "),
            "{err}"
        );
    }
}

#[test]
fn malformed_records_are_refused_with_what_was_read() {
    let err = decode_outputs(r#"{"summary":"","values":[{"port":"p","value":{"number":null}}]}"#)
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("a take's outputs cannot be read: "),
        "{err}"
    );
    for bad in [
        r#"{"summary":"","values":[{"port":"p","value":{"text":1}}]}"#,
        r#"{"summary":"","values":[{"port":"p","value":{"text":"a","integer":2}}]}"#,
        r#"{"summary":"","values":[{"port":"p","value":{"colour":"red"}}]}"#,
        r#"{"values":[]}"#,
        "not json",
    ] {
        assert!(decode_outputs(bad).is_err(), "{bad}");
    }
    assert!(decode_input(r#"{"node_id": "x"}"#).is_err());
    assert!(
        decode_input(
            &encode_input(&input())
                .unwrap()
                .replace("\"high\"", "\"ultra\"")
        )
        .is_err()
    );
    assert!(decode_graph(r#"{"nodes":[{"id":"a"}],"edges":[]}"#).is_err());
    assert!(ExecutionRequest::from_json(r#"{"input":{}}"#).is_err());
}
