//! An RGB raster with the few drawing operations the renderers need.
//!
//! Colours are `[f32; 3]` in 0..=255 (sRGB values, no gamma handling: drafts
//! are sketches). Every operation writes whole rows or small bounding boxes;
//! nothing allocates per pixel. Drawing is limited to the clip rectangle.

use image::ImageEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};

/// A colour: red, green, blue in 0..=255.
pub type Rgb = [f32; 3];

/// A colour from 8-bit channels.
pub const fn rgb(r: u8, g: u8, b: u8) -> Rgb {
    [r as f32, g as f32, b as f32]
}

/// `a` blended towards `b` by `t` (0: `a`, 1: `b`).
pub fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

/// `c` with every channel multiplied by `k`.
pub fn scale(c: Rgb, k: f32) -> Rgb {
    [c[0] * k, c[1] * k, c[2] * k]
}

/// Perceived brightness of `c`, 0..=255.
pub fn luma(c: Rgb) -> f32 {
    0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
}

/// A colour from `#rrggbb` or `#rgb` text.
pub fn parse_hex(text: &str) -> Option<Rgb> {
    let hex = text.trim().trim_start_matches('#');
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let v = |s: &str| u8::from_str_radix(s, 16).ok();
    match hex.len() {
        6 => Some(rgb(v(&hex[0..2])?, v(&hex[2..4])?, v(&hex[4..6])?)),
        3 => {
            let d = |i: usize| v(&hex[i..=i]).map(|x| x * 17);
            Some(rgb(d(0)?, d(1)?, d(2)?))
        }
        _ => None,
    }
}

/// Smooth 0→1 step between `e0` and `e1`.
pub fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// An axis-aligned rectangle in pixels: `x0..x1`, `y0..y1` (ends excluded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    /// Left edge.
    pub x0: i32,
    /// Top edge.
    pub y0: i32,
    /// Right edge (excluded).
    pub x1: i32,
    /// Bottom edge (excluded).
    pub y1: i32,
}

impl Rect {
    /// The rectangle `x0..x1` × `y0..y1`.
    pub const fn new(x0: i32, y0: i32, x1: i32, y1: i32) -> Self {
        Rect { x0, y0, x1, y1 }
    }

    /// Width in pixels (0 when empty).
    pub fn width(&self) -> i32 {
        (self.x1 - self.x0).max(0)
    }

    /// Height in pixels (0 when empty).
    pub fn height(&self) -> i32 {
        (self.y1 - self.y0).max(0)
    }

    /// The overlap of two rectangles (possibly empty).
    pub fn intersect(&self, o: &Rect) -> Rect {
        Rect::new(
            self.x0.max(o.x0),
            self.y0.max(o.y0),
            self.x1.min(o.x1),
            self.y1.min(o.y1),
        )
    }

    /// Whether the rectangle holds no pixel.
    pub fn is_empty(&self) -> bool {
        self.width() == 0 || self.height() == 0
    }
}

/// An RGB image being drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct Canvas {
    width: u32,
    height: u32,
    data: Vec<u8>,
    clip: Rect,
}

impl Canvas {
    /// A canvas filled with `color`.
    pub fn new(width: u32, height: u32, color: Rgb) -> Self {
        let px = [
            color[0].round().clamp(0.0, 255.0) as u8,
            color[1].round().clamp(0.0, 255.0) as u8,
            color[2].round().clamp(0.0, 255.0) as u8,
        ];
        let data = px.repeat(width as usize * height as usize);
        Canvas {
            width,
            height,
            data,
            clip: Rect::new(0, 0, width as i32, height as i32),
        }
    }

