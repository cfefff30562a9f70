//! A small text format for graphs and patches, a test catalog, and `check`.
//!
//! Graph lines (blank lines and `#` comments ignored):
//!
//! ```text
//! sc1: subflow "Scene 1"
//! s1: shot@0.1.0 "1.3" in sc1 at 10,20 prompt="A" steps=5 camera=:wide on=true
//! e1: c1.character -> s1.characters
//! ```
//!
//! A node without `@version` gets the newest installed version (`1.0.0` if none).
//! Parameter values: `"text"`, `5` (integer), `1.5` (number), `true`, `:choice`, `@asset`.
//!
//! Patch lines: `+ <node line>` and `+ <edge line>` upsert, `- node <id>` and `- edge <id>`
//! remove.

use crate::graph::{Catalog, DescriptorCatalog, Edge, Graph, Node};
use crate::plugin::types::{
    Cardinality, ChoiceOption, GraphPatch, IntegerRange, NodeDescriptor, Param, ParamEntry,
    ParamType, ParamValue, PatchEdge, PatchNode, Port, Position,
};

/// Compares `actual` with `expect`, ignoring the common indentation of `expect`.
#[track_caller]
pub fn check(actual: impl AsRef<str>, expect: &str) {
    let expect = trim_indent(expect);
    let actual = actual.as_ref().trim_end().trim_start_matches('\n');
    if actual != expect {
        panic!("\n--- expected ---\n{expect}\n--- actual ---\n{actual}\n----------------\n");
    }
}

fn trim_indent(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let indent = lines
        .iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|line| line.get(indent..).unwrap_or("").trim_end())
        .collect::<Vec<_>>()
        .join("\n")
        .trim_matches('\n')
        .to_string()
}

fn port(id: &str, label: &str, kind: &str, cardinality: Cardinality, required: bool) -> Port {
    Port {
        id: id.into(),
        label: label.into(),
        kind: kind.into(),
        cardinality,
        required,
        help: String::new(),
    }
}

fn param(id: &str, label: &str, param_type: ParamType, default: Option<ParamValue>) -> Param {
    Param {
        id: id.into(),
        label: label.into(),
        param_type,
        default,
        required: false,
        help: String::new(),
    }
}

fn descriptor(type_id: &str, version: &str, display_name: &str) -> NodeDescriptor {
    NodeDescriptor {
        type_id: type_id.into(),
        version: version.into(),
        display_name: display_name.into(),
        category: "Test".into(),
        icon: String::new(),
        docs: String::new(),
        inputs: vec![],
        outputs: vec![],
        params: vec![],
        tiers: vec![],
        actions: vec![],
        capabilities: vec![],
    }
}

/// `script`, `character`, `style`, `environment`, `shot` (0.1.0 and 1.2.0) and `edit`.
pub fn catalog() -> DescriptorCatalog {
    use Cardinality::{Many, One};
    let mut script = descriptor("script", "1.0.0", "Script");
    script.outputs = vec![port("script", "Script", "script", Many, false)];

    let mut character = descriptor("character", "1.0.0", "Character");
    character.inputs = vec![port("script", "Script", "script", One, false)];
    character.outputs = vec![port("character", "Character", "character", Many, false)];

    let mut style = descriptor("style", "1.0.0", "Style");
    style.outputs = vec![port("style", "Style", "style", Many, false)];

    let mut environment = descriptor("environment", "1.0.0", "Environment");
    environment.outputs = vec![port(
        "environment",
        "Environment",
        "environment",
        Many,
        false,
    )];

    let mut shot = descriptor("shot", "1.2.0", "Shot");
    shot.inputs = vec![
        port("characters", "Characters", "character", Many, false),
        port("style", "Style", "style", One, false),
        port("environment", "Environment", "environment", One, true),
    ];
    shot.outputs = vec![port("clip", "Clip", "clip", Many, false)];
    shot.params = vec![
        Param {
            required: true,
            ..param(
                "prompt",
                "Prompt",
                ParamType::Text { multiline: true },
                None,
            )
        },
        param(
            "steps",
            "Steps",
            ParamType::Integer(IntegerRange {
                min: Some(1),
                max: Some(10),
            }),
            Some(ParamValue::Integer(5)),
        ),
        param(
            "camera",
            "Camera",
            ParamType::Choice(vec![
                ChoiceOption {
                    value: "wide".into(),
                    label: "Wide".into(),
                },
                ChoiceOption {
                    value: "close".into(),
                    label: "Close-up".into(),
                },
            ]),
            None,
        ),
    ];
    let old_shot = NodeDescriptor {
        version: "0.1.0".into(),
        ..shot.clone()
    };

    let mut edit = descriptor("edit", "1.0.0", "Edit");
    edit.inputs = vec![port("clips", "Clips", "any", Many, false)];
    edit.outputs = vec![port("film", "Film", "clip", Many, false)];

    DescriptorCatalog::from_descriptors([
        script,
        character,
        style,
        environment,
        shot,
        old_shot,
        edit,
    ])
    .expect("test descriptors are sound")
}

