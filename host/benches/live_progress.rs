//! How fast a backend's progress reaches the node's host:
//! `cargo xtask build-plugins && cargo bench -p mdc --bench live_progress`.
//!
//! The faithful fake ComfyUI of the pipeline tests runs prompts whose KSampler reports every
//! step on the WebSocket (no throttling). The first-party `comfyui` component runs in the
//! sandbox with the host's real services (`TerminalServices`: its HTTP client and WebSocket
//! client, output folder and preview saving), and the latency of each step is the time from
//! the fake writing the `progress` frame to its socket to the host's progress callback
//! receiving `step N/M on KSampler`. Prints p50, p95 and max in markdown for BENCHMARKS.md.
//!
//! `MDC_BENCH_RUNS` prompts (default 5) of `MDC_BENCH_STEPS` steps (default 40) of
//! `MDC_BENCH_STEP_MS` ms each (default 25); `MDC_BENCH_VERBOSE=1` lists every frame slower
//! than 10 ms.

#[path = "../tests/pipelines/support.rs"]
mod support;

#[allow(dead_code)]
#[path = "../tests/pipelines/fake_comfyui.rs"]
mod fake_comfyui;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use mdc::local_services::TerminalServices;
use mdc_outbound::{HttpClient, HttpSettings};
use mdc_runtime::plugin::types::{
    HttpError, NodeInput, ParamEntry, ParamValue, QualityTier, SocketMessage, SocketRequest,
};
use mdc_runtime::plugin::{
    CallContext, EngineConfig, Grants, HostServices, PluginEngine, ServicesLayer, SocketStream,
};

use fake_comfyui::{FakeComfyUi, Options, default_workflow};

/// The terminal services, with the moment of every progress callback recorded, and of every
/// `progress` frame the host's socket handed to the runtime (`step N/M`).
struct Timed {
    inner: TerminalServices,
    progress: Mutex<Vec<(Instant, String)>>,
    arrivals: Arc<Mutex<Vec<(Instant, String)>>>,
}

/// A socket of the host's client, timing the `progress` frames it hands on.
struct TimedSocket {
    inner: Box<dyn SocketStream>,
    arrivals: Arc<Mutex<Vec<(Instant, String)>>>,
}

#[async_trait::async_trait]
impl SocketStream for TimedSocket {
    async fn send(&mut self, message: SocketMessage) -> Result<(), HttpError> {
        self.inner.send(message).await
    }

    async fn receive(&mut self) -> Result<Result<SocketMessage, Option<String>>, HttpError> {
        let received = self.inner.receive().await;
        if let Ok(Ok(SocketMessage::Text(text))) = &received
            && let Ok(event) = serde_json::from_str::<serde_json::Value>(text)
            && event["type"] == "progress"
        {
            let step = format!("step {}/{}", event["data"]["value"], event["data"]["max"]);
            self.arrivals.lock().unwrap().push((Instant::now(), step));
        }
        received
    }
}

#[async_trait::async_trait]
impl ServicesLayer for Timed {
    fn inner(&self) -> &dyn HostServices {
        &self.inner
    }

    fn progress(&self, fraction: f32, message: &str) {
        let at = Instant::now();
        self.progress.lock().unwrap().push((at, message.to_owned()));
        self.inner.progress(fraction, message);
    }

