//! Everything a plugin usually needs, in one import: `use mdc_sdk::prelude::*;`.

pub use crate::host;
pub use crate::live;
pub use crate::types::{
    Action, ActionInput, AssetMetadata, AssetRef, Capability, Cardinality, ChoiceOption,
    ConnectedValue, Diagnostic, ErrorCode, GraphNode, GraphPatch, HttpError, HttpRequest,
    HttpResponse, LogLevel, NodeDescriptor, NodeError, NodeInput, NodeOutputs, OutputValue, Param,
    ParamEntry, ParamType, ParamValue, PatchEdge, PatchNode, Port, Position, QualityTier, Severity,
    TierEstimate, Value,
};
pub use crate::{Node, validate_params};
