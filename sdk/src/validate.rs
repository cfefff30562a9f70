//! The default parameter checks of [`crate::Node::validate`].

use crate::types::{Diagnostic, NodeDescriptor, NodeInput, Param, ParamType, ParamValue};

/// Checks `input`'s parameters against `descriptor`'s parameters and returns
/// one [`Diagnostic`] (with `field` set to the parameter id) per problem:
///
/// * a required parameter has no value (error);
/// * a value's case does not match the parameter type (error);
/// * a number or integer lies outside its range, or a number is not finite (error);
/// * a choice value is not among the options (error);
/// * a JSON value does not parse (error);
/// * a value is given for a parameter the descriptor does not declare (warning).
///
/// Input ports are not checked: during validation upstream nodes may not have
/// produced their values yet. Nodes that override [`crate::Node::validate`]
/// can call this first and add their own findings.
pub fn validate_params(descriptor: &NodeDescriptor, input: &NodeInput) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for param in &descriptor.params {
        match input.param(&param.id) {
            None if param.required => found.push(Diagnostic::error(
                &param.id,
                format!("{} is required.", name(param)),
            )),
            None => {}
            Some(value) => {
                if let Some(message) = check_value(param, value) {
                    found.push(Diagnostic::error(&param.id, message));
                }
            }
        }
    }
    for entry in &input.params {
        if descriptor.find_param(&entry.id).is_none() {
            found.push(Diagnostic::warning(
                &entry.id,
                format!(
                    "This node has no parameter `{}`; the value is ignored.",
                    entry.id
                ),
            ));
        }
    }
    found
}

/// The label of a parameter, or its id when the label is empty.
fn name(param: &Param) -> &str {
    if param.label.is_empty() {
        &param.id
    } else {
        &param.label
    }
}

/// What a parameter type expects, for messages.
fn expected(param_type: &ParamType) -> &'static str {
    match param_type {
        ParamType::Text(_) => "text",
        ParamType::Number(_) => "a number",
        ParamType::Integer(_) => "a whole number",
        ParamType::Boolean => "yes or no",
        ParamType::Choice(_) => "one of its options",
        ParamType::AssetRef(_) => "an asset",
        ParamType::Json => "a JSON document",
    }
}

/// The problem with `value` for `param`, if any.
fn check_value(param: &Param, value: &ParamValue) -> Option<String> {
    let label = name(param);
    match (&param.param_type, value) {
        (ParamType::Text(_), ParamValue::Text(_))
        | (ParamType::Boolean, ParamValue::Boolean(_))
        | (ParamType::AssetRef(_), ParamValue::AssetRef(_)) => None,
        (ParamType::Number(range), ParamValue::Number(v)) => {
            if !v.is_finite() {
                return Some(format!("{label} must be a finite number."));
            }
            out_of_range(label, *v, range.min, range.max)
        }
        (ParamType::Integer(range), ParamValue::Integer(v)) => {
            out_of_range(label, *v, range.min, range.max)
        }
        (ParamType::Choice(options), ParamValue::Choice(v)) => {
            if options.iter().any(|o| &o.value == v) {
                None
            } else {
                let list: Vec<&str> = options.iter().map(|o| o.value.as_str()).collect();
                Some(format!(
                    "{label}: `{v}` is not one of the options ({}).",
                    list.join(", ")
                ))
            }
        }
        (ParamType::Json, ParamValue::Json(text)) => {
            serde_json::from_str::<serde_json::Value>(text)
                .err()
                .map(|e| format!("{label} is not valid JSON: {e}."))
        }
        (param_type, value) => Some(format!(
            "{label} expects {}, but holds a {} value.",
            expected(param_type),
            value.kind()
        )),
    }
}

/// The range problem of `v`, if any.
fn out_of_range<T>(label: &str, v: T, min: Option<T>, max: Option<T>) -> Option<String>
where
    T: PartialOrd + std::fmt::Display + Copy,
{
    let below = min.is_some_and(|m| v < m);
    let above = max.is_some_and(|m| v > m);
    if !below && !above {
        return None;
    }
    Some(match (min, max) {
        (Some(lo), Some(hi)) => format!("{label} must be between {lo} and {hi} (is {v})."),
        (Some(lo), None) => format!("{label} must be at least {lo} (is {v})."),
        (None, Some(hi)) => format!("{label} must be at most {hi} (is {v})."),
        (None, None) => return None,
    })
}
