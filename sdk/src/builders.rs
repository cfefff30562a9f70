//! Builders, constructors and accessors on the generated contract types.

use std::ops::{Bound, RangeBounds};

use crate::types::{
    Action, ActionInput, AssetMetadata, AssetRef, Capability, Cardinality, ChoiceOption,
    ConnectedValue, Diagnostic, ErrorCode, GraphNode, GraphPatch, HttpError, HttpRequest,
    HttpResponse, IntegerRange, NodeDescriptor, NodeError, NodeInput, NodeOutputs, NumberRange,
    OutputValue, Param, ParamEntry, ParamType, ParamValue, PatchEdge, PatchNode, Port, Position,
    QualityTier, Severity, TierEstimate, Value,
};

// ---------------------------------------------------------------------------
// Descriptor
// ---------------------------------------------------------------------------

impl NodeDescriptor {
    /// Starts a descriptor with its stable type id (`shot`), semantic version
    /// (`0.1.0`) and display name; everything else starts empty.
    pub fn new(
        type_id: impl Into<String>,
        version: impl Into<String>,
        display_name: impl Into<String>,
    ) -> Self {
        NodeDescriptor {
            type_id: type_id.into(),
            version: version.into(),
            display_name: display_name.into(),
            category: String::new(),
            icon: String::new(),
            docs: String::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            params: Vec::new(),
            tiers: Vec::new(),
            actions: Vec::new(),
            capabilities: Vec::new(),
        }
    }

    /// Sets the palette category (`Production`, `Generation`, …).
    pub fn category(mut self, category: impl Into<String>) -> Self {
        self.category = category.into();
        self
    }

    /// Sets the icon (an icon-set name or an emoji).
    pub fn icon(mut self, icon: impl Into<String>) -> Self {
        self.icon = icon.into();
        self
    }

    /// Sets the Markdown documentation shown in the node's help panel.
    pub fn docs(mut self, docs: impl Into<String>) -> Self {
        self.docs = docs.into();
        self
    }

    /// Adds an input port.
    pub fn input(mut self, port: Port) -> Self {
        self.inputs.push(port);
        self
    }

    /// Adds an output port.
    pub fn output(mut self, port: Port) -> Self {
        self.outputs.push(port);
        self
    }

    /// Adds a parameter.
    pub fn param(mut self, param: Param) -> Self {
        self.params.push(param);
        self
    }

    /// Adds a supported quality tier (a [`QualityTier`] alone means "no estimate").
    pub fn tier(mut self, tier: impl Into<TierEstimate>) -> Self {
        self.tiers.push(tier.into());
        self
    }

    /// Adds an action (`id` is what [`crate::Node::run_action`] receives).
    pub fn action(
        mut self,
        id: impl Into<String>,
        label: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
        self.actions.push(Action {
            id: id.into(),
            label: label.into(),
            help: help.into(),
        });
        self
    }

    /// Asks for a capability; imports not asked for are never available.
    pub fn capability(mut self, capability: Capability) -> Self {
        self.capabilities.push(capability);
        self
    }

    /// The parameter with this id, if declared.
    pub fn find_param(&self, id: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.id == id)
    }

    /// The input port with this id, if declared.
    pub fn find_input(&self, id: &str) -> Option<&Port> {
        self.inputs.iter().find(|p| p.id == id)
    }

    /// The output port with this id, if declared.
    pub fn find_output(&self, id: &str) -> Option<&Port> {
        self.outputs.iter().find(|p| p.id == id)
    }

    /// Whether the descriptor asks for `asset-read`.
    pub fn wants_asset_read(&self) -> bool {
        self.capabilities
            .iter()
            .any(|c| matches!(c, Capability::AssetRead))
    }

    /// Whether the descriptor asks for `output-write`.
    pub fn wants_output_write(&self) -> bool {
        self.capabilities
            .iter()
            .any(|c| matches!(c, Capability::OutputWrite))
    }

    /// Whether the descriptor asks for `outbound-http` (for any origin).
    pub fn wants_outbound_http(&self) -> bool {
        self.capabilities
            .iter()
            .any(|c| matches!(c, Capability::OutboundHttp(_)))
    }
}

