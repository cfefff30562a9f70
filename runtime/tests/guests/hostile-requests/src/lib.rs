//! Hostile test node `hostile-requests`: HTTP requests that try to steer the host's client,
//! according to its `mode` parameter, all to its one requested origin `http://127.0.0.1`:
//!
//! - `host-header`: its own `Host` header (to reach another virtual host); refused.
//! - `forwarded-for`: its own `X-Forwarded-For` (to pose as a proxy); refused.
//! - `connect`, `trace`: the CONNECT (a tunnel) and TRACE (echoes headers) methods; refused.
//! - `authorization`: its own `Authorization` header: its credential for its backend, passed
//!   on unchanged (the host adds none of its own).
//! - `long-timeout`: a 49-day timeout; capped at what is left of the call.
//! - `ungranted`: an origin its descriptor does not request; the call is stopped.
//!
//! A refused request comes back as an `invalid-request` error, which the node reports.

use mdc_sdk::prelude::*;

/// Every mode, with its label.
const MODES: &[(&str, &str)] = &[
    ("host-header", "Set the Host header"),
    ("forwarded-for", "Set X-Forwarded-For"),
    ("connect", "Use CONNECT"),
    ("trace", "Use TRACE"),
    ("authorization", "Set Authorization"),
    ("long-timeout", "Ask for a 49-day timeout"),
    (
        "ungranted",
        "Fetch an origin the descriptor does not request",
    ),
];

/// The origin the descriptor requests.
const ORIGIN: &str = "http://127.0.0.1";

/// 49 days in milliseconds: close to the largest timeout a request can carry.
const FORTY_NINE_DAYS_MS: u32 = 49 * 24 * 3600 * 1000;

/// Sends hostile HTTP requests.
pub struct Requests;

impl Node for Requests {
    fn describe() -> NodeDescriptor {
        NodeDescriptor::new("hostile-requests", "0.1.0", "Hostile Requests")
            .category("Testing")
            .docs("Sends HTTP requests that try to steer the host's client, per **mode**.")
            .output(Port::one("text", "Text", "text"))
            .param(
                Param::choice("mode", "Mode", MODES.iter().copied())
                    .default("authorization")
                    .required(),
            )
            .tier(QualityTier::Low)
            .capability(Capability::outbound_http([ORIGIN]))
    }

    fn execute(input: NodeInput) -> Result<NodeOutputs, NodeError> {
        let url = format!("{ORIGIN}/prompt");
        let request = match input.choice("mode").unwrap_or_default() {
            "host-header" => HttpRequest::get(&url).header("Host", "metadata.internal"),
            "forwarded-for" => HttpRequest::get(&url).header("X-Forwarded-For", "10.0.0.1"),
            "connect" => HttpRequest::new("CONNECT", &url),
            "trace" => HttpRequest::new("TRACE", &url),
            "authorization" => HttpRequest::get(&url).header("Authorization", "Bearer plugin-own"),
            "long-timeout" => HttpRequest::get(&url).timeout_ms(FORTY_NINE_DAYS_MS),
            "ungranted" => HttpRequest::get("http://198.51.100.7/secret"),
            other => return Err(NodeError::invalid_input(format!("unknown mode `{other}`"))),
        };
        let response = host::http_fetch(&request)?;
        Ok(NodeOutputs::new().with("text", response.text()))
    }
}

mdc_sdk::export_node!(Requests);
