//! `mdc storyboard SCREENPLAY`: the main job from the terminal. Creates (or reopens) a project
//! on the embedded store, breaks the screenplay down into scenes and shots, generates a draft
//! frame for every shot and a contact sheet per scene, and writes them to a folder. Run again
//! after an edit, it regenerates only what changed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mdc_runtime::graph::{Graph, NodeId, SUBFLOW_TYPE, apply_patch, diff};
use mdc_runtime::plugin::types::{
    ActionInput, GraphNode, GraphPatch, NodeInput, ParamEntry, ParamValue, PatchEdge, PatchNode,
    QualityTier, Value,
};
use mdc_runtime::plugin::{CallContext, EngineConfig, PluginEngine};
use mdc_store::objects::ObjectStore;
use mdc_store::{Store, Tier};

use super::local::{open_project, open_stores};
use crate::production::{
    GenerateEvent, GenerateRequest, Generator, NodeResult, PluginSet, TierQueue, WorkerPool,
};
use crate::wire::{decode_graph, encode_graph};

/// Arguments of `mdc storyboard`.
#[derive(Debug, Args)]
pub struct StoryboardArgs {
    /// The screenplay (Fountain or plain text with scene headings).
    screenplay: PathBuf,
    /// Where frames and contact sheets are written.
    #[arg(long, default_value = "storyboard")]
    out: PathBuf,
    /// Folders of plugin components (default: DATA_DIR/plugins and the plugins built from source).
    #[arg(long)]
    plugins: Vec<PathBuf>,
    /// Seed for every frame.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Plugin executions at once.
    #[arg(long, default_value_t = 2)]
    workers: usize,
}

const SCRIPT_NODE: &str = "script";

