//! `mdc gc`: removes outputs no take kept and stored bytes no row uses, from the embedded
//! store of the data folder.

use std::time::Duration;

use clap::Args;
use mdc_library::{GcOptions, collect_garbage, human_size};

use super::local::open_stores;

/// Arguments of `mdc gc`.
#[derive(Debug, Args)]
pub struct GcArgs {
    /// Keep outputs younger than this many hours (a run still under way is never touched).
    #[arg(long, default_value_t = 24)]
    min_age_hours: u64,
    /// Say what would be removed; remove nothing.
    #[arg(long)]
    dry_run: bool,
}

/// Runs `mdc gc`.
pub async fn run(args: GcArgs, data_dir: &std::path::Path) -> anyhow::Result<()> {
    let (store, objects) = open_stores(data_dir).await?;
    let options = GcOptions {
        min_age: Duration::from_secs(args.min_age_hours.saturating_mul(3600)),
        dry_run: args.dry_run,
    };
    let report = collect_garbage(store.as_ref(), objects.as_ref(), options).await?;
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    println!(
        "{verb} {} orphaned output(s) ({}) and {} stored object(s)",
        report.outputs,
        human_size(report.output_bytes),
        report.objects
    );
    if report.skipped_projects > 0 {
        println!(
            "skipped {} project(s) with a take that cannot be read (see the log)",
            report.skipped_projects
        );
    }
    Ok(())
}
