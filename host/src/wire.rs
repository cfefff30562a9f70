//! Lossless JSON for what the store keeps: execution requests (a node input plus the plugin
//! that runs it) and take outputs. Tagged values (`{"text": "…"}`), so a number stays a number
//! and an asset stays an asset when read back by any server or worker.

use anyhow::{Context, bail};
use mdc_runtime::plugin::types::{
    AssetRef, ConnectedValue, NodeInput, NodeOutputs, OutputValue, ParamEntry, ParamValue,
    PortValues, QualityTier, Value,
};
use serde_json::{Value as Json, json};

/// A value as tagged JSON.
pub fn encode_value(value: &Value) -> Json {
    match value {
        Value::Text(s) => json!({"text": s}),
        Value::Number(n) => json!({"number": n}),
        Value::Integer(n) => json!({"integer": n}),
        Value::Boolean(b) => json!({"boolean": b}),
        Value::Json(s) => json!({"json": s}),
        Value::Asset(a) => json!({"asset": {"id": a.id, "mime": a.mime}}),
    }
}

/// Reads a value written by [`encode_value`].
pub fn decode_value(json: &Json) -> anyhow::Result<Value> {
    let (tag, inner) = single_entry(json)?;
    Ok(match tag {
        "text" => Value::Text(string(inner)?),
        "number" => Value::Number(inner.as_f64().context("number")?),
        "integer" => Value::Integer(inner.as_i64().context("integer")?),
        "boolean" => Value::Boolean(inner.as_bool().context("boolean")?),
        "json" => Value::Json(string(inner)?),
        "asset" => Value::Asset(AssetRef {
            id: string(&inner["id"])?,
            mime: string(&inner["mime"])?,
        }),
        other => bail!("unknown value tag {other:?}"),
    })
}

/// A parameter value as tagged JSON.
pub fn encode_param(value: &ParamValue) -> Json {
    match value {
        ParamValue::Text(s) => json!({"text": s}),
        ParamValue::Number(n) => json!({"number": n}),
        ParamValue::Integer(n) => json!({"integer": n}),
        ParamValue::Boolean(b) => json!({"boolean": b}),
        ParamValue::Choice(s) => json!({"choice": s}),
        ParamValue::AssetRef(s) => json!({"asset_ref": s}),
        ParamValue::Json(s) => json!({"json": s}),
    }
}

/// Reads a parameter value written by [`encode_param`].
pub fn decode_param(json: &Json) -> anyhow::Result<ParamValue> {
    let (tag, inner) = single_entry(json)?;
    Ok(match tag {
        "text" => ParamValue::Text(string(inner)?),
        "number" => ParamValue::Number(inner.as_f64().context("number")?),
        "integer" => ParamValue::Integer(inner.as_i64().context("integer")?),
        "boolean" => ParamValue::Boolean(inner.as_bool().context("boolean")?),
        "choice" => ParamValue::Choice(string(inner)?),
        "asset_ref" => ParamValue::AssetRef(string(inner)?),
        "json" => ParamValue::Json(string(inner)?),
        other => bail!("unknown parameter tag {other:?}"),
    })
}

