//! A small, faithful Gradio app shaped like a Wan2GP server: Gradio's documented HTTP API
//! with Gradio's answer shapes, and a `/generate` endpoint named and typed like Wan2GP's
//! generation settings.
//!
//! * `GET {prefix}/info` lists `/generate` and `/refresh_gallery` with their parameters
//!   (`parameter_name`, `parameter_has_default`, `parameter_default`, `component`) and returns.
//! * `POST {prefix}/upload` (multipart field `files`) stores the files and answers their
//!   server paths as a JSON array.
//! * `POST {prefix}/call/{api_name}` answers `{"event_id": …}`; an unknown name is 404.
//! * `GET {prefix}/call/{api_name}/{event_id}` answers a `text/event-stream` written as the
//!   job runs, as Gradio writes it: `heartbeat` at once, then `generating` events spread over
//!   the job's delay, each with the outputs so far (`[null, "Denoising: step 10/30"]`), then
//!   `complete` with a Video output (`{"video": FileData, "subtitles": null}`) and a status
//!   text, or `error` with a message.
//! * The job checks its `data` as Gradio's components would: the number of values, the
//!   resolution against the dropdown's choices, the start frame against the uploads (and
//!   that it decodes as an image); a mistake is an `error` event.
//! * `GET {prefix}/file={path}` serves generated and uploaded files.
//! * `{prefix}` is `/gradio_api` (Gradio 5) or empty (Gradio 4); the other routes are 404.
//! * Fault modes: every job ends in an `error` event (CUDA out of memory), the server dies
//!   mid-job (the stream ends after `generating` without a result and the server stops), or
//!   the queue is full (`POST /call/…` answers 503 `{"detail": "Queue is full."}`).
//!
//! The "video" is not a playable MP4: it is an `ftyp` box (what makes a file an MP4 to a
//! sniffer) and an `mdat` box of bytes derived from what the job was asked (prompt, seed,
//! resolution, frames, steps, start frame), so tests can check exactly what was generated.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use crate::support::{Killer, TestServer, serve_killable};

/// The API prefix of Gradio 5.
pub const MODERN: &str = "/gradio_api";

/// The resolutions the fake's dropdown offers (Wan2GP's 480p and 720p choices).
pub const RESOLUTIONS: [&str; 6] = [
    "832x480", "480x832", "624x624", "1280x720", "720x1280", "960x960",
];

/// What goes wrong on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Nothing.
    None,
    /// Every job ends with an `error` event.
    ErrorEvent,
    /// The first job's stream ends after `generating` without a result, and the server dies.
    DieMidJob,
    /// `POST /call/…` answers 503 "Queue is full.", as Gradio does when its queue is full.
    QueueFull,
}

/// How the fake behaves.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// `/gradio_api` or empty.
    pub prefix: &'static str,
    /// How long a job takes.
    pub delay: Duration,
    /// How many `generating` events a job sends, evenly spread over its delay.
    pub updates: u32,
    /// What goes wrong.
    pub fault: Fault,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            prefix: MODERN,
            delay: Duration::from_millis(300),
            updates: 3,
            fault: Fault::None,
        }
    }
}

/// One `POST /call/…` the fake accepted.
#[derive(Clone, Debug)]
pub struct Call {
    /// `generate`.
    pub api_name: String,
    /// The event id it answered.
    pub event_id: String,
    /// The `data` array received.
    pub data: Json,
}

#[derive(Default)]
struct Memory {
    requests: Vec<String>,
    calls: Vec<Call>,
    /// Uploaded and generated files by server path.
    files: HashMap<String, Vec<u8>>,
    /// Server paths of uploads, in order, with the names they were uploaded under.
    uploads: Vec<(String, String)>,
}

struct Shared {
    options: Options,
    memory: Mutex<Memory>,
    killer: Killer,
    base_url: Mutex<String>,
}

/// A running fake Wan2GP.
pub struct FakeGradio {
    /// The HTTP server.
    pub server: TestServer,
    shared: Arc<Shared>,
}

impl FakeGradio {
    /// Starts a fake with default options (`/gradio_api`, 300 ms jobs, no fault).
    pub fn start() -> FakeGradio {
        FakeGradio::with(Options::default())
    }

    /// Starts a fake with these options.
    pub fn with(options: Options) -> FakeGradio {
        let killer = Killer::new();
        let shared = Arc::new(Shared {
            options,
            memory: Mutex::default(),
            killer: killer.clone(),
            base_url: Mutex::default(),
        });
        let router = Router::new()
            .fallback(route)
            .with_state(Arc::clone(&shared));
        let server = serve_killable(router, killer);
        *shared.base_url.lock().unwrap() = server.base_url.clone();
        FakeGradio { server, shared }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.server.base_url
    }

