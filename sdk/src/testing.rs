//! A fake host for a plugin's own `cargo test`: no server, no WebAssembly.
//!
//! [`TestHost`] holds assets, HTTP handlers and a cancellation plan. Its
//! [`describe`](TestHost::describe), [`validate`](TestHost::validate),
//! [`execute`](TestHost::execute) and [`run_action`](TestHost::run_action)
//! call your [`Node`] directly with the test host installed for the current
//! thread, so every [`crate::host`] function the node calls lands here.
//! Afterwards the host tells what happened: [`progress`](TestHost::progress),
//! [`logs`](TestHost::logs), [`outputs`](TestHost::outputs) and
//! [`http_requests`](TestHost::http_requests).
//!
//! Like the real host, the test host applies parameter defaults from the
//! descriptor before calling the node, and refuses asset reads, output writes
//! and HTTP requests when the descriptor does not ask for the capability (the
//! call returns an error naming the missing capability; the real host traps).
//!
//! ```
//! use mdc_sdk::prelude::*;
//! use mdc_sdk::testing::{InputBuilder, TestAsset, TestHost};
//!
//! struct Upper;
//! impl Node for Upper {
//!     fn describe() -> NodeDescriptor {
//!         NodeDescriptor::new("upper", "0.1.0", "Upper")
//!             .param(Param::asset_ref("source", "Source", "text").required())
//!             .capability(Capability::AssetRead)
//!             .capability(Capability::OutputWrite)
//!     }
//!     fn execute(input: NodeInput) -> Result<NodeOutputs, NodeError> {
//!         let id = input.asset_ref("source").unwrap_or_default();
//!         let text = host::read_asset(id).map_err(NodeError::failed)?;
//!         host::progress(0.5, "read");
//!         let out = host::write_output("text/plain", &text.to_ascii_uppercase())
//!             .map_err(NodeError::failed)?;
//!         Ok(NodeOutputs::new().with("file", AssetRef::new(out, "text/plain")))
//!     }
//! }
//!
//! let host = TestHost::new().asset(TestAsset::new("a1", "text/plain", "hi"));
//! let outputs = host
//!     .execute::<Upper>(InputBuilder::new().param("source", ParamValue::asset_ref("a1")))
//!     .unwrap();
//! assert!(outputs.get("file").is_some());
//! assert_eq!(host.outputs()[0].bytes, b"HI");
//! assert_eq!(host.progress(), vec![(0.5, "read".to_string())]);
//! ```

mod live;

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

pub use self::live::{TestBody, TestSocket};

use crate::Node;
use crate::types::{
    ActionInput, AssetMetadata, Capability, ConnectedValue, Diagnostic, GraphNode, GraphPatch,
    HttpError, HttpRequest, HttpResponse, LogLevel, NodeDescriptor, NodeError, NodeInput,
    NodeOutputs, ParamEntry, ParamValue, PatchEdge, PortValues, Position, QualityTier, Value,
};

thread_local! {
    /// The test host running a node on this thread, if any.
    static CURRENT: RefCell<Option<Rc<RefCell<State>>>> = const { RefCell::new(None) };
}

/// Runs `f` on the installed test host; panics when there is none (documented
/// in [`crate::host`]).
pub(crate) fn with_test_host<R>(function: &str, f: impl FnOnce(&mut State) -> R) -> R {
    let current = CURRENT.with(|c| c.borrow().clone());
    let Some(state) = current else {
        panic!(
            "mdc_sdk::host::{function} was called with no test host installed: on native \
             targets host functions only work while mdc_sdk::testing::TestHost runs the node \
             (TestHost::describe/validate/execute/run_action)"
        );
    };
    let mut state = state.borrow_mut();
    f(&mut state)
}

/// An HTTP handler registered for one origin.
type Handler = Rc<dyn Fn(&HttpRequest) -> Result<HttpResponse, HttpError>>;

