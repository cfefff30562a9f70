//! CPU drawing shared by the shot and sequence plugins: draft storyboard
//! frames ([`render_draft_frame`]), contact sheets ([`render_contact_sheet`]),
//! text in the embedded DejaVu Sans faces, and PNG encoding and decoding.
//!
//! Nothing here talks to a host: the crate builds for `wasm32-wasip2` inside
//! plugins and natively for tests and benchmarks alike.
#![warn(missing_docs)]

pub mod canvas;
pub mod draft;
pub mod rng;
pub mod sheet;
pub mod text;

pub use canvas::{Canvas, Rect, Rgb, parse_hex, rgb};
pub use draft::{Aspect, FrameContext, Mood, Setting, draw_draft_frame, render_draft_frame};
pub use sheet::{SheetTile, draw_contact_sheet, render_contact_sheet, thumbnail_size};
pub use text::{Face, TextStyle};