    /// Every request as `METHOD /path`, in order.
    pub fn requests(&self) -> Vec<String> {
        self.shared.memory.lock().unwrap().requests.clone()
    }

    /// Every accepted call, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.memory.lock().unwrap().calls.clone()
    }

    /// The uploads: (server path, file name, bytes), in order.
    pub fn uploads(&self) -> Vec<(String, String, Vec<u8>)> {
        let memory = self.shared.memory.lock().unwrap();
        memory
            .uploads
            .iter()
            .map(|(path, name)| (path.clone(), name.clone(), memory.files[path].clone()))
            .collect()
    }
}

/// The `/generate` parameters: name, label, component, default (`None`: no default).
fn parameters() -> Vec<(&'static str, &'static str, &'static str, Option<Json>)> {
    vec![
        ("prompt", "Prompt", "Textbox", None),
        (
            "negative_prompt",
            "Negative Prompt",
            "Textbox",
            Some(json!("")),
        ),
        (
            "resolution",
            "Resolution",
            "Dropdown",
            Some(json!("832x480")),
        ),
        (
            "video_length",
            "Number of frames",
            "Slider",
            Some(json!(81)),
        ),
        (
            "num_inference_steps",
            "Number of Inference Steps",
            "Slider",
            Some(json!(30)),
        ),
        (
            "guidance_scale",
            "Guidance Scale",
            "Slider",
            Some(json!(5.0)),
        ),
        ("seed", "Seed (-1 for random)", "Number", Some(json!(-1))),
        ("image_start", "Start Image", "Image", Some(Json::Null)),
        ("model_type", "Model", "Dropdown", Some(json!("t2v_2_2"))),
        (
            "sample_solver",
            "Sampler Solver",
            "Dropdown",
            Some(json!("unipc")),
        ),
        ("flow_shift", "Shift Scale", "Slider", Some(json!(5.0))),
    ]
}

/// Index of a `/generate` parameter.
pub fn index_of(name: &str) -> usize {
    parameters()
        .iter()
        .position(|(n, ..)| *n == name)
        .unwrap_or_else(|| panic!("the fake has no parameter {name}"))
}

/// The `/info` answer.
fn info() -> Json {
    let params: Vec<Json> = parameters()
        .into_iter()
        .map(|(name, label, component, default)| {
            json!({
                "label": label,
                "parameter_name": name,
                "parameter_has_default": default.is_some(),
                "parameter_default": default.unwrap_or(Json::Null),
                "type": {"type": if component == "Textbox" || component == "Dropdown" { "string" } else { "number" }},
                "python_type": {"type": if component == "Image" { "filepath" } else { "str" }, "description": ""},
                "component": component,
                "example_input": Json::Null,
            })
        })
        .collect();
    json!({
        "named_endpoints": {
            "/generate": {
                "parameters": params,
                "returns": [
                    {"label": "Generated video", "type": {"type": "object"},
                     "python_type": {"type": "dict(video: filepath, subtitles: filepath | None)", "description": ""},
                     "component": "Video"},
                    {"label": "Status", "type": {"type": "string"},
                     "python_type": {"type": "str", "description": ""}, "component": "Textbox"}
                ],
                "show_api": true
            },
            "/refresh_gallery": {"parameters": [], "returns": [], "show_api": true}
        },
        "unnamed_endpoints": {}
    })
}

/// The bytes of the "video" generated for these settings (see the module docs).
pub fn fake_video(
    prompt: &str,
    seed: i64,
    resolution: &str,
    frames: i64,
    steps: i64,
    start: &[u8],
) -> Vec<u8> {
    let mut video = Vec::new();
    // ftyp: size 24, brand isom, minor version 0x200, compatible isom and iso2.
    video.extend_from_slice(&24u32.to_be_bytes());
    video.extend_from_slice(b"ftypisom");
    video.extend_from_slice(&0x200u32.to_be_bytes());
    video.extend_from_slice(b"isomiso2");
    let mut block = Sha256::new()
        .chain_update(prompt.as_bytes())
        .chain_update(seed.to_le_bytes())
        .chain_update(resolution.as_bytes())
        .chain_update(frames.to_le_bytes())
        .chain_update(steps.to_le_bytes())
        .chain_update(start)
        .finalize()
        .to_vec();
    let mut mdat = Vec::new();
    while mdat.len() < 4096 {
        mdat.extend_from_slice(&block);
        block = Sha256::digest(&block).to_vec();
    }
    video.extend_from_slice(&(8 + mdat.len() as u32).to_be_bytes());
    video.extend_from_slice(b"mdat");
    video.extend_from_slice(&mdat);
    video
}

