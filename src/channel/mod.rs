//! The release channel: a small signed document (`channel.json`) through
//! which the maintainers withdraw a release, phase a rollout, mark a release
//! critical; and the update policy (`notify`, `auto`, `off`) that says what
//! an installation does about it.
//!
//! The pieces, none of which prints or reads the environment:
//! - [`document`]: the format and its parser (64 KiB at most, unknown fields
//!   ignored);
//! - [`verify`]: the signature, by a key of the channel role;
//! - [`state`]: the last accepted document, kept so that a replay or a
//!   withheld document cannot undo a withdrawal (TUF's rollback attack);
//! - [`decide`]: withdrawn or not, the downgrade floor, the replacement, the
//!   compiled-in minimum, the freeze;
//! - [`rollout`]: the installation's rollout number and when a phased
//!   release reaches it;
//! - [`plan`]: what `update` without a version does, given all of the above;
//! - [`policy`]: the update policy and where it comes from;
//! - [`time`]: UTC timestamps and a clock that tests can fix.
//!
//! # Security model
//!
//! Two key roles, each its own secret: **release keys** (`keys/*.pub`) sign
//! `SHA256SUMS` and so say which bytes are pane; **channel keys**
//! (`keys/channel/*.pub`) sign `channel.json` and so say which of those
//! releases an installation should run. Neither role can do the other's job:
//! the channel verifier refuses a release key by name, and the release
//! verifier is given only release keys; the trusted comments also differ
//! (`file:channel.json` against `file:SHA256SUMS`).
//!
//! What a stolen **channel key** can do, within these bounds:
//! - withdraw good releases, and so send installations to another release
//!   (a downgrade) or make `update` refuse the newest one;
//! - hold a release back by a long rollout, or mark one critical so that its
//!   notice shows on every run;
//! - sign documents with ever higher serials, so that the maintainers' next
//!   document must carry a serial above the thief's (and the key be revoked in
//!   a release, since a revoked key's documents are refused and its serials
//!   no longer count).
//!
//! What it cannot do:
//! - make pane install anything a release key did not sign: every version it
//!   names is still fetched and checked through `SHA256SUMS` and its release
//!   signature;
//! - send an installation below the minimum version compiled into the running
//!   release ([`decide::minimum_version`]), nor to a withdrawn version (a
//!   replacement that is itself withdrawn is refused), so it cannot replay an
//!   old, vulnerable release onto the fleet;
//! - move an installation that did not ask for pre-releases onto one: a
//!   pre-release named as a replacement counts as none there
//!   ([`decide::takes_prereleases`]);
//! - undo a withdrawal it did not sign by replaying an older document or by
//!   withholding the document: the installation keeps the highest serial it
//!   has accepted under each key, and the stored document even where the
//!   running pane cannot verify it ([`state`]);
//! - hide behind an expired document: past `expires` pane says that release
//!   information may be withheld (a freeze), though nothing fails.
//!
//! What a stolen **release key** cannot do with the channel: sign a channel
//! document (refused as [`ChannelError::ReleaseKey`]), and so neither withdraw
//! releases nor lift a withdrawal; its releases are still subject to the
//! channel's withdrawals and rollouts.
//!
//! Limits: a channel document is only as fresh as the last one the
//! installation fetched; a server that withholds new documents delays a
//! withdrawal until `expires` makes the freeze visible. Every rejection here
//! is a typed [`ChannelError`] that the caller turns into a warning: an
//! update goes on as if there were no new document.

pub mod decide;
pub mod document;
pub mod plan;
pub mod policy;
pub mod rollout;
pub mod state;
pub mod time;
pub mod verify;

#[cfg(test)]
mod tests;

pub use document::{ChannelDocument, Rollout, Targets, Withdrawal};
pub use state::{accept, Acceptance, ChannelEvent, ChannelStore, Fetched, StoredState};
pub use time::{Clock, Timestamp};
pub use verify::{verify_document, ChannelKeys, VerifiedChannel};

/// Where the channel document is fetched from (its signature is the same
/// URL plus `.minisig`): `PANE_CHANNEL_URL` if set; else, on a mirror
/// (`PANE_RELEASES_URL` set), `<PANE_RELEASES_URL>/download/channel/channel.json`;
/// else `channel.json` on the repository's `channel` branch, read through
/// GitHub's raw-content host. The arguments are those variables' values.
pub fn document_url(channel_url: Option<&str>, releases_url: Option<&str>) -> String {
    if let Some(url) = channel_url.filter(|u| !u.is_empty()) {
        return url.to_string();
    }
    if let Some(base) = releases_url.filter(|u| !u.is_empty()) {
        return format!(
            "{}/download/channel/{}",
            base.trim_end_matches('/'),
            document::FILE_NAME
        );
    }
    let repository = env!("CARGO_PKG_REPOSITORY").trim_end_matches('/');
    let owner_repo = repository.trim_start_matches("https://github.com/");
    format!(
        "https://raw.githubusercontent.com/{owner_repo}/channel/{}",
        document::FILE_NAME
    )
}

/// The signature's URL beside a document URL.
pub fn signature_url(document_url: &str) -> String {
    format!("{document_url}.minisig")
}

/// Why a channel document was not accepted. Each is a warning for the user:
/// the update carries on as if there were no (new) document.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    #[error("the channel document is {size} bytes, more than the {limit} pane reads")]
    Oversized { size: usize, limit: usize },
    #[error("the channel document is not valid JSON of the expected form: {0}")]
    InvalidJson(String),
    #[error("the channel document is invalid: {0}")]
    InvalidDocument(String),
    #[error("the channel document has schema {0}, which this pane does not know")]
    UnsupportedSchema(u32),
    #[error("public key {name} is not a minisign Ed25519 public key")]
    BadPublicKey { name: String },
    #[error("keys/revoked holds {0:?}, which is not a 16-hex-digit key id")]
    BadRevokedId(String),
    #[error("channel.json.minisig is not a minisign signature")]
    MalformedSignature,
    #[error("channel.json.minisig is a legacy (non-prehashed) signature, which pane refuses")]
    LegacySignature,
    #[error("channel.json was signed by key {key_id}, which has been revoked")]
    RevokedKey { key_id: String },
    #[error(
        "channel.json was signed by key {key_id}, a release key: only a channel key may sign it"
    )]
    ReleaseKey { key_id: String },
    #[error("channel.json was signed by key {key_id}, which is not one of {origin}")]
    UnknownKey { key_id: String, origin: String },
    #[error("the signature of channel.json does not verify under key {key_id}: the file or its signature was altered")]
    BadSignature { key_id: String },
    #[error("the trusted comment of channel.json is malformed: {0}")]
    MalformedComment(String),
    #[error("the signed channel document is for product {found:?}, not pane")]
    WrongProduct { found: String },
    #[error("the signature covers {found:?}, not channel.json")]
    WrongFile { found: String },
    #[error("the signature is for serial {signed}, but the document says {document}")]
    SerialMismatch { signed: u64, document: u64 },
}
