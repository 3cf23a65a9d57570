//! The update pipeline. None of it prints: progress goes through
//! [`Progress`](source::Progress) and notices through [`Events`]; the commands
//! decide what the user sees.
//!
//! Order of an update (each step only after the one before succeeded):
//! 1. take the update lock; finish or drop a swap a crash interrupted
//!    (`Receipt::pending`) and remove `.pane-tmp-*` leftovers;
//! 2. find the version: "latest" from `<releases>/latest/download/` (its
//!    version is read from the signed trusted comment), an exact one from
//!    `<releases>/download/v<V>/`, a requirement or a pre-release through the
//!    listing API, then fetched exactly;
//! 3. verify `SHA256SUMS.minisig` → trusted comment → the one `SHA256SUMS`
//!    line for the archive name computed here (see [`verify`]);
//! 4. download the archive to the data dir, hashing while it streams, and
//!    compare; only then decompress;
//! 5. stage, smoke-test, keep and swap (see [`install`]), then write the
//!    receipt.
//!
//! Any failure before the swap leaves the install path, the kept versions and
//! the receipt exactly as they were and removes what this run created.

pub mod archive;
pub mod install;
pub mod lock;
pub mod receipt;
pub mod sink;
pub mod source;
pub mod verify;

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use semver::{Version, VersionReq};

use crate::failpoint;
use crate::platform::{self, ForeignOwner};
use install::InstallError;
use receipt::{KeptVersion, Pending, Receipt, ReceiptError};
use source::{FetchError, ListedRelease, Progress, Source, SourceConfig};
use verify::{TrustStore, VerifiedSums, VerifyError};

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

impl Context {
    pub fn receipt_path(&self) -> PathBuf {
        self.data_dir.join(receipt::FILE_NAME)
    }
    pub fn lock_path(&self) -> PathBuf {
        self.data_dir.join("update.lock")
    }
    pub fn archive_name(&self, version: &Version) -> String {
        format!("{}.tar.gz", self.archive_top(version))
    }
    pub fn archive_top(&self, version: &Version) -> String {
        format!("pane-{version}-{}", self.target)
    }
}

/// Notices from the pipeline for the user (the commands render them).
pub trait Events {
    fn waiting_for_lock(&mut self, _holder: &str) {}
    fn recovered(&mut self, _what: &str) {}
    fn downloading(&mut self) -> &mut dyn Progress;
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Install(#[from] InstallError),
    #[error(transparent)]
    Receipt(#[from] ReceiptError),
    #[error(transparent)]
    Lock(#[from] lock::LockError),
    #[error("this pane is managed by {}; pane will not replace it", .0.name())]
    Foreign(ForeignOwner),
    #[error("this pane was not installed by pane's installer (no install receipt at {0})")]
    NotInstalled(PathBuf),
    #[error("{requested} is outside the pin {pin}")]
    OutsidePin { requested: String, pin: String },
    #[error("the server offers {offered} as the latest release, but {highest} was already verified; refusing to go down (an old release replayed?)")]
    Downgrade { offered: Version, highest: Version },
    #[error("no release matches {0}")]
    NoMatch(String),
    #[error("{0:?} is neither a version (1.2.0) nor a version requirement (~1.2)")]
    BadRequirement(String),
    #[error("cannot tell where to install: no home directory")]
    NoHome,
    #[error("there is no previous version to roll back to")]
    NoPrevious,
    #[error("could not {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl UpdateError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            UpdateError::Fetch(e) => e.hint(),
            UpdateError::Install(e) => e.hint(),
            UpdateError::Receipt(e) => e.hint(),
            UpdateError::Lock(e) => e.hint(),
            UpdateError::Verify(VerifyError::ChecksumMismatch { .. })
            | UpdateError::Verify(VerifyError::BadSignature { .. })
            | UpdateError::Verify(VerifyError::UnknownKey { .. }) => Some(
                "the download was not what the release signed; nothing was changed. Try again later, or report it if it persists"
                    .into(),
            ),
            UpdateError::Verify(_) => Some("the release does not verify; nothing was changed".into()),
            UpdateError::Foreign(owner) => Some(format!("update it with `{}`", owner.update_command())),
            UpdateError::NotInstalled(_) => Some(
                "run `pane self install` to let pane manage this binary, or use the installer: curl … install.sh | sh".into(),
            ),
            UpdateError::OutsidePin { requested, .. } => Some(format!(
                "run `pane self pin {requested}` to move the pin, or `pane self unpin` first"
            )),
            UpdateError::Downgrade { offered, .. } => Some(format!(
                "if you really want {offered}, ask for it: `pane self update {offered}`"
            )),
            UpdateError::NoMatch(_) => Some("see `pane self list` for the releases there are".into()),
            UpdateError::BadRequirement(_) => None,
            UpdateError::NoHome => Some("pass --install-dir DIR, or set HOME".into()),
            UpdateError::NoPrevious => Some("install another version with `pane self update <VERSION>`".into()),
            UpdateError::Io { source, path, .. } => install::io_hint(source, path),
        }
    }

    /// Usage errors exit 2, everything else 1.
    pub fn is_usage(&self) -> bool {
        matches!(self, UpdateError::BadRequirement(_))
    }
}

/// What the user asked `update` for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Want {
    Latest { prerelease: bool },
    Exact(Version),
}