    async fn socket_connect(
        &self,
        request: SocketRequest,
    ) -> Result<Box<dyn SocketStream>, HttpError> {
        let inner = self.inner.socket_connect(request).await?;
        Ok(Box::new(TimedSocket {
            inner,
            arrivals: Arc::clone(&self.arrivals),
        }))
    }
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One frame's way, in milliseconds: in all, from the fake to the host's socket handing it to
/// the runtime, and from there through the guest to the progress callback.
#[derive(Clone, Copy)]
struct Latency {
    total: f64,
    socket: f64,
    guest: f64,
}

/// A table row: its label and the part of a frame's latency it shows.
type Row = (&'static str, fn(&Latency) -> f64);

/// The `p`th percentile (0–100) of sorted `values`.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn main() {
    let runs = setting("MDC_BENCH_RUNS", 5);
    let steps = setting("MDC_BENCH_STEPS", 40) as u32;
    let step_ms = setting("MDC_BENCH_STEP_MS", 25);
    let verbose = std::env::var_os("MDC_BENCH_VERBOSE").is_some();
    let component = support::plugin_path("comfyui");
    let fake = FakeComfyUi::with(Options {
        steps,
        step: Duration::from_millis(step_ms),
        throttle: Duration::ZERO,
        ..Options::default()
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let out = tempfile::tempdir().expect("a temporary folder");
    let latencies = runtime.block_on(async {
        let engine = PluginEngine::new(EngineConfig::default()).expect("engine");
        let plugin = engine.load_file(&component).await.expect("comfyui loads");
        let settings =
            HttpSettings::new(Duration::from_secs(60), plugin.limits().http_response_bytes);
        let services = Arc::new(Timed {
            inner: TerminalServices::new(
                out.path().to_path_buf(),
                ProgressBar::hidden(),
                HttpClient::new(&settings).expect("HTTP client"),
            ),
            progress: Mutex::new(Vec::new()),
            arrivals: Arc::default(),
        });
        let mut latencies = Vec::new();
        for run in 0..runs {
            services.progress.lock().unwrap().clear();
            services.arrivals.lock().unwrap().clear();
            let input = node_input(fake.url(), run);
            let grants = Grants::none().allow_origin(fake.url()).expect("origin");
            let context = CallContext::new(services.clone()).with_grants(grants);
            plugin
                .execute(&input, context)
                .await
                .unwrap_or_else(|err| panic!("run {run} failed: {err}"));
            let prompt = fake.prompt_ids()[run as usize].clone();
            let received = services.progress.lock().unwrap().clone();
            let arrivals = services.arrivals.lock().unwrap().clone();
            for sent in fake
                .progress_sent()
                .iter()
                .filter(|p| p.prompt_id == prompt)
            {
                let step = format!("step {}/{}", sent.value, sent.max);
                let message = format!("{step} on KSampler");
                let (at, _) = received
                    .iter()
                    .find(|(_, m)| *m == message)
                    .unwrap_or_else(|| panic!("{message:?} never reached the host"));
                let (arrived, _) = arrivals
                    .iter()
                    .find(|(_, s)| *s == step)
                    .unwrap_or_else(|| panic!("{step} never reached the host's socket"));
                let ms =
                    |from: Instant, to: Instant| to.duration_since(from).as_secs_f64() * 1000.0;
                let latency = Latency {
                    total: ms(sent.at, *at),
                    socket: ms(sent.at, *arrived),
                    guest: ms(*arrived, *at),
                };
                if verbose && latency.total > 10.0 {
                    eprintln!(
                        "run {run}: {step} took {:.1} ms (written by the fake after {:.1} ms, \
                         {:.1} ms to the host's socket, {:.1} ms from there)",
                        latency.total,
                        ms(sent.at, sent.written),
                        latency.socket,
                        latency.guest
                    );
                }
                latencies.push(latency);
            }
        }
        latencies
    });
    print(&component, runs, steps, step_ms, latencies);
}

/// The comfyui node's input: the fake's endpoint, the default workflow, seed `run`.
fn node_input(endpoint: &str, run: u64) -> NodeInput {
    let param = |id: &str, value: ParamValue| ParamEntry {
        id: id.to_owned(),
        value,
    };
    NodeInput {
        node_id: "bench".into(),
        params: vec![
            param("endpoint", ParamValue::Text(endpoint.to_owned())),
            param("workflow", ParamValue::Json(default_workflow().to_string())),
            param("prompt", ParamValue::Text("a lighthouse in a storm".into())),
            param("expose", ParamValue::Json("{}".into())),
            param("values", ParamValue::Json("{}".into())),
        ],
        inputs: Vec::new(),
        tier: QualityTier::Standard,
        seed: run,
    }
}

fn print(component: &Path, runs: u64, steps: u32, step_ms: u64, latencies: Vec<Latency>) {
    assert!(!latencies.is_empty(), "no progress frame was measured");
    println!(
        "`{}`: {runs} prompts × {steps} steps of {step_ms} ms, every step on the WebSocket\n",
        component.file_name().unwrap_or_default().to_string_lossy()
    );
    println!("| ComfyUI `progress` frame written → | frames | p50 | p95 | max |");
    println!("|---|---:|---:|---:|---:|");
    let rows: [Row; 3] = [
        ("`HostServices::progress` (in all)", |l| l.total),
        ("the host's socket hands it to the runtime", |l| l.socket),
        (
            "… then through the guest to `HostServices::progress`",
            |l| l.guest,
        ),
    ];
    for (label, part) in rows {
        let mut values: Vec<f64> = latencies.iter().map(part).collect();
        values.sort_by(f64::total_cmp);
        println!(
            "| {label} | {} | {:.2} ms | {:.2} ms | {:.2} ms |",
            values.len(),
            percentile(&values, 50.0),
            percentile(&values, 95.0),
            values[values.len() - 1]
        );
    }
}
