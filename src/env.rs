//! The process environment, read once, here at the edge. Everything below
//! takes these values as plain data, so tests never mutate the environment.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

#[cfg(feature = "self-update")]
use semver::Version;

#[cfg(feature = "self-update")]
use crate::channel::policy;
#[cfg(feature = "self-update")]
use crate::channel::{ChannelKeys, Clock};
#[cfg(feature = "self-update")]
use crate::update::network::ProxyConfig;
#[cfg(feature = "self-update")]
use crate::update::source::SourceConfig;
#[cfg(feature = "self-update")]
use crate::update::verify::{TrustStore, VerifyError};
#[cfg(feature = "self-update")]
use crate::update::{ChannelConfig, Context, PolicyFiles};

/// What `main` knows about this build.
#[derive(Clone, Debug)]
pub struct Build {
    pub version: &'static str,
}

#[derive(Clone, Debug, Default)]
pub struct Env {
    pub home: Option<PathBuf>,
    pub pane_install_dir: Option<PathBuf>,
    pub xdg_bin_home: Option<PathBuf>,
    pub xdg_config_home: Option<PathBuf>,
    pub xdg_data_home: Option<PathBuf>,
    pub bash_completion_user_dir: Option<PathBuf>,
    pub zdotdir: Option<PathBuf>,
    pub path: Option<OsString>,
    pub github_path: Option<PathBuf>,
    pub cargo_home: Option<PathBuf>,
    pub releases_url: Option<String>,
    pub api_url: Option<String>,
    /// `PANE_GITHUB_TOKEN`: sent to whatever API host pane is pointed at.
    pub token: Option<String>,
    /// `GITHUB_TOKEN`: set job-wide by CI, so sent only to GitHub's API
    /// (`api.github.com`, or the host of `GITHUB_API_URL`).
    pub generic_token: Option<String>,
    /// `GITHUB_API_URL`: GitHub Actions' API (GitHub Enterprise's too).
    pub github_api_url: Option<String>,
    /// Only read in builds with debug assertions.
    pub test_pubkey: Option<String>,
    pub installer: Option<String>,
    pub no_color: bool,
    pub ci: bool,
    pub no_update_check: bool,
    pub no_modify_path: bool,
    pub lock_wait: Option<Duration>,
    pub idle_timeout: Option<Duration>,
    /// `PANE_CHANNEL_URL`: where the channel document is.
    pub channel_url: Option<String>,
    /// `PANE_UPDATES`: the update policy, unless an administrator set one.
    pub updates: Option<String>,
    /// Only read in builds with debug assertions.
    pub test_channel_pubkey: Option<String>,
    /// `PANE_TEST_REVOKED`: key ids (comma-separated) refused as if listed in
    /// `keys/revoked` (debug builds only, like the test keys).
    pub test_revoked: Vec<[u8; 8]>,
    /// `PANE_TEST_NOW`; only read in builds with debug assertions.
    pub test_now: Option<String>,
    /// `PANE_TEST_SYSTEM_CONFIG`; only read in builds with debug assertions.
    pub test_system_config: Option<PathBuf>,
    /// `PANE_FORCE_NOTICE`: the notice also off a terminal (debug builds only).
    pub force_notice: bool,
    /// `PANE_TEST_NO_SPAWN`: the notice starts no background check (debug builds only).
    pub test_no_spawn: bool,
    /// What could not be read (a timeout that is no number of seconds), in
    /// words for a warning: each `pane self` command shows them.
    pub warnings: Vec<String>,
    /// `https_proxy`/`HTTPS_PROXY`, else `all_proxy`/`ALL_PROXY`; and
    /// `no_proxy`/`NO_PROXY` (see `update::network`).
    #[cfg(feature = "self-update")]
    pub proxy: ProxyConfig,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn path_var(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// A test variable's value, only in builds with debug assertions.
fn debug_only<T>(value: Option<T>) -> Option<T> {
    value.filter(|_| cfg!(debug_assertions))
}

/// Key ids as minisign prints them, comma-separated; what does not parse is left out.
fn revoked_ids(text: &str) -> Vec<[u8; 8]> {
    text.split(',')
        .filter_map(|id| {
            let id = id.trim();
            (id.len() == 16)
                .then(|| u64::from_str_radix(id, 16).ok())
                .flatten()
                .map(u64::to_le_bytes)
        })
        .collect()
}

/// `PANE_LOCK_TIMEOUT`'s default, in seconds.
pub const LOCK_TIMEOUT_DEFAULT: u64 = 120;
/// `PANE_HTTP_TIMEOUT`'s default, in seconds.
pub const HTTP_TIMEOUT_DEFAULT: u64 = 30;

/// Seconds (fractions allowed). A value that is not a number of seconds a
/// duration can hold (`ten`, `-1`, `NaN`, `inf`, `1e300`) is `None`, so the
/// default, and a warning that says so.
fn seconds_var(name: &str, default: u64, warnings: &mut Vec<String>) -> Option<Duration> {
    let value = var(name)?;
    let seconds = value
        .trim()
        .parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok());
    if seconds.is_none() {
        warnings.push(format!(
            "{name}={value:?} is not a number of seconds; using the default, {default}"
        ));
    }
    seconds
}

impl Env {
    pub fn from_process() -> Env {
        let mut warnings = Vec::new();
        Env {
            home: path_var("HOME")
                .or_else(|| directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf())),
            pane_install_dir: path_var("PANE_INSTALL_DIR"),
            xdg_bin_home: path_var("XDG_BIN_HOME"),
            xdg_config_home: path_var("XDG_CONFIG_HOME"),
            xdg_data_home: path_var("XDG_DATA_HOME"),
            bash_completion_user_dir: path_var("BASH_COMPLETION_USER_DIR"),
            zdotdir: path_var("ZDOTDIR"),
            path: std::env::var_os("PATH"),
            github_path: path_var("GITHUB_PATH"),
            cargo_home: path_var("CARGO_HOME"),
            releases_url: var("PANE_RELEASES_URL"),
            api_url: var("PANE_RELEASES_API_URL"),
            token: var("PANE_GITHUB_TOKEN"),
            generic_token: var("GITHUB_TOKEN"),
            github_api_url: var("GITHUB_API_URL"),
            test_pubkey: if cfg!(debug_assertions) {
                var("PANE_TEST_PUBKEY")
            } else {
                None
            },
            installer: var("PANE_INSTALLER"),
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            ci: var("CI").is_some_and(|v| v != "0" && v != "false"),
            no_update_check: var("PANE_NO_UPDATE_CHECK").is_some_and(|v| v != "0"),
            no_modify_path: var("PANE_NO_MODIFY_PATH").is_some_and(|v| v != "0"),
            lock_wait: seconds_var("PANE_LOCK_TIMEOUT", LOCK_TIMEOUT_DEFAULT, &mut warnings),
            idle_timeout: seconds_var("PANE_HTTP_TIMEOUT", HTTP_TIMEOUT_DEFAULT, &mut warnings),
            channel_url: var("PANE_CHANNEL_URL"),
            updates: var("PANE_UPDATES"),
            test_channel_pubkey: debug_only(var("PANE_TEST_CHANNEL_PUBKEY")),
            test_revoked: debug_only(var("PANE_TEST_REVOKED"))
                .map(|ids| revoked_ids(&ids))
                .unwrap_or_default(),
            test_now: debug_only(var("PANE_TEST_NOW")),
            test_system_config: debug_only(path_var("PANE_TEST_SYSTEM_CONFIG")),
            force_notice: debug_only(var("PANE_FORCE_NOTICE")).is_some_and(|v| v != "0"),
            test_no_spawn: debug_only(var("PANE_TEST_NO_SPAWN")).is_some_and(|v| v != "0"),
            warnings,
            #[cfg(feature = "self-update")]
            proxy: proxy_from_process(),
        }
    }
}

