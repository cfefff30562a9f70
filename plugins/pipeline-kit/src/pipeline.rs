//! One entry point for every GPU pipeline: a pipeline configuration
//! (`{"kind": "comfyui" | "function-runner" | "wan2gp", …}`) and a [`GenerationRequest`] in,
//! stored outputs out.
//!
//! * `comfyui` — `endpoint`, `workflow`, `expose`, `values` (see [`crate::comfyui::ComfyJob`]).
//! * `function-runner` — `registry` (see [`crate::registry`]): routed by the request's
//!   function and tier, falling back when a backend is unavailable.
//! * `wan2gp` — provided by the Wan2GP module.

use mdc_sdk::prelude::*;
use mdc_sdk::serde_json::Value as Json;

use crate::comfyui::ComfyJob;
use crate::registry::{self, Registry, Served};
use crate::request::{Generated, GenerationRequest};

/// The pipeline kinds [`run`] dispatches.
pub const KINDS: [&str; 3] = ["comfyui", "function-runner", "wan2gp"];

/// The configuration's `kind`, checked.
pub fn kind(config: &Json) -> Result<&str, NodeError> {
    let kind = config
        .get("kind")
        .and_then(Json::as_str)
        .unwrap_or("")
        .trim();
    if kind.is_empty() {
        return Err(NodeError::invalid_input(format!(
            "The pipeline has no “kind”; use one of {}.",
            KINDS.join(", ")
        )));
    }
    if !KINDS.contains(&kind) {
        return Err(NodeError::invalid_input(format!(
            "The pipeline kind “{kind}” is unknown; use one of {}.",
            KINDS.join(", ")
        )));
    }
    Ok(kind)
}

/// The registry of a `function-runner` configuration, checked (problems joined into one
/// invalid-input error).
pub fn registry_of(config: &Json) -> Result<Registry, NodeError> {
    let value = config.get("registry").unwrap_or(&Json::Null);
    let value = match value {
        Json::String(text) => mdc_sdk::serde_json::from_str(text).map_err(|e| {
            NodeError::invalid_input(format!("The model registry is not valid JSON: {e}."))
        })?,
        other => other.clone(),
    };
    Registry::from_json(&value).map_err(|problems| NodeError::invalid_input(problems.join(" ")))
}

/// Runs `request` on the pipeline `config` describes.
pub fn run(config: &Json, request: &GenerationRequest) -> Result<Generated, NodeError> {
    match kind(config)? {
        "comfyui" => ComfyJob::from_config(config, request.tier)?.run(request),
        "function-runner" => {
            let served = run_registry(&registry_of(config)?, request)?;
            let mut generated = served.generated;
            generated.backend = served.model;
            Ok(generated)
        }
        _ => crate::wan2gp::generate(config, request),
    }
}

/// Runs `request` on the models the registry routes its function and tier to, falling
/// back from one to the next when a backend is unavailable.
pub fn run_registry(registry: &Registry, request: &GenerationRequest) -> Result<Served, NodeError> {
    let chain = registry.route(request.function, request.tier);
    // Registry models are backends (`comfyui`, `wan2gp`), never another registry.
    let served = registry::run_chain(&chain, request.function, request.tier, |model| {
        run(&model.config, request)
    })?;
    for note in &served.generated.notes {
        mdc_sdk::host::warn(note);
    }
    Ok(served)
}

/// Problems with a configuration that can be seen without running it (for live
/// validation): unknown kind, bad endpoint or workflow, registry mistakes.
pub fn check(config: &Json, request_tier: QualityTier) -> Vec<String> {
    let kind = match kind(config) {
        Ok(kind) => kind,
        Err(e) => return vec![e.message],
    };
    match kind {
        "comfyui" => ComfyJob::from_config(config, request_tier)
            .err()
            .map(|e| e.message)
            .into_iter()
            .collect(),
        "function-runner" => match registry_of(config) {
            Ok(_) => Vec::new(),
            Err(e) => vec![e.message],
        },
        _ => crate::wan2gp::Settings::parse(config)
            .err()
            .map(|e| e.message)
            .into_iter()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mdc_sdk::serde_json::json;

    #[test]
    fn wan2gp_pipelines_are_checked_live() {
        let bad = json!({"kind": "wan2gp", "endpoint": "http://127.0.0.1:7860", "preset": "ultra"});
        let found = check(&bad, QualityTier::Standard);
        assert!(found.iter().any(|m| m.contains("ultra")), "{found:?}");
        let good = json!({"kind": "wan2gp", "endpoint": "http://127.0.0.1:7860"});
        assert!(check(&good, QualityTier::High).is_empty());
    }

    #[test]
    fn kinds_are_checked() {
        assert!(kind(&json!({})).unwrap_err().message.contains("no “kind”"));
        assert!(
            kind(&json!({"kind": "dalle"}))
                .unwrap_err()
                .message
                .contains("“dalle” is unknown")
        );
        assert_eq!(kind(&json!({"kind": "comfyui"})).unwrap(), "comfyui");
    }

    #[test]
    fn check_reports_configuration_mistakes() {
        let ui = json!({"kind": "comfyui", "workflow": {"nodes": [], "links": []}});
        assert!(check(&ui, QualityTier::Standard)[0].contains("UI format"));
        let bad_registry =
            json!({"kind": "function-runner", "registry": {"models": [{"id": "x"}]}});
        assert!(check(&bad_registry, QualityTier::Standard)[0].contains("Model x"));
        let text_registry = json!({"kind": "function-runner", "registry": "{"});
        assert!(check(&text_registry, QualityTier::High)[0].contains("not valid JSON"));
    }
}
