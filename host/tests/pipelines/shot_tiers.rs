//! The `shot` node above the Low tier: a take from the tier's configured pipeline, and the
//! clear error when none is configured.

use serde_json::json;

use crate::fake_comfyui::{FakeComfyUi, default_workflow};
use crate::support::{
    assert_failure, assert_success, asset_bytes, output_values, outputs_json, plugin_path,
    png_bytes, printed, run_command, run_plugin,
};

#[test]
fn standard_tier_takes_come_from_the_comfyui_pipeline() {
    let fake = FakeComfyUi::start();
    let out = tempfile::tempdir().unwrap();
    let params = json!({
        "prompt": "The ferry leaves the harbour",
        "scene": "1 · EXT. HARBOUR - NIGHT",
        "shot": "1.2",
        "aspect": "1:1",
        "pipelines": {"standard": {"kind": "comfyui", "endpoint": fake.url(), "workflow": default_workflow()}},
    });
    let inputs = json!({"characters": [{"json": {"name": "Maya"}}],
                        "environment": {"json": {"description": "a rainy pier", "mood": "night"}}});
    let output = run_command(
        &plugin_path("shot"),
        &params,
        &inputs,
        "standard",
        &[fake.url()],
        out.path(),
    )
    .args(["--seed", "99"])
    .output()
    .unwrap();
    assert_success(&output);
    assert_eq!(
        fake.received()[0]["6"]["inputs"]["text"],
        "The ferry leaves the harbour. Featuring Maya. Setting: a rainy pier, night."
    );
    let outputs = outputs_json(out.path());
    let image = &output_values(&outputs, "image")[0];
    assert_eq!(asset_bytes(out.path(), image), png_bytes(1024, 1024, 99));
    let shot = &output_values(&outputs, "shot")[0];
    assert_eq!(shot["tier"], "standard");
    assert_eq!(shot["seed"], 99);
    assert_eq!(shot["shot"], "1.2");
    assert_eq!(shot["image"]["id"], image["asset"]);
    assert_eq!(shot["characters"], json!(["Maya"]));
    let text = printed(&output);
    assert!(
        text.contains(&format!(
            "Standard take 1024×1024 · 1.2 from ComfyUI at {}",
            fake.url()
        )),
        "{text}"
    );
}

#[test]
fn high_tier_without_a_pipeline_is_the_clear_error() {
    let out = tempfile::tempdir().unwrap();
    let params = json!({"prompt": "The ferry leaves the harbour",
                        "pipelines": {"standard": {"kind": "comfyui", "endpoint": "http://127.0.0.1:8188",
                                                   "workflow": default_workflow()}}});
    let output = run_plugin(
        &plugin_path("shot"),
        &params,
        &json!({}),
        "high",
        &[],
        out.path(),
    );
    let text = assert_failure(&output);
    assert!(
        text.contains(
            "No pipeline is configured for the High tier (“Premium - Maximum Quality”). Configure a \
             ComfyUI, Wan2GP or Function Runner pipeline for this tier in the project settings"
        ),
        "{text}"
    );
    assert!(text.contains("(unsupported)"), "{text}");
}
