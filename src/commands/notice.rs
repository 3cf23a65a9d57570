//! The quiet update notice: at most once a day, on a terminal, never in CI,
//! never with `PANE_NO_UPDATE_CHECK`, never from `pane self …`. It adds no
//! network wait: the check runs in a detached background process with a short
//! deadline and its result is shown on a later run.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use semver::Version;
use serde::{Deserialize, Serialize};

use crate::env::{Build, Env};
use crate::update::{Context, Updater};

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
}

pub fn cache_path(data_dir: &Path) -> PathBuf {
    data_dir.join(crate::update::CHECK_CACHE_FILE)
}

pub fn read_cache(data_dir: &Path) -> Option<CheckCache> {
    let bytes = std::fs::read(cache_path(data_dir)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn save_cache(data_dir: &Path, cache: &CheckCache) {
    if let Ok(bytes) = serde_json::to_vec(cache) {
        let _ = crate::platform::write_atomic(&cache_path(data_dir), &bytes, 0o644);
    }
}

pub fn write_cache(data_dir: &Path, latest: &Version) {
    let mut cache = read_cache(data_dir).unwrap_or_default();
    cache.checked_at = crate::platform::now_unix();
    cache.latest = latest.to_string();
    save_cache(data_dir, &cache);
}

/// "5 minutes ago" for a unix time.
pub fn ago(when: u64) -> String {
    let seconds = crate::platform::now_unix().saturating_sub(when);
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

/// Shows the notice if due, and starts a background check if the last one is
/// older than a day. Never waits on the network.
pub fn maybe_show(env: &Env, build: &Build) {
    if env.ci || env.no_update_check || !std::io::stderr().is_terminal() {
        return;
    }
    let (Some(data_dir), Ok(current)) = (crate::env::data_dir(env), Version::parse(build.version))
    else {
        return;
    };
    // Only an installation pane manages gets the notice.
    if !crate::update::receipt::load(&data_dir.join(crate::update::receipt::FILE_NAME))
        .is_ok_and(|r| r.is_some())
    {
        return;
    }
    let now = crate::platform::now_unix();
    let mut cache = read_cache(&data_dir).unwrap_or_default();
    let shown = should_show(&cache, &current, now);
    if shown {
        eprintln!(
            "\npane {} is available (you have {current}). Update with `pane self update`; silence with PANE_NO_UPDATE_CHECK=1.",
            cache.latest
        );
        cache.notified_at = now;
    }
    let check_due = now.saturating_sub(cache.checked_at) >= DAY
        && now.saturating_sub(cache.attempted_at) >= DAY;
    if check_due {
        cache.attempted_at = now;
    }
    // One write for both marks, before the check starts (it writes the
    // cache again when it finishes).
    if shown || check_due {
        save_cache(&data_dir, &cache);
    }
    if check_due {
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
}

/// The hidden `pane self background-check`: one verified look at "latest",
/// with a short deadline, result into the cache.
pub fn background_check(ctx: &Context) {
    let mut ctx = ctx.clone();
    ctx.source.connect_timeout = Duration::from_secs(3);
    ctx.source.idle_timeout = Duration::from_secs(5);
    if let Ok(resolved) = Updater::new(&ctx).resolve(None) {
        write_cache(&ctx.data_dir, resolved.version());
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
