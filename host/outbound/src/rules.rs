//! What the host refuses to send for a plugin, whatever its grants: the runtime checks the
//! origin, and this is the client's own line of defence (the runtime checks these too).
//!
//! A plugin chooses its method, URL, headers and body; the connection is the host's. So the
//! headers that frame the message or steer the connection (`Host`, `Content-Length`,
//! `Transfer-Encoding`, `Connection`, `Keep-Alive`, `Upgrade`, `TE`, `Trailer`), speak to or
//! about proxies (`Proxy-*`, `Forwarded`, `X-Forwarded-*`) are refused, as are `CONNECT`
//! (a tunnel to anywhere) and `TRACE` (echoes the request, credentials included). The URL is
//! parsed once here and that parse is what is sent.

use mdc_runtime::plugin::types::{HttpError, HttpRequest};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};

// The lists are the runtime's: one set of rules, checked at the boundary and again here.
use mdc_runtime::plugin::http_rules::{REFUSED_HEADER_PREFIXES, REFUSED_HEADERS, REFUSED_METHODS};

/// A plugin's request, checked and parsed, ready to send.
#[derive(Debug)]
pub struct CheckedRequest {
    /// The method.
    pub method: Method,
    /// The URL, parsed once.
    pub url: Url,
    /// The headers.
    pub headers: HeaderMap,
}

/// Checks a plugin's method, URL and headers against the rules above.
pub fn check(request: &HttpRequest) -> Result<CheckedRequest, HttpError> {
    Ok(CheckedRequest {
        method: method(&request.method)?,
        url: url(&request.url)?,
        headers: check_headers(&request.headers)?,
    })
}

fn method(method: &str) -> Result<Method, HttpError> {
    if REFUSED_METHODS
        .iter()
        .any(|refused| refused.eq_ignore_ascii_case(method))
    {
        return Err(invalid(format!(
            "the method {method:?} is not allowed for plugins"
        )));
    }
    Method::from_bytes(method.as_bytes())
        .map_err(|_| invalid(format!("{method:?} is not an HTTP method")))
}

fn url(url: &str) -> Result<Url, HttpError> {
    let parsed = Url::parse(url).map_err(|err| invalid(format!("{url:?} is not a URL: {err}")))?;
    match parsed.scheme() {
        "http" | "https" => Ok(parsed),
        other => Err(invalid(format!(
            "{url:?}: only http and https URLs can be fetched, not {other}"
        ))),
    }
}

/// Checks and parses a plugin's headers (also a WebSocket handshake's).
pub fn check_headers(given: &[(String, String)]) -> Result<HeaderMap, HttpError> {
    let mut headers = HeaderMap::with_capacity(given.len());
    for (name, value) in given {
        let parsed = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| invalid(format!("{name:?} is not a header name")))?;
        // HeaderName is lowercase.
        let lower = parsed.as_str();
        if REFUSED_HEADERS.contains(&lower)
            || REFUSED_HEADER_PREFIXES
                .iter()
                .any(|prefix| lower.starts_with(prefix))
        {
            return Err(invalid(format!(
                "the header {name:?} is set by the host, not by plugins"
            )));
        }
        let value = HeaderValue::from_str(value)
            .map_err(|_| invalid(format!("the value of header {name:?} is not valid")))?;
        headers.append(parsed, value);
    }
    Ok(headers)
}

fn invalid(message: String) -> HttpError {
    HttpError::InvalidRequest(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, url: &str, headers: &[(&str, &str)]) -> HttpRequest {
        HttpRequest {
            method: method.into(),
            url: url.into(),
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_string(), (*v).to_string()))
                .collect(),
            body: vec![],
            timeout_ms: 0,
        }
    }

    fn refusal(request: &HttpRequest) -> String {
        match check(request) {
            Err(HttpError::InvalidRequest(message)) => message,
            other => panic!("{request:?} was not refused: {other:?}"),
        }
    }

    #[test]
    fn connection_and_proxy_headers_are_refused_by_name() {
        for name in [
            "Host",
            "content-length",
            "Transfer-Encoding",
            "CONNECTION",
            "Keep-Alive",
            "Upgrade",
            "TE",
            "Trailer",
            "Proxy-Authorization",
            "proxy-connection",
            "Forwarded",
            "X-Forwarded-For",
            "x-forwarded-host",
        ] {
            let message = refusal(&request("GET", "http://127.0.0.1/", &[(name, "x")]));
            assert_eq!(
                message,
                format!("the header {name:?} is set by the host, not by plugins")
            );
        }
    }

    #[test]
    fn connect_and_trace_are_refused() {
        for method in ["CONNECT", "TRACE", "connect", "Trace"] {
            let message = refusal(&request(method, "http://127.0.0.1/", &[]));
            assert!(message.contains(&format!("{method:?}")), "{message}");
        }
    }

    #[test]
    fn ordinary_requests_pass_and_the_url_is_parsed_once() {
        let checked = check(&request(
            "POST",
            "http://127.0.0.1:8188/prompt?x=1",
            &[
                ("Content-Type", "application/json"),
                ("Authorization", "Bearer t"),
                ("X-Request-Id", "42"),
                ("Accept", "a"),
                ("Accept", "b"),
            ],
        ))
        .unwrap();
        assert_eq!(checked.method, Method::POST);
        assert_eq!(checked.url.as_str(), "http://127.0.0.1:8188/prompt?x=1");
        assert_eq!(checked.headers.get_all("accept").iter().count(), 2);
    }

    #[test]
    fn malformed_requests_are_refused_with_the_reason() {
        for (method, url, headers, expected) in [
            ("GET", "not a url", vec![], "is not a URL"),
            ("GET", "file:///etc/passwd", vec![], "only http and https"),
            (
                "G E T",
                "http://127.0.0.1/",
                vec![],
                "is not an HTTP method",
            ),
            (
                "GET",
                "http://127.0.0.1/",
                vec![("bad name", "x")],
                "is not a header name",
            ),
            (
                "GET",
                "http://127.0.0.1/",
                vec![("x-a", "line\nbreak")],
                "is not valid",
            ),
        ] {
            let message = refusal(&request(method, url, &headers));
            assert!(message.contains(expected), "{message}");
        }
    }
}
