//! The character node: its JSON output, library asset checks and merging.

use character::Character;
use mdc_sdk::prelude::*;
use mdc_sdk::serde_json::{Value as Json, json};
use mdc_sdk::testing::{InputBuilder, TestAsset, TestHost};

fn library() -> TestHost {
    TestHost::new()
        .asset(
            TestAsset::new("char-maya", "image/png", vec![0u8; 16])
                .name("Maya, reference sheet")
                .kind("character")
                .fields(json!({
                    "name": "Maya Lind",
                    "age": 34,
                    "personality": "stubborn, warm",
                    "eyes": "green",
                    "traits": {"coat": "yellow oilskin"}
                })),
        )
        .asset(TestAsset::new("style-noir", "image/png", vec![1u8]).kind("style"))
}

fn output(host: &TestHost, input: InputBuilder) -> Json {
    host.execute::<Character>(input)
        .unwrap()
        .get("character")
        .unwrap()
        .parse_json()
        .unwrap()
}

#[test]
fn params_alone_make_a_character() {
    let host = TestHost::new();
    let input = InputBuilder::new()
        .param("name", "Tom")
        .param("age", 64)
        .param("role", ParamValue::choice("supporting"))
        .param("personality", "gruff, kind underneath");
    let out = host.execute::<Character>(input).unwrap();
    assert_eq!(out.summary, "Tom · supporting");
    let value: Json = out.get("character").unwrap().parse_json().unwrap();
    assert_eq!(
        value,
        json!({
            "name": "Tom",
            "age": 64,
            "role": "supporting",
            "personality": "gruff, kind underneath",
            "asset": null,
            "traits": {}
        })
    );
}

#[test]
fn the_library_asset_fills_in_and_params_win() {
    let host = library();
    let value = output(
        &host,
        InputBuilder::new()
            .param("name", "Maya")
            .param("role", ParamValue::choice("lead"))
            .param("asset", ParamValue::asset_ref("char-maya")),
    );
    assert_eq!(value["name"], "Maya");
    assert_eq!(value["age"], 34);
    assert_eq!(value["role"], "lead");
    assert_eq!(value["personality"], "stubborn, warm");
    assert_eq!(
        value["asset"],
        json!({"id": "char-maya", "mime": "image/png"})
    );
    assert_eq!(
        value["traits"],
        json!({"eyes": "green", "coat": "yellow oilskin"})
    );

    // Without a name parameter the asset's `name` field is used.
    let value = output(
        &host,
        InputBuilder::new().param("asset", ParamValue::asset_ref("char-maya")),
    );
    assert_eq!(value["name"], "Maya Lind");
}

#[test]
fn validate_checks_the_asset() {
    let host = library();
    let none = host.validate::<Character>(InputBuilder::new().param("name", "Maya"));
    assert_eq!(none.len(), 1);
    assert_eq!(none[0].severity, Severity::Warning);
    assert!(none[0].message.starts_with("No library asset chosen"));
    assert_eq!(none[0].field.as_deref(), Some("asset"));

    let unknown = host.validate::<Character>(
        InputBuilder::new()
            .param("name", "Maya")
            .param("asset", ParamValue::asset_ref("char-nobody")),
    );
    assert_eq!(unknown.len(), 1);
    assert!(unknown[0].is_error());
    assert!(unknown[0].message.contains("char-nobody"));

    let wrong = host.validate::<Character>(
        InputBuilder::new().param("asset", ParamValue::asset_ref("style-noir")),
    );
    assert!(wrong[0].is_error());
    assert!(
        wrong[0]
            .message
            .contains("is a style asset, not a character asset")
    );

    let fine = host.validate::<Character>(
        InputBuilder::new().param("asset", ParamValue::asset_ref("char-maya")),
    );
    assert!(fine.is_empty(), "{fine:?}");
}

#[test]
fn validate_checks_age_role_and_name() {
    let host = library();
    let found = host.validate::<Character>(
        InputBuilder::new()
            .param("age", 151)
            .param("role", ParamValue::choice("hero")),
    );
    let fields: Vec<_> = found.iter().filter_map(|d| d.field.as_deref()).collect();
    assert!(fields.contains(&"age"));
    assert!(fields.contains(&"role"));
    assert!(fields.contains(&"name"));
    assert!(fields.contains(&"asset"));
}

#[test]
fn execute_refuses_unknown_or_wrong_assets() {
    let host = library();
    let err = host
        .execute::<Character>(InputBuilder::new().param("asset", ParamValue::asset_ref("nope")))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert!(err.message.contains("nope"));
    let err = host
        .execute::<Character>(
            InputBuilder::new().param("asset", ParamValue::asset_ref("style-noir")),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
}