impl Capability {
    /// `outbound-http` for these origins (`http://127.0.0.1:8188`, or `*`).
    pub fn outbound_http<I, S>(origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Capability::OutboundHttp(origins.into_iter().map(Into::into).collect())
    }
}

impl Port {
    /// A port accepting (or offering) one connection; optional, no help text.
    pub fn one(id: impl Into<String>, label: impl Into<String>, kind: impl Into<String>) -> Self {
        Port {
            id: id.into(),
            label: label.into(),
            kind: kind.into(),
            cardinality: Cardinality::One,
            required: false,
            help: String::new(),
        }
    }

    /// An input port accepting any number of connections; optional, no help text.
    pub fn many(id: impl Into<String>, label: impl Into<String>, kind: impl Into<String>) -> Self {
        Port {
            cardinality: Cardinality::Many,
            ..Port::one(id, label, kind)
        }
    }

    /// Marks the (input) port as needing at least one connection to execute.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Sets the one-sentence tooltip.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = help.into();
        self
    }
}

/// Turns a `RangeBounds<i64>` into inclusive `(min, max)`.
fn integer_bounds(range: impl RangeBounds<i64>) -> (Option<i64>, Option<i64>) {
    let min = match range.start_bound() {
        Bound::Included(v) => Some(*v),
        Bound::Excluded(v) => Some(v.saturating_add(1)),
        Bound::Unbounded => None,
    };
    let max = match range.end_bound() {
        Bound::Included(v) => Some(*v),
        Bound::Excluded(v) => Some(v.saturating_sub(1)),
        Bound::Unbounded => None,
    };
    (min, max)
}

/// Turns a `RangeBounds<f64>` into `(min, max)`; excluded ends count as included.
fn number_bounds(range: impl RangeBounds<f64>) -> (Option<f64>, Option<f64>) {
    let bound = |b: Bound<&f64>| match b {
        Bound::Included(v) | Bound::Excluded(v) => Some(*v),
        Bound::Unbounded => None,
    };
    (bound(range.start_bound()), bound(range.end_bound()))
}

impl Param {
    /// A parameter of any type: optional, no default, no help text.
    pub fn new(id: impl Into<String>, label: impl Into<String>, param_type: ParamType) -> Self {
        Param {
            id: id.into(),
            label: label.into(),
            param_type,
            default: None,
            required: false,
            help: String::new(),
        }
    }

    /// A single-line text parameter.
    pub fn text(id: impl Into<String>, label: impl Into<String>) -> Self {
        Param::new(id, label, ParamType::Text(false))
    }

    /// A multi-line text parameter (a prompt, a script).
    pub fn multiline(id: impl Into<String>, label: impl Into<String>) -> Self {
        Param::new(id, label, ParamType::Text(true))
    }

    /// A number parameter within `range` (`0.0..=1.0`, `1.0..`, `..`); an
    /// excluded end counts as included. The slider step starts free (0).
    pub fn number(
        id: impl Into<String>,
        label: impl Into<String>,
        range: impl RangeBounds<f64>,
    ) -> Self {
        let (min, max) = number_bounds(range);
        Param::new(
            id,
            label,
            ParamType::Number(NumberRange {
                min,
                max,
                step: 0.0,
            }),
        )
    }

    /// An integer parameter within `range` (`1..=10`, `0..`, `..`).
    pub fn integer(
        id: impl Into<String>,
        label: impl Into<String>,
        range: impl RangeBounds<i64>,
    ) -> Self {
        let (min, max) = integer_bounds(range);
        Param::new(id, label, ParamType::Integer(IntegerRange { min, max }))
    }

