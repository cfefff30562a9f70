//! The real HTTP client behind plugins' outbound requests (origins are checked by the runtime
//! before a request reaches this client; [`rules`] is this client's own check of what a plugin
//! may send). `http` and `https` (rustls, see [`tls`]); redirects are not followed, since they
//! could leave the granted origin.

mod rules;
mod socket;
mod tls;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mdc_runtime::plugin::BodyStream;
use mdc_runtime::plugin::types::{HttpError, HttpRequest, HttpResponse, SocketRequest};

/// The environment variable naming a PEM file of extra root certificates to trust (a
/// studio's private CA), besides the system's.
pub const CA_FILE_SETTING: &str = "MDC_HTTP_CA_FILE";

/// Why a client cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum HttpSetupError {
    /// An extra root file cannot be read or parsed.
    #[error("the CA file {} cannot be used: {reason}", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The TLS library refused the configuration.
    #[error("TLS cannot be set up: {0}")]
    Tls(#[from] rustls::Error),
    /// The HTTP client refused the configuration.
    #[error("the HTTP client cannot be built: {0}")]
    Client(String),
}

/// How the client is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// The timeout of a request that names none.
    pub default_timeout: Duration,
    /// The largest response body read, in bytes.
    pub max_body: u64,
    /// PEM files of root certificates trusted besides the system's.
    pub extra_roots: Vec<PathBuf>,
}

impl HttpSettings {
    /// Settings trusting the system's roots only.
    pub fn new(default_timeout: Duration, max_body: u64) -> HttpSettings {
        HttpSettings {
            default_timeout,
            max_body,
            extra_roots: Vec::new(),
        }
    }

    /// Settings trusting the system's roots and the file [`CA_FILE_SETTING`] names, if set.
    pub fn from_env(default_timeout: Duration, max_body: u64) -> HttpSettings {
        let mut settings = HttpSettings::new(default_timeout, max_body);
        if let Some(path) = std::env::var_os(CA_FILE_SETTING).filter(|p| !p.is_empty()) {
            settings.extra_roots.push(PathBuf::from(path));
        }
        settings
    }
}

/// An HTTP client with a default timeout and a response size cap.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    tls: Arc<rustls::ClientConfig>,
    default_timeout: Duration,
    max_body: u64,
}

/// The largest WebSocket message the client reads: larger ones close the socket.
const MAX_SOCKET_MESSAGE: usize = 16 << 20;

impl HttpClient {
    /// A client as `settings` say; fails when an extra root file cannot be used.
    pub fn new(settings: &HttpSettings) -> Result<HttpClient, HttpSetupError> {
        let tls = tls::client_config(&settings.extra_roots)?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .use_preconfigured_tls(tls.clone())
            .build()
            .map_err(|err| HttpSetupError::Client(chain(&err)))?;
        Ok(HttpClient {
            client,
            tls: Arc::new(tls),
            default_timeout: settings.default_timeout,
            max_body: settings.max_body,
        })
    }

    /// Sends a request and reads the whole answer, refusing bodies past the cap.
    pub async fn fetch(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let timeout = self.timeout(request.timeout_ms);
        // The timeout covers the whole exchange, body included.
        tokio::time::timeout(timeout, async {
            let mut response = self.send(request).await?;
            let mut body = Vec::new();
            while let Some(chunk) = response.next_chunk().await? {
                body.extend_from_slice(&chunk);
            }
            Ok::<_, HttpError>(HttpResponse {
                status: response.status,
                headers: std::mem::take(&mut response.headers),
                body,
            })
        })
        .await
        .map_err(|_| HttpError::Timeout)?
    }

    /// Sends a request and returns once the status and headers arrived (within the request's
    /// timeout); the body is read from the stream as it arrives, refused past the cap.
    pub async fn open(&self, request: HttpRequest) -> Result<ResponseStream, HttpError> {
        let timeout = self.timeout(request.timeout_ms);
        tokio::time::timeout(timeout, self.send(request))
            .await
            .map_err(|_| HttpError::Timeout)?
    }

    /// Opens a WebSocket (`ws://`, `wss://`) within the request's timeout.
    pub async fn connect(&self, request: SocketRequest) -> Result<socket::Socket, HttpError> {
        socket::connect(
            request,
            self.tls.clone(),
            MAX_SOCKET_MESSAGE,
            self.default_timeout,
        )
        .await
    }

    fn timeout(&self, requested_ms: u32) -> Duration {
        match requested_ms {
            0 => self.default_timeout,
            ms => Duration::from_millis(u64::from(ms)),
        }
    }

    async fn send(&self, request: HttpRequest) -> Result<ResponseStream, HttpError> {
        let checked = rules::check(&request)?;
        let response = self
            .client
            .request(checked.method, checked.url)
            .headers(checked.headers)
            .body(request.body)
            .send()
            .await
            .map_err(|err| classify(&err))?;
        if let Some(length) = response.content_length()
            && length > self.max_body
        {
            return Err(HttpError::TooLarge(self.max_body));
        }
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.to_string(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        Ok(ResponseStream {
            status,
            headers,
            response,
            read: 0,
            max_body: self.max_body,
        })
    }
}

/// A response whose body is read as it arrives, refused past the client's cap.
pub struct ResponseStream {
    status: u16,
    headers: Vec<(String, String)>,
    response: reqwest::Response,
    read: u64,
    max_body: u64,
}

#[async_trait::async_trait]
impl BodyStream for ResponseStream {
    fn status(&self) -> u16 {
        self.status
    }

    fn headers(&self) -> Vec<(String, String)> {
        self.headers.clone()
    }

    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, HttpError> {
        // `chunk` is cancel-safe: bytes not yet returned stay in the body.
        let chunk = self.response.chunk().await.map_err(|err| classify(&err))?;
        let Some(chunk) = chunk else {
            return Ok(None);
        };
        self.read += chunk.len() as u64;
        if self.read > self.max_body {
            return Err(HttpError::TooLarge(self.max_body));
        }
        Ok(Some(chunk.to_vec()))
    }
}

pub use socket::Socket;

/// The plugin-facing error for a failed request; TLS failures say what was wrong with the
/// certificate.
fn classify(err: &reqwest::Error) -> HttpError {
    if err.is_timeout() {
        HttpError::Timeout
    } else if err.is_builder() {
        HttpError::InvalidRequest(err.to_string())
    } else if let Some(why) = tls::failure(err) {
        HttpError::Unreachable(why)
    } else {
        HttpError::Unreachable(chain(err))
    }
}

/// An error and its causes, `: `-separated (reqwest's own message omits the cause).
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    while let Some(cause) = next {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        next = cause.source();
    }
    text
}
