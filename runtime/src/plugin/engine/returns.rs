//! Checks on what a plugin hands back, at the boundary where it enters the host: every
//! number finite, every text and JSON value within its size, JSON well-formed, media ports
//! carrying assets (and only they), asset ids limited to those this call wrote, read or was
//! given, counts bounded. A value that breaks a rule fails the call with a
//! [`Failure::Contract`] naming the rule, so nothing the host cannot store or read back
//! ever reaches it.

use super::requests::{Request, Response};
use super::state::StoreState;
use crate::plugin::error::Failure;
use crate::plugin::types::{
    Diagnostic, GraphPatch, NodeError, NodeInput, NodeOutputs, ParamValue, Value,
};

/// Most diagnostics one `validate` may return.
const MAX_DIAGNOSTICS: usize = 1024;
/// Most nodes and edges (upserted plus removed) one graph patch may carry.
const MAX_PATCH_ITEMS: usize = 200_000;

/// Port kinds whose values are files, carried as assets.
const MEDIA_KINDS: &[&str] = &["image", "video", "audio"];

/// Remembers the asset ids the request hands the plugin: it may return them.
pub fn know_request_assets(state: &mut StoreState, request: &Request) {
    let input = match request {
        Request::Describe => return,
        Request::Validate(input) | Request::Execute(input) => input,
        Request::RunAction(_, action) => &action.node,
    };
    let ids = input_asset_ids(input).map(str::to_string);
    state.known_assets.extend(ids);
}

fn input_asset_ids(input: &NodeInput) -> impl Iterator<Item = &str> {
    let params = input.params.iter().filter_map(|entry| match &entry.value {
        ParamValue::AssetRef(id) => Some(id.as_str()),
        _ => None,
    });
    let connected = input
        .inputs
        .iter()
        .flat_map(|port| port.values.iter())
        .filter_map(|connected| match &connected.value {
            Value::Asset(asset) => Some(asset.id.as_str()),
            _ => None,
        });
    params.chain(connected)
}

/// Checks an export's answer; the error says which rule it broke.
pub fn check_response(response: &Response, state: &StoreState) -> Result<(), Failure> {
    let checker = Checker { state };
    let checked = match response {
        Response::Describe(_) => Ok(()),
        Response::Validate(diagnostics) => checker.diagnostics(diagnostics),
        Response::Execute(Ok(outputs)) => checker.outputs(outputs),
        Response::RunAction(Ok(patch)) => checker.patch(patch),
        Response::Execute(Err(error)) | Response::RunAction(Err(error)) => checker.error(error),
    };
    checked.map_err(Failure::Contract)
}

struct Checker<'a> {
    state: &'a StoreState,
}

