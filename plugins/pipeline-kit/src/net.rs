//! A small HTTP layer over the host's `fetch`: a client bound to one backend's base URL,
//! JSON and multipart bodies, query encoding, cancellable waits, and errors that name the
//! backend and say what to do.

use std::time::Duration;

use mdc_sdk::host;
use mdc_sdk::prelude::*;
use mdc_sdk::serde_json::{self, Value as Json};

/// Why a request to a backend did not give a usable answer.
#[derive(Debug, Clone, PartialEq)]
pub enum NetError {
    /// The URL or the request is malformed (a configuration mistake).
    Invalid(String),
    /// The server could not be reached (down, wrong port, connection reset).
    Unreachable(String),
    /// No answer within the timeout.
    Timeout,
    /// The answer exceeded the host's size limit (bytes).
    TooLarge(u64),
    /// The server answered with an error status.
    Status {
        /// HTTP status.
        status: u16,
        /// The start of the body, for the message.
        body: String,
    },
    /// A 2xx answer whose body is not the JSON expected.
    BadBody(String),
}

impl NetError {
    /// True when another backend might succeed: the server is down, slow or overloaded
    /// (5xx, 429). A 4xx answer is the request's fault and would fail anywhere.
    pub fn is_backend_failure(&self) -> bool {
        match self {
            NetError::Unreachable(_) | NetError::Timeout => true,
            NetError::Status { status, .. } => *status >= 500 || *status == 429,
            NetError::Invalid(_) | NetError::TooLarge(_) | NetError::BadBody(_) => false,
        }
    }

    /// Why, in a few words: `connection refused`, `HTTP 503`.
    pub fn short(&self) -> String {
        match self {
            NetError::Invalid(why) | NetError::Unreachable(why) | NetError::BadBody(why) => {
                why.clone()
            }
            NetError::Timeout => "no answer in time".to_owned(),
            NetError::TooLarge(limit) => format!("an answer over {limit} bytes"),
            NetError::Status { status, .. } => format!("HTTP {status}"),
        }
    }

    /// A sentence for the user: `ComfyUI at http://… could not be reached (…)`.
    pub fn describe(&self, backend: &str, base: &str) -> String {
        match self {
            NetError::Invalid(why) => {
                format!("the request to {backend} at {base} is invalid: {why}")
            }
            NetError::Unreachable(why) => {
                format!("{backend} at {base} could not be reached ({why}); is it running?")
            }
            NetError::Timeout => format!("{backend} at {base} did not answer in time"),
            NetError::TooLarge(limit) => format!(
                "{backend} at {base} sent an answer larger than the host allows ({limit} bytes)"
            ),
            NetError::Status { status, body } if body.is_empty() => {
                format!("{backend} at {base} answered HTTP {status}")
            }
            NetError::Status { status, body } => {
                format!("{backend} at {base} answered HTTP {status}: {body}")
            }
            NetError::BadBody(why) => {
                format!("{backend} at {base} sent an answer this plugin does not understand: {why}")
            }
        }
    }
}

impl From<HttpError> for NetError {
    /// A transport failure of the host's fetch or of a stream.
    fn from(err: HttpError) -> NetError {
        match err {
            HttpError::InvalidRequest(why) => NetError::Invalid(why),
            HttpError::Unreachable(why) => NetError::Unreachable(why),
            HttpError::Timeout => NetError::Timeout,
            HttpError::TooLarge(limit) => NetError::TooLarge(limit),
        }
    }
}

/// A client for one backend: its display name (`ComfyUI`) and base URL (`http://127.0.0.1:8188`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    backend: String,
    base: String,
    timeout_ms: u32,
}

/// Per-request timeout unless [`Client::with_timeout`] says otherwise.
pub const DEFAULT_TIMEOUT_MS: u32 = 30_000;

/// Longest answer body quoted in an error message.
const QUOTED_BODY_CHARS: usize = 300;

