//! Resource limits for plugin calls, with the reasoning behind every default.

use std::time::Duration;

/// Limits applied to one call of a plugin export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest linear memory a plugin may grow to, in bytes.
    pub memory_bytes: usize,
    /// CPU time `execute` and `run-action` may use (measured in epoch ticks while the guest runs).
    pub cpu_time: Duration,
    /// CPU time `describe` and `validate` may use: they run on every canvas edit.
    pub quick_cpu_time: Duration,
    /// Wall-clock limit of one call, host calls (HTTP, assets) included.
    pub wall_time: Duration,
    /// Wall-clock limit of `describe` and `validate`, sleeps included.
    pub quick_wall_time: Duration,
    /// Total bytes of output files one call may write.
    pub output_bytes: u64,
    /// Bytes of stdout and stderr kept per call (the rest is dropped, with a marker).
    pub stdio_bytes: usize,
    /// Most output files one call may write.
    pub max_outputs: u32,
    /// Longest log or progress message kept, in bytes (longer ones are cut, with a marker).
    pub message_bytes: usize,
    /// Total bytes of log messages one call may hand the host (the rest is dropped).
    pub log_bytes: usize,
    /// Largest text or JSON value a call may return, in bytes.
    pub value_bytes: usize,
    /// How long a cancelled call may run on before it is stopped by force.
    pub cancel_grace: Duration,
    /// Largest HTTP response body a plugin may receive, in bytes.
    pub http_response_bytes: u64,
    /// Response streams and WebSockets one call may hold open at once.
    pub max_streams: u32,
    /// Total bytes one call may receive over its streams and WebSockets.
    pub stream_bytes: u64,
    /// Longest a plugin may wait on a stream in one read, however long it asks for.
    pub stream_wait: Duration,
    /// Largest preview image, in bytes.
    pub preview_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // 1 GiB: a 4K RGBA frame is 33 MB, so even image plugins that hold several
            // working buffers fit, while a runaway allocation cannot take the host's memory.
            memory_bytes: 1 << 30,
            // 5 min of CPU for real work: the CPU draft renderer needs well under a second,
            // GPU pipelines spend their time waiting in host calls, which are not charged.
            cpu_time: Duration::from_secs(300),
            // 2 s: describe/validate are meant to be instant; anything slower is a bug.
            quick_cpu_time: Duration::from_secs(2),
            // 1 h of wall time: long enough for a high-tier video render on a busy GPU queue.
            wall_time: Duration::from_secs(3600),
            // 5 s: a describe or validate that sleeps must not hold an instance slot for an hour.
            quick_wall_time: Duration::from_secs(5),
            // 2 GiB: a few minutes of high-quality video.
            output_bytes: 2 << 30,
            // 64 KiB of stdio: enough for panic messages and debugging prints.
            stdio_bytes: 64 << 10,
            // 4,096 outputs: a take is a handful of files; a batch of frames, a few hundred.
            max_outputs: 4096,
            // 4 KiB: a readable message is a line or two; progress text goes to the database.
            message_bytes: 4 << 10,
            // 1 MiB of logs per call: plenty to debug, bounded for the terminal and the store.
            log_bytes: 1 << 20,
            // 16 MiB: a breakdown of a feature-length script as JSON is well under 1 MiB.
            value_bytes: 16 << 20,
            // 5 s: a polite plugin notices `is-cancelled` far sooner.
            cancel_grace: Duration::from_secs(5),
            // 512 MiB: a generated video fetched from a backend.
            http_response_bytes: 512 << 20,
            // 8: a job's event socket and a download or two, with room to spare.
            max_streams: 8,
            // 2 GiB: an hour of previews from a video backend, plus the final files.
            stream_bytes: 2 << 30,
            // 10 s: a plugin waiting for a quiet backend wakes up to check for cancellation.
            stream_wait: Duration::from_secs(10),
            // 8 MiB: a 4K JPEG preview is well under this; previews are shown, not kept.
            preview_bytes: 8 << 20,
        }
    }
}

/// The default epoch tick: 5 ms. A runaway is stopped within about two ticks past its
/// budget, and an idle ticker costs 200 wake-ups a second — negligible.
pub const DEFAULT_EPOCH_TICK: Duration = Duration::from_millis(5);

