//! `pane self install` and `pane self uninstall`.

use std::process::ExitCode;

use serde_json::json;

use super::{CommandResult, Ui};
use crate::cli::InstallArgs;
use crate::env::Env;
use crate::path_setup::{Completion, CompletionShell, PathContext};
use crate::self_install::{self, InstallRequest, Installed};
use crate::update::source::Source;
use crate::update::{channel_view, Context, UpdateError, UpdateOptions, Updater, Want};

/// The scripts `self install` puts where each shell finds them.
fn completions() -> Vec<Completion> {
    use clap_complete::Shell;
    [
        (Shell::Bash, CompletionShell::Bash),
        (Shell::Zsh, CompletionShell::Zsh),
        (Shell::Fish, CompletionShell::Fish),
    ]
    .into_iter()
    .map(|(shell, ours)| Completion {
        shell: ours,
        script: super::completion_script(shell),
    })
    .collect()
}

pub fn install(ctx: &Context, ui: &Ui, env: &Env, args: InstallArgs) -> CommandResult {
    // A `~` that reaches pane is one no shell expanded (`--install-dir=~/bin`, a quoted value, a
    // Dockerfile's ENV): taken as it is, it would name a directory `~` under the current one.
    let given = match &args.install_dir {
        Some(dir) => Some((dir, "--install-dir")),
        None => env
            .pane_install_dir
            .as_ref()
            .map(|dir| (dir, "PANE_INSTALL_DIR")),
    };
    if let Some((dir, from)) = given {
        if dir.components().next() == Some(std::path::Component::Normal("~".as_ref())) {
            return Err(UpdateError::UnexpandedTilde {
                dir: dir.clone(),
                from,
            });
        }
    }
    let install_dir = args
        .install_dir
        .clone()
        .or_else(|| {
            crate::platform::default_install_dir(
                env.pane_install_dir.as_deref(),
                env.xdg_bin_home.as_deref(),
                env.home.as_deref(),
            )
        })
        .ok_or(UpdateError::NoHome)?;
    let install_dir = if install_dir.is_relative() {
        std::env::current_dir()
            .map(|cwd| cwd.join(&install_dir))
            .unwrap_or(install_dir)
    } else {
        install_dir
    };
    let mut modify_path = !args.no_modify_path && !env.no_modify_path;
    if modify_path && env.home.is_none() {
        ui.warn(&format!(
            "no home directory, so no shell profile to edit: add {} to PATH yourself",
            install_dir.display()
        ));
        modify_path = false;
    }
    let home = env.home.clone().unwrap_or_default();
    let request = InstallRequest {
        install_dir: install_dir.clone(),
        installed_by: env
            .installer
            .clone()
            .unwrap_or_else(|| "self install".into()),
        modify_path,
        allow_downgrade: args.allow_downgrade,
        path_context: PathContext {
            home,
            install_dir,
            path_env: env.path.clone(),
            zdotdir: env.zdotdir.clone(),
            xdg_config_home: env.xdg_config_home.clone(),
            github_path: env.github_path.clone(),
            xdg_data_home: env.xdg_data_home.clone(),
            bash_completion_user_dir: env.bash_completion_user_dir.clone(),
            completions: if args.no_completions {
                Vec::new()
            } else {
                completions()
            },
        },
    };
    let installed = self_install::install(ctx, &request, &mut ui.events())?;
    // Words as they happen; under --json one document, with what following did in it.
    if !ui.json {
        report_installed(ui, &installed, None);
    }
    let followed = match args.follow_channel {
        true => follow_channel(ctx, ui)?,
        false => None,
    };
    if ui.json {
        report_installed(ui, &installed, followed);
    }
    Ok(ExitCode::SUCCESS)
}

/// install.sh hands over a release it verified without being asked for a
/// version; when the signed channel has withdrawn that release here, the
/// maintainers' replacement is installed instead, through `update` (an
/// authorised downgrade). No document, or one that does not verify, changes
/// nothing.
/// Returns the update's JSON document when there was one (printed by the caller under
/// `--json`, which prints one document).
fn follow_channel(ctx: &Context, ui: &Ui) -> Result<Option<serde_json::Value>, UpdateError> {
    let source = std::sync::Arc::new(Source::new(ctx.source.clone()));
    let view = channel_view::refresh(ctx, &source);
    let Some(withdrawal) = view.withdrawal(&ctx.current_version, &ctx.target) else {
        return Ok(None);
    };
    // Moving off it is an update: not where the administrator turned updates off (the
    // install itself is done, and the warning says what to ask for).
    if let Err(refused) = super::update::refuse_if_administrator_off(ctx) {
        ui.warn(&format!(
            "pane {} has been withdrawn: {}; staying on it, because {refused}",
            ctx.current_version, withdrawal.reason
        ));
        return Ok(None);
    }
    ui.warn(&format!(
        "pane {} has been withdrawn: {}; moving off it",
        ctx.current_version, withdrawal.reason
    ));
    let options = UpdateOptions {
        dry_run: false,
        now: false,
        allow_withdrawn: false,
    };
    let want = Want::Latest { prerelease: false };
    let outcome = Updater::new(ctx).update(&want, options, &mut ui.events())?;
    if !ui.json {
        super::update::show(ui, &outcome);
        return Ok(None);
    }
    let (_, value) = super::update::words(&outcome);
    if let Some(warning) = value["warning"].as_str() {
        ui.warn(warning);
    }
    Ok(Some(value))
}

fn report_installed(ui: &Ui, installed: &Installed, followed: Option<serde_json::Value>) {
    if ui.json {
        ui.json(&json!({
            "status": if installed.already { "already-installed" } else { "installed" },
            "version": installed.version.to_string(),
            "install_path": installed.install_path,
            "replaced": installed.replaced.as_ref().map(ToString::to_string),
            "shadowed_by": installed.shadowed_by,
            "followed": followed,
        }));
    } else {
        for note in &installed.notes {
            ui.note(note);
        }
        if installed.already {
            ui.done(&format!(
                "pane {} is already installed at {}",
                installed.version,
                installed.install_path.display()
            ));
        } else {
            ui.done(&format!(
                "installed pane {} to {}",
                installed.version,
                installed.install_path.display()
            ));
        }
        if let Some(other) = &installed.shadowed_by {
            ui.warn(&format!(
                "{} comes earlier on your PATH and will run instead of this pane; remove it or reorder PATH",
                other.display()
            ));
        }
    }
}

/// `PANE_NO_MODIFY_PATH=1`, the environment twin of `--no-modify-path`.
pub fn uninstall(ctx: &Context, ui: &Ui, yes: bool) -> CommandResult {
    if !yes && ui.stdin_terminal && !ui.json {
        let question = format!(
            "Remove pane, its kept versions and state in {}, and the PATH lines it added?",
            ctx.data_dir.display()
        );
        if !super::confirm(&question) {
            ui.note("nothing was removed");
            return Ok(ExitCode::from(super::EXIT_FAILURE));
        }
    }
    let done = self_install::uninstall(ctx, &mut ui.events())?;
    if ui.json {
        ui.json(&json!({"status": "uninstalled", "removed": done.removed,
                        "edited": done.edited, "notes": done.notes}));
    } else {
        for path in &done.edited {
            ui.note(&format!("removed pane's PATH line from {}", path.display()));
        }
        for path in &done.removed {
            ui.note(&format!("removed {}", path.display()));
        }
        for note in &done.notes {
            ui.note(note);
        }
        ui.done("pane is uninstalled");
    }
    Ok(ExitCode::SUCCESS)
}
