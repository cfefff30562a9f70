//! File and folder names for what the CLI writes, derived from text that graphs and plugins
//! supply (scene titles, shot numbers). Such text never becomes a path as it is: it is
//! reduced to a slug of ASCII letters, digits and `-`, bounded in length and never empty,
//! so it can name exactly one entry inside the chosen folder and nothing else (no separator,
//! no `.` or `..`, no absolute path, no drive letter).

use std::collections::HashSet;

/// The longest slug, in bytes (every slug is ASCII). Leaves room for a prefix, a counter and
/// an extension within any file system's name limit.
pub const MAX_SLUG: usize = 64;

/// `text` as a slug: ASCII letters and digits lowercased, every other run of characters one
/// `-`, no leading or trailing `-`, at most [`MAX_SLUG`] bytes; `fallback` when nothing is
/// left. `fallback` is chosen by the host and must itself be a slug.
pub fn slug(text: &str, fallback: &str) -> String {
    debug_assert!(is_slug(fallback), "fallback {fallback:?} is not a slug");
    let mut slug = String::new();
    for c in text.chars() {
        if slug.len() >= MAX_SLUG {
            break;
        }
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        fallback.to_string()
    } else {
        slug.to_string()
    }
}

/// Whether `name` is a slug as [`slug`] makes them.
pub fn is_slug(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_SLUG
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// Hands out distinct slugs within one folder: the second text that slugs to a name already
/// given gets `name-2`, the third `name-3`, and so on. Callers ask in a stable order (graph
/// order), so a re-run names every file the same way.
#[derive(Debug, Default)]
pub struct UniqueNames {
    given: HashSet<String>,
}

impl UniqueNames {
    /// A distinct slug for `text` (see [`slug`] for `fallback`).
    pub fn claim(&mut self, text: &str, fallback: &str) -> String {
        let base = slug(text, fallback);
        let mut name = base.clone();
        let mut n = 2_u64;
        while self.given.contains(&name) {
            let suffix = format!("-{n}");
            let keep = base.len().min(MAX_SLUG - suffix.len());
            name = format!("{}{suffix}", base[..keep].trim_end_matches('-'));
            n += 1;
        }
        self.given.insert(name.clone());
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_like_text_becomes_a_single_plain_name() {
        for (text, expected) in [
            ("../../etc/x", "etc-x"),
            ("/tmp/abs", "tmp-abs"),
            ("..", "untitled"),
            (".", "untitled"),
            ("", "untitled"),
            ("C:\\Windows\\win.ini", "c-windows-win-ini"),
            ("1.1", "1-1"),
            ("1 · EXT. HARBOUR — NIGHT", "1-ext-harbour-night"),
            ("shot\0\n\u{1b}[2J", "shot-2j"),
            ("ÉTÉ", "t"),
        ] {
            let name = slug(text, "untitled");
            assert_eq!(name, expected, "{text:?}");
            assert!(is_slug(&name), "{name:?}");
        }
    }

    #[test]
    fn slugs_are_bounded() {
        let name = slug(&"ab-".repeat(100), "x");
        assert!(name.len() <= MAX_SLUG && is_slug(&name), "{name}");
        let name = slug(&"a".repeat(1000), "x");
        assert_eq!(name.len(), MAX_SLUG);
    }

    #[test]
    fn names_that_collide_are_numbered() {
        let mut names = UniqueNames::default();
        assert_eq!(names.claim("1.1", "shot"), "1-1");
        assert_eq!(names.claim("1-1", "shot"), "1-1-2");
        assert_eq!(names.claim("1/1", "shot"), "1-1-3");
        assert_eq!(names.claim("", "shot"), "shot");
        assert_eq!(names.claim("..", "shot"), "shot-2");
        let long = "a".repeat(200);
        let first = names.claim(&long, "x");
        let second = names.claim(&long, "x");
        assert_ne!(first, second);
        assert!(is_slug(&second) && second.ends_with("-2"), "{second}");
    }
}
