//! What every GPU pipeline node declares alike.

use mdc_sdk::prelude::*;

/// Adds the Production and Premium tiers with their expected time and GPU memory, and the
/// capabilities a pipeline needs: outbound HTTP to the origin the operator grants for the
/// tier's backend, reading reference assets, writing takes.
pub fn gpu_generation(descriptor: NodeDescriptor) -> NodeDescriptor {
    descriptor
        .tier(
            TierEstimate::new(QualityTier::Standard)
                .seconds(45.0)
                .gpu_memory_mib(12 * 1024),
        )
        .tier(
            TierEstimate::new(QualityTier::High)
                .seconds(180.0)
                .gpu_memory_mib(24 * 1024),
        )
        .capability(Capability::outbound_http(["*"]))
        .capability(Capability::AssetRead)
        .capability(Capability::OutputWrite)
}
