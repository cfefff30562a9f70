//! [`AssetLibrary`]: create, read, list, update and delete library assets over the store and
//! the object store, with every rule of the library applied in one place.

use std::sync::Arc;

use mdc_store::objects::ObjectStore;
use mdc_store::{Asset, AssetUpdate, NewAsset, Store, StoreError};
use serde_json::{Map, Value as Json};

use super::content::{self, Content};
use super::kind::MAX_EXAMPLES;
use super::upload::{self, CheckedImage, Upload, UploadLimits};
use super::usage::{self, referrers};
use super::{AssetKind, LibraryError, fields};

/// The asset library of every project: characters, styles, environments and reference images.
#[derive(Clone)]
pub struct AssetLibrary {
    store: Arc<dyn Store>,
    objects: Arc<dyn ObjectStore>,
    limits: UploadLimits,
}

/// An asset to add.
#[derive(Debug, Clone)]
pub struct NewEntry {
    /// The project it belongs to.
    pub project_id: String,
    /// Its kind.
    pub kind: AssetKind,
    /// Its name in the library.
    pub name: String,
    /// Field values as given: text (`"34"`) or JSON (`34`); empty or `null` values are skipped.
    pub fields: Vec<(String, Json)>,
    /// Images: the reference image, or a style's example images.
    pub images: Vec<Upload>,
}

/// Changes to an asset; what is not given stays.
#[derive(Debug, Clone, Default)]
pub struct EntryChanges {
    /// A new name.
    pub name: Option<String>,
    /// Fields to set; an empty or `null` value removes the field.
    pub fields: Vec<(String, Json)>,
    /// New images: replace the reference image, or a style's example list.
    pub images: Option<Vec<Upload>>,
}

/// A library asset with its fields parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct LibraryEntry {
    /// The stored record (its object keys stay inside the host).
    pub asset: Asset,
    /// Its kind.
    pub kind: AssetKind,
    /// Its fields.
    pub fields: Map<String, Json>,
}

impl LibraryEntry {
    fn from_asset(asset: Asset) -> Result<LibraryEntry, LibraryError> {
        let kind = AssetKind::of_stored(&asset.data.kind).ok_or_else(|| {
            LibraryError::NotLibraryAsset {
                id: asset.id.clone(),
                kind: asset.data.kind.clone(),
            }
        })?;
        let fields = match serde_json::from_str(&asset.data.fields) {
            Ok(Json::Object(map)) => map,
            _ => Map::new(),
        };
        Ok(LibraryEntry {
            asset,
            kind,
            fields,
        })
    }

    /// Whether the asset has an image of its own.
    pub fn has_image(&self) -> bool {
        !self.asset.data.object_key.is_empty()
    }

    /// Ids of a style's example images.
    pub fn examples(&self) -> Vec<String> {
        fields::example_ids(&self.fields)
    }
}

/// What an asset's image is, for people: never where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageDetails {
    /// Size of the image in bytes.
    pub size: u64,
    /// Width and height of the image.
    pub dimensions: Option<(u32, u32)>,
    /// Width, height and size in bytes of the thumbnail, when it exists.
    pub thumbnail: Option<(u32, u32, u64)>,
}

impl AssetLibrary {
    /// A library over `store` (records) and `objects` (bytes) with the default upload limits.
    pub fn new(store: Arc<dyn Store>, objects: Arc<dyn ObjectStore>) -> AssetLibrary {
        AssetLibrary {
            store,
            objects,
            limits: UploadLimits::default(),
        }
    }

    /// The same library with other upload limits.
    pub fn with_limits(self, limits: UploadLimits) -> AssetLibrary {
        AssetLibrary { limits, ..self }
    }

