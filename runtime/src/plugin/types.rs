//! The runtime's own view of the plugin contract: descriptors, inputs, outputs and patches.
//!
//! These mirror `wit/since_v0.1.0/node.wit` but belong to the runtime: every contract version's
//! bindings convert into them, so nothing outside `plugin::engine` sees generated types.

/// How many edges a port takes (inputs) or offers (outputs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cardinality {
    /// At most one edge.
    One,
    /// Any number of edges; the plugin receives a list.
    Many,
}

/// An input or output port of a node type.
#[derive(Debug, Clone, PartialEq)]
pub struct Port {
    /// Stable id, unique among the node's inputs (or outputs).
    pub id: String,
    /// Label shown on the canvas.
    pub label: String,
    /// Kind of data on the port (`character`, `image`, …; `any` on an input accepts all).
    pub kind: String,
    /// How many edges the port takes.
    pub cardinality: Cardinality,
    /// Whether execution needs a connection here.
    pub required: bool,
    /// Tooltip text.
    pub help: String,
}

/// Bounds of a number parameter.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct NumberRange {
    /// Smallest allowed value.
    pub min: Option<f64>,
    /// Largest allowed value.
    pub max: Option<f64>,
    /// Slider step (0: free).
    pub step: f64,
}

/// Bounds of an integer parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IntegerRange {
    /// Smallest allowed value.
    pub min: Option<i64>,
    /// Largest allowed value.
    pub max: Option<i64>,
}

/// One option of a choice parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChoiceOption {
    /// Stored value.
    pub value: String,
    /// Label shown to the user.
    pub label: String,
}

/// A parameter's type and constraints.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamType {
    /// Free text; `multiline` selects the editor.
    Text {
        /// Whether the editor should be multi-line.
        multiline: bool,
    },
    /// A floating point number.
    Number(NumberRange),
    /// A whole number.
    Integer(IntegerRange),
    /// A checkbox.
    Boolean,
    /// One of fixed options.
    Choice(Vec<ChoiceOption>),
    /// A library asset of the named kind, by id.
    AssetRef {
        /// Accepted asset kind (`character`, `image`, …).
        kind: String,
    },
    /// A JSON document.
    Json,
}

/// A parameter value; its case matches the parameter's [`ParamType`].
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// Text.
    Text(String),
    /// A number.
    Number(f64),
    /// A whole number.
    Integer(i64),
    /// A boolean.
    Boolean(bool),
    /// The value of a choice option.
    Choice(String),
    /// An asset id.
    AssetRef(String),
    /// JSON text.
    Json(String),
}

/// A parameter the user edits on a node.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Stable id, unique among the node's parameters.
    pub id: String,
    /// Label shown to the user.
    pub label: String,
    /// Type and constraints.
    pub param_type: ParamType,
    /// Value used when the user sets none.
    pub default: Option<ParamValue>,
    /// Whether execution needs a value.
    pub required: bool,
    /// Help text.
    pub help: String,
}

/// Quality tiers; each routes to its own pipeline and queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QualityTier {
    /// "Draft - Fast Generation": CPU only.
    Low,
    /// "Production - Balanced Quality".
    Standard,
    /// "Premium - Maximum Quality".
    High,
}

impl QualityTier {
    /// Every tier, cheapest first.
    pub const ALL: [QualityTier; 3] = [QualityTier::Low, QualityTier::Standard, QualityTier::High];

    /// The lowercase id used in configuration and on the wire: `low`, `standard`, `high`.
    pub fn id(self) -> &'static str {
        match self {
            QualityTier::Low => "low",
            QualityTier::Standard => "standard",
            QualityTier::High => "high",
        }
    }

    /// The label users see.
    pub fn label(self) -> &'static str {
        match self {
            QualityTier::Low => "Draft - Fast Generation",
            QualityTier::Standard => "Production - Balanced Quality",
            QualityTier::High => "Premium - Maximum Quality",
        }
    }

    /// Parses a tier id (`low`, `standard`, `high`).
    pub fn from_id(id: &str) -> Option<QualityTier> {
        QualityTier::ALL.into_iter().find(|tier| tier.id() == id)
    }
}

/// Expected cost of one execution at a tier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TierEstimate {
    /// The tier.
    pub tier: QualityTier,
    /// Expected wall time in seconds.
    pub seconds: f32,
    /// Expected GPU memory in MiB.
    pub gpu_memory_mib: u32,
    /// Expected cost in thousandths of a currency unit.
    pub cost_milli: u32,
}

/// A command a node offers besides execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// Id passed to `run-action`.
    pub id: String,
    /// Label shown to the user.
    pub label: String,
    /// Help text.
    pub help: String,
}

/// Something a plugin asks the host for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// Outbound HTTP to these origins (`*`: whatever the operator configures).
    OutboundHttp(Vec<String>),
    /// Reading assets by id.
    AssetRead,
    /// Writing output files.
    OutputWrite,
}

