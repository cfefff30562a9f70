//! What every GPU pipeline is asked to make, and what it hands back.
//!
//! A [`GenerationRequest`] is backend-neutral: the shot (or a pipeline node) fills it from
//! its parameters and connected inputs, and each backend maps it onto its own protocol
//! (a ComfyUI workflow's inputs, a Wan2GP preset's arguments).

use mdc_sdk::prelude::*;
use mdc_sdk::serde_json::Value as Json;

/// The two functions a model registry routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    /// "Create Image": one or more still frames.
    CreateImage,
    /// "Create Video": a clip.
    CreateVideo,
}

impl Function {
    /// Stable id: `create-image`, `create-video`.
    pub fn id(self) -> &'static str {
        match self {
            Function::CreateImage => "create-image",
            Function::CreateVideo => "create-video",
        }
    }

    /// How the product names it: "Create Image".
    pub fn label(self) -> &'static str {
        match self {
            Function::CreateImage => "Create Image",
            Function::CreateVideo => "Create Video",
        }
    }

    /// The function with this id.
    pub fn from_id(id: &str) -> Option<Function> {
        match id.trim() {
            "create-image" => Some(Function::CreateImage),
            "create-video" => Some(Function::CreateVideo),
            _ => None,
        }
    }
}

/// A backend-neutral generation request.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationRequest {
    /// Image or video.
    pub function: Function,
    /// The positive prompt, already composed from the shot, its cast, style and place.
    pub prompt: String,
    /// What to avoid (may be empty).
    pub negative_prompt: String,
    /// Seed of the execution, passed on so a take can be regenerated exactly.
    pub seed: u64,
    /// The tier the user chose.
    pub tier: QualityTier,
    /// Frame width in pixels (0: keep what the backend's workflow or preset says).
    pub width: u32,
    /// Frame height in pixels (0: keep what the backend's workflow or preset says).
    pub height: u32,
    /// Frames of a video (ignored for images; 0: keep the backend's default).
    pub frames: u32,
    /// Reference images (character sheets, style examples), as asset references.
    pub references: Vec<AssetRef>,
}

/// What a backend produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// Every stored output (image or video), in the backend's order; each becomes a take.
    pub outputs: Vec<AssetRef>,
    /// Which backend made them: `ComfyUI at http://…` or a registry model id.
    pub backend: String,
    /// What the user should know: fallbacks taken, outputs skipped.
    pub notes: Vec<String>,
}

impl Generated {
    /// The first output: the take.
    pub fn first(&self) -> Option<&AssetRef> {
        self.outputs.first()
    }

    /// The still images (`image/*` except GIF animations), in order.
    pub fn images(&self) -> impl Iterator<Item = &AssetRef> {
        self.outputs
            .iter()
            .filter(|a| a.mime.starts_with("image/") && a.mime != "image/gif")
    }

    /// The clips (`video/*` and GIF animations), in order.
    pub fn videos(&self) -> impl Iterator<Item = &AssetRef> {
        self.outputs
            .iter()
            .filter(|a| a.mime.starts_with("video/") || a.mime == "image/gif")
    }

    /// `2 images and 1 video`.
    pub fn count_text(&self) -> String {
        let plural = |n: usize, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
        let (images, videos) = (self.images().count(), self.videos().count());
        match (images, videos) {
            (i, 0) => plural(i, "image"),
            (0, v) => plural(v, "video"),
            (i, v) => format!("{} and {}", plural(i, "image"), plural(v, "video")),
        }
    }

    /// The outputs of a pipeline node: every image on `images`, the first clip on `video`,
    /// the first output on `take` (summary left empty).
    pub fn media_outputs(&self) -> NodeOutputs {
        let mut outputs = NodeOutputs::new();
        for image in self.images() {
            outputs = outputs.with("images", image.clone());
        }
        if let Some(video) = self.videos().next() {
            outputs = outputs.with("video", video.clone());
        }
        if let Some(take) = self.first() {
            outputs = outputs.with("take", take.clone());
        }
        outputs
    }

    /// The notes as one sentence tail (`; note; note`), empty when there are none.
    pub fn notes_text(&self) -> String {
        self.notes.iter().map(|n| format!("; {n}")).collect()
    }
}

/// Frames of a clip when nothing says otherwise: about five seconds at 16 frames a second,
/// what Wan-family video models are trained on.
pub const DEFAULT_VIDEO_FRAMES: u32 = 81;

