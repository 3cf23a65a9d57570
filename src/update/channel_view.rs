//! The channel document as the pipeline uses it: fetched from the channel
//! URL under the small-file cap, verified under the channel keys, and
//! accepted through the anti-replay store in the data dir
//! ([`crate::channel::state`]). Every rejection is a warning: the command
//! carries on with the document accepted before, or with none.

use std::sync::Arc;

use semver::Version;

use super::source::{FetchError, Source};
use super::Context;
use crate::channel::decide::{is_frozen, replacement, ReplacementError};
use crate::channel::document::{MAX_DOCUMENT_BYTES, SIGNATURE_FILE_NAME};
use crate::channel::rollout::{availability, number_or_draw, Availability, RolloutNumber};
use crate::channel::verify::MAX_SIGNATURE_BYTES;
use crate::channel::{accept, ChannelDocument, ChannelEvent, ChannelStore, Fetched, Timestamp};
use crate::channel::{StoredState, Withdrawal};

/// The document that applies now, with this installation's rollout number.
#[derive(Clone, Debug)]
pub struct ChannelView {
    pub document: Option<ChannelDocument>,
    /// What the user should be told (refused, replayed, withheld documents).
    pub warnings: Vec<String>,
    pub number: RolloutNumber,
    /// Whether `number` is kept in the channel state (drawn before, or now
    /// with the first document); until then it is drawn afresh each run.
    pub number_kept: bool,
    pub now: Timestamp,
}

impl ChannelView {
    pub fn serial(&self) -> Option<u64> {
        self.document.as_ref().map(|d| d.serial)
    }

    /// Past the document's `expires`: release information may be withheld.
    pub fn frozen(&self) -> bool {
        self.document
            .as_ref()
            .is_some_and(|d| is_frozen(d, self.now))
    }

    pub fn withdrawal(&self, version: &Version, target: &str) -> Option<&Withdrawal> {
        self.document.as_ref()?.withdrawal(version, target)
    }

    /// The replacement the document names for `version` on `target`, as an
    /// installation running `running` may use it
    /// ([`crate::channel::decide::replacement`]): `Ok(None)` without a
    /// document, a withdrawal or a replacement.
    pub fn replacement(
        &self,
        version: &Version,
        target: &str,
        running: &Version,
        prereleases: bool,
    ) -> Result<Option<Version>, ReplacementError> {
        match &self.document {
            Some(document) => replacement(document, version, target, running, prereleases),
            None => Ok(None),
        }
    }

    pub fn is_critical(&self, version: &Version) -> bool {
        self.document
            .as_ref()
            .is_some_and(|d| d.is_critical(version))
    }

    /// Whether `version` is available to this installation now.
    pub fn availability(&self, version: &Version) -> Availability {
        match &self.document {
            Some(document) => availability(document, version, self.number, self.now),
            None => Availability::Available,
        }
    }
}

/// Fetches the document and accepts it if it is newer than the stored one;
/// the state file is then rewritten with what changed.
pub fn refresh(ctx: &Context, source: &Arc<Source>) -> ChannelView {
    let fetched = fetch(ctx, source);
    view(ctx, Some(fetched))
}

/// The stored document only, without the network (status, list, the notice,
/// rollback). It never changes the state file, bar a first draw of the
/// rollout number.
pub fn stored(ctx: &Context) -> ChannelView {
    view(ctx, None)
}

/// The document and its signature, fetched at once (their round trips
/// overlap); a missing document makes the signature's answer moot.
fn fetch(ctx: &Context, source: &Arc<Source>) -> Fetched {
    let url = &ctx.channel.url;
    let signature_url = crate::channel::signature_url(url);
    // A missing document (the usual answer before a first one) is the answer at once,
    // whatever the signature does.
    let signature = source.fetch_small_apart(signature_url, MAX_SIGNATURE_BYTES as u64);
    let bytes = match source.fetch_small(url, MAX_DOCUMENT_BYTES as u64) {
        Ok((bytes, _)) => bytes,
        Err(FetchError::NotFound { .. }) => return Fetched::Missing,
        Err(error) => return Fetched::Failed(error.to_string()),
    };
    match signature.wait() {
        Ok((signature, _)) => match String::from_utf8(signature) {
            Ok(signature) => Fetched::Document { bytes, signature },
            Err(_) => Fetched::Failed(format!("{SIGNATURE_FILE_NAME} is not text")),
        },
        Err(error) => Fetched::Failed(error.to_string()),
    }
}

