//! Invariants of ARCHITECTURE.md that the source itself can prove, checked on every test run.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                found.push(path);
            }
        }
    }
    found
}

/// Lines of code (not comments) in `files` that name `word`, as `file:line`.
fn code_naming(files: &[PathBuf], word: &str) -> Vec<String> {
    let mut hits = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if code.contains(word) {
                hits.push(format!("{}:{}", file.display(), number + 1));
            }
        }
    }
    hits
}

/// The `[dependencies]` section of a manifest.
fn dependencies(manifest: &Path) -> String {
    let text = std::fs::read_to_string(manifest).unwrap();
    let start = text
        .find("[dependencies]")
        .expect("a [dependencies] section");
    let rest = &text[start + "[dependencies]".len()..];
    rest[..rest.find("\n[").unwrap_or(rest.len())].to_string()
}

#[test]
fn wasmtime_never_leaves_the_engine() {
    let root = workspace();
    let engine = root.join("runtime/src/plugin/engine");
    let mut outside: Vec<PathBuf> = rust_files(&root.join("runtime/src"))
        .into_iter()
        .filter(|file| !file.starts_with(&engine))
        .collect();
    for (_, folder, _) in HOST_CRATES {
        outside.extend(rust_files(&root.join(folder).join("src")));
    }
    outside.extend(rust_files(&root.join("sdk/src")));
    assert!(outside.len() > 20, "the sources were found");
    let hits = code_naming(&outside, "wasmtime");
    assert!(
        hits.is_empty(),
        "wasmtime named outside plugin::engine: {hits:?}"
    );
}

#[test]
fn the_runtime_has_no_server_storage_or_http_client_dependencies() {
    let deps = dependencies(&workspace().join("runtime/Cargo.toml"));
    for forbidden in ["sqlx", "axum", "reqwest", "hyper", "aws-sdk", "mdc-store"] {
        assert!(
            !deps.contains(forbidden),
            "the runtime depends on {forbidden}, which belongs to the host"
        );
    }
}

#[test]
fn the_sdk_depends_on_nothing_of_ours_but_the_contract() {
    let deps = dependencies(&workspace().join("sdk/Cargo.toml"));
    for forbidden in ["mdc-runtime", "mdc-store", "mdc ", "wasmtime"] {
        assert!(!deps.contains(forbidden), "the SDK depends on {forbidden}");
    }
}

/// The product's crates above the runtime, their folders and the crates of ours each may
/// depend on: ARCHITECTURE.md's table of `host/`.
const HOST_CRATES: [(&str, &str, &[&str]); 6] = [
    ("mdc-wire", "host/wire", &["mdc-runtime"]),
    ("mdc-store", "host/store", &[]),
    (
        "mdc-library",
        "host/library",
        &["mdc-runtime", "mdc-store", "mdc-wire", "asset-kinds"],
    ),
    ("mdc-outbound", "host/outbound", &["mdc-runtime"]),
    (
        "mdc-production",
        "host/production",
        &[
            "mdc-runtime",
            "mdc-store",
            "mdc-wire",
            "mdc-library",
            "mdc-outbound",
        ],
    ),
    (
        "mdc",
        "host",
        &[
            "mdc-runtime",
            "mdc-store",
            "mdc-wire",
            "mdc-library",
            "mdc-outbound",
            "mdc-production",
        ],
    ),
];

/// Every crate of ours a host crate might name.
const OURS: [&str; 8] = [
    "mdc-runtime",
    "mdc-store",
    "mdc-wire",
    "mdc-library",
    "mdc-outbound",
    "mdc-production",
    "mdc-sdk",
    "asset-kinds",
];

#[test]
fn host_crates_depend_only_downward() {
    for (name, folder, allowed) in HOST_CRATES {
        let manifest = workspace().join(folder).join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        assert!(
            text.contains(&format!("name = \"{name}\"")),
            "{folder} is {name}"
        );
        let deps = dependencies(&manifest);
        let named: Vec<&str> = deps
            .lines()
            .filter_map(|line| line.split(['.', ' ', '=']).next())
            .filter(|dep| OURS.contains(dep))
            .collect();
        for dep in &named {
            assert!(
                allowed.contains(dep),
                "{name} depends on {dep}; ARCHITECTURE.md allows only {allowed:?}"
            );
        }
    }
}

#[test]
fn the_queue_and_generations_run_on_the_database_clock() {
    let sql = workspace().join("host/store/src/sql");
    let files: Vec<PathBuf> = ["queue.rs", "batch.rs", "generations.rs"]
        .iter()
        .map(|name| sql.join(name))
        .collect();
    for clock in ["now_millis", "local_now", "SystemTime", "Instant::now"] {
        let hits = code_naming(&files, clock);
        assert!(
            hits.is_empty(),
            "the queue compares times of several machines and must use the database's clock \
             (`Backend::now_sql`, `SqlStore::db_now`), not `{clock}`: {hits:?}"
        );
    }
}
