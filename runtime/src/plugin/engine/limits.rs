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
    /// Total bytes of output files one call may write.
    pub output_bytes: u64,
    /// Bytes of stdout and stderr kept per call (the rest is dropped).
    pub stdio_bytes: usize,
    /// How long a cancelled call may run on before it is stopped by force.
    pub cancel_grace: Duration,
    /// Largest HTTP response body a plugin may receive, in bytes.
    pub http_response_bytes: u64,
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
            // 2 GiB: a few minutes of high-quality video.
            output_bytes: 2 << 30,
            // 64 KiB of stdio: enough for panic messages and debugging prints.
            stdio_bytes: 64 << 10,
            // 5 s: a polite plugin notices `is-cancelled` far sooner.
            cancel_grace: Duration::from_secs(5),
            // 512 MiB: a generated video fetched from a backend.
            http_response_bytes: 512 << 20,
        }
    }
}

/// Engine-wide settings, fixed when the engine is created.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Folder for compiled code, keyed by component digest; `None` disables the cache.
    pub cache_dir: Option<std::path::PathBuf>,
    /// How often the epoch advances; the resolution of CPU accounting and of stopping runaways.
    pub epoch_tick: Duration,
    /// Largest wasm call stack in bytes; deeper recursion traps with a stack overflow.
    pub max_wasm_stack: usize,
    /// Default limits of every call.
    pub limits: Limits,
    /// Consecutive misbehaving calls after which a plugin is quarantined.
    pub quarantine_after: u32,
    /// Whether to use the pooling instance allocator (pre-reserved slots).
    pub pooling: Option<PoolingConfig>,
    /// Write `/tmp/perf-<pid>.map` so `perf` names plugin functions (default: on when the
    /// `MDC_PERF_MAP` environment variable is set). Build the component without `strip` to
    /// see Rust function names.
    pub perf_map: bool,
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
            // 5 ms: a runaway is stopped within about two ticks past its budget, and an idle
            // ticker costs 200 wake-ups a second — negligible.
            epoch_tick: Duration::from_millis(5),
            // 1 MiB: generous for real code (wasmtime's default is 512 KiB), still far below
            // the async fiber stack below.
            max_wasm_stack: 1 << 20,
            limits: Limits::default(),
            // 3 in a row: one trap can be bad input, three are a broken plugin.
            quarantine_after: 3,
            // Pre-reserved slots: instantiation without mmap/munmap per call (see BENCHMARKS.md).
            pooling: Some(PoolingConfig::default()),
            perf_map: std::env::var_os("MDC_PERF_MAP").is_some(),
        }
    }
}
