//! Errors of loading and calling plugins. Every message names the plugin and what it broke.

use std::time::Duration;

use super::descriptor_check::DescriptorProblem;
use super::types::NodeError;

/// Name and version of a plugin, as errors and logs show it: `"shot" 1.2.0`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PluginLabel {
    /// Type id from the descriptor (or the file name before the descriptor is known).
    pub name: String,
    /// Version from the descriptor (empty before it is known).
    pub version: String,
}

impl std::fmt::Display for PluginLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.version.is_empty() {
            write!(f, "plugin {:?}", self.name)
        } else {
            write!(f, "plugin {:?} {}", self.name, self.version)
        }
    }
}

/// Why a component could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The bytes are not WebAssembly at all.
    #[error("{source_name}: not a WebAssembly file ({reason})")]
    NotWasm {
        /// File or label the bytes came from.
        source_name: String,
        /// What the parser saw.
        reason: String,
    },
    /// A core module rather than a component.
    #[error(
        "{source_name}: this is a core WebAssembly module, not a component; build the plugin with \
         `cargo build --target wasm32-wasip2` (or `mdc plugin build`)"
    )]
    CoreModule {
        /// File or label the bytes came from.
        source_name: String,
    },
    /// A component that does not export any node interface.
    #[error(
        "{source_name}: the component exports no `moviedirector:node/node` interface; is it built \
         with mdc-sdk's `export_node!`?"
    )]
    NotANode {
        /// File or label the bytes came from.
        source_name: String,
    },
    /// A component built against a contract version this host does not know.
    #[error(
        "{source_name}: built against contract moviedirector:node@{found}, which this host does \
         not support (supported: {supported}); rebuild it with a matching mdc-sdk or upgrade mdc"
    )]
    UnsupportedContract {
        /// File or label the bytes came from.
        source_name: String,
        /// Version the component exports.
        found: String,
        /// Versions this host supports, comma-separated.
        supported: String,
    },
    /// The component failed validation or compilation.
    #[error("{source_name}: invalid component: {reason}")]
    Invalid {
        /// File or label the bytes came from.
        source_name: String,
        /// Wasmtime's explanation.
        reason: String,
    },
    /// The component holds more code than this host compiles.
    #[error("{source_name}: not compiled: {reason}")]
    TooMuchCode {
        /// File or label the bytes came from.
        source_name: String,
        /// Which bound it passed.
        reason: String,
    },
    /// Compiling the component took longer than the engine's limit.
    #[error("{source_name}: not compiled: compilation took longer than {}", human(*.limit))]
    CompileTime {
        /// File or label the bytes came from.
        source_name: String,
        /// The limit.
        limit: Duration,
    },
    /// The component imports something the host does not provide.
    #[error("{source_name}: cannot be linked: {reason}")]
    Link {
        /// File or label the bytes came from.
        source_name: String,
        /// Wasmtime's explanation.
        reason: String,
    },
    /// `describe` failed.
    #[error("{source_name}: describe failed: {source}")]
    Describe {
        /// File or label the bytes came from.
        source_name: String,
        /// The failed call.
        #[source]
        source: Box<CallError>,
    },
    /// The descriptor breaks the rules.
    #[error("{label}: invalid descriptor: {}", join_problems(.problems))]
    Descriptor {
        /// The plugin.
        label: PluginLabel,
        /// Every broken rule.
        problems: Vec<DescriptorProblem>,
    },
}

fn join_problems(problems: &[DescriptorProblem]) -> String {
    problems
        .iter()
        .map(|p| p.0.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Which export was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// `describe`.
    Describe,
    /// `validate`.
    Validate,
    /// `execute`.
    Execute,
    /// `run-action`.
    RunAction,
}

impl std::fmt::Display for CallKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CallKind::Describe => "describe",
            CallKind::Validate => "validate",
            CallKind::Execute => "execute",
            CallKind::RunAction => "run-action",
        })
    }
}

