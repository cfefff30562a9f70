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
    put_new(objects, &object_key, image.bytes, image.mime).await?;
    if let Err(err) = put_new(objects, &thumbnail_key, image.thumbnail, "image/png").await {
        release(store, objects, std::slice::from_ref(&object_key)).await;
        return Err(err);
    }
    Ok(Content {
        mime: image.mime.to_string(),
        size,
        sha256,
        object_key,
        thumbnail_key: Some(thumbnail_key),
    })
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

/// Removes each key no asset row uses any more. Called after a row stopped pointing at the
/// keys (deleted, replaced) or was never written (rollback). A failure to remove leaves an
/// unreferenced object behind, which is logged, not reported: the user's change is done.
pub(crate) async fn release(store: &dyn AssetStore, objects: &dyn ObjectStore, keys: &[String]) {
    for key in keys.iter().filter(|key| !key.is_empty()) {
        let outcome = match store.assets_using_object(key).await {
            Ok(0) => objects.delete(key).await.map_err(LibraryError::from),
            Ok(_) => Ok(()),
            Err(err) => Err(err.into()),
        };
        if let Err(err) = outcome {
            tracing::warn!("could not remove unused library bytes: {err}");
        }
    }
}
