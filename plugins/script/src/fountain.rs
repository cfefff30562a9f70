//! A screenplay parser for Fountain (<https://fountain.io/syntax>) and for plain
//! text with scene headings.
//!
//! Parsing never fails: anything that is not recognised is action. The parser
//! understands the title page, scene headings (`INT.`, `EXT.`, `EST.`,
//! `INT./EXT.`, `I/E`, with or without the dot, any case, forced with a
//! leading `.`) with optional scene numbers (`#12#`, or in the margins as
//! shooting scripts print them: `12A EXT. PIER - DAY 12A`), character cues (all caps,
//! or forced with `@`) with extensions (`(V.O.)`, `(CONT'D)`, …) and the dual
//! dialogue caret `^`, parentheticals, dialogue, transitions (`… TO:` or forced
//! with `>`), centered text (`>THE END<`), notes (`[[…]]`), boneyard
//! (`/* … */`), sections (`#`), synopses (`=`), page breaks (`===`), lyrics
//! (`~`), forced action (`!`) and emphasis markers (`*`, `_`).
//!
//! Plain text (no title page and no Fountain character cues) additionally
//! reads `SCENE 3 - THE DOCKS` as a scene heading and `NAME: line` as
//! dialogue. `SCENE <n>` headings are understood in Fountain too.

use std::collections::HashSet;

/// A parsed screenplay.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Screenplay {
    /// Title page entries in order: `("Title", "The Last Ferry")`. Keys keep
    /// the script's spelling; values have emphasis removed and lines joined
    /// with `\n`.
    pub title_page: Vec<(String, String)>,
    /// The body, in order.
    pub elements: Vec<Element>,
    /// Whether the text was read as Fountain (true) or as plain text.
    pub fountain: bool,
}

/// One element of a screenplay body.
#[derive(Clone, Debug, PartialEq)]
pub enum Element {
    /// A scene heading, upper-cased: `INT. HARBOUR - NIGHT`.
    SceneHeading {
        /// The heading without its scene number.
        text: String,
        /// The scene number written in the script (`#12#`, `12A` from the
        /// margins of `12A EXT. PIER - DAY 12A`, or `3` from `SCENE 3 - …`).
        number: Option<String>,
    },
    /// An action paragraph; hard line breaks are kept as `\n`.
    Action(String),
    /// A character cue with its dialogue.
    Dialogue(Dialogue),
    /// A transition, upper-cased: `CUT TO:`.
    Transition(String),
    /// Centered text: `THE END`.
    Centered(String),
    /// A section heading (`#`, `##`, …) with its depth.
    Section {
        /// 1 for `#`, 2 for `##`, …
        depth: usize,
        /// The section's title.
        text: String,
    },
    /// A synopsis line (`= …`).
    Synopsis(String),
    /// A forced page break (`===`).
    PageBreak,
}

/// A character cue and what the character says.
#[derive(Clone, Debug, PartialEq)]
pub struct Dialogue {
    /// The speaker's canonical name: upper case, without extensions, `@` or `^`.
    pub character: String,
    /// The cue as written (without `@` and `^`): `MAYA (V.O.)`.
    pub cue: String,
    /// Parentheticals and lines, in order.
    pub parts: Vec<DialoguePart>,
    /// Whether this block is the right-hand side of dual dialogue (`^`).
    pub dual: bool,
}

impl Dialogue {
    /// The spoken lines joined with spaces (parentheticals left out).
    pub fn spoken(&self) -> String {
        let lines: Vec<&str> = self
            .parts
            .iter()
            .filter_map(|p| match p {
                DialoguePart::Line(l) => Some(l.as_str()),
                DialoguePart::Parenthetical(_) => None,
            })
            .collect();
        lines.join(" ")
    }
}

/// A piece of a dialogue block.
#[derive(Clone, Debug, PartialEq)]
pub enum DialoguePart {
    /// `(beat)`, with the parentheses.
    Parenthetical(String),
    /// A line of speech.
    Line(String),
}

/// Title page keys that open a title page when they come first.
const TITLE_KEYS: &[&str] = &[
    "title",
    "credit",
    "author",
    "authors",
    "source",
    "draft date",
    "date",
    "contact",
    "copyright",
    "notes",
    "revision",
    "format",
];

/// Transitions that do not end with `TO:` but are common enough to recognise.
const KNOWN_TRANSITIONS: &[&str] = &[
    "FADE IN:",
    "FADE IN.",
    "FADE OUT.",
    "FADE OUT:",
    "FADE OUT",
    "FADE TO BLACK.",
    "CUT TO BLACK.",
    "SMASH CUT:",
    "THE END.",
];

/// All-caps words that introduce on-screen text in action (`SUPER: …`), never a speaker.
const NOT_SPEAKERS: &[&str] = &[
    "SUPER",
    "TITLE",
    "INSERT",
    "CHYRON",
    "CARD",
    "SIGN",
    "NOTE",
    "CAPTION",
    "SUBTITLE",
    "LATER",
    "BACK TO",
    "CUT TO",
    "FADE IN",
    "FADE OUT",
    "MONTAGE",
    "INTERCUT",
    "FLASHBACK",
];

/// Parses a screenplay.
pub fn parse(text: &str) -> Screenplay {
    let lines = clean_lines(text);
    let mut i = 0;
    while i < lines.len() && lines[i].trim().is_empty() {
        i += 1;
    }
    let title_page = parse_title_page(&lines, &mut i);
    let body = &lines[i..];
    let fountain = !title_page.is_empty() || looks_like_fountain(body);
    let mut elements = Parser {
        lines: body,
        fountain,
    }
    .run();
    let mut title_page = title_page;
    if !fountain && title_page.is_empty() {
        title_page = plain_title_block(&mut elements);
    }
    Screenplay {
        title_page,
        elements,
        fountain,
    }
}

