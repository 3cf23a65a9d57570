//! What the pipeline knows about this machine and this binary, and how it
//! tells the commands what is going on.

use std::path::PathBuf;
use std::time::Duration;

use semver::Version;

use super::receipt;
use super::source::{Progress, SourceConfig};
use super::verify::{ArchiveName, TrustStore};

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
}

/// The file in the data dir where the notice keeps its last check.
pub const CHECK_CACHE_FILE: &str = "update-check.json";

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
}
