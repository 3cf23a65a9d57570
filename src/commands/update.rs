//! `pane self update`, `pin`, `unpin`, `rollback`.

use std::process::ExitCode;

use serde_json::json;

use super::notice::CheckCache;
use super::{CommandResult, Ui};
use crate::cli::UpdateArgs;
use crate::update::choose::Why;
use crate::update::{self, Context, Outcome, UpdateError, UpdateOptions, Updater, Want};

/// An administrator's `updates = "off"` stops `update`, `pin` and `rollback`.
pub fn refuse_if_administrator_off(ctx: &Context) -> Result<(), UpdateError> {
    let system = &ctx.channel.policy.system;
    match ctx.channel.policy.resolve() {
        Ok(policy) if policy.administrator_off() => {
            Err(UpdateError::AdministratorOff(system.clone()))
        }
        // Fails closed: the file may say `off`. (A user's file that does
        // not read decides nothing for a command the user typed.)
        Err(error) if error.path() == system => Err(UpdateError::AdministratorUnreadable(
            error.to_string(),
            system.clone(),
        )),
        _ => Ok(()),
    }
}

pub fn update(ctx: &Context, ui: &Ui, args: UpdateArgs) -> CommandResult {
    refuse_if_administrator_off(ctx)?;
    let want = match &args.version {
        Some(text) => Want::Exact(update::parse_version(text)?),
        None => Want::Latest {
            prerelease: args.prerelease,
        },
    };
    note_other_copy(ctx, ui);
    // After a notice, the update usually goes to the version it announced,
    // from the host the last check or update found its files on.
    let last = super::notice::read_cache(&ctx.data_dir);
    let updater = Updater::new(ctx)
        .expecting(last.as_ref().and_then(CheckCache::latest_version))
        .opening_ahead(last.as_ref().and_then(|cache| cache.served_from_for(ctx)));
    let mut events = ui.events();
    let options = UpdateOptions {
        dry_run: args.dry_run,
        now: args.now,
        allow_withdrawn: args.allow_withdrawn,
    };
    let outcome = updater.update(&want, options, &mut events)?;
    // A dry run changes nothing, the cache included.
    if !args.dry_run {
        super::notice::remember_served_from(ctx, updater.served_from());
    }
    show(ui, &outcome);
    Ok(ExitCode::SUCCESS)
}

pub fn pin(
    ctx: &Context,
    ui: &Ui,
    requirement: &str,
    prerelease: bool,
    allow_withdrawn: bool,
) -> CommandResult {
    refuse_if_administrator_off(ctx)?;
    note_other_copy(ctx, ui);
    let last = super::notice::read_cache(&ctx.data_dir);
    let updater =
        Updater::new(ctx).opening_ahead(last.as_ref().and_then(|cache| cache.served_from_for(ctx)));
    let outcome = updater.pin(requirement, prerelease, allow_withdrawn, &mut ui.events())?;
    super::notice::remember_served_from(ctx, updater.served_from());
    show(ui, &outcome);
    Ok(ExitCode::SUCCESS)
}

pub fn unpin(ctx: &Context, ui: &Ui) -> CommandResult {
    let updater = Updater::new(ctx);
    let outcome = updater.unpin(&mut ui.events())?;
    show(ui, &outcome);
    Ok(ExitCode::SUCCESS)
}

pub fn rollback(ctx: &Context, ui: &Ui, allow_withdrawn: bool) -> CommandResult {
    refuse_if_administrator_off(ctx)?;
    note_other_copy(ctx, ui);
    let updater = Updater::new(ctx);
    let outcome = updater.rollback(allow_withdrawn, &mut ui.events())?;
    show(ui, &outcome);
    Ok(ExitCode::SUCCESS)
}

/// Words and JSON for staying where we are because of the channel.
pub fn stay_words(version: &semver::Version, why: &Why) -> (String, serde_json::Value) {
    match why {
        Why::RollingOut { version: next, eta } => (
            format!("pane {next} is rolling out; this installation gets it about {eta} (`pane self update --now` installs it now); you have {version}"),
            json!({"status": "rolling-out", "version": version.to_string(), "rolling_out": next.to_string(), "eta": eta.to_string()}),
        ),
        Why::LatestWithdrawn(w) => (
            format!("pane {} has been withdrawn ({}); staying on {version}", w.version, w.reason),
            json!({"status": "up-to-date", "version": version.to_string(), "latest_withdrawn": {"version": w.version.to_string(), "reason": w.reason}}),
        ),
        Why::NoWayOut { withdrawal, problem } => (
            format!(
                "pane {version} has been withdrawn ({}), but there is nothing to go to{}",
                withdrawal.reason,
                problem.as_ref().map_or(String::new(), |p| format!(": {p}"))
            ),
            json!({"status": "withdrawn", "version": version.to_string(), "reason": withdrawal.reason, "problem": problem}),
        ),
        _ => (
            format!("pane {version} is up to date"),
            json!({"status": "up-to-date", "version": version.to_string()}),
        ),
    }
}

