//! Production: from "Generate" on nodes to stored takes, on the store's queue.
//!
//! - [`PluginSet`] holds the loaded node types, one component per type id, loaded
//!   concurrently from [`PluginFolders`] (first-party node types win over installed ones).
//! - [`WorkerPool`] runs in-process workers that claim executions from the store's queue —
//!   the same queue remote `mdc worker` processes will claim from — one set per tier, each
//!   under its [`TierQueue`] (concurrency, timeout, batch, pipeline origins).
//! - [`Generator`] stores a generation ([`mdc_runtime::schedule::Plan`]'s steps and their
//!   dependencies); its driver advances every running generation from the store's events,
//!   serving what the result cache has and queueing each step once its own inputs are done.

mod driver;
mod generator;
mod plugin_files;
mod plugin_set;
mod services;
#[cfg(test)]
mod testing;
mod tiers;
mod worker;

pub use generator::{
    GenerateError, GenerateEvent, GenerateReport, GenerateRequest, Generator, NodeResult,
};
pub use plugin_files::{FileProblem, Origin, PluginFile, PluginFolders};
pub use plugin_set::{
    LoadPolicy, LoadWarning, LoadedPlugins, NotInstalled, PluginSet, ShadowReason, Source,
};
pub use tiers::{BadPipelineOrigin, TierQueue};
pub use worker::WorkerPool;

/// The JSON kept as an execution's request: the node input and the plugin build that
/// serves it.
pub(crate) fn request_json(
    plugin: &mdc_runtime::plugin::Plugin,
    input: &mdc_runtime::plugin::types::NodeInput,
) -> Result<String, mdc_wire::EncodeError> {
    let build = mdc_wire::PluginBuild {
        type_id: plugin.descriptor().type_id.clone(),
        version: plugin.descriptor().version.clone(),
        digest: plugin.digest().to_string(),
    };
    Ok(mdc_wire::ExecutionRequest::new(build, input)?.to_json())
}
