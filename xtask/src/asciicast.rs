//! asciicast v2, the format of asciinema's recordings: a header line (a JSON
//! object with `version` 2, `width` and `height`), then one line per event,
//! `[time, "o", text]`: `text` written to the terminal `time` seconds after
//! the start, times never decreasing.
//!
//! [`Recorder`] turns a byte stream read from a pipe into such events, and
//! [`Cast`] writes, reads (and so checks) and retimes a recording.

use std::io::{self, Write};
use std::time::Duration;

use crate::error::{Context, Result};

/// The header line's fields pane's recordings use.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    /// Terminal columns.
    pub width: u32,
    /// Terminal rows.
    pub height: u32,
    pub title: Option<String>,
    /// Players shorten pauses longer than this many seconds to it.
    pub idle_time_limit: Option<f64>,
}

/// One output event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Seconds since the start.
    pub time: f64,
    /// What was written to the terminal (lines end in `\r\n`).
    pub text: String,
}

/// A whole recording.
#[derive(Clone, Debug, PartialEq)]
pub struct Cast {
    pub header: Header,
    pub events: Vec<Event>,
}

/// Keeps output as it arrives, in chunks of any size, as [`Event`]s: a
/// multi-byte character split across two reads is held back until it is
/// whole, `\n` becomes the `\r\n` a terminal needs, and times never go back.
#[derive(Debug, Default)]
pub struct Recorder {
    events: Vec<Event>,
    pending: Vec<u8>,
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// `bytes` arrived `at` after the start.
    pub fn push(&mut self, at: Duration, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        let whole = match std::str::from_utf8(&self.pending) {
            Ok(_) => self.pending.len(),
            // An incomplete character at the end: keep it for the next read.
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            // Not UTF-8: shown as U+FFFD rather than dropped.
            Err(_) => self.pending.len(),
        };
        let text = String::from_utf8_lossy(&self.pending[..whole]).into_owned();
        self.pending.drain(..whole);
        self.emit(at, &text);
    }

    fn emit(&mut self, at: Duration, text: &str) {
        if text.is_empty() {
            return;
        }
        let last = self.events.last().map_or(0.0, |e| e.time);
        // Microseconds, as asciinema writes them.
        let time = ((at.as_secs_f64() * 1e6).round() / 1e6).max(last);
        let text = text.replace("\r\n", "\n").replace('\n', "\r\n");
        self.events.push(Event { time, text });
    }

    /// The events, with whatever was held back (as U+FFFD) at `at`.
    pub fn finish(mut self, at: Duration) -> Vec<Event> {
        let rest = String::from_utf8_lossy(&std::mem::take(&mut self.pending)).into_owned();
        self.emit(at, &rest);
        self.events
    }
}

impl Cast {
    /// Writes the header line and one line per event.
    pub fn write_to(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut header = serde_json::json!({
            "version": 2,
            "width": self.header.width,
            "height": self.header.height,
            "env": {"TERM": "xterm-256color", "SHELL": "/bin/sh"},
        });
        if let Some(title) = &self.header.title {
            header["title"] = title.as_str().into();
        }
        if let Some(limit) = self.header.idle_time_limit {
            header["idle_time_limit"] = limit.into();
        }
        writeln!(out, "{header}")?;
        for event in &self.events {
            let text = serde_json::to_string(&event.text).map_err(io::Error::other)?;
            writeln!(out, "[{:.6}, \"o\", {text}]", event.time)?;
        }
        out.flush()
    }

