//! Rules every node descriptor must follow before the host accepts the plugin.

use std::collections::HashSet;

use super::types::{Capability, NodeDescriptor, Param, ParamType, ParamValue, Port};

/// One broken rule in a descriptor, phrased for the plugin's author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescriptorProblem(pub String);

impl std::fmt::Display for DescriptorProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a descriptor and lists every rule it breaks (empty when it is sound).
pub fn check_descriptor(descriptor: &NodeDescriptor) -> Vec<DescriptorProblem> {
    let mut problems = Vec::new();
    if let Some(oversized) = oversized(descriptor) {
        // Nothing more is read of a descriptor this large.
        problems.push(DescriptorProblem(oversized));
        return problems;
    }
    let mut problem = |message: String| problems.push(DescriptorProblem(message));

    if !is_kebab_id(&descriptor.type_id) {
        problem(format!(
            "type id {:?} must be lowercase kebab-case (letters, digits, '-')",
            descriptor.type_id
        ));
    }
    if let Err(err) = semver::Version::parse(&descriptor.version) {
        problem(format!(
            "version {:?} is not a semantic version: {err}",
            descriptor.version
        ));
    }
    if descriptor.display_name.trim().is_empty() {
        problem("display name is empty".to_string());
    }
    check_ports("input", &descriptor.inputs, &mut problem);
    check_ports("output", &descriptor.outputs, &mut problem);
    for duplicate in duplicates(descriptor.params.iter().map(|param| param.id.as_str())) {
        problem(format!("parameter id {duplicate:?} is used more than once"));
    }
    for param in &descriptor.params {
        if !is_kebab_id(&param.id) && !is_snake_id(&param.id) {
            problem(format!(
                "parameter id {:?} must be lowercase letters, digits, '-' or '_'",
                param.id
            ));
        }
        check_param(param, &mut problem);
    }
    let mut tiers = HashSet::new();
    for estimate in &descriptor.tiers {
        if !tiers.insert(estimate.tier) {
            problem(format!(
                "tier {:?} is listed more than once",
                estimate.tier.id()
            ));
        }
        if !(estimate.seconds.is_finite() && estimate.seconds >= 0.0) {
            problem(format!(
                "tier {:?} has an invalid time estimate",
                estimate.tier.id()
            ));
        }
    }
    for duplicate in duplicates(descriptor.actions.iter().map(|action| action.id.as_str())) {
        problem(format!("action id {duplicate:?} is used more than once"));
    }
    for action in &descriptor.actions {
        if !is_kebab_id(&action.id) {
            problem(format!(
                "action id {:?} must be lowercase kebab-case",
                action.id
            ));
        }
    }
    for capability in &descriptor.capabilities {
        if let Capability::OutboundHttp(origins) = capability {
            for origin in origins {
                if origin != "*" && parse_origin(origin).is_none() {
                    problem(format!(
                        "requested origin {origin:?} is not an origin like \"http://127.0.0.1:8188\" or \"*\""
                    ));
                }
            }
        }
    }
    problems
}

/// Most ports on one side, parameters, actions and options of one choice a descriptor may have.
const MAX_ITEMS: usize = 1024;
/// Most bytes of text in a whole descriptor (documentation included).
const MAX_TEXT_BYTES: usize = 1 << 20;