/// A pin: an exact version or a semver requirement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pin {
    Exact(Version),
    Req(VersionReq),
}

impl Pin {
    pub fn parse(text: &str) -> Result<Pin, UpdateError> {
        if let Ok(version) = parse_version(text) {
            return Ok(Pin::Exact(version));
        }
        let text = text.trim();
        let bare = text.strip_prefix('=').unwrap_or("");
        if let Ok(version) = Version::parse(bare.trim()) {
            return Ok(Pin::Exact(version));
        }
        VersionReq::parse(text)
            .map(Pin::Req)
            .map_err(|_| UpdateError::BadRequirement(text.to_string()))
    }

    pub fn matches(&self, version: &Version) -> bool {
        match self {
            Pin::Exact(v) => v == version,
            Pin::Req(req) => req.matches(version),
        }
    }
}

impl std::fmt::Display for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pin::Exact(v) => write!(f, "{v}"),
            Pin::Req(r) => write!(f, "{r}"),
        }
    }
}

pub fn parse_version(text: &str) -> Result<Version, UpdateError> {
    let bare = text.trim().strip_prefix('v').unwrap_or(text.trim());
    Version::parse(bare).map_err(|_| UpdateError::BadRequirement(text.to_string()))
}

/// The outcome of a command that may change the installation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    UpToDate {
        version: Version,
    },
    /// `rollback` swapped back to the previous version and pinned it.
    RolledBack {
        from: Version,
        to: Version,
    },
    /// Newer than the latest release; going down takes an explicit version.
    Ahead {
        version: Version,
        latest: Version,
    },
    HeldByPin {
        version: Version,
        pin: String,
    },
    Changed {
        from: Version,
        to: Version,
    },
    WouldChange {
        from: Version,
        to: Version,
    },
    Pinned {
        version: Version,
        pin: String,
        changed_from: Option<Version>,
    },
    Unpinned {
        was: Option<String>,
    },
}

/// A release whose `SHA256SUMS` verified.
pub struct Resolved {
    pub sums: VerifiedSums,
}

impl Resolved {
    pub fn version(&self) -> &Version {
        self.sums.version()
    }
}

pub struct Updater<'a> {
    pub ctx: &'a Context,
    source: Source,
}

impl<'a> Updater<'a> {
    pub fn new(ctx: &'a Context) -> Self {
        Self {
            ctx,
            source: Source::new(ctx.source.clone()),
        }
    }

    /// Fetches and verifies `SHA256SUMS` of an exact version, or of the latest
    /// release (whose version the signed comment then says).
    pub fn resolve(&self, version: Option<&Version>) -> Result<Resolved, UpdateError> {
        let sig_url = self.source.asset_url(version, "SHA256SUMS.minisig");
        let sums_url = self.source.asset_url(version, "SHA256SUMS");
        let (signature, _) = self.source.fetch_small(&sig_url, source::SIGNATURE_CAP)?;
        let signature =
            String::from_utf8(signature).map_err(|_| VerifyError::MalformedSignature)?;
        let (sums, sums_from) = self.source.fetch_small(&sums_url, source::SUMS_CAP)?;
        let verified = verify::verify_sums(&sums, &signature, &self.ctx.trust, version)?;
        // "latest" redirected to a tag: the signed version must be that tag's,
        // or an older release is being replayed under a newer name.
        if let Some(tagged) = source::tag_version_in(&sums_from) {
            if &tagged != verified.version() {
                return Err(VerifyError::WrongVersion {
                    expected: tagged,
                    found: verified.version().clone(),
                }
                .into());
            }
        }
        Ok(Resolved { sums: verified })
    }

