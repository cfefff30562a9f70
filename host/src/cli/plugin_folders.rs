//! Where the terminal commands find node types, and how they tell the operator which
//! component serves each type: first-party node types beside the binary, installed plugins
//! in the data folder (or the folders given), shadowed ones reported on stderr.

use std::path::{Path, PathBuf};

use clap::Args;
use mdc_runtime::plugin::{EngineConfig, PluginEngine};

use crate::terminal;
use mdc_production::{
    LoadPolicy, LoadWarning, LoadedPlugins, PluginFolders, PluginSet, ShadowReason,
};

/// How the command chooses between components declaring the same node type.
#[derive(Debug, Clone, Args)]
pub struct PluginChoice {
    /// Let installed plugins replace first-party node types with the same type id (by
    /// default the first-party one is used and the installed one reported).
    #[arg(
        long,
        env = "MDC_ALLOW_PLUGIN_OVERRIDE",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub allow_plugin_override: bool,
}

impl PluginChoice {
    /// The load policy this choice makes.
    pub fn policy(&self) -> LoadPolicy {
        LoadPolicy {
            allow_override: self.allow_plugin_override,
            ..LoadPolicy::default()
        }
    }
}

/// The first-party node types: `cargo xtask build-plugins` puts them in `target/plugins`,
/// beside the binary's profile folder.
pub fn first_party_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(|target| target.join("plugins")))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/plugins"))
}

/// The first-party folder and the installed ones: `given`, or `DATA_DIR/plugins`.
pub fn folders(data_dir: &Path, given: &[PathBuf]) -> PluginFolders {
    PluginFolders {
        first_party: vec![first_party_dir()],
        installed: if given.is_empty() {
            vec![data_dir.join("plugins")]
        } else {
            given.to_vec()
        },
    }
}

/// The plugin engine of the terminal commands, with its code cache in the data folder.
pub fn engine(data_dir: &Path) -> anyhow::Result<PluginEngine> {
    Ok(PluginEngine::new(EngineConfig {
        cache_dir: Some(data_dir.join("code-cache")),
        ..EngineConfig::default()
    })?)
}

/// Loads the node types of `folders` and prints every warning on stderr.
pub async fn load(
    data_dir: &Path,
    folders: &PluginFolders,
    choice: &PluginChoice,
) -> anyhow::Result<LoadedPlugins> {
    let loaded = PluginSet::load(&engine(data_dir)?, folders, &choice.policy()).await;
    print_warnings(&loaded.warnings);
    Ok(loaded)
}

/// Every warning on its own stderr line, and how to let installed plugins win when a
/// first-party node type shadowed one.
pub fn print_warnings(warnings: &[LoadWarning]) {
    for warning in warnings {
        eprintln!("warning: {}", terminal::line(&warning.to_string()));
    }
    let first_party_won = warnings.iter().any(|w| {
        matches!(
            w,
            LoadWarning::Shadowed {
                reason: ShadowReason::FirstPartyWins,
                ..
            }
        )
    });
    if first_party_won {
        eprintln!(
            "  (to use installed plugins instead, pass --allow-plugin-override or set \
             MDC_ALLOW_PLUGIN_OVERRIDE=1)"
        );
    }
}
