//! Node plugins: the contract's types, descriptor rules, errors and the sandboxed engine.

pub mod descriptor_check;
pub mod engine;
pub mod error;
pub mod http_rules;
pub mod printable;
pub mod types;

pub use descriptor_check::{DescriptorProblem, check_descriptor, check_value};
pub use engine::{
    BodyStream, CallContext, CallOutcome, CallReport, CancellationToken, CodeSource, EngineConfig,
    Grants, HostServices, InvalidOrigin, Limits, LiveInstance, NoServices, Plugin, PluginEngine,
    PluginHealth, PoolingConfig, SUPPORTED_CONTRACTS, ServicesLayer, SocketStream,
};
pub use error::{CallError, CallKind, Failure, LoadError, PluginLabel};
