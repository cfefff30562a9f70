//! Hostile test node `hostile-outputs`: hands the host more, or worse, results than it can
//! store, according to its `mode` parameter.
//!
//! - `many-outputs`: 200,000 empty output files (refused past the call's output count).
//! - `output`: one 100 MiB output file; `outputs`: 64 MiB files until one is refused (both
//!   past the call's output bytes).
//! - `big-output`: one 160 MiB output file, within the limits (a real video take can be that
//!   large: the host must accept it, not stop it at wasmtime's default copy limit of 128 MiB).
//! - `nan`, `infinity`: a number output that is not finite (a contract violation: takes
//!   must stay storable).
//! - `huge-text`: a 17 MiB text output, past the largest value a call may return.

use mdc_sdk::prelude::*;

/// Every mode, with its label.
const MODES: &[(&str, &str)] = &[
    ("many-outputs", "Write 200,000 empty outputs"),
    ("output", "Write one 100 MiB output"),
    ("outputs", "Write 64 MiB outputs until refused"),
    ("big-output", "Write one 160 MiB output"),
    ("nan", "Return NaN"),
    ("infinity", "Return infinity"),
    ("huge-text", "Return 17 MiB of text"),
];

/// Returns hostile results.
pub struct Outputs;

impl Node for Outputs {
    fn describe() -> NodeDescriptor {
        NodeDescriptor::new("hostile-outputs", "0.1.0", "Hostile Outputs")
            .category("Testing")
            .docs("Returns or writes too much, or numbers that are not finite, per **mode**.")
            .output(Port::one("text", "Text", "text"))
            .output(Port::one("number", "Number", "number"))
            .param(
                Param::choice("mode", "Mode", MODES.iter().copied())
                    .default("nan")
                    .required(),
            )
            .tier(QualityTier::Low)
            .capability(Capability::OutputWrite)
    }

    fn execute(input: NodeInput) -> Result<NodeOutputs, NodeError> {
        let write = |bytes: &[u8]| host::write_output("application/octet-stream", bytes);
        match input.choice("mode").unwrap_or_default() {
            "many-outputs" => {
                for i in 0..200_000 {
                    write(&[]).map_err(|e| NodeError::failed(format!("output {i}: {e}")))?;
                }
                text("wrote 200000 outputs")
            }
            "output" => text(write(&vec![0x5a_u8; 100 << 20]).map_err(NodeError::failed)?),
            "big-output" => text(write(&vec![0x5a_u8; 160 << 20]).map_err(NodeError::failed)?),
            "outputs" => {
                let chunk = vec![0xa5_u8; 64 << 20];
                for written in 0.. {
                    write(&chunk).map_err(|e| {
                        NodeError::failed(format!("refused after {written} outputs: {e}"))
                    })?;
                }
                unreachable!("the loop only ends by a refusal")
            }
            "nan" => Ok(NodeOutputs::new().with("number", f64::NAN)),
            "infinity" => Ok(NodeOutputs::new().with("number", f64::INFINITY)),
            "huge-text" => text("t".repeat(17 << 20)),
            other => Err(NodeError::invalid_input(format!("unknown mode `{other}`"))),
        }
    }
}

/// A single text output.
fn text(value: impl Into<String>) -> Result<NodeOutputs, NodeError> {
    Ok(NodeOutputs::new().with("text", value.into()))
}

mdc_sdk::export_node!(Outputs);
