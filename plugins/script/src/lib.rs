//! Node `script`: a screenplay (Fountain or plain text) that breaks itself
//! down into scene groups and shot nodes.
//!
//! The parsing and the break-down are plain functions ([`fountain::parse`],
//! [`break_down`]) so they can be used and timed natively.
#![warn(missing_docs)]

use mdc_sdk::prelude::*;
use mdc_sdk::serde_json::{self, json};

pub mod breakdown;
pub mod fountain;
pub mod sample;

pub use breakdown::{Beat, BeatKind, BreakdownCounts, Scene, plan, scenes};
pub use fountain::{Screenplay, parse};

/// The `script` node type.
pub struct Script;

/// Title used when neither the `title` parameter nor the title page gives one.
const UNTITLED: &str = "Untitled";

/// The break-down patch for screenplay `text`, given the nodes already in the
/// graph (see [`breakdown::plan`] for what it creates, updates and removes).
pub fn break_down(text: &str, graph: &[GraphNode]) -> GraphPatch {
    plan(&parse(text), graph).0
}

/// The script's title: the `title` parameter, else the title page's, else "Untitled".
pub fn title_of(play: &Screenplay, title_param: Option<&str>) -> String {
    title_param
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .or_else(|| play.title())
        .unwrap_or_else(|| UNTITLED.to_owned())
}

/// `“The Last Ferry” · 12 scenes · 4 characters · ~34 pages`.
pub fn overview(play: &Screenplay, title: &str) -> String {
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let scenes = breakdown::scenes(play).len();
    format!(
        "“{title}” · {} · {} · ~{}",
        plural(scenes, "scene", "scenes"),
        plural(play.cast().len(), "character", "characters"),
        plural(play.page_count().max(1), "page", "pages"),
    )
}

/// The JSON summary on the `script` output: title, format, page estimate,
/// title page, scenes (id, number, heading, label, time of day, beat count,
/// characters), the cast and the total beat count.
pub fn summary_json(play: &Screenplay, title: &str) -> serde_json::Value {
    let scenes = breakdown::scenes(play);
    let beats: usize = scenes.iter().map(|s| s.beats.len()).sum();
    let title_page: serde_json::Map<String, serde_json::Value> = play
        .title_page
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    json!({
        "title": title,
        "format": if play.fountain { "fountain" } else { "plain" },
        "pages": play.page_count(),
        "title_page": title_page,
        "scenes": scenes.iter().map(|s| json!({
            "id": s.id,
            "number": s.number,
            "heading": s.heading,
            "label": s.label(),
            "time": s.time_of_day,
            "beats": s.beats.len(),
            "characters": s.characters(),
        })).collect::<Vec<_>>(),
        "characters": play.cast(),
        "beats": beats,
    })
}

impl Node for Script {
    fn describe() -> NodeDescriptor {
        NodeDescriptor::new("script", "0.1.0", "Script")
            .category("Writing")
            .icon("📜")
            .docs(
                "A screenplay in **Fountain** or plain text. Scene headings \
                 (`INT. HARBOUR - NIGHT`, `EXT.`, `I/E`, `.FORCED`, numbered like \
                 `12A EXT. PIER - DAY 12A`, or `SCENE 3 - …` in plain text), character cues, \
                 dialogue, transitions, notes, boneyard and the title page are understood. \
                 `CONTINUOUS`, `LATER` and `SAME` scenes keep the previous scene's time of day.\n\n\
                 **Break Down to Shots** creates one scene group per scene and one shot per \
                 beat (an action paragraph, or an exchange of dialogue), wires in the \
                 characters who speak or whom the action names, and can be run again after \
                 editing: shots keep their ids, change in place, and disappear with their beat.",
            )
            .output(
                Port::one("script", "Script", "script")
                    .help("Title, scenes, characters and beat count as JSON."),
            )
            .param(
                Param::multiline("text", "Screenplay")
                    .help("Fountain or plain text with scene headings."),
            )
            .param(Param::text("title", "Title").help("Overrides the title page's title."))
            .action(
                "break-down",
                "Break Down to Shots",
                "Creates a scene group per scene and a shot per beat, wired to the characters \
                 who speak or whom the action names; running it again updates them.",
            )
    }

    fn validate(input: &NodeInput) -> Vec<Diagnostic> {
        let mut found = validate_params(&Self::describe(), input);
        let text = input.text("text").unwrap_or("");
        if text.trim().is_empty() {
            found.push(Diagnostic::error(
                "text",
                "The screenplay is empty; write or paste a script.",
            ));
            return found;
        }
        let play = parse(text);
        if play.scene_heading_count() == 0 {
            found.push(Diagnostic::warning(
                "text",
                "No scene heading found; start each scene with a line like \
                 `INT. HARBOUR - NIGHT` (or `SCENE 1 - HARBOUR` in plain text).",
            ));
        }
        let title = title_of(&play, input.text("title"));
        found.push(Diagnostic::info("text", overview(&play, &title)));
        found
    }

    fn execute(input: NodeInput) -> Result<NodeOutputs, NodeError> {
        let text = input.text("text").unwrap_or("");
        if text.trim().is_empty() {
            return Err(NodeError::invalid_input("the screenplay is empty"));
        }
        let play = parse(text);
        let title = title_of(&play, input.text("title"));
        let summary = summary_json(&play, &title);
        host::progress(1.0, "parsed");
        Ok(NodeOutputs::new()
            .with("script", summary)
            .summary(overview(&play, &title)))
    }

    fn run_action(action: &str, input: ActionInput) -> Result<GraphPatch, NodeError> {
        if action != "break-down" {
            return Err(NodeError::unsupported(format!(
                "the script node has no action `{action}`"
            )));
        }
        let text = input.node.text("text").unwrap_or("");
        if text.trim().is_empty() {
            return Err(NodeError::invalid_input(
                "the screenplay is empty; there is nothing to break down",
            ));
        }
        host::progress(0.1, "parsing the screenplay");
        let play = parse(text);
        host::progress(0.5, "drafting shots");
        let (patch, counts) = plan(&play, &input.graph);
        host::info(&format!("break-down: {}", counts.summary()));
        host::progress(1.0, "done");
        Ok(patch)
    }
}

mdc_sdk::export_node!(Script);
