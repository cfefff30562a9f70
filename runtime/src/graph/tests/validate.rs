use crate::graph::validate;
use crate::plugin::types::Severity;

use super::fixture::{catalog, check, graph};

/// Validates the fixture and lists `severity code: message`, one per line.
#[track_caller]
fn check_validate(fixture: &str, expect: &str) {
    let found = validate(&graph(fixture), &catalog());
    let lines: Vec<String> = found
        .iter()
        .map(|diagnostic| {
            let severity = match diagnostic.severity {
                Severity::Info => "info",
                Severity::Warning => "warning",
                Severity::Error => "error",
            };
            format!(
                "{severity} {}: {}",
                diagnostic.code.id(),
                diagnostic.message
            )
        })
        .collect();
    check(lines.join("\n"), expect);
}

const WORLD: &str = r#"
    script: script "Script"
    ada: character "Ada"
    noir: style "Noir"
    dock: environment "Dock"
    sc1: subflow "Scene 1" title="Arrival"
    e-ada: script.script -> ada.script
"#;

#[test]
fn a_sound_graph_has_no_findings() {
    check_validate(
        &format!(
            r#"{WORLD}
            s1: shot "1.3" in sc1 prompt="Ada waits" steps=3 camera=:wide
            e1: ada.character -> s1.characters
            e2: noir.style -> s1.style
            e3: dock.environment -> s1.environment
            cut: edit "Cut"
            e4: s1.clip -> cut.clips
            "#
        ),
        "",
    );
}

#[test]
fn unknown_type_and_version() {
    check_validate(
        r#"
        x: hologram "X"
        s1: shot@2.0.0 "1.3"
        "#,
        r#"
        error unknown_version: Shot "1.3" uses "shot" 2.0.0, which is not installed (installed: 0.1.0, 1.2.0).
        error unknown_type: Node "X" has type "hologram", which is not installed.
        "#,
    );
}

#[test]
fn edges_of_nodes_with_unknown_types_are_not_second_guessed() {
    check_validate(
        r#"
        dock: environment "Dock"
        x: hologram "X"
        e1: x.beam -> dock.nowhere
        "#,
        r#"
        error unknown_type: Node "X" has type "hologram", which is not installed.
        error unknown_port: Edge e1 goes into "nowhere" on Environment "Dock", which has no such input.
        "#,
    );
}

#[test]
fn missing_required_input() {
    check_validate(
        r#"
        s1: shot "1.3" prompt="p"
        "#,
        r#"
        error missing_required_input: Shot "1.3" needs a connection on "Environment".
        "#,
    );
}

#[test]
fn incompatible_ports() {
    check_validate(
        &format!(
            r#"{WORLD}
            s1: shot "1.3" prompt="p"
            e1: noir.style -> s1.characters
            e2: ada.character -> s1.environment
            e3: dock.environment -> s1.environment
            "#
        ),
        r#"
        error too_many_edges: "Environment" on Shot "1.3" takes one connection; 2 are connected.
        error incompatible_ports: "Characters" on Shot "1.3" takes characters, but "Style" from Style "Noir" gives a style.
        error incompatible_ports: "Environment" on Shot "1.3" takes an environment, but "Character" from Character "Ada" gives a character.
        "#,
    );
}

#[test]
fn an_any_input_takes_every_kind() {
    check_validate(
        &format!(
            r#"{WORLD}
            cut: edit "Cut"
            e1: noir.style -> cut.clips
            e2: ada.character -> cut.clips
            "#
        ),
        "",
    );
}

#[test]
fn too_many_edges() {
    check_validate(
        &format!(
            r#"{WORLD}
            pulp: style "Pulp"
            s1: shot "1.3" prompt="p"
            e1: noir.style -> s1.style
            e2: pulp.style -> s1.style
            e3: dock.environment -> s1.environment
            "#
        ),
        r#"
        error too_many_edges: "Style" on Shot "1.3" takes one connection; 2 are connected.
        "#,
    );
}

#[test]
fn cycles_are_reported_once_each_by_label() {
    check_validate(
        r#"
        a: edit "A"
        b: edit "B"
        c: edit "C"
        e1: a.film -> b.clips
        e2: b.film -> c.clips
        e3: c.film -> a.clips
        loop: edit "Loop"
        e4: loop.film -> loop.clips
        ok: edit "Fine"
        e5: c.film -> ok.clips
        "#,
        r#"
        error cycle: These nodes form a cycle: A → B → C → A.
        error cycle: These nodes form a cycle: Loop → Loop.
        "#,
    );
}

#[test]
fn a_tangle_of_cycles_is_one_finding() {
    check_validate(
        r#"
        a: edit "A"
        b: edit "B"
        c: edit "C"
        d: edit "D"
        e1: a.film -> b.clips
        e2: b.film -> a.clips
        e3: b.film -> c.clips
        e4: c.film -> d.clips
        e5: d.film -> b.clips
        "#,
        r#"
        error cycle: These nodes form a cycle: A → B → A. 2 more nodes are caught in cycles with them.
        "#,
    );
}

