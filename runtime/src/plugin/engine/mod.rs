//! The sandboxed WebAssembly engine: one shared wasmtime `Engine`, compiled-code cache,
//! pre-instantiated components and calls under limits.
//!
//! Invariant: wasmtime and generated binding types stay inside this module; callers see
//! [`PluginEngine`], [`Plugin`] and the runtime's own types.

mod code_cache;
mod contract_glue;
mod contracts;
mod granter;
mod inspect;
mod limits;
mod plugin;
mod requests;
mod returns;
mod services;
mod state;
mod streams;
mod v0_1_0;
mod v0_2_0;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

pub use self::inspect::{ComponentFacts, inspect};
pub use self::limits::{EngineConfig, Limits, PoolingConfig};
pub use self::plugin::{CallOutcome, CallReport, LiveInstance, Plugin, PluginHealth};
pub use self::services::{
    CallContext, Grants, HostServices, InvalidOrigin, NoServices, ServicesLayer,
};
pub use self::streams::{BodyStream, SocketStream};
/// The switch a caller cancels a call with ([`CallContext::cancel`]); re-exported so embeddings
/// need no direct tokio-util dependency.
pub use tokio_util::sync::CancellationToken;

use self::code_cache::CodeCache;
use self::contracts::Contract;
use self::inspect::InspectError;
use self::state::StoreState;
use crate::plugin::descriptor_check::check_descriptor;
use crate::plugin::error::{LoadError, PluginLabel};

/// Contract versions this host loads, oldest first.
pub const SUPPORTED_CONTRACTS: &[&str] = &[v0_1_0::VERSION, v0_2_0::VERSION];

/// Largest component this host compiles: first-party components are a few MB, and compile
/// time and memory grow with size.
pub const MAX_COMPONENT_BYTES: usize = 64 << 20;

/// Core instance (and table) slots the pool keeps per component instance.
const CORE_INSTANCES_PER_COMPONENT: u32 = 4;

/// The engine could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot start the plugin engine: {0}")]
pub struct EngineError(String);

/// The plugin engine, shared by every plugin of a process. Cheap to clone.
#[derive(Clone)]
pub struct PluginEngine {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    engine: Engine,
    linker_v0_1_0: Linker<StoreState>,
    linker_v0_2_0: Linker<StoreState>,
    cache: Option<CodeCache>,
    config: EngineConfig,
    ticker_stop: Arc<AtomicBool>,
    /// The runtime every plugin call runs on (threads `mdc-plugin-N`), so a plugin's CPU work
    /// never holds the caller's threads. Taken only when the engine is dropped.
    calls: Option<tokio::runtime::Runtime>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
        // Without waiting: the last handle may be dropped on an async thread, even on one of
        // the runtime's own threads, where a blocking shutdown would panic.
        if let Some(calls) = self.calls.take() {
            calls.shutdown_background();
        }
    }
}

/// How a component was obtained by [`PluginEngine::load`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeSource {
    /// Compiled now.
    Compiled,
    /// Loaded from the compiled-code cache.
    Cache,
}

