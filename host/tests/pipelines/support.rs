//! What every pipeline test needs: the `mdc` binary and the built plugin components, a
//! `mdc plugin run` / `mdc plugin validate` helper, a local HTTP server that can be killed
//! to play a backend that dies, and real PNG bytes.

#![allow(dead_code)] // Each test module uses its own subset.

use std::io::Cursor;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::thread::JoinHandle;

use axum::serve::ListenerExt;
use serde_json::Value as Json;
use tokio::sync::Notify;

/// The `mdc` binary under test.
pub fn mdc() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_mdc"))
}

/// The first-party component `type_id` as `cargo xtask build-plugins` leaves it:
/// `target/plugins/<type_id>.wasm`, beside the binary's profile folder (where
/// `mdc storyboard` looks too). Panics with the command to run when it is missing.
pub fn plugin_path(type_id: &str) -> PathBuf {
    let path = mdc()
        .parent()
        .and_then(Path::parent)
        .expect("the mdc binary lives in target/<profile>/")
        .join("plugins")
        .join(format!("{type_id}.wasm"));
    assert!(
        path.is_file(),
        "{} is missing; run `cargo xtask build-plugins` first",
        path.display()
    );
    path
}

/// The data folder shared by every test of this binary, so compiled components are
/// cached once (the code cache writes atomically, so parallel tests may share it).
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("pipelines-mdc-data")
}

/// The `mdc plugin <verb> COMPONENT --params … --inputs … --tier …` command line.
fn plugin_command(
    verb: &str,
    component: &Path,
    params: &Json,
    inputs: &Json,
    tier: &str,
) -> Command {
    let mut command = Command::new(mdc());
    command
        .arg("--data-dir")
        .arg(data_dir())
        .args(["plugin", verb])
        .arg(component)
        .arg("--params")
        .arg(params.to_string())
        .arg("--inputs")
        .arg(inputs.to_string())
        .args(["--tier", tier])
        .env("MDC_LOG", "error");
    command
}

/// The `mdc plugin run` command for these arguments; `grants` are origins for
/// `--grant-http`, outputs go to `out_dir`.
pub fn run_command(
    component: &Path,
    params: &Json,
    inputs: &Json,
    tier: &str,
    grants: &[&str],
    out_dir: &Path,
) -> Command {
    let mut command = plugin_command("run", component, params, inputs, tier);
    command.arg("--out").arg(out_dir);
    for origin in grants {
        command.args(["--grant-http", origin]);
    }
    command
}

/// Runs `mdc plugin run` to the end and returns what it printed.
pub fn run_plugin(
    component: &Path,
    params: &Json,
    inputs: &Json,
    tier: &str,
    grants: &[&str],
    out_dir: &Path,
) -> Output {
    run_command(component, params, inputs, tier, grants, out_dir)
        .output()
        .expect("mdc runs")
}

/// Starts `mdc plugin run` without waiting (stdout and stderr piped), for tests that
/// act while it runs (cancel it, kill its backend).
pub fn spawn_plugin(
    component: &Path,
    params: &Json,
    inputs: &Json,
    tier: &str,
    grants: &[&str],
    out_dir: &Path,
) -> Child {
    run_command(component, params, inputs, tier, grants, out_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mdc starts")
}

/// Sends SIGINT (what Ctrl-C sends) to a running `mdc`, which cancels the execution.
pub fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -INT {} failed", child.id());
}

/// Runs `mdc plugin validate` and returns what it printed (exit status 1 when it found errors).
pub fn validate_plugin(component: &Path, params: &Json, inputs: &Json, tier: &str) -> Output {
    plugin_command("validate", component, params, inputs, tier)
        .output()
        .expect("mdc runs")
}

/// Everything the command printed: stdout, then stderr.
pub fn printed(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Asserts that the command succeeded, showing what it printed when not.
pub fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "mdc failed ({}):\n{}",
        output.status,
        printed(output)
    );
}

/// Asserts that the command failed, showing what it printed when not; returns the text.
pub fn assert_failure(output: &Output) -> String {
    let text = printed(output);
    assert!(!output.status.success(), "mdc should have failed:\n{text}");
    text
}