    /// A yes/no parameter.
    pub fn boolean(id: impl Into<String>, label: impl Into<String>) -> Self {
        Param::new(id, label, ParamType::Boolean)
    }

    /// A choice among `(value, label)` options: `[("low", "Draft"), ("high", "Premium")]`.
    pub fn choice<I, V, L>(id: impl Into<String>, label: impl Into<String>, options: I) -> Self
    where
        I: IntoIterator<Item = (V, L)>,
        V: Into<String>,
        L: Into<String>,
    {
        let options = options
            .into_iter()
            .map(|(value, label)| ChoiceOption {
                value: value.into(),
                label: label.into(),
            })
            .collect();
        Param::new(id, label, ParamType::Choice(options))
    }

    /// A reference to a library asset of `asset_kind` (`character`, `image`, …).
    pub fn asset_ref(
        id: impl Into<String>,
        label: impl Into<String>,
        asset_kind: impl Into<String>,
    ) -> Self {
        Param::new(id, label, ParamType::AssetRef(asset_kind.into()))
    }

    /// A JSON document parameter.
    pub fn json(id: impl Into<String>, label: impl Into<String>) -> Self {
        Param::new(id, label, ParamType::Json)
    }

    /// Sets the value used when the user sets none. Plain Rust values convert
    /// to the matching case (`"text"`, `1`, `0.5`, `true`); use
    /// [`ParamValue::choice`], [`ParamValue::asset_ref`] or [`ParamValue::json`]
    /// for the other cases. A `&str` default on a choice parameter becomes a
    /// choice value, and on an asset-ref parameter an asset-ref value.
    pub fn default(mut self, value: impl Into<ParamValue>) -> Self {
        let value = match (&self.param_type, value.into()) {
            (ParamType::Choice(_), ParamValue::Text(v)) => ParamValue::Choice(v),
            (ParamType::AssetRef(_), ParamValue::Text(v)) => ParamValue::AssetRef(v),
            (ParamType::Json, ParamValue::Text(v)) => ParamValue::Json(v),
            (ParamType::Number(_), ParamValue::Integer(v)) => ParamValue::Number(v as f64),
            (_, v) => v,
        };
        self.default = Some(value);
        self
    }

    /// Marks the parameter as needed for execution (from the user or the default).
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Sets the one-sentence help text.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = help.into();
        self
    }

    /// Sets the slider step of a number parameter (no effect on other types).
    pub fn step(mut self, step: f64) -> Self {
        if let ParamType::Number(range) = &mut self.param_type {
            range.step = step;
        }
        self
    }
}

impl TierEstimate {
    /// A tier with no estimate (0 seconds, no GPU, free); refine with the setters.
    pub fn new(tier: QualityTier) -> Self {
        TierEstimate {
            tier,
            seconds: 0.0,
            gpu_memory_mib: 0,
            cost_milli: 0,
        }
    }

    /// Sets the expected wall time in seconds.
    pub fn seconds(mut self, seconds: f32) -> Self {
        self.seconds = seconds;
        self
    }

    /// Sets the expected GPU memory in MiB.
    pub fn gpu_memory_mib(mut self, mib: u32) -> Self {
        self.gpu_memory_mib = mib;
        self
    }

    /// Sets the expected cost in thousandths of a currency unit.
    pub fn cost_milli(mut self, cost: u32) -> Self {
        self.cost_milli = cost;
        self
    }
}

impl From<QualityTier> for TierEstimate {
    fn from(tier: QualityTier) -> Self {
        TierEstimate::new(tier)
    }
}

impl QualityTier {
    /// The tier's stable name: `low`, `standard` or `high`.
    pub fn as_str(&self) -> &'static str {
        match self {
            QualityTier::Low => "low",
            QualityTier::Standard => "standard",
            QualityTier::High => "high",
        }
    }
}

// ---------------------------------------------------------------------------
// Parameter values and edge values
// ---------------------------------------------------------------------------