impl Screenplay {
    /// The title page value for `key` (case-insensitive), if present.
    pub fn title_entry(&self, key: &str) -> Option<&str> {
        self.title_page
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// The title from the title page, on one line.
    pub fn title(&self) -> Option<String> {
        let title = self.title_entry("title")?;
        let one_line = title.split_whitespace().collect::<Vec<_>>().join(" ");
        (!one_line.is_empty()).then_some(one_line)
    }

    /// Number of scene headings.
    pub fn scene_heading_count(&self) -> usize {
        self.elements
            .iter()
            .filter(|e| matches!(e, Element::SceneHeading { .. }))
            .count()
    }

    /// Every speaking character, in order of first appearance.
    pub fn characters(&self) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        for e in &self.elements {
            if let Element::Dialogue(d) = e
                && !seen.contains(&d.character)
            {
                seen.push(d.character.clone());
            }
        }
        seen
    }

    /// Every character: the speaking ones (as [`Screenplay::characters`]),
    /// then, in order of first appearance, those who never speak but are
    /// introduced in action the way screenplays introduce people, in
    /// capitals ([`introduced_in_action`]). Canonical names, each once.
    pub fn cast(&self) -> Vec<String> {
        let actions: Vec<&str> = self
            .elements
            .iter()
            .filter_map(|e| match e {
                Element::Action(text) => Some(text.as_str()),
                _ => None,
            })
            .collect();
        let mut cast = self.characters();
        let mut seen: HashSet<String> = cast.iter().cloned().collect();
        for name in introduced_in_action(&actions) {
            if seen.insert(name.clone()) {
                cast.push(name);
            }
        }
        cast
    }
}

// ---------------------------------------------------------------------------
// Words of running text, and the people action introduces
// ---------------------------------------------------------------------------

/// A word of running text: letters, digits and apostrophes, without a
/// possessive `'s` or a trailing apostrophe (`Tom's` → `Tom`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Word<'a> {
    /// The word as written, possessive removed.
    pub text: &'a str,
    /// Upper case with `’` read as `'`: what names are compared by.
    pub key: String,
    /// The text between the previous word (or the start) and this one.
    pub before: &'a str,
    /// Byte offset of [`Word::text`] in the text.
    pub start: usize,
    /// Byte offset just past [`Word::text`] in the text.
    pub end: usize,
}

impl Word<'_> {
    /// Whether the word has letters and none of them is lower case: `MAYA`, `O'BRIEN`.
    pub fn is_capitals(&self) -> bool {
        is_upper(self.text)
    }

    /// Whether the word is written with a capital first letter and lower case
    /// after it: `Maya`, `McClane`.
    pub fn is_title_case(&self) -> bool {
        self.text.starts_with(char::is_uppercase) && self.text.chars().any(char::is_lowercase)
    }

    /// Whether only spaces (line breaks included) separate the word from the previous one.
    pub fn follows_space(&self) -> bool {
        !self.before.is_empty() && self.before.chars().all(char::is_whitespace)
    }

    /// Whether the word can be the next word of a name: after a space or a
    /// hyphen (`OLD TOM`, `JEAN-LUC`).
    fn continues_name(&self) -> bool {
        self.follows_space() || self.before == "-"
    }
}

/// Upper-cases `text` for comparing names and headings, `’` read as `'`.
pub(crate) fn word_key(text: &str) -> String {
    text.to_uppercase().replace('’', "'")
}

/// The words of `text`, in order (see [`Word`]).
pub(crate) fn words(text: &str) -> Vec<Word<'_>> {
    let is_word_char = |c: char| c.is_alphanumeric() || c == '\'' || c == '’';
    let mut out = Vec::new();
    let mut previous_end = 0;
    let mut rest_start = 0;
    while let Some(offset) = text[rest_start..].find(is_word_char) {
        let start = rest_start + offset;
        let len = text[start..]
            .find(|c: char| !is_word_char(c))
            .unwrap_or(text.len() - start);
        let end = start + len;
        rest_start = end;
        let raw = &text[start..end];
        let trimmed = raw.trim_start_matches(['\'', '’']);
        let lead = raw.len() - trimmed.len();
        let trimmed = trimmed.trim_end_matches(['\'', '’']);
        let bare = ["'s", "'S", "’s", "’S"]
            .iter()
            .find_map(|s| trimmed.strip_suffix(s))
            .unwrap_or(trimmed);
        if !bare.chars().any(char::is_alphanumeric) {
            continue;
        }
        out.push(Word {
            text: bare,
            key: word_key(bare),
            before: &text[previous_end..start + lead],
            start: start + lead,
            end: start + lead + bare.len(),
        });
        previous_end = end;
    }
    out
}

/// Words that open an age after a name introduced in action (`(late 40s)`,
/// `, mid-thirties,`); an age may also be a number up to three digits
/// (`(30s)`, `, 70,`), but not a year (`LONDON, 1968`).
const AGE_WORDS: &[&str] = &[
    "EARLY",
    "MID",
    "LATE",
    "TEEN",
    "TEENS",
    "TEENAGE",
    "TWENTY",
    "TWENTIES",
    "THIRTY",
    "THIRTIES",
    "FORTY",
    "FORTIES",
    "FIFTY",
    "FIFTIES",
    "SIXTY",
    "SIXTIES",
    "SEVENTY",
    "SEVENTIES",
    "EIGHTY",
    "EIGHTIES",
    "NINETY",
    "NINETIES",
];

/// Whether `text` (what follows `(` or `,` after a name) starts with an age.
fn starts_with_age(text: &str) -> bool {
    let text = text.trim_start();
    let digits = text.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 {
        return digits <= 3;
    }
    let word: String = text
        .chars()
        .take_while(|c| c.is_alphabetic())
        .flat_map(char::to_uppercase)
        .collect();
    AGE_WORDS.contains(&word.as_str())
}