/// Splits at spaces outside double quotes.
fn tokens(line: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

fn unquote(text: &str) -> String {
    text.strip_prefix('"')
        .and_then(|text| text.strip_suffix('"'))
        .unwrap_or_else(|| panic!("expected a quoted string, got {text}"))
        .to_string()
}

fn value(text: &str) -> ParamValue {
    if text.starts_with('"') {
        ParamValue::Text(unquote(text))
    } else if let Some(choice) = text.strip_prefix(':') {
        ParamValue::Choice(choice.into())
    } else if let Some(asset) = text.strip_prefix('@') {
        ParamValue::AssetRef(asset.into())
    } else if let Ok(boolean) = text.parse::<bool>() {
        ParamValue::Boolean(boolean)
    } else if let Ok(integer) = text.parse::<i64>() {
        ParamValue::Integer(integer)
    } else {
        ParamValue::Number(text.parse().unwrap_or_else(|_| panic!("bad value {text}")))
    }
}

fn show_value(value: &ParamValue) -> String {
    match value {
        ParamValue::Text(text) | ParamValue::Json(text) => format!("{text:?}"),
        ParamValue::Number(number) => format!("{number:?}"),
        ParamValue::Integer(integer) => integer.to_string(),
        ParamValue::Boolean(boolean) => boolean.to_string(),
        ParamValue::Choice(choice) => format!(":{choice}"),
        ParamValue::AssetRef(asset) => format!("@{asset}"),
    }
}

/// A parsed node line, before versions are filled in.
struct NodeLine {
    id: String,
    type_id: String,
    version: Option<String>,
    label: String,
    parent: Option<String>,
    position: Option<Position>,
    params: Vec<(String, ParamValue)>,
}

fn parse_node(line: &str) -> NodeLine {
    let (id, rest) = line.split_once(':').expect("`id: type ...`");
    let tokens = tokens(rest);
    let (type_id, version) = match tokens[0].split_once('@') {
        Some((type_id, version)) => (type_id.to_string(), Some(version.to_string())),
        None => (tokens[0].clone(), None),
    };
    let mut parsed = NodeLine {
        id: id.trim().into(),
        type_id,
        version,
        label: String::new(),
        parent: None,
        position: None,
        params: Vec::new(),
    };
    let mut rest = tokens[1..].iter();
    while let Some(token) = rest.next() {
        if token.starts_with('"') {
            parsed.label = unquote(token);
        } else if token == "in" {
            parsed.parent = rest.next().cloned();
        } else if token == "at" {
            let (x, y) = rest
                .next()
                .and_then(|at| at.split_once(','))
                .expect("at x,y");
            parsed.position = Some(Position {
                x: x.parse().expect("x"),
                y: y.parse().expect("y"),
            });
        } else {
            let (name, text) = token.split_once('=').expect("name=value");
            parsed.params.push((name.into(), value(text)));
        }
    }
    parsed
}

fn parse_edge(line: &str) -> PatchEdge {
    let (id, rest) = line.split_once(':').expect("`id: a.port -> b.port`");
    let (from, to) = rest.split_once("->").expect("->");
    let (source, source_port) = from.trim().split_once('.').expect("node.port");
    let (target, target_port) = to.trim().split_once('.').expect("node.port");
    PatchEdge {
        id: id.trim().into(),
        source: source.into(),
        source_port: source_port.into(),
        target: target.into(),
        target_port: target_port.into(),
    }
}

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
}

