//! The environment node: type, mood, dimension, description and library asset.

use environment::Environment;
use mdc_sdk::prelude::*;
use mdc_sdk::serde_json::{Value as Json, json};
use mdc_sdk::testing::{InputBuilder, TestAsset, TestHost};

fn library() -> TestHost {
    TestHost::new()
        .asset(
            TestAsset::new("env-harbour", "image/jpeg", vec![0u8; 8])
                .name("Port Ellen harbour")
                .kind("environment")
                .fields(json!({"mood": "Foggy", "type": "exterior", "lat": 55.6})),
        )
        .asset(TestAsset::new("maya", "image/png", vec![0u8]).kind("character"))
}

#[test]
fn params_make_the_environment() {
    let out = TestHost::new()
        .execute::<Environment>(
            InputBuilder::new()
                .param("type", ParamValue::choice("interior"))
                .param("mood", ParamValue::choice("candlelit"))
                .param("dimension", ParamValue::choice("3d"))
                .param("description", "A ticket booth, kettle on a camping stove."),
        )
        .unwrap();
    assert_eq!(out.summary, "interior · candlelit");
    let value: Json = out.get("environment").unwrap().parse_json().unwrap();
    assert_eq!(
        value,
        json!({
            "type": "interior",
            "mood": "candlelit",
            "dimension": "3d",
            "description": "A ticket booth, kettle on a camping stove.",
            "asset": null,
            "details": {}
        })
    );
}

#[test]
fn the_library_fills_in_what_is_unset() {
    let out = library()
        .execute::<Environment>(
            InputBuilder::new()
                .param("mood", ParamValue::choice("dawn"))
                .param("asset", ParamValue::asset_ref("env-harbour")),
        )
        .unwrap();
    let value: Json = out.get("environment").unwrap().parse_json().unwrap();
    assert_eq!(value["mood"], "dawn");
    assert_eq!(value["type"], "exterior");
    assert_eq!(
        value["asset"],
        json!({"id": "env-harbour", "mime": "image/jpeg"})
    );
    assert_eq!(value["details"], json!({"lat": 55.6}));
}

#[test]
fn validate_checks_choices_and_assets() {
    let host = library();
    let found = host.validate::<Environment>(
        InputBuilder::new()
            .param("mood", ParamValue::choice("stormy"))
            .param("asset", ParamValue::asset_ref("env-harbour")),
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].field.as_deref(), Some("mood"));

    let missing = host.validate::<Environment>(InputBuilder::new());
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].severity, Severity::Warning);

    let unknown = host
        .validate::<Environment>(InputBuilder::new().param("asset", ParamValue::asset_ref("x9")));
    assert!(unknown[0].is_error() && unknown[0].message.contains("x9"));

    let wrong = host
        .validate::<Environment>(InputBuilder::new().param("asset", ParamValue::asset_ref("maya")));
    assert!(wrong[0].is_error());
    assert!(
        wrong[0]
            .message
            .contains("is a character asset, not an environment asset")
    );

    let err = host
        .execute::<Environment>(InputBuilder::new().param("asset", ParamValue::asset_ref("maya")))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
}
