//! The updater: which release a command means, and the download that brings
//! it; every change it makes goes through the [`Transaction`].

use std::sync::{Arc, Mutex, PoisonError};

use semver::Version;

use super::channel_view::{self, ChannelView};
use super::choose::{Choice, Why};
use super::pin::{stayed, UpdateOptions};
use super::prefetch::{PendingArchive, TempFile};
use super::receipt::{self, Receipt};
use super::source::{self, Hop, ListedRelease, Source};
use super::transaction::{Change, Keep, Transaction};
use super::verify::{self, ArchiveCheck, ArchiveName, VerifiedArchive, VerifiedSums, VerifyError};
use super::{swap, Context, Events, Outcome, Pin, UpdateError, Want};
use crate::channel::decide::takes_prereleases;
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
    source: Arc<Source>,
    /// The latest release, fetched while the channel document was
    /// ([`Updater::update`]); taken by the first question for it.
    early_latest: Mutex<Option<Result<Resolved, UpdateError>>>,
    /// The archive download started as soon as its version was known.
    prefetched: Mutex<Option<PendingArchive>>,
    /// What "latest" named when this installation last looked (the update
    /// notice's check): a guess, fetched from the start of an update to the
    /// latest release and dropped once the redirect names another version.
    expected: Option<Version>,
    /// Where the last check or update found the release files, when that
    /// is another host than the mirror (GitHub's CDN): an update that starts
    /// a download opens its connections there at once ([`Source::open_ahead`]).
    served_from: Option<String>,
}

/// Connections opened ahead: the archive, `SHA256SUMS` and its signature,
/// the three files of an update that a redirect sends to the CDN.
const OPEN_AHEAD: usize = 3;

/// Whether the archive of a version is worth fetching before the version is
/// verified (see [`crate::update::prefetch`]).
type Speculate<'s> = &'s dyn Fn(&Version) -> bool;

impl<'a> Updater<'a> {
    pub fn new(ctx: &'a Context) -> Self {
        Self {
            ctx,
            source: Arc::new(Source::new(ctx.source.clone())),
            early_latest: Mutex::new(None),
            prefetched: Mutex::new(None),
            expected: None,
            served_from: None,
        }
    }

    /// Where the last check or update found the release files (see
    /// `update/ahead.rs`): a guess like [`Updater::expecting`]'s; wrong, it
    /// costs [`OPEN_AHEAD`] connections that carry nothing.
    pub fn opening_ahead(mut self, origin: Option<String>) -> Self {
        self.served_from = origin;
        self
    }

    /// Where this run's release files came from, if any came: for the next
    /// run's [`Updater::opening_ahead`].
    pub fn served_from(&self) -> Option<source::ServedFrom> {
        self.source.served_from()
    }

    /// The latest version an earlier check saw (verified then), as a guess
    /// for [`Updater::update`]: right, it saves the round trip that asks the
    /// server what "latest" is before the archive can be asked for; wrong, it
    /// costs a request and a connection or two, cancelled (at its next write)
    /// once the redirect or the signed sums name another stable version, and
    /// never more than a download nobody reads. It is never evidence: the
    /// archive that is installed is the one the signed sums name, as always.
    pub fn expecting(mut self, version: Option<Version>) -> Self {
        self.expected = version;
        self
    }

    /// Fetches and verifies `SHA256SUMS` of an exact version, or of the latest
    /// release (whose version the signed comment then says).
    pub fn resolve(&self, version: Option<&Version>) -> Result<Resolved, UpdateError> {
        self.resolve_with(version, &|_| false)
    }

