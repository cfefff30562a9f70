//! A client for the HTTP API every Gradio 4/5 app serves (Wan2GP is one), over
//! [`net::Client`](crate::net::Client).
//!
//! The protocol, as Gradio documents it for `curl`:
//!
//! * `GET {prefix}/info`: the named endpoints and their parameters.
//! * `POST {prefix}/call/{api_name}` with `{"data": [...]}` answers `{"event_id": "…"}`.
//! * `GET {prefix}/call/{api_name}/{event_id}` answers a `text/event-stream` of
//!   `event: generating | complete | error | heartbeat` events with `data: <json>` lines;
//!   `complete` carries the outputs, `error` a message or `null`.
//! * Files are FileData objects (`{"path", "url", "orig_name", "mime_type", "meta":
//!   {"_type": "gradio.FileData"}}`), downloadable at their `url` or `GET
//!   {prefix}/file={path}`; uploads go to `POST {prefix}/upload` (multipart field `files`),
//!   which answers the server paths.
//!
//! `{prefix}` is `/gradio_api` on current Gradio and empty on older 4.x servers;
//! [`Prefix::Detect`] finds out from which `info` route answers.
//!
//! The event stream is read as it arrives ([`mdc_sdk::live::open`]), so each `generating`
//! event (the outputs so far, with the app's status text) and `heartbeat` (every 15 s or so)
//! reaches the caller while the job runs ([`Stage`]); a stream that ends without
//! `complete` or `error` means the server stopped mid-job. That route sends no other
//! events: the step progress an app reports with `gr.Progress` travels only on Gradio's
//! internal queue protocol, not on `/call`, so the step is read from the status text when
//! the app writes one like `step 12/30` ([`step_of`]). Behind a proxy that buffers event
//! streams, the events arrive together at the end, as with a whole fetch.

use std::time::{Duration, Instant};

use mdc_sdk::live::EventRead;
use mdc_sdk::prelude::*;
use mdc_sdk::serde_json::{Value as Json, json};
use mdc_sdk::sse::ServerEvent;

use crate::net::{Client, Multipart, NetError, encode_component};

/// Longest wait for one piece of an event stream: how often cancellation and the job's
/// deadline are checked while the server is quiet.
const STREAM_WAIT: Duration = Duration::from_millis(250);

/// Longest error answer read from a job's stream, for the message.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// The API prefix of current Gradio versions.
pub const MODERN_PREFIX: &str = "/gradio_api";

/// The `_type` tag Gradio puts in a FileData's `meta`.
pub const FILE_DATA_TYPE: &str = "gradio.FileData";

/// Per-request timeout of file downloads: a 720p clip from a remote GPU can take a while.
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(300);

/// Deepest nesting searched for FileData in an output value.
const MAX_DEPTH: usize = 16;

/// Where a Gradio app serves its API routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prefix {
    /// Try `/gradio_api/info`, then `/info`, and use the prefix that answered.
    Detect,
    /// Always this prefix: `/gradio_api`, or empty for the root.
    Fixed(String),
}

impl Prefix {
    /// Parses a configured prefix: `auto` (or nothing) detects, `root` (or `/`) is the root,
    /// anything else is a path such as `/gradio_api`.
    pub fn parse(text: &str) -> Result<Prefix, String> {
        let text = text.trim();
        match text {
            "" | "auto" => Ok(Prefix::Detect),
            "/" | "root" | "none" => Ok(Prefix::Fixed(String::new())),
            path if path.starts_with('/')
                && path
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/_-.".contains(c)) =>
            {
                Ok(Prefix::Fixed(path.trim_end_matches('/').to_owned()))
            }
            other => Err(format!(
                "the API prefix {other:?} is not `auto`, `root` or a path such as /gradio_api"
            )),
        }
    }
}

/// Normalises an endpoint name as the API tab shows it (`/generate`) to its route segment
/// (`generate`). Gradio names are letters, digits, `_` and `-`.
pub fn api_route_name(api_name: &str) -> Result<String, String> {
    let name = api_name.trim().trim_start_matches('/');
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "the API name {api_name:?} is not an endpoint name such as /generate \
             (letters, digits, `_` and `-` after the slash)"
        ))
    }
}

