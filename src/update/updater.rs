//! The updater: which release a command means, and the download that brings
//! it; every change it makes goes through the [`Transaction`].

use std::fs;
use std::path::PathBuf;

use semver::Version;

use super::pin::guard_downgrade;
use super::receipt::{self, Receipt};
use super::source::{self, FetchError, ListedRelease, Source};
use super::transaction::{Change, Keep, Transaction};
use super::verify::{self, ArchiveCheck, VerifiedArchive, VerifiedSums, VerifyError};
use super::{sink, swap, Context, Events, Outcome, Pin, UpdateError, Want};
use crate::{failpoint, platform};

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
        let tx = self.begin("update", events)?;
        let receipt = tx.receipt(events)?;
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
        self.install_release(&tx, &receipt, &resolved, receipt.pin.clone(), events)?;
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
        let tx = self.begin("pin", events)?;
        let receipt = tx.receipt(events)?;
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
        self.install_release(&tx, &receipt, &resolved, Some(pin_text.clone()), events)?;
        Ok(Outcome::Pinned {
            version: target,
            pin: pin_text,
            changed_from: Some(receipt.version),
        })
    }

    /// `pane self unpin`.
    pub fn unpin(&self, events: &mut dyn Events) -> Result<Outcome, UpdateError> {
        let tx = self.begin("unpin", events)?;
        let receipt = tx.receipt(events)?;
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
        let tx = self.begin("rollback", events)?;
        let receipt = tx.receipt(events)?;
        let previous = receipt.previous.clone().ok_or(UpdateError::NoPrevious)?;
        let kept = receipt
            .kept_version(&previous)
            .cloned()
            .ok_or(UpdateError::NoPrevious)?;
        let staged = swap::stage_kept(&self.ctx.data_dir, &kept, &receipt.install_dir)?;
        let change = Change {
            staged: Some(staged),
            version: previous.clone(),
            keep: Keep::Nothing,
        };
        tx.commit(Some(&receipt), change, |_| {
            let mut next = receipt.clone();
            next.version = previous.clone();
            next.previous = Some(receipt.version.clone());
            next.pin = Some(previous.to_string());
            Ok(next)
        })?;
        Ok(Outcome::RolledBack {
            from: receipt.version,
            to: previous,
        })
    }

    /// Downloads and verifies a release, stages its binary and commits it.
    fn install_release(
        &self,
        tx: &Transaction,
        receipt: &Receipt,
        resolved: &Resolved,
        pin: Option<String>,
        events: &mut dyn Events,
    ) -> Result<(), UpdateError> {
        let version = resolved.version().clone();
        let check = resolved.sums.archive_for(&self.ctx.target)?;
        let (archive, verified) = self.download_archive(check, events)?;
        let staged =
            swap::stage_from_archive(&archive.0, &verified.name.top(), &receipt.install_dir)?;
        drop(archive);
        let change = Change {
            staged: Some(staged),
            version: version.clone(),
            keep: Keep::IncomingAndOutgoing,
        };
        tx.commit(Some(receipt), change, |kept| {
            let mut next = receipt.clone();
            next.version = version.clone();
            next.previous = Some(receipt.version.clone());
            next.record_verified(&version);
            next.kept = kept.incoming.into_iter().chain(kept.outgoing).collect();
            next.pin = pin;
            Ok(next)
        })?;
        Ok(())
    }

    /// Downloads the archive to the data dir, hashing while it streams, and
    /// checks it against the signed sums (step 4) before anything reads it.
    fn download_archive(
        &self,
        check: ArchiveCheck,
        events: &mut dyn Events,
    ) -> Result<(TempFile, VerifiedArchive), UpdateError> {
        let name = check.name.file_name();
        let url = self.source.asset_url(Some(&check.name.version), &name);
        fs::create_dir_all(&self.ctx.data_dir)
            .map_err(UpdateError::io("create", &self.ctx.data_dir))?;
        let (path, file) = platform::create_temp_in(&self.ctx.data_dir, "download")
            .map_err(UpdateError::io("create", &self.ctx.data_dir))?;
        let temp = TempFile(path);
        let actual = std::thread::scope(|scope| -> Result<[u8; 32], UpdateError> {
            let mut sink = sink::HashingSink::new(scope, file);
            self.source.download(
                &url,
                source::ARCHIVE_CAP,
                &mut sink,
                events.downloading(),
                &name,
            )?;
            let (_, actual) = sink.finish().map_err(|source| FetchError::Write {
                url: url.clone(),
                source,
            })?;
            Ok(actual)
        })?;
        let verified = check.finish(&actual)?;
        failpoint::hit("downloaded");
        Ok((temp, verified))
    }

    /// Takes the update lock for `what`, after checking (read-only) that
    /// this is an installation pane manages, so a refusal creates nothing.
    fn begin(&self, what: &str, events: &mut dyn Events) -> Result<Transaction<'a>, UpdateError> {
        if let Some(owner) =
            platform::foreign_owner(&self.ctx.current_exe, self.ctx.cargo_home.as_deref())
        {
            return Err(UpdateError::Foreign(owner));
        }
        let path = self.ctx.receipt_path();
        if !path.exists() {
            return Err(UpdateError::NotInstalled(path));
        }
        Transaction::lock(self.ctx, what, events)
    }
}

/// A file removed when dropped.
struct TempFile(PathBuf);
impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}
