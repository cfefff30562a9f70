//! The model registry: which backend serves which function at which tier, in what order,
//! and what to fall back on.
//!
//! ```json
//! {"models": [
//!   {"id": "sdxl-local", "function": "create-image", "tier": "standard", "kind": "comfyui",
//!    "endpoint": "http://127.0.0.1:8188", "workflow": {…}, "gpu_memory_mib": 12288,
//!    "priority": 10, "fallback": "flux-cloud"},
//!   {"id": "flux-cloud", "function": "create-image", "tier": "high", "kind": "comfyui", …}
//! ]}
//! ```
//!
//! [`Registry::route`] orders the models of a function and tier by priority (highest
//! first), each followed by its chain of `fallback` models. [`run_chain`] tries them in
//! that order, moving on only when a backend is unavailable.

use mdc_sdk::prelude::*;
use mdc_sdk::serde_json::Value as Json;

use crate::net::Client;
use crate::request::{Function, Generated};
use crate::workflow::Workflow;

/// Backend kinds a registry model may have.
pub const MODEL_KINDS: [&str; 2] = ["comfyui", "wan2gp"];

/// One model of the registry.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Stable id (`sdxl-local`).
    pub id: String,
    /// What it makes.
    pub function: Function,
    /// The tier it serves.
    pub tier: QualityTier,
    /// Backend kind: `comfyui` or `wan2gp`.
    pub kind: String,
    /// Base URL of the backend.
    pub endpoint: String,
    /// GPU memory it needs (0 when not said).
    pub gpu_memory_mib: u32,
    /// Higher goes first.
    pub priority: i64,
    /// The model to try when this one's backend is unavailable.
    pub fallback: Option<String>,
    /// The whole entry: the pipeline configuration the backend runs with.
    pub config: Json,
}

impl Model {
    /// `sdxl-local (ComfyUI at http://…)`.
    pub fn describe(&self) -> String {
        let backend = match self.kind.as_str() {
            "comfyui" => "ComfyUI",
            "wan2gp" => "Wan2GP",
            other => other,
        };
        format!("{} ({backend} at {})", self.id, self.endpoint)
    }
}

/// A checked registry.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Registry {
    models: Vec<Model>,
}

/// `standard` → Standard tier.
fn parse_tier(text: &str) -> Option<QualityTier> {
    match text.trim() {
        "low" => Some(QualityTier::Low),
        "standard" => Some(QualityTier::Standard),
        "high" => Some(QualityTier::High),
        _ => None,
    }
}

/// `Standard`.
fn tier_name(tier: QualityTier) -> &'static str {
    match tier {
        QualityTier::Low => "Low",
        QualityTier::Standard => "Standard",
        QualityTier::High => "High",
    }
}

