//! The one way pane changes an installation: `update`, `pin`, `rollback` and
//! `self install` all go through [`Transaction`], so a rule added here holds
//! for every one of them.
//!
//! 1. [`Transaction::lock`]: the update lock; then [`Transaction::receipt`]
//!    reads the receipt and [`recover`]s what a crash left (a journaled swap is
//!    finished or dropped, `.pane-tmp-*` leftovers go);
//! 2. the caller stages the new binary in the install directory
//!    ([`swap::stage_from_archive`], [`swap::stage_kept`],
//!    [`swap::stage_copy`]);
//! 3. [`Transaction::commit`]: smoke test, keep (under `versions/`), journal
//!    the change in the receipt, swap, write the final receipt, prune.
//!
//! Any failure before the swap leaves the install path, the kept versions and
//! the receipt as they were and removes what this run created.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use semver::Version;

use super::receipt::{self, KeptVersion, Pending, Receipt};
use super::swap::{self, Staged};
use super::{digest, lock, prefetch, Context, Events, UpdateError};
use crate::{failpoint, platform};

/// An installation under the update lock; dropping it releases the lock.
pub struct Transaction<'a> {
    ctx: &'a Context,
    _lock: lock::UpdateLock,
}

/// Which binaries a change keeps under `versions/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// The incoming one (`self install`).
    Incoming,
    /// The incoming one and the one it replaces (`update`, `pin`).
    IncomingAndOutgoing,
    /// Both are kept already (`rollback` restores a kept one).
    Nothing,
}

/// A change to the installation: a staged binary (or `None` when the binary in
/// place already is `version`), and what to keep.
pub struct Change {
    pub staged: Option<Staged>,
    pub version: Version,
    pub keep: Keep,
}

/// What [`Transaction::commit`] kept, for the new receipt.
pub struct Kept {
    pub incoming: Option<KeptVersion>,
    pub outgoing: Option<KeptVersion>,
}