    /// Adds an asset. Nothing is left behind when any check or write fails.
    pub async fn create(&self, new: NewEntry) -> Result<LibraryEntry, LibraryError> {
        let name = checked_name(&new.name)?;
        new.kind.check_image_count(new.images.len())?;
        let mut fields = fields::apply_changes(new.kind, &Map::new(), &new.fields)?;
        let images = self.check_images(new.images).await?;
        let (content, examples) = self
            .store_images(&new.project_id, new.kind, &name, &mut fields, images)
            .await?;
        let record = NewAsset {
            project_id: new.project_id.clone(),
            kind: new.kind.as_str().to_string(),
            name,
            mime: content.mime.clone(),
            size: content.size,
            sha256: content.sha256.clone(),
            object_key: content.object_key.clone(),
            thumbnail_key: content.thumbnail_key.clone(),
            fields: Json::Object(fields).to_string(),
        };
        match self.store.insert_asset(record).await {
            Ok(asset) => {
                self.written(&content).await;
                LibraryEntry::from_asset(asset)
            }
            Err(err) => {
                self.undo(&content, &examples).await;
                Err(match err {
                    StoreError::NotFound {
                        what: "project",
                        id,
                    } => LibraryError::ProjectNotFound(id),
                    other => other.into(),
                })
            }
        }
    }

    /// A library asset by id.
    pub async fn get(&self, id: &str) -> Result<LibraryEntry, LibraryError> {
        match self.store.asset(id).await {
            Ok(asset) => LibraryEntry::from_asset(asset),
            Err(StoreError::NotFound { .. }) => Err(LibraryError::NotFound(id.to_string())),
            Err(err) => Err(err.into()),
        }
    }

    /// The library assets of a project, of one kind or all, each kind by name.
    pub async fn list(
        &self,
        project_id: &str,
        kind: Option<AssetKind>,
    ) -> Result<Vec<LibraryEntry>, LibraryError> {
        let mut entries = Vec::new();
        for kind in AssetKind::ALL
            .into_iter()
            .filter(|k| kind.is_none_or(|wanted| wanted == *k))
        {
            for asset in usage::all_of_kind(self.store.as_ref(), project_id, kind).await? {
                entries.push(LibraryEntry::from_asset(asset)?);
            }
        }
        Ok(entries)
    }

    /// Changes an asset in place: the id stays, so every node referencing it sees the change.
    /// New bytes are written before the record changes; the old bytes go when unused. The
    /// changes are applied to the asset as it is when they are written: when someone else
    /// changed it meanwhile, they are applied again on top of that change (a few times at
    /// most), so neither change is lost.
    pub async fn update(
        &self,
        id: &str,
        changes: EntryChanges,
    ) -> Result<LibraryEntry, LibraryError> {
        const ATTEMPTS: usize = 5;
        for _ in 1..ATTEMPTS {
            match self.update_once(id, changes.clone()).await {
                Err(LibraryError::Store(StoreError::Conflict(why))) => {
                    tracing::debug!(asset = id, %why, "the asset changed meanwhile; applying the changes again");
                }
                done => return done,
            }
        }
        self.update_once(id, changes).await
    }

    /// [`Self::update`] on the asset as read now; a conflict when it changes before the write.
    async fn update_once(
        &self,
        id: &str,
        changes: EntryChanges,
    ) -> Result<LibraryEntry, LibraryError> {
        let current = self.get(id).await?;
        let kind = current.kind;
        let name = changes.name.as_deref().map(checked_name).transpose()?;
        let mut fields = fields::apply_changes(kind, &current.fields, &changes.fields)?;
        let images = match changes.images {
            Some(images) => {
                kind.check_image_count(images.len())?;
                Some(self.check_images(images).await?)
            }
            None => None,
        };
        let replaces_content = images.is_some() && kind != AssetKind::Style;
        let (content, examples) = match images {
            Some(images) => {
                if kind == AssetKind::Style
                    && !changes.fields.iter().any(|(k, _)| k == fields::EXAMPLES)
                {
                    // New example images replace the list.
                    fields.remove(fields::EXAMPLES);
                }
                let style_name = name
                    .clone()
                    .unwrap_or_else(|| current.asset.data.name.clone());
                self.store_images(
                    &current.asset.data.project_id,
                    kind,
                    &style_name,
                    &mut fields,
                    images,
                )
                .await?
            }
            None => {
                self.check_examples(
                    &current.asset.data.project_id,
                    &fields::example_ids(&fields),
                )
                .await?;
                (Content::none(), Vec::new())
            }
        };
        let update = AssetUpdate {
            name,
            fields: Some(Json::Object(fields).to_string()),
            content: replaces_content.then(|| {
                (
                    content.mime.clone(),
                    content.size,
                    content.sha256.clone(),
                    content.object_key.clone(),
                    content.thumbnail_key.clone(),
                )
            }),
            expected_version: Some(current.asset.version),
        };
        match self.store.update_asset(id, update).await {
            Ok(asset) => {
                self.written(&content).await;
                if replaces_content {
                    let old = content_of(&current.asset);
                    content::release(self.store.as_ref(), self.objects.as_ref(), &old.keys()).await;
                }
                LibraryEntry::from_asset(asset)
            }
            Err(err) => {
                self.undo(&content, &examples).await;
                Err(match err {
                    StoreError::NotFound { .. } => LibraryError::NotFound(id.to_string()),
                    other => other.into(),
                })
            }
        }
    }

