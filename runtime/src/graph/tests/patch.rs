use crate::graph::{Graph, PatchError, PatchReport, apply_patch, validate};

use super::fixture::{assert_indexes_consistent, catalog, check, graph, patch, render};

fn render_report(report: &PatchReport) -> String {
    let mut lines = Vec::new();
    let mut list = |what: &str, ids: Vec<String>| {
        if !ids.is_empty() {
            lines.push(format!("{what}: {}", ids.join(" ")));
        }
    };
    let text = |ids: &[crate::graph::NodeId]| ids.iter().map(ToString::to_string).collect();
    let edge_text = |ids: &[crate::graph::EdgeId]| ids.iter().map(ToString::to_string).collect();
    list("nodes added", text(&report.nodes_added));
    list("nodes updated", text(&report.nodes_updated));
    list("nodes removed", text(&report.nodes_removed));
    list("edges added", edge_text(&report.edges_added));
    list("edges updated", edge_text(&report.edges_updated));
    list("edges removed", edge_text(&report.edges_removed));
    lines.join("\n")
}

/// Applies the patch to the fixture; expects the report and the resulting graph, or
/// `error: …` — in which case the graph must be exactly as before.
#[track_caller]
fn check_patch(fixture: &str, patch_text: &str, expect: &str) {
    let mut graph = graph(fixture);
    let before: Graph = graph.clone();
    let actual = match apply_patch(&mut graph, &patch(patch_text), &catalog()) {
        Ok(report) => format!("{}\n--\n{}", render_report(&report), render(&graph)),
        Err(err) => {
            assert_eq!(graph, before, "a refused patch changed the graph");
            format!("error: {err}")
        }
    };
    assert_indexes_consistent(&graph);
    check(actual, expect);
}

const SCENE: &str = r#"
    ada: character "Ada"
    noir: style "Noir"
    dock: environment "Dock"
    sc1: subflow "Scene 1"
    s1: shot@0.1.0 "1.1" in sc1 at 0,0 prompt="old" steps=3
    s2: shot "1.2" in sc1 at 320,40 prompt="b"
    e1: ada.character -> s1.characters
    e2: dock.environment -> s1.environment
    e3: dock.environment -> s2.environment
"#;

#[test]
fn adds_nodes_with_latest_versions_and_free_places() {
    check_patch(
        SCENE,
        r#"
        + s3: shot "1.3" in sc1 prompt="c"
        + s4: shot "1.4" in sc1 prompt="d"
        + sc2: subflow "Scene 2" at 0,500
        + s5: shot "2.1" in sc2 prompt="e"
        + e4: dock.environment -> s3.environment
        + e5: noir.style -> s3.style
        "#,
        r#"
        nodes added: s3 s4 s5 sc2
        edges added: e4 e5
        --
        ada: character@1.0.0 "Ada"
        dock: environment@1.0.0 "Dock"
        noir: style@1.0.0 "Noir"
        s1: shot@0.1.0 "1.1" in sc1 prompt="old" steps=3
        s2: shot@1.2.0 "1.2" in sc1 at 320,40 prompt="b"
        s3: shot@1.2.0 "1.3" in sc1 at 640,40 prompt="c"
        s4: shot@1.2.0 "1.4" in sc1 at 960,40 prompt="d"
        s5: shot@1.2.0 "2.1" in sc2 prompt="e"
        sc1: subflow@1.0.0 "Scene 1"
        sc2: subflow@1.0.0 "Scene 2" at 0,500
        e1: ada.character -> s1.characters
        e2: dock.environment -> s1.environment
        e3: dock.environment -> s2.environment
        e4: dock.environment -> s3.environment
        e5: noir.style -> s3.style
        "#,
    );
}

#[test]
fn updates_merge_parameters_and_keep_version_and_position() {
    check_patch(
        SCENE,
        r#"
        + s1: shot "1.1 (take 2)" in sc1 prompt="new" camera=:close
        + s2: shot "1.2" in sc1 at 400,40 prompt="b"
        + dock: style "Dock"
        "#,
        r#"
        nodes updated: dock s1 s2
        --
        ada: character@1.0.0 "Ada"
        dock: style@1.0.0 "Dock"
        noir: style@1.0.0 "Noir"
        s1: shot@0.1.0 "1.1 (take 2)" in sc1 camera=:close prompt="new" steps=3
        s2: shot@1.2.0 "1.2" in sc1 at 400,40 prompt="b"
        sc1: subflow@1.0.0 "Scene 1"
        e1: ada.character -> s1.characters
        e2: dock.environment -> s1.environment
        e3: dock.environment -> s2.environment
        "#,
    );
}

#[test]
fn an_unchanged_upsert_reports_nothing() {
    check_patch(
        SCENE,
        r#"
        + s2: shot "1.2" in sc1 prompt="b"
        + e3: dock.environment -> s2.environment
        "#,
        &format!("\n--\n{}", render(&graph(SCENE))),
    );
}

#[test]
fn removes_groups_with_their_contents_then_upserts() {
    check_patch(
        SCENE,
        r#"
        - edge e1
        - node sc1
        - node not-there
        - edge not-there
        + s2: shot "1.2 again" prompt="b"
        + e6: ada.character -> s2.characters
        + e3: dock.environment -> s2.environment
        "#,
        r#"
        nodes updated: s2
        nodes removed: s1 sc1
        edges added: e6
        edges removed: e1 e2
        --
        ada: character@1.0.0 "Ada"
        dock: environment@1.0.0 "Dock"
        noir: style@1.0.0 "Noir"
        s2: shot@1.2.0 "1.2 again" at 320,0 prompt="b"
        e3: dock.environment -> s2.environment
        e6: ada.character -> s2.characters
        "#,
    );
}

