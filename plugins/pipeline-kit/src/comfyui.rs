//! A ComfyUI client over [`net::Client`]: upload reference images, queue an API-format
//! workflow, follow it live on ComfyUI's WebSocket ([`crate::comfyui_live`]: step progress,
//! the node running, preview images) or, where the socket cannot be opened, by polling,
//! download what it made, and cancel it.
//!
//! Endpoints used: `GET /ws?clientId=` (WebSocket), `POST /upload/image`, `POST /prompt`,
//! `GET /queue`, `GET /history/{prompt_id}`, `GET /view`, `POST /interrupt` and `POST /queue`
//! (delete). When polling, the running fraction is estimated from the elapsed time.

use std::time::{Duration, Instant};

use mdc_sdk::host;
use mdc_sdk::prelude::*;
use mdc_sdk::serde_json::{Value as Json, json};

use crate::comfyui_live::{self, Followed};
use crate::net::{self, Client, Multipart, NetError};
use crate::request::{Generated, GenerationRequest};
use crate::workflow::{Exposed, Workflow, WorkflowError};

/// The backend's display name in messages.
pub const BACKEND: &str = "ComfyUI";

/// Where a local ComfyUI listens by default.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:8188";

/// First pause between two polls; it grows to [`MAX_POLL`].
const FIRST_POLL: Duration = Duration::from_millis(250);
/// Longest pause between two polls.
const MAX_POLL: Duration = Duration::from_secs(1);
/// Consecutive failed polls after which the backend counts as gone.
const FAILED_POLLS: u32 = 5;
/// Polls in a row in which ComfyUI neither queues nor remembers the prompt.
const LOST_POLLS: u32 = 8;
/// Timeout of a single poll; a hung server must not stall the job for long.
const POLL_TIMEOUT: Duration = Duration::from_secs(10);
/// Highest fraction reported while ComfyUI runs; downloading takes the rest.
pub(crate) const RUNNING_CAP: f32 = 0.9;

/// A file ComfyUI made or holds: what `/view` needs to serve it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRef {
    /// File name.
    pub filename: String,
    /// Sub-folder of the output, input or temp folder (often empty).
    pub subfolder: String,
    /// `output`, `input` or `temp` (previews).
    pub folder: String,
}

impl FileRef {
    /// Reads `{filename, subfolder, type}` (or an upload answer's `{name, subfolder, type}`).
    fn from_json(value: &Json) -> Option<FileRef> {
        let text = |k: &str| value.get(k).and_then(Json::as_str).map(str::to_owned);
        Some(FileRef {
            filename: text("filename").or_else(|| text("name"))?,
            subfolder: text("subfolder").unwrap_or_default(),
            folder: text("type").unwrap_or_else(|| "output".to_owned()),
        })
    }

    /// The value a LoadImage node takes for an uploaded file: `sub/name.png` or `name.png`.
    pub fn load_image_value(&self) -> String {
        if self.subfolder.is_empty() {
            self.filename.clone()
        } else {
            format!("{}/{}", self.subfolder, self.filename)
        }
    }

    /// The media type from the file extension, if it is one ComfyUI writes.
    pub fn mime_from_extension(&self) -> Option<&'static str> {
        let ext = self.filename.rsplit_once('.')?.1.to_ascii_lowercase();
        Some(match ext.as_str() {
            "png" => "image/png",
            "jpg" | "jpeg" => "image/jpeg",
            "webp" => "image/webp",
            "gif" => "image/gif",
            "mp4" | "m4v" => "video/mp4",
            "webm" => "video/webm",
            "mov" => "video/quicktime",
            "mkv" => "video/x-matroska",
            _ => return None,
        })
    }
}

/// A prompt ComfyUI accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// ComfyUI's id for it.
    pub prompt_id: String,
    /// Its place in ComfyUI's global order.
    pub number: i64,
}

/// Where our prompt is in ComfyUI's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueState {
    /// Executing now.
    Running,
    /// Waiting behind `ahead` prompts (running ones included).
    Pending {
        /// Prompts before ours.
        ahead: usize,
    },
    /// In neither list: finished (its history is on the way) or unknown.
    Absent,
}

/// How a finished prompt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Succeeded with these files (final outputs first; previews only when there are no
    /// final outputs), in node order.
    Success {
        /// Files to download.
        files: Vec<FileRef>,
        /// Preview files left out.
        previews_skipped: usize,
    },
    /// Failed: the user sentence.
    Error(String),
}

/// A ComfyUI server.
#[derive(Debug, Clone)]
pub struct ComfyUi {
    client: Client,
}

