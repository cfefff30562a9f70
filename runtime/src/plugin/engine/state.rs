//! The data each call's `Store` holds: WASI context, limits bookkeeping and the call context.

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::limits::{DEFAULT_EPOCH_TICK, Limits};
use super::services::CallContext;
use crate::plugin::error::Failure;
use crate::plugin::types::NodeDescriptor;

/// Per-call store data. Created fresh for every call and dropped after it.
pub struct StoreState {
    wasi: WasiCtx,
    table: ResourceTable,
    /// Memory accounting and the memory limit.
    pub limiter: MemoryLimiter,
    /// The caller's services, grants and cancellation switch.
    pub context: CallContext,
    /// The plugin's descriptor (`None` while `describe` itself runs).
    pub descriptor: Option<Arc<NodeDescriptor>>,
    /// Limits of this call.
    pub limits: Limits,
    /// When the call began.
    pub started: std::time::Instant,
    /// Epoch ticks the guest has used so far.
    pub cpu_ticks: u64,
    /// Ticks allowed before the call is stopped.
    pub cpu_tick_budget: u64,
    /// Bytes host calls copied into or out of the guest so far (charged as CPU ticks).
    pub host_bytes: u64,
    /// Bytes of host copying charged as one CPU tick (see [`host_copy_bytes_per_tick`]); set
    /// for the default epoch tick, to be set again for an engine with another tick.
    pub host_bytes_per_tick: u64,
    /// Bytes of output written so far.
    pub output_bytes: u64,
    /// Output files written so far.
    pub outputs_written: u32,
    /// Bytes of log messages handed to the host so far.
    pub log_bytes: usize,
    /// Whether the "further logs dropped" marker was sent.
    pub logs_dropped: bool,
    /// Asset ids this call may return: those it wrote, read, or was given.
    pub known_assets: HashSet<String>,
    /// The host-side reason the call was stopped, when a host function trapped on purpose.
    pub stop_reason: Option<Failure>,
    /// Open streams and bytes received over them.
    pub live: super::streams::LiveState,
    /// Captured stdout.
    pub stdout: CappedPipe,
    /// Captured stderr.
    pub stderr: CappedPipe,
}

impl StoreState {
    /// Fresh state for one call. WASI gets no files, no environment, no network, a seeded
    /// random source and a frozen wall clock, so a call is reproducible from its inputs.
    pub fn new(
        context: CallContext,
        descriptor: Option<Arc<NodeDescriptor>>,
        limits: Limits,
        cpu_tick_budget: u64,
        seed: u64,
    ) -> StoreState {
        let stdout = CappedPipe::new(limits.stdio_bytes);
        let stderr = CappedPipe::new(limits.stdio_bytes);
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .secure_random(SeededRandom::new(seed))
            .insecure_random(SeededRandom::new(seed ^ 0x9e37_79b9_7f4a_7c15))
            .insecure_random_seed(u128::from(seed))
            .wall_clock(FrozenClock)
            .allow_blocking_current_thread(false)
            .build();
        StoreState {
            wasi,
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(limits.memory_bytes),
            context,
            descriptor,
            limits,
            started: std::time::Instant::now(),
            cpu_ticks: 0,
            cpu_tick_budget,
            host_bytes: 0,
            host_bytes_per_tick: host_copy_bytes_per_tick(DEFAULT_EPOCH_TICK),
            output_bytes: 0,
            outputs_written: 0,
            log_bytes: 0,
            logs_dropped: false,
            known_assets: HashSet::new(),
            stop_reason: None,
            live: Default::default(),
            stdout,
            stderr,
        }
    }

    /// Charges host work that copies `bytes` into or out of the guest (an asset read, an
    /// output write, an HTTP body) as CPU ticks, so a plugin that keeps the host copying for
    /// it spends its CPU budget as if it copied itself. Fractions of a tick add up over calls.
    /// A call past its budget is stopped at the next tick it runs.
    pub fn charge_host_bytes(&mut self, bytes: usize) {
        let per_tick = self.host_bytes_per_tick.max(1);
        let before = self.host_bytes / per_tick;
        self.host_bytes = self.host_bytes.saturating_add(bytes as u64);
        self.cpu_ticks = self
            .cpu_ticks
            .saturating_add(self.host_bytes / per_tick - before);
    }

