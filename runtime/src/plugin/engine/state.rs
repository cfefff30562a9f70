//! The data each call's `Store` holds: WASI context, limits bookkeeping and the call context.

use std::sync::Arc;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::limits::Limits;
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
    /// Epoch ticks the guest has used so far.
    pub cpu_ticks: u64,
    /// Ticks allowed before the call is stopped.
    pub cpu_tick_budget: u64,
    /// Bytes of output written so far.
    pub output_bytes: u64,
    /// The host-side reason the call was stopped, when a host function trapped on purpose.
    pub stop_reason: Option<Failure>,
    /// Captured stdout.
    pub stdout: MemoryOutputPipe,
    /// Captured stderr.
    pub stderr: MemoryOutputPipe,
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
        let stdout = MemoryOutputPipe::new(limits.stdio_bytes);
        let stderr = MemoryOutputPipe::new(limits.stdio_bytes);
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
            cpu_ticks: 0,
            cpu_tick_budget,
            output_bytes: 0,
            stop_reason: None,
            stdout,
            stderr,
        }
    }

    /// Records why the host stops the call and returns the trap to raise.
    pub fn stop(&mut self, failure: Failure) -> wasmtime::Error {
        let message = failure.to_string();
        self.stop_reason = Some(failure);
        wasmtime::Error::msg(message)
    }
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Tracks memory growth, refuses growth past the limit and remembers the peak.
#[derive(Debug)]
pub struct MemoryLimiter {
    limit: usize,
    /// Largest memory size seen, in bytes.
    pub peak: usize,
    /// The size asked for when the limit was hit.
    pub refused: Option<usize>,
}

impl MemoryLimiter {
    fn new(limit: usize) -> MemoryLimiter {
        MemoryLimiter {
            limit,
            peak: 0,
            refused: None,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.refused = Some(desired);
            return Err(wasmtime::Error::msg(format!(
                "memory limit of {} bytes exceeded (wanted {desired})",
                self.limit
            )));
        }
        self.peak = self.peak.max(desired);
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
