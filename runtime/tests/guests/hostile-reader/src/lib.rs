//! Hostile test node `hostile-reader`: makes the host work instead of itself — `execute`
//! reads the asset named by its `asset` parameter (`big` when unset) again and again,
//! forever, doing nothing with the bytes. The guest itself barely runs; the copying is the host's. It must still
//! be stopped at its CPU budget, because host copying is charged to the call.

use mdc_sdk::prelude::*;

/// Re-reads one asset without end.
pub struct Reader;

impl Node for Reader {
    fn describe() -> NodeDescriptor {
        NodeDescriptor::new("hostile-reader", "0.1.0", "Hostile Reader")
            .category("Testing")
            .docs("Reads **asset** in an endless loop.")
            .output(Port::one("text", "Text", "text"))
            .param(Param::asset_ref("asset", "Asset", "file"))
            .tier(QualityTier::Low)
            .capability(Capability::AssetRead)
    }

    fn execute(input: NodeInput) -> Result<NodeOutputs, NodeError> {
        let id = input.asset_ref("asset").unwrap_or("big");
        loop {
            let bytes = host::read_asset(id).map_err(NodeError::failed)?;
            std::hint::black_box(bytes);
        }
    }
}

mdc_sdk::export_node!(Reader);
