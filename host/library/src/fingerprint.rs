//! What a node sees of the library assets its parameters reference, as one digest for the
//! result cache.
//!
//! The cache key hashes an `asset-ref` parameter by its id only, and ids never change when an
//! asset is updated. Folding this fingerprint into the key makes every node that references
//! an asset regenerate after the asset's name, fields or image change, and reuse its take
//! while they do not.

use std::collections::BTreeSet;

use mdc_runtime::plugin::types::{ParamEntry, ParamValue};
use mdc_store::{AssetStore, StoreError};
use sha2::{Digest, Sha256};

use super::{LibraryError, fields};

/// The asset ids chosen in `asset-ref` parameters.
pub fn asset_ref_ids(params: &[ParamEntry]) -> Vec<String> {
    params
        .iter()
        .filter_map(|param| match &param.value {
            ParamValue::AssetRef(id) if !id.trim().is_empty() => Some(id.trim().to_string()),
            _ => None,
        })
        .collect()
}

/// A digest (hex SHA-256) of what the assets `asset_ids` hold: kind, name, fields and content
/// hash, and for a style the content hashes of its example images. Empty when `asset_ids` is
/// empty, so keys of nodes without references stay as they were. Order and duplicates do not
/// matter; an unknown id is part of the digest as unknown (the node's own validation reports it).
pub async fn reference_fingerprint(
    store: &dyn AssetStore,
    asset_ids: &[String],
) -> Result<String, LibraryError> {
    let ids: BTreeSet<&str> = asset_ids.iter().map(String::as_str).collect();
    if ids.is_empty() {
        return Ok(String::new());
    }
    let mut hasher = Sha256::new();
    field(&mut hasher, "mdc-asset-references-v1");
    for id in ids {
        field(&mut hasher, id);
        let asset = match store.asset(id).await {
            Ok(asset) => asset,
            Err(StoreError::NotFound { .. }) => {
                field(&mut hasher, "unknown");
                continue;
            }
            Err(err) => return Err(err.into()),
        };
        field(&mut hasher, &asset.data.kind);
        field(&mut hasher, &asset.data.name);
        field(&mut hasher, &asset.data.sha256);
        field(&mut hasher, &asset.data.fields);
        let examples = serde_json::from_str::<serde_json::Value>(&asset.data.fields)
            .ok()
            .and_then(|json| json.as_object().map(fields::example_ids))
            .unwrap_or_default();
        for example in examples {
            let hash = match store.asset(&example).await {
                Ok(image) => image.data.sha256,
                Err(StoreError::NotFound { .. }) => "unknown".to_string(),
                Err(err) => return Err(err.into()),
            };
            field(&mut hasher, &hash);
        }
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Length-prefixed, so `("ab", "c")` and `("a", "bc")` differ.
fn field(hasher: &mut Sha256, text: &str) {
    hasher.update((text.len() as u64).to_le_bytes());
    hasher.update(text.as_bytes());
}