/// Whether an age follows a name ending at byte `end` of `text`: `MAYA (30s)`, `LENA, 20s,`.
fn age_follows(text: &str, end: usize) -> bool {
    let after = &text[end..];
    match after.strip_prefix(',') {
        Some(rest) => starts_with_age(rest),
        None => after
            .trim_start()
            .strip_prefix('(')
            .is_some_and(starts_with_age),
    }
}

/// Words that, just before a name, make it a thing rather than a person:
/// `the MARGARET`, `a KNOCK`, `his PHONE`.
const DETERMINERS: &[&str] = &[
    "A", "AN", "THE", "THIS", "THAT", "THESE", "THOSE", "HIS", "HER", "THEIR", "ITS", "OUR", "MY",
    "YOUR", "EVERY", "NO", "SOME",
];

/// Titles written with a dot inside a name: `MR. HALE`, `DR. REYES`.
const TITLES: &[&str] = &[
    "MR", "MRS", "MS", "MX", "DR", "ST", "PROF", "REV", "FR", "SGT", "CAPT", "LT", "COL", "GEN",
];

/// Words of the screenplay's own vocabulary, in capitals in action but never
/// a name: headings, transitions, camera directions, sound and on-screen
/// text (`INT`, `CUT TO`, `CONTINUOUS`, `CLOSE ON`, `SFX`, `V.O.`).
const SCREENPLAY_WORDS: &[&str] = &[
    "INT",
    "EXT",
    "EST",
    "I",
    "E",
    "CUT",
    "TO",
    "FADE",
    "IN",
    "OUT",
    "DISSOLVE",
    "SMASH",
    "MATCH",
    "CONTINUOUS",
    "LATER",
    "MOMENTS",
    "SAME",
    "TIME",
    "DAY",
    "NIGHT",
    "MORNING",
    "EVENING",
    "DAWN",
    "DUSK",
    "V",
    "O",
    "S",
    "C",
    "CONT'D",
    "POV",
    "ANGLE",
    "CLOSE",
    "CLOSEUP",
    "UP",
    "ON",
    "WIDE",
    "SHOT",
    "INSERT",
    "BACK",
    "SCENE",
    "FLASHBACK",
    "MONTAGE",
    "SERIES",
    "SHOTS",
    "INTERCUT",
    "END",
    "THE",
    "SUPER",
    "TITLE",
    "CARD",
    "CAPTION",
    "CHYRON",
    "SUBTITLE",
    "SIGN",
    "SFX",
    "VFX",
    "SOUND",
    "MUSIC",
    "OVER",
    "BLACK",
    "BEAT",
    "PAN",
    "TRACK",
    "ZOOM",
    "PUSH",
    "PULL",
    "TILT",
    "REVERSE",
    "FREEZE",
    "FRAME",
    "SLOW",
    "MOTION",
    "ESTABLISHING",
];

/// Longest name introduced in capitals, in words.
const MAX_NAME_WORDS: usize = 4;

/// Whether `words[k]` continues a run of capitals from `words[k - 1]`: both in
/// capitals and separated only by spaces, a hyphen (`JEAN-LUC`) or the dot of
/// a title or an initial (`MR. HALE`, `J. EDGAR`).
fn continues_run(words: &[Word], k: usize) -> bool {
    let (previous, word) = (&words[k - 1], &words[k]);
    if !previous.is_capitals() || !word.is_capitals() {
        return false;
    }
    let dotted = previous.text.chars().count() == 1 || TITLES.contains(&previous.key.as_str());
    word.continues_name()
        || (dotted && word.before.starts_with('.') && word.before[1..].trim().is_empty())
}

/// Byte ranges of on-screen text in an action paragraph: what follows
/// `SUPER:`, `TITLE:`, `INSERT:`, … to the end of its line.
fn on_screen_text(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if let Some((label, _)) = line.split_once(':')
            && NOT_SPEAKERS.contains(&canonical_name(label).as_str())
        {
            ranges.push(offset + label.len()..offset + line.len());
        }
        offset += line.len();
    }
    ranges
}

/// A run of words in capitals in action, a possible name.
struct CapitalRun {
    /// The name as written, canonical: `TAXI DRIVER`, `MR. HALE`.
    name: String,
    /// The words' keys, for comparing with later mentions.
    keys: Vec<String>,
    /// Whether an age follows the run.
    aged: bool,
    /// Whether an article or possessive stands before it (`the MARGARET`).
    determined: bool,
}

/// The runs of capitals in action paragraph `text`, outside on-screen text.
/// A leading one-letter word or article (`A TAXI DRIVER`, `THE MARGARET`) is
/// not part of the name; runs longer than [`MAX_NAME_WORDS`] are no name.
fn capital_runs(text: &str) -> Vec<CapitalRun> {
    let words = words(text);
    let hidden = on_screen_text(text);
    let shown = |w: &Word| !hidden.iter().any(|r| r.contains(&w.start));
    let mut runs = Vec::new();
    let mut k = 0;
    while k < words.len() {
        if !words[k].is_capitals() || !shown(&words[k]) {
            k += 1;
            continue;
        }
        let mut end = k + 1;
        while end < words.len() && continues_run(&words, end) && shown(&words[end]) {
            end += 1;
        }
        let mut start = k;
        let mut determined =
            k > 0 && words[k].follows_space() && DETERMINERS.contains(&words[k - 1].key.as_str());
        while start < end
            && (words[start].text.chars().count() == 1
                || matches!(words[start].key.as_str(), "AN" | "THE"))
        {
            determined |= matches!(words[start].key.as_str(), "A" | "AN" | "THE");
            start += 1;
        }
        if start < end && end - start <= MAX_NAME_WORDS {
            let run = &words[start..end];
            let from = run[0].start;
            let to = run[run.len() - 1].end;
            runs.push(CapitalRun {
                name: canonical_name(&text[from..to]),
                keys: run.iter().map(|w| w.key.clone()).collect(),
                aged: age_follows(text, to),
                determined,
            });
        }
        k = end;
    }
    runs
}

