//! Node `character`: a cast member, optionally backed by a character asset
//! from the project library.
#![warn(missing_docs)]

use mdc_sdk::library::{LibraryAsset, check_asset_param, load_asset_param, text_or_field};
use mdc_sdk::prelude::*;
use mdc_sdk::serde_json::{Map, Value as Json, json};

/// The `character` node type.
pub struct Character;

/// Asset fields that map onto the node's own parameters rather than traits.
const OWN_FIELDS: &[&str] = &["name", "age", "role", "personality", "traits"];

pub use asset_kinds::ROLES;

/// The character's traits: the asset's fields other than name, age, role and
/// personality, merged with the asset's `traits` object (which wins).
pub fn traits(asset: Option<&LibraryAsset>) -> Map<String, Json> {
    let Some(asset) = asset else {
        return Map::new();
    };
    let mut traits: Map<String, Json> = asset
        .fields
        .iter()
        .filter(|(k, _)| !OWN_FIELDS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(Json::Object(nested)) = asset.field("traits") {
        for (k, v) in nested {
            traits.insert(k.clone(), v.clone());
        }
    }
    traits
}

/// The age: the `age` parameter, else the asset's `age` field when it is a
/// whole number in 0..=150.
fn age(input: &NodeInput, asset: Option<&LibraryAsset>) -> Option<i64> {
    input.integer("age").or_else(|| {
        asset
            .and_then(|a| a.field("age"))
            .and_then(Json::as_i64)
            .filter(|a| (0..=150).contains(a))
    })
}

/// The character's name: the `name` parameter, else the asset's `name`
/// field, else the asset's library name.
fn name(input: &NodeInput, asset: Option<&LibraryAsset>) -> Option<String> {
    text_or_field(input, "name", asset, "name").or_else(|| {
        asset
            .map(|a| a.name.trim().to_owned())
            .filter(|n| !n.is_empty())
    })
}

impl Node for Character {
    fn describe() -> NodeDescriptor {
        NodeDescriptor::new("character", "0.1.0", "Character")
            .category("Assets")
            .icon("🧑")
            .docs(
                "A cast member. Pick a **character asset** from the library for the look \
                 (reference sheet, traits); the name, age, role and personality set here \
                 override what the library says. Connect it to the shots the character \
                 appears in.",
            )
            .output(
                Port::one("character", "Character", "character")
                    .help("Name, age, role, personality, library asset and traits as JSON."),
            )
            .param(Param::text("name", "Name").help("As the script names the character."))
            .param(Param::integer("age", "Age", 0..=150))
            .param(
                Param::choice("role", "Role", ROLES.iter().copied()).help("How big the part is."),
            )
            .param(
                Param::multiline("personality", "Personality")
                    .help("A few words on who they are; drafts use it for posture and framing."),
            )
            .param(
                Param::asset_ref("asset", "Library Asset", "character")
                    .help("The character's entry in the project library."),
            )
            .capability(Capability::AssetRead)
    }

    fn validate(input: &NodeInput) -> Vec<Diagnostic> {
        let descriptor = Self::describe();
        let mut found = validate_params(&descriptor, input);
        found.extend(check_asset_param(&descriptor, input, "asset"));
        let named = input.text("name").is_some_and(|n| !n.trim().is_empty());
        if !named && input.asset_ref("asset").is_none() {
            found.push(Diagnostic::warning(
                "name",
                "The character has no name; give one so shots can credit them.",
            ));
        }
        found
    }

    fn execute(input: NodeInput) -> Result<NodeOutputs, NodeError> {
        let asset = load_asset_param(&Self::describe(), &input, "asset")?;
        let asset = asset.as_ref();
        let name = name(&input, asset);
        let role = text_or_field(&input, "role", asset, "role");
        let value = json!({
            "name": name,
            "age": age(&input, asset),
            "role": role,
            "personality": text_or_field(&input, "personality", asset, "personality"),
            "asset": asset.map(LibraryAsset::ref_json),
            "traits": traits(asset),
        });
        let summary = match (&name, &role) {
            (Some(n), Some(r)) => format!("{n} · {r}"),
            (Some(n), None) => n.clone(),
            (None, _) => "unnamed character".to_owned(),
        };
        Ok(NodeOutputs::new().with("character", value).summary(summary))
    }
}

mdc_sdk::export_node!(Character);
