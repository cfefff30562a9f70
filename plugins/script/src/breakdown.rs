//! Scenes and beats of a screenplay, and the graph patch "Break Down to Shots"
//! derives from them.

use std::collections::{HashMap, HashSet};

use mdc_sdk::prelude::*;

use crate::fountain::{Element, Screenplay, Word, canonical_name, words};

/// Longest drafted shot prompt, in characters.
pub const PROMPT_LIMIT: usize = 300;

/// Canvas layout of a break-down (canvas units).
mod layout {
    /// Column of the character nodes.
    pub const CHARACTER_X: f64 = 0.0;
    /// Vertical distance between character nodes.
    pub const CHARACTER_STEP: f64 = 120.0;
    /// Column of the scene groups.
    pub const SCENE_X: f64 = 360.0;
    /// Vertical distance between scene groups.
    pub const SCENE_STEP: f64 = 380.0;
    /// First shot's position inside its scene group.
    pub const SHOT_ORIGIN: (f64, f64) = (32.0, 64.0);
    /// Horizontal distance between shots of a scene.
    pub const SHOT_STEP: f64 = 300.0;
}

/// A scene of the screenplay.
#[derive(Clone, Debug, PartialEq)]
pub struct Scene {
    /// Stable node id: `scene-<n>-<slug of heading>`, `n` counting identical headings.
    pub id: String,
    /// Scene number: the script's own (`#12#`), else the heading's position
    /// (1 for the first heading); `0` for material before the first heading.
    pub number: String,
    /// Upper-cased heading: `INT. HARBOUR - NIGHT` (`OPENING` before the first heading).
    pub heading: String,
    /// The scene's beats in order.
    pub beats: Vec<Beat>,
    /// When the scene happens (`NIGHT`, `DAWN`, `LATE NIGHT`, …): the time the
    /// heading names, or for a heading that continues from the previous scene
    /// (`CONTINUOUS`, `LATER`, `SAME`, …) that scene's. `None` when unknown.
    pub time_of_day: Option<String>,
    /// Whether the heading says the scene continues from the previous one at
    /// its time of day (`CONTINUOUS`, `MOMENTS LATER`, `SAME TIME`, …).
    pub continues: bool,
}

impl Scene {
    /// `1 · INT. HARBOUR - NIGHT`: the scene group's label and the shots' `scene` parameter.
    /// When the heading's last part does not name the scene's time of day (it
    /// is inherited, or named earlier), the label names it at the end:
    /// `2 · INT. TICKET BOOTH - CONTINUOUS (NIGHT)`, `3 · INT. CAR - NIGHT -
    /// CONTINUOUS (NIGHT)`, so whatever reads the time of day from the end of a
    /// shot's scene finds it.
    pub fn label(&self) -> String {
        match &self.time_of_day {
            Some(time) if !names_time_last(&self.heading, time) => {
                format!("{} · {} ({time})", self.number, self.heading)
            }
            _ => format!("{} · {}", self.number, self.heading),
        }
    }

    /// Every character speaking in the scene, in order of first line.
    pub fn speakers(&self) -> Vec<&str> {
        let mut seen: Vec<&str> = Vec::new();
        for beat in &self.beats {
            for s in &beat.speakers {
                if !seen.contains(&s.as_str()) {
                    seen.push(s);
                }
            }
        }
        seen
    }

    /// Every character in the scene: speakers in order of first line, then
    /// those named in its action and not speaking.
    pub fn characters(&self) -> Vec<&str> {
        let mut seen = self.speakers();
        for beat in &self.beats {
            for name in &beat.named {
                if !seen.contains(&name.as_str()) {
                    seen.push(name);
                }
            }
        }
        seen
    }
}

/// What a beat is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BeatKind {
    /// One action paragraph.
    Action,
    /// Consecutive dialogue blocks: an exchange.
    Dialogue,
}

/// A beat: one shot's worth of the screenplay.
#[derive(Clone, Debug, PartialEq)]
pub struct Beat {
    /// Action or dialogue exchange.
    pub kind: BeatKind,
    /// The shot prompt drafted from the text, at most [`PROMPT_LIMIT`] characters.
    pub prompt: String,
    /// Canonical names of the characters speaking in the beat, in order.
    pub speakers: Vec<String>,
    /// Canonical names of the characters an action beat names (see
    /// [`NameMatcher`]), in order of first mention; empty for dialogue, where
    /// a name spoken does not put its owner in the shot.
    pub named: Vec<String>,
}