/// Names mentioned in `texts` the way running text names a person: in title
/// case (`Maya`, `Old Tom`) in the middle of a sentence, not after an article
/// or possessive (`the Margaret`). Each mention's one to
/// [`MAX_NAME_WORDS`]-word keys, joined with spaces.
fn title_case_mentions(texts: &[&str]) -> HashSet<String> {
    let mut found = HashSet::new();
    for text in texts {
        let words = words(text);
        for k in 1..words.len() {
            let mid_sentence = !words[k]
                .before
                .contains(['.', '!', '?', ':', ';', '"', '“', '”', '(', ')']);
            if !words[k].is_title_case()
                || !mid_sentence
                || DETERMINERS.contains(&words[k - 1].key.as_str())
            {
                continue;
            }
            let mut key = String::new();
            for (n, word) in words[k..].iter().take(MAX_NAME_WORDS).enumerate() {
                if n > 0 && !(word.is_title_case() && word.continues_name()) {
                    break;
                }
                if n > 0 {
                    key.push(' ');
                }
                key.push_str(&word.key);
                found.insert(key.clone());
            }
        }
    }
    found
}

/// The people action paragraphs introduce, canonical, in order of first
/// appearance, each once. Screenplays write a person's name in capitals
/// where they first appear; so are sounds (`the phone RINGS`), camera
/// directions and things that matter (`the MARGARET`). A run of capitals is a
/// person when
/// * an age follows it: `A TAXI DRIVER (50s) waits`, `MR. HALE, 70, sits up`; or
/// * the action names it again in title case in the middle of a sentence
///   (`MAYA slumps.` … `the driver watches Maya`), and no article or
///   possessive stands before it; the longest such beginning of the run is
///   the name (`MAYA SCREAMS.` … `with Maya` → `MAYA`).
///
/// Runs made of the screenplay's own words (`INT`, `CUT TO`, `CONTINUOUS`,
/// [`SCREENPLAY_WORDS`]), on-screen text (`SUPER: LONDON`) and transitions
/// never are.
pub fn introduced_in_action(paragraphs: &[&str]) -> Vec<String> {
    let mentions = title_case_mentions(paragraphs);
    let mut found: Vec<String> = Vec::new();
    let mut add = |name: String| {
        if !found.contains(&name) {
            found.push(name);
        }
    };
    for text in paragraphs {
        for run in capital_runs(text) {
            if run.aged {
                if run.name.starts_with(char::is_alphabetic)
                    && !NOT_SPEAKERS.contains(&run.name.as_str())
                {
                    add(run.name);
                }
                continue;
            }
            if run.determined
                || run
                    .keys
                    .iter()
                    .any(|k| SCREENPLAY_WORDS.contains(&k.as_str()))
            {
                continue;
            }
            let named = (1..=run.keys.len())
                .rev()
                .find(|&n| mentions.contains(&run.keys[..n].join(" ")));
            if let Some(n) = named {
                let to = words(&run.name)[n - 1].end;
                add(canonical_name(&run.name[..to]));
            }
        }
    }
    found
}

// ---------------------------------------------------------------------------
// Pre-pass: boneyard, notes, line endings, tabs
// ---------------------------------------------------------------------------

/// Splits the text into lines with boneyard (`/* */`) and notes (`[[ ]]`)
/// removed. A line that held only removed material disappears (so a note on
/// its own line does not split a paragraph); tabs become four spaces and
/// trailing whitespace goes, except a line of exactly two spaces (Fountain's
/// "keep this dialogue together" line), which stays two spaces.
fn clean_lines(text: &str) -> Vec<String> {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let text = text.trim_start_matches('\u{feff}');
    let mut out = Vec::new();
    let mut line = String::new();
    let mut removed = false;
    let mut in_boneyard = false;
    let mut in_note = false;
    let chars: Vec<char> = text.chars().collect();
    let mut k = 0;
    let mut finish = |line: &mut String, removed: &mut bool| {
        // A line that held only a note or boneyard is dropped altogether.
        if !(*removed && line.trim().is_empty()) {
            out.push(if line == "  " {
                line.clone()
            } else {
                line.trim_end().to_owned()
            });
        }
        line.clear();
        *removed = false;
    };
    while k < chars.len() {
        let c = chars[k];
        let next = chars.get(k + 1).copied();
        if in_boneyard {
            if c == '*' && next == Some('/') {
                in_boneyard = false;
                k += 2;
            } else {
                k += 1;
            }
            continue;
        }
        if in_note {
            if c == ']' && next == Some(']') {
                in_note = false;
                k += 2;
            } else {
                // A note may span lines, but a blank line ends it (Fountain);
                // the line break itself is kept.
                if c == '\n' && next == Some('\n') {
                    in_note = false;
                } else {
                    k += 1;
                }
            }
            continue;
        }
        match c {
            '/' if next == Some('*') => {
                in_boneyard = true;
                removed = true;
                k += 2;
            }
            '[' if next == Some('[') => {
                in_note = true;
                removed = true;
                k += 2;
            }
            '\n' => {
                finish(&mut line, &mut removed);
                k += 1;
            }
            '\t' => {
                line.push_str("    ");
                k += 1;
            }
            _ => {
                line.push(c);
                k += 1;
            }
        }
    }
    finish(&mut line, &mut removed);
    out
}

// ---------------------------------------------------------------------------
// Title page
// ---------------------------------------------------------------------------

/// `Key: value` split, when the key looks like a title page key.
fn title_key(line: &str) -> Option<(&str, &str)> {
    if line.starts_with(char::is_whitespace) {
        return None;
    }
    let (key, value) = line.split_once(':')?;
    let key = key.trim();
    let ok = !key.is_empty()
        && key.len() <= 30
        && key
            .chars()
            .all(|c| c.is_alphabetic() || c == ' ' || c == '-');
    ok.then_some((key, value.trim()))
}

