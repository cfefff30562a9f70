//! Per-tier queues: how many executions of a tier run at once in this process, how long one
//! may take, how many a worker claims at a time, and which backends its plugins may reach.

use std::time::Duration;

use mdc_runtime::plugin::Grants;
use mdc_runtime::plugin::types::{NodeDescriptor, TierEstimate};
use mdc_store::Tier;
use serde_json::json;

/// One tier's queue as this process serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierQueue {
    /// The tier (each has its own queue in the store).
    pub tier: Tier,
    /// Executions of this tier running at once in this process.
    pub concurrency: usize,
    /// Wall-time limit of one execution, waiting on a backend included.
    pub timeout: Duration,
    /// Most executions a worker claims in one go: many for short CPU jobs (fewer round trips
    /// to the store; a worker starts at one and grows its claims while work keeps coming and
    /// a batch stays short), one for GPU jobs (so a free worker elsewhere can take the next).
    pub claim_batch: usize,
    /// Origins (`http://gpu-1:8188`) the plugins of this tier may reach: its pipelines.
    pub http_origins: Vec<String>,
}

impl TierQueue {
    /// Defaults: Draft runs on every core with short jobs batched; Production and Premium
    /// run one job per GPU backend at a time with long timeouts.
    pub fn defaults(tier: Tier) -> TierQueue {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        match tier {
            Tier::Low => TierQueue {
                tier,
                concurrency: cores,
                timeout: Duration::from_secs(120),
                claim_batch: 64,
                http_origins: Vec::new(),
            },
            Tier::Standard => TierQueue {
                tier,
                concurrency: 2,
                timeout: Duration::from_secs(30 * 60),
                claim_batch: 1,
                http_origins: Vec::new(),
            },
            Tier::High => TierQueue {
                tier,
                concurrency: 1,
                timeout: Duration::from_secs(60 * 60),
                claim_batch: 1,
                http_origins: Vec::new(),
            },
        }
    }

    /// The same queue with another concurrency (at least 1).
    pub fn with_concurrency(mut self, concurrency: usize) -> TierQueue {
        self.concurrency = concurrency.max(1);
        self
    }

    /// The outbound-HTTP grants of this tier; a malformed origin is a configuration error.
    pub fn grants(&self) -> Result<Grants, BadPipelineOrigin> {
        let mut grants = Grants::none();
        for origin in &self.http_origins {
            grants = grants
                .allow_origin(origin)
                .map_err(|origin| BadPipelineOrigin {
                    tier: self.tier,
                    origin,
                })?;
        }
        Ok(grants)
    }
}

/// A tier's pipeline origin that is not an origin: a configuration error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {} tier's pipeline origin is invalid: {origin}", tier.as_str())]
pub struct BadPipelineOrigin {
    /// The tier configured with it.
    pub tier: Tier,
    /// The origin and why it is not one.
    pub origin: mdc_runtime::plugin::InvalidOrigin,
}

/// The plugin's declared estimate for `tier`, if it supports it.
pub fn estimate_for(descriptor: &NodeDescriptor, tier: Tier) -> Option<&TierEstimate> {
    descriptor
        .tiers
        .iter()
        .find(|t| t.tier.id() == tier.as_str())
}

/// The usage recorded on an execution: measured figures plus the tier's estimate, whose
/// `cost_milli` is what the run is charged (a run that started costs even if it failed).
pub fn usage_json(
    estimate: Option<&TierEstimate>,
    wall: Duration,
    measured: Option<&mdc_runtime::plugin::CallReport>,
) -> String {
    let mut usage = json!({
        "ms": wall.as_secs_f64() * 1000.0,
        "cost_milli": estimate.map_or(0, |e| e.cost_milli),
    });
    if let Some(estimate) = estimate {
        usage["estimate"] = json!({
            "seconds": estimate.seconds,
            "gpu_memory_mib": estimate.gpu_memory_mib,
            "cost_milli": estimate.cost_milli,
        });
    }
    if let Some(report) = measured {
        usage["cpu_ms"] = json!(report.cpu_charged.as_millis() as u64);
        usage["peak_memory_bytes"] = json!(report.peak_memory_bytes);
        usage["output_bytes"] = json!(report.output_bytes);
    }
    usage.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_batch_cpu_jobs_and_not_gpu_jobs() {
        assert!(TierQueue::defaults(Tier::Low).claim_batch > 1);
        assert_eq!(TierQueue::defaults(Tier::High).claim_batch, 1);
        assert!(TierQueue::defaults(Tier::High).timeout > TierQueue::defaults(Tier::Low).timeout);
        assert_eq!(
            TierQueue::defaults(Tier::Low)
                .with_concurrency(0)
                .concurrency,
            1
        );
    }

    #[test]
    fn bad_origins_are_reported_with_their_tier() {
        let mut queue = TierQueue::defaults(Tier::Standard);
        queue.http_origins = vec!["http://127.0.0.1:8188".into()];
        assert!(
            queue
                .grants()
                .unwrap()
                .allows_origin("http://127.0.0.1:8188")
        );
        queue.http_origins.push("not a url".into());
        let err = queue.grants().unwrap_err().to_string();
        assert!(err.contains("standard tier"), "{err}");
        assert!(err.contains("\"not a url\" is not an origin"), "{err}");
    }
}
