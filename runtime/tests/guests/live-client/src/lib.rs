//! Test node `live-client` (contract 0.2.0, built with mdc-sdk): follows streams the way a
//! pipeline node follows its backend, and pushes at the `live` interface's limits. Its `mode`
//! parameter picks what it does with `url`; its `text` output reports what it saw.
//!
//! - `sse`: reads `url` as server-sent events to the end: `event=data` lines.
//! - `socket`: connects to `url`, sends `hello`, reports every message until the server
//!   closes: `text:…`, `binary:<length>`, then `closed:<reason>`.
//! - `idle`: connects and waits in 50 ms steps until cancelled: `idle until cancelled`.
//! - `streams`: opens `url` nine times, keeping each open: reports the error of the one refused.
//! - `preview` / `bad-preview`: sends a PNG preview / an HTML "preview".

use std::time::Duration;

use mdc_sdk::live::{self, EventRead, Message, SocketEvent};
use mdc_sdk::prelude::*;

/// See the module docs.
pub struct LiveClient;

const WAIT: Duration = Duration::from_secs(5);

impl Node for LiveClient {
    fn describe() -> NodeDescriptor {
        NodeDescriptor::new("live-client", "0.1.0", "Live Client")
            .category("Testing")
            .output(Port::one("text", "Text", "text"))
            .param(Param::text("mode", "Mode").default("sse"))
            .param(Param::text("url", "URL").default(""))
            .capability(Capability::OutboundHttp(vec!["*".into()]))
    }

    fn execute(input: NodeInput) -> Result<NodeOutputs, NodeError> {
        let url = input.text("url").unwrap_or_default().to_string();
        let report = match input.text("mode").unwrap_or("sse") {
            "sse" => sse(&url),
            "socket" => socket(&url),
            "idle" => idle(&url),
            "streams" => streams(&url),
            "preview" => {
                live::preview("image/png", b"\x89PNG\r\n\x1a\n");
                Ok("previewed".to_string())
            }
            "bad-preview" => {
                live::preview("text/html", b"<script>");
                Ok("previewed".to_string())
            }
            other => return Err(NodeError::invalid_input(format!("unknown mode {other:?}"))),
        };
        let report = report.map_err(|err| NodeError::failed(format!("{err:?}")))?;
        Ok(NodeOutputs::new().with("text", report))
    }
}

fn get(url: &str) -> HttpRequest {
    HttpRequest {
        method: "GET".into(),
        url: url.into(),
        headers: vec![],
        body: vec![],
        timeout_ms: 5_000,
    }
}

fn sse(url: &str) -> Result<String, HttpError> {
    let mut events = live::open(&get(url))?.events();
    let mut lines = vec![format!("status={}", events.status())];
    loop {
        match events.next(WAIT)? {
            EventRead::Event(event) => lines.push(format!("{}={}", event.event, event.data)),
            EventRead::Idle => lines.push("idle".into()),
            EventRead::End => return Ok(lines.join("\n")),
        }
    }
}

fn socket(url: &str) -> Result<String, HttpError> {
    let socket = live::connect(url, &[], WAIT)?;
    socket.send(&Message::Text("hello".into()))?;
    let mut lines = Vec::new();
    loop {
        match socket.receive(WAIT)? {
            SocketEvent::Message(Message::Text(text)) => lines.push(format!("text:{text}")),
            SocketEvent::Message(Message::Binary(bytes)) => {
                lines.push(format!("binary:{}", bytes.len()))
            }
            SocketEvent::Idle => lines.push("idle".into()),
            SocketEvent::Closed(reason) => {
                lines.push(format!("closed:{}", reason.unwrap_or_default()));
                return Ok(lines.join("\n"));
            }
        }
    }
}

fn idle(url: &str) -> Result<String, HttpError> {
    let socket = live::connect(url, &[], WAIT)?;
    loop {
        match socket.receive(Duration::from_millis(50))? {
            SocketEvent::Idle if host::is_cancelled() => {
                return Ok("idle until cancelled".into());
            }
            SocketEvent::Closed(_) => return Ok("closed".into()),
            _ => {}
        }
    }
}

fn streams(url: &str) -> Result<String, HttpError> {
    let mut open = Vec::new();
    for _ in 0..9 {
        match live::open(&get(url)) {
            Ok(stream) => open.push(stream),
            Err(err) => return Ok(format!("refused after {}: {err:?}", open.len())),
        }
    }
    Ok(format!("all {} open", open.len()))
}

mdc_sdk::export_node!(LiveClient);