    /// Releases from the listing API (hints only).
    pub fn list(&self) -> Result<Vec<ListedRelease>, UpdateError> {
        Ok(self.source.list_releases()?)
    }

    /// The highest listed version allowed by `filter`.
    fn highest_listed(
        &self,
        prerelease: bool,
        filter: &dyn Fn(&Version) -> bool,
    ) -> Result<Option<Version>, UpdateError> {
        Ok(self
            .list()?
            .into_iter()
            .filter(|r| prerelease || !r.prerelease)
            .map(|r| r.version)
            .filter(|v| filter(v))
            .max())
    }

    /// Which verified release `want` means under `pin`, before any download.
    /// Returns `None` when a pin holds where we are.
    fn target_for(
        &self,
        want: &Want,
        pin: Option<&Pin>,
        floor: &Version,
    ) -> Result<Option<Resolved>, UpdateError> {
        match (want, pin) {
            (Want::Exact(v), Some(pin)) if !pin.matches(v) => Err(UpdateError::OutsidePin {
                requested: v.to_string(),
                pin: pin.to_string(),
            }),
            (Want::Exact(v), _) => Ok(Some(self.resolve(Some(v))?)),
            (Want::Latest { .. }, Some(Pin::Exact(v))) => {
                if v == &self.ctx.current_version {
                    Ok(None)
                } else {
                    Ok(Some(self.resolve(Some(v))?))
                }
            }
            (Want::Latest { prerelease }, Some(pin @ Pin::Req(_))) => {
                let best = self.highest_listed(*prerelease, &|v| pin.matches(v))?;
                match best {
                    None => Err(UpdateError::NoMatch(pin.to_string())),
                    Some(v)
                        if v <= self.ctx.current_version
                            && pin.matches(&self.ctx.current_version) =>
                    {
                        Ok(None)
                    }
                    Some(v) => Ok(Some(self.resolve(Some(&v))?)),
                }
            }
            (Want::Latest { prerelease: false }, None) => {
                let resolved = self.resolve(None)?;
                guard_downgrade(resolved.version(), floor)?;
                Ok(Some(resolved))
            }
            (Want::Latest { prerelease: true }, None) => {
                let best = self
                    .highest_listed(true, &|_| true)?
                    .ok_or_else(|| UpdateError::NoMatch("any release".into()))?;
                guard_downgrade(&best, floor)?;
                Ok(Some(self.resolve(Some(&best))?))
            }
        }
    }

    /// The version `update` would install now, without locking or changing
    /// anything; `None` when it would stay (up to date or held by the pin).
    pub fn available(
        &self,
        receipt: Option<&Receipt>,
        prerelease: bool,
    ) -> Result<Option<Version>, UpdateError> {
        let pin = receipt
            .and_then(|r| r.pin.as_deref())
            .map(Pin::parse)
            .transpose()?;
        let current = receipt.map_or(&self.ctx.current_version, |r| &r.version);
        let floor = receipt.map_or_else(|| current.clone(), |r| r.downgrade_floor(prerelease));
        let target = self.target_for(&Want::Latest { prerelease }, pin.as_ref(), &floor)?;
        Ok(target.map(|t| t.version().clone()).filter(|v| v > current))
    }

