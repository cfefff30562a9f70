//! `mdc storyboard SCREENPLAY`: the main job from the terminal. Creates (or reopens) a project
//! on the embedded store, breaks the screenplay down into scenes and shots, generates a draft
//! frame for every shot and a contact sheet per scene, and writes them to a folder. Run again
//! after an edit, it regenerates only what changed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mdc_runtime::graph::{Graph, NodeId, SUBFLOW_TYPE, apply_patch, diff};
use mdc_runtime::plugin::CallContext;
use mdc_runtime::plugin::types::{
    ActionInput, GraphNode, GraphPatch, NodeInput, ParamEntry, ParamValue, PatchEdge, PatchNode,
    QualityTier, Value,
};
use mdc_store::objects::ObjectStore;
use mdc_store::{Store, Tier};

use super::file_name::UniqueNames;
use super::local::{open_project, open_stores};
use super::plugin_folders::{self, PluginChoice};
use crate::terminal;
use mdc_production::{
    GenerateEvent, GenerateRequest, Generator, NodeResult, PluginSet, TierQueue, WorkerPool,
};
use mdc_wire::{decode_graph, encode_graph};

/// Arguments of `mdc storyboard`.
#[derive(Debug, Args)]
pub struct StoryboardArgs {
    /// The screenplay (Fountain or plain text with scene headings).
    screenplay: PathBuf,
    /// Where frames and contact sheets are written.
    #[arg(long, default_value = "storyboard")]
    out: PathBuf,
    /// Folders of installed plugin components (default: DATA_DIR/plugins). The first-party
    /// node types beside the binary are always loaded, and win over installed ones.
    #[arg(long)]
    plugins: Vec<PathBuf>,
    #[command(flatten)]
    choice: PluginChoice,
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
    let folders = plugin_folders::folders(data_dir, &args.plugins);
    let plugins = Arc::new(
        plugin_folders::load(data_dir, &folders, &args.choice)
            .await?
            .set,
    );
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
        Some(version) => decode_graph(&version.snapshot)?,
        None => Graph::new(),
    };
    let mut graph = before.clone();
    let summary = break_down(&plugins, &mut graph, &screenplay).await?;
    println!("{}", terminal::line(&summary));
    add_contact_sheets(&plugins, &mut graph)?;
    if !diff(&before, &graph).is_empty() {
        let snapshot = encode_graph(&graph)?;
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
    let generator = Generator::new(store.clone(), plugins.clone());
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
                "{}{}",
                terminal::line(&name),
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
            NodeResult::Failed(error) | NodeResult::Skipped(error) => Some(format!(
                "  {}: {}",
                terminal::line(graph.name_of(id.as_str())),
                terminal::line(error)
            )),
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
        .await
        .map_err(terminal::plugin_error)?;
    apply_patch(graph, &outcome.value, &catalog)
        .map_err(terminal::plugin_error)
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
///
/// Scene titles and shot numbers come from the graph (the screenplay, a plugin's patch), so
/// they name files only as slugs ([`UniqueNames`]): one folder per scene and one file per
/// node, numbered when two slug to the same name, always inside `out`.
async fn write_outputs(
    graph: &Graph,
    report: &mdc_production::GenerateReport,
    store: &dyn Store,
    objects: &dyn ObjectStore,
    out: &Path,
) -> anyhow::Result<usize> {
    let mut scene_dirs = UniqueNames::default();
    // Per scene node: its folder and the names given in it so far.
    let mut scenes: HashMap<Option<&NodeId>, (PathBuf, UniqueNames)> = HashMap::new();
    let mut written = 0;
    for node in graph.nodes() {
        let Some(outputs) = report.outputs(node.id.as_str()) else {
            continue;
        };
        let (port, stem) = match node.type_id.as_str() {
            "shot" => match node.params.get("shot") {
                Some(ParamValue::Text(number)) if !number.is_empty() => {
                    ("image", format!("shot {number}"))
                }
                _ => ("image", format!("shot {}", node.name())),
            },
            "sequence" => ("contact-sheet", "contact sheet".to_string()),
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
        let (dir, names) = scenes.entry(node.parent.as_ref()).or_insert_with(|| {
            let title = node
                .parent
                .as_ref()
                .map(|p| graph.name_of(p.as_str()))
                .unwrap_or_default();
            (
                out.join(scene_dirs.claim(title, "scene")),
                UniqueNames::default(),
            )
        });
        let file = dir.join(format!("{}.png", names.claim(&stem, "shot")));
        std::fs::create_dir_all(&*dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let stored = store.asset(&asset.id).await?;
        let bytes = objects.get(&stored.data.object_key).await?;
        std::fs::write(&file, bytes).with_context(|| format!("cannot write {}", file.display()))?;
        written += 1;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use std::path::Component;

    use mdc_runtime::graph::Node;
    use mdc_runtime::plugin::types::{AssetRef, NodeOutputs, OutputValue};
    use mdc_store::objects::LocalDirStore;
    use mdc_store::{AssetStore, NewAsset, ProjectStore, SqlStore};

    use super::*;
    use mdc_production::GenerateReport;

    /// A shot node in `scene` whose `shot` parameter is `number`.
    fn shot(id: &str, scene: &str, number: &str) -> Node {
        Node::new(id, "shot", "0.1.0")
            .with_parent(scene)
            .with_param("shot", ParamValue::Text(number.into()))
    }

    /// Every file under `dir`, relative to it.
    fn files_under(dir: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(next) = pending.pop() {
            for entry in std::fs::read_dir(&next).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    found.push(path.strip_prefix(dir).unwrap().to_path_buf());
                }
            }
        }
        found.sort();
        found
    }

    #[tokio::test]
    async fn names_from_the_graph_never_leave_the_output_folder() {
        let work = tempfile::tempdir().unwrap();
        let store = SqlStore::open_sqlite(&work.path().join("mdc.db"))
            .await
            .unwrap();
        let objects = LocalDirStore::new(work.path().join("objects"));
        let user = store.create_user("Ana", "ana@studio.test").await.unwrap();
        let project = store.create_project("Ferry", &user.id).await.unwrap();
        objects
            .put("frame", b"png bytes".to_vec(), "image/png")
            .await
            .unwrap();
        let asset = store
            .insert_asset(NewAsset {
                project_id: project.id,
                kind: "output".into(),
                name: "frame".into(),
                mime: "image/png".into(),
                size: 9,
                sha256: "00".into(),
                object_key: "frame".into(),
                thumbnail_key: None,
                fields: "{}".into(),
            })
            .await
            .unwrap();

        let mut graph = Graph::new();
        graph.insert_node(Node::new("scene-1", SUBFLOW_TYPE, "0.1.0").with_label("../../.."));
        graph.insert_node(Node::new("scene-2", SUBFLOW_TYPE, "0.1.0").with_label("/"));
        let shots = [
            shot("a", "scene-1", "../../etc/x"),
            shot("b", "scene-1", "/tmp/abs"),
            shot("c", "scene-1", "1.1"),
            shot("d", "scene-1", "1/1"),
            shot("e", "scene-2", ".."),
        ];
        let mut report = GenerateReport::default();
        for node in shots {
            report.nodes.push((
                node.id.clone(),
                NodeResult::Generated(NodeOutputs {
                    values: vec![OutputValue {
                        port: "image".into(),
                        value: Value::Asset(AssetRef {
                            id: asset.id.clone(),
                            mime: "image/png".into(),
                        }),
                    }],
                    summary: String::new(),
                }),
            ));
            graph.insert_node(node);
        }

        // The output folder sits two levels down, so `../..` from a scene folder would
        // still land inside `work` where the test can see it.
        let out = work.path().join("a/b/out");
        let written = write_outputs(&graph, &report, &store, &objects, &out)
            .await
            .unwrap();
        assert_eq!(written, 5);
        let files = files_under(&out);
        assert_eq!(
            files,
            [
                "scene/shot-1-1-2.png",
                "scene/shot-1-1.png",
                "scene/shot-etc-x.png",
                "scene/shot-tmp-abs.png",
                "scene-2/shot.png",
            ]
            .map(PathBuf::from),
        );
        for file in &files {
            assert!(
                file.components().all(|c| matches!(c, Component::Normal(_))),
                "{}",
                file.display()
            );
        }
        let outside: Vec<PathBuf> = files_under(work.path())
            .into_iter()
            .filter(|f| !f.starts_with("a/b/out") && !f.starts_with("objects"))
            .filter(|f| !f.to_string_lossy().starts_with("mdc.db"))
            .collect();
        assert!(outside.is_empty(), "written outside --out: {outside:?}");
        assert!(!Path::new("/tmp/abs.png").exists());
    }
}
