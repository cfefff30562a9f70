//! Following a backend's job while it runs (contract 0.2.0's `live` interface): response
//! bodies read as they arrive ([`open`], with [`EventStream`] for server-sent events),
//! WebSocket connections ([`connect`]) and preview images ([`preview`]).
//!
//! Streams need the `outbound-http` capability and an operator grant for the origin, like
//! [`crate::host::http_fetch`]; a WebSocket's `ws://`/`wss://` URL is granted as its
//! `http://`/`https://` origin. Every wait takes a timeout and answers `Idle` when nothing
//! came in time (or the user cancelled), so a node can check
//! [`crate::host::is_cancelled`] and keep its progress moving between events.
//!
//! ```no_run
//! use std::time::Duration;
//! use mdc_sdk::live::{self, Message, SocketEvent};
//!
//! let socket = live::connect("ws://127.0.0.1:8188/ws?clientId=c1", &[], Duration::from_secs(5))?;
//! loop {
//!     match socket.receive(Duration::from_millis(500))? {
//!         SocketEvent::Message(Message::Text(json)) => { /* a progress event */ }
//!         SocketEvent::Message(Message::Binary(_preview)) => {}
//!         SocketEvent::Idle => if mdc_sdk::host::is_cancelled() { break },
//!         SocketEvent::Closed(_) => break,
//!     }
//! }
//! # Ok::<(), mdc_sdk::types::HttpError>(())
//! ```

use std::time::Duration;

use crate::sse::{ServerEvent, SseParser};
use crate::types::{HttpError, HttpRequest};

pub use crate::bindings::moviedirector::node::live::{BodyChunk, Message, SocketEvent};

/// A response whose body is read as it arrives.
pub struct BodyStream {
    inner: imp::Body,
}

impl std::fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyStream")
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl BodyStream {
    /// The response's status code.
    pub fn status(&self) -> u16 {
        imp::status(&self.inner)
    }

    /// The response's headers.
    pub fn headers(&self) -> Vec<(String, String)> {
        imp::headers(&self.inner)
    }

    /// Waits at most `timeout` for more of the body.
    pub fn read(&self, timeout: Duration) -> Result<BodyChunk, HttpError> {
        imp::read(&self.inner, millis(timeout))
    }

    /// Reads the rest of the body (at most `limit` bytes), waiting at most `timeout` between
    /// pieces.
    pub fn read_to_end(&self, timeout: Duration, limit: usize) -> Result<Vec<u8>, HttpError> {
        let mut body = Vec::new();
        loop {
            match self.read(timeout)? {
                BodyChunk::Data(bytes) => {
                    if body.len() + bytes.len() > limit {
                        return Err(HttpError::TooLarge(limit as u64));
                    }
                    body.extend_from_slice(&bytes);
                }
                BodyChunk::Idle => return Err(HttpError::Timeout),
                BodyChunk::End => return Ok(body),
            }
        }
    }

    /// The body as server-sent events.
    pub fn events(self) -> EventStream {
        EventStream {
            body: self,
            parser: SseParser::default(),
            ended: false,
        }
    }
}

/// Sends `request` and returns once the status and headers arrived (within the request's
/// `timeout-ms`); read the body from the stream as it comes.
pub fn open(request: &HttpRequest) -> Result<BodyStream, HttpError> {
    imp::open(request).map(|inner| BodyStream { inner })
}

/// What waiting on an [`EventStream`] gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventRead {
    /// One event.
    Event(ServerEvent),
    /// Nothing within the wait.
    Idle,
    /// The stream ended.
    End,
}

/// Server-sent events (`text/event-stream`) read from a [`BodyStream`].
#[derive(Debug)]
pub struct EventStream {
    body: BodyStream,
    parser: SseParser,
    ended: bool,
}

impl EventStream {
    /// The response's status code.
    pub fn status(&self) -> u16 {
        self.body.status()
    }

    /// Waits at most `timeout` (per piece of body read) for the next event.
    pub fn next(&mut self, timeout: Duration) -> Result<EventRead, HttpError> {
        loop {
            if let Some(event) = self.parser.next_event() {
                return Ok(EventRead::Event(event));
            }
            if self.ended {
                return Ok(EventRead::End);
            }
            match self.body.read(timeout)? {
                BodyChunk::Data(bytes) => self.parser.push(&bytes),
                BodyChunk::Idle => return Ok(EventRead::Idle),
                BodyChunk::End => {
                    self.parser.finish();
                    self.ended = true;
                }
            }
        }
    }
}

