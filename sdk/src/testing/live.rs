//! The test host's side of [`crate::live`]: scripted response streams and WebSockets per
//! origin, and the previews and socket messages a node sent.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use super::{State, TestHost, dispatch, origin_of, with_test_host};
use crate::live::{BodyChunk, Message, SocketEvent};
use crate::types::{Capability, HttpError, HttpRequest};

/// A scripted response body: what each read gives, in order; [`BodyChunk::End`] once the
/// script is used up.
#[derive(Debug)]
pub struct TestBody {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    script: RefCell<VecDeque<BodyChunk>>,
}

impl TestBody {
    /// A body with this status whose reads give `chunks`, then the end.
    pub fn new(status: u16, chunks: impl IntoIterator<Item = impl Into<Vec<u8>>>) -> TestBody {
        TestBody {
            status,
            headers: Vec::new(),
            script: RefCell::new(
                chunks
                    .into_iter()
                    .map(|chunk| BodyChunk::Data(chunk.into()))
                    .collect(),
            ),
        }
    }

    /// Adds a response header.
    pub fn header(mut self, name: &str, value: &str) -> TestBody {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Adds an `Idle` answer (a wait that timed out) after the chunks so far.
    pub fn idle(self) -> TestBody {
        self.script.borrow_mut().push_back(BodyChunk::Idle);
        self
    }

    pub(crate) fn next(&self) -> Result<BodyChunk, HttpError> {
        Ok(self
            .script
            .borrow_mut()
            .pop_front()
            .unwrap_or(BodyChunk::End))
    }
}

/// A scripted WebSocket: what each receive gives, in order; `Closed(None)` once the script is
/// used up. Messages the node sends are recorded on the host ([`TestHost::sent_messages`]).
#[derive(Debug)]
pub struct TestSocket {
    script: RefCell<VecDeque<SocketEvent>>,
}

impl TestSocket {
    /// A socket whose receives give `events`, then `Closed(None)`.
    pub fn new(events: impl IntoIterator<Item = SocketEvent>) -> TestSocket {
        TestSocket {
            script: RefCell::new(events.into_iter().collect()),
        }
    }

    pub(crate) fn next(&self) -> Result<SocketEvent, HttpError> {
        Ok(self
            .script
            .borrow_mut()
            .pop_front()
            .unwrap_or(SocketEvent::Closed(None)))
    }

    pub(crate) fn record_sent(&self, message: &Message) {
        with_test_host("live::send", |h| h.sent_messages.push(message.clone()));
    }
}

/// Answers `live::open` for one origin.
pub(crate) type StreamHandler = Rc<dyn Fn(&HttpRequest) -> Result<TestBody, HttpError>>;
/// Answers `live::connect` for one origin (given the URL).
pub(crate) type SocketHandler = Rc<dyn Fn(&str) -> Result<TestSocket, HttpError>>;

impl State {
    fn refuse_http(&self) -> Option<String> {
        self.refuse("outbound-http", |c| {
            matches!(c, Capability::OutboundHttp(_))
        })
    }

    pub(crate) fn stream_route(
        &mut self,
        request: &HttpRequest,
    ) -> Box<dyn FnOnce() -> Result<TestBody, HttpError>> {
        self.http_requests.push(request.clone());
        if let Some(why) = self.refuse_http() {
            return Box::new(move || Err(HttpError::Unreachable(why)));
        }
        let origin = origin_of(&request.url).unwrap_or_default();
        let request = request.clone();
        dispatch(&self.stream_handlers, origin, "stream", move |handler| {
            handler(&request)
        })
    }

    pub(crate) fn socket_route(
        &mut self,
        url: &str,
        _headers: &[(String, String)],
    ) -> Box<dyn FnOnce() -> Result<TestSocket, HttpError>> {
        self.socket_urls.push(url.to_string());
        if let Some(why) = self.refuse_http() {
            return Box::new(move || Err(HttpError::Unreachable(why)));
        }
        let as_http = url
            .strip_prefix("ws://")
            .map(|rest| format!("http://{rest}"))
            .or_else(|| {
                url.strip_prefix("wss://")
                    .map(|rest| format!("https://{rest}"))
            });
        let Some(origin) = as_http.as_deref().and_then(origin_of) else {
            let why = format!("{url:?} is not a ws:// or wss:// URL");
            return Box::new(move || Err(HttpError::InvalidRequest(why)));
        };
        let url = url.to_string();
        dispatch(&self.socket_handlers, origin, "WebSocket", move |handler| {
            handler(&url)
        })
    }

    pub(crate) fn preview(&mut self, mime: &str, bytes: &[u8]) {
        self.previews.push((mime.to_string(), bytes.to_vec()));
    }
}

impl TestHost {
    /// Answers `live::open` requests to `origin` with `handler`'s scripted body.
    pub fn stream<F>(self, origin: &str, handler: F) -> Self
    where
        F: Fn(&HttpRequest) -> Result<TestBody, HttpError> + 'static,
    {
        super::register(
            &mut self.state.borrow_mut().stream_handlers,
            origin,
            Rc::new(handler),
        );
        self
    }

    /// Answers `live::connect` to `origin` (given as `http://…`, the origin a `ws://` URL is
    /// granted as) with `handler`'s scripted socket.
    pub fn socket<F>(self, origin: &str, handler: F) -> Self
    where
        F: Fn(&str) -> Result<TestSocket, HttpError> + 'static,
    {
        super::register(
            &mut self.state.borrow_mut().socket_handlers,
            origin,
            Rc::new(handler),
        );
        self
    }

    /// Previews the node sent, in order: `(mime, bytes)`.
    pub fn previews(&self) -> Vec<(String, Vec<u8>)> {
        self.state.borrow().previews.clone()
    }

    /// WebSocket URLs the node connected to, answered or not.
    pub fn socket_urls(&self) -> Vec<String> {
        self.state.borrow().socket_urls.clone()
    }

    /// Messages the node sent on its WebSockets, in order.
    pub fn sent_messages(&self) -> Vec<Message> {
        self.state.borrow().sent_messages.clone()
    }
}
