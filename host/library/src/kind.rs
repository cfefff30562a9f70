//! The kinds of asset the library keeps, and how many images each takes.

use std::fmt;

use super::LibraryError;

/// A kind of library asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AssetKind {
    /// A cast member: reference sheet and traits (read by the `character` node).
    Character,
    /// A look: keywords, palette and example images (read by the `style` node).
    Style,
    /// A location: type, mood, dimension (read by the `environment` node).
    Environment,
    /// A plain reference image, on its own or as a style's example.
    Image,
}

impl AssetKind {
    /// Every kind, in listing order.
    pub const ALL: [AssetKind; 4] = [
        AssetKind::Character,
        AssetKind::Style,
        AssetKind::Environment,
        AssetKind::Image,
    ];

    /// The stored name (also the `asset-ref` kind nodes ask for).
    pub fn as_str(self) -> &'static str {
        self.definition().id
    }

    /// The kind's definition: its id and fields, shared with the nodes that read it.
    pub fn definition(self) -> &'static asset_kinds::Kind {
        match self {
            AssetKind::Character => &asset_kinds::CHARACTER,
            AssetKind::Style => &asset_kinds::STYLE,
            AssetKind::Environment => &asset_kinds::ENVIRONMENT,
            AssetKind::Image => &asset_kinds::IMAGE,
        }
    }

    /// Parses a kind given by a user (case-insensitive).
    pub fn parse(text: &str) -> Result<AssetKind, LibraryError> {
        let wanted = text.trim();
        AssetKind::ALL
            .into_iter()
            .find(|kind| kind.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| LibraryError::UnknownKind(text.to_string()))
    }

    /// The kind of a stored asset, when it is a library kind.
    pub fn of_stored(kind: &str) -> Option<AssetKind> {
        AssetKind::ALL.into_iter().find(|k| k.as_str() == kind)
    }

    /// Checks the number of uploaded images (on an update, the images that replace the
    /// current ones). A character or an environment has at most one reference image (its own
    /// bytes; none removes it), a plain image exactly one; a style takes up to
    /// [`MAX_EXAMPLES`], each stored as an `image` asset listed in its `examples` field.
    pub(crate) fn check_image_count(self, count: usize) -> Result<(), LibraryError> {
        let refuse = |text: String| Err(LibraryError::ImageCount(text));
        match self {
            AssetKind::Style if count > MAX_EXAMPLES => refuse(format!(
                "a style takes at most {MAX_EXAMPLES} example images"
            )),
            AssetKind::Image if count != 1 => {
                refuse("an image asset needs exactly one image file".to_string())
            }
            AssetKind::Character | AssetKind::Environment if count > 1 => refuse(format!(
                "{} {} has one reference image; add more as image assets",
                article(self.as_str()),
                self.as_str()
            )),
            _ => Ok(()),
        }
    }
}

/// Most example images a style lists.
pub const MAX_EXAMPLES: usize = 32;

impl fmt::Display for AssetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}
