//! The asset library: characters, styles, environments and reference images that nodes
//! reference by opaque asset id (never a path), so an update reaches every node at once.
//!
//! - **Kinds and fields** ([`AssetKind`], `fields.rs`): character {name, age, role,
//!   personality, description}, style {keywords, palette, description, examples},
//!   environment {type, mood, dimension, description}, image {description}. Names and options
//!   are the ones the `character`, `style` and `environment` nodes read; values are
//!   normalised (`"34"` → `34`, `#ABC` → `#aabbcc`, comma text → a list) or refused with a
//!   sentence.
//! - **Images** (`upload.rs`): an upload over the size limit is refused before decoding; the
//!   bytes are sniffed (PNG, JPEG or WebP; the declared type and file name are never
//!   trusted), the header's pixel count is checked against the pixel limit, then the image is
//!   decoded and a PNG thumbnail (longest side 256 px) made.
//! - **Bytes** (`content.rs`): image and thumbnail go to the object store under content keys
//!   *before* the row that points at them; when the row fails they are removed again. Bytes
//!   are shared by content, so they are removed only when no asset row uses them.
//! - **A character or an environment** has at most one reference image (its own bytes); an
//!   asset may have none (mime empty, size 0). **A style's example images** are `image`
//!   assets of the same project whose ids the style lists in its `examples` field (the field
//!   the `style` node reads): uploading images with a style creates them; new uploads on an
//!   update replace the list (the former examples stay in the library as image assets).
//! - **Delete** (`usage.rs`) is refused while a node of the project's latest graph mentions
//!   the id in a parameter (an `asset-ref`, a plain value, or a string inside JSON) or a style
//!   lists the image as an example.
//! - **Garbage collection** (`gc.rs`, [`collect_garbage`]): outputs of runs that no take
//!   kept, once older than a day, and content bytes no row uses or upload pins.
//! - **Result cache** (`fingerprint.rs`): [`reference_fingerprint`] digests what referenced
//!   assets hold, so a node's cache key changes when an asset it references is updated.

mod content;
mod error;
mod fields;
mod fingerprint;
mod gc;
mod kind;
mod service;
mod upload;
mod usage;

#[cfg(test)]
mod tests;

pub use content::pin as pin_content;
pub use error::{LibraryError, human_size};
pub use fingerprint::{asset_ref_ids, reference_fingerprint};
pub use gc::{GcOptions, GcReport, collect_garbage};
pub use kind::AssetKind;
pub use service::{AssetLibrary, EntryChanges, ImageDetails, LibraryEntry, NewEntry};
pub use upload::{THUMBNAIL_SIDE, Upload, UploadLimits};
pub use usage::Referrer;
