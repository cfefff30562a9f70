use crate::graph::{GraphDiff, diff};

use super::fixture::{check, graph};

fn render(diff: &GraphDiff) -> String {
    let mut lines = vec![diff.summary()];
    lines.extend(diff.added_nodes.iter().map(|id| format!("+ node {id}")));
    lines.extend(diff.removed_nodes.iter().map(|id| format!("- node {id}")));
    lines.extend(diff.changed_nodes.iter().map(|change| {
        let fields: Vec<String> = change.fields.iter().map(ToString::to_string).collect();
        format!("~ node {}: {}", change.id, fields.join(", "))
    }));
    lines.extend(diff.moved_nodes.iter().map(|moved| {
        format!(
            "> node {}: {},{} -> {},{}",
            moved.id, moved.from.x, moved.from.y, moved.to.x, moved.to.y
        )
    }));
    lines.extend(diff.added_edges.iter().map(|id| format!("+ edge {id}")));
    lines.extend(diff.removed_edges.iter().map(|id| format!("- edge {id}")));
    lines.extend(diff.changed_edges.iter().map(|id| format!("~ edge {id}")));
    lines.join("\n")
}

#[track_caller]
fn check_diff(old: &str, new: &str, expect: &str) {
    check(render(&diff(&graph(old), &graph(new))), expect);
}

const BASE: &str = r#"
    sc1: subflow "Scene 1"
    ada: character "Ada"
    s1: shot "1.1" in sc1 at 0,0 prompt="a" steps=3
    s2: shot "1.2" in sc1 at 300,0 prompt="b"
    e1: ada.character -> s1.characters
    e2: ada.character -> s2.characters
"#;

#[test]
fn identical_graphs_have_no_changes() {
    let diff = diff(&graph(BASE), &graph(BASE));
    assert!(diff.is_empty());
    assert!(!diff.is_layout_only());
    check(render(&diff), "no changes");
}

#[test]
fn moves_are_reported_apart_from_edits() {
    let new = BASE.replace("at 300,0", "at 300,120");
    let changes = diff(&graph(BASE), &graph(&new));
    assert!(changes.is_layout_only());
    check(
        render(&changes),
        r#"
        1 node moved
        > node s2: 300,0 -> 300,120
        "#,
    );
}

#[test]
fn a_node_edited_and_moved_is_in_both_lists() {
    let new = BASE.replace(r#""1.2" in sc1 at 300,0"#, r#""1.2b" at 310,0"#);
    check_diff(
        BASE,
        &new,
        r#"
        1 node edited, 1 moved
        ~ node s2: parent, label
        > node s2: 300,0 -> 310,0
        "#,
    );
}

#[test]
fn parameters_set_changed_and_cleared() {
    let new = BASE.replace(r#"prompt="a" steps=3"#, r#"prompt="a!" camera=:wide"#);
    check_diff(
        BASE,
        &new,
        r#"
        1 node edited
        ~ node s1: param camera, param prompt, param steps
        "#,
    );
}

#[test]
fn type_and_version_changes() {
    let new = BASE.replace(r#"s2: shot "1.2""#, r#"s2: shot@0.1.0 "1.2""#);
    let new = new.replace(r#"ada: character"#, r#"ada: style"#);
    check_diff(
        BASE,
        &new,
        r#"
        2 nodes edited
        ~ node ada: type
        ~ node s2: version
        "#,
    );
}

#[test]
fn added_removed_and_rewired() {
    let new = r#"
        sc1: subflow "Scene 1"
        ada: character "Ada"
        bob: character "Bob"
        s1: shot "1.1" in sc1 at 0,0 prompt="a" steps=3
        s3: shot "1.3" in sc1 at 600,0 prompt="c"
        e1: bob.character -> s1.characters
        e3: ada.character -> s3.characters
    "#;
    check_diff(
        BASE,
        new,
        r#"
        2 nodes added, 1 removed; 1 edge added, 1 removed, 1 changed
        + node bob
        + node s3
        - node s2
        + edge e3
        - edge e2
        ~ edge e1
        "#,
    );
}

#[test]
fn summary_counts() {
    let mut changes = GraphDiff::default();
    assert_eq!(changes.summary(), "no changes");
    changes.added_nodes = vec!["a".into(), "b".into(), "c".into()];
    changes.removed_nodes = vec!["d".into()];
    changes.added_edges = vec!["e".into(); 4];
    assert_eq!(changes.summary(), "3 nodes added, 1 removed; 4 edges added");
    changes.added_nodes.clear();
    changes.removed_nodes.clear();
    changes.added_edges.truncate(1);
    assert_eq!(changes.summary(), "1 edge added");
}
