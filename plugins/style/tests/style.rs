//! The style node: keywords, palette, library asset and example images.

use mdc_sdk::prelude::*;
use mdc_sdk::serde_json::{Value as Json, json};
use mdc_sdk::testing::{InputBuilder, TestAsset, TestHost};
use style::Style;

fn library() -> TestHost {
    TestHost::new()
        .asset(
            TestAsset::new("style-harbour", "image/png", vec![0u8; 4])
                .name("Harbour noir")
                .kind("style")
                .fields(json!({
                    "keywords": ["Noir", "wet streets"],
                    "palette": "#0b1320, #C9A227",
                    "examples": ["img-1", {"id": "img-2", "mime": "image/png"}]
                })),
        )
        .asset(TestAsset::new("maya", "image/png", vec![0u8]).kind("character"))
}

#[test]
fn params_and_library_merge() {
    let host = library();
    let out = host
        .execute::<Style>(
            InputBuilder::new()
                .param("keywords", "noir, rain-slick, , anamorphic")
                .param("palette", "#1b2a41, #C9A227")
                .param("asset", ParamValue::asset_ref("style-harbour")),
        )
        .unwrap();
    let value: Json = out.get("style").unwrap().parse_json().unwrap();
    assert_eq!(
        value,
        json!({
            "keywords": ["noir", "rain-slick", "anamorphic", "wet streets"],
            "palette": ["#1b2a41", "#c9a227", "#0b1320"],
            "asset": {"id": "style-harbour", "mime": "image/png"},
            "example_images": ["img-1", "img-2"]
        })
    );
    assert_eq!(out.summary, "4 keywords · 3 colours");
}

#[test]
fn without_an_asset() {
    let out = TestHost::new()
        .execute::<Style>(InputBuilder::new().param("keywords", "pastel"))
        .unwrap();
    let value: Json = out.get("style").unwrap().parse_json().unwrap();
    assert_eq!(value["asset"], Json::Null);
    assert_eq!(value["palette"], json!([]));
    assert_eq!(value["example_images"], json!([]));
}

#[test]
fn validate_flags_bad_colours_and_assets() {
    let host = library();
    let found = host.validate::<Style>(
        InputBuilder::new()
            .param("palette", "#1b2a41, teal, #zzz")
            .param("asset", ParamValue::asset_ref("style-harbour")),
    );
    assert_eq!(found.len(), 1);
    assert!(found[0].is_error());
    assert_eq!(found[0].field.as_deref(), Some("palette"));
    assert!(found[0].message.contains("teal, #zzz"));

    let missing = host.validate::<Style>(InputBuilder::new());
    assert_eq!(missing[0].severity, Severity::Warning);
    assert!(missing[0].message.starts_with("No library asset chosen"));

    let unknown =
        host.validate::<Style>(InputBuilder::new().param("asset", ParamValue::asset_ref("gone")));
    assert!(unknown[0].is_error() && unknown[0].message.contains("gone"));

    let wrong =
        host.validate::<Style>(InputBuilder::new().param("asset", ParamValue::asset_ref("maya")));
    assert!(wrong[0].is_error() && wrong[0].message.contains("not a style asset"));
}
