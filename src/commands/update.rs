//! `pane self update`, `pin`, `unpin`, `rollback`.

use std::process::ExitCode;

use serde_json::json;

use super::{CommandResult, Ui};
use crate::cli::UpdateArgs;
use crate::update::{self, Context, Outcome, Updater, Want};

pub fn update(ctx: &Context, ui: &Ui, args: UpdateArgs) -> CommandResult {
    let want = match &args.version {
        Some(text) => Want::Exact(update::parse_version(text)?),
        None => Want::Latest {
            prerelease: args.prerelease,
        },
    };
    note_other_copy(ctx, ui);
    let updater = Updater::new(ctx);
    let mut events = ui.events();
    let outcome = updater.update(&want, args.dry_run, &mut events)?;
    show(ui, &outcome);
    Ok(ExitCode::SUCCESS)
}

pub fn pin(ctx: &Context, ui: &Ui, requirement: &str, prerelease: bool) -> CommandResult {
    note_other_copy(ctx, ui);
    let updater = Updater::new(ctx);
    let outcome = updater.pin(requirement, prerelease, &mut ui.events())?;
    show(ui, &outcome);
    Ok(ExitCode::SUCCESS)
}

pub fn unpin(ctx: &Context, ui: &Ui) -> CommandResult {
    let updater = Updater::new(ctx);
    let outcome = updater.unpin(&mut ui.events())?;
    show(ui, &outcome);
    Ok(ExitCode::SUCCESS)
}

pub fn rollback(ctx: &Context, ui: &Ui) -> CommandResult {
    note_other_copy(ctx, ui);
    let updater = Updater::new(ctx);
    let outcome = updater.rollback(&mut ui.events())?;
    show(ui, &outcome);
    Ok(ExitCode::SUCCESS)
}

fn show(ui: &Ui, outcome: &Outcome) {
    let (message, value) = match outcome {
        Outcome::UpToDate { version } => (
            format!("pane {version} is up to date"),
            json!({"status": "up-to-date", "version": version.to_string()}),
        ),
        Outcome::RolledBack { from, to } => (
            format!("rolled back pane {from} → {to}, pinned to {to} (`pane self unpin` to follow new releases; `pane self rollback` again returns to {from})"),
            json!({"status": "rolled-back", "from": from.to_string(), "to": to.to_string(), "version": to.to_string(), "pin": to.to_string()}),
        ),
        Outcome::Ahead { version, latest } => (
            format!("pane {version} is newer than the latest release {latest}; nothing to do (`pane self update {latest}` to go back)"),
            json!({"status": "up-to-date", "version": version.to_string(), "latest": latest.to_string()}),
        ),
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
        Outcome::WouldChange { from, to } => (
            format!("would update pane {from} → {to} (dry run: nothing changed)"),
            json!({"status": "would-update", "from": from.to_string(), "to": to.to_string()}),
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
    };
    if ui.json {
        ui.json(&value);
    } else {
        ui.done(&message);
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
