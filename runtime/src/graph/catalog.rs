//! The node types a graph is checked against: which types and versions are installed.

use std::collections::HashMap;

use crate::plugin::types::NodeDescriptor;

use super::subflow::{SUBFLOW_TYPE, SUBFLOW_VERSION, subflow_descriptor};

/// Installed node types, by type id and version.
pub trait Catalog {
    /// The descriptor of `type_id` at exactly `version`.
    fn descriptor(&self, type_id: &str, version: &str) -> Option<&NodeDescriptor>;

    /// The installed versions of `type_id`, oldest first (semantic version order).
    fn versions(&self, type_id: &str) -> Vec<&str>;

    /// The descriptor of the newest installed version of `type_id`.
    fn latest(&self, type_id: &str) -> Option<&NodeDescriptor> {
        let versions = self.versions(type_id);
        self.descriptor(type_id, versions.last()?)
    }
}

/// A catalog plus the runtime's built-in node types (the group, [`SUBFLOW_TYPE`], which
/// answers for any version). The graph's checks look types up through this.
#[derive(Clone, Copy)]
pub struct WithBuiltins<'c>(pub &'c dyn Catalog);

impl Catalog for WithBuiltins<'_> {
    fn descriptor(&self, type_id: &str, version: &str) -> Option<&NodeDescriptor> {
        if type_id == SUBFLOW_TYPE {
            Some(subflow_descriptor())
        } else {
            self.0.descriptor(type_id, version)
        }
    }

    fn versions(&self, type_id: &str) -> Vec<&str> {
        if type_id == SUBFLOW_TYPE {
            vec![SUBFLOW_VERSION]
        } else {
            self.0.versions(type_id)
        }
    }

    fn latest(&self, type_id: &str) -> Option<&NodeDescriptor> {
        if type_id == SUBFLOW_TYPE {
            Some(subflow_descriptor())
        } else {
            self.0.latest(type_id)
        }
    }
}

/// Why a descriptor cannot join a [`DescriptorCatalog`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// The version does not parse as a semantic version.
    #[error("\"{type_id}\" {version:?} is not a semantic version: {reason}")]
    BadVersion {
        /// Type id of the descriptor.
        type_id: String,
        /// The version given.
        version: String,
        /// What the parser said.
        reason: String,
    },
    /// The type id belongs to a built-in node type.
    #[error("\"{type_id}\" is a built-in node type and cannot be installed")]
    Reserved {
        /// The type id given.
        type_id: String,
    },
}

/// An in-memory catalog of descriptors.
#[derive(Debug, Clone, Default)]
pub struct DescriptorCatalog {
    /// Per type id, the installed versions in ascending order.
    types: HashMap<String, Vec<(semver::Version, NodeDescriptor)>>,
}

impl DescriptorCatalog {
    /// An empty catalog.
    pub fn new() -> DescriptorCatalog {
        DescriptorCatalog::default()
    }

    /// A catalog of these descriptors (a later one replaces an earlier one of the same
    /// type and version).
    pub fn from_descriptors(
        descriptors: impl IntoIterator<Item = NodeDescriptor>,
    ) -> Result<DescriptorCatalog, CatalogError> {
        let mut catalog = DescriptorCatalog::new();
        for descriptor in descriptors {
            catalog.insert(descriptor)?;
        }
        Ok(catalog)
    }

    /// Installs a descriptor, returning the one it replaces (same type and version).
    pub fn insert(
        &mut self,
        descriptor: NodeDescriptor,
    ) -> Result<Option<NodeDescriptor>, CatalogError> {
        if descriptor.type_id == SUBFLOW_TYPE {
            return Err(CatalogError::Reserved {
                type_id: descriptor.type_id,
            });
        }
        let version = semver::Version::parse(&descriptor.version).map_err(|err| {
            CatalogError::BadVersion {
                type_id: descriptor.type_id.clone(),
                version: descriptor.version.clone(),
                reason: err.to_string(),
            }
        })?;
        let installed = self.types.entry(descriptor.type_id.clone()).or_default();
        match installed.binary_search_by(|(known, _)| known.cmp(&version)) {
            Ok(at) => Ok(Some(std::mem::replace(&mut installed[at].1, descriptor))),
            Err(at) => {
                installed.insert(at, (version, descriptor));
                Ok(None)
            }
        }
    }

    /// Uninstalls one version of a type, returning its descriptor.
    pub fn remove(&mut self, type_id: &str, version: &str) -> Option<NodeDescriptor> {
        let installed = self.types.get_mut(type_id)?;
        let at = installed
            .iter()
            .position(|(_, descriptor)| descriptor.version == version)?;
        let (_, descriptor) = installed.remove(at);
        if installed.is_empty() {
            self.types.remove(type_id);
        }
        Some(descriptor)
    }

    /// The installed type ids, sorted.
    pub fn type_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.types.keys().map(String::as_str).collect();
        ids.sort_unstable();
        ids
    }

    /// How many descriptors (type and version pairs) are installed.
    pub fn len(&self) -> usize {
        self.types.values().map(Vec::len).sum()
    }

    /// Whether nothing is installed.
    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }
}

impl Catalog for DescriptorCatalog {
    fn descriptor(&self, type_id: &str, version: &str) -> Option<&NodeDescriptor> {
        self.types
            .get(type_id)?
            .iter()
            .find(|(_, descriptor)| descriptor.version == version)
            .map(|(_, descriptor)| descriptor)
    }

    fn versions(&self, type_id: &str) -> Vec<&str> {
        self.types.get(type_id).map_or_else(Vec::new, |installed| {
            installed
                .iter()
                .map(|(_, descriptor)| descriptor.version.as_str())
                .collect()
        })
    }

    fn latest(&self, type_id: &str) -> Option<&NodeDescriptor> {
        self.types
            .get(type_id)?
            .last()
            .map(|(_, descriptor)| descriptor)
    }
}