    /// `resolve`, the sums and their signature fetched at once; when
    /// `speculate` says so of the version (named, or hinted by the "latest"
    /// redirect), its archive is fetched at the same time too. An early
    /// download of another version (a guess) is cancelled as soon as a stable
    /// version is known: a pre-release called latest leaves it, since the
    /// choice may then fall back to the guessed stable version.
    fn resolve_with(
        &self,
        version: Option<&Version>,
        speculate: Speculate,
    ) -> Result<Resolved, UpdateError> {
        const SIG: &str = "SHA256SUMS.minisig";
        let (sig_url, hint, early_signature) = match version {
            Some(v) => (self.source.asset_url(Some(v), SIG), Some(v.clone()), None),
            None => match self
                .source
                .first_hop(&self.source.asset_url(None, SIG), source::SIGNATURE_CAP)?
            {
                Hop::Redirect(next) => (
                    next.to_string(),
                    source::tag_version_in(next.as_str()),
                    None,
                ),
                Hop::Body(signature, _) => (String::new(), None, Some(signature)),
            },
        };
        match &hint {
            Some(hinted) if speculate(hinted) => self.prefetch(hinted)?,
            // A guess the redirect contradicts goes now, not at the end.
            Some(hinted) => self.drop_prefetched_unless(hinted),
            None => {}
        }
        let sums_url = self.source.asset_url(hint.as_ref(), "SHA256SUMS");
        // A failed signature is the answer at once, whatever the sums do.
        let sums = self.source.fetch_small_apart(sums_url, source::SUMS_CAP);
        let signature = match early_signature {
            Some(signature) => signature,
            None => self.source.fetch_small(&sig_url, source::SIGNATURE_CAP)?.0,
        };
        let sums = sums.wait();
        let signature =
            String::from_utf8(signature).map_err(|_| VerifyError::MalformedSignature)?;
        let (sums, sums_from) = sums?;
        let verified = verify::verify_sums(&sums, &signature, &self.ctx.trust, version)?;
        // "latest" redirected to a tag: the signed version must be that tag's,
        // or an older release is being replayed under a newer name; an
        // archive fetched on that hint is dropped with the error.
        for tagged in [hint, source::tag_version_in(&sums_from)]
            .into_iter()
            .flatten()
        {
            if &tagged != verified.version() {
                self.drop_prefetched();
                return Err(VerifyError::WrongVersion {
                    expected: tagged,
                    found: verified.version().clone(),
                }
                .into());
            }
        }
        // Without a redirect to say, the signed version does.
        self.drop_prefetched_unless(verified.version());
        Ok(Resolved { sums: verified })
    }

    /// [`Updater::resolve_with`] for a version asked for by name (`update
    /// VERSION`, an exact pin): a 404 for its signed files means no release
    /// of that version is published, which the error then says.
    fn resolve_named(
        &self,
        version: &Version,
        speculate: Speculate,
    ) -> Result<Resolved, UpdateError> {
        self.resolve_with(Some(version), speculate)
            .map_err(|error| match error {
                UpdateError::Fetch(source @ source::FetchError::NotFound { .. }) => {
                    UpdateError::Unpublished {
                        version: version.clone(),
                        source,
                    }
                }
                other => other,
            })
    }

    /// Starts the download of `version`'s archive for this target, unless it
    /// is already under way; one that is not for `version` is cancelled.
    fn prefetch(&self, version: &Version) -> Result<(), UpdateError> {
        let name = ArchiveName {
            version: version.clone(),
            target: self.ctx.target.clone(),
        };
        let mut slot = self
            .prefetched
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref().is_some_and(|p| p.name == name) {
            return Ok(());
        }
        slot.take();
        if let Some(origin) = &self.served_from {
            self.source.open_ahead(origin, OPEN_AHEAD);
        }
        *slot = Some(self.start_download(name)?);
        Ok(())
    }

    fn start_download(&self, name: ArchiveName) -> Result<PendingArchive, UpdateError> {
        let url = self
            .source
            .asset_url(Some(&name.version), &name.file_name());
        PendingArchive::start(Arc::clone(&self.source), url, name, &self.ctx.data_dir)
            .map_err(UpdateError::io("create", &self.ctx.data_dir))
    }

    /// Releases from the listing API (hints only).
    pub fn list(&self) -> Result<Vec<ListedRelease>, UpdateError> {
        Ok(self.source.list_releases()?)
    }

    /// The listed releases `pin` matches that the channel has not withdrawn
    /// here (pre-releases only with `prerelease`).
    pub(super) fn listed_within(
        &self,
        pin: &Pin,
        prerelease: bool,
        view: &ChannelView,
    ) -> Result<Vec<Version>, UpdateError> {
        let target = self.ctx.target.as_str();
        Ok(self
            .list()?
            .into_iter()
            .filter(|r| prerelease || !r.prerelease)
            .map(|r| r.version)
            .filter(|v| pin.matches(v) && view.withdrawal(v, target).is_none())
            .collect())
    }