/// Parses the title page starting at line `*i` (first non-blank line), and
/// moves `*i` past it. No title page: empty, `*i` unchanged.
fn parse_title_page(lines: &[String], i: &mut usize) -> Vec<(String, String)> {
    let Some(first) = lines.get(*i) else {
        return Vec::new();
    };
    match title_key(first) {
        Some((key, _)) if TITLE_KEYS.contains(&key.to_ascii_lowercase().as_str()) => {}
        _ => return Vec::new(),
    }
    let mut entries: Vec<(String, String)> = Vec::new();
    while let Some(line) = lines.get(*i) {
        if line.trim().is_empty() {
            break;
        }
        match title_key(line) {
            Some((key, value)) => entries.push((key.to_owned(), strip_emphasis(value))),
            None => {
                if let Some((_, v)) = entries.last_mut() {
                    if !v.is_empty() {
                        v.push('\n');
                    }
                    v.push_str(&strip_emphasis(line.trim()));
                }
            }
        }
        *i += 1;
    }
    entries
}

/// A plain-text script's opening block of up to three short lines before the
/// first scene heading (`NIGHT SHIFT` / `a short film by …`) is its title
/// page: the first line is the title, the others the credit. Takes the block
/// out of `elements`.
fn plain_title_block(elements: &mut Vec<Element>) -> Vec<(String, String)> {
    let Some(Element::Action(block)) = elements.first() else {
        return Vec::new();
    };
    let lines: Vec<&str> = block.lines().collect();
    let heading_follows = matches!(elements.get(1), Some(Element::SceneHeading { .. }));
    if !heading_follows || lines.len() > 3 || lines.iter().any(|l| l.chars().count() > 60) {
        return Vec::new();
    }
    let mut entries = vec![("Title".to_owned(), lines[0].to_owned())];
    if lines.len() > 1 {
        entries.push(("Credit".to_owned(), lines[1..].join("\n")));
    }
    elements.remove(0);
    entries
}

// ---------------------------------------------------------------------------
// Line classification
// ---------------------------------------------------------------------------

/// Removes Fountain emphasis markers (`*`, `**`, `***`, `_`); `\*` and `\_`
/// become literal characters.
pub fn strip_emphasis(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some('*') | Some('_')) => {
                out.push(chars.next().unwrap_or('\\'));
            }
            '*' | '_' => {}
            _ => out.push(c),
        }
    }
    out
}

/// Collapses runs of whitespace into single spaces and trims.
fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `text` has letters and none of them is lower case.
fn is_upper(text: &str) -> bool {
    text.chars().any(char::is_alphabetic) && !text.chars().any(char::is_lowercase)
}

/// The scene heading in `line` (already trimmed), with its scene number:
/// `INT. HARBOUR - NIGHT #12#` → `("INT. HARBOUR - NIGHT", Some("12"))`.
/// Recognises the Fountain prefixes (any case), also behind a scene number in
/// the margin (`12A EXT. PIER - DAY 12A`, `1. INT. TAXI - NIGHT`), and
/// `SCENE <n>` headings.
fn scene_heading(line: &str) -> Option<(String, Option<String>)> {
    let (body, number) = split_scene_number(line);
    let upper = body.to_uppercase();
    if has_heading_prefix(&upper) {
        return Some((squash(&strip_emphasis(&upper)), number));
    }
    if let Some((rest, margin)) = split_margin_number(&upper)
        && has_heading_prefix(rest)
    {
        return Some((squash(&strip_emphasis(rest)), number.or(Some(margin))));
    }
    // SCENE 3 - THE DOCKS, Scene 12: Rooftop, SCENE 4A
    if let Some(rest) = upper.strip_prefix("SCENE ") {
        let rest = rest.trim_start();
        let token: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let after = &rest[token.len()..];
        let numeric = token.starts_with(|c: char| c.is_ascii_digit())
            && token.chars().filter(|c| c.is_ascii_alphabetic()).count() <= 1;
        let boundary = after.is_empty()
            || after.starts_with([' ', '-', ':', '.', '–', '—', ','])
            || after.starts_with('\u{2013}');
        if numeric && boundary {
            return Some((squash(&strip_emphasis(&upper)), number.or(Some(token))));
        }
    }
    None
}

/// Whether upper-cased `text` starts like a scene heading: `INT.`, `EXT `,
/// `INT./EXT.`, `I/E`, … followed by something.
fn has_heading_prefix(text: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "INT./EXT", "INT/EXT", "EXT./INT", "EXT/INT", "INT", "EXT", "EST", "I/E",
    ];
    PREFIXES.iter().any(|prefix| {
        text.strip_prefix(prefix).is_some_and(|rest| {
            let separated = rest.starts_with('.') || rest.starts_with(' ');
            separated && !rest.trim_start_matches(['.', ' ']).is_empty()
        })
    })
}