/// A failed call: which plugin, which export, and why.
#[derive(Debug, thiserror::Error)]
#[error("{plugin}: {call}: {failure}")]
pub struct CallError {
    /// The plugin.
    pub plugin: PluginLabel,
    /// The export.
    pub call: CallKind,
    /// What went wrong.
    pub failure: Failure,
}

/// Why a call failed. All but [`Failure::Reported`] are the host's verdict.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The plugin returned an error itself.
    #[error("{} ({})", .0.message, .0.code.id())]
    Reported(NodeError),
    /// The plugin ran longer than its CPU budget.
    #[error("stopped after using its CPU budget of {}", human(*.limit))]
    CpuBudget {
        /// The budget.
        limit: Duration,
    },
    /// The call took longer than its wall-clock limit.
    #[error("stopped after the wall-clock limit of {}", human(*.limit))]
    WallTime {
        /// The limit.
        limit: Duration,
    },
    /// The plugin tried to grow its memory past the limit.
    #[error("stopped: tried to grow its memory to {wanted} bytes, past the limit of {limit} bytes")]
    Memory {
        /// The limit in bytes.
        limit: usize,
        /// What it asked for.
        wanted: usize,
    },
    /// The plugin's call stack overflowed.
    #[error("stopped: call stack overflow (deep or endless recursion)")]
    StackOverflow,
    /// The plugin wrote more output than allowed.
    #[error("stopped: wrote {attempted} bytes of output, past the limit of {limit} bytes")]
    OutputTooLarge {
        /// The limit in bytes.
        limit: u64,
        /// Total the plugin tried to write.
        attempted: u64,
    },
    /// The plugin wrote more output files than allowed.
    #[error("stopped: tried to write more than {limit} output files")]
    TooManyOutputs {
        /// The most files one call may write.
        limit: u32,
    },
    /// The plugin used a capability it was not granted.
    #[error("stopped: {0}")]
    Capability(String),
    /// The user cancelled and the plugin did not stop within the grace period.
    #[error("cancelled (the plugin did not stop by itself within {}; it was stopped)", human(*.grace))]
    Cancelled {
        /// The grace period.
        grace: Duration,
    },
    /// The plugin trapped (a panic, an out-of-bounds access, …).
    #[error("trapped: {message}{}", last_words(.stderr))]
    Trap {
        /// Wasmtime's description.
        message: String,
        /// The end of what the plugin wrote to stderr (its panic message, usually).
        stderr: String,
    },
    /// The plugin returned something the contract forbids.
    #[error("broke the contract: {0}")]
    Contract(String),
    /// The plugin failed too often and is quarantined.
    #[error("quarantined: {0}")]
    Quarantined(String),
    /// The host itself failed (instantiation, an internal error).
    #[error("host error: {0}")]
    Host(String),
}

impl Failure {
    /// Whether this failure counts toward quarantine (the plugin misbehaved, not the user).
    pub fn is_misbehaviour(&self) -> bool {
        matches!(
            self,
            Failure::CpuBudget { .. }
                | Failure::Memory { .. }
                | Failure::StackOverflow
                | Failure::OutputTooLarge { .. }
                | Failure::TooManyOutputs { .. }
                | Failure::Capability(_)
                | Failure::Trap { .. }
                | Failure::Contract(_)
        )
    }
}

fn last_words(stderr: &str) -> String {
    let trimmed = stderr.trim();
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("; the plugin said: {trimmed}")
    }
}

/// Formats a duration for messages: `30s`, `250ms`.
pub fn human(duration: Duration) -> String {
    if duration.as_millis() >= 1000 && duration.as_millis() % 1000 == 0 {
        format!("{}s", duration.as_secs())
    } else if duration.as_millis() >= 1000 {
        format!("{:.1}s", duration.as_secs_f64())
    } else {
        format!("{}ms", duration.as_millis())
    }
}