/// Engine-wide settings, fixed when the engine is created.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Folder for compiled code, keyed by component digest; `None` disables the cache.
    pub cache_dir: Option<std::path::PathBuf>,
    /// Most bytes the code cache keeps: past it, the entries used longest ago are removed.
    pub cache_bytes: u64,
    /// How often the epoch advances; the resolution of CPU accounting and of stopping runaways.
    pub epoch_tick: Duration,
    /// Largest wasm call stack in bytes; deeper recursion traps with a stack overflow.
    pub max_wasm_stack: usize,
    /// Default limits of every call.
    pub limits: Limits,
    /// Longest one component may take to compile; past it the load fails and nothing is cached.
    pub compile_time: Duration,
    /// Misbehaving calls of one export in a row, in one scope, after which a plugin is
    /// quarantined in that scope (0: never).
    pub quarantine_after: u32,
    /// How long a quarantine lasts before the plugin serves calls again.
    pub quarantine_for: Duration,
    /// Distinct scopes (`CallContext::scope`: projects, users) a plugin must be quarantined in
    /// before it is refused in every scope; 1 refuses it everywhere at its first quarantine.
    pub quarantine_scopes: u32,
    /// Threads of the engine's own runtime, on which every plugin call runs.
    pub plugin_threads: usize,
    /// Most calls of one plugin running at once; further calls wait for a slot.
    pub max_calls_per_plugin: u32,
    /// Whether to use the pooling instance allocator (pre-reserved slots).
    pub pooling: Option<PoolingConfig>,
    /// Write `/tmp/perf-<pid>.map` so `perf` names plugin functions (default: on when the
    /// `MDC_PERF_MAP` environment variable is set). Build the component without `strip` to
    /// see Rust function names.
    pub perf_map: bool,
}

impl EngineConfig {
    /// Calls of one plugin that may run at once: never more than the pool has slots.
    pub fn calls_per_plugin(&self) -> usize {
        let pool = self
            .pooling
            .map_or(u32::MAX, |pooling| pooling.total_instances);
        self.max_calls_per_plugin.min(pool).max(1) as usize
    }
}

/// Sizes for the pooling allocator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolingConfig {
    /// How many instances may be live at once.
    pub total_instances: u32,
    /// Largest memory of one instance, in bytes (raised to `Limits::memory_bytes` if lower).
    pub max_memory_bytes: usize,
    /// Bytes at the start of each reused memory slot reset with memset rather than returned
    /// to the kernel: saves the page faults of the next instance.
    pub keep_resident_bytes: usize,
}

impl Default for PoolingConfig {
    fn default() -> Self {
        PoolingConfig {
            // 256 calls at once per process: far above the worker slots of one machine, while
            // the address space reserved for the slots stays a small fraction of 128 TiB.
            total_instances: 256,
            max_memory_bytes: Limits::default().memory_bytes,
            // 2 MiB: a Rust plugin's stack, statics and first heap pages.
            keep_resident_bytes: 2 << 20,
        }
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            cache_dir: None,
            // 1 GiB: a first-party component compiles to 2–8 MiB, so this holds hundreds of
            // builds — every version a studio installs over months — before evicting any.
            cache_bytes: 1 << 30,
            epoch_tick: DEFAULT_EPOCH_TICK,
            // 1 MiB: generous for real code (wasmtime's default is 512 KiB), still far below
            // the async fiber stack below.
            max_wasm_stack: 1 << 20,
            limits: Limits::default(),
            // 120 s: first-party components compile in well under 10 s on one core; a component
            // built to make the compiler work for minutes is refused instead of holding a core.
            compile_time: Duration::from_secs(120),
            // 3 in a row: one trap can be bad input, three are a broken plugin.
            quarantine_after: 3,
            // 10 min: long enough to stop a broken plugin from burning a queue's budget, short
            // enough that a burst of bad input does not disable a node type for the day.
            quarantine_for: Duration::from_secs(600),
            // 3 scopes: one project's or user's inputs can break a plugin's calls; the same
            // plugin failing for three of them is broken for everyone.
            quarantine_scopes: 3,
            // One per core: a call is CPU work or waits in a host call, and calls never run
            // on the caller's threads, so the host's own tasks keep theirs.
            plugin_threads: std::thread::available_parallelism().map_or(1, usize::from),
            // 64 of the pool's 256 slots: one plugin (say, 260 sleeping validates) cannot take
            // every slot; the others keep serving.
            max_calls_per_plugin: 64,
            // Pre-reserved slots: instantiation without mmap/munmap per call (see BENCHMARKS.md).
            pooling: Some(PoolingConfig::default()),
            perf_map: std::env::var_os("MDC_PERF_MAP").is_some(),
        }
    }
}
