//! Tests of the library-asset helpers, the graph-node builders, JSON inputs
//! and the in-memory test graph.

use mdc_sdk::library::{
    LibraryAsset, asset_kind_of, check_asset_param, comma_list, load_asset_param, text_or_field,
};
use mdc_sdk::prelude::*;
use mdc_sdk::serde_json::{Value as Json, json};
use mdc_sdk::testing::{InputBuilder, TestAsset, TestGraph, TestHost};

/// A node with one character asset parameter.
struct Card;

impl Node for Card {
    fn describe() -> NodeDescriptor {
        NodeDescriptor::new("card", "0.1.0", "Card")
            .param(Param::text("name", "Name"))
            .param(Param::asset_ref("asset", "Asset", "character"))
            .capability(Capability::AssetRead)
    }

    fn validate(input: &NodeInput) -> Vec<Diagnostic> {
        check_asset_param(&Self::describe(), input, "asset")
    }

    fn execute(input: NodeInput) -> Result<NodeOutputs, NodeError> {
        let asset = load_asset_param(&Self::describe(), &input, "asset")?;
        let name = text_or_field(&input, "name", asset.as_ref(), "name").unwrap_or_default();
        let eyes = asset
            .as_ref()
            .and_then(|a| a.field_text("eyes"))
            .unwrap_or("")
            .to_owned();
        let refs = asset.as_ref().map(LibraryAsset::ref_json);
        Ok(NodeOutputs::new()
            .with("text", format!("{name}|{eyes}"))
            .with("asset", json!(refs)))
    }
}

/// A node without `asset-read`.
struct Blind;

impl Node for Blind {
    fn describe() -> NodeDescriptor {
        NodeDescriptor::new("blind", "0.1.0", "Blind").param(Param::asset_ref(
            "asset",
            "Asset",
            "environment",
        ))
    }

    fn validate(input: &NodeInput) -> Vec<Diagnostic> {
        check_asset_param(&Self::describe(), input, "asset")
    }
}

fn library() -> TestHost {
    TestHost::new()
        .asset(
            TestAsset::new("maya", "image/png", vec![1, 2, 3])
                .name("Maya, reference sheet")
                .kind("character")
                .fields(
                    json!({"name": "Maya Lind", "eyes": "green", "looks": ["a", {"id": "b"}, 3]}),
                ),
        )
        .asset(TestAsset::new("noir", "image/png", vec![1]).kind("style"))
        .asset(TestAsset::new("plain", "image/png", vec![1]))
        .asset(
            TestAsset::new("broken", "image/png", vec![1])
                .kind("character")
                .fields("[1]"),
        )
}

#[test]
fn asset_checks_cover_missing_unknown_and_wrong_kind() {
    let host = library();
    let missing = host.validate::<Card>(InputBuilder::new());
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].severity, Severity::Warning);
    assert_eq!(
        missing[0].message,
        "No library asset chosen; pick a character from the library."
    );
    assert_eq!(missing[0].field.as_deref(), Some("asset"));

    let unknown =
        host.validate::<Card>(InputBuilder::new().param("asset", ParamValue::asset_ref("ghost")));
    assert!(unknown[0].is_error());
    assert!(unknown[0].message.contains("`ghost` was not found"));

    let wrong =
        host.validate::<Card>(InputBuilder::new().param("asset", ParamValue::asset_ref("noir")));
    assert!(wrong[0].is_error());
    assert!(
        wrong[0]
            .message
            .contains("is a style asset, not a character asset")
    );

    // An unclassified asset is accepted; fields that are not an object are not.
    let plain =
        host.validate::<Card>(InputBuilder::new().param("asset", ParamValue::asset_ref("plain")));
    assert!(plain.is_empty());
    let broken =
        host.validate::<Card>(InputBuilder::new().param("asset", ParamValue::asset_ref("broken")));
    assert!(broken[0].is_error());

    // Without `asset-read` the lookup fails, and says why.
    let blind =
        host.validate::<Blind>(InputBuilder::new().param("asset", ParamValue::asset_ref("maya")));
    assert!(blind[0].message.contains("asset-read"));
    let missing_env = host.validate::<Blind>(InputBuilder::new());
    assert!(missing_env[0].message.contains("pick an environment"));
}

#[test]
fn loaded_assets_merge_with_params() {
    let host = library();
    let out = host
        .execute::<Card>(InputBuilder::new().param("asset", ParamValue::asset_ref("maya")))
        .unwrap();
    assert_eq!(
        out.get("text").and_then(Value::as_text),
        Some("Maya Lind|green")
    );
    let refs: Json = out.get("asset").unwrap().parse_json().unwrap();
    assert_eq!(refs, json!({"id": "maya", "mime": "image/png"}));

    let named = host
        .execute::<Card>(
            InputBuilder::new()
                .param("name", "  Maya  ")
                .param("asset", ParamValue::asset_ref("maya")),
        )
        .unwrap();
    assert_eq!(
        named.get("text").and_then(Value::as_text),
        Some("Maya|green")
    );

    let err = host
        .execute::<Card>(InputBuilder::new().param("asset", ParamValue::asset_ref("noir")))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);

    let none = host.execute::<Card>(InputBuilder::new()).unwrap();
    assert_eq!(none.get("asset").and_then(Value::as_json), Some("null"));
}

