//! Node `style`: a visual style (keywords and a colour palette), optionally
//! backed by a style asset from the project library.
#![warn(missing_docs)]

use mdc_sdk::library::{LibraryAsset, check_asset_param, comma_list, load_asset_param};
use mdc_sdk::prelude::*;
use mdc_sdk::serde_json::json;

/// The `style` node type.
pub struct Style;

pub use asset_kinds::normalise_hex;

/// Appends the items of `extra` not yet in `list` (case-insensitive).
fn merge(list: &mut Vec<String>, extra: impl IntoIterator<Item = String>) {
    for item in extra {
        if !list.iter().any(|k| k.eq_ignore_ascii_case(&item)) {
            list.push(item);
        }
    }
}

/// The palette: the `palette` parameter's valid colours, then the asset's.
fn palette(input: &NodeInput, asset: Option<&LibraryAsset>) -> Vec<String> {
    let mut palette = Vec::new();
    let own = comma_list(input.text("palette").unwrap_or(""));
    let library = asset.map(|a| a.field_list("palette")).unwrap_or_default();
    merge(
        &mut palette,
        own.iter().chain(&library).filter_map(|c| normalise_hex(c)),
    );
    palette
}

impl Node for Style {
    fn describe() -> NodeDescriptor {
        NodeDescriptor::new("style", "0.1.0", "Style")
            .category("Assets")
            .icon("🎨")
            .docs(
                "A look for the film: **keywords** (`noir, rain-slick, anamorphic`) and a \
                 **palette** of hex colours (`#1b2a41, #c9a227`). Pick a style asset from the \
                 library to add its keywords, palette and example images. Connect it to \
                 shots; draft frames are tinted with the palette.",
            )
            .output(
                Port::one("style", "Style", "style")
                    .help("Keywords, palette, library asset and example images as JSON."),
            )
            .param(Param::text("keywords", "Keywords").help("Comma-separated: noir, rain-slick."))
            .param(
                Param::text("palette", "Palette")
                    .help("Comma-separated hex colours: #1b2a41, #c9a227."),
            )
            .param(
                Param::asset_ref("asset", "Library Asset", "style")
                    .help("The style's entry in the project library."),
            )
            .capability(Capability::AssetRead)
    }

    fn validate(input: &NodeInput) -> Vec<Diagnostic> {
        let descriptor = Self::describe();
        let mut found = validate_params(&descriptor, input);
        found.extend(check_asset_param(&descriptor, input, "asset"));
        let bad: Vec<String> = comma_list(input.text("palette").unwrap_or(""))
            .into_iter()
            .filter(|c| normalise_hex(c).is_none())
            .collect();
        if !bad.is_empty() {
            found.push(Diagnostic::error(
                "palette",
                format!(
                    "Not a hex colour: {}. Write colours like #1b2a41.",
                    bad.join(", ")
                ),
            ));
        }
        found
    }

    fn execute(input: NodeInput) -> Result<NodeOutputs, NodeError> {
        let asset = load_asset_param(&Self::describe(), &input, "asset")?;
        let asset = asset.as_ref();
        let mut keywords = comma_list(input.text("keywords").unwrap_or(""));
        merge(
            &mut keywords,
            asset.map(|a| a.field_list("keywords")).unwrap_or_default(),
        );
        let palette = palette(&input, asset);
        let examples = asset.map(|a| a.field_list("examples")).unwrap_or_default();
        let summary = format!(
            "{} keyword{} · {} colour{}",
            keywords.len(),
            if keywords.len() == 1 { "" } else { "s" },
            palette.len(),
            if palette.len() == 1 { "" } else { "s" },
        );
        let value = json!({
            "keywords": keywords,
            "palette": palette,
            "asset": asset.map(LibraryAsset::ref_json),
            "example_images": examples,
        });
        Ok(NodeOutputs::new().with("style", value).summary(summary))
    }
}

mdc_sdk::export_node!(Style);