impl ParamValue {
    /// A `choice` value.
    pub fn choice(value: impl Into<String>) -> Self {
        ParamValue::Choice(value.into())
    }

    /// An `asset-ref` value (an opaque asset id).
    pub fn asset_ref(id: impl Into<String>) -> Self {
        ParamValue::AssetRef(id.into())
    }

    /// A `json` value from a JSON document.
    pub fn json(value: &serde_json::Value) -> Self {
        ParamValue::Json(value.to_string())
    }

    /// The case's name as in the contract: `text`, `number`, `integer`,
    /// `boolean`, `choice`, `asset-ref` or `json`.
    pub fn kind(&self) -> &'static str {
        match self {
            ParamValue::Text(_) => "text",
            ParamValue::Number(_) => "number",
            ParamValue::Integer(_) => "integer",
            ParamValue::Boolean(_) => "boolean",
            ParamValue::Choice(_) => "choice",
            ParamValue::AssetRef(_) => "asset-ref",
            ParamValue::Json(_) => "json",
        }
    }
}

/// `From` conversions of plain Rust values into a value enum with `Text`, `Number`,
/// `Integer` and `Boolean` cases ([`ParamValue`] and [`Value`] share them).
macro_rules! scalar_conversions {
    ($target:ident) => {
        impl From<&str> for $target {
            fn from(v: &str) -> Self {
                $target::Text(v.to_owned())
            }
        }
        impl From<String> for $target {
            fn from(v: String) -> Self {
                $target::Text(v)
            }
        }
        impl From<f64> for $target {
            fn from(v: f64) -> Self {
                $target::Number(v)
            }
        }
        impl From<i64> for $target {
            fn from(v: i64) -> Self {
                $target::Integer(v)
            }
        }
        impl From<i32> for $target {
            fn from(v: i32) -> Self {
                $target::Integer(i64::from(v))
            }
        }
        impl From<bool> for $target {
            fn from(v: bool) -> Self {
                $target::Boolean(v)
            }
        }
    };
}

scalar_conversions!(ParamValue);
impl From<serde_json::Value> for ParamValue {
    fn from(v: serde_json::Value) -> Self {
        ParamValue::Json(v.to_string())
    }
}

impl ParamEntry {
    /// A parameter id with its value.
    pub fn new(id: impl Into<String>, value: impl Into<ParamValue>) -> Self {
        ParamEntry {
            id: id.into(),
            value: value.into(),
        }
    }
}

impl AssetRef {
    /// A reference to a stored asset by id, with its media type.
    pub fn new(id: impl Into<String>, mime: impl Into<String>) -> Self {
        AssetRef {
            id: id.into(),
            mime: mime.into(),
        }
    }
}

impl AssetMetadata {
    /// The kind-specific `fields` parsed as JSON.
    pub fn fields_json(&self) -> Result<serde_json::Value, NodeError> {
        serde_json::from_str(&self.fields).map_err(|e| {
            NodeError::failed(format!("asset `{}` has invalid fields JSON: {e}", self.id))
        })
    }
}

impl Value {
    /// A text value.
    pub fn text(text: impl Into<String>) -> Self {
        Value::Text(text.into())
    }

    /// An asset value.
    pub fn asset(id: impl Into<String>, mime: impl Into<String>) -> Self {
        Value::Asset(AssetRef::new(id, mime))
    }

    /// A JSON value from a JSON document.
    pub fn json(value: &serde_json::Value) -> Self {
        Value::Json(value.to_string())
    }

    /// The text, if this is a `text` value.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The asset reference, if this is an `asset` value.
    pub fn as_asset(&self) -> Option<&AssetRef> {
        match self {
            Value::Asset(a) => Some(a),
            _ => None,
        }
    }

    /// The JSON text, if this is a `json` value.
    pub fn as_json(&self) -> Option<&str> {
        match self {
            Value::Json(j) => Some(j),
            _ => None,
        }
    }

