//! Draft storyboard frames, drawn on the CPU from what a shot knows: the
//! environment (setting and mood), the style (palette, keywords), the cast,
//! the prompt, and the scene and shot numbers.
//!
//! Everything random comes from a PRNG seeded with the shot's seed mixed with
//! its inputs, so a frame is the same for the same seed and inputs, and
//! changes when either does.

use crate::canvas::{Canvas, Rect, Rgb, fmin, luma, mix, rgb, scale, sd_segment, sd_trapezoid};
use crate::rng::Rng;
use crate::text::TextStyle;

/// Frame aspect ratios a shot can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Aspect {
    /// 16:9, HD television and most streaming.
    #[default]
    Wide,
    /// 2.39:1, anamorphic scope.
    Scope,
    /// 4:3, academy-ish television.
    Classic,
    /// 1:1, square.
    Square,
    /// 9:16, vertical video.
    Vertical,
}

impl Aspect {
    /// Every aspect with its stored value, in menu order.
    pub const ALL: [(Aspect, &'static str); 5] = [
        (Aspect::Wide, "16:9"),
        (Aspect::Scope, "2.39:1"),
        (Aspect::Classic, "4:3"),
        (Aspect::Square, "1:1"),
        (Aspect::Vertical, "9:16"),
    ];

    /// The aspect stored as `value` (`16:9`, `2.39:1`, …).
    pub fn parse(value: &str) -> Option<Aspect> {
        Self::ALL
            .iter()
            .find(|(_, v)| *v == value.trim())
            .map(|(a, _)| *a)
    }

    /// The stored value: `16:9`.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(a, _)| *a == self)
            .map(|(_, v)| *v)
            .unwrap_or("16:9")
    }

    /// Width divided by height.
    pub fn ratio(self) -> f32 {
        match self {
            Aspect::Wide => 16.0 / 9.0,
            Aspect::Scope => 2.39,
            Aspect::Classic => 4.0 / 3.0,
            Aspect::Square => 1.0,
            Aspect::Vertical => 9.0 / 16.0,
        }
    }

    /// The frame height for `width` (720 for 1280 at 16:9).
    pub fn height_for(self, width: u32) -> u32 {
        ((width as f32 / self.ratio()).round() as u32).max(1)
    }
}

/// Time of day, weather or light of an environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mood {
    /// Daylight.
    #[default]
    Day,
    /// Moonlight.
    Night,
    /// Sunset.
    Dusk,
    /// Sunrise.
    Dawn,
    /// Flat grey light.
    Overcast,
    /// Rain.
    Rain,
    /// Coloured signs at night.
    Neon,
    /// Warm flames in the dark.
    Candlelit,
    /// Fog.
    Foggy,
}

impl Mood {
    /// The mood stored as `value` (`day`, `night`, …; case-insensitive).
    pub fn parse(value: &str) -> Option<Mood> {
        Some(match value.trim().to_ascii_lowercase().as_str() {
            "day" => Mood::Day,
            "night" => Mood::Night,
            "dusk" => Mood::Dusk,
            "dawn" => Mood::Dawn,
            "overcast" => Mood::Overcast,
            "rain" => Mood::Rain,
            "neon" => Mood::Neon,
            "candlelit" => Mood::Candlelit,
            "foggy" => Mood::Foggy,
            _ => return None,
        })
    }

    /// The mood a scene heading implies (`… - NIGHT` → night), if any.
    pub fn from_heading(heading: &str) -> Option<Mood> {
        let upper = heading.to_uppercase();
        let last = upper.rsplit(['-', '–', '—']).next().unwrap_or("").trim();
        [
            ("NIGHT", Mood::Night),
            ("DAWN", Mood::Dawn),
            ("SUNRISE", Mood::Dawn),
            ("MORNING", Mood::Day),
            ("DUSK", Mood::Dusk),
            ("SUNSET", Mood::Dusk),
            ("EVENING", Mood::Dusk),
            ("DAY", Mood::Day),
            ("AFTERNOON", Mood::Day),
        ]
        .iter()
        .find(|(word, _)| last.contains(word))
        .map(|(_, m)| *m)
    }

    /// Upper-case name for captions: `DAWN`.
    pub fn label(self) -> &'static str {
        match self {
            Mood::Day => "DAY",
            Mood::Night => "NIGHT",
            Mood::Dusk => "DUSK",
            Mood::Dawn => "DAWN",
            Mood::Overcast => "OVERCAST",
            Mood::Rain => "RAIN",
            Mood::Neon => "NEON",
            Mood::Candlelit => "CANDLELIT",
            Mood::Foggy => "FOG",
        }
    }
}

/// Interior or exterior.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Setting {
    /// Inside a room.
    Interior,
    /// Outside.
    #[default]
    Exterior,
    /// Inside, looking out through a large opening.
    Mixed,
}

impl Setting {
    /// The setting stored as `value` (`interior`, `exterior`, `mixed`).
    pub fn parse(value: &str) -> Option<Setting> {
        Some(match value.trim().to_ascii_lowercase().as_str() {
            "interior" | "int" => Setting::Interior,
            "exterior" | "ext" => Setting::Exterior,
            "mixed" | "int/ext" | "i/e" => Setting::Mixed,
            _ => return None,
        })
    }

    /// The setting a scene heading implies (`INT.` → interior), if any.
    pub fn from_heading(heading: &str) -> Option<Setting> {
        let upper = heading.to_uppercase();
        // `12A · INT. HOUSE - DAY`: skip the scene number.
        let start = upper
            .split_once('·')
            .map_or(upper.as_str(), |(_, rest)| rest)
            .trim_start();
        if start.starts_with("INT./EXT")
            || start.starts_with("INT/EXT")
            || start.starts_with("EXT./INT")
            || start.starts_with("EXT/INT")
            || start.starts_with("I/E")
        {
            Some(Setting::Mixed)
        } else if start.starts_with("INT") {
            Some(Setting::Interior)
        } else if start.starts_with("EXT") || start.starts_with("EST") {
            Some(Setting::Exterior)
        } else {
            None
        }
    }

    /// Upper-case abbreviation for captions: `EXT`.
    pub fn label(self) -> &'static str {
        match self {
            Setting::Interior => "INT",
            Setting::Exterior => "EXT",
            Setting::Mixed => "INT/EXT",
        }
    }
}

/// Everything a draft frame is drawn from.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameContext {
    /// Frame width in pixels (1280 for drafts).
    pub width: u32,
    /// Aspect ratio; the height follows from it.
    pub aspect: Aspect,
    /// The take's seed.
    pub seed: u64,
    /// Scene label: `1 · EXT. HARBOUR - DAWN`.
    pub scene: String,
    /// Shot number: `1.1`.
    pub shot: String,
    /// What happens in the shot.
    pub prompt: String,
    /// Interior, exterior or both.
    pub setting: Setting,
    /// Light and weather.
    pub mood: Mood,
    /// Words about the place (`harbour`, `forest`, `city street`), used to
    /// pick the landscape; the prompt and scene are searched too.
    pub location: String,
    /// Style palette colours; the frame is graded through them.
    pub palette: Vec<Rgb>,
    /// Style keywords, printed small.
    pub keywords: Vec<String>,
    /// Names of the characters in the shot.
    pub characters: Vec<String>,
}

impl Default for FrameContext {
    fn default() -> Self {
        FrameContext {
            width: 1280,
            aspect: Aspect::Wide,
            seed: 0,
            scene: String::new(),
            shot: String::new(),
            prompt: String::new(),
            setting: Setting::Exterior,
            mood: Mood::Day,
            location: String::new(),
            palette: Vec::new(),
            keywords: Vec::new(),
            characters: Vec::new(),
        }
    }
}

impl FrameContext {
    /// The frame's size in pixels.
    pub fn size(&self) -> (u32, u32) {
        let width = self.width.clamp(160, 4096);
        (width, self.aspect.height_for(width))
    }

