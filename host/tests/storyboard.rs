//! `mdc storyboard` end to end: the real binary, the real plugins (built by
//! `cargo xtask build-plugins` into `target/plugins`), SQLite and a local object folder.

use std::path::Path;
use std::process::{Command, Output};

use mdc_store::{GraphStore, Page, ProjectStore, SqlStore};
use serde_json::Value as Json;

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

/// A screenplay from the script node's fixtures.
fn screenplay(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/script/tests/fixtures")
        .join(name);
    std::fs::read_to_string(path).expect("fixture screenplay")
}

fn fixture() -> String {
    screenplay("the-last-ferry.fountain")
}

/// Runs `mdc storyboard SCRIPT --out OUT`, which must succeed; its stdout.
fn storyboard(data: &Path, script: &Path, out: &Path) -> String {
    let output = mdc(
        data,
        &[
            "storyboard",
            script.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(
        output.status.success(),
        "{}\n{}",
        stdout(&output),
        String::from_utf8_lossy(&output.stderr)
    );
    stdout(&output)
}

/// The latest graph `mdc storyboard` saved for `project`, as stored.
fn saved_graph(data: &Path, project: &str) -> Json {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = SqlStore::open_sqlite(&data.join("mdc.db")).await.unwrap();
        let project = store
            .list_projects(Page::default())
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.name == project)
            .expect("the project exists");
        let version = store
            .latest_graph(&project.id)
            .await
            .unwrap()
            .expect("a saved graph");
        store.close().await;
        serde_json::from_str(&version.snapshot).unwrap()
    })
}

/// Mean brightness (0–255) of a PNG frame.
fn brightness(path: &Path) -> f64 {
    let frame = image::open(path)
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
        .to_luma8();
    frame.pixels().map(|p| f64::from(p.0[0])).sum::<f64>() / frame.pixels().len() as f64
}

#[test]
fn storyboards_a_screenplay_and_regenerates_only_what_changed() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let script = work.path().join("ferry.fountain");
    let out = work.path().join("out");
    std::fs::write(&script, fixture()).unwrap();

    let text = storyboard(&data, &script, &out);
    // The four who speak are the cast; the MARGARET in capitals is a boat.
    assert!(
        text.contains(
            "5 scenes, 28 shots: 28 new, 0 updated, 0 removed, 0 unchanged; 4 characters (4 new)"
        ),
        "{text}"
    );
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
    // The ticket booth scene is CONTINUOUS after the NIGHT at the harbour: it
    // keeps the night, and its label (which names its folder) says so.
    assert!(
        out.join("2-int-ticket-booth-continuous-night").is_dir(),
        "the continuing scene names the night it keeps"
    );

    let text = storyboard(&data, &script, &out);
    assert!(text.contains("28 shots: 0 generated, 28 reused."), "{text}");

    let edited = fixture().replacen(
        "Rain needles the black water.",
        "Rain hammers the black water.",
        1,
    );
    assert_ne!(edited, fixture(), "the edit applies to the fixture");
    std::fs::write(&script, edited).unwrap();
    let text = storyboard(&data, &script, &out);
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

#[test]
fn a_numbered_shooting_script_keeps_its_scenes_times_and_cast() {
    // Scene numbers in the margins as screenwriting tools export them, both
    // forms (`1.    INT. TAXI - NIGHT` and `2     EXT. HARBOUR - CONTINUOUS     2`),
    // a CONTINUOUS and a MOMENTS LATER scene after a NIGHT one, and OLD JONAS,
    // who never speaks and is only named in the action.
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let script = work.path().join("shooting-script.txt");
    let out = work.path().join("out");
    std::fs::write(&script, screenplay("shooting-script.txt")).unwrap();

    let text = storyboard(&data, &script, &out);
    assert!(
        text.contains(
            "4 scenes, 7 shots: 7 new, 0 updated, 0 removed, 0 unchanged; 3 characters (3 new)"
        ),
        "{text}"
    );
    assert!(
        text.contains("7 shots: 7 generated, 0 reused. 11 files written"),
        "{text}"
    );

    // One folder per scene, named by the script's own scene numbers; the
    // continuing scenes say they happen at night.
    let mut folders: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    assert_eq!(
        folders,
        [
            "1-int-taxi-night",
            "2-ext-harbour-continuous-night",
            "2a-ext-pier-moments-later-night",
            "3-int-ext-taxi-moving-day",
        ]
    );

    // And they are drawn at night: as dark as the NIGHT scene, darker than the DAY one.
    let frame = |scene: &str, shot: &str| brightness(&out.join(scene).join(shot));
    let night = frame("1-int-taxi-night", "shot-1-1.png");
    let day = frame("3-int-ext-taxi-moving-day", "shot-3-1.png");
    let continuous = frame("2-ext-harbour-continuous-night", "shot-2-1.png");
    let later = frame("2a-ext-pier-moments-later-night", "shot-2a-1.png");
    assert!(night < day, "night {night:.1}, day {day:.1}");
    for (what, brightness) in [("CONTINUOUS", continuous), ("MOMENTS LATER", later)] {
        assert!(
            (brightness - night).abs() < (brightness - day).abs(),
            "{what} {brightness:.1}, night {night:.1}, day {day:.1}"
        );
    }

    // The cast: the two who speak and Old Jonas; the sounds in capitals
    // (CRACKLES, BANG!, BLARING) are nobody.
    let graph = saved_graph(&data, "shooting-script");
    let mut characters: Vec<&str> = graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == "character")
        .map(|n| n["label"].as_str().unwrap())
        .collect();
    characters.sort();
    assert_eq!(characters, ["Maya", "Old Jonas", "Samir"]);
    let wired_into = |shot: &str| -> Vec<&str> {
        let mut wired: Vec<&str> = graph["edges"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["target"] == shot && e["targetHandle"] == "characters")
            .map(|e| e["source"].as_str().unwrap())
            .collect();
        // The store keeps edges in no particular order.
        wired.sort();
        wired
    };
    // Named in action, he is in the shots that name him, beside whoever else is.
    assert_eq!(
        wired_into("scene-1-ext-harbour-continuous-shot-1"),
        ["character-maya", "character-old-jonas"]
    );
    assert_eq!(
        wired_into("scene-1-ext-pier-moments-later-shot-1"),
        ["character-old-jonas", "character-samir"]
    );
    assert_eq!(
        wired_into("scene-1-int-taxi-night-shot-1"),
        ["character-maya", "character-samir"]
    );
}
