//! The shot node: draft frames at the Low tier, pipeline errors above it.

use frame_kit::{Canvas, Mood, Setting};
use mdc_sdk::prelude::*;
use mdc_sdk::serde_json::{Value as Json, json};
use mdc_sdk::testing::{InputBuilder, TestHost};
use shot::{Shot, frame_context};

fn harbour() -> InputBuilder {
    InputBuilder::new()
        .node_id("shot-1")
        .seed(42)
        .param("prompt", "A fisherman hauls a net at dawn")
        .param("scene", "1 · EXT. HARBOUR - DAWN")
        .param("shot", "1.1")
        .connect_from(
            "characters",
            "maya",
            "character",
            json!({"name": "MAYA", "role": "lead"}),
        )
        .connect_from("characters", "tom", "character", json!({"name": "Tom"}))
        .connect_from(
            "style",
            "look",
            "style",
            json!({"keywords": ["noir", "wet streets"], "palette": ["#1b2a41", "#c9a227"]}),
        )
        .connect_from(
            "environment",
            "pier",
            "environment",
            json!({"type": "exterior", "mood": "dawn", "description": "a fishing harbour"}),
        )
}

/// Runs a draft and returns the outputs and the PNG written.
fn draft(input: InputBuilder) -> (NodeOutputs, Vec<u8>) {
    let host = TestHost::new();
    let out = host.execute::<Shot>(input).expect("a draft renders");
    let written = host.outputs();
    assert_eq!(written.len(), 1);
    assert_eq!(written[0].mime, "image/png");
    assert!(
        host.http_requests().is_empty(),
        "drafts never touch the network"
    );
    (out, written[0].bytes.clone())
}

#[test]
fn describe_declares_ports_tiers_and_capabilities() {
    let d = TestHost::new().describe::<Shot>();
    assert_eq!(d.type_id, "shot");
    let inputs: Vec<(&str, &str, Cardinality)> = d
        .inputs
        .iter()
        .map(|p| (p.id.as_str(), p.kind.as_str(), p.cardinality))
        .collect();
    assert_eq!(
        inputs,
        [
            ("characters", "character", Cardinality::Many),
            ("style", "style", Cardinality::One),
            ("environment", "environment", Cardinality::One),
        ]
    );
    let outputs: Vec<(&str, &str)> = d
        .outputs
        .iter()
        .map(|p| (p.id.as_str(), p.kind.as_str()))
        .collect();
    assert_eq!(outputs, [("image", "image"), ("shot", "shot")]);
    let tiers: Vec<(QualityTier, u32)> =
        d.tiers.iter().map(|t| (t.tier, t.gpu_memory_mib)).collect();
    assert_eq!(tiers[0], (QualityTier::Low, 0));
    assert_eq!(d.tiers[0].seconds, 1.0);
    assert!(tiers[1].1 > 0 && tiers[2].1 > tiers[1].1);
    assert!(d.wants_output_write() && d.wants_asset_read() && d.wants_outbound_http());
    assert_eq!(
        d.find_param("aspect").and_then(|p| p.default.clone()),
        Some(ParamValue::choice("16:9"))
    );
}

#[test]
fn a_draft_is_a_real_png_frame() {
    let (out, png) = draft(harbour());
    let image = Canvas::decode(&png).unwrap();
    assert_eq!((image.width(), image.height()), (1280, 720));
    let mut colours = std::collections::HashSet::new();
    for px in image.data().chunks_exact(3).step_by(31) {
        colours.insert([px[0], px[1], px[2]]);
    }
    assert!(
        colours.len() > 200,
        "a composed frame, not a flat fill: {}",
        colours.len()
    );

    let take = out.get("image").and_then(Value::as_asset).unwrap();
    assert_eq!(take.mime, "image/png");
    let shot: Json = out.get("shot").unwrap().parse_json().unwrap();
    assert_eq!(
        shot,
        json!({
            "scene": "1 · EXT. HARBOUR - DAWN",
            "shot": "1.1",
            "prompt": "A fisherman hauls a net at dawn",
            "tier": "low",
            "seed": 42,
            "image": {"id": take.id, "mime": "image/png"},
            "characters": ["MAYA", "Tom"],
            "aspect": "16:9"
        })
    );
    assert_eq!(out.summary, "Draft frame 1280×720 · 1.1");
}

#[test]
fn drafts_are_deterministic_and_follow_their_inputs() {
    let (_, a) = draft(harbour());
    let (_, b) = draft(harbour());
    assert_eq!(a, b, "same seed and inputs, same bytes");
    let (_, seed) = draft(harbour().seed(43));
    assert_ne!(a, seed);
    let (_, prompt) = draft(harbour().param("prompt", "A gull lands on the wheelhouse"));
    assert_ne!(a, prompt);
    let (_, cast) = draft(harbour().connect("characters", json!({"name": "LENA"})));
    assert_ne!(a, cast);
}