impl Beat {
    /// The characters in the beat's shot: its speakers, then the characters it names.
    pub fn characters(&self) -> impl Iterator<Item = &str> {
        self.speakers.iter().chain(&self.named).map(String::as_str)
    }
}

/// Time-of-day phrases a heading may name, the more specific first
/// (`LATE NIGHT` before `NIGHT`); matched as whole words.
const TIMES_OF_DAY: &[&str] = &[
    "MAGIC HOUR",
    "GOLDEN HOUR",
    "LATE NIGHT",
    "EARLY MORNING",
    "MIDNIGHT",
    "NIGHT",
    "DAWN",
    "SUNRISE",
    "DUSK",
    "SUNSET",
    "TWILIGHT",
    "MORNING",
    "AFTERNOON",
    "EVENING",
    "NOON",
    "DAY",
];

/// Heading parts saying the scene goes on from the previous one, at its time
/// of day; matched as the whole part, parentheses ignored.
const CONTINUITY: &[&str] = &[
    "CONTINUOUS",
    "CONTINUOUS ACTION",
    "CONTINUING",
    "CONT'D",
    "CONTD",
    "CONT",
    "LATER",
    "MOMENTS LATER",
    "A MOMENT LATER",
    "MOMENT LATER",
    "A FEW MOMENTS LATER",
    "SECONDS LATER",
    "MINUTES LATER",
    "A FEW MINUTES LATER",
    "SAME",
    "SAME TIME",
    "SAME MOMENT",
    "SIMULTANEOUS",
];

/// What a scene heading says about when the scene happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HeadingTime {
    /// It names a time of day (one of [`TIMES_OF_DAY`]).
    Named(&'static str),
    /// It continues from the previous scene (one of [`CONTINUITY`]).
    Continues,
    /// Neither.
    Unknown,
}

/// Dashes that separate the parts of a scene heading.
const DASHES: [char; 3] = ['-', '–', '—'];

/// The keys of `text`'s words (see [`words`]): `TOM'S BOAT` → `TOM`, `BOAT`.
fn keys(text: &str) -> Vec<String> {
    words(text).into_iter().map(|w| w.key).collect()
}

/// Whether the words of `part` include `time` (one of [`TIMES_OF_DAY`]) as whole words.
fn names_time(part: &[String], time: &str) -> bool {
    let time: Vec<&str> = time.split(' ').collect();
    part.windows(time.len())
        .any(|w| w.iter().zip(&time).all(|(a, b)| a.as_str() == *b))
}

/// Whether the last dash-separated part of `heading` names `time`.
fn names_time_last(heading: &str, time: &str) -> bool {
    let last = heading.rsplit(DASHES).next().unwrap_or("");
    names_time(&keys(last), time)
}

/// What `heading` says about its time of day. The parts after the location
/// (split at dashes) are read from the end: a part naming a time wins
/// (`INT. CAR - NIGHT - CONTINUOUS` is night), else a continuity part makes
/// the scene continue. The location never counts (`INT. DAY CARE - NIGHT`).
fn heading_time(heading: &str) -> HeadingTime {
    let Some((_location, times)) = heading.split_once(DASHES) else {
        return HeadingTime::Unknown;
    };
    let mut continues = false;
    for part in times.rsplit(DASHES) {
        let words = keys(part);
        if let Some(time) = TIMES_OF_DAY.iter().find(|time| names_time(&words, time)) {
            return HeadingTime::Named(time);
        }
        continues |= !words.is_empty() && CONTINUITY.contains(&words.join(" ").as_str());
    }
    if continues {
        HeadingTime::Continues
    } else {
        HeadingTime::Unknown
    }
}

/// Group cues that stand for several speakers or for nobody in frame; said in
/// action they are ordinary words (`all of them`), so they are not matched.
const NOT_NAMED_IN_ACTION: &[&str] = &[
    "ALL",
    "BOTH",
    "EVERYONE",
    "EVERYBODY",
    "TOGETHER",
    "VOICE",
    "VOICES",
];

