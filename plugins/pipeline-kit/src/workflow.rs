//! ComfyUI workflows in API format: recognising them (and the UI-format saves people paste
//! by mistake), reading and writing inputs by path (`6.inputs.text`), and finding where a
//! prompt, a seed, a frame size and reference images go.
//!
//! API format is a JSON object of node id → `{"class_type": …, "inputs": {…}}`; an input is
//! either a literal value or a link `["4", 1]` (output 1 of node 4).

use std::collections::BTreeSet;
use std::fmt;

use mdc_sdk::prelude::*;
use mdc_sdk::serde_json::{Map, Value as Json};

/// What to tell a user who pasted a workflow saved in UI format.
pub const EXPORT_API_HOWTO: &str = "In ComfyUI, open Settings and turn on “Dev mode” (“Enable \
     dev mode options”), then save the workflow with “Save (API Format)” (in the new menu: \
     Workflow → Export (API)) and paste that file here.";

/// Why a workflow cannot be used or edited; the message is a sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowError(pub String);

impl fmt::Display for WorkflowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<WorkflowError> for NodeError {
    fn from(e: WorkflowError) -> Self {
        NodeError::invalid_input(e.0)
    }
}

/// A ComfyUI workflow in API format.
#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    nodes: Map<String, Json>,
}

/// Class types that sample with `positive`/`negative` conditioning (KSampler and friends,
/// the guiders of the custom-sampler family).
fn is_sampler(class: &str) -> bool {
    class.contains("Sampler") || class.contains("Guider")
}

/// Class types that turn text into conditioning.
fn is_text_encoder(class: &str) -> bool {
    class.starts_with("CLIPTextEncode") || class.contains("TextEncode")
}

/// Class types of empty latents, which carry the frame size.
fn is_empty_latent(class: &str) -> bool {
    class.starts_with("Empty") && class.contains("Latent")
}

