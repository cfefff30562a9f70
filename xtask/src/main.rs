//! Project tasks, run with `cargo xtask <task>` so they work wherever cargo works.
//!
//! - `build-plugins`: compile every plugin and test guest to a wasm32-wasip2 component.
//! - `test`: set up a fresh machine's needs, build the plugins, run every test.
//! - `run -- <mdc args>`: build the plugins, then run the `mdc` binary.
//! - `bench`: run the benchmarks.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const WASM_TARGET: &str = "wasm32-wasip2";
const PLUGIN_PROFILE: &str = "plugin";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match task {
        "build-plugins" => build_plugins(),
        "test" => test(),
        "run" => build_plugins().and_then(|()| run_mdc(rest)),
        "bench" => build_plugins().and_then(|()| cargo(&["bench", "--workspace"])),
        _ => {
            eprintln!("usage: cargo xtask <build-plugins | test | run -- <mdc args> | bench>");
            return if task == "help" {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask {task}: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of this crate).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Cargo's target folder (`CARGO_TARGET_DIR`, or `target/` in the workspace).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

fn cargo(args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(Command::new(cargo).args(args).current_dir(root()))
}

fn run(command: &mut Command) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|err| format!("cannot start {command:?}: {err}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed with {status}"))
    }
}

/// Installs the wasm target when rustup lacks it (a fresh machine).
fn ensure_wasm_target() -> Result<(), String> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|err| format!("cannot run rustup: {err}"))?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|line| line.trim() == WASM_TARGET)
    {
        return Ok(());
    }
    eprintln!("xtask: installing the {WASM_TARGET} target");
    run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
}

/// Package names of the component crates under one folder.
fn component_packages_in(folder: &str) -> Result<Vec<String>, String> {
    let dir = root().join(folder);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut manifests: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path().join("Cargo.toml"))
        .filter(|p| p.is_file())
        .collect();
    manifests.sort();
    let mut packages = Vec::new();
    for manifest in manifests {
        let text = std::fs::read_to_string(&manifest)
            .map_err(|err| format!("{}: {err}", manifest.display()))?;
        if text.contains("cdylib") {
            packages.push(package_name(&text, &manifest)?);
        }
    }
    Ok(packages)
}

/// Package names of every component crate (crate-type `cdylib`) under `plugins/` and
/// `runtime/tests/guests/`; shared guest libraries there are built as their dependencies.
fn component_packages() -> Result<Vec<String>, String> {
    let mut packages = component_packages_in("plugins")?;
    packages.extend(component_packages_in("runtime/tests/guests")?);
    Ok(packages)
}

fn package_name(text: &str, manifest: &Path) -> Result<String, String> {
    let mut in_package = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package && let Some(value) = line.strip_prefix("name") {
            let value = value
                .trim_start()
                .trim_start_matches('=')
                .trim()
                .trim_matches('"');
            return Ok(value.to_string());
        }
    }
    Err(format!("{}: no [package] name", manifest.display()))
}

fn build_plugins() -> Result<(), String> {
    ensure_wasm_target()?;
    let packages = component_packages()?;
    let mut args = vec![
        "build",
        "--target",
        WASM_TARGET,
        "--profile",
        PLUGIN_PROFILE,
    ];
    for package in &packages {
        args.extend(["-p", package.as_str()]);
    }
    cargo(&args)?;
    // First-party node types, ready to load: target/plugins/<type>.wasm.
    let built = target_dir().join(WASM_TARGET).join(PLUGIN_PROFILE);
    let shelf = target_dir().join("plugins");
    std::fs::create_dir_all(&shelf).map_err(|err| format!("{}: {err}", shelf.display()))?;
    for package in component_packages_in("plugins")? {
        let from = built.join(format!("{}.wasm", package.replace('-', "_")));
        let to = shelf.join(format!("{package}.wasm"));
        std::fs::copy(&from, &to).map_err(|err| format!("copy {}: {err}", from.display()))?;
    }
    Ok(())
}

