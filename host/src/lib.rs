//! # mdc — Movie Director Canvas
//!
//! The library behind the one binary of the product (`src/main.rs` only parses arguments
//! and runs [`cli`]). Today it carries the plugin tool chain (`mdc plugin …`), the asset
//! library, the storyboard command and the production engine (workers, generator); the
//! server (`mdc serve`), remote workers and the registry commands join it here.
//!
//! Whatever a plugin supplied is printed only through [`terminal`].

pub mod cli;
pub mod http_client;
pub mod library;
pub mod local_services;
pub mod production;
pub mod terminal;
pub mod wire;
