//! Garbage collection: outputs no take kept, and bytes no row uses.
//!
//! - **Orphaned outputs.** A plugin writes its output files while it runs; the take that
//!   lists them is recorded when it finishes. A run that failed, was cancelled or lost its
//!   worker leaves `output` assets that no take lists. Those older than
//!   [`GcOptions::min_age`] (by default a day: far longer than any run may take, so the
//!   outputs of a run still under way are never touched) and not mentioned by the project's
//!   latest graph are deleted.
//! - **Unreferenced objects.** Content-addressed bytes (`objects/…`) that no asset row uses
//!   and no upload has pinned: left by a process that died between writing bytes and their
//!   row, or by a removal that failed. Each goes through the same compare-and-set removal as
//!   a delete ([`crate::content`]), so bytes an upload is writing again are kept.

use std::collections::HashSet;
use std::time::Duration;

use mdc_runtime::plugin::types::Value;
use mdc_store::objects::ObjectStore;
use mdc_store::{Asset, Page, Project, Store};

use crate::LibraryError;
use crate::content;

/// What a collection may remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcOptions {
    /// Outputs younger than this are kept whatever refers to them.
    pub min_age: Duration,
    /// Count what would be removed, remove nothing.
    pub dry_run: bool,
}

impl Default for GcOptions {
    fn default() -> GcOptions {
        GcOptions {
            min_age: Duration::from_secs(24 * 3600),
            dry_run: false,
        }
    }
}

/// What a collection removed (or, dry, would remove).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Output assets no take lists.
    pub outputs: u64,
    /// Their size in bytes (shared bytes counted once per asset).
    pub output_bytes: u64,
    /// Objects removed from the object store: the outputs' bytes and any that no row used.
    pub objects: u64,
    /// Projects skipped because one of their takes could not be read (nothing of theirs is
    /// removed while what they keep is unknown).
    pub skipped_projects: u64,
}

/// The content folder of the object store.
const CONTENT_FOLDER: &str = "objects";

/// Removes orphaned outputs of every project, then unreferenced objects; see the module
/// documentation.
pub async fn collect_garbage(
    store: &dyn Store,
    objects: &dyn ObjectStore,
    options: GcOptions,
) -> Result<GcReport, LibraryError> {
    let mut report = GcReport::default();
    let cutoff = mdc_store::now_millis() - options.min_age.as_millis() as i64;
    let mut offset = 0;
    loop {
        let page = Page {
            offset,
            limit: Page::MAX_LIMIT,
        };
        let projects = store.list_projects(page).await?;
        for project in &projects {
            let Some(orphans) = orphaned_outputs(store, project, cutoff).await? else {
                report.skipped_projects += 1;
                continue;
            };
            for asset in orphans {
                report.outputs += 1;
                report.output_bytes += asset.data.size.max(0) as u64;
                if options.dry_run {
                    continue;
                }
                let deleted = match store.delete_asset(&asset.id).await {
                    Ok(deleted) => deleted,
                    Err(mdc_store::StoreError::NotFound { .. }) => continue,
                    Err(err) => return Err(err.into()),
                };
                let mut keys = vec![deleted.data.object_key];
                keys.extend(deleted.data.thumbnail_key);
                report.objects += content::release(store, objects, &keys).await;
            }
        }
        if projects.len() < Page::MAX_LIMIT as usize {
            break;
        }
        offset += Page::MAX_LIMIT;
    }
    for key in objects.list(CONTENT_FOLDER).await? {
        if options.dry_run {
            if store.assets_using_object(&key).await? == 0 {
                report.objects += 1;
            }
        } else {
            report.objects += content::release(store, objects, std::slice::from_ref(&key)).await;
        }
    }
    Ok(report)
}

/// The project's `output` assets created before `cutoff` that no take lists and its latest
/// graph does not mention; `None` when a take cannot be read.
async fn orphaned_outputs(
    store: &dyn Store,
    project: &Project,
    cutoff: i64,
) -> Result<Option<Vec<Asset>>, LibraryError> {
    let mut candidates = Vec::new();
    let mut offset = 0;
    loop {
        let page = Page {
            offset,
            limit: Page::MAX_LIMIT,
        };
        let assets = store.list_assets(&project.id, Some("output"), page).await?;
        let full = assets.len() == Page::MAX_LIMIT as usize;
        candidates.extend(assets.into_iter().filter(|a| a.created_at < cutoff));
        if !full {
            break;
        }
        offset += Page::MAX_LIMIT;
    }
    if candidates.is_empty() {
        return Ok(Some(candidates));
    }
    let mut kept: HashSet<String> = HashSet::new();
    let mut after: Option<String> = None;
    loop {
        let takes = store
            .project_takes(&project.id, after.as_deref(), Page::MAX_LIMIT)
            .await?;
        for take in &takes {
            match mdc_wire::decode_outputs(&take.outputs) {
                Ok(outputs) => {
                    kept.extend(outputs.values.into_iter().filter_map(|v| match v.value {
                        Value::Asset(asset) => Some(asset.id),
                        _ => None,
                    }))
                }
                Err(err) => {
                    tracing::warn!(take = %take.id, %err, "a take cannot be read; its project is skipped");
                    return Ok(None);
                }
            }
        }
        match takes.last() {
            Some(last) if takes.len() == Page::MAX_LIMIT as usize => after = Some(last.id.clone()),
            _ => break,
        }
    }
    // An output the user pointed a node at (a parameter naming its id) is kept too.
    let graph = store
        .latest_graph(&project.id)
        .await?
        .map(|version| version.snapshot)
        .unwrap_or_default();
    candidates.retain(|asset| !kept.contains(&asset.id) && !graph.contains(&asset.id));
    Ok(Some(candidates))
}
