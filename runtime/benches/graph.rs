//! Graph model benchmarks: `cargo bench -p mdc-runtime --bench graph`. Prints one table;
//! figures go to BENCHMARKS.md.
//!
//! The project: one script, 100 scenes (groups) of 90 shots, one edit per scene and a final
//! film: 10,000 nodes. Every shot takes two characters, a style and an environment from
//! shared pools (400, 48, 350) and feeds its scene's edit: 45,850 edges.

use std::hint::black_box;
use std::time::{Duration, Instant};

use mdc_runtime::graph::{
    DescriptorCatalog, Edge, Graph, Node, SUBFLOW_TYPE, apply_patch, diff, validate,
};
use mdc_runtime::plugin::types::{
    Cardinality, ChoiceOption, GraphPatch, IntegerRange, NodeDescriptor, NumberRange, Param,
    ParamEntry, ParamType, ParamValue, PatchEdge, PatchNode, Port, Position,
};

const SCENES: usize = 100;
const SHOTS_PER_SCENE: usize = 90;
const CHARACTERS: usize = 400;
const STYLES: usize = 48;
const ENVIRONMENTS: usize = 350;
const RUNS: usize = 20;

fn port(id: &str, kind: &str, cardinality: Cardinality, required: bool) -> Port {
    Port {
        id: id.into(),
        label: id.into(),
        kind: kind.into(),
        cardinality,
        required,
        help: String::new(),
    }
}

fn param(id: &str, param_type: ParamType, required: bool) -> Param {
    Param {
        id: id.into(),
        label: id.into(),
        param_type,
        default: None,
        required,
        help: String::new(),
    }
}

fn descriptor(type_id: &str, inputs: Vec<Port>, outputs: Vec<Port>) -> NodeDescriptor {
    NodeDescriptor {
        type_id: type_id.into(),
        version: "1.0.0".into(),
        display_name: type_id.into(),
        category: "Bench".into(),
        icon: String::new(),
        docs: String::new(),
        inputs,
        outputs,
        params: vec![],
        tiers: vec![],
        actions: vec![],
        capabilities: vec![],
    }
}

fn catalog() -> DescriptorCatalog {
    use Cardinality::{Many, One};
    let mut shot = descriptor(
        "shot",
        vec![
            port("characters", "character", Many, false),
            port("style", "style", One, false),
            port("environment", "environment", One, true),
        ],
        vec![port("clip", "clip", Many, false)],
    );
    shot.params = vec![
        param("prompt", ParamType::Text { multiline: true }, true),
        param(
            "duration",
            ParamType::Number(NumberRange {
                min: Some(0.5),
                max: Some(60.0),
                step: 0.5,
            }),
            false,
        ),
        param(
            "steps",
            ParamType::Integer(IntegerRange {
                min: Some(1),
                max: Some(50),
            }),
            false,
        ),
        param(
            "camera",
            ParamType::Choice(
                ["wide", "medium", "close"]
                    .map(|value| ChoiceOption {
                        value: value.into(),
                        label: value.into(),
                    })
                    .to_vec(),
            ),
            false,
        ),
    ];
    DescriptorCatalog::from_descriptors([
        descriptor(
            "script",
            vec![],
            vec![port("script", "script", Many, false)],
        ),
        descriptor(
            "character",
            vec![port("script", "script", One, false)],
            vec![port("character", "character", Many, false)],
        ),
        descriptor("style", vec![], vec![port("style", "style", Many, false)]),
        descriptor(
            "environment",
            vec![port("script", "script", One, false)],
            vec![port("environment", "environment", Many, false)],
        ),
        shot,
        descriptor(
            "edit",
            vec![port("clips", "clip", Many, false)],
            vec![port("cut", "cut", Many, false)],
        ),
        descriptor("film", vec![port("cuts", "cut", Many, false)], vec![]),
    ])
    .expect("bench descriptors are sound")
}

fn shot_node(id: String, label: String, scene: &str, at: usize) -> Node {
    Node::new(id, "shot", "1.0.0")
        .with_label(label)
        .with_parent(scene)
        .with_position((at % 10) as f64 * 320.0, (at / 10) as f64 * 200.0)
        .with_param("prompt", ParamValue::Text("A wide harbour at dusk".into()))
        .with_param("duration", ParamValue::Number(4.5))
        .with_param("steps", ParamValue::Integer(30))
        .with_param("camera", ParamValue::Choice("wide".into()))
}