    /// A hash of every input, mixed into the seed.
    fn fingerprint(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |s: &str| {
            for b in s.bytes().chain([0xff]) {
                h ^= b as u64;
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        };
        eat(&self.scene);
        eat(&self.shot);
        eat(&self.prompt);
        eat(&self.location);
        eat(self.mood.label());
        eat(self.setting.label());
        for k in &self.keywords {
            eat(k);
        }
        for c in &self.characters {
            eat(c);
        }
        h
    }
}

/// The kind of land an exterior shows, picked from the words of the shot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Land {
    Water,
    City,
    Forest,
    Hills,
    Mountains,
}

impl Land {
    fn pick(ctx: &FrameContext) -> Land {
        let words = format!("{} {} {}", ctx.location, ctx.scene, ctx.prompt).to_lowercase();
        let has = |list: &[&str]| list.iter().any(|w| words.contains(w));
        if has(&[
            "harbour", "harbor", "sea", "ocean", "beach", "lake", "river", "coast", "pier", "dock",
            "port", "ferry", "boat", "jetty", "bay", "shore", "quay", "wharf",
        ]) {
            Land::Water
        } else if has(&[
            "city", "street", "alley", "road", "rooftop", "avenue", "downtown", "market",
            "station", "parking", "town", "square", "highway", "bridge", "neon",
        ]) || ctx.mood == Mood::Neon
        {
            Land::City
        } else if has(&[
            "forest", "wood", "trees", "park", "garden", "jungle", "orchard",
        ]) {
            Land::Forest
        } else if has(&["mountain", "cliff", "peak", "glacier", "canyon", "valley"]) {
            Land::Mountains
        } else {
            Land::Hills
        }
    }
}

/// Colours and light of a mood.
#[derive(Clone, Copy, Debug)]
struct Look {
    sky_top: Rgb,
    sky_bottom: Rgb,
    ground_far: Rgb,
    ground_near: Rgb,
    water_far: Rgb,
    water_near: Rgb,
    wall: Rgb,
    floor: Rgb,
    light: Rgb,
    /// Light height in the picture (0 top, 1 bottom) for sun or moon.
    light_height: f32,
    /// Strength of the sky glow around the light.
    glow: f32,
    /// Whether the sun or moon disc shows.
    disc: bool,
    silhouette: Rgb,
    rim: Rgb,
    rim_alpha: f32,
    /// How much distance fades into haze (0..1).
    haze: f32,
    vignette: f32,
    stars: bool,
    lit_windows: f32,
}

impl Look {
    fn of(mood: Mood) -> Look {
        let base = Look {
            sky_top: rgb(72, 128, 194),
            sky_bottom: rgb(186, 212, 232),
            ground_far: rgb(126, 140, 104),
            ground_near: rgb(70, 84, 56),
            water_far: rgb(120, 160, 190),
            water_near: rgb(34, 70, 100),
            wall: rgb(186, 170, 148),
            floor: rgb(120, 92, 70),
            light: rgb(255, 246, 220),
            light_height: 0.12,
            glow: 0.35,
            disc: true,
            silhouette: rgb(44, 48, 58),
            rim: rgb(255, 240, 210),
            rim_alpha: 0.55,
            haze: 0.35,
            vignette: 0.3,
            stars: false,
            lit_windows: 0.0,
        };
        match mood {
            Mood::Day => base,
            Mood::Dawn => Look {
                sky_top: rgb(58, 84, 142),
                sky_bottom: rgb(250, 190, 136),
                ground_far: rgb(112, 96, 104),
                ground_near: rgb(48, 42, 56),
                water_far: rgb(236, 176, 140),
                water_near: rgb(40, 50, 80),
                wall: rgb(150, 128, 130),
                floor: rgb(86, 66, 62),
                light: rgb(255, 214, 160),
                light_height: 0.5,
                glow: 0.7,
                silhouette: rgb(36, 32, 48),
                rim: rgb(255, 196, 140),
                rim_alpha: 0.75,
                haze: 0.45,
                vignette: 0.38,
                lit_windows: 0.3,
                ..base
            },
            Mood::Dusk => Look {
                sky_top: rgb(36, 30, 80),
                sky_bottom: rgb(238, 118, 78),
                ground_far: rgb(74, 50, 64),
                ground_near: rgb(28, 20, 32),
                water_far: rgb(220, 110, 80),
                water_near: rgb(26, 22, 48),
                wall: rgb(120, 84, 84),
                floor: rgb(66, 44, 44),
                light: rgb(255, 150, 92),
                light_height: 0.53,
                glow: 0.8,
                silhouette: rgb(22, 16, 28),
                rim: rgb(255, 140, 90),
                rim_alpha: 0.8,
                haze: 0.4,
                vignette: 0.45,
                lit_windows: 0.6,
                ..base
            },
            Mood::Night => Look {
                sky_top: rgb(5, 8, 24),
                sky_bottom: rgb(28, 42, 78),
                ground_far: rgb(22, 28, 40),
                ground_near: rgb(8, 10, 16),
                water_far: rgb(30, 44, 76),
                water_near: rgb(6, 10, 20),
                wall: rgb(40, 46, 66),
                floor: rgb(22, 24, 34),
                light: rgb(200, 216, 255),
                light_height: 0.16,
                glow: 0.22,
                silhouette: rgb(6, 8, 14),
                rim: rgb(150, 176, 232),
                rim_alpha: 0.7,
                haze: 0.3,
                vignette: 0.55,
                stars: true,
                lit_windows: 1.0,
                ..base
            },
            Mood::Overcast => Look {
                sky_top: rgb(128, 136, 146),
                sky_bottom: rgb(196, 200, 204),
                ground_far: rgb(104, 110, 104),
                ground_near: rgb(60, 66, 62),
                water_far: rgb(160, 168, 174),
                water_near: rgb(60, 70, 78),
                wall: rgb(168, 166, 160),
                floor: rgb(104, 96, 88),
                light: rgb(236, 238, 242),
                light_height: 0.05,
                glow: 0.12,
                disc: false,
                silhouette: rgb(50, 54, 60),
                rim: rgb(214, 218, 224),
                rim_alpha: 0.3,
                haze: 0.5,
                vignette: 0.3,
                ..base
            },
            Mood::Rain => Look {
                sky_top: rgb(52, 60, 72),
                sky_bottom: rgb(112, 120, 132),
                ground_far: rgb(58, 64, 72),
                ground_near: rgb(24, 28, 34),
                water_far: rgb(90, 100, 112),
                water_near: rgb(20, 26, 34),
                wall: rgb(96, 100, 108),
                floor: rgb(52, 50, 52),
                light: rgb(196, 206, 222),
                light_height: 0.05,
                glow: 0.15,
                disc: false,
                silhouette: rgb(18, 22, 28),
                rim: rgb(160, 176, 200),
                rim_alpha: 0.5,
                haze: 0.55,
                vignette: 0.45,
                lit_windows: 0.7,
                ..base
            },
            Mood::Neon => Look {
                sky_top: rgb(10, 4, 28),
                sky_bottom: rgb(60, 16, 76),
                ground_far: rgb(30, 14, 44),
                ground_near: rgb(10, 6, 18),
                water_far: rgb(90, 30, 110),
                water_near: rgb(10, 6, 24),
                wall: rgb(44, 22, 66),
                floor: rgb(20, 12, 30),
                light: rgb(255, 64, 176),
                light_height: 0.35,
                glow: 0.55,
                disc: false,
                silhouette: rgb(8, 4, 14),
                rim: rgb(255, 90, 200),
                rim_alpha: 0.9,
                haze: 0.3,
                vignette: 0.5,
                lit_windows: 1.0,
                ..base
            },
            Mood::Candlelit => Look {
                sky_top: rgb(12, 8, 10),
                sky_bottom: rgb(44, 26, 20),
                ground_far: rgb(40, 26, 16),
                ground_near: rgb(14, 8, 6),
                water_far: rgb(50, 30, 20),
                water_near: rgb(10, 6, 4),
                wall: rgb(74, 44, 24),
                floor: rgb(36, 22, 12),
                light: rgb(255, 172, 84),
                light_height: 0.62,
                glow: 0.75,
                disc: false,
                silhouette: rgb(12, 8, 6),
                rim: rgb(255, 176, 96),
                rim_alpha: 0.85,
                haze: 0.2,
                vignette: 0.65,
                lit_windows: 0.8,
                ..base
            },
            Mood::Foggy => Look {
                sky_top: rgb(164, 170, 176),
                sky_bottom: rgb(208, 210, 210),
                ground_far: rgb(170, 174, 172),
                ground_near: rgb(104, 110, 108),
                water_far: rgb(200, 204, 206),
                water_near: rgb(120, 128, 134),
                wall: rgb(176, 176, 172),
                floor: rgb(118, 112, 104),
                light: rgb(248, 248, 240),
                light_height: 0.12,
                glow: 0.2,
                disc: false,
                silhouette: rgb(64, 68, 74),
                rim: rgb(236, 236, 230),
                rim_alpha: 0.25,
                haze: 0.85,
                vignette: 0.2,
                ..base
            },
        }
    }
}