    /// `pane self update [VERSION]`.
    pub fn update(
        &self,
        want: &Want,
        dry_run: bool,
        events: &mut dyn Events,
    ) -> Result<Outcome, UpdateError> {
        let _lock = self.lock("update", events)?;
        let receipt = self.managed_receipt(events)?;
        let pin = receipt.pin.as_deref().map(Pin::parse).transpose()?;
        let current = receipt.version.clone();
        let prerelease = matches!(want, Want::Latest { prerelease: true });
        let floor = receipt.downgrade_floor(prerelease);
        let Some(resolved) = self.target_for(want, pin.as_ref(), &floor)? else {
            return Ok(Outcome::HeldByPin {
                version: current,
                pin: receipt.pin.clone().unwrap_or_default(),
            });
        };
        let to = resolved.version().clone();
        if to == current {
            return Ok(match &receipt.pin {
                Some(pin) if matches!(want, Want::Latest { .. }) => Outcome::HeldByPin {
                    version: current,
                    pin: pin.clone(),
                },
                _ => Outcome::UpToDate { version: current },
            });
        }
        if to < current && matches!(want, Want::Latest { .. }) {
            // Ahead of the latest release (a pre-release tried earlier, say):
            // going down takes an explicit VERSION.
            return Ok(Outcome::Ahead {
                version: current,
                latest: to,
            });
        }
        if dry_run {
            return Ok(Outcome::WouldChange { from: current, to });
        }
        self.install_release(&receipt, &resolved, receipt.pin.clone(), events)?;
        Ok(Outcome::Changed { from: current, to })
    }

    /// `pane self pin <VERSION|REQ>`.
    pub fn pin(
        &self,
        requirement: &str,
        prerelease: bool,
        events: &mut dyn Events,
    ) -> Result<Outcome, UpdateError> {
        let pin = Pin::parse(requirement)?;
        let _lock = self.lock("pin", events)?;
        let receipt = self.managed_receipt(events)?;
        let pin_text = pin.to_string();
        let target = match &pin {
            Pin::Exact(v) => v.clone(),
            Pin::Req(_) => self
                .highest_listed(prerelease, &|v| pin.matches(v))?
                .ok_or_else(|| UpdateError::NoMatch(pin_text.clone()))?,
        };
        if target == receipt.version {
            let mut next = receipt.clone();
            next.pin = Some(pin_text.clone());
            next.updated_at = platform::now_unix();
            receipt::save(&self.ctx.receipt_path(), &next)?;
            return Ok(Outcome::Pinned {
                version: target,
                pin: pin_text,
                changed_from: None,
            });
        }
        let resolved = self.resolve(Some(&target))?;
        self.install_release(&receipt, &resolved, Some(pin_text.clone()), events)?;
        Ok(Outcome::Pinned {
            version: target,
            pin: pin_text,
            changed_from: Some(receipt.version),
        })
    }

    /// `pane self unpin`.
    pub fn unpin(&self, events: &mut dyn Events) -> Result<Outcome, UpdateError> {
        let _lock = self.lock("unpin", events)?;
        let receipt = self.managed_receipt(events)?;
        if receipt.pin.is_some() {
            let mut next = receipt.clone();
            next.pin = None;
            next.updated_at = platform::now_unix();
            receipt::save(&self.ctx.receipt_path(), &next)?;
        }
        Ok(Outcome::Unpinned { was: receipt.pin })
    }

    /// `pane self rollback`: offline; checks the kept binary's SHA-256 and
    /// pins to what it restores.
    pub fn rollback(&self, events: &mut dyn Events) -> Result<Outcome, UpdateError> {
        let _lock = self.lock("rollback", events)?;
        let receipt = self.managed_receipt(events)?;
        let previous = receipt.previous.clone().ok_or(UpdateError::NoPrevious)?;
        let kept = receipt
            .kept_version(&previous)
            .cloned()
            .ok_or(UpdateError::NoPrevious)?;
        let staged = install::stage_kept(&self.ctx.data_dir, &kept, &receipt.install_dir)?;
        install::smoke_test(&staged.path, &previous)?;
        let mut next = receipt.clone();
        next.version = previous.clone();
        next.previous = Some(receipt.version.clone());
        next.pin = Some(previous.to_string());
        next.updated_at = platform::now_unix();
        self.swap_with_receipt(&receipt, next, staged)?;
        Ok(Outcome::RolledBack {
            from: receipt.version,
            to: previous,
        })
    }

