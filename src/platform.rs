//! The machine: target triple, install locations, who owns an installation,
//! and the filesystem primitives every write of pane goes through (temp
//! files, atomic replacement, directory fsync, modes, I/O hints), once each.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

pub const BINARY_NAME: &str = "pane";

/// The target triple this binary was built for.
pub const TARGET: &str = env!("PANE_TARGET");

/// A temp path in `dir` that nobody can guess, hidden, named after what it
/// will become. Leftovers all start with `.pane-tmp-` so the next run can
/// clean them up. Open it only with [`create_new`], never through a link.
pub fn temp_path_in(dir: &Path, purpose: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(
        "{TEMP_PREFIX}{purpose}-{}-{n}-{:016x}",
        std::process::id(),
        unguessable()
    ))
}

/// 64 bits another user cannot predict, from the OS's random source; std's
/// randomly keyed hasher if that cannot be read.
fn unguessable() -> u64 {
    os_random::<8>()
        .map(u64::from_le_bytes)
        .unwrap_or_else(|_| {
            use std::hash::{BuildHasher, Hasher};
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u128(
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos()),
            );
            hasher.finish()
        })
}

/// `N` bytes from the operating system's random source (`/dev/urandom`, on
/// every Unix pane runs on; no crate needed).
pub fn os_random<const N: usize>() -> io::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    use std::io::Read as _;
    fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// Reads `path` if it is a regular file of at most `limit` bytes; `None` if
/// it does not exist. A symlink or anything larger is an error, not followed.
pub fn read_limited(path: &Path, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let metadata = match fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    if !metadata.is_file() {
        return Err(io::Error::other(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    read_open(open_regular_file(path, false)?, path, limit).map(Some)
}

/// [`read_limited`] for a file that may be a link (a dotfiles manager's
/// `config.toml`): the link is followed, and what it leads to must be a
/// regular file of at most `limit` bytes. `None` if there is nothing there.
pub fn read_regular(path: &Path, limit: u64) -> io::Result<Option<Vec<u8>>> {
    match open_regular_file(path, true) {
        Ok(file) => read_open(file, path, limit).map(Some),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

fn read_open(file: fs::File, path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::other(format!(
            "{} is larger than {limit} bytes",
            path.display()
        )));
    }
    Ok(bytes)
}

/// Opens `path` for reading, only if it is a regular file: a FIFO put in its
/// place cannot block the open (`O_NONBLOCK`, which regular files ignore),
/// and the type is checked on the open file, so nothing swapped in between
/// a check and the open is read. `follow`: whether a link is followed
/// (without it, `O_NOFOLLOW` refuses one).
pub fn open_regular_file(path: &Path, follow: bool) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
        options.custom_flags(libc::O_NONBLOCK | nofollow);
    }
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a regular file", path.display()),
        ));
    }
    // Reads of a regular file ignore O_NONBLOCK on the systems pane runs on,
    // but a network or FUSE filesystem need not: clear it now that the
    // open cannot block.
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let fd = file.as_raw_fd();
        // SAFETY: fcntl on a descriptor this function owns, with plain flags.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(file)
}

/// Creates `path` for writing, failing if anything (a file, or a symlink an
/// attacker planted) is already there: `O_CREAT | O_EXCL | O_NOFOLLOW`.
pub fn create_new(path: &Path) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

/// A new temp file in `dir` (see [`temp_path_in`] and [`create_new`]).
pub fn create_temp_in(dir: &Path, purpose: &str) -> io::Result<(PathBuf, fs::File)> {
    let path = temp_path_in(dir, purpose);
    let file = create_new(&path)?;
    Ok((path, file))
}

/// Replaces `path` atomically: a new temp file beside it, filled by `fill`,
/// given `mode`, fsynced, renamed over `path`, and the directory fsynced, so a
/// crash leaves the old file or the new one, never half of either. The
/// failpoint `step`, when given, is hit between the fsync and the rename. The
/// temp file is removed if anything fails; errors keep their OS codes.
pub fn replace_file<T>(
    path: &Path,
    mode: u32,
    step: Option<&str>,
    fill: impl FnOnce(&mut fs::File) -> io::Result<T>,
) -> io::Result<T> {
    fs::create_dir_all(parent_dir(path))?;
    replace_in_dir(path, mode, step, fill)
}

fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// [`replace_file`] in a directory that must exist already.
fn replace_in_dir<T>(
    path: &Path,
    mode: u32,
    step: Option<&str>,
    fill: impl FnOnce(&mut fs::File) -> io::Result<T>,
) -> io::Result<T> {
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let (temp, mut file) = create_temp_in(dir, &name)?;
    let result = (|| {
        let value = fill(&mut file)?;
        set_mode(&file, mode)?;
        file.sync_all()?;
        drop(file);
        if let Some(step) = step {
            crate::failpoint::hit(step);
        }
        fs::rename(&temp, path)?;
        sync_dir(dir)?;
        Ok(value)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// [`replace_file`] with these bytes.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    use std::io::Write as _;
    replace_file(path, mode, None, |file| file.write_all(bytes))
}

/// Where to rewrite a file of the user's so that it stays what it was: a
/// symbolic link (a dotfiles manager's) stays a link and the file it points
/// to is the one replaced, in its own directory, with its own mode. A file
/// that does not exist yet is `path` itself, mode 0644.
pub fn rewrite_target(path: &Path) -> io::Result<(PathBuf, u32)> {
    let real = match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(path)?,
        _ => path.to_path_buf(),
    };
    let mode = match fs::metadata(&real) {
        Ok(metadata) => mode_bits(&metadata),
        Err(error) if error.kind() == io::ErrorKind::NotFound => 0o644,
        Err(error) => return Err(error),
    };
    Ok((real, mode))
}

fn mode_bits(metadata: &fs::Metadata) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        metadata.permissions().mode() & 0o7777
    }
    #[cfg(not(unix))]
    {
        let _ = metadata;
        0o644
    }
}

/// [`write_atomic`] that creates no directory: where the directory is gone
/// (an uninstall removed the data dir), it fails with `NotFound` rather than
/// bring it back.
pub fn write_atomic_in_existing_dir(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    use std::io::Write as _;
    replace_in_dir(path, mode, None, |file| file.write_all(bytes))
}

/// What to do about an I/O error on the installation's own files (the binary,
/// its directory, the data dir), where something can be done: matched on the
/// OS error code, so every layer keeps the original `io::Error` as its source.
/// Files that are not the installation's (a download to verify, a shell
/// profile, the user's config) have hints of their own. An empty `path` (a
/// write whose file is not known here) gets only the hints that name none.
pub fn io_hint(error: &io::Error, path: &Path) -> Option<String> {
    let named = !path.as_os_str().is_empty();
    match error.raw_os_error() {
        Some(28) => Some("the disk is full: free some space and try again".into()),
        Some(27) => Some("a file size limit (ulimit -f) stopped the write: raise it and try again".into()),
        Some(30) if named => Some(format!(
            "{} is on a read-only filesystem: reinstall elsewhere with `pane self install --install-dir DIR`",
            path.display()
        )),
        Some(13) | Some(1) if named => Some(format!(
            "no permission to write {}: fix its permissions or reinstall with `pane self install --install-dir DIR`",
            path.display()
        )),
        // The binary or its directory was removed behind pane's back.
        Some(2) if named => Some(format!(
            "{} is missing: run `pane self install` with any pane binary (a fresh download will do) to repair the installation",
            path.display()
        )),
        _ => None,
    }
}

pub const TEMP_PREFIX: &str = ".pane-tmp-";

/// Removes every `.pane-tmp-*` file in `dir`: for a directory where only
/// commands under the update lock write (the install dir, `versions/*`), or
/// one pane is leaving for good (`uninstall`'s data dir).
pub fn clean_temp_files(dir: &Path) -> usize {
    clean_temp_files_where(dir, |_, _| true)
}