#[test]
fn refuses_unknown_types() {
    check_patch(
        SCENE,
        r#"
        - node s2
        + s9: hologram "X"
        "#,
        r#"error: node "s9" has type "hologram", which is not installed"#,
    );
}

#[test]
fn refuses_edges_to_nodes_that_would_not_exist() {
    check_patch(
        SCENE,
        r#"
        + e9: ada.character -> ghost.characters
        "#,
        r#"error: edge e9 connects node "ghost", which would not exist"#,
    );
    check_patch(
        SCENE,
        r#"
        - node ada
        + s3: shot "1.3" in sc1
        + e9: ada.character -> s3.characters
        "#,
        r#"error: edge e9 connects node "ada", which would not exist"#,
    );
}

#[test]
fn refuses_unknown_ports_on_known_types() {
    check_patch(
        SCENE,
        r#"
        + e9: ada.character -> s2.props
        "#,
        r#"error: edge e9 uses input "props" of node "s2", but "shot" 1.2.0 has no such input"#,
    );
    check_patch(
        SCENE,
        r#"
        + e9: ada.voice -> s2.characters
        "#,
        r#"error: edge e9 uses output "voice" of node "ada", but "character" 1.0.0 has no such output"#,
    );
}

#[test]
fn ports_of_uninstalled_versions_are_not_second_guessed() {
    check_patch(
        &SCENE.replace("s2: shot \"1.2\"", "s2: shot@7.0.0 \"1.2\""),
        r#"
        + e9: ada.character -> s2.props
        "#,
        r#"
        edges added: e9
        --
        ada: character@1.0.0 "Ada"
        dock: environment@1.0.0 "Dock"
        noir: style@1.0.0 "Noir"
        s1: shot@0.1.0 "1.1" in sc1 prompt="old" steps=3
        s2: shot@7.0.0 "1.2" in sc1 at 320,40 prompt="b"
        sc1: subflow@1.0.0 "Scene 1"
        e1: ada.character -> s1.characters
        e2: dock.environment -> s1.environment
        e3: dock.environment -> s2.environment
        e9: ada.character -> s2.props
        "#,
    );
}

#[test]
fn refuses_parents_that_are_not_groups() {
    check_patch(
        SCENE,
        r#"
        + s3: shot "1.3" in s1
        "#,
        r#"error: node "s3" cannot be inside "s1": it is not a group"#,
    );
    check_patch(
        SCENE,
        r#"
        + s3: shot "1.3" in sc9
        "#,
        r#"error: node "s3" cannot be inside "sc9": it would not exist"#,
    );
    check_patch(
        SCENE,
        r#"
        + sc1: style "Scene 1"
        "#,
        r#"error: node "s1" cannot be inside "sc1": it is not a group"#,
    );
    check_patch(
        SCENE,
        r#"
        + sc0: subflow "Film" in sc1
        + sc1: subflow "Scene 1" in sc0
        "#,
        r#"error: node "sc1" cannot be inside "sc0": groups would be inside each other"#,
    );
}

#[test]
fn refuses_cycles_and_names_their_nodes() {
    let chain = r#"
        a: edit "A"
        b: edit "B"
        c: edit "C"
        e1: a.film -> b.clips
        e2: b.film -> c.clips
    "#;
    check_patch(
        chain,
        r#"
        + e3: c.film -> a.clips
        "#,
        "error: the patch would create a cycle: C → A → B → C",
    );
    check_patch(
        chain,
        r#"
        + d: edit "D"
        + e3: c.film -> d.clips
        + e4: d.film -> d.clips
        "#,
        "error: the patch would create a cycle: D → D",
    );
    check_patch(
        chain,
        r#"
        - edge e1
        + e3: c.film -> a.clips
        "#,
        r#"
        edges added: e3
        edges removed: e1
        --
        a: edit@1.0.0 "A"
        b: edit@1.0.0 "B"
        c: edit@1.0.0 "C"
        e2: b.film -> c.clips
        e3: c.film -> a.clips
        "#,
    );
}

#[test]
fn a_refused_patch_leaves_everything_as_it_was() {
    // Every kind of edit happens before the cycle is found.
    check_patch(
        SCENE,
        r#"
        - edge e3
        - node ada
        + s1: shot "renamed" prompt="x"
        + s2: shot "moved" in sc1 at 9,9
        + sc2: subflow "Scene 2"
        + s3: shot "1.3" in sc2
        + e2: noir.style -> s1.style
        + e7: s1.clip -> s1.characters
        "#,
        "error: the patch would create a cycle: renamed → renamed",
    );
}

#[test]
fn a_patched_graph_validates_like_a_built_one() {
    let mut graph = graph(SCENE);
    apply_patch(
        &mut graph,
        &patch(
            r#"
            + s3: shot "1.3" in sc1
            + e4: noir.style -> s3.characters
            "#,
        ),
        &catalog(),
    )
    .unwrap();
    let messages: Vec<String> = validate(&graph, &catalog())
        .into_iter()
        .map(|d| d.message)
        .collect();
    check(
        messages.join("\n"),
        r#"
        Shot "1.3" needs a value for "Prompt".
        Shot "1.3" needs a connection on "Environment".
        "Characters" on Shot "1.3" takes characters, but "Style" from Style "Noir" gives a style.
        "#,
    );
}

#[test]
fn error_values_carry_ids() {
    let mut graph = graph(SCENE);
    let err = apply_patch(
        &mut graph,
        &patch("+ e9: s1.clip -> s1.characters"),
        &catalog(),
    )
    .unwrap_err();
    let PatchError::Cycle(cycle) = err else {
        panic!("expected a cycle, got {err}");
    };
    assert_eq!(cycle.nodes, ["s1"]);
    assert_eq!(cycle.names, ["1.1"]);
}
