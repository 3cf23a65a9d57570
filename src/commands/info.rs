//! `pane self list`, `status`, `check`: read-only.

use std::process::ExitCode;

use serde_json::json;

use super::notice::{self, CheckCache};
use super::{CommandResult, Ui, EXIT_UPDATE_AVAILABLE};
use crate::channel::rollout::Availability;
use crate::platform::ForeignOwner;
use crate::update::channel_view::{self, ChannelView};
use crate::update::choose::{Choice, Why};
use crate::update::receipt::Receipt;
use crate::update::{self, Context, Pin, Updater};
use semver::Version;

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
    let view = channel_view::stored(ctx);
    let mut rows = Vec::new();
    for release in releases
        .iter()
        .filter(|r| prerelease || !r.prerelease || r.version == installed)
    {
        let kept = receipt
            .as_ref()
            .is_some_and(|r| r.kept_version(&release.version).is_some());
        let withdrawn = view.withdrawal(&release.version, &ctx.target);
        rows.push(json!({
            "withdrawn": withdrawn.is_some(),
            "withdrawn_reason": withdrawn.map(|w| w.reason.clone()),
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
            ("withdrawn", "withdrawn"),
        ] {
            if row[key] == true {
                marks.push(word);
            }
        }
        let version = row["version"].as_str().unwrap_or_default();
        let mut marks: Vec<String> = marks.into_iter().map(str::to_string).collect();
        if let Some(reason) = row["withdrawn_reason"].as_str() {
            if let Some(mark) = marks.iter_mut().find(|m| *m == "withdrawn") {
                *mark = format!("withdrawn: {reason}");
            }
        }
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
    let channel = super::status_channel::channel_json(ctx, receipt.as_ref(), last.as_ref());
    if let Some(warning) = ctx.channel.policy.resolve().ok().and_then(|p| p.ignored) {
        ui.warn(&warning);
    }
    if ui.json {
        let mut value = status_json(ctx, receipt.as_ref(), last.as_ref(), foreign.as_ref());
        if let (Some(value), Some(channel)) = (value.as_object_mut(), channel.as_object()) {
            value.extend(channel.clone());
        }
        ui.json(&value);
        return Ok(ExitCode::SUCCESS);
    }
    match &receipt {
        None => print_unmanaged(ctx, foreign.as_ref()),
        Some(r) => print_managed(r, last.as_ref(), notice::now_unix(ctx)),
    }
    super::status_channel::print_channel(&channel);
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

fn print_managed(r: &Receipt, last: Option<&CheckCache>, now: u64) {
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
            notice::ago(c.checked_at, now),
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
    let receipt = match receipt {
        Some(receipt) => receipt,
        None => unmanaged_receipt(ctx),
    };
    let current = receipt.version.clone();
    let pin = receipt.pin.clone();
    let updater = Updater::new(ctx);
    let view = updater.channel();
    for warning in &view.warnings {
        ui.warn(warning);
    }
    // The same decision `update` makes: pin, floor, channel and rollout.
    let choice = updater.available(&receipt, prerelease, &view)?;
    for warning in &choice.warnings {
        ui.warn(warning);
    }
    // The cache holds versions read from a signature (the notice announces
    // them, `update` guesses them); one at or below the installed version
    // announces nothing.
    if let Some(latest) = choice
        .latest
        .as_ref()
        .filter(|latest| choice.latest_verified || *latest <= &current)
    {
        notice::write_cache(ctx, latest, updater.served_from());
    }
    let available = choice.to.clone();
    let facts = check_facts(ctx, &receipt, &view, &choice);
    if ui.json {
        let mut value = json!({
            "current": current.to_string(),
            "available": available.as_ref().map(ToString::to_string),
            "pin": pin,
            "update_available": available.is_some(),
        });
        if let (Some(value), Some(facts)) = (value.as_object_mut(), facts.as_object()) {
            value.extend(facts.clone());
        }
        ui.json(&value);
    } else {
        print_check(&current, pin.as_deref(), &choice, &facts);
    }
    Ok(if available.is_some() {
        ExitCode::from(EXIT_UPDATE_AVAILABLE)
    } else {
        ExitCode::SUCCESS
    })
}

/// A stand-in receipt for a pane that no installer manages (check only).
fn unmanaged_receipt(ctx: &Context) -> Receipt {
    let mut receipt: Receipt = serde_json::from_value(json!({
        "schema": crate::update::receipt::SCHEMA,
        "version": ctx.current_version.to_string(),
        "target": ctx.target,
        "install_dir": ctx.current_exe.parent(),
        "installed_by": "",
        "highest_verified": ctx.current_version.to_string(),
    }))
    .expect("a minimal receipt parses");
    receipt.verified = vec![ctx.current_version.clone()];
    receipt
}

/// `withdrawn`, `rollout`, `critical` and `frozen` for `check --json`.
fn check_facts(
    ctx: &Context,
    receipt: &Receipt,
    view: &ChannelView,
    choice: &Choice,
) -> serde_json::Value {
    let withdrawn = view.withdrawal(&receipt.version, &ctx.target);
    let rollout = view
        .document
        .as_ref()
        .and_then(|d| d.rollout.as_ref())
        .filter(|r| r.version > receipt.version)
        .map(|r| {
            let availability = view.availability(&r.version);
            let eta = match &availability {
                Availability::RollingOut { eta, .. } => Some(eta.to_string()),
                _ => None,
            };
            json!({"version": r.version.to_string(), "available": availability.is_available(), "eta": eta})
        });
    let latest_withdrawn = match &choice.why {
        Why::LatestWithdrawn(w) => {
            Some(json!({"version": w.version.to_string(), "reason": w.reason}))
        }
        _ => None,
    };
    let ahead = match &choice.why {
        Why::Ahead { latest, .. } => Some(latest.to_string()),
        _ => None,
    };
    // A replay suspected, or why the channel's replacement is not where
    // `update` goes.
    let warning = match &choice.why {
        Why::Ahead { replayed: true, .. } => Some(REPLAYED),
        Why::Replacement {
            passed_over: Some(why),
            ..
        }
        | Why::NoWayOut {
            problem: Some(why), ..
        } => Some(why.as_str()),
        _ => None,
    };
    json!({
        "withdrawn": withdrawn.map(|w| json!({
            "version": w.version.to_string(),
            "reason": w.reason,
            "replacement": w.replacement.as_ref().map(ToString::to_string),
        })),
        "latest_withdrawn": latest_withdrawn,
        "rollout": rollout,
        "critical": choice.to.as_ref().is_some_and(|v| view.is_critical(v)),
        "frozen": view.frozen(),
        "serial": view.serial(),
        "latest": choice.latest.as_ref().map(ToString::to_string),
        "newer_than_server": ahead,
        "warning": warning,
    })
}

const REPLAYED: &str = "the server's latest release is below a version this installation verified (an old release replayed?)";

fn print_check(current: &Version, pin: Option<&str>, choice: &Choice, facts: &serde_json::Value) {
    if facts["frozen"] == true {
        outln!("note: the release channel's document has expired: release information may be withheld by the server");
    }
    if let Some(w) = facts["withdrawn"].as_object() {
        outln!(
            "pane {current} has been withdrawn: {}",
            w["reason"].as_str().unwrap_or_default()
        );
    }
    match (&choice.to, &choice.why, pin) {
        (
            Some(version),
            Why::Replacement {
                withdrawal: w,
                passed_over,
            },
            _,
        ) => {
            if let Some(why) = passed_over {
                warn_line(why);
            }
            outln!(
                "pane {version} is its replacement: run `pane self update` to go from {current} to {version}{}",
                if w.replacement.as_ref() == Some(version) { "" } else { " (the highest good version verified here)" }
            )
        }
        (Some(version), _, _) => {
            let critical = if facts["critical"] == true {
                " (a critical update)"
            } else {
                ""
            };
            outln!("pane {version} is available{critical} (you have {current}): run `pane self update`")
        }
        (None, Why::HeldByPin(pin), _) => {
            outln!("pane {current} is held by the pin {pin}: no update within it")
        }
        (None, Why::Ahead { latest, replayed }, _) => {
            let (message, _) = super::update::ahead_words(current, latest, *replayed);
            if *replayed {
                warn_line(REPLAYED);
            }
            outln!("{message}")
        }
        (
            None,
            why @ (Why::RollingOut { .. } | Why::LatestWithdrawn(_) | Why::NoWayOut { .. }),
            _,
        ) => {
            outln!("{}", super::update::stay_words(current, why).0)
        }
        (None, _, Some(pin)) => {
            outln!("pane {current} is held by the pin {pin}: no update within it")
        }
        (None, _, None) => outln!("pane {current} is up to date"),
    }
}

fn warn_line(text: &str) {
    eprintln!("warning: {text}");
}