/// Splits a scene number written in the margins off upper-cased `text`, the
/// way screenwriting tools export shooting scripts: `12A EXT. PIER - DAY 12A`
/// → `("EXT. PIER - DAY", "12A")`. The number is up to four digits with an
/// optional letter before (`A12`) and up to two after (`12A`, `12AB`), then an
/// optional `.`, `)` or `:` and a space. The copy in the right margin is
/// dropped when it repeats the left one (revision asterisks after it too).
fn split_margin_number(text: &str) -> Option<(&str, String)> {
    let bytes = text.as_bytes();
    let mut end = usize::from(bytes.first().is_some_and(u8::is_ascii_alphabetic));
    let digits = bytes[end..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if !(1..=4).contains(&digits) {
        return None;
    }
    end += digits;
    end += bytes[end..]
        .iter()
        .take(2)
        .take_while(|b| b.is_ascii_alphabetic())
        .count();
    let number = &text[..end];
    let after = &text[end..];
    let after = after.strip_prefix(['.', ')', ':']).unwrap_or(after);
    if !after.starts_with([' ', '\t']) {
        return None;
    }
    let rest = after.trim_start();
    let unmarked = rest.trim_end_matches(|c: char| c == '*' || c.is_whitespace());
    let unmarked = unmarked.strip_suffix('.').unwrap_or(unmarked);
    let rest = match unmarked.strip_suffix(number) {
        Some(before) if before.ends_with([' ', '\t']) => before.trim_end(),
        _ => rest,
    };
    Some((rest, number.to_owned()))
}

/// Splits a trailing Fountain scene number `#…#` off a heading.
fn split_scene_number(line: &str) -> (&str, Option<String>) {
    let trimmed = line.trim_end();
    if let Some(without_end) = trimmed.strip_suffix('#')
        && let Some(start) = without_end.rfind('#')
    {
        let number = without_end[start + 1..].trim();
        if !number.is_empty()
            && number
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-'))
        {
            return (without_end[..start].trim_end(), Some(number.to_owned()));
        }
    }
    (trimmed, None)
}

/// Whether `line` (trimmed) is a transition by its looks: all caps ending
/// with `TO:`, or a well-known one (`FADE OUT.`).
fn looks_like_transition(line: &str) -> bool {
    is_upper(line) && (line.ends_with("TO:") || KNOWN_TRANSITIONS.contains(&line))
}

/// The canonical speaker name of a cue: `@McCLANE (V.O.) ^` → `MCCLANE`.
pub fn canonical_name(cue: &str) -> String {
    let cue = cue.trim().trim_start_matches('@').trim_end_matches('^');
    let mut name = String::new();
    let mut depth = 0usize;
    for c in cue.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => name.push(c),
            _ => {}
        }
    }
    let mut name = squash(&strip_emphasis(&name)).to_uppercase();
    for suffix in [" CONT'D", " CONT’D", " CONT.", " CONT"] {
        if let Some(stripped) = name.strip_suffix(suffix) {
            name = stripped.trim_end().to_owned();
        }
    }
    name
}

/// Whether `line` (trimmed) is a character cue by its looks. `@` forces one.
fn looks_like_cue(line: &str) -> bool {
    if let Some(rest) = line.strip_prefix('@') {
        return !rest.trim().is_empty();
    }
    let line = line.trim_end_matches('^').trim_end();
    let name_part = line.split('(').next().unwrap_or("").trim();
    if name_part.is_empty() || !is_upper(name_part) {
        return false;
    }
    // Everything after the name must be parenthesised extensions.
    let ext = line[line.find('(').unwrap_or(line.len())..].trim();
    let only_extensions = ext.is_empty() || (ext.starts_with('(') && ext.ends_with(')'));
    if !only_extensions {
        return false;
    }
    let words = name_part.split_whitespace().count();
    let ends_like_sentence = name_part.ends_with(['.', '!', '?', ',', ':', ';', '-']);
    let starts_with_letter = name_part.starts_with(char::is_alphabetic);
    words <= 6
        && name_part.chars().count() <= 40
        && !ends_like_sentence
        && starts_with_letter
        && !looks_like_transition(line)
        && !NOT_SPEAKERS.contains(&name_part)
}

/// `NAME: line` dialogue of plain-text scripts: `(name, cue, line)`.
fn colon_dialogue(line: &str) -> Option<(String, String, String)> {
    let (cue, speech) = line.split_once(':')?;
    let cue = cue.trim();
    let speech = speech.trim();
    if speech.is_empty() || cue.is_empty() || !looks_like_cue(cue) {
        return None;
    }
    let name = canonical_name(cue);
    if NOT_SPEAKERS.contains(&name.as_str()) {
        return None;
    }
    Some((name, cue.to_owned(), speech.to_owned()))
}

/// Whether the body reads as Fountain: forced elements, or character cues
/// standing on their own line above dialogue. Plain text writes `NAME: line`.
fn looks_like_fountain(lines: &[String]) -> bool {
    let mut cues = 0usize;
    let mut colon = 0usize;
    for (k, line) in lines.iter().enumerate() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let prev_blank = k == 0 || lines[k - 1].trim().is_empty();
        let next_filled = lines.get(k + 1).is_some_and(|l| !l.trim().is_empty());
        if t.starts_with('@') || (t.starts_with('.') && t[1..].starts_with(char::is_alphanumeric)) {
            return true;
        }
        if prev_blank && next_filled && scene_heading(t).is_none() && looks_like_cue(t) {
            cues += 1;
        } else if colon_dialogue(t).is_some() {
            colon += 1;
        }
    }
    cues >= colon
}

// ---------------------------------------------------------------------------
// Body
// ---------------------------------------------------------------------------

/// The body parser: a cursor over the cleaned lines.
struct Parser<'a> {
    lines: &'a [String],
    fountain: bool,
}