fn view(ctx: &Context, fetched: Option<Fetched>) -> ChannelView {
    let now = ctx.channel.clock.now();
    let store = ChannelStore::in_dir(&ctx.data_dir);
    let mut warnings = Vec::new();
    let loaded = match store.load() {
        Ok(state) => Some(state),
        Err(error) => {
            warnings.push(format!("ignoring the channel state: {error}"));
            None
        }
    };
    let mut state = loaded.clone().unwrap_or_default();
    let offline = fetched.is_none();
    let mut document = None;
    match &ctx.channel.keys {
        Ok(keys) => {
            let acceptance = accept(&mut state, fetched.unwrap_or(Fetched::Missing), keys);
            document = acceptance.current.map(|c| c.document);
            for event in acceptance.events {
                if offline && matches!(event, ChannelEvent::Withheld { .. }) {
                    continue;
                }
                warnings.extend(warning(&event));
            }
        }
        Err(error) => warnings.push(format!("cannot read the channel keys: {error}")),
    }
    let (number, drawn, mut number_kept) = match number_or_draw(&mut state.rollout_number) {
        Ok((number, drawn)) => (number, drawn, !drawn),
        Err(_) => (RolloutNumber::from_random_bytes([0xff; 8]), false, false),
    };
    // Only an installation pane manages keeps state (its data dir exists),
    // and an unreadable file is left for the user to look at.
    if let Some(loaded) = loaded.filter(|_| ctx.data_dir.is_dir()) {
        // Offline, nothing but a first draw of the number is written: what
        // the network did not bring is never evidence to drop or replace
        // what an earlier (or a newer) pane stored.
        let mut ours = if offline {
            StoredState {
                rollout_number: state.rollout_number,
                ..loaded.clone()
            }
        } else {
            state
        };
        // The number is kept once there is a document for it to matter to.
        if drawn && document.is_none() {
            ours.rollout_number = loaded.rollout_number;
        }
        if ours != loaded {
            match store.save_over(&loaded, &ours) {
                // Kept when the file now holds it (another pane may have
                // stored its own draw first).
                Ok(saved) if drawn => {
                    number_kept = saved.rollout_number == Some(number.value());
                }
                Ok(_) => {}
                Err(error) => warnings.push(error.to_string()),
            }
        }
    }
    ChannelView {
        document,
        warnings,
        number,
        number_kept,
        now,
    }
}

/// The user's words for a channel event, if it is a warning.
fn warning(event: &ChannelEvent) -> Option<String> {
    Some(match event {
        ChannelEvent::Accepted { .. } | ChannelEvent::Unchanged { .. } => return None,
        ChannelEvent::Rejected(error) => format!("ignored the channel document: {error}"),
        ChannelEvent::Replayed { offered, held } => format!(
            "ignored the channel document with serial {offered}: serial {held} was accepted before (an old document replayed?)"
        ),
        ChannelEvent::Conflict { serial } => format!(
            "ignored a channel document with serial {serial} that differs from the one accepted with that serial"
        ),
        ChannelEvent::Withheld { held } => format!(
            "the server no longer serves the channel document; serial {held}, accepted before, still applies"
        ),
        ChannelEvent::FetchFailed(why) => {
            format!("could not fetch the channel document ({why}); going on without a new one")
        }
        ChannelEvent::StoredRevoked(error) => {
            format!("dropped the channel document accepted before: {error}")
        }
        ChannelEvent::StoredUnusable { serial, error } => format!(
            "the channel document accepted before{} does not apply here: {error}; it is kept (a newer pane may read it), and older documents are still refused",
            serial.map_or(String::new(), |s| format!(" (serial {s})"))
        ),
    })
}