/// Orders node ids numerically when they are numbers (`2` before `10`), else as text.
fn id_order(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

/// The node a link input `["4", 1]` comes from.
fn link_source(value: &Json) -> Option<&str> {
    match value.as_array().map(Vec::as_slice) {
        Some([Json::String(node), Json::Number(_)]) => Some(node),
        _ => None,
    }
}

impl Workflow {
    /// Parses JSON text (see [`Workflow::from_json`]).
    pub fn parse(text: &str) -> Result<Workflow, WorkflowError> {
        let value: Json = mdc_sdk::serde_json::from_str(text)
            .map_err(|e| WorkflowError(format!("The ComfyUI workflow is not valid JSON: {e}.")))?;
        Workflow::from_json(&value)
    }

    /// Checks that `value` is an API-format workflow. A UI-format save (top-level `nodes`
    /// and `links` arrays) is refused with [`EXPORT_API_HOWTO`].
    pub fn from_json(value: &Json) -> Result<Workflow, WorkflowError> {
        let Json::Object(map) = value else {
            return Err(WorkflowError(format!(
                "The ComfyUI workflow must be a JSON object of nodes in API format, not {}. {}",
                kind_of(value),
                EXPORT_API_HOWTO
            )));
        };
        if map.get("nodes").is_some_and(Json::is_array)
            || map.get("links").is_some_and(Json::is_array)
        {
            return Err(WorkflowError(format!(
                "This ComfyUI workflow was saved in UI format (it has “nodes” and “links”), \
                 but this node needs the API format. {EXPORT_API_HOWTO}"
            )));
        }
        if map.is_empty() {
            return Err(WorkflowError(format!(
                "The ComfyUI workflow is empty. {EXPORT_API_HOWTO}"
            )));
        }
        for (id, node) in map {
            let class = node.get("class_type").and_then(Json::as_str);
            let inputs = node.get("inputs").map(Json::is_object);
            if class.is_none_or(str::is_empty) || inputs != Some(true) {
                return Err(WorkflowError(format!(
                    "Node “{id}” of the ComfyUI workflow has no “class_type” and “inputs”, so \
                     this is not an API-format workflow. {EXPORT_API_HOWTO}"
                )));
            }
        }
        Ok(Workflow { nodes: map.clone() })
    }

    /// The workflow as JSON, ready for `POST /prompt`.
    pub fn to_json(&self) -> Json {
        Json::Object(self.nodes.clone())
    }

    /// Node ids, numerically ordered.
    pub fn node_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.nodes.keys().map(String::as_str).collect();
        ids.sort_by(|a, b| id_order(a, b));
        ids
    }

    /// The class type of node `id`.
    pub fn class_of(&self, id: &str) -> Option<&str> {
        self.nodes.get(id)?.get("class_type")?.as_str()
    }

    /// `node 6 “Positive” (CLIPTextEncode)`: how messages name a node.
    pub fn describe_node(&self, id: &str) -> String {
        let class = self.class_of(id).unwrap_or("unknown class");
        let title = self
            .nodes
            .get(id)
            .and_then(|n| n.pointer("/_meta/title"))
            .and_then(Json::as_str)
            .filter(|t| !t.is_empty() && *t != class);
        match title {
            Some(title) => format!("node {id} “{title}” ({class})"),
            None => format!("node {id} ({class})"),
        }
    }

    /// How progress names node `id`: its title when it has one, else its class type, else
    /// `node <id>` (a node ComfyUI runs that the workflow does not list, inside a subgraph).
    pub fn label_of(&self, id: &str) -> String {
        let title = self
            .nodes
            .get(id)
            .and_then(|n| n.pointer("/_meta/title"))
            .and_then(Json::as_str)
            .filter(|t| !t.trim().is_empty());
        match title.or_else(|| self.class_of(id)) {
            Some(label) => label.to_owned(),
            None => format!("node {id}"),
        }
    }

    /// Ids of the nodes that sample step by step (KSampler, KSamplerAdvanced, SamplerCustom,
    /// SamplerCustomAdvanced): where a run spends its time and reports step progress.
    /// Sampler *choosers* (`KSamplerSelect`, `SamplerEulerAncestral`, …) take no steps.
    pub fn stepping_nodes(&self) -> Vec<&str> {
        self.node_ids()
            .into_iter()
            .filter(|id| {
                self.class_of(id).is_some_and(|class| {
                    (class.starts_with("KSampler") && !class.ends_with("Select"))
                        || class.starts_with("SamplerCustom")
                })
            })
            .collect()
    }

    fn inputs(&self, id: &str) -> Option<&Map<String, Json>> {
        self.nodes.get(id)?.get("inputs")?.as_object()
    }

    /// Ids of the nodes of a class type, numerically ordered.
    pub fn nodes_of_class(&self, class: &str) -> Vec<&str> {
        self.node_ids()
            .into_iter()
            .filter(|id| self.class_of(id) == Some(class))
            .collect()
    }

    /// Splits `6.inputs.text` into the node id and the JSON keys after it, checking that
    /// the node exists.
    fn split_path<'p>(&self, path: &'p str) -> Result<(&'p str, Vec<&'p str>), WorkflowError> {
        let path = path.trim();
        let (node, rest) = path.split_once('.').unwrap_or((path, ""));
        if node.is_empty() || rest.is_empty() {
            return Err(WorkflowError(format!(
                "“{path}” is not a workflow path; write it as node id, “inputs” and input \
                 name, like 6.inputs.text."
            )));
        }
        if !self.nodes.contains_key(node) {
            let ids = self.node_ids().join(", ");
            return Err(WorkflowError(format!(
                "The workflow has no node {node} (path “{path}”); its nodes are {ids}."
            )));
        }
        Ok((node, rest.split('.').collect()))
    }

    /// The value at `path` (`6.inputs.text`).
    pub fn get(&self, path: &str) -> Result<&Json, WorkflowError> {
        let (node, keys) = self.split_path(path)?;
        let mut here = &self.nodes[node];
        for (depth, key) in keys.iter().enumerate() {
            here = step(here, key).ok_or_else(|| self.missing(node, &keys, depth, path))?;
        }
        Ok(here)
    }

    /// Sets the existing literal at `path` to `value`. Refuses paths that do not exist and
    /// inputs wired to another node (setting them would cut the graph).
    pub fn set(&mut self, path: &str, value: Json) -> Result<(), WorkflowError> {
        let current = self.get(path)?;
        if let Some(source) = link_source(current) {
            let (node, _) = self.split_path(path)?;
            return Err(WorkflowError(format!(
                "“{path}” is connected to {} in the workflow, so it cannot be set to a value; \
                 expose an input of {} that holds a value instead.",
                self.describe_node(source),
                self.describe_node(node)
            )));
        }
        let (node, keys) = self.split_path(path)?;
        let mut here = self
            .nodes
            .get_mut(node)
            .expect("split_path checked the node");
        for key in &keys {
            here = step_mut(here, key).expect("get checked the path");
        }
        *here = value;
        Ok(())
    }

    /// The error for a path whose key at `depth` is missing.
    fn missing(&self, node: &str, keys: &[&str], depth: usize, path: &str) -> WorkflowError {
        let who = self.describe_node(node);
        if depth == 1 && keys[0] == "inputs" {
            let mut names: Vec<&str> = self
                .inputs(node)
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            names.sort_unstable();
            return WorkflowError(format!(
                "{who} has no input “{}” (path “{path}”); its inputs are {}.",
                keys[1],
                names.join(", ")
            ));
        }
        WorkflowError(format!(
            "{who} has nothing at “{}” (path “{path}”).",
            keys[..=depth].join(".")
        ))
    }

    /// The literal inputs named `name` on every node, as paths, numerically ordered.
    fn literal_inputs(&self, name: &str, on: impl Fn(&str) -> bool) -> Vec<String> {
        self.node_ids()
            .into_iter()
            .filter(|id| self.class_of(id).is_some_and(&on))
            .filter(|id| {
                self.inputs(id)
                    .and_then(|m| m.get(name))
                    .is_some_and(|v| link_source(v).is_none())
            })
            .map(|id| format!("{id}.inputs.{name}"))
            .collect()
    }

    /// The text input of the prompt encoder feeding the samplers' `positive` conditioning
    /// (through conditioning nodes such as FluxGuidance or ControlNetApply); with no
    /// sampler, the only text encoder. `None` when it cannot be told.
    pub fn positive_prompt_path(&self) -> Option<String> {
        self.prompt_path("positive")
            .or_else(|| self.prompt_path("conditioning"))
            .or_else(|| {
                let encoders = self.text_encoder_paths();
                (encoders.len() == 1).then(|| encoders[0].clone())
            })
    }

    /// The text input of the prompt encoder feeding the samplers' `negative` conditioning.
    pub fn negative_prompt_path(&self) -> Option<String> {
        self.prompt_path("negative")
    }

    /// Every text encoder's literal text input.
    fn text_encoder_paths(&self) -> Vec<String> {
        let mut paths = self.literal_inputs("text", is_text_encoder);
        if paths.is_empty() {
            paths = self.literal_inputs("text_g", is_text_encoder);
        }
        paths
    }

    /// Follows the samplers' input `port` upstream to the first text encoder.
    fn prompt_path(&self, port: &str) -> Option<String> {
        let samplers = self
            .node_ids()
            .into_iter()
            .filter(|id| self.class_of(id).is_some_and(is_sampler));
        for sampler in samplers {
            let Some(start) = self
                .inputs(sampler)
                .and_then(|m| m.get(port))
                .and_then(link_source)
            else {
                continue;
            };
            if let Some(path) = self.find_encoder_upstream(start) {
                return Some(path);
            }
        }
        None
    }

    /// Breadth-first from `start` through linked inputs to a text encoder's text input.
    fn find_encoder_upstream(&self, start: &str) -> Option<String> {
        let mut seen = BTreeSet::new();
        let mut frontier = vec![start.to_owned()];
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for id in frontier {
                if !seen.insert(id.clone()) {
                    continue;
                }
                let Some(inputs) = self.inputs(&id) else {
                    continue;
                };
                if self.class_of(&id).is_some_and(is_text_encoder) {
                    for name in ["text", "text_g"] {
                        if inputs.get(name).is_some_and(|v| link_source(v).is_none()) {
                            return Some(format!("{id}.inputs.{name}"));
                        }
                    }
                }
                let mut names: Vec<&String> = inputs.keys().collect();
                // Conditioning first, so a ControlNet's image branch is searched last.
                names.sort_by_key(|n| !(n.contains("conditioning") || *n == "positive"));
                for name in names {
                    if let Some(source) = link_source(&inputs[name.as_str()]) {
                        next.push(source.to_owned());
                    }
                }
            }
            frontier = next;
        }
        None
    }

    /// Literal seed inputs (`seed` of KSampler, `noise_seed` of KSamplerAdvanced and
    /// RandomNoise).
    pub fn seed_paths(&self) -> Vec<String> {
        let mut paths = self.literal_inputs("seed", |_| true);
        paths.extend(self.literal_inputs("noise_seed", |_| true));
        paths
    }

    /// Literal `width`/`height` pairs of empty latents (EmptyLatentImage and its kin).
    pub fn size_paths(&self) -> Vec<(String, String)> {
        self.literal_inputs("width", is_empty_latent)
            .into_iter()
            .filter_map(|w| {
                let h = w.replace(".inputs.width", ".inputs.height");
                self.get(&h).ok().map(|_| (w, h))
            })
            .collect()
    }

    /// Literal `length` (frame count) inputs of empty video latents.
    pub fn frame_count_paths(&self) -> Vec<String> {
        self.literal_inputs("length", is_empty_latent)
    }

    /// The `image` inputs of LoadImage nodes, in node order: where reference images go.
    pub fn load_image_paths(&self) -> Vec<String> {
        self.literal_inputs("image", |c| c == "LoadImage")
    }
}