/// Where things are in the frame.
struct Stage {
    pic: Rect,
    horizon: f32,
    /// Light position (pixels); may be outside the picture.
    light: (f32, f32),
    /// +1 when the light comes from the right, -1 from the left.
    light_side: f32,
    /// Unit for sizes: 1.0 at 1280 pixels wide.
    u: f32,
}

impl Stage {
    fn w(&self) -> f32 {
        self.pic.width() as f32
    }
    fn h(&self) -> f32 {
        self.pic.height() as f32
    }
    fn x(&self, fx: f32) -> f32 {
        self.pic.x0 as f32 + self.w() * fx
    }
    fn y(&self, fy: f32) -> f32 {
        self.pic.y0 as f32 + self.h() * fy
    }
}

/// The draft frame for `ctx` as PNG bytes.
pub fn render_draft_frame(ctx: &FrameContext) -> Vec<u8> {
    draw_draft_frame(ctx).to_png()
}

/// The draft frame for `ctx` as a canvas (before PNG encoding).
pub fn draw_draft_frame(ctx: &FrameContext) -> Canvas {
    let (width, height) = ctx.size();
    let u = width as f32 / 1280.0;
    let mut rng = Rng::new(ctx.seed ^ ctx.fingerprint());
    let look = Look::of(ctx.mood);
    let mut canvas = Canvas::new(width, height, rgb(12, 12, 14));

    let band = ((height as f32 * 0.17).max(96.0 * u).min(240.0 * u)).round() as i32;
    let pic = Rect::new(0, 0, width as i32, height as i32 - band);
    let light_side = if rng.chance(0.5) { 1.0 } else { -1.0 };
    let horizon_frac = match ctx.setting {
        Setting::Exterior => rng.range(0.5, 0.62),
        _ => rng.range(0.42, 0.5),
    };
    let mut stage = Stage {
        pic,
        horizon: 0.0,
        light: (0.0, 0.0),
        light_side,
        u,
    };
    stage.horizon = stage.y(horizon_frac);
    stage.light = (
        stage.x(0.5 + light_side * rng.range(0.22, 0.34)),
        stage.y(look.light_height),
    );

    canvas.set_clip(pic);
    let land = Land::pick(ctx);
    exterior(&mut canvas, &stage, &look, ctx, land, &mut rng);
    if ctx.setting == Setting::Exterior {
        figures(&mut canvas, &stage, &look, ctx, &mut rng);
        if ctx.mood == Mood::Rain {
            rain(&mut canvas, &stage, &look, &mut rng);
        }
    } else {
        let opening = interior(&mut canvas, &stage, &look, ctx, &mut rng);
        if ctx.mood == Mood::Rain {
            // Indoors the rain is only seen through the opening.
            canvas.set_clip(opening.intersect(&pic));
            rain(&mut canvas, &stage, &look, &mut rng);
            canvas.set_clip(pic);
        }
        figures(&mut canvas, &stage, &look, ctx, &mut rng);
    }
    if !ctx.palette.is_empty() {
        let mut ramp = ctx.palette.clone();
        ramp.sort_by(|a, b| luma(*a).total_cmp(&luma(*b)));
        let dark = scale(ramp[0], 0.2);
        let light = mix(*ramp.last().expect("non-empty"), rgb(255, 255, 255), 0.6);
        ramp.insert(0, dark);
        ramp.push(light);
        canvas.gradient_map(pic, &ramp, 0.32);
    }
    canvas.vignette(pic, look.vignette);
    frame_marks(&mut canvas, &stage);
    canvas.reset_clip();

    header(&mut canvas, &stage, ctx);
    caption_band(&mut canvas, &stage, ctx, band);
    canvas
}

// ---------------------------------------------------------------------------
// Exterior
// ---------------------------------------------------------------------------

fn exterior(
    canvas: &mut Canvas,
    st: &Stage,
    look: &Look,
    ctx: &FrameContext,
    land: Land,
    rng: &mut Rng,
) {
    let pic = st.pic;
    let horizon = st.horizon as i32;
    canvas.vertical_gradient(
        Rect::new(pic.x0, pic.y0, pic.x1, horizon + 1),
        look.sky_top,
        look.sky_bottom,
        0.85,
    );
    if look.stars {
        for _ in 0..(160.0 * st.u * st.u) as usize + 40 {
            let x = rng.range(pic.x0 as f32, pic.x1 as f32);
            let y = rng.range(pic.y0 as f32, st.horizon - st.h() * 0.08);
            let a = rng.range(0.25, 0.9);
            if rng.chance(0.1) {
                canvas.circle(x, y, 1.2 * st.u, rgb(255, 255, 255), a);
            } else {
                canvas.blend(x as i32, y as i32, rgb(255, 255, 255), a);
            }
        }
    }
    let (lx, ly) = st.light;
    canvas.glow(lx, ly, st.w() * 0.55, look.light, look.glow);
    if look.disc {
        let r = st.h() * if ctx.mood == Mood::Night { 0.035 } else { 0.05 };
        canvas.glow(lx, ly, r * 3.5, look.light, 0.6);
        canvas.circle(lx, ly, r, look.light, 0.95);
    }
    // Banks of cloud: soft overlapping ellipses, lit from the light's side.
    let cloud = mix(look.sky_bottom, look.light, 0.3);
    for _ in 0..rng.int(2, 5) {
        let y = rng.range(pic.y0 as f32 + st.h() * 0.1, st.horizon - st.h() * 0.14);
        let x = rng.range(pic.x0 as f32, pic.x1 as f32);
        let len = rng.range(0.12, 0.3) * st.w();
        let thick = rng.range(6.0, 16.0) * st.u;
        for k in 0..6 {
            let t = k as f32 / 5.0 - 0.5;
            let cx = x + t * len + rng.range(-0.05, 0.05) * len;
            let rx = len * rng.range(0.2, 0.35);
            let ry = thick * rng.range(0.6, 1.3) * (1.0 - t.abs());
            canvas.ellipse(
                cx,
                y + rng.range(-0.5, 0.5) * thick,
                rx,
                ry.max(2.0),
                cloud,
                0.1,
            );
        }
    }

    let far = mix(look.ground_far, look.sky_bottom, 0.45 * look.haze + 0.2);
    match land {
        Land::Water => water(canvas, st, look, far, rng),
        Land::City => {
            skyline(canvas, st, look, far, rng);
            ground(canvas, st, look);
            road(canvas, st, look, rng);
        }
        Land::Forest => {
            hills(canvas, st, mix(far, look.sky_bottom, 0.3), 0.06, rng);
            tree_line(canvas, st, far, 0.16, 0.5, rng);
            ground(canvas, st, look);
        }
        Land::Mountains => {
            mountains(canvas, st, far, rng);
            hills(canvas, st, mix(far, look.ground_far, 0.5), 0.05, rng);
            ground(canvas, st, look);
        }
        Land::Hills => {
            hills(canvas, st, mix(far, look.sky_bottom, 0.25), 0.1, rng);
            hills(canvas, st, mix(far, look.ground_far, 0.6), 0.05, rng);
            ground(canvas, st, look);
        }
    }
    // Haze along the horizon.
    let haze_band = st.h() * (0.12 + 0.3 * look.haze);
    let top = (st.horizon - haze_band) as i32;
    let bottom = (st.horizon + haze_band) as i32;
    let strength = 0.25 + 0.6 * look.haze * look.haze;
    canvas.row_wash(
        Rect::new(pic.x0, top, pic.x1, bottom),
        look.sky_bottom,
        |t| {
            let d = (t - 0.5).abs() * 2.0;
            strength * (1.0 - d).powi(2)
        },
    );
    if ctx.mood == Mood::Foggy {
        canvas.row_wash(pic, look.sky_bottom, |t| 0.18 + 0.2 * (1.0 - t));
    }
    if land == Land::Forest {
        // Trees framing the shot from the side away from the light.
        tree_line_side(canvas, st, look, rng);
    }
}

