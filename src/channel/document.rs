//! The channel document, `channel.json`: its format and its parser.
//!
//! ```json
//! {
//!   "schema": 1,
//!   "serial": 42,
//!   "issued": "2026-12-01T10:00:00Z",
//!   "expires": "2026-12-15T10:00:00Z",
//!   "withdrawn": [
//!     { "version": "1.2.0", "targets": ["*"], "reason": "corrupts config files on save",
//!       "replacement": "1.1.3" }
//!   ],
//!   "rollout": { "version": "1.2.1", "start": "2026-12-01T12:00:00Z", "hours": 48 },
//!   "critical": ["1.2.1"]
//! }
//! ```
//!
//! `schema`, `serial` and `issued` are required; `expires`, `withdrawn`,
//! `rollout` and `critical` are optional; fields this reader does not know are
//! ignored, so a later writer can add some. Parsing is strict about the
//! fields it knows: a version that is not semver, a timestamp that is not
//! `YYYY-MM-DDTHH:MM:SSZ`, an empty reason or an empty target list make the
//! whole document invalid, because it is signed and so a malformed field means
//! it is not what the tooling wrote.

use semver::Version;
use serde::{Deserialize, Serialize};

use super::time::Timestamp;
use super::ChannelError;

/// The largest document pane reads (bytes received, not `Content-Length`).
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

/// The only schema this reader knows.
pub const SCHEMA: u32 = 1;

/// The name the document is published and signed under.
pub const FILE_NAME: &str = "channel.json";

/// The signature beside it.
pub const SIGNATURE_FILE_NAME: &str = "channel.json.minisig";

/// The longest rollout a document may set: a year. Longer is a mistake (or
/// a way to hold a release back for good, which a withdrawal says openly).
pub const MAX_ROLLOUT_HOURS: f64 = 365.0 * 24.0;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelDocument {
    pub schema: u32,
    pub serial: u64,
    pub issued: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Timestamp>,
    #[serde(default)]
    pub withdrawn: Vec<Withdrawal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Rollout>,
    #[serde(default)]
    pub critical: Vec<Version>,
}

/// One withdrawn version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawal {
    pub version: Version,
    pub targets: Targets,
    pub reason: String,
    /// Where installations on `version` go instead. Optional: without one,
    /// they go to the highest verified version that is not withdrawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<Version>,
}

/// `["*"]` (every target) or a list of target triples.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub enum Targets {
    All,
    Only(Vec<String>),
}

impl Targets {
    pub fn matches(&self, target: &str) -> bool {
        match self {
            Targets::All => true,
            Targets::Only(list) => list.iter().any(|t| t == target),
        }
    }

    /// Whether some target is in both.
    pub fn overlaps(&self, other: &Targets) -> bool {
        match (self, other) {
            (Targets::All, _) | (_, Targets::All) => true,
            (Targets::Only(a), Targets::Only(b)) => a.iter().any(|t| b.contains(t)),
        }
    }
}

impl TryFrom<Vec<String>> for Targets {
    type Error = String;
    fn try_from(list: Vec<String>) -> Result<Targets, String> {
        if list.is_empty() {
            return Err("`targets` is empty (use [\"*\"] for every target)".into());
        }
        if list.iter().any(|t| t == "*") {
            return Ok(Targets::All);
        }
        if let Some(bad) = list
            .iter()
            .find(|t| t.is_empty() || !t.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(format!("{bad:?} is not a target triple"));
        }
        Ok(Targets::Only(list))
    }
}

impl From<Targets> for Vec<String> {
    fn from(targets: Targets) -> Vec<String> {
        match targets {
            Targets::All => vec!["*".to_string()],
            Targets::Only(list) => list,
        }
    }
}

/// A phased rollout of one version: it reaches the installations whose
/// rollout number is below the elapsed fraction of `hours` from `start`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rollout {
    pub version: Version,
    pub start: Timestamp,
    pub hours: f64,
}

/// When `rollout` reaches every installation.
pub fn rollout_end(rollout: &Rollout) -> Timestamp {
    // Whole seconds are enough here; `hours` is at most MAX_ROLLOUT_HOURS.
    rollout
        .start
        .plus_seconds((rollout.hours * 3600.0).ceil() as i64)
}

/// The latest a rollout in a document issued at `issued` may end.
pub fn rollout_limit(issued: Timestamp) -> Timestamp {
    issued.plus_seconds((MAX_ROLLOUT_HOURS * 3600.0) as i64)
}

