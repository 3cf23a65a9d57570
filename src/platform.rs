//! The machine: target triple, install locations, who owns an installation,
//! and the small filesystem primitives the swap relies on.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

pub const BINARY_NAME: &str = "pane";

/// The target triple this binary was built for.
pub const TARGET: &str = env!("PANE_TARGET");

/// A unique temp path in `dir`, hidden, named after what it will become.
/// Leftovers all start with `.pane-tmp-` so the next run can clean them up.
pub fn temp_path_in(dir: &Path, purpose: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!("{TEMP_PREFIX}{purpose}-{}-{n}", std::process::id()))
}

pub const TEMP_PREFIX: &str = ".pane-tmp-";

/// Removes `.pane-tmp-*` leftovers of interrupted runs in `dir`. Only called
/// under the update lock, so no live run owns them.
pub fn clean_temp_files(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            let path = entry.path();
            let ok = if path.is_dir() {
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
    // SIGXFSZ is 25 and SIG_IGN is 1 on these targets. libc's `signal` is
    // declared here rather than adding the libc crate for one call.
    #[cfg(any(
        target_os = "macos",
        all(
            target_os = "linux",
            any(
                target_arch = "x86_64",
                target_arch = "aarch64",
                target_arch = "x86",
                target_arch = "arm"
            )
        )
    ))]
    {
        extern "C" {
            fn signal(signum: i32, handler: usize) -> usize;
        }
        // SAFETY: SIG_IGN installs no handler code, and this runs once at
        // start-up, before any thread exists.
        unsafe {
            signal(25, 1);
        }
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

/// Sets mode 0755 (the archive's own mode is never trusted).
pub fn make_executable(file: &fs::File) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o755))
    }
    #[cfg(not(unix))]
    {
        let _ = file;
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