impl Parser<'_> {
    fn blank(&self, k: usize) -> bool {
        self.lines.get(k).is_none_or(|l| l.trim().is_empty())
    }

    fn run(&self) -> Vec<Element> {
        let mut out = Vec::new();
        let mut k = 0;
        while k < self.lines.len() {
            if self.blank(k) {
                k += 1;
                continue;
            }
            k = self.element(k, &mut out);
        }
        out
    }

    /// Reads the element starting at non-blank line `k`; returns the next line index.
    fn element(&self, k: usize, out: &mut Vec<Element>) -> usize {
        let raw = &self.lines[k];
        let t = raw.trim();
        let prev_blank = k == 0 || self.blank(k - 1);
        let next_blank = self.blank(k + 1);

        if t.len() >= 3 && t.chars().all(|c| c == '=') {
            out.push(Element::PageBreak);
            return k + 1;
        }
        if let Some(rest) = t.strip_prefix('#')
            && scene_heading(t).is_none()
        {
            let depth = 1 + rest.chars().take_while(|&c| c == '#').count();
            let text = squash(&strip_emphasis(rest.trim_start_matches('#')));
            out.push(Element::Section { depth, text });
            return k + 1;
        }
        if let Some(rest) = t.strip_prefix('=') {
            out.push(Element::Synopsis(squash(&strip_emphasis(rest))));
            return k + 1;
        }
        if let Some(rest) = t.strip_prefix('.')
            && rest.starts_with(|c: char| c.is_alphanumeric())
        {
            let (body, number) = split_scene_number(rest);
            out.push(Element::SceneHeading {
                text: squash(&strip_emphasis(body)).to_uppercase(),
                number,
            });
            return k + 1;
        }
        if t.starts_with('>') && t.ends_with('<') && t.len() >= 2 {
            let inner = t[1..t.len() - 1].trim();
            out.push(Element::Centered(squash(&strip_emphasis(inner))));
            return k + 1;
        }
        if let Some(rest) = t.strip_prefix('>') {
            out.push(Element::Transition(
                squash(&strip_emphasis(rest)).to_uppercase(),
            ));
            return k + 1;
        }
        if prev_blank && let Some((text, number)) = scene_heading(t) {
            out.push(Element::SceneHeading { text, number });
            return k + 1;
        }
        if prev_blank && next_blank && looks_like_transition(t) {
            out.push(Element::Transition(squash(&strip_emphasis(t))));
            return k + 1;
        }
        if t.starts_with('!') {
            return self.action(k, out, true);
        }
        if self.fountain && prev_blank && !next_blank && looks_like_cue(t) {
            return self.dialogue(k, out);
        }
        if !self.fountain && colon_dialogue(t).is_some() {
            return self.colon_dialogue(k, out);
        }
        self.action(k, out, false)
    }

    /// A Fountain dialogue block: the cue at `k`, then parentheticals and
    /// lines until a blank line.
    fn dialogue(&self, k: usize, out: &mut Vec<Element>) -> usize {
        let cue_line = self.lines[k].trim();
        let dual = cue_line.ends_with('^');
        let cue = squash(&strip_emphasis(
            cue_line.trim_start_matches('@').trim_end_matches('^'),
        ));
        let mut parts = Vec::new();
        let mut j = k + 1;
        while let Some(line) = self.lines.get(j) {
            if line == "  " {
                parts.push(DialoguePart::Line(String::new()));
                j += 1;
                continue;
            }
            let t = line.trim();
            if t.is_empty() {
                break;
            }
            let text = squash(&strip_emphasis(t));
            if t.starts_with('(') && t.ends_with(')') {
                parts.push(DialoguePart::Parenthetical(text));
            } else if let Some(lyric) = text.strip_prefix('~') {
                parts.push(DialoguePart::Line(lyric.trim().to_owned()));
            } else {
                match parts.last_mut() {
                    // Consecutive lines of speech are one line wrapped by hand.
                    Some(DialoguePart::Line(prev)) if !prev.is_empty() => {
                        prev.push(' ');
                        prev.push_str(&text);
                    }
                    _ => parts.push(DialoguePart::Line(text)),
                }
            }
            j += 1;
        }
        parts.retain(|p| !matches!(p, DialoguePart::Line(l) if l.is_empty()));
        out.push(Element::Dialogue(Dialogue {
            character: canonical_name(&cue),
            cue,
            parts,
            dual,
        }));
        j
    }

    /// Plain-text `NAME: line` dialogue; following lines that are not another
    /// speaker or a heading continue the speech.
    fn colon_dialogue(&self, k: usize, out: &mut Vec<Element>) -> usize {
        let Some((character, cue, first)) = colon_dialogue(self.lines[k].trim()) else {
            return self.action(k, out, false);
        };
        let mut speech = squash(&strip_emphasis(&first));
        let mut parts = Vec::new();
        // A leading parenthetical: `MAYA: (quietly) Go.`
        if speech.starts_with('(')
            && let Some(end) = speech.find(')')
        {
            parts.push(DialoguePart::Parenthetical(speech[..=end].to_owned()));
            speech = speech[end + 1..].trim().to_owned();
        }
        let mut j = k + 1;
        while let Some(line) = self.lines.get(j) {
            let t = line.trim();
            if t.is_empty() || colon_dialogue(t).is_some() || scene_heading(t).is_some() {
                break;
            }
            speech.push(' ');
            speech.push_str(&squash(&strip_emphasis(t)));
            j += 1;
        }
        if !speech.is_empty() {
            parts.push(DialoguePart::Line(speech));
        }
        out.push(Element::Dialogue(Dialogue {
            character,
            cue,
            parts,
            dual: false,
        }));
        j
    }

    /// An action paragraph: lines until a blank line (or, in plain text, a
    /// `NAME:` line).
    fn action(&self, k: usize, out: &mut Vec<Element>, forced: bool) -> usize {
        let mut text = String::new();
        let mut j = k;
        while let Some(line) = self.lines.get(j) {
            let t = line.trim();
            if t.is_empty() {
                break;
            }
            if j > k && !self.fountain && colon_dialogue(t).is_some() {
                break;
            }
            let mut t = t;
            if j == k && forced {
                t = t.trim_start_matches('!');
            }
            if let Some(lyric) = t.strip_prefix('~') {
                t = lyric.trim_start();
            }
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&squash(&strip_emphasis(t)));
            j += 1;
        }
        if !text.trim().is_empty() {
            out.push(Element::Action(text));
        }
        j
    }
}

// ---------------------------------------------------------------------------
// Page count
// ---------------------------------------------------------------------------

