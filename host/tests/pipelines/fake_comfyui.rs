//! A small, faithful ComfyUI: the HTTP API the plugins use, with ComfyUI's answer shapes.
//!
//! * `POST /prompt` checks the workflow the way ComfyUI does before queueing (class types
//!   it knows, required inputs, links to existing nodes, an output node, uploaded images)
//!   and answers 400 with `{"error": {…}, "node_errors": {…}}` when it fails.
//! * `POST /prompt` takes the client's own `prompt_id` (a lowercase hyphenated UUID, else
//!   400 `invalid_prompt_id`) and `client_id`, as ComfyUI v0.27 does.
//! * One executor thread runs prompts in order, node by node in dependency order; the
//!   KSampler takes a configurable number of steps with a sleep each. Nodes whose inputs
//!   equal the previous prompt's are cached. `/history/{id}` is `{}` until done, then outputs
//!   and status.
//! * `GET /ws?clientId=X` is ComfyUI's WebSocket, sending what v0.27 sends: `status` (on
//!   connecting, with `sid`, and whenever the queue changes, to everyone), then for a
//!   prompt `execution_start`, `execution_cached`, per node `executing` and `progress_state`,
//!   the sampler's `progress` (throttled, first and last step always) each followed by a
//!   binary preview `[u32 BE 1][u32 BE 2 = PNG][image]`, `executed` for output nodes (with
//!   the old file names when cached), `execution_success` / `execution_error` /
//!   `execution_interrupted`, and `executing` with `node: null` once the history is stored.
//!   A prompt's events go to the socket of the client id it carried; without one, the
//!   lifecycle events (`execution_*` but `interrupted`) go nowhere and the rest to every
//!   socket. A newer socket with the same client id replaces the older one. Every `progress`
//!   frame is timestamped as it is written, for latency measurements.
//! * The images it "generates" are PNGs made by [`png_bytes`] from the seed and size the
//!   workflow asked for, so tests can check what was injected.
//! * Fault modes: refuse everything with 503, die in the middle of a job (the listener and
//!   every connection close), or fail a job with an `execution_error`; and a server without
//!   the WebSocket route (an older ComfyUI, a proxy without WebSockets).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value as Json, json};
use tokio::sync::mpsc;

use crate::support::{Killer, TestServer, png_bytes, serve_killable};

/// What goes wrong on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Nothing.
    None,
    /// Every request is answered 503, as by a proxy in front of a stopped ComfyUI.
    Refuse,
    /// The server dies (port closed, connections dropped) halfway through the first job.
    DieMidJob,
    /// The KSampler raises an exception halfway through every job.
    ExecutionError,
}

/// How the fake behaves.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Sampling steps per job.
    pub steps: u32,
    /// Sleep per step.
    pub step: Duration,
    /// Shortest time between two `progress` frames of one node (the first and the last
    /// step are always sent).
    pub throttle: Duration,
    /// Whether `/ws` is served.
    pub websocket: bool,
    /// What goes wrong.
    pub fault: Fault,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            steps: 4,
            step: Duration::from_millis(100),
            throttle: Duration::from_millis(150),
            websocket: true,
            fault: Fault::None,
        }
    }
}

/// A queued prompt.
#[derive(Clone, Debug)]
struct Job {
    number: u64,
    id: String,
    prompt: Json,
    client_id: Option<String>,
    steps: u32,
}

/// A `progress` frame the fake wrote to a socket.
#[derive(Clone, Debug)]
pub struct SentProgress {
    /// When it was handed to the socket.
    pub at: Instant,
    /// When the socket had written it (to the kernel's send buffer).
    #[allow(dead_code)] // Read by benches/live_progress.rs, which includes this module.
    pub written: Instant,
    /// The prompt it is about.
    pub prompt_id: String,
    /// Steps done.
    pub value: u64,
    /// Steps in all.
    pub max: u64,
}

/// What the executor hands to a socket's writer.
enum Frame {
    Text(Json),
    Binary(Vec<u8>),
}

/// Everything the fake remembers.
#[derive(Default)]
struct Queue {
    next_number: u64,
    running: Option<Job>,
    pending: VecDeque<Job>,
    history: BTreeMap<String, Json>,
    interrupt: bool,
    /// Files by (type, subfolder, filename).
    files: HashMap<(String, String, String), Vec<u8>>,
    received: Vec<Json>,
    interrupts: usize,
    deleted: Vec<String>,
    /// While set, queued prompts wait (as behind a long job).
    paused: bool,
    /// Ids of the prompts `POST /prompt` accepted, in order.
    accepted: Vec<String>,
    /// The last prompt executed and the outputs of its output nodes, for caching.
    last_prompt: Option<Json>,
    node_outputs: HashMap<String, Json>,
}

/// The shared state of the server and its executor.
struct Shared {
    options: Options,
    queue: Mutex<Queue>,
    work: Condvar,
    killer: Killer,
    /// Open sockets by client id.
    sockets: Mutex<HashMap<String, mpsc::UnboundedSender<Frame>>>,
    /// Client ids that ever connected, in order.
    connected: Mutex<Vec<String>>,
    /// Every `progress` frame written, in order.
    progress_sent: Mutex<Vec<SentProgress>>,
}

