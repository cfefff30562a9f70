//! Wan2GP: video generation through a Wan2GP server's Gradio API, with quality presets.
//!
//! A Wan2GP version names its generate endpoint and orders its parameters as its API tab
//! shows; so the endpoint is configurable (`api_name`) and the `data` array is built by
//! parameter *name* from the app's `/info` (or from a configured parameter order, for an
//! endpoint the app hides): the prompt, negative prompt, resolution (`832x480`), frame count
//! (`video_length`), steps, guidance, seed and start frame (`image_start`) go where their
//! names say; every other parameter gets the default the app declares.
//!
//! The configuration is the JSON object of a pipeline (`{"kind": "wan2gp", "endpoint": …}`)
//! or of the `wan2gp` node's parameters; [`Settings::parse`] reads both.

use std::time::Duration;

use mdc_sdk::prelude::*;
use mdc_sdk::serde_json::{Value as Json, json};

use crate::gradio::{Endpoint, FileData, Gradio, Parameter, Prefix, StageProgress, api_route_name};
use crate::net::Client;
use crate::request::{Function, Generated, GenerationRequest};

/// The backend's display name.
pub const BACKEND: &str = "Wan2GP";

/// Where Wan2GP listens unless configured otherwise (Gradio's default port).
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:7860";

/// The generate endpoint unless configured otherwise.
pub const DEFAULT_API_NAME: &str = "/generate";

/// How long to wait for a job's result unless configured otherwise: a High-tier clip on a
/// busy consumer GPU takes tens of minutes.
pub const DEFAULT_TIMEOUT_SECS: u64 = 45 * 60;

/// Frames per second of Wan 2.1/2.2 clips.
pub const FPS: u32 = 16;

/// Most frames asked of one job (15 s at 16 fps).
pub const MAX_FRAMES: u32 = 241;

/// Seeds sent to Wan2GP are reduced below this (a value Python and the UI's sliders accept).
pub const SEED_MODULUS: u64 = 1 << 31;

/// One quality preset: how many steps at which resolution, how many frames, how much guidance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preset {
    /// `fast`, `balanced`, `quality`.
    pub id: &'static str,
    /// How the product names it.
    pub label: &'static str,
    /// Denoising steps (`num_inference_steps`).
    pub steps: u32,
    /// Width of a landscape frame.
    pub width: u32,
    /// Height of a landscape frame.
    pub height: u32,
    /// Side of a square frame (Wan2GP's square resolution of the same class).
    pub square: u32,
    /// Frames when the request does not say (`4n + 1`, as Wan needs).
    pub frames: u32,
    /// Frames per second.
    pub fps: u32,
    /// Classifier-free guidance scale.
    pub guidance: f64,
}

/// The presets, fastest first.
pub const PRESETS: [Preset; 3] = [
    Preset {
        id: "fast",
        label: "Fast · 480p, 20 steps, 3 s",
        steps: 20,
        width: 832,
        height: 480,
        square: 624,
        frames: 49,
        fps: FPS,
        guidance: 5.0,
    },
    Preset {
        id: "balanced",
        label: "Balanced · 480p, 30 steps, 5 s",
        steps: 30,
        width: 832,
        height: 480,
        square: 624,
        frames: 81,
        fps: FPS,
        guidance: 5.0,
    },
    Preset {
        id: "quality",
        label: "Quality · 720p, 40 steps, 5 s",
        steps: 40,
        width: 1280,
        height: 720,
        square: 960,
        frames: 81,
        fps: FPS,
        guidance: 5.0,
    },
];

impl Preset {
    /// The preset with this id.
    pub fn find(id: &str) -> Option<&'static Preset> {
        PRESETS.iter().find(|p| p.id == id.trim())
    }

    /// The preset a tier uses by default: low → fast, standard → balanced, high → quality.
    pub fn for_tier(tier: QualityTier) -> &'static Preset {
        match tier {
            QualityTier::Low => &PRESETS[0],
            QualityTier::Standard => &PRESETS[1],
            QualityTier::High => &PRESETS[2],
        }
    }

    /// The frame size for a request of `width`×`height` (only the orientation counts):
    /// landscape, portrait or square in this preset's resolution class.
    pub fn size_for(&self, width: u32, height: u32) -> (u32, u32) {
        if width == 0 || height == 0 {
            return (self.width, self.height);
        }
        let ratio = f64::from(width) / f64::from(height);
        if ratio > 1.1 {
            (self.width, self.height)
        } else if ratio < 1.0 / 1.1 {
            (self.height, self.width)
        } else {
            (self.square, self.square)
        }
    }

    /// The frame count for a request of `requested` frames (0: this preset's), rounded to
    /// the nearest `4n + 1` between 5 and [`MAX_FRAMES`].
    pub fn frames_for(&self, requested: u32) -> u32 {
        if requested == 0 {
            return self.frames;
        }
        let n = (requested.min(MAX_FRAMES) + 1) / 4;
        (4 * n + 1).clamp(5, MAX_FRAMES)
    }
}