/// One step down a path: an object key or an array index.
fn step<'a>(value: &'a Json, key: &str) -> Option<&'a Json> {
    match value {
        Json::Object(map) => map.get(key),
        Json::Array(items) => items.get(key.parse::<usize>().ok()?),
        _ => None,
    }
}

/// [`step`] for writing.
fn step_mut<'a>(value: &'a mut Json, key: &str) -> Option<&'a mut Json> {
    match value {
        Json::Object(map) => map.get_mut(key),
        Json::Array(items) => items.get_mut(key.parse::<usize>().ok()?),
        _ => None,
    }
}

/// `an array`, `a string`, … for messages.
fn kind_of(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "true or false",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// Inputs a user exposes under friendly names: `{"Prompt": "6.inputs.text"}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exposed {
    paths: Vec<(String, String)>,
}

impl Exposed {
    /// Reads the `expose` JSON object (friendly name → path); `null` means none.
    pub fn from_json(value: &Json) -> Result<Exposed, WorkflowError> {
        let map = match value {
            Json::Null => return Ok(Exposed::default()),
            Json::Object(map) => map,
            other => {
                return Err(WorkflowError(format!(
                    "The exposed inputs must be a JSON object of name → path, like \
                     {{\"Steps\": \"3.inputs.steps\"}}, not {}.",
                    kind_of(other)
                )));
            }
        };
        let mut paths = Vec::new();
        for (name, path) in map {
            let Some(path) = path.as_str() else {
                return Err(WorkflowError(format!(
                    "The exposed input “{name}” must be a path such as \"3.inputs.steps\"."
                )));
            };
            paths.push((name.clone(), path.trim().to_owned()));
        }
        paths.sort();
        Ok(Exposed { paths })
    }

