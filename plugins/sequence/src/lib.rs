//! Node `sequence`: puts connected shots in script order and lays their takes
//! out on a contact sheet.
#![warn(missing_docs)]

use std::cmp::Ordering;

use frame_kit::{Canvas, SheetTile, thumbnail_size};
use mdc_sdk::prelude::*;
use mdc_sdk::serde_json::{Value as Json, json};

/// The `sequence` node type.
pub struct Sequence;

/// A take in the sequence.
#[derive(Clone, Debug, PartialEq)]
pub struct Take {
    /// Scene label: `1 · EXT. HARBOUR - NIGHT`.
    pub scene: String,
    /// Shot number: `1.3`.
    pub shot: String,
    /// The take's image, if the shot has one.
    pub image: Option<AssetRef>,
}

impl Take {
    /// The take as JSON: `{scene, shot, image: {id, mime} | null}`.
    pub fn to_json(&self) -> Json {
        json!({
            "scene": self.scene,
            "shot": self.shot,
            "image": self.image.as_ref().map(|a| json!({"id": a.id, "mime": a.mime})),
        })
    }

    /// A take from a shot's JSON (`{scene, shot, image, …}`).
    fn from_json(value: &Json) -> Option<Take> {
        let object = value.as_object()?;
        let text = |key: &str| {
            object
                .get(key)
                .map(|v| match v {
                    Json::String(s) => s.trim().to_owned(),
                    Json::Number(n) => n.to_string(),
                    _ => String::new(),
                })
                .unwrap_or_default()
        };
        let image = object.get("image").and_then(|i| {
            let id = i.get("id")?.as_str()?.trim();
            let mime = i.get("mime").and_then(Json::as_str).unwrap_or("image/png");
            (!id.is_empty()).then(|| AssetRef::new(id, mime))
        });
        Some(Take {
            scene: text("scene"),
            shot: text("shot"),
            image,
        })
    }
}

/// One piece of a natural sort key: numbers compare by value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum KeyPart {
    Number(u64),
    Text(String),
}

/// A key ordering text numerically where it holds digits:
/// `1.2` < `1.10` < `2.1`, `2 · INT.` < `10 · EXT.`.
fn natural_key(text: &str) -> Vec<KeyPart> {
    let mut parts = Vec::new();
    let mut digits = String::new();
    let mut other = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            if !other.is_empty() {
                parts.push(KeyPart::Text(std::mem::take(&mut other).to_lowercase()));
            }
            digits.push(c);
        } else {
            if !digits.is_empty() {
                parts.push(KeyPart::Number(digits.parse().unwrap_or(u64::MAX)));
                digits.clear();
            }
            other.push(c);
        }
    }
    if !digits.is_empty() {
        parts.push(KeyPart::Number(digits.parse().unwrap_or(u64::MAX)));
    }
    if !other.is_empty() {
        parts.push(KeyPart::Text(other.to_lowercase()));
    }
    parts
}

/// Compares two takes by scene, then shot, numbers by value.
pub fn script_order(a: &Take, b: &Take) -> Ordering {
    natural_key(&a.scene)
        .cmp(&natural_key(&b.scene))
        .then_with(|| natural_key(&a.shot).cmp(&natural_key(&b.shot)))
}