#[test]
fn dangling_edges() {
    check_validate(
        &format!(
            r#"{WORLD}
            e7: ada.character -> n9.characters
            e8: ghost.style -> noir.style
            "#
        ),
        r#"
        error dangling_edge: Edge e7 points to node "n9", which does not exist.
        error dangling_edge: Edge e8 comes from node "ghost", which does not exist.
        "#,
    );
}

#[test]
fn unknown_ports() {
    check_validate(
        &format!(
            r#"{WORLD}
            s1: shot "1.3" prompt="p"
            e1: ada.voice -> s1.characters
            e2: dock.environment -> s1.props
            e3: dock.environment -> s1.environment
            e4: dock.environment -> sc1.input
            "#
        ),
        r#"
        error unknown_port: Edge e1 comes out of "voice" on Character "Ada", which has no such output.
        error unknown_port: Edge e2 goes into "props" on Shot "1.3", which has no such input.
        error unknown_port: Edge e4 goes into "input" on Group "Scene 1", which has no such input.
        "#,
    );
}

#[test]
fn duplicate_edges() {
    check_validate(
        &format!(
            r#"{WORLD}
            s1: shot "1.3" prompt="p"
            e1: ada.character -> s1.characters
            e2: ada.character -> s1.characters
            e3: dock.environment -> s1.environment
            "#
        ),
        r#"
        warning duplicate_edge: Edges e1 and e2 both connect "character" of Character "Ada" to "characters" on Shot "1.3".
        "#,
    );
}

#[test]
fn parameter_values() {
    check_validate(
        &format!(
            r#"{WORLD}
            s1: shot "1.3" prompt=5 steps=50 camera=:tilt seed=7
            e1: dock.environment -> s1.environment
            "#
        ),
        r#"
        error bad_param: "Camera" on Shot "1.3": value "tilt" is not one of wide, close.
        error bad_param: "Prompt" on Shot "1.3": value is a integer, expected a text.
        warning unknown_param: Shot "1.3" has a value for "seed", which its type does not define.
        error bad_param: "Steps" on Shot "1.3": value 50 is outside the range 1..=10.
        "#,
    );
}

#[test]
fn missing_parameters() {
    check_validate(
        &format!(
            r#"{WORLD}
            s1: shot "1.3"
            s2: shot "1.4" prompt="  "
            e1: dock.environment -> s1.environment
            e2: dock.environment -> s2.environment
            "#
        ),
        r#"
        error missing_param: Shot "1.3" needs a value for "Prompt".
        error missing_param: Shot "1.4" needs a value for "Prompt".
        "#,
    );
}

#[test]
fn the_group_title_is_checked_like_any_parameter() {
    check_validate(
        r#"
        sc1: subflow "Scene 1" title=3
        "#,
        r#"
        error bad_param: "Title" on Group "Scene 1": value is a integer, expected a text.
        "#,
    );
}

#[test]
fn bad_parents() {
    check_validate(
        r#"
        s0: shot "0.1" in nowhere prompt="p"
        s1: shot "1.1" prompt="p"
        s2: shot "1.2" in s1 prompt="p"
        ga: subflow "A" in gb
        gb: subflow "B" in ga
        gc: subflow "C" in gb
        "#,
        r#"
        error bad_parent: Shot "0.1" is inside "nowhere", which does not exist.
        error missing_required_input: Shot "0.1" needs a connection on "Environment".
        error missing_required_input: Shot "1.1" needs a connection on "Environment".
        error bad_parent: Shot "1.2" is inside Shot "1.1", which is not a group.
        error missing_required_input: Shot "1.2" needs a connection on "Environment".
        error bad_parent: These groups are inside each other: A → B → A.
        "#,
    );
}

#[test]
fn findings_point_at_their_node_edge_and_field() {
    let graph = graph(
        r#"
        dock: environment "Dock"
        s1: shot "1.3" prompt="p"
        e1: dock.environment -> s1.environment
        e2: dock.environment -> s1.environment
        "#,
    );
    let found = validate(&graph, &catalog());
    let places: Vec<String> = found
        .iter()
        .map(|d| format!("{:?} {:?} {:?} {:?}", d.code, d.node, d.edge, d.field))
        .collect();
    check(
        places.join("\n"),
        r#"
        TooManyEdges Some("s1") None Some("environment")
        DuplicateEdge Some("s1") Some("e2") Some("environment")
        "#,
    );
}

#[test]
fn a_cycle_finding_lists_its_nodes() {
    let graph = graph(
        r#"
        a: edit "A"
        b: edit "B"
        e1: a.film -> b.clips
        e2: b.film -> a.clips
        "#,
    );
    let found = validate(&graph, &catalog());
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].node.as_ref().map(|id| id.as_str()), Some("a"));
    assert_eq!(found[0].related, ["a", "b"]);
}