    /// A message cut to the message limit on a character boundary, with a marker when cut.
    pub fn cut_message(&self, message: &str) -> String {
        let limit = self.limits.message_bytes;
        if message.len() <= limit {
            return message.to_string();
        }
        let mut end = limit;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        format!(
            "{}… [{} more bytes cut]",
            &message[..end],
            message.len() - end
        )
    }

    /// The log message to hand the host, or `None` once the call's log budget is spent (the
    /// first message past it becomes a marker saying so).
    pub fn admit_log(&mut self, message: &str) -> Option<String> {
        if self.logs_dropped {
            return None;
        }
        let message = self.cut_message(message);
        if self.log_bytes + message.len() > self.limits.log_bytes {
            self.logs_dropped = true;
            return Some(format!(
                "[further log messages dropped: a call may log {} bytes]",
                self.limits.log_bytes
            ));
        }
        self.log_bytes += message.len();
        Some(message)
    }

    /// Records why the host stops the call and returns the trap to raise.
    pub fn stop(&mut self, failure: Failure) -> wasmtime::Error {
        let message = failure.to_string();
        self.stop_reason = Some(failure);
        wasmtime::Error::msg(message)
    }
}

/// Rate at which host copying is charged: 1 GiB/s. A plain memcpy of large buffers runs at
/// 5–15 GB/s, but each byte a host call hands over is copied at least twice (by the services
/// and across the component boundary, where fresh guest pages also fault in), so a host copy
/// costs the host about what this rate says — never much less.
pub const HOST_COPY_BYTES_PER_SECOND: u64 = 1 << 30;