impl ComfyUi {
    /// A client for the ComfyUI at `endpoint` (`http://127.0.0.1:8188`).
    pub fn new(endpoint: &str) -> Result<ComfyUi, NodeError> {
        Ok(ComfyUi {
            client: Client::new(BACKEND, endpoint)?,
        })
    }

    /// `ComfyUI at http://…`.
    pub fn name(&self) -> String {
        format!("{BACKEND} at {}", self.client.base())
    }

    /// The HTTP client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Uploads an image into ComfyUI's input folder (`POST /upload/image`, overwriting a
    /// file of the same name) and returns where it landed.
    pub fn upload_image(
        &self,
        name: &str,
        mime: &str,
        bytes: Vec<u8>,
    ) -> Result<FileRef, NodeError> {
        let doing = format!("uploading the reference image {name}");
        let form = Multipart::new()
            .file("image", name, mime, bytes)
            .text("overwrite", "true");
        let answer = self
            .client
            .post_multipart("/upload/image", form)
            .map_err(|e| self.client.error(&doing, &e))?;
        FileRef::from_json(&answer).ok_or_else(|| {
            NodeError::failed(format!(
                "{doing}: {} answered without the file's name: {answer}",
                self.name()
            ))
        })
    }

    /// Queues `workflow` (`POST /prompt`) as prompt `prompt_id`, which is also the client id
    /// its WebSocket events are routed to. The id ComfyUI answers is the one to follow (a
    /// server older than client-chosen ids picks its own). A refused workflow (HTTP 400)
    /// becomes a sentence naming each failing node, its class and ComfyUI's message.
    pub fn queue_prompt(&self, workflow: &Workflow, prompt_id: &str) -> Result<Queued, NodeError> {
        let doing = "queueing the workflow";
        let body = json!({"prompt": workflow.to_json(), "client_id": prompt_id,
                          "prompt_id": prompt_id});
        let request = HttpRequest::post(self.client.url("/prompt"), body.to_string())
            .header("content-type", "application/json")
            .timeout_ms(net::DEFAULT_TIMEOUT_MS);
        let response =
            host::http_fetch(&request).map_err(|e| self.client.error(doing, &NetError::from(e)))?;
        if response.status == 400 {
            let answer: Json =
                mdc_sdk::serde_json::from_slice(&response.body).unwrap_or(Json::Null);
            return Err(NodeError::invalid_input(format!(
                "{} refused the workflow: {}",
                self.name(),
                refusal_sentence(&answer, workflow, &response.text())
            )));
        }
        if !response.is_success() {
            let err = NetError::Status {
                status: response.status,
                body: response.text().chars().take(300).collect(),
            };
            return Err(self.client.error(doing, &err));
        }
        let answer: Json = mdc_sdk::serde_json::from_slice(&response.body).map_err(|e| {
            self.client
                .error(doing, &NetError::BadBody(format!("not JSON ({e})")))
        })?;
        let prompt_id = answer
            .get("prompt_id")
            .and_then(Json::as_str)
            .ok_or_else(|| {
                NodeError::failed(format!(
                    "{doing}: {} answered without a prompt_id: {answer}",
                    self.name()
                ))
            })?;
        Ok(Queued {
            prompt_id: prompt_id.to_owned(),
            number: answer.get("number").and_then(Json::as_i64).unwrap_or(0),
        })
    }

    /// A poll-sized client (short timeout).
    fn poller(&self) -> Client {
        self.client.clone().with_timeout(POLL_TIMEOUT)
    }