/// A running fake ComfyUI.
pub struct FakeComfyUi {
    /// The HTTP server; kill it to play a crash.
    pub server: TestServer,
    shared: Arc<Shared>,
}

impl FakeComfyUi {
    /// Starts a fake with default options (4 steps of 100 ms, no fault).
    pub fn start() -> FakeComfyUi {
        FakeComfyUi::with(Options::default())
    }

    /// Starts a fake with these options.
    pub fn with(options: Options) -> FakeComfyUi {
        let killer = Killer::new();
        let shared = Arc::new(Shared {
            options,
            queue: Mutex::new(Queue::default()),
            work: Condvar::new(),
            killer: killer.clone(),
            sockets: Mutex::default(),
            connected: Mutex::default(),
            progress_sent: Mutex::default(),
        });
        {
            let mut queue = shared.queue.lock().unwrap();
            // ComfyUI's input folder ships with an example image.
            queue.files.insert(
                ("input".into(), String::new(), "example.png".into()),
                png_bytes(64, 64, 0),
            );
        }
        let executor = Arc::clone(&shared);
        std::thread::spawn(move || execute_forever(&executor));
        let mut router = Router::new();
        if options.websocket {
            router = router.route("/ws", get(open_socket));
        }
        let router = router
            .route("/prompt", post(post_prompt))
            .route("/queue", get(get_queue).post(post_queue))
            .route("/history/{id}", get(get_history))
            .route("/view", get(view))
            .route("/upload/image", post(upload_image))
            .route("/interrupt", post(interrupt))
            .route("/system_stats", get(system_stats))
            .layer(axum::middleware::from_fn_with_state(
                Arc::clone(&shared),
                refuse_when_faulty,
            ))
            .with_state(Arc::clone(&shared));
        FakeComfyUi {
            server: serve_killable(router, killer),
            shared,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.server.base_url
    }

    /// Every workflow `POST /prompt` received (accepted or not), in order.
    pub fn received(&self) -> Vec<Json> {
        self.shared.queue.lock().unwrap().received.clone()
    }

    /// The bytes of an uploaded input image.
    pub fn upload(&self, name: &str) -> Option<Vec<u8>> {
        let queue = self.shared.queue.lock().unwrap();
        queue
            .files
            .get(&("input".into(), String::new(), name.into()))
            .cloned()
    }

    /// Names of the uploaded input images (the shipped example excluded).
    pub fn upload_names(&self) -> Vec<String> {
        let queue = self.shared.queue.lock().unwrap();
        let mut names: Vec<String> = queue
            .files
            .keys()
            .filter(|(kind, _, name)| kind == "input" && name != "example.png")
            .map(|(_, _, name)| name.clone())
            .collect();
        names.sort();
        names
    }

    /// Whether a prompt is executing now.
    pub fn is_running(&self) -> bool {
        self.shared.queue.lock().unwrap().running.is_some()
    }

    /// How many times `/interrupt` was called.
    pub fn interrupts(&self) -> usize {
        self.shared.queue.lock().unwrap().interrupts
    }

    /// Prompt ids removed from the queue with `POST /queue {"delete": …}`.
    pub fn deleted(&self) -> Vec<String> {
        self.shared.queue.lock().unwrap().deleted.clone()
    }

    /// The history entry of a prompt, once it finished.
    pub fn history(&self, prompt_id: &str) -> Option<Json> {
        self.shared
            .queue
            .lock()
            .unwrap()
            .history
            .get(prompt_id)
            .cloned()
    }

    /// Holds every queued prompt in the queue until [`FakeComfyUi::resume`].
    pub fn pause(&self) {
        self.shared.queue.lock().unwrap().paused = true;
    }

    /// Lets the executor take queued prompts again.
    pub fn resume(&self) {
        self.shared.queue.lock().unwrap().paused = false;
        self.shared.work.notify_all();
    }

    /// Queues a job for "another user" (routed to their own socket), so ours waits behind
    /// it; returns its prompt id.
    pub fn occupy(&self, workflow: Json) -> String {
        let steps = self.shared.options.steps;
        enqueue(
            &self.shared,
            workflow,
            None,
            Some("someone-else".into()),
            steps,
        )
        .0
    }

    /// Queues a job without a client id (as a script does), whose `executing`, `progress`
    /// and previews therefore go to every socket; it takes `steps` steps. Its prompt id.
    pub fn occupy_unrouted(&self, workflow: Json, steps: u32) -> String {
        enqueue(&self.shared, workflow, None, None, steps).0
    }

    /// Ids of the prompts `POST /prompt` accepted, in order.
    pub fn prompt_ids(&self) -> Vec<String> {
        self.shared.queue.lock().unwrap().accepted.clone()
    }

    /// Client ids of every socket that connected, in order.
    pub fn socket_clients(&self) -> Vec<String> {
        self.shared.connected.lock().unwrap().clone()
    }

    /// Every `progress` frame written to a socket so far.
    pub fn progress_sent(&self) -> Vec<SentProgress> {
        self.shared.progress_sent.lock().unwrap().clone()
    }
}

/// Puts a checked workflow in the queue under `id` (else a predictable UUID like
/// ComfyUI's) and wakes the executor.
fn enqueue(
    shared: &Shared,
    prompt: Json,
    id: Option<String>,
    client_id: Option<String>,
    steps: u32,
) -> (String, u64) {
    let (id, number, remaining) = {
        let mut queue = shared.queue.lock().unwrap();
        queue.next_number += 1;
        let number = queue.next_number;
        let id = id.unwrap_or_else(|| format!("c0f0{number:04x}-0000-4000-8000-{number:012x}"));
        let job = Job {
            number,
            id: id.clone(),
            prompt,
            client_id,
            steps,
        };
        queue.pending.push_back(job);
        (id, number, remaining(&queue))
    };
    shared.work.notify_all();
    broadcast_status(shared, remaining);
    (id, number)
}

/// Prompts queued or running.
fn remaining(queue: &Queue) -> usize {
    queue.pending.len() + usize::from(queue.running.is_some())
}

/// `status` to every socket.
fn broadcast_status(shared: &Shared, remaining: usize) {
    let status = json!({"type": "status", "data": {"status": {"exec_info": {"queue_remaining": remaining}}}});
    for socket in shared.sockets.lock().unwrap().values() {
        let _ = socket.send(Frame::Text(status.clone()));
    }
}

/// Whether `id` is a lowercase hyphenated UUID.
fn is_uuid(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| {
            g.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        })
}

