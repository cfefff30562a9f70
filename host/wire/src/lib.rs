//! # mdc-wire — the JSON formats that server, workers, CLI and canvas share
//!
//! Lossless JSON for what the store keeps and what crosses processes: execution requests (a
//! node input plus the plugin build that serves it, [`ExecutionRequest`]), take outputs
//! ([`encode_outputs`]) and graph snapshots ([`GraphDocument`]). Each format is a set of
//! serde-derived record types, separate from the runtime's types on purpose: the runtime may
//! change its types, a record written by an older version must still be read.
//!
//! - Values are tagged (`{"text": "…"}`, `{"asset": {"id", "mime"}}`), so a number stays a
//!   number and an asset stays an asset when read back by any server or worker.
//! - Encoding refuses what could not be read back: JSON has no NaN or infinity (serde_json
//!   would write `null`), so a non-finite number is an [`EncodeError`] that says where it
//!   was, never a stored record that fails every later read.
//! - Decoding refuses malformed records with a [`DecodeError`] naming what was read.
//! - Compatibility: fields are only ever added, with defaults; the tests read records as
//!   0.2.0 wrote them.

mod execution;
mod graph;
mod values;

pub use execution::{
    ExecutionRequest, InputRecord, PluginBuild, decode_input, decode_outputs, encode_input,
    encode_outputs,
};
pub use graph::{
    EdgeRecord, GraphDocument, NodeRecord, PositionRecord, decode_graph, encode_graph,
};
pub use values::{AssetRecord, ParamRecord, ValueRecord};

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

/// Why a stored or received record cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{what} cannot be read: {source}")]
pub struct DecodeError {
    /// What was being read: `a node input`, `a graph`, …
    pub what: &'static str,
    /// What serde found wrong.
    #[source]
    pub source: serde_json::Error,
}

/// `number` when it is finite, else an error saying where it was.
fn finite(number: f64, at: &dyn Fn() -> String) -> Result<f64, EncodeError> {
    if number.is_finite() {
        Ok(number)
    } else {
        Err(EncodeError::NotFinite { at: at(), number })
    }
}

/// Reads a record of type `T` from JSON text, naming `what` in the error.
fn read<T: serde::de::DeserializeOwned>(what: &'static str, json: &str) -> Result<T, DecodeError> {
    serde_json::from_str(json).map_err(|source| DecodeError { what, source })
}

/// JSON text of a record whose numbers have been checked: serialising it cannot fail.
fn text<T: serde::Serialize>(record: &T) -> String {
    serde_json::to_string(record).expect("records of checked numbers serialise")
}

#[cfg(test)]
mod tests;
