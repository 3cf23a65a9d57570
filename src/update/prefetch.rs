//! The archive, fetched while `SHA256SUMS` and its signature are.
//!
//! Over a real network an update waits on round trips, not on gunzip: every
//! request costs one, a new connection one more and TLS another, and GitHub
//! answers each download with a redirect to its CDN. So once the version of
//! an update is known (named by the command, hinted by where the "latest"
//! URL redirects, or guessed from the last check before the redirect has
//! answered), the archive is asked for at the same time as the sums and
//! their signature, on the same connection pool: the three sets of round trips
//! overlap instead of adding up.
//!
//! Early is not trusted. The archive streams, hashed on a second thread
//! ([`sink::HashingSink`]), into a `.pane-tmp-` file in the data dir that
//! nothing reads, under the same byte cap and pace as any download. Nothing
//! is decompressed or run until the signature, the trusted comment and the
//! archive's line in the sums have passed (step 3) and the digest matches
//! (step 4), in that order. A download nobody takes (the channel holds the
//! release back, the redirect or the signed sums name another version than
//! the guess, the signed version is not the hint, a check failed) is
//! cancelled and its file removed when it is dropped.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use super::sink;
use super::source::{self, FetchError, Progress, Source};
use super::verify::ArchiveName;
use crate::platform;

/// How often a waiting command moves the progress bar.
const PROGRESS_TICK: Duration = Duration::from_millis(50);
/// `total` before the server has said, or when it never says.
const UNKNOWN: u64 = u64::MAX;

/// The purpose in a download's temp name (`.pane-tmp-download-…`).
pub const DOWNLOAD: &str = "download";

/// An archive download running on its own thread.
pub struct PendingArchive {
    pub name: ArchiveName,
    /// The temp file; `None` once handed over by [`PendingArchive::wait`].
    path: Option<PathBuf>,
    cancel: Arc<AtomicBool>,
    shared: Arc<Shared>,
    done: Receiver<Result<[u8; 32], FetchError>>,
}

/// Progress as the download thread sees it, read by the waiting command.
#[derive(Default)]
struct Shared {
    started: AtomicBool,
    total: AtomicU64,
    received: AtomicU64,
}

impl PendingArchive {
    /// Starts downloading `url` (the archive `name`) into a new temp file in
    /// `data_dir`.
    pub fn start(
        source: Arc<Source>,
        url: String,
        name: ArchiveName,
        data_dir: &Path,
    ) -> io::Result<PendingArchive> {
        fs::create_dir_all(data_dir)?;
        let (path, file) = platform::create_temp_in(data_dir, DOWNLOAD)?;
        let cancel = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared {
            total: AtomicU64::new(UNKNOWN),
            ..Shared::default()
        });
        let (send, done) = mpsc::sync_channel(1);
        let thread = {
            let (cancel, shared) = (Arc::clone(&cancel), Arc::clone(&shared));
            std::thread::Builder::new()
                .name("pane archive".into())
                .spawn(move || {
                    let _ = send.send(fetch(&source, &url, file, &cancel, &shared));
                })
        };
        if let Err(error) = thread {
            let _ = fs::remove_file(&path);
            return Err(error);
        }
        Ok(PendingArchive {
            name,
            path: Some(path),
            cancel,
            shared,
            done,
        })
    }

    /// Waits for the download to end, moving `progress` meanwhile; returns
    /// the file (removed when dropped) and the SHA-256 of its bytes.
    pub fn wait(mut self, progress: &mut dyn Progress) -> Result<(TempFile, [u8; 32]), FetchError> {
        let name = self.name.file_name();
        let mut mirror = Mirror::default();
        let result = loop {
            match self.done.recv_timeout(PROGRESS_TICK) {
                Ok(result) => break result,
                Err(RecvTimeoutError::Timeout) => mirror.show(progress, &self.shared, &name),
                // The thread ended without a word: it cannot, short of a panic.
                Err(RecvTimeoutError::Disconnected) => {
                    break Err(FetchError::Write {
                        url: name.clone(),
                        source: io::Error::other("the download thread stopped"),
                    })
                }
            }
        };
        mirror.show(progress, &self.shared, &name);
        if mirror.started {
            progress.finish();
        }
        let digest = result?;
        let path = self.path.take().expect("the download is taken once");
        Ok((TempFile(path), digest))
    }
}

impl Drop for PendingArchive {
    /// A download nobody took: stop it and remove its file. The thread
    /// stops at its next write; its open file is already unlinked.
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Release);
        if let Some(path) = self.path.take() {
            let _ = fs::remove_file(path);
        }
    }
}

/// The download thread: the archive into `file` under the archive cap,
/// hashed on a second thread.
fn fetch(
    source: &Source,
    url: &str,
    file: File,
    cancel: &AtomicBool,
    shared: &Shared,
) -> Result<[u8; 32], FetchError> {
    std::thread::scope(|scope| {
        let mut sink = sink::HashingSink::new(scope, file);
        let mut out = Cancellable {
            inner: &mut sink,
            cancel,
        };
        source.download(
            url,
            source::ARCHIVE_CAP,
            &mut out,
            &mut Reporter(shared),
            "",
        )?;
        let (_, digest) = sink.finish().map_err(|source| {
            FetchError::Write {
                url: url.to_string(),
                source,
            }
            .redacted()
        })?;
        Ok(digest)
    })
}

/// A writer that fails once the download is cancelled.
struct Cancellable<'a, W: Write> {
    inner: &'a mut W,
    cancel: &'a AtomicBool,
}

impl<W: Write> Write for Cancellable<'_, W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.cancel.load(Ordering::Acquire) {
            return Err(io::Error::other("the download was cancelled"));
        }
        self.inner.write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The waiting command's side of the progress: what it has shown so far.
#[derive(Default)]
struct Mirror {
    started: bool,
    shown: u64,
}

impl Mirror {
    fn show(&mut self, progress: &mut dyn Progress, shared: &Shared, name: &str) {
        if !self.started && shared.started.load(Ordering::Acquire) {
            let total = shared.total.load(Ordering::Acquire);
            progress.start(name, (total != UNKNOWN).then_some(total));
            self.started = true;
        }
        let received = shared.received.load(Ordering::Acquire);
        if self.started && received > self.shown {
            progress.advance(received - self.shown);
            self.shown = received;
        }
    }
}

/// The download thread's side of the progress.
struct Reporter<'a>(&'a Shared);

impl Progress for Reporter<'_> {
    fn start(&mut self, _name: &str, total: Option<u64>) {
        self.0
            .total
            .store(total.unwrap_or(UNKNOWN), Ordering::Release);
        self.0.started.store(true, Ordering::Release);
    }

    fn advance(&mut self, bytes: u64) {
        self.0.received.fetch_add(bytes, Ordering::AcqRel);
    }
}

/// A file removed when dropped.
pub struct TempFile(pub PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}