    /// Downloads, verifies, stages, smoke-tests, keeps and swaps in a release.
    fn install_release(
        &self,
        receipt: &Receipt,
        resolved: &Resolved,
        pin: Option<String>,
        events: &mut dyn Events,
    ) -> Result<(), UpdateError> {
        let version = resolved.version().clone();
        let name = self.ctx.archive_name(&version);
        let expected = resolved.sums.expected(&name)?;
        let archive = self.download_archive(&version, &name, &expected, events)?;
        let staged = install::stage_from_archive(
            &archive.0,
            &self.ctx.archive_top(&version),
            &receipt.install_dir,
        )?;
        drop(archive);
        install::smoke_test(&staged.path, &version)?;

        // Keep the outgoing version (normally kept already) and the new one.
        let outgoing = self.ensure_kept(receipt)?;
        let (incoming, created) = install::keep_staged(&self.ctx.data_dir, &version, &staged)?;
        let created_dir = created.then(|| install::kept_path(&self.ctx.data_dir, &version));
        failpoint::hit("kept");

        let mut next = receipt.clone();
        next.version = version.clone();
        next.previous = Some(receipt.version.clone());
        next.record_verified(&version);
        next.kept = vec![incoming, outgoing];
        next.pin = pin;
        next.updated_at = platform::now_unix();
        let result = self.swap_with_receipt(receipt, next, staged);
        if result.is_err() {
            if let Some(path) = created_dir {
                let _ = fs::remove_dir_all(path.parent().unwrap_or(&path));
            }
        }
        result
    }

    /// The kept record of the version now installed, copying the installed
    /// binary under `versions/` if it is not kept yet.
    fn ensure_kept(&self, receipt: &Receipt) -> Result<KeptVersion, UpdateError> {
        // Present is enough here: `rollback` checks the recorded SHA-256
        // before it trusts the file, so no hash pass over it on every update.
        if let Some(kept) = receipt.kept_version(&receipt.version) {
            if install::kept_path(&self.ctx.data_dir, &kept.version).is_file() {
                return Ok(kept.clone());
            }
        }
        let installed = install::swap_target(&receipt.install_path());
        Ok(install::keep(&self.ctx.data_dir, &receipt.version, &installed)?.0)
    }

    /// Journals the change in the receipt, swaps, then writes the final
    /// receipt. A failure before the swap restores the receipt as it was.
    fn swap_with_receipt(
        &self,
        before: &Receipt,
        after: Receipt,
        staged: install::Staged,
    ) -> Result<(), UpdateError> {
        let path = self.ctx.receipt_path();
        let mut journal = before.clone();
        journal.pending = Some(Pending {
            after: Box::new(after.clone()),
            sha256: verify::hex(&staged.sha256),
        });
        receipt::save(&path, &journal)?;
        failpoint::hit("receipt-pending");
        let target = install::swap_target(&before.install_path());
        if let Err(e) = install::swap(staged, &target) {
            let _ = receipt::save(&path, before);
            return Err(e.into());
        }
        receipt::save(&path, &after)?;
        failpoint::hit("receipt-final");
        install::prune_kept(&self.ctx.data_dir, &after.kept);
        Ok(())
    }

    fn download_archive(
        &self,
        version: &Version,
        name: &str,
        expected: &[u8; 32],
        events: &mut dyn Events,
    ) -> Result<TempFile, UpdateError> {
        let url = self.source.asset_url(Some(version), name);
        fs::create_dir_all(&self.ctx.data_dir).map_err(|source| UpdateError::Io {
            action: "create",
            path: self.ctx.data_dir.clone(),
            source,
        })?;
        let path = platform::temp_path_in(&self.ctx.data_dir, "download");
        let temp = TempFile(path.clone());
        let file = fs::File::create(&path).map_err(|source| UpdateError::Io {
            action: "create",
            path: path.clone(),
            source,
        })?;
        let actual = std::thread::scope(|scope| -> Result<[u8; 32], UpdateError> {
            let mut sink = sink::HashingSink::new(scope, file);
            self.source.download(
                &url,
                source::ARCHIVE_CAP,
                &mut sink,
                events.downloading(),
                name,
            )?;
            let (_, actual) = sink.finish().map_err(|source| FetchError::Write {
                url: url.clone(),
                source,
            })?;
            Ok(actual)
        })?;
        verify::check_digest(name, expected, &actual)?;
        failpoint::hit("downloaded");
        Ok(temp)
    }