    /// A canvas holding RGB8 pixels (`data.len() == width * height * 3`).
    pub fn from_rgb(width: u32, height: u32, data: Vec<u8>) -> Option<Self> {
        (data.len() == width as usize * height as usize * 3).then(|| Canvas {
            width,
            height,
            data,
            clip: Rect::new(0, 0, width as i32, height as i32),
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The RGB8 pixels, row by row.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The whole canvas as a rectangle.
    pub fn bounds(&self) -> Rect {
        Rect::new(0, 0, self.width as i32, self.height as i32)
    }

    /// Limits drawing to `clip` (within the canvas).
    pub fn set_clip(&mut self, clip: Rect) {
        self.clip = clip.intersect(&self.bounds());
    }

    /// Lets drawing reach the whole canvas again.
    pub fn reset_clip(&mut self) {
        self.clip = self.bounds();
    }

    /// The current clip rectangle.
    pub fn clip(&self) -> Rect {
        self.clip
    }

    /// The pixel at `(x, y)`.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }

    /// Blends `color` into pixel `(x, y)` with opacity `alpha` (no clipping; callers clip).
    #[inline]
    fn blend_at(&mut self, x: i32, y: i32, color: Rgb, alpha: f32) {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        let px = &mut self.data[i..i + 3];
        for c in 0..3 {
            let v = px[c] as f32;
            px[c] = (v + (color[c] - v) * alpha).clamp(0.0, 255.0) as u8;
        }
    }

    /// Blends `color` into pixel `(x, y)` when it lies inside the clip.
    pub fn blend(&mut self, x: i32, y: i32, color: Rgb, alpha: f32) {
        let c = self.clip;
        if x >= c.x0 && x < c.x1 && y >= c.y0 && y < c.y1 && alpha > 0.0 {
            self.blend_at(x, y, color, alpha.min(1.0));
        }
    }

    /// Fills a rectangle with `color` at opacity `alpha`.
    pub fn fill_rect(&mut self, rect: Rect, color: Rgb, alpha: f32) {
        let r = rect.intersect(&self.clip);
        if r.is_empty() || alpha <= 0.0 {
            return;
        }
        let w = self.width as usize;
        if alpha >= 1.0 {
            let px = [
                color[0].clamp(0.0, 255.0) as u8,
                color[1].clamp(0.0, 255.0) as u8,
                color[2].clamp(0.0, 255.0) as u8,
            ];
            // Fill the first row by doubling copies, then copy that row down.
            let first = (r.y0 as usize * w + r.x0 as usize) * 3;
            let len = r.width() as usize * 3;
            self.data[first..first + 3].copy_from_slice(&px);
            let mut done = 3;
            while done < len {
                let n = done.min(len - done);
                self.data.copy_within(first..first + n, first + done);
                done += n;
            }
            for y in r.y0 + 1..r.y1 {
                let start = (y as usize * w + r.x0 as usize) * 3;
                self.data.copy_within(first..first + len, start);
            }
            return;
        }
        for y in r.y0..r.y1 {
            self.blend_row(y, r.x0, r.x1, color, alpha);
        }
    }

    /// Blends `color` at `alpha` over the pixels `x0..x1` of row `y` (already clipped).
    fn blend_row(&mut self, y: i32, x0: i32, x1: i32, color: Rgb, alpha: f32) {
        let w = self.width as usize;
        let a = (alpha.clamp(0.0, 1.0) * 256.0) as u32;
        let inv = 256 - a;
        let c = [
            (color[0].clamp(0.0, 255.0) as u32) * a,
            (color[1].clamp(0.0, 255.0) as u32) * a,
            (color[2].clamp(0.0, 255.0) as u32) * a,
        ];
        let row =
            &mut self.data[(y as usize * w + x0 as usize) * 3..(y as usize * w + x1 as usize) * 3];
        // Sixteen pixels at a time with the colour laid out per byte: a loop over bytes with
        // no stride of three, which vectorises natively and in WebAssembly SIMD alike.
        let pattern: [u32; BLOCK] = std::array::from_fn(|j| c[j % 3]);
        let mut blocks = row.chunks_exact_mut(BLOCK);
        for block in &mut blocks {
            for (v, add) in block.iter_mut().zip(pattern) {
                *v = ((u32::from(*v) * inv + add) >> 8) as u8;
            }
        }
        for (v, add) in blocks.into_remainder().iter_mut().zip(pattern) {
            *v = ((u32::from(*v) * inv + add) >> 8) as u8;
        }
    }

    /// Fills `rect` with a vertical gradient from `top` to `bottom`; `ease`
    /// bends it (1: linear, below 1: faster change near the top).
    pub fn vertical_gradient(&mut self, rect: Rect, top: Rgb, bottom: Rgb, ease: f32) {
        let r = rect.intersect(&self.clip);
        if r.is_empty() {
            return;
        }
        let h = (rect.height() - 1).max(1) as f32;
        for y in r.y0..r.y1 {
            let t = ((y - rect.y0) as f32 / h).clamp(0.0, 1.0).powf(ease);
            let color = mix(top, bottom, t);
            self.fill_rect(Rect::new(r.x0, y, r.x1, y + 1), color, 1.0);
        }
    }

    /// Blends `color` over rows of `rect` with a per-row opacity from `alpha_of(t)`,
    /// `t` running 0..=1 from the top of `rect` to its bottom.
    pub fn row_wash(&mut self, rect: Rect, color: Rgb, alpha_of: impl Fn(f32) -> f32) {
        let r = rect.intersect(&self.clip);
        if r.is_empty() {
            return;
        }
        let h = (rect.height() - 1).max(1) as f32;
        for y in r.y0..r.y1 {
            let a = alpha_of((y - rect.y0) as f32 / h);
            if a > 0.002 {
                self.blend_row(y, r.x0, r.x1, color, a);
            }
        }
    }

    /// Fills the shape whose signed distance (pixels, negative inside) is
    /// `sdf(x, y)` over `bbox`, anti-aliased over one pixel, with `color` at
    /// opacity `alpha`. `sdf` receives pixel centres and must not overstate
    /// distances (exact distances, or unions of them, are fine).
    ///
    /// The box is walked in 8×8 tiles: a tile whose centre is far enough
    /// outside is skipped and one far enough inside is filled whole, so only
    /// tiles on the outline are evaluated pixel by pixel.
    pub fn fill_sdf(&mut self, bbox: Rect, color: Rgb, alpha: f32, sdf: impl Fn(f32, f32) -> f32) {
        const TILE: i32 = 8;
        // Half the tile's diagonal, with room for distances that are a little off.
        const REACH: f32 = TILE as f32 * 0.7072 * 1.15 + 1.0;
        let r = bbox.intersect(&self.clip);
        if r.is_empty() || alpha <= 0.0 {
            return;
        }
        let mut ty = r.y0;
        while ty < r.y1 {
            let ty1 = (ty + TILE).min(r.y1);
            let mut tx = r.x0;
            while tx < r.x1 {
                let tx1 = (tx + TILE).min(r.x1);
                let d = sdf((tx + tx1) as f32 / 2.0, (ty + ty1) as f32 / 2.0);
                if d > REACH {
                    tx = tx1;
                    continue;
                }
                if d < -REACH {
                    self.fill_rect(Rect::new(tx, ty, tx1, ty1), color, alpha);
                    tx = tx1;
                    continue;
                }
                for y in ty..ty1 {
                    let py = y as f32 + 0.5;
                    for x in tx..tx1 {
                        let d = sdf(x as f32 + 0.5, py);
                        if d < 0.5 {
                            let coverage = fmin(0.5 - d, 1.0);
                            self.blend_at(x, y, color, coverage * alpha);
                        }
                    }
                }
                tx = tx1;
            }
            ty = ty1;
        }
    }

    /// A filled circle.
    pub fn circle(&mut self, cx: f32, cy: f32, radius: f32, color: Rgb, alpha: f32) {
        let bbox = Rect::new(
            (cx - radius - 1.0).floor() as i32,
            (cy - radius - 1.0).floor() as i32,
            (cx + radius + 2.0).ceil() as i32,
            (cy + radius + 2.0).ceil() as i32,
        );
        self.fill_sdf(bbox, color, alpha, |x, y| {
            ((x - cx).powi(2) + (y - cy).powi(2)).sqrt() - radius
        });
    }

    /// A filled ellipse with radii `rx`, `ry`.
    pub fn ellipse(&mut self, cx: f32, cy: f32, rx: f32, ry: f32, color: Rgb, alpha: f32) {
        let bbox = Rect::new(
            (cx - rx - 1.0).floor() as i32,
            (cy - ry - 1.0).floor() as i32,
            (cx + rx + 2.0).ceil() as i32,
            (cy + ry + 2.0).ceil() as i32,
        );
        let k = rx.min(ry);
        self.fill_sdf(bbox, color, alpha, |x, y| {
            let nx = (x - cx) / rx;
            let ny = (y - cy) / ry;
            ((nx * nx + ny * ny).sqrt() - 1.0) * k
        });
    }

    /// A line from `(x0, y0)` to `(x1, y1)`, `width` pixels wide, with round ends.
    #[allow(clippy::too_many_arguments)]
    pub fn line(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, width: f32, color: Rgb, alpha: f32) {
        let r = width / 2.0;
        let bbox = Rect::new(
            (x0.min(x1) - r - 1.0).floor() as i32,
            (y0.min(y1) - r - 1.0).floor() as i32,
            (x0.max(x1) + r + 2.0).ceil() as i32,
            (y0.max(y1) + r + 2.0).ceil() as i32,
        );
        self.fill_sdf(bbox, color, alpha, |x, y| {
            sd_segment(x, y, x0, y0, x1, y1) - r
        });
    }

    /// A filled rectangle with rounded corners of `radius`.
    pub fn rounded_rect(&mut self, rect: Rect, radius: f32, color: Rgb, alpha: f32) {
        let (cx, cy) = (
            (rect.x0 + rect.x1) as f32 / 2.0,
            (rect.y0 + rect.y1) as f32 / 2.0,
        );
        let (hw, hh) = (rect.width() as f32 / 2.0, rect.height() as f32 / 2.0);
        let radius = radius.min(hw).min(hh);
        self.fill_sdf(rect, color, alpha, |x, y| {
            let qx = (x - cx).abs() - hw + radius;
            let qy = (y - cy).abs() - hh + radius;
            let outside = (fmax(qx, 0.0).powi(2) + fmax(qy, 0.0).powi(2)).sqrt();
            outside + fmin(fmax(qx, qy), 0.0) - radius
        });
    }

    /// The outline of a rectangle, `width` pixels wide, inside its edges.
    pub fn stroke_rect(&mut self, rect: Rect, width: i32, color: Rgb, alpha: f32) {
        let w = width.max(1);
        self.fill_rect(
            Rect::new(rect.x0, rect.y0, rect.x1, rect.y0 + w),
            color,
            alpha,
        );
        self.fill_rect(
            Rect::new(rect.x0, rect.y1 - w, rect.x1, rect.y1),
            color,
            alpha,
        );
        self.fill_rect(
            Rect::new(rect.x0, rect.y0 + w, rect.x0 + w, rect.y1 - w),
            color,
            alpha,
        );
        self.fill_rect(
            Rect::new(rect.x1 - w, rect.y0 + w, rect.x1, rect.y1 - w),
            color,
            alpha,
        );
    }

    /// A convex or concave polygon (even-odd rule), anti-aliased horizontally.
    pub fn polygon(&mut self, points: &[(f32, f32)], color: Rgb, alpha: f32) {
        if points.len() < 3 {
            return;
        }
        let min_y = points.iter().map(|p| p.1).fold(f32::MAX, f32::min);
        let max_y = points.iter().map(|p| p.1).fold(f32::MIN, f32::max);
        let y0 = (min_y.floor() as i32).max(self.clip.y0);
        let y1 = (max_y.ceil() as i32).min(self.clip.y1);
        let mut crossings: Vec<f32> = Vec::with_capacity(8);
        for y in y0..y1 {
            let py = y as f32 + 0.5;
            crossings.clear();
            for i in 0..points.len() {
                let (ax, ay) = points[i];
                let (bx, by) = points[(i + 1) % points.len()];
                if (ay <= py && by > py) || (by <= py && ay > py) {
                    crossings.push(ax + (py - ay) / (by - ay) * (bx - ax));
                }
            }
            crossings.sort_by(f32::total_cmp);
            for pair in crossings.chunks_exact(2) {
                self.span(y, pair[0], pair[1], color, alpha);
            }
        }
    }

    /// Fills row `y` between fractional x positions, with partial coverage at the ends.
    fn span(&mut self, y: i32, xa: f32, xb: f32, color: Rgb, alpha: f32) {
        let c = self.clip;
        let xa = xa.max(c.x0 as f32);
        let xb = xb.min(c.x1 as f32);
        if xb <= xa {
            return;
        }
        let ia = xa.floor() as i32;
        let ib = xb.floor() as i32;
        if ia == ib {
            self.blend(ia, y, color, alpha * (xb - xa));
            return;
        }
        self.blend(ia, y, color, alpha * (1.0 - (xa - ia as f32)));
        if ib > ia + 1 {
            self.blend_row(y, ia + 1, ib, color, alpha);
        }
        if ib < c.x1 {
            self.blend(ib, y, color, alpha * (xb - ib as f32));
        }
    }

    /// Adds light: a radial glow of `color` around `(cx, cy)` fading to nothing
    /// at `radius`, peaking at `strength` (screen blend, never darkens).
    pub fn glow(&mut self, cx: f32, cy: f32, radius: f32, color: Rgb, strength: f32) {
        let bbox = Rect::new(
            (cx - radius).floor() as i32,
            (cy - radius).floor() as i32,
            (cx + radius).ceil() as i32,
            (cy + radius).ceil() as i32,
        )
        .intersect(&self.clip);
        if bbox.is_empty() || strength <= 0.0 {
            return;
        }
        let inv_r2 = 1.0 / (radius * radius);
        let w = self.width as usize;
        // Fixed point: light per channel in 1/256, the falloff in 1/256, so the per-channel
        // work is integer (one float conversion per pixel instead of three).
        let col = color.map(|c| (c.clamp(0.0, 255.0) / 255.0 * 256.0) as u32);
        for y in bbox.y0..bbox.y1 {
            let dy2 = (y as f32 + 0.5 - cy).powi(2);
            let reach2 = radius * radius - dy2;
            if reach2 <= 0.0 {
                continue;
            }
            let reach = reach2.sqrt();
            let xa = ((cx - reach).floor() as i32).max(bbox.x0);
            let xb = ((cx + reach).ceil() as i32).min(bbox.x1);
            let row = (y as usize * w) * 3;
            for x in xa..xb {
                let d2 = ((x as f32 + 0.5 - cx).powi(2) + dy2) * inv_r2;
                if d2 >= 1.0 {
                    continue;
                }
                let f = (1.0 - d2) * (1.0 - d2) * strength;
                let falloff = (f * 256.0) as u32;
                let i = row + x as usize * 3;
                // A 4×4 ordered dither keeps the faint rim of a wide glow from
                // banding; elsewhere the light is strong enough not to need it.
                let dither = if f < 0.03 {
                    BAYER_16[(y as usize & 3) * 4 + (x as usize & 3)]
                } else {
                    0
                };
                for (v, light) in self.data[i..i + 3].iter_mut().zip(col) {
                    // Screen: v + (255 - v) * light * f, in 1/65536 with the dither added.
                    let old = u32::from(*v);
                    let add = ((255 - old) * light * falloff + (dither << 12)) >> 16;
                    *v = (old + add).min(255) as u8;
                }
            }
        }
    }

    /// Darkens towards the corners of `rect`: `strength` 0 (none) to 1 (black corners).
    pub fn vignette(&mut self, rect: Rect, strength: f32) {
        let r = rect.intersect(&self.clip);
        if r.is_empty() || strength <= 0.0 {
            return;
        }
        let (cx, cy) = (
            (rect.x0 + rect.x1) as f32 / 2.0,
            (rect.y0 + rect.y1) as f32 / 2.0,
        );
        let (hx, hy) = (rect.width() as f32 / 2.0, rect.height() as f32 / 2.0);
        let fx: Vec<f32> = (r.x0..r.x1)
            .map(|x| ((x as f32 + 0.5 - cx) / hx).powi(2))
            .collect();
        // Factor by squared normalised distance, 0..=2, in 4096 steps (fixed
        // point /256): fine enough that strong vignettes show no rings.
        const STEPS: usize = 4096;
        let lut: Vec<u32> = (0..STEPS)
            .map(|i| {
                let d = (i as f32 / (STEPS - 1) as f32 * 2.0).sqrt() / std::f32::consts::SQRT_2;
                let k = 1.0 - strength * smoothstep(0.35, 1.0, d);
                (k.clamp(0.0, 1.0) * 256.0) as u32
            })
            .collect();
        let w = self.width as usize;
        // Below this squared distance the factor is 1: nothing to do.
        let untouched = lut.iter().take_while(|&&f| f >= 256).count();
        let inner = untouched.saturating_sub(1) as f32 / (STEPS - 1) as f32 * 2.0;
        for y in r.y0..r.y1 {
            let fy = ((y as f32 + 0.5 - cy) / hy).powi(2);
            let row = (y as usize * w + r.x0 as usize) * 3;
            // Columns whose fx + fy stays under `inner` keep their pixels.
            let room = inner - fy;
            let (skip_a, skip_b) = if room > 0.0 {
                let half = room.sqrt() * hx;
                let a = ((cx - half).ceil() as i32 - r.x0).clamp(0, r.width()) as usize;
                let b = ((cx + half).floor() as i32 - r.x0).clamp(0, r.width()) as usize;
                (a, b.max(a))
            } else {
                (0, 0)
            };
            for (k, fxv) in fx.iter().enumerate() {
                if k >= skip_a && k < skip_b {
                    continue;
                }
                let idx = (((fxv + fy) / 2.0 * (STEPS - 1) as f32) as usize).min(STEPS - 1);
                let f = lut[idx];
                let i = row + k * 3;
                self.data[i] = ((self.data[i] as u32 * f) >> 8) as u8;
                self.data[i + 1] = ((self.data[i + 1] as u32 * f) >> 8) as u8;
                self.data[i + 2] = ((self.data[i + 2] as u32 * f) >> 8) as u8;
            }
        }
    }

    /// Grades `rect` through a gradient map: each pixel's brightness picks a
    /// colour from `ramp` (dark to light), blended in at `amount`.
    pub fn gradient_map(&mut self, rect: Rect, ramp: &[Rgb], amount: f32) {
        let r = rect.intersect(&self.clip);
        if r.is_empty() || ramp.is_empty() || amount <= 0.0 {
            return;
        }
        let a = (amount.clamp(0.0, 1.0) * 256.0) as u32;
        let inv = 256 - a;
        let lut: Vec<[u32; 3]> = (0..256)
            .map(|l| {
                let t = l as f32 / 255.0 * (ramp.len() - 1) as f32;
                let i = (t.floor() as usize).min(ramp.len() - 1);
                let j = (i + 1).min(ramp.len() - 1);
                let c = mix(ramp[i], ramp[j], t - i as f32);
                [
                    c[0].clamp(0.0, 255.0) as u32 * a,
                    c[1].clamp(0.0, 255.0) as u32 * a,
                    c[2].clamp(0.0, 255.0) as u32 * a,
                ]
            })
            .collect();
        let w = self.width as usize;
        for y in r.y0..r.y1 {
            let row = &mut self.data
                [(y as usize * w + r.x0 as usize) * 3..(y as usize * w + r.x1 as usize) * 3];
            for px in row.chunks_exact_mut(3) {
                let l = (px[0] as u32 * 54 + px[1] as u32 * 183 + px[2] as u32 * 19) >> 8;
                let m = lut[l.min(255) as usize];
                px[0] = ((px[0] as u32 * inv + m[0]) >> 8) as u8;
                px[1] = ((px[1] as u32 * inv + m[1]) >> 8) as u8;
                px[2] = ((px[2] as u32 * inv + m[2]) >> 8) as u8;
            }
        }
    }

    /// Copies `src` scaled (area-averaged when shrinking) to fit inside `dst`,
    /// keeping its aspect ratio and centred; returns where it landed.
    pub fn draw_image_fit(&mut self, src: &Canvas, dst: Rect) -> Rect {
        if src.width == 0 || src.height == 0 || dst.is_empty() {
            return Rect::new(dst.x0, dst.y0, dst.x0, dst.y0);
        }
        let k =
            (dst.width() as f32 / src.width as f32).min(dst.height() as f32 / src.height as f32);
        let w = ((src.width as f32 * k).round() as i32).clamp(1, dst.width());
        let h = ((src.height as f32 * k).round() as i32).clamp(1, dst.height());
        let x0 = dst.x0 + (dst.width() - w) / 2;
        let y0 = dst.y0 + (dst.height() - h) / 2;
        let scaled = src.resized(w as u32, h as u32);
        self.blit(&scaled, x0, y0);
        Rect::new(x0, y0, x0 + w, y0 + h)
    }

    /// This image shrunk (never enlarged) to fit inside `w` × `h`, keeping its
    /// aspect ratio.
    pub fn fit_within(&self, w: u32, h: u32) -> Canvas {
        let k = (w as f32 / self.width.max(1) as f32)
            .min(h as f32 / self.height.max(1) as f32)
            .min(1.0);
        let nw = ((self.width as f32 * k).round() as u32).max(1);
        let nh = ((self.height as f32 * k).round() as u32).max(1);
        self.resized(nw, nh)
    }

    /// This image resized to `w` × `h` (box filter when shrinking, nearest when growing).
    pub fn resized(&self, w: u32, h: u32) -> Canvas {
        if w == self.width && h == self.height {
            return self.clone();
        }
        let mut out = Vec::with_capacity(w as usize * h as usize * 3);
        let sx = self.width as f32 / w as f32;
        let sy = self.height as f32 / h as f32;
        let sw = self.width as usize;
        for y in 0..h {
            let ya = (y as f32 * sy) as usize;
            let yb = (((y + 1) as f32 * sy) as usize).clamp(ya + 1, self.height as usize);
            for x in 0..w {
                let xa = (x as f32 * sx) as usize;
                let xb = (((x + 1) as f32 * sx) as usize).clamp(xa + 1, self.width as usize);
                let mut sum = [0u32; 3];
                for yy in ya..yb {
                    let row = &self.data[(yy * sw + xa) * 3..(yy * sw + xb) * 3];
                    for px in row.chunks_exact(3) {
                        sum[0] += px[0] as u32;
                        sum[1] += px[1] as u32;
                        sum[2] += px[2] as u32;
                    }
                }
                let n = ((yb - ya) * (xb - xa)) as u32;
                out.extend_from_slice(&[
                    (sum[0] / n) as u8,
                    (sum[1] / n) as u8,
                    (sum[2] / n) as u8,
                ]);
            }
        }
        Canvas::from_rgb(w, h, out).expect("sized buffer")
    }

    /// Copies `src` with its top-left corner at `(x, y)`, clipped.
    pub fn blit(&mut self, src: &Canvas, x: i32, y: i32) {
        let r = Rect::new(x, y, x + src.width as i32, y + src.height as i32).intersect(&self.clip);
        if r.is_empty() {
            return;
        }
        let w = self.width as usize;
        let sw = src.width as usize;
        for yy in r.y0..r.y1 {
            let sy = (yy - y) as usize;
            let sx0 = (r.x0 - x) as usize;
            let sx1 = (r.x1 - x) as usize;
            let dst = &mut self.data
                [(yy as usize * w + r.x0 as usize) * 3..(yy as usize * w + r.x1 as usize) * 3];
            dst.copy_from_slice(&src.data[(sy * sw + sx0) * 3..(sy * sw + sx1) * 3]);
        }
    }

    /// The canvas as PNG bytes (RGB8, fast compression).
    pub fn to_png(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() / 3);
        // The Sub filter compresses frames about as well as adaptive filtering
        // and encodes several times faster, above all in WebAssembly builds.
        PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Sub)
            .write_image(
                &self.data,
                self.width,
                self.height,
                image::ExtendedColorType::Rgb8,
            )
            .expect("encoding an in-memory RGB8 PNG cannot fail");
        out
    }

    /// Decodes a PNG (or any format this build of `image` reads) into a canvas.
    pub fn decode(bytes: &[u8]) -> Result<Canvas, String> {
        let img = image::load_from_memory(bytes).map_err(|e| e.to_string())?;
        let rgb = img.to_rgb8();
        let (w, h) = rgb.dimensions();
        Canvas::from_rgb(w, h, rgb.into_raw()).ok_or_else(|| "unexpected image size".to_owned())
    }
}

/// Bytes of sixteen RGB pixels: the unit [`Canvas::blend_row`] works in.
const BLOCK: usize = 48;

/// A 4×4 ordered-dither (Bayer) matrix, in sixteenths.
const BAYER_16: [u32; 16] = [0, 8, 2, 10, 12, 4, 14, 6, 3, 11, 1, 9, 15, 7, 13, 5];

/// Distance from `(px, py)` to the segment `a`–`b`.
pub fn sd_segment(px: f32, py: f32, ax: f32, ay: f32, bx: f32, by: f32) -> f32 {
    let (pax, pay) = (px - ax, py - ay);
    let (bax, bay) = (bx - ax, by - ay);
    let len2 = bax * bax + bay * bay;
    let h = if len2 > 0.0 {
        ((pax * bax + pay * bay) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    ((pax - bax * h).powi(2) + (pay - bay * h).powi(2)).sqrt()
}

/// The smaller of two finite values as one compare-and-select. `f32::min` becomes a call to
/// `fminf` in WebAssembly builds (its NaN rule differs from the `f32.min` instruction), which
/// costs a call per pixel in the hot loops of the sandboxed renderer.
#[inline(always)]
pub fn fmin(a: f32, b: f32) -> f32 {
    if a < b { a } else { b }
}

/// The larger of two finite values as one compare-and-select (see [`fmin`]).
#[inline(always)]
pub fn fmax(a: f32, b: f32) -> f32 {
    if a > b { a } else { b }
}

/// Signed distance to an isosceles trapezoid centred at the origin, symmetric
/// about the y axis: half-width `top` at `y = -half_height`, `bottom` at
/// `y = +half_height` (y grows downwards).
pub fn sd_trapezoid(px: f32, py: f32, top: f32, bottom: f32, half_height: f32) -> f32 {
    // Flip to y-up with r1 = bottom width, r2 = top width.
    let (r1, r2, he) = (bottom, top, half_height);
    let p = (px.abs(), -py);
    let (k1x, k1y) = (r2, he);
    let (k2x, k2y) = (r2 - r1, 2.0 * he);
    let cax = p.0 - fmin(p.0, if p.1 < 0.0 { r1 } else { r2 });
    let cay = p.1.abs() - he;
    let t = (((k1x - p.0) * k2x + (k1y - p.1) * k2y) / (k2x * k2x + k2y * k2y)).clamp(0.0, 1.0);
    let cbx = p.0 - k1x + k2x * t;
    let cby = p.1 - k1y + k2y * t;
    let s = if cbx < 0.0 && cay < 0.0 { -1.0 } else { 1.0 };
    s * fmin(cax * cax + cay * cay, cbx * cbx + cby * cby).sqrt()
}
