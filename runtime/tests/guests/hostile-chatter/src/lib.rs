//! Hostile test node `hostile-chatter`: tries to flood the host with text, according to its
//! `mode` parameter.
//!
//! - `huge-log`: one 16 MiB log message (kept: the message limit, with a marker).
//! - `huge-progress`: one 16 MiB progress message (cut the same way).
//! - `log-flood`: 512 log messages of 1 MiB each (kept: the call's log budget, then one
//!   marker).
//! - `progress-flood`: 1,000 progress messages of 64 KiB each (every one cut).
//! - `stdout`: 1 MiB printed to stdout (kept: the stdio cap, with a marker).
//!
//! Every mode returns normally: chatter is cut, never a trap.

use mdc_sdk::prelude::*;

/// Every mode, with its label.
const MODES: &[(&str, &str)] = &[
    ("huge-log", "Log one 16 MiB message"),
    ("huge-progress", "Report progress with one 16 MiB message"),
    ("log-flood", "Log 512 messages of 1 MiB each"),
    (
        "progress-flood",
        "Report progress 1,000 times with 64 KiB messages",
    ),
    ("stdout", "Print 1 MiB to stdout"),
];

/// Floods the host with text.
pub struct Chatter;

impl Node for Chatter {
    fn describe() -> NodeDescriptor {
        NodeDescriptor::new("hostile-chatter", "0.1.0", "Hostile Chatter")
            .category("Testing")
            .docs("Floods logs, progress and stdout according to **mode**.")
            .output(Port::one("text", "Text", "text"))
            .param(
                Param::choice("mode", "Mode", MODES.iter().copied())
                    .default("huge-log")
                    .required(),
            )
            .tier(QualityTier::Low)
    }

    fn execute(input: NodeInput) -> Result<NodeOutputs, NodeError> {
        match input.choice("mode").unwrap_or_default() {
            "huge-log" => host::log(LogLevel::Info, &"l".repeat(16 << 20)),
            "huge-progress" => host::progress(0.5, &"p".repeat(16 << 20)),
            "log-flood" => {
                let message = "y".repeat(1 << 20);
                for _ in 0..512 {
                    host::log(LogLevel::Info, &message);
                }
            }
            "progress-flood" => {
                let message = "q".repeat(64 << 10);
                for i in 0..1000 {
                    host::progress(i as f32 / 1000.0, &message);
                }
            }
            "stdout" => {
                let line = "x".repeat(1023);
                for _ in 0..1024 {
                    println!("{line}");
                }
            }
            other => return Err(NodeError::invalid_input(format!("unknown mode `{other}`"))),
        }
        Ok(NodeOutputs::new().with("text", "said it all"))
    }
}

mdc_sdk::export_node!(Chatter);
