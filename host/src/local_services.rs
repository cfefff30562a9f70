//! Host services for running a plugin from the terminal: local files as assets, an output
//! folder for written files, a progress bar, and a real HTTP client for granted origins.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use indicatif::ProgressBar;
use mdc_runtime::plugin::types::{
    AssetMetadata, AssetRef, HttpError, HttpRequest, HttpResponse, LogLevel, ServiceError,
    SocketRequest,
};
use mdc_runtime::plugin::{BodyStream, HostServices, SocketStream};

use crate::terminal;
use mdc_outbound::HttpClient;

/// Local files registered as assets under opaque ids (`asset-1`, …).
#[derive(Debug, Default)]
pub struct LocalAssets {
    files: Mutex<BTreeMap<String, (PathBuf, String)>>,
}

impl LocalAssets {
    /// Registers a file and returns its asset reference.
    pub fn add_file(&self, path: PathBuf) -> anyhow::Result<AssetRef> {
        anyhow::ensure!(
            path.is_file(),
            "asset file {} does not exist",
            path.display()
        );
        let mime = mime_for(&path).to_string();
        let mut files = self.files.lock().expect("assets lock");
        let id = format!("asset-{}", files.len() + 1);
        files.insert(id.clone(), (path, mime.clone()));
        Ok(AssetRef { id, mime })
    }

    fn get(&self, id: &str) -> Result<(PathBuf, String), ServiceError> {
        self.files
            .lock()
            .expect("assets lock")
            .get(id)
            .cloned()
            .ok_or_else(|| ServiceError::NotFound(id.to_string()))
    }
}

/// A file a plugin wrote.
#[derive(Debug, Clone)]
pub struct WrittenOutput {
    /// Asset id handed to the plugin.
    pub id: String,
    /// Where it was saved.
    pub path: PathBuf,
}

/// Outputs in the order written, and where each id is among them: looking one up stays
/// constant-time however many a plugin writes.
#[derive(Debug, Default)]
struct Written {
    outputs: Vec<WrittenOutput>,
    by_id: HashMap<String, usize>,
}

/// Services for `mdc plugin run`.
pub struct TerminalServices {
    /// Assets given on the command line.
    pub assets: LocalAssets,
    out_dir: PathBuf,
    written: Mutex<Written>,
    bar: ProgressBar,
    http: HttpClient,
    previews: Mutex<u32>,
}

impl TerminalServices {
    /// Services writing outputs into `out_dir` and showing progress on `bar`.
    pub fn new(out_dir: PathBuf, bar: ProgressBar, http: HttpClient) -> TerminalServices {
        TerminalServices {
            assets: LocalAssets::default(),
            out_dir,
            written: Mutex::new(Written::default()),
            bar,
            http,
            previews: Mutex::new(0),
        }
    }

    /// Previews received so far; the latest is saved as `preview.<ext>` in the output folder.
    pub fn previews(&self) -> u32 {
        *self.previews.lock().expect("previews lock")
    }

    /// Files written so far.
    pub fn written(&self) -> Vec<WrittenOutput> {
        self.written.lock().expect("written lock").outputs.clone()
    }

    /// Where a written asset id was saved.
    pub fn path_of(&self, id: &str) -> Option<PathBuf> {
        let written = self.written.lock().expect("written lock");
        let index = *written.by_id.get(id)?;
        Some(written.outputs[index].path.clone())
    }
}

#[async_trait::async_trait]
impl HostServices for TerminalServices {
    fn log(&self, level: LogLevel, message: &str) {
        self.bar.println(log_line(level, message));
    }

    fn progress(&self, fraction: f32, message: &str) {
        self.bar.set_position((fraction * 1000.0).round() as u64);
        self.bar.set_message(terminal::line(message).into_owned());
    }

    async fn asset_metadata(&self, id: &str) -> Result<AssetMetadata, ServiceError> {
        let (path, mime) = self.assets.get(id)?;
        let size = std::fs::metadata(&path)
            .map(|m| m.len())
            .map_err(|err| ServiceError::Unavailable(format!("asset {id:?}: {err}")))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(AssetMetadata {
            id: id.to_string(),
            mime,
            size,
            name,
            kind: "file".into(),
            fields: "{}".into(),
        })
    }

