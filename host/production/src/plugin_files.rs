//! Finding and loading component files: the folders a production's node types come from,
//! every `.wasm` file in them loaded concurrently, each under its own time limit, so one slow
//! or stuck component delays nothing but itself.

use std::path::{Path, PathBuf};
use std::time::Duration;

use mdc_runtime::plugin::{LoadError, Plugin, PluginEngine};
use tokio::task::JoinSet;

/// Where node types come from. First-party node types are the product's own (built beside
/// the binary); installed plugins are the operator's (`DATA_DIR/plugins`). A first-party
/// type wins over an installed one with the same type id unless the operator allows
/// overrides ([`super::LoadPolicy::allow_override`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginFolders {
    /// Folders of first-party components.
    pub first_party: Vec<PathBuf>,
    /// Folders of installed (third-party) components.
    pub installed: Vec<PathBuf>,
}

impl PluginFolders {
    /// Only first-party folders (tests, benchmarks, a production without installed plugins).
    pub fn first_party<P: AsRef<Path>>(folders: impl IntoIterator<Item = P>) -> PluginFolders {
        PluginFolders {
            first_party: folders
                .into_iter()
                .map(|f| f.as_ref().to_path_buf())
                .collect(),
            installed: Vec::new(),
        }
    }

    /// Every folder with its origin, first-party ones first.
    pub fn each(&self) -> impl Iterator<Item = (Origin, &Path)> {
        let first = self
            .first_party
            .iter()
            .map(|f| (Origin::FirstParty, f.as_path()));
        let installed = self
            .installed
            .iter()
            .map(|f| (Origin::Installed, f.as_path()));
        first.chain(installed)
    }
}

/// Which kind of folder a component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// The product's own node types.
    FirstParty,
    /// A plugin the operator installed.
    Installed,
}

impl Origin {
    /// `first-party` or `installed`.
    pub fn name(self) -> &'static str {
        match self {
            Origin::FirstParty => "first-party",
            Origin::Installed => "installed",
        }
    }
}

/// One component file and what loading it gave.
#[derive(Clone)]
pub struct PluginFile {
    /// The file.
    pub path: PathBuf,
    /// The kind of folder it is in.
    pub origin: Origin,
    /// The plugin, or why there is none.
    pub loaded: Result<Plugin, FileProblem>,
}

/// Why a component file gave no plugin.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FileProblem {
    /// The runtime refused it.
    #[error("{0}")]
    Refused(String),
    /// Loading took longer than the limit.
    #[error("did not load within {} s", .0.as_secs_f64())]
    TimedOut(Duration),
    /// The folder could not be read.
    #[error("cannot read the folder: {0}")]
    Unreadable(String),
}

impl From<LoadError> for FileProblem {
    fn from(err: LoadError) -> FileProblem {
        FileProblem::Refused(err.to_string())
    }
}

/// Every `.wasm` file of the folders, in folder order and then by name. A folder that does
/// not exist has no files; one that cannot be read is reported as a file of its own.
fn component_files(folders: &PluginFolders) -> Vec<(PathBuf, Origin, Option<FileProblem>)> {
    let mut files = Vec::new();
    for (origin, folder) in folders.each() {
        let entries = match std::fs::read_dir(folder) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => {
                let problem = FileProblem::Unreadable(err.to_string());
                files.push((folder.to_path_buf(), origin, Some(problem)));
                continue;
            }
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|e| e == "wasm"))
            .collect();
        found.sort();
        files.extend(found.into_iter().map(|path| (path, origin, None)));
    }
    files
}

/// Loads every component file of `folders` at once, each given at most `limit`, and returns
/// them in [`component_files`] order whatever order they finished in.
pub async fn load_files(
    engine: &PluginEngine,
    folders: &PluginFolders,
    limit: Duration,
) -> Vec<PluginFile> {
    let files = component_files(folders);
    let mut results: Vec<Option<Result<Plugin, FileProblem>>> = vec![None; files.len()];
    let mut tasks = JoinSet::new();
    for (index, (path, _, problem)) in files.iter().enumerate() {
        if let Some(problem) = problem {
            results[index] = Some(Err(problem.clone()));
            continue;
        }
        let (engine, path) = (engine.clone(), path.clone());
        tasks.spawn(async move {
            let loaded = match tokio::time::timeout(limit, engine.load_file(&path)).await {
                Ok(loaded) => loaded.map_err(FileProblem::from),
                Err(_) => Err(FileProblem::TimedOut(limit)),
            };
            (index, loaded)
        });
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, loaded)) => results[index] = Some(loaded),
            // A load that panicked leaves its slot empty; it is reported below.
            Err(err) => tracing::error!(%err, "a plugin load stopped"),
        }
    }
    files
        .into_iter()
        .zip(results)
        .map(|((path, origin, _), loaded)| PluginFile {
            path,
            origin,
            loaded: loaded
                .unwrap_or_else(|| Err(FileProblem::Refused("loading stopped".to_string()))),
        })
        .collect()
}
