//! Parameters and connected inputs given on the command line as JSON.

use std::path::PathBuf;

use anyhow::{Context, bail};
use mdc_runtime::plugin::types::{
    AssetRef, ConnectedValue, NodeDescriptor, ParamEntry, ParamType, ParamValue, PortValues, Value,
};
use serde_json::Value as Json;

use crate::local_services::LocalAssets;

/// Converts `{"prompt": "…", "steps": 20}` into typed parameters, defaults applied.
pub fn params_from_json(
    descriptor: &NodeDescriptor,
    json: &Json,
) -> anyhow::Result<Vec<ParamEntry>> {
    let Json::Object(map) = json else {
        bail!("--params must be a JSON object like {{\"prompt\": \"…\"}}")
    };
    let mut given = Vec::new();
    for (id, value) in map {
        let Some(param) = descriptor.param(id) else {
            let known: Vec<&str> = descriptor.params.iter().map(|p| p.id.as_str()).collect();
            bail!(
                "unknown parameter {id:?}; {} has: {}",
                descriptor.type_id,
                known.join(", ")
            );
        };
        let value =
            param_value(&param.param_type, value).with_context(|| format!("parameter {id:?}"))?;
        given.push(ParamEntry {
            id: id.clone(),
            value,
        });
    }
    Ok(descriptor.params_with_defaults(given))
}

fn param_value(param_type: &ParamType, json: &Json) -> anyhow::Result<ParamValue> {
    Ok(match (param_type, json) {
        (ParamType::Text { .. }, Json::String(s)) => ParamValue::Text(s.clone()),
        (ParamType::Number(_), Json::Number(n)) => {
            ParamValue::Number(n.as_f64().context("not a number")?)
        }
        (ParamType::Integer(_), Json::Number(n)) => {
            ParamValue::Integer(n.as_i64().context("expected a whole number")?)
        }
        (ParamType::Boolean, Json::Bool(b)) => ParamValue::Boolean(*b),
        (ParamType::Choice(_), Json::String(s)) => ParamValue::Choice(s.clone()),
        (ParamType::AssetRef { .. }, Json::String(s)) => ParamValue::AssetRef(s.clone()),
        (ParamType::Json, json) => ParamValue::Json(json.to_string()),
        (expected, got) => bail!("expected {}, got {got}", describe_type(expected)),
    })
}

fn describe_type(param_type: &ParamType) -> &'static str {
    match param_type {
        ParamType::Text { .. } => "a string",
        ParamType::Number(_) => "a number",
        ParamType::Integer(_) => "a whole number",
        ParamType::Boolean => "true or false",
        ParamType::Choice(_) => "a string naming an option",
        ParamType::AssetRef { .. } => "an asset id string",
        ParamType::Json => "JSON",
    }
}

/// Converts `{"characters": [{"json": {...}}, …], "image": {"asset": "ref.png"}}` into port
/// values. Strings, numbers and booleans are plain values; `{"asset": PATH}` registers a
/// local file as an asset; `{"json": …}` and any other object or array are JSON values.
pub fn inputs_from_json(
    descriptor: &NodeDescriptor,
    json: &Json,
    assets: &LocalAssets,
) -> anyhow::Result<Vec<PortValues>> {
    let Json::Object(map) = json else {
        bail!("--inputs must be a JSON object keyed by input port id")
    };
    let mut ports = Vec::new();
    for (port_id, given) in map {
        if descriptor.input(port_id).is_none() {
            let known: Vec<&str> = descriptor.inputs.iter().map(|p| p.id.as_str()).collect();
            bail!(
                "unknown input port {port_id:?}; {} has: {}",
                descriptor.type_id,
                known.join(", ")
            );
        }
        let items: Vec<&Json> = match given {
            Json::Array(items) => items.iter().collect(),
            single => vec![single],
        };
        let mut values = Vec::new();
        for (index, item) in items.into_iter().enumerate() {
            let value = connected_value(item, assets)
                .with_context(|| format!("input {port_id:?} item {index}"))?;
            values.push(ConnectedValue {
                source_node: "cli".into(),
                source_port: format!("{port_id}-{index}"),
                value,
            });
        }
        ports.push(PortValues {
            port: port_id.clone(),
            values,
        });
    }
    Ok(ports)
}

fn connected_value(json: &Json, assets: &LocalAssets) -> anyhow::Result<Value> {
    Ok(match json {
        Json::String(s) => Value::Text(s.clone()),
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Number(n.as_f64().unwrap_or_default()),
        },
        Json::Object(map) if map.len() == 1 && map.contains_key("asset") => {
            let Some(Json::String(path)) = map.get("asset") else {
                bail!("\"asset\" takes a file path")
            };
            let AssetRef { id, mime } = assets.add_file(PathBuf::from(path))?;
            Value::Asset(AssetRef { id, mime })
        }
        Json::Object(map) if map.len() == 1 && map.contains_key("json") => {
            Value::Json(map["json"].to_string())
        }
        Json::Null => bail!("null is not a value"),
        other => Value::Json(other.to_string()),
    })
}
