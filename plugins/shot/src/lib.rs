//! Node `shot`: one shot of the film. At the Low tier it draws a draft
//! storyboard frame on the CPU, inside the sandbox; the Standard and High
//! tiers go to a GPU pipeline configured for the project.
#![warn(missing_docs)]

use frame_kit::{Aspect, FrameContext, Mood, Setting, parse_hex};
use mdc_sdk::prelude::*;
use mdc_sdk::serde_json::{Value as Json, json};
use pipeline_kit::pipeline;
use pipeline_kit::request::{Function, GenerationRequest, connected_json, string_list};

/// The `shot` node type.
pub struct Shot;

/// Width of draft frames in pixels.
pub const DRAFT_WIDTH: u32 = 1280;

/// The aspect options: `(value, label)`.
pub const ASPECTS: [(&str, &str); 5] = [
    ("16:9", "16:9 · HD"),
    ("2.39:1", "2.39:1 · Scope"),
    ("4:3", "4:3"),
    ("1:1", "1:1 · Square"),
    ("9:16", "9:16 · Vertical"),
];

/// How the product names a tier.
pub fn tier_label(tier: QualityTier) -> &'static str {
    match tier {
        QualityTier::Low => "Draft - Fast Generation",
        QualityTier::Standard => "Production - Balanced Quality",
        QualityTier::High => "Premium - Maximum Quality",
    }
}

/// `Standard`, `High`, `Low`.
fn tier_name(tier: QualityTier) -> &'static str {
    match tier {
        QualityTier::Low => "Low",
        QualityTier::Standard => "Standard",
        QualityTier::High => "High",
    }
}

/// The error when no pipeline serves `tier`.
pub fn no_pipeline_error(tier: QualityTier) -> NodeError {
    NodeError::unsupported(format!(
        "No pipeline is configured for the {} tier (“{}”). Configure a ComfyUI, Wan2GP or \
         Function Runner pipeline for this tier in the project settings, or generate a Draft \
         (Low tier) storyboard frame on the CPU.",
        tier_name(tier),
        tier_label(tier)
    ))
}

/// The pipeline configured for `tier` in the `pipelines` parameter, if any:
/// a non-empty JSON object under the tier's name (`standard`, `high`).
pub fn pipeline_for(input: &NodeInput, tier: QualityTier) -> Result<Option<Json>, NodeError> {
    let Some(all) = input.json_value("pipelines")? else {
        return Ok(None);
    };
    let all = match all {
        Json::Object(map) => map,
        Json::Null => return Ok(None),
        _ => {
            return Err(NodeError::invalid_input(
                "parameter `pipelines` must be a JSON object keyed by tier",
            ));
        }
    };
    Ok(all
        .get(tier.as_str())
        .filter(|p| p.as_object().is_some_and(|o| !o.is_empty()))
        .cloned())
}

/// Names of the connected characters (a JSON `name`, or plain text).
pub fn character_names(input: &NodeInput) -> Vec<String> {
    pipeline_kit::request::character_names(input, "characters")
}

/// The aspect chosen (16:9 when unset or unknown).
pub fn aspect(input: &NodeInput) -> Aspect {
    input
        .choice("aspect")
        .or_else(|| input.text("aspect"))
        .and_then(Aspect::parse)
        .unwrap_or_default()
}

/// Everything the draft frame is drawn from: the parameters, the seed, and
/// the connected environment, style and characters. Without an environment
/// the setting and mood come from the scene heading (`EXT. … - NIGHT`).
pub fn frame_context(input: &NodeInput) -> FrameContext {
    let environment = connected_json(input, "environment");
    let style = connected_json(input, "style");
    let scene = input.text("scene").unwrap_or("").trim().to_owned();
    let text_field = |v: &Json, key: &str| v.get(key).and_then(Json::as_str).map(str::to_owned);
    let setting = text_field(&environment, "type")
        .and_then(|t| Setting::parse(&t))
        .or_else(|| Setting::from_heading(&scene))
        .unwrap_or_default();
    let mood = text_field(&environment, "mood")
        .and_then(|m| Mood::parse(&m))
        .or_else(|| Mood::from_heading(&scene))
        .unwrap_or_default();
    let palette = string_list(style.get("palette").unwrap_or(&Json::Null))
        .iter()
        .filter_map(|c| parse_hex(c))
        .collect();
    FrameContext {
        width: DRAFT_WIDTH,
        aspect: aspect(input),
        seed: input.seed,
        scene,
        shot: input.text("shot").unwrap_or("").trim().to_owned(),
        prompt: input.text("prompt").unwrap_or("").trim().to_owned(),
        setting,
        mood,
        location: text_field(&environment, "description").unwrap_or_default(),
        palette,
        keywords: string_list(style.get("keywords").unwrap_or(&Json::Null)),
        characters: character_names(input),
    }
}

/// Draws the draft frame and returns the outputs.
fn draft(input: &NodeInput) -> Result<NodeOutputs, NodeError> {
    if host::is_cancelled() {
        return Err(NodeError::cancelled());
    }
    host::progress(0.05, "composing the draft frame");
    let ctx = frame_context(input);
    let canvas = frame_kit::draw_draft_frame(&ctx);
    if host::is_cancelled() {
        return Err(NodeError::cancelled());
    }
    host::progress(0.7, "encoding PNG");
    let png = canvas.to_png();
    let id = host::write_output("image/png", &png).map_err(NodeError::failed)?;
    host::progress(1.0, "done");
    let image = AssetRef::new(&id, "image/png");
    let summary = format!(
        "Draft frame {}×{}{}",
        canvas.width(),
        canvas.height(),
        shot_label(&ctx)
    );
    Ok(take_outputs(input, &ctx, image, summary))
}

