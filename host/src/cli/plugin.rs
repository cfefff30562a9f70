//! `mdc plugin …`: scaffold, build, list, describe, validate and run node plugins.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use mdc_runtime::plugin::types::{
    ActionInput, Capability, Cardinality, LogLevel, NodeDescriptor, NodeInput, ParamType,
    ParamValue, QualityTier, Severity, Value,
};
use mdc_runtime::plugin::{CallContext, Grants, HostServices, Plugin, ServicesLayer};
use serde_json::{Value as Json, json};

use super::json_input::{inputs_from_json, params_from_json};
use super::plugin_folders::{self, PluginChoice};
use super::scaffold;
use crate::local_services::{TerminalServices, log_line, prepare_out_dir};
use crate::terminal::{self, plugin_error};
use mdc_outbound::{HttpClient, HttpSettings};
use mdc_production::{Origin, PluginFile, PluginFolders, PluginSet};

/// Plugin sub-commands.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Create a plugin crate that builds to a component and passes its own test.
    New {
        /// Node type id, lowercase kebab-case: `color-grade`.
        name: String,
        /// Folder to create (default: ./NAME).
        #[arg(long)]
        path: Option<PathBuf>,
    },
    /// Build a plugin crate to a component and check that it loads.
    Build {
        /// The plugin crate's folder.
        #[arg(default_value = ".")]
        path: PathBuf,
    },
    /// List the first-party node types and the installed plugins, and which serves each type.
    List {
        /// Folders of installed `.wasm` components (default: DATA_DIR/plugins).
        #[arg(long)]
        dir: Vec<PathBuf>,
        #[command(flatten)]
        choice: PluginChoice,
    },
    /// Show what a component declares: ports, parameters, tiers, actions, capabilities.
    Describe {
        /// The component (`.wasm`).
        component: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run the plugin's live checks on parameters and inputs.
    Validate {
        /// The component (`.wasm`).
        component: PathBuf,
        #[command(flatten)]
        input: InputArgs,
    },
    /// Execute the plugin (or one of its actions) and save what it writes.
    Run {
        /// The component (`.wasm`).
        component: PathBuf,
        #[command(flatten)]
        input: InputArgs,
        /// Folder for written outputs and `outputs.json`.
        #[arg(long, default_value = "mdc-output")]
        out: PathBuf,
        /// Grant outbound HTTP to an origin (`http://127.0.0.1:8188`); repeatable. `https`
        /// servers must present a certificate the system trusts or one issued by the CA in
        /// the PEM file MDC_HTTP_CA_FILE names.
        #[arg(long = "grant-http")]
        grant_http: Vec<String>,
        /// Run this action instead of executing (`break-down`).
        #[arg(long)]
        action: Option<String>,
    },
}

/// Parameters and inputs of a call.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Parameters as a JSON object, or @FILE: `{"prompt": "a misty harbour", "steps": 20}`.
    #[arg(long, default_value = "{}")]
    params: String,
    /// Connected inputs as a JSON object keyed by port, or @FILE: `{"image": {"asset": "ref.png"}}`.
    #[arg(long, default_value = "{}")]
    inputs: String,
    /// Quality tier: low, standard or high.
    #[arg(long, default_value = "low")]
    tier: String,
    /// Seed for every random choice.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Runs a plugin sub-command.