/// When the test host reports cancellation.
#[derive(Clone, Copy, Debug)]
enum Cancel {
    Never,
    Now,
    AfterProgress(usize),
}

/// The mutable state behind a [`TestHost`], shared with the thread-local.
pub(crate) struct State {
    assets: Vec<TestAsset>,
    cancel: Cancel,
    handlers: Vec<(String, Handler)>,
    output_limit: Option<u64>,
    /// Capabilities of the node being run; `None` while `describe` runs.
    capabilities: Option<Vec<Capability>>,
    progress: Vec<(f32, String)>,
    logs: Vec<(LogLevel, String)>,
    outputs: Vec<WrittenOutput>,
    http_requests: Vec<HttpRequest>,
    stream_handlers: Vec<(String, live::StreamHandler)>,
    socket_handlers: Vec<(String, live::SocketHandler)>,
    socket_urls: Vec<String>,
    sent_messages: Vec<crate::live::Message>,
    previews: Vec<(String, Vec<u8>)>,
}

impl State {
    pub(crate) fn log(&mut self, level: LogLevel, message: &str) {
        self.logs.push((level, message.to_owned()));
    }

    pub(crate) fn progress(&mut self, fraction: f32, message: &str) {
        self.progress.push((fraction, message.to_owned()));
    }

    pub(crate) fn is_cancelled(&mut self) -> bool {
        match self.cancel {
            Cancel::Never => false,
            Cancel::Now => true,
            Cancel::AfterProgress(n) => self.progress.len() >= n,
        }
    }

    /// Why a capability-gated import is refused, if it is.
    fn refuse(&self, wanted: &str, has: impl Fn(&Capability) -> bool) -> Option<String> {
        match &self.capabilities {
            None => Some(format!(
                "describe must not call host functions (called a `{wanted}` import)"
            )),
            Some(caps) if !caps.iter().any(has) => Some(format!(
                "capability `{wanted}` is not declared in this node's descriptor"
            )),
            Some(_) => None,
        }
    }

    fn find_asset(&self, id: &str) -> Result<&TestAsset, String> {
        if let Some(why) = self.refuse("asset-read", |c| matches!(c, Capability::AssetRead)) {
            return Err(why);
        }
        self.assets
            .iter()
            .find(|a| a.id == id)
            .ok_or_else(|| format!("no asset with id `{id}`"))
    }

    pub(crate) fn asset_metadata(&mut self, id: &str) -> Result<AssetMetadata, String> {
        let a = self.find_asset(id)?;
        Ok(AssetMetadata {
            id: a.id.clone(),
            mime: a.mime.clone(),
            size: a.bytes.len() as u64,
            name: a.name.clone(),
            kind: a.kind.clone(),
            fields: a.fields.clone(),
        })
    }

    pub(crate) fn read_asset(&mut self, id: &str) -> Result<Vec<u8>, String> {
        self.find_asset(id).map(|a| a.bytes.clone())
    }

    pub(crate) fn write_output(&mut self, mime: &str, bytes: &[u8]) -> Result<String, String> {
        if let Some(why) = self.refuse("output-write", |c| matches!(c, Capability::OutputWrite)) {
            return Err(why);
        }
        if let Some(limit) = self.output_limit {
            let written: u64 = self.outputs.iter().map(|o| o.bytes.len() as u64).sum();
            if written.saturating_add(bytes.len() as u64) > limit {
                return Err(format!(
                    "output limit of {limit} bytes exceeded ({written} written, {} more asked)",
                    bytes.len()
                ));
            }
        }
        let id = format!("output-{}", self.outputs.len() + 1);
        self.outputs.push(WrittenOutput {
            id: id.clone(),
            mime: mime.to_owned(),
            bytes: bytes.to_vec(),
        });
        Ok(id)
    }

