//! Lossless JSON for what the store keeps: execution requests (a node input plus the plugin
//! that runs it) and take outputs. Tagged values (`{"text": "…"}`), so a number stays a number
//! and an asset stays an asset when read back by any server or worker.
//!
//! Encoding refuses what could not be read back: JSON has no NaN or infinity (serde_json
//! would write `null`), so a non-finite number is an [`EncodeError`], never a stored record
//! that fails every later read.

use anyhow::{Context, bail};
use mdc_runtime::plugin::types::{
    AssetRef, ConnectedValue, NodeInput, NodeOutputs, OutputValue, ParamEntry, ParamValue,
    PortValues, QualityTier, Value,
};
use serde_json::{Value as Json, json};

/// Why something cannot be encoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EncodeError {
    /// A number JSON cannot hold.
    #[error("{at} is {number}, which cannot be stored: only finite numbers can")]
    NotFinite {
        /// What holds the number: `output "depth"`, `parameter "cfg" of node "shot-1"`, …
        at: String,
        /// The number.
        number: f64,
    },
}

/// `number` when it is finite, else an error saying where it was.
fn finite(number: f64, at: &dyn Fn() -> String) -> Result<f64, EncodeError> {
    if number.is_finite() {
        Ok(number)
    } else {
        Err(EncodeError::NotFinite { at: at(), number })
    }
}

/// A value as tagged JSON; refuses a number that is not finite.
pub fn encode_value(value: &Value) -> Result<Json, EncodeError> {
    value_at(value, &|| "a value".to_string())
}

fn value_at(value: &Value, at: &dyn Fn() -> String) -> Result<Json, EncodeError> {
    Ok(match value {
        Value::Text(s) => json!({"text": s}),
        Value::Number(n) => json!({"number": finite(*n, at)?}),
        Value::Integer(n) => json!({"integer": n}),
        Value::Boolean(b) => json!({"boolean": b}),
        Value::Json(s) => json!({"json": s}),
        Value::Asset(a) => json!({"asset": {"id": a.id, "mime": a.mime}}),
    })
}

