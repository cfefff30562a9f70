use crate::graph::{Edge, Graph, Node, NodeId};
use crate::plugin::types::{ParamValue, Position};

use super::fixture::{assert_indexes_consistent, check, graph, render};

fn ids(ids: impl IntoIterator<Item = NodeId>) -> String {
    ids.into_iter()
        .map(|id| id.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

fn names<'a>(nodes: impl Iterator<Item = &'a Node>) -> String {
    ids(nodes.map(|node| node.id.clone()))
}

const FILM: &str = r#"
    script: script "Script"
    ada: character "Ada"
    bob: character "Bob"
    noir: style "Noir"
    dock: environment "Dock"
    film: subflow "Film"
    sc1: subflow "Scene 1" in film
    sc2: subflow "Scene 2" in film
    s11: shot "1.1" in sc1 prompt="p"
    s12: shot "1.2" in sc1 prompt="p"
    s21: shot "2.1" in sc2 prompt="p"
    cut: edit "Cut"
    e01: script.script -> ada.script
    e02: script.script -> bob.script
    e11: ada.character -> s11.characters
    e12: bob.character -> s11.characters
    e13: noir.style -> s11.style
    e14: dock.environment -> s11.environment
    e15: ada.character -> s12.characters
    e16: dock.environment -> s12.environment
    e21: bob.character -> s21.characters
    e22: dock.environment -> s21.environment
    e31: s11.clip -> cut.clips
    e32: s12.clip -> cut.clips
    e33: s21.clip -> cut.clips
"#;

#[test]
fn nesting_and_lookups() {
    let graph = graph(FILM);
    assert_eq!(names(graph.children_of("film")), "sc1 sc2");
    assert_eq!(names(graph.children_of("sc1")), "s11 s12");
    assert_eq!(names(graph.children_of("s11")), "");
    assert_eq!(
        names(graph.top_level()),
        "ada bob cut dock film noir script"
    );
    let into: Vec<&str> = graph
        .edges_into("s11", "characters")
        .map(|edge| edge.id.as_str())
        .collect();
    assert_eq!(into, ["e11", "e12"]);
    let from: Vec<&str> = graph
        .edges_from("ada", "character")
        .map(|edge| edge.id.as_str())
        .collect();
    assert_eq!(from, ["e11", "e15"]);
    assert_eq!(ids(graph.subtree("film")), "film sc1 sc2 s11 s12 s21");
    assert_eq!(graph.name_of("s11"), "1.1");
    assert_eq!(graph.name_of("nothing"), "nothing");
    assert_indexes_consistent(&graph);
}

#[test]
fn upstream_closure_lists_dependencies_first() {
    let graph = graph(FILM);
    assert_eq!(
        ids(graph.upstream_closure("s11").unwrap()),
        "script ada bob noir dock s11"
    );
    assert_eq!(
        ids(graph.upstream_closure("cut").unwrap()),
        "script ada bob noir dock s11 s12 s21 cut"
    );
    assert_eq!(ids(graph.upstream_closure("script").unwrap()), "script");
    assert_eq!(ids(graph.upstream_closure("missing").unwrap()), "");
}

#[test]
fn upstream_closure_order_holds_for_every_node() {
    let graph = graph(FILM);
    for node in graph.nodes() {
        let closure = graph.upstream_closure(node.id.as_str()).unwrap();
        assert_eq!(closure.last(), Some(&node.id));
        for (at, id) in closure.iter().enumerate() {
            for edge in graph.incoming(id.as_str()) {
                let source = closure.iter().position(|other| *other == edge.source);
                assert!(source.is_some_and(|source| source < at), "{edge:?}");
            }
        }
    }
}

#[test]
fn upstream_closure_refuses_a_cycle() {
    let graph = graph(
        r#"
        a: edit "A"
        b: edit "B"
        c: edit "C"
        d: edit "D"
        e1: a.film -> b.clips
        e2: b.film -> c.clips
        e3: c.film -> a.clips
        e4: c.film -> d.clips
        "#,
    );
    let err = graph.upstream_closure("d").unwrap_err();
    assert_eq!(err.to_string(), "these nodes form a cycle: C → A → B → C");
    assert_eq!(ids(err.nodes), "c a b");
}

#[test]
fn downstream_is_nearest_first() {
    let graph = graph(FILM);
    assert_eq!(
        ids(graph.downstream_of("script")),
        "ada bob s11 s12 s21 cut"
    );
    assert_eq!(ids(graph.downstream_of("cut")), "");
}

#[test]
fn topological_order_and_its_cycle() {
    let film = graph(FILM);
    let order = film.topological_order().unwrap();
    assert_eq!(
        ids(order),
        "dock film noir sc1 sc2 script ada bob s11 s12 s21 cut"
    );
    let looped = graph(
        r#"
        a: edit "A"
        b: edit "B"
        z: edit "Z"
        e1: a.film -> b.clips
        e2: b.film -> a.clips
        e3: a.film -> z.clips
        "#,
    );
    assert_eq!(
        looped.topological_order().unwrap_err().to_string(),
        "these nodes form a cycle: A → B → A"
    );
}

#[test]
fn removing_a_group_removes_what_is_inside() {
    let mut graph = graph(FILM);
    let removed = graph.remove_node("sc1");
    assert_eq!(
        ids(removed.nodes.iter().map(|n| n.id.clone())),
        "sc1 s11 s12"
    );
    let edges: Vec<&str> = removed.edges.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        edges,
        ["e11", "e12", "e13", "e14", "e31", "e15", "e16", "e32"]
    );
    check(
        render(&graph),
        r#"
        ada: character@1.0.0 "Ada"
        bob: character@1.0.0 "Bob"
        cut: edit@1.0.0 "Cut"
        dock: environment@1.0.0 "Dock"
        film: subflow@1.0.0 "Film"
        noir: style@1.0.0 "Noir"
        s21: shot@1.2.0 "2.1" in sc2 prompt="p"
        sc2: subflow@1.0.0 "Scene 2" in film
        script: script@1.0.0 "Script"
        e01: script.script -> ada.script
        e02: script.script -> bob.script
        e21: bob.character -> s21.characters
        e22: dock.environment -> s21.environment
        e33: s21.clip -> cut.clips
        "#,
    );
    assert_indexes_consistent(&graph);
    assert!(graph.remove_node("sc1").nodes.is_empty());
}