impl PluginEngine {
    /// Creates the engine and starts its epoch ticker thread and its plugin threads.
    pub fn new(config: EngineConfig) -> Result<PluginEngine, EngineError> {
        let mut wasm = Config::new();
        wasm.wasm_component_model(true)
            .epoch_interruption(true)
            .max_wasm_stack(config.max_wasm_stack)
            // The fiber stack must hold the wasm stack plus host frames.
            .async_stack_size(config.max_wasm_stack + (1 << 20));
        if config.perf_map {
            wasm.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        if let Some(pooling) = config.pooling {
            let mut pool = PoolingAllocationConfig::default();
            // An SDK-built component instantiates 3 core instances (its module and two
            // canonical-ABI shims, which hold tables); with 2 per slot only 170 of 256
            // components fitted. Core-instance and table slots cost little; memories (the
            // large reservations) stay at 2 per component.
            pool.total_component_instances(pooling.total_instances)
                .total_core_instances(pooling.total_instances * CORE_INSTANCES_PER_COMPONENT)
                .total_memories(pooling.total_instances * 2)
                .total_tables(pooling.total_instances * CORE_INSTANCES_PER_COMPONENT)
                .total_stacks(pooling.total_instances)
                // The memory limit of a call is enforced by our limiter; the slot must hold it.
                .max_memory_size(pooling.max_memory_bytes.max(config.limits.memory_bytes))
                // Reset the first pages of a reused slot with memset instead of madvise, so the
                // next instance does not page-fault its way back into the same memory.
                .linear_memory_keep_resident(pooling.keep_resident_bytes)
                .table_keep_resident(64 << 10)
                .async_stack_keep_resident(256 << 10);
            wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        let engine = Engine::new(&wasm).map_err(|err| EngineError(err.to_string()))?;
        let linker_v0_1_0 = linker(&engine, v0_1_0::add_to_linker)?;
        let linker_v0_2_0 = linker(&engine, v0_2_0::add_to_linker)?;
        let cache = config
            .cache_dir
            .clone()
            .map(|dir| CodeCache::new(dir, &engine, config.cache_bytes));
        let calls = plugin_runtime(config.plugin_threads)
            .map_err(|err| EngineError(format!("plugin threads: {err}")))?;
        let ticker_stop = Arc::new(AtomicBool::new(false));
        start_ticker(engine.weak(), config.epoch_tick, ticker_stop.clone());
        Ok(PluginEngine {
            shared: Arc::new(Shared {
                engine,
                linker_v0_1_0,
                linker_v0_2_0,
                cache,
                config,
                ticker_stop,
                calls: Some(calls),
            }),
        })
    }

    /// The engine's configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.shared.config
    }

    /// Compiles (or loads from the cache), links, describes and checks a component.
    ///
    /// `source_name` (a file name, a package id) is used in error messages until the
    /// descriptor names the plugin.
    pub async fn load(&self, source_name: &str, bytes: &[u8]) -> Result<Plugin, LoadError> {
        let (plugin, _) = self.load_reporting(source_name, bytes).await?;
        Ok(plugin)
    }

    /// Like [`PluginEngine::load`], but also says whether the code came from the cache.
    pub async fn load_reporting(
        &self,
        source_name: &str,
        bytes: &[u8],
    ) -> Result<(Plugin, CodeSource), LoadError> {
        let (component, facts, digest, source) =
            self.compile_off_thread(source_name, bytes).await?;
        let plugin = self
            .instantiate_component(source_name, component, facts, digest)
            .await?;
        Ok((plugin, source))
    }

    /// Reads a component file and loads it.
    pub async fn load_file(&self, path: &std::path::Path) -> Result<Plugin, LoadError> {
        let source_name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|err| LoadError::NotWasm {
            source_name: source_name.clone(),
            reason: format!("cannot read the file: {err}"),
        })?;
        self.load(&source_name, &bytes).await
    }

    /// [`PluginEngine::compile`] on a blocking thread, so compiling never stalls async tasks,
    /// under the engine's compile-time limit. Compiled code is cached only once compilation
    /// succeeded within the limit; a compilation past it runs on to its end on its thread
    /// (wasmtime cannot stop it) and its result is dropped.
    async fn compile_off_thread(
        &self,
        source_name: &str,
        bytes: &[u8],
    ) -> Result<(Component, ComponentFacts, String, CodeSource), LoadError> {
        let engine = self.clone();
        let name = source_name.to_string();
        let bytes = bytes.to_vec();
        let limit = self.shared.config.compile_time;
        let compiling = tokio::task::spawn_blocking(move || engine.compile_uncached(&name, &bytes));
        let compiled = match tokio::time::timeout(limit, compiling).await {
            Ok(Ok(compiled)) => compiled?,
            Ok(Err(join)) => {
                return Err(LoadError::Invalid {
                    source_name: source_name.to_string(),
                    reason: format!("compilation stopped: {join}"),
                });
            }
            Err(_elapsed) => {
                return Err(LoadError::CompileTime {
                    source_name: source_name.to_string(),
                    limit,
                });
            }
        };
        if compiled.3 == CodeSource::Compiled {
            let engine = self.clone();
            let (component, digest) = (compiled.0.clone(), compiled.2.clone());
            // Writing the cache is file I/O: also off the async threads.
            let _ = tokio::task::spawn_blocking(move || engine.store_in_cache(&digest, &component))
                .await;
        }
        Ok(compiled)
    }

    /// Checks and compiles a component without describing it, and caches the compiled code.
    /// Blocking (compilation is CPU work).
    pub fn compile(
        &self,
        source_name: &str,
        bytes: &[u8],
    ) -> Result<(Component, ComponentFacts, String, CodeSource), LoadError> {
        let compiled = self.compile_uncached(source_name, bytes)?;
        if compiled.3 == CodeSource::Compiled {
            self.store_in_cache(&compiled.2, &compiled.0);
        }
        Ok(compiled)
    }