/// The ground plane from the horizon down.
fn ground(canvas: &mut Canvas, st: &Stage, look: &Look) {
    let pic = st.pic;
    canvas.vertical_gradient(
        Rect::new(pic.x0, st.horizon as i32, pic.x1, pic.y1),
        look.ground_far,
        look.ground_near,
        0.7,
    );
}

/// A ridge line: for each column, a height above the horizon from a sum of waves.
fn hills(canvas: &mut Canvas, st: &Stage, color: Rgb, height: f32, rng: &mut Rng) {
    let waves: Vec<(f32, f32, f32)> = (0..4)
        .map(|i| {
            let f = rng.range(1.0, 3.0) * (i + 1) as f32;
            (
                f,
                rng.range(0.0, std::f32::consts::TAU),
                1.0 / (i + 1) as f32,
            )
        })
        .collect();
    let mut points = vec![(st.pic.x0 as f32, st.horizon + 2.0)];
    let steps = 64;
    for k in 0..=steps {
        let t = k as f32 / steps as f32;
        let v: f32 = waves
            .iter()
            .map(|(f, p, a)| (t * f + p).sin() * a)
            .sum::<f32>()
            * 0.5
            + 0.6;
        points.push((st.x(t), st.horizon - v.max(0.1) * height * st.h()));
    }
    points.push((st.pic.x1 as f32, st.horizon + 2.0));
    canvas.polygon(&points, color, 1.0);
}

/// Jagged peaks.
fn mountains(canvas: &mut Canvas, st: &Stage, color: Rgb, rng: &mut Rng) {
    let mut points = vec![(st.pic.x0 as f32, st.horizon + 2.0)];
    let mut x = st.pic.x0 as f32 - 40.0;
    let mut up = true;
    while x < st.pic.x1 as f32 + 40.0 {
        let h = if up {
            rng.range(0.12, 0.3)
        } else {
            rng.range(0.03, 0.1)
        };
        points.push((x, st.horizon - h * st.h()));
        x += rng.range(0.05, 0.12) * st.w();
        up = !up;
    }
    points.push((st.pic.x1 as f32, st.horizon + 2.0));
    canvas.polygon(&points, color, 1.0);
    // Snow-lit faces towards the light.
    let light_face = mix(color, rgb(255, 255, 255), 0.2);
    for pair in points.windows(2) {
        let ((ax, ay), (bx, by)) = (pair[0], pair[1]);
        if ay < by && st.light_side < 0.0 || ay > by && st.light_side > 0.0 {
            canvas.polygon(
                &[(ax, ay), (bx, by), ((ax + bx) / 2.0, st.horizon)],
                light_face,
                0.35,
            );
        }
    }
}

/// Buildings along the horizon, with lit windows when it is dark.
fn skyline(canvas: &mut Canvas, st: &Stage, look: &Look, far: Rgb, rng: &mut Rng) {
    let pic = st.pic;
    for layer in 0..2 {
        let color = if layer == 0 {
            mix(far, look.sky_bottom, 0.35)
        } else {
            mix(far, look.silhouette, 0.45)
        };
        let mut x = pic.x0 as f32 - rng.range(0.0, 60.0) * st.u;
        while x < pic.x1 as f32 {
            let w = rng.range(40.0, 130.0) * st.u;
            let h = rng.range(0.08, if layer == 0 { 0.42 } else { 0.3 }) * st.h();
            let top = st.horizon - h;
            let rect = Rect::new(x as i32, top as i32, (x + w) as i32, st.horizon as i32 + 2);
            canvas.fill_rect(rect, color, 1.0);
            if look.lit_windows > 0.0 && layer == 1 {
                let lit = mix(look.light, rgb(255, 214, 140), 0.6);
                let (ww, wh) = (6.0 * st.u, 8.0 * st.u);
                let mut wy = top + 10.0 * st.u;
                while wy + wh < st.horizon - 6.0 * st.u {
                    let mut wx = x + 8.0 * st.u;
                    while wx + ww < x + w - 6.0 * st.u {
                        if rng.chance(0.3 * look.lit_windows) {
                            let r =
                                Rect::new(wx as i32, wy as i32, (wx + ww) as i32, (wy + wh) as i32);
                            canvas.fill_rect(r, lit, rng.range(0.5, 0.95));
                        }
                        wx += ww * 2.2;
                    }
                    wy += wh * 2.0;
                }
            }
            if layer == 1 && look.lit_windows > 0.9 && rng.chance(0.25) {
                // A neon sign on the building.
                let sign = if rng.chance(0.5) {
                    rgb(255, 60, 170)
                } else {
                    rgb(40, 220, 255)
                };
                let sy = top + rng.range(0.1, 0.4) * h;
                let r = Rect::new(
                    (x + w * 0.2) as i32,
                    sy as i32,
                    (x + w * 0.8) as i32,
                    (sy + 14.0 * st.u) as i32,
                );
                canvas.glow((r.x0 + r.x1) as f32 / 2.0, sy, w * 0.9, sign, 0.35);
                canvas.stroke_rect(r, (2.0 * st.u) as i32, sign, 0.95);
            }
            x += w + rng.range(0.0, 14.0) * st.u;
        }
    }
}

/// A road running from the camera to a vanishing point on the horizon.
fn road(canvas: &mut Canvas, st: &Stage, look: &Look, rng: &mut Rng) {
    let vx = st.x(rng.range(0.4, 0.6));
    let vy = st.horizon;
    let bottom = st.pic.y1 as f32;
    let asphalt = mix(look.ground_near, rgb(20, 20, 24), 0.4);
    canvas.polygon(
        &[
            (vx - 4.0, vy),
            (vx + 4.0, vy),
            (st.x(1.05), bottom),
            (st.x(-0.05), bottom),
        ],
        asphalt,
        0.85,
    );
    // Dashed centre line.
    let mut t = 0.05;
    while t < 1.0 {
        let t2 = t + 0.04 + t * 0.05;
        let (x1, y1) = (vx + (st.x(0.5) - vx) * t, vy + (bottom - vy) * t);
        let (x2, y2) = (vx + (st.x(0.5) - vx) * t2, vy + (bottom - vy) * t2.min(1.0));
        canvas.line(
            x1,
            y1,
            x2,
            y2,
            (1.0 + 5.0 * t) * st.u,
            mix(look.light, rgb(230, 220, 160), 0.5),
            0.55,
        );
        t = t2 + 0.03 + t * 0.06;
    }
    // Wet reflections of the light.
    if look.lit_windows > 0.5 {
        canvas.glow(
            st.light.0,
            bottom - st.h() * 0.1,
            st.w() * 0.25,
            look.light,
            0.12,
        );
    }
}

