//! The GPU pipeline plugins (comfyui, function-runner, wan2gp, and the shot's Standard and
//! High tiers) run by the real `mdc` binary against local servers that speak the
//! backends' documented protocols: queueing, live progress (ComfyUI's WebSocket, Gradio's
//! event stream), previews, history, file download, error answers and a backend that dies
//! mid-job.

mod fake_comfyui;
mod fake_gradio;
mod support;

mod comfyui;
mod function_runner;
mod shot_tiers;
mod wan2gp;