/// One parameter of a named endpoint, as `/info` describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// The Python argument name (`prompt`), or the label in snake case when the app gives none.
    pub name: String,
    /// The label shown in the UI (`Prompt`).
    pub label: String,
    /// The component (`Textbox`, `Slider`, `Image`).
    pub component: String,
    /// The default the app declares, if it declares one.
    pub default: Option<Json>,
}

impl Parameter {
    /// A parameter known only by name (no label, component or default).
    pub fn named(name: &str) -> Parameter {
        Parameter {
            name: name.trim().to_owned(),
            label: String::new(),
            component: String::new(),
            default: None,
        }
    }
}

/// A named endpoint: its name with the slash (`/generate`) and its parameters in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// `/generate`.
    pub name: String,
    /// The parameters, in the order `data` lists them.
    pub parameters: Vec<Parameter>,
}

/// What `GET {prefix}/info` says about an app: its named endpoints.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApiInfo {
    /// Named endpoints in the order the app lists them.
    pub endpoints: Vec<Endpoint>,
}

impl ApiInfo {
    /// Reads the `named_endpoints` of an `/info` answer.
    pub fn parse(info: &Json) -> Result<ApiInfo, String> {
        let Some(named) = info.get("named_endpoints").and_then(Json::as_object) else {
            return Err("it has no `named_endpoints` object".to_owned());
        };
        let endpoints = named
            .iter()
            .map(|(name, endpoint)| Endpoint {
                name: name.clone(),
                parameters: endpoint
                    .get("parameters")
                    .and_then(Json::as_array)
                    .map(|params| params.iter().map(parameter).collect())
                    .unwrap_or_default(),
            })
            .collect();
        Ok(ApiInfo { endpoints })
    }

    /// The endpoint called `name` (with or without the leading slash).
    pub fn endpoint(&self, name: &str) -> Option<&Endpoint> {
        let wanted = name.trim().trim_start_matches('/');
        self.endpoints
            .iter()
            .find(|e| e.name.trim_start_matches('/') == wanted)
    }

    /// The endpoint names, comma-separated, for messages (`none` when there are none).
    pub fn names(&self) -> String {
        if self.endpoints.is_empty() {
            "none".to_owned()
        } else {
            let names: Vec<&str> = self.endpoints.iter().map(|e| e.name.as_str()).collect();
            names.join(", ")
        }
    }
}

/// One entry of an endpoint's `parameters` array.
fn parameter(value: &Json) -> Parameter {
    let text = |key: &str| value.get(key).and_then(Json::as_str).unwrap_or("").trim();
    let label = text("label").to_owned();
    let name = match text("parameter_name") {
        "" => snake_case(&label),
        name => name.to_owned(),
    };
    let default = if value.get("parameter_has_default").and_then(Json::as_bool) == Some(true) {
        Some(
            value
                .get("parameter_default")
                .cloned()
                .unwrap_or(Json::Null),
        )
    } else {
        None
    };
    Parameter {
        name,
        label,
        component: text("component").to_owned(),
        default,
    }
}

/// `Video length` → `video_length`.
fn snake_case(label: &str) -> String {
    let mut out = String::new();
    for word in label
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push('_');
        }
        out.push_str(&word.to_lowercase());
    }
    out
}

/// A stage of a running job, as its event stream announces it.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// A `generating` event: the outputs so far (`data`) and the first status text in them.
    Generating {
        /// How many `generating` events came so far, this one included.
        count: usize,
        /// The app's status text, if the outputs hold one (`Denoising: step 3/30`).
        status: Option<String>,
        /// The outputs so far.
        data: Json,
    },
    /// A `heartbeat`: the job is still queued or running, `elapsed` after the stream opened.
    Heartbeat {
        /// Time since the stream opened.
        elapsed: Duration,
    },
}

/// Turns a job's stages into progress for the host: `generating on Wan2GP: <status>` with
/// the step's fraction (10 % to 90 %) when the status names one, `generating on Wan2GP:
/// update N` otherwise, and the time waited on each heartbeat. The fraction never drops.
#[derive(Debug, Clone)]
pub struct StageProgress {
    backend: String,
    fraction: f32,
}

impl StageProgress {
    /// Progress for a job on `backend`, starting at 10 %.
    pub fn new(backend: &str) -> StageProgress {
        StageProgress {
            backend: backend.to_owned(),
            fraction: 0.1,
        }
    }