/// Conifers along the horizon.
fn tree_line(
    canvas: &mut Canvas,
    st: &Stage,
    color: Rgb,
    height: f32,
    density: f32,
    rng: &mut Rng,
) {
    let mut x = st.pic.x0 as f32 - 20.0;
    while x < st.pic.x1 as f32 + 20.0 {
        let h = rng.range(0.5, 1.0) * height * st.h();
        let w = h * rng.range(0.32, 0.45);
        canvas.polygon(
            &[
                (x, st.horizon - h),
                (x + w / 2.0, st.horizon + 2.0),
                (x - w / 2.0, st.horizon + 2.0),
            ],
            color,
            1.0,
        );
        x += w * rng.range(0.3, 1.0) / density.max(0.1) * 0.5;
    }
}

/// Two big conifers at the frame's edge, framing the shot.
fn tree_line_side(canvas: &mut Canvas, st: &Stage, look: &Look, rng: &mut Rng) {
    let side = -st.light_side;
    let dark = mix(look.silhouette, look.ground_near, 0.3);
    let bottom = st.pic.y1 as f32 + 10.0;
    for k in 0..2 {
        let base_x = st.x(0.5 + side * (0.47 + 0.09 * k as f32));
        let h = st.h() * rng.range(0.75, 0.95);
        let w = h * 0.36;
        let top = bottom - h;
        canvas.line(base_x, bottom, base_x, top + h * 0.3, w * 0.09, dark, 1.0);
        // Three tiers of branches, each wider than the one above.
        for tier in 0..3 {
            let t = tier as f32;
            let tier_top = top + h * 0.2 * t;
            let tier_bottom = top + h * (0.38 + 0.2 * t);
            let half = w * (0.28 + 0.12 * t);
            canvas.polygon(
                &[
                    (base_x, tier_top),
                    (base_x + half, tier_bottom),
                    (base_x + half * 0.5, tier_bottom - h * 0.02),
                    (base_x - half * 0.5, tier_bottom - h * 0.02),
                    (base_x - half, tier_bottom),
                ],
                dark,
                1.0,
            );
        }
    }
}

/// Water from the horizon down, a distant shore, a glittering path under the
/// light, a pier and a boat.
fn water(canvas: &mut Canvas, st: &Stage, look: &Look, far: Rgb, rng: &mut Rng) {
    let pic = st.pic;
    hills(canvas, st, mix(far, look.sky_bottom, 0.2), 0.035, rng);
    canvas.vertical_gradient(
        Rect::new(pic.x0, st.horizon as i32, pic.x1, pic.y1),
        look.water_far,
        look.water_near,
        0.6,
    );
    // Glitter path.
    let lx = st.light.0;
    let bottom = pic.y1 as f32;
    let glitter = mix(look.light, rgb(255, 255, 255), 0.3);
    let n = (220.0 * st.u) as usize + 60;
    for _ in 0..n {
        let t = rng.range(0.0, 1.0).powf(1.6);
        let y = st.horizon + 2.0 + t * (bottom - st.horizon);
        let spread = (0.03 + 0.22 * t) * st.w();
        let x = lx + rng.normal() * spread * 0.5;
        let len = (4.0 + 40.0 * t) * st.u * rng.range(0.4, 1.0);
        let alpha = (look.glow * 0.9 + 0.1) * (1.0 - t * 0.6) * rng.range(0.3, 1.0);
        canvas.line(
            x - len / 2.0,
            y,
            x + len / 2.0,
            y,
            (1.0 + 2.0 * t) * st.u,
            glitter,
            alpha.min(0.9),
        );
    }
    // Ripples everywhere.
    let ripple = mix(look.water_far, look.sky_top, 0.5);
    for _ in 0..(90.0 * st.u) as usize + 30 {
        let t = rng.range(0.0, 1.0);
        let y = st.horizon + 4.0 + t * (bottom - st.horizon);
        let x = rng.range(pic.x0 as f32, pic.x1 as f32);
        let len = (10.0 + 60.0 * t) * st.u;
        canvas.line(x, y, x + len, y, (1.0 + t) * st.u, ripple, 0.25);
    }
    // A boat on the water.
    let bx = st.x(0.5 - st.light_side * rng.range(0.05, 0.2));
    let by = st.horizon + (bottom - st.horizon) * rng.range(0.08, 0.2);
    let bw = st.w() * rng.range(0.05, 0.09);
    let hull = mix(look.silhouette, look.water_far, 0.25);
    canvas.polygon(
        &[
            (bx - bw / 2.0, by - bw * 0.12),
            (bx + bw / 2.0, by - bw * 0.12),
            (bx + bw * 0.38, by),
            (bx - bw * 0.4, by),
        ],
        hull,
        1.0,
    );
    canvas.fill_rect(
        Rect::new(
            (bx - bw * 0.1) as i32,
            (by - bw * 0.3) as i32,
            (bx + bw * 0.15) as i32,
            (by - bw * 0.12) as i32,
        ),
        hull,
        1.0,
    );
    canvas.line(
        bx - bw * 0.05,
        by - bw * 0.12,
        bx - bw * 0.05,
        by - bw * 0.75,
        2.0 * st.u,
        hull,
        1.0,
    );
    // Sometimes a pier coming in from the side away from the light.
    if rng.chance(0.4) {
        return;
    }
    let side = -st.light_side;
    let pier = mix(look.silhouette, look.ground_near, 0.3);
    let near_x = st.x(0.5 + side * 0.66);
    let near_w = st.w() * 0.22;
    let far_x = st.x(0.5 + side * 0.28);
    let far_y = st.horizon + (bottom - st.horizon) * 0.28;
    let far_w = st.w() * 0.05;
    canvas.polygon(
        &[
            (far_x - far_w / 2.0, far_y),
            (far_x + far_w / 2.0, far_y),
            (near_x + near_w / 2.0, bottom + 4.0),
            (near_x - near_w / 2.0, bottom + 4.0),
        ],
        pier,
        1.0,
    );
    // Posts.
    for k in 0..6 {
        let t = k as f32 / 5.0;
        let t2 = t * t;
        let px = far_x + (near_x - far_x) * t2
            - side * (far_w / 2.0 + (near_w / 2.0 - far_w / 2.0) * t2);
        let py = far_y + (bottom - far_y) * t2;
        let ph = (8.0 + 90.0 * t2) * st.u;
        canvas.line(px, py, px, py - ph, (2.0 + 9.0 * t2) * st.u, pier, 1.0);
    }
}

// ---------------------------------------------------------------------------
// Interior
// ---------------------------------------------------------------------------

