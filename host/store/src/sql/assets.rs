//! The asset library.

use sqlx::Row;

use super::SqlStore;
use super::rows::{ASSET_COLUMNS, asset, found};
use crate::model::*;
use crate::traits::AssetStore;
use crate::{Result, StoreError, new_id};

#[async_trait::async_trait]
impl AssetStore for SqlStore {
    async fn insert_asset(&self, new: NewAsset) -> Result<Asset> {
        if new.name.trim().is_empty() {
            return Err(StoreError::Invalid("an asset needs a name".into()));
        }
        let now = self.local_now();
        let row = sqlx::query(sql!(
            "INSERT INTO assets ({ASSET_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1)
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
        if update
            .name
            .as_deref()
            .is_some_and(|name| name.trim().is_empty())
        {
            return Err(StoreError::Invalid("an asset needs a name".into()));
        }
        let replaces = update.content.is_some();
        let (mime, size, sha256, object_key, thumbnail_key) = match update.content {
            Some((mime, size, sha256, key, thumbnail)) => {
                (Some(mime), Some(size), Some(sha256), Some(key), thumbnail)
            }
            None => (None, None, None, None, None),
        };
        // One statement: what is not changed is kept as it is in the row, not as it was
        // read earlier, so concurrent updates of different parts both stay.
        let row = sqlx::query(sql!(
            "UPDATE assets SET name = COALESCE($1, name), fields = COALESCE($2, fields),
                 mime = COALESCE($3, mime), size = COALESCE($4, size), sha256 = COALESCE($5, sha256),
                 object_key = COALESCE($6, object_key),
                 thumbnail_key = CASE WHEN $7 = 1 THEN $8 ELSE thumbnail_key END,
                 updated_at = $9, version = version + 1
             WHERE id = $10 AND ($11 IS NULL OR version = $11) RETURNING {ASSET_COLUMNS}"
        ))
        .bind(update.name)
        .bind(update.fields)
        .bind(mime)
        .bind(size)
        .bind(sha256)
        .bind(object_key)
        .bind(i64::from(replaces))
        .bind(thumbnail_key)
        .bind(self.local_now())
        .bind(id)
        .bind(update.expected_version)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(row) => asset(&row),
            None => {
                let current = self.asset(id).await?;
                Err(StoreError::Conflict(format!(
                    "asset {id} changed since version {} this update was made on (now version {})",
                    update.expected_version.unwrap_or_default(),
                    current.version
                )))
            }
        }
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