/// What a shot says about its frame, gathered from its parameters and connected inputs
/// (the same context the draft frame is drawn from).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShotContext {
    /// What happens in the shot.
    pub prompt: String,
    /// Names of the cast.
    pub characters: Vec<String>,
    /// The style's keywords.
    pub style_keywords: Vec<String>,
    /// The environment's description (`a fishing harbour`).
    pub environment: String,
    /// The environment's mood (`dawn`, `night`), or empty.
    pub mood: String,
    /// The frame's aspect (`16:9`), or empty.
    pub aspect: String,
    /// Reference images: the image assets of the connected characters and style.
    pub references: Vec<AssetRef>,
}

/// The JSON connected on `port` (the first value), or `null`.
pub fn connected_json(input: &NodeInput, port: &str) -> Json {
    input
        .connected_value(port)
        .and_then(Value::as_json)
        .and_then(|j| mdc_sdk::serde_json::from_str(j).ok())
        .unwrap_or(Json::Null)
}

/// A list field that may be a JSON array of strings or comma-separated text.
pub fn string_list(value: &Json) -> Vec<String> {
    match value {
        Json::Array(items) => items
            .iter()
            .filter_map(Json::as_str)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        Json::String(s) => mdc_sdk::library::comma_list(s),
        _ => Vec::new(),
    }
}

/// Names of the characters connected on `port` (a JSON `name`, or plain text).
pub fn character_names(input: &NodeInput, port: &str) -> Vec<String> {
    input
        .connected(port)
        .iter()
        .filter_map(|c| match &c.value {
            Value::Text(t) => Some(t.trim().to_owned()),
            Value::Json(j) => mdc_sdk::serde_json::from_str::<Json>(j).ok().and_then(|v| {
                v.get("name")
                    .and_then(Json::as_str)
                    .map(|n| n.trim().to_owned())
            }),
            _ => None,
        })
        .filter(|n| !n.is_empty())
        .collect()
}

/// The library image behind a character's or style's `asset` field, if it is an image.
fn image_asset(value: &Json) -> Option<AssetRef> {
    let asset = value.get("asset")?;
    let id = asset.get("id")?.as_str()?;
    let mime = asset.get("mime")?.as_str()?;
    mime.starts_with("image/").then(|| AssetRef::new(id, mime))
}

/// A text field of a JSON object, trimmed (empty when missing).
fn text_field(value: &Json, key: &str) -> String {
    value
        .get(key)
        .and_then(Json::as_str)
        .unwrap_or("")
        .trim()
        .to_owned()
}

impl ShotContext {
    /// Reads the `prompt` and `aspect` parameters and the `characters`, `style`,
    /// `environment` and `shot` inputs. A connected `shot` (JSON from a shot node) fills
    /// what the node itself leaves empty: prompt, cast and aspect.
    pub fn from_input(input: &NodeInput) -> ShotContext {
        let style = connected_json(input, "style");
        let environment = connected_json(input, "environment");
        let shot = connected_json(input, "shot");
        let mut prompt = input.text("prompt").unwrap_or("").trim().to_owned();
        if prompt.is_empty() {
            prompt = text_field(&shot, "prompt");
        }
        let mut characters = character_names(input, "characters");
        if characters.is_empty() {
            characters = string_list(shot.get("characters").unwrap_or(&Json::Null));
        }
        let mut aspect = input
            .choice("aspect")
            .or_else(|| input.text("aspect"))
            .unwrap_or("")
            .trim()
            .to_owned();
        if aspect.is_empty() {
            aspect = text_field(&shot, "aspect");
        }
        let mut references: Vec<AssetRef> = input
            .connected("characters")
            .iter()
            .filter_map(|c| c.value.as_json())
            .filter_map(|j| mdc_sdk::serde_json::from_str::<Json>(j).ok())
            .filter_map(|v| image_asset(&v))
            .collect();
        references.extend(image_asset(&style));
        ShotContext {
            prompt,
            characters,
            style_keywords: string_list(style.get("keywords").unwrap_or(&Json::Null)),
            environment: text_field(&environment, "description"),
            mood: text_field(&environment, "mood"),
            aspect,
            references,
        }
    }

