//! WebSocket connections for plugins (`ws://` and `wss://`, TLS as for requests): how a
//! pipeline node follows a backend's job live, as ComfyUI's `/ws` stream of progress and
//! previews. The runtime has checked the origin and the handshake headers; the connection, its
//! TLS and the frame limits are the host's.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use mdc_runtime::plugin::SocketStream;
use mdc_runtime::plugin::types::{HttpError, SocketMessage, SocketRequest};
use reqwest::Url;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};

use super::{chain, rules, tls};

/// The byte stream under a WebSocket: plain TCP or TLS over it.
trait Connection: AsyncRead + AsyncWrite + Unpin + Send + Sync {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> Connection for T {}

/// An open WebSocket to a backend.
pub struct Socket {
    stream: WebSocketStream<Box<dyn Connection>>,
}

/// Connects, performs the handshake and returns the open socket.
pub async fn connect(
    request: SocketRequest,
    tls: Arc<rustls::ClientConfig>,
    max_message: usize,
    default_timeout: Duration,
) -> Result<Socket, HttpError> {
    let url = Url::parse(&request.url).map_err(|err| {
        HttpError::InvalidRequest(format!("{:?} is not a URL: {err}", request.url))
    })?;
    let secure = match url.scheme() {
        "ws" => false,
        "wss" => true,
        other => {
            return Err(HttpError::InvalidRequest(format!(
                "{:?}: a WebSocket URL is ws:// or wss://, not {other}",
                request.url
            )));
        }
    };
    let host = url
        .host_str()
        .ok_or_else(|| HttpError::InvalidRequest(format!("{:?} names no host", request.url)))?
        .to_string();
    let port = url
        .port_or_known_default()
        .unwrap_or(if secure { 443 } else { 80 });
    let extra = rules::check_headers(&request.headers)?;
    let timeout = match request.timeout_ms {
        0 => default_timeout,
        ms => Duration::from_millis(u64::from(ms)),
    };
    let handshake = async {
        let tcp = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port))
            .await
            .map_err(|err| {
                HttpError::Unreachable(format!("cannot connect to {host}:{port}: {err}"))
            })?;
        let _ = tcp.set_nodelay(true);
        let connection: Box<dyn Connection> = if secure {
            let name =
                rustls::pki_types::ServerName::try_from(host.trim_matches(['[', ']']).to_string())
                    .map_err(|err| HttpError::InvalidRequest(format!("{host:?}: {err}")))?;
            let tls = tokio_rustls::TlsConnector::from(tls)
                .connect(name, tcp)
                .await
                .map_err(|err| {
                    HttpError::Unreachable(tls::failure(&err).unwrap_or_else(|| chain(&err)))
                })?;
            Box::new(tls)
        } else {
            Box::new(tcp)
        };
        let mut handshake = url
            .as_str()
            .into_client_request()
            .map_err(|err| HttpError::InvalidRequest(err.to_string()))?;
        for (name, value) in extra.iter() {
            handshake.headers_mut().append(name, value.clone());
        }
        let config = WebSocketConfig::default()
            .max_message_size(Some(max_message))
            .max_frame_size(Some(max_message));
        let (stream, _) =
            tokio_tungstenite::client_async_with_config(handshake, connection, Some(config))
                .await
                .map_err(|err| classify(&err))?;
        Ok(Socket { stream })
    };
    tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| HttpError::Timeout)?
}

#[async_trait::async_trait]
impl SocketStream for Socket {
    async fn send(&mut self, message: SocketMessage) -> Result<(), HttpError> {
        let message = match message {
            SocketMessage::Text(text) => Message::Text(text.into()),
            SocketMessage::Binary(bytes) => Message::Binary(bytes.into()),
        };
        self.stream
            .send(message)
            .await
            .map_err(|err| classify(&err))
    }

    async fn receive(&mut self) -> Result<Result<SocketMessage, Option<String>>, HttpError> {
        // `next` is cancel-safe: a frame half read stays buffered for the next call.
        loop {
            return match self.stream.next().await {
                None => Ok(Err(None)),
                Some(Ok(Message::Text(text))) => Ok(Ok(SocketMessage::Text(text.to_string()))),
                Some(Ok(Message::Binary(bytes))) => Ok(Ok(SocketMessage::Binary(bytes.into()))),
                // Pings are answered by the library; pongs and raw frames carry nothing.
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                Some(Ok(Message::Close(frame))) => Ok(Err(frame
                    .map(|frame| frame.reason.to_string())
                    .filter(|reason| !reason.is_empty()))),
                Some(Err(tungstenite::Error::ConnectionClosed)) => Ok(Err(None)),
                Some(Err(err)) => Err(classify(&err)),
            };
        }
    }
}

/// The plugin-facing error of a WebSocket failure.
fn classify(err: &tungstenite::Error) -> HttpError {
    match err {
        tungstenite::Error::Capacity(why) => HttpError::InvalidRequest(format!(
            "the server sent a message over the host's limit: {why}"
        )),
        tungstenite::Error::Http(response) => HttpError::Unreachable(format!(
            "the server refused the WebSocket with status {}",
            response.status()
        )),
        other => HttpError::Unreachable(tls::failure(other).unwrap_or_else(|| chain(other))),
    }
}