    /// Deletes an asset nothing references, then its bytes when no other asset shares them.
    /// A style's example images stay in the library as image assets.
    pub async fn delete(&self, id: &str) -> Result<LibraryEntry, LibraryError> {
        let entry = self.get(id).await?;
        let referrers = referrers(self.store.as_ref(), &entry.asset).await?;
        if !referrers.is_empty() {
            return Err(LibraryError::InUse {
                name: entry.asset.data.name.clone(),
                referrers,
            });
        }
        let deleted = match self.store.delete_asset(id).await {
            Ok(asset) => asset,
            Err(StoreError::NotFound { .. }) => return Err(LibraryError::NotFound(id.to_string())),
            Err(err) => return Err(err.into()),
        };
        content::release(
            self.store.as_ref(),
            self.objects.as_ref(),
            &content_of(&deleted).keys(),
        )
        .await;
        Ok(entry)
    }

    /// Size and dimensions of an asset's image and thumbnail, `None` without an image.
    pub async fn image_details(
        &self,
        entry: &LibraryEntry,
    ) -> Result<Option<ImageDetails>, LibraryError> {
        if !entry.has_image() {
            return Ok(None);
        }
        let bytes = self.objects.get(&entry.asset.data.object_key).await?;
        let thumbnail = match &entry.asset.data.thumbnail_key {
            Some(key) => {
                let thumbnail = self.objects.get(key).await?;
                upload::dimensions(&thumbnail).map(|(w, h)| (w, h, thumbnail.len() as u64))
            }
            None => None,
        };
        Ok(Some(ImageDetails {
            size: bytes.len() as u64,
            dimensions: upload::dimensions(&bytes),
            thumbnail,
        }))
    }

    /// Checks every upload (off the async threads) before anything is written.
    async fn check_images(&self, uploads: Vec<Upload>) -> Result<Vec<CheckedImage>, LibraryError> {
        let limits = self.limits;
        tokio::task::spawn_blocking(move || {
            uploads
                .into_iter()
                .map(|upload| upload::check_image(upload, limits))
                .collect()
        })
        .await
        .map_err(|err| LibraryError::Processing(err.to_string()))?
    }