/// A JSON answer like FastAPI's.
fn answer(status: StatusCode, body: Json) -> Response {
    (status, axum::Json(body)).into_response()
}

fn not_found() -> Response {
    answer(StatusCode::NOT_FOUND, json!({"detail": "Not Found"}))
}

/// Decodes `%XX` escapes of a URL path.
fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| std::str::from_utf8(&bytes[i + 1..i + 3]).ok())
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        if let Some(byte) = escaped {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every request: Gradio's routes under the configured prefix.
async fn route(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let method = request.method().clone();
    let raw_path = request.uri().path().to_owned();
    shared
        .memory
        .lock()
        .unwrap()
        .requests
        .push(format!("{method} {raw_path}"));
    let prefix = shared.options.prefix;
    let Some(path) = raw_path.strip_prefix(prefix).filter(|p| p.starts_with('/')) else {
        return not_found();
    };
    let path = path.to_owned();
    if method == Method::GET && path == "/info" {
        return axum::Json(info()).into_response();
    }
    if method == Method::POST && path == "/upload" {
        return upload(&shared, request).await;
    }
    if method == Method::GET
        && let Some(file) = path.strip_prefix("/file=")
    {
        let file = percent_decode(file);
        let memory = shared.memory.lock().unwrap();
        return match memory.files.get(&file) {
            Some(bytes) => {
                let mime = if file.ends_with(".mp4") {
                    "video/mp4"
                } else {
                    "application/octet-stream"
                };
                ([(header::CONTENT_TYPE, mime)], bytes.clone()).into_response()
            }
            None => answer(
                StatusCode::NOT_FOUND,
                json!({"detail": format!("File not found: {file}.")}),
            ),
        };
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (Method::POST, ["call", api_name]) => {
            let body = axum::body::to_bytes(request.into_body(), 1 << 20)
                .await
                .unwrap_or_default();
            call(&shared, api_name, &body)
        }
        (Method::GET, ["call", api_name, event_id]) => stream(&shared, api_name, event_id).await,
        _ => not_found(),
    }
}

/// `POST /upload`: stores every `files` part under a server path.
async fn upload(shared: &Shared, request: Request) -> Response {
    let mut form = match Multipart::from_request(request, &()).await {
        Ok(form) => form,
        Err(_) => {
            return answer(
                StatusCode::BAD_REQUEST,
                json!({"detail": "Invalid content type."}),
            );
        }
    };
    let mut paths = Vec::new();
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() != Some("files") {
            continue;
        }
        let name = field.file_name().unwrap_or("file").to_owned();
        let Ok(bytes) = field.bytes().await else {
            return answer(StatusCode::BAD_REQUEST, json!({"detail": "Broken upload."}));
        };
        let folder = hex::encode(&Sha256::digest(&bytes)[..8]);
        let path = format!("/tmp/gradio/{folder}/{name}");
        let mut memory = shared.memory.lock().unwrap();
        memory.files.insert(path.clone(), bytes.to_vec());
        memory.uploads.push((path.clone(), name));
        paths.push(path);
    }
    axum::Json(json!(paths)).into_response()
}

/// `POST /call/{api_name}`: queues the job.
fn call(shared: &Shared, api_name: &str, body: &Bytes) -> Response {
    if api_name != "generate" && api_name != "refresh_gallery" {
        return not_found();
    }
    let Some(data) = serde_json::from_slice::<Json>(body)
        .ok()
        .and_then(|b| b.get("data").cloned())
        .filter(Json::is_array)
    else {
        return answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"detail": [{"type": "missing", "loc": ["body", "data"], "msg": "Field required"}]}),
        );
    };
    if shared.options.fault == Fault::QueueFull {
        return answer(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"detail": "Queue is full."}),
        );
    }
    let mut memory = shared.memory.lock().unwrap();
    let event_id = hex::encode(Sha256::digest(format!("event-{}", memory.calls.len())))
        .chars()
        .take(32)
        .collect::<String>();
    memory.calls.push(Call {
        api_name: api_name.to_owned(),
        event_id: event_id.clone(),
        data,
    });
    axum::Json(json!({ "event_id": event_id })).into_response()
}