/// Runs the storyboard job.
pub async fn run(args: StoryboardArgs, data_dir: &Path) -> anyhow::Result<()> {
    let screenplay = std::fs::read_to_string(&args.screenplay)
        .with_context(|| format!("cannot read the screenplay {}", args.screenplay.display()))?;
    let (store, objects) = open_stores(data_dir).await?;
    let plugins = Arc::new(load_plugins(&args.plugins, data_dir).await?);
    for needed in ["script", "character", "shot", "sequence"] {
        plugins.require(needed)?;
    }

    let title = args
        .screenplay
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let project_id = open_project(store.as_ref(), &title).await?;
    let before = match store.latest_graph(&project_id).await? {
        Some(version) => decode_graph(&serde_json::from_str(&version.snapshot)?)?,
        None => Graph::new(),
    };
    let mut graph = before.clone();
    let summary = break_down(&plugins, &mut graph, &screenplay).await?;
    println!("{summary}");
    add_contact_sheets(&plugins, &mut graph)?;
    if !diff(&before, &graph).is_empty() {
        let snapshot = encode_graph(&graph).to_string();
        let version = store
            .save_graph(
                &project_id,
                &snapshot,
                None,
                "storyboard: break down to shots",
            )
            .await?;
        println!(
            "Saved graph version {} of project {title:?}.",
            version.version
        );
    }

    let pool = WorkerPool::start(
        store.clone(),
        objects.clone(),
        plugins.clone(),
        vec![TierQueue::defaults(Tier::Low).with_concurrency(args.workers)],
        "storyboard",
    )?;
    let generator = Generator::new(
        store.clone(),
        plugins.clone(),
        pool.waker(),
        pool.finished(),
    );
    let sequences: Vec<NodeId> = graph
        .nodes()
        .filter(|n| n.type_id == "sequence")
        .map(|n| n.id.clone())
        .collect();
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .expect("template"),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let events = |event: GenerateEvent| match event {
        GenerateEvent::Planned { steps } => bar.set_length(steps as u64),
        GenerateEvent::NodeDone {
            name,
            reused,
            failed,
            ..
        } => {
            bar.inc(1);
            bar.set_message(format!(
                "{name}{}",
                if reused {
                    " (reused)"
                } else if failed {
                    " (failed)"
                } else {
                    ""
                }
            ));
        }
    };
    let report = generator
        .generate(
            &project_id,
            &graph,
            &sequences,
            &GenerateRequest::draft(args.seed),
            &events,
        )
        .await;
    bar.finish_and_clear();
    pool.stop().await;
    let report = report?;

    let written =
        write_outputs(&graph, &report, store.as_ref(), objects.as_ref(), &args.out).await?;
    let shots: Vec<&str> = graph
        .nodes()
        .filter(|n| n.type_id == "shot")
        .map(|n| n.id.as_str())
        .collect();
    let count = |wanted: fn(&NodeResult) -> bool| {
        report
            .nodes
            .iter()
            .filter(|(id, r)| shots.contains(&id.as_str()) && wanted(r))
            .count()
    };
    let generated = count(|r| matches!(r, NodeResult::Generated(_)));
    let reused = count(|r| matches!(r, NodeResult::Reused(_)));
    println!(
        "{} shots: {generated} generated, {reused} reused. {written} files written to {}",
        shots.len(),
        args.out.display()
    );
    let failures: Vec<String> = report
        .nodes
        .iter()
        .filter_map(|(id, result)| match result {
            NodeResult::Failed(error) | NodeResult::Skipped(error) => {
                Some(format!("  {}: {error}", graph.name_of(id.as_str())))
            }
            _ => None,
        })
        .collect();
    if !failures.is_empty() {
        bail!(
            "{} node(s) did not succeed:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
    Ok(())
}

async fn load_plugins(given: &[PathBuf], data_dir: &Path) -> anyhow::Result<PluginSet> {
    let engine = PluginEngine::new(EngineConfig {
        cache_dir: Some(data_dir.join("code-cache")),
        ..Default::default()
    })?;
    // Built from source, `cargo xtask build-plugins` puts them beside the binary's profile folder.
    let built = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(|target| target.join("plugins")))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/plugins"));
    let installed = data_dir.join("plugins");
    let dirs: Vec<&Path> = if given.is_empty() {
        vec![installed.as_path(), built.as_path()]
    } else {
        given.iter().map(PathBuf::as_path).collect()
    };
    PluginSet::load_dirs(&engine, &dirs).await
}

/// Puts the screenplay into the script node and applies its "Break Down to Shots" patch.
async fn break_down(
    plugins: &PluginSet,
    graph: &mut Graph,
    screenplay: &str,
) -> anyhow::Result<String> {
    let script = plugins.require("script")?;
    let catalog = plugins.catalog();
    let text = ParamEntry {
        id: "text".into(),
        value: ParamValue::Text(screenplay.to_string()),
    };
    let script_node = PatchNode {
        id: SCRIPT_NODE.into(),
        type_id: "script".into(),
        parent: None,
        label: "Screenplay".into(),
        position: None,
        params: vec![text.clone()],
    };
    apply_patch(
        graph,
        &GraphPatch {
            upsert_nodes: vec![script_node],
            ..GraphPatch::default()
        },
        &catalog,
    )?;
    let node = NodeInput {
        node_id: SCRIPT_NODE.into(),
        params: script.descriptor().params_with_defaults(vec![text]),
        inputs: vec![],
        tier: QualityTier::Low,
        seed: 0,
    };
    let others: Vec<GraphNode> = graph
        .nodes()
        .map(|n| GraphNode {
            id: n.id.as_str().to_string(),
            type_id: n.type_id.clone(),
            parent: n.parent.as_ref().map(|p| p.as_str().to_string()),
            label: n.label.clone(),
            params: n
                .params
                .iter()
                .map(|(id, value)| ParamEntry {
                    id: id.clone(),
                    value: value.clone(),
                })
                .collect(),
        })
        .collect();
    let outcome = script
        .run_action(
            "break-down",
            &ActionInput {
                node,
                graph: others,
            },
            CallContext::default(),
        )
        .await?;
    apply_patch(graph, &outcome.value, &catalog)
        .context("the breakdown's graph edits were refused")?;
    Ok(outcome.value.summary)
}

/// One sequence node per scene, fed by the scene's shots, for the scene's contact sheet.
fn add_contact_sheets(plugins: &PluginSet, graph: &mut Graph) -> anyhow::Result<()> {
    let mut patch = GraphPatch::default();
    let scenes: Vec<(String, String)> = graph
        .nodes()
        .filter(|n| n.type_id == SUBFLOW_TYPE)
        .map(|n| (n.id.as_str().to_string(), n.name().to_string()))
        .collect();
    for (scene, title) in scenes {
        let sequence = format!("{scene}-contact-sheet");
        patch.upsert_nodes.push(PatchNode {
            id: sequence.clone(),
            type_id: "sequence".into(),
            parent: Some(scene.clone()),
            label: format!("{title} · contact sheet"),
            position: None,
            params: vec![ParamEntry {
                id: "title".into(),
                value: ParamValue::Text(title),
            }],
        });
        for shot in graph.children_of(&scene).filter(|n| n.type_id == "shot") {
            patch.upsert_edges.push(PatchEdge {
                id: format!("{}--{sequence}", shot.id.as_str()),
                source: shot.id.as_str().to_string(),
                source_port: "shot".into(),
                target: sequence.clone(),
                target_port: "shots".into(),
            });
        }
    }
    apply_patch(graph, &patch, &plugins.catalog()).context("cannot add the contact sheets")?;
    Ok(())
}

/// Writes each shot's frame and each scene's contact sheet; returns how many files.
async fn write_outputs(
    graph: &Graph,
    report: &crate::production::GenerateReport,
    store: &dyn Store,
    objects: &dyn ObjectStore,
    out: &Path,
) -> anyhow::Result<usize> {
    let store_path = |scene: &str| out.join(slug(scene));
    let mut written = 0;
    for node in graph.nodes() {
        let Some(outputs) = report.outputs(node.id.as_str()) else {
            continue;
        };
        let (port, file) = match node.type_id.as_str() {
            "shot" => {
                let number = match node.params.get("shot") {
                    Some(ParamValue::Text(number)) if !number.is_empty() => number.clone(),
                    _ => slug(node.name()),
                };
                ("image", format!("shot-{number}.png"))
            }
            "sequence" => ("contact-sheet", "contact-sheet.png".to_string()),
            _ => continue,
        };
        let Some(Value::Asset(asset)) = outputs
            .values
            .iter()
            .find(|v| v.port == port)
            .map(|v| &v.value)
        else {
            continue;
        };
        let scene = node
            .parent
            .as_ref()
            .map(|p| graph.name_of(p.as_str()).to_string())
            .unwrap_or_default();
        let dir = store_path(&scene);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let stored = store.asset(&asset.id).await?;
        let bytes = objects.get(&stored.data.object_key).await?;
        std::fs::write(dir.join(&file), bytes)?;
        written += 1;
    }
    Ok(written)
}

fn slug(text: &str) -> String {
    let mut slug = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_string()
}