    /// The fraction and message for `stage`.
    pub fn update(&mut self, stage: &Stage) -> (f32, String) {
        let backend = &self.backend;
        let message = match stage {
            Stage::Generating {
                status: Some(status),
                ..
            } => {
                if let Some((done, total)) = step_of(status) {
                    let share = done as f32 / total as f32;
                    self.fraction = self.fraction.max(0.1 + 0.8 * share);
                }
                format!("generating on {backend}: {status}")
            }
            Stage::Generating { count, .. } => format!("generating on {backend}: update {count}"),
            Stage::Heartbeat { elapsed } => {
                format!("generating on {backend} ({} s)", elapsed.as_secs())
            }
        };
        (self.fraction, message)
    }

    /// Reports `stage` with [`host::progress`].
    pub fn report(&mut self, stage: &Stage) {
        let (fraction, message) = self.update(stage);
        host::progress(fraction, &message);
    }
}

/// The first non-empty text among a `generating` event's outputs (depth first): the status
/// line an app shows beside its preview.
pub fn status_text(data: &Json) -> Option<String> {
    fn find(value: &Json, depth: usize) -> Option<String> {
        match value {
            Json::String(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
            Json::Array(items) if depth < MAX_DEPTH => {
                items.iter().find_map(|item| find(item, depth + 1))
            }
            _ => None,
        }
    }
    find(data, 0)
}

/// A step count in a status text: the first `N/M` with `0 < M` and `N ≤ M` (`Denoising:
/// step 12/30` is `(12, 30)`).
pub fn step_of(text: &str) -> Option<(u64, u64)> {
    let bytes = text.as_bytes();
    let digits_before = |end: usize| {
        let start = bytes[..end]
            .iter()
            .rposition(|b| !b.is_ascii_digit())
            .map_or(0, |p| p + 1);
        text[start..end].parse::<u64>().ok()
    };
    let digits_after = |start: usize| {
        let end = bytes[start..]
            .iter()
            .position(|b| !b.is_ascii_digit())
            .map_or(bytes.len(), |p| start + p);
        text[start..end].parse::<u64>().ok()
    };
    bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'/')
        .find_map(|(at, _)| {
            let done = digits_before(at)?;
            let total = digits_after(at + 1)?;
            (total > 0 && done <= total).then_some((done, total))
        })
}

/// How a job's event stream ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `complete`: the outputs, one per output component.
    Complete(Vec<Json>),
    /// `error`: the server's message, when it sent one.
    Error(Option<String>),
    /// The stream ended without `complete` or `error` (the server stopped or crashed);
    /// `events` counts what it did send.
    Unfinished {
        /// How many events arrived before the stream ended.
        events: usize,
    },
}

/// The outcome of a job from its events: the first `complete` or `error` decides.
/// A `complete` whose data is not JSON counts as an error naming the problem.
pub fn outcome(events: &[ServerEvent]) -> Outcome {
    for event in events {
        match event.event.as_str() {
            "complete" => {
                return match mdc_sdk::serde_json::from_str::<Json>(&event.data) {
                    Ok(Json::Array(outputs)) => Outcome::Complete(outputs),
                    Ok(Json::Null) => Outcome::Complete(Vec::new()),
                    Ok(single) => Outcome::Complete(vec![single]),
                    Err(err) => Outcome::Error(Some(format!(
                        "its `complete` event does not hold JSON ({err})"
                    ))),
                };
            }
            "error" => return Outcome::Error(error_message(&event.data)),
            _ => {}
        }
    }
    Outcome::Unfinished {
        events: events.len(),
    }
}

/// The message of an `error` event's data: a JSON string, an object's `message`/`error`/
/// `detail`, other JSON as written, non-JSON text as is; `null` or nothing is no message.
fn error_message(data: &str) -> Option<String> {
    let message = match mdc_sdk::serde_json::from_str::<Json>(data) {
        Ok(Json::Null) => return None,
        Ok(Json::String(text)) => text,
        Ok(Json::Object(map)) => ["message", "error", "detail"]
            .iter()
            .find_map(|key| map.get(*key).and_then(Json::as_str).map(str::to_owned))
            .unwrap_or_else(|| Json::Object(map).to_string()),
        Ok(other) => other.to_string(),
        Err(_) => data.to_owned(),
    };
    let message = message.trim();
    (!message.is_empty()).then(|| message.to_owned())
}

