//! The contract's data types under friendly names.
//!
//! They are the types generated from `moviedirector:node@0.2.0`; this crate adds
//! builders and accessors to them (see each type). Field names follow the WIT
//! record fields in snake case.

pub use crate::bindings::moviedirector::node::types::{
    Action, ActionInput, AssetRef, Cardinality, ChoiceOption, ConnectedValue, Diagnostic,
    ErrorCode, GraphNode, GraphPatch, IntegerRange, NodeDescriptor, NodeError, NodeInput,
    NodeOutputs, NumberRange, OutputValue, Param, ParamEntry, ParamType, ParamValue, PatchEdge,
    PatchNode, Port, PortValues, Position, QualityTier, Severity, TierEstimate, Value,
};

pub use crate::bindings::moviedirector::node::types::Capability;

/// What the host knows about an asset (`assets.asset-metadata`).
pub use crate::bindings::moviedirector::node::assets::AssetMetadata;

/// Log levels of [`crate::host::log`] (`host.log-level`).
pub use crate::bindings::moviedirector::node::host::LogLevel;

/// An HTTP request to a granted origin (`http.request`).
pub use crate::bindings::moviedirector::node::http::Request as HttpRequest;

/// The answer of a server (`http.response`).
pub use crate::bindings::moviedirector::node::http::Response as HttpResponse;

/// Why an HTTP request was not answered (`http.http-error`).
pub use crate::bindings::moviedirector::node::http::HttpError;