/// Finds the cast's names in action text: whole words, possessives included
/// (`Tom's`), the longest name first where names share a first word (`OLD
/// TOM` before `TOM`). A mention counts when it is written with a capital
/// (`Maya`, `MAYA`, `Old Tom`) or after `the` (`the taxi driver`), so a
/// character called `WILL` is not in every shot where something will happen.
/// Built once for a screenplay; each paragraph is matched in one pass over
/// its words.
pub struct NameMatcher {
    /// Names by their first word's key: each name's keys and its canonical
    /// name, longest first.
    by_first_word: HashMap<String, Vec<(Vec<String>, String)>>,
}

impl NameMatcher {
    /// A matcher for the canonical names in `cast`.
    pub fn new(cast: &[String]) -> NameMatcher {
        let mut by_first_word: HashMap<String, Vec<(Vec<String>, String)>> = HashMap::new();
        for name in cast {
            if NOT_NAMED_IN_ACTION.contains(&name.as_str()) {
                continue;
            }
            let words = keys(name);
            if let Some(first) = words.first() {
                by_first_word
                    .entry(first.clone())
                    .or_default()
                    .push((words, name.clone()));
            }
        }
        for names in by_first_word.values_mut() {
            names.sort_by_key(|(words, _)| std::cmp::Reverse(words.len()));
        }
        NameMatcher { by_first_word }
    }

    /// Whether the word at `k` is written the way a name is: with a capital,
    /// or right after `the`.
    fn written_as_name(words: &[Word], k: usize) -> bool {
        words[k].text.starts_with(char::is_uppercase)
            || (k > 0 && words[k].follows_space() && words[k - 1].key == "THE")
    }

    /// The canonical names `text` mentions, in order of first mention, each once.
    pub fn find(&self, text: &str) -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        if self.by_first_word.is_empty() {
            return found;
        }
        let words = words(text);
        let mut k = 0;
        while k < words.len() {
            let hit = self
                .by_first_word
                .get(&words[k].key)
                .filter(|_| Self::written_as_name(&words, k))
                .and_then(|names| {
                    names.iter().find(|(name_words, _)| {
                        let rest = &words[k..];
                        rest.len() >= name_words.len()
                            && name_words.iter().zip(rest).all(|(a, b)| *a == b.key)
                    })
                });
            match hit {
                Some((name_words, name)) => {
                    if !found.contains(name) {
                        found.push(name.clone());
                    }
                    k += name_words.len();
                }
                None => k += 1,
            }
        }
        found
    }
}

/// Lower-case ASCII slug: `INT. CAFÉ – NIGHT` → `int-cafe-night`; at most 48
/// characters, never empty.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let c = fold_accent(c);
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let mut out = out.trim_end_matches('-').to_owned();
    if out.len() > 48 {
        out.truncate(48);
        out = out.trim_end_matches('-').to_owned();
    }
    if out.is_empty() {
        "untitled".into()
    } else {
        out
    }
}

/// The unaccented ASCII letter for common Latin letters with diacritics.
fn fold_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'a',
        'ç' | 'Ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
        'ñ' | 'Ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
        'ý' | 'ÿ' | 'Ý' => 'y',
        'ß' => 's',
        other => other,
    }
}

/// Shortens `text` to at most `limit` characters, at a word boundary when
/// possible, ending with `…` when anything was cut.
pub fn clip(text: &str, limit: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let cut: String = text.chars().take(limit.saturating_sub(1)).collect();
    let cut = match cut.rfind(char::is_whitespace) {
        Some(at) if at > cut.len() * 2 / 3 => &cut[..at],
        _ => cut.as_str(),
    };
    let cut = cut.trim_end_matches(|c: char| c.is_whitespace() || ",;:-/".contains(c));
    format!("{cut}…")
}

/// Cuts the screenplay into scenes and beats.
///
/// Each action paragraph is a beat; consecutive dialogue blocks (parentheticals,
/// dual dialogue and page breaks do not interrupt them) form one exchange beat.
/// Transitions, centered text and headings end an exchange. Beats before the
/// first heading form scene `0 · OPENING`. Action beats list the members of
/// the cast ([`Screenplay::cast`]) they name; scenes carry their time of day.
pub fn scenes(play: &Screenplay) -> Vec<Scene> {
    scenes_with_cast(play, &play.cast())
}