/// A file as Gradio passes it: a path on the server, maybe a URL, a name and a media type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileData {
    /// The path on the server (`/tmp/gradio/…/video.mp4`).
    pub path: String,
    /// Where to download it, when the server says.
    pub url: Option<String>,
    /// The file's original name.
    pub orig_name: Option<String>,
    /// Its media type, when the server says.
    pub mime_type: Option<String>,
}

impl FileData {
    /// A FileData object: a JSON object with a string `path` and either the
    /// `gradio.FileData` type tag or a `url`.
    pub fn from_json(value: &Json) -> Option<FileData> {
        let object = value.as_object()?;
        let path = object.get("path")?.as_str()?;
        let text = |key: &str| {
            object
                .get(key)
                .and_then(Json::as_str)
                .filter(|s| !s.trim().is_empty())
                .map(str::to_owned)
        };
        let tagged = object
            .get("meta")
            .and_then(|m| m.get("_type"))
            .and_then(Json::as_str)
            == Some(FILE_DATA_TYPE);
        if !tagged && text("url").is_none() {
            return None;
        }
        Some(FileData {
            path: path.to_owned(),
            url: text("url"),
            orig_name: text("orig_name"),
            mime_type: text("mime_type"),
        })
    }

    /// The object to put in `data` to pass this file to an endpoint.
    pub fn to_json(&self) -> Json {
        let mut value = json!({"path": self.path, "meta": {"_type": FILE_DATA_TYPE}});
        if let Some(name) = &self.orig_name {
            value["orig_name"] = json!(name);
        }
        if let Some(mime) = &self.mime_type {
            value["mime_type"] = json!(mime);
        }
        value
    }

    /// Every FileData inside `value` (an output may nest them: a Video output is
    /// `{"video": FileData, "subtitles": …}`, a Gallery a list), depth first, in order.
    pub fn find_all(value: &Json) -> Vec<FileData> {
        let mut found = Vec::new();
        collect_files(value, 0, &mut found);
        found
    }

    /// The file's name: its original name, or the last segment of its path.
    pub fn name(&self) -> &str {
        match &self.orig_name {
            Some(name) => name,
            None => self
                .path
                .rsplit(['/', '\\'])
                .next()
                .unwrap_or(self.path.as_str()),
        }
    }

    /// Its media type: as the server said, or guessed from the name's extension.
    pub fn mime(&self) -> Option<String> {
        self.mime_type
            .clone()
            .or_else(|| mime_from_name(self.name()).map(str::to_owned))
    }
}

fn collect_files(value: &Json, depth: usize, found: &mut Vec<FileData>) {
    if depth > MAX_DEPTH {
        return;
    }
    if let Some(file) = FileData::from_json(value) {
        found.push(file);
        return;
    }
    match value {
        Json::Array(items) => items
            .iter()
            .for_each(|item| collect_files(item, depth + 1, found)),
        Json::Object(map) => map
            .values()
            .for_each(|item| collect_files(item, depth + 1, found)),
        _ => {}
    }
}

/// The media type of a file name's extension, for the media a generator returns.
pub fn mime_from_name(name: &str) -> Option<&'static str> {
    let extension = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match extension.as_str() {
        "mp4" | "m4v" => "video/mp4",
        "webm" => "video/webm",
        "mov" => "video/quicktime",
        "mkv" => "video/x-matroska",
        "gif" => "image/gif",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "wav" => "audio/wav",
        "mp3" => "audio/mpeg",
        _ => return None,
    })
}

/// Percent-encodes a server path for `/file={path}`, keeping its slashes.
fn encode_path(path: &str) -> String {
    path.split('/')
        .map(encode_component)
        .collect::<Vec<_>>()
        .join("/")
}

/// The text of an error answer: a JSON `detail`/`error`/`message`, or the body as is.
fn answer_text(body: &str) -> String {
    match mdc_sdk::serde_json::from_str::<Json>(body) {
        Ok(Json::Object(map)) => ["detail", "error", "message"]
            .iter()
            .find_map(|key| map.get(*key).and_then(Json::as_str).map(str::to_owned))
            .unwrap_or_else(|| body.to_owned()),
        _ => body.to_owned(),
    }
}

/// A connected Gradio app: the HTTP client, the API prefix and the endpoint names it lists.
#[derive(Debug, Clone)]
pub struct Gradio {
    client: Client,
    prefix: String,
    info: ApiInfo,
}