    /// The prompt a model sees: the action, then who is in it, where, and the look —
    /// `A fisherman hauls a net. Featuring Maya and Tom. Setting: a fishing harbour, dawn.
    /// Style: noir, wet streets.`
    pub fn compose_prompt(&self) -> String {
        let mut parts = Vec::new();
        let action = self.prompt.trim().trim_end_matches('.');
        if !action.is_empty() {
            parts.push(format!("{action}."));
        }
        if !self.characters.is_empty() {
            parts.push(format!("Featuring {}.", join_names(&self.characters)));
        }
        let place: Vec<&str> = [self.environment.as_str(), self.mood.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect();
        if !place.is_empty() {
            parts.push(format!("Setting: {}.", place.join(", ")));
        }
        if !self.style_keywords.is_empty() {
            parts.push(format!("Style: {}.", self.style_keywords.join(", ")));
        }
        parts.join(" ")
    }
}

/// `Maya`, `Maya and Tom`, `Maya, Tom and Ines`.
fn join_names(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Frame size for an aspect (`16:9`, `2.39:1`, `9:16`; unknown means 16:9) at a tier:
/// about one megapixel at Standard and two at High (Low gets half a megapixel), both sides
/// multiples of 64 as latent diffusion models need.
pub fn frame_size(aspect: &str, tier: QualityTier) -> (u32, u32) {
    let ratio = match aspect.trim() {
        "2.39:1" => 2.39,
        "4:3" => 4.0 / 3.0,
        "1:1" => 1.0,
        "9:16" => 9.0 / 16.0,
        _ => 16.0 / 9.0,
    };
    let pixels: f64 = match tier {
        QualityTier::Low => 512.0 * 1024.0,
        QualityTier::Standard => 1024.0 * 1024.0,
        QualityTier::High => 2048.0 * 1024.0,
    };
    let to_64 = |v: f64| ((v / 64.0).round() as u32).max(1) * 64;
    let width = (pixels * ratio).sqrt();
    (to_64(width), to_64(width / ratio))
}

impl GenerationRequest {
    /// The request for a shot-like node: the prompt composed from [`ShotContext`], the
    /// frame size from its aspect and the execution's tier, the execution's seed, and the
    /// connected characters' and style's images as references.
    pub fn from_shot(input: &NodeInput, function: Function) -> GenerationRequest {
        let context = ShotContext::from_input(input);
        let (width, height) = frame_size(&context.aspect, input.tier);
        GenerationRequest {
            function,
            prompt: context.compose_prompt(),
            negative_prompt: String::new(),
            seed: input.seed,
            tier: input.tier,
            width,
            height,
            frames: match function {
                Function::CreateImage => 1,
                Function::CreateVideo => DEFAULT_VIDEO_FRAMES,
            },
            references: context.references,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mdc_sdk::serde_json::json;
    use mdc_sdk::testing::InputBuilder;

    fn harbour() -> InputBuilder {
        InputBuilder::new()
            .seed(42)
            .tier(QualityTier::Standard)
            .param("prompt", "A fisherman hauls a net at dawn.")
            .param("aspect", ParamValue::choice("16:9"))
            .connect(
                "characters",
                json!({"name": "Maya", "asset": {"id": "maya-sheet", "mime": "image/png"}}),
            )
            .connect("characters", json!({"name": "Tom"}))
            .connect("style", json!({"keywords": ["noir", "wet streets"]}))
            .connect(
                "environment",
                json!({"description": "a fishing harbour", "mood": "dawn"}),
            )
    }

    #[test]
    fn the_prompt_names_cast_place_and_style() {
        let request = GenerationRequest::from_shot(&harbour().build(), Function::CreateImage);
        assert_eq!(
            request.prompt,
            "A fisherman hauls a net at dawn. Featuring Maya and Tom. Setting: a fishing \
             harbour, dawn. Style: noir, wet streets."
        );
        assert_eq!((request.width, request.height), (1344, 768));
        assert_eq!(request.seed, 42);
        assert_eq!(request.frames, 1);
        assert_eq!(
            request.references,
            [AssetRef::new("maya-sheet", "image/png")]
        );
    }

    #[test]
    fn a_connected_shot_fills_the_gaps() {
        let input = InputBuilder::new()
            .tier(QualityTier::High)
            .connect(
                "shot",
                json!({"prompt": "Rain on the pier", "characters": ["Ines"], "aspect": "9:16"}),
            )
            .build();
        let request = GenerationRequest::from_shot(&input, Function::CreateVideo);
        assert_eq!(request.prompt, "Rain on the pier. Featuring Ines.");
        assert!(request.height > request.width);
        assert_eq!(request.frames, DEFAULT_VIDEO_FRAMES);
    }

    #[test]
    fn frame_sizes_are_multiples_of_64() {
        for aspect in ["16:9", "2.39:1", "4:3", "1:1", "9:16", "??"] {
            for tier in [QualityTier::Low, QualityTier::Standard, QualityTier::High] {
                let (w, h) = frame_size(aspect, tier);
                assert!(
                    w % 64 == 0 && h % 64 == 0 && w > 0 && h > 0,
                    "{aspect} {w}x{h}"
                );
            }
        }
        assert_eq!(frame_size("1:1", QualityTier::Standard), (1024, 1024));
        assert_eq!(
            join_names(&["A".into(), "B".into(), "C".into()]),
            "A, B and C"
        );
    }
}
