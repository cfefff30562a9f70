//! Checking a whole graph against the installed node types, with findings users understand.
//!
//! One pass over the edges and one over the nodes, with lookups built once, then a linear-time
//! cycle search: a project of 10,000 nodes and 46,000 edges validates in about 20 ms
//! (`cargo bench -p mdc-runtime --bench graph`).

use std::collections::HashMap;

use crate::plugin::descriptor_check::check_value;
use crate::plugin::types::{Cardinality, NodeDescriptor, ParamType, ParamValue, Severity};

use super::catalog::{Catalog, WithBuiltins};
use super::describe::{gives, node_title, port_title, ports_compatible, takes};
use super::ids::{EdgeId, NodeId};
use super::model::{Edge, Graph, Node};
use super::numbering::Numbering;
use super::subflow::SUBFLOW_TYPE;
use super::topology::Topology;
use super::traverse::CyclePath;

/// What kind of problem a [`GraphDiagnostic`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DiagnosticCode {
    /// The node's type is not installed at all.
    UnknownType,
    /// The node's type is installed, but not at the node's version.
    UnknownVersion,
    /// A required input port has no connection.
    MissingRequiredInput,
    /// An edge joins ports of different kinds.
    IncompatiblePorts,
    /// A single-connection input has more than one.
    TooManyEdges,
    /// Nodes depend on each other in a loop.
    Cycle,
    /// An edge names a node that does not exist.
    DanglingEdge,
    /// An edge names a port its node's type does not have.
    UnknownPort,
    /// Two edges join the same two ports.
    DuplicateEdge,
    /// A parameter value does not fit the parameter's type.
    BadParam,
    /// A required parameter has no value and no default.
    MissingParam,
    /// A value is set for a parameter the type does not define (it is ignored).
    UnknownParam,
    /// The parent is missing, is not a group, or groups contain each other.
    BadParent,
}

impl DiagnosticCode {
    /// Stable snake_case name, for the wire and for logs.
    pub fn id(self) -> &'static str {
        match self {
            DiagnosticCode::UnknownType => "unknown_type",
            DiagnosticCode::UnknownVersion => "unknown_version",
            DiagnosticCode::MissingRequiredInput => "missing_required_input",
            DiagnosticCode::IncompatiblePorts => "incompatible_ports",
            DiagnosticCode::TooManyEdges => "too_many_edges",
            DiagnosticCode::Cycle => "cycle",
            DiagnosticCode::DanglingEdge => "dangling_edge",
            DiagnosticCode::UnknownPort => "unknown_port",
            DiagnosticCode::DuplicateEdge => "duplicate_edge",
            DiagnosticCode::BadParam => "bad_param",
            DiagnosticCode::MissingParam => "missing_param",
            DiagnosticCode::UnknownParam => "unknown_param",
            DiagnosticCode::BadParent => "bad_parent",
        }
    }

    /// How serious this kind of problem is: everything stops execution except repeated
    /// edges and values for undefined parameters, which are warnings.
    pub fn severity(self) -> Severity {
        match self {
            DiagnosticCode::DuplicateEdge | DiagnosticCode::UnknownParam => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

/// A problem found in a graph, placed on the node or edge it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphDiagnostic {
    /// How serious it is.
    pub severity: Severity,
    /// What kind of problem it is.
    pub code: DiagnosticCode,
    /// The node to show it on.
    pub node: Option<NodeId>,
    /// The edge to show it on.
    pub edge: Option<EdgeId>,
    /// The port or parameter id concerned.
    pub field: Option<String>,
    /// Further nodes involved: for a cycle, its nodes in order, then any others caught in
    /// the same loop.
    pub related: Vec<NodeId>,
    /// One sentence a user understands.
    pub message: String,
}

impl GraphDiagnostic {
    fn new(code: DiagnosticCode, message: String) -> GraphDiagnostic {
        GraphDiagnostic {
            severity: code.severity(),
            code,
            node: None,
            edge: None,
            field: None,
            related: Vec::new(),
            message,
        }
    }

    fn on_node(mut self, node: &NodeId) -> GraphDiagnostic {
        self.node = Some(node.clone());
        self
    }

    fn on_edge(mut self, edge: &EdgeId) -> GraphDiagnostic {
        self.edge = Some(edge.clone());
        self
    }

    fn on_field(mut self, field: &str) -> GraphDiagnostic {
        self.field = Some(field.to_string());
        self
    }
}

/// Checks `graph` against `catalog` (plus the built-in group type) and lists every problem:
/// per node in id order (type, parent, parameters, inputs), then groups inside each other,
/// then per edge in id order, then cycles (each strongly connected tangle once).
pub fn validate(graph: &Graph, catalog: &dyn Catalog) -> Vec<GraphDiagnostic> {
    Validation::new(graph, &WithBuiltins(catalog)).run()
}

/// How a node's type resolved.
#[derive(Clone, Copy)]
enum Resolution<'c> {
    Known(&'c NodeDescriptor),
    /// Installed at other versions; the newest one names the type.
    OtherVersions(&'c NodeDescriptor),
    Unknown,
}

impl<'c> Resolution<'c> {
    fn descriptor(self) -> Option<&'c NodeDescriptor> {
        match self {
            Resolution::Known(descriptor) => Some(descriptor),
            _ => None,
        }
    }

    /// The descriptor that names the type in messages.
    fn naming(self) -> Option<&'c NodeDescriptor> {
        match self {
            Resolution::Known(descriptor) | Resolution::OtherVersions(descriptor) => {
                Some(descriptor)
            }
            Resolution::Unknown => None,
        }
    }
}

