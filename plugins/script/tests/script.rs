//! The script node on real-looking screenplays: parsing, validation, the JSON
//! summary and "Break Down to Shots", including re-running after edits.

use mdc_sdk::prelude::*;
use mdc_sdk::serde_json::{self, Value as Json};
use mdc_sdk::testing::{InputBuilder, TestGraph, TestHost};
use script::fountain::{DialoguePart, Element};
use script::{Script, break_down, parse};

const FERRY: &str = include_str!("fixtures/the-last-ferry.fountain");
const NIGHT_SHIFT: &str = include_str!("fixtures/night-shift-plain.fountain");
const BASEMENT: &str = include_str!("fixtures/odd-formatting.fountain");

fn headings(text: &str) -> Vec<(String, Option<String>)> {
    parse(text)
        .elements
        .into_iter()
        .filter_map(|e| match e {
            Element::SceneHeading { text, number } => Some((text, number)),
            _ => None,
        })
        .collect()
}

fn script_input(text: &str) -> InputBuilder {
    InputBuilder::new().node_id("script-1").param("text", text)
}

fn run_break_down(text: &str, graph: &TestGraph) -> GraphPatch {
    TestHost::new()
        .run_action::<Script>(
            "break-down",
            script_input(text).graph(graph.nodes().to_vec()),
        )
        .expect("break-down succeeds")
}

fn shot_ids(graph: &TestGraph) -> Vec<String> {
    graph
        .nodes()
        .iter()
        .filter(|n| n.type_id == "shot")
        .map(|n| n.id.clone())
        .collect()
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

#[test]
fn ferry_title_page_scenes_and_cast() {
    let play = parse(FERRY);
    assert!(play.fountain);
    assert_eq!(play.title().as_deref(), Some("THE LAST FERRY"));
    assert_eq!(play.title_entry("author"), Some("Ines Calder"));
    assert_eq!(
        play.title_entry("contact"),
        Some("Harbour Light Pictures\n12 Quay Street, Port Ellen")
    );
    let h = headings(FERRY);
    let texts: Vec<&str> = h.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        texts,
        [
            "EXT. HARBOUR - NIGHT",
            "INT. TICKET BOOTH - CONTINUOUS",
            "EXT. OPEN SEA - NIGHT",
            "I/E. MARGARET - WHEELHOUSE - NIGHT",
            "EXT. ISLAND JETTY - DAWN",
        ]
    );
    assert_eq!(h[0].1.as_deref(), Some("1"));
    assert_eq!(h[4].1.as_deref(), Some("5"));
    // (O.S.), (CONT'D), (V.O.), (O.C.) and the dual-dialogue caret are the same people.
    assert_eq!(play.characters(), ["MAYA", "TOM", "LENA", "RADIO VOICE"]);
}

