//! What `status` says about the release channel, the rollout, the update
//! policy and the background auto-update: from what is stored, no network.

use crate::update::network::redact;
use serde_json::{json, Value};

use super::auto::read_log;
use super::config::source_words;
use super::notice::CheckCache;
use crate::channel::decide::takes_prereleases;
use crate::channel::rollout::Availability;
use crate::channel::Timestamp;
use crate::update::channel_view;
use crate::update::receipt::Receipt;
use crate::update::Context;

fn time(unix: u64) -> String {
    Timestamp::from_unix(i64::try_from(unix).unwrap_or(i64::MAX)).to_string()
}

/// The fields `status --json` adds: `channel`, `rollout`, `policy`, `auto`,
/// `verified`, `last_notice`.
pub fn channel_json(ctx: &Context, receipt: Option<&Receipt>, last: Option<&CheckCache>) -> Value {
    let view = channel_view::stored(ctx);
    let installed = receipt.map_or(&ctx.current_version, |r| &r.version);
    // The replacement is what the document names; `replacement_refused`
    // says why `update` (without --prerelease) does not use it, if it does not.
    let withdrawn = view.withdrawal(installed, &ctx.target).map(|w| {
        let prereleases = takes_prereleases(installed, false);
        let refused = view
            .replacement(installed, &ctx.target, installed, prereleases)
            .err()
            .map(|problem| problem.to_string());
        json!({
            "reason": w.reason,
            "replacement": w.replacement.as_ref().map(ToString::to_string),
            "replacement_refused": refused,
        })
    });
    let rollout = view.document.as_ref().and_then(|d| d.rollout.as_ref());
    let availability = rollout.map(|r| view.availability(&r.version));
    let eta = match &availability {
        Some(Availability::RollingOut { eta, .. }) => Some(eta.to_string()),
        _ => None,
    };
    // The versions this installation verified (kept ones included) that are withdrawn here.
    let withdrawn_verified: Vec<Value> = receipt
        .map(Receipt::verified_versions)
        .unwrap_or_default()
        .iter()
        .filter_map(|v| view.withdrawal(v, &ctx.target))
        .map(|w| json!({"version": w.version.to_string(), "reason": w.reason}))
        .collect();
    let policy = ctx.channel.policy.resolve();
    let log = read_log(&ctx.auto_log_path()).unwrap_or_default();
    json!({
        "channel": {
            "serial": view.serial(),
            "frozen": view.frozen(),
            "withdrawn_installed": withdrawn,
            "withdrawn_verified": withdrawn_verified,
            "url": redact(&ctx.channel.url),
            "warnings": view.warnings,
        },
        "rollout": {
            // Null until kept: a number drawn afresh each run means nothing.
            "number": view.number_kept.then(|| view.number.value()),
            "version": rollout.map(|r| r.version.to_string()),
            "available": availability.as_ref().map(Availability::is_available),
            "eta": eta,
        },
        "policy": match &policy {
            Ok(p) => json!({"updates": p.policy.as_str(), "source": source_words(&p.source)}),
            Err(e) => json!({"updates": null, "source": null, "error": e.to_string()}),
        },
        "auto": {
            "last_run": log.last_run.map(time),
            "last_action": log.last_action,
            "last_error": log.last_error,
            "last_error_at": log.last_error_at.map(time),
            "last_install": log.last_install.map(time),
        },
        "verified": receipt.map(|r| r.verified_versions().iter().map(ToString::to_string).collect::<Vec<_>>()).unwrap_or_default(),
        "last_notice": last.and_then(|c| c.last_notice.as_ref().map(|text| json!({"at": time(c.notified_at), "text": text}))),
    })
}

/// The same, in words, after the rest of `status`.
pub fn print_channel(value: &Value) {
    let channel = &value["channel"];
    match channel["serial"].as_u64() {
        Some(serial) => outln!("channel:       document serial {serial}"),
        None => outln!("channel:       no document yet"),
    }
    if channel["frozen"] == true {
        outln!("               expired: release information may be withheld by the server");
    }
    if let Some(w) = channel["withdrawn_installed"].as_object() {
        let refused = w.get("replacement_refused").and_then(Value::as_str);
        outln!(
            "installed:     withdrawn: {}{}",
            w["reason"].as_str().unwrap_or_default(),
            w["replacement"].as_str().map_or(String::new(), |r| format!(
                " (replacement {r}{})",
                if refused.is_some() {
                    ", not used here"
                } else {
                    ""
                }
            ))
        );
        if let Some(refused) = refused {
            outln!("               {refused}");
        }
    }
    for w in channel["withdrawn_verified"]
        .as_array()
        .into_iter()
        .flatten()
    {
        outln!(
            "withdrawn:     {} ({})",
            w["version"].as_str().unwrap_or_default(),
            w["reason"].as_str().unwrap_or_default()
        );
    }
    let rollout = &value["rollout"];
    if let Some(version) = rollout["version"].as_str() {
        let state = match (rollout["available"].as_bool(), rollout["eta"].as_str()) {
            (Some(true), _) => "reached this installation".to_string(),
            (_, Some(eta)) => format!("reaches this installation about {eta}"),
            _ => "not yet".to_string(),
        };
        match rollout["number"].as_f64() {
            Some(number) => {
                outln!("rollout:       {version} {state} (rollout number {number:.4})")
            }
            None => outln!("rollout:       {version} {state}"),
        }
    }
    let policy = &value["policy"];
    outln!(
        "updates:       {} (from {})",
        policy["updates"].as_str().unwrap_or("unknown"),
        policy["source"].as_str().unwrap_or("an unreadable file")
    );
    let auto = &value["auto"];
    if let Some(at) = auto["last_run"].as_str() {
        outln!(
            "auto-update:   {at}: {}",
            auto["last_action"].as_str().unwrap_or_default()
        );
    }
    if let Some(error) = auto["last_error"].as_str() {
        outln!("last error:    {error}");
    }
    for warning in channel["warnings"].as_array().into_iter().flatten() {
        outln!("warning:       {}", warning.as_str().unwrap_or_default());
    }
}