/// [`scenes`], with action matched against `cast`.
fn scenes_with_cast(play: &Screenplay, cast: &[String]) -> Vec<Scene> {
    let names = NameMatcher::new(cast);
    let mut scenes: Vec<Scene> = Vec::new();
    let mut ordinal = 0usize;
    let mut seen_slugs: HashMap<String, usize> = HashMap::new();
    let mut exchange_open = false;
    let mut new_scene =
        |heading: String, number: Option<String>, ordinal: usize, previous: Option<&Scene>| {
            let s = slug(&heading);
            let n = seen_slugs.entry(s.clone()).or_insert(0);
            *n += 1;
            let (time_of_day, continues) = match heading_time(&heading) {
                HeadingTime::Named(time) => (Some(time.to_owned()), false),
                HeadingTime::Continues => (previous.and_then(|p| p.time_of_day.clone()), true),
                HeadingTime::Unknown => (None, false),
            };
            Scene {
                id: format!("scene-{n}-{s}"),
                number: number.unwrap_or_else(|| ordinal.to_string()),
                heading,
                beats: Vec::new(),
                time_of_day,
                continues,
            }
        };
    for element in &play.elements {
        match element {
            Element::SceneHeading { text, number } => {
                ordinal += 1;
                let scene = new_scene(text.clone(), number.clone(), ordinal, scenes.last());
                scenes.push(scene);
                exchange_open = false;
            }
            Element::Action(text) => {
                if scenes.is_empty() {
                    scenes.push(new_scene("OPENING".into(), None, 0, None));
                }
                let scene = scenes.last_mut().expect("a scene exists");
                let prompt = clip(
                    &text.split_whitespace().collect::<Vec<_>>().join(" "),
                    PROMPT_LIMIT,
                );
                scene.beats.push(Beat {
                    kind: BeatKind::Action,
                    prompt,
                    speakers: Vec::new(),
                    named: names.find(text),
                });
                exchange_open = false;
            }
            Element::Dialogue(d) => {
                if scenes.is_empty() {
                    scenes.push(new_scene("OPENING".into(), None, 0, None));
                }
                let scene = scenes.last_mut().expect("a scene exists");
                let line = format!("{}: {}", d.character, d.spoken());
                match scene.beats.last_mut() {
                    Some(beat) if exchange_open && beat.kind == BeatKind::Dialogue => {
                        beat.prompt = format!("{} / {line}", beat.prompt);
                        if !beat.speakers.contains(&d.character) {
                            beat.speakers.push(d.character.clone());
                        }
                    }
                    _ => scene.beats.push(Beat {
                        kind: BeatKind::Dialogue,
                        prompt: line,
                        speakers: vec![d.character.clone()],
                        named: Vec::new(),
                    }),
                }
                exchange_open = true;
            }
            Element::Transition(_) | Element::Centered(_) => exchange_open = false,
            Element::Section { .. } | Element::Synopsis(_) | Element::PageBreak => {}
        }
    }
    for scene in &mut scenes {
        for beat in &mut scene.beats {
            if beat.kind == BeatKind::Dialogue {
                beat.prompt = clip(&beat.prompt, PROMPT_LIMIT);
            }
        }
    }
    scenes
}

/// `Maya`, `Old Tom`, `O'Brien`: a cast name as a label.
pub fn display_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut start = true;
    for c in name.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        start = c.is_whitespace() || c == '-' || c == '\'' || c == '’' || c == '.';
    }
    out
}

/// Whether `id` has the shape of a scene group id this action creates.
fn is_scene_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("scene-") else {
        return false;
    };
    let Some((n, slug)) = rest.split_once('-') else {
        return false;
    };
    !n.is_empty()
        && n.chars().all(|c| c.is_ascii_digit())
        && !slug.is_empty()
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Whether `node` is a scene group or a shot a break-down created.
fn is_ours(node: &GraphNode) -> bool {
    match node.type_id.as_str() {
        "subflow" => node.parent.is_none() && is_scene_id(&node.id),
        "shot" => node.parent.as_deref().is_some_and(|parent| {
            is_scene_id(parent)
                && node
                    .id
                    .strip_prefix(parent)
                    .and_then(|rest| rest.strip_prefix("-shot-"))
                    .is_some_and(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_digit()))
        }),
        _ => false,
    }
}