impl Client {
    /// A client for `backend` at `base` (scheme and host, optionally a path prefix; a
    /// trailing slash is dropped). Fails on anything but an `http://` or `https://` URL.
    pub fn new(backend: &str, base: &str) -> Result<Client, NodeError> {
        let trimmed = base.trim().trim_end_matches('/');
        let rest = trimmed
            .strip_prefix("http://")
            .or_else(|| trimmed.strip_prefix("https://"));
        match rest {
            Some(host) if !host.is_empty() && !host.starts_with('/') => Ok(Client {
                backend: backend.to_owned(),
                base: trimmed.to_owned(),
                timeout_ms: DEFAULT_TIMEOUT_MS,
            }),
            _ => Err(NodeError::invalid_input(format!(
                "the {backend} endpoint {base:?} is not an http:// or https:// URL \
                 (for example http://127.0.0.1:8188)"
            ))),
        }
    }

    /// The same client with another per-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Client {
        self.timeout_ms = u32::try_from(timeout.as_millis())
            .unwrap_or(u32::MAX)
            .max(1);
        self
    }

    /// The backend's display name.
    pub fn backend(&self) -> &str {
        &self.backend
    }

    /// The base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The absolute URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request and returns the answer when its status is 2xx.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<HttpResponse, NetError> {
        let request = HttpRequest {
            method: method.to_owned(),
            url: self.url(path),
            headers,
            body,
            timeout_ms: self.timeout_ms,
        };
        let response = host::http_fetch(&request).map_err(NetError::from)?;
        if (200..300).contains(&response.status) {
            Ok(response)
        } else {
            Err(NetError::Status {
                status: response.status,
                body: quote_body(&response.body),
            })
        }
    }

    /// `GET path`, the whole body.
    pub fn get(&self, path: &str) -> Result<Vec<u8>, NetError> {
        Ok(self.send("GET", path, Vec::new(), Vec::new())?.body)
    }

    /// `GET path`, parsed as JSON.
    pub fn get_json(&self, path: &str) -> Result<Json, NetError> {
        parse_json(&self.get(path)?)
    }

    /// `POST path` with a JSON body, the answer parsed as JSON (an empty answer is `null`).
    pub fn post_json(&self, path: &str, body: &Json) -> Result<Json, NetError> {
        let bytes = serde_json::to_vec(body).map_err(|e| NetError::Invalid(e.to_string()))?;
        let headers = vec![("content-type".to_owned(), "application/json".to_owned())];
        parse_json(&self.send("POST", path, headers, bytes)?.body)
    }

    /// `POST path` with a `multipart/form-data` body, the answer parsed as JSON.
    pub fn post_multipart(&self, path: &str, form: Multipart) -> Result<Json, NetError> {
        let (content_type, body) = form.finish();
        let headers = vec![("content-type".to_owned(), content_type)];
        parse_json(&self.send("POST", path, headers, body)?.body)
    }

    /// A user-facing error for `err`: `backend-unavailable` when the backend is down or
    /// failing, `failed` otherwise; `doing` says what was being done (`queueing the workflow`).
    pub fn error(&self, doing: &str, err: &NetError) -> NodeError {
        let message = format!("{doing}: {}", err.describe(&self.backend, &self.base));
        if err.is_backend_failure() {
            NodeError::backend_unavailable(message)
        } else {
            NodeError::failed(message)
        }
    }
}

/// Parses a JSON answer; an empty body is `null`.
fn parse_json(body: &[u8]) -> Result<Json, NetError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Json::Null);
    }
    serde_json::from_slice(body).map_err(|e| NetError::BadBody(format!("not JSON ({e})")))
}