    async fn read_asset(&self, id: &str) -> Result<Vec<u8>, ServiceError> {
        let (path, _) = self.assets.get(id)?;
        tokio::fs::read(&path)
            .await
            .map_err(|err| ServiceError::Unavailable(format!("asset {id:?}: {err}")))
    }

    async fn write_output(&self, mime: &str, bytes: Vec<u8>) -> Result<String, ServiceError> {
        let mut written = self.written.lock().expect("written lock");
        let id = format!("output-{}", written.outputs.len() + 1);
        let path = self.out_dir.join(format!("{id}.{}", extension_for(mime)));
        std::fs::write(&path, &bytes)
            .map_err(|err| ServiceError::Unavailable(format!("cannot save output: {err}")))?;
        let index = written.outputs.len();
        written.by_id.insert(id.clone(), index);
        written.outputs.push(WrittenOutput {
            id: id.clone(),
            path,
        });
        Ok(id)
    }

    async fn http_fetch(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        self.http.fetch(request).await
    }

    async fn http_open(&self, request: HttpRequest) -> Result<Box<dyn BodyStream>, HttpError> {
        Ok(Box::new(self.http.open(request).await?))
    }

    async fn socket_connect(
        &self,
        request: SocketRequest,
    ) -> Result<Box<dyn SocketStream>, HttpError> {
        Ok(Box::new(self.http.connect(request).await?))
    }

    fn preview(&self, mime: &str, bytes: &[u8]) {
        let path = self
            .out_dir
            .join(format!("preview.{}", extension_for(mime)));
        match std::fs::write(&path, bytes) {
            Ok(()) => *self.previews.lock().expect("previews lock") += 1,
            Err(err) => self.bar.println(format!(
                "  [warn] cannot save the preview to {}: {err}",
                path.display()
            )),
        }
    }
}

/// A plugin's log message as the terminal shows it: `  [info] message`, the message kept on
/// its one line and unable to drive the terminal ([`terminal::line`]).
pub fn log_line(level: LogLevel, message: &str) -> String {
    let tag = match level {
        LogLevel::Trace => "trace",
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
    };
    format!("  [{tag}] {}", terminal::line(message))
}

/// Media type guessed from a file name.
pub fn mime_for(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("webp") => "image/webp",
        Some("gif") => "image/gif",
        Some("mp4") => "video/mp4",
        Some("webm") => "video/webm",
        Some("json") => "application/json",
        Some("txt" | "fountain" | "md") => "text/plain",
        _ => "application/octet-stream",
    }
}

/// File extension for a media type.
pub fn extension_for(mime: &str) -> &'static str {
    match mime {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "video/mp4" => "mp4",
        "video/webm" => "webm",
        "application/json" => "json",
        m if m.starts_with("text/") => "txt",
        _ => "bin",
    }
}

/// Creates the output folder, refusing to write into a file.
pub fn prepare_out_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create output folder {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use mdc_outbound::HttpSettings;

    #[tokio::test]
    async fn finding_where_outputs_were_saved_takes_linear_time() {
        let out = tempfile::tempdir().unwrap();
        let services = TerminalServices::new(
            out.path().to_path_buf(),
            ProgressBar::hidden(),
            HttpClient::new(&HttpSettings::new(Duration::from_secs(1), 1024)).unwrap(),
        );
        let mut ids = Vec::new();
        for _ in 0..20_000 {
            ids.push(services.write_output("text/plain", vec![]).await.unwrap());
        }
        // Listing every output looks each one up: 20,000 look-ups must not cost 20,000².
        let started = Instant::now();
        for id in &ids {
            assert!(services.path_of(id).is_some());
        }
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
        assert_eq!(
            services.path_of("output-20000"),
            Some(out.path().join("output-20000.txt"))
        );
        assert_eq!(services.written().len(), 20_000);
    }
}
