//! Live streams a plugin holds open during a call (contract 0.2.0's `live` interface): response
//! bodies read as they arrive and WebSocket connections, both to granted origins only, plus
//! preview images. Version-agnostic: the contract bindings call these with runtime types.
//!
//! Rules, checked here where plugin requests cross into the host:
//! - a stream needs the `outbound-http` capability and a granted origin, like `fetch`; a
//!   WebSocket's `ws`/`wss` URL is checked as its `http`/`https` origin;
//! - at most [`Limits::max_streams`] are open at once; bytes received over all of a call's
//!   streams count against [`Limits::stream_bytes`], and one message or chunk larger than
//!   [`Limits::value_bytes`] ends that stream with `too-large`;
//! - one wait lasts at most [`Limits::stream_wait`] and never past the call's wall time, and
//!   ends early (as `idle`) when the call is cancelled, so a plugin can notice;
//! - previews must be PNG, JPEG or WebP of at most [`Limits::preview_bytes`].

use std::sync::Arc;
use std::time::Duration;

use super::limits::Limits;
use super::state::StoreState;
use crate::plugin::descriptor_check::parse_origin;
use crate::plugin::http_rules;
use crate::plugin::types::{Capability, HttpError, HttpRequest, SocketMessage, SocketRequest};
use tokio_util::sync::CancellationToken;

/// A response body the embedding reads as it arrives.
#[async_trait::async_trait]
pub trait BodyStream: Send + Sync {
    /// The response's status code.
    fn status(&self) -> u16;
    /// The response's headers.
    fn headers(&self) -> Vec<(String, String)>;
    /// The next bytes of the body, `None` at its end. Must be cancel-safe: the runtime drops
    /// the future when the plugin's wait is over, and calls again later.
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, HttpError>;
}

/// An open WebSocket connection the embedding holds.
#[async_trait::async_trait]
pub trait SocketStream: Send + Sync {
    /// Sends a message.
    async fn send(&mut self, message: SocketMessage) -> Result<(), HttpError>;
    /// The next message, or `Err(reason)` once closed (`None` when the server gave none). Must
    /// be cancel-safe, like [`BodyStream::next_chunk`].
    async fn receive(&mut self) -> Result<Result<SocketMessage, Option<String>>, HttpError>;
}

/// What one wait on a body gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyChunk {
    /// More bytes.
    Data(Vec<u8>),
    /// Nothing within the wait.
    Idle,
    /// The body ended.
    End,
}

/// What one wait on a WebSocket gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketEvent {
    /// A message.
    Message(SocketMessage),
    /// Nothing within the wait.
    Idle,
    /// The server closed the connection.
    Closed(Option<String>),
}

/// A response body held in the call's resource table (cheap to clone: a handle).
#[derive(Clone)]
pub struct LiveBody {
    status: u16,
    headers: Vec<(String, String)>,
    inner: Arc<tokio::sync::Mutex<BodyInner>>,
}

struct BodyInner {
    stream: Box<dyn BodyStream>,
    ended: bool,
}

impl LiveBody {
    /// The response's status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The response's headers.
    pub fn headers(&self) -> Vec<(String, String)> {
        self.headers.clone()
    }
}

/// A WebSocket held in the call's resource table (cheap to clone: a handle).
#[derive(Clone)]
pub struct LiveSocket {
    inner: Arc<tokio::sync::Mutex<SocketInner>>,
}

struct SocketInner {
    stream: Box<dyn SocketStream>,
    /// `Some` once closed, with the server's reason if it gave one.
    closed: Option<Option<String>>,
}

/// Per-call bookkeeping of streams.
#[derive(Debug, Default)]
pub struct LiveState {
    open: u32,
    received: u64,
}

/// Previews must be one of these.
const PREVIEW_TYPES: &[&str] = &["image/png", "image/jpeg", "image/webp"];

impl StoreState {
    /// Opens a response stream for the plugin, after the same checks as `fetch`.
    pub async fn live_open(
        &mut self,
        request: HttpRequest,
    ) -> wasmtime::Result<Result<LiveBody, HttpError>> {
        let request = match self.admit_request(request, "open an HTTP stream")? {
            Ok(request) => request,
            Err(err) => return Ok(Err(err)),
        };
        if let Err(err) = self.take_stream_slot() {
            return Ok(Err(err));
        }
        let services = self.context.services.clone();
        let opened = services.http_open(request).await;
        Ok(match opened {
            Ok(stream) => Ok(LiveBody {
                status: stream.status(),
                headers: stream.headers(),
                inner: Arc::new(tokio::sync::Mutex::new(BodyInner {
                    stream,
                    ended: false,
                })),
            }),
            Err(err) => {
                self.live.open -= 1;
                Err(err)
            }
        })
    }

