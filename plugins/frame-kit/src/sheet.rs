//! Contact sheets: a titled grid of takes, each labelled with its shot.

use crate::canvas::{Canvas, Rect, rgb};
use crate::text::TextStyle;

/// One cell of a contact sheet.
#[derive(Clone, Debug, PartialEq)]
pub struct SheetTile {
    /// Bold label: the shot number, `1.3`.
    pub label: String,
    /// Smaller text next to it: the scene, `1 · INT. HARBOUR - NIGHT`.
    pub caption: String,
    /// The take, when it could be read and decoded.
    pub image: Option<Canvas>,
    /// Why there is no image (`no image`, `image/jpeg not previewable`).
    pub note: String,
}

/// Largest thumbnail width; sheets with many takes use smaller thumbnails.
const TILE_MAX: f32 = 360.0;
/// Smallest thumbnail width.
const TILE_MIN: f32 = 160.0;

/// The thumbnail size (width, height) of a sheet holding `count` takes:
/// 16:9, from 360 pixels wide for up to 48 takes down to 160 for many.
pub fn thumbnail_size(count: usize) -> (u32, u32) {
    let w = (TILE_MAX * (48.0 / count.max(1) as f32).sqrt())
        .clamp(TILE_MIN, TILE_MAX)
        .round() as u32;
    (w, w * 9 / 16)
}

/// The contact sheet as PNG bytes: `title` on top, then `tiles` in rows of
/// `columns` (clamped to 1..=8), each thumbnail 16:9 with its label below.
pub fn render_contact_sheet(title: &str, tiles: &[SheetTile], columns: u32) -> Vec<u8> {
    draw_contact_sheet(title, tiles, columns).to_png()
}

/// The contact sheet as a canvas (see [`render_contact_sheet`]).
pub fn draw_contact_sheet(title: &str, tiles: &[SheetTile], columns: u32) -> Canvas {
    let n = tiles.len().max(1);
    let columns = columns.clamp(1, 8).min(n as u32) as i32;
    let rows = n.div_ceil(columns as usize) as i32;
    let (tile_w, thumb_h) = thumbnail_size(n);
    let (tile_w, thumb_h) = (tile_w as i32, thumb_h as i32);
    let label_h = 44;
    let gap = 18;
    let margin = 32;
    let header = 96;
    let width = (2 * margin + columns * tile_w + (columns - 1) * gap).max(480);
    let height = header + rows * (thumb_h + label_h) + (rows - 1) * gap + margin;
    let mut canvas = Canvas::new(width as u32, height as u32, rgb(20, 20, 23));

    let title_style = TextStyle::bold(30.0);
    let sub_style = TextStyle::regular(15.0);
    let title = if title.trim().is_empty() {
        "Sequence"
    } else {
        title.trim()
    };
    title_style.draw(
        &mut canvas,
        margin as f32,
        46.0,
        &title_style.ellipsize(title, (width - 2 * margin) as f32),
        rgb(245, 245, 240),
        1.0,
    );
    let count = tiles.len();
    let subtitle = format!("{count} take{}", if count == 1 { "" } else { "s" });
    sub_style.draw(
        &mut canvas,
        margin as f32,
        72.0,
        &subtitle,
        rgb(150, 150, 156),
        1.0,
    );
    canvas.fill_rect(
        Rect::new(margin, header - 12, width - margin, header - 10),
        rgb(242, 178, 51),
        0.85,
    );

    if tiles.is_empty() {
        sub_style.draw(
            &mut canvas,
            margin as f32,
            (header + thumb_h / 2) as f32,
            "No shots connected.",
            rgb(150, 150, 156),
            1.0,
        );
        return canvas;
    }

    let label_style = TextStyle::bold(15.0);
    let caption_style = TextStyle::regular(13.0);
    for (i, tile) in tiles.iter().enumerate() {
        let col = i as i32 % columns;
        let row = i as i32 / columns;
        let x = margin + col * (tile_w + gap);
        let y = header + row * (thumb_h + label_h + gap);
        let frame = Rect::new(x, y, x + tile_w, y + thumb_h);
        canvas.fill_rect(frame, rgb(6, 6, 8), 1.0);
        match &tile.image {
            Some(image) => {
                canvas.draw_image_fit(image, frame);
            }
            None => {
                let note = if tile.note.is_empty() {
                    "no image"
                } else {
                    &tile.note
                };
                let text = caption_style.ellipsize(note, (tile_w - 16) as f32);
                caption_style.draw_centered(
                    &mut canvas,
                    (x + tile_w / 2) as f32,
                    (y + thumb_h / 2) as f32 + 4.0,
                    &text,
                    rgb(120, 120, 126),
                    1.0,
                );
            }
        }
        canvas.stroke_rect(frame, 1, rgb(70, 70, 76), 1.0);
        let baseline = (y + thumb_h + 24) as f32;
        let label = label_style.ellipsize(&tile.label, tile_w as f32 * 0.4);
        let end = label_style.draw(
            &mut canvas,
            x as f32,
            baseline,
            &label,
            rgb(242, 178, 51),
            1.0,
        );
        let room = (x + tile_w) as f32 - end - 8.0;
        if room > 20.0 && !tile.caption.is_empty() {
            let caption = caption_style.ellipsize(&tile.caption, room);
            caption_style.draw(
                &mut canvas,
                end + 8.0,
                baseline,
                &caption,
                rgb(200, 200, 204),
                1.0,
            );
        }
    }
    canvas
}