/// Everything the canvas needs to show and wire a node type.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeDescriptor {
    /// Stable type id: `shot`.
    pub type_id: String,
    /// Semantic version: `1.2.0`.
    pub version: String,
    /// Name shown in the palette.
    pub display_name: String,
    /// Palette category.
    pub category: String,
    /// Icon name or emoji.
    pub icon: String,
    /// Markdown documentation.
    pub docs: String,
    /// Input ports.
    pub inputs: Vec<Port>,
    /// Output ports.
    pub outputs: Vec<Port>,
    /// Parameters.
    pub params: Vec<Param>,
    /// Supported tiers with estimates.
    pub tiers: Vec<TierEstimate>,
    /// Actions.
    pub actions: Vec<Action>,
    /// Requested capabilities.
    pub capabilities: Vec<Capability>,
}

impl NodeDescriptor {
    /// Whether the plugin asked for `capability` (for HTTP: for any origin).
    pub fn requests(&self, wanted: &Capability) -> bool {
        self.capabilities.iter().any(|held| match (held, wanted) {
            (Capability::OutboundHttp(_), Capability::OutboundHttp(_)) => true,
            _ => held == wanted,
        })
    }

    /// The origins the plugin asked to reach (`*` included verbatim).
    pub fn requested_origins(&self) -> impl Iterator<Item = &str> {
        self.capabilities
            .iter()
            .flat_map(|capability| match capability {
                Capability::OutboundHttp(origins) => origins.as_slice(),
                _ => &[],
            })
            .map(String::as_str)
    }

    /// The parameter with this id.
    pub fn param(&self, id: &str) -> Option<&Param> {
        self.params.iter().find(|param| param.id == id)
    }

    /// The input port with this id.
    pub fn input(&self, id: &str) -> Option<&Port> {
        self.inputs.iter().find(|port| port.id == id)
    }

    /// The output port with this id.
    pub fn output(&self, id: &str) -> Option<&Port> {
        self.outputs.iter().find(|port| port.id == id)
    }
}

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// For information.
    Info,
    /// Worth a look; execution still possible.
    Warning,
    /// Execution impossible until fixed.
    Error,
}

/// A finding shown on a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// How serious it is.
    pub severity: Severity,
    /// One sentence a user understands.
    pub message: String,
    /// Parameter or port id concerned.
    pub field: Option<String>,
}

/// A stored file addressed by an opaque id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AssetRef {
    /// Opaque id.
    pub id: String,
    /// Media type.
    pub mime: String,
}

/// A value travelling along an edge.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text.
    Text(String),
    /// A number.
    Number(f64),
    /// A whole number.
    Integer(i64),
    /// A boolean.
    Boolean(bool),
    /// JSON text.
    Json(String),
    /// A stored file.
    Asset(AssetRef),
}

/// A value arriving at an input port, with its origin.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectedValue {
    /// Upstream node id.
    pub source_node: String,
    /// Upstream output port id.
    pub source_port: String,
    /// The value.
    pub value: Value,
}

/// Everything connected to one input port.
#[derive(Debug, Clone, PartialEq)]
pub struct PortValues {
    /// Input port id.
    pub port: String,
    /// Connected values, in edge order.
    pub values: Vec<ConnectedValue>,
}

/// A parameter id with its value.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamEntry {
    /// Parameter id.
    pub id: String,
    /// Its value.
    pub value: ParamValue,
}

/// The input of `validate` and `execute`.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeInput {
    /// Node id on the canvas.
    pub node_id: String,
    /// Parameter values, defaults applied.
    pub params: Vec<ParamEntry>,
    /// Connected upstream values per input port.
    pub inputs: Vec<PortValues>,
    /// Requested tier.
    pub tier: QualityTier,
    /// Seed for every random choice.
    pub seed: u64,
}

/// A value produced on an output port.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputValue {
    /// Output port id.
    pub port: String,
    /// The value.
    pub value: Value,
}

/// The result of a successful execution.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeOutputs {
    /// Produced values.
    pub values: Vec<OutputValue>,
    /// Short human summary.
    pub summary: String,
}

/// Category of an error a plugin reports itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The input breaks the node's rules.
    InvalidInput,
    /// A backend could not be reached or refused.
    BackendUnavailable,
    /// The plugin saw the cancellation and stopped.
    Cancelled,
    /// Not supported (tier, action).
    Unsupported,
    /// Anything else.
    Failed,
}

impl ErrorCode {
    /// Stable snake_case name.
    pub fn id(self) -> &'static str {
        match self {
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::BackendUnavailable => "backend_unavailable",
            ErrorCode::Cancelled => "cancelled",
            ErrorCode::Unsupported => "unsupported",
            ErrorCode::Failed => "failed",
        }
    }
}

/// An error a plugin reports (as opposed to a trap or a limit, which the host reports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeError {
    /// Category.
    pub code: ErrorCode,
    /// The plugin's message.
    pub message: String,
}