    /// Takes the update lock for `what`, after checking (read-only) that
    /// this is an installation pane manages, so a refusal creates nothing.
    fn lock(&self, what: &str, events: &mut dyn Events) -> Result<lock::UpdateLock, UpdateError> {
        if let Some(owner) =
            platform::foreign_owner(&self.ctx.current_exe, self.ctx.cargo_home.as_deref())
        {
            return Err(UpdateError::Foreign(owner));
        }
        let path = self.ctx.receipt_path();
        if !path.exists() {
            return Err(UpdateError::NotInstalled(path));
        }
        let lock = lock::acquire(
            &self.ctx.lock_path(),
            self.ctx.lock_wait,
            what,
            &mut |holder| events.waiting_for_lock(holder),
        )?;
        Ok(lock)
    }

    /// Under the lock: the receipt, after crash recovery.
    fn managed_receipt(&self, events: &mut dyn Events) -> Result<Receipt, UpdateError> {
        let path = self.ctx.receipt_path();
        let receipt = receipt::load(&path)?.ok_or(UpdateError::NotInstalled(path))?;
        recover(self.ctx, receipt, events)
    }
}

/// Under the lock: finish or drop a swap that a crash interrupted, and remove
/// temp files of interrupted runs.
pub fn recover(
    ctx: &Context,
    receipt: Receipt,
    events: &mut dyn Events,
) -> Result<Receipt, UpdateError> {
    for dir in [ctx.data_dir.clone(), receipt.install_dir.clone()] {
        if platform::clean_temp_files(&dir) > 0 {
            events.recovered(&format!(
                "removed leftovers of an interrupted run in {}",
                dir.display()
            ));
        }
    }
    if let Ok(entries) = fs::read_dir(ctx.data_dir.join("versions")) {
        for entry in entries.flatten() {
            platform::clean_temp_files(&entry.path());
        }
    }
    let Some(pending) = receipt.pending.clone() else {
        return Ok(receipt);
    };
    let installed = install::swap_target(&receipt.install_path());
    let actual = verify::sha256_file(&installed)
        .map(|d| verify::hex(&d))
        .ok();
    let next = if actual.as_deref() == Some(pending.sha256.as_str()) {
        events.recovered(&format!(
            "finished the interrupted change to {}",
            pending.after.version
        ));
        *pending.after
    } else {
        events.recovered(&format!(
            "dropped the interrupted change to {}",
            pending.after.version
        ));
        Receipt {
            pending: None,
            ..receipt
        }
    };
    receipt::save(&ctx.receipt_path(), &next)?;
    install::prune_kept(&ctx.data_dir, &next.kept);
    Ok(next)
}

fn guard_downgrade(offered: &Version, highest: &Version) -> Result<(), UpdateError> {
    if offered < highest {
        return Err(UpdateError::Downgrade {
            offered: offered.clone(),
            highest: highest.clone(),
        });
    }
    Ok(())
}

/// A file removed when dropped.
struct TempFile(PathBuf);
impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Reads the receipt for display, without the lock and without repairing.
pub fn read_receipt(ctx: &Context) -> Result<Option<Receipt>, UpdateError> {
    Ok(receipt::load(&ctx.receipt_path())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins() {
        assert_eq!(
            Pin::parse("1.2.0").unwrap(),
            Pin::Exact(Version::new(1, 2, 0))
        );
        assert_eq!(
            Pin::parse("v1.2.0").unwrap(),
            Pin::Exact(Version::new(1, 2, 0))
        );
        assert_eq!(
            Pin::parse("=1.2.0").unwrap(),
            Pin::Exact(Version::new(1, 2, 0))
        );
        let req = Pin::parse("~1.2").unwrap();
        assert!(req.matches(&Version::new(1, 2, 9)));
        assert!(!req.matches(&Version::new(1, 3, 0)));
        assert!(Pin::parse("one").is_err());
        // An exact pin must not silently become a caret requirement.
        assert!(!Pin::parse("1.2.0").unwrap().matches(&Version::new(1, 2, 1)));
    }

    #[test]
    fn downgrade_guard() {
        assert!(guard_downgrade(&Version::new(1, 0, 0), &Version::new(1, 1, 0)).is_err());
        assert!(guard_downgrade(&Version::new(1, 1, 0), &Version::new(1, 1, 0)).is_ok());
        assert!(guard_downgrade(&Version::new(1, 2, 0), &Version::new(1, 1, 0)).is_ok());
    }
}
