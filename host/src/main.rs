//! # mdc — Movie Director Canvas
//!
//! The one binary of the product: parses the command line and runs it (see the `mdc`
//! library for everything else).

use clap::Parser;
use mdc::cli;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MDC_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = cli::Cli::parse();
    match cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", mdc::terminal::message(&format!("{err:#}")));
            std::process::ExitCode::FAILURE
        }
    }
}