impl<'a> Transaction<'a> {
    /// Takes the update lock for `what`.
    pub fn lock(
        ctx: &'a Context,
        what: &str,
        events: &mut dyn Events,
    ) -> Result<Transaction<'a>, UpdateError> {
        let lock = lock::acquire(&ctx.lock_path(), ctx.lock_wait, what, &mut |holder| {
            events.waiting_for_lock(holder)
        })?;
        Ok(Transaction { ctx, _lock: lock })
    }

    /// The receipt, after crash recovery; an error when there is none.
    pub fn receipt(&self, events: &mut dyn Events) -> Result<Receipt, UpdateError> {
        let path = self.ctx.receipt_path();
        let receipt = receipt::load(&path)?.ok_or(UpdateError::NotInstalled(path))?;
        recover(self.ctx, receipt, events)
    }

    /// The receipt if one parses, after crash recovery. A corrupt or
    /// unreadable receipt is what `self install` repairs: it is replaced, not
    /// trusted. A receipt of a newer schema is the newer pane's record, never
    /// replaced unread: it is taken over by the fields this pane knows
    /// ([`receipt::parse_newer`]), so the downgrade floor holds and the PATH
    /// set-up and kept versions stay recorded, or refused when those do not
    /// read.
    pub fn receipt_if_any(&self, events: &mut dyn Events) -> Result<Option<Receipt>, UpdateError> {
        let path = self.ctx.receipt_path();
        let receipt = match receipt::load(&path) {
            Ok(receipt) => receipt,
            Err(receipt::ReceiptError::FutureSchema { .. }) => Some(receipt::load_newer(&path)?),
            Err(_) => None,
        };
        match receipt {
            Some(receipt) => Ok(Some(recover(self.ctx, receipt, events)?)),
            None => Ok(None),
        }
    }

    /// Smoke-tests and keeps the staged binary, builds the new receipt with
    /// `next` (which sees what was kept and may fail, changing nothing), then
    /// swaps and records it. `before` is the receipt this change starts from.
    pub fn commit(
        &self,
        before: Option<&Receipt>,
        change: Change,
        next: impl FnOnce(Kept) -> Result<Receipt, UpdateError>,
    ) -> Result<Receipt, UpdateError> {
        let Change {
            staged,
            version,
            keep,
        } = change;
        if let Some(staged) = &staged {
            swap::smoke_test(&staged.path, &version)?;
        }
        // The folders under `versions/` this change makes, outgoing and
        // incoming alike: a failure before the swap takes them away again.
        let mut created = Vec::new();
        let staged_sha = staged.as_ref().map(|s| s.sha256);
        let result = self
            .keep(before, staged.as_ref(), &version, keep, &mut created)
            .and_then(|kept| {
                failpoint::hit("kept");
                next(kept)
            })
            .and_then(|after| match staged {
                Some(staged) => self.swap_with_receipt(before, after, staged),
                None => self.save_if_changed(before, after),
            });
        match result {
            Ok(after) => {
                swap::prune_kept(&self.ctx.data_dir, &after.kept);
                Ok(after)
            }
            Err(error) => {
                // Once the new binary is in place (a receipt write failed
                // after the swap), its kept copies stay: the journal names
                // them.
                let swapped = staged_sha.zip(before).is_some_and(|(sha, before)| {
                    let installed = swap::swap_target(&before.install_path());
                    digest::sha256_file(&installed).ok() == Some(sha)
                });
                if !swapped {
                    for dir in created {
                        let _ = fs::remove_dir_all(dir);
                    }
                }
                Err(error)
            }
        }
    }

    /// Keeps what `keep` says under `versions/`, noting in `created` each
    /// version folder it makes.
    fn keep(
        &self,
        before: Option<&Receipt>,
        staged: Option<&Staged>,
        version: &Version,
        keep: Keep,
        created: &mut Vec<PathBuf>,
    ) -> Result<Kept, UpdateError> {
        let data_dir = &self.ctx.data_dir;
        let mut note = |version: &Version, made: bool| {
            if made {
                let path = swap::kept_path(data_dir, version);
                created.extend(path.parent().map(Path::to_path_buf));
            }
        };
        let outgoing = match (keep, before) {
            (Keep::IncomingAndOutgoing, Some(before)) => {
                let (kept, made) = self.ensure_kept(before)?;
                note(&before.version, made);
                Some(kept)
            }
            _ => None,
        };
        let incoming = match keep {
            Keep::Nothing => None,
            _ => {
                let (kept, made) = self.keep_incoming(staged, before, version)?;
                note(version, made);
                Some(kept)
            }
        };
        Ok(Kept {
            incoming: incoming.map(|kept| carry_over(before, kept)),
            outgoing: outgoing.map(|kept| carry_over(before, kept)),
        })
    }

    fn keep_incoming(
        &self,
        staged: Option<&Staged>,
        before: Option<&Receipt>,
        version: &Version,
    ) -> Result<(KeptVersion, bool), UpdateError> {
        let data_dir = &self.ctx.data_dir;
        Ok(match (staged, before) {
            (Some(staged), _) => swap::keep_staged(data_dir, version, staged)?,
            (None, Some(before)) => {
                let installed = swap::swap_target(&before.install_path());
                swap::keep(data_dir, version, &installed)?
            }
            (None, None) => unreachable!("nothing staged and nothing installed"),
        })
    }

    /// The kept record of the version now installed, copying the installed
    /// binary under `versions/` if it is not kept yet; and whether that made
    /// its folder.
    fn ensure_kept(&self, receipt: &Receipt) -> Result<(KeptVersion, bool), UpdateError> {
        // Present is enough here: `rollback` checks the recorded SHA-256
        // before it trusts the file, so no hash pass over it on every update.
        if let Some(kept) = receipt.kept_version(&receipt.version) {
            if swap::kept_path(&self.ctx.data_dir, &kept.version).is_file() {
                return Ok((kept.clone(), false));
            }
        }
        let installed = swap::swap_target(&receipt.install_path());
        Ok(swap::keep(
            &self.ctx.data_dir,
            &receipt.version,
            &installed,
        )?)
    }

    /// Journals the change in the receipt (when there is one for this install
    /// directory), swaps, then writes the final receipt. A failure before the
    /// swap restores the receipt as it was.
    fn swap_with_receipt(
        &self,
        before: Option<&Receipt>,
        mut after: Receipt,
        staged: Staged,
    ) -> Result<Receipt, UpdateError> {
        let path = self.ctx.receipt_path();
        after.pending = None;
        after.updated_at = u64::try_from(self.ctx.channel.clock.now().unix()).unwrap_or(0);
        let journal = before.filter(|b| b.install_dir == after.install_dir);
        if let Some(before) = journal {
            let mut journaled = before.clone();
            journaled.pending = Some(Pending {
                after: Box::new(after.clone()),
                sha256: digest::hex(&staged.sha256),
            });
            receipt::save(&path, &journaled)?;
            failpoint::hit("receipt-pending");
        }
        // A symlink at the install path is followed only when this directory
        // holds pane's installation already (the user moved the binary and
        // linked it); on a first install there the link and what it points
        // to are someone else's, so the link itself is replaced.
        let target = match journal {
            Some(_) => swap::swap_target(&after.install_path()),
            None => after.install_path(),
        };
        if let Err(e) = swap::swap(staged, &target) {
            if let Some(before) = journal {
                let _ = receipt::save(&path, before);
            }
            return Err(e.into());
        }
        receipt::save(&path, &after)?;
        failpoint::hit("receipt-final");
        Ok(after)
    }

    /// Records a change that swapped nothing; a change that changes nothing
    /// does not even touch the receipt.
    fn save_if_changed(
        &self,
        before: Option<&Receipt>,
        mut after: Receipt,
    ) -> Result<Receipt, UpdateError> {
        after.pending = None;
        after.updated_at = before.map_or(0, |b| b.updated_at);
        if before != Some(&after) {
            after.updated_at = u64::try_from(self.ctx.channel.clock.now().unix()).unwrap_or(0);
            receipt::save(&self.ctx.receipt_path(), &after)?;
        }
        Ok(after)
    }
}