    /// Records the request and decides who answers it; the answer is computed
    /// by the returned closure, outside the state's borrow.
    pub(crate) fn http_route(
        &mut self,
        request: &HttpRequest,
    ) -> Box<dyn FnOnce() -> Result<HttpResponse, HttpError>> {
        self.http_requests.push(request.clone());
        if let Some(why) = self.refuse("outbound-http", |c| {
            matches!(c, Capability::OutboundHttp(_))
        }) {
            return Box::new(move || Err(HttpError::Unreachable(why)));
        }
        if request.method.trim().is_empty() {
            return Box::new(|| Err(HttpError::InvalidRequest("empty method".into())));
        }
        let Some(origin) = origin_of(&request.url) else {
            let why = format!("`{}` is not an absolute URL", request.url);
            return Box::new(move || Err(HttpError::InvalidRequest(why)));
        };
        let request = request.clone();
        dispatch(&self.handlers, origin, "handler", move |handler| {
            handler(&request)
        })
    }
}

/// The answer of the handler registered for `origin`, computed later (outside the state's
/// borrow), or an "unreachable" error naming the origin when none is.
fn dispatch<H: ?Sized + 'static, R: 'static>(
    handlers: &[(String, Rc<H>)],
    origin: String,
    what: &'static str,
    answer: impl FnOnce(Rc<H>) -> Result<R, HttpError> + 'static,
) -> Box<dyn FnOnce() -> Result<R, HttpError>> {
    match handlers.iter().find(|(o, _)| *o == origin) {
        Some((_, handler)) => {
            let handler = Rc::clone(handler);
            Box::new(move || answer(handler))
        }
        None => Box::new(move || {
            Err(HttpError::Unreachable(format!(
                "no test {what} for origin {origin}"
            )))
        }),
    }
}

/// Registers `handler` for `origin`, replacing the one registered before.
fn register<H>(handlers: &mut Vec<(String, H)>, origin: &str, handler: H) {
    let key = origin_of(origin).unwrap_or_else(|| origin.trim().to_ascii_lowercase());
    handlers.retain(|(o, _)| *o != key);
    handlers.push((key, handler));
}

/// The origin (`scheme://host[:port]`, lower case, default port dropped) of an
/// absolute URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.trim().split_once("://")?;
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if authority.is_empty() {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    let mut authority = authority.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => Some(":80"),
        "https" => Some(":443"),
        _ => None,
    };
    if let Some(port) = default_port
        && authority.ends_with(port)
    {
        authority.truncate(authority.len() - port.len());
    }
    Some(format!("{scheme}://{authority}"))
}

/// An asset the test host serves to `host::asset_metadata` and `host::read_asset`.
#[derive(Clone, Debug, PartialEq)]
pub struct TestAsset {
    /// Opaque id the node asks for.
    pub id: String,
    /// Media type: `image/png`.
    pub mime: String,
    /// Human name; defaults to the id.
    pub name: String,
    /// Library kind (`character`, `image`, …); defaults to empty.
    pub kind: String,
    /// Kind-specific fields as JSON text; defaults to `{}`.
    pub fields: String,
    /// The asset's bytes.
    pub bytes: Vec<u8>,
}

impl TestAsset {
    /// An asset with an id, a media type and bytes.
    pub fn new(id: impl Into<String>, mime: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        let id = id.into();
        TestAsset {
            name: id.clone(),
            id,
            mime: mime.into(),
            kind: String::new(),
            fields: "{}".into(),
            bytes: bytes.into(),
        }
    }

    /// Sets the human name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets the library kind.
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = kind.into();
        self
    }

    /// Sets the kind-specific fields (JSON text, or a `serde_json::Value`).
    pub fn fields(mut self, fields: impl FieldsJson) -> Self {
        self.fields = fields.into_json_text();
        self
    }
}

/// JSON accepted by [`TestAsset::fields`]: JSON text or a `serde_json::Value`.
pub trait FieldsJson {
    /// The JSON text.
    fn into_json_text(self) -> String;
}

