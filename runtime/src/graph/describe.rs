//! How messages name nodes, ports and the kinds of data ports carry.

use crate::plugin::types::{Cardinality, NodeDescriptor, Port};

use super::model::Node;

/// The port kind an input uses to accept every kind.
pub const ANY_KIND: &str = "any";

/// Whether an edge may run from `output` to `input`: same kind, or an input taking `any`.
pub fn ports_compatible(output: &Port, input: &Port) -> bool {
    input.kind == ANY_KIND || input.kind == output.kind
}

/// `Shot "1.3"`: the type's display name (`Node` when the type is unknown) and the node's
/// label (or id).
pub(super) fn node_title(descriptor: Option<&NodeDescriptor>, node: &Node) -> String {
    let display = descriptor.map_or("Node", |descriptor| descriptor.display_name.as_str());
    format!("{display} \"{}\"", node.name())
}

/// `"Characters"`: a port's label, or its id when it has none.
pub(super) fn port_title(port: &Port) -> String {
    let name = if port.label.trim().is_empty() {
        &port.id
    } else {
        &port.label
    };
    format!("\"{name}\"")
}

/// What an input accepts, for "takes …": `characters` (many), `a style` (one), `anything`.
pub(super) fn takes(port: &Port) -> String {
    if port.kind == ANY_KIND {
        return "anything".to_string();
    }
    let noun = port.kind.replace('-', " ");
    match port.cardinality {
        Cardinality::Many => plural(&noun),
        Cardinality::One => with_article(&noun),
    }
}

/// What an output produces, for "gives …": `a style`, `an image`, `anything`.
pub(super) fn gives(port: &Port) -> String {
    if port.kind == ANY_KIND {
        "anything".to_string()
    } else {
        with_article(&port.kind.replace('-', " "))
    }
}

fn with_article(noun: &str) -> String {
    let article = match noun.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
        _ => "a",
    };
    format!("{article} {noun}")
}

fn plural(noun: &str) -> String {
    if noun.ends_with('s') || noun.ends_with('x') || noun.ends_with("ch") || noun.ends_with("sh") {
        format!("{noun}es")
    } else if let Some(stem) = noun.strip_suffix('y')
        && !stem.ends_with(['a', 'e', 'i', 'o', 'u'])
    {
        format!("{stem}ies")
    } else {
        format!("{noun}s")
    }
}