/// Lines on a printed screenplay page (12 pt Courier, US Letter).
pub const LINES_PER_PAGE: usize = 55;
/// Characters on a line of action.
pub const ACTION_COLUMNS: usize = 60;
/// Characters on a line of dialogue.
pub const DIALOGUE_COLUMNS: usize = 35;
/// Characters on a line of a parenthetical.
pub const PARENTHETICAL_COLUMNS: usize = 28;

/// How many lines `text` takes when wrapped at `columns` characters, word by word.
pub fn wrapped_lines(text: &str, columns: usize) -> usize {
    let mut total = 0;
    for paragraph in text.split('\n') {
        let mut lines = 1;
        let mut used = 0usize;
        for word in paragraph.split_whitespace() {
            let len = word.chars().count();
            if used == 0 {
                used = len;
            } else if used + 1 + len <= columns {
                used += 1 + len;
            } else {
                lines += 1;
                used = len;
            }
            // A word longer than a line breaks across lines.
            while used > columns {
                lines += 1;
                used -= columns;
            }
        }
        total += lines;
    }
    total
}

/// Rendered lines of a dialogue block: the cue, then parentheticals and speech.
fn dialogue_lines(d: &Dialogue) -> usize {
    1 + d
        .parts
        .iter()
        .map(|p| match p {
            DialoguePart::Parenthetical(t) => wrapped_lines(t, PARENTHETICAL_COLUMNS),
            DialoguePart::Line(t) => wrapped_lines(t, DIALOGUE_COLUMNS),
        })
        .sum::<usize>()
}

impl Screenplay {
    /// The estimated page count, the way the industry counts: the body laid
    /// out as printed (action wrapped at 60 columns, dialogue at 35, a blank
    /// line between elements, two before a scene heading, dual dialogue side
    /// by side, `===` starting a new page) at 55 lines a page. At least 1 for
    /// a script with any body; 0 for an empty body.
    pub fn page_count(&self) -> usize {
        let mut pages_done = 0usize;
        let mut lines = 0usize;
        let mut last_dialogue = 0usize;
        for e in &self.elements {
            let add = match e {
                Element::SceneHeading { .. } => 3,
                Element::Action(t) => wrapped_lines(t, ACTION_COLUMNS) + 1,
                Element::Dialogue(d) => {
                    let own = dialogue_lines(d) + 1;
                    if d.dual {
                        // Side by side with the previous block: only the overhang counts.
                        let extra = own.saturating_sub(last_dialogue);
                        last_dialogue = 0;
                        extra
                    } else {
                        last_dialogue = own;
                        own
                    }
                }
                Element::Transition(_) | Element::Centered(_) => 2,
                Element::PageBreak => {
                    if lines > 0 {
                        pages_done += lines.div_ceil(LINES_PER_PAGE);
                        lines = 0;
                    }
                    0
                }
                Element::Section { .. } | Element::Synopsis(_) => 0,
            };
            if !matches!(e, Element::Dialogue(_)) {
                last_dialogue = 0;
            }
            lines += add;
        }
        pages_done + lines.div_ceil(LINES_PER_PAGE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_in_every_spelling() {
        for line in [
            "INT. HOUSE - DAY",
            "ext. beach - night",
            "EST. CITY",
            "INT./EXT. CAR - MOVING",
            "INT/EXT CAR",
            "I/E. CAR",
            "INT HOUSE",
            "Scene 3 - The Docks",
            "SCENE 12: ROOF",
            "1. INT. TAXI - NIGHT",
            "1 INT. TAXI - NIGHT 1",
            "12A    EXT. PIER - DAY    12A *",
            "a12) i/e car",
        ] {
            assert!(scene_heading(line).is_some(), "{line}");
        }
        for line in [
            "INTERIOR",
            "EXTRA LARGE",
            "Ext",
            "SCENE STEALER",
            "Interesting.",
            "2 INTERNS wait.",
            "12345 EXT. PIER",
            "1INT. TAXI",
            "AB1 INT. TAXI",
        ] {
            assert!(scene_heading(line).is_none(), "{line}");
        }
        assert_eq!(
            scene_heading("INT. HOUSE - DAY #1A#"),
            Some(("INT. HOUSE - DAY".into(), Some("1A".into())))
        );
        assert_eq!(
            scene_heading("12A    EXT. PIER - DAY    12A *"),
            Some(("EXT. PIER - DAY".into(), Some("12A".into())))
        );
        // Only a right-hand number repeating the left one is a scene number.
        assert_eq!(
            scene_heading("3 EXT. PIER - NIGHT 2"),
            Some(("EXT. PIER - NIGHT 2".into(), Some("3".into())))
        );
    }

    #[test]
    fn cue_names_are_canonical() {
        assert_eq!(canonical_name("MAYA (V.O.)"), "MAYA");
        assert_eq!(canonical_name("@McClane (CONT’D) ^"), "MCCLANE");
        assert_eq!(canonical_name("MAYA (O.S.) (CONT'D)"), "MAYA");
        assert_eq!(canonical_name("MAYA CONT'D"), "MAYA");
        assert!(looks_like_cue("DR. REYES (O.C.)"));
        assert!(!looks_like_cue("THE DOOR SLAMS."));
        assert!(!looks_like_cue("CUT TO:"));
    }

    #[test]
    fn wraps_by_words() {
        assert_eq!(wrapped_lines("", 10), 1);
        assert_eq!(wrapped_lines("aaaa bbbb cccc", 9), 2);
        assert_eq!(wrapped_lines("aaaa\nbbbb", 60), 2);
        assert_eq!(wrapped_lines(&"x".repeat(25), 10), 3);
    }

    #[test]
    fn notes_and_boneyard_vanish() {
        let lines = clean_lines("A [[note]] b.\n[[whole line]]\nc /* gone\nstill gone */ d\n\te");
        assert_eq!(lines, ["A  b.", "c  d", "    e"]);
    }
}
