//! `mdc asset add|list|show|update|rm`: the project library from the terminal, on the same
//! embedded store as `mdc storyboard`. Output names assets by id and never shows where their
//! bytes are kept.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use mdc_store::Store;
use serde_json::Value as Json;

use super::local::{find_project, open_project, open_stores};
use mdc_library::{
    AssetKind, AssetLibrary, EntryChanges, LibraryEntry, NewEntry, Upload, UploadLimits, human_size,
};

/// Sub-commands of `mdc asset`.
#[derive(Debug, Subcommand)]
pub enum AssetCommand {
    /// Add a character, style, environment or image to a project's library.
    Add(AddArgs),
    /// List library assets, of one project or of all.
    List(ListArgs),
    /// Show an asset: its fields, image and thumbnail.
    Show {
        /// The asset id.
        id: String,
    },
    /// Change an asset's name, fields or image; every node referencing it sees the change.
    Update(UpdateArgs),
    /// Delete an asset no node references.
    Rm {
        /// The asset id.
        id: String,
    },
}

/// Arguments of `mdc asset add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// character, style, environment or image.
    #[arg(value_parser = parse_kind)]
    kind: AssetKind,
    /// The project, by name or id (created when no project has this name).
    #[arg(long)]
    project: String,
    /// The asset's name in the library.
    #[arg(long)]
    name: String,
    #[command(flatten)]
    content: ContentArgs,
}

/// Arguments of `mdc asset list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this project, by name or id.
    #[arg(long)]
    project: Option<String>,
    /// Only this kind.
    #[arg(long, value_parser = parse_kind)]
    kind: Option<AssetKind>,
}

/// Arguments of `mdc asset update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The asset id.
    id: String,
    /// A new name.
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    content: ContentArgs,
}

/// Fields, images and upload limits, shared by `add` and `update`.
#[derive(Debug, Args)]
struct ContentArgs {
    /// A field, `KEY=VALUE` (repeatable); an empty value removes the field on update.
    #[arg(long = "field", value_name = "KEY=VALUE")]
    fields: Vec<String>,
    /// An image file (PNG, JPEG or WebP; repeatable for a style's example images). On update
    /// it replaces the image (or a style's examples).
    #[arg(long = "image", value_name = "FILE")]
    images: Vec<PathBuf>,
    /// Largest image file accepted, in bytes.
    #[arg(long, env = "MDC_MAX_UPLOAD_BYTES", default_value_t = UploadLimits::default().max_bytes)]
    max_upload_bytes: u64,
    /// Most pixels an image may have.
    #[arg(long, env = "MDC_MAX_IMAGE_PIXELS", default_value_t = UploadLimits::default().max_pixels)]
    max_image_pixels: u64,
}

impl ContentArgs {
    fn limits(&self) -> UploadLimits {
        UploadLimits {
            max_bytes: self.max_upload_bytes,
            max_pixels: self.max_image_pixels,
        }
    }

    fn fields(&self) -> anyhow::Result<Vec<(String, Json)>> {
        self.fields
            .iter()
            .map(|pair| match pair.split_once('=') {
                Some((key, value)) => Ok((key.trim().to_string(), Json::from(value))),
                None => bail!("--field expects KEY=VALUE, got “{pair}”"),
            })
            .collect()
    }

    /// Reads the image files, at most one byte over the limit each (the library refuses it).
    fn uploads(&self) -> anyhow::Result<Vec<Upload>> {
        self.images
            .iter()
            .map(|path| read_upload(path, self.max_upload_bytes))
            .collect()
    }
}

fn parse_kind(text: &str) -> Result<AssetKind, String> {
    AssetKind::parse(text).map_err(|err| err.to_string())
}

fn read_upload(path: &Path, limit: u64) -> anyhow::Result<Upload> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open the image {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read the image {}", path.display()))?;
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Upload { file_name, bytes })
}