/// Removes the `.pane-tmp-<purpose>-*` files in `dir` of these `purposes`
/// (the files that commands under the update lock write there, so no live
/// run owns them), and other `.pane-tmp-*` files only once they are older
/// than `others_after`, if given: those are written by commands that take no
/// lock, and a file that young may be theirs, in use.
pub fn clean_temp_files_of(
    dir: &Path,
    purposes: &[&str],
    others_after: Option<std::time::Duration>,
) -> usize {
    clean_temp_files_where(dir, |name, entry| {
        let rest = &name[TEMP_PREFIX.len()..];
        let locked = purposes.iter().any(|purpose| {
            rest.strip_prefix(purpose)
                .is_some_and(|tail| tail.starts_with('-'))
        });
        locked
            || others_after.is_some_and(|age| {
                entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|modified| SystemTime::now().duration_since(modified).ok())
                    .is_some_and(|old| old >= age)
            })
    })
}

fn clean_temp_files_where(dir: &Path, pick: impl Fn(&str, &fs::DirEntry) -> bool) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(TEMP_PREFIX) && pick(&name, &entry) {
            let path = entry.path();
            let ok = if entry.file_type().is_ok_and(|t| t.is_dir()) {
                fs::remove_dir_all(&path).is_ok()
            } else {
                fs::remove_file(&path).is_ok()
            };
            removed += usize::from(ok);
        }
    }
    removed
}

/// Lets a write past the file size limit (`ulimit -f`) fail with EFBIG,
/// which pane reports with a hint, instead of SIGXFSZ killing the process
/// without a word (its default action) in the middle of an update.
pub fn ignore_file_size_signal() {
    #[cfg(unix)]
    // SAFETY: SIG_IGN installs no handler code, and this runs once at
    // start-up, before any thread exists.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// fsync a directory so a rename in it survives a power cut.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// A file being written that is fsynced once complete (a staged binary),
/// flushed to the disk in steps while it is written. Every further 4 MiB, a
/// helper thread runs `fdatasync` on a second descriptor of the file while
/// the writer goes on, so the `fsync` before the rename has only the last
/// few mebibytes left to flush. Without it, that `fsync` flushes the whole
/// binary while pane waits: 22 to 95 ms for 40 MiB on the virtual disks of
/// the bench's machines, whose flushes cost by the byte however early the
/// kernel started writing (`sync_file_range` was tried and left the final
/// flush at 50–60 ms where it had been 55–95). It changes no guarantee: the
/// final `fsync` still comes before the rename.
///
/// Only on Linux: elsewhere the steps are skipped. On macOS `sync_data` is
/// `F_FULLFSYNC`, a flush of the whole drive's cache, too dear to repeat.
///
/// A failed step is an error of the next write (or of
/// [`WriteBehind::into_inner`]), not only a warning: the second descriptor
/// shares the first one's open file, and Linux reports a writeback error to
/// an open file once, so the final `fsync` could otherwise miss it.
pub struct WriteBehind<W> {
    inner: W,
    since_sync: u64,
    syncing: Option<std::thread::JoinHandle<io::Result<()>>>,
    #[cfg(test)]
    steps: u32,
}

/// How much is written between two steps.
const WRITE_BEHIND_STEP: u64 = 4 << 20;

impl<W: io::Write + std::borrow::Borrow<fs::File>> WriteBehind<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            since_sync: 0,
            syncing: None,
            #[cfg(test)]
            steps: 0,
        }
    }

    /// Waits for the step under way and returns the file, or the step's
    /// error. The caller still fsyncs the file.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.collect(true)?;
        Ok(self.inner)
    }

    /// Takes the result of the step under way if it is done (or `wait`).
    fn collect(&mut self, wait: bool) -> io::Result<()> {
        let Some(step) = self.syncing.take_if(|step| wait || step.is_finished()) else {
            return Ok(());
        };
        step.join()
            .unwrap_or_else(|_| Err(io::Error::other("the thread died")))
    }

    /// Starts a step unless one is under way. Without a second descriptor or
    /// a thread, the step is skipped: the final `fsync` does all the work,
    /// as it would without this type.
    fn start_step(&mut self) {
        if !cfg!(target_os = "linux") || self.syncing.is_some() {
            return;
        }
        self.since_sync = 0;
        let Ok(file) = self.inner.borrow().try_clone() else {
            return;
        };
        let started = std::thread::Builder::new()
            .name("pane-flush".into())
            .spawn(move || file.sync_data());
        if let Ok(step) = started {
            self.syncing = Some(step);
            #[cfg(test)]
            {
                self.steps += 1;
            }
        }
    }
}