/// A record made anew for a version kept before with the same bytes keeps
/// what the old record held beyond this pane's fields (a newer pane's).
fn carry_over(before: Option<&Receipt>, mut kept: KeptVersion) -> KeptVersion {
    if let Some(old) = before.and_then(|b| b.kept_version(&kept.version)) {
        if old.sha256 == kept.sha256 && kept.other.is_empty() {
            kept.other = old.other.clone();
        }
    }
    kept
}

/// The temp files in the data dir that only commands under the lock write
/// (the download, the receipt, `self install`'s record of a PATH set-up
/// under way): a leftover of one is a killed run's. The
/// update-check cache, the channel state and the auto-update log are written
/// without the lock, so a temp file of theirs may be a live command's.
const LOCKED_IN_DATA_DIR: &[&str] = &[
    prefetch::DOWNLOAD,
    receipt::FILE_NAME,
    super::context::PATH_INTENT_FILE,
];

/// Temp files of commands that take no lock are removed once this old: they
/// write a few hundred bytes, in milliseconds.
const UNLOCKED_LEFTOVER_AGE: Duration = Duration::from_secs(10 * 60);

/// Under the lock: finish or drop a swap that a crash interrupted, and remove
/// temp files of interrupted runs.
pub fn recover(
    ctx: &Context,
    receipt: Receipt,
    events: &mut dyn Events,
) -> Result<Receipt, UpdateError> {
    let data_dir = &ctx.data_dir;
    let install_dir = &receipt.install_dir;
    // A symlinked install path is swapped by staging again beside the file
    // it points to; that directory is not pane's, so only a staged binary
    // (pane's name, pane's doing) is taken from it.
    let linked_dir = swap::swap_target(&receipt.install_path())
        .parent()
        .filter(|dir| dir != install_dir)
        .map(Path::to_path_buf);
    let cleaned = [
        (
            data_dir.as_path(),
            platform::clean_temp_files_of(
                data_dir,
                LOCKED_IN_DATA_DIR,
                Some(UNLOCKED_LEFTOVER_AGE),
            ),
        ),
        (install_dir, platform::clean_temp_files(install_dir)),
    ];
    let linked = linked_dir.as_deref().map(|dir| {
        (
            dir,
            platform::clean_temp_files_of(dir, &[swap::STAGED], None),
        )
    });
    for (dir, removed) in cleaned.into_iter().chain(linked) {
        if removed > 0 {
            events.recovered(&format!(
                "removed leftovers of an interrupted run in {}",
                dir.display()
            ));
        }
    }
    if let Ok(entries) = fs::read_dir(ctx.data_dir.join("versions")) {
        for entry in entries.flatten() {
            platform::clean_temp_files(&entry.path());
        }
    }
    let Some(pending) = receipt.pending.clone() else {
        return Ok(receipt);
    };
    let installed = swap::swap_target(&receipt.install_path());
    let actual = digest::sha256_file(&installed)
        .map(|d| digest::hex(&d))
        .ok();
    let next = if actual.as_deref() == Some(pending.sha256.as_str()) {
        events.recovered(&format!(
            "finished the interrupted change to {}",
            pending.after.version
        ));
        *pending.after
    } else {
        events.recovered(&format!(
            "dropped the interrupted change to {}",
            pending.after.version
        ));
        Receipt {
            pending: None,
            ..receipt
        }
    };
    receipt::save(&ctx.receipt_path(), &next)?;
    swap::prune_kept(&ctx.data_dir, &next.kept);
    Ok(next)
}
