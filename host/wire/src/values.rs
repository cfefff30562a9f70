//! Tagged values: what flows on an edge ([`ValueRecord`]) and what a parameter holds
//! ([`ParamRecord`]), each a one-key object naming its case (`{"integer": 3}`).

use mdc_runtime::plugin::types::{AssetRef, ParamValue, Value};
use serde::{Deserialize, Serialize};

use crate::{EncodeError, finite};

/// A value on an edge or an output port, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueRecord {
    /// Text.
    Text(String),
    /// A finite number.
    Number(f64),
    /// A whole number.
    Integer(i64),
    /// A boolean.
    Boolean(bool),
    /// JSON text (a string holding JSON, kept as written).
    Json(String),
    /// A library asset or output file.
    Asset(AssetRecord),
}

/// An asset reference as stored: the opaque id and its media type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetRecord {
    /// Opaque asset id.
    pub id: String,
    /// Media type (`image/png`).
    pub mime: String,
}

/// A parameter value as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamRecord {
    /// Text.
    Text(String),
    /// A finite number.
    Number(f64),
    /// A whole number.
    Integer(i64),
    /// A boolean.
    Boolean(bool),
    /// The value of a choice option.
    Choice(String),
    /// An asset id.
    AssetRef(String),
    /// JSON text.
    Json(String),
}

impl ValueRecord {
    /// The record of `value`; `at` says where the value is if its number is not finite.
    pub(crate) fn at(value: &Value, at: &dyn Fn() -> String) -> Result<ValueRecord, EncodeError> {
        Ok(match value {
            Value::Text(s) => ValueRecord::Text(s.clone()),
            Value::Number(n) => ValueRecord::Number(finite(*n, at)?),
            Value::Integer(n) => ValueRecord::Integer(*n),
            Value::Boolean(b) => ValueRecord::Boolean(*b),
            Value::Json(s) => ValueRecord::Json(s.clone()),
            Value::Asset(a) => ValueRecord::Asset(AssetRecord {
                id: a.id.clone(),
                mime: a.mime.clone(),
            }),
        })
    }
}

impl TryFrom<&Value> for ValueRecord {
    type Error = EncodeError;

    fn try_from(value: &Value) -> Result<ValueRecord, EncodeError> {
        ValueRecord::at(value, &|| "a value".to_string())
    }
}

impl From<ValueRecord> for Value {
    fn from(record: ValueRecord) -> Value {
        match record {
            ValueRecord::Text(s) => Value::Text(s),
            ValueRecord::Number(n) => Value::Number(n),
            ValueRecord::Integer(n) => Value::Integer(n),
            ValueRecord::Boolean(b) => Value::Boolean(b),
            ValueRecord::Json(s) => Value::Json(s),
            ValueRecord::Asset(a) => Value::Asset(AssetRef {
                id: a.id,
                mime: a.mime,
            }),
        }
    }
}

impl ParamRecord {
    /// The record of `value`; `at` says where the value is if its number is not finite.
    pub(crate) fn at(
        value: &ParamValue,
        at: &dyn Fn() -> String,
    ) -> Result<ParamRecord, EncodeError> {
        Ok(match value {
            ParamValue::Text(s) => ParamRecord::Text(s.clone()),
            ParamValue::Number(n) => ParamRecord::Number(finite(*n, at)?),
            ParamValue::Integer(n) => ParamRecord::Integer(*n),
            ParamValue::Boolean(b) => ParamRecord::Boolean(*b),
            ParamValue::Choice(s) => ParamRecord::Choice(s.clone()),
            ParamValue::AssetRef(s) => ParamRecord::AssetRef(s.clone()),
            ParamValue::Json(s) => ParamRecord::Json(s.clone()),
        })
    }
}

impl TryFrom<&ParamValue> for ParamRecord {
    type Error = EncodeError;

    fn try_from(value: &ParamValue) -> Result<ParamRecord, EncodeError> {
        ParamRecord::at(value, &|| "a parameter".to_string())
    }
}

impl From<ParamRecord> for ParamValue {
    fn from(record: ParamRecord) -> ParamValue {
        match record {
            ParamRecord::Text(s) => ParamValue::Text(s),
            ParamRecord::Number(n) => ParamValue::Number(n),
            ParamRecord::Integer(n) => ParamValue::Integer(n),
            ParamRecord::Boolean(b) => ParamValue::Boolean(b),
            ParamRecord::Choice(s) => ParamValue::Choice(s),
            ParamRecord::AssetRef(s) => ParamValue::AssetRef(s),
            ParamRecord::Json(s) => ParamValue::Json(s),
        }
    }
}
