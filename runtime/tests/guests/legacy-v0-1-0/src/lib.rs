//! Minimal test node built with wit-bindgen directly (no SDK) against the frozen released contract (wit/since_v0.1.0), proving hosts keep loading 0.1.0 components.

wit_bindgen::generate!({
    path: "../../../../wit/since_v0.1.0",
    world: "plugin",
});

use exports::moviedirector::node::node::{
    ActionInput, Diagnostic, GraphPatch, Guest, NodeDescriptor, NodeError, NodeInput, NodeOutputs,
};
use moviedirector::node::types::{Cardinality, ErrorCode, OutputValue, Port, Value};

/// The exported node.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
struct Component;

impl Guest for Component {
    fn describe() -> NodeDescriptor {
        NodeDescriptor {
            type_id: "legacy".into(),
            version: "0.1.0".into(),
            display_name: "Legacy (contract 0.1.0)".into(),
            category: "Testing".into(),
            icon: String::new(),
            docs: String::new(),
            inputs: Vec::new(),
            outputs: vec![Port {
                id: "text".into(),
                label: "Text".into(),
                kind: "text".into(),
                cardinality: Cardinality::One,
                required: false,
                help: String::new(),
            }],
            params: Vec::new(),
            tiers: Vec::new(),
            actions: Vec::new(),
            capabilities: Vec::new(),
        }
    }

    fn validate(_input: NodeInput) -> Vec<Diagnostic> {
        Vec::new()
    }

    fn execute(_input: NodeInput) -> Result<NodeOutputs, NodeError> {
        Ok(NodeOutputs {
            values: vec![OutputValue {
                port: "text".into(),
                value: Value::Text("legacy ok".into()),
            }],
            summary: "legacy ok".into(),
        })
    }

    fn run_action(action: String, _input: ActionInput) -> Result<GraphPatch, NodeError> {
        Err(NodeError {
            code: ErrorCode::Unsupported,
            message: format!("no action `{action}`"),
        })
    }
}

// Native shared libraries cannot carry the contract's export names, so only wasm exports them.
#[cfg(target_arch = "wasm32")]
export!(Component);
