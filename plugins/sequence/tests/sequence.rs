//! The sequence node: script order, the takes list and the contact sheet.

use frame_kit::{Canvas, FrameContext, Mood, render_draft_frame};
use mdc_sdk::prelude::*;
use mdc_sdk::serde_json::{Value as Json, json};
use mdc_sdk::testing::{InputBuilder, TestAsset, TestHost};
use sequence::Sequence;

/// A small draft frame to serve as a take.
fn frame(shot: &str, mood: Mood) -> Vec<u8> {
    render_draft_frame(&FrameContext {
        width: 320,
        shot: shot.into(),
        mood,
        characters: vec!["MAYA".into()],
        ..FrameContext::default()
    })
}

fn shot(scene: &str, number: &str, image: Option<&str>) -> Json {
    json!({
        "scene": scene,
        "shot": number,
        "prompt": "…",
        "tier": "low",
        "seed": 1,
        "image": image.map(|id| json!({"id": id, "mime": "image/png"})),
        "characters": [],
        "aspect": "16:9"
    })
}

fn host() -> TestHost {
    TestHost::new()
        .asset(TestAsset::new(
            "take-a",
            "image/png",
            frame("1.2", Mood::Day),
        ))
        .asset(TestAsset::new(
            "take-b",
            "image/png",
            frame("1.10", Mood::Night),
        ))
        .asset(TestAsset::new(
            "take-c",
            "image/png",
            frame("2.1", Mood::Dusk),
        ))
        .asset(TestAsset::new(
            "take-jpeg",
            "image/jpeg",
            vec![0xff, 0xd8, 0xff, 0xe0],
        ))
}

fn takes(out: &NodeOutputs) -> Vec<Json> {
    out.get("takes").unwrap().parse_json::<Vec<Json>>().unwrap()
}

fn numbers(out: &NodeOutputs) -> Vec<String> {
    takes(out)
        .iter()
        .map(|t| t["shot"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn shots_come_out_in_script_order() {
    let host = host();
    let input = InputBuilder::new()
        .param("title", "The Last Ferry")
        .connect(
            "shots",
            shot("2 · EXT. OPEN SEA - NIGHT", "2.1", Some("take-c")),
        )
        .connect(
            "shots",
            shot("1 · EXT. HARBOUR - NIGHT", "1.10", Some("take-b")),
        )
        .connect(
            "shots",
            shot("1 · EXT. HARBOUR - NIGHT", "1.2", Some("take-a")),
        );
    let out = host.execute::<Sequence>(input).unwrap();
    assert_eq!(numbers(&out), ["1.2", "1.10", "2.1"]);
    assert_eq!(
        takes(&out)[0],
        json!({
            "scene": "1 · EXT. HARBOUR - NIGHT",
            "shot": "1.2",
            "image": {"id": "take-a", "mime": "image/png"}
        })
    );
    assert_eq!(out.summary, "3 takes");

    let sheet = out.get("contact-sheet").and_then(Value::as_asset).unwrap();
    assert_eq!(sheet.mime, "image/png");
    let written = host.output(&sheet.id).unwrap();
    let image = Canvas::decode(&written.bytes).unwrap();
    // Three takes on one row of three (four columns asked, three takes).
    assert_eq!(
        (image.width(), image.height()),
        (2 * 32 + 3 * 360 + 2 * 18, 96 + 202 + 44 + 32)
    );
    // The first thumbnail holds the day frame: bright sky near its top.
    let sky = image.pixel(32 + 180, 96 + 30);
    assert!(sky.iter().map(|&c| c as u32).sum::<u32>() > 300, "{sky:?}");
    // The second holds the night frame: dark.
    let night = image.pixel(32 + 360 + 18 + 180, 96 + 60);
    assert!(
        night.iter().map(|&c| c as u32).sum::<u32>() < 200,
        "{night:?}"
    );
}

#[test]
fn numbers_compare_by_value_across_scenes() {
    let host = host();
    let mut input = InputBuilder::new();
    for (scene, number) in [
        ("10 · INT. CAR", "10.1"),
        ("2 · EXT. PIER", "2.3"),
        ("2 · EXT. PIER", "2.11"),
        ("1 · INT. BOOTH", "1.1"),
        ("", "0.5"),
    ] {
        input = input.connect("shots", shot(scene, number, None));
    }
    let out = host.execute::<Sequence>(input).unwrap();
    assert_eq!(numbers(&out), ["0.5", "1.1", "2.3", "2.11", "10.1"]);
    assert_eq!(out.summary, "5 takes (5 without an image)");
}

#[test]
fn unreadable_takes_get_a_note_not_an_error() {
    let host = host();
    let input = InputBuilder::new()
        .param("columns", 2)
        .connect("shots", shot("1 · A", "1.1", Some("take-jpeg")))
        .connect("shots", shot("1 · A", "1.2", Some("gone")))
        .connect("shots", shot("1 · A", "1.3", None));
    let out = host.execute::<Sequence>(input).unwrap();
    assert_eq!(numbers(&out), ["1.1", "1.2", "1.3"]);
    let sheet = host.outputs().pop().unwrap();
    let image = Canvas::decode(&sheet.bytes).unwrap();
    // Two columns, two rows.
    assert_eq!(image.width(), 2 * 32 + 2 * 360 + 18);
    assert_eq!(image.height(), 96 + 2 * (202 + 44) + 18 + 32);
    assert!(host.logs().iter().any(|(_, m)| m.contains("gone")));
}

#[test]
fn another_sequence_can_feed_in() {
    let host = host();
    let first = host
        .execute::<Sequence>(
            InputBuilder::new()
                .connect("shots", shot("2 · B", "2.1", Some("take-c")))
                .connect("shots", shot("1 · A", "1.2", Some("take-a"))),
        )
        .unwrap();
    let list = first.get("takes").unwrap().clone();
    let out = host
        .execute::<Sequence>(
            InputBuilder::new()
                .connect("shots", list)
                .connect("shots", shot("1 · A", "1.10", Some("take-b"))),
        )
        .unwrap();
    assert_eq!(numbers(&out), ["1.2", "1.10", "2.1"]);
}

#[test]
fn nothing_connected() {
    let host = host();
    let found = host.validate::<Sequence>(InputBuilder::new());
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].severity, Severity::Warning);
    assert_eq!(found[0].field.as_deref(), Some("shots"));

    let out = host.execute::<Sequence>(InputBuilder::new()).unwrap();
    assert!(takes(&out).is_empty());
    assert_eq!(out.summary, "0 takes");
    assert!(Canvas::decode(&host.outputs()[0].bytes).is_ok());
}

#[test]
fn bad_input_and_params() {
    let host = host();
    let err = host
        .execute::<Sequence>(InputBuilder::new().connect("shots", "just text"))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    let found = host.validate::<Sequence>(
        InputBuilder::new()
            .param("columns", 9)
            .connect("shots", shot("1 · A", "1.1", None)),
    );
    assert!(found[0].is_error());
    assert_eq!(found[0].field.as_deref(), Some("columns"));
}

#[test]
fn cancellation_stops_before_writing() {
    let host = host().cancel_now();
    let err = host
        .execute::<Sequence>(
            InputBuilder::new().connect("shots", shot("1 · A", "1.1", Some("take-a"))),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Cancelled);
    assert!(host.outputs().is_empty());
}
