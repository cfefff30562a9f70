//! Test node `misbehave` (built with mdc-sdk) that breaks the generic sandbox rules on demand:
//! a panic, an endless loop, endless allocation and recursion, reaching for files or the
//! environment, cancellation obeyed or ignored. Each hostile class with its own attack has a
//! guest of its own (`hostile-*`).

use std::hint::black_box;

use mdc_sdk::prelude::*;

/// Misbehaves according to its `mode` parameter.
pub struct Misbehave;

/// Every mode, with its label.
const MODES: &[(&str, &str)] = &[
    ("ok", "Return \"fine\""),
    ("loop", "Spin forever"),
    ("alloc", "Allocate memory forever"),
    ("stack", "Recurse forever"),
    ("trap", "Panic"),
    ("file", "Read /etc/passwd"),
    ("env", "Read environment variables"),
    ("cancel", "Wait for cancellation"),
    ("slow", "Ignore cancellation"),
];

impl Node for Misbehave {
    fn describe() -> NodeDescriptor {
        NodeDescriptor::new("misbehave", "0.1.0", "Misbehave")
            .category("Testing")
            .docs("Breaks the sandbox rules on purpose, according to **mode**.")
            .output(Port::one("text", "Text", "text"))
            .param(
                Param::choice("mode", "Mode", MODES.iter().copied())
                    .default("ok")
                    .required(),
            )
            .tier(QualityTier::Low)
    }

    fn execute(input: NodeInput) -> Result<NodeOutputs, NodeError> {
        match input.choice("mode").unwrap_or("ok") {
            "ok" => text("fine"),
            "loop" => spin(),
            "alloc" => hoard(),
            "stack" => {
                let depth = recurse(black_box(0));
                text(format!("recursion ended at {depth}"))
            }
            "trap" => panic!("boom from misbehave"),
            "file" => match std::fs::read("/etc/passwd") {
                Ok(bytes) => text(String::from_utf8_lossy(&bytes).into_owned()),
                Err(e) => Err(NodeError::failed(e.to_string())),
            },
            "env" => {
                let count = std::env::vars().count();
                let home = std::env::var("HOME").ok();
                let path = std::env::var("PATH").ok();
                text(format!("vars={count} HOME={home:?} PATH={path:?}"))
            }
            "cancel" => {
                let mut i: u32 = 0;
                loop {
                    if host::is_cancelled() {
                        return Err(NodeError::cancelled());
                    }
                    host::progress((i % 100) as f32 / 100.0, "waiting for cancellation");
                    i = i.wrapping_add(1);
                    busy(100_000);
                }
            }
            "slow" => {
                let mut n: u64 = 0;
                loop {
                    n = black_box(n.wrapping_add(1));
                    if n.is_multiple_of(1_000_000) {
                        let _ = black_box(host::is_cancelled());
                    }
                }
            }
            other => Err(NodeError::invalid_input(format!("unknown mode `{other}`"))),
        }
    }
}

/// A single text output.
fn text(value: impl Into<String>) -> Result<NodeOutputs, NodeError> {
    Ok(NodeOutputs::new().with("text", value.into()))
}

/// Spins forever; `black_box` keeps the optimiser from removing the loop.
fn spin() -> ! {
    let mut x: u64 = 0;
    loop {
        x = black_box(x.wrapping_add(1));
    }
}

/// Allocates and touches 16 MiB chunks forever, keeping all of them.
fn hoard() -> ! {
    let mut held: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut chunk = vec![0_u8; 16 << 20];
        for i in (0..chunk.len()).step_by(4096) {
            chunk[i] = 1;
        }
        held.push(black_box(chunk));
        black_box(&mut held);
    }
}

/// Recurses without end; the 4 KiB frame and the work after the call keep it
/// from becoming a loop.
fn recurse(depth: u64) -> u64 {
    let frame = black_box([depth as u8; 4096]);
    if black_box(depth == u64::MAX) {
        return 0;
    }
    let below = recurse(black_box(depth + 1));
    below.wrapping_add(u64::from(frame[(depth % 4096) as usize]))
}

/// Burns roughly `n` iterations of CPU.
fn busy(n: u64) {
    let mut x: u64 = 0;
    for i in 0..n {
        x = black_box(x ^ i);
    }
    black_box(x);
}

mdc_sdk::export_node!(Misbehave);