    /// The number, if this is a `number` or an `integer` value.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            Value::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// The integer, if this is an `integer` value.
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Value::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The case's name as in the contract: `text`, `number`, `integer`,
    /// `boolean`, `json` or `asset`.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Text(_) => "text",
            Value::Number(_) => "number",
            Value::Integer(_) => "integer",
            Value::Boolean(_) => "boolean",
            Value::Json(_) => "json",
            Value::Asset(_) => "asset",
        }
    }

    /// The flag, if this is a `boolean` value.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    /// Parses a `json` value into `T`; any other case is an invalid-input error.
    pub fn parse_json<T: serde::de::DeserializeOwned>(&self) -> Result<T, NodeError> {
        let text = self
            .as_json()
            .ok_or_else(|| NodeError::invalid_input("expected a JSON value"))?;
        serde_json::from_str(text)
            .map_err(|e| NodeError::invalid_input(format!("invalid JSON value: {e}")))
    }
}

scalar_conversions!(Value);
impl From<AssetRef> for Value {
    fn from(v: AssetRef) -> Self {
        Value::Asset(v)
    }
}
impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        Value::Json(v.to_string())
    }
}

// ---------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------

impl NodeInput {
    /// The value of parameter `id`, if set (the host already applied defaults).
    pub fn param(&self, id: &str) -> Option<&ParamValue> {
        self.params.iter().find(|p| p.id == id).map(|p| &p.value)
    }

    /// The text of parameter `id`, if it is a `text` value.
    pub fn text(&self, id: &str) -> Option<&str> {
        match self.param(id) {
            Some(ParamValue::Text(t)) => Some(t),
            _ => None,
        }
    }

    /// The number of parameter `id`, if it is a `number` (or an `integer`) value.
    pub fn number(&self, id: &str) -> Option<f64> {
        match self.param(id) {
            Some(ParamValue::Number(n)) => Some(*n),
            Some(ParamValue::Integer(i)) => Some(*i as f64),
            _ => None,
        }
    }

    /// The integer of parameter `id`, if it is an `integer` value.
    pub fn integer(&self, id: &str) -> Option<i64> {
        match self.param(id) {
            Some(ParamValue::Integer(i)) => Some(*i),
            _ => None,
        }
    }

    /// The flag of parameter `id`, if it is a `boolean` value.
    pub fn boolean(&self, id: &str) -> Option<bool> {
        match self.param(id) {
            Some(ParamValue::Boolean(b)) => Some(*b),
            _ => None,
        }
    }

    /// The chosen option value of parameter `id`, if it is a `choice` value.
    pub fn choice(&self, id: &str) -> Option<&str> {
        match self.param(id) {
            Some(ParamValue::Choice(c)) => Some(c),
            _ => None,
        }
    }

    /// The asset id of parameter `id`, if it is an `asset-ref` value.
    pub fn asset_ref(&self, id: &str) -> Option<&str> {
        match self.param(id) {
            Some(ParamValue::AssetRef(a)) => Some(a),
            _ => None,
        }
    }

    /// Parameter `id` parsed from JSON into `T`: `Ok(None)` when unset, an
    /// invalid-input error when it is not a `json` value or does not parse.
    pub fn json<T: serde::de::DeserializeOwned>(&self, id: &str) -> Result<Option<T>, NodeError> {
        match self.param(id) {
            None => Ok(None),
            Some(ParamValue::Json(text)) => serde_json::from_str(text).map(Some).map_err(|e| {
                NodeError::invalid_input(format!("parameter `{id}` is not valid JSON: {e}"))
            }),
            Some(other) => Err(NodeError::invalid_input(format!(
                "parameter `{id}` is {}, not json",
                other.kind()
            ))),
        }
    }

    /// Parameter `id` as an untyped JSON document (see [`NodeInput::json`]).
    pub fn json_value(&self, id: &str) -> Result<Option<serde_json::Value>, NodeError> {
        self.json(id)
    }

