//! Hostile test node `hostile-spinner`: a CPU runaway in every call that does work —
//! `validate` and `execute` spin forever without a host call, so only the epoch-based CPU
//! budget can stop them. Several run at once in the tests: each must be stopped at its own
//! budget while other plugins keep serving.

use std::hint::black_box;

use mdc_sdk::prelude::*;

/// Spins in validate and execute.
pub struct Spinner;

impl Node for Spinner {
    fn describe() -> NodeDescriptor {
        NodeDescriptor::new("hostile-spinner", "0.1.0", "Hostile Spinner")
            .category("Testing")
            .docs("Spins forever in validate and execute.")
            .output(Port::one("text", "Text", "text"))
            .tier(QualityTier::Low)
    }

    fn validate(_input: &NodeInput) -> Vec<Diagnostic> {
        spin()
    }

    fn execute(_input: NodeInput) -> Result<NodeOutputs, NodeError> {
        spin()
    }
}

/// Spins forever; `black_box` keeps the optimiser from removing the loop.
fn spin() -> ! {
    let mut x: u64 = 0;
    loop {
        x = black_box(x.wrapping_add(1));
    }
}

mdc_sdk::export_node!(Spinner);
