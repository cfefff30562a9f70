//! # mdc — Movie Director Canvas
//!
//! The library behind the one binary of the product (`src/main.rs` only parses arguments
//! and runs [`cli`]): the commands over the product's crates — the plugin tool chain
//! (`mdc plugin …`), the asset library (`mdc asset …`, over `mdc-library`) and the
//! storyboard (`mdc storyboard`, over `mdc-production`); the server (`mdc serve`) and remote
//! workers join it here.
//!
//! Whatever a plugin supplied is printed only through [`terminal`].

pub mod cli;
pub mod local_services;
pub mod terminal;