/// The text value of parameter `id` of a graph node, or "".
fn text_param<'a>(node: &'a GraphNode, id: &str) -> &'a str {
    node.text(id).unwrap_or("")
}

/// How a planned node compares with the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    New,
    Updated,
    Unchanged,
}

/// What a break-down changes, for the patch summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BreakdownCounts {
    /// Scenes in the script.
    pub scenes: usize,
    /// Scene groups created.
    pub scenes_new: usize,
    /// Scene groups removed.
    pub scenes_removed: usize,
    /// Shots in the script.
    pub shots: usize,
    /// Shots created.
    pub shots_new: usize,
    /// Shots whose label, parent or parameters change.
    pub shots_updated: usize,
    /// Shots removed because their beat disappeared.
    pub shots_removed: usize,
    /// Shots left as they are.
    pub shots_unchanged: usize,
    /// Characters: the speaking ones and those introduced in action ([`Screenplay::cast`]).
    pub characters: usize,
    /// Character nodes created (the others already existed).
    pub characters_new: usize,
}

/// `3 scenes`, `1 scene`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl BreakdownCounts {
    /// "3 scenes, 12 shots: 2 new, 1 updated, 1 removed, 9 unchanged; 4 characters (1 new)";
    /// on a re-run, scene changes appear in parentheses: "3 scenes (1 new, 1 removed), …".
    pub fn summary(&self) -> String {
        let mut scenes = count(self.scenes, "scene", "scenes");
        let mut scene_changes = Vec::new();
        // On a first break-down every scene is new; saying so adds nothing.
        if self.scenes_new > 0 && self.scenes_new < self.scenes {
            scene_changes.push(format!("{} new", self.scenes_new));
        }
        if self.scenes_removed > 0 {
            scene_changes.push(format!("{} removed", self.scenes_removed));
        }
        if !scene_changes.is_empty() {
            scenes = format!("{scenes} ({})", scene_changes.join(", "));
        }
        format!(
            "{scenes}, {}: {} new, {} updated, {} removed, {} unchanged; {} ({} new)",
            count(self.shots, "shot", "shots"),
            self.shots_new,
            self.shots_updated,
            self.shots_removed,
            self.shots_unchanged,
            count(self.characters, "character", "characters"),
            self.characters_new,
        )
    }
}

