//! A loaded plugin: its descriptor, its pre-instantiated component and the call machinery
//! that runs every export in a fresh instance under limits, on the engine's plugin threads.

mod health;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use wasmtime::{Store, Trap, UpdateDeadline};

use super::Shared;
use super::contracts::{Contract, LiveContract};
use super::inspect::ComponentFacts;
use super::limits::Limits;
use super::requests::{Request, Response};
use super::services::CallContext;
use super::state::StoreState;
use crate::plugin::error::{CallError, CallKind, Failure, PluginLabel};
use crate::plugin::types::{
    ActionInput, Capability, Diagnostic, GraphPatch, LogLevel, NodeDescriptor, NodeInput,
    NodeOutputs,
};

pub use self::health::PluginHealth;
use self::health::{HealthBook, Rules, Verdict};

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
    health: Mutex<HealthBook>,
    /// Calls of this plugin running at once are bounded, so one plugin cannot take every
    /// instance slot of the engine.
    slots: Arc<tokio::sync::Semaphore>,
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
                health: Mutex::new(HealthBook::default()),
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

    /// Health and quarantine state as calls without a scope see it (a quarantine past its
    /// time is lifted here).
    pub fn health(&self) -> PluginHealth {
        self.health_for(None)
    }

    /// Health and quarantine state as calls for `scope` see it (see [`CallContext::scope`]).
    pub fn health_for(&self, scope: Option<&str>) -> PluginHealth {
        let lasts = self.inner.shared.config().quarantine_for;
        self.health_book().view(scope, lasts)
    }

    /// Lifts every quarantine, in every scope (after the operator replaced or inspected the
    /// plugin).
    pub fn release_quarantine(&self) {
        self.health_book().clear();
    }

    fn health_book(&self) -> std::sync::MutexGuard<'_, HealthBook> {
        // The book stays consistent through a panic (every update is a few plain writes).
        self.inner
            .health
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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

    /// Calls `validate` in a fresh instance, for no scope in particular.
    pub async fn validate(&self, input: &NodeInput) -> Result<Vec<Diagnostic>, CallError> {
        self.validate_for(input, None).await
    }

    /// Calls `validate` in a fresh instance for a project or user (see [`CallContext::scope`]),
    /// so one user's inputs that break `validate` quarantine it for that user only.
    pub async fn validate_for(
        &self,
        input: &NodeInput,
        scope: Option<&str>,
    ) -> Result<Vec<Diagnostic>, CallError> {
        let request = Request::Validate(input.clone());
        let context = CallContext {
            scope: scope.map(str::to_string),
            ..CallContext::default()
        };
        let outcome = self
            .call(CallKind::Validate, request, context, input.seed)
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
        let mut state = StoreState::new(
            context,
            self.inner.descriptor.clone(),
            self.limits.clone(),
            budget,
            seed,
        );
        state.host_bytes_per_tick = super::state::host_copy_bytes_per_tick(tick);
        // The most one host call may carry from the guest: a whole output file (which cannot
        // exceed the guest's memory) for real work, a few values' worth for the quick exports.
        let hostcall_bytes = match kind {
            CallKind::Describe | CallKind::Validate => self.limits.value_bytes.saturating_mul(4),
            CallKind::Execute | CallKind::RunAction => self.limits.memory_bytes,
        };
        let mut store = Store::new(shared.engine(), state);
        store.set_hostcall_fuel(hostcall_bytes);
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

    /// Runs a call on the engine's plugin threads, never on the caller's: a plugin that burns
    /// CPU (or copies large host-call answers) holds those threads, not the caller's network
    /// tasks. Dropping the returned future stops the call.
    async fn call(
        &self,
        kind: CallKind,
        request: Request,
        context: CallContext,
        seed: u64,
    ) -> Result<CallOutcome<Response>, CallError> {
        let lasts = self.inner.shared.config().quarantine_for;
        if let Some(reason) = self.health_book().refusal(context.scope.as_deref(), lasts) {
            return Err(self.error(kind, Failure::Quarantined(reason)));
        }
        let plugin = self.clone();
        let task = self
            .inner
            .shared
            .calls()
            .spawn(async move { plugin.run(kind, request, context, seed).await });
        match AbortOnDrop(task).await {
            Ok(answer) => answer,
            Err(stopped) => match stopped.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(stopped) => Err(self.error(
                    kind,
                    Failure::Host(format!("the plugin threads stopped the call: {stopped}")),
                )),
            },
        }
    }

    /// The call itself: a fresh instance, the export, the checks and the bookkeeping.
    async fn run(
        &self,
        kind: CallKind,
        request: Request,
        context: CallContext,
        seed: u64,
    ) -> Result<CallOutcome<Response>, CallError> {
        let started = Instant::now();
        let scope = context.scope.clone();
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
        let verdict = match &result {
            Ok(_) => Verdict::Served,
            Err(failure) if failure.is_misbehaviour() => Verdict::Misbehaved(failure),
            Err(_) => Verdict::NotCounted,
        };
        let config = self.inner.shared.config();
        let rules = Rules {
            after: config.quarantine_after,
            lasts: config.quarantine_for,
            scopes: config.quarantine_scopes,
        };
        self.health_book()
            .record(scope.as_deref(), kind, verdict, rules);
        match result {
            Ok(value) => Ok(CallOutcome { value, report }),
            Err(failure) => Err(self.error(kind, failure)),
        }
    }
}

/// A call spawned on the plugin threads, stopped when its caller stops waiting for it (the
/// task is aborted at its next yield: an epoch tick or a host call).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;
    use crate::plugin::engine::{EngineConfig, PluginEngine};

    #[tokio::test]
    async fn spawned_calls_run_on_the_plugin_threads() {
        let engine = PluginEngine::new(EngineConfig {
            plugin_threads: 2,
            ..EngineConfig::default()
        })
        .unwrap();
        let name = engine
            .shared
            .calls()
            .spawn(async { std::thread::current().name().map(str::to_string) })
            .await
            .unwrap();
        assert!(name.is_some_and(|name| name.starts_with("mdc-plugin-")));
    }

    #[tokio::test]
    async fn an_engine_dropped_on_its_own_plugin_thread_shuts_down_without_panicking() {
        let engine = PluginEngine::new(EngineConfig::default()).unwrap();
        let calls = engine.shared.calls().clone();
        let dropped = calls.spawn(async move { drop(engine) });
        // The runtime stops under the task that dropped it, which may end it before it reports.
        let _ = dropped.await;
    }

    #[tokio::test]
    async fn a_call_whose_caller_stops_waiting_is_stopped() {
        struct SetOnDrop(Arc<AtomicBool>);
        impl Drop for SetOnDrop {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let engine = PluginEngine::new(EngineConfig::default()).unwrap();
        let stopped = Arc::new(AtomicBool::new(false));
        let guard = SetOnDrop(stopped.clone());
        let call = AbortOnDrop(engine.shared.calls().spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await
        }));
        let waited = tokio::time::timeout(Duration::from_millis(20), call).await;
        assert!(waited.is_err(), "the call never ends by itself");
        let deadline = Instant::now() + Duration::from_secs(5);
        while !stopped.load(Ordering::SeqCst) {
            assert!(Instant::now() < deadline, "the call still runs");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}