/// A canvas position.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Position {
    /// Horizontal coordinate.
    pub x: f64,
    /// Vertical coordinate.
    pub y: f64,
}

/// A node a patch creates or updates.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchNode {
    /// Stable id.
    pub id: String,
    /// Plugin type id.
    pub type_id: String,
    /// Containing subflow.
    pub parent: Option<String>,
    /// Label.
    pub label: String,
    /// Position, if the plugin chose one.
    pub position: Option<Position>,
    /// Parameters to set.
    pub params: Vec<ParamEntry>,
}

/// An edge a patch creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchEdge {
    /// Stable id.
    pub id: String,
    /// Source node id.
    pub source: String,
    /// Source output port id.
    pub source_port: String,
    /// Target node id.
    pub target: String,
    /// Target input port id.
    pub target_port: String,
}

/// Graph edits returned by an action.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GraphPatch {
    /// Nodes to create or update.
    pub upsert_nodes: Vec<PatchNode>,
    /// Nodes to remove (with their edges).
    pub remove_nodes: Vec<String>,
    /// Edges to create or replace.
    pub upsert_edges: Vec<PatchEdge>,
    /// Edges to remove.
    pub remove_edges: Vec<String>,
    /// What changed, for the user.
    pub summary: String,
}

/// A node of the graph as an action sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphNode {
    /// Node id.
    pub id: String,
    /// Plugin type id.
    pub type_id: String,
    /// Containing subflow.
    pub parent: Option<String>,
    /// Label.
    pub label: String,
    /// Parameter values.
    pub params: Vec<ParamEntry>,
}

/// The input of `run-action`.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionInput {
    /// The node the action runs on.
    pub node: NodeInput,
    /// The rest of the graph.
    pub graph: Vec<GraphNode>,
}

/// Log levels of plugin log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Very detailed.
    Trace,
    /// Detailed.
    Debug,
    /// Normal.
    Info,
    /// Something odd.
    Warn,
    /// Something failed.
    Error,
}

/// What the host knows about an asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetMetadata {
    /// Opaque id.
    pub id: String,
    /// Media type.
    pub mime: String,
    /// Size in bytes.
    pub size: u64,
    /// Human name.
    pub name: String,
    /// Library kind.
    pub kind: String,
    /// Kind-specific fields as JSON.
    pub fields: String,
}

/// An outbound HTTP request from a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Method.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
    /// Timeout in milliseconds (0: host default).
    pub timeout_ms: u32,
}

/// A server's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

/// A WebSocket message, either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketMessage {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

impl SocketMessage {
    /// Bytes of the message's payload.
    pub fn len(&self) -> usize {
        match self {
            SocketMessage::Text(text) => text.len(),
            SocketMessage::Binary(bytes) => bytes.len(),
        }
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A plugin's request to open a WebSocket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketRequest {
    /// `ws://` or `wss://` URL; its origin was checked by the runtime.
    pub url: String,
    /// Headers for the handshake.
    pub headers: Vec<(String, String)>,
    /// How long the handshake may take, in milliseconds (already capped by the runtime).
    pub timeout_ms: u32,
}

/// Why an HTTP request got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// Malformed URL or method.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The server could not be reached.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// No answer in time.
    #[error("timed out")]
    Timeout,
    /// The answer exceeded the host's limit (bytes).
    #[error("response larger than {0} bytes")]
    TooLarge(u64),
}

/// Why a host service (asset metadata and bytes, output storage) did not do what a plugin
/// asked. The plugin receives the message; the embedding uses the case (a REST layer maps it
/// to a status, a worker knows whether trying again can help).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// No such asset for this call (or not in the call's project: the same answer, so a
    /// plugin learns nothing of other projects).
    #[error("asset {0:?} not found")]
    NotFound(String),
    /// This host does not offer the service (`store outputs`).
    #[error("this host does not {0}")]
    Unsupported(&'static str),
    /// Refused for good: a limit, a media type not allowed. Retrying will not help.
    #[error("{0}")]
    Refused(String),
    /// Storage could not be reached or failed; a later attempt may work. The message says
    /// what could not be done, without the storage's internals.
    #[error("{0}")]
    Unavailable(String),
}

impl NodeDescriptor {
    /// `given` plus the default of every parameter not given, in descriptor order.
    pub fn params_with_defaults(&self, given: Vec<ParamEntry>) -> Vec<ParamEntry> {
        let mut params: Vec<ParamEntry> = Vec::with_capacity(self.params.len());
        for param in &self.params {
            if let Some(entry) = given.iter().find(|entry| entry.id == param.id) {
                params.push(entry.clone());
            } else if let Some(default) = &param.default {
                params.push(ParamEntry {
                    id: param.id.clone(),
                    value: default.clone(),
                });
            }
        }
        params.extend(
            given
                .into_iter()
                .filter(|entry| self.param(&entry.id).is_none()),
        );
        params
    }
}
