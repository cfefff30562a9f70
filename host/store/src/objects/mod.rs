//! Object storage for asset bytes (reference images, takes, thumbnails), addressed by key.
//! Keys never leave the host: users see asset ids.

mod local;
mod s3;

pub use local::LocalDirStore;
pub use s3::{S3Config, S3Store};

/// Why an object operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// No object under this key.
    #[error("object {0:?} not found")]
    NotFound(String),
    /// The key is not a safe relative key.
    #[error("invalid object key {0:?}")]
    InvalidKey(String),
    /// The storage failed or cannot be reached.
    #[error("object storage: {0}")]
    Io(String),
}

/// Where asset bytes live.
#[async_trait::async_trait]
pub trait ObjectStore: Send + Sync {
    /// Stores bytes under a key, replacing what was there; atomic for readers.
    async fn put(&self, key: &str, bytes: Vec<u8>, mime: &str) -> Result<(), ObjectError>;
    /// The bytes under a key.
    async fn get(&self, key: &str) -> Result<Vec<u8>, ObjectError>;
    /// Removes a key (no error when it is already gone).
    async fn delete(&self, key: &str) -> Result<(), ObjectError>;
    /// Whether a key exists.
    async fn exists(&self, key: &str) -> Result<bool, ObjectError>;
    /// Every key inside the folder `folder` (`objects`: every content key), in no
    /// particular order; for garbage collection, which compares them with the rows.
    async fn list(&self, folder: &str) -> Result<Vec<String>, ObjectError>;
}

/// The key for content with this SHA-256: `objects/ab/abcdef…`.
pub fn content_key(sha256_hex: &str) -> String {
    format!(
        "objects/{}/{sha256_hex}",
        &sha256_hex[..2.min(sha256_hex.len())]
    )
}

/// Checks a key: relative, `/`-separated segments of `[A-Za-z0-9._-]`, no `.` or `..` segment.
pub fn check_key(key: &str) -> Result<(), ObjectError> {
    let valid = !key.is_empty()
        && key.len() <= 512
        && key.split('/').all(|segment| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        });
    if valid {
        Ok(())
    } else {
        Err(ObjectError::InvalidKey(key.to_string()))
    }
}