/// `GET /ws?clientId=X`: ComfyUI's WebSocket.
async fn open_socket(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let sid = q
        .get("clientId")
        .cloned()
        .unwrap_or_else(|| format!("anonymous-{}", shared.connected.lock().unwrap().len()));
    upgrade.on_upgrade(move |socket| serve_socket(shared, sid, socket))
}

/// Registers the socket under its client id (replacing an older one), greets it with
/// `status` and `sid`, and writes what the executor sends until either side closes.
async fn serve_socket(shared: Arc<Shared>, sid: String, socket: WebSocket) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let remaining = remaining(&shared.queue.lock().unwrap());
    let hello = json!({"type": "status", "data": {"status": {"exec_info": {"queue_remaining": remaining}}, "sid": sid}});
    let _ = tx.send(Frame::Text(hello));
    shared
        .sockets
        .lock()
        .unwrap()
        .insert(sid.clone(), tx.clone());
    shared.connected.lock().unwrap().push(sid.clone());
    let (mut sink, mut incoming) = socket.split();
    let writer_shared = Arc::clone(&shared);
    let writer = tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            let at = Instant::now();
            let (message, progress) = match frame {
                Frame::Text(json) => {
                    let data = &json["data"];
                    let progress = (json["type"] == "progress").then(|| {
                        (
                            data["prompt_id"].as_str().unwrap_or_default().to_owned(),
                            data["value"].as_u64().unwrap_or(0),
                            data["max"].as_u64().unwrap_or(0),
                        )
                    });
                    (Message::Text(json.to_string().into()), progress)
                }
                Frame::Binary(bytes) => (Message::Binary(bytes.into()), None),
            };
            if sink.send(message).await.is_err() {
                break;
            }
            if let Some((prompt_id, value, max)) = progress {
                writer_shared
                    .progress_sent
                    .lock()
                    .unwrap()
                    .push(SentProgress {
                        at,
                        written: Instant::now(),
                        prompt_id,
                        value,
                        max,
                    });
            }
        }
    });
    while let Some(Ok(message)) = incoming.next().await {
        if matches!(message, Message::Close(_)) {
            break;
        }
    }
    writer.abort();
    let mut sockets = shared.sockets.lock().unwrap();
    if sockets.get(&sid).is_some_and(|open| open.same_channel(&tx)) {
        sockets.remove(&sid);
    }
}

/// Sends a prompt's event the way ComfyUI routes it: to the socket of the prompt's client
/// id; without one, `lifecycle` events (sent with `add_message`, not broadcast) go nowhere
/// and the others to every socket.
/// The `executed` event of an output node, with the files it saved (or had saved before).
fn emit_executed(shared: &Shared, job: &Job, node: &str, output: &Json) {
    let data = json!({"node": node, "display_node": node, "output": output, "prompt_id": job.id});
    emit(shared, job, event("executed", data), false);
}

