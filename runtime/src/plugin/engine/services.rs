//! What the embedding (server, worker, CLI) provides to a plugin call: asset access, output
//! storage, HTTP transport, progress and logs, plus the grants and the cancellation switch.

use std::collections::BTreeSet;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

use super::streams::{BodyStream, SocketStream};
use crate::plugin::descriptor_check::parse_origin;
use crate::plugin::types::{
    AssetMetadata, HttpError, HttpRequest, HttpResponse, LogLevel, ServiceError, SocketRequest,
};

/// Services a plugin call may use; each is reached only after the capability check passed.
///
/// Every method has a default that refuses or ignores, so an embedding implements only
/// what it offers.
#[async_trait::async_trait]
pub trait HostServices: Send + Sync + 'static {
    /// A log line from the plugin (including its captured stdout and stderr).
    fn log(&self, level: LogLevel, message: &str) {
        let _ = (level, message);
    }

    /// Progress from the plugin; `fraction` is clamped to 0..=1.
    fn progress(&self, fraction: f32, message: &str) {
        let _ = (fraction, message);
    }

    /// Metadata of an asset.
    async fn asset_metadata(&self, id: &str) -> Result<AssetMetadata, ServiceError> {
        Err(ServiceError::NotFound(id.to_string()))
    }

    /// Bytes of an asset.
    async fn read_asset(&self, id: &str) -> Result<Vec<u8>, ServiceError> {
        Err(ServiceError::NotFound(id.to_string()))
    }

    /// Stores an output file and returns its new asset id.
    async fn write_output(&self, mime: &str, bytes: Vec<u8>) -> Result<String, ServiceError> {
        let _ = (mime, bytes);
        Err(ServiceError::Unsupported("store outputs"))
    }

    /// Performs an HTTP request whose origin the runtime has already checked.
    async fn http_fetch(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        Err(HttpError::Unreachable(format!(
            "this host has no HTTP client ({})",
            request.url
        )))
    }

    /// Sends an HTTP request (checked like [`HostServices::http_fetch`]'s) and returns once
    /// the status and headers arrived; the body is read from the stream as it comes.
    async fn http_open(&self, request: HttpRequest) -> Result<Box<dyn BodyStream>, HttpError> {
        Err(HttpError::Unreachable(format!(
            "this host cannot stream HTTP ({})",
            request.url
        )))
    }

    /// Opens a WebSocket whose origin and handshake headers the runtime has already checked.
    async fn socket_connect(
        &self,
        request: SocketRequest,
    ) -> Result<Box<dyn SocketStream>, HttpError> {
        Err(HttpError::Unreachable(format!(
            "this host has no WebSocket client ({})",
            request.url
        )))
    }

    /// A preview image from a running call (PNG, JPEG or WebP, size already checked); the
    /// latest replaces the one before.
    fn preview(&self, mime: &str, bytes: &[u8]) {
        let _ = (mime, bytes);
    }
}

/// Services built on other services: a type implements [`ServicesLayer::inner`] and overrides
/// only the methods it adds to (say, printing progress); every other method forwards to the
/// inner services. Every layer is [`HostServices`] through the blanket implementation.
#[async_trait::async_trait]
pub trait ServicesLayer: Send + Sync + 'static {
    /// The services this layer adds to.
    fn inner(&self) -> &dyn HostServices;

    /// See [`HostServices::log`].
    fn log(&self, level: LogLevel, message: &str) {
        self.inner().log(level, message)
    }

    /// See [`HostServices::progress`].
    fn progress(&self, fraction: f32, message: &str) {
        self.inner().progress(fraction, message)
    }

    /// See [`HostServices::asset_metadata`].
    async fn asset_metadata(&self, id: &str) -> Result<AssetMetadata, ServiceError> {
        self.inner().asset_metadata(id).await
    }

    /// See [`HostServices::read_asset`].
    async fn read_asset(&self, id: &str) -> Result<Vec<u8>, ServiceError> {
        self.inner().read_asset(id).await
    }

    /// See [`HostServices::write_output`].
    async fn write_output(&self, mime: &str, bytes: Vec<u8>) -> Result<String, ServiceError> {
        self.inner().write_output(mime, bytes).await
    }

    /// See [`HostServices::http_fetch`].
    async fn http_fetch(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        self.inner().http_fetch(request).await
    }

    /// See [`HostServices::http_open`].
    async fn http_open(&self, request: HttpRequest) -> Result<Box<dyn BodyStream>, HttpError> {
        self.inner().http_open(request).await
    }

    /// See [`HostServices::socket_connect`].
    async fn socket_connect(
        &self,
        request: SocketRequest,
    ) -> Result<Box<dyn SocketStream>, HttpError> {
        self.inner().socket_connect(request).await
    }

    /// See [`HostServices::preview`].
    fn preview(&self, mime: &str, bytes: &[u8]) {
        self.inner().preview(mime, bytes)
    }
}