#[test]
fn aspect_sets_the_height() {
    for (aspect, height) in [("2.39:1", 536), ("4:3", 960), ("1:1", 1280), ("9:16", 2276)] {
        let (out, png) = draft(harbour().param("aspect", ParamValue::choice(aspect)));
        let image = Canvas::decode(&png).unwrap();
        assert_eq!((image.width(), image.height()), (1280, height), "{aspect}");
        let shot: Json = out.get("shot").unwrap().parse_json().unwrap();
        assert_eq!(shot["aspect"], aspect);
    }
}

#[test]
fn the_scene_heading_stands_in_for_a_missing_environment() {
    let input = InputBuilder::new()
        .param("scene", "4 · INT. TICKET BOOTH - NIGHT")
        .param("prompt", "Tom lights the stove.")
        .build();
    let ctx = frame_context(&input);
    assert_eq!((ctx.setting, ctx.mood), (Setting::Interior, Mood::Night));

    let connected = frame_context(&harbour().build());
    assert_eq!(
        (connected.setting, connected.mood),
        (Setting::Exterior, Mood::Dawn)
    );
    assert_eq!(connected.keywords, ["noir", "wet streets"]);
    assert_eq!(connected.palette.len(), 2);
    assert_eq!(connected.location, "a fishing harbour");

    // Works with nothing connected and no parameters at all.
    let (_, png) = draft(InputBuilder::new());
    assert_eq!(Canvas::decode(&png).unwrap().width(), 1280);
}

#[test]
fn higher_tiers_need_a_pipeline() {
    let host = TestHost::new();
    let err = host
        .execute::<Shot>(harbour().tier(QualityTier::Standard))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Unsupported);
    assert_eq!(
        err.message,
        "No pipeline is configured for the Standard tier (“Production - Balanced Quality”). \
         Configure a ComfyUI, Wan2GP or Function Runner pipeline for this tier in the project \
         settings, or generate a Draft (Low tier) storyboard frame on the CPU."
    );
    let err = host
        .execute::<Shot>(harbour().tier(QualityTier::High))
        .unwrap_err();
    assert!(
        err.message.starts_with(
            "No pipeline is configured for the High tier (“Premium - Maximum Quality”)."
        )
    );

    // Configured for another tier only: still none for this one.
    let only_high = json!({"high": {"kind": "wan2gp", "endpoint": "http://127.0.0.1:7860"}});
    let err = host
        .execute::<Shot>(
            harbour()
                .tier(QualityTier::Standard)
                .param("pipelines", only_high),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Unsupported);

    // Configured but not running: the backend is named.
    let comfy = json!({"standard": {"kind": "comfyui", "endpoint": "http://127.0.0.1:8188",
        "workflow": {"6": {"class_type": "CLIPTextEncode", "inputs": {"text": ""}}}}});
    let err = host
        .execute::<Shot>(
            harbour()
                .tier(QualityTier::Standard)
                .param("pipelines", comfy),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::BackendUnavailable);
    assert!(
        err.message.starts_with(
            "queueing the workflow: ComfyUI at http://127.0.0.1:8188 could not be reached"
        ),
        "{}",
        err.message
    );

    let err = host
        .execute::<Shot>(
            harbour()
                .tier(QualityTier::Standard)
                .param("pipelines", json!({"standard": {"endpoint": "http://x"}})),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert!(err.message.contains("no “kind”"), "{}", err.message);
    assert!(host.outputs().is_empty());
    assert_eq!(
        host.http_requests().len(),
        1,
        "only the unreachable ComfyUI was asked"
    );
}

#[test]
fn validate_warns_about_prompts_and_pipelines() {
    let host = TestHost::new();
    assert!(host.validate::<Shot>(harbour()).is_empty());

    let found = host.validate::<Shot>(InputBuilder::new().tier(QualityTier::Standard));
    let fields: Vec<_> = found.iter().filter_map(|d| d.field.as_deref()).collect();
    assert_eq!(fields, ["prompt", "pipelines"]);
    assert!(found.iter().all(|d| d.severity == Severity::Warning));

    let bad = host.validate::<Shot>(
        harbour()
            .tier(QualityTier::High)
            .param("pipelines", ParamValue::Json("[1, 2]".into())),
    );
    assert!(
        bad.iter()
            .any(|d| d.is_error() && d.field.as_deref() == Some("pipelines"))
    );

    let wrong_aspect = host.validate::<Shot>(harbour().param("aspect", ParamValue::choice("21:9")));
    assert!(wrong_aspect[0].is_error());
}

#[test]
fn cancellation_stops_the_draft() {
    let host = TestHost::new().cancel_now();
    let err = host.execute::<Shot>(harbour()).unwrap_err();
    assert_eq!(err.code, ErrorCode::Cancelled);
    assert!(host.outputs().is_empty());
}
