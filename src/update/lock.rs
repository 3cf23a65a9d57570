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
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    // Never through a link: the holder's record overwrites the file, and a
    // planted link would aim that at another file of the user's.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
    let mut file = options.open(path).map_err(io)?;
    let started = Instant::now();
    let mut told = false;
    loop {
        match file.try_lock() {
            Ok(()) => break,
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
