//! Node `environment`: a location (interior or exterior, mood, 2D or 3D),
//! optionally backed by an environment asset from the project library.
#![warn(missing_docs)]

use mdc_sdk::library::{LibraryAsset, check_asset_param, load_asset_param, text_or_field};
use mdc_sdk::prelude::*;
use mdc_sdk::serde_json::{Map, Value as Json, json};

/// The `environment` node type.
pub struct Environment;

pub use asset_kinds::{DIMENSIONS, LOCATION_TYPES as TYPES, MOODS};

/// Whether an asset field maps onto one of the node's own parameters: every field the
/// library defines for an environment does.
fn own_field(name: &str) -> bool {
    asset_kinds::ENVIRONMENT.field(name).is_some()
}

/// The asset's other fields, kept as details.
fn details(asset: Option<&LibraryAsset>) -> Map<String, Json> {
    asset
        .map(|a| {
            a.fields
                .iter()
                .filter(|(k, _)| !own_field(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// A choice parameter, else the asset field when it is one of the options.
fn choice(
    input: &NodeInput,
    param: &str,
    asset: Option<&LibraryAsset>,
    options: &[(&str, &str)],
) -> Option<String> {
    text_or_field(input, param, asset, param)
        .map(|v| v.to_ascii_lowercase())
        .filter(|v| options.iter().any(|(o, _)| o == v))
}

impl Node for Environment {
    fn describe() -> NodeDescriptor {
        NodeDescriptor::new("environment", "0.1.0", "Environment")
            .category("Assets")
            .icon("🏞️")
            .docs(
                "A location: **interior** or **exterior**, a **mood** (time of day, weather, \
                 light), 2D or 3D, and a description. Pick an environment asset from the \
                 library for its reference; settings made here override the library's. \
                 Connect it to shots; draft frames light the scene by its mood.",
            )
            .output(
                Port::one("environment", "Environment", "environment")
                    .help("Type, mood, dimension, description, library asset and details as JSON."),
            )
            .param(Param::choice("type", "Type", TYPES.iter().copied()))
            .param(Param::choice("mood", "Mood", MOODS.iter().copied()))
            .param(Param::choice(
                "dimension",
                "Dimension",
                DIMENSIONS.iter().copied(),
            ))
            .param(Param::multiline("description", "Description"))
            .param(
                Param::asset_ref("asset", "Library Asset", "environment")
                    .help("The location's entry in the project library."),
            )
            .capability(Capability::AssetRead)
    }

    fn validate(input: &NodeInput) -> Vec<Diagnostic> {
        let descriptor = Self::describe();
        let mut found = validate_params(&descriptor, input);
        found.extend(check_asset_param(&descriptor, input, "asset"));
        found
    }

    fn execute(input: NodeInput) -> Result<NodeOutputs, NodeError> {
        let asset = load_asset_param(&Self::describe(), &input, "asset")?;
        let asset = asset.as_ref();
        let kind = choice(&input, "type", asset, TYPES);
        let mood = choice(&input, "mood", asset, MOODS);
        let value = json!({
            "type": kind,
            "mood": mood,
            "dimension": choice(&input, "dimension", asset, DIMENSIONS),
            "description": text_or_field(&input, "description", asset, "description"),
            "asset": asset.map(LibraryAsset::ref_json),
            "details": details(asset),
        });
        let summary = [kind, mood]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · ");
        Ok(NodeOutputs::new()
            .with("environment", value)
            .summary(if summary.is_empty() {
                "environment".to_owned()
            } else {
                summary
            }))
    }
}

mdc_sdk::export_node!(Environment);