impl FieldsJson for &str {
    fn into_json_text(self) -> String {
        self.to_owned()
    }
}

impl FieldsJson for String {
    fn into_json_text(self) -> String {
        self
    }
}

impl FieldsJson for serde_json::Value {
    fn into_json_text(self) -> String {
        self.to_string()
    }
}

/// An output the node stored with `host::write_output`.
#[derive(Clone, Debug, PartialEq)]
pub struct WrittenOutput {
    /// The asset id the host returned (`output-1`, `output-2`, …).
    pub id: String,
    /// The media type the node gave.
    pub mime: String,
    /// The bytes the node wrote.
    pub bytes: Vec<u8>,
}

/// A fake host that runs a [`Node`] natively and records what it did.
///
/// Records accumulate over every call on the same host; use
/// [`clear_records`](TestHost::clear_records) between calls if needed.
#[derive(Clone)]
pub struct TestHost {
    state: Rc<RefCell<State>>,
}

impl Default for TestHost {
    fn default() -> Self {
        TestHost::new()
    }
}

impl fmt::Debug for TestHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.borrow();
        f.debug_struct("TestHost")
            .field("assets", &s.assets.len())
            .field("cancel", &s.cancel)
            .field(
                "http_origins",
                &s.handlers.iter().map(|(o, _)| o).collect::<Vec<_>>(),
            )
            .field("progress", &s.progress)
            .field("logs", &s.logs)
            .field("outputs", &s.outputs.len())
            .field("http_requests", &s.http_requests.len())
            .finish()
    }
}

/// Restores the previously installed host when a run ends (even by panic).
struct Installed {
    previous: Option<Rc<RefCell<State>>>,
}

impl Drop for Installed {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

impl TestHost {
    /// A host with no assets, no HTTP handlers, no cancellation and no output limit.
    pub fn new() -> Self {
        TestHost {
            state: Rc::new(RefCell::new(State {
                assets: Vec::new(),
                cancel: Cancel::Never,
                handlers: Vec::new(),
                output_limit: None,
                capabilities: None,
                progress: Vec::new(),
                logs: Vec::new(),
                outputs: Vec::new(),
                http_requests: Vec::new(),
                stream_handlers: Vec::new(),
                socket_handlers: Vec::new(),
                socket_urls: Vec::new(),
                sent_messages: Vec::new(),
                previews: Vec::new(),
            })),
        }
    }

    /// Adds an asset (replacing one with the same id).
    pub fn asset(self, asset: TestAsset) -> Self {
        {
            let mut s = self.state.borrow_mut();
            s.assets.retain(|a| a.id != asset.id);
            s.assets.push(asset);
        }
        self
    }

    /// Makes `host::is_cancelled` return true from the start.
    pub fn cancel_now(self) -> Self {
        self.state.borrow_mut().cancel = Cancel::Now;
        self
    }

    /// Makes `host::is_cancelled` return true once the node reported `n`
    /// progress updates (counted over the host's lifetime).
    pub fn cancel_after_progress(self, n: usize) -> Self {
        self.state.borrow_mut().cancel = Cancel::AfterProgress(n);
        self
    }

    /// Answers requests to `origin` (`http://127.0.0.1:8188`) with `handler`.
    /// Requests to origins without a handler fail with `HttpError::Unreachable`.
    pub fn http<F>(self, origin: &str, handler: F) -> Self
    where
        F: Fn(&HttpRequest) -> Result<HttpResponse, HttpError> + 'static,
    {
        register(
            &mut self.state.borrow_mut().handlers,
            origin,
            Rc::new(handler),
        );
        self
    }

    /// Makes `host::write_output` fail once the outputs would exceed `bytes` in total.
    pub fn output_limit(self, bytes: u64) -> Self {
        self.state.borrow_mut().output_limit = Some(bytes);
        self
    }

    /// A fresh [`InputBuilder`] (same as `InputBuilder::new()`).
    pub fn input(&self) -> InputBuilder {
        InputBuilder::new()
    }

