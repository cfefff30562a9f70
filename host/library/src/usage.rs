//! Who references an asset: nodes of the project's latest graph (an `asset-ref` parameter,
//! or any parameter whose value is the id, also inside JSON) and styles listing it as an
//! example. An asset with referrers is not deleted.

use std::fmt;

use mdc_runtime::graph::Graph;
use mdc_runtime::plugin::types::ParamValue;
use mdc_store::{Asset, Page, Store};
use serde_json::Value as Json;

use super::{AssetKind, LibraryError, fields};

/// Something that references an asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Referrer {
    /// A node of the project's latest graph.
    Node {
        /// Its label as the canvas shows it.
        label: String,
        /// Its id.
        id: String,
    },
    /// A style that lists the asset among its example images.
    Style {
        /// The style's name.
        name: String,
        /// The style's asset id.
        id: String,
    },
}

impl fmt::Display for Referrer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Referrer::Node { label, id } => write!(f, "node “{label}” ({id})"),
            Referrer::Style { name, id } => write!(f, "style “{name}” ({id})"),
        }
    }
}

/// Everything that references `asset` in its project.
pub(crate) async fn referrers(
    store: &dyn Store,
    asset: &Asset,
) -> Result<Vec<Referrer>, LibraryError> {
    let project = &asset.data.project_id;
    let mut found = match store.latest_graph(project).await? {
        Some(version) => {
            let graph = mdc_wire::decode_graph(&version.snapshot)
                .map_err(|err| LibraryError::UnreadableGraph(err.to_string()))?;
            nodes_referencing(&graph, &asset.id)
        }
        None => Vec::new(),
    };
    if AssetKind::of_stored(&asset.data.kind) == Some(AssetKind::Image) {
        for style in all_of_kind(store, project, AssetKind::Style).await? {
            let listed = serde_json::from_str(&style.data.fields)
                .ok()
                .and_then(|fields: Json| fields.as_object().map(fields::example_ids))
                .unwrap_or_default();
            if listed.contains(&asset.id) {
                found.push(Referrer::Style {
                    name: style.data.name,
                    id: style.id,
                });
            }
        }
    }
    Ok(found)
}

/// Every asset of one kind in a project, page by page.
pub(crate) async fn all_of_kind(
    store: &dyn Store,
    project_id: &str,
    kind: AssetKind,
) -> Result<Vec<Asset>, LibraryError> {
    let mut all = Vec::new();
    loop {
        let page = Page {
            offset: all.len() as u32,
            limit: Page::MAX_LIMIT,
        };
        let batch = store
            .list_assets(project_id, Some(kind.as_str()), page)
            .await?;
        let done = batch.len() < Page::MAX_LIMIT as usize;
        all.extend(batch);
        if done {
            return Ok(all);
        }
    }
}

/// Nodes with a parameter that mentions `asset_id`.
pub(crate) fn nodes_referencing(graph: &Graph, asset_id: &str) -> Vec<Referrer> {
    graph
        .nodes()
        .filter(|node| node.params.values().any(|value| mentions(value, asset_id)))
        .map(|node| Referrer::Node {
            label: node.name().to_string(),
            id: node.id.as_str().to_string(),
        })
        .collect()
}

/// Whether a parameter value is the id or, for JSON, contains it as a string anywhere.
fn mentions(value: &ParamValue, asset_id: &str) -> bool {
    match value {
        ParamValue::AssetRef(text) | ParamValue::Text(text) | ParamValue::Choice(text) => {
            text.trim() == asset_id
        }
        ParamValue::Json(text) => match serde_json::from_str::<Json>(text) {
            Ok(json) => json_mentions(&json, asset_id),
            // Not JSON after all: any occurrence counts, to be safe.
            Err(_) => text.contains(asset_id),
        },
        ParamValue::Number(_) | ParamValue::Integer(_) | ParamValue::Boolean(_) => false,
    }
}

fn json_mentions(json: &Json, asset_id: &str) -> bool {
    match json {
        Json::String(text) => text.trim() == asset_id,
        Json::Array(items) => items.iter().any(|item| json_mentions(item, asset_id)),
        Json::Object(map) => map.values().any(|item| json_mentions(item, asset_id)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use mdc_runtime::graph::Node;

    use super::*;

    #[test]
    fn finds_asset_refs_plain_values_and_json_mentions() {
        let id = "0190abc";
        let graph = Graph::from_parts(
            [
                Node::new("maya", "character", "0.1.0")
                    .with_label("Maya")
                    .with_param("asset", ParamValue::AssetRef(id.into())),
                Node::new("shot-1", "shot", "0.1.0").with_param(
                    "refs",
                    ParamValue::Json(format!(r#"{{"images":[{{"id":"{id}"}}]}}"#)),
                ),
                Node::new("note", "note", "0.1.0").with_param("text", ParamValue::Text(id.into())),
                Node::new("other", "character", "0.1.0")
                    .with_param("asset", ParamValue::AssetRef("0190abcd".into()))
                    .with_param("text", ParamValue::Text(format!("see {id}"))),
            ],
            [],
        );
        let found: Vec<String> = nodes_referencing(&graph, id)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(
            found.contains(&"node “Maya” (maya)".to_string()),
            "{found:?}"
        );
        assert!(!found.iter().any(|f| f.contains("(other)")), "{found:?}");
    }
}
