//! Hostile test node `hostile-descriptor`: a descriptor built to make the host's checks slow
//! or its memory large — 400,000 input ports with one and the same id, and a choice
//! parameter with 2,000,000 options. The host must refuse it with a reason, within seconds:
//! building it costs the guest about half a second, lifting it into the host the rest.

use mdc_sdk::prelude::*;

/// Input ports declared.
const PORTS: usize = 400_000;
/// Options of the one choice parameter.
const OPTIONS: usize = 2_000_000;

/// Describes itself enormously.
pub struct Descriptor;

impl Node for Descriptor {
    fn describe() -> NodeDescriptor {
        let mut descriptor =
            NodeDescriptor::new("hostile-descriptor", "0.1.0", "Hostile Descriptor")
                .category("Testing")
                .output(Port::one("text", "Text", "text"))
                .param(Param::choice(
                    "pick",
                    "Pick",
                    (0..OPTIONS).map(|i| (format!("o{i}"), "Option")),
                ))
                .tier(QualityTier::Low);
        for _ in 0..PORTS {
            descriptor = descriptor.input(Port::one("same", "Same", "text"));
        }
        descriptor
    }
}

mdc_sdk::export_node!(Descriptor);
