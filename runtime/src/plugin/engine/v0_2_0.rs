//! Bindings for contract `moviedirector:node@0.2.0` (`wit/since_v0.2.0`): the interfaces of
//! 0.1.0 unchanged (expanded from [`super::contract_glue`]) plus `live`, whose host side is
//! [`super::streams`]. Generated types never leave this module.

use wasmtime::component::Resource;
use wasmtime_wasi::WasiView;

use super::contract_glue::node_contract_0_1_interfaces;
use super::streams::{BodyChunk, LiveBody, LiveSocket, SocketEvent};

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../wit/since_v0.2.0",
    imports: {
        "moviedirector:node/assets": async | trappable,
        "moviedirector:node/outputs": async | trappable,
        "moviedirector:node/http": async | trappable,
        "moviedirector:node/live": async | trappable,
        default: trappable,
    },
    exports: { default: async },
    with: {
        "moviedirector:node/live.body-stream": super::streams::LiveBody,
        "moviedirector:node/live.web-socket": super::streams::LiveSocket,
    },
});

/// The contract version these bindings speak.
pub const VERSION: &str = "0.2.0";

node_contract_0_1_interfaces!();

use moviedirector::node::live;

impl live::Host for StoreState {
    async fn open(
        &mut self,
        request: moviedirector::node::http::Request,
    ) -> wasmtime::Result<Result<Resource<LiveBody>, moviedirector::node::http::HttpError>> {
        let request = rt::HttpRequest {
            method: request.method,
            url: request.url,
            headers: request.headers,
            body: request.body,
            timeout_ms: request.timeout_ms,
        };
        self.charge_host_bytes(request.body.len());
        Ok(match self.live_open(request).await? {
            Ok(body) => Ok(self.ctx().table.push(body)?),
            Err(err) => Err(http_error_to_wit(err)),
        })
    }

    async fn connect(
        &mut self,
        url: String,
        headers: Vec<(String, String)>,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<Resource<LiveSocket>, moviedirector::node::http::HttpError>> {
        Ok(match self.live_connect(url, headers, timeout_ms).await? {
            Ok(socket) => Ok(self.ctx().table.push(socket)?),
            Err(err) => Err(http_error_to_wit(err)),
        })
    }

    async fn preview(&mut self, mime: String, bytes: Vec<u8>) -> wasmtime::Result<()> {
        self.live_preview(&mime, &bytes)
    }
}

impl live::HostBodyStream for StoreState {
    async fn status(&mut self, body: Resource<LiveBody>) -> wasmtime::Result<u16> {
        Ok(self.ctx().table.get(&body)?.status())
    }

    async fn headers(
        &mut self,
        body: Resource<LiveBody>,
    ) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(self.ctx().table.get(&body)?.headers())
    }

    async fn read(
        &mut self,
        body: Resource<LiveBody>,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<live::BodyChunk, moviedirector::node::http::HttpError>> {
        let handle = self.ctx().table.get(&body)?.clone();
        Ok(match self.live_read(&handle, timeout_ms).await? {
            Ok(BodyChunk::Data(bytes)) => Ok(live::BodyChunk::Data(bytes)),
            Ok(BodyChunk::Idle) => Ok(live::BodyChunk::Idle),
            Ok(BodyChunk::End) => Ok(live::BodyChunk::End),
            Err(err) => Err(http_error_to_wit(err)),
        })
    }

    async fn drop(&mut self, body: Resource<LiveBody>) -> wasmtime::Result<()> {
        self.ctx().table.delete(body)?;
        self.live_closed();
        Ok(())
    }
}

impl live::HostWebSocket for StoreState {
    async fn send(
        &mut self,
        socket: Resource<LiveSocket>,
        message: live::Message,
    ) -> wasmtime::Result<Result<(), moviedirector::node::http::HttpError>> {
        let handle = self.ctx().table.get(&socket)?.clone();
        let message = match message {
            live::Message::Text(text) => rt::SocketMessage::Text(text),
            live::Message::Binary(bytes) => rt::SocketMessage::Binary(bytes),
        };
        Ok(self
            .live_send(&handle, message)
            .await?
            .map_err(http_error_to_wit))
    }

    async fn receive(
        &mut self,
        socket: Resource<LiveSocket>,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<live::SocketEvent, moviedirector::node::http::HttpError>> {
        let handle = self.ctx().table.get(&socket)?.clone();
        Ok(match self.live_receive(&handle, timeout_ms).await? {
            Ok(SocketEvent::Message(rt::SocketMessage::Text(text))) => {
                Ok(live::SocketEvent::Message(live::Message::Text(text)))
            }
            Ok(SocketEvent::Message(rt::SocketMessage::Binary(bytes))) => {
                Ok(live::SocketEvent::Message(live::Message::Binary(bytes)))
            }
            Ok(SocketEvent::Idle) => Ok(live::SocketEvent::Idle),
            Ok(SocketEvent::Closed(reason)) => Ok(live::SocketEvent::Closed(reason)),
            Err(err) => Err(http_error_to_wit(err)),
        })
    }

    async fn drop(&mut self, socket: Resource<LiveSocket>) -> wasmtime::Result<()> {
        self.ctx().table.delete(socket)?;
        self.live_closed();
        Ok(())
    }
}
