//! The real HTTP client behind plugins' outbound requests (origins are checked by the runtime
//! before a request reaches this client; [`rules`] is this client's own check of what a plugin
//! may send). `http` and `https` (rustls, see [`tls`]); redirects are not followed, since they
//! could leave the granted origin.

mod rules;
mod tls;

use std::path::PathBuf;
use std::time::Duration;

use mdc_runtime::plugin::types::{HttpError, HttpRequest, HttpResponse};

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
    default_timeout: Duration,
    max_body: u64,
}

impl HttpClient {
    /// A client as `settings` say; fails when an extra root file cannot be used.
    pub fn new(settings: &HttpSettings) -> Result<HttpClient, HttpSetupError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .use_preconfigured_tls(tls::client_config(&settings.extra_roots)?)
            .build()
            .map_err(|err| HttpSetupError::Client(chain(&err)))?;
        Ok(HttpClient {
            client,
            default_timeout: settings.default_timeout,
            max_body: settings.max_body,
        })
    }

    /// Sends a request and reads the whole answer, refusing bodies past the cap.
    pub async fn fetch(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let checked = rules::check(&request)?;
        let timeout = match request.timeout_ms {
            0 => self.default_timeout,
            ms => Duration::from_millis(u64::from(ms)),
        };
        let mut response = self
            .client
            .request(checked.method, checked.url)
            .headers(checked.headers)
            .timeout(timeout)
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
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|err| classify(&err))? {
            if body.len() as u64 + chunk.len() as u64 > self.max_body {
                return Err(HttpError::TooLarge(self.max_body));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

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