pub async fn run(command: PluginCommand, data_dir: &Path) -> anyhow::Result<()> {
    match command {
        PluginCommand::New { name, path } => {
            let dir = path.unwrap_or_else(|| PathBuf::from(&name));
            scaffold::create(&name, &dir)?;
            println!("Created plugin {name:?} in {}", dir.display());
            println!(
                "Next: cd {} && cargo test && mdc plugin build",
                dir.display()
            );
            Ok(())
        }
        PluginCommand::Build { path } => build(&path, data_dir).await,
        PluginCommand::List { dir, choice } => {
            list(&plugin_folders::folders(data_dir, &dir), &choice, data_dir).await
        }
        PluginCommand::Describe { component, json } => {
            let plugin = load(&component, data_dir).await?;
            if json {
                let json = serde_json::to_string_pretty(&descriptor_json(&plugin))?;
                println!("{}", terminal::json(&json));
            } else {
                print_description(&plugin);
            }
            Ok(())
        }
        PluginCommand::Validate { component, input } => {
            let plugin = load(&component, data_dir).await?;
            let services = TerminalServices::new(
                std::env::temp_dir(),
                ProgressBar::hidden(),
                http_client(&plugin)?,
            );
            let node_input = node_input(&plugin, &input, &services)?;
            let diagnostics = plugin.validate(&node_input).await.map_err(plugin_error)?;
            if diagnostics.is_empty() {
                println!("✓ no problems");
            }
            for diagnostic in &diagnostics {
                let field = diagnostic
                    .field
                    .as_deref()
                    .map(|f| format!(" [{}]", terminal::line(f)))
                    .unwrap_or_default();
                println!(
                    "{}{field}: {}",
                    severity_name(diagnostic.severity),
                    terminal::line(&diagnostic.message)
                );
            }
            if diagnostics.iter().any(|d| d.severity == Severity::Error) {
                bail!(
                    "{} error(s)",
                    diagnostics
                        .iter()
                        .filter(|d| d.severity == Severity::Error)
                        .count()
                );
            }
            Ok(())
        }
        PluginCommand::Run {
            component,
            input,
            out,
            grant_http,
            action,
        } => {
            run_plugin(
                &component,
                &input,
                &out,
                &grant_http,
                action.as_deref(),
                data_dir,
            )
            .await
        }
    }
}

async fn load(component: &Path, data_dir: &Path) -> anyhow::Result<Plugin> {
    plugin_folders::engine(data_dir)?
        .load_file(component)
        .await
        .map_err(plugin_error)
}

/// The client behind granted requests: the system's roots and
/// [`mdc_outbound::CA_FILE_SETTING`]'s file.
fn http_client(plugin: &Plugin) -> anyhow::Result<HttpClient> {
    let settings =
        HttpSettings::from_env(Duration::from_secs(60), plugin.limits().http_response_bytes);
    HttpClient::new(&settings).context("outbound HTTP cannot be set up")
}

fn read_json_arg(text: &str, what: &str) -> anyhow::Result<Json> {
    let text = match text.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {what} file {path}"))?,
        None => text.to_string(),
    };
    serde_json::from_str(&text).with_context(|| format!("{what} is not valid JSON"))
}

fn node_input(
    plugin: &Plugin,
    args: &InputArgs,
    services: &TerminalServices,
) -> anyhow::Result<NodeInput> {
    let descriptor = plugin.descriptor();
    let tier = QualityTier::from_id(&args.tier)
        .with_context(|| format!("unknown tier {:?}; use low, standard or high", args.tier))?;
    Ok(NodeInput {
        node_id: "cli".into(),
        params: params_from_json(descriptor, &read_json_arg(&args.params, "--params")?)?,
        inputs: inputs_from_json(
            descriptor,
            &read_json_arg(&args.inputs, "--inputs")?,
            &services.assets,
        )?,
        tier,
        seed: args.seed,
    })
}

