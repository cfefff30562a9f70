//! Objects as files in a local folder: the embedded default.

use std::path::PathBuf;

use super::{ObjectError, ObjectStore, check_key};

/// Objects stored as files under a root folder.
#[derive(Debug, Clone)]
pub struct LocalDirStore {
    root: PathBuf,
}

impl LocalDirStore {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: PathBuf) -> LocalDirStore {
        LocalDirStore { root }
    }

    fn path(&self, key: &str) -> Result<PathBuf, ObjectError> {
        check_key(key)?;
        Ok(self.root.join(key))
    }
}

fn io(err: std::io::Error) -> ObjectError {
    ObjectError::Io(err.to_string())
}

#[async_trait::async_trait]
impl ObjectStore for LocalDirStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, _mime: &str) -> Result<(), ObjectError> {
        let path = self.path(key)?;
        let parent = path
            .parent()
            .expect("keys are inside the root")
            .to_path_buf();
        tokio::fs::create_dir_all(&parent).await.map_err(io)?;
        let temporary = parent.join(format!(".{}.tmp", crate::new_id()));
        tokio::fs::write(&temporary, &bytes).await.map_err(io)?;
        tokio::fs::rename(&temporary, &path).await.map_err(io)
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, ObjectError> {
        match tokio::fs::read(self.path(key)?).await {
            Ok(bytes) => Ok(bytes),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                Err(ObjectError::NotFound(key.to_string()))
            }
            Err(err) => Err(io(err)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), ObjectError> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(io(err)),
        }
    }

    async fn exists(&self, key: &str) -> Result<bool, ObjectError> {
        Ok(tokio::fs::try_exists(self.path(key)?).await.map_err(io)?)
    }

    async fn list(&self, folder: &str) -> Result<Vec<String>, ObjectError> {
        let mut keys = Vec::new();
        let mut pending = vec![(self.path(folder)?, folder.to_string())];
        while let Some((dir, key_prefix)) = pending.pop() {
            let mut entries = match tokio::fs::read_dir(&dir).await {
                Ok(entries) => entries,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                Err(err) => return Err(io(err)),
            };
            while let Some(entry) = entries.next_entry().await.map_err(io)? {
                let name = entry.file_name().to_string_lossy().into_owned();
                // Files being written (`.…tmp`) are not objects yet.
                if name.starts_with('.') {
                    continue;
                }
                let key = format!("{key_prefix}/{name}");
                if entry.file_type().await.map_err(io)?.is_dir() {
                    pending.push((entry.path(), key));
                } else {
                    keys.push(key);
                }
            }
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stores_reads_and_deletes_objects() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalDirStore::new(dir.path().to_path_buf());
        store
            .put("objects/ab/abc", b"frame".to_vec(), "image/png")
            .await
            .unwrap();
        assert_eq!(store.get("objects/ab/abc").await.unwrap(), b"frame");
        assert!(store.exists("objects/ab/abc").await.unwrap());
        store.delete("objects/ab/abc").await.unwrap();
        store.delete("objects/ab/abc").await.unwrap();
        assert!(matches!(
            store.get("objects/ab/abc").await,
            Err(ObjectError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn refuses_keys_that_could_escape_the_root() {
        let store = LocalDirStore::new(std::env::temp_dir());
        for key in ["../etc/passwd", "/etc/passwd", "a//b", "a/./b", "", "a\\b"] {
            assert!(
                matches!(store.get(key).await, Err(ObjectError::InvalidKey(_))),
                "{key}"
            );
        }
    }
}