/// One SSE event as Gradio writes it.
fn event(name: &str, data: &Json) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

/// `GET /call/{api_name}/{event_id}`: runs the job, writing its event stream as it goes.
async fn stream(shared: &Arc<Shared>, api_name: &str, event_id: &str) -> Response {
    let job = shared
        .memory
        .lock()
        .unwrap()
        .calls
        .iter()
        .find(|c| c.event_id == event_id && c.api_name == api_name)
        .cloned();
    let Some(job) = job else {
        return answer(
            StatusCode::NOT_FOUND,
            json!({"detail": "Session not found."}),
        );
    };
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let options = shared.options;
        let pause = options.delay / (options.updates + 1);
        let steps = job.data[index_of("num_inference_steps")]
            .as_u64()
            .unwrap_or(30);
        let _ = tx.send(event("heartbeat", &Json::Null));
        for update in 1..=options.updates.max(1) {
            tokio::time::sleep(pause).await;
            let step = steps * u64::from(update) / u64::from(options.updates.max(1));
            let status = format!("Denoising: step {step}/{steps}");
            let _ = tx.send(event("generating", &json!([null, status])));
            if options.fault == Fault::DieMidJob {
                // The process dies right after the stream ends: later requests find no server.
                let killer = shared.killer.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    killer.kill();
                });
                return;
            }
        }
        tokio::time::sleep(pause).await;
        let last = match options.fault {
            Fault::ErrorEvent => event(
                "error",
                &json!(
                    "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 23.65 GiB total capacity)"
                ),
            ),
            _ => match generate(&shared, &job.data) {
                Ok(outputs) => event("complete", &outputs),
                Err(message) => event("error", &json!(message)),
            },
        };
        let _ = tx.send(last);
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|text| (Ok::<_, std::convert::Infallible>(text), rx))
    });
    (
        [(header::CONTENT_TYPE, "text/event-stream; charset=utf-8")],
        axum::body::Body::from_stream(body),
    )
        .into_response()
}

/// Runs `/generate` on `data` the way the app would, or says why it fails.
fn generate(shared: &Shared, data: &Json) -> Result<Json, String> {
    let values = data.as_array().cloned().unwrap_or_default();
    let expected = parameters().len();
    if values.len() != expected {
        return Err(format!(
            "An event handler (generate) didn't receive enough input values (needed: {expected}, got: {}).",
            values.len()
        ));
    }
    let value = |name: &str| values[index_of(name)].clone();
    let prompt = value("prompt").as_str().unwrap_or_default().to_owned();
    let resolution = value("resolution").as_str().unwrap_or_default().to_owned();
    if !RESOLUTIONS.contains(&resolution.as_str()) {
        return Err(format!(
            "Value: {resolution} is not in the list of choices: {RESOLUTIONS:?}"
        ));
    }
    let number = |name: &str| {
        value(name)
            .as_f64()
            .ok_or_else(|| format!("{name} is not a number"))
    };
    let frames = number("video_length")? as i64;
    let steps = number("num_inference_steps")? as i64;
    let seed = number("seed")? as i64;
    number("guidance_scale")?;
    let mut memory = shared.memory.lock().unwrap();
    let start = match value("image_start") {
        Json::Null => Vec::new(),
        file => {
            let path = file["path"].as_str().unwrap_or_default().to_owned();
            let Some(bytes) = memory.files.get(&path).cloned() else {
                return Err(format!(
                    "File {path} is not in the upload folder and cannot be accessed."
                ));
            };
            if image::load_from_memory(&bytes).is_err() {
                return Err(format!("cannot identify image file {path}"));
            }
            bytes
        }
    };
    let video = fake_video(&prompt, seed, &resolution, frames, steps, &start);
    let folder = hex::encode(&Sha256::digest(&video)[..8]);
    let path = format!("/tmp/gradio/{folder}/wan2gp_{seed}.mp4");
    memory.files.insert(path.clone(), video);
    let base = shared.base_url.lock().unwrap().clone();
    let file = json!({
        "path": path,
        "url": format!("{base}{}/file={path}", shared.options.prefix),
        "size": Json::Null,
        "orig_name": format!("wan2gp_{seed}.mp4"),
        "mime_type": Json::Null,
        "is_stream": false,
        "meta": {"_type": "gradio.FileData"},
    });
    Ok(json!([
        {"video": file, "subtitles": Json::Null},
        format!("Generated {frames} frames at {resolution} in {steps} steps"),
    ]))
}