/// The graph patch of "Break Down to Shots" for `play`, given the nodes
/// already in the graph, with what it changes.
///
/// * One `subflow` node per scene at the root (`title` = heading, label
///   `1 · INT. HARBOUR - NIGHT`), stacked vertically.
/// * One `shot` node per beat inside its scene (params `prompt`, `scene`,
///   `shot`), in a row.
/// * The characters in a beat (its speakers, or the cast members its action
///   names) are wired `character.character → shot.characters`; an existing
///   `character` node is reused when its `name` or label matches
///   (case-insensitive, extensions stripped), otherwise a `character-<slug>`
///   node is created at the root.
/// * Nodes that exist and are unchanged are left out of the patch (so their
///   canvas positions stay); changed ones are upserted with fresh layout.
///   Scene groups and shots of an earlier break-down whose beat disappeared
///   are removed; so are wires from characters no longer in an updated
///   shot. Character nodes are never removed.
pub fn plan(play: &Screenplay, graph: &[GraphNode]) -> (GraphPatch, BreakdownCounts) {
    let cast = play.cast();
    let scenes = scenes_with_cast(play, &cast);
    let by_id: HashMap<&str, &GraphNode> = graph.iter().map(|n| (n.id.as_str(), n)).collect();
    let mut counts = BreakdownCounts {
        scenes: scenes.len(),
        ..BreakdownCounts::default()
    };
    let mut patch = GraphPatch::new();

    // Characters: reuse by name or label, else create.
    let mut character_ids: HashMap<String, String> = HashMap::new();
    let mut all_character_nodes: Vec<String> = Vec::new();
    for node in graph.iter().filter(|n| n.type_id == "character") {
        all_character_nodes.push(node.id.clone());
        for key in [node.text("name").unwrap_or(""), node.label.as_str()] {
            let key = canonical_name(key);
            if !key.is_empty() {
                character_ids.entry(key).or_insert_with(|| node.id.clone());
            }
        }
    }
    counts.characters = cast.len();
    for (index, name) in cast.iter().enumerate() {
        if character_ids.contains_key(name) {
            continue;
        }
        let id = format!("character-{}", slug(name));
        if !by_id.contains_key(id.as_str()) {
            let label = display_name(name);
            patch = patch.upsert_node(
                PatchNode::new(&id, "character", &label)
                    .at(layout::CHARACTER_X, index as f64 * layout::CHARACTER_STEP)
                    .param("name", label.as_str()),
            );
            counts.characters_new += 1;
            all_character_nodes.push(id.clone());
        }
        character_ids.insert(name.clone(), id);
    }

    // Scenes and shots.
    let mut planned: HashSet<String> = HashSet::new();
    let mut edges: Vec<PatchEdge> = Vec::new();
    let mut stale_edges: Vec<String> = Vec::new();
    for (scene_index, scene) in scenes.iter().enumerate() {
        let label = scene.label();
        let scene_change = match by_id.get(scene.id.as_str()) {
            None => Change::New,
            Some(existing)
                if existing.type_id == "subflow"
                    && existing.parent.is_none()
                    && existing.label == label
                    && text_param(existing, "title") == scene.heading =>
            {
                Change::Unchanged
            }
            Some(_) => Change::Updated,
        };
        if scene_change == Change::New {
            counts.scenes_new += 1;
        }
        if scene_change != Change::Unchanged {
            patch = patch.upsert_node(
                PatchNode::new(&scene.id, "subflow", &label)
                    .at(layout::SCENE_X, scene_index as f64 * layout::SCENE_STEP)
                    .param("title", scene.heading.as_str()),
            );
        }
        planned.insert(scene.id.clone());

        for (beat_index, beat) in scene.beats.iter().enumerate() {
            let id = format!("{}-shot-{}", scene.id, beat_index + 1);
            let number = format!("{}.{}", scene.number, beat_index + 1);
            let shot_label = format!("{number} · {}", clip(&beat.prompt, 40));
            let change = match by_id.get(id.as_str()) {
                None => Change::New,
                Some(existing)
                    if existing.type_id == "shot"
                        && existing.parent.as_deref() == Some(scene.id.as_str())
                        && existing.label == shot_label
                        && text_param(existing, "prompt") == beat.prompt
                        && text_param(existing, "scene") == label
                        && text_param(existing, "shot") == number =>
                {
                    Change::Unchanged
                }
                Some(_) => Change::Updated,
            };
            match change {
                Change::New => counts.shots_new += 1,
                Change::Updated => counts.shots_updated += 1,
                Change::Unchanged => counts.shots_unchanged += 1,
            }
            counts.shots += 1;
            if change != Change::Unchanged {
                let (x, y) = layout::SHOT_ORIGIN;
                patch = patch.upsert_node(
                    PatchNode::new(&id, "shot", &shot_label)
                        .parent(&scene.id)
                        .at(x + beat_index as f64 * layout::SHOT_STEP, y)
                        .param("prompt", beat.prompt.as_str())
                        .param("scene", label.as_str())
                        .param("shot", number.as_str()),
                );
            }
            let mut wired: Vec<&str> = Vec::new();
            for name in beat.characters() {
                if let Some(source) = character_ids.get(name)
                    && !wired.contains(&source.as_str())
                {
                    wired.push(source);
                }
            }
            for source in &wired {
                edges.push(PatchEdge::new(
                    format!("{source}--{id}"),
                    *source,
                    "character",
                    &id,
                    "characters",
                ));
            }
            if change == Change::Updated {
                for character in &all_character_nodes {
                    if !wired.contains(&character.as_str()) {
                        stale_edges.push(format!("{character}--{id}"));
                    }
                }
            }
            planned.insert(id);
        }
    }

    // Earlier break-down nodes whose scene or beat is gone.
    for node in graph
        .iter()
        .filter(|n| is_ours(n) && !planned.contains(&n.id))
    {
        match node.type_id.as_str() {
            "subflow" => counts.scenes_removed += 1,
            _ => counts.shots_removed += 1,
        }
        patch = patch.remove_node(&node.id);
    }

    for edge in edges {
        patch = patch.upsert_edge(edge);
    }
    for id in stale_edges {
        patch = patch.remove_edge(id);
    }
    let summary = counts.summary();
    (patch.summary(summary), counts)
}
