//! Functions a plugin calls on its host.
//!
//! In a WebAssembly build (`target_arch = "wasm32"`) they call the contract's
//! imports. On any other target they call the [`crate::testing::TestHost`]
//! that is running the node on the current thread, and **panic** when none is
//! (the only panic in this crate): on native targets a node can only be run
//! through a `TestHost`.
//!
//! Logging, progress and cancellation are always available. The asset
//! functions need the `asset-read` capability, [`write_output`] needs
//! `output-write` and [`http_fetch`] needs `outbound-http` plus an operator
//! grant for the URL's origin; the real host traps when a plugin calls an
//! import it was not granted.

use crate::types::{AssetMetadata, HttpError, HttpRequest, HttpResponse, LogLevel};

/// Writes a line to the execution's log.
pub fn log(level: LogLevel, message: &str) {
    imp::log(level, message)
}

/// Logs at [`LogLevel::Trace`].
pub fn trace(message: &str) {
    log(LogLevel::Trace, message)
}

/// Logs at [`LogLevel::Debug`].
pub fn debug(message: &str) {
    log(LogLevel::Debug, message)
}

/// Logs at [`LogLevel::Info`].
pub fn info(message: &str) {
    log(LogLevel::Info, message)
}

/// Logs at [`LogLevel::Warn`].
pub fn warn(message: &str) {
    log(LogLevel::Warn, message)
}

/// Logs at [`LogLevel::Error`].
pub fn error(message: &str) {
    log(LogLevel::Error, message)
}

/// Reports progress: `fraction` (clamped to 0..=1; NaN counts as 0) and what
/// is happening now.
pub fn progress(fraction: f32, message: &str) {
    let fraction = if fraction.is_nan() {
        0.0
    } else {
        fraction.clamp(0.0, 1.0)
    };
    imp::progress(fraction, message)
}

/// True once the user cancelled; the node should stop soon and return
/// [`crate::types::NodeError::cancelled`].
pub fn is_cancelled() -> bool {
    imp::is_cancelled()
}

/// Metadata of asset `id`, or why it cannot be read. Needs `asset-read`.
pub fn asset_metadata(id: &str) -> Result<AssetMetadata, String> {
    imp::asset_metadata(id)
}

/// The bytes of asset `id`, or why they cannot be read. Needs `asset-read`.
pub fn read_asset(id: &str) -> Result<Vec<u8>, String> {
    imp::read_asset(id)
}

/// Stores `bytes` as a new output asset of this execution and returns its id.
/// Needs `output-write`.
pub fn write_output(mime: &str, bytes: &[u8]) -> Result<String, String> {
    imp::write_output(mime, bytes)
}

/// Sends an HTTP request and waits for the whole response. Needs
/// `outbound-http` and a grant for the URL's origin.
pub fn http_fetch(request: &HttpRequest) -> Result<HttpResponse, HttpError> {
    imp::http_fetch(request)
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use crate::bindings::moviedirector::node::{assets, host, http, outputs};
    use crate::types::{AssetMetadata, HttpError, HttpRequest, HttpResponse, LogLevel};

    pub(super) fn log(level: LogLevel, message: &str) {
        host::log(level, message)
    }

    pub(super) fn progress(fraction: f32, message: &str) {
        host::progress(fraction, message)
    }

    pub(super) fn is_cancelled() -> bool {
        host::is_cancelled()
    }

    pub(super) fn asset_metadata(id: &str) -> Result<AssetMetadata, String> {
        assets::metadata(id)
    }

    pub(super) fn read_asset(id: &str) -> Result<Vec<u8>, String> {
        assets::read(id)
    }

    pub(super) fn write_output(mime: &str, bytes: &[u8]) -> Result<String, String> {
        outputs::write(mime, bytes)
    }

    pub(super) fn http_fetch(request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        http::fetch(request)
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use crate::testing::with_test_host;
    use crate::types::{AssetMetadata, HttpError, HttpRequest, HttpResponse, LogLevel};

    pub(super) fn log(level: LogLevel, message: &str) {
        with_test_host("log", |h| h.log(level, message))
    }

    pub(super) fn progress(fraction: f32, message: &str) {
        with_test_host("progress", |h| h.progress(fraction, message))
    }

    pub(super) fn is_cancelled() -> bool {
        with_test_host("is_cancelled", |h| h.is_cancelled())
    }

    pub(super) fn asset_metadata(id: &str) -> Result<AssetMetadata, String> {
        with_test_host("asset_metadata", |h| h.asset_metadata(id))
    }

    pub(super) fn read_asset(id: &str) -> Result<Vec<u8>, String> {
        with_test_host("read_asset", |h| h.read_asset(id))
    }

    pub(super) fn write_output(mime: &str, bytes: &[u8]) -> Result<String, String> {
        with_test_host("write_output", |h| h.write_output(mime, bytes))
    }

    pub(super) fn http_fetch(request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        // The handler runs outside the host's borrow, so it may itself call host functions.
        let handler = with_test_host("http_fetch", |h| h.http_route(request));
        handler()
    }
}