/// An open WebSocket connection; dropping it closes the connection.
pub struct WebSocket {
    inner: imp::Socket,
}

impl std::fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket").finish_non_exhaustive()
    }
}

impl WebSocket {
    /// Sends a message.
    pub fn send(&self, message: &Message) -> Result<(), HttpError> {
        imp::send(&self.inner, message)
    }

    /// Waits at most `timeout` for the next message.
    pub fn receive(&self, timeout: Duration) -> Result<SocketEvent, HttpError> {
        imp::receive(&self.inner, millis(timeout))
    }
}

/// Opens a WebSocket to `url` (`ws://` or `wss://`), sending `headers` with the handshake and
/// waiting at most `timeout` for it.
pub fn connect(
    url: &str,
    headers: &[(String, String)],
    timeout: Duration,
) -> Result<WebSocket, HttpError> {
    imp::connect(url, headers, millis(timeout)).map(|inner| WebSocket { inner })
}

/// Shows an intermediate image (`image/png`, `image/jpeg` or `image/webp`) on the node while
/// it runs; the latest preview replaces the one before. Always granted.
pub fn preview(mime: &str, bytes: &[u8]) {
    imp::preview(mime, bytes)
}

fn millis(timeout: Duration) -> u32 {
    u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX)
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use crate::bindings::moviedirector::node::live;
    use crate::types::{HttpError, HttpRequest};

    pub(super) type Body = live::BodyStream;
    pub(super) type Socket = live::WebSocket;

    pub(super) fn open(request: &HttpRequest) -> Result<Body, HttpError> {
        live::open(request)
    }

    pub(super) fn status(body: &Body) -> u16 {
        body.status()
    }

    pub(super) fn headers(body: &Body) -> Vec<(String, String)> {
        body.headers()
    }

    pub(super) fn read(body: &Body, timeout_ms: u32) -> Result<live::BodyChunk, HttpError> {
        body.read(timeout_ms)
    }

    pub(super) fn connect(
        url: &str,
        headers: &[(String, String)],
        timeout_ms: u32,
    ) -> Result<Socket, HttpError> {
        live::connect(url, headers, timeout_ms)
    }

    pub(super) fn send(socket: &Socket, message: &live::Message) -> Result<(), HttpError> {
        socket.send(message)
    }

    pub(super) fn receive(
        socket: &Socket,
        timeout_ms: u32,
    ) -> Result<live::SocketEvent, HttpError> {
        socket.receive(timeout_ms)
    }

    pub(super) fn preview(mime: &str, bytes: &[u8]) {
        live::preview(mime, bytes)
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use crate::testing::{TestBody, TestSocket, with_test_host};
    use crate::types::{HttpError, HttpRequest};

    use super::{BodyChunk, Message, SocketEvent};

    pub(super) type Body = TestBody;
    pub(super) type Socket = TestSocket;

    pub(super) fn open(request: &HttpRequest) -> Result<Body, HttpError> {
        // The handler runs outside the host's borrow, so it may itself call host functions.
        let handler = with_test_host("live::open", |h| h.stream_route(request));
        handler()
    }

    pub(super) fn status(body: &Body) -> u16 {
        body.status
    }

    pub(super) fn headers(body: &Body) -> Vec<(String, String)> {
        body.headers.clone()
    }

    pub(super) fn read(body: &Body, _timeout_ms: u32) -> Result<BodyChunk, HttpError> {
        body.next()
    }

    pub(super) fn connect(
        url: &str,
        headers: &[(String, String)],
        _timeout_ms: u32,
    ) -> Result<Socket, HttpError> {
        let handler = with_test_host("live::connect", |h| h.socket_route(url, headers));
        handler()
    }

    pub(super) fn send(socket: &Socket, message: &Message) -> Result<(), HttpError> {
        socket.record_sent(message);
        Ok(())
    }

    pub(super) fn receive(socket: &Socket, _timeout_ms: u32) -> Result<SocketEvent, HttpError> {
        socket.next()
    }

    pub(super) fn preview(mime: &str, bytes: &[u8]) {
        with_test_host("live::preview", |h| h.preview(mime, bytes))
    }
}