pub(super) fn show(ui: &Ui, outcome: &Outcome) {
    let (message, value) = words(outcome);
    if let Some(warning) = value["warning"].as_str() {
        ui.warn(warning);
    }
    if ui.json {
        ui.json(&value);
    } else {
        ui.done(&message);
    }
}

/// What an outcome says: in words, and as the JSON document.
pub(super) fn words(outcome: &Outcome) -> (String, serde_json::Value) {
    match outcome {
        Outcome::Stayed { version, why } => stay_words(version, why),
        Outcome::Replaced {
            from,
            to,
            withdrawal,
            passed_over,
        } => (
            format!(
                "pane {from} has been withdrawn ({}): {} pane {from} → {to}",
                withdrawal.reason,
                if to > from { "updated" } else { "downgraded" }
            ),
            json!({"status": "updated", "from": from.to_string(), "to": to.to_string(),
                   "withdrawn": {"version": from.to_string(), "reason": withdrawal.reason},
                   "warning": passed_over}),
        ),
        Outcome::UpToDate { version } => (
            format!("pane {version} is up to date"),
            json!({"status": "up-to-date", "version": version.to_string()}),
        ),
        Outcome::RolledBack { from, to } => (
            format!("rolled back pane {from} → {to}, pinned to {to} (`pane self unpin` to follow new releases; `pane self rollback` again returns to {from})"),
            json!({"status": "rolled-back", "from": from.to_string(), "to": to.to_string(), "version": to.to_string(), "pin": to.to_string()}),
        ),
        Outcome::Ahead { version, latest, replayed } => ahead_words(version, latest, *replayed),
        Outcome::HeldByPin { version, pin } => (
            format!("pane {version} is held by the pin {pin} (`pane self unpin` to follow new releases)"),
            json!({"status": "held-by-pin", "version": version.to_string(), "pin": pin}),
        ),
        Outcome::Changed { from, to } => (
            format!(
                "{} pane {from} → {to} (`pane self rollback` returns to {from})",
                if to > from { "updated" } else { "downgraded" }
            ),
            json!({"status": "updated", "from": from.to_string(), "to": to.to_string()}),
        ),
        Outcome::WouldChange { from, to, warning } => (
            format!("would update pane {from} → {to} (dry run: nothing changed)"),
            json!({"status": "would-update", "from": from.to_string(), "to": to.to_string(),
                   "warning": warning}),
        ),
        Outcome::Pinned {
            version,
            pin,
            changed_from,
        } => (
            match changed_from {
                Some(from) => format!("pane {from} → {version}, pinned to {pin} (`pane self unpin` to follow new releases)"),
                None => format!("pinned pane {version} to {pin}"),
            },
            json!({"status": "pinned", "version": version.to_string(), "pin": pin,
                   "from": changed_from.as_ref().map(ToString::to_string)}),
        ),
        Outcome::Unpinned { was } => (
            match was {
                Some(pin) => format!("removed the pin {pin}: `pane self update` follows new releases again"),
                None => "pane was not pinned".to_string(),
            },
            json!({"status": "unpinned", "was": was}),
        ),
    }
}

/// Says so when this pane is not the installed one (a copy elsewhere, a
/// manual download): the command changes the installation the receipt names,
/// and this copy stays as it is.
fn note_other_copy(ctx: &Context, ui: &Ui) {
    let Ok(Some(receipt)) = update::read_receipt(ctx) else {
        return;
    };
    let installed = receipt.install_path();
    let same = |a: &std::path::Path, b: &std::path::Path| match (a.canonicalize(), b.canonicalize())
    {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    if !same(&ctx.current_exe, &installed) {
        ui.note(&format!(
            "note: this is {}, not the installed pane; changing the installation at {} (this copy stays as it is)",
            ctx.current_exe.display(),
            installed.display()
        ));
    }
}

/// The installed version is newer than what the server offers.
pub fn ahead_words(
    version: &semver::Version,
    latest: &semver::Version,
    replayed: bool,
) -> (String, serde_json::Value) {
    let warning = replayed.then(|| format!(
        "the server offers {latest} as its latest release, below a version this installation verified (an old release replayed?)"
    ));
    (
        format!("pane {version} is newer than what the server offers ({latest}); nothing to do (`pane self update {latest}` to go there)"),
        json!({"status": "up-to-date", "version": version.to_string(), "latest": latest.to_string(), "warning": warning}),
    )
}
