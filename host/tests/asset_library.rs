//! `mdc asset …` end to end: the real binary on a fresh data folder (SQLite and the local
//! object folder), with a graph saved into the same store to hold a reference.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mdc_store::{GraphStore, Page, ProjectStore, SqlStore};
use serde_json::json;
use sha2::{Digest, Sha256};

fn mdc(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mdc"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .envs(env.iter().copied())
        .env("MDC_LOG", "error")
        .output()
        .expect("mdc runs")
}

/// Stdout of a run that must succeed.
fn succeeds(output: Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Stderr of a run that must fail.
fn fails(output: Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !output.status.success(),
        "expected a failure:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    stderr
}

fn write_png(path: &Path, width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, 120])
    });
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    std::fs::write(path, bytes.get_ref()).unwrap();
    bytes.into_inner()
}

/// The id in `Added character “Maya” (ID).`
fn id_in(line: &str) -> String {
    let start = line.rfind('(').expect("an id in parentheses") + 1;
    let end = line.rfind(')').unwrap();
    line[start..end].to_string()
}

/// Saves a graph version with these nodes into the project, as the canvas would.
fn save_graph(data_dir: &Path, project: &str, nodes: serde_json::Value) {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = SqlStore::open_sqlite(&data_dir.join("mdc.db"))
            .await
            .unwrap();
        let project = store
            .list_projects(Page::default())
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.name == project)
            .expect("the project exists");
        let snapshot = json!({"nodes": nodes, "edges": []}).to_string();
        store
            .save_graph(&project.id, &snapshot, None, "test")
            .await
            .unwrap();
        store.close().await;
    });
}

fn object_path(data_dir: &Path, bytes: &[u8]) -> PathBuf {
    let sha = hex::encode(Sha256::digest(bytes));
    data_dir.join("objects/objects").join(&sha[..2]).join(sha)
}

#[test]
fn the_library_from_the_terminal() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let data = data.as_path();
    let portrait = work.path().join("maya.png");
    let bytes = write_png(&portrait, 600, 400);
    let project = "Harbour Lights";

    // Create a character with an image.
    let added = succeeds(mdc(
        data,
        &[
            "asset",
            "add",
            "character",
            "--project",
            project,
            "--name",
            "Maya",
            "--field",
            "age=34",
            "--field",
            "role=Lead",
            "--image",
            portrait.to_str().unwrap(),
        ],
        &[],
    ));
    assert!(added.starts_with("Added character “Maya” ("), "{added}");
    let id = id_in(added.trim());
    let sha = hex::encode(Sha256::digest(&bytes));
    assert!(
        id.len() >= 16 && id.chars().all(|c| c.is_ascii_alphanumeric()) && !sha.contains(&id),
        "an opaque id, not a path or a hash: {id}"
    );
    assert!(
        object_path(data, &bytes).exists(),
        "bytes under their content key"
    );

    // List and show: fields, sizes and a thumbnail of at most 256 px; never paths or keys.
    let listed = succeeds(mdc(data, &["asset", "list", "--kind", "character"], &[]));
    assert!(
        listed.contains(&id) && listed.contains("Maya") && listed.contains("PNG"),
        "{listed}"
    );
    let shown = succeeds(mdc(data, &["asset", "show", &id], &[]));
    assert!(shown.contains("image:     PNG, 600×400 pixels"), "{shown}");
    assert!(
        shown.contains("age: 34") && shown.contains("role: lead"),
        "{shown}"
    );
    let thumbnail = shown
        .lines()
        .find_map(|line| line.trim().strip_prefix("thumbnail: PNG, "))
        .expect("a thumbnail line");
    let (width, rest) = thumbnail.split_once('×').unwrap();
    let height = rest
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches(',');
    let (width, height): (u32, u32) = (width.parse().unwrap(), height.parse().unwrap());
    assert_eq!((width, height), (256, 171), "{shown}");
    for secret in ["objects/", &sha[..16], data.to_str().unwrap()] {
        assert!(
            !shown.contains(secret) && !listed.contains(secret),
            "{secret} leaked"
        );
    }

    // A text file named .png, and an upload over the limit, are refused.
    let notes = work.path().join("notes.png");
    std::fs::write(&notes, "INT. HARBOUR - NIGHT\nMaya waits.").unwrap();
    let refused = fails(mdc(
        data,
        &[
            "asset",
            "add",
            "image",
            "--project",
            project,
            "--name",
            "Notes",
            "--image",
            notes.to_str().unwrap(),
        ],
        &[],
    ));
    assert!(
        refused.contains("“notes.png” is not an image (PNG, JPEG or WebP)"),
        "{refused}"
    );
    let refused = fails(mdc(
        data,
        &[
            "asset",
            "add",
            "image",
            "--project",
            project,
            "--name",
            "Big",
            "--image",
            portrait.to_str().unwrap(),
        ],
        &[("MDC_MAX_UPLOAD_BYTES", "1000")],
    ));
    assert!(refused.contains("“maya.png” is "), "{refused}");
    assert!(
        refused.contains("but uploads are limited to 1000 bytes"),
        "{refused}"
    );
    let refused = fails(mdc(
        data,
        &[
            "asset",
            "add",
            "image",
            "--project",
            project,
            "--name",
            "Huge",
            "--image",
            portrait.to_str().unwrap(),
            "--max-image-pixels",
            "1000",
        ],
        &[],
    ));
    assert!(
        refused.contains(
            "“maya.png” is 600×400 pixels (0.2 megapixels) but images are limited to 1000 pixels"
        ),
        "{refused}"
    );
    let listed = succeeds(mdc(data, &["asset", "list", "--project", project], &[]));
    assert_eq!(listed.lines().count(), 2, "only the character:\n{listed}");

    // An update is visible on the next show, under the same id.
    let updated = succeeds(mdc(
        data,
        &[
            "asset",
            "update",
            &id,
            "--name",
            "Maya Reyes",
            "--field",
            "age=35",
            "--field",
            "role=",
        ],
        &[],
    ));
    assert!(updated.contains(&id), "{updated}");
    let shown = succeeds(mdc(data, &["asset", "show", &id], &[]));
    assert!(shown.starts_with("Maya Reyes (character)"), "{shown}");
    assert!(
        shown.contains("age: 35") && !shown.contains("role:"),
        "{shown}"
    );

    // Deleting is refused while a node of the saved graph references the asset.
    let node = |params: serde_json::Value| {
        json!([{
            "id": "maya", "type": "character", "version": "0.1.0",
            "position": {"x": 0.0, "y": 0.0}, "parent": null, "label": "Maya", "params": params,
        }])
    };
    save_graph(data, project, node(json!({"asset": {"asset_ref": id}})));
    let refused = fails(mdc(data, &["asset", "rm", &id], &[]));
    assert!(refused.contains("node “Maya” (maya)"), "{refused}");
    assert!(object_path(data, &bytes).exists());

    // Unused, it goes, and so do its bytes.
    save_graph(data, project, node(json!({"name": {"text": "Maya"}})));
    let deleted = succeeds(mdc(data, &["asset", "rm", &id], &[]));
    assert!(
        deleted.starts_with("Deleted character “Maya Reyes”"),
        "{deleted}"
    );
    assert!(!object_path(data, &bytes).exists(), "the bytes are gone");
    let files = walk(&data.join("objects"));
    assert!(files.is_empty(), "no bytes left: {files:?}");
    let missing = fails(mdc(data, &["asset", "show", &id], &[]));
    assert!(missing.contains("there is no asset"), "{missing}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}
