//! Hostile test node `hostile-burner`: looks healthy where it is cheap to look — `describe`
//! and `validate` succeed at once — while every `execute` burns its whole CPU budget. The
//! cheap successes must not hide the failing export: the plugin is quarantined for it.

use std::hint::black_box;

use mdc_sdk::prelude::*;

/// Validates fine, burns CPU in execute.
pub struct Burner;

impl Node for Burner {
    fn describe() -> NodeDescriptor {
        NodeDescriptor::new("hostile-burner", "0.1.0", "Hostile Burner")
            .category("Testing")
            .docs("Validates at once; every execute burns its CPU budget.")
            .output(Port::one("text", "Text", "text"))
            .tier(QualityTier::Low)
    }

    fn validate(_input: &NodeInput) -> Vec<Diagnostic> {
        Vec::new()
    }

    fn execute(_input: NodeInput) -> Result<NodeOutputs, NodeError> {
        let mut x: u64 = 0;
        loop {
            x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
}

mdc_sdk::export_node!(Burner);
