//! A loaded plugin: its descriptor, its pre-instantiated component and the call machinery
//! that runs every export in a fresh instance under limits.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::{Store, Trap, UpdateDeadline};

use super::inspect::ComponentFacts;
use super::limits::Limits;
use super::requests::{Request, Response};
use super::services::CallContext;
use super::state::StoreState;
use super::{Shared, v0_1_0};
use crate::plugin::error::{CallError, CallKind, Failure, PluginLabel};
use crate::plugin::types::{
    ActionInput, Capability, Diagnostic, GraphPatch, LogLevel, NodeDescriptor, NodeInput,
    NodeOutputs,
};

/// Pre-instantiated bindings of one contract version.
pub(crate) enum Contract {
    V0_1_0(v0_1_0::Bindings),
}

enum LiveContract {
    V0_1_0(v0_1_0::Instance),
}

impl Contract {
    async fn instantiate(&self, store: &mut Store<StoreState>) -> wasmtime::Result<LiveContract> {
        match self {
            Contract::V0_1_0(bindings) => {
                Ok(LiveContract::V0_1_0(bindings.instantiate(store).await?))
            }
        }
    }

    fn version(&self) -> &'static str {
        match self {
            Contract::V0_1_0(_) => v0_1_0::VERSION,
        }
    }
}

impl LiveContract {
    async fn dispatch(
        &self,
        store: &mut Store<StoreState>,
        request: &Request,
    ) -> wasmtime::Result<Response> {
        match self {
            LiveContract::V0_1_0(instance) => instance.dispatch(store, request).await,
        }
    }
}

/// A plugin ready to serve calls. Cheap to clone; calls may run concurrently.
#[derive(Clone)]
pub struct Plugin {
    inner: Arc<Inner>,
    limits: Limits,
}

struct Inner {
    shared: Arc<Shared>,
    contract: Contract,
    facts: ComponentFacts,
    digest: String,
    label: PluginLabel,
    descriptor: Option<Arc<NodeDescriptor>>,
    health: Mutex<PluginHealth>,
    /// Calls of this plugin running at once are bounded, so one plugin cannot take every
    /// instance slot of the engine.
    slots: Arc<tokio::sync::Semaphore>,
}

/// Whether a plugin is serving calls, and its recent record.
///
/// The rule: a plugin is quarantined after `quarantine_after` misbehaving calls of one export
/// in a row (traps, limits, capability and contract violations; never host faults or a user's
/// cancel). Only a success of the *same* export resets that count, so cheap `validate` calls on
/// every edit cannot hide an `execute` that always burns its budget. A quarantine lifts by
/// itself after `quarantine_for`, so no burst of bad input disables a node type for good.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginHealth {
    /// Misbehaving calls in a row of the export that failed last.
    pub consecutive_failures: u32,
    /// Why the plugin no longer serves calls, if it is quarantined.
    pub quarantined: Option<String>,
    /// Misbehaving calls in a row, per export (describe, validate, execute, run-action).
    by_kind: [u32; 4],
    /// When the quarantine began.
    since: Option<Instant>,
}

/// A call's result with its measurements.
#[derive(Debug, Clone)]
pub struct CallOutcome<T> {
    /// What the export returned.
    pub value: T,
    /// Measurements.
    pub report: CallReport,
}

/// Measurements of one call.
#[derive(Debug, Clone, Default)]
pub struct CallReport {
    /// Wall time, instantiation included.
    pub duration: Duration,
    /// CPU time charged to the plugin (epoch ticks × tick length).
    pub cpu_charged: Duration,
    /// Largest linear memory the instance reached, in bytes.
    pub peak_memory_bytes: usize,
    /// Bytes of output files written.
    pub output_bytes: u64,
}

/// An instance kept alive beyond one call (to serve several cheap calls, or to measure).
pub struct LiveInstance {
    store: Store<StoreState>,
    live: LiveContract,
    plugin: Plugin,
}

impl LiveInstance {
    /// Calls `describe` on this instance.
    pub async fn describe(&mut self) -> Result<NodeDescriptor, CallError> {
        match self
            .live
            .dispatch(&mut self.store, &Request::Describe)
            .await
        {
            Ok(Response::Describe(descriptor)) => Ok(descriptor),
            Ok(_) => unreachable!("describe answers Describe"),
            Err(err) => {
                let failure = classify(err, &mut self.store);
                Err(self.plugin.error(CallKind::Describe, failure))
            }
        }
    }

