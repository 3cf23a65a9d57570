//! The hidden `pane self background-check`: the scheduled work of an
//! installation. It fetches the channel document and the latest release and
//! records them for the notice; under the `auto` policy it then installs
//! what `pane self update` would, under the same lock and through the same
//! transaction, at most every four hours and never while a pin holds, and
//! records what it did and its last error in a small log in the data dir
//! (`auto-update.json`), which `status` shows. Under `off` it does nothing.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::notice::{self, now_unix};
use crate::channel::policy::UpdatePolicy;
use crate::update::channel_view::ChannelView;
use crate::update::source::{NoProgress, Progress};
use crate::update::{Context, Events, Outcome, UpdateError, UpdateOptions, Updater, Want};

/// At most one automatic update attempt per this many seconds.
const AUTO_INTERVAL: u64 = 4 * 3600;

/// The auto-update log.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AutoLog {
    /// When an automatic update last ran (unix seconds).
    #[serde(default)]
    pub last_run: Option<u64>,
    /// What it did, in words.
    #[serde(default)]
    pub last_action: Option<String>,
    /// When it last installed something (unix seconds).
    #[serde(default)]
    pub last_install: Option<u64>,
    /// Its last error, and when.
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub last_error_at: Option<u64>,
    /// Fields a newer pane added: kept as they are when this one rewrites
    /// the log.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

pub fn read_log(path: &Path) -> Option<AutoLog> {
    let bytes = crate::platform::read_limited(path, 64 * 1024).ok()??;
    serde_json::from_slice(&bytes).ok()
}

/// Writes the log, only while the installation is there and without making
/// the data dir: an uninstall may have come while the check ran (a failed
/// update says `NotInstalled` then), and nothing of pane's may outlive it.
fn save_log(ctx: &Context, log: &AutoLog) {
    if !ctx.receipt_path().exists() {
        return;
    }
    if let Ok(bytes) = serde_json::to_vec_pretty(log) {
        let path = ctx.auto_log_path();
        let _ = crate::platform::write_atomic_in_existing_dir(&path, &bytes, 0o644);
    }
}

pub fn background_check(ctx: &Context) {
    let policy = ctx.channel.policy.in_force();
    if policy == UpdatePolicy::Off {
        return;
    }
    let mut ctx = ctx.clone();
    ctx.source.connect_timeout = Duration::from_secs(3);
    ctx.source.idle_timeout = Duration::from_secs(5);
    ctx.lock_wait = Duration::from_secs(10);
    let updater = Updater::new(&ctx);
    let view = updater.channel();
    if let Ok(resolved) = updater.resolve(None) {
        notice::write_cache_if_installed(&ctx, resolved.version(), updater.served_from());
    }
    if policy == UpdatePolicy::Auto {
        auto_update(&ctx, &updater, &view);
    }
}

/// Installs what `update` would, at most every four hours, never while a
/// pin holds; the log says what happened.
fn auto_update(ctx: &Context, updater: &Updater, view: &ChannelView) {
    let mut log = read_log(&ctx.auto_log_path()).unwrap_or_default();
    let now = now_unix(ctx);
    let Ok(Some(receipt)) = crate::update::read_receipt(ctx) else {
        return;
    };
    log.last_run = Some(now);
    // Moving off a withdrawn version does not wait for the interval.
    let withdrawn = view.withdrawal(&receipt.version, &ctx.target).is_some();
    let recent = log
        .last_install
        .is_some_and(|at| now.saturating_sub(at) < AUTO_INTERVAL);
    if let Some(pin) = &receipt.pin {
        log.last_action = Some(format!("nothing: held by the pin {pin}"));
    } else if recent && !withdrawn {
        log.last_action =
            Some("nothing: the last automatic update is less than four hours old".into());
    } else {
        match run_locked(updater, view) {
            Ok(outcome) => {
                if matches!(outcome, Outcome::Changed { .. } | Outcome::Replaced { .. }) {
                    log.last_install = Some(now);
                }
                log.last_action = Some(describe(&outcome));
            }
            Err(error) => {
                log.last_action = Some("failed".into());
                log.last_error = Some(error.to_string());
                log.last_error_at = Some(now);
            }
        }
    }
    save_log(ctx, &log);
}

fn run_locked(updater: &Updater, view: &ChannelView) -> Result<Outcome, UpdateError> {
    let mut events = Quiet(NoProgress);
    let tx = updater.begin("auto-update", &mut events)?;
    let receipt = tx.receipt(&mut events)?;
    if receipt.pin.is_some() {
        return Ok(Outcome::HeldByPin {
            version: receipt.version.clone(),
            pin: receipt.pin.clone().unwrap_or_default(),
        });
    }
    let want = Want::Latest { prerelease: false };
    updater.update_locked(
        &tx,
        &receipt,
        &want,
        UpdateOptions::default(),
        view,
        &mut events,
    )
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Changed { from, to } => format!("updated {from} → {to}"),
        Outcome::Replaced {
            from,
            to,
            withdrawal,
            passed_over,
        } => format!(
            "{from} withdrawn ({}): installed {to}{}",
            withdrawal.reason,
            passed_over
                .as_ref()
                .map_or(String::new(), |p| format!(" ({p})"))
        ),
        Outcome::HeldByPin { pin, .. } => format!("nothing: held by the pin {pin}"),
        Outcome::Stayed { version, why } => {
            format!("nothing: {}", super::update::stay_words(version, why).0)
        }
        Outcome::Ahead { version, .. } | Outcome::UpToDate { version } => {
            format!("nothing: {version} is up to date")
        }
        other => format!("{other:?}"),
    }
}

/// Events of a run nobody watches.
struct Quiet(NoProgress);

impl Events for Quiet {
    fn downloading(&mut self) -> &mut dyn Progress {
        &mut self.0
    }
}
