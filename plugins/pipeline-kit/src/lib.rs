//! What the GPU pipeline plugins share: a small HTTP layer over the host's `fetch`
//! ([`net`]), a ComfyUI client and workflow editing ([`comfyui`], [`workflow`]) that follows
//! a prompt live on ComfyUI's WebSocket ([`comfyui_live`]), a Gradio client for Wan2GP that
//! reads a job's event stream as it arrives ([`gradio`]), the model registry with its
//! fallback chains ([`registry`]) and the generation request built from a shot's inputs
//! ([`request`]).
//!
//! Everything here runs inside the sandbox and reaches the network only through the
//! contract's `http.fetch` and `live` streams ([`mdc_sdk::host::http_fetch`],
//! [`mdc_sdk::live`]), so the operator's grants apply to every request and socket.
#![warn(missing_docs)]

pub mod comfyui;
pub mod comfyui_live;
pub mod descriptor;
pub mod gradio;
pub mod net;
pub mod pipeline;
pub mod registry;
pub mod request;
pub mod wan2gp;
pub mod workflow;
