//! The fields of each kind: which keys exist, what values they take, and how values given as
//! text (the CLI) or JSON (the REST API) are normalised before they are stored.
//!
//! The kinds, field names and options are `asset-kinds`' (`plugins/asset-kinds`), which the
//! `character`, `style` and `environment` nodes read too: a value a node would ignore is
//! refused here instead.

use serde_json::{Map, Value as Json};

use asset_kinds::FieldRule as Rule;

use super::{AssetKind, LibraryError};

/// Longest text field, in characters.
const MAX_TEXT: usize = 4000;
/// Longest list item (a keyword, a colour, an id), in characters.
const MAX_ITEM: usize = 100;
/// Most items in a list field.
const MAX_ITEMS: usize = 64;

/// The field of a style that lists its example images (ids of `image` assets); the `style`
/// node reads it as `examples`.
pub const EXAMPLES: &str = asset_kinds::EXAMPLES;

/// Applies `changes` to `current` for an asset of `kind`: each value replaces the field, a
/// `null` or empty value removes it. Returns the normalised fields or the first problem.
pub fn apply_changes(
    kind: AssetKind,
    current: &Map<String, Json>,
    changes: &[(String, Json)],
) -> Result<Map<String, Json>, LibraryError> {
    let mut fields = current.clone();
    for (key, value) in changes {
        let key = key.trim();
        let definition = kind.definition();
        let rule = definition
            .field(key)
            .map(|field| field.rule)
            .ok_or_else(|| LibraryError::UnknownField {
                kind: kind.as_str(),
                field: key.to_string(),
                known: definition.field_names().collect::<Vec<_>>().join(", "),
            })?;
        let invalid = |reason: String| LibraryError::InvalidField {
            kind: kind.as_str(),
            field: key.to_string(),
            reason,
        };
        match normalise(rule, value).map_err(invalid)? {
            Some(normalised) => fields.insert(key.to_string(), normalised),
            None => fields.remove(key),
        };
    }
    Ok(fields)
}

