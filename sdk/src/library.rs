//! Library assets chosen through `asset-ref` parameters.
//!
//! Asset nodes (a character, a style, an environment) point at an entry of the
//! project library by opaque id. The same three checks apply to every such
//! parameter: nothing chosen yet (a warning), an id the library does not know
//! (an error), and an asset of the wrong kind (an error). [`check_asset_param`]
//! turns them into diagnostics for `validate`; [`load_asset_param`] returns the
//! asset (or the same problems as an error) for `execute`. Both read the
//! expected kind from the parameter's [`ParamType::AssetRef`] in the
//! descriptor, and both need the `asset-read` capability.
//!
//! ```
//! use mdc_sdk::library::{check_asset_param, load_asset_param};
//! use mdc_sdk::prelude::*;
//! use mdc_sdk::testing::{InputBuilder, TestAsset, TestHost};
//!
//! struct Prop;
//! impl Node for Prop {
//!     fn describe() -> NodeDescriptor {
//!         NodeDescriptor::new("prop", "0.1.0", "Prop")
//!             .param(Param::asset_ref("asset", "Asset", "prop"))
//!             .capability(Capability::AssetRead)
//!     }
//!     fn validate(input: &NodeInput) -> Vec<Diagnostic> {
//!         check_asset_param(&Self::describe(), input, "asset")
//!     }
//!     fn execute(input: NodeInput) -> Result<NodeOutputs, NodeError> {
//!         let asset = load_asset_param(&Self::describe(), &input, "asset")?;
//!         let name = asset.map(|a| a.name).unwrap_or_default();
//!         Ok(NodeOutputs::new().with("text", name))
//!     }
//! }
//!
//! let host = TestHost::new().asset(TestAsset::new("a1", "image/png", "").name("Lantern").kind("prop"));
//! let out = host.execute::<Prop>(InputBuilder::new().param("asset", ParamValue::asset_ref("a1"))).unwrap();
//! assert_eq!(out.get("text").and_then(Value::as_text), Some("Lantern"));
//! assert_eq!(host.validate::<Prop>(InputBuilder::new()).len(), 1); // nothing chosen: a warning
//! ```

use serde_json::{Map, Value as Json};

use crate::host;
use crate::types::{
    AssetMetadata, AssetRef, Diagnostic, NodeDescriptor, NodeError, NodeInput, ParamType,
};

/// A library asset as the host describes it, with its kind-specific fields parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct LibraryAsset {
    /// Opaque asset id.
    pub id: String,
    /// Media type of the asset's bytes: `image/png`.
    pub mime: String,
    /// Human name: "Maya, reference sheet".
    pub name: String,
    /// Library kind: `character`, `style`, `environment`, …
    pub kind: String,
    /// Kind-specific fields; an empty object when the library stores none.
    pub fields: Map<String, Json>,
}

impl LibraryAsset {
    /// Builds the asset from host metadata; fields that are not a JSON object
    /// are an error (the library promises an object).
    pub fn from_metadata(meta: AssetMetadata) -> Result<Self, NodeError> {
        let fields = if meta.fields.trim().is_empty() {
            Map::new()
        } else {
            match meta.fields_json()? {
                Json::Object(map) => map,
                Json::Null => Map::new(),
                _ => {
                    return Err(NodeError::failed(format!(
                        "library asset `{}` has fields that are not a JSON object",
                        meta.id
                    )));
                }
            }
        };
        Ok(LibraryAsset {
            id: meta.id,
            mime: meta.mime,
            name: meta.name,
            kind: meta.kind,
            fields,
        })
    }

    /// The asset as a reference (`id` and `mime`).
    pub fn asset_ref(&self) -> AssetRef {
        AssetRef::new(&self.id, &self.mime)
    }

    /// The reference as JSON: `{"id": …, "mime": …}`, the shape nodes put in
    /// their JSON outputs.
    pub fn ref_json(&self) -> Json {
        serde_json::json!({ "id": self.id, "mime": self.mime })
    }

    /// Field `key`, if the library stores it.
    pub fn field(&self, key: &str) -> Option<&Json> {
        self.fields.get(key)
    }

