//! `mdc storyboard` end to end: the real binary, the real plugins (built by
//! `cargo xtask build-plugins` into `target/plugins`), SQLite and a local object folder.

use std::path::Path;
use std::process::{Command, Output};

fn mdc(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mdc"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("MDC_LOG", "error")
        .output()
        .expect("mdc runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn fixture() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/script/tests/fixtures/the-last-ferry.fountain");
    std::fs::read_to_string(path).expect("fixture screenplay")
}

#[test]
fn storyboards_a_screenplay_and_regenerates_only_what_changed() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let script = work.path().join("ferry.fountain");
    let out = work.path().join("out");
    std::fs::write(&script, fixture()).unwrap();
    let args = [
        "storyboard",
        script.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];

    let first = mdc(&data, &args);
    assert!(
        first.status.success(),
        "{}\n{}",
        stdout(&first),
        String::from_utf8_lossy(&first.stderr)
    );
    let text = stdout(&first);
    assert!(text.contains("5 scenes, 28 shots: 28 new"), "{text}");
    assert!(
        text.contains("28 shots: 28 generated, 0 reused. 33 files written"),
        "{text}"
    );
    let scene = out.join("1-ext-harbour-night");
    for file in ["shot-1-1.png", "shot-1-7.png", "contact-sheet.png"] {
        let bytes = std::fs::read(scene.join(file)).unwrap_or_else(|err| panic!("{file}: {err}"));
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{file} is a PNG");
    }
    let frame_before = std::fs::read(scene.join("shot-1-1.png")).unwrap();

    let again = mdc(&data, &args);
    assert!(again.status.success());
    assert!(
        stdout(&again).contains("28 shots: 0 generated, 28 reused."),
        "{}",
        stdout(&again)
    );

    let edited = fixture().replacen(
        "Rain needles the black water.",
        "Rain hammers the black water.",
        1,
    );
    assert_ne!(edited, fixture(), "the edit applies to the fixture");
    std::fs::write(&script, edited).unwrap();
    let third = mdc(&data, &args);
    let text = stdout(&third);
    assert!(third.status.success(), "{text}");
    assert!(text.contains("1 updated"), "{text}");
    assert!(text.contains("28 shots: 1 generated, 27 reused."), "{text}");
    assert_ne!(
        std::fs::read(scene.join("shot-1-1.png")).unwrap(),
        frame_before,
        "the edited shot was redrawn"
    );
}

#[test]
fn a_missing_screenplay_is_a_clear_error() {
    let work = tempfile::tempdir().unwrap();
    let output = mdc(work.path(), &["storyboard", "/nonexistent/script.fountain"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot read the screenplay /nonexistent/script.fountain"),
        "{stderr}"
    );
}
