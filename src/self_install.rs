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

pub struct InstallRequest {
    pub install_dir: PathBuf,
    pub installed_by: String,
    pub modify_path: bool,
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
    fs::create_dir_all(&request.install_dir)
        .map_err(UpdateError::io("create", &request.install_dir))?;
    let install_dir = fs::canonicalize(&request.install_dir)
        .map_err(UpdateError::io("open", &request.install_dir))?;
    let old = tx.receipt_if_any(events)?;
    platform::clean_temp_files(&install_dir);
    let install_path = install_dir.join(platform::BINARY_NAME);
    let version = ctx.current_version.clone();
    let same_dir = old.as_ref().is_some_and(|r| r.install_dir == install_dir);
    let already = same_dir && already_installed(ctx, old.as_ref(), &install_path)?;
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
    let before = old.as_ref().filter(|_| same_dir);
    tx.commit(before, change, |kept| {
        let mut next = base_receipt(ctx, request, old.as_ref(), same_dir, &install_dir);
        replaced = (!already && same_dir && next.version != version).then(|| next.version.clone());
        record_kept(&mut next, kept.incoming, replaced.as_ref(), &version);
        next.install_dir = install_dir.clone();
        next.record_verified(&version);
        if !already {
            next.installed_by = request.installed_by.clone();
        }
        if request.modify_path {
            notes = set_up_path(request, &install_dir, &mut next)?;
        }
        Ok(next)
    })?;
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

/// The receipt to start from: the old one for a re-install in the same
/// directory, else a fresh one that carries the old PATH records over.
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
            highest_verified: ctx.current_version.clone(),
            highest_verified_stable: None,
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

/// PATH set-up for the install dir, recorded in `next`; returns the notes.
fn set_up_path(
    request: &InstallRequest,
    install_dir: &Path,
    next: &mut Receipt,
) -> Result<Vec<String>, UpdateError> {
    let mut context = request.path_context.clone();
    context.install_dir = install_dir.to_path_buf();
    let setup = path_setup::setup_path(&context)?;
    (next.profile_edits, next.created_files) =
        path_setup::merge_records(&next.profile_edits, &next.created_files, &setup);
    Ok(setup.notes)
}

#[derive(Debug)]
pub struct Uninstalled {
    pub removed: Vec<PathBuf>,
    pub notes: Vec<String>,
}

pub fn uninstall(ctx: &Context, events: &mut dyn Events) -> Result<Uninstalled, UpdateError> {
    let tx = Transaction::lock(ctx, "uninstall", events)?;
    let receipt = tx.receipt(events)?;
    let mut removed = Vec::new();
    let notes = path_setup::undo_path(&receipt.profile_edits, &receipt.created_files)?;
    let install_path = receipt.install_path();
    let target = swap::swap_target(&install_path);
    for file in [target.clone(), install_path.clone()] {
        if fs::symlink_metadata(&file).is_ok() && fs::remove_file(&file).is_ok() {
            removed.push(file);
        }
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
    drop(tx);
    let _ = fs::remove_file(ctx.lock_path());
    // The data dir is pane's own: remove it if nothing else is left in it.
    let _ = fs::remove_dir(&ctx.data_dir);
    Ok(Uninstalled { removed, notes })
}

/// Removes the user's config file if it holds nothing but what `pane self
/// config` writes (the `updates` setting, blank lines, comments), and its
/// directory if that is then empty. A file with more in it is the user's.
fn remove_user_config(ctx: &Context) -> Option<PathBuf> {
    let path = ctx.channel.policy.user.as_ref()?;
    let text = fs::read_to_string(path).ok()?;
    let only_ours = text
        .lines()
        .map(str::trim)
        .all(|line| line.is_empty() || line.starts_with('#') || line.starts_with("updates"));
    if !only_ours || fs::remove_file(path).is_err() {
        return None;
    }
    if let Some(dir) = path.parent() {
        let _ = fs::remove_dir(dir);
    }
    Some(path.clone())
}
