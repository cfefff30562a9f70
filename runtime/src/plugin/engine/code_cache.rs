//! Compiled code on disk, keyed by the component's digest and the engine's settings.
//!
//! Only code this host compiled itself is ever deserialised: entries are written by
//! [`CodeCache::store`] into the host's own cache folder, never taken from a package.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

/// A folder of serialised compiled components.
#[derive(Debug, Clone)]
pub struct CodeCache {
    dir: PathBuf,
    engine_key: String,
}

impl CodeCache {
    /// A cache in `dir` for code compiled by `engine` (entries of other engine settings
    /// or wasmtime versions live under other names and are never loaded).
    pub fn new(dir: PathBuf, engine: &Engine) -> CodeCache {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        CodeCache {
            dir,
            engine_key: format!("{:016x}", hasher.finish()),
        }
    }

    /// Where the entry for a component digest lives.
    pub fn path_for(&self, digest: &str) -> PathBuf {
        self.dir.join(format!("{digest}-{}.cwasm", self.engine_key))
    }

    /// Loads a previously compiled component, if the cache holds it.
    pub fn load(&self, engine: &Engine, digest: &str) -> Option<Component> {
        let path = self.path_for(digest);
        if !path.is_file() {
            return None;
        }
        // SAFETY: the file was written by `store` below from code this engine compiled, in the
        // host's private cache folder; wasmtime also checks the header matches this engine.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => Some(component),
            Err(err) => {
                tracing::warn!(path = %path.display(), %err, "discarding unreadable cache entry");
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Stores compiled code atomically (write to a temporary file, then rename).
    pub fn store(
        &self,
        digest: &str,
        component: &Component,
    ) -> Result<(), (PathBuf, std::io::Error)> {
        let path = self.path_for(digest);
        let bytes = component
            .serialize()
            .map_err(|err| (path.clone(), std::io::Error::other(err.to_string())))?;
        write_atomically(&self.dir, &path, &bytes).map_err(|err| (path, err))
    }
}

fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let temporary = dir.join(format!(
        ".{}.{}-{}.tmp",
        path.file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("entry"),
        std::process::id(),
        WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path)
}