/// Says why a descriptor is too large to check, if it is: counts and total text bounded, so
/// the rules below run on a descriptor of known size.
fn oversized(descriptor: &NodeDescriptor) -> Option<String> {
    let counts = [
        ("input ports", descriptor.inputs.len()),
        ("output ports", descriptor.outputs.len()),
        ("parameters", descriptor.params.len()),
        ("actions", descriptor.actions.len()),
        ("capabilities", descriptor.capabilities.len()),
        ("tiers", descriptor.tiers.len()),
    ];
    let options = descriptor
        .params
        .iter()
        .map(|param| match &param.param_type {
            ParamType::Choice(options) => options.len(),
            _ => 0,
        });
    let most_options = options.max().unwrap_or(0);
    for (what, count) in counts
        .into_iter()
        .chain([("options of one choice", most_options)])
    {
        if count > MAX_ITEMS {
            return Some(format!(
                "declares {count} {what}; at most {MAX_ITEMS} are allowed"
            ));
        }
    }
    let port_text =
        |port: &Port| port.id.len() + port.label.len() + port.kind.len() + port.help.len();
    let text = descriptor.type_id.len()
        + descriptor.display_name.len()
        + descriptor.category.len()
        + descriptor.icon.len()
        + descriptor.docs.len()
        + descriptor.inputs.iter().map(port_text).sum::<usize>()
        + descriptor.outputs.iter().map(port_text).sum::<usize>()
        + descriptor
            .params
            .iter()
            .map(|param| {
                let options = match &param.param_type {
                    ParamType::Choice(options) => options
                        .iter()
                        .map(|option| option.value.len() + option.label.len())
                        .sum(),
                    _ => 0,
                };
                param.id.len() + param.label.len() + param.help.len() + options
            })
            .sum::<usize>()
        + descriptor
            .actions
            .iter()
            .map(|action| action.id.len() + action.label.len() + action.help.len())
            .sum::<usize>();
    (text > MAX_TEXT_BYTES)
        .then(|| format!("holds {text} bytes of text; at most {MAX_TEXT_BYTES} are allowed"))
}

/// Normalises the origin of an `http`/`https` URL to `scheme://host:port` (lowercase, explicit
/// port), parsed by `url` as the HTTP client parses it, so the origin granted is the origin
/// reached. URLs with credentials are refused.
pub fn parse_origin(text: &str) -> Option<String> {
    let url = url::Url::parse(text).ok()?;
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return None;
    }
    let host = match url.host()? {
        url::Host::Domain(domain) => domain.to_string(),
        url::Host::Ipv4(ip) => ip.to_string(),
        url::Host::Ipv6(ip) => format!("[{ip}]"),
    };
    Some(format!(
        "{}://{host}:{}",
        url.scheme(),
        url.port_or_known_default()?
    ))
}

fn check_ports(side: &str, ports: &[Port], problem: &mut impl FnMut(String)) {
    for duplicate in duplicates(ports.iter().map(|port| port.id.as_str())) {
        problem(format!(
            "{side} port id {duplicate:?} is used more than once"
        ));
    }
    for port in ports {
        if !is_kebab_id(&port.id) && !is_snake_id(&port.id) {
            problem(format!(
                "{side} port id {:?} must be lowercase letters, digits, '-' or '_'",
                port.id
            ));
        }
        if !is_kebab_id(&port.kind) {
            problem(format!(
                "{side} port {:?} has kind {:?}; kinds are lowercase kebab-case",
                port.id, port.kind
            ));
        }
    }
}

fn check_param(param: &Param, problem: &mut impl FnMut(String)) {
    let id = &param.id;
    match &param.param_type {
        ParamType::Number(range) => {
            if let (Some(min), Some(max)) = (range.min, range.max)
                && min > max
            {
                problem(format!(
                    "parameter {id:?}: minimum {min} is above maximum {max}"
                ));
            }
        }
        ParamType::Integer(range) => {
            if let (Some(min), Some(max)) = (range.min, range.max)
                && min > max
            {
                problem(format!(
                    "parameter {id:?}: minimum {min} is above maximum {max}"
                ));
            }
        }
        ParamType::Choice(options) => {
            if options.is_empty() {
                problem(format!(
                    "parameter {id:?}: a choice needs at least one option"
                ));
            }
            for duplicate in duplicates(options.iter().map(|option| option.value.as_str())) {
                problem(format!(
                    "parameter {id:?}: option {duplicate:?} is listed more than once"
                ));
            }
        }
        _ => {}
    }
    if let Some(default) = &param.default
        && let Err(reason) = check_value(&param.param_type, default)
    {
        problem(format!("parameter {id:?}: default {reason}"));
    }
}