impl Gradio {
    /// Reads the app's `/info` (finding the prefix when asked to detect it).
    pub fn connect(client: Client, prefix: &Prefix) -> Result<Gradio, NodeError> {
        let (prefix, info) = match prefix {
            Prefix::Fixed(prefix) => {
                let info = client
                    .get_json(&format!("{prefix}/info"))
                    .map_err(|err| client.error("reading the API description", &err))?;
                (prefix.clone(), info)
            }
            Prefix::Detect => detect(&client)?,
        };
        let info = ApiInfo::parse(&info).map_err(|why| {
            NodeError::failed(format!(
                "{} at {} answered {prefix}/info with something that is not a Gradio API \
                 description: {why}",
                client.backend(),
                client.base()
            ))
        })?;
        Ok(Gradio {
            client,
            prefix,
            info,
        })
    }

    /// The HTTP client (backend name and base URL).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The API prefix in use: `/gradio_api` or empty.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The named endpoints the app lists.
    pub fn info(&self) -> &ApiInfo {
        &self.info
    }

    /// `backend at base`, for messages.
    fn who(&self) -> String {
        format!("{} at {}", self.client.backend(), self.client.base())
    }

    /// Queues a call of `api_name` with `data` and returns its event id.
    pub fn submit(&self, api_name: &str, data: &[Json]) -> Result<String, NodeError> {
        let route = api_route_name(api_name).map_err(NodeError::invalid_input)?;
        let path = format!("{}/call/{route}", self.prefix);
        let answer = self
            .client
            .post_json(&path, &json!({ "data": data }))
            .map_err(|err| self.submit_error(&route, &err))?;
        answer
            .get("event_id")
            .and_then(Json::as_str)
            .filter(|id| !id.trim().is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                NodeError::failed(format!(
                    "{} answered POST {path} without an event id: {answer}",
                    self.who()
                ))
            })
    }

    fn submit_error(&self, route: &str, err: &NetError) -> NodeError {
        match err {
            NetError::Status { status: 404, .. } => NodeError::invalid_input(format!(
                "{} has no API endpoint /{route} (HTTP 404); set the API name to one the app's \
                 API tab lists (it lists: {})",
                self.who(),
                self.info.names()
            )),
            NetError::Status { status, body } if *status == 503 || *status == 429 => {
                NodeError::backend_unavailable(format!(
                    "{} refused the job (HTTP {status}: {}); it is busy or still starting, \
                     try again later",
                    self.who(),
                    answer_text(body)
                ))
            }
            NetError::Status { status, body } if (400..500).contains(status) => {
                NodeError::failed(format!(
                    "{} rejected the call of /{route} (HTTP {status}: {}); the API name or its \
                     parameters may not match this version of the app",
                    self.who(),
                    answer_text(body)
                ))
            }
            other => self.client.error(&format!("submitting /{route}"), other),
        }
    }

    /// Waits for job `event_id` of `api_name` and returns its outputs, reading its event
    /// stream as it arrives and handing every stage to `on_stage` (see [`Stage`]). Gives up
    /// after `timeout`, and with `cancelled` as soon as the user cancels.
    pub fn result(
        &self,
        api_name: &str,
        event_id: &str,
        timeout: Duration,
        on_stage: &mut dyn FnMut(&Stage),
    ) -> Result<Vec<Json>, NodeError> {
        let route = api_route_name(api_name).map_err(NodeError::invalid_input)?;
        let path = format!(
            "{}/call/{route}/{}",
            self.prefix,
            encode_component(event_id)
        );
        let failed = |err: NetError| match err {
            NetError::Timeout => NodeError::backend_unavailable(format!(
                "{} did not finish job {event_id} within {} s; raise the timeout or choose a \
                 faster preset",
                self.who(),
                timeout.as_secs()
            )),
            NetError::Status { status: 404, .. } => NodeError::backend_unavailable(format!(
                "{} does not know job {event_id} (HTTP 404 on {path}); it may have restarted",
                self.who()
            )),
            other => self
                .client
                .error(&format!("waiting for job {event_id}"), &other),
        };
        let request = HttpRequest::get(self.client.url(&path))
            .header("accept", "text/event-stream")
            .timeout_ms(crate::net::DEFAULT_TIMEOUT_MS);
        let stream = live::open(&request).map_err(|e| failed(e.into()))?;
        if !(200..300).contains(&stream.status()) {
            let body = stream
                .read_to_end(STREAM_WAIT * 4, ERROR_BODY_LIMIT)
                .unwrap_or_default();
            return Err(failed(NetError::Status {
                status: stream.status(),
                body: String::from_utf8_lossy(&body)
                    .trim()
                    .chars()
                    .take(300)
                    .collect(),
            }));
        }
        let opened = Instant::now();
        let mut events = stream.events();
        let mut seen = 0;
        let mut generating = 0;
        let last = loop {
            if host::is_cancelled() {
                return Err(NodeError::cancelled());
            }
            if opened.elapsed() > timeout {
                return Err(failed(NetError::Timeout));
            }
            let event = match events.next(STREAM_WAIT).map_err(|e| failed(e.into()))? {
                EventRead::Event(event) => event,
                EventRead::Idle => continue,
                EventRead::End => break None,
            };
            seen += 1;
            match event.event.as_str() {
                "complete" | "error" => break Some(event),
                "generating" => {
                    generating += 1;
                    let data = mdc_sdk::serde_json::from_str(&event.data).unwrap_or(Json::Null);
                    on_stage(&Stage::Generating {
                        count: generating,
                        status: status_text(&data),
                        data,
                    });
                }
                "heartbeat" => on_stage(&Stage::Heartbeat {
                    elapsed: opened.elapsed(),
                }),
                _ => {}
            }
        };
        self.finish(event_id, &path, last.as_slice(), seen)
    }

    /// The outputs of a job whose stream ended: the decision of its `complete` or `error`
    /// event, or an unfinished stream after `seen` events.
    fn finish(
        &self,
        event_id: &str,
        path: &str,
        last: &[ServerEvent],
        seen: usize,
    ) -> Result<Vec<Json>, NodeError> {
        match outcome(last) {
            Outcome::Complete(outputs) => Ok(outputs),
            Outcome::Error(Some(message)) => Err(NodeError::failed(format!(
                "{} reported an error for job {event_id}: {message}",
                self.who()
            ))),
            Outcome::Error(None) => Err(NodeError::failed(format!(
                "{} reported an error for job {event_id} without a message (Gradio shows \
                 details only when the app runs with show_error); see the {} console",
                self.who(),
                self.client.backend()
            ))),
            Outcome::Unfinished { .. } => Err(NodeError::backend_unavailable(format!(
                "the event stream of job {event_id} from {} ended without a result after {seen} \
                 event(s); {} stopped or crashed while generating",
                self.client.url(path),
                self.client.backend()
            ))),
        }
    }

    /// Uploads a file (`POST {prefix}/upload`) and returns the FileData to pass in `data`.
    pub fn upload(
        &self,
        file_name: &str,
        mime: &str,
        bytes: Vec<u8>,
    ) -> Result<FileData, NodeError> {
        let path = format!("{}/upload", self.prefix);
        let form = Multipart::new().file("files", file_name, mime, bytes);
        let answer = self
            .client
            .post_multipart(&path, form)
            .map_err(|err| self.client.error(&format!("uploading {file_name}"), &err))?;
        let server_path = answer
            .as_array()
            .and_then(|paths| paths.first())
            .and_then(Json::as_str)
            .ok_or_else(|| {
                NodeError::failed(format!(
                    "{} answered the upload of {file_name} without a server path: {answer}",
                    self.who()
                ))
            })?;
        Ok(FileData {
            path: server_path.to_owned(),
            url: None,
            orig_name: Some(file_name.to_owned()),
            mime_type: Some(mime.to_owned()),
        })
    }

    /// The path (below the base URL) to download `file` from: its `url` when that lies on
    /// this server, `{prefix}/file={path}` otherwise (a URL elsewhere would need another grant).
    pub fn download_path(&self, file: &FileData) -> String {
        if let Some(rest) = file
            .url
            .as_deref()
            .and_then(|url| url.strip_prefix(self.client.base()))
            .filter(|rest| rest.starts_with('/'))
        {
            return rest.to_owned();
        }
        format!("{}/file={}", self.prefix, encode_path(&file.path))
    }

    /// Downloads an output file (within [`DOWNLOAD_TIMEOUT`]).
    pub fn download(&self, file: &FileData) -> Result<Vec<u8>, NodeError> {
        let path = self.download_path(file);
        let client = self.client.clone().with_timeout(DOWNLOAD_TIMEOUT);
        let bytes = client.get(&path).map_err(|err| {
            self.client
                .error(&format!("downloading {}", file.name()), &err)
        })?;
        if bytes.is_empty() {
            return Err(NodeError::failed(format!(
                "{} sent an empty file for {} ({})",
                self.who(),
                file.name(),
                self.client.url(&path)
            )));
        }
        Ok(bytes)
    }
}