/// The shot's two characters, style and environment.
fn cast(scene: usize, shot: usize) -> [(String, &'static str, &'static str); 4] {
    let first = (scene * 7 + shot) % CHARACTERS;
    let second = (first + 1 + (scene * 13 + shot * 3) % (CHARACTERS - 1)) % CHARACTERS;
    [
        (format!("char-{first:03}"), "character", "characters"),
        (format!("char-{second:03}"), "character", "characters"),
        (format!("style-{:02}", scene % STYLES), "style", "style"),
        (
            format!("env-{:03}", (scene * 3 + shot) % ENVIRONMENTS),
            "environment",
            "environment",
        ),
    ]
}

fn project() -> Graph {
    let mut nodes = vec![Node::new("script", "script", "1.0.0").with_label("Script")];
    let mut edges = Vec::new();
    let mut edge = |source: &str, source_port: &str, target: &str, target_port: &str| {
        edges.push(Edge::new(
            format!("e-{source}-{target}-{target_port}"),
            (source, source_port),
            (target, target_port),
        ));
    };
    for c in 0..CHARACTERS {
        let id = format!("char-{c:03}");
        nodes.push(
            Node::new(id.as_str(), "character", "1.0.0").with_label(format!("Character {c}")),
        );
        edge("script", "script", &id, "script");
    }
    for s in 0..STYLES {
        nodes.push(
            Node::new(format!("style-{s:02}"), "style", "1.0.0").with_label(format!("Style {s}")),
        );
    }
    for e in 0..ENVIRONMENTS {
        let id = format!("env-{e:03}");
        nodes.push(Node::new(id.as_str(), "environment", "1.0.0").with_label(format!("Place {e}")));
        edge("script", "script", &id, "script");
    }
    nodes.push(Node::new("film", "film", "1.0.0").with_label("Film"));
    for scene in 0..SCENES {
        let scene_id = format!("scene-{scene:03}");
        let edit_id = format!("edit-{scene:03}");
        nodes.push(
            Node::new(scene_id.as_str(), SUBFLOW_TYPE, "1.0.0")
                .with_label(format!("Scene {}", scene + 1))
                .with_param("title", ParamValue::Text(format!("Scene {}", scene + 1))),
        );
        nodes.push(
            Node::new(edit_id.as_str(), "edit", "1.0.0")
                .with_label(format!("Edit {}", scene + 1))
                .with_parent(scene_id.as_str()),
        );
        edge(&edit_id, "cut", "film", "cuts");
        for shot in 0..SHOTS_PER_SCENE {
            let id = format!("shot-{scene:03}-{shot:02}");
            nodes.push(shot_node(
                id.clone(),
                format!("{}.{}", scene + 1, shot + 1),
                &scene_id,
                shot,
            ));
            for (source, source_port, target_port) in cast(scene, shot) {
                edge(&source, source_port, &id, target_port);
            }
            edge(&id, "clip", &edit_id, "clips");
        }
    }
    Graph::from_parts(nodes, edges)
}

/// A copy with 1% of the nodes edited (label and a parameter) and another 1% moved.
fn edited_copy(graph: &Graph) -> Graph {
    let mut copy = graph.clone();
    let ids: Vec<String> = graph.nodes().map(|node| node.id.to_string()).collect();
    for (at, id) in ids.iter().enumerate() {
        if at % 100 == 0 {
            copy.update_node(id, |node| {
                node.label.push_str(" (revised)");
                node.params.insert("steps".into(), ParamValue::Integer(40));
            });
        } else if at % 100 == 50 {
            copy.update_node(id, |node| node.position.x += 16.0);
        }
    }
    copy
}

/// A new scene: a group, its edit and 118 shots wired like the others (120 nodes, 591 edges).
fn scene_patch(with_cycle: bool) -> GraphPatch {
    let mut patch = GraphPatch {
        summary: "Added scene 101".into(),
        ..GraphPatch::default()
    };
    let scene = SCENES;
    let scene_id = format!("scene-{scene:03}");
    let edit_id = format!("edit-{scene:03}");
    let node = |id: &str, type_id: &str, parent: Option<&str>, params: Vec<ParamEntry>| PatchNode {
        id: id.into(),
        type_id: type_id.into(),
        parent: parent.map(Into::into),
        label: id.into(),
        position: None,
        params,
    };
    let mut edge = |source: &str, source_port: &str, target: &str, target_port: &str| {
        patch.upsert_edges.push(PatchEdge {
            id: format!("e-{source}-{target}-{target_port}"),
            source: source.into(),
            source_port: source_port.into(),
            target: target.into(),
            target_port: target_port.into(),
        });
    };
    let mut nodes = vec![
        PatchNode {
            position: Some(Position {
                x: 0.0,
                y: 40_000.0,
            }),
            ..node(&scene_id, SUBFLOW_TYPE, None, vec![])
        },
        node(&edit_id, "edit", Some(&scene_id), vec![]),
    ];
    edge(&edit_id, "cut", "film", "cuts");
    for shot in 0..118 {
        let id = format!("shot-{scene:03}-{shot:02}");
        nodes.push(node(
            &id,
            "shot",
            Some(&scene_id),
            vec![ParamEntry {
                id: "prompt".into(),
                value: ParamValue::Text("A new angle".into()),
            }],
        ));
        for (source, source_port, target_port) in cast(scene, shot) {
            edge(&source, source_port, &id, target_port);
        }
        edge(&id, "clip", &edit_id, "clips");
    }
    if with_cycle {
        // Kinds are validate's business, not the patch's: this only closes a loop.
        edge(
            &edit_id,
            "cut",
            &format!("shot-{scene:03}-00"),
            "characters",
        );
    }
    patch.upsert_nodes = nodes;
    patch
}

