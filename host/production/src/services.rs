//! Host services for a plugin running as an execution: assets from the library, outputs into
//! the object store (as new assets), progress into the store. Store calls ride out a short
//! database outage instead of failing the plugin.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mdc_runtime::plugin::types::{
    AssetMetadata, HttpError, HttpRequest, HttpResponse, LogLevel, ServiceError, SocketRequest,
};
use mdc_runtime::plugin::{BodyStream, HostServices, SocketStream};
use mdc_store::objects::{ObjectStore, content_key};
use mdc_store::{Asset, NewAsset, ProjectScope, Store, StoreError};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

/// Services bound to one execution.
pub struct ExecutionServices {
    pub(crate) store: Arc<dyn Store>,
    /// The execution's project: every asset the plugin names is looked up in it.
    pub(crate) scope: ProjectScope,
    pub(crate) objects: Arc<dyn ObjectStore>,
    pub(crate) node_id: String,
    /// Latest progress; a side task writes it to the store.
    pub(crate) progress: watch::Sender<(f32, String)>,
    pub(crate) http: Option<mdc_outbound::HttpClient>,
}

#[async_trait::async_trait]
impl HostServices for ExecutionServices {
    fn log(&self, level: LogLevel, message: &str) {
        // Log lines reach a terminal: the plugin's text stays on its line and drives nothing.
        let message = mdc_runtime::plugin::printable::line(message);
        match level {
            LogLevel::Error | LogLevel::Warn => tracing::warn!(node = %self.node_id, "{message}"),
            _ => tracing::debug!(node = %self.node_id, "{message}"),
        }
    }

    fn progress(&self, fraction: f32, message: &str) {
        self.progress.send_replace((fraction, message.to_string()));
    }

    async fn asset_metadata(&self, id: &str) -> Result<AssetMetadata, ServiceError> {
        let asset = self.project_asset(id).await?;
        Ok(AssetMetadata {
            id: asset.id,
            mime: asset.data.mime,
            size: asset.data.size as u64,
            name: asset.data.name,
            kind: asset.data.kind,
            fields: asset.data.fields,
        })
    }

    async fn read_asset(&self, id: &str) -> Result<Vec<u8>, ServiceError> {
        let asset = self.project_asset(id).await?;
        self.objects
            .get(&asset.data.object_key)
            .await
            .map_err(|err| unavailable(&format!("read asset {id:?}"), &err))
    }

    async fn write_output(&self, mime: &str, bytes: Vec<u8>) -> Result<String, ServiceError> {
        let failed = |err: &dyn std::fmt::Display| unavailable("store the output", err);
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let key = content_key(&sha256);
        let size = bytes.len() as i64;
        // Pinned before the bytes are written: a removal of the same bytes cannot delete them
        // before the output's row exists.
        let keys = std::slice::from_ref(&key);
        let pin = while_unavailable(|| mdc_library::pin_content(self.store.as_ref(), keys))
            .await
            .map_err(|err| failed(&err))?;
        self.objects
            .put(&key, bytes, mime)
            .await
            .map_err(|err| failed(&err))?;
        let record = NewAsset {
            project_id: self.scope.project_id().to_string(),
            kind: "output".into(),
            name: format!("{} output", self.node_id),
            mime: mime.to_string(),
            size,
            sha256,
            object_key: key,
            thumbnail_key: None,
            fields: "{}".into(),
        };
        let asset = while_unavailable(|| self.store.insert_asset(record.clone()))
            .await
            .map_err(|err| failed(&err))?;
        // The row holds the bytes now; a pin left behind runs out by itself.
        let _ = self.store.unpin_objects(&pin).await;
        Ok(asset.id)
    }

    async fn http_fetch(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        self.http()?.fetch(request).await
    }

    async fn http_open(&self, request: HttpRequest) -> Result<Box<dyn BodyStream>, HttpError> {
        Ok(Box::new(self.http()?.open(request).await?))
    }