impl ChannelDocument {
    /// Parses and checks a document (at most [`MAX_DOCUMENT_BYTES`]).
    pub fn parse(bytes: &[u8]) -> Result<ChannelDocument, ChannelError> {
        if bytes.len() > MAX_DOCUMENT_BYTES {
            return Err(ChannelError::Oversized {
                size: bytes.len(),
                limit: MAX_DOCUMENT_BYTES,
            });
        }
        // JSON is UTF-8, and the document is kept as text. serde_json skips
        // the strings of fields it does not know without reading them, so a
        // byte that is not UTF-8 there would pass `from_slice`.
        let text = std::str::from_utf8(bytes)
            .map_err(|e| ChannelError::InvalidJson(format!("it is not UTF-8 ({e})")))?;
        let document: ChannelDocument =
            serde_json::from_str(text).map_err(|e| ChannelError::InvalidJson(e.to_string()))?;
        document.check()?;
        Ok(document)
    }

    fn check(&self) -> Result<(), ChannelError> {
        let invalid = |why: String| Err(ChannelError::InvalidDocument(why));
        if self.schema != SCHEMA {
            return Err(ChannelError::UnsupportedSchema(self.schema));
        }
        if let Some(expires) = self.expires {
            if expires < self.issued {
                return invalid(format!(
                    "it expires ({expires}) before it was issued ({})",
                    self.issued
                ));
            }
        }
        for withdrawal in &self.withdrawn {
            if withdrawal.reason.trim().is_empty() {
                return invalid(format!(
                    "the withdrawal of {} has no reason",
                    withdrawal.version
                ));
            }
            if withdrawal.replacement.as_ref() == Some(&withdrawal.version) {
                return invalid(format!("{} is its own replacement", withdrawal.version));
            }
        }
        if let Some(rollout) = &self.rollout {
            if !(0.0..=MAX_ROLLOUT_HOURS).contains(&rollout.hours) {
                return invalid(format!(
                    "the rollout of {} lasts {} hours",
                    rollout.version, rollout.hours
                ));
            }
            // A start far ahead would hold the release back for good as
            // surely as endless hours: the whole rollout ends within a year
            // of the document's issue.
            if rollout_end(rollout) > rollout_limit(self.issued) {
                return invalid(format!(
                    "the rollout of {} ends after {}, more than a year after the document was issued",
                    rollout.version,
                    rollout_limit(self.issued)
                ));
            }
        }
        Ok(())
    }

    /// The withdrawal of `version` that applies on `target`, if any.
    pub fn withdrawal(&self, version: &Version, target: &str) -> Option<&Withdrawal> {
        self.withdrawn
            .iter()
            .find(|w| &w.version == version && w.targets.matches(target))
    }