    /// Largest linear memory the instance has reached, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.store.data().limiter.peak
    }
}

impl Plugin {
    pub(crate) fn new(
        shared: Arc<Shared>,
        contract: Contract,
        facts: ComponentFacts,
        digest: String,
        label: PluginLabel,
    ) -> Plugin {
        let limits = shared.config().limits.clone();
        let slots = Arc::new(tokio::sync::Semaphore::new(
            shared.config().calls_per_plugin(),
        ));
        Plugin {
            inner: Arc::new(Inner {
                shared,
                contract,
                facts,
                digest,
                label,
                descriptor: None,
                health: Mutex::new(PluginHealth::default()),
                slots,
            }),
            limits,
        }
    }

    pub(crate) fn with_descriptor(self, descriptor: NodeDescriptor, label: PluginLabel) -> Plugin {
        let inner = Arc::try_unwrap(self.inner)
            .unwrap_or_else(|_| unreachable!("not shared before load returns"));
        Plugin {
            inner: Arc::new(Inner {
                descriptor: Some(Arc::new(descriptor)),
                label,
                ..inner
            }),
            limits: self.limits,
        }
    }

    /// The descriptor read when the plugin was loaded.
    pub fn descriptor(&self) -> &NodeDescriptor {
        self.inner
            .descriptor
            .as_deref()
            .expect("a loaded plugin has a descriptor")
    }

    /// Name and version, for messages.
    pub fn label(&self) -> &PluginLabel {
        &self.inner.label
    }

    /// SHA-256 of the component bytes, hex.
    pub fn digest(&self) -> &str {
        &self.inner.digest
    }

