//! `pane self install` and `pane self uninstall`, without printing.
//!
//! Install places the running binary atomically (temp file in the target dir,
//! fsync, rename), keeps it under `versions/`, writes the receipt and sets up
//! PATH; uninstall removes exactly what install made.

use std::fs;
use std::path::{Path, PathBuf};

use semver::Version;

use crate::path_setup::{self, PathContext};
use crate::platform;
use crate::update::receipt::{self, KeptVersion, Receipt};
use crate::update::transaction::{Change, Keep};
use crate::update::{digest, swap, Context, Events, Transaction, UpdateError};

/// The largest PATH set-up record read (it lists a few lines and files).
const PATH_INTENT_CAP: u64 = 1024 * 1024;

pub struct InstallRequest {
    pub install_dir: PathBuf,
    pub installed_by: String,
    pub modify_path: bool,
    /// Install even when the running binary is older than the installed one.
    pub allow_downgrade: bool,
    pub path_context: PathContext,
}

#[derive(Debug)]
pub struct Installed {
    pub version: Version,
    pub install_path: PathBuf,
    pub already: bool,
    pub replaced: Option<Version>,
    pub notes: Vec<String>,
    pub shadowed_by: Option<PathBuf>,
}

pub fn install(
    ctx: &Context,
    request: &InstallRequest,
    events: &mut dyn Events,
) -> Result<Installed, UpdateError> {
    let tx = Transaction::lock(ctx, "install", events)?;
    let old = tx.receipt_if_any(events)?;
    settle_path_intent(ctx, &with_pending(old.as_ref()), None, events)?;
    if let Some(old) = old.as_ref().filter(|o| ctx.current_version < o.version) {
        if !request.allow_downgrade {
            return Err(UpdateError::OlderThanInstalled {
                running: ctx.current_version.clone(),
                installed: old.version.clone(),
            });
        }
    }
    fs::create_dir_all(&request.install_dir)
        .map_err(UpdateError::io("create", &request.install_dir))?;
    let install_dir = fs::canonicalize(&request.install_dir)
        .map_err(UpdateError::io("open", &request.install_dir))?;
    platform::clean_temp_files(&install_dir);
    let install_path = install_dir.join(platform::BINARY_NAME);
    let version = ctx.current_version.clone();
    // The receipt's dir, as recorded or as it resolves now (it may have become a link).
    let same_dir = old.as_ref().is_some_and(|r| {
        r.install_dir == install_dir
            || fs::canonicalize(&r.install_dir).ok().as_ref() == Some(&install_dir)
    });
    // A newer pane's receipt is taken over whole: its file is replaced only by the final
    // receipt, never journalled in or restored as this pane reads it.
    let newer = old.as_ref().is_some_and(Receipt::is_newer);
    let already = same_dir && !newer && already_installed(ctx, old.as_ref(), &install_path)?;
    let staged = if already {
        None
    } else {
        Some(swap::stage_copy(&ctx.current_exe, &install_dir)?)
    };
    let change = Change {
        staged,
        version: version.clone(),
        keep: Keep::Incoming,
    };
    let mut notes = Vec::new();
    let mut replaced = None;
    let before = old.as_ref().filter(|_| same_dir && !newer);
    let committed = tx.commit(before, change, |kept| {
        let mut next = base_receipt(ctx, request, old.as_ref(), same_dir, &install_dir);
        next.schema = receipt::SCHEMA;
        replaced = (!already && same_dir && next.version != version).then(|| next.version.clone());
        record_kept(&mut next, kept.incoming, replaced.as_ref(), &version);
        next.install_dir = install_dir.clone();
        next.record_verified(&version);
        if !already {
            next.installed_by = request.installed_by.clone();
        }
        if request.modify_path {
            notes = set_up_path(ctx, request, &install_dir, &mut next)?;
        }
        Ok(next)
    });
    // Done, or failed: either way the receipt now says which of the set-up's lines are pane's
    // to keep (after a failure, the one on disk: it may journal the change); what it does not
    // record is taken back.
    let settled = match &committed {
        Ok(after) => settle_path_intent(ctx, &[after], None, events),
        Err(_) => {
            let on_disk = receipt::load(&ctx.receipt_path()).ok().flatten();
            let keep: Vec<&Receipt> = match &on_disk {
                // The change is journalled and may still be finished: what it records stays.
                Some(r) if r.pending.is_some() => r
                    .pending
                    .as_ref()
                    .map(|p| p.after.as_ref())
                    .into_iter()
                    .collect(),
                // The new receipt made it to disk.
                Some(r) if old.as_ref() != Some(r) => vec![r],
                // The old receipt stands: every line this run added goes, also one the old
                // receipt records that the user had taken out by hand since; of the files,
                // those the old install made stay (`stands`).
                _ => Vec::new(),
            };
            let stands = if keep.is_empty() { old.as_ref() } else { None };
            settle_path_intent(ctx, &keep, stands, events)
        }
    };
    committed?;
    settled?;
    if let Some(moved_from) = old.as_ref().filter(|_| !same_dir) {
        notes.extend(leave_the_old_dir(moved_from));
    }
    let shadowed_by =
        path_setup::shadowing_binary(request.path_context.path_env.as_deref(), &install_dir);
    Ok(Installed {
        version,
        install_path,
        already,
        replaced,
        notes,
        shadowed_by,
    })
}

