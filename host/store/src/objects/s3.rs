//! Objects in an S3-compatible bucket (AWS S3, MinIO, Ceph, moto, …).

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_s3::primitives::ByteStream;

use super::{ObjectError, ObjectStore, check_key};

/// Where and how to reach the bucket.
#[derive(Clone)]
pub struct S3Config {
    /// Endpoint URL (`https://s3.eu-west-1.amazonaws.com`, `http://127.0.0.1:9000`).
    pub endpoint: String,
    /// Region name (`us-east-1` for most S3-compatible servers).
    pub region: String,
    /// Bucket name.
    pub bucket: String,
    /// Access key id.
    pub access_key: String,
    /// Secret access key.
    pub secret_key: String,
    /// Address buckets as `endpoint/bucket/key` (needed by most self-hosted servers).
    pub path_style: bool,
    /// Key prefix inside the bucket (`mdc/`), empty for none.
    pub prefix: String,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("access_key", &self.access_key)
            .field("secret_key", &"***")
            .field("path_style", &self.path_style)
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// Objects in an S3 bucket.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    prefix: String,
}

impl S3Store {
    /// A store for the configured bucket (no request is made yet).
    pub fn new(config: S3Config) -> S3Store {
        let credentials = Credentials::new(
            config.access_key,
            config.secret_key,
            None,
            None,
            "mdc-config",
        );
        let sdk = aws_sdk_s3::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(config.endpoint)
            .region(Region::new(config.region))
            .credentials_provider(credentials)
            .force_path_style(config.path_style)
            .build();
        S3Store {
            client: Client::from_conf(sdk),
            bucket: config.bucket,
            prefix: config.prefix,
        }
    }

    /// Creates the bucket if it does not exist (for development servers).
    pub async fn ensure_bucket(&self) -> Result<(), ObjectError> {
        if self
            .client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .is_ok()
        {
            return Ok(());
        }
        self.client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|err| {
                ObjectError::Io(format!(
                    "cannot create bucket {}: {}",
                    self.bucket,
                    DisplayErrorContext(&err)
                ))
            })?;
        Ok(())
    }

    fn full_key(&self, key: &str) -> Result<String, ObjectError> {
        check_key(key)?;
        Ok(format!("{}{key}", self.prefix))
    }
}

#[async_trait::async_trait]
impl ObjectStore for S3Store {
    async fn put(&self, key: &str, bytes: Vec<u8>, mime: &str) -> Result<(), ObjectError> {
        let full = self.full_key(key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&full)
            .content_type(mime)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|err| ObjectError::Io(format!("put {key}: {}", DisplayErrorContext(&err))))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, ObjectError> {
        let full = self.full_key(key)?;
        let answer = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&full)
            .send()
            .await;
        let output = match answer {
            Ok(output) => output,
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Err(ObjectError::NotFound(key.to_string()));
            }
            Err(err) => {
                return Err(ObjectError::Io(format!(
                    "get {key}: {}",
                    DisplayErrorContext(&err)
                )));
            }
        };
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|err| ObjectError::Io(format!("get {key}: reading the body: {err}")))?;
        Ok(bytes.into_bytes().to_vec())
    }

    async fn delete(&self, key: &str) -> Result<(), ObjectError> {
        let full = self.full_key(key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(&full)
            .send()
            .await
            .map_err(|err| {
                ObjectError::Io(format!("delete {key}: {}", DisplayErrorContext(&err)))
            })?;
        Ok(())
    }

    async fn exists(&self, key: &str) -> Result<bool, ObjectError> {
        let full = self.full_key(key)?;
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(&full)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(false),
            Err(err) if err.code() == Some("NotFound") || err.code() == Some("404") => Ok(false),
            Err(err) => Err(ObjectError::Io(format!(
                "head {key}: {}",
                DisplayErrorContext(&err)
            ))),
        }
    }

    async fn list(&self, folder: &str) -> Result<Vec<String>, ObjectError> {
        let full = format!("{}/", self.full_key(folder)?);
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&full)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| {
                ObjectError::Io(format!("list {folder}: {}", DisplayErrorContext(&err)))
            })?;
            for object in page.contents() {
                if let Some(key) = object.key().and_then(|k| k.strip_prefix(&self.prefix)) {
                    keys.push(key.to_string());
                }
            }
        }
        Ok(keys)
    }
}
