//! `mdc plugin …` against real components: describe, validate, run, list, and bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

fn guest(name: &str) -> String {
    let path = target_dir()
        .join("wasm32-wasip2/plugin")
        .join(format!("guest_{name}.wasm"));
    assert!(
        path.is_file(),
        "{} missing: run `cargo xtask build-plugins`",
        path.display()
    );
    path.to_string_lossy().into_owned()
}

fn mdc(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mdc"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .expect("mdc runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn describe_prints_ports_params_and_capabilities() {
    let data = tempfile::tempdir().unwrap();
    let output = mdc(data.path(), &["plugin", "describe", &guest("echo")]);
    let shown = text(&output);
    assert!(output.status.success(), "{shown}");
    assert!(shown.starts_with("echo 0.1.0"), "{shown}");
    assert!(
        shown.contains("contract moviedirector:node@0.2.0"),
        "{shown}"
    );
    assert!(
        shown.contains("repeat           integer 1..10 = 1"),
        "{shown}"
    );
    assert!(shown.contains("capability: output-write"), "{shown}");
    let json = mdc(
        data.path(),
        &["plugin", "describe", &guest("echo"), "--json"],
    );
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(parsed["type_id"], "echo");
}

#[test]
fn validate_reports_problems_and_fails() {
    let data = tempfile::tempdir().unwrap();
    let output = mdc(
        data.path(),
        &[
            "plugin",
            "validate",
            &guest("echo"),
            "--params",
            r#"{"repeat": 50}"#,
        ],
    );
    assert!(!output.status.success());
    assert!(
        text(&output).contains("error [repeat]"),
        "{}",
        text(&output)
    );
    let ok = mdc(
        data.path(),
        &[
            "plugin",
            "validate",
            &guest("echo"),
            "--params",
            r#"{"repeat": 2}"#,
        ],
    );
    assert!(ok.status.success(), "{}", text(&ok));
}

#[test]
fn run_writes_outputs_and_reports_time_and_memory() {
    let data = tempfile::tempdir().unwrap();
    let out = data.path().join("out");
    let output = mdc(
        data.path(),
        &[
            "plugin",
            "run",
            &guest("echo"),
            "--params",
            r#"{"message": "cut", "repeat": 2}"#,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let shown = text(&output);
    assert!(output.status.success(), "{shown}");
    assert!(shown.contains("text → \"cut cut\""), "{shown}");
    assert!(shown.contains("peak memory"), "{shown}");
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("outputs.json")).unwrap()).unwrap();
    assert_eq!(results["values"][0]["value"], "cut cut");
    assert_eq!(std::fs::read(out.join("output-1.txt")).unwrap(), b"cut cut");
}

#[test]
fn bad_input_is_refused_with_a_clear_message() {
    let data = tempfile::tempdir().unwrap();
    let not_wasm = data.path().join("notes.wasm");
    std::fs::write(&not_wasm, "just text").unwrap();
    let cases: [(Vec<String>, &str); 4] = [
        (
            vec![
                "plugin".into(),
                "describe".into(),
                not_wasm.to_string_lossy().into_owned(),
            ],
            "not a WebAssembly file",
        ),
        (
            vec![
                "plugin".into(),
                "run".into(),
                guest("echo"),
                "--params".into(),
                "{nope".into(),
            ],
            "--params is not valid JSON",
        ),
        (
            vec![
                "plugin".into(),
                "run".into(),
                guest("echo"),
                "--params".into(),
                r#"{"volume": 3}"#.into(),
            ],
            "unknown parameter \"volume\"; echo has: message, repeat",
        ),
        (
            vec![
                "plugin".into(),
                "run".into(),
                guest("echo"),
                "--tier".into(),
                "ultra".into(),
            ],
            "unknown tier \"ultra\"",
        ),
    ];
    for (args, expected) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = mdc(data.path(), &args);
        assert!(!output.status.success(), "{args:?}");
        assert!(
            text(&output).contains(expected),
            "{args:?}: {}",
            text(&output)
        );
    }
}

