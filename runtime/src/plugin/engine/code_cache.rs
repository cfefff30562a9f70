//! Compiled code on disk, keyed by the component's digest and the engine's settings.
//!
//! Only code this host compiled itself is ever deserialised: entries are written by
//! [`CodeCache::store`] into the host's own cache folder, never taken from a package.
//!
//! The folder is bounded: after each store, the entries used longest ago (a load marks an entry
//! used) are removed until the total is under the limit. This is ours rather than wasmtime's
//! own cache because wasmtime's writes inside `Component::new`, before the host has checked the
//! component and while the compile-time limit may still abandon it; here code reaches the
//! cache only once it compiled within the limit and passed the host's checks, and the engine
//! can say whether code came from the cache.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

/// A folder of serialised compiled components.
#[derive(Debug, Clone)]
pub struct CodeCache {
    dir: PathBuf,
    engine_key: String,
    limit_bytes: u64,
}

impl CodeCache {
    /// A cache in `dir` for code compiled by `engine` (entries of other engine settings
    /// or wasmtime versions live under other names and are never loaded), holding at most
    /// `limit_bytes`.
    pub fn new(dir: PathBuf, engine: &Engine, limit_bytes: u64) -> CodeCache {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        CodeCache {
            dir,
            engine_key: format!("{:016x}", hasher.finish()),
            limit_bytes,
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
            Ok(component) => {
                // Marks the entry used, for eviction; a read-only folder only loses that.
                let _ = std::fs::File::options()
                    .write(true)
                    .open(&path)
                    .and_then(|file| file.set_modified(std::time::SystemTime::now()));
                Some(component)
            }
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
        write_atomically(&self.dir, &path, &bytes).map_err(|err| (path.clone(), err))?;
        self.evict(&path).map_err(|err| (self.dir.clone(), err))
    }

    /// Removes the entries used longest ago, never `keep`, until the folder holds at most the
    /// limit.
    fn evict(&self, keep: &Path) -> std::io::Result<()> {
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let path = entry.path();
            if path.extension().is_none_or(|ext| ext != "cwasm") {
                continue;
            }
            let meta = entry.metadata()?;
            entries.push((meta.modified()?, meta.len(), path));
        }
        let mut total: u64 = entries.iter().map(|(_, size, _)| size).sum();
        entries.sort();
        for (_, size, path) in entries {
            if total <= self.limit_bytes {
                break;
            }
            if path == keep {
                continue;
            }
            match std::fs::remove_file(&path) {
                Ok(()) => total -= size,
                // Another process removed it first.
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => total -= size,
                Err(err) => return Err(err),
            }
        }
        Ok(())
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