fn emit(shared: &Shared, job: &Job, frame: Frame, lifecycle: bool) {
    let sockets = shared.sockets.lock().unwrap();
    match &job.client_id {
        Some(client) => {
            if let Some(socket) = sockets.get(client) {
                let _ = socket.send(frame);
            }
        }
        None if lifecycle => {}
        None => {
            let mut frame = Some(frame);
            let all: Vec<_> = sockets.values().collect();
            for (i, socket) in all.iter().enumerate() {
                let copy = if i + 1 == all.len() {
                    frame.take()
                } else {
                    frame.as_ref().map(Frame::duplicate)
                };
                if let Some(copy) = copy {
                    let _ = socket.send(copy);
                }
            }
        }
    }
}

impl Frame {
    fn duplicate(&self) -> Frame {
        match self {
            Frame::Text(json) => Frame::Text(json.clone()),
            Frame::Binary(bytes) => Frame::Binary(bytes.clone()),
        }
    }
}

/// A text event `{"type": kind, "data": data}`.
fn event(kind: &str, data: Json) -> Frame {
    Frame::Text(json!({"type": kind, "data": data}))
}

/// Milliseconds since the Unix epoch, as ComfyUI stamps events.
fn timestamp() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// 503 for everything in [`Fault::Refuse`] mode.
async fn refuse_when_faulty(
    State(shared): State<Arc<Shared>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if shared.options.fault == Fault::Refuse {
        return (StatusCode::SERVICE_UNAVAILABLE, "ComfyUI is not available").into_response();
    }
    next.run(request).await
}

/// Inputs each known class type requires, and whether it is an output node.
fn node_class(class: &str) -> Option<(&'static [&'static str], bool)> {
    Some(match class {
        "CheckpointLoaderSimple" => (&["ckpt_name"], false),
        "CLIPTextEncode" => (&["text", "clip"], false),
        "EmptyLatentImage" => (&["width", "height", "batch_size"], false),
        "KSampler" => (
            &[
                "model",
                "seed",
                "steps",
                "cfg",
                "sampler_name",
                "scheduler",
                "positive",
                "negative",
                "latent_image",
                "denoise",
            ],
            false,
        ),
        "VAEDecode" => (&["samples", "vae"], false),
        "LoadImage" => (&["image"], false),
        "SaveImage" => (&["images", "filename_prefix"], true),
        "PreviewImage" => (&["images"], true),
        _ => return None,
    })
}

/// ComfyUI's `validate_prompt`: `Ok` or the 400 body.
fn validate(prompt: &Json, queue: &Queue) -> Result<(), Json> {
    let invalid = |message: String, details: String| {
        json!({"error": {"type": "invalid_prompt", "message": message, "details": details,
                         "extra_info": {}}, "node_errors": {}})
    };
    let Some(nodes) = prompt.as_object() else {
        return Err(invalid(
            "Prompt is not a JSON object.".into(),
            String::new(),
        ));
    };
    let mut has_output = false;
    for (id, node) in nodes {
        let Some(class) = node.get("class_type").and_then(Json::as_str) else {
            return Err(invalid(
                "Cannot execute because a node is missing the class_type property.".into(),
                format!("Node ID '#{id}'"),
            ));
        };
        let Some((_, output)) = node_class(class) else {
            return Err(invalid(
                format!("Cannot execute because node {class} does not exist."),
                format!("Node ID '#{id}'"),
            ));
        };
        has_output |= output;
    }
    if !has_output {
        return Err(
            json!({"error": {"type": "prompt_no_outputs", "message": "Prompt has no outputs",
                                    "details": "", "extra_info": {}}, "node_errors": {}}),
        );
    }
    let mut node_errors = serde_json::Map::new();
    for (id, node) in nodes {
        let class = node["class_type"].as_str().unwrap_or_default();
        let (required, _) = node_class(class).expect("checked above");
        let inputs = node.get("inputs").and_then(Json::as_object);
        let mut errors = Vec::new();
        for name in required {
            match inputs.and_then(|i| i.get(*name)) {
                None => errors.push(json!({"type": "required_input_missing",
                    "message": "Required input is missing", "details": name,
                    "extra_info": {"input_name": name}})),
                Some(Json::Array(link)) => {
                    let source = link.first().and_then(Json::as_str).unwrap_or_default();
                    if !nodes.contains_key(source) {
                        errors.push(json!({"type": "bad_linked_input",
                            "message": "Bad linked input, must be a length-2 list of [node_id, slot_index]",
                            "details": format!("{name}, {}", Json::Array(link.clone())),
                            "extra_info": {"input_name": name}}));
                    }
                }
                Some(value) if class == "LoadImage" => {
                    let file = value.as_str().unwrap_or_default();
                    let (sub, name) = file.rsplit_once('/').unwrap_or(("", file));
                    if !queue
                        .files
                        .contains_key(&("input".into(), sub.into(), name.into()))
                    {
                        errors.push(json!({"type": "custom_validation_failed",
                            "message": "Custom validation failed for node",
                            "details": format!("image - Invalid image file: {file}"),
                            "extra_info": {}}));
                    }
                }
                Some(_) => {}
            }
        }
        if !errors.is_empty() {
            node_errors.insert(
                id.clone(),
                json!({"errors": errors, "dependent_outputs": [], "class_type": class}),
            );
        }
    }
    if node_errors.is_empty() {
        Ok(())
    } else {
        Err(json!({"error": {"type": "prompt_outputs_failed_validation",
                             "message": "Prompt outputs failed validation", "details": "",
                             "extra_info": {}}, "node_errors": node_errors}))
    }
}