/// Draws a room over the picture, keeping an opening (a window, or most of
/// the back wall when mixed) onto the exterior; returns the opening.
fn interior(
    canvas: &mut Canvas,
    st: &Stage,
    look: &Look,
    ctx: &FrameContext,
    rng: &mut Rng,
) -> Rect {
    let pic = st.pic;
    let mixed = ctx.setting == Setting::Mixed;
    let bx0 = st.x(rng.range(0.12, 0.22));
    let bx1 = st.x(rng.range(0.78, 0.88));
    let by0 = st.y(rng.range(0.08, 0.16));
    let by1 = st.horizon + st.h() * 0.16;
    let (vx, vy) = ((bx0 + bx1) / 2.0, (by0 + by1) / 2.0);
    let extend = |x: f32, y: f32, to_y: f32| vx + (x - vx) * (to_y - vy) / (y - vy);
    let (top, bottom) = (pic.y0 as f32, pic.y1 as f32);
    let xtl = extend(bx0, by0, top);
    let xtr = extend(bx1, by0, top);
    let xbl = extend(bx0, by1, bottom);
    let xbr = extend(bx1, by1, bottom);

    let wall = look.wall;
    let wall_top = mix(wall, look.sky_top, 0.15);
    let wall_bottom = scale(wall, 0.78);

    // The opening in the back wall: a window, or most of the wall when mixed.
    let back_w = bx1 - bx0;
    let back_h = by1 - by0;
    let (ow, oh) = if mixed {
        (back_w * 0.72, back_h * 0.78)
    } else {
        (back_w * rng.range(0.22, 0.3), back_h * rng.range(0.4, 0.5))
    };
    let ox = if mixed {
        bx0 + (back_w - ow) / 2.0
    } else {
        let centre = 0.5 + st.light_side * rng.range(0.18, 0.26);
        (bx0 + back_w * centre - ow / 2.0).clamp(bx0 + 10.0, bx1 - ow - 10.0)
    };
    let oy = by0 + back_h * if mixed { 0.08 } else { 0.16 };
    let opening = Rect::new(ox as i32, oy as i32, (ox + ow) as i32, (oy + oh) as i32);

    // Back wall around the opening, with its gradient.
    let back = Rect::new(bx0 as i32, by0 as i32, bx1 as i32, by1 as i32);
    for part in [
        Rect::new(back.x0, back.y0, back.x1, opening.y0),
        Rect::new(back.x0, opening.y1, back.x1, back.y1),
        Rect::new(back.x0, opening.y0, opening.x0, opening.y1),
        Rect::new(opening.x1, opening.y0, back.x1, opening.y1),
    ] {
        let prev = canvas.clip();
        canvas.set_clip(part.intersect(&prev));
        canvas.vertical_gradient(back, wall_top, wall_bottom, 1.0);
        canvas.set_clip(prev);
    }
    // Window frame and mullions.
    let frame = scale(wall, 0.45);
    let fw = (6.0 * st.u).max(2.0) as i32;
    canvas.stroke_rect(
        Rect::new(
            opening.x0 - fw,
            opening.y0 - fw,
            opening.x1 + fw,
            opening.y1 + fw,
        ),
        fw,
        frame,
        1.0,
    );
    let mid_x = (opening.x0 + opening.x1) / 2;
    let mid_y = (opening.y0 + opening.y1) / 2;
    let panes = if mixed { 3 } else { 1 };
    for k in 1..=panes {
        let x = opening.x0 + opening.width() * k / (panes + 1);
        canvas.fill_rect(
            Rect::new(x - fw / 2, opening.y0, x + fw / 2 + 1, opening.y1),
            frame,
            1.0,
        );
    }
    if !mixed {
        canvas.fill_rect(
            Rect::new(opening.x0, mid_y - fw / 2, opening.x1, mid_y + fw / 2 + 1),
            frame,
            1.0,
        );
    }
    let _ = mid_x;

    // Ceiling, side walls, floor.
    let ceiling = scale(wall, 0.55);
    canvas.polygon(
        &[(xtl, top), (xtr, top), (bx1, by0), (bx0, by0)],
        ceiling,
        1.0,
    );
    let side_wall = scale(wall, 0.7);
    canvas.polygon(
        &[
            (pic.x0 as f32 - 1.0, top - 1.0),
            (xtl, top),
            (bx0, by0),
            (bx0, by1),
            (xbl, bottom),
            (pic.x0 as f32 - 1.0, bottom + 1.0),
        ],
        side_wall,
        1.0,
    );
    canvas.polygon(
        &[
            (pic.x1 as f32 + 1.0, top - 1.0),
            (xtr, top),
            (bx1, by0),
            (bx1, by1),
            (xbr, bottom),
            (pic.x1 as f32 + 1.0, bottom + 1.0),
        ],
        scale(side_wall, 0.88),
        1.0,
    );
    let floor_rect = Rect::new(pic.x0, by1 as i32, pic.x1, pic.y1);
    {
        let prev = canvas.clip();
        canvas.set_clip(floor_rect.intersect(&prev));
        let floor_poly = [(bx0, by1), (bx1, by1), (xbr, bottom), (xbl, bottom)];
        canvas.polygon(&floor_poly, look.floor, 1.0);
        // Boards running towards the back wall.
        let board = scale(look.floor, 0.7);
        for k in 0..=12 {
            let t = k as f32 / 12.0;
            let fx = bx0 + (bx1 - bx0) * t;
            let bx = xbl + (xbr - xbl) * t;
            canvas.line(fx, by1, bx, bottom, 1.5 * st.u, board, 0.5);
        }
        canvas.row_wash(floor_rect, rgb(0, 0, 0), |t| 0.35 * t);
        canvas.set_clip(prev);
    }
    // Skirting and corner lines.
    let edge = scale(wall, 0.4);
    canvas.line(bx0, by1, bx1, by1, 2.0 * st.u, edge, 0.8);
    canvas.line(bx0, by0, bx0, by1, 1.5 * st.u, edge, 0.6);
    canvas.line(bx1, by0, bx1, by1, 1.5 * st.u, edge, 0.6);

    // Light through the opening onto the floor.
    let shaft = match ctx.mood {
        Mood::Candlelit | Mood::Neon => 0.0,
        Mood::Night => 0.08,
        Mood::Day => 0.16,
        _ => 0.12,
    };
    if shaft > 0.0 {
        let drift = -st.light_side * ow * 0.8;
        let depth = (bottom - by1) * 0.85;
        canvas.polygon(
            &[
                (ox, oy + oh),
                (ox + ow, oy + oh),
                (ox + ow + drift * 1.6, by1 + depth),
                (ox + drift * 1.6, by1 + depth),
            ],
            look.light,
            shaft,
        );
    }

    // A door on the other side, unless the wall is mostly window.
    if !mixed {
        let dw = back_w * 0.14;
        let dh = back_h * 0.82;
        let dx = if st.light_side > 0.0 {
            bx0 + back_w * 0.08
        } else {
            bx1 - back_w * 0.08 - dw
        };
        let door = Rect::new(dx as i32, (by1 - dh) as i32, (dx + dw) as i32, by1 as i32);
        canvas.fill_rect(door, scale(wall, 0.5), 1.0);
        canvas.stroke_rect(door, fw.max(2) / 2 + 1, scale(wall, 0.35), 1.0);
        canvas.circle(
            door.x1 as f32 - dw * 0.15,
            by1 - dh * 0.48,
            3.0 * st.u,
            scale(wall, 0.9),
            1.0,
        );
    }

    match ctx.mood {
        Mood::Candlelit => {
            // A table with candles, the room's only light.
            let tx = st.x(0.5 + st.light_side * 0.18);
            let ty = by1 + (bottom - by1) * 0.25;
            let tw = st.w() * 0.22;
            let table = scale(look.floor, 0.55);
            canvas.fill_rect(
                Rect::new(
                    (tx - tw / 2.0) as i32,
                    (ty - 8.0 * st.u) as i32,
                    (tx + tw / 2.0) as i32,
                    ty as i32,
                ),
                table,
                1.0,
            );
            for leg in [-0.42, 0.42] {
                let lx = tx + tw * leg;
                canvas.line(lx, ty, lx, ty + st.h() * 0.12, 5.0 * st.u, table, 1.0);
            }
            canvas.glow(tx, ty - 20.0 * st.u, st.w() * 0.5, look.light, 0.55);
            for k in 0..3 {
                let cx = tx + (k as f32 - 1.0) * tw * 0.2;
                let ch = (18.0 + 10.0 * k as f32) * st.u;
                canvas.fill_rect(
                    Rect::new(
                        (cx - 3.0 * st.u) as i32,
                        (ty - 8.0 * st.u - ch) as i32,
                        (cx + 3.0 * st.u) as i32,
                        (ty - 8.0 * st.u) as i32,
                    ),
                    rgb(236, 224, 200),
                    1.0,
                );
                let fy = ty - 8.0 * st.u - ch - 7.0 * st.u;
                canvas.glow(cx, fy, 40.0 * st.u, rgb(255, 200, 120), 0.8);
                canvas.ellipse(cx, fy, 3.5 * st.u, 7.0 * st.u, rgb(255, 236, 180), 1.0);
            }
        }
        Mood::Neon => {
            let sx = st.x(0.5 - st.light_side * 0.14);
            let sy = by0 + back_h * 0.3;
            let sw = back_w * 0.22;
            let sign = rgb(255, 60, 170);
            canvas.glow(sx, sy, st.w() * 0.35, sign, 0.45);
            canvas.rounded_rect(
                Rect::new(
                    (sx - sw / 2.0) as i32,
                    (sy - 16.0 * st.u) as i32,
                    (sx + sw / 2.0) as i32,
                    (sy + 16.0 * st.u) as i32,
                ),
                14.0 * st.u,
                sign,
                0.9,
            );
            canvas.glow(
                ox + ow / 2.0,
                oy + oh / 2.0,
                st.w() * 0.3,
                rgb(40, 220, 255),
                0.3,
            );
        }
        _ => {
            // Daylight (or moonlight) spilling in from the opening.
            canvas.glow(
                ox + ow / 2.0,
                oy + oh / 2.0,
                st.w() * 0.45,
                look.light,
                look.glow * 0.4,
            );
        }
    }
    opening
}