/// The receipt says this version is installed here and the bytes agree
/// (hashed only then).
fn already_installed(
    ctx: &Context,
    old: Option<&Receipt>,
    install_path: &Path,
) -> Result<bool, UpdateError> {
    if old.is_none_or(|r| r.version != ctx.current_version) {
        return Ok(false);
    }
    let installed = digest::sha256_file(&swap::swap_target(install_path)).ok();
    let running =
        digest::sha256_file(&ctx.current_exe).map_err(UpdateError::io("read", &ctx.current_exe))?;
    Ok(installed == Some(running))
}

/// The installation moved to another directory: the binary it left is removed when it is
/// still pane's own (the bytes the old receipt kept for its version); anything else there is
/// left, and said. Its PATH records moved with the receipt, for `uninstall` to undo.
fn leave_the_old_dir(old: &Receipt) -> Option<String> {
    // Called only when the old dir does not resolve to the new one (`same_dir`), so a regular
    // file there is never the binary just placed.
    let path = old.install_path();
    let file = fs::symlink_metadata(&path).ok()?.file_type().is_file();
    let ours = file
        && old.kept_version(&old.version).is_some_and(|kept| {
            digest::sha256_file(&path).is_ok_and(|sha| digest::hex(&sha) == kept.sha256)
        });
    Some(if ours && fs::remove_file(&path).is_ok() {
        format!(
            "removed {}, the binary of the previous install",
            path.display()
        )
    } else {
        format!(
            "left {}: it is not the binary pane installed there; remove it if it is not needed",
            path.display()
        )
    })
}

/// The receipt to start from: the old one for a re-install in the same
/// directory, else a fresh one that carries the old PATH records and the
/// downgrade floor over (what this machine verified holds in every directory).
fn base_receipt(
    ctx: &Context,
    request: &InstallRequest,
    old: Option<&Receipt>,
    same_dir: bool,
    install_dir: &Path,
) -> Receipt {
    match old {
        Some(previous) if same_dir => previous.clone(),
        _ => Receipt {
            schema: receipt::SCHEMA,
            version: ctx.current_version.clone(),
            target: ctx.target.clone(),
            install_dir: install_dir.to_path_buf(),
            installed_by: request.installed_by.clone(),
            pin: None,
            highest_verified: old.map_or(ctx.current_version.clone(), |r| {
                r.highest_verified.clone().max(ctx.current_version.clone())
            }),
            highest_verified_stable: old.and_then(|r| r.highest_verified_stable.clone()),
            previous: None,
            kept: Vec::new(),
            profile_edits: old.map(|r| r.profile_edits.clone()).unwrap_or_default(),
            created_files: old.map(|r| r.created_files.clone()).unwrap_or_default(),
            pending: None,
            updated_at: 0,
            verified: vec![ctx.current_version.clone()],
            other: old.map(|r| r.other.clone()).unwrap_or_default(),
        },
    }
}

/// The kept list after installing `version`: with the version it replaced
/// (as `previous`), else with whatever was kept before.
fn record_kept(
    next: &mut Receipt,
    incoming: Option<KeptVersion>,
    replaced: Option<&Version>,
    version: &Version,
) {
    let incoming = incoming.expect("self install keeps the incoming binary");
    if let Some(previous) = replaced {
        let previous_kept = next.kept_version(previous).cloned();
        next.previous = Some(previous.clone());
        next.kept = std::iter::once(incoming).chain(previous_kept).collect();
    } else {
        next.kept.retain(|k| &k.version != version);
        next.kept.insert(0, incoming);
    }
    next.version = version.clone();
}