    fn install(&self, capabilities: Option<Vec<Capability>>) -> Installed {
        self.state.borrow_mut().capabilities = capabilities;
        let previous = CURRENT.with(|c| c.borrow_mut().replace(Rc::clone(&self.state)));
        Installed { previous }
    }

    /// Calls `N::describe()`.
    pub fn describe<N: Node>(&self) -> NodeDescriptor {
        let _installed = self.install(None);
        N::describe()
    }

    /// The descriptor and the input with defaults applied.
    fn prepare<N: Node>(&self, mut input: NodeInput) -> (NodeDescriptor, NodeInput) {
        let descriptor = self.describe::<N>();
        apply_defaults(&descriptor, &mut input);
        (descriptor, input)
    }

    /// Calls `N::validate(input)` after applying parameter defaults.
    pub fn validate<N: Node>(&self, input: impl Into<NodeInput>) -> Vec<Diagnostic> {
        let (descriptor, input) = self.prepare::<N>(input.into());
        let _installed = self.install(Some(descriptor.capabilities));
        N::validate(&input)
    }

    /// Calls `N::execute(input)` after applying parameter defaults.
    pub fn execute<N: Node>(&self, input: impl Into<NodeInput>) -> Result<NodeOutputs, NodeError> {
        let (descriptor, input) = self.prepare::<N>(input.into());
        let _installed = self.install(Some(descriptor.capabilities));
        N::execute(input)
    }

    /// Calls `N::run_action(action, input)` after applying parameter defaults
    /// to the acting node's input.
    pub fn run_action<N: Node>(
        &self,
        action: &str,
        input: impl Into<ActionInput>,
    ) -> Result<GraphPatch, NodeError> {
        let ActionInput { node, graph } = input.into();
        let (descriptor, node) = self.prepare::<N>(node);
        let _installed = self.install(Some(descriptor.capabilities));
        N::run_action(action, ActionInput { node, graph })
    }

    /// Progress reports so far: `(fraction, message)`.
    pub fn progress(&self) -> Vec<(f32, String)> {
        self.state.borrow().progress.clone()
    }

    /// Log lines so far.
    pub fn logs(&self) -> Vec<(LogLevel, String)> {
        self.state.borrow().logs.clone()
    }

    /// Outputs written so far, in order.
    pub fn outputs(&self) -> Vec<WrittenOutput> {
        self.state.borrow().outputs.clone()
    }

    /// The written output with this asset id.
    pub fn output(&self, id: &str) -> Option<WrittenOutput> {
        self.state
            .borrow()
            .outputs
            .iter()
            .find(|o| o.id == id)
            .cloned()
    }

    /// HTTP requests so far, answered or not.
    pub fn http_requests(&self) -> Vec<HttpRequest> {
        self.state.borrow().http_requests.clone()
    }

    /// Forgets progress, logs, outputs and HTTP requests (assets, handlers and
    /// the cancellation plan stay).
    pub fn clear_records(&self) {
        let mut s = self.state.borrow_mut();
        s.progress.clear();
        s.logs.clear();
        s.outputs.clear();
        s.http_requests.clear();
        s.socket_urls.clear();
        s.sent_messages.clear();
        s.previews.clear();
    }
}

/// Adds the descriptor's defaults for parameters the input does not set.
fn apply_defaults(descriptor: &NodeDescriptor, input: &mut NodeInput) {
    for param in &descriptor.params {
        if let Some(default) = &param.default
            && input.param(&param.id).is_none()
        {
            input
                .params
                .push(ParamEntry::new(&param.id, default.clone()));
        }
    }
}

/// Builds the [`NodeInput`] (or [`ActionInput`]) a test passes to a [`TestHost`].
///
/// Starts with node id `node-1`, no parameters, no connections, tier `low`
/// and seed 0.
#[derive(Clone, Debug)]
pub struct InputBuilder {
    input: NodeInput,
    graph: Vec<GraphNode>,
}

impl Default for InputBuilder {
    fn default() -> Self {
        InputBuilder::new()
    }
}

impl InputBuilder {
    /// An empty input for node `node-1` at tier `low`, seed 0.
    pub fn new() -> Self {
        InputBuilder {
            input: NodeInput {
                node_id: "node-1".into(),
                params: Vec::new(),
                inputs: Vec::new(),
                tier: QualityTier::Low,
                seed: 0,
            },
            graph: Vec::new(),
        }
    }