/// Builds a graph from lines in the format above.
pub fn graph(text: &str) -> Graph {
    let catalog = catalog();
    let mut graph = Graph::new();
    for line in lines(text) {
        if line.contains("->") {
            let edge = parse_edge(line);
            graph.insert_edge(Edge::new(
                edge.id,
                (edge.source, edge.source_port),
                (edge.target, edge.target_port),
            ));
            continue;
        }
        let parsed = parse_node(line);
        let version = parsed.version.unwrap_or_else(|| {
            catalog
                .latest(&parsed.type_id)
                .map_or("1.0.0".into(), |descriptor| descriptor.version.clone())
        });
        let mut node = Node::new(parsed.id, parsed.type_id, version).with_label(parsed.label);
        node.parent = parsed.parent.map(Into::into);
        node.position = parsed.position.unwrap_or_default();
        node.params = parsed.params.into_iter().collect();
        graph.insert_node(node);
    }
    graph
}

/// Builds a patch from lines in the format above.
pub fn patch(text: &str) -> GraphPatch {
    let mut patch = GraphPatch::default();
    for line in lines(text) {
        if let Some(line) = line.strip_prefix('+') {
            if line.contains("->") {
                patch.upsert_edges.push(parse_edge(line));
            } else {
                let parsed = parse_node(line);
                patch.upsert_nodes.push(PatchNode {
                    id: parsed.id,
                    type_id: parsed.type_id,
                    parent: parsed.parent,
                    label: parsed.label,
                    position: parsed.position,
                    params: parsed
                        .params
                        .into_iter()
                        .map(|(id, value)| ParamEntry { id, value })
                        .collect(),
                });
            }
        } else if let Some(id) = line.strip_prefix("- node ") {
            patch.remove_nodes.push(id.trim().into());
        } else if let Some(id) = line.strip_prefix("- edge ") {
            patch.remove_edges.push(id.trim().into());
        } else {
            panic!("bad patch line: {line}");
        }
    }
    patch
}

/// Writes a graph in the format above (positions only when not at the origin).
pub fn render(graph: &Graph) -> String {
    let mut out = Vec::new();
    for node in graph.nodes() {
        let mut line = format!(
            "{}: {}@{} {:?}",
            node.id, node.type_id, node.version, node.label
        );
        if let Some(parent) = &node.parent {
            line.push_str(&format!(" in {parent}"));
        }
        if node.position != Position::default() {
            line.push_str(&format!(" at {},{}", node.position.x, node.position.y));
        }
        for (id, value) in &node.params {
            line.push_str(&format!(" {id}={}", show_value(value)));
        }
        out.push(line);
    }
    for edge in graph.edges() {
        out.push(format!(
            "{}: {}.{} -> {}.{}",
            edge.id, edge.source, edge.source_port, edge.target, edge.target_port
        ));
    }
    out.join("\n")
}

/// Panics unless the graph's indexes equal those of a graph rebuilt from scratch.
#[track_caller]
pub fn assert_indexes_consistent(graph: &Graph) {
    let rebuilt = Graph::from_parts(graph.nodes().cloned(), graph.edges().cloned());
    assert_eq!(graph.index_snapshot(), rebuilt.index_snapshot());
}
