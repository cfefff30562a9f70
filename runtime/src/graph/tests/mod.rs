//! Tests of the graph model, written as text fixtures with expected text.

mod catalog;
mod diff;
mod fixture;
mod model;
mod patch;
mod validate;
