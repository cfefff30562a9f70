//! The node types a production can use, loaded from component folders.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use mdc_runtime::graph::DescriptorCatalog;
use mdc_runtime::plugin::{Plugin, PluginEngine};

/// Loaded plugins by type id (the highest version of each type wins).
#[derive(Clone, Default)]
pub struct PluginSet {
    by_type: BTreeMap<String, Plugin>,
}

impl PluginSet {
    /// Loads every `.wasm` file of the folders; a broken file is reported and skipped.
    pub async fn load_dirs(engine: &PluginEngine, dirs: &[&Path]) -> anyhow::Result<PluginSet> {
        let mut set = PluginSet::default();
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut files: Vec<_> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
                .collect();
            files.sort();
            for file in files {
                match engine.load_file(&file).await {
                    Ok(plugin) => set.insert(plugin),
                    Err(err) => tracing::warn!(file = %file.display(), %err, "skipping plugin"),
                }
            }
        }
        Ok(set)
    }

    /// Adds a plugin, keeping the higher version when the type is already present.
    pub fn insert(&mut self, plugin: Plugin) {
        let type_id = plugin.descriptor().type_id.clone();
        let newer = match self.by_type.get(&type_id) {
            Some(existing) => version(&plugin) > version(existing),
            None => true,
        };
        if newer {
            self.by_type.insert(type_id, plugin);
        }
    }

    /// The plugin serving a type.
    pub fn get(&self, type_id: &str) -> Option<&Plugin> {
        self.by_type.get(type_id)
    }

    /// The plugin serving a type, or an error naming what is installed.
    pub fn require(&self, type_id: &str) -> anyhow::Result<&Plugin> {
        self.get(type_id).with_context(|| {
            format!(
                "no plugin for node type {type_id:?} is installed (installed: {})",
                self.by_type.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })
    }

    /// Descriptors of every plugin, for graph validation and patches.
    pub fn catalog(&self) -> DescriptorCatalog {
        let mut catalog = DescriptorCatalog::new();
        for plugin in self.by_type.values() {
            if let Err(err) = catalog.insert(plugin.descriptor().clone()) {
                tracing::warn!(%err, "plugin left out of the catalog");
            }
        }
        catalog
    }
}

fn version(plugin: &Plugin) -> semver::Version {
    semver::Version::parse(&plugin.descriptor().version).unwrap_or(semver::Version::new(0, 0, 0))
}