// ---------------------------------------------------------------------------
// Figures
// ---------------------------------------------------------------------------

/// A character standing in the frame.
struct Figure {
    name: String,
    x: f32,
    feet: f32,
    height: f32,
    depth: f32,
    build: f32,
    arm_swing: f32,
}

impl Figure {
    /// Signed distance to the figure's silhouette.
    fn sdf(&self, px: f32, py: f32) -> f32 {
        let h = self.height;
        let r = h * 0.068;
        let top = self.feet - h;
        let head_y = top + r * 1.05;
        let head = ((px - self.x).powi(2) + ((py - head_y) * 0.92).powi(2)).sqrt() - r;
        let neck_y0 = head_y + r * 0.8;
        let shoulder_y = top + h * 0.19;
        let hip_y = top + h * 0.52;
        let neck = sd_segment(px, py, self.x, neck_y0, self.x, shoulder_y) - r * 0.42;
        let shoulder = r * 1.9 * self.build;
        let hip = r * 1.3 * self.build;
        let torso_cy = (shoulder_y + hip_y) / 2.0;
        let round = r * 0.85;
        let torso = sd_trapezoid(
            px - self.x,
            py - torso_cy,
            shoulder - round,
            hip - round,
            (hip_y - shoulder_y) / 2.0 - round,
        ) - round;
        let arm_r = r * 0.42 * self.build.sqrt();
        let hand_y = hip_y + h * 0.06;
        let mut d = fmin(fmin(head, neck), torso);
        for side in [-1.0f32, 1.0] {
            let sx = self.x + side * (shoulder - arm_r * 0.6);
            let hx = self.x + side * (shoulder * 1.05 + self.arm_swing * side * r);
            d = fmin(
                d,
                sd_segment(px, py, sx, shoulder_y + arm_r, hx, hand_y) - arm_r,
            );
            let lx0 = self.x + side * hip * 0.52;
            let lx1 = self.x + side * hip * 0.62;
            let leg_r = r * (0.58 - 0.12 * ((py - hip_y) / (self.feet - hip_y)).clamp(0.0, 1.0));
            d = fmin(
                d,
                sd_segment(px, py, lx0, hip_y - r * 0.6, lx1, self.feet - r * 0.4) - leg_r,
            );
        }
        d
    }

    /// Bounding box of the silhouette, with a margin.
    fn bbox(&self, margin: f32) -> Rect {
        let half = self.height * 0.2 + margin;
        Rect::new(
            (self.x - half) as i32,
            (self.feet - self.height - margin) as i32,
            (self.x + half) as i32 + 1,
            (self.feet + margin) as i32 + 1,
        )
    }
}

fn figures(canvas: &mut Canvas, st: &Stage, look: &Look, ctx: &FrameContext, rng: &mut Rng) {
    let names: Vec<&str> = ctx
        .characters
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .take(6)
        .collect();
    let n = names.len();
    if n == 0 {
        return;
    }
    let span = (0.2 * n as f32).min(0.66);
    let eye = st.horizon + st.h() * rng.range(-0.03, 0.02);
    let mut figures: Vec<Figure> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let slot = if n == 1 {
                0.5 + rng.range(-0.12, 0.12)
            } else {
                0.5 + (i as f32 / (n - 1) as f32 - 0.5) * span
            };
            let depth = if n == 1 {
                rng.range(0.7, 1.0)
            } else {
                rng.range(0.15, 1.0)
            };
            let height = st.h() * (0.36 + 0.52 * depth) * if n > 3 { 0.9 } else { 1.0 };
            Figure {
                name: (*name).to_owned(),
                x: st.x(slot + rng.range(-0.03, 0.03)),
                feet: eye + height * 0.91,
                height,
                depth,
                build: rng.range(0.85, 1.15),
                arm_swing: rng.range(-0.4, 0.9),
            }
        })
        .collect();
    figures.sort_by(|a, b| a.depth.total_cmp(&b.depth));

    let label_style = TextStyle::bold(17.0 * st.u);
    let mut labels: Vec<(f32, f32, String)> = Vec::new();
    for f in &figures {
        let fade = (1.0 - f.depth) * look.haze * 0.8;
        let body = mix(look.silhouette, look.sky_bottom, fade);
        // Shadow on the ground, away from the light.
        let shadow_dx = -st.light_side * f.height * 0.12;
        canvas.ellipse(
            f.x + shadow_dx,
            f.feet,
            f.height * 0.2,
            f.height * 0.03,
            rgb(0, 0, 0),
            0.35,
        );
        // Rim light: the silhouette offset towards the light, under the body.
        let off = (f.height * 0.008).max(1.5 * st.u);
        let (ox, oy) = (st.light_side * off, -off * 0.4);
        let rim = mix(look.rim, body, fade);
        canvas.fill_sdf(f.bbox(off + 2.0), rim, look.rim_alpha, |x, y| {
            f.sdf(x - ox, y - oy)
        });
        canvas.fill_sdf(f.bbox(2.0), body, 1.0, |x, y| f.sdf(x, y));
        let head_top = f.feet - f.height;
        labels.push((f.x, head_top, f.name.clone()));
    }
    // Name labels above the heads, nearest figure's last.
    for (x, head_top, name) in labels {
        let text = label_style.ellipsize(&name.to_uppercase(), 220.0 * st.u);
        let tw = label_style.measure(&text);
        let pad = 8.0 * st.u;
        let h = label_style.size + pad * 1.2;
        let y1 = (head_top - 10.0 * st.u).max(st.pic.y0 as f32 + h + 60.0 * st.u);
        let x0 = (x - tw / 2.0 - pad).clamp(
            st.pic.x0 as f32 + 4.0,
            st.pic.x1 as f32 - tw - 2.0 * pad - 4.0,
        );
        let pill = Rect::new(
            x0 as i32,
            (y1 - h) as i32,
            (x0 + tw + 2.0 * pad) as i32,
            y1 as i32,
        );
        canvas.rounded_rect(pill, h / 2.0, rgb(16, 16, 20), 0.72);
        let baseline = y1 - h / 2.0 + label_style.size * 0.36;
        label_style.draw(canvas, x0 + pad, baseline, &text, rgb(250, 250, 250), 1.0);
        // A small pointer from the label to the head.
        canvas.line(x, y1, x, y1 + 6.0 * st.u, 2.0 * st.u, rgb(16, 16, 20), 0.72);
    }
}