    /// The contract version the component was built against.
    pub fn contract_version(&self) -> &'static str {
        self.inner.contract.version()
    }

    /// Imports and exports of the component.
    pub fn facts(&self) -> &ComponentFacts {
        &self.inner.facts
    }

    /// Capabilities the component's imports show it can use but its descriptor does not
    /// request (those calls would be refused), and requested ones it never imports.
    pub fn capability_mismatches(&self) -> Vec<String> {
        let descriptor = self.descriptor();
        let mut findings = Vec::new();
        for (interface, capability, name) in [
            ("assets", Capability::AssetRead, "asset-read"),
            ("outputs", Capability::OutputWrite, "output-write"),
            (
                "http",
                Capability::OutboundHttp(Vec::new()),
                "outbound-http",
            ),
        ] {
            let imported = self.inner.facts.imports_node_interface(interface);
            let requested = descriptor.requests(&capability);
            if imported && !requested {
                findings.push(format!(
                    "imports `{interface}` but does not request `{name}`: its calls will be refused"
                ));
            } else if requested && !imported {
                findings.push(format!("requests `{name}` but never imports `{interface}`"));
            }
        }
        findings
    }

    /// The limits applied to this handle's calls.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The same plugin with other limits (for a tier, or a test).
    pub fn with_limits(&self, limits: Limits) -> Plugin {
        Plugin {
            inner: self.inner.clone(),
            limits,
        }
    }

    /// Health and quarantine state (a quarantine past its time is lifted here).
    pub fn health(&self) -> PluginHealth {
        let mut health = self.inner.health.lock().expect("health lock");
        let lasts = self.inner.shared.config().quarantine_for;
        if health.since.is_some_and(|since| since.elapsed() >= lasts) {
            *health = PluginHealth::default();
        }
        health.clone()
    }

    /// Lifts a quarantine (after the operator replaced or inspected the plugin).
    pub fn release_quarantine(&self) {
        *self.inner.health.lock().expect("health lock") = PluginHealth::default();
    }

    /// Calls `describe` in a fresh instance.
    pub async fn describe(&self) -> Result<NodeDescriptor, CallError> {
        let outcome = self
            .call(
                CallKind::Describe,
                Request::Describe,
                CallContext::default(),
                0,
            )
            .await?;
        match outcome.value {
            Response::Describe(descriptor) => Ok(descriptor),
            _ => unreachable!("describe answers Describe"),
        }
    }

    /// Calls `validate` in a fresh instance.
    pub async fn validate(&self, input: &NodeInput) -> Result<Vec<Diagnostic>, CallError> {
        let request = Request::Validate(input.clone());
        let outcome = self
            .call(
                CallKind::Validate,
                request,
                CallContext::default(),
                input.seed,
            )
            .await?;
        match outcome.value {
            Response::Validate(diagnostics) => Ok(diagnostics),
            _ => unreachable!("validate answers Validate"),
        }
    }

    /// Calls `execute` in a fresh instance with the caller's services, grants and cancel switch.
    pub async fn execute(
        &self,
        input: &NodeInput,
        context: CallContext,
    ) -> Result<CallOutcome<NodeOutputs>, CallError> {
        let outcome = self
            .call(
                CallKind::Execute,
                Request::Execute(input.clone()),
                context,
                input.seed,
            )
            .await?;
        let Response::Execute(result) = outcome.value else {
            unreachable!("execute answers Execute")
        };
        let outputs =
            result.map_err(|err| self.error(CallKind::Execute, Failure::Reported(err)))?;
        Ok(CallOutcome {
            value: outputs,
            report: outcome.report,
        })
    }

    /// Calls `run-action` in a fresh instance.
    pub async fn run_action(
        &self,
        action: &str,
        input: &ActionInput,
        context: CallContext,
    ) -> Result<CallOutcome<GraphPatch>, CallError> {
        let request = Request::RunAction(action.to_string(), input.clone());
        let outcome = self
            .call(CallKind::RunAction, request, context, input.node.seed)
            .await?;
        let Response::RunAction(result) = outcome.value else {
            unreachable!("run-action answers RunAction")
        };
        let patch =
            result.map_err(|err| self.error(CallKind::RunAction, Failure::Reported(err)))?;
        Ok(CallOutcome {
            value: patch,
            report: outcome.report,
        })
    }

    /// Creates an instance that stays alive until dropped.
    pub async fn instantiate(&self) -> Result<LiveInstance, CallError> {
        let mut store = self.new_store(CallKind::Describe, CallContext::default(), 0);
        match self.inner.contract.instantiate(&mut store).await {
            Ok(live) => Ok(LiveInstance {
                store,
                live,
                plugin: self.clone(),
            }),
            Err(err) => {
                let failure = classify(err, &mut store);
                Err(self.error(CallKind::Describe, failure))
            }
        }
    }

    fn error(&self, call: CallKind, failure: Failure) -> CallError {
        CallError {
            plugin: self.inner.label.clone(),
            call,
            failure,
        }
    }

    fn new_store(&self, kind: CallKind, context: CallContext, seed: u64) -> Store<StoreState> {
        let shared = &self.inner.shared;
        let cpu = match kind {
            CallKind::Describe | CallKind::Validate => self.limits.quick_cpu_time,
            CallKind::Execute | CallKind::RunAction => self.limits.cpu_time,
        };
        let tick = shared.config().epoch_tick;
        let budget = (cpu.as_nanos() / tick.as_nanos().max(1)).max(1) as u64;
        let state = StoreState::new(
            context,
            self.inner.descriptor.clone(),
            self.limits.clone(),
            budget,
            seed,
        );
        let mut store = Store::new(shared.engine(), state);
        store.limiter(|state| &mut state.limiter);
        store.epoch_deadline_callback(move |mut context| {
            let state = context.data_mut();
            state.cpu_ticks += 1;
            if state.cpu_ticks > state.cpu_tick_budget {
                return Err(state.stop(Failure::CpuBudget { limit: cpu }));
            }
            Ok(UpdateDeadline::Yield(1))
        });
        // The deadline must be set before instantiation, or start-up code would trap at once.
        store.set_epoch_deadline(1);
        store
    }

    async fn call(
        &self,
        kind: CallKind,
        request: Request,
        context: CallContext,
        seed: u64,
    ) -> Result<CallOutcome<Response>, CallError> {
        if let Some(reason) = self.health().quarantined {
            return Err(self.error(kind, Failure::Quarantined(reason)));
        }
        let started = Instant::now();
        let cancel = context.cancel.clone();
        let services = context.services.clone();
        let wall = match kind {
            CallKind::Describe | CallKind::Validate => self.limits.quick_wall_time,
            CallKind::Execute | CallKind::RunAction => self.limits.wall_time,
        };
        // Waiting for a slot is the host's queue, not the plugin's time: it is not charged.
        let Ok(_slot) = self.inner.slots.clone().acquire_owned().await else {
            return Err(self.error(kind, Failure::Host("the plugin is shutting down".into())));
        };
        let mut store = self.new_store(kind, context, seed);
        super::returns::know_request_assets(store.data_mut(), &request);
        let grace = self.limits.cancel_grace;
        let contract = &self.inner.contract;
        let stopped = {
            let run = async {
                let live = contract.instantiate(&mut store).await?;
                live.dispatch(&mut store, &request).await
            };
            tokio::select! {
                result = run => Stopped::Finished(result),
                () = tokio::time::sleep(wall) => Stopped::WallTime,
                () = async { cancel.cancelled().await; tokio::time::sleep(grace).await } => Stopped::Cancelled,
            }
        };
        let state = store.data();
        let report = CallReport {
            duration: started.elapsed(),
            cpu_charged: self.inner.shared.config().epoch_tick * state.cpu_ticks as u32,
            peak_memory_bytes: state.limiter.peak,
            output_bytes: state.output_bytes,
        };
        forward_stdio(services.as_ref(), state);
        let result = match stopped {
            Stopped::Finished(Ok(response)) => {
                super::returns::check_response(&response, store.data()).map(|()| response)
            }
            Stopped::Finished(Err(err)) => Err(classify(err, &mut store)),
            Stopped::WallTime => Err(Failure::WallTime { limit: wall }),
            Stopped::Cancelled => Err(Failure::Cancelled { grace }),
        };
        self.record_health(kind, &result);
        match result {
            Ok(value) => Ok(CallOutcome { value, report }),
            Err(failure) => Err(self.error(kind, failure)),
        }
    }

    fn record_health(&self, kind: CallKind, result: &Result<Response, Failure>) {
        let mut health = self.inner.health.lock().expect("health lock");
        let slot = kind as usize;
        match result {
            Err(failure) if failure.is_misbehaviour() => {
                health.by_kind[slot] += 1;
                health.consecutive_failures = health.by_kind[slot];
                let threshold = self.inner.shared.config().quarantine_after;
                if threshold > 0
                    && health.consecutive_failures >= threshold
                    && health.quarantined.is_none()
                {
                    health.quarantined = Some(format!(
                        "{} {kind} calls in a row failed; the last one: {failure}",
                        health.consecutive_failures
                    ));
                    health.since = Some(Instant::now());
                }
            }
            Err(_) => {}
            Ok(_) => {
                health.by_kind[slot] = 0;
                health.consecutive_failures = health.by_kind.iter().copied().max().unwrap_or(0);
            }
        }
    }
}

