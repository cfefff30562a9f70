//! The embedded store of the terminal commands: SQLite and the object folder in the data
//! folder, and the local user who owns projects made from the terminal.

use std::path::Path;
use std::sync::Arc;

use mdc_store::objects::{LocalDirStore, ObjectStore};
use mdc_store::{Page, Project, SqlStore, Store};

const LOCAL_EMAIL: &str = "local@localhost";

/// The store and object store in `data_dir` (`mdc.db` and `objects/`).
pub async fn open_stores(
    data_dir: &Path,
) -> anyhow::Result<(Arc<dyn Store>, Arc<dyn ObjectStore>)> {
    let store: Arc<dyn Store> = Arc::new(SqlStore::open_sqlite(&data_dir.join("mdc.db")).await?);
    let objects: Arc<dyn ObjectStore> = Arc::new(LocalDirStore::new(data_dir.join("objects")));
    Ok((store, objects))
}

/// The project with this id or name, if any.
pub async fn find_project(store: &dyn Store, name_or_id: &str) -> anyhow::Result<Option<Project>> {
    let projects = store.list_projects(Page::first(Page::MAX_LIMIT)).await?;
    Ok(projects
        .iter()
        .find(|p| p.id == name_or_id)
        .or_else(|| projects.iter().find(|p| p.name == name_or_id))
        .cloned())
}

/// The id of the project named `title`, created (owned by the local user) when missing.
pub async fn open_project(store: &dyn Store, title: &str) -> anyhow::Result<String> {
    if let Some(project) = find_project(store, title).await? {
        return Ok(project.id);
    }
    let user = match store.user_by_email(LOCAL_EMAIL).await? {
        Some(user) => user,
        None => store.create_user("Local user", LOCAL_EMAIL).await?,
    };
    Ok(store.create_project(title, &user.id).await?.id)
}