/// Slanted rain streaks over everything.
fn rain(canvas: &mut Canvas, st: &Stage, look: &Look, rng: &mut Rng) {
    let color = mix(look.light, rgb(255, 255, 255), 0.4);
    let count = (st.w() * st.h() / 2600.0) as usize;
    for _ in 0..count {
        let x = rng.range(st.pic.x0 as f32 - 40.0, st.pic.x1 as f32);
        let y = rng.range(st.pic.y0 as f32 - 40.0, st.pic.y1 as f32);
        let near = rng.range(0.0, 1.0);
        let len = (14.0 + 34.0 * near) * st.u;
        canvas.line(
            x,
            y,
            x + len * 0.22,
            y + len,
            (0.8 + 1.2 * near) * st.u,
            color,
            0.12 + 0.25 * near,
        );
    }
}

// ---------------------------------------------------------------------------
// Overlays
// ---------------------------------------------------------------------------

/// Corner brackets and centre ticks, as on a camera's frame guide.
fn frame_marks(canvas: &mut Canvas, st: &Stage) {
    let u = st.u;
    let white = rgb(255, 255, 255);
    let (inset, arm, thick) = (14.0 * u, 28.0 * u, (2.0 * u).max(1.0));
    let (x0, y0) = (
        st.pic.x0 as f32 + inset,
        st.pic.y0 as f32 + inset + 48.0 * u,
    );
    let (x1, y1) = (st.pic.x1 as f32 - inset, st.pic.y1 as f32 - inset);
    for (cx, cy, dx, dy) in [
        (x0, y0, 1.0, 1.0),
        (x1, y0, -1.0, 1.0),
        (x0, y1, 1.0, -1.0),
        (x1, y1, -1.0, -1.0),
    ] {
        canvas.line(cx, cy, cx + dx * arm, cy, thick, white, 0.45);
        canvas.line(cx, cy, cx, cy + dy * arm, thick, white, 0.45);
    }
    let (mx, my) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    canvas.line(mx - 8.0 * u, my, mx + 8.0 * u, my, thick * 0.75, white, 0.3);
    canvas.line(mx, my - 8.0 * u, mx, my + 8.0 * u, thick * 0.75, white, 0.3);
}

fn header(canvas: &mut Canvas, st: &Stage, ctx: &FrameContext) {
    let u = st.u;
    let w = canvas.width() as i32;
    canvas.row_wash(Rect::new(0, 0, w, (70.0 * u) as i32), rgb(0, 0, 0), |t| {
        0.62 * (1.0 - t).powf(1.4)
    });
    let margin = 20.0 * u;
    let mut x = margin;
    let shot = ctx.shot.trim();
    if !shot.is_empty() {
        let style = TextStyle::bold(21.0 * u);
        let tw = style.measure(shot);
        let box_h = 32.0 * u;
        let r = Rect::new(
            x as i32,
            (16.0 * u) as i32,
            (x + tw + 18.0 * u) as i32,
            (16.0 * u + box_h) as i32,
        );
        canvas.rounded_rect(r, 4.0 * u, rgb(245, 245, 240), 0.94);
        style.draw(
            canvas,
            x + 9.0 * u,
            16.0 * u + box_h / 2.0 + style.size * 0.36,
            shot,
            rgb(18, 18, 20),
            1.0,
        );
        x += tw + 18.0 * u + 12.0 * u;
    }
    let badge_style = TextStyle::bold(15.0 * u);
    let badge = format!("DRAFT · seed {}", ctx.seed);
    let bw = badge_style.measure(&badge) + 22.0 * u;
    let scene = ctx.scene.trim();
    if !scene.is_empty() {
        let style = TextStyle::bold(18.0 * u);
        let room = canvas.width() as f32 - x - bw - 3.0 * margin;
        let text = style.ellipsize(scene, room);
        style.draw(
            canvas,
            x,
            16.0 * u + 16.0 * u + style.size * 0.36,
            &text,
            rgb(250, 250, 250),
            0.96,
        );
    }
    let bx1 = canvas.width() as f32 - margin;
    let r = Rect::new(
        (bx1 - bw) as i32,
        (19.0 * u) as i32,
        bx1 as i32,
        (45.0 * u) as i32,
    );
    canvas.rounded_rect(r, 13.0 * u, rgb(242, 178, 51), 0.96);
    badge_style.draw(
        canvas,
        bx1 - bw + 11.0 * u,
        32.0 * u + badge_style.size * 0.36,
        &badge,
        rgb(28, 22, 10),
        1.0,
    );
}

fn caption_band(canvas: &mut Canvas, st: &Stage, ctx: &FrameContext, band: i32) {
    let u = st.u;
    let (w, h) = (canvas.width() as i32, canvas.height() as i32);
    let top = h - band;
    canvas.fill_rect(Rect::new(0, top, w, h), rgb(13, 13, 16), 1.0);
    canvas.fill_rect(
        Rect::new(0, top, w, top + (2.0 * u).max(1.0) as i32),
        rgb(242, 178, 51),
        0.85,
    );

    let pad = 24.0 * u;
    let right_w = 290.0 * u;
    let text_w = w as f32 - 3.0 * pad - right_w;
    let style = TextStyle::regular(23.0 * u);
    let line_h = style.size * 1.3;
    let max_lines = (((band as f32 - 2.0 * pad) / line_h).floor() as usize).max(1);
    let prompt = ctx.prompt.trim();
    let (lines, color) = if prompt.is_empty() {
        (vec!["No prompt yet.".to_owned()], rgb(130, 130, 136))
    } else {
        (style.wrap(prompt, text_w, max_lines), rgb(236, 236, 232))
    };
    let mut baseline = top as f32 + pad + style.size * 0.8;
    for line in &lines {
        style.draw(canvas, pad, baseline, line, color, 1.0);
        baseline += line_h;
    }

    // Right column: setting and mood, style keywords, palette, aspect.
    let x = w as f32 - pad - right_w;
    canvas.fill_rect(
        Rect::new(
            (x - pad / 2.0) as i32,
            top + pad as i32 - 4,
            (x - pad / 2.0 + u.max(1.0)) as i32,
            h - pad as i32 + 4,
        ),
        rgb(60, 60, 66),
        1.0,
    );
    let small_bold = TextStyle::bold(14.0 * u);
    let small = TextStyle::regular(13.0 * u);
    let mut y = top as f32 + pad + small_bold.size * 0.8;
    let mut head = format!("{} · {}", ctx.setting.label(), ctx.mood.label());
    if !ctx.characters.is_empty() {
        let n = ctx.characters.len();
        head.push_str(&format!(
            " · {n} {}",
            if n == 1 { "CHARACTER" } else { "CHARACTERS" }
        ));
    }
    small_bold.draw(
        canvas,
        x,
        y,
        &small_bold.ellipsize(&head, right_w),
        rgb(242, 178, 51),
        1.0,
    );
    y += small_bold.size * 1.6;
    if !ctx.keywords.is_empty() {
        let kw = ctx.keywords.join(" · ");
        for line in small.wrap(&kw, right_w, 2) {
            small.draw(canvas, x, y, &line, rgb(170, 170, 176), 1.0);
            y += small.size * 1.4;
        }
    }
    let sw = 16.0 * u;
    let sy = (h as f32 - pad - sw).max(y - small.size * 0.6);
    let mut sx = x;
    for c in ctx.palette.iter().take(8) {
        canvas.fill_rect(
            Rect::new(sx as i32, sy as i32, (sx + sw) as i32, (sy + sw) as i32),
            *c,
            1.0,
        );
        sx += sw + 4.0 * u;
    }
    let (fw, fh) = ctx.size();
    let dims = format!("{} · {fw}×{fh}", ctx.aspect.as_str());
    small.draw_right(
        canvas,
        w as f32 - pad,
        sy + sw * 0.8,
        &dims,
        rgb(130, 130, 136),
        1.0,
    );
}