    /// Field `key` as text, if it is a non-empty string.
    pub fn field_text(&self, key: &str) -> Option<&str> {
        self.field(key)
            .and_then(Json::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// Field `key` as a list of strings. Accepts a JSON array of strings, of
    /// numbers, or of objects with an `id` (asset references), or a string of
    /// comma-separated items; anything else gives an empty list.
    pub fn field_list(&self, key: &str) -> Vec<String> {
        match self.field(key) {
            Some(Json::String(s)) => comma_list(s),
            Some(Json::Array(items)) => items
                .iter()
                .filter_map(|item| match item {
                    Json::String(s) => Some(s.trim().to_owned()),
                    Json::Number(n) => Some(n.to_string()),
                    Json::Object(o) => o.get("id").and_then(Json::as_str).map(str::to_owned),
                    _ => None,
                })
                .filter(|s| !s.is_empty())
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// The asset kind parameter `param` of `descriptor` accepts, if it is an
/// `asset-ref` parameter.
pub fn asset_kind_of<'a>(descriptor: &'a NodeDescriptor, param: &str) -> Option<&'a str> {
    match descriptor.find_param(param).map(|p| &p.param_type) {
        Some(ParamType::AssetRef(kind)) => Some(kind),
        _ => None,
    }
}

/// The library asset chosen in `asset-ref` parameter `param`: `Ok(None)` when
/// nothing is chosen, an invalid-input error when the library does not know the
/// id or the asset is of another kind than the parameter accepts. An asset with
/// an empty kind is accepted (the host did not classify it). Needs `asset-read`.
pub fn load_asset_param(
    descriptor: &NodeDescriptor,
    input: &NodeInput,
    param: &str,
) -> Result<Option<LibraryAsset>, NodeError> {
    let Some(id) = input
        .asset_ref(param)
        .map(str::trim)
        .filter(|id| !id.is_empty())
    else {
        return Ok(None);
    };
    let meta = host::asset_metadata(id).map_err(|why| {
        NodeError::invalid_input(format!(
            "Library asset `{id}` was not found ({why}); choose another one."
        ))
    })?;
    let asset = LibraryAsset::from_metadata(meta)?;
    if let Some(wanted) = asset_kind_of(descriptor, param)
        && !wanted.is_empty()
        && !asset.kind.is_empty()
        && !asset.kind.eq_ignore_ascii_case(wanted)
    {
        return Err(NodeError::invalid_input(format!(
            "Library asset `{}` (“{}”) is {} {} asset, not {} {wanted} asset.",
            asset.id,
            asset.name,
            article(&asset.kind),
            asset.kind,
            article(wanted),
        )));
    }
    Ok(Some(asset))
}

/// Diagnostics for `asset-ref` parameter `param`: a warning when no asset is
/// chosen ("No library asset chosen"), an error when the id is unknown or the
/// asset is of the wrong kind. Needs `asset-read`.
pub fn check_asset_param(
    descriptor: &NodeDescriptor,
    input: &NodeInput,
    param: &str,
) -> Vec<Diagnostic> {
    match load_asset_param(descriptor, input, param) {
        Ok(Some(_)) => Vec::new(),
        Ok(None) => {
            let kind = asset_kind_of(descriptor, param).unwrap_or("asset");
            vec![Diagnostic::warning(
                param,
                format!(
                    "No library asset chosen; pick {} {kind} from the library.",
                    article(kind)
                ),
            )]
        }
        Err(e) => vec![Diagnostic::error(param, e.message)],
    }
}

/// The trimmed, non-empty text of parameter `param`, else the asset's text
/// field `field`: a node's own setting wins over what the library says.
pub fn text_or_field(
    input: &NodeInput,
    param: &str,
    asset: Option<&LibraryAsset>,
    field: &str,
) -> Option<String> {
    input
        .text(param)
        .or_else(|| input.choice(param))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .or_else(|| asset.and_then(|a| a.field_text(field)))
        .map(str::to_owned)
}

/// "an" before a vowel, else "a".
fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u', 'A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    }
}

/// Splits comma-separated text into trimmed, non-empty items:
/// `"noir, rain,, neon "` → `["noir", "rain", "neon"]`. Newlines and
/// semicolons separate items too.
pub fn comma_list(text: &str) -> Vec<String> {
    text.split([',', ';', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}
