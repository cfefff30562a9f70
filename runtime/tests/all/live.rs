//! Contract 0.2.0's `live` interface through a real component (`live-client`): response
//! streams and WebSockets reach only granted origins, arrive piece by piece, stay within the
//! call's limits, and end early when the call is cancelled; 0.1.0 components keep running
//! beside 0.2.0 ones.
//!
//! The services here play the embedding's part with in-memory streams the test feeds; the
//! host's real network client (TCP, TLS, WebSocket frames) is tested in `host/`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mdc_runtime::plugin::types::{HttpError, HttpRequest, SocketMessage, SocketRequest, Value};
use mdc_runtime::plugin::{
    BodyStream, CallContext, CallError, Failure, Grants, HostServices, Limits, SocketStream,
};
use tokio::sync::mpsc;

use crate::support::{input, load, text};

/// Services whose streams are fed by the test: each `http_open` takes the next body script,
/// each `socket_connect` answers like a small echo server.
#[derive(Default)]
struct LiveServices {
    bodies: Mutex<Vec<mpsc::UnboundedReceiver<Vec<u8>>>>,
    opened: Mutex<Vec<String>>,
    socket_script: Mutex<Vec<SocketMessage>>,
    previews: Mutex<Vec<(String, usize)>>,
}

struct ChannelBody(mpsc::UnboundedReceiver<Vec<u8>>);

#[async_trait::async_trait]
impl BodyStream for ChannelBody {
    fn status(&self) -> u16 {
        200
    }

    fn headers(&self) -> Vec<(String, String)> {
        vec![("content-type".into(), "text/event-stream".into())]
    }

    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, HttpError> {
        Ok(self.0.recv().await)
    }
}

/// Echoes each text message back as `echo <text>`, after sending the script once; closes
/// with reason `done` when the script is used up and the echo was sent.
struct EchoSocket {
    pending: Vec<SocketMessage>,
    echoed: bool,
}

#[async_trait::async_trait]
impl SocketStream for EchoSocket {
    async fn send(&mut self, message: SocketMessage) -> Result<(), HttpError> {
        if let SocketMessage::Text(text) = message {
            self.pending
                .insert(0, SocketMessage::Text(format!("echo {text}")));
        }
        Ok(())
    }

    async fn receive(&mut self) -> Result<Result<SocketMessage, Option<String>>, HttpError> {
        if self.pending.is_empty() {
            if self.echoed {
                return Ok(Err(Some("done".into())));
            }
            // A quiet server: nothing until the call gives up.
            std::future::pending::<()>().await;
        }
        self.echoed = true;
        Ok(Ok(self.pending.remove(0)))
    }
}

#[async_trait::async_trait]
impl HostServices for LiveServices {
    async fn http_open(&self, request: HttpRequest) -> Result<Box<dyn BodyStream>, HttpError> {
        self.opened.lock().unwrap().push(request.url);
        let body = self.bodies.lock().unwrap().pop();
        match body {
            Some(body) => Ok(Box::new(ChannelBody(body))),
            None => {
                // An endless quiet body.
                let (sender, receiver) = mpsc::unbounded_channel();
                std::mem::forget(sender);
                Ok(Box::new(ChannelBody(receiver)))
            }
        }
    }

    async fn socket_connect(
        &self,
        request: SocketRequest,
    ) -> Result<Box<dyn SocketStream>, HttpError> {
        self.opened.lock().unwrap().push(request.url);
        Ok(Box::new(EchoSocket {
            pending: self.socket_script.lock().unwrap().clone(),
            echoed: false,
        }))
    }

    fn preview(&self, mime: &str, bytes: &[u8]) {
        self.previews
            .lock()
            .unwrap()
            .push((mime.to_string(), bytes.len()));
    }
}

const ORIGIN: &str = "http://127.0.0.1:8188";

fn granted(services: &Arc<LiveServices>) -> CallContext {
    CallContext::new(services.clone()).with_grants(Grants::none().allow_origin(ORIGIN).unwrap())
}

async fn run(
    mode: &str,
    url: &str,
    context: CallContext,
    limits: Option<Limits>,
) -> Result<String, CallError> {
    let mut plugin = load("live-client").await;
    if let Some(limits) = limits {
        plugin = plugin.with_limits(limits);
    }
    let outcome = plugin
        .execute(&input(&[("mode", text(mode)), ("url", text(url))]), context)
        .await?;
    match &outcome.value.values[0].value {
        Value::Text(report) => Ok(report.clone()),
        other => panic!("unexpected output {other:?}"),
    }
}