#[test]
fn list_shows_the_first_party_node_types_and_the_installed_plugins() {
    let data = tempfile::tempdir().unwrap();
    let plugins = data.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(guest("echo"), plugins.join("echo.wasm")).unwrap();
    // The first-party script node, installed again under another name.
    let first_party = target_dir().join("plugins").canonicalize().unwrap();
    std::fs::copy(
        first_party.join("script.wasm"),
        plugins.join("my-script.wasm"),
    )
    .unwrap();

    let output = mdc(data.path(), &["plugin", "list"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", text(&output));
    assert!(!stdout.contains("No plugins found"), "{stdout}");
    let first_party_heading = format!("first-party node types in {}:", first_party.display());
    let installed_heading = format!("installed plugins in {}:", plugins.display());
    let section = |heading: &str| -> Vec<String> {
        stdout
            .lines()
            .skip_while(|l| *l != heading)
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .map(str::to_string)
            .collect()
    };
    let first = section(&first_party_heading);
    let installed = section(&installed_heading);
    assert!(!first.is_empty(), "{stdout}");
    assert!(!installed.is_empty(), "{stdout}");
    for node in ["script", "character", "shot", "sequence"] {
        assert!(
            first
                .iter()
                .any(|l| l.trim_start().starts_with(&format!("{node} "))
                    && l.ends_with(&format!("{node}.wasm"))),
            "{node} listed as first-party: {stdout}"
        );
    }
    assert!(
        installed
            .iter()
            .any(|l| l.trim_start().starts_with("echo ")),
        "{stdout}"
    );
    let copy = installed
        .iter()
        .find(|l| l.contains("my-script.wasm"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        copy.contains("not used: the first-party \"script\" serves this type"),
        "{copy}"
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("warning: installed node type \"script\""),
        "{}",
        text(&output)
    );

    // Given folders replace the installed folder; first-party node types are still listed.
    let empty = data.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let output = mdc(
        data.path(),
        &["plugin", "list", "--dir", empty.to_str().unwrap()],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains(&first_party_heading), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "installed plugins in {}:\n  (none)",
            empty.display()
        )),
        "{stdout}"
    );
}

#[test]
fn list_shows_installed_plugins_and_broken_files() {
    let data = tempfile::tempdir().unwrap();
    let plugins = data.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(guest("echo"), plugins.join("echo.wasm")).unwrap();
    std::fs::copy(guest("future_contract"), plugins.join("future.wasm")).unwrap();
    let output = mdc(data.path(), &["plugin", "list"]);
    let shown = text(&output);
    assert!(output.status.success(), "{shown}");
    assert!(
        shown.contains("echo") && shown.contains("contract 0.2.0"),
        "{shown}"
    );
    assert!(
        shown.contains("(broken)") && shown.contains("moviedirector:node@9.0.0"),
        "{shown}"
    );
}

#[test]
fn plugin_text_cannot_drive_the_terminal_or_forge_lines() {
    let data = tempfile::tempdir().unwrap();
    let out = data.path().join("out");
    // Clipboard write (OSC 52), clear screen, 8-bit CSI, window title, and forged lines.
    let message = "\u{1b}]52;c;aGVsbG8=\u{7}\u{1b}[2J\u{9b}31mred\u{1b}]0;pwned\u{7}\
                   \n100% rendered\ntime 0.0 ms · CPU charged 0 ms · forged\r\u{202e}";
    let params = serde_json::json!({ "message": message }).to_string();
    let output = mdc(
        data.path(),
        &[
            "plugin",
            "run",
            &guest("echo"),
            "--params",
            &params,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let shown = text(&output);
    assert!(output.status.success(), "{shown}");
    for forbidden in ['\u{1b}', '\u{7}', '\u{9b}', '\r', '\u{202e}'] {
        assert!(
            !shown.contains(forbidden),
            "{forbidden:?} reached the terminal: {shown:?}"
        );
    }
    assert!(shown.contains(r"\x1b]52;c;aGVsbG8="), "{shown}");
    let lines: Vec<&str> = shown.lines().collect();
    assert!(
        !lines
            .iter()
            .any(|l| l.trim_start().starts_with("100% rendered")),
        "a plugin forged a progress line: {shown}"
    );
    let summaries: Vec<&&str> = lines.iter().filter(|l| l.starts_with("time ")).collect();
    assert_eq!(summaries.len(), 1, "{shown}");
    assert!(!summaries[0].contains("forged"), "{shown}");
}