/// Ids of the presets, for messages: `fast, balanced, quality`.
pub fn preset_ids() -> String {
    PRESETS.iter().map(|p| p.id).collect::<Vec<_>>().join(", ")
}

/// A configuration problem, with the key (or node parameter) it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// `endpoint`, `api_name`, `api_prefix`, `preset`, `tier_presets`, `timeout` or `parameters`.
    pub field: &'static str,
    /// A sentence for the user.
    pub message: String,
}

impl From<ConfigError> for NodeError {
    fn from(err: ConfigError) -> NodeError {
        NodeError::invalid_input(err.message)
    }
}

/// How to reach Wan2GP and what to ask of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The server's base URL.
    pub endpoint: String,
    /// The generate endpoint, with its slash: `/generate`.
    pub api_name: String,
    /// Where the API routes live.
    pub prefix: Prefix,
    /// The preset chosen, or `None` to follow the tier.
    pub preset: Option<&'static Preset>,
    /// The preset per tier when following it: `[low, standard, high]`.
    pub tier_presets: [&'static Preset; 3],
    /// How long to wait for a job's result.
    pub timeout: Duration,
    /// The endpoint's parameter names in order, when configured instead of read from `/info`.
    pub parameters: Option<Vec<String>>,
}

/// A text setting: absent or `null` is `None`; anything but a string is an error.
fn text_setting<'a>(config: &'a Json, key: &'static str) -> Result<Option<&'a str>, ConfigError> {
    match config.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(text)) => Ok(Some(text.as_str())),
        Some(other) => Err(ConfigError {
            field: key,
            message: format!("the Wan2GP setting `{key}` must be text, not {other}"),
        }),
    }
}

fn find_preset(field: &'static str, id: &str) -> Result<&'static Preset, ConfigError> {
    Preset::find(id).ok_or_else(|| ConfigError {
        field,
        message: format!(
            "there is no Wan2GP preset {id:?}; choose auto, {}",
            preset_ids()
        ),
    })
}

impl Settings {
    /// Reads a pipeline's or node's configuration: `endpoint`, `api_name`, `api_prefix`
    /// (`auto`, `root` or a path), `preset` (`auto` or a preset id), `tier_presets`
    /// (`{"standard": "fast", …}`), `timeout` (seconds) and `parameters` (the endpoint's
    /// parameter names in order, comma-separated or a list). Other keys are ignored.
    pub fn parse(config: &Json) -> Result<Settings, ConfigError> {
        if !config.is_object() {
            return Err(ConfigError {
                field: "endpoint",
                message: "the Wan2GP configuration must be a JSON object".to_owned(),
            });
        }
        let endpoint = text_setting(config, "endpoint")?
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .unwrap_or(DEFAULT_ENDPOINT);
        if Client::new(BACKEND, endpoint).is_err() {
            return Err(ConfigError {
                field: "endpoint",
                message: format!(
                    "the Wan2GP endpoint {endpoint:?} is not an http:// or https:// URL such as \
                     {DEFAULT_ENDPOINT}"
                ),
            });
        }
        let api_name = text_setting(config, "api_name")?
            .filter(|a| !a.trim().is_empty())
            .unwrap_or(DEFAULT_API_NAME);
        let route = api_route_name(api_name).map_err(|message| ConfigError {
            field: "api_name",
            message,
        })?;
        let prefix = Prefix::parse(text_setting(config, "api_prefix")?.unwrap_or("auto")).map_err(
            |message| ConfigError {
                field: "api_prefix",
                message,
            },
        )?;
        let preset = match text_setting(config, "preset")?.map(str::trim) {
            None | Some("") | Some("auto") => None,
            Some(id) => Some(find_preset("preset", id)?),
        };
        Ok(Settings {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            api_name: format!("/{route}"),
            prefix,
            preset,
            tier_presets: tier_presets(config)?,
            timeout: timeout(config)?,
            parameters: parameter_order(config)?,
        })
    }

    /// The preset for a job at `tier`: the chosen one, or the tier's.
    pub fn preset_for(&self, tier: QualityTier) -> &'static Preset {
        self.preset.unwrap_or(match tier {
            QualityTier::Low => self.tier_presets[0],
            QualityTier::Standard => self.tier_presets[1],
            QualityTier::High => self.tier_presets[2],
        })
    }
}