/// The ids a field map lists as style examples.
pub fn example_ids(fields: &Map<String, Json>) -> Vec<String> {
    match fields.get(EXAMPLES) {
        Some(Json::Array(items)) => items
            .iter()
            .filter_map(Json::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// The value as stored, `None` to remove the field, or why it is refused.
fn normalise(rule: Rule, value: &Json) -> Result<Option<Json>, String> {
    if value.is_null() || value.as_str().is_some_and(|s| s.trim().is_empty()) {
        return Ok(None);
    }
    match rule {
        Rule::Text => {
            let text = value
                .as_str()
                .ok_or_else(|| format!("expected text, got {value}"))?
                .trim();
            if text.chars().count() > MAX_TEXT {
                return Err(format!("is longer than {MAX_TEXT} characters"));
            }
            Ok(Some(Json::from(text)))
        }
        Rule::Integer { min, max } => {
            let number = match value {
                Json::Number(n) => n.as_i64(),
                Json::String(s) => s.trim().parse().ok(),
                _ => None,
            }
            .ok_or_else(|| format!("{} is not a whole number", shown(value)))?;
            if !(min..=max).contains(&number) {
                return Err(format!("must be between {min} and {max}, not {number}"));
            }
            Ok(Some(Json::from(number)))
        }
        Rule::Choice(options) => {
            let text = value
                .as_str()
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| options.iter().any(|(option, _)| option == s))
                .ok_or_else(|| {
                    let known: Vec<&str> = options.iter().map(|(option, _)| *option).collect();
                    format!("{} is not one of {}", shown(value), known.join(", "))
                })?;
            Ok(Some(Json::from(text)))
        }
        Rule::List | Rule::AssetIds => Ok(non_empty(items(value)?)),
        Rule::Palette => {
            let colours = items(value)?
                .iter()
                .map(|entry| {
                    asset_kinds::normalise_hex(entry).ok_or_else(|| {
                        format!("“{entry}” is not a hex colour; write colours like #1b2a41")
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(non_empty(dedupe(colours)))
        }
    }
}

/// The items of a list given as comma-separated text or a JSON array of strings.
fn items(value: &Json) -> Result<Vec<String>, String> {
    let raw: Vec<String> = match value {
        Json::String(text) => text
            .split([',', ';', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        Json::Array(entries) => entries
            .iter()
            .map(|entry| {
                entry
                    .as_str()
                    .map(|s| s.trim().to_string())
                    .ok_or_else(|| format!("expected a list of text, found {entry}"))
            })
            .filter(|entry| entry.as_ref().map_or(true, |s| !s.is_empty()))
            .collect::<Result<_, _>>()?,
        other => return Err(format!("expected a list, got {other}")),
    };
    if let Some(long) = raw.iter().find(|item| item.chars().count() > MAX_ITEM) {
        return Err(format!(
            "“{long}” is longer than {MAX_ITEM} characters; separate items with commas"
        ));
    }
    let unique = dedupe(raw);
    if unique.len() > MAX_ITEMS {
        return Err(format!("has {} items; at most {MAX_ITEMS}", unique.len()));
    }
    Ok(unique)
}

/// Keeps the first of items that differ only in case.
fn dedupe(items: Vec<String>) -> Vec<String> {
    let mut unique: Vec<String> = Vec::new();
    for item in items {
        if !unique.iter().any(|seen| seen.eq_ignore_ascii_case(&item)) {
            unique.push(item);
        }
    }
    unique
}

fn non_empty(items: Vec<String>) -> Option<Json> {
    (!items.is_empty()).then(|| Json::from(items))
}

/// A value quoted for a message: text in quotes, anything else as JSON.
fn shown(value: &Json) -> String {
    match value {
        Json::String(s) => format!("“{}”", s.trim()),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn text(pairs: &[(&str, &str)]) -> Vec<(String, Json)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Json::from(*v)))
            .collect()
    }

    #[test]
    fn character_fields_are_normalised() {
        let fields = apply_changes(
            AssetKind::Character,
            &Map::new(),
            &text(&[("age", " 34 "), ("role", "Lead"), ("personality", " wry ")]),
        )
        .unwrap();
        assert_eq!(
            Json::Object(fields),
            json!({"age": 34, "role": "lead", "personality": "wry"})
        );
    }

    #[test]
    fn bad_values_are_explained() {
        let err = |kind, pairs: &[(&str, &str)]| {
            apply_changes(kind, &Map::new(), &text(pairs))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(AssetKind::Character, &[("age", "old")]),
            "character field “age”: “old” is not a whole number"
        );
        assert_eq!(
            err(AssetKind::Character, &[("age", "200")]),
            "character field “age”: must be between 0 and 150, not 200"
        );
        assert_eq!(
            err(AssetKind::Character, &[("hair", "red")]),
            "a character has no field “hair”; its fields are name, age, role, personality, description"
        );
        assert_eq!(
            err(AssetKind::Environment, &[("type", "castle")]),
            "environment field “type”: “castle” is not one of interior, exterior, mixed"
        );
        assert_eq!(
            err(AssetKind::Style, &[("palette", "#1b2a41, #12")]),
            "style field “palette”: “#12” is not a hex colour; write colours like #1b2a41"
        );
    }

    #[test]
    fn lists_accept_text_or_json_and_empty_values_remove() {
        let fields = apply_changes(
            AssetKind::Style,
            &Map::new(),
            &[
                ("keywords".into(), Json::from("noir, rain-slick,, Noir")),
                ("palette".into(), json!(["#1B2A41", "abc"])),
                ("description".into(), Json::from("wet streets")),
            ],
        )
        .unwrap();
        assert_eq!(
            Json::Object(fields.clone()),
            json!({"keywords": ["noir", "rain-slick"], "palette": ["#1b2a41", "#aabbcc"],
                   "description": "wet streets"})
        );
        let fields = apply_changes(
            AssetKind::Style,
            &fields,
            &[
                ("description".into(), Json::from("")),
                ("keywords".into(), Json::Null),
            ],
        )
        .unwrap();
        assert_eq!(
            Json::Object(fields),
            json!({"palette": ["#1b2a41", "#aabbcc"]})
        );
    }
}
