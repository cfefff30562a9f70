//! Text with the embedded DejaVu Sans faces (license in `fonts/LICENSE-DejaVu.txt`).

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};

use crate::canvas::{Canvas, Rgb};

/// DejaVu Sans, regular.
static REGULAR_TTF: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
/// DejaVu Sans, bold.
static BOLD_TTF: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// A typeface of the embedded family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Face {
    /// DejaVu Sans.
    Regular,
    /// DejaVu Sans Bold.
    Bold,
}

impl Face {
    /// The parsed font (parsed once per process).
    fn font(self) -> &'static FontRef<'static> {
        static REGULAR: OnceLock<FontRef<'static>> = OnceLock::new();
        static BOLD: OnceLock<FontRef<'static>> = OnceLock::new();
        let (cell, bytes) = match self {
            Face::Regular => (&REGULAR, REGULAR_TTF),
            Face::Bold => (&BOLD, BOLD_TTF),
        };
        cell.get_or_init(|| FontRef::try_from_slice(bytes).expect("embedded font parses"))
    }
}

/// A face at a pixel size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TextStyle {
    /// The typeface.
    pub face: Face,
    /// Pixel height of the text (ascent to descent).
    pub size: f32,
}

impl TextStyle {
    /// Regular text of `size` pixels.
    pub fn regular(size: f32) -> Self {
        TextStyle {
            face: Face::Regular,
            size,
        }
    }

    /// Bold text of `size` pixels.
    pub fn bold(size: f32) -> Self {
        TextStyle {
            face: Face::Bold,
            size,
        }
    }

    /// Distance from the top of a line to its baseline.
    pub fn ascent(&self) -> f32 {
        self.face
            .font()
            .as_scaled(PxScale::from(self.size))
            .ascent()
    }

    /// Recommended distance between baselines.
    pub fn line_height(&self) -> f32 {
        let f = self.face.font().as_scaled(PxScale::from(self.size));
        f.height() + f.line_gap()
    }

    /// Width of `text` in pixels.
    pub fn measure(&self, text: &str) -> f32 {
        let font = self.face.font().as_scaled(PxScale::from(self.size));
        let mut width = 0.0;
        let mut prev = None;
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = prev {
                width += font.kern(p, id);
            }
            width += font.h_advance(id);
            prev = Some(id);
        }
        width
    }

    /// `text` cut to fit `max_width`, ending with `…` when cut.
    pub fn ellipsize(&self, text: &str, max_width: f32) -> String {
        if self.measure(text) <= max_width {
            return text.to_owned();
        }
        let mut chars: Vec<char> = text.chars().collect();
        while !chars.is_empty() {
            chars.pop();
            let candidate: String = chars.iter().collect::<String>().trim_end().to_owned() + "…";
            if self.measure(&candidate) <= max_width {
                return candidate;
            }
        }
        "…".to_owned()
    }

    /// `text` broken into lines no wider than `max_width`, word by word (a
    /// word too long for a line is cut). At most `max_lines` lines; the last
    /// ends with `…` when text was left over.
    pub fn wrap(&self, text: &str, max_width: f32, max_lines: usize) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        let mut current = String::new();
        let mut overflow = false;
        let fit = |word: &str| {
            if self.measure(word) <= max_width {
                word.to_owned()
            } else {
                self.ellipsize(word, max_width)
            }
        };
        for word in text.split_whitespace() {
            if current.is_empty() {
                current = fit(word);
                continue;
            }
            let candidate = format!("{current} {word}");
            if self.measure(&candidate) <= max_width {
                current = candidate;
                continue;
            }
            lines.push(std::mem::take(&mut current));
            if lines.len() >= max_lines {
                overflow = true;
                break;
            }
            current = fit(word);
        }
        if !current.is_empty() {
            if lines.len() < max_lines {
                lines.push(current);
            } else {
                overflow = true;
            }
        }
        if overflow && let Some(last) = lines.last_mut() {
            *last = self.ellipsize(&format!("{last}…"), max_width);
            if !last.ends_with('…') {
                last.push('…');
            }
        }
        lines
    }

    /// Draws `text` with its baseline starting at `(x, baseline)`; returns the
    /// x where the text ends.
    pub fn draw(
        &self,
        canvas: &mut Canvas,
        x: f32,
        baseline: f32,
        text: &str,
        color: Rgb,
        alpha: f32,
    ) -> f32 {
        let font = self.face.font();
        let scaled = font.as_scaled(PxScale::from(self.size));
        let mut caret = x;
        let mut prev = None;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = prev {
                caret += scaled.kern(p, id);
            }
            let glyph = id.with_scale_and_position(self.size, point(caret, baseline));
            caret += scaled.h_advance(id);
            prev = Some(id);
            if let Some(outlined) = font.outline_glyph(glyph) {
                let bounds = outlined.px_bounds();
                let (ox, oy) = (bounds.min.x as i32, bounds.min.y as i32);
                outlined.draw(|gx, gy, coverage| {
                    if coverage > 0.0 {
                        canvas.blend(ox + gx as i32, oy + gy as i32, color, coverage * alpha);
                    }
                });
            }
        }
        caret
    }

    /// Draws `text` centred on `cx`.
    pub fn draw_centered(
        &self,
        canvas: &mut Canvas,
        cx: f32,
        baseline: f32,
        text: &str,
        color: Rgb,
        alpha: f32,
    ) {
        let w = self.measure(text);
        self.draw(canvas, cx - w / 2.0, baseline, text, color, alpha);
    }

    /// Draws `text` ending at `right`.
    pub fn draw_right(
        &self,
        canvas: &mut Canvas,
        right: f32,
        baseline: f32,
        text: &str,
        color: Rgb,
        alpha: f32,
    ) {
        let w = self.measure(text);
        self.draw(canvas, right - w, baseline, text, color, alpha);
    }
}
