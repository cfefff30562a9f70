//! Node `comfyui`: runs a ComfyUI workflow (API format) on a ComfyUI server with the
//! canvas's prompt, seed and reference images, and brings back what it made as takes.
#![warn(missing_docs)]

use mdc_sdk::prelude::*;
use mdc_sdk::serde_json::{Value as Json, json};
use pipeline_kit::comfyui::{ComfyJob, DEFAULT_ENDPOINT};
use pipeline_kit::pipeline;
use pipeline_kit::request::{Function, GenerationRequest, connected_json};
use pipeline_kit::workflow::{Exposed, Workflow};

/// The `comfyui` node type.
pub struct ComfyUiNode;

/// The pipeline configuration the parameters describe:
/// `{"kind": "comfyui", "endpoint", "workflow", "expose", "values"}`.
pub fn pipeline_config(input: &NodeInput) -> Result<Json, NodeError> {
    let endpoint = input
        .text("endpoint")
        .filter(|e| !e.trim().is_empty())
        .unwrap_or(DEFAULT_ENDPOINT);
    Ok(json!({
        "kind": "comfyui",
        "endpoint": endpoint,
        "workflow": input.json_value("workflow")?.unwrap_or(Json::Null),
        "expose": input.json_value("expose")?.unwrap_or(Json::Null),
        "values": input.json_value("values")?.unwrap_or(Json::Null),
    }))
}

/// The prompt: a connected `prompt` wins, then a connected shot's prompt, then the
/// parameter.
pub fn prompt(input: &NodeInput) -> String {
    let connected = input
        .connected_value("prompt")
        .and_then(Value::as_text)
        .map(str::trim)
        .filter(|p| !p.is_empty());
    let shot = connected_json(input, "shot");
    let from_shot = shot
        .get("prompt")
        .and_then(Json::as_str)
        .map(str::trim)
        .filter(|p| !p.is_empty());
    connected
        .or(from_shot)
        .or_else(|| input.text("prompt").map(str::trim))
        .unwrap_or("")
        .to_owned()
}

/// The request: the prompt, the execution's seed and tier, the connected images as
/// references; the frame size and length stay as the workflow says.
pub fn request(input: &NodeInput) -> GenerationRequest {
    GenerationRequest {
        function: Function::CreateImage,
        prompt: prompt(input),
        negative_prompt: String::new(),
        seed: input.seed,
        tier: input.tier,
        width: 0,
        height: 0,
        frames: 0,
        references: input
            .connected("images")
            .iter()
            .filter_map(|c| c.value.as_asset().cloned())
            .collect(),
    }
}

impl Node for ComfyUiNode {
    fn describe() -> NodeDescriptor {
        pipeline_kit::descriptor::gpu_generation(
            NodeDescriptor::new("comfyui", "0.1.0", "ComfyUI")
            .category("Generation")
            .icon("🧩")
            .docs(
                "Runs a **ComfyUI workflow** on a ComfyUI server and brings back its images \
                 (and video) as takes.\n\n\
                 * Paste the workflow in **API format**: in ComfyUI enable “Dev mode” in the \
                 settings and use “Save (API Format)” (Workflow → Export (API)).\n\
                 * The prompt goes to the input exposed as **Prompt**, or to the text encoder \
                 feeding the sampler's positive input; the execution's seed goes to every \
                 sampler seed; connected images are uploaded and put into the LoadImage \
                 nodes in order.\n\
                 * **Expose** other inputs by name (`{\"Steps\": \"3.inputs.steps\"}`) and \
                 set them in **Values** (`{\"Steps\": 30}`).\n\n\
                 Progress follows ComfyUI's WebSocket: the queue position, the node running, \
                 each sampler step (`step 12/30 on KSampler`) and its preview images; a \
                 server without WebSockets is polled, with an estimate from the elapsed time.",
            )
            .input(Port::one("prompt", "Prompt", "text").help("Wins over the prompt parameter."))
            .input(
                Port::many("images", "Reference images", "image")
                    .help("Uploaded to ComfyUI and put into the LoadImage nodes, in order."),
            )
            .input(Port::one("shot", "Shot", "shot").help("A shot's JSON: its prompt is used."))
            .output(Port::many("images", "Images", "image").help("Every image the workflow saved."))
            .output(Port::one("video", "Video", "video").help("The clip, when the workflow made one."))
            .output(Port::one("take", "Take", "image").help("The first output."))
            .param(
                Param::text("endpoint", "ComfyUI server")
                    .default(DEFAULT_ENDPOINT)
                    .help("Base URL of the ComfyUI server; the operator must grant it."),
            )
            .param(
                Param::json("workflow", "Workflow (API format)")
                    .required()
                    .help("Exported with “Save (API Format)”."),
            )
            .param(
                Param::json("expose", "Exposed inputs")
                    .default("{}")
                    .help("Friendly name → path: {\"Prompt\": \"6.inputs.text\", \"Steps\": \"3.inputs.steps\"}."),
            )
            .param(
                Param::json("values", "Values")
                    .default("{}")
                    .help("Friendly name → value for the exposed inputs: {\"Steps\": 30}."),
            )
            .param(Param::multiline("prompt", "Prompt").help("What to generate."))
        )
    }

    fn validate(input: &NodeInput) -> Vec<Diagnostic> {
        let mut found = validate_params(&Self::describe(), input);
        if found.iter().any(Diagnostic::is_error) {
            return found;
        }
        let workflow = match input.json_value("workflow") {
            Ok(Some(value)) => match Workflow::from_json(&value) {
                Ok(wf) => wf,
                Err(e) => {
                    found.push(Diagnostic::error("workflow", e.0));
                    return found;
                }
            },
            Ok(None) => return found,
            Err(e) => {
                found.push(Diagnostic::error("workflow", e.message));
                return found;
            }
        };
        let exposed = match input
            .json_value("expose")
            .map(|e| Exposed::from_json(&e.unwrap_or(Json::Null)))
        {
            Ok(Ok(exposed)) => exposed,
            Ok(Err(e)) => {
                found.push(Diagnostic::error("expose", e.0));
                return found;
            }
            Err(e) => {
                found.push(Diagnostic::error("expose", e.message));
                return found;
            }
        };
        found.extend(
            exposed
                .check(&workflow)
                .into_iter()
                .map(|e| Diagnostic::error("expose", e.0)),
        );
        let config = match pipeline_config(input) {
            Ok(config) => config,
            Err(e) => {
                found.push(Diagnostic::error("values", e.message));
                return found;
            }
        };
        if found.iter().any(Diagnostic::is_error) {
            return found;
        }
        match ComfyJob::from_config(&config, input.tier)
            .and_then(|job| job.prepare(&request(input), &[]))
        {
            Ok(_) => {}
            Err(e) => found.push(Diagnostic::error("values", e.message)),
        }
        if prompt(input).is_empty() {
            found.push(Diagnostic::warning(
                "prompt",
                "No prompt is set or connected; the workflow's own prompt text is used.",
            ));
        }
        found
    }

    fn execute(input: NodeInput) -> Result<NodeOutputs, NodeError> {
        let config = pipeline_config(&input)?;
        let generated = pipeline::run(&config, &request(&input))?;
        Ok(generated.media_outputs().summary(format!(
            "{} from {}{}",
            generated.count_text(),
            generated.backend,
            generated.notes_text()
        )))
    }
}

mdc_sdk::export_node!(ComfyUiNode);
