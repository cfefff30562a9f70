//! The real HTTP client behind plugins' outbound requests (origins are checked by the runtime
//! before a request reaches this client).

use std::time::Duration;

use mdc_runtime::plugin::types::{HttpError, HttpRequest, HttpResponse};

/// An HTTP client with a default timeout and a response size cap.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    default_timeout: Duration,
    max_body: u64,
}

impl HttpClient {
    /// A client; redirects are not followed, since they could leave the granted origin.
    pub fn new(default_timeout: Duration, max_body: u64) -> HttpClient {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a plain HTTP client builds");
        HttpClient {
            client,
            default_timeout,
            max_body,
        }
    }

    /// Sends a request and reads the whole answer, refusing bodies past the cap.
    pub async fn fetch(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|_| {
            HttpError::InvalidRequest(format!("{:?} is not an HTTP method", request.method))
        })?;
        let timeout = match request.timeout_ms {
            0 => self.default_timeout,
            ms => Duration::from_millis(u64::from(ms)),
        };
        let mut builder = self
            .client
            .request(method, &request.url)
            .timeout(timeout)
            .body(request.body);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let mut response = builder.send().await.map_err(|err| classify(&err))?;
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

fn classify(err: &reqwest::Error) -> HttpError {
    if err.is_timeout() {
        HttpError::Timeout
    } else if err.is_builder() {
        HttpError::InvalidRequest(err.to_string())
    } else {
        HttpError::Unreachable(err.to_string())
    }
}