/// Bytes of host copying charged as one epoch tick of `tick`.
pub fn host_copy_bytes_per_tick(tick: Duration) -> u64 {
    ((u128::from(HOST_COPY_BYTES_PER_SECOND) * tick.as_nanos()) / 1_000_000_000).max(1) as u64
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Tracks memory growth over every linear memory of the instance together (a component may
/// hold several core modules, each with its own memory), refuses growth past the limit and
/// remembers the peak.
#[derive(Debug)]
pub struct MemoryLimiter {
    limit: usize,
    /// Bytes of all linear memories together.
    total: usize,
    /// Largest total seen, in bytes.
    pub peak: usize,
    /// The size asked for when the limit was hit.
    pub refused: Option<usize>,
}

impl MemoryLimiter {
    fn new(limit: usize) -> MemoryLimiter {
        MemoryLimiter {
            limit,
            total: 0,
            peak: 0,
            refused: None,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = (self.total - current.min(self.total)).saturating_add(desired);
        if total > self.limit {
            self.refused = Some(total);
            return Err(wasmtime::Error::msg(format!(
                "memory limit of {} bytes exceeded (wanted {total} over all memories)",
                self.limit
            )));
        }
        self.total = total;
        self.peak = self.peak.max(total);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // 1M table entries (function pointers) is far beyond any real plugin.
        Ok(desired <= 1 << 20)
    }
}

/// A deterministic random source (splitmix64) seeded per call.
struct SeededRandom(u64);

impl SeededRandom {
    fn new(seed: u64) -> SeededRandom {
        SeededRandom(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl rand_core::TryRng for SeededRandom {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok((self.next() >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(self.next())
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dest.chunks_mut(8) {
            let bytes = self.next().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

/// A wall clock stopped at the Unix epoch: plugins cannot make outputs depend on the time.
struct FrozenClock;

impl wasmtime_wasi::HostWallClock for FrozenClock {
    fn resolution(&self) -> std::time::Duration {
        std::time::Duration::from_secs(1)
    }

    fn now(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}

/// Captured stdout or stderr: keeps the first `capacity` bytes and accepts the rest without
/// keeping it, so a chatty plugin is truncated (with a marker) instead of trapping.
#[derive(Debug, Clone)]
pub struct CappedPipe {
    capacity: usize,
    inner: Arc<Mutex<Captured>>,
}

#[derive(Debug, Default)]
struct Captured {
    kept: Vec<u8>,
    dropped: u64,
}

impl CappedPipe {
    fn new(capacity: usize) -> CappedPipe {
        CappedPipe {
            capacity,
            inner: Arc::default(),
        }
    }

    fn accept(&self, bytes: &[u8]) {
        let mut captured = self.inner.lock().expect("stdio lock");
        let room = self.capacity.saturating_sub(captured.kept.len());
        let kept = bytes.len().min(room);
        captured.kept.extend_from_slice(&bytes[..kept]);
        captured.dropped += (bytes.len() - kept) as u64;
    }

    /// What was kept, followed by a line saying how much was dropped, if anything was.
    pub fn contents(&self) -> Vec<u8> {
        let captured = self.inner.lock().expect("stdio lock");
        let mut contents = captured.kept.clone();
        if captured.dropped > 0 {
            contents.extend_from_slice(
                format!(
                    "\n[{} more bytes dropped: output is kept up to {} bytes per call]\n",
                    captured.dropped, self.capacity
                )
                .as_bytes(),
            );
        }
        contents
    }
}

#[async_trait::async_trait]
impl Pollable for CappedPipe {
    async fn ready(&mut self) {}
}

#[async_trait::async_trait]
impl OutputStream for CappedPipe {
    fn write(&mut self, bytes: bytes::Bytes) -> Result<(), StreamError> {
        self.accept(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 << 10)
    }
}

impl tokio::io::AsyncWrite for CappedPipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.accept(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl IsTerminal for CappedPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedPipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_limited_over_all_memories_together() {
        let mut limiter = MemoryLimiter::new(100);
        assert!(limiter.memory_growing(0, 60, None).is_ok());
        // A second memory of the same instance: 60 + 50 would pass the limit.
        assert!(limiter.memory_growing(0, 50, None).is_err());
        assert_eq!(limiter.refused, Some(110));
        assert!(limiter.memory_growing(0, 40, None).is_ok());
        assert_eq!(limiter.peak, 100);
    }

    /// Instantiates a component of two core modules with a 40 MiB memory each under a
    /// memory limit, through a store whose limiter is the call's.
    fn instantiate_two_memories(limit: usize) -> (wasmtime::Result<()>, MemoryLimiter) {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        let engine = wasmtime::Engine::new(&config).unwrap();
        let bytes = wat::parse_str(
            "(component
                (core module $a (memory 640))
                (core module $b (memory 640))
                (core instance (instantiate $a))
                (core instance (instantiate $b)))",
        )
        .unwrap();
        let component = wasmtime::component::Component::new(&engine, &bytes).unwrap();
        let limits = Limits {
            memory_bytes: limit,
            ..Limits::default()
        };
        let state = StoreState::new(CallContext::default(), None, limits, 1, 0);
        let mut store = wasmtime::Store::new(&engine, state);
        store.limiter(|state| &mut state.limiter);
        let linker = wasmtime::component::Linker::new(&engine);
        let result = linker.instantiate(&mut store, &component).map(|_| ());
        (result, store.into_data().limiter)
    }

    #[test]
    fn memories_of_several_core_modules_are_limited_together_at_instantiation() {
        // Each memory alone fits 64 MiB; both together do not.
        let (refused, limiter) = instantiate_two_memories(64 << 20);
        let err = refused.unwrap_err();
        assert_eq!(limiter.refused, Some(80 << 20));
        assert!(
            format!("{err:#}").contains("memory limit of 67108864 bytes exceeded"),
            "{err:#}"
        );
        let (fits, limiter) = instantiate_two_memories(100 << 20);
        fits.unwrap();
        assert_eq!(limiter.peak, 80 << 20);
    }

    #[test]
    fn host_copying_is_charged_in_ticks_and_fractions_add_up() {
        let mut state = StoreState::new(CallContext::default(), None, Limits::default(), 10, 0);
        let per_tick = host_copy_bytes_per_tick(DEFAULT_EPOCH_TICK);
        assert_eq!(per_tick, 5_368_709, "1 GiB/s over 5 ms");
        state.charge_host_bytes(per_tick as usize / 2);
        assert_eq!(state.cpu_ticks, 0);
        state.charge_host_bytes(per_tick as usize / 2 + 1);
        assert_eq!(state.cpu_ticks, 1);
        state.charge_host_bytes(10 * per_tick as usize);
        assert_eq!(state.cpu_ticks, 11);
    }

    #[test]
    fn a_capped_pipe_keeps_the_start_and_counts_the_rest() {
        let pipe = CappedPipe::new(4);
        pipe.accept(b"abcdef");
        pipe.accept(b"gh");
        let text = String::from_utf8(pipe.contents()).unwrap();
        assert!(text.starts_with("abcd\n[4 more bytes dropped"), "{text}");
    }
}