impl Checker<'_> {
    fn text(&self, what: &str, text: &str) -> Result<(), String> {
        let limit = self.state.limits.value_bytes;
        if text.len() > limit {
            return Err(format!(
                "returned {what} of {} bytes, past the limit of {limit} bytes",
                text.len()
            ));
        }
        Ok(())
    }

    fn outputs(&self, outputs: &NodeOutputs) -> Result<(), String> {
        let limit = self.state.limits.max_outputs as usize;
        if outputs.values.len() > limit {
            return Err(format!(
                "returned {} output values, past the limit of {limit}",
                outputs.values.len()
            ));
        }
        self.text("a summary", &outputs.summary)?;
        let descriptor = self
            .state
            .descriptor
            .as_deref()
            .expect("execute runs after describe");
        for output in &outputs.values {
            let Some(port) = descriptor.output(&output.port) else {
                return Err(format!(
                    "returned a value on output port {:?}, which it does not declare",
                    output.port
                ));
            };
            let on = format!("on output port {:?}", output.port);
            let media = MEDIA_KINDS.contains(&port.kind.as_str());
            match &output.value {
                Value::Asset(asset) => {
                    if !media {
                        return Err(format!(
                            "returned an asset {on}, whose kind {:?} carries values, not files",
                            port.kind
                        ));
                    }
                    if !self.state.known_assets.contains(&asset.id) {
                        return Err(format!(
                            "returned asset {:?} {on}, which it neither wrote, read nor was given",
                            asset.id
                        ));
                    }
                }
                _ if media => {
                    return Err(format!(
                        "returned a plain value {on}, whose kind {:?} needs an asset it wrote",
                        port.kind
                    ));
                }
                Value::Number(number) if !number.is_finite() => {
                    return Err(format!(
                        "returned {number} {on}, which is not a finite number"
                    ));
                }
                Value::Text(text) => self.text(&format!("text {on}"), text)?,
                Value::Json(json) => self.json(&on, json)?,
                Value::Number(_) | Value::Integer(_) | Value::Boolean(_) => {}
            }
        }
        Ok(())
    }

    fn json(&self, on: &str, json: &str) -> Result<(), String> {
        self.text(&format!("JSON {on}"), json)?;
        serde_json::from_str::<serde_json::Value>(json)
            .map(drop)
            .map_err(|err| format!("returned JSON {on} that does not parse: {err}"))
    }

    fn param(&self, what: &str, value: &ParamValue) -> Result<(), String> {
        match value {
            ParamValue::Number(number) if !number.is_finite() => Err(format!(
                "returned {number} as {what}, which is not a finite number"
            )),
            ParamValue::Text(text)
            | ParamValue::Choice(text)
            | ParamValue::AssetRef(text)
            | ParamValue::Json(text) => self.text(what, text),
            _ => Ok(()),
        }
    }

    fn diagnostics(&self, diagnostics: &[Diagnostic]) -> Result<(), String> {
        if diagnostics.len() > MAX_DIAGNOSTICS {
            return Err(format!(
                "returned {} diagnostics, past the limit of {MAX_DIAGNOSTICS}",
                diagnostics.len()
            ));
        }
        let limit = self.state.limits.message_bytes;
        for diagnostic in diagnostics {
            if diagnostic.message.len() > limit {
                return Err(format!(
                    "returned a diagnostic of {} bytes, past the limit of {limit} bytes",
                    diagnostic.message.len()
                ));
            }
        }
        Ok(())
    }

    fn patch(&self, patch: &GraphPatch) -> Result<(), String> {
        let items = patch.upsert_nodes.len()
            + patch.remove_nodes.len()
            + patch.upsert_edges.len()
            + patch.remove_edges.len();
        if items > MAX_PATCH_ITEMS {
            return Err(format!(
                "returned a graph patch of {items} nodes and edges, past the limit of {MAX_PATCH_ITEMS}"
            ));
        }
        self.text("a patch summary", &patch.summary)?;
        let mut bytes = patch.summary.len();
        for node in &patch.upsert_nodes {
            if let Some(position) = &node.position
                && !(position.x.is_finite() && position.y.is_finite())
            {
                return Err(format!(
                    "returned node {:?} at a position that is not finite",
                    node.id
                ));
            }
            for entry in &node.params {
                self.param(
                    &format!("parameter {:?} of node {:?}", entry.id, node.id),
                    &entry.value,
                )?;
                bytes += entry.id.len() + param_len(&entry.value);
            }
            bytes += node.id.len() + node.type_id.len() + node.label.len();
        }
        let limit = self.state.limits.value_bytes;
        if bytes > limit {
            return Err(format!(
                "returned a graph patch of {bytes} bytes of text, past the limit of {limit} bytes"
            ));
        }
        Ok(())
    }

    fn error(&self, error: &NodeError) -> Result<(), String> {
        self.text("an error message", &error.message)
    }
}

fn param_len(value: &ParamValue) -> usize {
    match value {
        ParamValue::Text(text)
        | ParamValue::Choice(text)
        | ParamValue::AssetRef(text)
        | ParamValue::Json(text) => text.len(),
        _ => 8,
    }
}
