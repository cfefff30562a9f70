//! A parser for server-sent events (`text/event-stream`, as the HTML standard defines them):
//! bytes in, whatever the pieces' boundaries, events out. Used by
//! [`crate::live::EventStream`]; usable on its own.

use std::collections::VecDeque;

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerEvent {
    /// The `event:` field; `message` when the server named none.
    pub event: String,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
    /// The `id:` field, if the event had one.
    pub id: Option<String>,
}

/// Turns a byte stream into [`ServerEvent`]s.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes not yet ending in a line break.
    pending: Vec<u8>,
    /// Whether the last byte seen was a `\r` (a `\n` right after it is the same line break).
    after_cr: bool,
    event: Option<String>,
    data: Option<String>,
    id: Option<String>,
    ready: VecDeque<ServerEvent>,
}

impl SseParser {
    /// Feeds the next bytes of the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            match byte {
                b'\n' if self.after_cr => self.after_cr = false,
                b'\n' | b'\r' => {
                    self.after_cr = byte == b'\r';
                    let line = std::mem::take(&mut self.pending);
                    self.line(&String::from_utf8_lossy(&line));
                }
                _ => {
                    self.after_cr = false;
                    self.pending.push(byte);
                }
            }
        }
    }

    /// Ends the stream: a last line without its line break still counts, but an event not
    /// closed by a blank line is dropped, as the standard says.
    pub fn finish(&mut self) {
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            self.line(&String::from_utf8_lossy(&line));
        }
        self.event = None;
        self.data = None;
    }

    /// The next complete event, if one is ready.
    pub fn next_event(&mut self) -> Option<ServerEvent> {
        self.ready.pop_front()
    }

    fn line(&mut self, line: &str) {
        if line.is_empty() {
            self.dispatch();
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_string()),
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            "id" if !value.contains('\0') => self.id = Some(value.to_string()),
            // `retry` is for browsers reconnecting; other fields are ignored by the standard.
            _ => {}
        }
    }

    fn dispatch(&mut self) {
        let event = self.event.take();
        if let Some(data) = self.data.take() {
            self.ready.push_back(ServerEvent {
                event: event
                    .filter(|name| !name.is_empty())
                    .unwrap_or_else(|| "message".to_string()),
                data,
                id: self.id.clone(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(pieces: &[&[u8]]) -> Vec<ServerEvent> {
        let mut parser = SseParser::default();
        let mut found = Vec::new();
        for piece in pieces {
            parser.push(piece);
            while let Some(event) = parser.next_event() {
                found.push(event);
            }
        }
        parser.finish();
        while let Some(event) = parser.next_event() {
            found.push(event);
        }
        found
    }

    #[test]
    fn parses_named_events_with_multi_line_data_across_piece_boundaries() {
        let found = events(&[
            b"event: generating\nda",
            b"ta: [1,\r\ndata: 2]\r",
            b"\n\r\n: a comment\nevent: complete\ndata:done\n\n",
        ]);
        assert_eq!(
            found,
            vec![
                ServerEvent {
                    event: "generating".into(),
                    data: "[1,\n2]".into(),
                    id: None
                },
                ServerEvent {
                    event: "complete".into(),
                    data: "done".into(),
                    id: None
                },
            ]
        );
    }

    #[test]
    fn unnamed_events_are_messages_and_ids_carry_over() {
        let found = events(&[b"id: 7\ndata: a\n\ndata: b\n\n"]);
        assert_eq!(found[0].event, "message");
        assert_eq!(found[0].id.as_deref(), Some("7"));
        assert_eq!(found[1].id.as_deref(), Some("7"));
    }

    #[test]
    fn an_event_without_data_or_without_its_blank_line_is_not_dispatched() {
        assert!(events(&[b"event: heartbeat\n\n"]).is_empty());
        assert!(events(&[b"event: x\ndata: cut off"]).is_empty());
    }
}
