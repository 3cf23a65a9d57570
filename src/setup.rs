//! `pane self install` and `pane self uninstall`, without printing.
//!
//! Install places the running binary atomically (temp file in the target dir,
//! fsync, rename), keeps it under `versions/`, writes the receipt and sets up
//! PATH; uninstall removes exactly what install made.

use std::fs;
use std::path::{Path, PathBuf};

use semver::Version;

use crate::platform;
use crate::profile::{self, PathContext};
use crate::update::receipt::{self, Receipt};
use crate::update::{self, install, lock, Context, Events, UpdateError};

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
    let _lock = lock::acquire(&ctx.lock_path(), ctx.lock_wait, "install", &mut |holder| {
        events.waiting_for_lock(holder)
    })?;
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| UpdateError::Io {
            action,
            path,
            source,
        }
    };
    fs::create_dir_all(&request.install_dir).map_err(io("create", &request.install_dir))?;
    let install_dir =
        fs::canonicalize(&request.install_dir).map_err(io("open", &request.install_dir))?;
    // A corrupt or unreadable receipt is what `self install` repairs: it is
    // replaced, not trusted.
    let old = receipt::load(&ctx.receipt_path()).ok().flatten();
    let old = match old {
        Some(r) => Some(update::recover(ctx, r, events)?),
        None => None,
    };
    platform::clean_temp_files(&install_dir);
    let install_path = install_dir.join(platform::BINARY_NAME);
    let version = ctx.current_version.clone();

    let target = install::swap_target(&install_path);
    let same_dir = old.as_ref().is_some_and(|r| r.install_dir == install_dir);
    // Hash the two binaries only when the receipt says this version is
    // already installed here.
    let already = same_dir
        && old.as_ref().is_some_and(|r| r.version == version)
        && crate::update::verify::sha256_file(&target).ok()
            == Some(
                crate::update::verify::sha256_file(&ctx.current_exe)
                    .map_err(io("read", &ctx.current_exe))?,
            );

    if !already {
        let staged = install::stage_copy(&ctx.current_exe, &install_dir)?;
        install::smoke_test(&staged.path, &version)?;
        install::swap(staged, &target)?;
    }
    let (kept, _) = install::keep(&ctx.data_dir, &version, &install_path)?;

    let mut next = match old.clone() {
        Some(previous) if same_dir => previous,
        _ => Receipt {
            schema: receipt::SCHEMA,
            version: version.clone(),
            target: ctx.target.clone(),
            install_dir: install_dir.clone(),
            installed_by: request.installed_by.clone(),
            pin: None,
            highest_verified: version.clone(),
            highest_verified_stable: None,
            previous: None,
            kept: Vec::new(),
            profile_edits: old
                .as_ref()
                .map(|r| r.profile_edits.clone())
                .unwrap_or_default(),
            created_files: old
                .as_ref()
                .map(|r| r.created_files.clone())
                .unwrap_or_default(),
            pending: None,
            updated_at: 0,
        },
    };
    let replaced = (!already && same_dir && next.version != version).then(|| next.version.clone());
    if let Some(previous) = &replaced {
        let previous_kept = next.kept_version(previous).cloned();
        next.previous = Some(previous.clone());
        next.kept = std::iter::once(kept.clone()).chain(previous_kept).collect();
    } else {
        next.kept.retain(|k| k.version != version);
        next.kept.insert(0, kept);
    }
    next.version = version.clone();
    next.install_dir = install_dir.clone();
    next.record_verified(&version);
    next.pending = None;
    if !already {
        next.installed_by = request.installed_by.clone();
    }

    let mut notes = Vec::new();
    if request.modify_path {
        let mut context = request.path_context.clone();
        context.install_dir = install_dir.clone();
        let setup = profile::setup_path(&context)
            .map_err(io("set up PATH in the shell profiles under", &context.home))?;
        (next.profile_edits, next.created_files) =
            profile::merge_records(&next.profile_edits, &next.created_files, &setup);
        notes.extend(setup.notes);
    }
    // A re-run that changes nothing must not even touch the receipt.
    next.updated_at = old.as_ref().map_or(0, |o| o.updated_at);
    if old.as_ref() != Some(&next) {
        next.updated_at = platform::now_unix();
        receipt::save(&ctx.receipt_path(), &next)?;
    }
    install::prune_kept(&ctx.data_dir, &next.kept);
    let shadowed_by =
        profile::shadowing_binary(request.path_context.path_env.as_deref(), &install_dir);
    Ok(Installed {
        version,
        install_path,
        already,
        replaced,
        notes,
        shadowed_by,
    })
}

#[derive(Debug)]
pub struct Uninstalled {
    pub removed: Vec<PathBuf>,
    pub notes: Vec<String>,
}

pub fn uninstall(ctx: &Context, events: &mut dyn Events) -> Result<Uninstalled, UpdateError> {
    let lock = lock::acquire(
        &ctx.lock_path(),
        ctx.lock_wait,
        "uninstall",
        &mut |holder| events.waiting_for_lock(holder),
    )?;
    let path = ctx.receipt_path();
    let receipt = receipt::load(&path)?.ok_or(UpdateError::NotInstalled(path.clone()))?;
    let receipt = update::recover(ctx, receipt, events)?;
    let mut removed = Vec::new();
    let notes =
        profile::undo_path(&receipt.profile_edits, &receipt.created_files).map_err(|source| {
            UpdateError::Io {
                action: "undo the PATH set-up in",
                path: receipt.install_dir.clone(),
                source,
            }
        })?;
    let install_path = receipt.install_path();
    let target = install::swap_target(&install_path);
    for file in [target.clone(), install_path.clone()] {
        if fs::symlink_metadata(&file).is_ok() && fs::remove_file(&file).is_ok() {
            removed.push(file);
        }
    }
    platform::clean_temp_files(&receipt.install_dir);
    let versions = ctx.data_dir.join("versions");
    if versions.exists() {
        fs::remove_dir_all(&versions).map_err(|source| UpdateError::Io {
            action: "remove",
            path: versions.clone(),
            source,
        })?;
        removed.push(versions);
    }
    for file in [
        crate::commands::notice::cache_path(&ctx.data_dir),
        path.clone(),
    ] {
        if fs::remove_file(&file).is_ok() {
            removed.push(file);
        }
    }
    platform::clean_temp_files(&ctx.data_dir);
    drop(lock);
    let _ = fs::remove_file(ctx.lock_path());
    // The data dir is pane's own: remove it if nothing else is left in it.
    let _ = fs::remove_dir(&ctx.data_dir);
    Ok(Uninstalled { removed, notes })
}