    /// Where prompt `prompt_id` is in the queue (`GET /queue`).
    pub fn queue_state(&self, prompt_id: &str) -> Result<QueueState, NetError> {
        let queue = self.poller().get_json("/queue")?;
        let id_of = |entry: &Json| entry.get(1).and_then(Json::as_str).map(str::to_owned);
        let list = |key: &str| {
            queue
                .get(key)
                .and_then(Json::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let running = list("queue_running");
        if running
            .iter()
            .any(|e| id_of(e).as_deref() == Some(prompt_id))
        {
            return Ok(QueueState::Running);
        }
        let pending = list("queue_pending");
        let Some(ours) = pending
            .iter()
            .find(|e| id_of(e).as_deref() == Some(prompt_id))
        else {
            return Ok(QueueState::Absent);
        };
        let number = |e: &Json| e.get(0).and_then(Json::as_f64).unwrap_or(f64::MAX);
        let before = pending.iter().filter(|e| number(e) < number(ours)).count();
        Ok(QueueState::Pending {
            ahead: running.len() + before,
        })
    }

    /// How prompt `prompt_id` ended (`GET /history/{id}`); `None` while it has not.
    pub fn history(&self, prompt_id: &str) -> Result<Option<Outcome>, NetError> {
        let path = format!("/history/{}", net::encode_component(prompt_id));
        let history = self.poller().get_json(&path)?;
        Ok(history
            .get(prompt_id)
            .map(|entry| outcome(entry, prompt_id, &self.name())))
    }

    /// Downloads a file (`GET /view`): its bytes and media type.
    pub fn download(&self, file: &FileRef) -> Result<(Vec<u8>, String), NodeError> {
        let path = format!(
            "/view{}",
            net::query(&[
                ("filename", &file.filename),
                ("subfolder", &file.subfolder),
                ("type", &file.folder),
            ])
        );
        let response = self
            .client
            .send("GET", &path, Vec::new(), Vec::new())
            .map_err(|e| {
                self.client
                    .error(&format!("downloading {}", file.filename), &e)
            })?;
        let mime = file
            .mime_from_extension()
            .map(str::to_owned)
            .or_else(|| {
                response
                    .header_value("content-type")
                    .map(|c| c.split(';').next().unwrap_or("").trim().to_owned())
                    .filter(|c| !c.is_empty())
            })
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        Ok((response.body, mime))
    }

    /// Stops our prompt after the user cancelled: interrupts it when it runs, deletes it
    /// from the queue when it waits. Best effort: the job is cancelled either way.
    pub fn cancel(&self, prompt_id: &str) {
        let quick = self.client.clone().with_timeout(Duration::from_secs(2));
        let result = match self.queue_state(prompt_id) {
            Ok(QueueState::Running) => quick
                .post_json("/interrupt", &json!({"prompt_id": prompt_id}))
                .map(|_| "interrupted"),
            Ok(QueueState::Pending { .. }) => quick
                .post_json("/queue", &json!({"delete": [prompt_id]}))
                .map(|_| "removed from the queue"),
            Ok(QueueState::Absent) => Ok("already finished"),
            Err(e) => Err(e),
        };
        match result {
            Ok(what) => host::info(&format!(
                "cancelled: prompt {prompt_id} {what} on {}",
                self.name()
            )),
            Err(e) => host::warn(&format!(
                "cancelled, but could not stop prompt {prompt_id}: {}",
                e.describe(BACKEND, self.client.base())
            )),
        }
    }

    /// Polls until prompt `queued` ends and returns its outcome, reporting queue position
    /// and an elapsed-time estimate (against `expected`) as progress. Cancels the prompt
    /// when the user cancels; gives up with `backend-unavailable` naming the prompt when
    /// ComfyUI stops answering or forgets the prompt.
    pub fn wait_for(&self, queued: &Queued, expected: Duration) -> Result<Outcome, NodeError> {
        let mut poller = Poller::new(self, &queued.prompt_id, expected);
        let mut pause = FIRST_POLL;
        loop {
            if let Some(outcome) = poller.poll(true)? {
                return Ok(outcome);
            }
            if let Err(cancelled) = net::wait(pause) {
                self.cancel(&queued.prompt_id);
                return Err(cancelled);
            }
            pause = (pause * 3 / 2).min(MAX_POLL);
        }
    }

    /// One poll: the history first, then the queue.
    fn poll_once(&self, id: &str) -> Result<Poll, NetError> {
        if let Some(outcome) = self.history(id)? {
            return Ok(Poll::Done(outcome));
        }
        Ok(Poll::Waiting(self.queue_state(id)?))
    }

    /// A prompt id no run on this server has used: a UUID derived from the workflow (which
    /// holds the seed and every injected input) and an attempt counter, the next attempt
    /// when ComfyUI already queues or remembers the id (a run of the same workflow and seed
    /// before). Ids are chosen here rather than by ComfyUI because its WebSocket events can
    /// arrive before the answer to `POST /prompt`.
    pub fn fresh_prompt_id(&self, workflow: &Workflow) -> Result<String, NodeError> {
        const ATTEMPTS: u32 = 16;
        let text = workflow.to_json().to_string();
        let mut id = comfyui_live::prompt_id(&text, 0);
        for attempt in 1..ATTEMPTS {
            let known = self.history(&id).and_then(|history| match history {
                Some(_) => Ok(true),
                None => Ok(self.queue_state(&id)? != QueueState::Absent),
            });
            match known {
                Ok(false) => break,
                Ok(true) => id = comfyui_live::prompt_id(&text, attempt),
                Err(err) => return Err(self.client.error("queueing the workflow", &err)),
            }
        }
        Ok(id)
    }
}

/// Follows one prompt by polling: counts failed polls and polls that find the prompt
/// nowhere, and reports queue position (and, when asked, the elapsed-time estimate).
pub(crate) struct Poller<'a> {
    server: &'a ComfyUi,
    id: &'a str,
    expected: Duration,
    failures: u32,
    absent: u32,
    running_since: Option<Instant>,
}

impl<'a> Poller<'a> {
    /// A poller for prompt `id`, estimating a run against `expected`.
    pub(crate) fn new(server: &'a ComfyUi, id: &'a str, expected: Duration) -> Poller<'a> {
        Poller {
            server,
            id,
            expected,
            failures: 0,
            absent: 0,
            running_since: None,
        }
    }

