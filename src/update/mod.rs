//! The update pipeline. None of it prints: progress goes through
//! [`Progress`](source::Progress) and notices through [`Events`]; the commands
//! decide what the user sees.
//!
//! Order of an update (each step only after the one before succeeded):
//! 1. take the update lock; finish or drop a swap a crash interrupted
//!    (`Receipt::pending`) and remove `.pane-tmp-*` leftovers;
//! 2. find the version: "latest" from `<releases>/latest/download/` (its
//!    version is read from the signed trusted comment), an exact one from
//!    `<releases>/download/v<V>/`, a requirement or a pre-release through the
//!    listing API, then fetched exactly;
//! 3. verify `SHA256SUMS.minisig` → trusted comment → the one `SHA256SUMS`
//!    line for the archive name computed here (see [`verify`]);
//! 4. download the archive to the data dir, hashing while it streams, and
//!    compare; only then decompress. Over the network the download may
//!    start as soon as the version is known, alongside step 3
//!    (`prefetch.rs`); nothing reads it before step 3 has passed;
//! 5. stage, smoke-test, keep and swap (see [`swap`]), then write the
//!    receipt: the [`Transaction`] that every change goes through.
//!
//! `docs/architecture.md` maps each step to its file.
//!
//! Any failure before the swap leaves the install path, the kept versions and
//! the receipt exactly as they were and removes what this run created.

mod ahead;
pub mod archive;
pub mod channel_view;
pub mod choose;
mod context;
pub mod digest;
mod error;
mod fetch_error;
mod listing;
pub mod lock;
pub mod manual;
pub mod network;
pub mod pace;
mod pin;
mod prefetch;
pub mod receipt;
pub mod sink;
pub mod source;
pub mod swap;
pub mod transaction;
mod updater;
pub mod verify;

pub use context::{ChannelConfig, Context, Events, PolicyFiles, AUTO_LOG_FILE, CHECK_CACHE_FILE};
pub use error::UpdateError;
pub use pin::{parse_version, Outcome, Pin, UpdateOptions, Want};
pub use transaction::{recover, Transaction};
pub use updater::{Resolved, Updater};

/// Reads the receipt for display, without the lock and without repairing.
pub fn read_receipt(ctx: &Context) -> Result<Option<receipt::Receipt>, UpdateError> {
    Ok(receipt::load(&ctx.receipt_path())?)
}