    /// Reads a v2 recording, refusing anything else: another version, a
    /// header without a width or height, an event that is not
    /// `[time, code, text]`, or a time before the one above it. Events other
    /// than output (`i`nput, `m`arkers, `r`esizes) are checked and skipped.
    pub fn parse(text: &str) -> Result<Cast> {
        let mut lines = text.lines().enumerate();
        let Some((_, first)) = lines.next() else {
            crate::bail!("the recording is empty");
        };
        let header: serde_json::Value =
            serde_json::from_str(first).context("line 1 (the header) is not JSON")?;
        if header["version"] != 2 {
            crate::bail!("the header's version is {}, not 2", header["version"]);
        }
        let size = |name: &str| -> Result<u32> {
            header[name]
                .as_u64()
                .filter(|n| *n > 0)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| crate::Error::msg(format!("the header has no positive {name}")))
        };
        let header = Header {
            width: size("width")?,
            height: size("height")?,
            title: header["title"].as_str().map(str::to_string),
            idle_time_limit: header["idle_time_limit"].as_f64(),
        };
        let mut events = Vec::new();
        let mut last = 0.0;
        for (index, line) in lines.filter(|(_, line)| !line.trim().is_empty()) {
            let at = || format!("line {}", index + 1);
            let event: (f64, String, String) = serde_json::from_str(line)
                .with_context(|| format!("{} is not [time, code, text]", at()))?;
            let (time, code, text) = event;
            if !(time >= last && time.is_finite()) {
                crate::bail!("{}: time {time} comes before {last}", at());
            }
            last = time;
            if code == "o" {
                events.push(Event { time, text });
            }
        }
        Ok(Cast { header, events })
    }

    /// Seconds from the start to the last event.
    pub fn duration(&self) -> f64 {
        self.events.last().map_or(0.0, |e| e.time)
    }

    /// The same recording retimed for watching: every pause longer than
    /// `limit` seconds shortened to `limit` (what players do with
    /// `idle_time_limit`), then the pause before each event made at least
    /// `at_least(its text)` seconds.
    pub fn with_pauses(&self, limit: f64, at_least: impl Fn(&str) -> f64) -> Cast {
        let mut events = Vec::with_capacity(self.events.len());
        let (mut before, mut now) = (0.0, 0.0);
        for event in &self.events {
            now += (event.time - before).min(limit).max(at_least(&event.text));
            before = event.time;
            events.push(Event {
                time: (now * 1e6).round() / 1e6,
                text: event.text.clone(),
            });
        }
        Cast {
            header: self.header.clone(),
            events,
        }
    }

    /// The widest line written, in characters.
    pub fn widest_line(&self) -> usize {
        let all: String = self.events.iter().map(|e| e.text.as_str()).collect();
        all.split('\n')
            .map(|line| line.trim_end_matches('\r').chars().count())
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// The recording as written, read back with nothing but serde_json.
    fn written(cast: &Cast) -> (serde_json::Value, Vec<(f64, String, String)>) {
        let mut bytes = Vec::new();
        cast.write_to(&mut bytes).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.ends_with('\n'));
        let mut lines = text.lines();
        let header = serde_json::from_str(lines.next().unwrap()).unwrap();
        let events = lines
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
            .collect();
        (header, events)
    }

    #[test]
    fn the_writer_makes_valid_v2_from_chunks_as_they_come() {
        let mut recorder = Recorder::new();
        let check = "✓ pane 1.0.0 → 1.2.0\n".as_bytes();
        recorder.push(ms(500), b"$ pane self update\n");
        // A character split across two reads, and a clock that went back.
        recorder.push(ms(900), &[b"a\n", &check[..1]].concat());
        recorder.push(ms(800), &check[1..]);
        recorder.push(ms(1200), b"done\r\nnext\n");
        recorder.push(ms(1300), &[0xff]);
        let events = recorder.finish(ms(1400));
        let cast = Cast {
            header: Header {
                width: 100,
                height: 30,
                title: Some("pane \"demo\"".into()),
                idle_time_limit: Some(1.0),
            },
            events,
        };
        let (header, events) = written(&cast);
        assert_eq!(header["version"], 2);
        assert_eq!(header["width"], 100);
        assert_eq!(header["height"], 30);
        assert_eq!(header["title"], "pane \"demo\"");
        assert_eq!(header["idle_time_limit"], 1.0);
        let mut last = 0.0;
        for (time, code, _) in &events {
            assert_eq!(code, "o");
            assert!(*time >= last, "{time} after {last}");
            last = *time;
        }
        let times: Vec<f64> = events.iter().map(|e| e.0).collect();
        assert_eq!(times, [0.5, 0.9, 0.9, 1.2, 1.3]);
        let text: String = events.iter().map(|e| e.2.as_str()).collect();
        assert_eq!(
            text,
            "$ pane self update\r\na\r\n✓ pane 1.0.0 → 1.2.0\r\ndone\r\nnext\r\n\u{fffd}"
        );
        // And the reader agrees with serde_json.
        let mut bytes = Vec::new();
        cast.write_to(&mut bytes).unwrap();
        assert_eq!(
            Cast::parse(std::str::from_utf8(&bytes).unwrap()).unwrap(),
            cast
        );
    }

    #[test]
    fn a_split_character_at_the_end_is_not_lost() {
        let mut recorder = Recorder::new();
        recorder.push(ms(10), &"→".as_bytes()[..2]);
        let events = recorder.finish(ms(20));
        assert_eq!(
            events,
            [Event {
                time: 0.02,
                text: "\u{fffd}".into()
            }]
        );
    }

    #[test]
    fn the_reader_refuses_what_is_not_v2() {
        let ok = "{\"version\": 2, \"width\": 80, \"height\": 24}\n[0.1, \"o\", \"a\"]\n";
        assert_eq!(Cast::parse(ok).unwrap().events.len(), 1);
        for (bad, why) in [
            ("", "empty"),
            ("{\"version\": 1, \"width\": 80, \"height\": 24}\n", "version"),
            ("{\"version\": 2, \"height\": 24}\n", "width"),
            ("{\"version\": 2, \"width\": 80, \"height\": 0}\n", "height"),
            ("{\"version\": 2, \"width\": 80, \"height\": 24}\n[0.2, \"o\", \"a\"]\n[0.1, \"o\", \"b\"]\n", "comes before"),
            ("{\"version\": 2, \"width\": 80, \"height\": 24}\n[0.2, \"o\"]\n", "[time, code, text]"),
            ("{\"version\": 2, \"width\": 80, \"height\": 24}\n{\"t\": 1}\n", "[time, code, text]"),
        ] {
            let error = Cast::parse(bad).unwrap_err().to_string();
            assert!(error.contains(why), "{bad:?}: {error}");
        }
    }

    #[test]
    fn long_pauses_are_capped_and_marked_ones_held() {
        let event = |time: f64| Event {
            time,
            text: "x".into(),
        };
        let cast = Cast {
            header: Header {
                width: 80,
                height: 24,
                title: None,
                idle_time_limit: None,
            },
            events: vec![event(0.2), event(5.2), event(5.5), event(9.0)],
        };
        let capped = cast.with_pauses(1.0, |_| 0.0);
        let times: Vec<f64> = capped.events.iter().map(|e| e.time).collect();
        assert_eq!(times, [0.2, 1.2, 1.5, 2.5]);
        assert_eq!(capped.duration(), 2.5);
        // Held: the pause before "y" lengthened to 0.8, the long one still capped.
        let mut held = cast.clone();
        held.events[2].text = "y".into();
        let held = held.with_pauses(1.0, |text| if text == "y" { 0.8 } else { 0.0 });
        let times: Vec<f64> = held.events.iter().map(|e| e.time).collect();
        assert_eq!(times, [0.2, 1.2, 2.0, 3.0]);
        assert_eq!(cast.widest_line(), 4);
    }
}