    /// Sets the node's id on the canvas.
    pub fn node_id(mut self, id: impl Into<String>) -> Self {
        self.input.node_id = id.into();
        self
    }

    /// Sets a parameter (replacing an earlier value of the same id).
    pub fn param(mut self, id: impl Into<String>, value: impl Into<ParamValue>) -> Self {
        let entry = ParamEntry::new(id, value);
        self.input.params.retain(|p| p.id != entry.id);
        self.input.params.push(entry);
        self
    }

    /// Connects a value to input port `port`, from output `out` of node `upstream`.
    pub fn connect(self, port: impl Into<String>, value: impl Into<Value>) -> Self {
        self.connect_from(port, "upstream", "out", value)
    }

    /// Connects a value to input port `port` from a named upstream node and port.
    pub fn connect_from(
        mut self,
        port: impl Into<String>,
        source_node: impl Into<String>,
        source_port: impl Into<String>,
        value: impl Into<Value>,
    ) -> Self {
        let port = port.into();
        let value = ConnectedValue {
            source_node: source_node.into(),
            source_port: source_port.into(),
            value: value.into(),
        };
        match self.input.inputs.iter_mut().find(|p| p.port == port) {
            Some(existing) => existing.values.push(value),
            None => self.input.inputs.push(PortValues {
                port,
                values: vec![value],
            }),
        }
        self
    }

    /// Sets the quality tier.
    pub fn tier(mut self, tier: QualityTier) -> Self {
        self.input.tier = tier;
        self
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.input.seed = seed;
        self
    }

    /// Adds a node of the graph an action sees.
    pub fn graph_node(mut self, node: GraphNode) -> Self {
        self.graph.push(node);
        self
    }

    /// Adds nodes of the graph an action sees (for example [`TestGraph::nodes`]
    /// after applying an earlier patch).
    pub fn graph(mut self, nodes: impl IntoIterator<Item = GraphNode>) -> Self {
        self.graph.extend(nodes);
        self
    }

    /// The finished node input.
    pub fn build(self) -> NodeInput {
        self.input
    }

    /// The finished action input (the node input plus the graph nodes).
    pub fn build_action(self) -> ActionInput {
        ActionInput {
            node: self.input,
            graph: self.graph,
        }
    }
}

impl From<InputBuilder> for NodeInput {
    fn from(b: InputBuilder) -> Self {
        b.build()
    }
}

impl From<InputBuilder> for ActionInput {
    fn from(b: InputBuilder) -> Self {
        b.build_action()
    }
}

/// A canvas graph in memory, for testing actions: apply the [`GraphPatch`]es
/// an action returns, then feed [`TestGraph::nodes`] back to the next run with
/// [`InputBuilder::graph`].
///
/// Applying follows the contract: an upserted node replaces the node with the
/// same id (its type, parent and label), and its parameters are set one by one
/// over the existing ones; a removed node takes its edges along; an upserted
/// edge replaces the edge with the same id. Removing an id that does not exist
/// is not an error.
///
/// ```
/// use mdc_sdk::prelude::*;
/// use mdc_sdk::testing::TestGraph;
///
/// let mut graph = TestGraph::new();
/// graph.apply(
///     &GraphPatch::new()
///         .upsert_node(PatchNode::new("a", "shot", "A").param("prompt", "rain"))
///         .upsert_node(PatchNode::new("b", "shot", "B"))
///         .upsert_edge(PatchEdge::new("a--b", "a", "shot", "b", "shots")),
/// );
/// assert_eq!(graph.node("a").and_then(|n| n.text("prompt")), Some("rain"));
/// graph.apply(&GraphPatch::new().remove_node("b"));
/// assert!(graph.edges().is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TestGraph {
    nodes: Vec<GraphNode>,
    positions: Vec<(String, Position)>,
    edges: Vec<PatchEdge>,
}

