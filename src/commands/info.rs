//! `pane self list`, `status`, `check`: read-only.

use std::process::ExitCode;

use serde_json::json;

use super::notice::{self, CheckCache};
use super::{CommandResult, Ui, EXIT_UPDATE_AVAILABLE};
use crate::platform::ForeignOwner;
use crate::update::receipt::Receipt;
use crate::update::{self, Context, Pin, Updater};

pub fn list(ctx: &Context, ui: &Ui, prerelease: bool) -> CommandResult {
    let receipt = update::read_receipt(ctx)?;
    let releases = Updater::new(ctx).list()?;
    let installed = receipt
        .as_ref()
        .map(|r| r.version.clone())
        .unwrap_or_else(|| ctx.current_version.clone());
    let pin = receipt
        .as_ref()
        .and_then(|r| r.pin.as_deref())
        .and_then(|p| Pin::parse(p).ok());
    let mut rows = Vec::new();
    for release in releases
        .iter()
        .filter(|r| prerelease || !r.prerelease || r.version == installed)
    {
        let kept = receipt
            .as_ref()
            .is_some_and(|r| r.kept_version(&release.version).is_some());
        rows.push(json!({
            "version": release.version.to_string(),
            "tag": release.tag,
            "prerelease": release.prerelease,
            "installed": release.version == installed,
            "pinned": pin.as_ref().is_some_and(|p| p.matches(&release.version)),
            "kept": kept,
            "published_at": release.published_at,
        }));
    }
    if ui.json {
        ui.json(&json!({ "releases": rows }));
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        outln!("no releases found");
    }
    for row in &rows {
        let mut marks = Vec::new();
        for (key, word) in [
            ("installed", "installed"),
            ("pinned", "pinned"),
            ("kept", "kept"),
            ("prerelease", "pre-release"),
        ] {
            if row[key] == true {
                marks.push(word);
            }
        }
        let version = row["version"].as_str().unwrap_or_default();
        if marks.is_empty() {
            outln!("{version}");
        } else {
            outln!("{version:<20} {}", marks.join(", "));
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn status(ctx: &Context, ui: &Ui) -> CommandResult {
    let receipt = update::read_receipt(ctx)?;
    let last = notice::read_cache(&ctx.data_dir);
    let foreign = crate::platform::foreign_owner(&ctx.current_exe, ctx.cargo_home.as_deref());
    if ui.json {
        ui.json(&status_json(
            ctx,
            receipt.as_ref(),
            last.as_ref(),
            foreign.as_ref(),
        ));
        return Ok(ExitCode::SUCCESS);
    }
    match &receipt {
        None => print_unmanaged(ctx, foreign.as_ref()),
        Some(r) => print_managed(r, last.as_ref()),
    }
    Ok(ExitCode::SUCCESS)
}

fn status_json(
    ctx: &Context,
    receipt: Option<&Receipt>,
    last: Option<&CheckCache>,
    foreign: Option<&ForeignOwner>,
) -> serde_json::Value {
    match receipt {
        Some(r) => json!({
            "managed": foreign.is_none(),
            "version": r.version.to_string(),
            "running_version": ctx.current_version.to_string(),
            "target": r.target,
            "install_path": r.install_path(),
            "installed_by": r.installed_by,
            "pin": r.pin,
            "previous": r.previous.as_ref().map(ToString::to_string),
            "highest_verified": r.highest_verified.to_string(),
            "kept": r.kept.iter().map(|k| json!({"version": k.version.to_string(), "sha256": k.sha256})).collect::<Vec<_>>(),
            "data_dir": ctx.data_dir,
            "last_check": last.map(|c| json!({"at": c.checked_at, "latest": c.latest})),
            "interrupted_change": r.pending.is_some(),
            "binary_missing": !r.install_path().exists(),
        }),
        None => json!({
            "managed": false,
            "version": serde_json::Value::Null,
            "running_version": ctx.current_version.to_string(),
            "target": ctx.target,
            "install_path": ctx.current_exe,
            "installed_by": foreign.map(|f| f.name()),
            "pin": serde_json::Value::Null,
            "previous": serde_json::Value::Null,
            "highest_verified": serde_json::Value::Null,
            "kept": [],
            "data_dir": ctx.data_dir,
            "last_check": last.map(|c| json!({"at": c.checked_at, "latest": c.latest})),
            "interrupted_change": false,
            "binary_missing": false,
        }),
    }
}

fn print_unmanaged(ctx: &Context, foreign: Option<&ForeignOwner>) {
    outln!(
        "pane {} (not managed by pane's installer)",
        ctx.current_version
    );
    outln!("binary:        {}", ctx.current_exe.display());
    match foreign {
        Some(owner) => outln!(
            "installed by:  {} (update with `{}`)",
            owner.name(),
            owner.update_command()
        ),
        None => outln!("to manage it:  pane self install"),
    }
}

fn print_managed(r: &Receipt, last: Option<&CheckCache>) {
    outln!("pane {} ({})", r.version, r.target);
    outln!("binary:        {}", r.install_path().display());
    outln!("installed by:  {}", r.installed_by);
    outln!("pin:           {}", r.pin.as_deref().unwrap_or("none"));
    outln!(
        "previous:      {}",
        r.previous
            .as_ref()
            .map_or("none".into(), ToString::to_string)
    );
    let kept: Vec<String> = r.kept.iter().map(|k| k.version.to_string()).collect();
    outln!("kept:          {}", kept.join(", "));
    outln!("highest verified: {}", r.highest_verified);
    match last {
        Some(c) => outln!(
            "last check:    {} (latest {})",
            notice::ago(c.checked_at),
            c.latest
        ),
        None => outln!("last check:    never"),
    }
    if r.pending.is_some() {
        outln!(
            "note:          an interrupted change will be finished by the next `pane self` command"
        );
    }
    if !r.install_path().exists() {
        outln!(
                "warning:       {} is missing: `pane self update` puts it back, or run `pane self install` from a pane binary",
                r.install_path().display()
            );
    }
}

pub fn check(ctx: &Context, ui: &Ui, prerelease: bool) -> CommandResult {
    let receipt = update::read_receipt(ctx)?;
    let current = receipt
        .as_ref()
        .map_or_else(|| ctx.current_version.clone(), |r| r.version.clone());
    let pin = receipt.as_ref().and_then(|r| r.pin.clone());
    let updater = Updater::new(ctx);
    // The same decision `update` makes, pin and downgrade protection included.
    let available = updater.available(receipt.as_ref(), prerelease)?;
    if let Some(version) = &available {
        notice::write_cache(&ctx.data_dir, version);
    } else if pin.is_none() {
        notice::write_cache(&ctx.data_dir, &current);
    }
    if ui.json {
        ui.json(&json!({
            "current": current.to_string(),
            "available": available.as_ref().map(ToString::to_string),
            "pin": pin,
            "update_available": available.is_some(),
        }));
    } else {
        match (&available, &pin) {
            (Some(version), _) => {
                outln!("pane {version} is available (you have {current}): run `pane self update`")
            }
            (None, Some(pin)) => {
                outln!("pane {current} is held by the pin {pin}: no update within it")
            }
            (None, None) => outln!("pane {current} is up to date"),
        }
    }
    Ok(if available.is_some() {
        ExitCode::from(EXIT_UPDATE_AVAILABLE)
    } else {
        ExitCode::SUCCESS
    })
}