/// PATH set-up for the install dir, recorded in `next`; returns the notes. Its records are
/// written down ([`Context::path_intent_path`]) before any profile changes, so that an install that fails or
/// is killed before its receipt records them leaves no line of pane's that nothing records.
fn set_up_path(
    ctx: &Context,
    request: &InstallRequest,
    install_dir: &Path,
    next: &mut Receipt,
) -> Result<Vec<String>, UpdateError> {
    let mut context = request.path_context.clone();
    context.install_dir = install_dir.to_path_buf();
    let plan = path_setup::plan_path(&context)?;
    let intent = ctx.path_intent_path();
    write_path_intent(&intent, &plan.result)?;
    let setup = match path_setup::apply(&plan) {
        Ok(setup) => setup,
        Err(error) => {
            // Taken back whole by `apply`: nothing to record.
            let _ = fs::remove_file(&intent);
            return Err(error.into());
        }
    };
    if setup != plan.result {
        // A profile took no line: the record says only what was done.
        write_path_intent(&intent, &setup)?;
    }
    (next.profile_edits, next.created_files) =
        path_setup::merge_records(&next.profile_edits, &next.created_files, &setup);
    Ok(setup.notes)
}

fn write_path_intent(intent: &Path, setup: &path_setup::PathSetup) -> Result<(), UpdateError> {
    let records = PathRecords {
        profile_edits: setup.edits.clone(),
        created_files: setup.created_files.clone(),
    };
    let bytes = serde_json::to_vec_pretty(&records).expect("records serialize");
    platform::write_atomic(intent, &bytes, 0o644).map_err(UpdateError::io("write", intent))
}

/// The data dir's record of a PATH set-up under way: the lines and files an install is about
/// to add, written before it adds them and removed once the receipt records them.
#[derive(serde::Serialize, serde::Deserialize)]
struct PathRecords {
    #[serde(default)]
    profile_edits: Vec<path_setup::ProfileEdit>,
    #[serde(default)]
    created_files: Vec<PathBuf>,
}

/// `receipt` and the receipt a change it journals would make: the records that stay.
fn with_pending(receipt: Option<&Receipt>) -> Vec<&Receipt> {
    receipt
        .into_iter()
        .flat_map(|r| std::iter::once(r).chain(r.pending.as_ref().map(|p| p.after.as_ref())))
        .collect()
}

/// Under the lock: a PATH set-up that an install began and that none of the receipts in
/// `keep` records (the install failed, or was killed) is taken back, exactly its lines and
/// files; then its record goes. `stands`: the receipt an install that just failed started
/// from, still in place. Then every line the install added goes, and of the files it
/// recorded, those `stands` records stay (the env and completion files an install rewrites
/// whole were there before it) but for a profile the failed install made anew.
fn settle_path_intent(
    ctx: &Context,
    keep: &[&Receipt],
    stands: Option<&Receipt>,
    events: &mut dyn Events,
) -> Result<(), UpdateError> {
    let intent = ctx.path_intent_path();
    let Ok(Some(bytes)) = platform::read_limited(&intent, PATH_INTENT_CAP) else {
        return Ok(());
    };
    // An unreadable record says nothing pane can undo exactly: it goes.
    if let Ok(planned) = serde_json::from_slice::<PathRecords>(&bytes) {
        let (mut edits, mut created) = (planned.profile_edits, planned.created_files);
        for r in keep {
            edits.retain(|e| !r.profile_edits.contains(e));
            created.retain(|c| !r.created_files.contains(c));
        }
        if let Some(old) = stands {
            // A profile is in the record as created only when this install created it.
            let edited: Vec<PathBuf> = edits.iter().map(|e| e.file.clone()).collect();
            created.retain(|c| !old.created_files.contains(c) || edited.contains(c));
        }
        if !edits.is_empty() || !created.is_empty() {
            // Best effort: a profile that can no longer be rewritten must not block every
            // later install and uninstall (the repair included); the user gets the lines.
            match path_setup::undo_path(&edits, &created) {
                Ok(undone) => {
                    events.recovered("took back the PATH set-up of an install that did not finish");
                    for note in &undone.notes {
                        events.recovered(note);
                    }
                }
                Err(error) => {
                    let by_hand: Vec<String> = edits
                        .iter()
                        .map(|e| {
                            format!(
                                "`{}` from {}",
                                e.line.trim_start_matches('\n'),
                                e.file.display()
                            )
                        })
                        .collect();
                    events.recovered(&format!(
                        "could not take back the PATH set-up of an install that did not finish ({error}); remove {} by hand",
                        by_hand.join(", ")
                    ));
                }
            }
        }
    }
    fs::remove_file(&intent).map_err(UpdateError::io("remove", &intent))
}

