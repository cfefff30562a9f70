use crate::graph::{Edge, Graph, Node, NodeId, SUBFLOW_TYPE};

use super::*;

/// character → shot-1 ← style; character → shot-2; shots inside a scene group.
fn production() -> Graph {
    let mut graph = Graph::new();
    graph.insert_node(Node::new("scene", SUBFLOW_TYPE, "0.1.0").with_label("Scene 1"));
    graph.insert_node(Node::new("maya", "character", "0.1.0").with_label("Maya"));
    graph.insert_node(Node::new("noir", "style", "0.1.0").with_label("Noir"));
    graph.insert_node(
        Node::new("shot-1", "shot", "0.1.0")
            .with_label("1.1")
            .with_parent("scene"),
    );
    graph.insert_node(
        Node::new("shot-2", "shot", "0.1.0")
            .with_label("1.2")
            .with_parent("scene"),
    );
    graph.insert_edge(Edge::new(
        "e1",
        ("maya", "character"),
        ("shot-1", "characters"),
    ));
    graph.insert_edge(Edge::new("e2", ("noir", "style"), ("shot-1", "style")));
    graph.insert_edge(Edge::new(
        "e3",
        ("maya", "character"),
        ("shot-2", "characters"),
    ));
    graph
}

fn ids(list: &[NodeId]) -> Vec<&str> {
    list.iter().map(NodeId::as_str).collect()
}

#[test]
fn a_plan_runs_sources_first_and_the_target_last() {
    let plan = Plan::for_node(&production(), "shot-1").unwrap();
    let order: Vec<&str> = plan.steps.iter().map(|s| s.node.as_str()).collect();
    assert_eq!(order.last(), Some(&"shot-1"));
    assert_eq!(order.len(), 3);
    let waves = plan.waves();
    assert_eq!(waves.len(), 2, "independent sources run together");
    let mut first = ids(&waves[0]);
    first.sort();
    assert_eq!(first, ["maya", "noir"]);
    assert_eq!(ids(&waves[1]), ["shot-1"]);
}

#[test]
fn shared_sources_appear_once_when_planning_several_targets() {
    let plan = Plan::for_nodes(
        &production(),
        &[NodeId::new("shot-1"), NodeId::new("shot-2")],
    )
    .unwrap();
    let order: Vec<&str> = plan.steps.iter().map(|s| s.node.as_str()).collect();
    assert_eq!(order.iter().filter(|id| **id == "maya").count(), 1);
    assert_eq!(plan.steps.len(), 4);
    assert_eq!(plan.waves().len(), 2);
}

#[test]
fn groups_and_missing_nodes_are_refused() {
    let graph = production();
    assert_eq!(
        Plan::for_node(&graph, "scene").unwrap_err().to_string(),
        "\"Scene 1\" is a group; generate its shots instead"
    );
    assert_eq!(
        Plan::for_node(&graph, "nope").unwrap_err().to_string(),
        "node \"nope\" does not exist"
    );
}

#[test]
fn states_name_the_upstream_change() {
    let graph = production();
    let order = graph.topological_order().unwrap();
    let states = node_states(&graph, &order, |id| match id.as_str() {
        "noir" => OwnState::Edited,
        "shot-2" => OwnState::NeverRun,
        _ => OwnState::UpToDate,
    });
    assert_eq!(states[&NodeId::new("maya")], NodeState::Clean);
    assert_eq!(states[&NodeId::new("noir")], NodeState::Edited);
    assert_eq!(
        states[&NodeId::new("shot-1")].describe(),
        "out of date: upstream \"Noir\" changed"
    );
    assert_eq!(states[&NodeId::new("shot-2")], NodeState::NeverRun);
}