/// Checks a value against a parameter type; the error completes "value …".
pub fn check_value(param_type: &ParamType, value: &ParamValue) -> Result<(), String> {
    match (param_type, value) {
        (ParamType::Text { .. }, ParamValue::Text(_))
        | (ParamType::Boolean, ParamValue::Boolean(_))
        | (ParamType::AssetRef { .. }, ParamValue::AssetRef(_)) => Ok(()),
        (ParamType::Json, ParamValue::Json(text)) => {
            if text.trim().is_empty() {
                Err("is empty, not JSON".to_string())
            } else {
                Ok(())
            }
        }
        (ParamType::Number(range), ParamValue::Number(number)) => {
            if !number.is_finite() {
                return Err(format!("{number} is not a finite number"));
            }
            check_bounds(*number, range.min, range.max)
        }
        (ParamType::Integer(range), ParamValue::Integer(number)) => {
            check_bounds(*number, range.min, range.max)
        }
        (ParamType::Choice(options), ParamValue::Choice(choice)) => {
            if options.iter().any(|option| &option.value == choice) {
                Ok(())
            } else {
                let allowed: Vec<&str> =
                    options.iter().map(|option| option.value.as_str()).collect();
                Err(format!("{choice:?} is not one of {}", allowed.join(", ")))
            }
        }
        (expected, _) => Err(format!(
            "is a {}, expected a {}",
            value_kind(value),
            type_kind(expected)
        )),
    }
}

fn check_bounds<T: PartialOrd + std::fmt::Display + Copy>(
    value: T,
    min: Option<T>,
    max: Option<T>,
) -> Result<(), String> {
    match (min, max) {
        (Some(min), Some(max)) if value < min || value > max => {
            Err(format!("{value} is outside the range {min}..={max}"))
        }
        (Some(min), _) if value < min => Err(format!("{value} is below the minimum {min}")),
        (_, Some(max)) if value > max => Err(format!("{value} is above the maximum {max}")),
        _ => Ok(()),
    }
}

fn value_kind(value: &ParamValue) -> &'static str {
    match value {
        ParamValue::Text(_) => "text",
        ParamValue::Number(_) => "number",
        ParamValue::Integer(_) => "integer",
        ParamValue::Boolean(_) => "boolean",
        ParamValue::Choice(_) => "choice",
        ParamValue::AssetRef(_) => "asset reference",
        ParamValue::Json(_) => "JSON document",
    }
}

fn type_kind(param_type: &ParamType) -> &'static str {
    match param_type {
        ParamType::Text { .. } => "text",
        ParamType::Number(_) => "number",
        ParamType::Integer(_) => "integer",
        ParamType::Boolean => "boolean",
        ParamType::Choice(_) => "choice",
        ParamType::AssetRef { .. } => "asset reference",
        ParamType::Json => "JSON document",
    }
}

