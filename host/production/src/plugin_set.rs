//! The node types a production can use, loaded from component folders.
//!
//! One component serves each type id. Which one, when several declare the same type:
//! - a first-party component wins over an installed one, whatever their versions, unless
//!   the operator allows overrides ([`LoadPolicy::allow_override`]), in which case the
//!   installed one wins — so a third-party file declaring `script` 99.0.0 cannot quietly
//!   receive the screenplay;
//! - between components of the same origin, the higher version wins.
//!
//! Every component left out this way is reported ([`LoadWarning`]); nothing is shadowed
//! silently.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mdc_runtime::graph::DescriptorCatalog;
use mdc_runtime::plugin::{Plugin, PluginEngine};

use super::plugin_files::{FileProblem, Origin, PluginFile, PluginFolders, load_files};

/// A node type no loaded plugin serves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no plugin for node type {type_id:?} is installed (installed: {installed})")]
pub struct NotInstalled {
    /// The node type asked for.
    pub type_id: String,
    /// The node types that are installed, comma-separated.
    pub installed: String,
}

/// How plugins are loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadPolicy {
    /// How long one component may take to load before it is skipped.
    pub load_timeout: Duration,
    /// Whether an installed component replaces a first-party one with the same type id.
    pub allow_override: bool,
}

impl Default for LoadPolicy {
    /// 60 s per component (a cold compile of the largest first-party node takes a few
    /// seconds on a quiet small machine, and all components compile at once, sharing its
    /// cores), first-party node types win.
    fn default() -> LoadPolicy {
        LoadPolicy {
            load_timeout: Duration::from_secs(60),
            allow_override: false,
        }
    }
}

/// Something about loading the operator should see.
#[derive(Debug, Clone)]
pub enum LoadWarning {
    /// A file gave no plugin.
    Skipped {
        /// The file (or the folder that could not be read).
        path: PathBuf,
        /// Why.
        problem: FileProblem,
    },
    /// A component was left out because another one serves its type id.
    Shadowed {
        /// The component left out.
        ignored: Source,
        /// The component serving the type.
        used: Source,
        /// Why the used one won.
        reason: ShadowReason,
    },
}

/// Why one component serves a type id instead of another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShadowReason {
    /// First-party node types win over installed ones.
    FirstPartyWins,
    /// The operator allowed installed plugins to replace first-party node types.
    OverrideAllowed,
    /// Same origin: the higher version wins.
    NewerVersion,
}

/// A component and where it came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Its type id.
    pub type_id: String,
    /// Its version.
    pub version: String,
    /// Its file.
    pub path: PathBuf,
    /// The kind of folder it is in.
    pub origin: Origin,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} node type {:?} {} ({})",
            self.origin.name(),
            self.type_id,
            self.version,
            self.path.display()
        )
    }
}

impl fmt::Display for LoadWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadWarning::Skipped { path, problem } => {
                write!(f, "plugin {} skipped: {problem}", path.display())
            }
            LoadWarning::Shadowed {
                ignored,
                used,
                reason,
            } => {
                let why = match reason {
                    ShadowReason::FirstPartyWins => "first-party node types win",
                    ShadowReason::OverrideAllowed => {
                        "installed plugins may override first-party ones"
                    }
                    ShadowReason::NewerVersion => "the newer version wins",
                };
                write!(
                    f,
                    "{ignored} is not used: {used} serves {:?} ({why})",
                    used.type_id
                )
            }
        }
    }
}

/// What loading the folders gave.
pub struct LoadedPlugins {
    /// The node types to use.
    pub set: PluginSet,
    /// Every component file, in folder and name order, with what loading it gave.
    pub files: Vec<PluginFile>,
    /// Files skipped and components shadowed.
    pub warnings: Vec<LoadWarning>,
}

/// Loaded plugins by type id, each with where it came from.
#[derive(Clone, Default)]
pub struct PluginSet {
    by_type: BTreeMap<String, (Plugin, Source)>,
}

