//! Which component serves a node type: first-party node types win over installed plugins
//! declaring the same type (even a higher version) unless the operator allows overrides, and
//! every component left out is reported. Loads run concurrently, each under a time limit.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use mdc_production::{
    FileProblem, LoadPolicy, LoadWarning, Origin, PluginFolders, PluginSet, ShadowReason,
};
use mdc_runtime::plugin::{EngineConfig, PluginEngine};

fn first_party(name: &str) -> PathBuf {
    let path = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("plugins")
        .join(name);
    assert!(
        path.is_file(),
        "{} missing: run `cargo xtask build-plugins`",
        path.display()
    );
    path
}

/// A third-party component declaring node type `script` at `version` (five characters, like
/// "0.1.0"): the first-party script node with the version in its descriptor rewritten. The
/// contract version (`…@0.1.0` in import and export names) is left alone.
fn impostor_script(dir: &Path, file: &str, version: &str) -> PathBuf {
    assert_eq!(version.len(), 5);
    let mut bytes = std::fs::read(first_party("script.wasm")).unwrap();
    let mut replaced = 0;
    for at in 1..bytes.len().saturating_sub(5) {
        if &bytes[at..at + 5] == b"0.1.0" && bytes[at - 1] != b'@' {
            bytes[at..at + 5].copy_from_slice(version.as_bytes());
            replaced += 1;
        }
    }
    assert!(replaced > 0, "the script component holds its version");
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(file);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn engine(dir: &Path) -> PluginEngine {
    PluginEngine::new(EngineConfig {
        cache_dir: Some(dir.join("code-cache")),
        ..EngineConfig::default()
    })
    .unwrap()
}

/// A first-party folder holding the script node only (quicker to load than all of them).
fn first_party_folder(dir: &Path) -> PathBuf {
    let folder = dir.join("first-party");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::copy(first_party("script.wasm"), folder.join("script.wasm")).unwrap();
    folder
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_party_node_type_wins_over_an_installed_one_with_a_higher_version() {
    let work = tempfile::tempdir().unwrap();
    let impostor = impostor_script(&work.path().join("installed"), "script-pro.wasm", "9.9.0");
    let engine = engine(work.path());
    let declared = engine.load_file(&impostor).await.unwrap();
    assert_eq!(
        (
            declared.descriptor().type_id.as_str(),
            declared.descriptor().version.as_str()
        ),
        ("script", "9.9.0"),
        "the impostor is a real component declaring script 9.9.0"
    );
    let folders = PluginFolders {
        first_party: vec![first_party_folder(work.path())],
        installed: vec![work.path().join("installed")],
    };

    let loaded = PluginSet::load(&engine, &folders, &LoadPolicy::default()).await;
    let used = loaded.set.source("script").unwrap();
    assert_eq!(
        (used.origin, used.version.as_str()),
        (Origin::FirstParty, "0.1.0")
    );
    assert_eq!(
        loaded.set.get("script").unwrap().descriptor().version,
        "0.1.0"
    );
    assert!(!loaded.set.uses(&impostor));
    let [warning] = loaded.warnings.as_slice() else {
        panic!("one warning: {:?}", loaded.warnings);
    };
    let LoadWarning::Shadowed {
        ignored, reason, ..
    } = warning
    else {
        panic!("{warning:?}");
    };
    assert_eq!(ignored.path, impostor);
    assert_eq!(*reason, ShadowReason::FirstPartyWins);
    let shown = warning.to_string();
    assert!(
        shown.starts_with(&format!(
            "installed node type \"script\" 9.9.0 ({}) is not used: first-party node type \"script\" 0.1.0",
            impostor.display()
        )),
        "{shown}"
    );

    // The operator may choose otherwise; that is reported too.
    let policy = LoadPolicy {
        allow_override: true,
        ..LoadPolicy::default()
    };
    let loaded = PluginSet::load(&engine, &folders, &policy).await;
    let used = loaded.set.source("script").unwrap();
    assert_eq!(
        (used.origin, used.path.as_path()),
        (Origin::Installed, impostor.as_path())
    );
    assert!(matches!(
        loaded.warnings.as_slice(),
        [LoadWarning::Shadowed { reason: ShadowReason::OverrideAllowed, ignored, .. }]
            if ignored.origin == Origin::FirstParty
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn among_installed_plugins_the_higher_version_wins_and_the_other_is_reported() {
    let work = tempfile::tempdir().unwrap();
    let installed = work.path().join("installed");
    impostor_script(&installed, "a-script.wasm", "1.0.0");
    let newer = impostor_script(&installed, "b-script.wasm", "2.0.0");
    let folders = PluginFolders {
        first_party: vec![],
        installed: vec![installed],
    };
    let loaded = PluginSet::load(&engine(work.path()), &folders, &LoadPolicy::default()).await;
    assert_eq!(loaded.set.source("script").unwrap().path, newer);
    assert!(matches!(
        loaded.warnings.as_slice(),
        [LoadWarning::Shadowed { reason: ShadowReason::NewerVersion, ignored, .. }]
            if ignored.version == "1.0.0"
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_past_its_load_time_limit_is_skipped_with_a_warning_naming_it() {
    let work = tempfile::tempdir().unwrap();
    let folder = first_party_folder(work.path());
    let folders = PluginFolders::first_party([&folder]);
    let policy = LoadPolicy {
        load_timeout: Duration::from_nanos(1),
        ..LoadPolicy::default()
    };
    let loaded = PluginSet::load(&engine(work.path()), &folders, &policy).await;
    assert!(loaded.set.get("script").is_none());
    let timed_out: Vec<String> = loaded
        .warnings
        .iter()
        .filter(|w| {
            matches!(
                w,
                LoadWarning::Skipped {
                    problem: FileProblem::TimedOut(_),
                    ..
                }
            )
        })
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        timed_out,
        [format!(
            "plugin {} skipped: did not load within 0.000000001 s",
            folder.join("script.wasm").display()
        )]
    );
    // A broken file is skipped with its reason; the files around it are unaffected.
    std::fs::write(folder.join("notes.wasm"), "not a component").unwrap();
    let loaded = PluginSet::load(&engine(work.path()), &folders, &LoadPolicy::default()).await;
    assert!(loaded.set.get("script").is_some());
    assert!(
        matches!(loaded.warnings.as_slice(), [LoadWarning::Skipped { path, problem: FileProblem::Refused(_) }]
            if path.ends_with("notes.wasm")),
        "{:?}",
        loaded.warnings
    );
}

fn mdc(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mdc"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("MDC_LOG", "error")
        .env_remove("MDC_ALLOW_PLUGIN_OVERRIDE")
        .envs(env.iter().copied())
        .output()
        .expect("mdc runs")
}

#[test]
fn storyboard_uses_the_first_party_script_node_and_says_which_it_ignored() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let impostor = impostor_script(&data.join("plugins"), "script-pro.wasm", "9.9.0");
    let script = work.path().join("tiny.fountain");
    std::fs::write(&script, "INT. KITCHEN - DAY\n\nMaya waits by the window.\n").unwrap();
    let out = work.path().join("out");
    let output = mdc(
        &data,
        &[
            "storyboard",
            script.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let warning = stderr
        .lines()
        .find(|l| l.starts_with("warning: ") && l.contains(&impostor.display().to_string()))
        .unwrap_or_else(|| panic!("no warning names the impostor: {stderr}"));
    assert!(
        warning.contains("is not used: first-party node type \"script\" 0.1.0"),
        "{warning}"
    );
    assert!(stderr.contains("--allow-plugin-override"), "{stderr}");

    // The operator's choice, from the environment: the installed one is used, and said so.
    let output = mdc(
        &data,
        &[
            "storyboard",
            script.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[("MDC_ALLOW_PLUGIN_OVERRIDE", "1")],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("first-party node type \"script\" 0.1.0")
            && stderr.contains(&format!(
                "is not used: installed node type \"script\" 9.9.0 ({})",
                impostor.display()
            )),
        "{stderr}"
    );
}