impl<W: io::Write + std::borrow::Borrow<fs::File>> io::Write for WriteBehind<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // A failed step fails the write before it takes any bytes.
        self.collect(false)?;
        let n = self.inner.write(buf)?;
        self.since_sync += n as u64;
        if self.since_sync >= WRITE_BEHIND_STEP {
            self.start_step();
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Sets mode 0755 (the archive's own mode is never trusted).
pub fn make_executable(file: &fs::File) -> io::Result<()> {
    set_mode(file, 0o755)
}

/// Sets `mode` (permission bits) on an open file.
pub fn set_mode(file: &fs::File, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (file, mode);
        Ok(())
    }
}

pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Where the binary goes when nothing else says: `$PANE_INSTALL_DIR`, else
/// `$XDG_BIN_HOME`, else `~/.local/bin`.
pub fn default_install_dir(
    pane_install_dir: Option<&Path>,
    xdg_bin_home: Option<&Path>,
    home: Option<&Path>,
) -> Option<PathBuf> {
    pane_install_dir
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .or_else(|| {
            xdg_bin_home
                .filter(|p| p.is_absolute())
                .map(Path::to_path_buf)
        })
        .or_else(|| home.map(|h| h.join(".local").join("bin")))
}

/// An installation that another tool manages, and the command that updates it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ForeignOwner {
    Homebrew,
    Cargo,
    Distro,
}

impl ForeignOwner {
    pub fn update_command(&self) -> &'static str {
        match self {
            ForeignOwner::Homebrew => "brew upgrade pane",
            ForeignOwner::Cargo => "cargo install pane --force",
            ForeignOwner::Distro => "your system's package manager (apt, dnf, pacman, …)",
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            ForeignOwner::Homebrew => "Homebrew",
            ForeignOwner::Cargo => "cargo install",
            ForeignOwner::Distro => "a system package",
        }
    }
}

