//! The quiet update notice: at most once a day, on a terminal, never in CI,
//! never with `PANE_NO_UPDATE_CHECK`, never from `pane self …`. It adds no
//! network wait: the check runs in a detached background process with a short
//! deadline and its result is shown on a later run. A withdrawn installed
//! version and a critical update are said on every run until dealt with; a
//! release rolling out is not announced before it reaches this installation.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use semver::Version;
use serde::{Deserialize, Serialize};

use crate::channel::decide::{downgrade_floor, takes_prereleases};
use crate::channel::policy::UpdatePolicy;
use crate::channel::rollout::Availability;
use crate::env::{Build, Env};
use crate::update::channel_view::{self, ChannelView};
use crate::update::receipt::Receipt;
use crate::update::source::ServedFrom;
use crate::update::Context;

const DAY: u64 = 24 * 60 * 60;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CheckCache {
    /// When a check last succeeded (unix seconds).
    pub checked_at: u64,
    /// The latest version that check saw (verified through its signature).
    pub latest: String,
    /// When a background check was last started.
    #[serde(default)]
    pub attempted_at: u64,
    /// When the notice was last shown.
    #[serde(default)]
    pub notified_at: u64,
    /// The last notice shown, word for word (`status` shows it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_notice: Option<String>,
    /// Where the last check or update found the release files of a mirror,
    /// when a redirect led to another host (GitHub's CDN):
    /// `{"releases": URL, "origin": ORIGIN}`; the next update opens its
    /// connections there ahead (`update/ahead.rs`). Kept as it is read, so a
    /// value this pane cannot use (another shape, a newer pane's) is neither
    /// an error that empties the cache nor lost when the file is rewritten.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub served_from: Option<serde_json::Value>,
    /// Fields a newer pane added: kept as they are when this one rewrites
    /// the file, so a downgrade does not lose them.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

pub fn cache_path(data_dir: &Path) -> PathBuf {
    data_dir.join(crate::update::CHECK_CACHE_FILE)
}

pub fn read_cache(data_dir: &Path) -> Option<CheckCache> {
    let bytes = crate::platform::read_limited(&cache_path(data_dir), 64 * 1024).ok()??;
    serde_json::from_slice(&bytes).ok()
}

impl CheckCache {
    /// The latest version the last check that succeeded saw, if any.
    pub fn latest_version(&self) -> Option<Version> {
        Version::parse(&self.latest).ok()
    }

    /// Where the last check or update found the release files of the mirror
    /// `ctx` uses, when another host served them.
    pub fn served_from_for(&self, ctx: &Context) -> Option<String> {
        let entry = self.served_from.as_ref()?;
        if entry.get("releases")?.as_str()? != releases_key(&ctx.source.releases_url)? {
            return None;
        }
        Some(entry.get("origin")?.as_str()?.to_string())
    }
}

/// Writes the cache; `create_dir` only for `check`, which keeps it for any
/// installation. Elsewhere it is written for a managed installation alone,
/// and a data dir that an uninstall removed meanwhile is not brought back.
fn save_cache(data_dir: &Path, cache: &CheckCache, create_dir: bool) {
    if let Ok(bytes) = serde_json::to_vec(cache) {
        let path = cache_path(data_dir);
        let _ = if create_dir {
            crate::platform::write_atomic(&path, &bytes, 0o644)
        } else {
            crate::platform::write_atomic_in_existing_dir(&path, &bytes, 0o644)
        };
    }
}

/// "Now" in unix seconds by the context's clock (`PANE_TEST_NOW` in tests).
pub fn now_unix(ctx: &Context) -> u64 {
    u64::try_from(ctx.channel.clock.now().unix()).unwrap_or(0)
}

/// Records what `check` found, and where the files came from, for any
/// installation (the data dir is made if need be).
pub fn write_cache(ctx: &Context, latest: &Version, served_from: Option<ServedFrom>) {
    record_latest(ctx, Some(latest), served_from, true);
}

/// Records what the background check found, only while the installation is
/// there: the check runs detached, and an uninstall may come first.
pub fn write_cache_if_installed(ctx: &Context, latest: &Version, served_from: Option<ServedFrom>) {
    if ctx.receipt_path().exists() {
        record_latest(ctx, Some(latest), served_from, false);
    }
}

/// Records where an update found the release files, while the installation
/// is there, when that differs from what the cache says.
pub fn remember_served_from(ctx: &Context, served_from: Option<ServedFrom>) {
    if served_from.is_some() && ctx.receipt_path().exists() {
        record_latest(ctx, None, served_from, false);
    }
}

/// The releases URL as the cache names it: without a user name, password,
/// query or fragment, which may hold credentials and are never written down.
fn releases_key(releases_url: &str) -> Option<String> {
    let mut url = reqwest::Url::parse(releases_url).ok()?;
    url.set_username("").ok()?;
    url.set_password(None).ok()?;
    url.set_query(None);
    url.set_fragment(None);
    Some(url.to_string())
}

/// The cache's entry for `served`: none when the mirror served its files
/// itself (nothing to open ahead), or when its URL cannot be written down.
fn served_entry(ctx: &Context, served: &ServedFrom) -> Option<serde_json::Value> {
    match served {
        ServedFrom::Mirror => None,
        ServedFrom::Elsewhere(origin) => {
            let releases = releases_key(&ctx.source.releases_url)?;
            Some(serde_json::json!({"releases": releases, "origin": origin}))
        }
    }
}

/// Writes what a check found (`latest`) and where the files came from; with
/// neither changed, writes nothing.
fn record_latest(
    ctx: &Context,
    latest: Option<&Version>,
    served_from: Option<ServedFrom>,
    create_dir: bool,
) {
    let mut cache = read_cache(&ctx.data_dir).unwrap_or_default();
    let entry = served_from.map(|served| served_entry(ctx, &served));
    if latest.is_none()
        && entry
            .as_ref()
            .is_none_or(|entry| *entry == cache.served_from)
    {
        return;
    }
    if let Some(latest) = latest {
        cache.checked_at = now_unix(ctx);
        cache.latest = latest.to_string();
    }
    if let Some(entry) = entry {
        cache.served_from = entry;
    }
    save_cache(&ctx.data_dir, &cache, create_dir);
}

/// "5 minutes ago" for a unix time.
pub fn ago(when: u64, now: u64) -> String {
    let seconds = now.saturating_sub(when);
    match seconds {
        0..60 => format!("{seconds} seconds ago"),
        60..3600 => format!("{} minutes ago", seconds / 60),
        3600..86400 => format!("{} hours ago", seconds / 3600),
        _ => format!("{} days ago", seconds / 86400),
    }
}

/// Decides whether to show the notice now, given the facts.
pub fn should_show(cache: &CheckCache, current: &Version, now: u64) -> bool {
    let newer = Version::parse(&cache.latest)
        .is_ok_and(|latest| &latest > current && latest.pre.is_empty());
    newer && now.saturating_sub(cache.notified_at) >= DAY
}

/// The warning for a pinned installation whose version is withdrawn. The
/// replacement it names is the one `update` could use ([`replacement`]); one
/// it may not (withdrawn, below the minimum, a pre-release this installation
/// did not ask for) is not suggested: the warning says why, and names the
/// highest good version verified here instead, if there is one.
pub fn pinned_withdrawn_text(ctx: &Context) -> Option<String> {
    let receipt = crate::update::read_receipt(ctx).ok()??;
    let pin = receipt.pin.as_ref()?;
    let view = channel_view::stored(ctx);
    let current = &receipt.version;
    let withdrawal = view.withdrawal(current, &ctx.target)?;
    let prereleases = takes_prereleases(current, false);
    let moves = |v: &Version| format!("(`pane self pin {v}` moves the pin)");
    let way_out = match view.replacement(current, &ctx.target, current, prereleases) {
        Ok(Some(r)) => format!("; its replacement is {r} {}", moves(&r)),
        Ok(None) => String::new(),
        Err(problem) => {
            // Where `update` would go without the replacement: the floor
            // among the stable versions verified here.
            let verified = receipt.verified_versions_for(false);
            let floor = view
                .document
                .as_ref()
                .and_then(|document| {
                    downgrade_floor(document, &ctx.target, current, &verified, prereleases)
                })
                .filter(|floor| floor != current);
            format!(
                "; pane does not suggest the channel's replacement: {problem}{}",
                floor.map_or(String::new(), |f| format!(
                    "; {f} is the highest good version verified here {}",
                    moves(&f)
                ))
            )
        }
    };
    Some(format!(
        "pane {current} (pinned by {pin}) has been withdrawn: {}{way_out}",
        withdrawal.reason,
    ))
}

/// The notice due now, if any, and whether it shows on every run (a
/// withdrawn installed version, a critical update) rather than once a day.
fn notice_text(
    ctx: &Context,
    receipt: &Receipt,
    cache: &CheckCache,
    view: &ChannelView,
) -> Option<(String, bool)> {
    let current = &receipt.version;
    if receipt.pin.is_some() {
        return pinned_withdrawn_text(ctx).map(|text| (text, true));
    }
    if let Some(w) = view.withdrawal(current, &ctx.target) {
        // A newer release that is not withdrawn (a fix forward) is what
        // `update` installs then, rather than going down to the replacement.
        // (As `update` decides: not while that release is still rolling out
        // toward this installation.)
        let newer = Version::parse(&cache.latest).ok().filter(|latest| {
            latest > current
                && latest.pre.is_empty()
                && view.withdrawal(latest, &ctx.target).is_none()
                && !matches!(view.availability(latest), Availability::RollingOut { .. })
        });
        // The replacement as `update` (without --prerelease) sees it: one it
        // cannot use (withdrawn, below the minimum, a pre-release this
        // installation did not ask for) is not promised.
        let prereleases = takes_prereleases(current, false);
        let replacement = view.replacement(current, &ctx.target, current, prereleases);
        let way_out = match (newer, replacement) {
            (Some(newer), _) => format!(" `pane self update` installs {newer}, a newer release."),
            (None, Ok(Some(r))) => format!(" `pane self update` installs its replacement, {r}."),
            (None, Err(problem)) => {
                format!(" `pane self update` does not go to the channel's replacement: {problem}.")
            }
            (None, Ok(None)) => String::new(),
        };
        return Some((
            format!("pane {current} has been withdrawn: {}.{way_out}", w.reason),
            true,
        ));
    }
    let frozen = view.frozen().then(|| {
        " (the release channel's document has expired: release information may be withheld by the server)".to_string()
    });
    let latest = Version::parse(&cache.latest).ok().filter(|latest| {
        latest > current && latest.pre.is_empty() && view.withdrawal(latest, &ctx.target).is_none()
    });
    let Some(latest) = latest else {
        return frozen.map(|f| (format!("pane {current}{f}"), false));
    };
    let frozen = frozen.unwrap_or_default();
    match view.availability(&latest) {
        Availability::Critical => Some((
            format!("pane {latest} is a critical update (you have {current}): run `pane self update` now.{frozen}"),
            true,
        )),
        Availability::RollingOut { .. } => None,
        _ => Some((
            format!("pane {latest} is available (you have {current}). Update with `pane self update`; silence with PANE_NO_UPDATE_CHECK=1.{frozen}"),
            false,
        )),
    }
}

/// Shows the notice if due, and starts a background check if the last one is
/// older than a day (an hour under `auto`; never under `off`). Never waits
/// on the network.
pub fn maybe_show(env: &Env, build: &Build) {
    let shown_here = std::io::stderr().is_terminal() || env.force_notice;
    if env.ci || env.no_update_check || !shown_here {
        return;
    }
    let Ok(ctx) = crate::env::context(env, build) else {
        return;
    };
    // Only an installation pane manages gets the notice.
    let Ok(Some(receipt)) = crate::update::read_receipt(&ctx) else {
        return;
    };
    // Where the policy counts (whether to check), a PANE_UPDATES that is none
    // of the three is said to be passed over, not read as `notify` in silence;
    // a file that does not read turns the checks off, and says so.
    let policy = match ctx.channel.policy.resolve() {
        Ok(resolved) => {
            if let Some(warning) = &resolved.ignored {
                eprintln!("warning: {warning}");
            }
            resolved.policy
        }
        Err(error) => {
            eprintln!("warning: update policy: {error}; no update checks until it reads");
            UpdatePolicy::Off
        }
    };
    let now = now_unix(&ctx);
    let mut cache = read_cache(&ctx.data_dir).unwrap_or_default();
    let view = channel_view::stored(&ctx);
    let due = notice_text(&ctx, &receipt, &cache, &view)
        .filter(|(_, every_run)| *every_run || now.saturating_sub(cache.notified_at) >= DAY);
    if let Some((text, _)) = &due {
        eprintln!("\n{text}");
        cache.notified_at = now;
        cache.last_notice = Some(text.clone());
    }
    // Under `auto` the check (a small fetch) runs hourly, so that a
    // withdrawal reaches the installation well within four hours.
    let interval = if policy == UpdatePolicy::Auto {
        3600
    } else {
        DAY
    };
    let check_due = policy != UpdatePolicy::Off
        && now.saturating_sub(cache.checked_at) >= interval
        && now.saturating_sub(cache.attempted_at) >= interval;
    if check_due {
        cache.attempted_at = now;
    }
    // One write for both marks, before the check starts (it writes the
    // cache again when it finishes).
    if due.is_some() || check_due {
        save_cache(&ctx.data_dir, &cache, false);
    }
    if check_due && !env.test_no_spawn {
        spawn_background_check();
    }
}

fn spawn_background_check() {
    if let Ok(exe) = std::env::current_exe() {
        let mut command = std::process::Command::new(exe);
        command
            .args(["self", "background-check"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        // Its own process group: the terminal's hangup when this shell
        // session ends must not kill the check half-way.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let _ = command.spawn();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_a_day_and_only_when_newer() {
        let current = Version::new(1, 0, 0);
        let cache = |latest: &str, notified_at| CheckCache {
            checked_at: 0,
            latest: latest.into(),
            attempted_at: 0,
            notified_at,
            last_notice: None,
            served_from: None,
            other: Default::default(),
        };
        let now = 10 * DAY;
        assert!(should_show(&cache("1.1.0", 0), &current, now));
        assert!(!should_show(&cache("1.1.0", now - 60), &current, now));
        assert!(should_show(&cache("1.1.0", now - DAY), &current, now));
        assert!(!should_show(&cache("1.0.0", 0), &current, now));
        assert!(!should_show(&cache("1.1.0-beta.1", 0), &current, now));
        assert!(!should_show(&cache("garbage", 0), &current, now));
    }
}