/// Reads one entry, adding a sentence to `problems` for each mistake.
fn read_model(index: usize, entry: &Json, problems: &mut Vec<String>) -> Option<Model> {
    let text = |k: &str| {
        entry
            .get(k)
            .and_then(Json::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let Some(id) = text("id") else {
        problems.push(format!("Model {} of the registry has no “id”.", index + 1));
        return None;
    };
    let before = problems.len();
    let function = text("function").and_then(Function::from_id);
    if function.is_none() {
        problems.push(format!(
            "Model {id}: “function” must be create-image or create-video."
        ));
    }
    let tier = text("tier").and_then(parse_tier);
    if tier.is_none() {
        problems.push(format!("Model {id}: “tier” must be low, standard or high."));
    }
    let kind = text("kind").unwrap_or("");
    if !MODEL_KINDS.contains(&kind) {
        problems.push(format!(
            "Model {id}: “kind” must be {} (it is “{kind}”).",
            MODEL_KINDS.join(" or ")
        ));
    }
    let endpoint = text("endpoint").unwrap_or("");
    if let Err(e) = Client::new(kind, endpoint) {
        problems.push(format!("Model {id}: {}.", e.message));
    }
    if kind == "comfyui" {
        match entry.get("workflow") {
            None | Some(Json::Null) => problems.push(format!(
                "Model {id} has no ComfyUI “workflow”; paste one saved with “Save (API Format)”."
            )),
            Some(Json::String(t)) => {
                if let Err(e) = Workflow::parse(t) {
                    problems.push(format!("Model {id}: {e}"));
                }
            }
            Some(w) => {
                if let Err(e) = Workflow::from_json(w) {
                    problems.push(format!("Model {id}: {e}"));
                }
            }
        }
    }
    let number = |k: &str| entry.get(k).filter(|v| !v.is_null());
    let priority = match number("priority") {
        None => 0,
        Some(v) => v.as_i64().unwrap_or_else(|| {
            problems.push(format!("Model {id}: “priority” must be a whole number."));
            0
        }),
    };
    let gpu_memory_mib = match number("gpu_memory_mib") {
        None => 0,
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or_else(|| {
                problems.push(format!(
                    "Model {id}: “gpu_memory_mib” must be a whole number of MiB."
                ));
                0
            }),
    };
    if problems.len() > before {
        return None;
    }
    Some(Model {
        id: id.to_owned(),
        function: function?,
        tier: tier?,
        kind: kind.to_owned(),
        endpoint: endpoint.to_owned(),
        gpu_memory_mib,
        priority,
        fallback: text("fallback").map(str::to_owned),
        config: entry.clone(),
    })
}

impl Registry {
    /// Reads and checks a registry; every problem is a sentence (ids, kinds, tiers,
    /// endpoints, workflows, duplicate ids, unknown or cyclic fallbacks).
    pub fn from_json(value: &Json) -> Result<Registry, Vec<String>> {
        let Some(entries) = value.get("models").and_then(Json::as_array) else {
            return Err(vec![
                "The model registry must be a JSON object with a “models” list, like \
                 {\"models\": [{\"id\": \"sdxl-local\", \"function\": \"create-image\", \
                 \"tier\": \"standard\", \"kind\": \"comfyui\", \"endpoint\": \"http://…\", \
                 \"workflow\": {…}}]}."
                    .to_owned(),
            ]);
        };
        let mut problems = Vec::new();
        let mut models: Vec<Model> = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            if let Some(model) = read_model(index, entry, &mut problems) {
                if models.iter().any(|m| m.id == model.id) {
                    problems.push(format!(
                        "Two models are called {}; ids must be unique.",
                        model.id
                    ));
                } else {
                    models.push(model);
                }
            }
        }
        let registry = Registry { models };
        for model in &registry.models {
            problems.extend(registry.check_fallbacks(model));
        }
        if problems.is_empty() {
            Ok(registry)
        } else {
            Err(problems)
        }
    }

    /// Problems with the fallback chain that starts at `model`.
    fn check_fallbacks(&self, model: &Model) -> Option<String> {
        let mut seen = vec![model.id.as_str()];
        let mut current = model;
        while let Some(next_id) = current.fallback.as_deref() {
            let Some(next) = self.model(next_id) else {
                return Some(format!(
                    "Model {} falls back to {next_id}, but the registry has no model {next_id}.",
                    current.id
                ));
            };
            if next.function != model.function {
                return Some(format!(
                    "Model {} falls back to {next_id}, which does {} instead of {}.",
                    current.id,
                    next.function.label(),
                    model.function.label()
                ));
            }
            if let Some(start) = seen.iter().position(|id| *id == next_id) {
                // Reported once, by the cycle's smallest id.
                let mut cycle = seen[start..].to_vec();
                let first = cycle.iter().min().copied();
                cycle.push(next_id);
                return (first == Some(model.id.as_str())).then(|| {
                    format!("The fallbacks go round in a circle: {}.", cycle.join(" → "))
                });
            }
            seen.push(next_id);
            current = next;
        }
        None
    }

    /// The model with this id.
    pub fn model(&self, id: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.id == id)
    }

    /// Every model, in registry order.
    pub fn models(&self) -> &[Model] {
        &self.models
    }

    /// The models to try for `function` at `tier`: the tier's models by priority (highest
    /// first; equal priorities keep registry order), each followed by its fallbacks; no
    /// model twice. Empty when nothing serves the pair.
    pub fn route(&self, function: Function, tier: QualityTier) -> Vec<&Model> {
        let mut primary: Vec<&Model> = self
            .models
            .iter()
            .filter(|m| m.function == function && m.tier == tier)
            .collect();
        primary.sort_by_key(|m| std::cmp::Reverse(m.priority));
        let mut chain: Vec<&Model> = Vec::new();
        for model in primary {
            let mut next = Some(model);
            while let Some(m) = next {
                if chain.iter().any(|c| c.id == m.id) {
                    break;
                }
                chain.push(m);
                next = m.fallback.as_deref().and_then(|id| self.model(id));
            }
        }
        chain
    }

    /// The error when no model serves `function` at `tier`.
    pub fn no_route_error(function: Function, tier: QualityTier) -> String {
        format!(
            "The model registry has no model for {} at the {} tier; add one with \
             \"function\": \"{}\" and \"tier\": \"{}\".",
            function.label(),
            tier_name(tier),
            function.id(),
            tier_name(tier).to_ascii_lowercase()
        )
    }
}

