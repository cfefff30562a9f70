//! What contract versions share: every interface of `moviedirector:node@0.1.0` is unchanged in
//! later versions, so its host imports and type conversions are written once, here, and
//! expanded inside each version's bindings module (where `moviedirector::node::*` are that
//! version's generated types). A version that changes an interface writes that interface's
//! part itself instead of expanding this.

/// Expands the host imports (`host`, `assets`, `outputs`, `http`) and the conversions between
/// the generated types and the runtime's types, for the bindings module it is expanded in.
macro_rules! node_contract_0_1_interfaces {
    () => {
        use wasmtime::Store;
        use wasmtime::component::{HasSelf, Linker};

        use moviedirector::node::types as wit;
        use $crate::plugin::engine::requests::{Request, Response};
        use $crate::plugin::engine::state::StoreState;
        use $crate::plugin::types as rt;

        /// Adds this version's imports to a linker.
        pub fn add_to_linker(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
            Plugin::add_to_linker::<StoreState, HasSelf<StoreState>>(linker, |state| state)
        }

        /// A pre-instantiated component of this contract version.
        pub struct Bindings {
            pre: PluginPre<StoreState>,
        }

        impl Bindings {
            /// Type-checks the component's exports against this version.
            pub fn new(
                pre: wasmtime::component::InstancePre<StoreState>,
            ) -> wasmtime::Result<Bindings> {
                Ok(Bindings {
                    pre: PluginPre::new(pre)?,
                })
            }

            /// Instantiates the component in `store` and keeps the instance.
            pub async fn instantiate(
                &self,
                store: &mut Store<StoreState>,
            ) -> wasmtime::Result<Instance> {
                Ok(Instance {
                    plugin: self.pre.instantiate_async(store).await?,
                })
            }
        }

        /// A live instance of this contract version.
        pub struct Instance {
            plugin: Plugin,
        }

        impl Instance {
            /// Calls one export.
            pub async fn dispatch(
                &self,
                store: &mut Store<StoreState>,
                request: &Request,
            ) -> wasmtime::Result<Response> {
                let node = self.plugin.moviedirector_node_node();
                Ok(match request {
                    Request::Describe => {
                        Response::Describe(node.call_describe(&mut *store).await?.into())
                    }
                    Request::Validate(input) => Response::Validate(
                        node.call_validate(&mut *store, &input.into())
                            .await?
                            .into_iter()
                            .map(Into::into)
                            .collect(),
                    ),
                    Request::Execute(input) => Response::Execute(
                        node.call_execute(&mut *store, &input.into())
                            .await?
                            .map(Into::into)
                            .map_err(Into::into),
                    ),
                    Request::RunAction(action, input) => Response::RunAction(
                        node.call_run_action(&mut *store, action, &input.into())
                            .await?
                            .map(Into::into)
                            .map_err(Into::into),
                    ),
                })
            }
        }

        // ---------------------------------------------------------------------------------------------
        // Host imports.

        impl wit::Host for StoreState {}

        impl moviedirector::node::host::Host for StoreState {
            fn log(
                &mut self,
                level: moviedirector::node::host::LogLevel,
                message: String,
            ) -> wasmtime::Result<()> {
                use moviedirector::node::host::LogLevel as L;
                let level = match level {
                    L::Trace => rt::LogLevel::Trace,
                    L::Debug => rt::LogLevel::Debug,
                    L::Info => rt::LogLevel::Info,
                    L::Warn => rt::LogLevel::Warn,
                    L::Error => rt::LogLevel::Error,
                };
                self.require_call("log")?;
                // The host copied the whole message in, however much of it is kept.
                self.charge_host_bytes(message.len());
                if let Some(message) = self.admit_log(&message) {
                    self.context.services.log(level, &message);
                }
                Ok(())
            }

            fn progress(&mut self, fraction: f32, message: String) -> wasmtime::Result<()> {
                self.require_call("progress")?;
                self.charge_host_bytes(message.len());
                let fraction = if fraction.is_finite() {
                    fraction.clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let message = self.cut_message(&message);
                self.context.services.progress(fraction, &message);
                Ok(())
            }

            fn is_cancelled(&mut self) -> wasmtime::Result<bool> {
                self.require_call("is-cancelled")?;
                Ok(self.context.cancel.is_cancelled())
            }
        }

        impl moviedirector::node::assets::Host for StoreState {
            async fn metadata(
                &mut self,
                id: String,
            ) -> wasmtime::Result<Result<moviedirector::node::assets::AssetMetadata, String>> {
                self.require_capability(&rt::Capability::AssetRead, "read asset metadata")?;
                let services = self.context.services.clone();
                let answer = services
                    .asset_metadata(&id)
                    .await
                    .map_err(|e| e.to_string());
                if answer.is_ok() {
                    self.known_assets.insert(id);
                }
                Ok(
                    answer.map(|meta| moviedirector::node::assets::AssetMetadata {
                        id: meta.id,
                        mime: meta.mime,
                        size: meta.size,
                        name: meta.name,
                        kind: meta.kind,
                        fields: meta.fields,
                    }),
                )
            }

            async fn read(&mut self, id: String) -> wasmtime::Result<Result<Vec<u8>, String>> {
                self.require_capability(&rt::Capability::AssetRead, "read an asset")?;
                let services = self.context.services.clone();
                let answer = services.read_asset(&id).await.map_err(|e| e.to_string());
                self.charge_host_bytes(answer.as_ref().map_or(0, Vec::len));
                if answer.is_ok() {
                    self.known_assets.insert(id);
                }
                Ok(answer)
            }
        }

        impl moviedirector::node::outputs::Host for StoreState {
            async fn write(
                &mut self,
                mime: String,
                bytes: Vec<u8>,
            ) -> wasmtime::Result<Result<String, String>> {
                self.require_capability(&rt::Capability::OutputWrite, "write an output")?;
                if self.outputs_written >= self.limits.max_outputs {
                    return Err(self.stop($crate::plugin::error::Failure::TooManyOutputs {
                        limit: self.limits.max_outputs,
                    }));
                }
                self.outputs_written += 1;
                let attempted = self.output_bytes + bytes.len() as u64;
                if attempted > self.limits.output_bytes {
                    return Err(self.stop($crate::plugin::error::Failure::OutputTooLarge {
                        limit: self.limits.output_bytes,
                        attempted,
                    }));
                }
                self.output_bytes = attempted;
                self.charge_host_bytes(bytes.len());
                let services = self.context.services.clone();
                let answer = services
                    .write_output(&mime, bytes)
                    .await
                    .map_err(|e| e.to_string());
                if let Ok(id) = &answer {
                    self.known_assets.insert(id.clone());
                }
                Ok(answer)
            }
        }

        impl moviedirector::node::http::Host for StoreState {
            async fn fetch(
                &mut self,
                request: moviedirector::node::http::Request,
            ) -> wasmtime::Result<
                Result<moviedirector::node::http::Response, moviedirector::node::http::HttpError>,
            > {
                use moviedirector::node::http::{HttpError as E, Response};
                let candidate = rt::HttpRequest {
                    method: request.method,
                    url: request.url,
                    headers: request.headers,
                    body: request.body,
                    timeout_ms: request.timeout_ms,
                };
                let checked = match self.admit_request(candidate, "make an HTTP request")? {
                    Ok(checked) => checked,
                    Err(err) => return Ok(Err(http_error_to_wit(err))),
                };
                let limit = self.limits.http_response_bytes;
                self.charge_host_bytes(checked.body.len());
                let services = self.context.services.clone();
                let answer = services.http_fetch(checked).await;
                self.charge_host_bytes(answer.as_ref().map_or(0, |response| response.body.len()));
                Ok(match answer {
                    Ok(response) if response.body.len() as u64 > limit => Err(E::TooLarge(limit)),
                    Ok(response) => Ok(Response {
                        status: response.status,
                        headers: response.headers,
                        body: response.body,
                    }),
                    Err(err) => Err(http_error_to_wit(err)),
                })
            }
        }

        /// The contract's form of a runtime HTTP error.
        fn http_error_to_wit(err: rt::HttpError) -> moviedirector::node::http::HttpError {
            use moviedirector::node::http::HttpError as E;
            match err {
                rt::HttpError::InvalidRequest(reason) => E::InvalidRequest(reason),
                rt::HttpError::Unreachable(reason) => E::Unreachable(reason),
                rt::HttpError::Timeout => E::Timeout,
                rt::HttpError::TooLarge(size) => E::TooLarge(size),
            }
        }

        // ---------------------------------------------------------------------------------------------
        // Conversions: generated types → runtime types (results of exports).

        impl From<wit::NodeDescriptor> for rt::NodeDescriptor {
            fn from(d: wit::NodeDescriptor) -> Self {
                rt::NodeDescriptor {
                    type_id: d.type_id,
                    version: d.version,
                    display_name: d.display_name,
                    category: d.category,
                    icon: d.icon,
                    docs: d.docs,
                    inputs: d.inputs.into_iter().map(Into::into).collect(),
                    outputs: d.outputs.into_iter().map(Into::into).collect(),
                    params: d.params.into_iter().map(Into::into).collect(),
                    tiers: d.tiers.into_iter().map(Into::into).collect(),
                    actions: d
                        .actions
                        .into_iter()
                        .map(|a| rt::Action {
                            id: a.id,
                            label: a.label,
                            help: a.help,
                        })
                        .collect(),
                    capabilities: d
                        .capabilities
                        .into_iter()
                        .map(|c| match c {
                            wit::Capability::OutboundHttp(origins) => {
                                rt::Capability::OutboundHttp(origins)
                            }
                            wit::Capability::AssetRead => rt::Capability::AssetRead,
                            wit::Capability::OutputWrite => rt::Capability::OutputWrite,
                        })
                        .collect(),
                }
            }
        }

        impl From<wit::Port> for rt::Port {
            fn from(p: wit::Port) -> Self {
                rt::Port {
                    id: p.id,
                    label: p.label,
                    kind: p.kind,
                    cardinality: match p.cardinality {
                        wit::Cardinality::One => rt::Cardinality::One,
                        wit::Cardinality::Many => rt::Cardinality::Many,
                    },
                    required: p.required,
                    help: p.help,
                }
            }
        }

        impl From<wit::Param> for rt::Param {
            fn from(p: wit::Param) -> Self {
                rt::Param {
                    id: p.id,
                    label: p.label,
                    param_type: match p.param_type {
                        wit::ParamType::Text(multiline) => rt::ParamType::Text { multiline },
                        wit::ParamType::Number(r) => rt::ParamType::Number(rt::NumberRange {
                            min: r.min,
                            max: r.max,
                            step: r.step,
                        }),
                        wit::ParamType::Integer(r) => rt::ParamType::Integer(rt::IntegerRange {
                            min: r.min,
                            max: r.max,
                        }),
                        wit::ParamType::Boolean => rt::ParamType::Boolean,
                        wit::ParamType::Choice(options) => rt::ParamType::Choice(
                            options
                                .into_iter()
                                .map(|o| rt::ChoiceOption {
                                    value: o.value,
                                    label: o.label,
                                })
                                .collect(),
                        ),
                        wit::ParamType::AssetRef(kind) => rt::ParamType::AssetRef { kind },
                        wit::ParamType::Json => rt::ParamType::Json,
                    },
                    default: p.default.map(Into::into),
                    required: p.required,
                    help: p.help,
                }
            }
        }

        impl From<wit::TierEstimate> for rt::TierEstimate {
            fn from(t: wit::TierEstimate) -> Self {
                rt::TierEstimate {
                    tier: t.tier.into(),
                    seconds: t.seconds,
                    gpu_memory_mib: t.gpu_memory_mib,
                    cost_milli: t.cost_milli,
                }
            }
        }

        impl From<wit::QualityTier> for rt::QualityTier {
            fn from(t: wit::QualityTier) -> Self {
                match t {
                    wit::QualityTier::Low => rt::QualityTier::Low,
                    wit::QualityTier::Standard => rt::QualityTier::Standard,
                    wit::QualityTier::High => rt::QualityTier::High,
                }
            }
        }

        impl From<wit::ParamValue> for rt::ParamValue {
            fn from(v: wit::ParamValue) -> Self {
                match v {
                    wit::ParamValue::Text(s) => rt::ParamValue::Text(s),
                    wit::ParamValue::Number(n) => rt::ParamValue::Number(n),
                    wit::ParamValue::Integer(n) => rt::ParamValue::Integer(n),
                    wit::ParamValue::Boolean(b) => rt::ParamValue::Boolean(b),
                    wit::ParamValue::Choice(s) => rt::ParamValue::Choice(s),
                    wit::ParamValue::AssetRef(s) => rt::ParamValue::AssetRef(s),
                    wit::ParamValue::Json(s) => rt::ParamValue::Json(s),
                }
            }
        }

        impl From<wit::Diagnostic> for rt::Diagnostic {
            fn from(d: wit::Diagnostic) -> Self {
                rt::Diagnostic {
                    severity: match d.severity {
                        wit::Severity::Info => rt::Severity::Info,
                        wit::Severity::Warning => rt::Severity::Warning,
                        wit::Severity::Error => rt::Severity::Error,
                    },
                    message: d.message,
                    field: d.field,
                }
            }
        }

        impl From<wit::Value> for rt::Value {
            fn from(v: wit::Value) -> Self {
                match v {
                    wit::Value::Text(s) => rt::Value::Text(s),
                    wit::Value::Number(n) => rt::Value::Number(n),
                    wit::Value::Integer(n) => rt::Value::Integer(n),
                    wit::Value::Boolean(b) => rt::Value::Boolean(b),
                    wit::Value::Json(s) => rt::Value::Json(s),
                    wit::Value::Asset(a) => rt::Value::Asset(rt::AssetRef {
                        id: a.id,
                        mime: a.mime,
                    }),
                }
            }
        }

        impl From<wit::NodeOutputs> for rt::NodeOutputs {
            fn from(o: wit::NodeOutputs) -> Self {
                rt::NodeOutputs {
                    values: o
                        .values
                        .into_iter()
                        .map(|v| rt::OutputValue {
                            port: v.port,
                            value: v.value.into(),
                        })
                        .collect(),
                    summary: o.summary,
                }
            }
        }

        impl From<wit::NodeError> for rt::NodeError {
            fn from(e: wit::NodeError) -> Self {
                rt::NodeError {
                    code: match e.code {
                        wit::ErrorCode::InvalidInput => rt::ErrorCode::InvalidInput,
                        wit::ErrorCode::BackendUnavailable => rt::ErrorCode::BackendUnavailable,
                        wit::ErrorCode::Cancelled => rt::ErrorCode::Cancelled,
                        wit::ErrorCode::Unsupported => rt::ErrorCode::Unsupported,
                        wit::ErrorCode::Failed => rt::ErrorCode::Failed,
                    },
                    message: e.message,
                }
            }
        }

        impl From<wit::GraphPatch> for rt::GraphPatch {
            fn from(p: wit::GraphPatch) -> Self {
                rt::GraphPatch {
                    upsert_nodes: p
                        .upsert_nodes
                        .into_iter()
                        .map(|n| rt::PatchNode {
                            id: n.id,
                            type_id: n.type_id,
                            parent: n.parent,
                            label: n.label,
                            position: n.position.map(|p| rt::Position { x: p.x, y: p.y }),
                            params: n.params.into_iter().map(Into::into).collect(),
                        })
                        .collect(),
                    remove_nodes: p.remove_nodes,
                    upsert_edges: p
                        .upsert_edges
                        .into_iter()
                        .map(|e| rt::PatchEdge {
                            id: e.id,
                            source: e.source,
                            source_port: e.source_port,
                            target: e.target,
                            target_port: e.target_port,
                        })
                        .collect(),
                    remove_edges: p.remove_edges,
                    summary: p.summary,
                }
            }
        }

        impl From<wit::ParamEntry> for rt::ParamEntry {
            fn from(e: wit::ParamEntry) -> Self {
                rt::ParamEntry {
                    id: e.id,
                    value: e.value.into(),
                }
            }
        }

        // ---------------------------------------------------------------------------------------------
        // Conversions: runtime types → generated types (arguments of exports).

        impl From<&rt::NodeInput> for wit::NodeInput {
            fn from(i: &rt::NodeInput) -> Self {
                wit::NodeInput {
                    node_id: i.node_id.clone(),
                    params: i.params.iter().map(Into::into).collect(),
                    inputs: i
                        .inputs
                        .iter()
                        .map(|p| wit::PortValues {
                            port: p.port.clone(),
                            values: p
                                .values
                                .iter()
                                .map(|c| wit::ConnectedValue {
                                    source_node: c.source_node.clone(),
                                    source_port: c.source_port.clone(),
                                    value: (&c.value).into(),
                                })
                                .collect(),
                        })
                        .collect(),
                    tier: match i.tier {
                        rt::QualityTier::Low => wit::QualityTier::Low,
                        rt::QualityTier::Standard => wit::QualityTier::Standard,
                        rt::QualityTier::High => wit::QualityTier::High,
                    },
                    seed: i.seed,
                }
            }
        }

        impl From<&rt::ActionInput> for wit::ActionInput {
            fn from(a: &rt::ActionInput) -> Self {
                wit::ActionInput {
                    node: (&a.node).into(),
                    graph: a
                        .graph
                        .iter()
                        .map(|n| wit::GraphNode {
                            id: n.id.clone(),
                            type_id: n.type_id.clone(),
                            parent: n.parent.clone(),
                            label: n.label.clone(),
                            params: n.params.iter().map(Into::into).collect(),
                        })
                        .collect(),
                }
            }
        }

        impl From<&rt::ParamEntry> for wit::ParamEntry {
            fn from(e: &rt::ParamEntry) -> Self {
                wit::ParamEntry {
                    id: e.id.clone(),
                    value: match &e.value {
                        rt::ParamValue::Text(s) => wit::ParamValue::Text(s.clone()),
                        rt::ParamValue::Number(n) => wit::ParamValue::Number(*n),
                        rt::ParamValue::Integer(n) => wit::ParamValue::Integer(*n),
                        rt::ParamValue::Boolean(b) => wit::ParamValue::Boolean(*b),
                        rt::ParamValue::Choice(s) => wit::ParamValue::Choice(s.clone()),
                        rt::ParamValue::AssetRef(s) => wit::ParamValue::AssetRef(s.clone()),
                        rt::ParamValue::Json(s) => wit::ParamValue::Json(s.clone()),
                    },
                }
            }
        }

        impl From<&rt::Value> for wit::Value {
            fn from(v: &rt::Value) -> Self {
                match v {
                    rt::Value::Text(s) => wit::Value::Text(s.clone()),
                    rt::Value::Number(n) => wit::Value::Number(*n),
                    rt::Value::Integer(n) => wit::Value::Integer(*n),
                    rt::Value::Boolean(b) => wit::Value::Boolean(*b),
                    rt::Value::Json(s) => wit::Value::Json(s.clone()),
                    rt::Value::Asset(a) => wit::Value::Asset(wit::AssetRef {
                        id: a.id.clone(),
                        mime: a.mime.clone(),
                    }),
                }
            }
        }
    };
}

pub(super) use node_contract_0_1_interfaces;
