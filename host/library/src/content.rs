//! Asset bytes in the object store: written under content keys before the row that points at
//! them, removed only when no asset row uses them any more (content is shared across assets).

use mdc_store::AssetStore;
use mdc_store::objects::{ObjectStore, content_key};
use sha2::{Digest, Sha256};

use super::LibraryError;
use super::upload::CheckedImage;

/// Where an asset's bytes are, as the asset row records them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Content {
    /// Media type, empty when the asset has no image.
    pub mime: String,
    /// Size in bytes.
    pub size: i64,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// Key of the bytes, empty when the asset has no image.
    pub object_key: String,
    /// Key of the thumbnail.
    pub thumbnail_key: Option<String>,
    /// The upload's pin on these keys (none for stored content), dropped when the upload is
    /// done or undone.
    pub pin: Option<String>,
}

impl Content {
    /// An asset without an image (a character described only in words): no bytes, no keys.
    pub fn none() -> Content {
        Content {
            mime: String::new(),
            size: 0,
            sha256: hex::encode(Sha256::digest(b"")),
            object_key: String::new(),
            thumbnail_key: None,
            pin: None,
        }
    }

    /// The object keys this content occupies.
    pub fn keys(&self) -> Vec<String> {
        std::iter::once(self.object_key.clone())
            .chain(self.thumbnail_key.clone())
            .filter(|key| !key.is_empty())
            .collect()
    }
}

/// Stores the image and its thumbnail under their content keys (skipping keys already
/// present: same key, same bytes) and returns where they are.
pub(crate) async fn write(
    store: &dyn AssetStore,
    objects: &dyn ObjectStore,
    image: CheckedImage,
) -> Result<Content, LibraryError> {
    let sha256 = hex::encode(Sha256::digest(&image.bytes));
    let object_key = content_key(&sha256);
    let thumbnail_key = content_key(&hex::encode(Sha256::digest(&image.thumbnail)));
    let size = image.bytes.len() as i64;
    let pin_id = pin(store, &[object_key.clone(), thumbnail_key.clone()]).await?;
    let written = match put_new(objects, &object_key, image.bytes, image.mime).await {
        Ok(()) => put_new(objects, &thumbnail_key, image.thumbnail, "image/png").await,
        Err(err) => Err(err),
    };
    if let Err(err) = written {
        unpin(store, &pin_id).await;
        release(store, objects, &[object_key, thumbnail_key]).await;
        return Err(err);
    }
    Ok(Content {
        mime: image.mime.to_string(),
        size,
        sha256,
        object_key,
        thumbnail_key: Some(thumbnail_key),
        pin: Some(pin_id),
    })
}

/// How long an upload keeps its content keys from removal: far longer than writing the bytes
/// and the row takes. Bytes of an upload that failed stay at most this long before they can go.
pub(crate) const PIN: std::time::Duration = std::time::Duration::from_secs(120);

/// Pins content keys before their bytes are checked or written, waiting out a removal of the
/// same bytes under way (after which they are written again).
pub async fn pin(store: &dyn AssetStore, keys: &[String]) -> Result<String, mdc_store::StoreError> {
    let mut waited = std::time::Duration::ZERO;
    loop {
        match store.pin_objects(keys, PIN).await {
            Err(mdc_store::StoreError::Conflict(why)) if waited < PIN => {
                tracing::debug!(%why, "waiting for a removal of the same bytes");
                let pause = std::time::Duration::from_millis(50);
                tokio::time::sleep(pause).await;
                waited += pause;
            }
            done => return done,
        }
    }
}

/// Drops an upload's pin; one that cannot be dropped runs out by itself.
pub(crate) async fn unpin(store: &dyn AssetStore, pin_id: &str) {
    if let Err(err) = store.unpin_objects(pin_id).await {
        tracing::debug!(%err, "a pin is left to run out");
    }
}

async fn put_new(
    objects: &dyn ObjectStore,
    key: &str,
    bytes: Vec<u8>,
    mime: &str,
) -> Result<(), LibraryError> {
    if !objects.exists(key).await? {
        objects.put(key, bytes, mime).await?;
    }
    Ok(())
}

/// Removes each key no asset row uses any more and returns how many it removed. Called after
/// a row stopped pointing at the keys (deleted, replaced) or was never written (rollback),
/// and by garbage collection. A failure to remove leaves an unreferenced object behind,
/// which is logged, not reported: the user's change is done.
pub(crate) async fn release(
    store: &dyn AssetStore,
    objects: &dyn ObjectStore,
    keys: &[String],
) -> u64 {
    let mut removed = 0;
    for key in keys.iter().filter(|key| !key.is_empty()) {
        let outcome = match store.begin_object_removal(key).await {
            Ok(true) => {
                let deleted = objects.delete(key).await.map_err(LibraryError::from);
                // Ended even when the delete failed: the key is usable again either way.
                let ended = store
                    .end_object_removal(key)
                    .await
                    .map_err(LibraryError::from);
                deleted.and(ended).map(|()| 1)
            }
            Ok(false) => Ok(0),
            Err(err) => Err(err.into()),
        };
        match outcome {
            Ok(count) => removed += count,
            Err(err) => tracing::warn!("could not remove unused library bytes: {err}"),
        }
    }
    removed
}