fn is_kebab_id(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

fn is_snake_id(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Ids that occur more than once, each named once, in order of first repetition. Linear.
fn duplicates<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    let mut reported = HashSet::new();
    let mut repeated = Vec::new();
    for id in ids {
        if !seen.insert(id) && reported.insert(id) {
            repeated.push(id);
        }
    }
    repeated
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::types::{Cardinality, IntegerRange, NodeDescriptor};

    fn descriptor() -> NodeDescriptor {
        NodeDescriptor {
            type_id: "shot".into(),
            version: "0.1.0".into(),
            display_name: "Shot".into(),
            category: "Production".into(),
            icon: "camera".into(),
            docs: String::new(),
            inputs: vec![],
            outputs: vec![],
            params: vec![],
            tiers: vec![],
            actions: vec![],
            capabilities: vec![],
        }
    }

    fn port(id: &str, kind: &str) -> Port {
        Port {
            id: id.into(),
            label: id.into(),
            kind: kind.into(),
            cardinality: Cardinality::Many,
            required: false,
            help: String::new(),
        }
    }

    fn check(descriptor: NodeDescriptor, expected: &[&str]) {
        let found: Vec<String> = check_descriptor(&descriptor)
            .into_iter()
            .map(|p| p.0)
            .collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn accepts_a_sound_descriptor() {
        check(descriptor(), &[]);
    }

    #[test]
    fn rejects_duplicate_port_ids() {
        let mut d = descriptor();
        d.inputs = vec![
            port("characters", "character"),
            port("characters", "character"),
        ];
        check(d, &["input port id \"characters\" is used more than once"]);
    }

    #[test]
    fn rejects_a_default_outside_its_range() {
        let mut d = descriptor();
        d.params.push(Param {
            id: "steps".into(),
            label: "Steps".into(),
            param_type: ParamType::Integer(IntegerRange {
                min: Some(1),
                max: Some(10),
            }),
            default: Some(ParamValue::Integer(50)),
            required: false,
            help: String::new(),
        });
        check(
            d,
            &["parameter \"steps\": default 50 is outside the range 1..=10"],
        );
    }

    #[test]
    fn rejects_bad_ids_versions_and_origins() {
        let mut d = descriptor();
        d.type_id = "Shot Node".into();
        d.version = "one".into();
        d.capabilities
            .push(Capability::OutboundHttp(vec!["ftp://x".into()]));
        let problems = check_descriptor(&d);
        assert_eq!(problems.len(), 3, "{problems:?}");
    }

    #[test]
    fn rejects_parameter_ids_with_escapes_or_nothing() {
        let mut d = descriptor();
        for id in ["", "\u{1b}[2J"] {
            d.params.push(Param {
                id: id.into(),
                label: "x".into(),
                param_type: ParamType::Boolean,
                default: None,
                required: false,
                help: String::new(),
            });
        }
        check(
            d,
            &[
                "parameter id \"\" must be lowercase letters, digits, '-' or '_'",
                "parameter id \"\\u{1b}[2J\" must be lowercase letters, digits, '-' or '_'",
            ],
        );
    }

    #[test]
    fn refuses_a_descriptor_with_too_many_ports_in_linear_time() {
        let mut d = descriptor();
        d.inputs = (0..400_000).map(|_| port("same", "character")).collect();
        let started = std::time::Instant::now();
        check(
            d,
            &["declares 400000 input ports; at most 1024 are allowed"],
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn reports_each_duplicate_once() {
        let ids = ["a", "b", "a", "a", "b", "c"];
        assert_eq!(duplicates(ids.into_iter()), ["a", "b"]);
    }

    #[test]
    fn normalises_origins() {
        assert_eq!(
            parse_origin("HTTP://Example.com").as_deref(),
            Some("http://example.com:80")
        );
        assert_eq!(
            parse_origin("http://127.0.0.1:8188/prompt").as_deref(),
            Some("http://127.0.0.1:8188")
        );
        assert_eq!(
            parse_origin("https://a.b").as_deref(),
            Some("https://a.b:443")
        );
        assert_eq!(parse_origin("file:///etc/passwd"), None);
        assert_eq!(parse_origin("http://user@host"), None);
        // Parsed as the HTTP client parses: another spelling of the same host is that host,
        // and a backslash ends the authority (it cannot smuggle in another host).
        assert_eq!(
            parse_origin("http://0x7f.0.0.1:8188/").as_deref(),
            Some("http://127.0.0.1:8188")
        );
        assert_eq!(
            parse_origin("http://127.0.0.1:8188\\@evil.example/").as_deref(),
            Some("http://127.0.0.1:8188")
        );
        assert_eq!(
            parse_origin("http://[::1]:80/").as_deref(),
            Some("http://[::1]:80")
        );
    }
}