/// ` · 1.3`, or nothing when the shot has no number.
fn shot_label(ctx: &FrameContext) -> String {
    if ctx.shot.is_empty() {
        String::new()
    } else {
        format!(" · {}", ctx.shot)
    }
}

/// The outputs of a take: the image and the shot's JSON
/// (`{scene, shot, prompt, tier, seed, image: {id, mime}, characters, aspect}`).
fn take_outputs(
    input: &NodeInput,
    ctx: &FrameContext,
    image: AssetRef,
    summary: String,
) -> NodeOutputs {
    let shot = json!({
        "scene": ctx.scene,
        "shot": ctx.shot,
        "prompt": ctx.prompt,
        "tier": input.tier.as_str(),
        "seed": input.seed,
        "image": {"id": image.id, "mime": image.mime},
        "characters": ctx.characters,
        "aspect": ctx.aspect.as_str(),
    });
    NodeOutputs::new()
        .with("image", image)
        .with("shot", shot)
        .summary(summary)
}

/// Renders the shot on the tier's GPU pipeline: the prompt composed from the same context
/// as the draft (prompt, cast, environment, style), the frame size from the aspect and the
/// tier, the execution's seed.
fn generate(
    input: &NodeInput,
    tier: QualityTier,
    pipeline: &Json,
) -> Result<NodeOutputs, NodeError> {
    let request = GenerationRequest::from_shot(input, Function::CreateImage);
    let generated = pipeline::run(pipeline, &request)?;
    let Some(take) = generated.first().cloned() else {
        return Err(NodeError::failed(format!(
            "{} finished without an image",
            generated.backend
        )));
    };
    let ctx = frame_context(input);
    let summary = format!(
        "{} take {}×{}{} from {}{}",
        tier_name(tier),
        request.width,
        request.height,
        shot_label(&ctx),
        generated.backend,
        generated.notes_text()
    );
    Ok(take_outputs(input, &ctx, take, summary))
}

impl Node for Shot {
    fn describe() -> NodeDescriptor {
        NodeDescriptor::new("shot", "0.1.0", "Shot")
            .category("Generation")
            .icon("🎬")
            .docs(
                "One shot of the film. Connect the **characters** in it, a **style** and an \
                 **environment**, and describe the action in the prompt.\n\n\
                 * **Draft** (Low tier) draws a storyboard frame on the CPU in about a second: \
                 the location lit by its mood, the cast as labelled figures, the prompt as a \
                 caption, graded with the style's palette.\n\
                 * **Production** and **Premium** render on a GPU pipeline (ComfyUI, Wan2GP or \
                 Function Runner) configured for the project.\n\n\
                 The same seed and inputs always give the same draft.",
            )
            .input(
                Port::many("characters", "Characters", "character")
                    .help("Everyone who appears in the shot."),
            )
            .input(Port::one("style", "Style", "style").help("The look: keywords and palette."))
            .input(
                Port::one("environment", "Environment", "environment")
                    .help("Where it happens: interior or exterior, and the mood."),
            )
            .output(Port::one("image", "Take", "image").help("The generated frame (PNG)."))
            .output(
                Port::one("shot", "Shot", "shot")
                    .help("Scene, shot, prompt, tier, seed, take and cast as JSON."),
            )
            .param(Param::multiline("prompt", "Prompt").help("What happens in the shot."))
            .param(Param::text("scene", "Scene").help("The scene label: 1 · EXT. HARBOUR - DAWN."))
            .param(Param::text("shot", "Shot").help("The shot number: 1.3."))
            .param(Param::choice("aspect", "Aspect", ASPECTS).default("16:9"))
            .param(
                Param::json("pipelines", "Pipelines")
                    .default("{}")
                    .help("Per tier: {\"standard\": {\"kind\": \"comfyui\", \"endpoint\": …}}."),
            )
            .tier(TierEstimate::new(QualityTier::Low).seconds(1.0))
            .tier(
                TierEstimate::new(QualityTier::Standard)
                    .seconds(45.0)
                    .gpu_memory_mib(12 * 1024),
            )
            .tier(
                TierEstimate::new(QualityTier::High)
                    .seconds(180.0)
                    .gpu_memory_mib(24 * 1024),
            )
            .capability(Capability::OutputWrite)
            .capability(Capability::AssetRead)
            .capability(Capability::outbound_http(["*"]))
    }

    fn validate(input: &NodeInput) -> Vec<Diagnostic> {
        let mut found = validate_params(&Self::describe(), input);
        if input.text("prompt").is_none_or(|p| p.trim().is_empty()) {
            found.push(Diagnostic::warning(
                "prompt",
                "The shot has no prompt; describe what happens in it.",
            ));
        }
        if input.tier != QualityTier::Low {
            match pipeline_for(input, input.tier) {
                Ok(None) => found.push(Diagnostic::warning(
                    "pipelines",
                    format!(
                        "No pipeline is configured for the {} tier; generating will fail until \
                         one is, or choose the Draft tier.",
                        tier_name(input.tier)
                    ),
                )),
                Ok(Some(config)) => found.extend(
                    pipeline::check(&config, input.tier)
                        .into_iter()
                        .map(|problem| Diagnostic::error("pipelines", problem)),
                ),
                Err(e) => found.push(Diagnostic::error("pipelines", e.message)),
            }
        }
        found
    }

    fn execute(input: NodeInput) -> Result<NodeOutputs, NodeError> {
        match input.tier {
            QualityTier::Low => draft(&input),
            tier => {
                let Some(pipeline) = pipeline_for(&input, tier)? else {
                    return Err(no_pipeline_error(tier));
                };
                generate(&input, tier, &pipeline)
            }
        }
    }
}

mdc_sdk::export_node!(Shot);