#[test]
fn ferry_elements_are_classified() {
    let play = parse(FERRY);
    let dual: Vec<_> = play
        .elements
        .iter()
        .filter_map(|e| match e {
            Element::Dialogue(d) if d.dual => Some(d.cue.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(dual, ["TOM"]);
    let transitions: Vec<_> = play
        .elements
        .iter()
        .filter_map(|e| match e {
            Element::Transition(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(transitions, ["FADE IN:", "CUT TO:", "FADE OUT."]);
    assert!(play.elements.contains(&Element::Centered("THE END".into())));
    assert!(play.elements.contains(&Element::Section {
        depth: 1,
        text: "ACT ONE".into()
    }));
    assert!(
        play.elements
            .iter()
            .any(|e| matches!(e, Element::Synopsis(s) if s.starts_with("Maya misses")))
    );
    // The note is gone; the parenthetical is kept apart from the speech.
    let everything = format!("{:?}", play.elements);
    assert!(!everything.contains("pays off"));
    let tom_beat = play
        .elements
        .iter()
        .find_map(|e| match e {
            Element::Dialogue(d) if d.spoken().starts_with("Not on a Sunday") => Some(d.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        tom_beat.parts,
        [
            DialoguePart::Line("Not on a Sunday.".into()),
            DialoguePart::Parenthetical("(beat)".into()),
            DialoguePart::Line("Not in this weather.".into()),
        ]
    );
}

#[test]
fn plain_text_scenes_and_colon_dialogue() {
    let play = parse(NIGHT_SHIFT);
    assert!(!play.fountain);
    assert_eq!(play.title().as_deref(), Some("NIGHT SHIFT"));
    let h = headings(NIGHT_SHIFT);
    assert_eq!(h.len(), 4);
    assert_eq!(h[0].0, "SCENE 1 - HOSPITAL CORRIDOR, 3 A.M.");
    assert_eq!(h[1], ("SCENE 2 - ROOM 12".into(), Some("2".into())));
    assert_eq!(play.characters(), ["DANA", "ORDERLY", "MR. HALE"]);
    let gently = play.elements.iter().any(|e| {
        matches!(e, Element::Dialogue(d)
            if d.parts.first() == Some(&DialoguePart::Parenthetical("(gently)".into())))
    });
    assert!(gently, "a leading parenthetical is split off");
}

#[test]
fn odd_formatting_is_tolerated() {
    let play = parse(BASEMENT);
    assert_eq!(play.title().as_deref(), Some("Basement Tapes"));
    let texts: Vec<String> = headings(BASEMENT).into_iter().map(|(t, _)| t).collect();
    assert_eq!(
        texts,
        [
            "INT. BASEMENT STUDIO - NIGHT",
            "EXT. BACK GARDEN - CONTINUOUS",
            "INT./EXT. JONAH'S CAR - LATER",
            "OPEN MIC NIGHT, THE FOX",
        ]
    );
    // The boneyard hid the kitchen scene and DAD; notes vanish from the text.
    assert_eq!(play.characters(), ["JONAH", "PRIYA"]);
    let everything = format!("{:?}", play.elements);
    assert!(!everything.contains("KITCHEN"));
    assert!(!everything.contains("tape hiss"));
    assert!(!everything.contains("Maybe cut"));
    assert!(!everything.contains('*'));
    assert!(everything.contains("The second one was the good one."));
    assert_eq!(
        play.elements
            .iter()
            .filter(|e| matches!(e, Element::PageBreak))
            .count(),
        2
    );
    assert!(
        play.elements
            .contains(&Element::Transition("SMASH CUT TO:".into()))
    );
}

#[test]
fn page_estimate_follows_the_printed_layout() {
    let ferry = parse(FERRY).page_count();
    assert!(
        (2..=5).contains(&ferry),
        "the ferry short is a few pages, got {ferry}"
    );
    // Two forced page breaks make at least three pages.
    assert!(parse(BASEMENT).page_count() >= 3);
    assert_eq!(parse("").page_count(), 0);
}

// ---------------------------------------------------------------------------
// Validate and execute
// ---------------------------------------------------------------------------

#[test]
fn validate_reports_an_overview() {
    let host = TestHost::new();
    let found = host.validate::<Script>(script_input(FERRY));
    assert_eq!(found.len(), 1, "{found:?}");
    let pages = parse(FERRY).page_count();
    assert_eq!(found[0].severity, Severity::Info);
    assert_eq!(
        found[0].message,
        format!("“THE LAST FERRY” · 5 scenes · 4 characters · ~{pages} pages")
    );

    let titled = host.validate::<Script>(script_input(NIGHT_SHIFT).param("title", "Night Shift"));
    assert!(
        titled[0]
            .message
            .starts_with("“Night Shift” · 4 scenes · 3 characters · ~")
    );
}

#[test]
fn validate_flags_empty_text_and_missing_headings() {
    let host = TestHost::new();
    let empty = host.validate::<Script>(script_input("  \n "));
    assert_eq!(empty.len(), 1);
    assert!(empty[0].is_error());
    assert_eq!(empty[0].field.as_deref(), Some("text"));

    let unset = host.validate::<Script>(InputBuilder::new());
    assert!(unset.iter().any(Diagnostic::is_error));

    let no_heading = host.validate::<Script>(script_input(
        "Maya runs along the pier.\n\nMAYA\nWait for me!\n",
    ));
    assert_eq!(no_heading[0].severity, Severity::Warning);
    assert!(no_heading[0].message.contains("No scene heading"));
    assert!(
        no_heading[1]
            .message
            .starts_with("“Untitled” · 1 scene · 1 character · ~1 page")
    );
}

#[test]
fn execute_outputs_a_json_summary() {
    let out = TestHost::new()
        .execute::<Script>(script_input(FERRY))
        .unwrap();
    let summary: Json = out.get("script").unwrap().parse_json().unwrap();
    assert_eq!(summary["title"], "THE LAST FERRY");
    assert_eq!(summary["format"], "fountain");
    assert_eq!(summary["scenes"].as_array().unwrap().len(), 5);
    assert_eq!(summary["scenes"][0]["heading"], "EXT. HARBOUR - NIGHT");
    assert_eq!(summary["scenes"][0]["label"], "1 · EXT. HARBOUR - NIGHT");
    assert_eq!(summary["scenes"][0]["id"], "scene-1-ext-harbour-night");
    assert_eq!(
        summary["characters"],
        serde_json::json!(["MAYA", "TOM", "LENA", "RADIO VOICE"])
    );
    let beats: u64 = summary["scenes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["beats"].as_u64().unwrap())
        .sum();
    assert_eq!(summary["beats"].as_u64(), Some(beats));
    assert!(out.summary.starts_with("“THE LAST FERRY” · 5 scenes"));

    let err = TestHost::new()
        .execute::<Script>(script_input(""))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
}

// ---------------------------------------------------------------------------
// Break Down to Shots
// ---------------------------------------------------------------------------

#[test]
fn break_down_creates_scenes_shots_characters_and_wires() {
    let patch = run_break_down(FERRY, &TestGraph::new());
    let mut graph = TestGraph::new();
    graph.apply(&patch);

    let scenes: Vec<&GraphNode> = graph
        .nodes()
        .iter()
        .filter(|n| n.type_id == "subflow")
        .collect();
    assert_eq!(scenes.len(), 5);
    assert_eq!(scenes[0].id, "scene-1-ext-harbour-night");
    assert_eq!(scenes[0].label, "1 · EXT. HARBOUR - NIGHT");
    assert_eq!(scenes[0].text("title"), Some("EXT. HARBOUR - NIGHT"));
    assert!(scenes.iter().all(|s| s.parent.is_none()));

    // Scene 1: action, action, line, action, line, action, exchange.
    let first: Vec<&GraphNode> = graph.children_of("scene-1-ext-harbour-night").collect();
    assert_eq!(first.len(), 7);
    assert!(first.iter().all(|n| n.type_id == "shot"));
    assert_eq!(first[0].id, "scene-1-ext-harbour-night-shot-1");
    assert_eq!(first[0].text("shot"), Some("1.1"));
    assert_eq!(first[0].text("scene"), Some("1 · EXT. HARBOUR - NIGHT"));
    assert!(
        first[0]
            .text("prompt")
            .unwrap()
            .starts_with("Rain needles the black water.")
    );
    assert_eq!(first[2].text("prompt"), Some("MAYA: No, no, no -- wait!"));
    assert_eq!(
        first[3].text("prompt"),
        Some("The ferry horn answers, long and indifferent.")
    );
    assert_eq!(first[4].text("prompt"), Some("TOM: That was the last one."));
    let exchange = first[6].text("prompt").unwrap();
    assert!(
        exchange.starts_with("MAYA: There's always one more. / TOM: Not on a Sunday. Not in this weather. / MAYA: Then I'll swim."),
        "{exchange}"
    );
    assert!(
        graph
            .nodes()
            .iter()
            .all(|n| n.text("prompt").is_none_or(|p| p.chars().count() <= 300))
    );

    // One character node per cast member, at the root, wired into their beats.
    let cast: Vec<(&str, Option<&str>)> = graph
        .nodes()
        .iter()
        .filter(|n| n.type_id == "character")
        .map(|n| (n.id.as_str(), n.text("name")))
        .collect();
    assert_eq!(
        cast,
        [
            ("character-maya", Some("Maya")),
            ("character-tom", Some("Tom")),
            ("character-lena", Some("Lena")),
            ("character-radio-voice", Some("Radio Voice")),
        ]
    );
    let into_exchange: Vec<&str> = graph
        .edges_to("scene-1-ext-harbour-night-shot-7")
        .map(|e| e.id.as_str())
        .collect();
    assert_eq!(
        into_exchange,
        [
            "character-maya--scene-1-ext-harbour-night-shot-7",
            "character-tom--scene-1-ext-harbour-night-shot-7"
        ]
    );
    let edge = graph.edges().first().unwrap();
    assert_eq!(
        (edge.source_port.as_str(), edge.target_port.as_str()),
        ("character", "characters")
    );

    let shots = shot_ids(&graph).len();
    assert_eq!(
        patch.summary,
        format!(
            "5 scenes, {shots} shots: {shots} new, 0 updated, 0 removed, 0 unchanged; 4 characters (4 new)"
        )
    );
    // Layout: scenes stacked, shots in a row.
    let y0 = graph.position("scene-1-ext-harbour-night").unwrap().y;
    let y1 = graph
        .position("scene-1-int-ticket-booth-continuous")
        .unwrap()
        .y;
    assert!(y1 > y0);
    let s1 = graph.position("scene-1-ext-harbour-night-shot-1").unwrap();
    let s2 = graph.position("scene-1-ext-harbour-night-shot-2").unwrap();
    assert_eq!(s1.y, s2.y);
    assert!(s2.x > s1.x);
}

#[test]
fn running_again_unchanged_changes_nothing() {
    let mut graph = TestGraph::new();
    graph.apply(&run_break_down(FERRY, &graph));
    let again = run_break_down(FERRY, &graph);
    assert!(again.upsert_nodes.is_empty(), "{:?}", again.upsert_nodes);
    assert!(again.remove_nodes.is_empty());
    assert!(again.remove_edges.is_empty());
    let shots = shot_ids(&graph).len();
    assert_eq!(
        again.summary,
        format!(
            "5 scenes, {shots} shots: 0 new, 0 updated, 0 removed, {shots} unchanged; 4 characters (0 new)"
        )
    );
}

#[test]
fn running_again_after_an_edit_upserts_and_removes() {
    let mut graph = TestGraph::new();
    graph.apply(&run_break_down(FERRY, &graph));
    let before = shot_ids(&graph);

    // Rewrite one line, drop the last two beats of the final scene and add a
    // line for a new character in scene 2.
    let edited = FERRY
        .replace("No, no, no -- wait!", "Hold the boat!")
        .replace(
            "MAYA\nMum kept it. She said you'd know the way.\n\nTom looks at the photograph for a long time.\n",
            "",
        )
        .replace(
            "A long moment. The kettle starts to whistle.",
            "A long moment. The kettle starts to whistle.\n\nHARBOURMASTER (O.S.)\nTom! You're not taking her out tonight!",
        );
    let patch = run_break_down(&edited, &graph);
    let upserted: Vec<&str> = patch.upsert_nodes.iter().map(|n| n.id.as_str()).collect();
    assert!(upserted.contains(&"scene-1-ext-harbour-night-shot-3"));
    assert!(upserted.contains(&"character-harbourmaster"));
    assert!(upserted.contains(&"scene-1-int-ticket-booth-continuous-shot-7"));
    let renamed = patch
        .upsert_nodes
        .iter()
        .find(|n| n.id == "scene-1-ext-harbour-night-shot-3")
        .unwrap();
    assert!(
        renamed
            .params
            .contains(&ParamEntry::new("prompt", "MAYA: Hold the boat!"))
    );
    assert_eq!(renamed.parent.as_deref(), Some("scene-1-ext-harbour-night"));

    graph.apply(&patch);
    let after = shot_ids(&graph);
    let removed: Vec<&String> = before.iter().filter(|id| !after.contains(id)).collect();
    assert_eq!(patch.remove_nodes.len(), removed.len());
    assert!(
        removed
            .iter()
            .all(|id| id.starts_with("scene-1-ext-island-jetty-dawn-shot-"))
    );
    assert_eq!(
        removed.len(),
        1,
        "the exchange shrinks and the last action goes: {removed:?}"
    );
    let total = after.len();
    // New: the harbourmaster's line; updated: the edited line and the shrunk exchange.
    assert_eq!(
        patch.summary,
        format!(
            "5 scenes, {total} shots: 1 new, 2 updated, 1 removed, {} unchanged; 5 characters (1 new)",
            total - 3
        )
    );

    // The shrunk exchange lost Maya: her wire into it is removed.
    let exchange = "scene-1-ext-island-jetty-dawn-shot-6";
    let wires: Vec<&str> = graph
        .edges_to(exchange)
        .map(|e| e.source.as_str())
        .collect();
    assert_eq!(wires, ["character-tom"]);
}

#[test]
fn removed_scenes_go_and_foreign_nodes_stay() {
    let mut graph = TestGraph::with_nodes([
        GraphNode::new("my-group", "subflow", "Notes").with_param("title", "Notes"),
        GraphNode::new("scene-board", "text", "Mood board"),
        GraphNode::new("extra-shot", "shot", "Insert").with_parent("scene-1-ext-harbour-night"),
    ]);
    graph.apply(&run_break_down(FERRY, &graph));
    let cut = FERRY
        .split("EXT. OPEN SEA - NIGHT #3#")
        .next()
        .unwrap()
        .to_owned();
    let patch = run_break_down(&cut, &graph);
    assert!(
        patch
            .remove_nodes
            .contains(&"scene-1-ext-open-sea-night".to_owned())
    );
    assert!(
        patch
            .remove_nodes
            .contains(&"scene-1-ext-island-jetty-dawn".to_owned())
    );
    for foreign in ["my-group", "scene-board", "extra-shot"] {
        assert!(
            !patch.remove_nodes.contains(&foreign.to_owned()),
            "{foreign}"
        );
    }
    assert!(
        patch.summary.starts_with("2 scenes (3 removed), "),
        "{}",
        patch.summary
    );
    graph.apply(&patch);
    assert!(
        graph
            .node("scene-1-i-e-margaret-wheelhouse-night")
            .is_none()
    );
    assert!(graph.node("my-group").is_some());
}

#[test]
fn existing_character_nodes_are_reused() {
    let graph = TestGraph::with_nodes([
        GraphNode::new("maya-card", "character", "Maya (V.O.)"),
        GraphNode::new("c2", "character", "Skipper").with_param("name", "tom"),
    ]);
    let patch = run_break_down(FERRY, &graph);
    let created: Vec<&str> = patch
        .upsert_nodes
        .iter()
        .filter(|n| n.type_id == "character")
        .map(|n| n.id.as_str())
        .collect();
    assert_eq!(created, ["character-lena", "character-radio-voice"]);
    assert!(patch.upsert_edges.iter().any(|e| e.source == "maya-card"));
    assert!(patch.upsert_edges.iter().any(|e| e.source == "c2"));
    assert!(patch.summary.ends_with("; 4 characters (2 new)"));
}

#[test]
fn identical_headings_get_counted_ids() {
    let text = "INT. HALL - DAY\n\nA.\n\nEXT. YARD - DAY\n\nB.\n\nINT. HALL - DAY\n\nC.\n";
    let patch = break_down(text, &[]);
    let scenes: Vec<(&str, &str)> = patch
        .upsert_nodes
        .iter()
        .filter(|n| n.type_id == "subflow")
        .map(|n| (n.id.as_str(), n.label.as_str()))
        .collect();
    assert_eq!(
        scenes,
        [
            ("scene-1-int-hall-day", "1 · INT. HALL - DAY"),
            ("scene-1-ext-yard-day", "2 · EXT. YARD - DAY"),
            ("scene-2-int-hall-day", "3 · INT. HALL - DAY"),
        ]
    );
}

#[test]
fn plain_and_odd_scripts_break_down() {
    let plain = break_down(NIGHT_SHIFT, &[]);
    let shot = plain
        .upsert_nodes
        .iter()
        .find(|n| n.id == "scene-1-scene-2-room-12-shot-2")
        .expect("scene 2's exchange");
    assert!(shot.params.contains(&ParamEntry::new("shot", "2.2")));
    assert!(shot.params.contains(&ParamEntry::new(
        "prompt",
        "MR. HALE: It's losing a minute every hour. Has been since Tuesday. / DANA: How do you know, Mr. Hale? / MR. HALE: I was a watchmaker for forty-one years. I know."
    )));
    assert!(plain.summary.starts_with("4 scenes, "));
    assert!(plain.summary.ends_with("; 3 characters (3 new)"));

    let odd = break_down(BASEMENT, &[]);
    assert!(odd.summary.starts_with("4 scenes, "), "{}", odd.summary);
    assert!(
        odd.upsert_nodes
            .iter()
            .any(|n| n.id == "scene-1-open-mic-night-the-fox")
    );
    assert!(odd.summary.ends_with("; 2 characters (2 new)"));
}

#[test]
fn a_long_prompt_is_clipped() {
    let long = format!(
        "INT. ROOM - DAY\n\n{}\n",
        "The rain keeps falling. ".repeat(40)
    );
    let patch = break_down(&long, &[]);
    let prompt = patch
        .upsert_nodes
        .iter()
        .find(|n| n.type_id == "shot")
        .and_then(|n| n.params.iter().find(|p| p.id == "prompt"))
        .map(|p| match &p.value {
            ParamValue::Text(t) => t.clone(),
            _ => String::new(),
        })
        .unwrap();
    assert!(prompt.chars().count() <= 300);
    assert!(prompt.ends_with('…'));
}

#[test]
fn unknown_action_and_empty_script_are_refused() {
    let host = TestHost::new();
    let err = host
        .run_action::<Script>("explode", script_input(FERRY))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Unsupported);
    let err = host
        .run_action::<Script>("break-down", script_input(""))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
}

fn feature_length() -> String {
    script::sample::feature_length(FERRY, 120)
}

#[test]
fn a_120_page_screenplay_breaks_down_and_reruns() {
    let text = feature_length();
    let play = parse(&text);
    assert!(play.page_count() >= 120);
    let patch = break_down(&text, &[]);
    let mut graph = TestGraph::new();
    graph.apply(&patch);
    let scenes = graph
        .nodes()
        .iter()
        .filter(|n| n.type_id == "subflow")
        .count();
    let shots = shot_ids(&graph).len();
    assert!(scenes >= 100, "{scenes} scenes");
    assert!(shots > scenes * 4, "{shots} shots");
    assert_eq!(
        graph
            .nodes()
            .iter()
            .filter(|n| n.type_id == "character")
            .count(),
        4
    );

    let again = break_down(&text, graph.nodes());
    assert!(again.upsert_nodes.is_empty());
    assert!(again.summary.contains(&format!("{shots} unchanged")));
}

// ---------------------------------------------------------------------------
// Shooting scripts: numbered headings, continuity, characters in action
// ---------------------------------------------------------------------------

const SHOOTING: &str = include_str!("fixtures/shooting-script.txt");

/// The scene groups of a patch: `(id, label)`, in order.
fn scene_groups(patch: &GraphPatch) -> Vec<(&str, &str)> {
    patch
        .upsert_nodes
        .iter()
        .filter(|n| n.type_id == "subflow")
        .map(|n| (n.id.as_str(), n.label.as_str()))
        .collect()
}

/// The text parameter `id` of the node `node` in `patch`.
fn patch_text<'a>(patch: &'a GraphPatch, node: &str, id: &str) -> &'a str {
    let node = patch
        .upsert_nodes
        .iter()
        .find(|n| n.id == node)
        .unwrap_or_else(|| panic!("{node} is in the patch"));
    node.params
        .iter()
        .find_map(|p| match &p.value {
            ParamValue::Text(t) if p.id == id => Some(t.as_str()),
            _ => None,
        })
        .unwrap_or("")
}

/// The characters wired into shot `shot`, by node id.
fn wired_into<'a>(patch: &'a GraphPatch, shot: &str) -> Vec<&'a str> {
    patch
        .upsert_edges
        .iter()
        .filter(|e| e.target == shot)
        .map(|e| e.source.as_str())
        .collect()
}

#[test]
fn numbered_scene_headings_start_scenes() {
    // Scene numbers in both margins, as screenwriting tools export them.
    assert_eq!(
        headings(SHOOTING),
        [
            ("INT. TAXI - NIGHT".to_owned(), Some("1".to_owned())),
            ("EXT. HARBOUR - CONTINUOUS".to_owned(), Some("2".to_owned())),
            (
                "EXT. PIER - MOMENTS LATER".to_owned(),
                Some("2A".to_owned())
            ),
            (
                "INT./EXT. TAXI - MOVING - DAY".to_owned(),
                Some("3".to_owned())
            ),
        ]
    );
    // A number on the left only, with a dot; a letter before the number; plain
    // `NAME: line` dialogue; Fountain's `#…#`; an unnumbered heading.
    let plain = "1. INT. TAXI - NIGHT\n\nMaya slumps in the back seat.\n\nSAMIR: Where to?\n\n\
                 A2 EXT. PIER - DAY A2\n\nGulls.\n\n12A EXT. PIER - DAY 12A\n\nMore gulls.\n\n\
                 INT./EXT. CAR - MOVING - DAY\n\nThe road.\n";
    assert_eq!(
        headings(plain),
        [
            ("INT. TAXI - NIGHT".to_owned(), Some("1".to_owned())),
            ("EXT. PIER - DAY".to_owned(), Some("A2".to_owned())),
            ("EXT. PIER - DAY".to_owned(), Some("12A".to_owned())),
            ("INT./EXT. CAR - MOVING - DAY".to_owned(), None),
        ]
    );
    assert!(!parse(plain).fountain);
    assert_eq!(
        headings("INT. TAXI - NIGHT #7B#\n\nRain.\n"),
        [("INT. TAXI - NIGHT".to_owned(), Some("7B".to_owned()))]
    );
    // Digits that are part of the action are left alone.
    assert_eq!(headings("INT. ROOM - DAY\n\n2 INTERNS wait.\n").len(), 1);

    let patch = break_down(SHOOTING, &[]);
    assert_eq!(
        scene_groups(&patch),
        [
            ("scene-1-int-taxi-night", "1 · INT. TAXI - NIGHT"),
            (
                "scene-1-ext-harbour-continuous",
                "2 · EXT. HARBOUR - CONTINUOUS (NIGHT)"
            ),
            (
                "scene-1-ext-pier-moments-later",
                "2A · EXT. PIER - MOMENTS LATER (NIGHT)"
            ),
            (
                "scene-1-int-ext-taxi-moving-day",
                "3 · INT./EXT. TAXI - MOVING - DAY"
            ),
        ]
    );
    assert_eq!(
        patch_text(&patch, "scene-1-ext-pier-moments-later-shot-1", "shot"),
        "2A.1"
    );
    // Running again updates nothing.
    let mut graph = TestGraph::new();
    graph.apply(&patch);
    let again = run_break_down(SHOOTING, &graph);
    assert!(again.upsert_nodes.is_empty(), "{:?}", again.upsert_nodes);
}

#[test]
fn continuity_headings_inherit_the_time_of_day() {
    let text = "EXT. HARBOUR - NIGHT\n\nRain.\n\n\
                INT. TICKET BOOTH - CONTINUOUS\n\nA kettle.\n\n\
                INT. TICKET BOOTH - MOMENTS LATER\n\nSteam.\n\n\
                EXT. PIER - LATER\n\nFog.\n\n\
                EXT. ISLAND - DAWN\n\nGold light.\n\n\
                INT. CHAPEL - SAME TIME\n\nCandles.\n\n\
                INT. CHAPEL - SAME\n\nWax.\n\n\
                INT. VESTRY - (CONT'D)\n\nRobes.\n";
    let scenes = script::scenes(&parse(text));
    let times: Vec<Option<&str>> = scenes.iter().map(|s| s.time_of_day.as_deref()).collect();
    assert_eq!(
        times,
        [
            Some("NIGHT"),
            Some("NIGHT"),
            Some("NIGHT"),
            Some("NIGHT"),
            Some("DAWN"),
            Some("DAWN"),
            Some("DAWN"),
            Some("DAWN"),
        ]
    );
    // Headings keep their own words; the label a shot carries names the time.
    assert_eq!(scenes[1].heading, "INT. TICKET BOOTH - CONTINUOUS");
    assert_eq!(
        scenes[1].label(),
        "2 · INT. TICKET BOOTH - CONTINUOUS (NIGHT)"
    );
    assert_eq!(scenes[4].label(), "5 · EXT. ISLAND - DAWN");

    // A shot in a CONTINUOUS scene after a NIGHT one carries the time in its
    // scene label, where the draft renderer reads the time of day (the last
    // dash-separated part of the heading).
    let patch = break_down(FERRY, &[]);
    let scene = patch_text(
        &patch,
        "scene-1-int-ticket-booth-continuous-shot-1",
        "scene",
    );
    assert_eq!(scene, "2 · INT. TICKET BOOTH - CONTINUOUS (NIGHT)");
    let last_part = scene.rsplit(['-', '–', '—']).next().unwrap();
    assert!(last_part.contains("NIGHT"), "{last_part}");
    let odd = script::scenes(&parse(BASEMENT));
    let times: Vec<Option<&str>> = odd.iter().map(|s| s.time_of_day.as_deref()).collect();
    assert_eq!(times, [Some("NIGHT"), Some("NIGHT"), Some("NIGHT"), None]);

    // Nothing to inherit: the first scene, or a heading that names no time.
    let unknown = script::scenes(&parse(
        "INT. HALL - CONTINUOUS\n\nA.\n\nINT. HALL\n\nB.\n\nEXT. YARD - LATER\n\nC.\n",
    ));
    assert!(unknown.iter().all(|s| s.time_of_day.is_none()));
    assert_eq!(unknown[0].label(), "1 · INT. HALL - CONTINUOUS");
    // A time word in the location is not a time of day.
    let location = script::scenes(&parse(
        "INT. DAY CARE - NIGHT\n\nA.\n\nINT. NIGHT CLUB\n\nB.\n",
    ));
    assert_eq!(location[0].time_of_day.as_deref(), Some("NIGHT"));
    assert_eq!(location[1].time_of_day, None);
}

#[test]
fn characters_named_in_action_join_their_shots() {
    let text = "EXT. PIER - NIGHT\n\n\
                Maya walks to the pier. A TAXI DRIVER (50s) waits by his cab.\n\n\
                MAYA\nTom? Tom!\n\n\
                Tom's lantern swings. The taxi driver shrugs.\n\n\
                TOM\nHere.\n\n\
                A tomato stall, shut until tomorrow. The MARGARET, a fishing boat, bobs. Harbour Master Reyes waves.\n\n\
                OLD TOM (70s) watches from a bench.\n";
    let play = parse(text);
    assert_eq!(play.characters(), ["MAYA", "TOM"]);
    assert_eq!(play.cast(), ["MAYA", "TOM", "TAXI DRIVER", "OLD TOM"]);

    let patch = break_down(text, &[]);
    let shot = |k: usize| format!("scene-1-ext-pier-night-shot-{k}");
    assert_eq!(
        wired_into(&patch, &shot(1)),
        ["character-maya", "character-taxi-driver"]
    );
    // Maya's line is hers alone: names spoken in dialogue do not put anyone in the shot.
    assert_eq!(wired_into(&patch, &shot(2)), ["character-maya"]);
    // Case-insensitive, possessives included.
    assert_eq!(
        wired_into(&patch, &shot(3)),
        ["character-tom", "character-taxi-driver"]
    );
    // Whole words only; capitalised words the script does not cast are not characters.
    assert!(wired_into(&patch, &shot(5)).is_empty());
    // The longest name wins: OLD TOM is not TOM.
    assert_eq!(wired_into(&patch, &shot(6)), ["character-old-tom"]);
    assert!(
        patch.summary.ends_with("; 4 characters (4 new)"),
        "{}",
        patch.summary
    );

    // The ferry: introduced in capitals, then named in action.
    let ferry = break_down(FERRY, &[]);
    assert_eq!(
        wired_into(&ferry, "scene-1-ext-harbour-night-shot-2"),
        ["character-maya"]
    );
    assert_eq!(
        wired_into(&ferry, "scene-1-ext-harbour-night-shot-6"),
        ["character-maya", "character-tom"]
    );
    assert!(ferry.summary.ends_with("; 4 characters (4 new)"));

    // Once the action no longer names her, her wire goes.
    let mut graph = TestGraph::new();
    graph.apply(&patch);
    let edited = text.replace("Maya walks to the pier.", "Someone walks to the pier.");
    let again = run_break_down(&edited, &graph);
    assert!(
        again
            .remove_edges
            .contains(&format!("character-maya--{}", shot(1)))
    );
    assert!(
        !again
            .remove_edges
            .contains(&format!("character-taxi-driver--{}", shot(1)))
    );
    assert_eq!(wired_into(&again, &shot(1)), ["character-taxi-driver"]);
}

#[test]
fn capitals_that_are_not_people_are_not_cast() {
    // Old Jonas never speaks and has no age: his name in capitals where he
    // first appears, then in title case mid-sentence, makes him cast. The
    // radio's CRACKLES, BANG! and BLARING are sounds: never named again.
    let play = parse(SHOOTING);
    assert_eq!(play.cast(), ["SAMIR", "MAYA", "OLD JONAS"]);
    let patch = break_down(SHOOTING, &[]);
    assert_eq!(
        wired_into(&patch, "scene-1-ext-harbour-continuous-shot-1"),
        ["character-maya", "character-old-jonas"]
    );
    assert_eq!(
        wired_into(&patch, "scene-1-ext-pier-moments-later-shot-1"),
        ["character-old-jonas", "character-samir"]
    );

    let text = "INT. WORKSHOP - NIGHT\n\n\
                CUT TO BLACK. CONTINUOUS. INT. HALL. CLOSE ON the lathe. The phone RINGS.\n\n\
                A KNOCK. The MARGARET, a fishing boat, sits on blocks. His PHONE buzzes.\n\n\
                SUPER: LONDON, 1968\n\n\
                KIT sands a hull. A tide clock ticks in London; the Margaret waits; his Phone \
                is dead. Rings hang on hooks beside Kit.\n\n\
                JEAN-LUC watches. Later a letter comes for Jean-Luc. RUTH'S cat stretches \
                next to Ruth.\n";
    // The phone RINGS then `Rings hang` (a sentence start), `the Margaret`
    // and `his Phone` (after an article or possessive), `in London` (on-screen
    // text, and `1968` is a year, not an age) are not the way people are named.
    assert_eq!(parse(text).cast(), ["KIT", "JEAN-LUC", "RUTH"]);
}

#[test]
fn names_count_where_they_are_written_as_names() {
    let text = "EXT. YARD - DAY\n\n\
                WILL\nMorning.\n\n\
                The gate will not open. The driver waits.\n\n\
                Will kicks it. The driver laughs.\n\n\
                DRIVER\nNice.\n\n\
                A driver's cap lies in the mud.\n";
    let patch = break_down(text, &[]);
    let shot = |k: usize| format!("scene-1-ext-yard-day-shot-{k}");
    // `will` in lower case is a verb; `The driver` is the driver.
    assert_eq!(wired_into(&patch, &shot(2)), ["character-driver"]);
    assert_eq!(
        wired_into(&patch, &shot(3)),
        ["character-will", "character-driver"]
    );
    // `A driver's cap` names no one in particular.
    assert!(wired_into(&patch, &shot(5)).is_empty());
}

#[test]
fn a_time_named_before_the_last_part_of_the_heading_ends_the_label() {
    let scenes = script::scenes(&parse(
        "INT. CAR - NIGHT - CONTINUOUS\n\nA.\n\nINT. CAR - LATER\n\nB.\n",
    ));
    // The draft renderer reads the time of day from the end of a shot's scene.
    assert_eq!(
        scenes[0].label(),
        "1 · INT. CAR - NIGHT - CONTINUOUS (NIGHT)"
    );
    assert_eq!(scenes[1].label(), "2 · INT. CAR - LATER (NIGHT)");
}