    /// One poll: the outcome once the prompt ended, `None` while it waits or runs. Reports
    /// the queue position while it waits and, with `estimate`, the elapsed-time estimate
    /// while it runs. Fails with `backend-unavailable` after [`FAILED_POLLS`] failed polls or
    /// [`LOST_POLLS`] polls that find the prompt nowhere.
    pub(crate) fn poll(&mut self, estimate: bool) -> Result<Option<Outcome>, NodeError> {
        let id = self.id;
        let name = self.server.name();
        match self.server.poll_once(id) {
            Ok(Poll::Done(outcome)) => Ok(Some(outcome)),
            Ok(Poll::Waiting(state)) => {
                self.failures = 0;
                self.absent = if state == QueueState::Absent {
                    self.absent + 1
                } else {
                    0
                };
                if self.absent >= LOST_POLLS {
                    return Err(NodeError::backend_unavailable(format!(
                        "{name} no longer knows prompt {id}: it is neither queued nor in the \
                         history (was ComfyUI restarted?). Generate again."
                    )));
                }
                match state {
                    QueueState::Pending { ahead } => {
                        host::progress(0.05, &format!("queued on ComfyUI: {ahead} ahead"));
                    }
                    QueueState::Running | QueueState::Absent if estimate => {
                        let since = *self.running_since.get_or_insert_with(Instant::now);
                        let share =
                            since.elapsed().as_secs_f32() / self.expected.as_secs_f32().max(1.0);
                        let fraction = (0.1 + 0.8 * share).min(RUNNING_CAP);
                        host::progress(fraction, "running on ComfyUI");
                    }
                    QueueState::Running | QueueState::Absent => {}
                }
                Ok(None)
            }
            Err(err) if err.is_backend_failure() => {
                self.failures += 1;
                if self.failures >= FAILED_POLLS {
                    return Err(NodeError::backend_unavailable(format!(
                        "{name} stopped answering while running prompt {id} ({}). Check that \
                         ComfyUI is still running, then generate again.",
                        err.short()
                    )));
                }
                Ok(None)
            }
            Err(err) => Err(self
                .server
                .client
                .error(&format!("following prompt {id}"), &err)),
        }
    }
}

/// What one poll found.
enum Poll {
    Done(Outcome),
    Waiting(QueueState),
}

/// The outcome recorded in a history entry.
fn outcome(entry: &Json, prompt_id: &str, name: &str) -> Outcome {
    let status = entry.get("status").cloned().unwrap_or(Json::Null);
    let messages = status
        .get("messages")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    let message = |kind: &str| {
        messages
            .iter()
            .find(|m| m.get(0).and_then(Json::as_str) == Some(kind))
            .and_then(|m| m.get(1).cloned())
    };
    if status.get("status_str").and_then(Json::as_str) == Some("error") {
        if let Some(error) = message("execution_error") {
            let field = |k: &str| {
                error
                    .get(k)
                    .and_then(Json::as_str)
                    .unwrap_or("?")
                    .to_owned()
            };
            return Outcome::Error(format!(
                "{name} failed prompt {prompt_id} at node {} ({}): {} — {}",
                field("node_id"),
                field("node_type"),
                field("exception_type"),
                field("exception_message").trim()
            ));
        }
        if message("execution_interrupted").is_some() {
            return Outcome::Error(format!(
                "prompt {prompt_id} was interrupted on {name} before it finished"
            ));
        }
        return Outcome::Error(format!("{name} reports that prompt {prompt_id} failed"));
    }
    let mut nodes: Vec<(&String, &Json)> = entry
        .get("outputs")
        .and_then(Json::as_object)
        .map(|m| m.iter().collect())
        .unwrap_or_default();
    nodes.sort_by(|a, b| match (a.0.parse::<u64>(), b.0.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.0.cmp(b.0),
    });
    let all: Vec<FileRef> = nodes
        .iter()
        .flat_map(|(_, out)| {
            ["images", "gifs", "videos"]
                .into_iter()
                .filter_map(|k| out.get(k).and_then(Json::as_array))
                .flatten()
                .filter_map(FileRef::from_json)
        })
        .collect();
    let finals: Vec<FileRef> = all.iter().filter(|f| f.folder != "temp").cloned().collect();
    if finals.is_empty() {
        Outcome::Success {
            files: all,
            previews_skipped: 0,
        }
    } else {
        let previews_skipped = all.len() - finals.len();
        Outcome::Success {
            files: finals,
            previews_skipped,
        }
    }
}

