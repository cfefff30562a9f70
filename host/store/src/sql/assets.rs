//! The asset library, and the turns uploads and removals take on content-addressed bytes.

use std::time::Duration;

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
        .fetch_one(self.writer())
        .await
        .map_err(crate::error::parent_missing("project", &new.project_id))?;
        asset(&row)
    }

    async fn asset(&self, id: &str) -> Result<Asset> {
        let row = sqlx::query(sql!("SELECT {ASSET_COLUMNS} FROM assets WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
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
        .fetch_all(self.reader())
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
        .fetch_optional(self.writer())
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
        .fetch_optional(self.writer())
        .await?;
        asset(&found(row, "asset", id)?)
    }

    async fn assets_using_object(&self, object_key: &str) -> Result<u64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS users FROM assets WHERE object_key = $1 OR thumbnail_key = $1",
        )
        .bind(object_key)
        .fetch_one(self.reader())
        .await?;
        let users: i64 = row.try_get("users")?;
        Ok(users.max(0) as u64)
    }

    async fn pin_objects(&self, object_keys: &[String], ttl: Duration) -> Result<String> {
        let pin_id = new_id();
        let mut tx = self.writer().begin().await?;
        let now = self.db_now(&mut *tx).await?;
        for key in object_keys.iter().filter(|key| !key.is_empty()) {
            // The upsert locks the key's row: a removal holding it is waited for and seen; an
            // abandoned one is taken over.
            let row = sqlx::query(
                "INSERT INTO stored_objects (object_key) VALUES ($1)
                 ON CONFLICT (object_key) DO UPDATE SET removing_since = CASE
                     WHEN stored_objects.removing_since < $2 THEN NULL
                     ELSE stored_objects.removing_since END
                 RETURNING removing_since",
            )
            .bind(key)
            .bind(now - ABANDONED_REMOVAL.as_millis() as i64)
            .fetch_one(&mut *tx)
            .await?;
            let removing: Option<i64> = row.try_get("removing_since")?;
            if removing.is_some() {
                return Err(StoreError::Conflict(format!(
                    "the bytes under {key} are being removed; write them again once that ends"
                )));
            }
            sqlx::query(
                "INSERT INTO object_pins (pin_id, object_key, pinned_until) VALUES ($1, $2, $3)
                 ON CONFLICT (object_key, pin_id) DO NOTHING",
            )
            .bind(&pin_id)
            .bind(key)
            .bind(now + ttl.as_millis() as i64)
            .execute(&mut *tx)
            .await?;
        }
        // Pins that ran out are of no use to anyone.
        sqlx::query("DELETE FROM object_pins WHERE pinned_until < $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(pin_id)
    }

    async fn unpin_objects(&self, pin_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM object_pins WHERE pin_id = $1")
            .bind(pin_id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn begin_object_removal(&self, object_key: &str) -> Result<bool> {
        let mut tx = self.writer().begin().await?;
        let now = self.db_now(&mut *tx).await?;
        let marked = sqlx::query(
            "INSERT INTO stored_objects (object_key, removing_since) VALUES ($1, $2)
             ON CONFLICT (object_key) DO UPDATE SET removing_since = $2
             WHERE stored_objects.removing_since IS NULL OR stored_objects.removing_since < $3
             RETURNING object_key",
        )
        .bind(object_key)
        .bind(now)
        .bind(now - ABANDONED_REMOVAL.as_millis() as i64)
        .fetch_optional(&mut *tx)
        .await?;
        if marked.is_none() {
            return Ok(false);
        }
        // Asked under the key's lock: a pin or an asset row committed before it is seen; one
        // made after it had to take the lock first and sees the removal.
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM assets WHERE object_key = $1 OR thumbnail_key = $1)
                  + (SELECT COUNT(*) FROM object_pins WHERE object_key = $1 AND pinned_until >= $2)
                 AS holders",
        )
        .bind(object_key)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let holders: i64 = row.try_get("holders")?;
        if holders > 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn end_object_removal(&self, object_key: &str) -> Result<()> {
        sqlx::query(
            "DELETE FROM stored_objects WHERE object_key = $1 AND removing_since IS NOT NULL",
        )
        .bind(object_key)
        .execute(self.writer())
        .await?;
        Ok(())
    }
}

/// A removal older than this was abandoned by a process that died while deleting: an upload
/// takes the key over (and writes the bytes again).
const ABANDONED_REMOVAL: Duration = Duration::from_secs(300);
