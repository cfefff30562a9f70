//! `mdc storyboard` of a feature-length screenplay, end to end, as a user runs it:
//! `cargo xtask build-plugins && cargo bench -p mdc --bench storyboard`.
//!
//! The ferry fixture's scenes repeated past 120 pages (`script::sample::feature_length`), drawn
//! by the release binary with its default two workers into a fresh data folder; then the same
//! command again, when every frame is reused.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const PAGES: usize = 120;

/// Runs `mdc storyboard` and returns its wall time and what it printed.
fn storyboard(data: &Path, screenplay: &Path, out: &Path) -> (Duration, String) {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_mdc"))
        .arg("--data-dir")
        .arg(data)
        .arg("storyboard")
        .arg(screenplay)
        .arg("--out")
        .arg(out)
        .output()
        .expect("run mdc");
    let took = started.elapsed();
    let printed = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "mdc storyboard failed: {printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (took, printed)
}

/// Image files written below `dir`.
fn images(dir: &Path) -> usize {
    let mut count = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "png") {
                count += 1;
            }
        }
    }
    count
}

fn main() {
    let base = include_str!("../../plugins/script/tests/fixtures/the-last-ferry.fountain");
    let text = script::sample::feature_length(base, PAGES);
    let dir = tempfile::tempdir().unwrap();
    let screenplay = dir.path().join("long-crossing.fountain");
    std::fs::write(&screenplay, &text).unwrap();
    let data = dir.path().join("data");

    let (first, printed) = storyboard(&data, &screenplay, &dir.path().join("first"));
    let drawn = images(&dir.path().join("first"));
    let (again, reprinted) = storyboard(&data, &screenplay, &dir.path().join("again"));
    let summary = |text: &str| {
        text.lines()
            .filter(|l| l.contains("shots") || l.contains("generated"))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    println!("{PAGES}-page screenplay: {}", summary(&printed));
    println!("| run | wall | images written | images/s |");
    println!("|---|---|---|---|");
    println!(
        "| first (every frame and sheet drawn) | {:.1} s | {drawn} | {:.0} |",
        first.as_secs_f64(),
        drawn as f64 / first.as_secs_f64()
    );
    println!(
        "| again (all reused) | {:.1} s | {} | — |",
        again.as_secs_f64(),
        images(&dir.path().join("again"))
    );
    println!("second run: {}", summary(&reprinted));
}
