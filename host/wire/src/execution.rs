//! What a queued execution carries ([`ExecutionRequest`]: the plugin build and the node
//! input) and what a take keeps (the node's outputs).

use mdc_runtime::plugin::types::{
    ConnectedValue, NodeInput, NodeOutputs, OutputValue, ParamEntry, PortValues, QualityTier,
};
use serde::{Deserialize, Serialize};

use crate::{DecodeError, EncodeError, ParamRecord, ValueRecord, read, text};

/// An execution's request as the queue keeps it: which plugin build serves it and the node
/// input it runs on. Workers read it back and run exactly that build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionRequest {
    /// The plugin build.
    pub plugin: PluginBuild,
    /// The node input.
    pub input: InputRecord,
}

/// A plugin build: node type, version and the digest of its component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginBuild {
    /// Node type id (`shot`).
    #[serde(rename = "type")]
    pub type_id: String,
    /// The node type's version (`0.1.0`).
    pub version: String,
    /// `sha256:…` of the component.
    pub digest: String,
}

/// A node input as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputRecord {
    node_id: String,
    params: Vec<ParamEntryRecord>,
    inputs: Vec<PortRecord>,
    tier: TierRecord,
    seed: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ParamEntryRecord {
    id: String,
    value: ParamRecord,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PortRecord {
    port: String,
    values: Vec<ConnectedRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ConnectedRecord {
    source_node: String,
    source_port: String,
    value: ValueRecord,
}

/// A quality tier by its id (`low`, `standard`, `high`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum TierRecord {
    Low,
    Standard,
    High,
}

impl From<QualityTier> for TierRecord {
    fn from(tier: QualityTier) -> TierRecord {
        match tier {
            QualityTier::Low => TierRecord::Low,
            QualityTier::Standard => TierRecord::Standard,
            QualityTier::High => TierRecord::High,
        }
    }
}

impl From<TierRecord> for QualityTier {
    fn from(tier: TierRecord) -> QualityTier {
        match tier {
            TierRecord::Low => QualityTier::Low,
            TierRecord::Standard => QualityTier::Standard,
            TierRecord::High => QualityTier::High,
        }
    }
}

impl ExecutionRequest {
    /// The request for `plugin` running on `input`; refuses a number that is not finite.
    pub fn new(plugin: PluginBuild, input: &NodeInput) -> Result<ExecutionRequest, EncodeError> {
        Ok(ExecutionRequest {
            plugin,
            input: InputRecord::try_from(input)?,
        })
    }

    /// The request as JSON text.
    pub fn to_json(&self) -> String {
        text(self)
    }

    /// Reads a request written by [`ExecutionRequest::to_json`].
    pub fn from_json(json: &str) -> Result<ExecutionRequest, DecodeError> {
        read("an execution request", json)
    }

    /// The node input the request runs on.
    pub fn into_input(self) -> NodeInput {
        self.input.into()
    }
}

impl TryFrom<&NodeInput> for InputRecord {
    type Error = EncodeError;

    fn try_from(input: &NodeInput) -> Result<InputRecord, EncodeError> {
        let node = &input.node_id;
        let params = input
            .params
            .iter()
            .map(|p| {
                let at = || format!("parameter {:?} of node {node:?}", p.id);
                Ok(ParamEntryRecord {
                    id: p.id.clone(),
                    value: ParamRecord::at(&p.value, &at)?,
                })
            })
            .collect::<Result<_, EncodeError>>()?;
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
                        Ok(ConnectedRecord {
                            source_node: c.source_node.clone(),
                            source_port: c.source_port.clone(),
                            value: ValueRecord::at(&c.value, &at)?,
                        })
                    })
                    .collect::<Result<_, EncodeError>>()?;
                Ok(PortRecord {
                    port: port.port.clone(),
                    values,
                })
            })
            .collect::<Result<_, EncodeError>>()?;
        Ok(InputRecord {
            node_id: input.node_id.clone(),
            params,
            inputs,
            tier: input.tier.into(),
            seed: input.seed,
        })
    }
}

impl From<InputRecord> for NodeInput {
    fn from(record: InputRecord) -> NodeInput {
        NodeInput {
            node_id: record.node_id,
            params: record
                .params
                .into_iter()
                .map(|p| ParamEntry {
                    id: p.id,
                    value: p.value.into(),
                })
                .collect(),
            inputs: record
                .inputs
                .into_iter()
                .map(|port| PortValues {
                    port: port.port,
                    values: port
                        .values
                        .into_iter()
                        .map(|c| ConnectedValue {
                            source_node: c.source_node,
                            source_port: c.source_port,
                            value: c.value.into(),
                        })
                        .collect(),
                })
                .collect(),
            tier: record.tier.into(),
            seed: record.seed,
        }
    }
}

/// A node input as JSON text; refuses a number that is not finite.
pub fn encode_input(input: &NodeInput) -> Result<String, EncodeError> {
    Ok(text(&InputRecord::try_from(input)?))
}

/// Reads a node input written by [`encode_input`].
pub fn decode_input(json: &str) -> Result<NodeInput, DecodeError> {
    read::<InputRecord>("a node input", json).map(NodeInput::from)
}

#[derive(Serialize, Deserialize)]
struct OutputsRecord {
    summary: String,
    values: Vec<OutputRecord>,
}

#[derive(Serialize, Deserialize)]
struct OutputRecord {
    port: String,
    value: ValueRecord,
}

/// Node outputs (what a take keeps) as JSON text; refuses a number that is not finite.
pub fn encode_outputs(outputs: &NodeOutputs) -> Result<String, EncodeError> {
    let values = outputs
        .values
        .iter()
        .map(|v| {
            let at = || format!("output {:?}", v.port);
            Ok(OutputRecord {
                port: v.port.clone(),
                value: ValueRecord::at(&v.value, &at)?,
            })
        })
        .collect::<Result<_, EncodeError>>()?;
    Ok(text(&OutputsRecord {
        summary: outputs.summary.clone(),
        values,
    }))
}

/// Reads node outputs written by [`encode_outputs`].
pub fn decode_outputs(json: &str) -> Result<NodeOutputs, DecodeError> {
    let record: OutputsRecord = read("a take's outputs", json)?;
    Ok(NodeOutputs {
        summary: record.summary,
        values: record
            .values
            .into_iter()
            .map(|v| OutputValue {
                port: v.port,
                value: v.value.into(),
            })
            .collect(),
    })
}