    /// Checks a component, then loads its code from the cache or compiles it; stores nothing.
    fn compile_uncached(
        &self,
        source_name: &str,
        bytes: &[u8],
    ) -> Result<(Component, ComponentFacts, String, CodeSource), LoadError> {
        let source_name = source_name.to_string();
        if bytes.len() > MAX_COMPONENT_BYTES {
            return Err(LoadError::Invalid {
                source_name,
                reason: format!(
                    "the component is {} bytes; at most {MAX_COMPONENT_BYTES} are compiled",
                    bytes.len()
                ),
            });
        }
        let facts = inspect(bytes).map_err(|err| match err {
            InspectError::NotWasm(reason) => LoadError::NotWasm {
                source_name: source_name.clone(),
                reason,
            },
            InspectError::CoreModule => LoadError::CoreModule {
                source_name: source_name.clone(),
            },
            InspectError::Malformed(reason) => LoadError::Invalid {
                source_name: source_name.clone(),
                reason,
            },
            InspectError::TooMuchCode(reason) => LoadError::TooMuchCode {
                source_name: source_name.clone(),
                reason,
            },
        })?;
        match facts.contract_version.as_deref() {
            None => return Err(LoadError::NotANode { source_name }),
            Some(version) if !SUPPORTED_CONTRACTS.contains(&version) => {
                return Err(LoadError::UnsupportedContract {
                    source_name,
                    found: version.to_string(),
                    supported: SUPPORTED_CONTRACTS.join(", "),
                });
            }
            Some(_) => {}
        }
        let digest = hex::encode(Sha256::digest(bytes));
        if let Some(cache) = &self.shared.cache
            && let Some(component) = cache.load(&self.shared.engine, &digest)
        {
            return Ok((component, facts, digest, CodeSource::Cache));
        }
        let component =
            Component::new(&self.shared.engine, bytes).map_err(|err| LoadError::Invalid {
                source_name: source_name.clone(),
                reason: format!("{err:#}"),
            })?;
        Ok((component, facts, digest, CodeSource::Compiled))
    }

    /// Writes compiled code to the cache, if there is one.
    fn store_in_cache(&self, digest: &str, component: &Component) {
        if let Some(cache) = &self.shared.cache
            && let Err((path, err)) = cache.store(digest, component)
        {
            // A cache that cannot be written only costs a recompile next time.
            tracing::warn!(path = %path.display(), %err, "cannot store compiled code");
        }
    }

    async fn instantiate_component(
        &self,
        source_name: &str,
        component: Component,
        facts: ComponentFacts,
        digest: String,
    ) -> Result<Plugin, LoadError> {
        let link_error = |err: wasmtime::Error| LoadError::Link {
            source_name: source_name.to_string(),
            reason: format!("{err:#}"),
        };
        let link =
            |linker: &Linker<StoreState>| linker.instantiate_pre(&component).map_err(link_error);
        let contract = match facts.contract_version.as_deref() {
            Some(v0_1_0::VERSION) => Contract::V0_1_0(
                v0_1_0::Bindings::new(link(&self.shared.linker_v0_1_0)?).map_err(link_error)?,
            ),
            Some(v0_2_0::VERSION) => Contract::V0_2_0(
                v0_2_0::Bindings::new(link(&self.shared.linker_v0_2_0)?).map_err(link_error)?,
            ),
            other => unreachable!("contract {other:?} was accepted by `compile`"),
        };
        let file_label = PluginLabel {
            name: source_name.to_string(),
            version: String::new(),
        };
        let plugin = Plugin::new(self.shared.clone(), contract, facts, digest, file_label);
        let descriptor = plugin.describe().await.map_err(|err| LoadError::Describe {
            source_name: source_name.to_string(),
            source: Box::new(err),
        })?;
        let label = PluginLabel {
            name: descriptor.type_id.clone(),
            version: descriptor.version.clone(),
        };
        let problems = check_descriptor(&descriptor);
        if !problems.is_empty() {
            return Err(LoadError::Descriptor { label, problems });
        }
        Ok(plugin.with_descriptor(descriptor, label))
    }
}

impl Shared {
    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    pub(crate) fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Where plugin calls run.
    pub(crate) fn calls(&self) -> &tokio::runtime::Handle {
        self.calls
            .as_ref()
            .expect("the plugin runtime lives as long as the engine")
            .handle()
    }
}

impl std::fmt::Debug for PluginEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginEngine")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

/// A linker with WASI (which std-built guests import even when unused; a default context
/// grants nothing) and one contract version's imports.
fn linker(
    engine: &Engine,
    add_contract: fn(&mut Linker<StoreState>) -> wasmtime::Result<()>,
) -> Result<Linker<StoreState>, EngineError> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)
        .map_err(|err| EngineError(err.to_string()))?;
    add_contract(&mut linker).map_err(|err| EngineError(err.to_string()))?;
    Ok(linker)
}

/// The multi-thread runtime plugin calls run on: `threads` workers named `mdc-plugin-N`.
fn plugin_runtime(threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .thread_name_fn(move || format!("mdc-plugin-{}", next.fetch_add(1, Ordering::Relaxed)))
        // New calls arrive in the runtime's shared queue; taking them before the next turn of
        // a runaway that just yielded lets an ordinary call start after one poll, not four.
        .global_queue_interval(1)
        .enable_all()
        .build()
}

/// Advances the epoch every `tick` until the engine is dropped.
fn start_ticker(engine: wasmtime::EngineWeak, tick: Duration, stop: Arc<AtomicBool>) {
    let spawned = std::thread::Builder::new()
        .name("mdc-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(tick);
                match engine.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => return,
                }
            }
        });
    if let Err(err) = spawned {
        tracing::error!(%err, "cannot start the epoch ticker; runaway plugins would not be stopped");
    }
}