    async fn socket_connect(
        &self,
        request: SocketRequest,
    ) -> Result<Box<dyn SocketStream>, HttpError> {
        Ok(Box::new(self.http()?.connect(request).await?))
    }
}

impl ExecutionServices {
    /// The asset `id` if it is in this execution's project; any other asset is "not found",
    /// the same answer as a missing one, so a plugin learns nothing of other projects.
    async fn project_asset(&self, id: &str) -> Result<Asset, ServiceError> {
        match while_unavailable(|| self.scope.asset(id)).await {
            Ok(asset) => Ok(asset),
            Err(StoreError::NotFound { .. }) => Err(ServiceError::NotFound(id.to_string())),
            Err(err) => Err(unavailable(&format!("read asset {id:?}"), &err)),
        }
    }

    fn http(&self) -> Result<&mdc_outbound::HttpClient, HttpError> {
        self.http.as_ref().ok_or_else(|| {
            HttpError::Unreachable("outbound HTTP is not configured on this host".into())
        })
    }
}

/// What a plugin is told when storage failed: what could not be done, not the storage's
/// internals, which go to the log.
fn unavailable(what: &str, err: &dyn std::fmt::Display) -> ServiceError {
    tracing::warn!(%err, "could not {what} for a plugin");
    ServiceError::Unavailable(format!(
        "could not {what}: storage is unavailable, try again"
    ))
}

/// How long a plugin's host call waits for a database that stopped answering.
const STORE_PATIENCE: Duration = Duration::from_secs(20);

/// Runs a store call, repeating it with back-off while the database is unavailable (for at
/// most [`STORE_PATIENCE`]), so a short outage delays a plugin instead of failing it.
async fn while_unavailable<T, F, Fut>(mut call: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let started = Instant::now();
    let mut delay = Duration::from_millis(100);
    loop {
        match call().await {
            Err(err) if err.is_unavailable() && started.elapsed() + delay < STORE_PATIENCE => {
                tracing::warn!(%err, "the database is unavailable; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fixture;

    #[tokio::test]
    async fn another_project_s_asset_is_not_found_like_a_missing_one() {
        let f = fixture(&[]).await;
        let store: Arc<dyn Store> = f.store.clone();
        let owner = store.project(&f.project_id).await.unwrap().owner_id;
        let other = store.create_project("Other", &owner).await.unwrap();
        let bytes = b"someone else's reference".to_vec();
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let key = content_key(&sha256);
        f.objects
            .put(&key, bytes.clone(), "image/png")
            .await
            .unwrap();
        let theirs = store
            .insert_asset(NewAsset {
                project_id: other.id.clone(),
                kind: "image".into(),
                name: "theirs".into(),
                mime: "image/png".into(),
                size: bytes.len() as i64,
                sha256,
                object_key: key,
                thumbnail_key: None,
                fields: "{}".into(),
            })
            .await
            .unwrap();
        let services_of = |scope: ProjectScope| ExecutionServices {
            store: store.clone(),
            scope,
            objects: f.objects.clone(),
            node_id: "shot-1".into(),
            progress: watch::channel((0.0, String::new())).0,
            http: None,
        };
        let mine = services_of(
            ProjectScope::open(store.clone(), &f.project_id)
                .await
                .unwrap(),
        );
        for answer in [
            mine.asset_metadata(&theirs.id).await.map(|_| ()),
            mine.read_asset(&theirs.id).await.map(|_| ()),
        ] {
            assert_eq!(answer, Err(ServiceError::NotFound(theirs.id.clone())));
        }
        assert_eq!(
            mine.read_asset("no-such-asset")
                .await
                .unwrap_err()
                .to_string(),
            "asset \"no-such-asset\" not found"
        );
        let owners = services_of(ProjectScope::open(store.clone(), &other.id).await.unwrap());
        assert_eq!(owners.read_asset(&theirs.id).await.unwrap(), bytes);
    }
}
