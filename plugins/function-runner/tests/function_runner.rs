//! The function-runner node natively: validation of the registry, and a fallback served by
//! the SDK's test host playing two ComfyUI servers (the first one unreachable).

use function_runner::FunctionRunner;
use mdc_sdk::prelude::*;
use mdc_sdk::serde_json::{Value as Json, json};
use mdc_sdk::testing::{InputBuilder, TestHost};

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

#[test]
fn an_unreachable_model_falls_back_and_the_summary_says_so() {
    let host = TestHost::new().http("http://b:8188", |request| {
        let path = request.url.trim_start_matches("http://b:8188");
        let body = match path {
            "/prompt" => json!({"prompt_id": "p", "number": 1}),
            "/history/p" => json!({"p": {"outputs": {"9": {"images": [
                {"filename": "t.png", "subfolder": "", "type": "output"}]}},
                "status": {"status_str": "success", "completed": true}}}),
            _ => return Ok(HttpResponse::new(200, b"PNG".to_vec())),
        };
        Ok(HttpResponse::new(200, body.to_string()))
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
}
