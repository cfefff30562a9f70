//! Test node `misbehave` (built with mdc-sdk) that breaks the rules on demand, so the engine's sandbox limits can be tested.

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
    ("output", "Write one 300 MiB output"),
    ("outputs", "Write 64 MiB outputs until refused"),
    ("http", "Fetch an origin the descriptor does not request"),
    ("http-local", "Fetch the requested origin http://127.0.0.1"),
    ("file", "Read /etc/passwd"),
    ("env", "Read environment variables"),
    ("cancel", "Wait for cancellation"),
    ("slow", "Ignore cancellation"),
    ("nan", "Return a number that is not finite"),
    ("stdout", "Print 1 MiB to stdout, then return"),
    ("log-flood", "Log 512 messages of 1 MiB each, then return"),
    ("many-outputs", "Write 200,000 empty outputs"),
    ("sleepy-validate", "Sleep an hour in validate"),
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
            .capability(Capability::OutputWrite)
            .capability(Capability::outbound_http(["http://127.0.0.1"]))
    }

    fn validate(input: &NodeInput) -> Vec<Diagnostic> {
        if input.choice("mode") == Some("sleepy-validate") {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
        validate_params(&Self::describe(), input)
    }

    fn execute(input: NodeInput) -> Result<NodeOutputs, NodeError> {
        match input.choice("mode").unwrap_or("ok") {
            "nan" => Ok(NodeOutputs::new().with("text", f64::NAN)),
            "stdout" => {
                let line = "x".repeat(1023);
                for _ in 0..1024 {
                    println!("{line}");
                }
                text("printed")
            }
            "log-flood" => {
                let message = "y".repeat(1 << 20);
                for _ in 0..512 {
                    host::log(LogLevel::Info, &message);
                }
                text("logged")
            }
            "many-outputs" => {
                for i in 0..200_000 {
                    if let Err(e) = host::write_output("application/octet-stream", &[]) {
                        return Err(NodeError::failed(format!("output {i} refused: {e}")));
                    }
                }
                text("wrote 200000 outputs")
            }
            "ok" => text("fine"),
            "loop" => spin(),
            "alloc" => hoard(),
            "stack" => {
                let depth = recurse(black_box(0));
                text(format!("recursion ended at {depth}"))
            }
            "trap" => panic!("boom from misbehave"),
            "output" => {
                let big = vec![0x5a_u8; 300 << 20];
                let id = host::write_output("application/octet-stream", &big)
                    .map_err(NodeError::failed)?;
                text(id)
            }
            "outputs" => {
                let chunk = vec![0xa5_u8; 64 << 20];
                let mut written = 0_u64;
                loop {
                    if let Err(e) = host::write_output("application/octet-stream", &chunk) {
                        return Err(NodeError::failed(format!(
                            "write {} refused after {written} outputs: {e}",
                            written + 1
                        )));
                    }
                    written += 1;
                }
            }
            "http" => {
                let response = host::http_fetch(&HttpRequest::get("http://198.51.100.7/secret"))?;
                text(response.text())
            }
            "http-local" => {
                let response = host::http_fetch(&HttpRequest::get("http://127.0.0.1/status"))?;
                text(response.text())
            }
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