#[derive(Debug)]
pub struct Uninstalled {
    pub removed: Vec<PathBuf>,
    /// Profiles pane's PATH line was taken out of (the rest of them kept).
    pub edited: Vec<PathBuf>,
    pub notes: Vec<String>,
}

pub fn uninstall(ctx: &Context, events: &mut dyn Events) -> Result<Uninstalled, UpdateError> {
    let tx = Transaction::lock(ctx, "uninstall", events)?;
    let receipt = match tx.receipt(events) {
        Ok(receipt) => receipt,
        Err(error) => {
            // No installation to remove, but a first install killed before its receipt
            // may have left its PATH lines: those go all the same.
            if matches!(error, UpdateError::NotInstalled(_)) {
                settle_path_intent(ctx, &[], None, events)?;
            }
            return Err(error);
        }
    };
    settle_path_intent(ctx, &with_pending(Some(&receipt)), None, events)?;
    let undone = path_setup::undo_path(&receipt.profile_edits, &receipt.created_files)?;
    let mut removed = undone.removed;
    let mut notes = undone.notes;
    // The install path itself: a symlink there is removed, never what it
    // points to (a dotfiles manager's file is the user's); a file only when it
    // is a binary pane installed (another installer, `cargo install --root`
    // say, may have put its own there since).
    let install_path = receipt.install_path();
    let ours = match fs::symlink_metadata(&install_path) {
        Err(_) => false,
        Ok(metadata) if !metadata.file_type().is_file() || receipt.kept.is_empty() => true,
        Ok(_) => digest::sha256_file(&install_path).is_ok_and(|sha| {
            let sha = digest::hex(&sha);
            receipt.kept.iter().any(|kept| kept.sha256 == sha)
        }),
    };
    if ours {
        if fs::remove_file(&install_path).is_ok() {
            removed.push(install_path);
        }
    } else if install_path.exists() {
        notes.push(format!(
            "left {}: it is not a binary pane installed there; remove it if it is not needed",
            install_path.display()
        ));
    }
    platform::clean_temp_files(&receipt.install_dir);
    let versions = ctx.data_dir.join("versions");
    if versions.exists() {
        fs::remove_dir_all(&versions).map_err(UpdateError::io("remove", &versions))?;
        removed.push(versions);
    }
    let channel_state = crate::channel::ChannelStore::in_dir(&ctx.data_dir);
    for file in [
        ctx.check_cache_path(),
        ctx.auto_log_path(),
        channel_state.path().to_path_buf(),
        ctx.receipt_path(),
    ] {
        if fs::remove_file(&file).is_ok() {
            removed.push(file);
        }
    }
    platform::clean_temp_files(&ctx.data_dir);
    removed.extend(remove_user_config(ctx));
    // Removed while still held (`tx` goes last), so that whoever gets the
    // lock next finds its file gone and opens the path anew (`lock::acquire`).
    let _ = fs::remove_file(ctx.lock_path());
    // The data dir is pane's own: remove it if nothing else is left in it.
    if fs::remove_dir(&ctx.data_dir).is_ok() {
        removed.push(ctx.data_dir.clone());
    }
    Ok(Uninstalled {
        removed,
        edited: undone.edited,
        notes,
    })
}

/// Removes the user's config file if it holds nothing but what `pane self
/// config` writes (the `updates` setting, blank lines, comments), and its
/// directory if that is then empty. A file with more in it is the user's,
/// and so is a link there (a dotfiles manager's), which pane never makes.
fn remove_user_config(ctx: &Context) -> Option<PathBuf> {
    let path = ctx.channel.policy.user.as_ref()?;
    if fs::symlink_metadata(path).ok()?.file_type().is_symlink() {
        return None;
    }
    let text = crate::channel::policy::read_config(path).ok()??;
    if !crate::channel::policy::holds_only_the_updates_setting(&text)
        || fs::remove_file(path).is_err()
    {
        return None;
    }
    if let Some(dir) = path.parent() {
        let _ = fs::remove_dir(dir);
    }
    Some(path.clone())
}