impl PluginSet {
    /// Loads every `.wasm` file of the folders concurrently (each under
    /// [`LoadPolicy::load_timeout`]) and chooses one component per type id. Broken, slow
    /// and shadowed files are reported in [`LoadedPlugins::warnings`] (and logged).
    pub async fn load(
        engine: &PluginEngine,
        folders: &PluginFolders,
        policy: &LoadPolicy,
    ) -> LoadedPlugins {
        let files = load_files(engine, folders, policy.load_timeout).await;
        let (set, warnings) = PluginSet::from_files(&files, policy);
        for warning in &warnings {
            tracing::warn!("{warning}");
        }
        LoadedPlugins {
            set,
            files,
            warnings,
        }
    }

    /// The set the loaded files make under `policy`, and what was left out.
    pub fn from_files(files: &[PluginFile], policy: &LoadPolicy) -> (PluginSet, Vec<LoadWarning>) {
        let mut set = PluginSet::default();
        let mut warnings = Vec::new();
        for file in files {
            match &file.loaded {
                Ok(plugin) => {
                    let source = Source {
                        type_id: plugin.descriptor().type_id.clone(),
                        version: plugin.descriptor().version.clone(),
                        path: file.path.clone(),
                        origin: file.origin,
                    };
                    if let Some(warning) = set.insert(plugin.clone(), source, policy) {
                        warnings.push(warning);
                    }
                }
                Err(problem) => warnings.push(LoadWarning::Skipped {
                    path: file.path.clone(),
                    problem: problem.clone(),
                }),
            }
        }
        (set, warnings)
    }

    /// Adds a plugin unless the one serving its type wins over it (see the module docs);
    /// returns the warning naming the one left out.
    fn insert(
        &mut self,
        plugin: Plugin,
        source: Source,
        policy: &LoadPolicy,
    ) -> Option<LoadWarning> {
        let Some((_, existing)) = self.by_type.get(&source.type_id) else {
            self.by_type
                .insert(source.type_id.clone(), (plugin, source));
            return None;
        };
        let (new_wins, reason) = if existing.origin == source.origin {
            (
                version(&source) > version(existing),
                ShadowReason::NewerVersion,
            )
        } else if policy.allow_override {
            (
                source.origin == Origin::Installed,
                ShadowReason::OverrideAllowed,
            )
        } else {
            (
                source.origin == Origin::FirstParty,
                ShadowReason::FirstPartyWins,
            )
        };
        if new_wins {
            let type_id = source.type_id.clone();
            let replaced = self.by_type.insert(type_id, (plugin, source.clone()));
            replaced.map(|(_, ignored)| LoadWarning::Shadowed {
                ignored,
                used: source,
                reason,
            })
        } else {
            Some(LoadWarning::Shadowed {
                ignored: source,
                used: existing.clone(),
                reason,
            })
        }
    }

    /// The plugin serving a type.
    pub fn get(&self, type_id: &str) -> Option<&Plugin> {
        self.by_type.get(type_id).map(|(plugin, _)| plugin)
    }

    /// Where the plugin serving a type came from.
    pub fn source(&self, type_id: &str) -> Option<&Source> {
        self.by_type.get(type_id).map(|(_, source)| source)
    }

    /// Whether `path` is the component serving its type.
    pub fn uses(&self, path: &Path) -> bool {
        self.by_type.values().any(|(_, source)| source.path == path)
    }

    /// The plugin serving a type, or an error naming what is installed.
    pub fn require(&self, type_id: &str) -> Result<&Plugin, NotInstalled> {
        self.get(type_id).ok_or_else(|| NotInstalled {
            type_id: type_id.to_string(),
            installed: self.by_type.keys().cloned().collect::<Vec<_>>().join(", "),
        })
    }

    /// The digest of every plugin served, so a worker claims only executions it can run
    /// exactly as requested.
    pub fn digests(&self) -> Vec<String> {
        self.by_type
            .values()
            .map(|(plugin, _)| plugin.digest().to_string())
            .collect()
    }

    /// Descriptors of every plugin, for graph validation and patches.
    pub fn catalog(&self) -> DescriptorCatalog {
        let mut catalog = DescriptorCatalog::new();
        for (plugin, _) in self.by_type.values() {
            if let Err(err) = catalog.insert(plugin.descriptor().clone()) {
                tracing::warn!(%err, "plugin left out of the catalog");
            }
        }
        catalog
    }
}

fn version(source: &Source) -> semver::Version {
    semver::Version::parse(&source.version).unwrap_or(semver::Version::new(0, 0, 0))
}
