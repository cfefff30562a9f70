//! Text that came from a plugin (logs, progress messages, summaries, diagnostics, errors,
//! descriptor strings, output values), made safe to print.
//!
//! A terminal obeys control characters: ESC and CSI sequences clear the screen, move the
//! cursor, set the window title or write the clipboard (OSC 52); a carriage return or a
//! newline lets text pass for a line the host printed ("100% done"). Everything the host
//! prints or logs that a plugin supplied goes through one of these functions:
//!
//! - [`line`] for text inside one line: every control character is written as a visible
//!   escape (`\x1b`, `\n`, `\u{9b}`), so the text stays on its line and drives nothing;
//! - [`block`] for text that may rightly span lines (docs, a trapped plugin's stderr): the
//!   same, but each line after the first starts with [`PLUGIN_LINE`], which says whose it is;
//! - [`message`] for the host's own multi-line messages that embed plugin text (the error
//!   printed on exit): newlines are kept, every other control character is escaped;
//! - [`json`] for JSON printed for other programs: the few characters a terminal obeys that
//!   JSON may carry raw are written as `\u` escapes, which leaves the JSON's meaning alone.
//!
//! Plain printable text (any script, emoji) and tabs pass through unchanged.

use std::borrow::Cow;
use std::fmt::Write as _;

/// How every continuation line of multi-line plugin text starts.
pub const PLUGIN_LINE: &str = "  plugin │ ";

/// Plugin text made safe inside one line: control characters (C0, DEL, C1), bidirectional
/// overrides and line separators are escaped, newlines included; tabs are kept.
pub fn line(text: &str) -> Cow<'_, str> {
    escape(text, |_| false)
}

/// Plugin text that may span lines: like [`line`] for each line, and every line after the
/// first starts with [`PLUGIN_LINE`] so none can pass for one the host printed.
pub fn block(text: &str) -> String {
    let mut lines = text.split('\n');
    let mut out = line(lines.next().unwrap_or_default()).into_owned();
    for next in lines {
        out.push('\n');
        out.push_str(PLUGIN_LINE);
        out.push_str(&line(next));
    }
    out
}

/// A message the host composed (which may embed plugin text): its newlines are kept, every
/// other control character is escaped. Plugin text inside it should already have been made
/// safe with [`line`] or [`block`]; this is the last line of defence.
pub fn message(text: &str) -> Cow<'_, str> {
    escape(text, |c| c == '\n')
}

/// JSON text (as serde_json writes it) safe to print: serde_json escapes C0 characters
/// itself, and this writes the rest that [`line`] escapes as `\uXXXX` escapes. Such
/// characters can only occur inside JSON strings, where the escape means the same thing.
pub fn json(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe(c) && c != '\n') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unsafe(c) && c != '\n' {
            let mut units = [0_u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` with every unsafe character that `keep` does not keep written as an escape.
fn escape(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if !is_unsafe(c) || keep(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_ascii() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

/// Whether a terminal could act on `c` or a reader mistake where a line ends: control
/// characters but tab (C0, DEL, C1, which includes the 8-bit CSI and OSC), bidirectional
/// embeddings, overrides and isolates (they reorder what is shown), and the Unicode line
/// and paragraph separators.
fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_and_tabs_pass_unchanged() {
        for text in [
            "a misty harbour",
            "Maya\twaits",
            "EXT. HAFEN — NACHT · 夜 🌧",
            "",
        ] {
            assert!(
                matches!(line(text), Cow::Borrowed(t) if t == text),
                "{text}"
            );
            assert!(matches!(message(text), Cow::Borrowed(t) if t == text));
            assert!(matches!(json(text), Cow::Borrowed(t) if t == text));
        }
    }

    #[test]
    fn escape_sequences_are_shown_not_obeyed() {
        assert_eq!(
            line("\u{1b}[2J\u{1b}]0;title\u{7}\u{1b}]52;c;aGk=\u{1b}\\"),
            r"\x1b[2J\x1b]0;title\x07\x1b]52;c;aGk=\x1b\"
        );
        // 8-bit CSI and OSC, DEL, NUL, backspace, bidi override, line separator.
        assert_eq!(
            line("\u{9b}31m\u{9d}0;t\u{7f}\0\u{8}\u{202e}x\u{2028}"),
            r"\u{9b}31m\u{9d}0;t\x7f\x00\x08\u{202e}x\u{2028}"
        );
    }

    #[test]
    fn one_line_stays_one_line() {
        let forged = "rendering\r100% done\ntime 0.0 ms · CPU charged 0 ms";
        let shown = line(forged);
        assert_eq!(shown.lines().count(), 1);
        assert_eq!(
            shown,
            r"rendering\r100% done\ntime 0.0 ms · CPU charged 0 ms"
        );
    }

    #[test]
    fn blocks_mark_every_further_line_as_the_plugin_s() {
        assert_eq!(
            block("# Shot\n\nDraws a \u{1b}[1mframe\u{1b}[0m.\r\n"),
            format!(
                "# Shot\n{PLUGIN_LINE}\n{PLUGIN_LINE}Draws a \\x1b[1mframe\\x1b[0m.\\r\n{PLUGIN_LINE}"
            )
        );
        assert_eq!(block("one line"), "one line");
    }

    #[test]
    fn host_messages_keep_their_lines_only() {
        assert_eq!(
            message("2 node(s) failed:\n  shot 1: \u{1b}[2Jboom\r"),
            "2 node(s) failed:\n  shot 1: \\x1b[2Jboom\\r"
        );
    }

    #[test]
    fn json_stays_the_same_json() {
        let value = serde_json::json!({"docs": "a\u{9b}b\u{1b}c\u{202e}d\u{7f}", "n": 1});
        let text = serde_json::to_string(&value).unwrap();
        let shown = json(&text);
        assert!(!shown.chars().any(is_unsafe), "{shown}");
        let back: serde_json::Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(back, value);
        // Pretty JSON keeps its own newlines.
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        assert_eq!(json(&pretty).lines().count(), pretty.lines().count());
    }
}
