//! A release served on loopback, and the homes pane and the peer update in.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::http::ApiShim;
use super::{file_size, Bench, NEW, OLD, OWNER, REPO};
use crate::error::{Context, Result};
use crate::fixtures::{Release, ReleaseDir};
use crate::server::Server;

/// One release of [`NEW`] served on loopback, with the API shim the peer needs.
pub(super) struct Stage {
    pub(super) root: PathBuf,
    pub(super) release: ReleaseDir,
    pub(super) archive_size: u64,
    /// The archive's SHA-256, in hex.
    pub(super) sha256: String,
    pub(super) server: Server,
    pub(super) shim: ApiShim,
}

impl Drop for Stage {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

impl Bench {
    /// Publishes [`NEW`] (the release build, padded so that the archive is
    /// about `archive_size` bytes) under a fresh root and serves it.
    pub(super) fn stage(&self, name: &str, archive_size: u64) -> Result<Stage> {
        let root = self.work.join(name);
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root)
            .with_context(|| format!("cannot create {}", root.display()))?;
        // How big the archive is without padding; the padding does not compress.
        let bare = Release::new(NEW)
            .binary(&self.bins.pane_release)
            .target(&self.target)
            .try_write(&root, &self.key)?;
        let bare_size = file_size(&bare.archive)?;
        std::fs::remove_dir_all(&bare.dir)
            .with_context(|| format!("cannot remove {}", bare.dir.display()))?;
        let release = Release::new(NEW)
            .binary(&self.bins.pane_release)
            .target(&self.target)
            .padding(archive_size.saturating_sub(bare_size))
            .try_write(&root, &self.key)?;
        let sha256 = crate::checksums::sha256_file(&release.archive)?;
        let server = Server::builder(&root).repository(OWNER, REPO).start()?;
        let shim = ApiShim::start(server.base_url())?;
        Ok(Stage {
            archive_size: file_size(&release.archive)?,
            root,
            release,
            sha256,
            server,
            shim,
        })
    }

    /// Installs the [`OLD`] pane into `home` as `pane self install` does.
    pub(super) fn install_pane(&self, stage: &Stage, home: &Path) -> Result<PathBuf> {
        let mut command = isolated(&[], &self.bins.pane_updater, home);
        self.pane_env(&mut command, stage, home);
        command.args(["self", "install", "--no-modify-path", "--yes"]);
        run_success(&mut command, "pane self install")?;
        let installed = home.join(".local").join("bin").join("pane");
        check_version(&installed, OLD)?;
        Ok(installed)
    }

    /// `[prefix…] <home>/.local/bin/pane self update --yes` in `home`.
    pub(super) fn pane_command(
        &self,
        prefix: &[OsString],
        pane: &Path,
        stage: &Stage,
        home: &Path,
    ) -> Command {
        let mut command = isolated(prefix, pane, home);
        self.pane_env(&mut command, stage, home);
        command.args(["self", "update", "--yes"]);
        command
    }

    /// The environment every sandboxed pane gets ([`crate::sandbox::pane_env`]).
    pub(super) fn pane_env(&self, command: &mut Command, stage: &Stage, home: &Path) {
        command
            .envs(crate::sandbox::pane_env(
                home,
                &self.key,
                Some(&stage.server),
            ))
            .env("PANE_HTTP_TIMEOUT", "30")
            .env("PANE_LOCK_TIMEOUT", "60");
    }

    /// A copy of the peer at `dir/bin/self-update-peer`; it replaces itself.
    pub(super) fn install_peer(&self, dir: &Path) -> Result<PathBuf> {
        let bin_dir = dir.join("bin");
        std::fs::create_dir_all(&bin_dir)
            .with_context(|| format!("cannot create {}", bin_dir.display()))?;
        let installed = bin_dir.join("self-update-peer");
        std::fs::copy(&self.bins.peer, &installed)
            .with_context(|| format!("cannot copy the peer to {}", installed.display()))?;
        Ok(installed)
    }

    /// `[prefix…] <peer> <api_base> OWNER REPO TARGET OLD` in `dir`.
    pub(super) fn peer_command(
        &self,
        prefix: &[OsString],
        peer: &Path,
        api_base: &str,
        dir: &Path,
    ) -> Command {
        let tmp = dir.join("tmp");
        let _ = std::fs::create_dir_all(&tmp);
        let mut command = isolated(prefix, peer, dir);
        // self_update downloads into a temporary directory: the same disk.
        command
            .env("TMPDIR", &tmp)
            .arg(api_base)
            .args([OWNER, REPO, &self.target, OLD]);
        command
    }
}

/// `program` (or `prefix[0] prefix[1..] program`) with only PATH and HOME
/// from the environment, run in `home`, its input and output detached.
pub(super) fn isolated(prefix: &[OsString], program: &Path, home: &Path) -> Command {
    let mut command = match prefix.split_first() {
        Some((first, rest)) => {
            let mut command = Command::new(first);
            command.args(rest).arg(program);
            command
        }
        None => Command::new(program),
    };
    command
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", home)
        .current_dir(home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

pub(super) fn run_success(command: &mut Command, what: &str) -> Result<()> {
    crate::process::checked_output(command, what).map(drop)
}

/// The wall time from spawning `command` to its successful exit.
pub(super) fn time_success(command: &mut Command, what: &str) -> Result<Duration> {
    let start = Instant::now();
    run_success(command, what)?;
    Ok(start.elapsed())
}

/// `binary --version` must print `pane <version>`.
pub(super) fn check_version(binary: &Path, version: &str) -> Result<()> {
    let output = Command::new(binary)
        .arg("--version")
        .env("PANE_NO_UPDATE_CHECK", "1")
        .output()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    let printed = String::from_utf8_lossy(&output.stdout);
    if printed.trim() != format!("pane {version}") {
        crate::bail!(
            "{} --version printed {printed:?}, not `pane {version}`",
            binary.display()
        );
    }
    Ok(())
}