async fn post_prompt(State(shared): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<Json>(&body) else {
        return (StatusCode::BAD_REQUEST, "invalid JSON").into_response();
    };
    let prompt = body.get("prompt").cloned().unwrap_or(Json::Null);
    let checked = {
        let mut queue = shared.queue.lock().unwrap();
        queue.received.push(prompt.clone());
        validate(&prompt, &queue)
    };
    if let Err(answer) = checked {
        return (StatusCode::BAD_REQUEST, axum::Json(answer)).into_response();
    }
    let chosen = match body.get("prompt_id") {
        None | Some(Json::Null) => None,
        Some(id) => match id.as_str().filter(|id| is_uuid(id)) {
            Some(id) => Some(id.to_owned()),
            None => {
                let answer = json!({"error": {"type": "invalid_prompt_id",
                    "message": "Invalid prompt_id", "details": format!("{id} is not a UUID"),
                    "extra_info": {}}, "node_errors": {}});
                return (StatusCode::BAD_REQUEST, axum::Json(answer)).into_response();
            }
        },
    };
    let client_id = body["client_id"].as_str().map(str::to_owned);
    let steps = shared.options.steps;
    let (id, number) = enqueue(&shared, prompt, chosen, client_id, steps);
    shared.queue.lock().unwrap().accepted.push(id.clone());
    axum::Json(json!({"prompt_id": id, "number": number, "node_errors": {}})).into_response()
}

/// `[number, prompt_id, prompt, extra_data, outputs_to_execute]`.
fn queue_entry(job: &Job) -> Json {
    json!([job.number, job.id, job.prompt, {"client_id": job.client_id}, output_ids(&job.prompt)])
}

/// Ids of the output nodes of a workflow.
fn output_ids(prompt: &Json) -> Vec<String> {
    prompt
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, node)| {
            node["class_type"]
                .as_str()
                .and_then(node_class)
                .is_some_and(|(_, output)| output)
        })
        .map(|(id, _)| id.clone())
        .collect()
}

async fn get_queue(State(shared): State<Arc<Shared>>) -> axum::Json<Json> {
    let queue = shared.queue.lock().unwrap();
    axum::Json(json!({
        "queue_running": queue.running.iter().map(queue_entry).collect::<Vec<_>>(),
        "queue_pending": queue.pending.iter().map(queue_entry).collect::<Vec<_>>(),
    }))
}

async fn post_queue(
    State(shared): State<Arc<Shared>>,
    axum::Json(body): axum::Json<Json>,
) -> StatusCode {
    let mut queue = shared.queue.lock().unwrap();
    if body.get("clear").and_then(Json::as_bool) == Some(true) {
        queue.pending.clear();
    }
    for id in body["delete"].as_array().into_iter().flatten() {
        let id = id.as_str().unwrap_or_default().to_owned();
        queue.pending.retain(|job| job.id != id);
        queue.deleted.push(id);
    }
    StatusCode::OK
}

