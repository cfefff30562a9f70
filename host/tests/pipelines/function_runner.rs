//! The `function-runner` node: routing by tier through the model registry, fallbacks when
//! a backend is down, and registry mistakes caught by validation.

use serde_json::{Value as Json, json};

use crate::fake_comfyui::{FakeComfyUi, Fault, Options, default_workflow};
use crate::support::{
    assert_failure, assert_success, asset_bytes, output_values, outputs_json, plugin_path,
    png_bytes, printed, run_command, validate_plugin,
};

/// A registry model entry served by the ComfyUI at `url`.
fn model(id: &str, tier: &str, url: &str, priority: i64, fallback: Option<&str>) -> Json {
    json!({"id": id, "function": "create-image", "tier": tier, "kind": "comfyui",
           "endpoint": url, "workflow": default_workflow(), "gpu_memory_mib": 12288,
           "priority": priority, "fallback": fallback})
}

/// A harbour shot's parameters with this registry.
fn params(models: Vec<Json>) -> Json {
    json!({"function": "create-image", "prompt": "A fisherman hauls a net", "aspect": "1:1",
           "registry": {"models": models}})
}

/// The shot's cast, look and place.
fn inputs() -> Json {
    json!({
        "characters": [{"json": {"name": "Maya"}}, {"json": {"name": "Tom"}}],
        "style": {"json": {"keywords": ["noir", "wet streets"]}},
        "environment": {"json": {"description": "a fishing harbour", "mood": "dawn"}}
    })
}

/// Runs the function runner at `tier` with seed 7, granting `grants`.
fn run(params: &Json, tier: &str, grants: &[&str], out: &std::path::Path) -> std::process::Output {
    run_command(
        &plugin_path("function-runner"),
        params,
        &inputs(),
        tier,
        grants,
        out,
    )
    .args(["--seed", "7"])
    .output()
    .unwrap()
}

#[test]
fn routes_to_the_model_of_the_tier() {
    let local = FakeComfyUi::start();
    let cloud = FakeComfyUi::start();
    let out = tempfile::tempdir().unwrap();
    let params = params(vec![
        model("sdxl-local", "standard", local.url(), 10, None),
        model("flux-cloud", "high", cloud.url(), 10, None),
    ]);
    let output = run(&params, "standard", &[local.url(), cloud.url()], out.path());
    assert_success(&output);
    assert_eq!((local.received().len(), cloud.received().len()), (1, 0));
    let workflow = &local.received()[0];
    assert_eq!(
        workflow["6"]["inputs"]["text"],
        "A fisherman hauls a net. Featuring Maya and Tom. Setting: a fishing harbour, dawn. \
         Style: noir, wet streets."
    );
    assert_eq!(workflow["5"]["inputs"]["width"], 1024);
    assert_eq!(workflow["5"]["inputs"]["height"], 1024);
    let text = printed(&output);
    assert!(
        text.contains("Create Image at Standard · served by sdxl-local · 1 image"),
        "{text}"
    );
    for line in [
        "running KSampler",
        "step 1/4 on KSampler",
        "step 4/4 on KSampler",
    ] {
        assert!(
            text.contains(line),
            "the backend's progress passes through: {text}"
        );
    }
    assert!(out.path().join("preview.png").is_file(), "its previews too");
    let take = &output_values(&outputs_json(out.path()), "take")[0];
    assert_eq!(asset_bytes(out.path(), take), png_bytes(1024, 1024, 7));

    let high = tempfile::tempdir().unwrap();
    let output = run(&params, "high", &[local.url(), cloud.url()], high.path());
    assert_success(&output);
    assert_eq!((local.received().len(), cloud.received().len()), (1, 1));
    assert!(
        printed(&output).contains("Create Image at High · served by flux-cloud"),
        "{}",
        printed(&output)
    );
}

#[test]
fn falls_back_when_the_first_backend_is_down_and_says_so() {
    let mut local = FakeComfyUi::start();
    let local_url = local.url().to_owned();
    local.server.kill();
    let cloud = FakeComfyUi::start();
    let out = tempfile::tempdir().unwrap();
    let params = params(vec![
        model("sdxl-local", "standard", &local_url, 10, Some("flux-cloud")),
        model("flux-cloud", "standard", cloud.url(), 1, None),
    ]);
    let output = run(&params, "standard", &[&local_url, cloud.url()], out.path());
    assert_success(&output);
    let text = printed(&output);
    assert!(
        text.contains(
            "Create Image at Standard · served by flux-cloud (fell back from sdxl-local) · 1 image"
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!("[warn] sdxl-local (ComfyUI at {local_url}) was unavailable (queueing the workflow: ComfyUI at {local_url} could not be reached")),
        "{text}"
    );
    assert!(text.contains("fell back to flux-cloud"), "{text}");
    assert_eq!(cloud.received().len(), 1);
}

#[test]
fn when_every_backend_is_down_each_attempt_is_listed() {
    let mut dead = FakeComfyUi::start();
    let dead_url = dead.url().to_owned();
    dead.server.kill();
    let refusing = FakeComfyUi::with(Options {
        fault: Fault::Refuse,
        ..Options::default()
    });
    let out = tempfile::tempdir().unwrap();
    let params = params(vec![
        model("sdxl-local", "standard", &dead_url, 10, Some("flux-cloud")),
        model("flux-cloud", "standard", refusing.url(), 1, None),
    ]);
    let output = run(
        &params,
        "standard",
        &[&dead_url, refusing.url()],
        out.path(),
    );
    let text = assert_failure(&output);
    assert!(
        text.contains("No model could make Create Image at the Standard tier; every backend was unavailable. 1. sdxl-local (ComfyUI at "),
        "{text}"
    );
    assert!(
        text.contains(&format!("2. flux-cloud (ComfyUI at {0}): queueing the workflow: ComfyUI at {0} answered HTTP 503", refusing.url())),
        "{text}"
    );
    assert!(text.contains("(backend_unavailable)"), "{text}");
}

#[test]
fn registry_mistakes_and_missing_routes_fail_validation() {
    let url = "http://127.0.0.1:8188";
    let broken = params(vec![model(
        "sdxl-local",
        "standard",
        url,
        10,
        Some("ghost"),
    )]);
    let text = assert_failure(&validate_plugin(
        &plugin_path("function-runner"),
        &broken,
        &json!({}),
        "standard",
    ));
    assert!(
        text.contains("error [registry]: Model sdxl-local falls back to ghost, but the registry has no model ghost."),
        "{text}"
    );

    let standard_only = params(vec![model("sdxl-local", "standard", url, 10, None)]);
    let ok = validate_plugin(
        &plugin_path("function-runner"),
        &standard_only,
        &json!({}),
        "standard",
    );
    assert_success(&ok);
    let text = assert_failure(&validate_plugin(
        &plugin_path("function-runner"),
        &standard_only,
        &json!({}),
        "high",
    ));
    assert!(
        text.contains(
            "error [registry]: The model registry has no model for Create Image at the High tier"
        ),
        "{text}"
    );
}