    pub fn is_critical(&self, version: &Version) -> bool {
        self.critical.contains(version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{
      "schema": 1,
      "serial": 42,
      "issued": "2026-12-01T10:00:00Z",
      "expires": "2026-12-15T10:00:00Z",
      "withdrawn": [
        { "version": "1.2.0", "targets": ["*"], "reason": "corrupts config files on save", "replacement": "1.1.3" },
        { "version": "1.1.9", "targets": ["aarch64-apple-darwin"], "reason": "crashes at start" }
      ],
      "rollout": { "version": "1.2.1", "start": "2026-12-01T12:00:00Z", "hours": 48 },
      "critical": ["1.2.1"],
      "mirrors_note": "a field from a later writer",
      "extra": { "nested": [1, 2] }
    }"#;

    #[test]
    fn the_issue_example_parses_and_unknown_fields_are_ignored() {
        let document = ChannelDocument::parse(EXAMPLE.as_bytes()).unwrap();
        assert_eq!(document.serial, 42);
        assert_eq!(document.issued.to_string(), "2026-12-01T10:00:00Z");
        assert_eq!(
            document.expires,
            Some(Timestamp::parse("2026-12-15T10:00:00Z").unwrap())
        );
        let v120 = Version::new(1, 2, 0);
        let withdrawal = document
            .withdrawal(&v120, "x86_64-unknown-linux-musl")
            .unwrap();
        assert_eq!(withdrawal.replacement, Some(Version::new(1, 1, 3)));
        assert_eq!(withdrawal.targets, Targets::All);
        let v119 = Version::new(1, 1, 9);
        assert!(document.withdrawal(&v119, "aarch64-apple-darwin").is_some());
        assert!(document.withdrawal(&v119, "x86_64-apple-darwin").is_none());
        assert_eq!(document.rollout.as_ref().unwrap().hours, 48.0);
        assert!(document.is_critical(&Version::new(1, 2, 1)));
        assert!(!document.is_critical(&v120));
    }

    #[test]
    fn a_minimal_document_parses() {
        let document =
            ChannelDocument::parse(br#"{"schema":1,"serial":1,"issued":"2026-12-01T10:00:00Z"}"#)
                .unwrap();
        assert!(document.withdrawn.is_empty() && document.critical.is_empty());
        assert_eq!(document.rollout, None);
        assert_eq!(document.expires, None);
    }

    #[test]
    fn refusals() {
        let base = r#""schema":1,"serial":1,"issued":"2026-12-01T10:00:00Z""#;
        let w = |body: &str| format!(r#"{{{base},"withdrawn":[{body}]}}"#);
        let cases: Vec<(String, &str)> = vec![
            ("".into(), "json"),
            ("[]".into(), "json"),
            (r#"{"schema":1,"serial":1}"#.into(), "json"),
            (
                r#"{"schema":1,"serial":-1,"issued":"2026-12-01T10:00:00Z"}"#.into(),
                "json",
            ),
            (
                r#"{"schema":1,"serial":1,"issued":"2026-12-01"}"#.into(),
                "json",
            ),
            (
                r#"{"schema":2,"serial":1,"issued":"2026-12-01T10:00:00Z"}"#.into(),
                "schema",
            ),
            (
                format!(r#"{{{base},"expires":"2026-11-01T10:00:00Z"}}"#),
                "document",
            ),
            (format!(r#"{{{base},"critical":["one"]}}"#), "json"),
            (
                w(r#"{"version":"1.2.0","targets":[],"reason":"x"}"#),
                "json",
            ),
            (
                w(r#"{"version":"1.2.0","targets":["a b"],"reason":"x"}"#),
                "json",
            ),
            (w(r#"{"version":"1.2.0","reason":"x"}"#), "json"),
            (
                w(r#"{"version":"1.2.0","targets":["*"],"reason":" "}"#),
                "document",
            ),
            (
                w(r#"{"version":"1.2.0","targets":["*"],"reason":"x","replacement":"1.2.0"}"#),
                "document",
            ),
            (
                format!(
                    r#"{{{base},"rollout":{{"version":"1.2.1","start":"2026-12-01T12:00:00Z","hours":-1}}}}"#
                ),
                "document",
            ),
            (
                format!(
                    r#"{{{base},"rollout":{{"version":"1.2.1","start":"2026-12-01T12:00:00Z","hours":1e300}}}}"#
                ),
                "document",
            ),
            (
                format!(
                    r#"{{{base},"rollout":{{"version":"1.2.1","start":"2026-12-01T12:00:00Z","hours":8760.5}}}}"#
                ),
                "document",
            ),
        ];
        for (text, kind) in cases {
            let error = ChannelDocument::parse(text.as_bytes()).unwrap_err();
            let matched = match kind {
                "json" => matches!(error, ChannelError::InvalidJson(_)),
                "schema" => matches!(error, ChannelError::UnsupportedSchema(2)),
                _ => matches!(error, ChannelError::InvalidDocument(_)),
            };
            assert!(matched, "{text}: {error:?}");
        }
    }

    #[test]
    fn the_size_cap_is_checked_before_parsing() {
        let mut big = format!(
            r#"{{"schema":1,"serial":1,"issued":"2026-12-01T10:00:00Z","pad":"{}"}}"#,
            "x".repeat(MAX_DOCUMENT_BYTES)
        );
        assert!(matches!(
            ChannelDocument::parse(big.as_bytes()),
            Err(ChannelError::Oversized { .. })
        ));
        // Exactly at the cap is fine.
        let fixed = r#"{"schema":1,"serial":1,"issued":"2026-12-01T10:00:00Z","pad":""}"#.len();
        big = format!(
            r#"{{"schema":1,"serial":1,"issued":"2026-12-01T10:00:00Z","pad":"{}"}}"#,
            "x".repeat(MAX_DOCUMENT_BYTES - fixed)
        );
        assert_eq!(big.len(), MAX_DOCUMENT_BYTES);
        assert!(ChannelDocument::parse(big.as_bytes()).is_ok());
    }

    #[test]
    fn targets_match_and_overlap() {
        let all = Targets::All;
        let mac = Targets::Only(vec!["aarch64-apple-darwin".into()]);
        let linux = Targets::Only(vec!["x86_64-unknown-linux-musl".into()]);
        assert!(all.matches("anything"));
        assert!(mac.matches("aarch64-apple-darwin") && !mac.matches("x86_64-apple-darwin"));
        assert!(all.overlaps(&mac) && mac.overlaps(&all) && mac.overlaps(&mac));
        assert!(!mac.overlaps(&linux));
        let json = serde_json::to_string(&all).unwrap();
        assert_eq!(json, r#"["*"]"#);
    }
}