/// The start of a body as text, for error messages.
fn quote_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(QUOTED_BODY_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Percent-encodes a query or path component (RFC 3986 unreserved characters stay).
pub fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// `?a=1&b=x%20y` from pairs (empty string for no pairs).
pub fn query(pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let joined: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect();
    format!("?{}", joined.join("&"))
}

/// A `multipart/form-data` body under construction.
#[derive(Debug, Default, Clone)]
pub struct Multipart {
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
struct Part {
    name: String,
    file_name: Option<String>,
    mime: Option<String>,
    bytes: Vec<u8>,
}

impl Multipart {
    /// An empty form.
    pub fn new() -> Multipart {
        Multipart::default()
    }

    /// Adds a text field.
    pub fn text(mut self, name: &str, value: &str) -> Multipart {
        self.parts.push(Part {
            name: name.to_owned(),
            file_name: None,
            mime: None,
            bytes: value.as_bytes().to_vec(),
        });
        self
    }

    /// Adds a file field.
    pub fn file(mut self, name: &str, file_name: &str, mime: &str, bytes: Vec<u8>) -> Multipart {
        self.parts.push(Part {
            name: name.to_owned(),
            file_name: Some(file_name.to_owned()),
            mime: Some(mime.to_owned()),
            bytes,
        });
        self
    }

    /// The `content-type` header value and the body. The boundary is chosen so that it
    /// occurs in no part.
    pub fn finish(self) -> (String, Vec<u8>) {
        let boundary = (0u32..)
            .map(|n| format!("mdc-form-boundary-{n:08x}"))
            .find(|b| !self.parts.iter().any(|p| contains(&p.bytes, b.as_bytes())))
            .expect("some boundary is free");
        let mut body = Vec::new();
        for part in &self.parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            let name = header_safe(&part.name);
            match &part.file_name {
                Some(file) => body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{}\"\r\n",
                        header_safe(file)
                    )
                    .as_bytes(),
                ),
                None => body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n").as_bytes(),
                ),
            }
            if let Some(mime) = &part.mime {
                body.extend_from_slice(format!("Content-Type: {mime}\r\n").as_bytes());
            }
            body.extend_from_slice(b"\r\n");
            body.extend_from_slice(&part.bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        (format!("multipart/form-data; boundary={boundary}"), body)
    }
}

/// Removes what would break a quoted header parameter.
fn header_safe(value: &str) -> String {
    value
        .chars()
        .filter(|c| !matches!(c, '"' | '\r' | '\n' | '\\'))
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Sleeps for `duration` in short slices, returning `cancelled` as soon as the user
/// cancels. Inside the sandbox this waits on the host's monotonic clock without using CPU.
pub fn wait(duration: Duration) -> Result<(), NodeError> {
    const SLICE: Duration = Duration::from_millis(100);
    let mut left = duration;
    loop {
        if host::is_cancelled() {
            return Err(NodeError::cancelled());
        }
        if left.is_zero() {
            return Ok(());
        }
        let step = left.min(SLICE);
        std::thread::sleep(step);
        left -= step;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_must_be_http_urls() {
        let client = Client::new("ComfyUI", " http://127.0.0.1:8188/ ").unwrap();
        assert_eq!(client.url("/prompt"), "http://127.0.0.1:8188/prompt");
        for bad in ["", "127.0.0.1:8188", "ftp://x", "http://", "http:///x"] {
            let err = Client::new("ComfyUI", bad).unwrap_err();
            assert!(
                err.message.contains("not an http"),
                "{bad}: {}",
                err.message
            );
        }
    }

    #[test]
    fn queries_are_percent_encoded() {
        assert_eq!(
            query(&[("filename", "shot 1&2.png"), ("type", "output")]),
            "?filename=shot%201%262.png&type=output"
        );
        assert_eq!(query(&[]), "");
    }

    #[test]
    fn multipart_boundary_avoids_the_data() {
        let clash = b"xx--mdc-form-boundary-00000000yy".to_vec();
        let (ct, body) = Multipart::new()
            .text("overwrite", "true")
            .file("image", "ref.png", "image/png", clash)
            .finish();
        assert_eq!(
            ct,
            "multipart/form-data; boundary=mdc-form-boundary-00000001"
        );
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("name=\"image\"; filename=\"ref.png\"\r\nContent-Type: image/png"));
        assert!(text.ends_with("--mdc-form-boundary-00000001--\r\n"));
    }

    #[test]
    fn backend_failures_are_told_apart_from_bad_requests() {
        assert!(NetError::Unreachable("refused".into()).is_backend_failure());
        assert!(
            NetError::Status {
                status: 503,
                body: String::new()
            }
            .is_backend_failure()
        );
        assert!(
            !NetError::Status {
                status: 400,
                body: "bad".into()
            }
            .is_backend_failure()
        );
        let err = NetError::Status {
            status: 400,
            body: "no such node".into(),
        };
        assert_eq!(
            err.describe("ComfyUI", "http://h:1"),
            "ComfyUI at http://h:1 answered HTTP 400: no such node"
        );
    }
}