    /// The path exposed as `name` (matched without regard to case).
    pub fn path(&self, name: &str) -> Option<&str> {
        self.paths
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, p)| p.as_str())
    }

    /// One error per exposed path that does not exist in `workflow`.
    pub fn check(&self, workflow: &Workflow) -> Vec<WorkflowError> {
        self.paths
            .iter()
            .filter_map(|(name, path)| {
                workflow
                    .get(path)
                    .err()
                    .map(|e| WorkflowError(format!("Exposed input “{name}”: {e}")))
            })
            .collect()
    }

    /// Sets each value of `values` (friendly name → value) at its exposed path.
    pub fn apply(&self, workflow: &mut Workflow, values: &Json) -> Result<(), WorkflowError> {
        let map = match values {
            Json::Null => return Ok(()),
            Json::Object(map) => map,
            other => {
                return Err(WorkflowError(format!(
                    "The values must be a JSON object of exposed name → value, not {}.",
                    kind_of(other)
                )));
            }
        };
        for (name, value) in map {
            let Some(path) = self.path(name) else {
                let names: Vec<&str> = self.paths.iter().map(|(n, _)| n.as_str()).collect();
                return Err(WorkflowError(format!(
                    "There is a value for “{name}”, but no input is exposed under that name; \
                     the exposed inputs are {}.",
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                )));
            };
            workflow
                .set(path, value.clone())
                .map_err(|e| WorkflowError(format!("Value for “{name}”: {e}")))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mdc_sdk::serde_json::json;

    /// The default text-to-image workflow as ComfyUI exports it in API format.
    pub(crate) fn default_workflow() -> Json {
        json!({
            "3": {"class_type": "KSampler", "inputs": {
                "seed": 156680208700286u64, "steps": 20, "cfg": 8, "sampler_name": "euler",
                "scheduler": "normal", "denoise": 1, "model": ["4", 0], "positive": ["6", 0],
                "negative": ["7", 0], "latent_image": ["5", 0]}},
            "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5.safetensors"}},
            "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}},
            "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a bottle", "clip": ["4", 1]},
                  "_meta": {"title": "Positive"}},
            "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "text, watermark", "clip": ["4", 1]}},
            "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
            "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}}
        })
    }

    #[test]
    fn ui_format_is_refused_with_the_export_howto() {
        let ui = json!({"last_node_id": 9, "nodes": [{"id": 3, "type": "KSampler"}], "links": [[1, 4, 0, 3, 0, "MODEL"]]});
        let err = Workflow::from_json(&ui).unwrap_err();
        assert!(err.0.contains("UI format"), "{err}");
        assert!(err.0.contains("Save (API Format)"), "{err}");
        assert!(err.0.contains("Dev mode"), "{err}");
        let empty = Workflow::from_json(&json!({})).unwrap_err();
        assert!(empty.0.contains("empty"), "{empty}");
        let list = Workflow::from_json(&json!([1])).unwrap_err();
        assert!(list.0.contains("not an array"), "{list}");
        let odd = Workflow::from_json(&json!({"1": {"inputs": {}}})).unwrap_err();
        assert!(odd.0.contains("Node “1”"), "{odd}");
        assert!(
            Workflow::parse("{")
                .unwrap_err()
                .0
                .contains("not valid JSON")
        );
    }

    #[test]
    fn paths_read_and_write_literals_with_clear_errors() {
        let mut wf = Workflow::from_json(&default_workflow()).unwrap();
        assert_eq!(wf.get("6.inputs.text").unwrap(), "a bottle");
        wf.set("3.inputs.steps", json!(30)).unwrap();
        assert_eq!(wf.to_json()["3"]["inputs"]["steps"], 30);
        let no_node = wf.get("12.inputs.text").unwrap_err();
        assert_eq!(
            no_node.0,
            "The workflow has no node 12 (path “12.inputs.text”); its nodes are 3, 4, 5, 6, 7, 8, 9."
        );
        let no_input = wf.get("6.inputs.txt").unwrap_err();
        assert_eq!(
            no_input.0,
            "node 6 “Positive” (CLIPTextEncode) has no input “txt” (path “6.inputs.txt”); its \
             inputs are clip, text."
        );
        let linked = wf.set("6.inputs.clip", json!("x")).unwrap_err();
        assert!(
            linked
                .0
                .contains("connected to node 4 (CheckpointLoaderSimple)"),
            "{linked}"
        );
        assert!(wf.get("6").unwrap_err().0.contains("like 6.inputs.text"));
    }

    #[test]
    fn finds_prompt_seed_size_and_image_inputs() {
        let wf = Workflow::from_json(&default_workflow()).unwrap();
        assert_eq!(wf.positive_prompt_path().as_deref(), Some("6.inputs.text"));
        assert_eq!(wf.negative_prompt_path().as_deref(), Some("7.inputs.text"));
        assert_eq!(wf.seed_paths(), ["3.inputs.seed"]);
        assert_eq!(
            wf.size_paths(),
            [("5.inputs.width".to_owned(), "5.inputs.height".to_owned())]
        );
        assert!(wf.load_image_paths().is_empty());
    }

    #[test]
    fn follows_conditioning_nodes_and_orders_load_images() {
        let flux = json!({
            "10": {"class_type": "LoadImage", "inputs": {"image": "b.png"}},
            "2": {"class_type": "LoadImage", "inputs": {"image": "a.png"}},
            "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "p", "clip": ["11", 0]}},
            "26": {"class_type": "FluxGuidance", "inputs": {"guidance": 3.5, "conditioning": ["6", 0]}},
            "22": {"class_type": "BasicGuider", "inputs": {"model": ["12", 0], "conditioning": ["26", 0]}},
            "25": {"class_type": "RandomNoise", "inputs": {"noise_seed": 7}},
            "11": {"class_type": "DualCLIPLoader", "inputs": {"clip_name1": "t5"}},
            "12": {"class_type": "UNETLoader", "inputs": {"unet_name": "flux"}}
        });
        let wf = Workflow::from_json(&flux).unwrap();
        assert_eq!(wf.positive_prompt_path().as_deref(), Some("6.inputs.text"));
        assert_eq!(wf.negative_prompt_path(), None);
        assert_eq!(wf.seed_paths(), ["25.inputs.noise_seed"]);
        assert_eq!(wf.load_image_paths(), ["2.inputs.image", "10.inputs.image"]);
    }

    #[test]
    fn exposed_values_land_on_their_paths() {
        let mut wf = Workflow::from_json(&default_workflow()).unwrap();
        let exposed =
            Exposed::from_json(&json!({"Steps": "3.inputs.steps", "Bad": "3.inputs.stepz"}))
                .unwrap();
        let problems = exposed.check(&wf);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0]
                .0
                .starts_with("Exposed input “Bad”: node 3 (KSampler) has no input “stepz”")
        );
        exposed.apply(&mut wf, &json!({"steps": 12})).unwrap();
        assert_eq!(wf.get("3.inputs.steps").unwrap(), 12);
        let unknown = exposed.apply(&mut wf, &json!({"CFG": 2})).unwrap_err();
        assert!(
            unknown.0.contains("the exposed inputs are Bad, Steps"),
            "{unknown}"
        );
        assert!(Exposed::from_json(&json!([1])).is_err());
        assert!(
            Exposed::from_json(&json!({"A": 1}))
                .unwrap_err()
                .0
                .contains("“A”")
        );
    }
}