#[test]
fn removing_a_plain_node_keeps_its_neighbours() {
    let mut graph = graph(FILM);
    let removed = graph.remove_node("ada");
    assert_eq!(removed.nodes.len(), 1);
    let edges: Vec<&str> = removed.edges.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(edges, ["e01", "e11", "e15"]);
    assert!(graph.contains_node("s11"));
    assert_eq!(graph.node_count(), 11);
    assert_eq!(graph.edge_count(), 10);
    assert_indexes_consistent(&graph);
}

#[test]
fn groups_inside_each_other_are_removed_without_looping() {
    let mut graph = graph(
        r#"
        a: subflow "A" in b
        b: subflow "B" in a
        s: shot "S" in b
        "#,
    );
    assert_eq!(graph.remove_node("a").nodes.len(), 3);
    assert_eq!(graph.node_count(), 0);
    assert_indexes_consistent(&graph);
}

#[test]
fn edits_keep_the_indexes_current() {
    let mut graph = graph(FILM);
    let previous = graph
        .insert_node(
            Node::new("s12", "shot", "1.2.0")
                .with_parent("sc2")
                .with_label("2.2"),
        )
        .unwrap();
    assert_eq!(previous.label, "1.2");
    assert_eq!(names(graph.children_of("sc2")), "s12 s21");
    assert_indexes_consistent(&graph);

    let moved = graph.update_node("s21", |node| {
        node.parent = None;
        node.id = NodeId::from("renamed");
        node.position = Position { x: 5.0, y: 6.0 };
        node.params.insert("steps".into(), ParamValue::Integer(2));
    });
    assert!(moved.is_some());
    assert!(graph.update_node("nothing", |_| ()).is_none());
    let node = graph.node("s21").unwrap();
    assert_eq!(node.id, "s21");
    assert_eq!(node.position, Position { x: 5.0, y: 6.0 });
    assert!(graph.top_level().any(|node| node.id == "s21"));
    assert_eq!(names(graph.children_of("sc2")), "s12");
    assert_indexes_consistent(&graph);

    let replaced = graph.insert_edge(Edge::new("e31", ("s12", "clip"), ("cut", "clips")));
    assert_eq!(replaced.unwrap().source, "s11");
    assert_eq!(graph.outgoing("s11").count(), 0);
    assert!(graph.remove_edge("e31").is_some());
    assert!(graph.remove_edge("e31").is_none());
    assert_indexes_consistent(&graph);
}

#[test]
fn dangling_references_are_held_and_indexed() {
    let mut graph = Graph::from_parts(
        [Node::new("s1", "shot", "1.2.0").with_parent("ghost-scene")],
        [Edge::new(
            "e1",
            ("ghost", "character"),
            ("s1", "characters"),
        )],
    );
    assert_eq!(graph.incoming("s1").count(), 1);
    assert_eq!(names(graph.children_of("ghost-scene")), "s1");
    assert_eq!(ids(graph.upstream_closure("s1").unwrap()), "s1");
    graph.remove_node("s1");
    assert_eq!(graph.edge_count(), 0);
    assert_indexes_consistent(&graph);
}