    /// Everything connected to input port `port` (empty when nothing is).
    pub fn connected(&self, port: &str) -> &[ConnectedValue] {
        self.inputs
            .iter()
            .find(|p| p.port == port)
            .map(|p| p.values.as_slice())
            .unwrap_or(&[])
    }

    /// The first value connected to input port `port`, for ports of cardinality one.
    pub fn connected_value(&self, port: &str) -> Option<&Value> {
        self.connected(port).first().map(|c| &c.value)
    }

    /// Every value connected to input port `port` parsed from JSON into `T`,
    /// in connection order. A value that is not `json`, or does not parse, is
    /// an invalid-input error naming the upstream node.
    pub fn connected_json<T: serde::de::DeserializeOwned>(
        &self,
        port: &str,
    ) -> Result<Vec<T>, NodeError> {
        self.connected(port)
            .iter()
            .map(|c| {
                let text = c.value.as_json().ok_or_else(|| {
                    NodeError::invalid_input(format!(
                        "input `{port}` expects JSON, but node `{}` sent a {} value",
                        c.source_node,
                        c.value.kind()
                    ))
                })?;
                serde_json::from_str(text).map_err(|e| {
                    NodeError::invalid_input(format!(
                        "input `{port}`: node `{}` sent invalid JSON: {e}",
                        c.source_node
                    ))
                })
            })
            .collect()
    }
}

impl ActionInput {
    /// The node of the graph with this id, if any.
    pub fn graph_node(&self, id: &str) -> Option<&GraphNode> {
        self.graph.iter().find(|n| n.id == id)
    }

    /// The nodes of the graph whose parent (subflow) is `parent`.
    pub fn children_of<'a>(&'a self, parent: &'a str) -> impl Iterator<Item = &'a GraphNode> {
        self.graph
            .iter()
            .filter(move |n| n.parent.as_deref() == Some(parent))
    }
}

impl From<NodeInput> for ActionInput {
    /// An action input with an empty graph.
    fn from(node: NodeInput) -> Self {
        ActionInput {
            node,
            graph: Vec::new(),
        }
    }
}

impl GraphNode {
    /// A graph node with no parent and no parameters (handy in tests).
    pub fn new(
        id: impl Into<String>,
        type_id: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        GraphNode {
            id: id.into(),
            type_id: type_id.into(),
            parent: None,
            label: label.into(),
            params: Vec::new(),
        }
    }

    /// Places the node inside the subflow `parent`.
    pub fn with_parent(mut self, parent: impl Into<String>) -> Self {
        self.parent = Some(parent.into());
        self
    }

    /// Sets a parameter value (replacing an earlier value of the same id).
    pub fn with_param(mut self, id: impl Into<String>, value: impl Into<ParamValue>) -> Self {
        let entry = ParamEntry::new(id, value);
        self.params.retain(|p| p.id != entry.id);
        self.params.push(entry);
        self
    }

    /// The value of parameter `id` of this node, if set.
    pub fn param(&self, id: &str) -> Option<&ParamValue> {
        self.params.iter().find(|p| p.id == id).map(|p| &p.value)
    }

    /// The text of parameter `id`, if it is a `text` value.
    pub fn text(&self, id: &str) -> Option<&str> {
        match self.param(id) {
            Some(ParamValue::Text(t)) => Some(t),
            _ => None,
        }
    }
}

impl From<PatchNode> for GraphNode {
    /// The node as the graph holds it once the patch is applied (the position
    /// is not part of a [`GraphNode`]).
    fn from(node: PatchNode) -> Self {
        GraphNode {
            id: node.id,
            type_id: node.type_id,
            parent: node.parent,
            label: node.label,
            params: node.params,
        }
    }
}

// ---------------------------------------------------------------------------
// Output, errors, diagnostics
// ---------------------------------------------------------------------------

impl NodeOutputs {
    /// No values and an empty summary.
    pub fn new() -> Self {
        NodeOutputs {
            values: Vec::new(),
            summary: String::new(),
        }
    }

