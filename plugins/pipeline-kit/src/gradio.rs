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
//! The host's fetch returns whole bodies, so the event stream is read once it has ended:
//! a stream that ends without `complete` or `error` means the server stopped mid-job.

use std::time::Duration;

use mdc_sdk::prelude::*;
use mdc_sdk::serde_json::{Value as Json, json};

use crate::net::{Client, Multipart, NetError, encode_component};

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

/// One server-sent event: its type (`message` when the stream names none) and its data,
/// with the lines of a multi-line `data` joined by `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// `complete`, `generating`, `error`, `heartbeat`, …
    pub event: String,
    /// The data lines, joined.
    pub data: String,
}

/// Parses a whole `text/event-stream` body as the SSE standard says: lines end in CRLF, LF
/// or CR; a blank line ends an event; `:` starts a comment; one space after the field's
/// colon is dropped; an event without `data` is not dispatched; an event cut off by the end
/// of the stream (no blank line after it) is dropped.
pub fn parse_sse(body: &str) -> Vec<SseEvent> {
    let body = body.strip_prefix('\u{feff}').unwrap_or(body);
    let normalised = body.replace("\r\n", "\n").replace('\r', "\n");
    let mut events = Vec::new();
    let mut event = String::new();
    let mut data = String::new();
    let mut has_data = false;
    for line in normalised.split('\n') {
        if line.is_empty() {
            if has_data {
                let name = if event.is_empty() { "message" } else { &event };
                events.push(SseEvent {
                    event: name.to_owned(),
                    data: std::mem::take(&mut data),
                });
            }
            event.clear();
            data.clear();
            has_data = false;
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => event = value.to_owned(),
            "data" => {
                if has_data {
                    data.push('\n');
                }
                data.push_str(value);
                has_data = true;
            }
            _ => {}
        }
    }
    events
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
pub fn outcome(events: &[SseEvent]) -> Outcome {
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

    /// Waits for job `event_id` of `api_name` (one GET of its event stream, answered when
    /// the job ends, within `timeout`) and returns its outputs.
    pub fn result(
        &self,
        api_name: &str,
        event_id: &str,
        timeout: Duration,
    ) -> Result<Vec<Json>, NodeError> {
        let route = api_route_name(api_name).map_err(NodeError::invalid_input)?;
        let path = format!(
            "{}/call/{route}/{}",
            self.prefix,
            encode_component(event_id)
        );
        let headers = vec![("accept".to_owned(), "text/event-stream".to_owned())];
        let response = self
            .client
            .clone()
            .with_timeout(timeout)
            .send("GET", &path, headers, Vec::new())
            .map_err(|err| match err {
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
            })?;
        let events = parse_sse(&String::from_utf8_lossy(&response.body));
        match outcome(&events) {
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
            Outcome::Unfinished { events } => Err(NodeError::backend_unavailable(format!(
                "the event stream of job {event_id} from {} ended without a result after {events} \
                 event(s); {} stopped or crashed while generating",
                self.client.url(&path),
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

    fn events(body: &str) -> Vec<(String, String)> {
        parse_sse(body)
            .into_iter()
            .map(|e| (e.event, e.data))
            .collect()
    }

    #[test]
    fn sse_events_are_split_on_blank_lines_with_any_line_ending() {
        let lf = "event: heartbeat\ndata: null\n\nevent: complete\ndata: [1]\n\n";
        let crlf = lf.replace('\n', "\r\n");
        let cr = lf.replace('\n', "\r");
        let expected = vec![
            ("heartbeat".to_owned(), "null".to_owned()),
            ("complete".to_owned(), "[1]".to_owned()),
        ];
        assert_eq!(events(lf), expected);
        assert_eq!(events(&crlf), expected);
        assert_eq!(events(&cr), expected);
    }

    #[test]
    fn multi_line_data_is_joined_and_comments_and_unknown_fields_skipped() {
        let body =
            ": keep-alive\nid: 7\nevent: complete\ndata: [\"a\",\ndata:  \"b\"]\nretry: 10\n\n";
        let parsed = parse_sse(body);
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].data, "[\"a\",\n \"b\"]");
        assert_eq!(
            outcome(&parsed),
            Outcome::Complete(vec![json!("a"), json!("b")])
        );
    }

    #[test]
    fn events_without_data_or_cut_off_at_the_end_are_not_dispatched() {
        let body = "\u{feff}event: generating\n\ndata: 1\n\nevent: complete\ndata: [\"half";
        assert_eq!(events(body), vec![("message".to_owned(), "1".to_owned())]);
        assert_eq!(outcome(&parse_sse(body)), Outcome::Unfinished { events: 1 });
        assert_eq!(outcome(&[]), Outcome::Unfinished { events: 0 });
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