/// What running a chain gave: the output, and which model made it.
#[derive(Debug, Clone, PartialEq)]
pub struct Served {
    /// The outputs, with fallback notes added.
    pub generated: Generated,
    /// The model that made them.
    pub model: String,
    /// Whether an earlier model of the chain was unavailable.
    pub fell_back: bool,
}

/// Tries each model of `chain` with `run`. A `backend-unavailable` failure moves on to the
/// next model and leaves a note ("sdxl-local (ComfyUI at …) was unavailable (…); fell back
/// to flux-cloud"); any other failure (a refused request, a cancellation) stops. When
/// every model is unavailable the error lists each attempt.
pub fn run_chain(
    chain: &[&Model],
    function: Function,
    tier: QualityTier,
    mut run: impl FnMut(&Model) -> Result<Generated, NodeError>,
) -> Result<Served, NodeError> {
    if chain.is_empty() {
        return Err(NodeError::unsupported(Registry::no_route_error(
            function, tier,
        )));
    }
    let mut notes = Vec::new();
    let mut attempts = Vec::new();
    for (i, model) in chain.iter().enumerate() {
        match run(model) {
            Ok(mut generated) => {
                notes.append(&mut generated.notes);
                generated.notes = notes;
                return Ok(Served {
                    generated,
                    model: model.id.clone(),
                    fell_back: i > 0,
                });
            }
            Err(e) if e.code == ErrorCode::BackendUnavailable => {
                if let Some(next) = chain.get(i + 1) {
                    notes.push(format!(
                        "{} was unavailable ({}); fell back to {}",
                        model.describe(),
                        e.message,
                        next.id
                    ));
                }
                attempts.push(format!("{}: {}", model.describe(), e.message));
            }
            Err(e) => return Err(e),
        }
    }
    Err(NodeError::backend_unavailable(format!(
        "No model could make {} at the {} tier; every backend was unavailable. {}",
        function.label(),
        tier_name(tier),
        attempts
            .iter()
            .enumerate()
            .map(|(i, a)| format!("{}. {a}", i + 1))
            .collect::<Vec<_>>()
            .join(" ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mdc_sdk::serde_json::json;

    fn wf() -> Json {
        json!({"1": {"class_type": "SaveImage", "inputs": {}}})
    }

    fn entry(id: &str, tier: &str, priority: i64, fallback: Option<&str>) -> Json {
        json!({"id": id, "function": "create-image", "tier": tier, "kind": "comfyui",
               "endpoint": format!("http://{id}:8188"), "workflow": wf(), "priority": priority,
               "fallback": fallback})
    }

    #[test]
    fn routes_by_priority_then_fallbacks() {
        let registry = Registry::from_json(&json!({"models": [
            entry("sdxl-small", "standard", 1, None),
            entry("sdxl-local", "standard", 10, Some("flux-cloud")),
            entry("flux-cloud", "high", 5, None),
        ]}))
        .unwrap();
        let ids = |chain: Vec<&Model>| chain.iter().map(|m| m.id.clone()).collect::<Vec<_>>();
        assert_eq!(
            ids(registry.route(Function::CreateImage, QualityTier::Standard)),
            ["sdxl-local", "flux-cloud", "sdxl-small"]
        );
        assert_eq!(
            ids(registry.route(Function::CreateImage, QualityTier::High)),
            ["flux-cloud"]
        );
        assert!(
            registry
                .route(Function::CreateVideo, QualityTier::High)
                .is_empty()
        );
        assert_eq!(
            registry.model("sdxl-local").unwrap().describe(),
            "sdxl-local (ComfyUI at http://sdxl-local:8188)"
        );
    }

    #[test]
    fn registry_mistakes_are_sentences() {
        let problems = Registry::from_json(&json!({"models": [
            entry("a", "standard", 1, Some("ghost")),
            entry("b", "standard", 1, Some("c")),
            entry("c", "standard", 1, Some("b")),
            {"id": "d", "function": "create-sound", "tier": "ultra", "kind": "dalle", "endpoint": "x"},
            entry("a", "high", 1, None),
            {"id": "e", "function": "create-image", "tier": "high", "kind": "comfyui",
             "endpoint": "http://e", "workflow": {"nodes": [], "links": []}},
        ]}))
        .unwrap_err();
        let all = problems.join("\n");
        assert!(
            all.contains("Model a falls back to ghost, but the registry has no model ghost."),
            "{all}"
        );
        assert!(
            all.contains("The fallbacks go round in a circle: b → c → b."),
            "{all}"
        );
        assert!(
            all.contains("Model d: “function” must be create-image or create-video."),
            "{all}"
        );
        assert!(
            all.contains("Model d: “tier” must be low, standard or high."),
            "{all}"
        );
        assert!(
            all.contains("Model d: “kind” must be comfyui or wan2gp (it is “dalle”)."),
            "{all}"
        );
        assert!(all.contains("Two models are called a"), "{all}");
        assert!(
            all.contains("Model e: This ComfyUI workflow was saved in UI format"),
            "{all}"
        );
        assert!(Registry::from_json(&json!([])).unwrap_err()[0].contains("“models” list"));
    }

    fn generated(backend: &str) -> Generated {
        Generated {
            outputs: vec![],
            backend: backend.into(),
            notes: vec![],
        }
    }

    #[test]
    fn chains_fall_back_only_when_a_backend_is_unavailable() {
        let registry = Registry::from_json(&json!({"models": [
            entry("sdxl-local", "standard", 10, Some("flux-cloud")),
            entry("flux-cloud", "standard", 5, None),
        ]}))
        .unwrap();
        let chain = registry.route(Function::CreateImage, QualityTier::Standard);
        let served = run_chain(&chain, Function::CreateImage, QualityTier::Standard, |m| {
            if m.id == "sdxl-local" {
                Err(NodeError::backend_unavailable("connection refused"))
            } else {
                Ok(generated(&m.id))
            }
        });
        let served = served.unwrap();
        assert_eq!(served.model, "flux-cloud");
        assert!(served.fell_back);
        assert_eq!(
            served.generated.notes,
            [
                "sdxl-local (ComfyUI at http://sdxl-local:8188) was unavailable (connection \
              refused); fell back to flux-cloud"
            ]
        );

        let refused = run_chain(&chain, Function::CreateImage, QualityTier::Standard, |_| {
            Err(NodeError::invalid_input("node 4 (KSampler): bad"))
        })
        .unwrap_err();
        assert_eq!(refused.code, ErrorCode::InvalidInput);

        let none = run_chain(
            &[],
            Function::CreateVideo,
            QualityTier::High,
            |_| unreachable!(),
        )
        .unwrap_err();
        assert_eq!(none.code, ErrorCode::Unsupported);
        assert!(
            none.message
                .contains("no model for Create Video at the High tier")
        );
    }
}
