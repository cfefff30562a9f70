//! What the CLI prints that a plugin supplied: the runtime's [`printable`] escapes, and
//! plugin errors as errors whose message is safe to print.
//!
//! [`printable`]: mdc_runtime::plugin::printable

pub use mdc_runtime::plugin::printable::{block, json, line, message};

/// An error from loading or calling a plugin (its message carries plugin text) as an error
/// whose message is safe to print: see [`block`].
pub fn plugin_error(err: impl std::fmt::Display) -> anyhow::Error {
    anyhow::Error::msg(block(&err.to_string()))
}
