//! # asset-kinds — the library's kinds of asset and their fields, defined once
//!
//! The host's asset library checks and normalises what users store against these
//! definitions; the `character`, `style` and `environment` nodes read the same field names
//! and offer the same options as their parameters. A field or an option added here reaches
//! both, so the library never accepts a value a node would ignore.
//!
//! No dependencies: it builds for the host and inside WebAssembly components alike.
#![warn(missing_docs)]

/// An option of a choice field: the stored value and the label users see.
pub type Choice = (&'static str, &'static str);

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRule {
    /// Free text.
    Text,
    /// A whole number in `min..=max`.
    Integer {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// One of a few options (values in lower case).
    Choice(&'static [Choice]),
    /// A list of words: `noir, rain-slick`.
    List,
    /// A list of hex colours, stored as `#rrggbb` ([`normalise_hex`]).
    Palette,
    /// A list of asset ids.
    AssetIds,
}

/// A field of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The key under which it is stored and read.
    pub name: &'static str,
    /// What it holds.
    pub rule: FieldRule,
}

/// A kind of asset and its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// Stable id (`character`).
    pub id: &'static str,
    /// Its fields, in the order they are shown.
    pub fields: &'static [Field],
}

impl Kind {
    /// The field named `name`, if the kind has it.
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The field names, in order.
    pub fn field_names(&self) -> impl Iterator<Item = &'static str> {
        self.fields.iter().map(|f| f.name)
    }
}

/// A character's roles: how big the part is.
pub const ROLES: &[Choice] = &[
    ("lead", "Lead"),
    ("supporting", "Supporting"),
    ("background", "Background"),
    ("extra", "Extra"),
];

/// An environment's location types.
pub const LOCATION_TYPES: &[Choice] = &[
    ("interior", "Interior"),
    ("exterior", "Exterior"),
    ("mixed", "Interior / Exterior"),
];

/// An environment's moods: time of day, weather and light.
pub const MOODS: &[Choice] = &[
    ("day", "Day"),
    ("night", "Night"),
    ("dusk", "Dusk"),
    ("dawn", "Dawn"),
    ("overcast", "Overcast"),
    ("rain", "Rain"),
    ("neon", "Neon"),
    ("candlelit", "Candlelit"),
    ("foggy", "Foggy"),
];

/// An environment's dimensions.
pub const DIMENSIONS: &[Choice] = &[("2d", "2D"), ("3d", "3D")];

/// The field of a style that lists its example images (ids of `image` assets).
pub const EXAMPLES: &str = "examples";

/// A cast member.
pub const CHARACTER: Kind = Kind {
    id: "character",
    fields: &[
        Field {
            name: "name",
            rule: FieldRule::Text,
        },
        Field {
            name: "age",
            rule: FieldRule::Integer { min: 0, max: 150 },
        },
        Field {
            name: "role",
            rule: FieldRule::Choice(ROLES),
        },
        Field {
            name: "personality",
            rule: FieldRule::Text,
        },
        Field {
            name: "description",
            rule: FieldRule::Text,
        },
    ],
};

/// A visual style.
pub const STYLE: Kind = Kind {
    id: "style",
    fields: &[
        Field {
            name: "keywords",
            rule: FieldRule::List,
        },
        Field {
            name: "palette",
            rule: FieldRule::Palette,
        },
        Field {
            name: "description",
            rule: FieldRule::Text,
        },
        Field {
            name: EXAMPLES,
            rule: FieldRule::AssetIds,
        },
    ],
};

/// A location.
pub const ENVIRONMENT: Kind = Kind {
    id: "environment",
    fields: &[
        Field {
            name: "type",
            rule: FieldRule::Choice(LOCATION_TYPES),
        },
        Field {
            name: "mood",
            rule: FieldRule::Choice(MOODS),
        },
        Field {
            name: "dimension",
            rule: FieldRule::Choice(DIMENSIONS),
        },
        Field {
            name: "description",
            rule: FieldRule::Text,
        },
    ],
};

/// A reference image.
pub const IMAGE: Kind = Kind {
    id: "image",
    fields: &[Field {
        name: "description",
        rule: FieldRule::Text,
    }],
};

/// Every kind the library keeps.
pub const KINDS: [Kind; 4] = [CHARACTER, STYLE, ENVIRONMENT, IMAGE];

/// A palette entry as `#rrggbb` (lower case): accepts `#1b2a41`, `1B2A41` and the short
/// form `#abc`; `None` when it is not a hex colour.
pub fn normalise_hex(entry: &str) -> Option<String> {
    let hex = entry.trim().trim_start_matches('#').to_ascii_lowercase();
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    match hex.len() {
        6 => Some(format!("#{hex}")),
        3 => Some(format!(
            "#{}",
            hex.chars().flat_map(|c| [c, c]).collect::<String>()
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_colours_are_normalised() {
        assert_eq!(normalise_hex("#1B2A41").as_deref(), Some("#1b2a41"));
        assert_eq!(normalise_hex(" c9a227 ").as_deref(), Some("#c9a227"));
        assert_eq!(normalise_hex("#abc").as_deref(), Some("#aabbcc"));
        assert_eq!(normalise_hex("blue"), None);
        assert_eq!(normalise_hex("#12345"), None);
    }

    #[test]
    fn kinds_have_unique_ids_fields_and_lower_case_options() {
        for (i, kind) in KINDS.iter().enumerate() {
            assert!(KINDS[..i].iter().all(|k| k.id != kind.id), "{}", kind.id);
            for (j, field) in kind.fields.iter().enumerate() {
                assert!(kind.fields[..j].iter().all(|f| f.name != field.name));
                if let FieldRule::Choice(options) = field.rule {
                    assert!(options.iter().all(|(v, _)| *v == v.to_ascii_lowercase()));
                }
            }
        }
    }
}