/// The first of these set (and not empty): the lowercase form first, as curl
/// reads them. `HTTP_PROXY` is not read: plain http goes only to loopback,
/// which never goes through a proxy.
#[cfg(feature = "self-update")]
fn proxy_from_process() -> ProxyConfig {
    let first = |names: &[&str]| names.iter().find_map(|name| var(name));
    ProxyConfig {
        url: first(&["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]),
        no_proxy: first(&["no_proxy", "NO_PROXY"]),
    }
}

#[cfg(feature = "self-update")]
/// `https://github.com/<owner>/<repo>`: from `repository` in Cargo.toml, the one place it is set.
pub const REPOSITORY: &str = env!("CARGO_PKG_REPOSITORY");

#[cfg(feature = "self-update")]
fn github_owner_repo() -> &'static str {
    REPOSITORY
        .trim_end_matches('/')
        .trim_start_matches("https://github.com/")
}

#[cfg(feature = "self-update")]
pub fn default_releases_url() -> String {
    format!("{}/releases", REPOSITORY.trim_end_matches('/'))
}

#[cfg(feature = "self-update")]
pub fn default_api_url() -> String {
    format!("https://api.github.com/repos/{}", github_owner_repo())
}

/// The data dir (`directories`, project `pane`): receipt, kept versions, lock.
pub fn data_dir(env: &Env) -> Option<PathBuf> {
    // `directories` reads $XDG_DATA_HOME and $HOME itself; pass HOME through
    // for the case where it was unset and found from the password database.
    directories::ProjectDirs::from("dev", "pane", "pane")
        .map(|dirs| dirs.data_dir().to_path_buf())
        .or_else(|| env.home.as_ref().map(|h| h.join(".local/share/pane")))
}

#[cfg(feature = "self-update")]
pub fn trust_store(env: &Env) -> Result<TrustStore, VerifyError> {
    let mut store = match &env.test_pubkey {
        Some(key) if cfg!(debug_assertions) => TrustStore::single("PANE_TEST_PUBKEY", key)?,
        _ => TrustStore::compiled()?,
    };
    store.revoked.extend(&env.test_revoked);
    Ok(store)
}

#[cfg(feature = "self-update")]
/// Why pane cannot even start to manage itself on this machine.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("this binary's version {0:?} is not semver")]
    BadVersion(String),
    #[error("cannot find a home directory: set HOME")]
    NoHome,
    #[error(transparent)]
    Trust(#[from] VerifyError),
    #[error("cannot find the running binary")]
    NoExe(#[source] std::io::Error),
    #[error("PANE_TEST_NOW is not a time of the form 2026-12-01T10:00:00Z")]
    BadTestNow(#[source] crate::channel::time::TimestampError),
}

/// The update policy's files and variable.
#[cfg(feature = "self-update")]
pub fn policy_files(env: &Env) -> PolicyFiles {
    let system = env
        .test_system_config
        .clone()
        .filter(|_| cfg!(debug_assertions))
        .unwrap_or_else(policy::system_config_path);
    let config_dir = env
        .xdg_config_home
        .clone()
        .or_else(|| directories::BaseDirs::new().map(|b| b.config_dir().to_path_buf()))
        .or_else(|| env.home.as_ref().map(|h| h.join(".config")));
    PolicyFiles {
        system,
        user: config_dir.map(|dir| policy::user_config_path(&dir)),
        environment: env.updates.clone(),
    }
}

#[cfg(feature = "self-update")]
fn channel_config(env: &Env) -> Result<ChannelConfig, EnvError> {
    let clock = Clock::for_build(env.test_now.as_deref()).map_err(EnvError::BadTestNow)?;
    Ok(ChannelConfig {
        url: crate::channel::document_url(env.channel_url.as_deref(), env.releases_url.as_deref()),
        keys: ChannelKeys::for_build(
            env.test_channel_pubkey.as_deref(),
            env.test_pubkey.as_deref(),
        )
        .map(|mut keys| {
            keys.revoked.extend(&env.test_revoked);
            keys
        }),
        clock,
        policy: policy_files(env),
    })
}

#[cfg(feature = "self-update")]
pub fn context(env: &Env, build: &Build) -> Result<Context, EnvError> {
    let current_version =
        Version::parse(build.version).map_err(|_| EnvError::BadVersion(build.version.into()))?;
    let data_dir = data_dir(env).ok_or(EnvError::NoHome)?;
    let trust = trust_store(env)?;
    let current_exe = std::env::current_exe().map_err(EnvError::NoExe)?;
    let api_url = env
        .api_url
        .clone()
        .unwrap_or_else(default_api_url)
        .trim_end_matches('/')
        .to_string();
    Ok(Context {
        current_version,
        target: crate::platform::TARGET.to_string(),
        data_dir,
        current_exe,
        cargo_home: env.cargo_home.clone(),
        source: SourceConfig {
            releases_url: env
                .releases_url
                .clone()
                .unwrap_or_else(default_releases_url)
                .trim_end_matches('/')
                .to_string(),
            token: api_token(env, &api_url),
            api_url,
            connect_timeout: Duration::from_secs(10),
            idle_timeout: env
                .idle_timeout
                .unwrap_or(Duration::from_secs(HTTP_TIMEOUT_DEFAULT)),
            user_agent: format!("pane/{}", build.version),
            proxy: env.proxy.clone(),
        },
        trust,
        lock_wait: env
            .lock_wait
            .unwrap_or(Duration::from_secs(LOCK_TIMEOUT_DEFAULT)),
        channel: channel_config(env)?,
    })
}

#[cfg(feature = "self-update")]
/// The token for the API at `api_url`: `PANE_GITHUB_TOKEN` wherever pane is
/// pointed (the user chose it for this); `GITHUB_TOKEN`, which CI sets for a
/// whole job, only for GitHub's own API, so a third-party mirror named in
/// `PANE_RELEASES_API_URL` never sees it.
pub fn api_token(env: &Env, api_url: &str) -> Option<String> {
    if env.token.is_some() {
        return env.token.clone();
    }
    let origin = |url: &str| url::Url::parse(url).ok().map(|u| u.origin());
    let api = origin(api_url)?;
    let github = origin("https://api.github.com") == Some(api.clone())
        || env.github_api_url.as_deref().and_then(origin) == Some(api);
    github.then(|| env.generic_token.clone()).flatten()
}
