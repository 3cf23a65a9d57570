//! What the pipeline knows about this machine and this binary, and how it
//! tells the commands what is going on.

use std::path::PathBuf;
use std::time::Duration;

use semver::Version;

use super::receipt;
use super::source::{Progress, SourceConfig};
use super::verify::{ArchiveName, TrustStore};
use crate::channel::policy::{self, PolicyError, ResolvedPolicy, UpdatePolicy};
use crate::channel::{ChannelError, ChannelKeys, Clock};

/// Everything the pipeline needs to know about this machine and this binary,
/// read once at the edge (`crate::env`).
#[derive(Clone, Debug)]
pub struct Context {
    pub current_version: Version,
    pub target: String,
    pub data_dir: PathBuf,
    pub current_exe: PathBuf,
    pub cargo_home: Option<PathBuf>,
    pub source: SourceConfig,
    pub trust: TrustStore,
    pub lock_wait: Duration,
    pub channel: ChannelConfig,
}

/// The release channel as this machine sees it: where the document is, the
/// keys that may sign it, the clock, and the update policy's sources.
#[derive(Clone, Debug)]
pub struct ChannelConfig {
    pub url: String,
    /// The channel keys; an error (a bad test key) is a warning at each use.
    pub keys: Result<ChannelKeys, ChannelError>,
    pub clock: Clock,
    pub policy: PolicyFiles,
}

/// Where the update policy is read from (in order of precedence).
#[derive(Clone, Debug)]
pub struct PolicyFiles {
    pub system: PathBuf,
    pub user: Option<PathBuf>,
    pub environment: Option<String>,
}

impl PolicyFiles {
    /// The policy in force and where it comes from.
    pub fn resolve(&self) -> Result<ResolvedPolicy, PolicyError> {
        let user = self.user.clone().unwrap_or_default();
        policy::resolve(&self.system, self.environment.as_deref(), &user)
    }

    /// The policy in force; `off` when a file that decides it cannot be
    /// read: a typo in an administrator's `off` must not turn into checks
    /// and updates. Nothing is said here about a `PANE_UPDATES` passed over
    /// ([`ResolvedPolicy::ignored`]): callers that can warn use `resolve`.
    pub fn in_force(&self) -> UpdatePolicy {
        self.resolve().map_or(UpdatePolicy::Off, |p| p.policy)
    }
}

/// The file in the data dir where the notice keeps its last check.
pub const CHECK_CACHE_FILE: &str = "update-check.json";

/// The file in the data dir where the background auto-update logs its runs.
pub const AUTO_LOG_FILE: &str = "auto-update.json";

/// The file in the data dir where `self install` writes down a PATH set-up
/// before it makes it (see `self_install`).
pub const PATH_INTENT_FILE: &str = "path-set-up.json";

impl Context {
    pub fn receipt_path(&self) -> PathBuf {
        self.data_dir.join(receipt::FILE_NAME)
    }
    pub fn lock_path(&self) -> PathBuf {
        self.data_dir.join("update.lock")
    }
    pub fn check_cache_path(&self) -> PathBuf {
        self.data_dir.join(CHECK_CACHE_FILE)
    }
    /// The background auto-update's log.
    pub fn auto_log_path(&self) -> PathBuf {
        self.data_dir.join(AUTO_LOG_FILE)
    }
    /// `self install`'s record of a PATH set-up under way.
    pub fn path_intent_path(&self) -> PathBuf {
        self.data_dir.join(PATH_INTENT_FILE)
    }
    /// The archive of `version` for this machine.
    pub fn archive(&self, version: &Version) -> ArchiveName {
        ArchiveName {
            version: version.clone(),
            target: self.target.clone(),
        }
    }
}

/// Notices from the pipeline for the user (the commands render them).
pub trait Events {
    fn waiting_for_lock(&mut self, _holder: &str) {}
    fn recovered(&mut self, _what: &str) {}
    fn downloading(&mut self) -> &mut dyn Progress;
    /// Something the user should know; the command goes on.
    fn warning(&mut self, _text: &str) {}
}
