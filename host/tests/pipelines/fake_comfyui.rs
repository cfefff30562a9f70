//! A small, faithful ComfyUI: the HTTP API the plugins use, with ComfyUI's answer shapes.
//!
//! * `POST /prompt` checks the workflow the way ComfyUI does before queueing (class types
//!   it knows, required inputs, links to existing nodes, an output node, uploaded images)
//!   and answers 400 with `{"error": {…}, "node_errors": {…}}` when it fails.
//! * One executor thread runs prompts in order, a configurable number of steps with a
//!   sleep each, and records `/history/{id}`: `{}` until done, then outputs and status.
//! * The images it "generates" are PNGs made by [`png_bytes`] from the seed and size the
//!   workflow asked for, so tests can check what was injected.
//! * Fault modes: refuse everything with 503, die in the middle of a job (the listener and
//!   every connection close), or fail a job with an `execution_error`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value as Json, json};

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
    /// What goes wrong.
    pub fault: Fault,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            steps: 4,
            step: Duration::from_millis(100),
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
    client_id: String,
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
}

/// The shared state of the server and its executor.
struct Shared {
    options: Options,
    queue: Mutex<Queue>,
    work: Condvar,
    killer: Killer,
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
        let router = Router::new()
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

    /// Queues a job for "another user", so ours waits behind it; returns its prompt id.
    pub fn occupy(&self, workflow: Json) -> String {
        enqueue(&self.shared, workflow, "someone-else".into()).0
    }
}

/// Puts a checked workflow in the queue and wakes the executor.
fn enqueue(shared: &Shared, prompt: Json, client_id: String) -> (String, u64) {
    let mut queue = shared.queue.lock().unwrap();
    queue.next_number += 1;
    let number = queue.next_number;
    // A UUID like ComfyUI's, but predictable.
    let id = format!("c0f0{number:04x}-0000-4000-8000-{number:012x}");
    let job = Job {
        number: queue.next_number,
        id: id.clone(),
        prompt,
        client_id,
    };
    queue.pending.push_back(job);
    shared.work.notify_all();
    (id, number)
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
    let client_id = body["client_id"].as_str().unwrap_or_default().to_owned();
    let (id, number) = enqueue(&shared, prompt, client_id);
    axum::Json(json!({"prompt_id": id, "number": number, "node_errors": {}})).into_response()
}

/// `[number, prompt_id, prompt, extra_data, outputs_to_execute]`.
fn queue_entry(job: &Job) -> Json {
    json!([job.number, job.id, job.prompt, {"client_id": job.client_id}, ["9"]])
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

/// The executor: one prompt at a time, in queue order.
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
        let entry = run_job(shared, &job);
        let Some(entry) = entry else {
            // Died mid-job: the server is gone and nothing more happens.
            return;
        };
        let mut queue = shared.queue.lock().unwrap();
        queue.running = None;
        queue.history.insert(job.id.clone(), entry);
    }
}

/// Runs one job; `None` when the fake died during it.
fn run_job(shared: &Shared, job: &Job) -> Option<Json> {
    let options = shared.options;
    let messages = |extra: Vec<Json>| {
        let mut all = vec![json!(["execution_start", {"prompt_id": job.id}])];
        all.extend(extra);
        all
    };
    for step in 0..options.steps {
        std::thread::sleep(options.step);
        if shared.queue.lock().unwrap().interrupt {
            return Some(
                json!({"prompt": queue_entry(job), "outputs": {}, "status": {
                "status_str": "error", "completed": false, "messages": messages(vec![
                    json!(["execution_interrupted", {"prompt_id": job.id, "node_id": "3",
                           "node_type": "KSampler", "executed": []}])])}}),
            );
        }
        if step == options.steps / 2 {
            match options.fault {
                Fault::DieMidJob => {
                    shared.killer.kill();
                    return None;
                }
                Fault::ExecutionError => {
                    return Some(
                        json!({"prompt": queue_entry(job), "outputs": {}, "status": {
                        "status_str": "error", "completed": false, "messages": messages(vec![
                            json!(["execution_error", {"prompt_id": job.id, "node_id": "3",
                                "node_type": "KSampler", "executed": ["4", "6", "7", "5"],
                                "exception_message": "CUDA out of memory. Tried to allocate 2.50 GiB",
                                "exception_type": "torch.OutOfMemoryError", "traceback": [],
                                "current_inputs": {}, "current_outputs": {}}])])}}),
                    );
                }
                Fault::None | Fault::Refuse => {}
            }
        }
    }
    let outputs = save_outputs(shared, job);
    Some(
        json!({"prompt": queue_entry(job), "outputs": outputs, "status": {
        "status_str": "success", "completed": true,
        "messages": messages(vec![json!(["execution_success", {"prompt_id": job.id}])])}}),
    )
}

/// "Generates" the images of every SaveImage / PreviewImage node: for each, a PNG per batch
/// item made from the KSampler seed (+ index) at the empty latent's size.
fn save_outputs(shared: &Shared, job: &Job) -> Json {
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
    let mut outputs = serde_json::Map::new();
    let mut queue = shared.queue.lock().unwrap();
    let mut counter = queue.files.len();
    for (id, node) in &nodes {
        let (folder, prefix) = match node["class_type"].as_str() {
            Some("SaveImage") => (
                "output",
                node["inputs"]["filename_prefix"]
                    .as_str()
                    .unwrap_or("ComfyUI")
                    .to_owned(),
            ),
            Some("PreviewImage") => ("temp", "ComfyUI_temp".to_owned()),
            _ => continue,
        };
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
        outputs.insert(id.clone(), json!({"images": images}));
    }
    Json::Object(outputs)
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