/// `tier_presets`: the default mapping with the configured tiers replaced.
fn tier_presets(config: &Json) -> Result<[&'static Preset; 3], ConfigError> {
    let mut presets = [
        Preset::for_tier(QualityTier::Low),
        Preset::for_tier(QualityTier::Standard),
        Preset::for_tier(QualityTier::High),
    ];
    let Some(map) = config.get("tier_presets").filter(|v| !v.is_null()) else {
        return Ok(presets);
    };
    let Some(map) = map.as_object() else {
        return Err(ConfigError {
            field: "tier_presets",
            message: "the Wan2GP setting `tier_presets` must be an object such as \
                      {\"standard\": \"fast\", \"high\": \"quality\"}"
                .to_owned(),
        });
    };
    for (tier, id) in map {
        let slot = match tier.as_str() {
            "low" => 0,
            "standard" => 1,
            "high" => 2,
            other => {
                return Err(ConfigError {
                    field: "tier_presets",
                    message: format!(
                        "`tier_presets` names the tier {other:?}; the tiers are low, standard \
                         and high"
                    ),
                });
            }
        };
        presets[slot] = find_preset("tier_presets", id.as_str().unwrap_or_default())?;
    }
    Ok(presets)
}

/// `timeout`: positive seconds.
fn timeout(config: &Json) -> Result<Duration, ConfigError> {
    let seconds = match config.get("timeout") {
        None | Some(Json::Null) => return Ok(Duration::from_secs(DEFAULT_TIMEOUT_SECS)),
        Some(value) => value.as_f64(),
    };
    match seconds {
        Some(s) if s.is_finite() && s > 0.0 && s <= f64::from(u32::MAX / 1000) => {
            Ok(Duration::from_secs_f64(s))
        }
        _ => Err(ConfigError {
            field: "timeout",
            message: format!(
                "the Wan2GP timeout must be a positive number of seconds (at most {}), not {}",
                u32::MAX / 1000,
                config["timeout"]
            ),
        }),
    }
}

/// `parameters`: names in order, as comma-separated text or a list; empty is `None`.
fn parameter_order(config: &Json) -> Result<Option<Vec<String>>, ConfigError> {
    let names: Vec<String> = match config.get("parameters") {
        None | Some(Json::Null) => return Ok(None),
        Some(Json::String(text)) => text.split(',').map(|n| n.trim().to_owned()).collect(),
        Some(Json::Array(items)) => items
            .iter()
            .map(|n| n.as_str().unwrap_or_default().trim().to_owned())
            .collect(),
        Some(other) => {
            return Err(ConfigError {
                field: "parameters",
                message: format!(
                    "the Wan2GP parameter order must be names separated by commas, not {other}"
                ),
            });
        }
    };
    if names.iter().all(String::is_empty) {
        return Ok(None);
    }
    if names.iter().any(String::is_empty) {
        return Err(ConfigError {
            field: "parameters",
            message: "the Wan2GP parameter order has an empty name (two commas in a row?)"
                .to_owned(),
        });
    }
    Ok(Some(names))
}

/// A start frame for image-to-video.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartFrame {
    /// The name to upload it under.
    pub file_name: String,
    /// Its media type.
    pub mime: String,
    /// The image bytes.
    pub bytes: Vec<u8>,
}

impl StartFrame {
    /// Reads asset `id` (needs `asset-read`).
    pub fn from_asset(id: &str) -> Result<StartFrame, NodeError> {
        let metadata = host::asset_metadata(id).map_err(|why| {
            NodeError::invalid_input(format!(
                "the start frame (asset {id}) cannot be read: {why}"
            ))
        })?;
        if !metadata.mime.starts_with("image/") {
            return Err(NodeError::invalid_input(format!(
                "the start frame (asset {id}) is {}, not an image",
                metadata.mime
            )));
        }
        let bytes = host::read_asset(id).map_err(|why| {
            NodeError::invalid_input(format!(
                "the start frame (asset {id}) cannot be read: {why}"
            ))
        })?;
        let extension = metadata
            .mime
            .trim_start_matches("image/")
            .replace("jpeg", "jpg");
        let stem = if metadata.name.trim().is_empty() {
            id
        } else {
            metadata.name.trim()
        };
        let file_name = if stem.contains('.') {
            stem.to_owned()
        } else {
            format!("{stem}.{extension}")
        };
        Ok(StartFrame {
            file_name,
            mime: metadata.mime,
            bytes,
        })
    }
}

