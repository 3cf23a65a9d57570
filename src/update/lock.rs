//! One update at a time: an advisory lock on `<data dir>/update.lock`
//! (`flock` on Unix, through `std::fs::File::lock`). The kernel drops it when
//! the holder exits, however it exits, so a killed update never leaves a
//! stale lock. The holder writes its pid and command into the file so a
//! waiter can say who holds it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another pane is changing this installation ({holder}); it did not finish within {waited} seconds")]
    Busy { holder: String, waited: u64 },
    /// The data dir went while this waited: an uninstall ran.
    #[error("pane was uninstalled while this command waited for it ({} is gone)", .0.display())]
    Uninstalled(PathBuf),
    #[error("could not open the update lock {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl LockError {
    pub fn hint(&self) -> Option<String> {
        match self {
            LockError::Busy { .. } => {
                Some("wait for it to finish, then run the command again".into())
            }
            LockError::Io { source, path } if source.raw_os_error() == Some(libc::ELOOP) => {
                Some(format!(
                    "{} is a symbolic link, which pane never makes: remove the link (not what it points to) and run the command again",
                    path.display()
                ))
            }
            LockError::Io { source, path } => crate::platform::io_hint(source, path),
            LockError::Uninstalled(_) => None,
        }
    }
}

/// Held while the update runs; released on drop (or by the kernel on exit).
pub struct UpdateLock {
    file: File,
}

impl Drop for UpdateLock {
    fn drop(&mut self) {
        // Leave no record of a holder that is gone (best effort).
        let _ = self.file.set_len(0);
    }
}

/// Takes the lock, waiting up to `wait` for another holder to finish.
/// `on_wait` is told once who holds it, so the caller can say so.
///
/// A lock is taken on the file that was opened, and `uninstall` removes the
/// path: a waiter whose file was unlinked (or replaced) meanwhile would hold
/// a lock that excludes nobody who opens the path afresh. So once the lock
/// is taken, the file must still be the one at the path (same device and
/// inode); if not, it is let go and the path opened again. That second open
/// creates no directory: the data dir that `uninstall` removed stays
/// removed, and the command fails rather than bring it back.
pub fn acquire(
    path: &Path,
    wait: Duration,
    what: &str,
    on_wait: &mut dyn FnMut(&str),
) -> Result<UpdateLock, LockError> {
    let io = |source| LockError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut file = open(path).map_err(io)?;
    let started = Instant::now();
    let mut told = false;
    let mut reopened = 0u32;
    loop {
        match file.try_lock() {
            Ok(()) if still_at(&file, path) => break,
            Ok(()) => {
                // Nobody else waits on the file that is gone, so however
                // long this has waited, one more open is worth it; a path
                // that keeps being swapped away is given up on in time.
                reopened += 1;
                if reopened > 1 && started.elapsed() >= wait {
                    return Err(LockError::Busy {
                        holder: "a process that keeps replacing the lock file".into(),
                        waited: wait.as_secs(),
                    });
                }
                drop(file);
                file = open(path).map_err(|error| match error.kind() {
                    std::io::ErrorKind::NotFound => LockError::Uninstalled(path.to_path_buf()),
                    _ => io(error),
                })?;
            }
            Err(TryLockError::WouldBlock) => {
                let holder = read_holder(&mut file);
                if !told {
                    on_wait(&holder);
                    told = true;
                }
                if started.elapsed() >= wait {
                    return Err(LockError::Busy {
                        holder,
                        waited: wait.as_secs(),
                    });
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
    }
    // Best effort: who we are, for a waiter's message.
    let _ = file.set_len(0);
    let _ = file.seek(SeekFrom::Start(0));
    let _ = write!(
        file,
        "pid {} running `pane self {what}` since {}",
        std::process::id(),
        crate::platform::now_unix()
    );
    let _ = file.flush();
    Ok(UpdateLock { file })
}

/// Opens (creating) the lock file, never through a link: the holder's
/// record overwrites the file, and a planted link would aim that at another
/// file of the user's.
fn open(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
    options.open(path)
}

/// Whether `file` is still the file at `path` (not unlinked, not replaced).
fn still_at(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::symlink_metadata(path)) {
            (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

fn read_holder(file: &mut File) -> String {
    // The holder writes its record right after taking the lock: an empty
    // file is a record about to be written, so look again for a moment.
    for _ in 0..20 {
        let mut text = String::new();
        let _ = file.seek(SeekFrom::Start(0));
        let _ = file.take(256).read_to_string(&mut text);
        let text = text.trim();
        if !text.is_empty() {
            return text.to_string();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    "another process".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `update` that waits for the lock at `path`; returns once it waits.
    fn waiting_for(path: &Path) -> std::thread::JoinHandle<Result<UpdateLock, LockError>> {
        let (waiting, is_waiting) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn({
            let path = path.to_path_buf();
            move || {
                acquire(&path, Duration::from_secs(30), "update", &mut |_| {
                    waiting.send(()).unwrap();
                })
            }
        });
        is_waiting.recv().unwrap();
        waiter
    }

    /// `uninstall` removes `update.lock` while it holds it: a waiter that
    /// then gets the lock on the file it had opened holds nothing that a
    /// newcomer opening the path would see, so it must take the path anew.
    #[test]
    fn a_lock_file_removed_while_waited_for_is_not_held_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("update.lock");
        let uninstall = acquire(&path, Duration::ZERO, "uninstall", &mut |_| {}).unwrap();
        let waiter = waiting_for(&path);
        std::fs::remove_file(&path).unwrap();
        drop(uninstall);
        let update = waiter.join().unwrap().unwrap();
        let newcomer = acquire(&path, Duration::ZERO, "update", &mut |_| {});
        assert!(
            matches!(newcomer, Err(LockError::Busy { .. })),
            "two holders of the update lock"
        );
        drop(update);
        acquire(&path, Duration::ZERO, "update", &mut |_| {}).unwrap();
    }

    /// A second open creates no directory: a data dir that `uninstall`
    /// removed is not brought back by a command that waited for it.
    #[test]
    fn a_waiter_does_not_bring_back_a_removed_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("pane");
        let path = data.join("update.lock");
        let uninstall = acquire(&path, Duration::ZERO, "uninstall", &mut |_| {}).unwrap();
        let waiter = waiting_for(&path);
        std::fs::remove_file(&path).unwrap();
        std::fs::remove_dir(&data).unwrap();
        drop(uninstall);
        let error = waiter.join().unwrap().err().expect("the waiter failed");
        assert!(matches!(error, LockError::Uninstalled(_)), "{error}");
        assert!(error.to_string().contains("uninstalled"), "{error}");
        assert_eq!(error.hint(), None, "no repair hint for a removal");
        assert!(!data.exists(), "the data dir is back");
    }
}