impl TestGraph {
    /// An empty graph.
    pub fn new() -> Self {
        TestGraph::default()
    }

    /// A graph holding these nodes (no edges).
    pub fn with_nodes(nodes: impl IntoIterator<Item = GraphNode>) -> Self {
        TestGraph {
            nodes: nodes.into_iter().collect(),
            ..TestGraph::default()
        }
    }

    /// Applies a patch: removals first, then upserts, as one step.
    pub fn apply(&mut self, patch: &GraphPatch) {
        for id in &patch.remove_nodes {
            self.nodes.retain(|n| &n.id != id);
            self.positions.retain(|(n, _)| n != id);
            self.edges.retain(|e| &e.source != id && &e.target != id);
        }
        for id in &patch.remove_edges {
            self.edges.retain(|e| &e.id != id);
        }
        for node in &patch.upsert_nodes {
            if let Some(position) = node.position {
                self.positions.retain(|(n, _)| n != &node.id);
                self.positions.push((node.id.clone(), position));
            }
            match self.nodes.iter_mut().find(|n| n.id == node.id) {
                Some(existing) => {
                    existing.type_id = node.type_id.clone();
                    existing.parent = node.parent.clone();
                    existing.label = node.label.clone();
                    for entry in &node.params {
                        existing.params.retain(|p| p.id != entry.id);
                        existing.params.push(entry.clone());
                    }
                }
                None => self.nodes.push(GraphNode::from(node.clone())),
            }
        }
        for edge in &patch.upsert_edges {
            self.edges.retain(|e| e.id != edge.id);
            self.edges.push(edge.clone());
        }
    }

    /// The nodes, in creation order.
    pub fn nodes(&self) -> &[GraphNode] {
        &self.nodes
    }

    /// The node with this id.
    pub fn node(&self, id: &str) -> Option<&GraphNode> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// The last position a patch gave node `id`.
    pub fn position(&self, id: &str) -> Option<Position> {
        self.positions
            .iter()
            .find(|(n, _)| n == id)
            .map(|(_, p)| *p)
    }

    /// The edges, in creation order.
    pub fn edges(&self) -> &[PatchEdge] {
        &self.edges
    }

    /// The nodes whose parent (subflow) is `parent`.
    pub fn children_of<'a>(&'a self, parent: &'a str) -> impl Iterator<Item = &'a GraphNode> {
        self.nodes
            .iter()
            .filter(move |n| n.parent.as_deref() == Some(parent))
    }

    /// The edges ending at node `target`.
    pub fn edges_to<'a>(&'a self, target: &'a str) -> impl Iterator<Item = &'a PatchEdge> {
        self.edges.iter().filter(move |e| e.target == target)
    }
}

#[cfg(test)]
mod tests {
    use super::origin_of;

    #[test]
    fn origins_are_normalised() {
        let o = |u: &str| origin_of(u);
        assert_eq!(
            o("http://127.0.0.1:8188/prompt?x=1").as_deref(),
            Some("http://127.0.0.1:8188")
        );
        assert_eq!(
            o("HTTP://Example.COM:80/a").as_deref(),
            Some("http://example.com")
        );
        assert_eq!(o("https://u:p@host:443#f").as_deref(), Some("https://host"));
        assert_eq!(o("https://host:8443").as_deref(), Some("https://host:8443"));
        assert_eq!(o("/relative"), None);
        assert_eq!(o("http:///nohost"), None);
    }
}