/// `outputs.json` that `mdc plugin run` wrote into `out_dir`.
pub fn outputs_json(out_dir: &Path) -> Json {
    let path = out_dir.join("outputs.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    serde_json::from_str(&text).expect("outputs.json is JSON")
}

/// The values on output `port` in `outputs.json`, in order.
pub fn output_values(outputs: &Json, port: &str) -> Vec<Json> {
    outputs["values"]
        .as_array()
        .expect("outputs.json has values")
        .iter()
        .filter(|v| v["port"] == port)
        .map(|v| v["value"].clone())
        .collect()
}

/// The bytes of the file behind an asset value `{"asset": "output-1", "mime": …}` that
/// `mdc plugin run` saved in `out_dir` (`output-1.png`).
pub fn asset_bytes(out_dir: &Path, value: &Json) -> Vec<u8> {
    let id = value["asset"].as_str().expect("an asset value");
    let file = std::fs::read_dir(out_dir)
        .expect("out dir exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.file_stem().is_some_and(|s| s == id))
        .unwrap_or_else(|| panic!("no file for asset {id} in {}", out_dir.display()));
    std::fs::read(file).expect("asset file is readable")
}

/// A deterministic `w`×`h` RGB PNG: a gradient and a pattern both derived from `seed`.
pub fn png_bytes(w: u32, h: u32, seed: u64) -> Vec<u8> {
    let mix = |x: u64| {
        // SplitMix64 finaliser: different seeds, visibly different images.
        let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let base = mix(seed);
    let image = image::RgbImage::from_fn(w, h, |x, y| {
        let cell = mix(base ^ (u64::from(x / 8) << 32 | u64::from(y / 8)));
        let r = (base as u32).wrapping_add(x * 255 / w.max(1)) as u8;
        let g = ((base >> 8) as u32).wrapping_add(y * 255 / h.max(1)) as u8;
        let b = (cell & 0xFF) as u8;
        image::Rgb([r, g, b])
    });
    let mut bytes = Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, image::ImageFormat::Png)
        .expect("PNG encodes");
    bytes.into_inner()
}

/// Stops a [`TestServer`]; clones may be handed to the server's own handlers, so a fake
/// backend can die in the middle of a job.
#[derive(Clone, Default)]
pub struct Killer(Arc<Notify>);

impl Killer {
    /// A killer not yet attached to a server.
    pub fn new() -> Killer {
        Killer::default()
    }

    /// Stops the server: the port closes and open connections are dropped. Works from
    /// any thread, inside the server's own handlers too, and before the server started.
    pub fn kill(&self) {
        self.0.notify_one();
    }
}

/// An HTTP server on `127.0.0.1` with its own tokio runtime on a background thread.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`, the origin to grant.
    pub base_url: String,
    /// The bound address.
    pub addr: SocketAddr,
    killer: Killer,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// A handle that stops this server.
    pub fn killer(&self) -> Killer {
        self.killer.clone()
    }

    /// Stops the server and waits until the port is closed and every connection dropped;
    /// later requests are refused, as from a backend that crashed.
    pub fn kill(&mut self) {
        self.killer.kill();
        if let Some(thread) = self.thread.take() {
            thread.join().expect("server thread ends cleanly");
        }
    }

    /// Whether the server is still accepting connections.
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Serves `router` on a free port of 127.0.0.1 until the returned server is killed or dropped.
pub fn serve(router: axum::Router) -> TestServer {
    serve_killable(router, Killer::new())
}

/// Like [`serve`], stopped by `killer` (which the router's handlers may hold).
pub fn serve_killable(router: axum::Router, killer: Killer) -> TestServer {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.set_nonblocking(true).expect("non-blocking socket");
    let addr = listener.local_addr().expect("bound address");
    let signal = killer.clone();
    let thread = std::thread::Builder::new()
        .name(format!("test-server-{}", addr.port()))
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                // Python's asyncio, under ComfyUI's aiohttp and Gradio's uvicorn, turns
                // Nagle's algorithm off on every connection; so do the stand-ins, or small
                // WebSocket frames would wait for the client's delayed acknowledgements.
                let listener = listener.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                });
                let server = axum::serve(listener, router);
                tokio::select! {
                    result = server => result.expect("server runs"),
                    () = signal.0.notified() => {}
                }
            });
            // Drops the listener and every connection task at once: a crash, not a shutdown.
            runtime.shutdown_background();
        })
        .expect("server thread starts");
    TestServer {
        base_url: format!("http://{addr}"),
        addr,
        killer,
        thread: Some(thread),
    }
}

/// Waits up to `seconds` for `condition`, checking every 20 ms; true when it held.
pub fn eventually(seconds: f64, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs_f64(seconds);
    loop {
        if condition() {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// What a command printed, with the moment each stderr line arrived and when it exited.
pub struct Watched {
    /// Exit status, stdout and stderr, as [`Command::output`] gives them.
    pub output: Output,
    /// Every stderr line with the moment it was read.
    pub lines: Vec<(std::time::Instant, String)>,
    /// When the process had exited.
    pub ended: std::time::Instant,
}

impl Watched {
    /// When the first stderr line containing `text` arrived.
    pub fn first(&self, text: &str) -> Option<std::time::Instant> {
        self.lines
            .iter()
            .find(|(_, line)| line.contains(text))
            .map(|(at, _)| *at)
    }

    /// The stderr lines containing `text`.
    pub fn matching(&self, text: &str) -> Vec<&str> {
        self.lines
            .iter()
            .filter(|(_, line)| line.contains(text))
            .map(|(_, line)| line.as_str())
            .collect()
    }
}

/// Runs `command` to the end, reading its stderr line by line as it is written.
pub fn run_watched(command: &mut Command) -> Watched {
    use std::io::{BufRead, Read};
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mdc starts");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        stdout.read_to_end(&mut bytes).expect("stdout is readable");
        bytes
    });
    let err_reader = std::thread::spawn(move || {
        std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .map(|line| (std::time::Instant::now(), line))
            .collect::<Vec<_>>()
    });
    let status = child.wait().expect("mdc ends");
    let ended = std::time::Instant::now();
    let lines = err_reader.join().expect("stderr reader");
    let stderr = lines
        .iter()
        .map(|(_, line)| format!("{line}\n"))
        .collect::<String>()
        .into_bytes();
    Watched {
        output: Output {
            status,
            stdout: out_reader.join().expect("stdout reader"),
            stderr,
        },
        lines,
        ended,
    }
}
