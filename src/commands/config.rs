//! `pane self config`: the update policy, each source and which one wins;
//! `pane self config updates auto|notify|off` sets the user's file.

use crate::update::network::redact;
use std::process::ExitCode;

use serde_json::json;

use super::{CommandResult, Ui};
use crate::channel::policy::{self, PolicySource, ResolvedPolicy, UpdatePolicy};
use crate::update::{Context, UpdateError};

/// `system file <path>`, `PANE_UPDATES`, `user file <path>` or `default`.
pub fn source_words(source: &PolicySource) -> String {
    match source {
        PolicySource::System(path) => format!("system file {}", path.display()),
        PolicySource::Environment => "PANE_UPDATES".into(),
        PolicySource::User(path) => format!("user file {}", path.display()),
        PolicySource::Default => "default".into(),
    }
}

/// The policy in force; a file pane cannot read is an error naming it.
pub fn resolved(ctx: &Context) -> Result<ResolvedPolicy, UpdateError> {
    ctx.channel
        .policy
        .resolve()
        .map_err(|e| UpdateError::Policy(e.to_string()))
}

pub fn config(ctx: &Context, ui: &Ui, key: Option<String>, value: Option<String>) -> CommandResult {
    match (key.as_deref(), value) {
        (None, _) => show(ctx, ui),
        (Some("updates"), Some(value)) => set(ctx, ui, &value),
        (Some("updates"), None) => Err(usage("`updates` needs a value".into())),
        (Some(other), _) => Err(usage(format!("{other:?} is not a setting"))),
    }
}

/// A `pane self config` that cannot mean anything: exit 2, with the one
/// setting there is.
fn usage(message: String) -> UpdateError {
    UpdateError::Usage {
        message,
        hint: "the one setting is `updates` (auto, notify or off): `pane self config updates auto`"
            .into(),
    }
}

fn show(ctx: &Context, ui: &Ui) -> CommandResult {
    let files = &ctx.channel.policy;
    let in_force = resolved(ctx)?;
    if let Some(warning) = &in_force.ignored {
        ui.warn(warning);
    }
    let system = policy::read_policy(&files.system).ok().flatten();
    let user = files
        .user
        .as_deref()
        .and_then(|p| policy::read_policy(p).ok().flatten());
    let name = |p: Option<UpdatePolicy>| p.map(|p| p.to_string());
    if ui.json {
        ui.json(&json!({
            "updates": in_force.policy.as_str(),
            "source": source_words(&in_force.source),
            "system_file": {"path": files.system, "updates": name(system)},
            "environment": files.environment,
            "user_file": {"path": files.user, "updates": name(user)},
            "channel_url": redact(&ctx.channel.url),
        }));
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "updates = {}    (from {})",
        in_force.policy,
        source_words(&in_force.source)
    );
    let or_unset = |v: Option<String>| v.unwrap_or_else(|| "not set".into());
    outln!(
        "  system file {}: {}",
        files.system.display(),
        or_unset(name(system))
    );
    let environment =
        files
            .environment
            .clone()
            .map(|value| match UpdatePolicy::parse_loose(&value) {
                Ok(_) => value,
                Err(_) => format!("{value} (ignored: not auto, notify or off)"),
            });
    outln!("  PANE_UPDATES: {}", or_unset(environment));
    if let Some(path) = &files.user {
        outln!("  user file {}: {}", path.display(), or_unset(name(user)));
    }
    outln!("  default: notify");
    outln!("channel = {}", redact(&ctx.channel.url));
    Ok(ExitCode::SUCCESS)
}

fn set(ctx: &Context, ui: &Ui, value: &str) -> CommandResult {
    let policy = UpdatePolicy::parse_loose(value).map_err(usage)?;
    let Some(path) = &ctx.channel.policy.user else {
        return Err(UpdateError::NoHome);
    };
    if let Some(parent) = path.parent() {
        // The user's config dir, not the installation's: no repair hint.
        std::fs::create_dir_all(parent).map_err(|source| {
            UpdateError::Policy(
                policy::PolicyError::Write {
                    path: parent.to_path_buf(),
                    source,
                }
                .to_string(),
            )
        })?;
    }
    policy::write_user_policy(path, policy).map_err(|e| UpdateError::Policy(e.to_string()))?;
    let in_force = resolved(ctx)?;
    if let Some(warning) = &in_force.ignored {
        ui.warn(warning);
    }
    if in_force.policy != policy {
        ui.warn(&format!(
            "{} still applies: {} wins over your file",
            in_force.policy,
            source_words(&in_force.source)
        ));
    }
    if ui.json {
        ui.json(&json!({"status": "set", "updates": policy.as_str(), "path": path,
                        "in_force": in_force.policy.as_str(), "source": source_words(&in_force.source)}));
    } else {
        ui.done(&format!("updates = \"{policy}\" in {}", path.display()));
    }
    Ok(ExitCode::SUCCESS)
}
