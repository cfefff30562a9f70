//! The result-cache key: the same plugin code, parameters, upstream content, tier and seed give
//! the same key, so the take can be reused instead of generated again.

use sha2::{Digest, Sha256};

use crate::plugin::types::{ParamEntry, ParamValue, PortValues, QualityTier, Value};

/// Tells the content hash of an asset (its bytes' SHA-256), which the store knows.
pub trait AssetHashes {
    /// SHA-256 (hex) of the asset's bytes, or `None` when the asset is unknown.
    fn content_hash(&self, asset_id: &str) -> Option<String>;
}

/// Why a key could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("input {port:?} refers to asset {asset_id:?}, which is not in the library")]
pub struct UnknownAsset {
    /// Input port of the value.
    pub port: String,
    /// The missing asset.
    pub asset_id: String,
}

/// Everything a take's identity depends on.
#[derive(Debug, Clone, Copy)]
pub struct KeyInputs<'a> {
    /// SHA-256 of the plugin component.
    pub plugin_digest: &'a str,
    /// Parameters with defaults applied.
    pub params: &'a [ParamEntry],
    /// Connected upstream values.
    pub inputs: &'a [PortValues],
    /// Tier.
    pub tier: QualityTier,
    /// Seed.
    pub seed: u64,
}

/// Computes the cache key (hex SHA-256) over a canonical encoding of the inputs: parameter
/// and port order do not matter, asset ids are replaced by their content hashes, so
/// re-uploading the same image keeps the key.
pub fn cache_key(inputs: KeyInputs<'_>, assets: &dyn AssetHashes) -> Result<String, UnknownAsset> {
    let mut hasher = Sha256::new();
    field(&mut hasher, "mdc-cache-key-v1");
    field(&mut hasher, inputs.plugin_digest);
    field(&mut hasher, inputs.tier.id());
    field(&mut hasher, &inputs.seed.to_string());
    let mut params: Vec<&ParamEntry> = inputs.params.iter().collect();
    params.sort_by(|a, b| a.id.cmp(&b.id));
    for param in params {
        field(&mut hasher, &param.id);
        param_value(&mut hasher, &param.value);
    }
    let mut ports: Vec<&PortValues> = inputs.inputs.iter().collect();
    ports.sort_by(|a, b| a.port.cmp(&b.port));
    for port in ports {
        field(&mut hasher, &port.port);
        field(&mut hasher, &port.values.len().to_string());
        for connected in &port.values {
            match &connected.value {
                Value::Asset(asset) => {
                    let hash = assets.content_hash(&asset.id).ok_or_else(|| UnknownAsset {
                        port: port.port.clone(),
                        asset_id: asset.id.clone(),
                    })?;
                    field(&mut hasher, "asset");
                    field(&mut hasher, &hash);
                }
                other => value(&mut hasher, other),
            }
        }
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Length-prefixed, so `("ab", "c")` and `("a", "bc")` differ.
fn field(hasher: &mut Sha256, text: &str) {
    hasher.update((text.len() as u64).to_le_bytes());
    hasher.update(text.as_bytes());
}

fn param_value(hasher: &mut Sha256, value: &ParamValue) {
    let (kind, text) = match value {
        ParamValue::Text(s) => ("text", s.clone()),
        ParamValue::Number(n) => ("number", n.to_bits().to_string()),
        ParamValue::Integer(n) => ("integer", n.to_string()),
        ParamValue::Boolean(b) => ("boolean", b.to_string()),
        ParamValue::Choice(s) => ("choice", s.clone()),
        ParamValue::AssetRef(s) => ("asset-ref", s.clone()),
        ParamValue::Json(s) => ("json", s.clone()),
    };
    field(hasher, kind);
    field(hasher, &text);
}

fn value(hasher: &mut Sha256, value: &Value) {
    let (kind, text) = match value {
        Value::Text(s) => ("text", s.clone()),
        Value::Number(n) => ("number", n.to_bits().to_string()),
        Value::Integer(n) => ("integer", n.to_string()),
        Value::Boolean(b) => ("boolean", b.to_string()),
        Value::Json(s) => ("json", s.clone()),
        Value::Asset(asset) => ("asset", asset.id.clone()),
    };
    field(hasher, kind);
    field(hasher, &text);
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::plugin::types::{AssetRef, ConnectedValue};

    struct Hashes(HashMap<&'static str, &'static str>);

    impl AssetHashes for Hashes {
        fn content_hash(&self, asset_id: &str) -> Option<String> {
            self.0.get(asset_id).map(|h| h.to_string())
        }
    }

    fn params(entries: &[(&str, ParamValue)]) -> Vec<ParamEntry> {
        entries
            .iter()
            .map(|(id, value)| ParamEntry {
                id: (*id).into(),
                value: value.clone(),
            })
            .collect()
    }

    fn image(id: &str) -> Vec<PortValues> {
        vec![PortValues {
            port: "image".into(),
            values: vec![ConnectedValue {
                source_node: "n1".into(),
                source_port: "image".into(),
                value: Value::Asset(AssetRef {
                    id: id.into(),
                    mime: "image/png".into(),
                }),
            }],
        }]
    }

    fn key(
        params: &[ParamEntry],
        inputs: &[PortValues],
        seed: u64,
    ) -> Result<String, UnknownAsset> {
        let hashes = Hashes(HashMap::from([
            ("a1", "hash-x"),
            ("a2", "hash-x"),
            ("a3", "hash-y"),
        ]));
        cache_key(
            KeyInputs {
                plugin_digest: "d1",
                params,
                inputs,
                tier: QualityTier::Low,
                seed,
            },
            &hashes,
        )
    }

    #[test]
    fn ignores_parameter_order_and_asset_ids_with_equal_content() {
        let ab = params(&[
            ("a", ParamValue::Integer(1)),
            ("b", ParamValue::Text("x".into())),
        ]);
        let ba = params(&[
            ("b", ParamValue::Text("x".into())),
            ("a", ParamValue::Integer(1)),
        ]);
        assert_eq!(key(&ab, &image("a1"), 1), key(&ba, &image("a2"), 1));
    }

    #[test]
    fn changes_with_content_seed_and_values() {
        let p = params(&[("a", ParamValue::Integer(1))]);
        let base = key(&p, &image("a1"), 1).unwrap();
        assert_ne!(base, key(&p, &image("a3"), 1).unwrap());
        assert_ne!(base, key(&p, &image("a1"), 2).unwrap());
        assert_ne!(
            base,
            key(&params(&[("a", ParamValue::Integer(2))]), &image("a1"), 1).unwrap()
        );
        assert_ne!(
            key(&params(&[("ab", ParamValue::Text("c".into()))]), &[], 1),
            key(&params(&[("a", ParamValue::Text("bc".into()))]), &[], 1)
        );
    }

    #[test]
    fn refuses_an_unknown_asset() {
        let err = key(&[], &image("nope"), 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "input \"image\" refers to asset \"nope\", which is not in the library"
        );
    }
}