    /// Adds a value on output port `port` (call again for more values on the same port).
    pub fn with(mut self, port: impl Into<String>, value: impl Into<Value>) -> Self {
        self.values.push(OutputValue {
            port: port.into(),
            value: value.into(),
        });
        self
    }

    /// Sets the short human summary ("3 images").
    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = summary.into();
        self
    }

    /// The first value on output port `port`.
    pub fn get(&self, port: &str) -> Option<&Value> {
        self.values
            .iter()
            .find(|v| v.port == port)
            .map(|v| &v.value)
    }

    /// All values on output port `port`.
    pub fn all<'a>(&'a self, port: &'a str) -> impl Iterator<Item = &'a Value> {
        self.values
            .iter()
            .filter(move |v| v.port == port)
            .map(|v| &v.value)
    }
}

impl Default for NodeOutputs {
    fn default() -> Self {
        NodeOutputs::new()
    }
}

impl NodeError {
    /// An error with any code.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        NodeError {
            code,
            message: message.into(),
        }
    }

    /// The input does not satisfy the node's rules.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        NodeError::new(ErrorCode::InvalidInput, message)
    }

    /// Anything else went wrong.
    pub fn failed(message: impl Into<String>) -> Self {
        NodeError::new(ErrorCode::Failed, message)
    }

    /// The node noticed [`crate::host::is_cancelled`] and stopped.
    pub fn cancelled() -> Self {
        NodeError::new(ErrorCode::Cancelled, "cancelled")
    }

    /// A backend (ComfyUI, Wan2GP, …) could not be reached or refused.
    pub fn backend_unavailable(message: impl Into<String>) -> Self {
        NodeError::new(ErrorCode::BackendUnavailable, message)
    }

    /// The node does not support what was asked (a tier, an action).
    pub fn unsupported(message: impl Into<String>) -> Self {
        NodeError::new(ErrorCode::Unsupported, message)
    }
}

impl From<HttpError> for NodeError {
    /// Every HTTP failure means the backend is unavailable, except a malformed
    /// request, which is the node's own failure.
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::InvalidRequest(m) => NodeError::failed(format!("invalid HTTP request: {m}")),
            HttpError::Unreachable(m) => {
                NodeError::backend_unavailable(format!("backend unreachable: {m}"))
            }
            HttpError::Timeout => NodeError::backend_unavailable("backend did not answer in time"),
            HttpError::TooLarge(n) => {
                NodeError::backend_unavailable(format!("backend answer too large ({n} bytes)"))
            }
        }
    }
}

impl Diagnostic {
    /// A diagnostic about the node as a whole (no field).
    pub fn new(severity: Severity, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            message: message.into(),
            field: None,
        }
    }

    /// An error about parameter or port `field`; the node cannot execute until fixed.
    pub fn error(field: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic::new(Severity::Error, message).on(field)
    }

    /// A warning about parameter or port `field`.
    pub fn warning(field: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic::new(Severity::Warning, message).on(field)
    }

    /// An informational finding about parameter or port `field`.
    pub fn info(field: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic::new(Severity::Info, message).on(field)
    }

    /// Sets the parameter or port id the finding is about.
    pub fn on(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Whether this diagnostic blocks execution.
    pub fn is_error(&self) -> bool {
        matches!(self.severity, Severity::Error)
    }
}

// ---------------------------------------------------------------------------
// Graph patches
// ---------------------------------------------------------------------------

impl GraphPatch {
    /// An empty patch.
    pub fn new() -> Self {
        GraphPatch {
            upsert_nodes: Vec::new(),
            remove_nodes: Vec::new(),
            upsert_edges: Vec::new(),
            remove_edges: Vec::new(),
            summary: String::new(),
        }
    }

    /// Creates a node, or updates the node with the same id.
    pub fn upsert_node(mut self, node: PatchNode) -> Self {
        self.upsert_nodes.push(node);
        self
    }