async fn run_plugin(
    component: &Path,
    args: &InputArgs,
    out: &Path,
    grant_http: &[String],
    action: Option<&str>,
    data_dir: &Path,
) -> anyhow::Result<()> {
    let plugin = load(component, data_dir).await?;
    prepare_out_dir(out)?;
    let bar = ProgressBar::new(1000);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {percent:>3}% {msg}")
            .expect("valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let services = Arc::new(TerminalServices::new(
        out.to_path_buf(),
        bar.clone(),
        http_client(&plugin)?,
    ));
    let node_input = node_input(&plugin, args, &services)?;
    let mut grants = Grants::none();
    for origin in grant_http {
        grants = grants.allow_origin(origin)?;
    }
    let reported: Arc<dyn HostServices> = if std::io::stderr().is_terminal() {
        services.clone()
    } else {
        Arc::new(ProgressLines::new(services.clone()))
    };
    let context = CallContext::new(reported).with_grants(grants);
    let cancel = context.cancel.clone();
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            cancel.cancel();
        }
    });
    let label = terminal::line(&plugin.label().to_string()).into_owned();
    let (result_json, report) = match action {
        Some(action) => {
            let input = ActionInput {
                node: node_input,
                graph: vec![],
            };
            let outcome = plugin.run_action(action, &input, context).await;
            bar.finish_and_clear();
            let outcome = outcome.map_err(plugin_error)?;
            println!(
                "{label}: action {action:?}: {}",
                terminal::line(&outcome.value.summary)
            );
            (patch_json(&outcome.value), outcome.report)
        }
        None => {
            let outcome = plugin.execute(&node_input, context).await;
            bar.finish_and_clear();
            let outcome = outcome.map_err(plugin_error)?;
            println!(
                "{label}: {}",
                if outcome.value.summary.is_empty() {
                    "done".into()
                } else {
                    terminal::line(&outcome.value.summary)
                }
            );
            let mut values = Vec::new();
            for output in &outcome.value.values {
                let shown = match &output.value {
                    Value::Asset(asset) => match services.path_of(&asset.id) {
                        Some(path) => path.display().to_string(),
                        None => format!("asset {} ({})", asset.id, asset.mime),
                    },
                    other => short(&value_json(other).to_string(), 200),
                };
                println!(
                    "  {} → {}",
                    terminal::line(&output.port),
                    terminal::line(&shown)
                );
                values.push(json!({"port": output.port, "value": value_json(&output.value)}));
            }
            (
                json!({"summary": outcome.value.summary, "values": values}),
                outcome.report,
            )
        }
    };
    ctrl_c.abort();
    let result_path = out.join("outputs.json");
    std::fs::write(&result_path, serde_json::to_string_pretty(&result_json)?)
        .with_context(|| format!("cannot write {}", result_path.display()))?;
    println!(
        "time {:.1} ms · CPU charged {} ms · peak memory {:.1} MiB · {} bytes written · results in {}",
        report.duration.as_secs_f64() * 1000.0,
        report.cpu_charged.as_millis(),
        report.peak_memory_bytes as f64 / (1024.0 * 1024.0),
        report.output_bytes,
        out.display()
    );
    Ok(())
}

/// The terminal services, plus a line on stderr for every new progress message and every
/// log line: where stderr is not a terminal (a pipe, a CI log) the progress bar is hidden.
struct ProgressLines {
    inner: Arc<TerminalServices>,
    last: Mutex<String>,
}

impl ProgressLines {
    fn new(inner: Arc<TerminalServices>) -> ProgressLines {
        ProgressLines {
            inner,
            last: Mutex::new(String::new()),
        }
    }
}

#[async_trait::async_trait]
impl ServicesLayer for ProgressLines {
    fn inner(&self) -> &dyn HostServices {
        self.inner.as_ref()
    }

    fn log(&self, level: LogLevel, message: &str) {
        eprintln!("{}", log_line(level, message));
        self.inner.log(level, message);
    }

    fn progress(&self, fraction: f32, message: &str) {
        let mut last = self.last.lock().expect("progress lock");
        if *last != message {
            eprintln!(
                "  {:>3}% {}",
                (fraction * 100.0).round(),
                terminal::line(message)
            );
            *last = message.to_string();
        }
        self.inner.progress(fraction, message);
    }

    fn preview(&self, mime: &str, bytes: &[u8]) {
        self.inner.preview(mime, bytes);
        eprintln!(
            "  preview {} ({mime}, {} KB)",
            self.inner.previews(),
            bytes.len().div_ceil(1024)
        );
    }
}

async fn build(path: &Path, data_dir: &Path) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    println!("Building {} for wasm32-wasip2 …", path.display());
    let output = std::process::Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(path)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("cannot run cargo; is Rust installed?")?;
    if !output.status.success() {
        bail!(
            "cargo build failed; if the target is missing, run `rustup target add wasm32-wasip2`"
        );
    }
    let mut components = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<Json>(line) else {
            continue;
        };
        if message["reason"] == "compiler-artifact"
            && let Some(files) = message["filenames"].as_array()
        {
            components.extend(
                files
                    .iter()
                    .filter_map(Json::as_str)
                    .filter(|f| f.ends_with(".wasm"))
                    .map(PathBuf::from),
            );
        }
    }
    let component = components
        .pop()
        .context("cargo built no .wasm file; is crate-type \"cdylib\" set?")?;
    let plugin = load(&component, data_dir).await?;
    let size = std::fs::metadata(&component)?.len();
    println!(
        "✓ {} → {} ({} KiB)",
        terminal::line(&plugin.label().to_string()),
        component.display(),
        size / 1024
    );
    for finding in plugin.capability_mismatches() {
        println!("  warning: {}", terminal::line(&finding));
    }
    Ok(())
}

