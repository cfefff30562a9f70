//! Hostile test node `hostile-sleeper`: holds an instance slot by sleeping on the WASI
//! monotonic clock instead of working, so CPU budgets never see it.
//!
//! - `describe` sleeps 600 ms before answering: an engine whose describe/validate wall limit
//!   is shorter refuses to load it, one with the default limit (5 s) loads it.
//! - `validate` sleeps an hour: it must be stopped at the describe/validate wall limit, and
//!   hundreds of them at once must neither starve other plugins of instance slots nor count
//!   as misbehaviour.
//! - `execute` answers at once.

use std::time::Duration;

use mdc_sdk::prelude::*;

/// How long `describe` sleeps.
const DESCRIBE_SLEEP: Duration = Duration::from_millis(600);

/// Sleeps in describe and validate.
pub struct Sleeper;

impl Node for Sleeper {
    fn describe() -> NodeDescriptor {
        std::thread::sleep(DESCRIBE_SLEEP);
        NodeDescriptor::new("hostile-sleeper", "0.1.0", "Hostile Sleeper")
            .category("Testing")
            .docs("Sleeps in describe and validate.")
            .output(Port::one("text", "Text", "text"))
            .tier(QualityTier::Low)
    }

    fn validate(_input: &NodeInput) -> Vec<Diagnostic> {
        std::thread::sleep(Duration::from_secs(3600));
        Vec::new()
    }

    fn execute(_input: NodeInput) -> Result<NodeOutputs, NodeError> {
        Ok(NodeOutputs::new().with("text", "awake"))
    }
}

mdc_sdk::export_node!(Sleeper);
