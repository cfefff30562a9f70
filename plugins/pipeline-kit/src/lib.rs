//! What the GPU pipeline plugins share: a small HTTP layer over the host's `fetch`
//! ([`net`]), a ComfyUI client and workflow editing ([`comfyui`], [`workflow`]), a Gradio
//! client for Wan2GP ([`gradio`]), the model registry with its fallback chains
//! ([`registry`]) and the generation request built from a shot's inputs ([`request`]).
//!
//! Everything here runs inside the sandbox and reaches the network only through
//! [`mdc_sdk::host::http_fetch`], so the operator's grants apply to every request.
#![warn(missing_docs)]

pub mod comfyui;
pub mod descriptor;
pub mod gradio;
pub mod net;
pub mod pipeline;
pub mod registry;
pub mod request;
pub mod wan2gp;
pub mod workflow;