/// The values a job sends, resolved from the settings, the preset and the request.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The preset applied.
    pub preset: &'static Preset,
    /// The positive prompt.
    pub prompt: String,
    /// What to avoid (empty: the app's default).
    pub negative_prompt: String,
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// Frames (1 for a still image).
    pub frames: u32,
    /// Frames per second.
    pub fps: u32,
    /// Denoising steps.
    pub steps: u32,
    /// Guidance scale.
    pub guidance: f64,
    /// The seed, reduced below [`SEED_MODULUS`].
    pub seed: u64,
}

impl Plan {
    /// The plan for `request` under `settings`.
    pub fn new(settings: &Settings, request: &GenerationRequest) -> Plan {
        let preset = settings.preset_for(request.tier);
        let (width, height) = preset.size_for(request.width, request.height);
        let frames = match request.function {
            Function::CreateImage => 1,
            Function::CreateVideo => preset.frames_for(request.frames),
        };
        Plan {
            preset,
            prompt: request.prompt.trim().to_owned(),
            negative_prompt: request.negative_prompt.trim().to_owned(),
            width,
            height,
            frames,
            fps: preset.fps,
            steps: preset.steps,
            guidance: preset.guidance,
            seed: request.seed % SEED_MODULUS,
        }
    }

    /// `832x480`, as Wan2GP writes resolutions.
    pub fn resolution(&self) -> String {
        format!("{}x{}", self.width, self.height)
    }

    /// `balanced: 30 steps, 832x480, 81 frames at 16 fps, guidance 5`.
    pub fn summary(&self) -> String {
        format!(
            "{}: {} steps, {}, {} frames at {} fps, guidance {}",
            self.preset.id,
            self.steps,
            self.resolution(),
            self.frames,
            self.fps,
            self.guidance
        )
    }
}

/// What a parameter of the generate endpoint receives, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Prompt,
    Negative,
    Resolution,
    Width,
    Height,
    Frames,
    Fps,
    Steps,
    Guidance,
    Seed,
    StartImage,
}

impl Role {
    /// The role of a parameter called `name` (Wan2GP's names first, then common aliases).
    fn of(name: &str) -> Option<Role> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "prompt" | "positive_prompt" | "text_prompt" => Role::Prompt,
            "negative_prompt" | "neg_prompt" | "negative" => Role::Negative,
            "resolution" => Role::Resolution,
            "width" => Role::Width,
            "height" => Role::Height,
            "video_length" | "num_frames" | "frames" | "frame_num" => Role::Frames,
            "fps" | "frame_rate" => Role::Fps,
            "num_inference_steps" | "steps" | "sampling_steps" => Role::Steps,
            "guidance_scale" | "guidance" | "cfg" | "cfg_scale" => Role::Guidance,
            "seed" => Role::Seed,
            "image_start" | "start_image" | "image" | "input_image" | "first_frame" => {
                Role::StartImage
            }
            _ => return None,
        })
    }

    /// How messages name what the role carries.
    fn what(self) -> &'static str {
        match self {
            Role::Prompt => "prompt",
            Role::Negative => "negative prompt",
            Role::Resolution | Role::Width | Role::Height => "resolution",
            Role::Frames => "frame count",
            Role::Fps => "frame rate",
            Role::Steps => "steps",
            Role::Guidance => "guidance",
            Role::Seed => "seed",
            Role::StartImage => "start frame",
        }
    }
}

/// The `data` array for the generate endpoint, and what the user should know about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Arguments {
    /// One value per parameter, in order.
    pub data: Vec<Json>,
    /// Parameters left at the app's defaults, and settings the endpoint has no place for.
    pub notes: Vec<String>,
}