/// Finds the prefix: `/gradio_api/info`, then `/info` when the first is not found.
fn detect(client: &Client) -> Result<(String, Json), NodeError> {
    let modern = format!("{MODERN_PREFIX}/info");
    match client.get_json(&modern) {
        Ok(info) => Ok((MODERN_PREFIX.to_owned(), info)),
        Err(NetError::Status { status: 404, .. }) => match client.get_json("/info") {
            Ok(info) => Ok((String::new(), info)),
            Err(NetError::Status { status: 404, .. }) => Err(NodeError::failed(format!(
                "{} at {} answered neither {modern} nor /info (HTTP 404); is it a Gradio app, \
                 and is the endpoint its address?",
                client.backend(),
                client.base()
            ))),
            Err(err) => Err(client.error("reading the API description", &err)),
        },
        Err(err) => Err(client.error("reading the API description", &err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The events of a whole stream body, parsed as the SDK parses a live stream.
    fn parse_sse(body: &str) -> Vec<ServerEvent> {
        let mut parser = mdc_sdk::sse::SseParser::default();
        parser.push(body.as_bytes());
        parser.finish();
        std::iter::from_fn(|| parser.next_event()).collect()
    }

    #[test]
    fn an_unfinished_stream_has_no_outcome() {
        let body = "event: generating\ndata: [null]\n\nevent: complete\ndata: [\"half";
        assert_eq!(outcome(&parse_sse(body)), Outcome::Unfinished { events: 1 });
        assert_eq!(outcome(&[]), Outcome::Unfinished { events: 0 });
        let multi_line = "event: complete\ndata: [\"a\",\ndata:  \"b\"]\n\n";
        assert_eq!(
            outcome(&parse_sse(multi_line)),
            Outcome::Complete(vec![json!("a"), json!("b")])
        );
    }

    #[test]
    fn stages_become_progress_that_never_drops() {
        let mut progress = StageProgress::new("Wan2GP");
        let generating = |count, status: Option<&str>| Stage::Generating {
            count,
            status: status.map(str::to_owned),
            data: Json::Null,
        };
        let (f, m) = progress.update(&generating(1, Some("Denoising: step 15/30")));
        assert_eq!(m, "generating on Wan2GP: Denoising: step 15/30");
        assert!((f - 0.5).abs() < 1e-6, "{f}");
        let (f, m) = progress.update(&generating(2, Some("Denoising: step 1/4")));
        assert_eq!(
            (f, m.as_str()),
            (0.5, "generating on Wan2GP: Denoising: step 1/4")
        );
        assert_eq!(
            progress.update(&generating(3, None)).1,
            "generating on Wan2GP: update 3"
        );
        let heartbeat = Stage::Heartbeat {
            elapsed: Duration::from_millis(15_400),
        };
        assert_eq!(progress.update(&heartbeat).1, "generating on Wan2GP (15 s)");
    }

    #[test]
    fn status_texts_and_steps_are_read_from_generating_outputs() {
        let data = json!([null, [{"path": "/x.png", "meta": {"_type": "gradio.FileData"}}], " Denoising: step 12/30 "]);
        assert_eq!(status_text(&data).as_deref(), Some("Denoising: step 12/30"));
        assert_eq!(status_text(&json!([null, ""])), None);
        assert_eq!(step_of("Denoising: step 12/30"), Some((12, 30)));
        assert_eq!(step_of("Phase 1/2, step 3/20"), Some((1, 2)));
        assert_eq!(step_of("832x480, 31/30 or 4/0 or 5/"), None);
        assert_eq!(step_of("no steps"), None);
        assert_eq!(step_of("40/40"), Some((40, 40)));
    }

    #[test]
    fn the_first_complete_or_error_decides() {
        let body = "event: generating\ndata: [null]\n\nevent: heartbeat\ndata: null\n\n\
                    event: error\ndata: \"CUDA out of memory\"\n\nevent: complete\ndata: []\n\n";
        assert_eq!(
            outcome(&parse_sse(body)),
            Outcome::Error(Some("CUDA out of memory".into()))
        );
        let silent = "event: error\ndata: null\n\n";
        assert_eq!(outcome(&parse_sse(silent)), Outcome::Error(None));
        let object = "event: error\ndata: {\"message\": \"bad seed\"}\n\n";
        assert_eq!(
            outcome(&parse_sse(object)),
            Outcome::Error(Some("bad seed".into()))
        );
        let garbled = "event: complete\ndata: [oops\n\n";
        assert!(matches!(
            outcome(&parse_sse(garbled)),
            Outcome::Error(Some(m)) if m.contains("does not hold JSON")
        ));
    }

    #[test]
    fn file_data_is_found_inside_nested_outputs() {
        let outputs = json!([
            {"video": {"path": "/tmp/gradio/ab/take.mp4", "url": "http://h:1/gradio_api/file=/tmp/gradio/ab/take.mp4",
                       "orig_name": "take.mp4", "mime_type": null, "meta": {"_type": "gradio.FileData"}},
             "subtitles": null},
            "Done in 3 s",
            [{"image": {"path": "/tmp/x/frame 1.png", "meta": {"_type": "gradio.FileData"}}, "caption": null}],
            {"path": "not a file: no tag, no url"}
        ]);
        let files = FileData::find_all(&outputs);
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].name(), "take.mp4");
        assert_eq!(files[0].mime().as_deref(), Some("video/mp4"));
        assert_eq!(files[1].name(), "frame 1.png");
        assert_eq!(files[1].mime().as_deref(), Some("image/png"));
        assert_eq!(files[1].url, None);
    }

    #[test]
    fn file_data_round_trips_as_an_upload_reference() {
        let file = FileData {
            path: "/tmp/gradio/up/start.png".into(),
            url: None,
            orig_name: Some("start.png".into()),
            mime_type: Some("image/png".into()),
        };
        let value = file.to_json();
        assert_eq!(value["meta"]["_type"], FILE_DATA_TYPE);
        assert_eq!(FileData::from_json(&value), Some(file));
    }

    #[test]
    fn info_lists_endpoints_with_parameter_names_and_defaults() {
        let info = json!({"named_endpoints": {
            "/generate": {"parameters": [
                {"label": "Prompt", "parameter_name": "prompt", "parameter_has_default": false,
                 "component": "Textbox"},
                {"label": "Sample solver", "parameter_name": null, "parameter_has_default": true,
                 "parameter_default": "unipc", "component": "Dropdown"}
            ]},
            "/refresh": {"parameters": []}
        }, "unnamed_endpoints": {}});
        let info = ApiInfo::parse(&info).unwrap();
        let generate = info.endpoint("generate").unwrap();
        assert_eq!(generate.parameters[0].name, "prompt");
        assert_eq!(generate.parameters[0].default, None);
        assert_eq!(generate.parameters[1].name, "sample_solver");
        assert_eq!(generate.parameters[1].default, Some(json!("unipc")));
        assert_eq!(info.names(), "/generate, /refresh");
        assert!(ApiInfo::parse(&json!({"detail": "Not Found"})).is_err());
    }

    #[test]
    fn prefixes_and_api_names_are_checked() {
        assert_eq!(Prefix::parse("auto"), Ok(Prefix::Detect));
        assert_eq!(Prefix::parse("root"), Ok(Prefix::Fixed(String::new())));
        assert_eq!(
            Prefix::parse("/gradio_api/"),
            Ok(Prefix::Fixed("/gradio_api".into()))
        );
        assert!(Prefix::parse("gradio_api").is_err());
        assert_eq!(api_route_name(" /generate_1 ").as_deref(), Ok("generate_1"));
        assert!(api_route_name("/").is_err());
        assert!(api_route_name("/a/b").is_err());
    }

    #[test]
    fn error_answers_are_read_for_their_detail() {
        assert_eq!(
            answer_text("{\"detail\": \"Queue is full.\"}"),
            "Queue is full."
        );
        assert_eq!(answer_text("plain"), "plain");
        assert_eq!(encode_path("/tmp/a b/c.mp4"), "/tmp/a%20b/c.mp4");
    }
}
