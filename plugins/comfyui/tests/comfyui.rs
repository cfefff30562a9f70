//! The comfyui node natively, with the SDK's test host playing a ComfyUI server.

use comfyui::ComfyUiNode;
use mdc_sdk::prelude::*;
use mdc_sdk::serde_json::{Value as Json, json};
use mdc_sdk::testing::{InputBuilder, TestAsset, TestHost};

const URL: &str = "http://gpu:8188";

fn workflow() -> Json {
    json!({
        "3": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20, "model": ["4", 0],
              "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd.safetensors"}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
        "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "x"}},
        "10": {"class_type": "LoadImage", "inputs": {"image": "example.png"}}
    })
}

fn input() -> InputBuilder {
    InputBuilder::new()
        .tier(QualityTier::Standard)
        .seed(5)
        .param("endpoint", URL)
        .param("workflow", ParamValue::json(&workflow()))
        .param("prompt", "a lighthouse")
}

/// A ComfyUI without a WebSocket and older than client-chosen prompt ids (it answers its
/// own, `p-1`) that finishes every prompt at once: one PNG and one MP4.
fn instant_comfyui(request: &HttpRequest) -> Result<HttpResponse, HttpError> {
    let path = request.url.trim_start_matches(URL);
    let body = match path {
        "/queue" => json!({"queue_running": [], "queue_pending": []}).to_string(),
        "/upload/image" => json!({"name": "ref.png", "subfolder": "", "type": "input"}).to_string(),
        "/prompt" => json!({"prompt_id": "p-1", "number": 1, "node_errors": {}}).to_string(),
        "/history/p-1" => json!({"p-1": {"outputs": {"9": {
            "images": [{"filename": "a.png", "subfolder": "", "type": "output"}],
            "gifs": [{"filename": "a.mp4", "subfolder": "", "type": "output"}]}},
            "status": {"status_str": "success", "completed": true, "messages": []}}})
        .to_string(),
        p if p.starts_with("/view?filename=a.png") => {
            return Ok(HttpResponse::new(200, b"PNG".to_vec()));
        }
        p if p.starts_with("/view?filename=a.mp4") => {
            return Ok(HttpResponse::new(200, b"MP4".to_vec()));
        }
        p if p.starts_with("/history/") => "{}".to_owned(),
        other => return Ok(HttpResponse::new(404, format!("no route {other}"))),
    };
    Ok(HttpResponse::new(200, body))
}

#[test]
fn describe_declares_ports_tiers_and_capabilities() {
    let d = TestHost::new().describe::<ComfyUiNode>();
    let ids = |ports: &[Port]| ports.iter().map(|p| p.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&d.inputs), ["prompt", "images", "shot"]);
    assert_eq!(ids(&d.outputs), ["images", "video", "take"]);
    let tiers: Vec<QualityTier> = d.tiers.iter().map(|t| t.tier).collect();
    assert_eq!(tiers, [QualityTier::Standard, QualityTier::High]);
    assert!(d.wants_outbound_http() && d.wants_asset_read() && d.wants_output_write());
}

#[test]
fn validate_explains_workflow_and_exposed_input_mistakes() {
    let host = TestHost::new();
    assert!(
        host.validate::<ComfyUiNode>(input())
            .iter()
            .all(|d| !d.is_error())
    );

    let ui = input().param(
        "workflow",
        ParamValue::json(&json!({"nodes": [], "links": []})),
    );
    let found = host.validate::<ComfyUiNode>(ui);
    assert_eq!(found[0].field.as_deref(), Some("workflow"));
    assert!(
        found[0].message.contains("Save (API Format)"),
        "{}",
        found[0].message
    );

    let bad_path = input().param(
        "expose",
        ParamValue::json(&json!({"Steps": "3.inputs.stepz"})),
    );
    let found = host.validate::<ComfyUiNode>(bad_path);
    assert!(
        found
            .iter()
            .any(|d| d.is_error() && d.message.contains("has no input “stepz”"))
    );

    let unknown_value = input().param("values", ParamValue::json(&json!({"CFG": 3})));
    let found = host.validate::<ComfyUiNode>(unknown_value);
    assert!(
        found
            .iter()
            .any(|d| d.is_error() && d.message.contains("no input is exposed under that name"))
    );

    let empty = input().param("workflow", ParamValue::json(&json!({})));
    assert!(
        host.validate::<ComfyUiNode>(empty)[0]
            .message
            .contains("empty")
    );
}

#[test]
fn execute_injects_uploads_and_returns_every_output() {
    let host = TestHost::new()
        .asset(TestAsset::new("sheet", "image/png", b"REF".to_vec()))
        .http(URL, instant_comfyui);
    let out = host
        .execute::<ComfyUiNode>(
            input()
                .connect("images", Value::asset("sheet", "image/png"))
                .connect("prompt", "a connected prompt"),
        )
        .unwrap();
    assert_eq!(out.all("images").count(), 1);
    assert_eq!(
        out.get("video").and_then(Value::as_asset).unwrap().mime,
        "video/mp4"
    );
    assert_eq!(
        out.get("take").and_then(Value::as_asset).unwrap().mime,
        "image/png"
    );
    assert_eq!(
        out.summary,
        format!("1 image and 1 video from ComfyUI at {URL}")
    );
    let sent = host
        .http_requests()
        .into_iter()
        .find(|r| r.url.ends_with("/prompt"))
        .unwrap();
    let body: Json = mdc_sdk::serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["prompt"]["6"]["inputs"]["text"], "a connected prompt");
    assert_eq!(body["prompt"]["3"]["inputs"]["seed"], 5);
    assert_eq!(body["prompt"]["10"]["inputs"]["image"], "ref.png");
    let chosen = body["prompt_id"].as_str().unwrap();
    assert_eq!(
        body["client_id"], chosen,
        "events are routed to our own socket"
    );
    assert!(
        host.socket_urls() == [format!("ws://gpu:8188/ws?clientId={chosen}")],
        "{:?}",
        host.socket_urls()
    );
    assert!(
        host.logs()
            .iter()
            .any(|(_, line)| line.contains("could not be opened")),
        "the fallback to polling is said once: {:?}",
        host.logs()
    );
    let written: Vec<Vec<u8>> = host.outputs().into_iter().map(|o| o.bytes).collect();
    assert_eq!(written, [b"PNG".to_vec(), b"MP4".to_vec()]);
}
