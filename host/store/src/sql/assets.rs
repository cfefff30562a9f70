//! The asset library.

use sqlx::Row;

use super::SqlStore;
use super::rows::{ASSET_COLUMNS, asset, found};
use crate::model::*;
use crate::traits::AssetStore;
use crate::{Result, StoreError, new_id, now_millis};

#[async_trait::async_trait]
impl AssetStore for SqlStore {
    async fn insert_asset(&self, new: NewAsset) -> Result<Asset> {
        if new.name.trim().is_empty() {
            return Err(StoreError::Invalid("an asset needs a name".into()));
        }
        let now = now_millis();
        let row = sqlx::query(sql!(
            "INSERT INTO assets ({ASSET_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             RETURNING {ASSET_COLUMNS}"
        ))
        .bind(new_id())
        .bind(&new.project_id)
        .bind(&new.kind)
        .bind(&new.name)
        .bind(&new.mime)
        .bind(new.size)
        .bind(&new.sha256)
        .bind(&new.object_key)
        .bind(&new.thumbnail_key)
        .bind(&new.fields)
        .bind(now)
        .bind(now)
        .fetch_one(self.pool())
        .await
        .map_err(|err| match StoreError::from(err) {
            StoreError::Invalid(_) => StoreError::NotFound { what: "project", id: new.project_id.clone() },
            other => other,
        })?;
        asset(&row)
    }

    async fn asset(&self, id: &str) -> Result<Asset> {
        let row = sqlx::query(sql!("SELECT {ASSET_COLUMNS} FROM assets WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        asset(&found(row, "asset", id)?)
    }

    async fn list_assets(
        &self,
        project_id: &str,
        kind: Option<&str>,
        page: Page,
    ) -> Result<Vec<Asset>> {
        let rows = sqlx::query(sql!(
            "SELECT {ASSET_COLUMNS} FROM assets WHERE project_id = $1 AND ($2 IS NULL OR kind = $2)
             ORDER BY name, id LIMIT $3 OFFSET $4"
        ))
        .bind(project_id)
        .bind(kind)
        .bind(page.sql_limit())
        .bind(i64::from(page.offset))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(asset).collect()
    }

    async fn update_asset(&self, id: &str, update: AssetUpdate) -> Result<Asset> {
        let current = self.asset(id).await?;
        let mut data = current.data;
        if let Some(name) = update.name {
            if name.trim().is_empty() {
                return Err(StoreError::Invalid("an asset needs a name".into()));
            }
            data.name = name;
        }
        if let Some(fields) = update.fields {
            data.fields = fields;
        }
        if let Some((mime, size, sha256, object_key, thumbnail_key)) = update.content {
            (
                data.mime,
                data.size,
                data.sha256,
                data.object_key,
                data.thumbnail_key,
            ) = (mime, size, sha256, object_key, thumbnail_key);
        }
        let row = sqlx::query(sql!(
            "UPDATE assets SET name = $1, fields = $2, mime = $3, size = $4, sha256 = $5, object_key = $6,
                 thumbnail_key = $7, updated_at = $8
             WHERE id = $9 RETURNING {ASSET_COLUMNS}"
        ))
        .bind(&data.name)
        .bind(&data.fields)
        .bind(&data.mime)
        .bind(data.size)
        .bind(&data.sha256)
        .bind(&data.object_key)
        .bind(&data.thumbnail_key)
        .bind(now_millis())
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        asset(&found(row, "asset", id)?)
    }

    async fn delete_asset(&self, id: &str) -> Result<Asset> {
        let row = sqlx::query(sql!(
            "DELETE FROM assets WHERE id = $1 RETURNING {ASSET_COLUMNS}"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        asset(&found(row, "asset", id)?)
    }

    async fn assets_using_object(&self, object_key: &str) -> Result<u64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS users FROM assets WHERE object_key = $1 OR thumbnail_key = $1",
        )
        .bind(object_key)
        .fetch_one(self.pool())
        .await?;
        let users: i64 = row.try_get("users")?;
        Ok(users.max(0) as u64)
    }
}