    /// The highest listed version allowed by `filter`.
    pub(super) fn highest_listed(
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

    /// The channel document that applies now: fetched, verified and
    /// accepted through the anti-replay store; problems are warnings.
    pub fn channel(&self) -> ChannelView {
        channel_view::refresh(self.ctx, &self.source)
    }

    /// Refuses an explicitly named withdrawn version unless overridden. The
    /// error names the replacement as an installation running `running`
    /// may use it (`prerelease`: it asked for pre-releases), so a stable
    /// one is not pointed at a pre-release.
    pub(super) fn guard_withdrawn(
        &self,
        version: &Version,
        view: &ChannelView,
        allow: bool,
        running: &Version,
        prerelease: bool,
    ) -> Result<(), UpdateError> {
        let target = &self.ctx.target;
        match view.withdrawal(version, target) {
            Some(w) if !allow => Err(UpdateError::Withdrawn {
                version: version.clone(),
                reason: w.reason.clone(),
                replacement: view
                    .replacement(
                        version,
                        target,
                        running,
                        takes_prereleases(running, prerelease),
                    )
                    .map_err(Box::new),
            }),
            _ => Ok(()),
        }
    }

    /// What `update` without a version would do now, without locking or
    /// changing anything (`check`, the notice's background check).
    pub fn available(
        &self,
        receipt: &Receipt,
        prerelease: bool,
        view: &ChannelView,
    ) -> Result<Choice, UpdateError> {
        let mut choice = self.choose(receipt, prerelease, false, false, view)?;
        // What `check` names is verified: a version the listing names (the
        // highest stable release beside a pre-release called latest, one a
        // requirement pin matches) is fetched with its signature first.
        if let (Some(to), None) = (&choice.to, &choice.resolved) {
            let resolved = self.resolve(Some(to))?;
            choice.latest_verified |= choice.latest.as_ref() == Some(to);
            choice.resolved = Some(resolved);
        }
        Ok(choice)
    }

    /// `pane self update [VERSION]`.
    pub fn update(
        &self,
        want: &Want,
        options: UpdateOptions,
        events: &mut dyn Events,
    ) -> Result<Outcome, UpdateError> {
        let tx = self.begin("update", events)?;
        let receipt = tx.receipt(events)?;
        let view = self.channel_and_release(&receipt, want, options);
        for warning in &view.warnings {
            events.warning(warning);
        }
        self.update_locked(&tx, &receipt, want, options, &view, events)
    }

    fn drop_prefetched(&self) {
        self.prefetched
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }

    /// Cancels an early download unless it is `version`'s; a pre-release
    /// `version` cancels nothing (see [`Updater::resolve_with`]).
    fn drop_prefetched_unless(&self, version: &Version) {
        if !version.pre.is_empty() {
            return;
        }
        let mut slot = self
            .prefetched
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref().is_some_and(|p| &p.name.version != version) {
            slot.take();
        }
    }

    /// The channel document, and meanwhile what `update` is going to ask
    /// for anyway: the latest release (kept for [`Updater::choose`]) and,
    /// when the redirect hints at a newer stable version, its archive (from
    /// the start, when an earlier check expected that version); or the
    /// archive of the version the command names. The round trips of all of
    /// them overlap.
    fn channel_and_release(
        &self,
        receipt: &Receipt,
        want: &Want,
        options: UpdateOptions,
    ) -> ChannelView {
        let running = receipt.version.clone();
        let (ctx, source) = (self.ctx, &self.source);
        std::thread::scope(|scope| {
            let view = scope.spawn(move || channel_view::refresh(ctx, source));
            let install = !options.dry_run;
            match want {
                Want::Latest { prerelease: false } if receipt.pin.is_none() => {
                    let newer = |v: &Version| install && v > &running && v.pre.is_empty();
                    if let Some(expected) = self.expected.as_ref().filter(|v| newer(v)) {
                        // Failing here changes nothing: the redirect's hint
                        // starts the download instead.
                        let _ = self.prefetch(expected);
                    }
                    let latest = self.resolve_with(None, &newer);
                    *self
                        .early_latest
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner) = Some(latest);
                }
                // Failing here changes nothing: the command asks again.
                Want::Exact(version)
                    if install && version != &running && within(receipt, version) =>
                {
                    let _ = self.prefetch(version);
                }
                _ => {}
            }
            view.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// The latest release as [`Updater::channel_and_release`] fetched it,
    /// or fetched now.
    pub(super) fn resolve_latest(&self) -> Result<Resolved, UpdateError> {
        let early = self
            .early_latest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        early.unwrap_or_else(|| self.resolve(None))
    }

    /// `update` under the lock `tx` (the command and the auto-update). An
    /// early download nothing took goes before this returns, while the lock
    /// is still held, whoever called it.
    pub fn update_locked(
        &self,
        tx: &Transaction,
        receipt: &Receipt,
        want: &Want,
        options: UpdateOptions,
        view: &ChannelView,
        events: &mut dyn Events,
    ) -> Result<Outcome, UpdateError> {
        let outcome = self.update_under(tx, receipt, want, options, view, events);
        self.drop_prefetched();
        outcome
    }

    fn update_under(
        &self,
        tx: &Transaction,
        receipt: &Receipt,
        want: &Want,
        options: UpdateOptions,
        view: &ChannelView,
        events: &mut dyn Events,
    ) -> Result<Outcome, UpdateError> {
        let current = receipt.version.clone();
        let (resolved, withdrawal) = match want {
            Want::Exact(v) => {
                if let Some(pin) = receipt.pin.as_deref().map(Pin::parse_stored).transpose()? {
                    if !pin.matches(v) {
                        return Err(UpdateError::OutsidePin {
                            requested: v.to_string(),
                            pin: pin.to_string(),
                        });
                    }
                }
                self.guard_withdrawn(v, view, options.allow_withdrawn, &current, false)?;
                if v == &current {
                    return Ok(Outcome::UpToDate { version: current });
                }
                (self.resolve_named(v, &|_| !options.dry_run)?, None)
            }
            Want::Latest { prerelease } => {
                let choice = self.choose(
                    receipt,
                    *prerelease,
                    options.now,
                    options.allow_withdrawn,
                    view,
                )?;
                for warning in &choice.warnings {
                    events.warning(warning);
                }
                let withdrawal = match &choice.why {
                    Why::Replacement {
                        withdrawal,
                        passed_over,
                    } => Some((withdrawal.clone(), passed_over.clone())),
                    _ => None,
                };
                match (choice.to, choice.resolved) {
                    (_, Some(resolved)) => (resolved, withdrawal),
                    (Some(to), None) => (
                        self.resolve_with(Some(&to), &|_| !options.dry_run)?,
                        withdrawal,
                    ),
                    (None, None) => return Ok(stayed(current, choice.why)),
                }
            }
        };
        let to = resolved.version().clone();
        if options.dry_run {
            // Why the replacement is passed over, as a real update says it.
            let warning = withdrawal.and_then(|(_, passed_over)| passed_over);
            return Ok(Outcome::WouldChange {
                from: current,
                to,
                warning,
            });
        }
        self.install_release(tx, receipt, &resolved, receipt.pin.clone(), events)?;
        Ok(match withdrawal {
            Some((withdrawal, passed_over)) => Outcome::Replaced {
                from: current,
                to,
                withdrawal,
                passed_over,
            },
            None => Outcome::Changed { from: current, to },
        })
    }

    /// `pane self pin <VERSION|REQ>`.
    pub fn pin(
        &self,
        requirement: &str,
        prerelease: bool,
        allow_withdrawn: bool,
        events: &mut dyn Events,
    ) -> Result<Outcome, UpdateError> {
        let pin = Pin::parse(requirement)?;
        let tx = self.begin("pin", events)?;
        let receipt = tx.receipt(events)?;
        let view = self.channel();
        for warning in &view.warnings {
            events.warning(warning);
        }
        let pin_text = pin.to_string();
        let target = match &pin {
            Pin::Exact(v) => {
                self.guard_withdrawn(v, &view, allow_withdrawn, &receipt.version, prerelease)?;
                v.clone()
            }
            // A requirement picks as `update` does under it: nothing
            // withdrawn, nothing still rolling out toward this installation.
            Pin::Req(_) => {
                let listed = self.listed_within(&pin, prerelease, &view)?;
                let reached = listed
                    .iter()
                    .filter(|v| view.availability(v).is_available());
                match (reached.max(), listed.iter().max()) {
                    (Some(v), _) => v.clone(),
                    (None, Some(rolling)) => {
                        return Err(UpdateError::NoMatch(format!(
                            "{pin_text} that has reached this installation ({rolling} is rolling out toward it; `pane self pin {rolling}` installs it now)"
                        )))
                    }
                    (None, None) => return Err(UpdateError::NoMatch(pin_text)),
                }
            }
        };
        if target == receipt.version {
            let mut next = receipt.clone();
            next.pin = Some(pin_text.clone());
            next.updated_at = self.now_unix();
            receipt::save(&self.ctx.receipt_path(), &next)?;
            return Ok(Outcome::Pinned {
                version: target,
                pin: pin_text,
                changed_from: None,
            });
        }
        let resolved = match &pin {
            Pin::Exact(_) => self.resolve_named(&target, &|_| true),
            // Found in the listing: a 404 now is the server's, said as it is.
            Pin::Req(_) => self.resolve_with(Some(&target), &|_| true),
        };
        let installed = resolved.and_then(|resolved| {
            self.install_release(&tx, &receipt, &resolved, Some(pin_text.clone()), events)
        });
        self.drop_prefetched();
        installed?;
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
            next.updated_at = self.now_unix();
            receipt::save(&self.ctx.receipt_path(), &next)?;
        }
        Ok(Outcome::Unpinned { was: receipt.pin })
    }

    /// `pane self rollback`: offline; refuses a version the stored channel
    /// document withdrew unless `allow_withdrawn`, checks the kept binary's
    /// SHA-256 and pins to what it restores.
    pub fn rollback(
        &self,
        allow_withdrawn: bool,
        events: &mut dyn Events,
    ) -> Result<Outcome, UpdateError> {
        let tx = self.begin("rollback", events)?;
        let receipt = tx.receipt(events)?;
        let previous = receipt.previous.clone().ok_or(UpdateError::NoPrevious)?;
        let kept = receipt
            .kept_version(&previous)
            .cloned()
            .ok_or(UpdateError::NoPrevious)?;
        let view = channel_view::stored(self.ctx);
        for warning in &view.warnings {
            events.warning(warning);
        }
        self.guard_withdrawn(&previous, &view, allow_withdrawn, &receipt.version, false)?;
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

    /// The archive in the data dir, hashed while it streamed (started
    /// early, or now), checked against the signed sums (step 4) before
    /// anything reads it.
    fn download_archive(
        &self,
        check: ArchiveCheck,
        events: &mut dyn Events,
    ) -> Result<(TempFile, VerifiedArchive), UpdateError> {
        let early = self
            .prefetched
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let pending = match early {
            Some(pending) if pending.name == check.name => pending,
            // Dropping another version's download cancels it.
            _ => self.start_download(check.name.clone())?,
        };
        let (temp, actual) = pending.wait(events.downloading())?;
        let verified = check.finish(&actual)?;
        failpoint::hit("downloaded");
        Ok((temp, verified))
    }

    /// Unix seconds by the channel's clock (`PANE_TEST_NOW` in tests).
    fn now_unix(&self) -> u64 {
        u64::try_from(self.ctx.channel.clock.now().unix()).unwrap_or(0)
    }

    /// Takes the update lock for `what`, after checking (read-only) that
    /// this is an installation pane manages, so a refusal creates nothing.
    pub fn begin(
        &self,
        what: &str,
        events: &mut dyn Events,
    ) -> Result<Transaction<'a>, UpdateError> {
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

/// Whether the receipt's pin, if any, allows `version`.
fn within(receipt: &Receipt, version: &Version) -> bool {
    match receipt.pin.as_deref().map(Pin::parse) {
        None => true,
        Some(Ok(pin)) => pin.matches(version),
        Some(Err(_)) => false,
    }
}