/// Builds the `data` array for `endpoint` from `plan` and the uploaded start frame.
/// Fails when the endpoint takes no prompt, or no start frame while one is given.
pub fn arguments(
    endpoint: &Endpoint,
    plan: &Plan,
    start_frame: Option<&FileData>,
) -> Result<Arguments, NodeError> {
    let mut data = Vec::with_capacity(endpoint.parameters.len());
    let mut seen = Vec::new();
    let mut defaulted = Vec::new();
    for parameter in &endpoint.parameters {
        let role = Role::of(&parameter.name);
        let value = match role {
            Some(role) => {
                seen.push(role);
                role_value(role, parameter, plan, start_frame)
            }
            None => {
                defaulted.push(parameter.name.clone());
                parameter.default.clone().unwrap_or(Json::Null)
            }
        };
        data.push(value);
    }
    let names = || {
        endpoint
            .parameters
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !seen.contains(&Role::Prompt) {
        return Err(NodeError::invalid_input(format!(
            "the Wan2GP endpoint {} takes no prompt (its parameters: {}); set the API name to \
             the generate endpoint of the app's API tab, or the parameter order to its names",
            endpoint.name,
            names()
        )));
    }
    if start_frame.is_some() && !seen.contains(&Role::StartImage) {
        return Err(NodeError::invalid_input(format!(
            "a start frame is connected, but the Wan2GP endpoint {} takes no start image \
             (its parameters: {}); use an image-to-video endpoint or disconnect the image",
            endpoint.name,
            names()
        )));
    }
    let mut notes = Vec::new();
    let sizes = [Role::Resolution, Role::Width, Role::Height];
    for role in [
        Role::Resolution,
        Role::Frames,
        Role::Steps,
        Role::Guidance,
        Role::Seed,
    ] {
        let present = if role == Role::Resolution {
            sizes.iter().any(|r| seen.contains(r))
        } else {
            seen.contains(&role)
        };
        if !present {
            notes.push(format!(
                "the endpoint {} has no {} parameter, so Wan2GP's own setting applies",
                endpoint.name,
                role.what()
            ));
        }
    }
    if !defaulted.is_empty() {
        notes.push(format!(
            "left at the app's defaults: {}",
            defaulted.join(", ")
        ));
    }
    Ok(Arguments { data, notes })
}

/// The value for a parameter with a known role.
fn role_value(role: Role, parameter: &Parameter, plan: &Plan, start: Option<&FileData>) -> Json {
    match role {
        Role::Prompt => json!(plan.prompt),
        Role::Negative if plan.negative_prompt.is_empty() => {
            parameter.default.clone().unwrap_or_else(|| json!(""))
        }
        Role::Negative => json!(plan.negative_prompt),
        Role::Resolution => json!(plan.resolution()),
        Role::Width => json!(plan.width),
        Role::Height => json!(plan.height),
        Role::Frames => json!(plan.frames),
        Role::Fps => json!(plan.fps),
        Role::Steps => json!(plan.steps),
        Role::Guidance => json!(plan.guidance),
        Role::Seed => json!(plan.seed),
        Role::StartImage => start.map(FileData::to_json).unwrap_or(Json::Null),
    }
}

/// A finished Wan2GP job: the stored outputs and everything needed to describe the take.
#[derive(Debug, Clone, PartialEq)]
pub struct Take {
    /// The stored videos (or images), in the app's order.
    pub outputs: Vec<AssetRef>,
    /// The job's Gradio event id.
    pub event_id: String,
    /// What was asked.
    pub plan: Plan,
    /// The server's base URL.
    pub endpoint: String,
    /// The endpoint called: `/generate`.
    pub api_name: String,
    /// The API prefix in use: `/gradio_api` or empty.
    pub prefix: String,
    /// Where the start frame was uploaded to on the server, if one was sent.
    pub start_frame: Option<String>,
    /// What the user should know (preset, defaults, unused inputs).
    pub notes: Vec<String>,
}

impl Take {
    /// `Wan2GP at http://…`.
    pub fn backend(&self) -> String {
        format!("{BACKEND} at {}", self.endpoint)
    }

    /// The take as JSON: backend, job, every value sent, the outputs and the notes.
    pub fn details(&self) -> Json {
        let plan = &self.plan;
        json!({
            "backend": BACKEND,
            "endpoint": self.endpoint,
            "api_name": self.api_name,
            "api_prefix": self.prefix,
            "event_id": self.event_id,
            "preset": plan.preset.id,
            "prompt": plan.prompt,
            "negative_prompt": plan.negative_prompt,
            "resolution": plan.resolution(),
            "width": plan.width,
            "height": plan.height,
            "frames": plan.frames,
            "fps": plan.fps,
            "seconds": f64::from(plan.frames) / f64::from(plan.fps.max(1)),
            "steps": plan.steps,
            "guidance": plan.guidance,
            "seed": plan.seed,
            "start_frame": self.start_frame,
            "outputs": self.outputs.iter()
                .map(|o| json!({"id": o.id, "mime": o.mime}))
                .collect::<Vec<_>>(),
            "notes": self.notes,
        })
    }

    /// The backend-neutral result.
    pub fn into_generated(self) -> Generated {
        Generated {
            backend: self.backend(),
            outputs: self.outputs,
            notes: self.notes,
        }
    }
}

/// Runs a generation for a pipeline configured as `config` (see [`Settings::parse`]).
pub fn generate(config: &Json, request: &GenerationRequest) -> Result<Generated, NodeError> {
    let settings = Settings::parse(config)?;
    Ok(run(&settings, request, None)?.into_generated())
}

/// Stops with `cancelled` once the user cancelled.
fn check_cancelled() -> Result<(), NodeError> {
    if host::is_cancelled() {
        Err(NodeError::cancelled())
    } else {
        Ok(())
    }
}

/// Runs one job: reads the API description, uploads the start frame, submits, waits for
/// the result and stores every video (or, failing those, image) it returned.
pub fn run(
    settings: &Settings,
    request: &GenerationRequest,
    start_frame: Option<StartFrame>,
) -> Result<Take, NodeError> {
    check_cancelled()?;
    host::progress(0.02, "submitting to Wan2GP");
    let client = Client::new(BACKEND, &settings.endpoint)?;
    let gradio = Gradio::connect(client, &settings.prefix)?;
    let endpoint = endpoint_layout(settings, &gradio)?;
    let plan = Plan::new(settings, request);
    let mut notes = vec![format!("preset {}", plan.summary())];
    if !request.references.is_empty() {
        notes.push(format!(
            "Wan2GP takes a start frame, not reference images; {} reference image(s) were not sent",
            request.references.len()
        ));
    }
    check_cancelled()?;
    let uploaded = match start_frame {
        Some(frame) => {
            host::progress(0.04, "submitting to Wan2GP: uploading the start frame");
            Some(gradio.upload(&frame.file_name, &frame.mime, frame.bytes)?)
        }
        None => None,
    };
    let arguments = arguments(&endpoint, &plan, uploaded.as_ref())?;
    notes.extend(arguments.notes);
    check_cancelled()?;
    let event_id = gradio.submit(&settings.api_name, &arguments.data)?;
    host::info(&format!(
        "Wan2GP job {event_id} queued at {}{}/call{}",
        settings.endpoint,
        gradio.prefix(),
        settings.api_name
    ));
    host::progress(0.1, "generating on Wan2GP (this can take minutes)");
    let mut progress = StageProgress::new(BACKEND);
    let results = gradio.result(
        &settings.api_name,
        &event_id,
        settings.timeout,
        &mut |stage| progress.report(stage),
    )?;
    check_cancelled()?;
    host::progress(0.9, "downloading the video");
    let files = media_files(&results, request.function);
    if files.is_empty() {
        return Err(NodeError::failed(format!(
            "{BACKEND} at {} finished job {event_id} but returned no video or image (outputs: {})",
            settings.endpoint,
            short(&Json::Array(results).to_string())
        )));
    }
    let mut outputs = Vec::with_capacity(files.len());
    for (file, mime) in files {
        check_cancelled()?;
        let bytes = gradio.download(&file)?;
        let id = host::write_output(&mime, &bytes).map_err(|why| {
            NodeError::failed(format!("storing {} from Wan2GP failed: {why}", file.name()))
        })?;
        outputs.push(AssetRef::new(id, mime));
    }
    host::progress(1.0, "done");
    Ok(Take {
        outputs,
        event_id,
        plan,
        endpoint: settings.endpoint.clone(),
        api_name: settings.api_name.clone(),
        prefix: gradio.prefix().to_owned(),
        start_frame: uploaded.map(|f| f.path),
        notes,
    })
}

/// The generate endpoint's parameters: the configured order, or the app's description.
fn endpoint_layout(settings: &Settings, gradio: &Gradio) -> Result<Endpoint, NodeError> {
    if let Some(names) = &settings.parameters {
        return Ok(Endpoint {
            name: settings.api_name.clone(),
            parameters: names.iter().map(|n| Parameter::named(n)).collect(),
        });
    }
    gradio
        .info()
        .endpoint(&settings.api_name)
        .cloned()
        .ok_or_else(|| {
            NodeError::invalid_input(format!(
                "{BACKEND} at {} lists no endpoint {} in its API description (it lists: {}); set \
                 the API name to the generate endpoint of its API tab, or give the parameter \
                 order of an endpoint the app does not list",
                settings.endpoint,
                settings.api_name,
                gradio.info().names()
            ))
        })
}

/// The files to keep from a job's outputs, with their media types: the videos, or for an
/// image request (or when there are no videos) the images.
fn media_files(outputs: &[Json], function: Function) -> Vec<(FileData, String)> {
    let files: Vec<(FileData, String)> = outputs
        .iter()
        .flat_map(FileData::find_all)
        .filter_map(|file| file.mime().map(|mime| (file, mime)))
        .collect();
    let of_kind = |prefix: &str| -> Vec<(FileData, String)> {
        files
            .iter()
            .filter(|(_, mime)| mime.starts_with(prefix))
            .cloned()
            .collect()
    };
    let (first, second) = match function {
        Function::CreateVideo => ("video/", "image/"),
        Function::CreateImage => ("image/", "video/"),
    };
    let preferred = of_kind(first);
    if preferred.is_empty() {
        of_kind(second)
    } else {
        preferred
    }
}

/// The start of a long text, for messages.
fn short(text: &str) -> String {
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(tier: QualityTier) -> GenerationRequest {
        GenerationRequest {
            function: Function::CreateVideo,
            prompt: " a lighthouse in a storm ".into(),
            negative_prompt: String::new(),
            seed: (1 << 40) + 7,
            tier,
            width: 1920,
            height: 1080,
            frames: 0,
            references: Vec::new(),
        }
    }

    fn wan2gp_endpoint() -> Endpoint {
        let p = |name: &str, default: Option<Json>| Parameter {
            default,
            ..Parameter::named(name)
        };
        Endpoint {
            name: "/generate".into(),
            parameters: vec![
                p("prompt", None),
                p("negative_prompt", Some(json!("blurry, static"))),
                p("resolution", Some(json!("832x480"))),
                p("video_length", Some(json!(81))),
                p("num_inference_steps", Some(json!(30))),
                p("guidance_scale", Some(json!(5.0))),
                p("seed", Some(json!(-1))),
                p("image_start", None),
                p("sample_solver", Some(json!("unipc"))),
            ],
        }
    }

    #[test]
    fn tiers_follow_the_default_mapping_unless_a_preset_is_chosen() {
        let settings = Settings::parse(&json!({})).unwrap();
        assert_eq!(settings.preset_for(QualityTier::Standard).id, "balanced");
        assert_eq!(settings.preset_for(QualityTier::High).id, "quality");
        let fixed = Settings::parse(&json!({"preset": "fast"})).unwrap();
        assert_eq!(fixed.preset_for(QualityTier::High).id, "fast");
        let mapped = Settings::parse(&json!({"tier_presets": {"high": "balanced"}})).unwrap();
        assert_eq!(mapped.preset_for(QualityTier::High).id, "balanced");
        assert_eq!(mapped.preset_for(QualityTier::Standard).id, "balanced");
    }

    #[test]
    fn bad_settings_name_their_field() {
        let field = |config: Json| Settings::parse(&config).unwrap_err().field;
        assert_eq!(field(json!({"endpoint": "localhost:7860"})), "endpoint");
        assert_eq!(field(json!({"preset": "ultra"})), "preset");
        assert_eq!(
            field(json!({"tier_presets": {"medium": "fast"}})),
            "tier_presets"
        );
        assert_eq!(field(json!({"api_name": "/a b"})), "api_name");
        assert_eq!(field(json!({"api_prefix": "gradio"})), "api_prefix");
        assert_eq!(field(json!({"timeout": 0})), "timeout");
        assert_eq!(field(json!({"parameters": "prompt,,seed"})), "parameters");
        let err = Settings::parse(&json!({"preset": "ultra"})).unwrap_err();
        assert!(
            err.message.contains("fast, balanced, quality"),
            "{}",
            err.message
        );
    }

    #[test]
    fn settings_read_every_key() {
        let settings = Settings::parse(&json!({
            "kind": "wan2gp", "endpoint": "http://gpu:7860/", "api_name": "generate_video",
            "api_prefix": "root", "timeout": 90, "parameters": ["prompt", "seed"]
        }))
        .unwrap();
        assert_eq!(settings.endpoint, "http://gpu:7860");
        assert_eq!(settings.api_name, "/generate_video");
        assert_eq!(settings.prefix, Prefix::Fixed(String::new()));
        assert_eq!(settings.timeout, Duration::from_secs(90));
        assert_eq!(
            settings.parameters,
            Some(vec!["prompt".into(), "seed".into()])
        );
        assert_eq!(
            Settings::parse(&json!({})).unwrap().timeout,
            Duration::from_secs(DEFAULT_TIMEOUT_SECS)
        );
    }

    #[test]
    fn plans_take_orientation_frames_and_seed_from_the_request() {
        let settings = Settings::parse(&json!({})).unwrap();
        let mut req = request(QualityTier::High);
        let plan = Plan::new(&settings, &req);
        assert_eq!(plan.resolution(), "1280x720");
        assert_eq!((plan.frames, plan.steps, plan.fps), (81, 40, 16));
        assert_eq!(plan.seed, 7);
        assert_eq!(plan.prompt, "a lighthouse in a storm");
        req.width = 1080;
        req.height = 1920;
        req.frames = 50;
        req.tier = QualityTier::Standard;
        let plan = Plan::new(&settings, &req);
        assert_eq!(plan.resolution(), "480x832");
        assert_eq!(plan.frames, 49);
        req.width = 1000;
        req.height = 1000;
        req.function = Function::CreateImage;
        let plan = Plan::new(&settings, &req);
        assert_eq!((plan.resolution().as_str(), plan.frames), ("624x624", 1));
    }

    #[test]
    fn frame_counts_snap_to_four_n_plus_one() {
        let preset = Preset::find("balanced").unwrap();
        assert_eq!(preset.frames_for(0), 81);
        assert_eq!(preset.frames_for(1), 5);
        assert_eq!(preset.frames_for(80), 81);
        assert_eq!(preset.frames_for(82), 81);
        assert_eq!(preset.frames_for(83), 85);
        assert_eq!(preset.frames_for(10_000), MAX_FRAMES);
    }

    #[test]
    fn data_follows_the_parameter_names_and_defaults() {
        let settings = Settings::parse(&json!({})).unwrap();
        let plan = Plan::new(&settings, &request(QualityTier::Standard));
        let start = FileData {
            path: "/tmp/gradio/up/start.png".into(),
            url: None,
            orig_name: Some("start.png".into()),
            mime_type: Some("image/png".into()),
        };
        let args = arguments(&wan2gp_endpoint(), &plan, Some(&start)).unwrap();
        assert_eq!(
            args.data,
            vec![
                json!("a lighthouse in a storm"),
                json!("blurry, static"),
                json!("832x480"),
                json!(81),
                json!(30),
                json!(5.0),
                json!(7),
                start.to_json(),
                json!("unipc"),
            ]
        );
        assert_eq!(
            args.notes,
            vec!["left at the app's defaults: sample_solver".to_owned()]
        );
        let text_only = arguments(&wan2gp_endpoint(), &plan, None).unwrap();
        assert_eq!(text_only.data[7], Json::Null);
    }

    #[test]
    fn endpoints_without_a_prompt_or_start_image_are_refused() {
        let settings = Settings::parse(&json!({})).unwrap();
        let plan = Plan::new(&settings, &request(QualityTier::Standard));
        let refresh = Endpoint {
            name: "/refresh_gallery".into(),
            parameters: vec![Parameter::named("state")],
        };
        let err = arguments(&refresh, &plan, None).unwrap_err();
        assert!(
            err.message
                .contains("takes no prompt (its parameters: state)"),
            "{}",
            err.message
        );
        let text = Endpoint {
            name: "/t2v".into(),
            parameters: vec![Parameter::named("prompt")],
        };
        let args = arguments(&text, &plan, None).unwrap();
        assert_eq!(args.notes.len(), 5, "{:?}", args.notes);
        let start = FileData {
            path: "/x.png".into(),
            url: None,
            orig_name: None,
            mime_type: None,
        };
        let err = arguments(&text, &plan, Some(&start)).unwrap_err();
        assert!(
            err.message.contains("takes no start image"),
            "{}",
            err.message
        );
    }

    #[test]
    fn videos_are_preferred_over_preview_images() {
        let file = |path: &str| json!({"path": path, "meta": {"_type": "gradio.FileData"}});
        let outputs = vec![
            json!([file("/o/preview.png"), file("/o/take.mp4")]),
            json!("status text"),
        ];
        let videos = media_files(&outputs, Function::CreateVideo);
        assert_eq!(videos.len(), 1);
        assert_eq!(videos[0].1, "video/mp4");
        let images = media_files(&outputs, Function::CreateImage);
        assert_eq!(images[0].1, "image/png");
        assert!(media_files(&[json!("no files")], Function::CreateVideo).is_empty());
    }
}
