//! Why a library operation was refused or failed, in sentences a user understands.

use mdc_store::StoreError;
use mdc_store::objects::ObjectError;

use super::usage::Referrer;

/// Why a library operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    /// The bytes are not a decodable PNG, JPEG or WebP image, whatever the file is called.
    #[error("“{file}” is not an image (PNG, JPEG or WebP)")]
    NotAnImage {
        /// The name the upload came with.
        file: String,
    },
    /// The upload is larger than the configured limit (checked before decoding).
    #[error("“{file}” is {} but uploads are limited to {}", human_size(*size), human_size(*limit))]
    TooLarge {
        /// The name the upload came with.
        file: String,
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The image decodes to more pixels than allowed (a decompression bomb or a huge scan).
    #[error(
        "“{file}” is {width}×{height} pixels ({}) but images are limited to {}",
        pixels(*width as u64 * *height as u64),
        pixels(*limit)
    )]
    TooManyPixels {
        /// The name the upload came with.
        file: String,
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// The limit in pixels.
        limit: u64,
    },
    /// The kind is not one the library keeps.
    #[error("“{0}” is not a kind of library asset; use character, style, environment or image")]
    UnknownKind(String),
    /// The asset exists but is not a library asset (a generated output, for instance).
    #[error("asset {id} is a generated {kind}, not a library asset")]
    NotLibraryAsset {
        /// The asset id.
        id: String,
        /// Its stored kind.
        kind: String,
    },
    /// No asset with this id.
    #[error("there is no asset {0} in the library")]
    NotFound(String),
    /// No project with this id.
    #[error("there is no project {0}")]
    ProjectNotFound(String),
    /// The name is empty.
    #[error("an asset needs a name")]
    NoName,
    /// A field the kind does not have.
    #[error("a {kind} has no field “{field}”; its fields are {known}")]
    UnknownField {
        /// The asset kind.
        kind: &'static str,
        /// The field given.
        field: String,
        /// The fields the kind has, comma-separated.
        known: String,
    },
    /// A field value breaks the field's rule.
    #[error("{kind} field “{field}”: {reason}")]
    InvalidField {
        /// The asset kind.
        kind: &'static str,
        /// The field.
        field: String,
        /// What is wrong and how to write it.
        reason: String,
    },
    /// Too many or too few images for the kind.
    #[error("{0}")]
    ImageCount(String),
    /// A style example that is not an image asset of the same project.
    #[error("style example {id}: {reason}")]
    BadExample {
        /// The id given as an example.
        id: String,
        /// Why it cannot be an example.
        reason: String,
    },
    /// Deletion refused: the asset is still referenced.
    #[error(
        "“{name}” is still used by {}: {}; remove those references first",
        plural(referrers.len(), "reference"),
        referrers.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    )]
    InUse {
        /// The asset's name.
        name: String,
        /// Who references it.
        referrers: Vec<Referrer>,
    },
    /// The project's saved graph cannot be read, so references cannot be checked.
    #[error("the project's saved graph cannot be read ({0}); nothing was deleted")]
    UnreadableGraph(String),
    /// The database failed.
    #[error("the library's database failed: {0}")]
    Store(#[from] StoreError),
    /// The object storage failed.
    #[error("the library's file storage failed: {0}")]
    Objects(#[from] ObjectError),
    /// Image processing stopped unexpectedly.
    #[error("image processing failed: {0}")]
    Processing(String),
}

/// A byte count for people: `812 bytes`, `12.3 KiB`, `25.0 MiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 3] = ["KiB", "MiB", "GiB"];
    if bytes < 1024 {
        return plural(bytes as usize, "byte");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `40.0 megapixels`, or `1000 pixels` for small counts.
fn pixels(count: u64) -> String {
    if count >= 100_000 {
        format!("{:.1} megapixels", count as f64 / 1_000_000.0)
    } else {
        plural(count as usize, "pixel")
    }
}

fn plural(count: usize, word: &str) -> String {
    if count == 1 {
        format!("1 {word}")
    } else {
        format!("{count} {word}s")
    }
}