/// `node 4 (CheckpointLoaderSimple): Value not in list: ckpt_name …; node 6 (…): …`, from
/// a `POST /prompt` refusal; falls back to the error's own message, then to the raw body.
fn refusal_sentence(answer: &Json, workflow: &Workflow, raw: &str) -> String {
    let mut found = Vec::new();
    if let Some(nodes) = answer.get("node_errors").and_then(Json::as_object) {
        let mut ids: Vec<&String> = nodes.keys().collect();
        ids.sort_by(|a, b| match (a.parse::<u64>(), b.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => a.cmp(b),
        });
        for id in ids {
            let node = &nodes[id.as_str()];
            let class = node
                .get("class_type")
                .and_then(Json::as_str)
                .or_else(|| workflow.class_of(id))
                .unwrap_or("unknown class");
            let errors: Vec<String> = node
                .get("errors")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .map(|e| {
                    let text = |k: &str| e.get(k).and_then(Json::as_str).unwrap_or("").trim();
                    match (text("message"), text("details")) {
                        (m, "") => m.to_owned(),
                        (m, d) => format!("{m}: {d}"),
                    }
                })
                .collect();
            found.push(format!("node {id} ({class}): {}", errors.join("; ")));
        }
    }
    let error = answer.get("error");
    let text = |k: &str| {
        error
            .and_then(|e| e.get(k))
            .and_then(Json::as_str)
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    match (found.is_empty(), text("message"), text("details")) {
        (false, _, _) => found.join("; "),
        (true, m, d) if !m.is_empty() && !d.is_empty() => format!("{m}: {d}"),
        (true, m, _) if !m.is_empty() => m,
        _ => raw.chars().take(300).collect(),
    }
}

/// A ComfyUI pipeline: where it runs, the workflow, the inputs exposed by name and the
/// values set on them. Read from a pipeline configuration
/// `{"kind": "comfyui", "endpoint": …, "workflow": {…}, "expose": {…}, "values": {…}}`.
#[derive(Debug, Clone)]
pub struct ComfyJob {
    /// The server.
    pub server: ComfyUi,
    /// The API-format workflow.
    pub workflow: Workflow,
    /// Inputs exposed under friendly names (`Prompt`, `Steps`).
    pub exposed: Exposed,
    /// Values for exposed inputs (`{"Steps": 30}`).
    pub values: Json,
    /// How long a run usually takes, for the progress estimate.
    pub expected: Duration,
}

/// How long a run of `tier` usually takes, unless the configuration says (`expected_seconds`).
pub fn expected_duration(tier: QualityTier) -> Duration {
    match tier {
        QualityTier::Low => Duration::from_secs(10),
        QualityTier::Standard => Duration::from_secs(45),
        QualityTier::High => Duration::from_secs(180),
    }
}

impl ComfyJob {
    /// Reads a pipeline configuration; `tier` picks the expected duration unless the
    /// configuration has `expected_seconds`. A missing endpoint means the local default.
    pub fn from_config(config: &Json, tier: QualityTier) -> Result<ComfyJob, NodeError> {
        let endpoint = config
            .get("endpoint")
            .and_then(Json::as_str)
            .filter(|e| !e.trim().is_empty())
            .unwrap_or(DEFAULT_ENDPOINT);
        let workflow = match config.get("workflow") {
            None | Some(Json::Null) => {
                return Err(WorkflowError(
                    "The ComfyUI pipeline has no workflow; paste one saved with “Save (API \
                     Format)”."
                        .to_owned(),
                )
                .into());
            }
            Some(Json::String(text)) => Workflow::parse(text)?,
            Some(value) => Workflow::from_json(value)?,
        };
        let exposed = Exposed::from_json(config.get("expose").unwrap_or(&Json::Null))?;
        if let Some(problem) = exposed.check(&workflow).into_iter().next() {
            return Err(problem.into());
        }
        let expected = config
            .get("expected_seconds")
            .and_then(Json::as_f64)
            .filter(|s| *s > 0.0)
            .map(Duration::from_secs_f64)
            .unwrap_or_else(|| expected_duration(tier));
        Ok(ComfyJob {
            server: ComfyUi::new(endpoint)?,
            workflow,
            exposed,
            values: config.get("values").cloned().unwrap_or(Json::Null),
            expected,
        })
    }

    /// Puts the request into the workflow: prompt, negative prompt, seed, size, frame count
    /// (at the exposed `Prompt`, `Negative`, `Seed`, `Width`, `Height`, `Frames` paths, or
    /// where [`Workflow`] finds them) and the uploaded reference images into the LoadImage
    /// nodes in order; then the exposed values, which win. Returns notes for the user.
    pub fn prepare(
        &self,
        request: &GenerationRequest,
        uploaded: &[FileRef],
    ) -> Result<(Workflow, Vec<String>), NodeError> {
        let mut wf = self.workflow.clone();
        let mut notes = Vec::new();
        let exposed_or = |name: &str, found: Option<String>| {
            self.exposed.path(name).map(str::to_owned).or(found)
        };
        if !request.prompt.trim().is_empty() {
            let Some(path) = exposed_or("Prompt", wf.positive_prompt_path()) else {
                return Err(NodeError::invalid_input(
                    "Cannot tell where the prompt goes in this workflow (no text encoder \
                     feeds a sampler's positive input). Expose it as “Prompt”, for example \
                     {\"Prompt\": \"6.inputs.text\"}.",
                ));
            };
            wf.set(&path, json!(request.prompt))?;
        }
        if !request.negative_prompt.trim().is_empty() {
            match exposed_or("Negative", wf.negative_prompt_path()) {
                Some(path) => wf.set(&path, json!(request.negative_prompt))?,
                None => {
                    notes.push("the workflow has no negative prompt; it was not used".to_owned())
                }
            }
        }
        let seeds = match self.exposed.path("Seed") {
            Some(path) => vec![path.to_owned()],
            None => wf.seed_paths(),
        };
        for path in seeds {
            wf.set(&path, json!(request.seed))?;
        }
        if request.width > 0 && request.height > 0 {
            let sizes = match (self.exposed.path("Width"), self.exposed.path("Height")) {
                (Some(w), Some(h)) => vec![(w.to_owned(), h.to_owned())],
                _ => wf.size_paths(),
            };
            for (w, h) in sizes {
                wf.set(&w, json!(request.width))?;
                wf.set(&h, json!(request.height))?;
            }
        }
        if request.function == crate::request::Function::CreateVideo && request.frames > 0 {
            let frames = match self.exposed.path("Frames") {
                Some(path) => vec![path.to_owned()],
                None => wf.frame_count_paths(),
            };
            for path in frames {
                wf.set(&path, json!(request.frames))?;
            }
        }
        let slots = wf.load_image_paths();
        for (path, file) in slots.iter().zip(uploaded) {
            wf.set(path, json!(file.load_image_value()))?;
        }
        if uploaded.len() > slots.len() {
            notes.push(format!(
                "{} of {} reference images were not used: the workflow has {} LoadImage node{}",
                uploaded.len() - slots.len(),
                uploaded.len(),
                slots.len(),
                if slots.len() == 1 { "" } else { "s" }
            ));
        }
        self.exposed.apply(&mut wf, &self.values)?;
        Ok((wf, notes))
    }

    /// Runs the request: uploads the references, queues the prepared workflow, waits for
    /// it and stores every output with `host::write_output`.
    pub fn run(&self, request: &GenerationRequest) -> Result<Generated, NodeError> {
        let server = &self.server;
        let mut uploaded = Vec::new();
        for (i, reference) in request.references.iter().enumerate() {
            host::progress(
                0.02,
                &format!(
                    "uploading reference image {} of {}",
                    i + 1,
                    request.references.len()
                ),
            );
            let bytes = host::read_asset(&reference.id).map_err(|e| {
                NodeError::failed(format!(
                    "cannot read the reference image {}: {e}",
                    reference.id
                ))
            })?;
            let name = upload_name(&reference.id, &reference.mime);
            uploaded.push(server.upload_image(&name, &reference.mime, bytes)?);
        }
        let (workflow, mut notes) = self.prepare(request, &uploaded)?;
        if host::is_cancelled() {
            return Err(NodeError::cancelled());
        }
        host::progress(0.04, "sending the workflow to ComfyUI");
        let prompt_id = server.fresh_prompt_id(&workflow)?;
        // Connected before queueing: ComfyUI routes a prompt's events to the socket whose
        // client id the prompt carries, from its first event on.
        let socket = comfyui_live::connect(server, &prompt_id);
        let queued = server.queue_prompt(&workflow, &prompt_id)?;
        host::info(&format!(
            "{} queued prompt {}",
            server.name(),
            queued.prompt_id
        ));
        let outcome = match socket {
            Some(socket) => {
                match comfyui_live::follow(server, &socket, &queued, &workflow, self.expected)? {
                    Followed::Done(outcome) => outcome,
                    Followed::Ended => server.wait_for(&queued, self.expected)?,
                    Followed::Lost(why) => {
                        host::info(&format!(
                            "ComfyUI's WebSocket stopped ({why}); following prompt {} by polling",
                            queued.prompt_id
                        ));
                        server.wait_for(&queued, self.expected)?
                    }
                }
            }
            None => server.wait_for(&queued, self.expected)?,
        };
        let (files, skipped) = match outcome {
            Outcome::Error(message) => return Err(NodeError::failed(message)),
            Outcome::Success {
                files,
                previews_skipped,
            } => (files, previews_skipped),
        };
        if files.is_empty() {
            return Err(NodeError::failed(format!(
                "{} finished prompt {} without any image or video output; does the workflow \
                 end in a SaveImage (or video save) node?",
                server.name(),
                queued.prompt_id
            )));
        }
        if skipped > 0 {
            notes.push(format!("{skipped} preview image(s) were left out"));
        }
        let mut outputs = Vec::new();
        for (i, file) in files.iter().enumerate() {
            host::progress(
                RUNNING_CAP + 0.1 * i as f32 / files.len() as f32,
                &format!("downloading {} outputs", files.len()),
            );
            let (bytes, mime) = server.download(file)?;
            let id = host::write_output(&mime, &bytes)
                .map_err(|e| NodeError::failed(format!("cannot store {}: {e}", file.filename)))?;
            outputs.push(AssetRef::new(id, mime));
        }
        host::progress(1.0, "done");
        Ok(Generated {
            outputs,
            backend: server.name(),
            notes,
        })
    }
}

/// A file name for an uploaded asset: its id made safe, with an extension for its type.
fn upload_name(id: &str, mime: &str) -> String {
    let stem: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(60)
        .collect();
    let ext = match mime {
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        "image/gif" => "gif",
        _ => "png",
    };
    format!("mdc-{stem}.{ext}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Function;
    use mdc_sdk::testing::TestHost;

    fn workflow() -> Json {
        json!({
            "3": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20, "model": ["4", 0],
                  "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
            "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd.safetensors"}},
            "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}},
            "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
            "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
            "10": {"class_type": "LoadImage", "inputs": {"image": "example.png"}},
            "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0]}}
        })
    }

    fn request() -> GenerationRequest {
        GenerationRequest {
            function: Function::CreateImage,
            prompt: "a harbour at dawn".into(),
            negative_prompt: String::new(),
            seed: 99,
            tier: QualityTier::Standard,
            width: 1344,
            height: 768,
            frames: 1,
            references: Vec::new(),
        }
    }

    #[test]
    fn prepare_injects_prompt_seed_size_references_and_values() {
        let config = json!({"endpoint": "http://gpu:8188", "workflow": workflow(),
            "expose": {"Steps": "3.inputs.steps"}, "values": {"Steps": 8}});
        let job = ComfyJob::from_config(&config, QualityTier::Standard).unwrap();
        let refs = [
            FileRef {
                filename: "a.png".into(),
                subfolder: "".into(),
                folder: "input".into(),
            },
            FileRef {
                filename: "b.png".into(),
                subfolder: "mdc".into(),
                folder: "input".into(),
            },
        ];
        let (wf, notes) = job.prepare(&request(), &refs).unwrap();
        let wf = wf.to_json();
        assert_eq!(wf["6"]["inputs"]["text"], "a harbour at dawn");
        assert_eq!(wf["7"]["inputs"]["text"], "blurry");
        assert_eq!(wf["3"]["inputs"]["seed"], 99);
        assert_eq!(wf["3"]["inputs"]["steps"], 8);
        assert_eq!(
            (
                wf["5"]["inputs"]["width"].clone(),
                wf["5"]["inputs"]["height"].clone()
            ),
            (json!(1344), json!(768))
        );
        assert_eq!(wf["10"]["inputs"]["image"], "a.png");
        assert_eq!(
            notes,
            ["1 of 2 reference images were not used: the workflow has 1 LoadImage node"]
        );
    }

    #[test]
    fn configuration_errors_are_sentences() {
        let no_workflow = ComfyJob::from_config(&json!({}), QualityTier::Standard).unwrap_err();
        assert!(
            no_workflow.message.contains("has no workflow"),
            "{}",
            no_workflow.message
        );
        let bad_expose = ComfyJob::from_config(
            &json!({"workflow": workflow(), "expose": {"Steps": "3.inputs.stepz"}}),
            QualityTier::Standard,
        )
        .unwrap_err();
        assert!(
            bad_expose.message.contains("has no input “stepz”"),
            "{}",
            bad_expose.message
        );
        let bad_url = ComfyJob::from_config(
            &json!({"endpoint": "gpu:8188", "workflow": workflow()}),
            QualityTier::High,
        )
        .unwrap_err();
        assert!(
            bad_url.message.contains("not an http"),
            "{}",
            bad_url.message
        );
    }

    #[test]
    fn refusals_name_node_class_and_message() {
        let wf = Workflow::from_json(&workflow()).unwrap();
        let answer = json!({
            "error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": ""},
            "node_errors": {"4": {"errors": [{"type": "value_not_in_list", "message": "Value not in list",
                "details": "ckpt_name: 'sd.safetensors' not in []"}], "class_type": "CheckpointLoaderSimple"}}
        });
        assert_eq!(
            refusal_sentence(&answer, &wf, ""),
            "node 4 (CheckpointLoaderSimple): Value not in list: ckpt_name: 'sd.safetensors' not in []"
        );
        let plain = json!({"error": {"type": "invalid_prompt", "message": "Cannot execute because a node is missing the class_type property.", "details": "Node ID '#12'"}, "node_errors": {}});
        assert_eq!(
            refusal_sentence(&plain, &wf, ""),
            "Cannot execute because a node is missing the class_type property.: Node ID '#12'"
        );
        assert_eq!(refusal_sentence(&Json::Null, &wf, "oops"), "oops");
    }

    #[test]
    fn history_outcomes() {
        let ok = json!({"outputs": {
            "12": {"images": [{"filename": "p.png", "subfolder": "", "type": "temp"}]},
            "9": {"images": [{"filename": "a.png", "subfolder": "", "type": "output"}],
                  "gifs": [{"filename": "clip.mp4", "subfolder": "v", "type": "output"}]}},
            "status": {"status_str": "success", "completed": true, "messages": []}});
        match outcome(&ok, "p1", "ComfyUI at x") {
            Outcome::Success {
                files,
                previews_skipped,
            } => {
                let names: Vec<&str> = files.iter().map(|f| f.filename.as_str()).collect();
                assert_eq!(names, ["a.png", "clip.mp4"]);
                assert_eq!(previews_skipped, 1);
                assert_eq!(files[1].mime_from_extension(), Some("video/mp4"));
            }
            other => panic!("{other:?}"),
        }
        let failed = json!({"outputs": {}, "status": {"status_str": "error", "completed": false, "messages": [
            ["execution_start", {"prompt_id": "p1"}],
            ["execution_error", {"prompt_id": "p1", "node_id": "3", "node_type": "KSampler",
             "exception_type": "torch.OutOfMemoryError", "exception_message": "CUDA out of memory. "}]]}});
        assert_eq!(
            outcome(&failed, "p1", "ComfyUI at x"),
            Outcome::Error(
                "ComfyUI at x failed prompt p1 at node 3 (KSampler): torch.OutOfMemoryError — CUDA out of memory."
                    .into()
            )
        );
    }

    /// Asks a ComfyUI for our queue position from inside a node run.
    struct QueueProbe;

    impl Node for QueueProbe {
        fn describe() -> NodeDescriptor {
            NodeDescriptor::new("probe", "0.1.0", "Probe")
                .capability(Capability::outbound_http(["*"]))
        }

        fn execute(_: NodeInput) -> Result<NodeOutputs, NodeError> {
            let state = ComfyUi::new("http://gpu:8188")?
                .queue_state("mine")
                .map_err(|e| NodeError::failed(e.describe(BACKEND, "http://gpu:8188")))?;
            Ok(NodeOutputs::new().summary(format!("{state:?}")))
        }
    }

    #[test]
    fn queue_position_counts_running_and_earlier_prompts() {
        let host = TestHost::new().http("http://gpu:8188", |request| {
            assert_eq!(request.url, "http://gpu:8188/queue");
            let queue = json!({
                "queue_running": [[1, "a", {}, {}, []]],
                "queue_pending": [[4, "later", {}, {}, []], [2, "b", {}, {}, []], [3, "mine", {}, {}, []]]
            });
            Ok(HttpResponse::new(200, queue.to_string()))
        });
        let out = host
            .execute::<QueueProbe>(mdc_sdk::testing::InputBuilder::new())
            .unwrap();
        assert_eq!(out.summary, "Pending { ahead: 2 }");
    }
}