/// How a call ended, before classification.
enum Stopped {
    Finished(wasmtime::Result<Response>),
    WallTime,
    Cancelled,
}

/// Turns a wasmtime error into the reason the call failed.
fn classify(err: wasmtime::Error, store: &mut Store<StoreState>) -> Failure {
    let state = store.data_mut();
    if let Some(reason) = state.stop_reason.take() {
        return reason;
    }
    if let Some(wanted) = state.limiter.refused {
        return Failure::Memory {
            limit: state.limits.memory_bytes,
            wanted,
        };
    }
    if let Some(Trap::StackOverflow) = err.downcast_ref::<Trap>() {
        return Failure::StackOverflow;
    }
    if let Some(full) = err.downcast_ref::<wasmtime::PoolConcurrencyLimitError>() {
        // The host ran out of instance slots: its fault, never the plugin's.
        return Failure::Host(format!("no instance slot free ({full}); try again shortly"));
    }
    let message = match err.downcast_ref::<Trap>() {
        Some(trap) => trap.to_string(),
        None => format!("{err:#}"),
    };
    Failure::Trap {
        message,
        stderr: tail(&state.stderr.contents(), 600),
    }
}

fn tail(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if text.len() <= max {
        return text.to_string();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &text[start..])
}

fn forward_stdio(services: &dyn crate::plugin::engine::HostServices, state: &StoreState) {
    for (pipe, level) in [
        (&state.stdout, LogLevel::Info),
        (&state.stderr, LogLevel::Warn),
    ] {
        let contents = pipe.contents();
        for line in String::from_utf8_lossy(&contents)
            .lines()
            .filter(|line| !line.trim().is_empty())
        {
            services.log(level, line);
        }
    }
}