    /// Writes checked images for an asset of `kind`: a style's become example `image` assets
    /// listed in its `examples` field, another kind's single image becomes its own content.
    /// Returns the content and the example assets created (for an undo).
    async fn store_images(
        &self,
        project_id: &str,
        kind: AssetKind,
        name: &str,
        fields: &mut Map<String, Json>,
        images: Vec<CheckedImage>,
    ) -> Result<(Content, Vec<Asset>), LibraryError> {
        if kind != AssetKind::Style {
            let content = match images.into_iter().next() {
                Some(image) => {
                    content::write(self.store.as_ref(), self.objects.as_ref(), image).await?
                }
                None => Content::none(),
            };
            return Ok((content, Vec::new()));
        }
        let mut listed = fields::example_ids(fields);
        self.check_examples(project_id, &listed).await?;
        if listed.len() + images.len() > MAX_EXAMPLES {
            return Err(LibraryError::ImageCount(format!(
                "a style lists at most {MAX_EXAMPLES} example images"
            )));
        }
        let mut created: Vec<Asset> = Vec::new();
        for image in images {
            let example_name = format!("{name} · example {}", listed.len() + 1);
            match self.insert_image(project_id, &example_name, image).await {
                Ok(asset) => {
                    listed.push(asset.id.clone());
                    created.push(asset);
                }
                Err(err) => {
                    self.undo(&Content::none(), &created).await;
                    return Err(err);
                }
            }
        }
        if !listed.is_empty() {
            fields.insert(fields::EXAMPLES.to_string(), Json::from(listed));
        }
        Ok((Content::none(), created))
    }

    /// Adds one `image` asset: bytes first, then the row; the bytes go again if the row fails.
    async fn insert_image(
        &self,
        project_id: &str,
        name: &str,
        image: CheckedImage,
    ) -> Result<Asset, LibraryError> {
        let content = content::write(self.store.as_ref(), self.objects.as_ref(), image).await?;
        let record = NewAsset {
            project_id: project_id.to_string(),
            kind: AssetKind::Image.as_str().to_string(),
            name: name.to_string(),
            mime: content.mime.clone(),
            size: content.size,
            sha256: content.sha256.clone(),
            object_key: content.object_key.clone(),
            thumbnail_key: content.thumbnail_key.clone(),
            fields: "{}".to_string(),
        };
        match self.store.insert_asset(record).await {
            Ok(asset) => {
                self.written(&content).await;
                Ok(asset)
            }
            Err(err) => {
                self.undo(&content, &[]).await;
                Err(err.into())
            }
        }
    }

    /// Checks that every listed example is an image asset of the project.
    async fn check_examples(&self, project_id: &str, ids: &[String]) -> Result<(), LibraryError> {
        for id in ids {
            let refuse = |reason: &str| LibraryError::BadExample {
                id: id.clone(),
                reason: reason.to_string(),
            };
            match self.store.asset(id).await {
                Ok(asset) if asset.data.project_id != project_id => {
                    return Err(refuse("there is no such asset in this project"));
                }
                Ok(asset) if asset.data.kind != AssetKind::Image.as_str() => {
                    return Err(refuse(&format!(
                        "is a {}, not an image asset",
                        asset.data.kind
                    )));
                }
                Ok(_) => {}
                Err(StoreError::NotFound { .. }) => {
                    return Err(refuse("there is no such asset in this project"));
                }
                Err(err) => return Err(err.into()),
            }
        }
        Ok(())
    }

    /// The row that uses `content` is written: its pin is no longer needed.
    async fn written(&self, content: &Content) {
        if let Some(pin) = &content.pin {
            content::unpin(self.store.as_ref(), pin).await;
        }
    }

    /// Rolls back a failed create or update: the example assets it made and the bytes it wrote
    /// that nobody else uses.
    async fn undo(&self, content: &Content, examples: &[Asset]) {
        self.written(content).await;
        let mut keys = content.keys();
        for example in examples {
            if let Err(err) = self.store.delete_asset(&example.id).await {
                tracing::warn!("could not roll back example image {}: {err}", example.id);
            }
            keys.extend(content_of(example).keys());
        }
        content::release(self.store.as_ref(), self.objects.as_ref(), &keys).await;
    }
}

/// Where a stored asset's bytes are.
fn content_of(asset: &Asset) -> Content {
    Content {
        mime: asset.data.mime.clone(),
        size: asset.data.size,
        sha256: asset.data.sha256.clone(),
        object_key: asset.data.object_key.clone(),
        thumbnail_key: asset.data.thumbnail_key.clone(),
        pin: None,
    }
}

fn checked_name(name: &str) -> Result<String, LibraryError> {
    let name = name.trim();
    if name.is_empty() {
        Err(LibraryError::NoName)
    } else {
        Ok(name.to_string())
    }
}