    /// Waits for the next piece of a body.
    pub async fn live_read(
        &mut self,
        body: &LiveBody,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<BodyChunk, HttpError>> {
        let mut body = body.inner.lock().await;
        if body.ended {
            return Ok(Ok(BodyChunk::End));
        }
        let (wait, cancel) = self.stream_wait(timeout_ms);
        let Some(next) = wait_for(wait, cancel, body.stream.next_chunk()).await else {
            return Ok(Ok(BodyChunk::Idle));
        };
        Ok(match next {
            Ok(Some(bytes)) if bytes.is_empty() => Ok(BodyChunk::Idle),
            Ok(Some(bytes)) => match self.admit_received(bytes.len()) {
                Ok(()) => {
                    self.charge_host_bytes(bytes.len());
                    Ok(BodyChunk::Data(bytes))
                }
                Err(err) => {
                    body.ended = true;
                    Err(err)
                }
            },
            Ok(None) => {
                body.ended = true;
                Ok(BodyChunk::End)
            }
            Err(err) => {
                body.ended = true;
                Err(err)
            }
        })
    }

    /// Opens a WebSocket for the plugin: `ws`/`wss` only, its origin granted, handshake
    /// headers under the same rules as a request's.
    pub async fn live_connect(
        &mut self,
        url: String,
        headers: Vec<(String, String)>,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<LiveSocket, HttpError>> {
        let lower = url.to_ascii_lowercase();
        let as_http = if let Some(rest) = lower.strip_prefix("ws://") {
            format!("http://{rest}")
        } else if let Some(rest) = lower.strip_prefix("wss://") {
            format!("https://{rest}")
        } else {
            return Ok(Err(HttpError::InvalidRequest(format!(
                "{url:?} is not a ws:// or wss:// URL"
            ))));
        };
        let probe = HttpRequest {
            method: "GET".into(),
            url: as_http,
            headers,
            body: Vec::new(),
            timeout_ms,
        };
        let checked = match self.admit_request(probe, "open a WebSocket")? {
            Ok(checked) => checked,
            Err(err) => return Ok(Err(err)),
        };
        if let Some((name, _)) = checked
            .headers
            .iter()
            .find(|(name, _)| name.to_ascii_lowercase().starts_with("sec-websocket-"))
            .filter(|(name, _)| !name.eq_ignore_ascii_case("sec-websocket-protocol"))
        {
            return Ok(Err(HttpError::InvalidRequest(format!(
                "the handshake sets the {name:?} header, which only the host's client sets"
            ))));
        }
        if let Err(err) = self.take_stream_slot() {
            return Ok(Err(err));
        }
        let services = self.context.services.clone();
        let connected = services
            .socket_connect(SocketRequest {
                url,
                headers: checked.headers,
                timeout_ms: checked.timeout_ms,
            })
            .await;
        Ok(match connected {
            Ok(stream) => Ok(LiveSocket {
                inner: Arc::new(tokio::sync::Mutex::new(SocketInner {
                    stream,
                    closed: None,
                })),
            }),
            Err(err) => {
                self.live.open -= 1;
                Err(err)
            }
        })
    }

    /// Sends a message on a WebSocket.
    pub async fn live_send(
        &mut self,
        socket: &LiveSocket,
        message: SocketMessage,
    ) -> wasmtime::Result<Result<(), HttpError>> {
        let mut socket = socket.inner.lock().await;
        if socket.closed.is_some() {
            return Ok(Err(HttpError::Unreachable(
                "the WebSocket is closed".to_string(),
            )));
        }
        if message.len() > self.limits.value_bytes {
            return Ok(Err(HttpError::InvalidRequest(format!(
                "the message is {} bytes; at most {} may be sent",
                message.len(),
                self.limits.value_bytes
            ))));
        }
        self.charge_host_bytes(message.len());
        Ok(socket.stream.send(message).await)
    }

    /// Waits for the next message on a WebSocket.
    pub async fn live_receive(
        &mut self,
        socket: &LiveSocket,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<SocketEvent, HttpError>> {
        let mut socket = socket.inner.lock().await;
        if let Some(reason) = &socket.closed {
            return Ok(Ok(SocketEvent::Closed(reason.clone())));
        }
        let (wait, cancel) = self.stream_wait(timeout_ms);
        let Some(next) = wait_for(wait, cancel, socket.stream.receive()).await else {
            return Ok(Ok(SocketEvent::Idle));
        };
        Ok(match next {
            Ok(Ok(message)) => match self.admit_received(message.len()) {
                Ok(()) => {
                    self.charge_host_bytes(message.len());
                    Ok(SocketEvent::Message(message))
                }
                Err(err) => {
                    socket.closed = Some(Some(err.to_string()));
                    Err(err)
                }
            },
            Ok(Err(reason)) => {
                socket.closed = Some(reason.clone());
                Ok(SocketEvent::Closed(reason))
            }
            Err(err) => {
                socket.closed = Some(Some(err.to_string()));
                Err(err)
            }
        })
    }

    /// A stream was dropped by the plugin.
    pub fn live_closed(&mut self) {
        self.live.open = self.live.open.saturating_sub(1);
    }

    /// Hands a preview image to the embedding, or says why it is refused (a contract breach:
    /// the call fails).
    pub fn live_preview(&mut self, mime: &str, bytes: &[u8]) -> wasmtime::Result<()> {
        self.require_call("preview")?;
        if !PREVIEW_TYPES.contains(&mime) {
            return Err(self.stop(crate::plugin::error::Failure::Contract(format!(
                "sent a preview of type {mime:?}; previews are {}",
                PREVIEW_TYPES.join(", ")
            ))));
        }
        if bytes.len() > self.limits.preview_bytes {
            return Err(self.stop(crate::plugin::error::Failure::Contract(format!(
                "sent a preview of {} bytes; at most {} are shown",
                bytes.len(),
                self.limits.preview_bytes
            ))));
        }
        self.charge_host_bytes(bytes.len());
        self.context.services.preview(mime, bytes);
        Ok(())
    }

    /// The checks every outbound request passes (capability, origin, headers and method), with
    /// its timeout capped at what is left of the call. `Ok(Err(..))` is an answer the plugin
    /// gets; `Err` stops the call.
    pub fn admit_request(
        &mut self,
        request: HttpRequest,
        doing: &str,
    ) -> wasmtime::Result<Result<HttpRequest, HttpError>> {
        self.require_capability(&Capability::OutboundHttp(Vec::new()), doing)?;
        let Some(origin) = parse_origin(&request.url) else {
            return Ok(Err(HttpError::InvalidRequest(format!(
                "{:?} is not an absolute http(s) URL",
                request.url
            ))));
        };
        self.require_origin(&origin)?;
        if let Err(reason) = http_rules::check_request(&request) {
            return Ok(Err(HttpError::InvalidRequest(format!(
                "the request {reason}"
            ))));
        }
        let left = self.limits.wall_time.saturating_sub(self.started.elapsed());
        let timeout_ms = http_rules::capped_timeout_ms(request.timeout_ms, left);
        Ok(Ok(HttpRequest {
            timeout_ms,
            ..request
        }))
    }

    fn take_stream_slot(&mut self) -> Result<(), HttpError> {
        if self.live.open >= self.limits.max_streams {
            return Err(HttpError::InvalidRequest(format!(
                "{} streams are open already; close one first",
                self.limits.max_streams
            )));
        }
        self.live.open += 1;
        Ok(())
    }

    /// How long the plugin's wait may last (capped by the stream-wait limit and the call's
    /// time left), and the switch that ends it early.
    fn stream_wait(&self, timeout_ms: u32) -> (Duration, CancellationToken) {
        let left = self.limits.wall_time.saturating_sub(self.started.elapsed());
        let wait = Duration::from_millis(u64::from(timeout_ms))
            .min(self.limits.stream_wait)
            .min(left);
        (wait, self.context.cancel.clone())
    }

    fn admit_received(&mut self, bytes: usize) -> Result<(), HttpError> {
        let limits: &Limits = &self.limits;
        if bytes > limits.value_bytes {
            return Err(HttpError::TooLarge(limits.value_bytes as u64));
        }
        let total = self.live.received + bytes as u64;
        if total > limits.stream_bytes {
            return Err(HttpError::TooLarge(limits.stream_bytes));
        }
        self.live.received = total;
        Ok(())
    }
}

/// What `next` gives within `wait`, or `None` when the wait ended first or the call was
/// cancelled.
async fn wait_for<T>(
    wait: Duration,
    cancel: CancellationToken,
    next: impl Future<Output = T>,
) -> Option<T> {
    tokio::select! {
        next = next => Some(next),
        () = tokio::time::sleep(wait) => None,
        () = cancel.cancelled() => None,
    }
}
