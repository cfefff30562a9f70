//! Integration tests of the plugin engine against real guest components.
//!
//! Guests live in `runtime/tests/guests/*` and are compiled to `wasm32-wasip2` components by
//! `cargo xtask build-plugins` (which `cargo xtask test` runs first).

mod support;

mod calls;
mod contract;
mod hostile;
mod limits;
mod live;
mod loading;
mod quarantine;
mod tidy;
