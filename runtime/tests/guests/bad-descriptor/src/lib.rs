//! Test node with an invalid descriptor (duplicate input port id, default outside its range) that a host must reject.

use mdc_sdk::prelude::*;

/// Describes itself wrongly on purpose.
pub struct BadDescriptor;

impl Node for BadDescriptor {
    fn describe() -> NodeDescriptor {
        NodeDescriptor::new("bad-descriptor", "0.1.0", "Bad Descriptor")
            .category("Testing")
            .input(Port::many("characters", "Characters", "character"))
            .input(Port::many("characters", "More Characters", "character"))
            .output(Port::one("text", "Text", "text"))
            .param(Param::integer("steps", "Steps", 1..=10).default(50))
    }
}

mdc_sdk::export_node!(BadDescriptor);