/// Reads a value written by [`encode_value`].
pub fn decode_value(json: &Json) -> anyhow::Result<Value> {
    let (tag, inner) = single_entry(json)?;
    Ok(match tag {
        "text" => Value::Text(string(inner)?),
        "number" => Value::Number(number(inner)?),
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

/// A parameter value as tagged JSON; refuses a number that is not finite.
pub fn encode_param(value: &ParamValue) -> Result<Json, EncodeError> {
    param_at(value, &|| "a parameter".to_string())
}

fn param_at(value: &ParamValue, at: &dyn Fn() -> String) -> Result<Json, EncodeError> {
    Ok(match value {
        ParamValue::Text(s) => json!({"text": s}),
        ParamValue::Number(n) => json!({"number": finite(*n, at)?}),
        ParamValue::Integer(n) => json!({"integer": n}),
        ParamValue::Boolean(b) => json!({"boolean": b}),
        ParamValue::Choice(s) => json!({"choice": s}),
        ParamValue::AssetRef(s) => json!({"asset_ref": s}),
        ParamValue::Json(s) => json!({"json": s}),
    })
}

/// Reads a parameter value written by [`encode_param`].
pub fn decode_param(json: &Json) -> anyhow::Result<ParamValue> {
    let (tag, inner) = single_entry(json)?;
    Ok(match tag {
        "text" => ParamValue::Text(string(inner)?),
        "number" => ParamValue::Number(number(inner)?),
        "integer" => ParamValue::Integer(inner.as_i64().context("integer")?),
        "boolean" => ParamValue::Boolean(inner.as_bool().context("boolean")?),
        "choice" => ParamValue::Choice(string(inner)?),
        "asset_ref" => ParamValue::AssetRef(string(inner)?),
        "json" => ParamValue::Json(string(inner)?),
        other => bail!("unknown parameter tag {other:?}"),
    })
}

/// A node input as JSON; refuses a number that is not finite.
pub fn encode_input(input: &NodeInput) -> Result<Json, EncodeError> {
    let node = &input.node_id;
    let params = input
        .params
        .iter()
        .map(|p| {
            let at = || format!("parameter {:?} of node {node:?}", p.id);
            Ok(json!({"id": p.id, "value": param_at(&p.value, &at)?}))
        })
        .collect::<Result<Vec<_>, EncodeError>>()?;
    let inputs = input
        .inputs
        .iter()
        .map(|port| {
            let values = port
                .values
                .iter()
                .map(|c| {
                    let at = || {
                        format!(
                            "input {:?} of node {node:?} (from {}.{})",
                            port.port, c.source_node, c.source_port
                        )
                    };
                    Ok(json!({
                        "source_node": c.source_node, "source_port": c.source_port,
                        "value": value_at(&c.value, &at)?,
                    }))
                })
                .collect::<Result<Vec<_>, EncodeError>>()?;
            Ok(json!({"port": port.port, "values": values}))
        })
        .collect::<Result<Vec<_>, EncodeError>>()?;
    Ok(json!({
        "node_id": input.node_id,
        "params": params,
        "inputs": inputs,
        "tier": input.tier.id(),
        "seed": input.seed,
    }))
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

/// Node outputs as JSON; refuses a number that is not finite.
pub fn encode_outputs(outputs: &NodeOutputs) -> Result<Json, EncodeError> {
    let values = outputs
        .values
        .iter()
        .map(|v| {
            let at = || format!("output {:?}", v.port);
            Ok(json!({"port": v.port, "value": value_at(&v.value, &at)?}))
        })
        .collect::<Result<Vec<_>, EncodeError>>()?;
    Ok(json!({"summary": outputs.summary, "values": values}))
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

fn number(json: &Json) -> anyhow::Result<f64> {
    json.as_f64()
        .with_context(|| format!("expected a number, got {json}"))
}

fn array(json: &Json) -> anyhow::Result<&Vec<Json>> {
    json.as_array()
        .with_context(|| format!("expected a list, got {json}"))
}

/// A graph snapshot as JSON (what `graph_states` keeps); refuses a parameter number that is
/// not finite.
pub fn encode_graph(graph: &mdc_runtime::graph::Graph) -> Result<Json, EncodeError> {
    let nodes = graph
        .nodes()
        .map(|node| {
            let params = node
                .params
                .iter()
                .map(|(id, value)| {
                    let at = || format!("parameter {id:?} of node {:?}", node.id.as_str());
                    Ok((id.clone(), param_at(value, &at)?))
                })
                .collect::<Result<serde_json::Map<_, _>, EncodeError>>()?;
            Ok(json!({
                "id": node.id.as_str(),
                "type": node.type_id,
                "version": node.version,
                "position": {"x": node.position.x, "y": node.position.y},
                "parent": node.parent.as_ref().map(|p| p.as_str()),
                "label": node.label,
                "params": params,
                "activeTake": node.active_take,
            }))
        })
        .collect::<Result<Vec<_>, EncodeError>>()?;
    Ok(json!({
        "nodes": nodes,
        "edges": graph.edges().map(|edge| json!({
            "id": edge.id.as_str(),
            "source": edge.source.as_str(),
            "sourceHandle": edge.source_port,
            "target": edge.target.as_str(),
            "targetHandle": edge.target_port,
        })).collect::<Vec<_>>(),
    }))
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
        assert_eq!(decode_input(&encode_input(&input).unwrap()).unwrap(), input);
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
        let decoded = decode_graph(&encode_graph(&graph).unwrap()).unwrap();
        assert!(mdc_runtime::graph::diff(&graph, &decoded).is_empty());
        assert_eq!(
            decoded.node("maya").unwrap().active_take.as_deref(),
            Some("take-7")
        );
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
            let err = encode_outputs(&outputs).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "output \"depth\" is {number}, which cannot be stored: only finite numbers can"
                )
            );
            assert!(encode_value(&Value::Number(number)).is_err());
            assert!(encode_param(&ParamValue::Number(number)).is_err());
            let input = NodeInput {
                node_id: "shot-1".into(),
                params: vec![ParamEntry {
                    id: "cfg".into(),
                    value: ParamValue::Number(number),
                }],
                inputs: vec![],
                tier: QualityTier::Low,
                seed: 0,
            };
            let err = encode_input(&input).unwrap_err().to_string();
            assert!(
                err.starts_with("parameter \"cfg\" of node \"shot-1\" is "),
                "{err}"
            );
            let graph = mdc_runtime::graph::Graph::from_parts(
                [mdc_runtime::graph::Node::new("shot-1", "shot", "0.1.0")
                    .with_param("cfg", ParamValue::Number(number))],
                [],
            );
            assert!(encode_graph(&graph).is_err());
        }
        let finite = encode_value(&Value::Number(-0.5)).unwrap();
        assert_eq!(decode_value(&finite).unwrap(), Value::Number(-0.5));
    }

    #[test]
    fn refuses_malformed_records() {
        assert!(
            decode_value(&json!({"number": null}))
                .unwrap_err()
                .to_string()
                .contains("expected a number, got null")
        );
        assert!(decode_value(&json!({"text": 1})).is_err());
        assert!(decode_value(&json!({"a": 1, "b": 2})).is_err());
        assert!(decode_input(&json!({"node_id": "x"})).is_err());
    }
}