/// Runs an `mdc asset` command.
pub async fn run(command: AssetCommand, data_dir: &Path) -> anyhow::Result<()> {
    let (store, objects) = open_stores(data_dir).await?;
    let library = AssetLibrary::new(store.clone(), objects);
    match command {
        AssetCommand::Add(args) => {
            let library = library.with_limits(args.content.limits());
            let project_id = open_project(store.as_ref(), &args.project).await?;
            let entry = library
                .create(NewEntry {
                    project_id,
                    kind: args.kind,
                    name: args.name,
                    fields: args.content.fields()?,
                    images: args.content.uploads()?,
                })
                .await
                .with_context(|| format!("cannot add the {}", args.kind))?;
            println!("{}", described("Added", &entry));
        }
        AssetCommand::List(args) => list(&library, store.as_ref(), args).await?,
        AssetCommand::Show { id } => show(&library, store.as_ref(), &id).await?,
        AssetCommand::Update(args) => {
            let library = library.with_limits(args.content.limits());
            let images = if args.content.images.is_empty() {
                None
            } else {
                Some(args.content.uploads()?)
            };
            let entry = library
                .update(
                    &args.id,
                    EntryChanges {
                        name: args.name,
                        fields: args.content.fields()?,
                        images,
                    },
                )
                .await
                .with_context(|| format!("cannot update asset {}", args.id))?;
            println!("{}", described("Updated", &entry));
        }
        AssetCommand::Rm { id } => {
            let entry = library
                .delete(&id)
                .await
                .with_context(|| format!("cannot delete asset {id}"))?;
            println!("{}", described("Deleted", &entry));
        }
    }
    Ok(())
}

/// `Added character “Maya” (0190…).`
fn described(verb: &str, entry: &LibraryEntry) -> String {
    format!(
        "{verb} {} “{}” ({}).",
        entry.kind, entry.asset.data.name, entry.asset.id
    )
}

async fn list(library: &AssetLibrary, store: &dyn Store, args: ListArgs) -> anyhow::Result<()> {
    let projects = match &args.project {
        Some(wanted) => vec![
            find_project(store, wanted)
                .await?
                .with_context(|| format!("there is no project “{wanted}”"))?,
        ],
        None => {
            store
                .list_projects(mdc_store::Page::first(mdc_store::Page::MAX_LIMIT))
                .await?
        }
    };
    let mut shown = 0;
    for project in projects {
        let entries = library.list(&project.id, args.kind).await?;
        if entries.is_empty() {
            continue;
        }
        println!("{}:", project.name);
        for entry in &entries {
            println!(
                "  {}  {:<11}  {}  ({})",
                entry.asset.id,
                entry.kind.as_str(),
                entry.asset.data.name,
                content_summary(entry)
            );
        }
        shown += entries.len();
    }
    if shown == 0 {
        println!("No library assets.");
    }
    Ok(())
}

/// `PNG, 12.3 KiB`, `2 example images` or `no image`.
fn content_summary(entry: &LibraryEntry) -> String {
    if entry.has_image() {
        format!(
            "{}, {}",
            format_name(&entry.asset.data.mime),
            human_size(entry.asset.data.size as u64)
        )
    } else if entry.kind == AssetKind::Style {
        match entry.examples().len() {
            1 => "1 example image".to_string(),
            n => format!("{n} example images"),
        }
    } else {
        "no image".to_string()
    }
}

/// `image/png` → `PNG`.
fn format_name(mime: &str) -> String {
    mime.strip_prefix("image/").unwrap_or(mime).to_uppercase()
}

async fn show(library: &AssetLibrary, store: &dyn Store, id: &str) -> anyhow::Result<()> {
    let entry = library.get(id).await?;
    let project = store.project(&entry.asset.data.project_id).await?;
    println!("{} ({})", entry.asset.data.name, entry.kind);
    println!("  id:        {}", entry.asset.id);
    println!("  project:   {}", project.name);
    match library.image_details(&entry).await? {
        Some(details) => {
            let format = format_name(&entry.asset.data.mime);
            let size = human_size(details.size);
            match details.dimensions {
                Some((w, h)) => println!("  image:     {format}, {w}×{h} pixels, {size}"),
                None => println!("  image:     {format}, {size}"),
            }
            match details.thumbnail {
                Some((w, h, bytes)) => {
                    println!("  thumbnail: PNG, {w}×{h} pixels, {}", human_size(bytes))
                }
                None => println!("  thumbnail: none"),
            }
        }
        None => println!("  image:     none"),
    }
    let fields: Vec<_> = entry
        .fields
        .iter()
        .filter(|(key, _)| key.as_str() != "examples")
        .collect();
    if !fields.is_empty() {
        println!("  fields:");
        for (key, value) in fields {
            println!("    {key}: {}", field_text(value));
        }
    }
    let examples = entry.examples();
    if !examples.is_empty() {
        println!("  examples:");
        for example in examples {
            match library.get(&example).await {
                Ok(image) => println!(
                    "    {}  {}  ({})",
                    image.asset.id,
                    image.asset.data.name,
                    content_summary(&image)
                ),
                Err(err) => println!("    {example}  ({err})"),
            }
        }
    }
    Ok(())
}

/// A field value as a person writes it: `noir, rain-slick`, `34`.
fn field_text(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        Json::Array(items) => items.iter().map(field_text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}