async fn get_history(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> axum::Json<Json> {
    let queue = shared.queue.lock().unwrap();
    let mut answer = serde_json::Map::new();
    if let Some(entry) = queue.history.get(&id) {
        answer.insert(id, entry.clone());
    }
    axum::Json(Json::Object(answer))
}

async fn view(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let key = (
        q.get("type").cloned().unwrap_or_else(|| "output".into()),
        q.get("subfolder").cloned().unwrap_or_default(),
        q.get("filename").cloned().unwrap_or_default(),
    );
    match shared.queue.lock().unwrap().files.get(&key) {
        Some(bytes) => ([(header::CONTENT_TYPE, "image/png")], bytes.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn upload_image(State(shared): State<Arc<Shared>>, mut form: Multipart) -> Response {
    let mut file = None;
    let mut overwrite = false;
    let mut subfolder = String::new();
    while let Ok(Some(field)) = form.next_field().await {
        let field_name = field.name().unwrap_or_default().to_owned();
        match field_name.as_str() {
            "image" => {
                let name = field.file_name().unwrap_or("image.png").to_owned();
                let bytes = field.bytes().await.unwrap_or_default().to_vec();
                file = Some((name, bytes));
            }
            "overwrite" => overwrite = field.text().await.unwrap_or_default() == "true",
            "subfolder" => subfolder = field.text().await.unwrap_or_default(),
            _ => {}
        }
    }
    let Some((mut name, bytes)) = file else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let mut queue = shared.queue.lock().unwrap();
    if !overwrite {
        // ComfyUI renames instead of overwriting: name (1).png, name (2).png, …
        let (stem, ext) = name
            .rsplit_once('.')
            .map(|(s, e)| (s.to_owned(), e.to_owned()))
            .unwrap_or((name.clone(), String::new()));
        let mut n = 1;
        while queue
            .files
            .contains_key(&("input".into(), subfolder.clone(), name.clone()))
        {
            name = format!("{stem} ({n}).{ext}");
            n += 1;
        }
    }
    queue
        .files
        .insert(("input".into(), subfolder.clone(), name.clone()), bytes);
    axum::Json(json!({"name": name, "subfolder": subfolder, "type": "input"})).into_response()
}

async fn interrupt(State(shared): State<Arc<Shared>>, body: axum::body::Bytes) -> StatusCode {
    let target = serde_json::from_slice::<Json>(&body)
        .ok()
        .and_then(|b| b.get("prompt_id").and_then(Json::as_str).map(str::to_owned));
    let mut queue = shared.queue.lock().unwrap();
    queue.interrupts += 1;
    let running = queue.running.as_ref().map(|job| job.id.clone());
    if target.is_none() || target == running {
        queue.interrupt = true;
    }
    StatusCode::OK
}

async fn system_stats() -> axum::Json<Json> {
    axum::Json(json!({
        "system": {"os": "posix", "ram_total": 68719476736u64, "ram_free": 34359738368u64,
                   "comfyui_version": "0.3.40", "python_version": "3.12.3", "pytorch_version": "2.7.0",
                   "embedded_python": false, "argv": ["main.py"]},
        "devices": [{"name": "cuda:0 Fake GPU", "type": "cuda", "index": 0,
                     "vram_total": 25769803776u64, "vram_free": 23622320128u64,
                     "torch_vram_total": 0, "torch_vram_free": 0}]
    }))
}

/// The executor: one prompt at a time, in queue order. The history is stored before the
/// final `executing` with `node: null`, as ComfyUI does.
fn execute_forever(shared: &Shared) {
    loop {
        let job = {
            let mut queue = shared.queue.lock().unwrap();
            loop {
                if queue.paused {
                    queue = shared.work.wait(queue).unwrap();
                    continue;
                }
                if let Some(job) = queue.pending.pop_front() {
                    queue.running = Some(job.clone());
                    queue.interrupt = false;
                    break job;
                }
                queue = shared.work.wait(queue).unwrap();
            }
        };
        let Some(entry) = run_job(shared, &job) else {
            // Died mid-job: the server is gone and nothing more happens.
            return;
        };
        let remaining = {
            let mut queue = shared.queue.lock().unwrap();
            queue.running = None;
            queue.history.insert(job.id.clone(), entry);
            remaining(&queue)
        };
        emit(
            shared,
            &job,
            event("executing", json!({"node": null, "prompt_id": job.id})),
            false,
        );
        broadcast_status(shared, remaining);
    }
}

/// The node ids of a workflow in an order that runs every node after the nodes it links
/// to (numeric ids in numeric order where the links allow).
fn execution_order(prompt: &Json) -> Vec<String> {
    let nodes = prompt.as_object().cloned().unwrap_or_default();
    let sources = |id: &str| -> Vec<String> {
        nodes[id]["inputs"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(_, value)| value.as_array()?.first()?.as_str().map(str::to_owned))
            .filter(|source| nodes.contains_key(source))
            .collect()
    };
    let mut ids: Vec<String> = nodes.keys().cloned().collect();
    ids.sort_by_key(|id| (id.parse::<u64>().unwrap_or(u64::MAX), id.clone()));
    let mut order = Vec::new();
    let mut done = BTreeSet::new();
    while order.len() < ids.len() {
        let next = ids
            .iter()
            .find(|id| !done.contains(*id) && sources(id).iter().all(|s| done.contains(s)))
            .or_else(|| ids.iter().find(|id| !done.contains(*id)))
            .cloned()
            .expect("a node is left");
        done.insert(next.clone());
        order.push(next);
    }
    order
}

/// The nodes ComfyUI would reuse from the previous prompt: same id, same class and inputs,
/// and every node they link to reused too.
fn cached_nodes(previous: Option<&Json>, prompt: &Json, order: &[String]) -> BTreeSet<String> {
    let mut cached = BTreeSet::new();
    let Some(previous) = previous else {
        return cached;
    };
    for id in order {
        let node = &prompt[id.as_str()];
        let links_cached = node["inputs"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(_, value)| value.as_array()?.first()?.as_str())
            .all(|source| cached.contains(source));
        let strip = |n: &Json| json!({"class_type": n["class_type"], "inputs": n["inputs"]});
        if links_cached
            && previous
                .get(id)
                .is_some_and(|old| strip(old) == strip(node))
        {
            cached.insert(id.clone());
        }
    }
    cached
}

/// `progress_state`: every node's state so far.
fn progress_state(job: &Job, states: &BTreeMap<String, (u64, u64, &'static str)>) -> Frame {
    let nodes: serde_json::Map<String, Json> = states
        .iter()
        .map(|(id, (value, max, state))| {
            (
                id.clone(),
                json!({"value": value, "max": max, "state": state, "node_id": id,
                "prompt_id": job.id, "display_node_id": id, "parent_node_id": null,
                "real_node_id": id}),
            )
        })
        .collect();
    event(
        "progress_state",
        json!({"prompt_id": job.id, "nodes": nodes}),
    )
}

/// A history entry that failed with `message`, the events of the run before it included.
fn failed_entry(job: &Job, mut messages: Vec<Json>, message: Json) -> Json {
    messages.push(message);
    json!({"prompt": queue_entry(job), "outputs": {}, "status": {
        "status_str": "error", "completed": false, "messages": messages}})
}

/// Runs one job node by node, sending its events; its history entry, or `None` when the
/// fake died during it.
fn run_job(shared: &Shared, job: &Job) -> Option<Json> {
    let options = shared.options;
    let order = execution_order(&job.prompt);
    let previous = shared.queue.lock().unwrap().last_prompt.clone();
    let cached = cached_nodes(previous.as_ref(), &job.prompt, &order);
    let start = json!({"prompt_id": job.id, "timestamp": timestamp()});
    let cached_event = json!({"nodes": cached, "prompt_id": job.id, "timestamp": timestamp()});
    emit(shared, job, event("execution_start", start.clone()), true);
    emit(
        shared,
        job,
        event("execution_cached", cached_event.clone()),
        true,
    );
    let mut messages = vec![
        json!(["execution_start", start]),
        json!(["execution_cached", cached_event]),
    ];
    let mut states: BTreeMap<String, (u64, u64, &'static str)> = BTreeMap::new();
    let mut executed: Vec<String> = Vec::new();
    let mut outputs = serde_json::Map::new();
    for id in &order {
        let class = job.prompt[id.as_str()]["class_type"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let is_output = node_class(&class).is_some_and(|(_, output)| output);
        if cached.contains(id) {
            if is_output {
                let old = shared.queue.lock().unwrap().node_outputs.get(id).cloned();
                if let Some(old) = old {
                    emit_executed(shared, job, id, &old);
                    outputs.insert(id.clone(), old);
                }
            }
            continue;
        }
        emit(
            shared,
            job,
            event(
                "executing",
                json!({"node": id, "display_node": id, "prompt_id": job.id}),
            ),
            false,
        );
        states.insert(id.clone(), (0, 1, "running"));
        emit(shared, job, progress_state(job, &states), false);
        if class == "KSampler" {
            let max = u64::from(job.steps);
            let mut last_sent: Option<Instant> = None;
            for step in 1..=max {
                std::thread::sleep(options.step);
                if shared.queue.lock().unwrap().interrupt {
                    let data = json!({"prompt_id": job.id, "node_id": id, "node_type": class,
                        "executed": executed, "timestamp": timestamp()});
                    // execution_interrupted is broadcast when the prompt has no client id.
                    emit(
                        shared,
                        job,
                        event("execution_interrupted", data.clone()),
                        false,
                    );
                    return Some(failed_entry(
                        job,
                        messages,
                        json!(["execution_interrupted", data]),
                    ));
                }
                if step == max / 2 {
                    match options.fault {
                        Fault::DieMidJob => {
                            shared.killer.kill();
                            return None;
                        }
                        Fault::ExecutionError => {
                            let data = json!({"prompt_id": job.id, "node_id": id,
                                "node_type": class, "executed": executed,
                                "exception_message": "CUDA out of memory. Tried to allocate 2.50 GiB",
                                "exception_type": "torch.OutOfMemoryError", "traceback": [],
                                "current_inputs": {}, "current_outputs": {},
                                "timestamp": timestamp()});
                            emit(shared, job, event("execution_error", data.clone()), true);
                            return Some(failed_entry(
                                job,
                                messages,
                                json!(["execution_error", data]),
                            ));
                        }
                        Fault::None | Fault::Refuse => {}
                    }
                }
                let due = last_sent.is_none_or(|at| at.elapsed() >= options.throttle);
                if step == 1 || step == max || due {
                    last_sent = Some(Instant::now());
                    emit(
                        shared,
                        job,
                        event(
                            "progress",
                            json!({"value": step, "max": max,
                        "prompt_id": job.id, "node": id}),
                        ),
                        false,
                    );
                    let mut preview = vec![0, 0, 0, 1, 0, 0, 0, 2];
                    preview.extend(png_bytes(16, 16, step));
                    emit(shared, job, Frame::Binary(preview), false);
                }
                states.insert(id.clone(), (step, max, "running"));
                emit(shared, job, progress_state(job, &states), false);
            }
        }
        if is_output {
            let output = save_outputs(shared, job, id);
            emit_executed(shared, job, id, &output);
            shared
                .queue
                .lock()
                .unwrap()
                .node_outputs
                .insert(id.clone(), output.clone());
            outputs.insert(id.clone(), output);
        }
        states.insert(id.clone(), (1, 1, "finished"));
        executed.push(id.clone());
    }
    emit(shared, job, progress_state(job, &states), false);
    let success = json!({"prompt_id": job.id, "timestamp": timestamp()});
    emit(
        shared,
        job,
        event("execution_success", success.clone()),
        true,
    );
    messages.push(json!(["execution_success", success]));
    shared.queue.lock().unwrap().last_prompt = Some(job.prompt.clone());
    Some(
        json!({"prompt": queue_entry(job), "outputs": outputs, "status": {
        "status_str": "success", "completed": true, "messages": messages}}),
    )
}

/// "Generates" the images of output node `id` (SaveImage / PreviewImage): a PNG per batch
/// item made from the KSampler seed (+ index) at the empty latent's size.
fn save_outputs(shared: &Shared, job: &Job, id: &str) -> Json {
    let nodes = job.prompt.as_object().cloned().unwrap_or_default();
    let find = |class: &str| nodes.values().find(|n| n["class_type"] == class);
    let sampler = find("KSampler");
    let seed = sampler
        .and_then(|s| s["inputs"]["seed"].as_u64())
        .unwrap_or(0);
    let latent = find("EmptyLatentImage");
    let size = |k: &str| latent.and_then(|l| l["inputs"][k].as_u64()).unwrap_or(512) as u32;
    let batch = latent
        .and_then(|l| l["inputs"]["batch_size"].as_u64())
        .unwrap_or(1);
    let node = &nodes[id];
    let (folder, prefix) = match node["class_type"].as_str() {
        Some("SaveImage") => (
            "output",
            node["inputs"]["filename_prefix"]
                .as_str()
                .unwrap_or("ComfyUI")
                .to_owned(),
        ),
        _ => ("temp", "ComfyUI_temp".to_owned()),
    };
    let mut queue = shared.queue.lock().unwrap();
    let mut counter = queue.files.len();
    let mut images = Vec::new();
    for i in 0..batch {
        counter += 1;
        let filename = format!("{prefix}_{counter:05}_.png");
        let bytes = png_bytes(size("width"), size("height"), seed + i);
        queue
            .files
            .insert((folder.into(), String::new(), filename.clone()), bytes);
        images.push(json!({"filename": filename, "subfolder": "", "type": folder}));
    }
    json!({"images": images})
}

/// The default text-to-image workflow, as ComfyUI's "Save (API Format)" writes it.
pub fn default_workflow() -> Json {
    json!({
        "3": {"class_type": "KSampler", "_meta": {"title": "KSampler"}, "inputs": {
            "seed": 156680208700286u64, "steps": 20, "cfg": 8, "sampler_name": "euler",
            "scheduler": "normal", "denoise": 1, "model": ["4", 0], "positive": ["6", 0],
            "negative": ["7", 0], "latent_image": ["5", 0]}},
        "4": {"class_type": "CheckpointLoaderSimple", "_meta": {"title": "Load Checkpoint"},
              "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}},
        "5": {"class_type": "EmptyLatentImage", "_meta": {"title": "Empty Latent Image"},
              "inputs": {"width": 512, "height": 512, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "_meta": {"title": "CLIP Text Encode (Prompt)"},
              "inputs": {"text": "beautiful scenery nature glass bottle landscape", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "_meta": {"title": "CLIP Text Encode (Prompt)"},
              "inputs": {"text": "text, watermark", "clip": ["4", 1]}},
        "8": {"class_type": "VAEDecode", "_meta": {"title": "VAE Decode"},
              "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "_meta": {"title": "Save Image"},
              "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}}
    })
}

/// [`default_workflow`] with a LoadImage node (id 10) whose image is ComfyUI's example.
pub fn workflow_with_load_image() -> Json {
    let mut workflow = default_workflow();
    workflow["10"] = json!({"class_type": "LoadImage", "_meta": {"title": "Load Image"},
                             "inputs": {"image": "example.png"}});
    workflow
}

/// The same workflow as ComfyUI's UI format ("Save", not "Save (API Format)"), abridged.
pub fn ui_format_workflow() -> Json {
    json!({
        "last_node_id": 9, "last_link_id": 9,
        "nodes": [
            {"id": 3, "type": "KSampler", "pos": [863, 186], "size": [315, 262], "flags": {},
             "order": 4, "mode": 0, "inputs": [{"name": "model", "type": "MODEL", "link": 1}],
             "outputs": [{"name": "LATENT", "type": "LATENT", "links": [7], "slot_index": 0}],
             "properties": {"Node name for S&R": "KSampler"},
             "widgets_values": [156680208700286u64, "randomize", 20, 8, "euler", "normal", 1]},
            {"id": 9, "type": "SaveImage", "pos": [1451, 189], "size": [210, 58], "flags": {},
             "order": 6, "mode": 0, "inputs": [{"name": "images", "type": "IMAGE", "link": 9}],
             "properties": {}, "widgets_values": ["ComfyUI"]}
        ],
        "links": [[1, 4, 0, 3, 0, "MODEL"], [9, 8, 0, 9, 0, "IMAGE"]],
        "groups": [], "config": {}, "extra": {}, "version": 0.4
    })
}
