//! Command-line interface: argument definitions and dispatch.

mod asset;
mod file_name;
mod gc;
mod json_input;
mod local;
mod plugin;
mod plugin_folders;
mod scaffold;
mod storyboard;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Movie Director Canvas: a collaborative node canvas for generative film production.
#[derive(Debug, Parser)]
#[command(name = "mdc", version, about)]
pub struct Cli {
    /// Folder for the compiled-plugin cache, installed plugins, the embedded database and
    /// the local object store.
    #[arg(long, env = "MDC_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, build, inspect and run node plugins.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Add, list, show, update and delete assets of a project's library.
    #[command(subcommand)]
    Asset(asset::AssetCommand),
    /// Break a screenplay down into shots and draw a storyboard frame for each (CPU, no GPU).
    Storyboard(storyboard::StoryboardArgs),
    /// Remove outputs no take kept and stored bytes nothing uses.
    Gc(gc::GcArgs),
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let data_dir = cli.data_dir.unwrap_or_else(default_data_dir);
    match cli.command {
        Command::Plugin(command) => plugin::run(command, &data_dir).await,
        Command::Storyboard(args) => storyboard::run(args, &data_dir).await,
        Command::Asset(command) => asset::run(command, &data_dir).await,
        Command::Gc(args) => gc::run(args, &data_dir).await,
    }
}

/// `$XDG_DATA_HOME/movie-director-canvas`, or `~/.local/share/movie-director-canvas`.
fn default_data_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("."))
                .join(".local/share")
        });
    base.join("movie-director-canvas")
}