/// A node input as JSON.
pub fn encode_input(input: &NodeInput) -> Json {
    json!({
        "node_id": input.node_id,
        "params": input.params.iter().map(|p| json!({"id": p.id, "value": encode_param(&p.value)})).collect::<Vec<_>>(),
        "inputs": input.inputs.iter().map(|port| json!({
            "port": port.port,
            "values": port.values.iter().map(|c| json!({
                "source_node": c.source_node, "source_port": c.source_port, "value": encode_value(&c.value),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "tier": input.tier.id(),
        "seed": input.seed,
    })
}

/// Reads a node input written by [`encode_input`].
pub fn decode_input(json: &Json) -> anyhow::Result<NodeInput> {
    let params = array(&json["params"])?
        .iter()
        .map(|p| {
            Ok(ParamEntry {
                id: string(&p["id"])?,
                value: decode_param(&p["value"])?,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let inputs = array(&json["inputs"])?
        .iter()
        .map(|port| {
            let values = array(&port["values"])?
                .iter()
                .map(|c| {
                    Ok(ConnectedValue {
                        source_node: string(&c["source_node"])?,
                        source_port: string(&c["source_port"])?,
                        value: decode_value(&c["value"])?,
                    })
                })
                .collect::<anyhow::Result<_>>()?;
            Ok(PortValues {
                port: string(&port["port"])?,
                values,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let tier = string(&json["tier"])?;
    Ok(NodeInput {
        node_id: string(&json["node_id"])?,
        params,
        inputs,
        tier: QualityTier::from_id(&tier).with_context(|| format!("unknown tier {tier:?}"))?,
        seed: json["seed"].as_u64().context("seed")?,
    })
}

/// Node outputs as JSON.
pub fn encode_outputs(outputs: &NodeOutputs) -> Json {
    json!({
        "summary": outputs.summary,
        "values": outputs.values.iter().map(|v| json!({"port": v.port, "value": encode_value(&v.value)})).collect::<Vec<_>>(),
    })
}

/// Reads node outputs written by [`encode_outputs`].
pub fn decode_outputs(json: &Json) -> anyhow::Result<NodeOutputs> {
    let values = array(&json["values"])?
        .iter()
        .map(|v| {
            Ok(OutputValue {
                port: string(&v["port"])?,
                value: decode_value(&v["value"])?,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(NodeOutputs {
        values,
        summary: string(&json["summary"])?,
    })
}

fn single_entry(json: &Json) -> anyhow::Result<(&str, &Json)> {
    match json.as_object() {
        Some(map) if map.len() == 1 => {
            let (tag, inner) = map.iter().next().expect("one entry");
            Ok((tag.as_str(), inner))
        }
        _ => bail!("expected a one-key object, got {json}"),
    }
}

fn string(json: &Json) -> anyhow::Result<String> {
    json.as_str()
        .map(str::to_string)
        .with_context(|| format!("expected a string, got {json}"))
}

fn array(json: &Json) -> anyhow::Result<&Vec<Json>> {
    json.as_array()
        .with_context(|| format!("expected a list, got {json}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_and_outputs_round_trip() {
        let input = NodeInput {
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
        };
        assert_eq!(decode_input(&encode_input(&input)).unwrap(), input);
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
        assert_eq!(decode_outputs(&encode_outputs(&outputs)).unwrap(), outputs);
    }

    #[test]
    fn graphs_round_trip() {
        use mdc_runtime::graph::{Edge, Graph, Node};
        let graph = Graph::from_parts(
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
        );
        let decoded = decode_graph(&encode_graph(&graph)).unwrap();
        assert!(mdc_runtime::graph::diff(&graph, &decoded).is_empty());
        assert_eq!(
            decoded.node("maya").unwrap().active_take.as_deref(),
            Some("take-7")
        );
    }

    #[test]
    fn refuses_malformed_records() {
        assert!(decode_value(&json!({"text": 1})).is_err());
        assert!(decode_value(&json!({"a": 1, "b": 2})).is_err());
        assert!(decode_input(&json!({"node_id": "x"})).is_err());
    }
}

/// A graph snapshot as JSON (what `graph_states` keeps).
pub fn encode_graph(graph: &mdc_runtime::graph::Graph) -> Json {
    json!({
        "nodes": graph.nodes().map(|node| json!({
            "id": node.id.as_str(),
            "type": node.type_id,
            "version": node.version,
            "position": {"x": node.position.x, "y": node.position.y},
            "parent": node.parent.as_ref().map(|p| p.as_str()),
            "label": node.label,
            "params": node.params.iter().map(|(id, value)| (id.clone(), encode_param(value))).collect::<serde_json::Map<_, _>>(),
            "activeTake": node.active_take,
        })).collect::<Vec<_>>(),
        "edges": graph.edges().map(|edge| json!({
            "id": edge.id.as_str(),
            "source": edge.source.as_str(),
            "sourceHandle": edge.source_port,
            "target": edge.target.as_str(),
            "targetHandle": edge.target_port,
        })).collect::<Vec<_>>(),
    })
}

/// Reads a graph snapshot written by [`encode_graph`].
pub fn decode_graph(json: &Json) -> anyhow::Result<mdc_runtime::graph::Graph> {
    use mdc_runtime::graph::{Edge, Graph, Node};
    let mut nodes = Vec::new();
    for node in array(&json["nodes"])? {
        let mut decoded = Node::new(
            string(&node["id"])?,
            string(&node["type"])?,
            string(&node["version"])?,
        )
        .with_label(string(&node["label"])?)
        .with_position(
            node["position"]["x"].as_f64().unwrap_or_default(),
            node["position"]["y"].as_f64().unwrap_or_default(),
        );
        if let Some(parent) = node["parent"].as_str() {
            decoded = decoded.with_parent(parent);
        }
        if let Some(take) = node["activeTake"].as_str() {
            decoded = decoded.with_active_take(take);
        }
        if let Some(params) = node["params"].as_object() {
            for (id, value) in params {
                decoded = decoded.with_param(id.clone(), decode_param(value)?);
            }
        }
        nodes.push(decoded);
    }
    let mut edges = Vec::new();
    for edge in array(&json["edges"])? {
        edges.push(Edge::new(
            string(&edge["id"])?,
            (string(&edge["source"])?, string(&edge["sourceHandle"])?),
            (string(&edge["target"])?, string(&edge["targetHandle"])?),
        ));
    }
    Ok(Graph::from_parts(nodes, edges))
}