#[test]
fn library_asset_fields() {
    let meta = AssetMetadata {
        id: "maya".into(),
        mime: "image/png".into(),
        size: 3,
        name: "Maya".into(),
        kind: "character".into(),
        fields: json!({"looks": ["a", {"id": "b"}, 3, null], "tags": "x, y", "empty": " "})
            .to_string(),
    };
    let asset = LibraryAsset::from_metadata(meta).unwrap();
    assert_eq!(asset.field_list("looks"), ["a", "b", "3"]);
    assert_eq!(asset.field_list("tags"), ["x", "y"]);
    assert!(asset.field_list("nothing").is_empty());
    assert_eq!(asset.field_text("empty"), None);
    assert_eq!(asset.asset_ref(), AssetRef::new("maya", "image/png"));
    assert_eq!(asset_kind_of(&Card::describe(), "asset"), Some("character"));
    assert_eq!(asset_kind_of(&Card::describe(), "name"), None);
    assert_eq!(
        comma_list(" noir; rain ,,\nneon "),
        ["noir", "rain", "neon"]
    );
}

#[test]
fn connected_json_parses_every_value() {
    let input = InputBuilder::new()
        .connect_from("characters", "maya", "character", json!({"name": "Maya"}))
        .connect_from("characters", "tom", "character", json!({"name": "Tom"}))
        .build();
    let names: Vec<Json> = input.connected_json("characters").unwrap();
    assert_eq!(names, [json!({"name": "Maya"}), json!({"name": "Tom"})]);
    assert!(input.connected_json::<Json>("nothing").unwrap().is_empty());

    let bad = InputBuilder::new()
        .connect_from("characters", "note", "text", "just text")
        .build();
    let err = bad.connected_json::<Json>("characters").unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert!(err.message.contains("`note` sent a text value"));
    assert_eq!(Value::asset("a", "image/png").kind(), "asset");
    assert_eq!(Value::from(1.5).kind(), "number");
}

#[test]
fn graph_nodes_and_the_test_graph() {
    let node = GraphNode::new("c1", "character", "Maya")
        .with_parent("scene-1")
        .with_param("name", "Maya")
        .with_param("name", "Maya Lind");
    assert_eq!(node.text("name"), Some("Maya Lind"));
    assert_eq!(node.params.len(), 1);
    assert_eq!(node.parent.as_deref(), Some("scene-1"));

    let mut graph = TestGraph::with_nodes([node]);
    graph.apply(
        &GraphPatch::new()
            .upsert_node(PatchNode::new("scene-1", "subflow", "1 · INT. HALL").at(0.0, 10.0))
            .upsert_node(
                PatchNode::new("c1", "character", "Maya L.")
                    .param("age", 31)
                    .at(5.0, 5.0),
            )
            .upsert_node(PatchNode::new("s1", "shot", "1.1").parent("scene-1"))
            .upsert_edge(PatchEdge::new(
                "c1--s1",
                "c1",
                "character",
                "s1",
                "characters",
            )),
    );
    let c1 = graph.node("c1").unwrap();
    assert_eq!(c1.label, "Maya L.");
    assert_eq!(
        c1.text("name"),
        Some("Maya Lind"),
        "params not in the patch stay"
    );
    assert_eq!(c1.param("age"), Some(&ParamValue::Integer(31)));
    assert_eq!(c1.parent, None, "an upsert sets the parent");
    assert_eq!(graph.position("scene-1").map(|p| p.y), Some(10.0));
    assert_eq!(graph.children_of("scene-1").count(), 1);
    assert_eq!(graph.edges_to("s1").count(), 1);

    // Re-upserting an edge replaces it; removing a node takes its edges along.
    graph.apply(&GraphPatch::new().upsert_edge(PatchEdge::new(
        "c1--s1",
        "c1",
        "character",
        "s1",
        "characters",
    )));
    assert_eq!(graph.edges().len(), 1);
    graph.apply(
        &GraphPatch::new()
            .remove_node("s1")
            .remove_edge("no-such-edge"),
    );
    assert!(graph.edges().is_empty());
    assert!(graph.node("s1").is_none());

    // The graph feeds the next action run.
    let input = InputBuilder::new()
        .graph(graph.nodes().to_vec())
        .build_action();
    assert_eq!(input.graph.len(), 2);
    assert!(input.graph_node("scene-1").is_some());
}
