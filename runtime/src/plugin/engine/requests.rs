//! Version-independent requests to a plugin's exports and their answers.

use crate::plugin::types::{
    ActionInput, Diagnostic, GraphPatch, NodeDescriptor, NodeError, NodeInput, NodeOutputs,
};

/// A call of one export.
#[derive(Debug, Clone)]
pub enum Request {
    /// `describe()`.
    Describe,
    /// `validate(input)`.
    Validate(NodeInput),
    /// `execute(input)`.
    Execute(NodeInput),
    /// `run-action(name, input)`.
    RunAction(String, ActionInput),
}

/// The answer of one export.
#[derive(Debug, Clone)]
pub enum Response {
    /// From `describe`.
    Describe(NodeDescriptor),
    /// From `validate`.
    Validate(Vec<Diagnostic>),
    /// From `execute`.
    Execute(Result<NodeOutputs, NodeError>),
    /// From `run-action`.
    RunAction(Result<GraphPatch, NodeError>),
}