fn run_mdc(args: &[String]) -> Result<(), String> {
    // What users run: the optimised build (the draft renderer and the engine are several
    // times faster than in a debug build).
    let mut full = vec!["run", "--quiet", "--release", "-p", "mdc", "--"];
    full.extend(args.iter().map(String::as_str));
    cargo(&full)
}

fn test() -> Result<(), String> {
    build_plugins()?;
    ensure_postgres();
    let s3 = S3Server::start()?;
    let cargo_path = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let tested = run(Command::new(cargo_path)
        .args(["test", "--workspace", "--no-fail-fast"])
        .current_dir(root())
        .env("MDC_TEST_S3_ENDPOINT", &s3.endpoint));
    drop(s3);
    tested?;
    scaffold_check()
}

/// Starts the machine's PostgreSQL when its port is closed (the tests fail, not skip, without it).
fn ensure_postgres() {
    if std::net::TcpStream::connect(("127.0.0.1", 5432)).is_ok() {
        return;
    }
    eprintln!("xtask: PostgreSQL is not listening on 127.0.0.1:5432; trying to start it");
    let versions =
        std::fs::read_dir("/etc/postgresql").map(|d| d.filter_map(Result::ok).collect::<Vec<_>>());
    for version in versions.unwrap_or_default() {
        let version = version.file_name().to_string_lossy().into_owned();
        let _ = Command::new("pg_ctlcluster")
            .args(["--skip-systemctl-redirect", &version, "main", "start"])
            .status();
    }
}

/// An S3-compatible server (moto) on a free local port, stopped when dropped.
struct S3Server {
    child: std::process::Child,
    endpoint: String,
}

impl S3Server {
    fn start() -> Result<S3Server, String> {
        let has_moto = Command::new("python3")
            .args(["-c", "import moto.server, flask"])
            .status()
            .is_ok_and(|status| status.success());
        if !has_moto {
            eprintln!("xtask: installing the moto S3 server (pip)");
            run(Command::new("python3").args(["-m", "pip", "install", "--quiet", "moto[server]"]))?;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|err| format!("no free port: {err}"))?
            .port();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|err| format!("cannot start moto: {err}"))?;
        let server = S3Server {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..300 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(server);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Err("the moto S3 server did not start within 30 s".into())
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `mdc plugin new` must produce a crate that builds to a component and passes its own test.
fn scaffold_check() -> Result<(), String> {
    let dir = target_dir().join("scaffold-check");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    let plugin_dir = dir.join("hello-node");
    let plugin_dir_text = plugin_dir.to_string_lossy().into_owned();
    let mdc = mdc_built_by_tests()?;
    run(Command::new(&mdc).args(["plugin", "new", "hello-node", "--path", &plugin_dir_text]))?;
    let target_dir = target_dir();
    let in_plugin = |args: &[&str]| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        run(Command::new(cargo)
            .args(args)
            .current_dir(&plugin_dir)
            .env("CARGO_TARGET_DIR", &target_dir))
    };
    in_plugin(&["test", "--quiet"])?;
    in_plugin(&["build", "--quiet", "--target", WASM_TARGET, "--release"])?;
    let component = target_dir.join(WASM_TARGET).join("release/hello_node.wasm");
    let component_text = component.to_string_lossy().into_owned();
    run(Command::new(&mdc).args([
        "plugin",
        "run",
        &component_text,
        "--out",
        &dir.join("out").to_string_lossy(),
    ]))
}

/// The `mdc` binary `cargo test --workspace` just built for the integration tests. Running
/// it, rather than `cargo run -p mdc`, spares a second build of the engine with the features
/// of `mdc` alone (about ten minutes on two cores).
fn mdc_built_by_tests() -> Result<PathBuf, String> {
    let mdc = target_dir()
        .join("debug")
        .join(format!("mdc{}", std::env::consts::EXE_SUFFIX));
    if mdc.is_file() {
        Ok(mdc)
    } else {
        Err(format!(
            "{} is missing: the scaffold check runs after `cargo test --workspace`",
            mdc.display()
        ))
    }
}
