//! Long screenplays made from a short one, for tests and benchmarks of feature-length work.

use crate::parse;

/// A screenplay of at least `pages` pages: the scenes of `base` (everything after its
/// `FADE IN:`, or all of it) repeated, each round's scene headings numbered (`- NIGHT 2`) so
/// the scenes stay distinct, and scene numbers (`#3#`) dropped so they do not repeat. A
/// screenplay with no scenes gives just the title page.
pub fn feature_length(base: &str, pages: usize) -> String {
    let body = base.split_once("FADE IN:").map_or(base, |(_, rest)| rest);
    let mut text = String::from("Title: Long Crossing\n\n");
    if body.trim().is_empty() {
        return text;
    }
    let mut round = 0;
    while parse(&text).page_count() < pages {
        round += 1;
        let mut scenes = body.replace(" - NIGHT", &format!(" - NIGHT {round}"));
        for n in 1..=5 {
            scenes = scenes.replace(&format!(" #{n}#"), "");
        }
        text.push_str(&scenes);
        text.push('\n');
    }
    text
}
