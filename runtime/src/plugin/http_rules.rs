//! What a plugin's outbound HTTP request may carry, checked where it crosses into the host:
//! no headers that steer the connection or impersonate a proxy, no tunnelling or tracing
//! methods, no timeout beyond the call's own wall time.

use std::time::Duration;

use super::types::HttpRequest;

/// Headers a plugin may not set: the host's HTTP client owns the connection (`Host`, framing,
/// hop-by-hop headers) and proxies' headers would let a plugin impersonate one.
pub const REFUSED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "forwarded",
];

/// Header name prefixes a plugin may not use.
pub const REFUSED_HEADER_PREFIXES: &[&str] = &["proxy-", "x-forwarded-"];

/// Methods a plugin may not use: CONNECT opens a tunnel, TRACE echoes the host's headers.
pub const REFUSED_METHODS: &[&str] = &["CONNECT", "TRACE"];

/// Checks a plugin's request; the error completes "the request …".
pub fn check_request(request: &HttpRequest) -> Result<(), String> {
    let method = request.method.to_ascii_uppercase();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(format!(
            "uses {:?}, which is not an HTTP method",
            request.method
        ));
    }
    if REFUSED_METHODS.contains(&method.as_str()) {
        return Err(format!(
            "uses the {method} method, which plugins may not use"
        ));
    }
    for (name, _) in &request.headers {
        let lower = name.to_ascii_lowercase();
        if REFUSED_HEADERS.contains(&lower.as_str())
            || REFUSED_HEADER_PREFIXES
                .iter()
                .any(|prefix| lower.starts_with(prefix))
        {
            return Err(format!(
                "sets the {name:?} header, which only the host's HTTP client sets"
            ));
        }
    }
    Ok(())
}

/// The request's timeout, no longer than what is left of the call (0 asks for the host's
/// default, which is capped the same way).
pub fn capped_timeout_ms(requested_ms: u32, left: Duration) -> u32 {
    let left_ms = u32::try_from(left.as_millis()).unwrap_or(u32::MAX).max(1);
    match requested_ms {
        0 => left_ms,
        ms => ms.min(left_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, headers: &[(&str, &str)]) -> HttpRequest {
        HttpRequest {
            method: method.into(),
            url: "http://127.0.0.1:8188/prompt".into(),
            headers: headers
                .iter()
                .map(|(name, value)| ((*name).into(), (*value).into()))
                .collect(),
            body: Vec::new(),
            timeout_ms: 0,
        }
    }

    #[test]
    fn returns_an_error_when_a_plugin_sets_a_connection_header() {
        for name in [
            "Host",
            "content-length",
            "Transfer-Encoding",
            "X-Forwarded-For",
            "Proxy-Authorization",
        ] {
            let err = check_request(&request("GET", &[(name, "x")])).unwrap_err();
            assert!(err.contains(name), "{err}");
        }
        assert!(check_request(&request("POST", &[("Content-Type", "application/json")])).is_ok());
    }

    #[test]
    fn returns_an_error_for_connect_trace_and_garbage_methods() {
        assert!(check_request(&request("CONNECT", &[])).is_err());
        assert!(check_request(&request("trace", &[])).is_err());
        assert!(check_request(&request("GET /x", &[])).is_err());
    }

    #[test]
    fn caps_the_timeout_at_what_is_left_of_the_call() {
        let left = Duration::from_secs(30);
        assert_eq!(capped_timeout_ms(4_233_600_000, left), 30_000);
        assert_eq!(capped_timeout_ms(0, left), 30_000);
        assert_eq!(capped_timeout_ms(500, left), 500);
    }
}