/// Runs the measures whose name contains the filter (the first non-flag argument).
struct Runner {
    filter: Option<String>,
}

impl Runner {
    fn from_args() -> Runner {
        Runner {
            filter: std::env::args().skip(1).find(|arg| !arg.starts_with('-')),
        }
    }

    /// Times `f` (which measures one run itself) over [`RUNS`] runs after a warm-up and
    /// prints a table row.
    fn measure(&self, name: &str, target: &str, mut f: impl FnMut() -> Duration) {
        if self
            .filter
            .as_ref()
            .is_some_and(|filter| !name.contains(filter.as_str()))
        {
            return;
        }
        f();
        let mut samples: Vec<Duration> = (0..RUNS).map(|_| f()).collect();
        samples.sort();
        let percentile = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
        println!(
            "| {name} | {} | {} | {} | {target} |",
            fmt(samples[0]),
            fmt(percentile(0.5)),
            fmt(percentile(0.9)),
        );
    }

    /// Like [`Runner::measure`], timing the whole of `f`.
    fn time<T>(&self, name: &str, target: &str, mut f: impl FnMut() -> T) {
        self.measure(name, target, || {
            let start = Instant::now();
            black_box(f());
            start.elapsed()
        });
    }
}

fn fmt(d: Duration) -> String {
    if d < Duration::from_micros(10) {
        format!("{:.2} µs", d.as_nanos() as f64 / 1000.0)
    } else if d < Duration::from_millis(1) {
        format!("{:.1} µs", d.as_nanos() as f64 / 1000.0)
    } else {
        format!("{:.2} ms", d.as_secs_f64() * 1000.0)
    }
}

fn main() {
    let runner = Runner::from_args();
    let catalog = catalog();
    let build = Instant::now();
    let graph = project();
    let build = build.elapsed();
    let edited = edited_copy(&graph);
    assert_eq!(graph.node_count(), 10_000);
    let findings = validate(&graph, &catalog);
    assert!(
        findings.is_empty(),
        "{:?}",
        &findings[..findings.len().min(5)]
    );
    let changes = diff(&graph, &edited);
    let patch = scene_patch(false);
    let bad_patch = scene_patch(true);

    println!(
        "graph: {} nodes, {} edges (built in {}); diff: {}; patch: {} nodes, {} edges\n",
        graph.node_count(),
        graph.edge_count(),
        fmt(build),
        changes.summary(),
        patch.upsert_nodes.len(),
        patch.upsert_edges.len(),
    );
    println!("| measure ({RUNS} runs) | min | p50 | p90 | target |");
    println!("|---|---|---|---|---|");
    runner.time("validate, 10k nodes", "≤ 50 ms", || {
        validate(&graph, &catalog)
    });
    runner.time("diff, 1% edited + 1% moved", "≤ 50 ms", || {
        diff(&graph, &edited)
    });
    runner.measure("apply_patch, 120 nodes + 591 edges", "", || {
        let mut copy = graph.clone();
        let start = Instant::now();
        let report = apply_patch(&mut copy, &patch, &catalog).expect("patch applies");
        let elapsed = start.elapsed();
        assert_eq!(report.nodes_added.len(), 120);
        elapsed
    });
    runner.measure("apply_patch refused (cycle), rolled back", "", || {
        let mut copy = graph.clone();
        let start = Instant::now();
        let refused = apply_patch(&mut copy, &bad_patch, &catalog).is_err();
        let elapsed = start.elapsed();
        assert!(refused);
        elapsed
    });
    runner.time("upstream_closure, one shot", "", || {
        graph.upstream_closure("shot-042-17").expect("acyclic")
    });
    runner.time("upstream_closure, whole film", "", || {
        graph.upstream_closure("film").expect("acyclic")
    });
    runner.time("topological_order", "", || {
        graph.topological_order().expect("acyclic")
    });
    runner.time("Graph::clone", "", || graph.clone());
}