#[async_trait::async_trait]
impl<T: ServicesLayer> HostServices for T {
    fn log(&self, level: LogLevel, message: &str) {
        ServicesLayer::log(self, level, message)
    }

    fn progress(&self, fraction: f32, message: &str) {
        ServicesLayer::progress(self, fraction, message)
    }

    async fn asset_metadata(&self, id: &str) -> Result<AssetMetadata, ServiceError> {
        ServicesLayer::asset_metadata(self, id).await
    }

    async fn read_asset(&self, id: &str) -> Result<Vec<u8>, ServiceError> {
        ServicesLayer::read_asset(self, id).await
    }

    async fn write_output(&self, mime: &str, bytes: Vec<u8>) -> Result<String, ServiceError> {
        ServicesLayer::write_output(self, mime, bytes).await
    }

    async fn http_fetch(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        ServicesLayer::http_fetch(self, request).await
    }

    async fn http_open(&self, request: HttpRequest) -> Result<Box<dyn BodyStream>, HttpError> {
        ServicesLayer::http_open(self, request).await
    }

    async fn socket_connect(
        &self,
        request: SocketRequest,
    ) -> Result<Box<dyn SocketStream>, HttpError> {
        ServicesLayer::socket_connect(self, request).await
    }

    fn preview(&self, mime: &str, bytes: &[u8]) {
        ServicesLayer::preview(self, mime, bytes)
    }
}

/// Services that refuse everything: for describe, validate and tests.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoServices;

impl HostServices for NoServices {}

/// A granted origin that is not an origin (`http://127.0.0.1:8188`: scheme, host, port).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an origin like \"http://127.0.0.1:8188\"")]
pub struct InvalidOrigin(pub String);

/// What the operator granted a plugin for this call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    http_origins: BTreeSet<String>,
}

impl Grants {
    /// No grants at all.
    pub fn none() -> Grants {
        Grants::default()
    }

    /// Grants outbound HTTP to an origin (`http://127.0.0.1:8188`); fails on a malformed origin.
    pub fn allow_origin(mut self, origin: &str) -> Result<Grants, InvalidOrigin> {
        let normalised = parse_origin(origin).ok_or_else(|| InvalidOrigin(origin.to_string()))?;
        self.http_origins.insert(normalised);
        Ok(self)
    }

    /// Whether the normalised origin is granted.
    pub fn allows_origin(&self, normalised_origin: &str) -> bool {
        self.http_origins.contains(normalised_origin)
    }

    /// Granted origins, normalised.
    pub fn origins(&self) -> impl Iterator<Item = &str> {
        self.http_origins.iter().map(String::as_str)
    }
}

/// Everything one call needs from its caller.
#[derive(Clone)]
pub struct CallContext {
    /// Services the plugin may use.
    pub services: Arc<dyn HostServices>,
    /// What the operator granted.
    pub grants: Grants,
    /// The cancellation switch: the caller cancels it, the plugin sees it through
    /// `is-cancelled`, and waits on streams end early as `idle`.
    pub cancel: CancellationToken,
    /// Whom the call is for: the project or user id the embedding chooses (`None`: no one in
    /// particular, itself one scope). Quarantine counts failures per scope, so one project's
    /// or user's inputs that keep breaking a plugin refuse it there only, until it is
    /// quarantined in `EngineConfig::quarantine_scopes` scopes.
    pub scope: Option<String>,
}

impl CallContext {
    /// A context with these services, no grants and a fresh cancellation switch.
    pub fn new(services: Arc<dyn HostServices>) -> CallContext {
        CallContext {
            services,
            grants: Grants::none(),
            cancel: CancellationToken::new(),
            scope: None,
        }
    }

    /// The same context with other grants.
    pub fn with_grants(mut self, grants: Grants) -> CallContext {
        self.grants = grants;
        self
    }

    /// The same context for a project or user (see [`CallContext::scope`]).
    pub fn with_scope(mut self, scope: impl Into<String>) -> CallContext {
        self.scope = Some(scope.into());
        self
    }
}

impl Default for CallContext {
    fn default() -> Self {
        CallContext::new(Arc::new(NoServices))
    }
}

impl std::fmt::Debug for CallContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallContext")
            .field("grants", &self.grants)
            .field("scope", &self.scope)
            .field("cancelled", &self.cancel.is_cancelled())
            .finish_non_exhaustive()
    }
}