/// Prints every folder with its components (first-party ones first), says which component
/// serves each type id, and reports shadowed and broken ones on stderr.
async fn list(
    folders: &PluginFolders,
    choice: &PluginChoice,
    data_dir: &Path,
) -> anyhow::Result<()> {
    let loaded = plugin_folders::load(data_dir, folders, choice).await?;
    for (origin, folder) in folders.each() {
        let heading = match origin {
            Origin::FirstParty => "first-party node types",
            Origin::Installed => "installed plugins",
        };
        println!("{heading} in {}:", folder.display());
        let files: Vec<_> = loaded
            .files
            .iter()
            .filter(|file| file.origin == origin && file.path.starts_with(folder))
            .collect();
        if files.is_empty() {
            println!(
                "  {}",
                if folder.is_dir() {
                    "(none)"
                } else {
                    "(no such folder)"
                }
            );
        }
        for file in files {
            println!("  {}", list_line(file, &loaded.set));
        }
    }
    Ok(())
}

/// One component of `mdc plugin list`: what it declares, or why it did not load, and whether
/// it serves its type.
fn list_line(file: &PluginFile, set: &PluginSet) -> String {
    let name = file
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let plugin = match &file.loaded {
        Ok(plugin) => plugin,
        Err(problem) => {
            return format!(
                "{:<20} {}  {}",
                "(broken)",
                terminal::line(&problem.to_string()),
                terminal::line(&name)
            );
        }
    };
    let d = plugin.descriptor();
    let unused = match set.source(&d.type_id) {
        Some(used) if used.path != file.path => format!(
            "  (not used: the {} {:?} serves this type)",
            used.origin.name(),
            terminal::line(&used.type_id)
        ),
        _ => String::new(),
    };
    format!(
        "{:<20} {:<9} {:<14} contract {}  {}{unused}",
        terminal::line(&d.type_id),
        terminal::line(&d.version),
        terminal::line(&d.category),
        plugin.contract_version(),
        terminal::line(&name)
    )
}

/// What `mdc plugin describe` prints. Every string comes from the plugin, so each goes
/// through [`terminal::line`] (the docs through [`terminal::block`]).
fn print_description(plugin: &Plugin) {
    use terminal::line as safe;
    let d = plugin.descriptor();
    println!(
        "{} {} — {} ({})",
        safe(&d.type_id),
        safe(&d.version),
        safe(&d.display_name),
        safe(&d.category)
    );
    println!(
        "contract moviedirector:node@{} · digest sha256:{}",
        plugin.contract_version(),
        plugin.digest()
    );
    if !d.docs.is_empty() {
        println!("\n{}\n", terminal::block(d.docs.trim()));
    }
    for (side, ports) in [("inputs", &d.inputs), ("outputs", &d.outputs)] {
        println!("{side}:");
        for port in ports.iter() {
            let many = if port.cardinality == Cardinality::Many {
                " (many)"
            } else {
                ""
            };
            let required = if port.required { " required" } else { "" };
            println!(
                "  {:<16} {}{many}{required}  {}",
                safe(&port.id),
                safe(&port.kind),
                safe(&port.help)
            );
        }
    }
    println!("parameters:");
    for param in &d.params {
        let default = param
            .default
            .as_ref()
            .map(|v| format!(" = {}", param_value_json(v)))
            .unwrap_or_default();
        println!(
            "  {:<16} {}{}  {}",
            safe(&param.id),
            safe(&param_type_name(&param.param_type)),
            safe(&default),
            safe(&param.help)
        );
    }
    if !d.tiers.is_empty() {
        println!("tiers:");
        for tier in &d.tiers {
            println!(
                "  {:<9} ~{}s, {} MiB GPU, cost {}  ({})",
                tier.tier.id(),
                tier.seconds,
                tier.gpu_memory_mib,
                tier.cost_milli,
                tier.tier.label()
            );
        }
    }
    for action in &d.actions {
        println!(
            "action \"{}\": {} — {}",
            safe(&action.id),
            safe(&action.label),
            safe(&action.help)
        );
    }
    for capability in &d.capabilities {
        println!("capability: {}", safe(&capability_name(capability)));
    }
    for finding in plugin.capability_mismatches() {
        println!("warning: {}", safe(&finding));
    }
}

fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Error => "error",
    }
}

