//! Node `function-runner`: "Create Image" or "Create Video" for a shot, routed by the
//! execution's tier through the project's model registry to ComfyUI backends, falling back
//! to the next model when a backend is unavailable.
#![warn(missing_docs)]

use mdc_sdk::prelude::*;
use pipeline_kit::pipeline::{self, registry_of};
use pipeline_kit::registry::{Registry, Served};
use pipeline_kit::request::{Function, GenerationRequest};

/// The `function-runner` node type.
pub struct FunctionRunner;

/// The aspect options: `(value, label)`.
pub const ASPECTS: [(&str, &str); 5] = [
    ("16:9", "16:9 · HD"),
    ("2.39:1", "2.39:1 · Scope"),
    ("4:3", "4:3"),
    ("1:1", "1:1 · Square"),
    ("9:16", "9:16 · Vertical"),
];

/// The function chosen (Create Image when unset).
pub fn function(input: &NodeInput) -> Function {
    input
        .choice("function")
        .and_then(Function::from_id)
        .unwrap_or(Function::CreateImage)
}

/// `Standard`.
fn tier_name(tier: QualityTier) -> &'static str {
    match tier {
        QualityTier::Low => "Low",
        QualityTier::Standard => "Standard",
        QualityTier::High => "High",
    }
}

/// The registry parameter as the pipeline layer reads it.
fn registry(input: &NodeInput) -> Result<Registry, NodeError> {
    let value = input
        .json_value("registry")?
        .unwrap_or(mdc_sdk::serde_json::Value::Null);
    registry_of(&mdc_sdk::serde_json::json!({ "registry": value }))
}

/// `Create Image at Standard · served by flux-cloud (fell back from sdxl-local) · 1 image`.
pub fn summary(function: Function, tier: QualityTier, served: &Served, first: &str) -> String {
    let how = if served.fell_back {
        format!("served by {} (fell back from {first})", served.model)
    } else {
        format!("served by {}", served.model)
    };
    format!(
        "{} at {} · {how} · {}{}",
        function.label(),
        tier_name(tier),
        served.generated.count_text(),
        served.generated.notes_text()
    )
}

impl Node for FunctionRunner {
    fn describe() -> NodeDescriptor {
        pipeline_kit::descriptor::gpu_generation(
            NodeDescriptor::new("function-runner", "0.1.0", "Function Runner")
            .category("Generation")
            .icon("🧭")
            .docs(
                "Runs **Create Image** or **Create Video** for a shot on whichever model the \
                 project's **model registry** routes the chosen tier to.\n\n\
                 * The prompt is composed from the prompt (or a connected shot's), the \
                 characters, the environment and the style.\n\
                 * Models of the tier are tried by priority; when a backend cannot be \
                 reached the next model (its `fallback`) takes over, and the summary says so.\n\
                 * Registry: `{\"models\": [{\"id\", \"function\", \"tier\", \"kind\": \
                 \"comfyui\", \"endpoint\", \"workflow\", \"gpu_memory_mib\", \"priority\", \
                 \"fallback\"}]}`.",
            )
            .input(Port::many("characters", "Characters", "character").help("Everyone in the shot."))
            .input(Port::one("style", "Style", "style").help("The look: keywords."))
            .input(Port::one("environment", "Environment", "environment").help("Where it happens."))
            .input(Port::one("shot", "Shot", "shot").help("A shot's JSON: prompt, cast and aspect."))
            .output(Port::many("images", "Images", "image").help("Every image the model made."))
            .output(Port::one("video", "Video", "video").help("The clip, for Create Video."))
            .output(Port::one("take", "Take", "image").help("The first output."))
            .param(
                Param::choice(
                    "function",
                    "Function",
                    [Function::CreateImage, Function::CreateVideo].map(|f| (f.id(), f.label())),
                )
                .default(Function::CreateImage.id()),
            )
            .param(Param::multiline("prompt", "Prompt").help("What happens; a connected shot's prompt is used when empty."))
            .param(Param::choice("aspect", "Aspect", ASPECTS).help("Frame shape; a connected shot's when unset (16:9 otherwise)."))
            .param(
                Param::json("registry", "Model registry")
                    .required()
                    .help("{\"models\": [{\"id\": \"sdxl-local\", \"function\": \"create-image\", \"tier\": \"standard\", \"kind\": \"comfyui\", …}]}"),
            )
        )
    }

    fn validate(input: &NodeInput) -> Vec<Diagnostic> {
        let mut found = validate_params(&Self::describe(), input);
        if found.iter().any(Diagnostic::is_error) || input.param("registry").is_none() {
            return found;
        }
        match registry(input) {
            Err(e) => found.push(Diagnostic::error("registry", e.message)),
            Ok(registry) => {
                let function = function(input);
                if registry.route(function, input.tier).is_empty() {
                    found.push(Diagnostic::error(
                        "registry",
                        Registry::no_route_error(function, input.tier),
                    ));
                }
            }
        }
        found
    }

    fn execute(input: NodeInput) -> Result<NodeOutputs, NodeError> {
        let function = function(&input);
        let registry = registry(&input)?;
        let request = GenerationRequest::from_shot(&input, function);
        let first = registry
            .route(function, input.tier)
            .first()
            .map(|m| m.id.clone())
            .unwrap_or_default();
        let served = pipeline::run_registry(&registry, &request)?;
        Ok(served
            .generated
            .media_outputs()
            .summary(summary(function, input.tier, &served, &first)))
    }
}

mdc_sdk::export_node!(FunctionRunner);