struct Validation<'g, 'c> {
    graph: &'g Graph,
    catalog: &'c WithBuiltins<'c>,
    nodes: Vec<&'g Node>,
    resolved: Vec<Resolution<'c>>,
    numbering: Numbering<'g>,
    /// Each node's parent's number, when it has an existing parent.
    parents: Vec<Option<u32>>,
    /// Per node, connections per input port id (known ports only).
    connections: Vec<Vec<(&'g str, usize)>>,
    found: Vec<GraphDiagnostic>,
}

impl<'g, 'c> Validation<'g, 'c> {
    fn new(graph: &'g Graph, catalog: &'c WithBuiltins<'c>) -> Validation<'g, 'c> {
        let nodes: Vec<&Node> = graph.nodes().collect();
        let numbering = Numbering::new(nodes.iter().map(|node| &node.id).collect());
        let parents = nodes
            .iter()
            .map(|node| numbering.get(node.parent.as_ref()?))
            .collect();
        // Nodes in id order tend to come in runs of one type: remember the last answer.
        let mut memo: HashMap<(&str, &str), Resolution<'c>> = HashMap::new();
        let mut last: Option<(&Node, Resolution<'c>)> = None;
        let resolved = nodes
            .iter()
            .map(|&node| {
                if let Some((previous, resolution)) = last
                    && previous.type_id == node.type_id
                    && previous.version == node.version
                {
                    return resolution;
                }
                let resolution = *memo
                    .entry((node.type_id.as_str(), node.version.as_str()))
                    .or_insert_with(|| resolve(catalog, node));
                last = Some((node, resolution));
                resolution
            })
            .collect();
        Validation {
            graph,
            catalog,
            connections: vec![Vec::new(); nodes.len()],
            nodes,
            resolved,
            numbering,
            parents,
            found: Vec::new(),
        }
    }

    fn run(mut self) -> Vec<GraphDiagnostic> {
        let mut edge_findings = Vec::new();
        let arcs = self.check_edges(&mut edge_findings);
        for v in 0..self.nodes.len() {
            self.check_node(v);
        }
        self.check_parent_loops();
        self.found.append(&mut edge_findings);
        self.check_cycles(&arcs);
        self.found
    }

    fn title(&self, v: usize) -> String {
        node_title(self.resolved[v].naming(), self.nodes[v])
    }

    fn number(&self, id: &NodeId) -> Option<usize> {
        self.numbering.get(id).map(|number| number as usize)
    }

    // --- nodes ---

    fn check_node(&mut self, v: usize) {
        let node = self.nodes[v];
        match self.resolved[v] {
            Resolution::Unknown => {
                let message = format!(
                    "{} has type \"{}\", which is not installed.",
                    self.title(v),
                    node.type_id
                );
                self.push(
                    GraphDiagnostic::new(DiagnosticCode::UnknownType, message).on_node(&node.id),
                );
            }
            Resolution::OtherVersions(_) => {
                let installed = self.catalog.versions(&node.type_id).join(", ");
                let message = format!(
                    "{} uses \"{}\" {}, which is not installed (installed: {installed}).",
                    self.title(v),
                    node.type_id,
                    node.version
                );
                self.push(
                    GraphDiagnostic::new(DiagnosticCode::UnknownVersion, message).on_node(&node.id),
                );
            }
            Resolution::Known(_) => {}
        }
        self.check_parent(v);
        if let Some(descriptor) = self.resolved[v].descriptor() {
            self.check_params(v, descriptor);
            self.check_inputs(v, descriptor);
        }
    }

    fn check_parent(&mut self, v: usize) {
        let node = self.nodes[v];
        let Some(parent) = &node.parent else {
            return;
        };
        let problem = match self.parents[v].map(|p| p as usize) {
            None => format!("\"{parent}\", which does not exist"),
            Some(p) if self.nodes[p].type_id != SUBFLOW_TYPE => {
                format!("{}, which is not a group", self.title(p))
            }
            Some(_) => return,
        };
        let message = format!("{} is inside {problem}.", self.title(v));
        self.push(
            GraphDiagnostic::new(DiagnosticCode::BadParent, message)
                .on_node(&node.id)
                .on_field("parent"),
        );
    }

    fn check_params(&mut self, v: usize, descriptor: &NodeDescriptor) {
        let node = self.nodes[v];
        for (id, value) in &node.params {
            let diagnostic = match descriptor.param(id) {
                None => GraphDiagnostic::new(
                    DiagnosticCode::UnknownParam,
                    format!(
                        "{} has a value for \"{id}\", which its type does not define.",
                        self.title(v)
                    ),
                ),
                Some(param) => match check_value(&param.param_type, value) {
                    Ok(()) => continue,
                    Err(reason) => GraphDiagnostic::new(
                        DiagnosticCode::BadParam,
                        format!(
                            "\"{}\" on {}: value {reason}.",
                            param_label(&param.label, id),
                            self.title(v)
                        ),
                    ),
                },
            };
            self.push(diagnostic.on_node(&node.id).on_field(id));
        }
        for param in &descriptor.params {
            if !param.required {
                continue;
            }
            let missing = match node.params.get(&param.id).or(param.default.as_ref()) {
                None => true,
                Some(value) => is_blank(&param.param_type, value),
            };
            if missing {
                let message = format!(
                    "{} needs a value for \"{}\".",
                    self.title(v),
                    param_label(&param.label, &param.id)
                );
                self.push(
                    GraphDiagnostic::new(DiagnosticCode::MissingParam, message)
                        .on_node(&node.id)
                        .on_field(&param.id),
                );
            }
        }
    }

    fn check_inputs(&mut self, v: usize, descriptor: &NodeDescriptor) {
        let node = self.nodes[v];
        for port in &descriptor.inputs {
            let connected = self.connections[v]
                .iter()
                .find(|(id, _)| *id == port.id)
                .map_or(0, |&(_, count)| count);
            let diagnostic = if connected == 0 && port.required {
                GraphDiagnostic::new(
                    DiagnosticCode::MissingRequiredInput,
                    format!(
                        "{} needs a connection on {}.",
                        self.title(v),
                        port_title(port)
                    ),
                )
            } else if connected > 1 && port.cardinality == Cardinality::One {
                GraphDiagnostic::new(
                    DiagnosticCode::TooManyEdges,
                    format!(
                        "{} on {} takes one connection; {connected} are connected.",
                        port_title(port),
                        self.title(v),
                    ),
                )
            } else {
                continue;
            };
            self.push(diagnostic.on_node(&node.id).on_field(&port.id));
        }
    }

    /// Groups inside each other (`A` in `B` in `A`): each loop once.
    fn check_parent_loops(&mut self) {
        const UNSEEN: u8 = 0;
        const ON_CHAIN: u8 = 1;
        const DONE: u8 = 2;
        let mut state = vec![UNSEEN; self.nodes.len()];
        for start in 0..self.nodes.len() {
            let mut chain: Vec<usize> = Vec::new();
            let mut at = Some(start);
            while let Some(v) = at {
                match state[v] {
                    DONE => break,
                    ON_CHAIN => {
                        let from = chain.iter().position(|&on| on == v).unwrap_or_default();
                        let names: Vec<&str> = chain[from..]
                            .iter()
                            .map(|&w| self.nodes[w].name())
                            .collect();
                        let message =
                            format!("These groups are inside each other: {}.", CyclePath(&names));
                        let mut diagnostic =
                            GraphDiagnostic::new(DiagnosticCode::BadParent, message)
                                .on_node(&self.nodes[v].id)
                                .on_field("parent");
                        diagnostic.related = chain[from..]
                            .iter()
                            .map(|&w| self.nodes[w].id.clone())
                            .collect();
                        self.push(diagnostic);
                        break;
                    }
                    _ => {
                        state[v] = ON_CHAIN;
                        chain.push(v);
                        at = self.parents[v].map(|p| p as usize);
                    }
                }
            }
            for v in chain {
                state[v] = DONE;
            }
        }
    }

    // --- edges ---

    /// Checks every edge, counts connections per input port and returns the arcs between
    /// existing nodes for the cycle search.
    fn check_edges(&mut self, found: &mut Vec<GraphDiagnostic>) -> Vec<(u32, u32)> {
        let mut arcs = Vec::with_capacity(self.graph.edge_count());
        // Edges by (source, target): the first edge's index in `links`, where each edge links
        // to the next one between the same two nodes.
        let mut pairs: HashMap<u64, usize> = HashMap::with_capacity(self.graph.edge_count());
        let mut links: Vec<(&Edge, Option<usize>)> = Vec::with_capacity(self.graph.edge_count());
        let graph = self.graph;
        for edge in graph.edges() {
            let source = self.number(&edge.source);
            let target = self.number(&edge.target);
            let (Some(s), Some(t)) = (source, target) else {
                for (end, missing) in [
                    ("comes from", source.is_none().then_some(&edge.source)),
                    ("points to", target.is_none().then_some(&edge.target)),
                ] {
                    if let Some(missing) = missing {
                        let message = format!(
                            "Edge {} {end} node \"{missing}\", which does not exist.",
                            edge.id
                        );
                        found.push(
                            GraphDiagnostic::new(DiagnosticCode::DanglingEdge, message)
                                .on_edge(&edge.id),
                        );
                    }
                }
                continue;
            };
            arcs.push((s as u32, t as u32));
            self.check_edge_ports(edge, s, t, found);
            if let Some(first) = same_ports(&mut pairs, &mut links, edge, s, t) {
                let message = format!(
                    "Edges {first} and {} both connect \"{}\" of {} to \"{}\" on {}.",
                    edge.id,
                    edge.source_port,
                    self.title(s),
                    edge.target_port,
                    self.title(t)
                );
                found.push(
                    GraphDiagnostic::new(DiagnosticCode::DuplicateEdge, message)
                        .on_edge(&edge.id)
                        .on_node(&edge.target)
                        .on_field(&edge.target_port),
                );
            }
        }
        arcs
    }

    fn check_edge_ports(
        &mut self,
        edge: &'g Edge,
        s: usize,
        t: usize,
        found: &mut Vec<GraphDiagnostic>,
    ) {
        let output = self.resolved[s]
            .descriptor()
            .map(|descriptor| descriptor.output(&edge.source_port));
        let input = self.resolved[t]
            .descriptor()
            .map(|descriptor| descriptor.input(&edge.target_port));
        if let Some(None) = output {
            let message = format!(
                "Edge {} comes out of \"{}\" on {}, which has no such output.",
                edge.id,
                edge.source_port,
                self.title(s)
            );
            found.push(
                GraphDiagnostic::new(DiagnosticCode::UnknownPort, message)
                    .on_edge(&edge.id)
                    .on_node(&edge.source)
                    .on_field(&edge.source_port),
            );
        }
        if let Some(None) = input {
            let message = format!(
                "Edge {} goes into \"{}\" on {}, which has no such input.",
                edge.id,
                edge.target_port,
                self.title(t)
            );
            found.push(
                GraphDiagnostic::new(DiagnosticCode::UnknownPort, message)
                    .on_edge(&edge.id)
                    .on_node(&edge.target)
                    .on_field(&edge.target_port),
            );
        }
        if let Some(Some(input)) = input {
            let counts = &mut self.connections[t];
            match counts.iter_mut().find(|(id, _)| *id == edge.target_port) {
                Some((_, count)) => *count += 1,
                None => counts.push((edge.target_port.as_str(), 1)),
            }
            if let Some(Some(output)) = output
                && !ports_compatible(output, input)
            {
                let message = format!(
                    "{} on {} takes {}, but {} from {} gives {}.",
                    port_title(input),
                    self.title(t),
                    takes(input),
                    port_title(output),
                    self.title(s),
                    gives(output)
                );
                found.push(
                    GraphDiagnostic::new(DiagnosticCode::IncompatiblePorts, message)
                        .on_edge(&edge.id)
                        .on_node(&edge.target)
                        .on_field(&edge.target_port),
                );
            }
        }
    }

    // --- cycles ---

    fn check_cycles(&mut self, arcs: &[(u32, u32)]) {
        let numbering = std::mem::replace(&mut self.numbering, Numbering::new(Vec::new()));
        let topology = Topology::new(numbering, arcs);
        let components = topology.cyclic_components();
        for component in &components.list {
            let cycle = topology.cycle_through(&components, component[0]);
            let names: Vec<&str> = cycle
                .iter()
                .map(|&v| self.nodes[v as usize].name())
                .collect();
            let mut message = format!("These nodes form a cycle: {}.", CyclePath(&names));
            match component.len() - cycle.len() {
                0 => {}
                1 => message.push_str(" 1 more node is caught in cycles with them."),
                others => message.push_str(&format!(
                    " {others} more nodes are caught in cycles with them."
                )),
            }
            let mut diagnostic = GraphDiagnostic::new(DiagnosticCode::Cycle, message)
                .on_node(&self.nodes[cycle[0] as usize].id);
            diagnostic.related = cycle
                .iter()
                .chain(component.iter().filter(|v| !cycle.contains(v)))
                .map(|&v| self.nodes[v as usize].id.clone())
                .collect();
            self.found.push(diagnostic);
        }
    }

    fn push(&mut self, diagnostic: GraphDiagnostic) {
        self.found.push(diagnostic);
    }
}

/// Files `edge` under its two nodes and returns the id of an earlier edge between the same
/// two ports, if there is one.
fn same_ports<'g>(
    pairs: &mut HashMap<u64, usize>,
    links: &mut Vec<(&'g Edge, Option<usize>)>,
    edge: &'g Edge,
    source: usize,
    target: usize,
) -> Option<&'g EdgeId> {
    let key = ((source as u64) << 32) | target as u64;
    let added = links.len();
    let Some(&first) = pairs.get(&key) else {
        pairs.insert(key, added);
        links.push((edge, None));
        return None;
    };
    let mut at = first;
    loop {
        let (earlier, next) = links[at];
        if earlier.source_port == edge.source_port && earlier.target_port == edge.target_port {
            return Some(&earlier.id);
        }
        match next {
            Some(next) => at = next,
            None => {
                links[at].1 = Some(added);
                links.push((edge, None));
                return None;
            }
        }
    }
}

fn resolve<'c>(catalog: &'c WithBuiltins<'c>, node: &Node) -> Resolution<'c> {
    if let Some(descriptor) = catalog.descriptor(&node.type_id, &node.version) {
        Resolution::Known(descriptor)
    } else if let Some(latest) = catalog.latest(&node.type_id) {
        Resolution::OtherVersions(latest)
    } else {
        Resolution::Unknown
    }
}

fn param_label<'a>(label: &'a str, id: &'a str) -> &'a str {
    if label.trim().is_empty() { id } else { label }
}

/// Whether a value of a required text-like parameter is empty.
fn is_blank(param_type: &ParamType, value: &ParamValue) -> bool {
    match (param_type, value) {
        (ParamType::Text { .. }, ParamValue::Text(text))
        | (ParamType::AssetRef { .. }, ParamValue::AssetRef(text)) => text.trim().is_empty(),
        _ => false,
    }
}