fn capability_name(capability: &Capability) -> String {
    match capability {
        Capability::OutboundHttp(origins) => format!("outbound-http {}", origins.join(" ")),
        Capability::AssetRead => "asset-read".into(),
        Capability::OutputWrite => "output-write".into(),
    }
}

fn param_type_name(param_type: &ParamType) -> String {
    match param_type {
        ParamType::Text { multiline: true } => "text (multi-line)".into(),
        ParamType::Text { multiline: false } => "text".into(),
        ParamType::Number(r) => format!("number {}..{}", bound(r.min), bound(r.max)),
        ParamType::Integer(r) => format!("integer {}..{}", bound(r.min), bound(r.max)),
        ParamType::Boolean => "boolean".into(),
        ParamType::Choice(options) => {
            format!(
                "choice {}",
                options
                    .iter()
                    .map(|o| o.value.as_str())
                    .collect::<Vec<_>>()
                    .join("|")
            )
        }
        ParamType::AssetRef { kind } => format!("asset ({kind})"),
        ParamType::Json => "json".into(),
    }
}

fn bound<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(max).collect::<String>())
    }
}

fn descriptor_json(plugin: &Plugin) -> Json {
    let d: &NodeDescriptor = plugin.descriptor();
    let port = |p: &mdc_runtime::plugin::types::Port| {
        json!({"id": p.id, "label": p.label, "kind": p.kind, "many": p.cardinality == Cardinality::Many,
               "required": p.required, "help": p.help})
    };
    json!({
        "type_id": d.type_id, "version": d.version, "display_name": d.display_name,
        "category": d.category, "icon": d.icon, "docs": d.docs,
        "contract": plugin.contract_version(), "digest": plugin.digest(),
        "inputs": d.inputs.iter().map(port).collect::<Vec<_>>(),
        "outputs": d.outputs.iter().map(port).collect::<Vec<_>>(),
        "params": d.params.iter().map(|p| json!({
            "id": p.id, "label": p.label, "type": param_type_name(&p.param_type),
            "default": p.default.as_ref().map(param_value_json), "required": p.required, "help": p.help,
        })).collect::<Vec<_>>(),
        "tiers": d.tiers.iter().map(|t| json!({"tier": t.tier.id(), "seconds": t.seconds,
            "gpu_memory_mib": t.gpu_memory_mib, "cost_milli": t.cost_milli})).collect::<Vec<_>>(),
        "actions": d.actions.iter().map(|a| json!({"id": a.id, "label": a.label, "help": a.help})).collect::<Vec<_>>(),
        "capabilities": d.capabilities.iter().map(capability_name).collect::<Vec<_>>(),
        "warnings": plugin.capability_mismatches(),
    })
}

fn param_value_json(value: &ParamValue) -> Json {
    match value {
        ParamValue::Text(s) | ParamValue::Choice(s) | ParamValue::AssetRef(s) => json!(s),
        ParamValue::Number(n) => json!(n),
        ParamValue::Integer(n) => json!(n),
        ParamValue::Boolean(b) => json!(b),
        ParamValue::Json(s) => serde_json::from_str(s).unwrap_or(json!(s)),
    }
}

fn value_json(value: &Value) -> Json {
    match value {
        Value::Text(s) => json!(s),
        Value::Number(n) => json!(n),
        Value::Integer(n) => json!(n),
        Value::Boolean(b) => json!(b),
        Value::Json(s) => serde_json::from_str(s).unwrap_or(json!(s)),
        Value::Asset(asset) => json!({"asset": asset.id, "mime": asset.mime}),
    }
}

fn patch_json(patch: &mdc_runtime::plugin::types::GraphPatch) -> Json {
    json!({
        "summary": patch.summary,
        "upsert_nodes": patch.upsert_nodes.iter().map(|n| json!({
            "id": n.id, "type_id": n.type_id, "parent": n.parent, "label": n.label,
            "position": n.position.map(|p| json!({"x": p.x, "y": p.y})),
            "params": n.params.iter().map(|e| (e.id.clone(), param_value_json(&e.value))).collect::<serde_json::Map<_, _>>(),
        })).collect::<Vec<_>>(),
        "remove_nodes": patch.remove_nodes,
        "upsert_edges": patch.upsert_edges.iter().map(|e| json!({
            "id": e.id, "source": e.source, "source_port": e.source_port, "target": e.target, "target_port": e.target_port,
        })).collect::<Vec<_>>(),
        "remove_edges": patch.remove_edges,
    })
}