/// The takes connected to `shots`, in script order (ties keep connection
/// order). A connected value may be one shot or a list of takes (another
/// sequence's `takes`); anything else is an invalid-input error.
pub fn ordered_takes(input: &NodeInput) -> Result<Vec<Take>, NodeError> {
    let mut takes = Vec::new();
    for connected in input.connected("shots") {
        let value: Json = connected.value.parse_json().map_err(|_| {
            NodeError::invalid_input(format!(
                "node `{}` sent something that is not a shot",
                connected.source_node
            ))
        })?;
        let items = match &value {
            Json::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for item in items {
            let take = Take::from_json(item).ok_or_else(|| {
                NodeError::invalid_input(format!(
                    "node `{}` sent a shot that is not a JSON object",
                    connected.source_node
                ))
            })?;
            takes.push(take);
        }
    }
    takes.sort_by(script_order);
    Ok(takes)
}

/// The contact sheet tile of a take: its image read, decoded and shrunk to
/// the sheet's thumbnail size, or a note saying why there is none.
fn tile(take: &Take, count: usize) -> SheetTile {
    let caption = match take.scene.split_once('·') {
        Some((_, heading)) => heading.trim().to_owned(),
        None => take.scene.clone(),
    };
    let label = if take.shot.is_empty() {
        "—".to_owned()
    } else {
        take.shot.clone()
    };
    let (image, note) = match &take.image {
        None => (None, "no take yet".to_owned()),
        Some(asset) => match host::read_asset(&asset.id) {
            Err(why) => {
                host::warn(&format!("take {} of shot {}: {why}", asset.id, take.shot));
                (None, "take unavailable".to_owned())
            }
            Ok(bytes) => match Canvas::decode(&bytes) {
                Ok(canvas) => {
                    let (w, h) = thumbnail_size(count);
                    (Some(canvas.fit_within(w, h)), String::new())
                }
                Err(_) => (None, format!("{} not previewable", asset.mime)),
            },
        },
    };
    SheetTile {
        label,
        caption,
        image,
        note,
    }
}

impl Node for Sequence {
    fn describe() -> NodeDescriptor {
        NodeDescriptor::new("sequence", "0.1.0", "Sequence")
            .category("Editing")
            .icon("🎞️")
            .docs(
                "Collects shots in script order — by scene, then shot number, with numbers \
                 compared by value (1.2 before 1.10 before 2.1) — and lays their takes out on \
                 a **contact sheet**. Its takes can feed another sequence.",
            )
            .input(
                Port::many("shots", "Shots", "shot")
                    .help("The shots (or other sequences) to put in order."),
            )
            .output(
                Port::one("takes", "Takes", "shot")
                    .help("The takes in order: a JSON list of {scene, shot, image}."),
            )
            .output(
                Port::one("contact-sheet", "Contact Sheet", "image")
                    .help("A PNG grid of the takes, labelled with scene and shot."),
            )
            .param(Param::text("title", "Title").help("Printed on top of the contact sheet."))
            .param(
                Param::integer("columns", "Columns", 1..=8)
                    .default(4)
                    .help("Takes per row on the contact sheet."),
            )
            .capability(Capability::AssetRead)
            .capability(Capability::OutputWrite)
    }

    fn validate(input: &NodeInput) -> Vec<Diagnostic> {
        let mut found = validate_params(&Self::describe(), input);
        if input.connected("shots").is_empty() {
            found.push(Diagnostic::warning(
                "shots",
                "No shots are connected; connect shots to put them in order.",
            ));
        }
        found
    }

    fn execute(input: NodeInput) -> Result<NodeOutputs, NodeError> {
        let takes = ordered_takes(&input)?;
        let columns = input.integer("columns").unwrap_or(4).clamp(1, 8) as u32;
        let title = input.text("title").unwrap_or("").trim();
        let mut tiles = Vec::with_capacity(takes.len());
        for (i, take) in takes.iter().enumerate() {
            if host::is_cancelled() {
                return Err(NodeError::cancelled());
            }
            host::progress(
                0.9 * i as f32 / takes.len() as f32,
                &format!("reading take {} of {}", i + 1, takes.len()),
            );
            tiles.push(tile(take, takes.len()));
        }
        if host::is_cancelled() {
            return Err(NodeError::cancelled());
        }
        host::progress(0.9, "drawing the contact sheet");
        let sheet = frame_kit::render_contact_sheet(title, &tiles, columns);
        let id = host::write_output("image/png", &sheet).map_err(NodeError::failed)?;
        host::progress(1.0, "done");
        let list: Vec<Json> = takes.iter().map(Take::to_json).collect();
        let missing = takes.iter().filter(|t| t.image.is_none()).count();
        let mut summary = format!(
            "{} take{}",
            takes.len(),
            if takes.len() == 1 { "" } else { "s" }
        );
        if missing > 0 {
            summary.push_str(&format!(" ({missing} without an image)"));
        }
        Ok(NodeOutputs::new()
            .with("takes", Json::Array(list))
            .with("contact-sheet", AssetRef::new(id, "image/png"))
            .summary(summary))
    }
}

mdc_sdk::export_node!(Sequence);