#[tokio::test]
async fn server_sent_events_arrive_as_the_backend_sends_them() {
    let services = Arc::new(LiveServices::default());
    let (sender, receiver) = mpsc::unbounded_channel();
    services.bodies.lock().unwrap().push(receiver);
    let feeder = tokio::spawn(async move {
        // An event split across pieces, then a quiet spell, then the end.
        for piece in [
            &b"event: progress\nda"[..],
            b"ta: 1/2\n\n",
            b"event: complete\ndata: ok\n\n",
        ] {
            sender.send(piece.to_vec()).unwrap();
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    });
    let report = run("sse", &format!("{ORIGIN}/events"), granted(&services), None)
        .await
        .unwrap();
    feeder.await.unwrap();
    assert_eq!(report, "status=200\nprogress=1/2\ncomplete=ok");
    assert_eq!(
        services.opened.lock().unwrap().as_slice(),
        [format!("{ORIGIN}/events")]
    );
}

#[tokio::test]
async fn a_websocket_carries_messages_both_ways_until_the_server_closes() {
    let services = Arc::new(LiveServices::default());
    *services.socket_script.lock().unwrap() = vec![
        SocketMessage::Text("{\"type\":\"status\"}".into()),
        SocketMessage::Binary(vec![0, 0, 0, 1, 0, 0, 0, 2, 9]),
    ];
    let report = run(
        "socket",
        "ws://127.0.0.1:8188/ws?clientId=c1",
        granted(&services),
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        report,
        "text:echo hello\ntext:{\"type\":\"status\"}\nbinary:9\nclosed:done"
    );
}

#[tokio::test]
async fn streams_reach_only_granted_origins() {
    let services = Arc::new(LiveServices::default());
    let ungranted = CallContext::new(services.clone());
    for (mode, url) in [
        ("sse", format!("{ORIGIN}/events")),
        ("socket", "ws://127.0.0.1:8188/ws".to_string()),
    ] {
        let err = run(mode, &url, ungranted.clone(), None).await.unwrap_err();
        assert!(matches!(err.failure, Failure::Capability(_)), "{err}");
        assert!(
            err.to_string().contains(
                "tried to reach http://127.0.0.1:8188, which the operator has not granted"
            ),
            "{err}"
        );
    }
    // A socket URL must be ws:// or wss://.
    let err = run("socket", &format!("{ORIGIN}/ws"), granted(&services), None)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("is not a ws:// or wss:// URL"),
        "{err}"
    );
    assert!(
        services.opened.lock().unwrap().is_empty(),
        "nothing was opened"
    );
}

#[tokio::test]
async fn a_call_holds_at_most_eight_streams_open() {
    let services = Arc::new(LiveServices::default());
    let report = run(
        "streams",
        &format!("{ORIGIN}/events"),
        granted(&services),
        None,
    )
    .await
    .unwrap();
    assert!(
        report
            .starts_with("refused after 8: HttpError::InvalidRequest(\"8 streams are open already"),
        "{report}"
    );
}

#[tokio::test]
async fn a_message_over_the_value_limit_ends_the_stream_with_too_large() {
    let services = Arc::new(LiveServices::default());
    *services.socket_script.lock().unwrap() = vec![SocketMessage::Binary(vec![7; 4096])];
    let limits = Limits {
        value_bytes: 1024,
        ..Limits::default()
    };
    let err = run(
        "socket",
        "ws://127.0.0.1:8188/ws",
        granted(&services),
        Some(limits),
    )
    .await
    .unwrap_err();
    // The echo (short) passes; the 4 KiB frame does not.
    assert!(err.to_string().contains("TooLarge(1024)"), "{err}");
}

#[tokio::test]
async fn bytes_over_all_streams_are_capped_per_call() {
    let services = Arc::new(LiveServices::default());
    let (sender, receiver) = mpsc::unbounded_channel();
    services.bodies.lock().unwrap().push(receiver);
    for _ in 0..8 {
        sender.send(vec![b':'; 1000]).unwrap();
    }
    drop(sender);
    let limits = Limits {
        stream_bytes: 5000,
        ..Limits::default()
    };
    let err = run(
        "sse",
        &format!("{ORIGIN}/events"),
        granted(&services),
        Some(limits),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("TooLarge(5000)"), "{err}");
}

#[tokio::test]
async fn a_wait_ends_when_the_call_is_cancelled() {
    let services = Arc::new(LiveServices::default());
    let context = granted(&services);
    let cancel = context.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        cancel.cancel();
    });
    let started = Instant::now();
    let report = run("idle", "ws://127.0.0.1:8188/ws", context, None)
        .await
        .unwrap();
    assert_eq!(report, "idle until cancelled");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn previews_reach_the_host_and_other_media_types_are_refused() {
    let services = Arc::new(LiveServices::default());
    let report = run("preview", "", granted(&services), None).await.unwrap();
    assert_eq!(report, "previewed");
    assert_eq!(
        services.previews.lock().unwrap().as_slice(),
        [("image/png".to_string(), 8)]
    );
    let err = run("bad-preview", "", granted(&services), None)
        .await
        .unwrap_err();
    assert!(matches!(err.failure, Failure::Contract(_)), "{err}");
    assert!(
        err.to_string()
            .contains("sent a preview of type \"text/html\""),
        "{err}"
    );
}

#[tokio::test]
async fn components_of_both_contract_versions_serve_side_by_side() {
    let legacy = load("legacy-v0-1-0").await;
    let live = load("live-client").await;
    assert_eq!(legacy.contract_version(), "0.1.0");
    assert_eq!(live.contract_version(), "0.2.0");
    let services = Arc::new(LiveServices::default());
    let (plain, preview) = (
        input(&[]),
        input(&[("mode", text("preview")), ("url", text(""))]),
    );
    let (old, new) = tokio::join!(
        legacy.execute(&plain, CallContext::default()),
        live.execute(&preview, granted(&services)),
    );
    assert_eq!(
        old.unwrap().value.values[0].value,
        Value::Text("legacy ok".into())
    );
    assert_eq!(
        new.unwrap().value.values[0].value,
        Value::Text("previewed".into())
    );
}