/// Who manages the binary at `exe`, judged by where it lives (as uv does).
pub fn foreign_owner(exe: &Path, cargo_home: Option<&Path>) -> Option<ForeignOwner> {
    let text = exe.to_string_lossy();
    if text.contains("/Cellar/") || text.contains("/homebrew/") || text.contains("/linuxbrew/") {
        return Some(ForeignOwner::Homebrew);
    }
    if let Some(cargo_home) = cargo_home {
        if exe.starts_with(cargo_home.join("bin")) {
            return Some(ForeignOwner::Cargo);
        }
    }
    if text.contains("/.cargo/bin/") {
        return Some(ForeignOwner::Cargo);
    }
    if ["/usr/bin/", "/bin/", "/usr/sbin/", "/usr/libexec/"]
        .iter()
        .any(|p| text.starts_with(p))
    {
        return Some(ForeignOwner::Distro);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_behind_passes_every_byte_and_flushes_in_steps() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("staged");
        let data: Vec<u8> = (0..(13 << 20) + 12_345u32)
            .map(|i| (i % 251) as u8)
            .collect();
        let step = WRITE_BEHIND_STEP as usize;
        let mut writer = WriteBehind::new(fs::File::create(&path).unwrap());
        io::Write::write_all(&mut writer, &data[..step - 1]).unwrap();
        assert_eq!(writer.steps, 0, "no step before 4 MiB");
        io::Write::write_all(&mut writer, &data[step - 1..step]).unwrap();
        let linux = cfg!(target_os = "linux");
        assert_eq!(writer.steps, u32::from(linux), "a step at 4 MiB on Linux");
        if linux {
            // Once the first step is done, the next 4 MiB start another.
            while !writer.syncing.as_ref().unwrap().is_finished() {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            io::Write::write_all(&mut writer, &data[step..2 * step]).unwrap();
            assert!(writer.syncing.is_some());
            assert_eq!(writer.steps, 2);
        }
        for chunk in data[2 * step..].chunks(100_003) {
            io::Write::write_all(&mut writer, chunk).unwrap();
        }
        let file = writer.into_inner().unwrap();
        file.sync_all().unwrap();
        drop(file);
        assert!(fs::read(&path).unwrap() == data);
    }

    /// A step that fails (`fdatasync` of a pipe is EINVAL) fails the
    /// writer: the final `fsync` alone might not see the error again. The
    /// error is the step's own (`archive` tests that a writer's error is
    /// never read as a corrupt archive).
    #[cfg(target_os = "linux")]
    #[test]
    fn write_behind_reports_a_failed_step() {
        fn through_a_pipe(megabytes: usize) -> io::Error {
            let (mut reader, writer) = io::pipe().unwrap();
            let drain = std::thread::spawn(move || io::copy(&mut reader, &mut io::sink()));
            let mut writer = WriteBehind::new(fs::File::from(std::os::fd::OwnedFd::from(writer)));
            let chunk = vec![7u8; 1 << 20];
            let mut failed = None;
            for _ in 0..megabytes {
                if let Err(e) = io::Write::write_all(&mut writer, &chunk) {
                    failed = Some(e);
                    break;
                }
            }
            let failed = failed.or_else(|| writer.into_inner().err());
            drain.join().unwrap().unwrap();
            failed.expect("the failed flush is reported")
        }
        // The step still under way at the end: `into_inner` reports it.
        // A step that ended during the writing: the next write reports it.
        for megabytes in [4, 64] {
            let error = through_a_pipe(megabytes);
            assert_eq!(error.raw_os_error(), Some(libc::EINVAL), "{error}");
        }
    }

    #[test]
    fn atomic_writes_replace_and_leave_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/state.json");
        write_atomic(&path, b"one", 0o644).unwrap();
        write_atomic(&path, b"two", 0o644).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["state.json"]);
    }

    #[test]
    fn a_write_in_an_existing_dir_does_not_make_the_dir() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gone/state.json");
        let error = write_atomic_in_existing_dir(&path, b"one", 0o644).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        assert!(!path.parent().unwrap().exists());
        fs::create_dir(path.parent().unwrap()).unwrap();
        write_atomic_in_existing_dir(&path, b"one", 0o644).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one");
    }

    #[test]
    fn a_symlink_is_replaced_not_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"keep").unwrap();
        let path = dir.path().join("state.json");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        assert!(read_limited(&path, 100).is_err(), "a symlink was followed");
        write_atomic(&path, b"new", 0o644).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert!(fs::symlink_metadata(&path).unwrap().is_file());
    }

    #[test]
    fn temp_files_are_unguessable_and_never_opened_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let a = temp_path_in(dir.path(), "x");
        let b = temp_path_in(dir.path(), "x");
        assert_ne!(a, b);
        // pid, counter and 64 random bits: the last part differs even
        // between two processes that reuse a pid.
        let random = |p: &Path| p.to_string_lossy().rsplit('-').next().unwrap().to_string();
        assert_eq!(random(&a).len(), 16);
        assert_ne!(random(&a), random(&b));
        let victim = dir.path().join("victim");
        fs::write(&victim, b"keep").unwrap();
        let planted = dir.path().join("planted");
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        assert!(create_new(&planted).is_err(), "opened through a link");
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
    }

    #[test]
    fn recovery_takes_the_locked_writers_temp_files_and_old_ones_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, age_secs: u64| {
            let path = dir.path().join(name);
            let file = fs::File::create(&path).unwrap();
            let when = SystemTime::now() - std::time::Duration::from_secs(age_secs);
            file.set_modified(when).unwrap();
        };
        file(".pane-tmp-download-1-0-00", 0);
        file(".pane-tmp-install-receipt.json-1-1-00", 0);
        file(".pane-tmp-update-check.json-2-0-00", 5);
        file(".pane-tmp-channel-state.json-3-0-00", 3600);
        file(".pane-tmp-downloads-4-0-00", 0);
        file("install-receipt.json", 3600);
        let removed = clean_temp_files_of(
            dir.path(),
            &["download", "install-receipt.json"],
            Some(std::time::Duration::from_secs(600)),
        );
        assert_eq!(removed, 3);
        let mut left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        // A live writer's young temp file stays, as does a name that only
        // starts like a locked one.
        assert_eq!(
            left,
            [
                ".pane-tmp-downloads-4-0-00",
                ".pane-tmp-update-check.json-2-0-00",
                "install-receipt.json"
            ]
        );
        assert_eq!(clean_temp_files_of(dir.path(), &["download"], None), 0);
        assert_eq!(clean_temp_files(dir.path()), 2);
    }

    #[test]
    fn reads_are_capped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        assert_eq!(read_limited(&path, 4).unwrap(), None);
        fs::write(&path, b"12345").unwrap();
        assert!(read_limited(&path, 4).is_err());
        assert_eq!(read_limited(&path, 5).unwrap().unwrap(), b"12345");
        assert_eq!(read_regular(&path, 5).unwrap().unwrap(), b"12345");
        assert!(read_regular(&path, 4).is_err());
        assert_eq!(read_regular(&dir.path().join("none"), 4).unwrap(), None);
    }

    /// Neither read blocks on a FIFO or reads a device: each is refused.
    #[test]
    fn a_fifo_or_a_device_is_refused_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let zero = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        for path in [&fifo, &zero] {
            assert!(read_regular(path, 4).is_err(), "{}", path.display());
            assert!(read_limited(path, 4).is_err(), "{}", path.display());
            assert!(open_regular_file(path, true).is_err());
        }
        let link = dir.path().join("link");
        fs::write(dir.path().join("f"), b"x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("f"), &link).unwrap();
        let opened = open_regular_file(&link, true).unwrap();
        assert!(open_regular_file(&link, false).is_err());
        // The file handed back blocks as any other does.
        use std::os::fd::AsRawFd;
        let flags = unsafe { libc::fcntl(opened.as_raw_fd(), libc::F_GETFL) };
        assert_eq!(flags & libc::O_NONBLOCK, 0);
    }

    #[test]
    fn random_bytes_differ() {
        assert_ne!(os_random::<16>().unwrap(), os_random::<16>().unwrap());
    }

    #[test]
    fn install_dir_precedence() {
        let home = Path::new("/h");
        assert_eq!(
            default_install_dir(Some(Path::new("/a")), Some(Path::new("/b")), Some(home)),
            Some(PathBuf::from("/a"))
        );
        assert_eq!(
            default_install_dir(None, Some(Path::new("/b")), Some(home)),
            Some(PathBuf::from("/b"))
        );
        assert_eq!(
            default_install_dir(None, Some(Path::new("relative")), Some(home)),
            Some(PathBuf::from("/h/.local/bin"))
        );
        assert_eq!(default_install_dir(None, None, None), None);
    }

    #[test]
    fn owners() {
        let cases = [
            ("/opt/homebrew/bin/pane", Some(ForeignOwner::Homebrew)),
            (
                "/usr/local/Cellar/pane/1.0/bin/pane",
                Some(ForeignOwner::Homebrew),
            ),
            ("/home/u/.cargo/bin/pane", Some(ForeignOwner::Cargo)),
            ("/usr/bin/pane", Some(ForeignOwner::Distro)),
            ("/home/u/.local/bin/pane", None),
        ];
        for (path, owner) in cases {
            assert_eq!(foreign_owner(Path::new(path), None), owner, "{path}");
        }
    }
}
