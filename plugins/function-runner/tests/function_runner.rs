//! The function-runner node natively: validation of the registry, and a fallback served by
//! the SDK's test host playing two ComfyUI servers (the first one unreachable, the second
//! reporting its steps on its WebSocket).

use std::cell::RefCell;
use std::rc::Rc;

use function_runner::FunctionRunner;
use mdc_sdk::live::{Message, SocketEvent};
use mdc_sdk::prelude::*;
use mdc_sdk::serde_json::{Value as Json, json};
use mdc_sdk::testing::{InputBuilder, TestHost, TestSocket};

fn model(id: &str, tier: &str, url: &str, fallback: Option<&str>) -> Json {
    json!({"id": id, "function": "create-image", "tier": tier, "kind": "comfyui", "endpoint": url,
           "workflow": {"6": {"class_type": "CLIPTextEncode", "inputs": {"text": ""}},
                        "9": {"class_type": "SaveImage", "inputs": {}}},
           "priority": 1, "fallback": fallback})
}

fn input(models: Vec<Json>, tier: QualityTier) -> InputBuilder {
    InputBuilder::new()
        .tier(tier)
        .param("prompt", "rain on the pier")
        .param("registry", ParamValue::json(&json!({ "models": models })))
}

#[test]
fn validate_reports_registry_mistakes_and_missing_routes() {
    let host = TestHost::new();
    let ok = vec![model("a", "standard", "http://a:8188", None)];
    assert!(
        host.validate::<FunctionRunner>(input(ok.clone(), QualityTier::Standard))
            .is_empty()
    );
    let found = host.validate::<FunctionRunner>(input(ok, QualityTier::High));
    assert_eq!(found[0].field.as_deref(), Some("registry"));
    assert!(
        found[0]
            .message
            .contains("no model for Create Image at the High tier")
    );
    let cyclic = vec![
        model("a", "standard", "http://a:8188", Some("b")),
        model("b", "standard", "http://b:8188", Some("a")),
    ];
    let found = host.validate::<FunctionRunner>(input(cyclic, QualityTier::Standard));
    assert!(
        found[0].message.contains("go round in a circle: a → b → a"),
        "{}",
        found[0].message
    );
}

/// A text message of ComfyUI's WebSocket.
fn event(kind: &str, data: Json) -> SocketEvent {
    SocketEvent::Message(Message::Text(
        json!({"type": kind, "data": data}).to_string(),
    ))
}

#[test]
fn an_unreachable_model_falls_back_and_the_summary_says_so() {
    // ComfyUI at b queues the prompt under the id the node chose and reports its steps on
    // the WebSocket of the same client id.
    let queued: Rc<RefCell<Option<String>>> = Rc::default();
    let answered = Rc::clone(&queued);
    let host = TestHost::new()
        .http("http://b:8188", move |request| {
            let path = request.url.trim_start_matches("http://b:8188");
            let ours = answered.borrow().clone().unwrap_or_default();
            let body = match path {
                "/prompt" => {
                    let sent: Json = mdc_sdk::serde_json::from_slice(&request.body).unwrap();
                    let id = sent["prompt_id"].as_str().unwrap().to_owned();
                    *answered.borrow_mut() = Some(id.clone());
                    json!({"prompt_id": id, "number": 1})
                }
                "/queue" => json!({"queue_running": [], "queue_pending": []}),
                p if p == format!("/history/{ours}") => json!({ours: {"outputs": {"9": {"images": [
                    {"filename": "t.png", "subfolder": "", "type": "output"}]}},
                    "status": {"status_str": "success", "completed": true}}}),
                p if p.starts_with("/history/") => json!({}),
                _ => return Ok(HttpResponse::new(200, b"PNG".to_vec())),
            };
            Ok(HttpResponse::new(200, body.to_string()))
        })
        .socket("http://b:8188", |url| {
            let id = url.rsplit_once("clientId=").unwrap().1.to_owned();
            Ok(TestSocket::new([
                event("execution_start", json!({"prompt_id": id})),
                event("executing", json!({"node": "9", "prompt_id": id})),
                event(
                    "progress",
                    json!({"value": 1, "max": 2, "node": "9", "prompt_id": id}),
                ),
                event(
                    "progress",
                    json!({"value": 2, "max": 2, "node": "9", "prompt_id": id}),
                ),
                event("execution_success", json!({"prompt_id": id})),
                event("executing", json!({"node": null, "prompt_id": id})),
            ]))
        });
    let models = vec![
        model("a", "standard", "http://a:8188", Some("b")),
        model("b", "high", "http://b:8188", None),
    ];
    let out = host
        .execute::<FunctionRunner>(input(models, QualityTier::Standard))
        .unwrap();
    assert!(
        out.summary.starts_with("Create Image at Standard · served by b (fell back from a) · 1 image; a (ComfyUI at http://a:8188) was unavailable"),
        "{}",
        out.summary
    );
    assert!(out.get("take").is_some());
    assert!(
        host.logs()
            .iter()
            .any(|(level, line)| *level == LogLevel::Warn && line.contains("fell back to b"))
    );
    let progress: Vec<(f32, String)> = host.progress();
    let steps: Vec<&(f32, String)> = progress
        .iter()
        .filter(|(_, m)| m.starts_with("step"))
        .collect();
    assert_eq!(
        steps.iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>(),
        ["step 1/2 on SaveImage", "step 2/2 on SaveImage"],
        "the backend's steps reach the node through the registry: {progress:?}"
    );
    assert!(steps[0].0 < steps[1].0, "{progress:?}");
    assert!(queued.borrow().is_some());
}