    /// Removes a node and its edges.
    pub fn remove_node(mut self, id: impl Into<String>) -> Self {
        self.remove_nodes.push(id.into());
        self
    }

    /// Creates an edge, or replaces the edge with the same id.
    pub fn upsert_edge(mut self, edge: PatchEdge) -> Self {
        self.upsert_edges.push(edge);
        self
    }

    /// Removes an edge.
    pub fn remove_edge(mut self, id: impl Into<String>) -> Self {
        self.remove_edges.push(id.into());
        self
    }

    /// Sets what changed, for the user.
    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = summary.into();
        self
    }
}

impl Default for GraphPatch {
    fn default() -> Self {
        GraphPatch::new()
    }
}

impl PatchNode {
    /// A node to create or update: no parent, no position, no params.
    pub fn new(
        id: impl Into<String>,
        type_id: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        PatchNode {
            id: id.into(),
            type_id: type_id.into(),
            parent: None,
            label: label.into(),
            position: None,
            params: Vec::new(),
        }
    }

    /// Places the node inside the subflow (group node) `parent`.
    pub fn parent(mut self, parent: impl Into<String>) -> Self {
        self.parent = Some(parent.into());
        self
    }

    /// Places the node at `(x, y)` on the canvas.
    pub fn at(mut self, x: f64, y: f64) -> Self {
        self.position = Some(Position { x, y });
        self
    }

    /// Sets a parameter value (replacing an earlier value of the same id).
    pub fn param(mut self, id: impl Into<String>, value: impl Into<ParamValue>) -> Self {
        let entry = ParamEntry::new(id, value);
        self.params.retain(|p| p.id != entry.id);
        self.params.push(entry);
        self
    }
}

impl PatchEdge {
    /// An edge with an explicit id.
    pub fn new(
        id: impl Into<String>,
        source: impl Into<String>,
        source_port: impl Into<String>,
        target: impl Into<String>,
        target_port: impl Into<String>,
    ) -> Self {
        PatchEdge {
            id: id.into(),
            source: source.into(),
            source_port: source_port.into(),
            target: target.into(),
            target_port: target_port.into(),
        }
    }

    /// An edge whose id is derived from its ends
    /// (`source.source_port->target.target_port`), so it is stable across runs.
    pub fn between(
        source: impl Into<String>,
        source_port: impl Into<String>,
        target: impl Into<String>,
        target_port: impl Into<String>,
    ) -> Self {
        let (source, source_port) = (source.into(), source_port.into());
        let (target, target_port) = (target.into(), target_port.into());
        let id = format!("{source}.{source_port}->{target}.{target_port}");
        PatchEdge::new(id, source, source_port, target, target_port)
    }
}

// ---------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------

impl HttpRequest {
    /// A request with any method, no headers, no body, the host's default timeout.
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        HttpRequest {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout_ms: 0,
        }
    }

    /// A `GET` request.
    pub fn get(url: impl Into<String>) -> Self {
        HttpRequest::new("GET", url)
    }

    /// A `POST` request with a body.
    pub fn post(url: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        HttpRequest::new("POST", url).body(body)
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets a JSON body and the `content-type: application/json` header.
    pub fn json_body(self, body: &serde_json::Value) -> Self {
        self.header("content-type", "application/json")
            .body(body.to_string())
    }

    /// Sets the per-request timeout in milliseconds (0: the host's default).
    pub fn timeout_ms(mut self, timeout_ms: u32) -> Self {
        self.timeout_ms = timeout_ms;
        self
    }
}

impl HttpResponse {
    /// A response with a status and a body, no headers (handy in test handlers).
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The first header with this name (case-insensitive).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON into `T`; a parse failure is a backend-unavailable
    /// error (the backend answered something unexpected).
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, NodeError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            NodeError::backend_unavailable(format!("backend answered invalid JSON: {e}"))
        })
    }
}
