//! The one sandbox pane runs in wherever it is driven (the integration tests'
//! `World`, `cargo xtask chaos`, `cargo xtask demo`): a throwaway `HOME` with
//! its own XDG dirs, a test key made now, and the release server on loopback
//! over a release root of its own. Nothing outside it is touched.
//!
//! The methods return [`Result`]; the tests wrap them in ones that panic.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Context, Result};
use crate::fixtures::{build_pane, Release, ReleaseDir, Run, TestKey};
use crate::server::Server;

/// The `PATH` a sandboxed pane gets unless [`Sandbox::extra_env`] says otherwise.
pub const SYSTEM_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// The environment a sandboxed pane runs with: `HOME` and its XDG dirs, the
/// test key (honoured by debug builds), the release server's two URLs, an
/// administrator's config file that is not there (debug builds read it
/// instead of the machine's `/etc/pane/config.toml`), and no update notice.
/// Start from `env_clear()`; add `PATH` and timeouts. (`cargo xtask bench`
/// gives its many homes the same.)
pub fn pane_env(
    home: &Path,
    key: &TestKey,
    server: Option<&Server>,
) -> Vec<(&'static str, OsString)> {
    let mut env = vec![
        ("HOME", home.into()),
        ("XDG_CONFIG_HOME", home.join(".config").into()),
        ("XDG_DATA_HOME", home.join(".local/share").into()),
        ("XDG_STATE_HOME", home.join(".local/state").into()),
        ("XDG_CACHE_HOME", home.join(".cache").into()),
        ("PANE_TEST_PUBKEY", key.public_key_line().into()),
        (
            "PANE_TEST_SYSTEM_CONFIG",
            home.join(".no-system-config.toml").into(),
        ),
        ("PANE_NO_UPDATE_CHECK", "1".into()),
    ];
    if let Some(server) = server {
        env.extend(server_urls(server));
    }
    env
}

/// `PANE_RELEASES_URL` and `PANE_RELEASES_API_URL` for `server`.
fn server_urls(server: &Server) -> [(&'static str, OsString); 2] {
    [
        ("PANE_RELEASES_URL", server.releases_url().into()),
        ("PANE_RELEASES_API_URL", server.api_url().into()),
    ]
}

/// `<tmp>/home` (pane installs into `~/.local/bin`, keeps its data in
/// `~/.local/share/pane`) and `<tmp>/releases`, served by [`Sandbox::server`].
pub struct Sandbox {
    /// Owns the whole sandbox: removed when dropped.
    pub tmp: tempfile::TempDir,
    pub home: PathBuf,
    pub data_dir: PathBuf,
    pub bin_dir: PathBuf,
    /// The release root the server serves.
    pub root: PathBuf,
    pub key: TestKey,
    /// `None` once stopped.
    pub server: Option<Server>,
    /// The URLs of the server [`Sandbox::stop_server`] stopped, which
    /// commands keep being given: without them pane would fall back to its
    /// built-in GitHub URLs and reach for the internet.
    stopped_urls: Vec<(&'static str, OsString)>,
    /// Set on every command after the defaults (so they override them).
    pub extra_env: Vec<(String, String)>,
}

impl Sandbox {
    /// A sandbox in a new temporary directory named `<prefix>XXXXXX`, its
    /// server already listening.
    pub fn new(prefix: &str) -> Result<Sandbox> {
        let tmp = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .context("cannot make a temporary directory")?;
        let home = tmp.path().join("home");
        let root = tmp.path().join("releases");
        for path in [&home, &root] {
            std::fs::create_dir_all(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
        }
        let server = Server::start(&root)?;
        Ok(Sandbox {
            data_dir: home.join(".local/share/pane"),
            bin_dir: home.join(".local/bin"),
            home,
            root,
            key: TestKey::try_generate()?,
            server: Some(server),
            stopped_urls: Vec::new(),
            tmp,
            extra_env: Vec::new(),
        })
    }

    /// The release server (panics once it has been stopped).
    pub fn server(&self) -> &Server {
        self.server.as_ref().expect("the release server is running")
    }

    /// Stops the release server: nothing answers at its address any more,
    /// and commands are still pointed there.
    pub fn stop_server(&mut self) {
        if let Some(server) = self.server.take() {
            self.stopped_urls = server_urls(&server).into();
        }
    }

    /// Keeps the directory after the sandbox is gone (to look at a failure).
    pub fn keep(self) -> PathBuf {
        self.tmp.keep()
    }

    /// Removes the directory, saying so if it cannot.
    pub fn close(self) -> Result<()> {
        let path = self.tmp.path().to_path_buf();
        self.tmp
            .close()
            .with_context(|| format!("cannot remove {}", path.display()))
    }

    pub fn install_path(&self) -> PathBuf {
        self.bin_dir.join("pane")
    }

    pub fn receipt_path(&self) -> PathBuf {
        self.data_dir.join("install-receipt.json")
    }

    /// The environment of every command: [`pane_env`], `PATH`, short
    /// timeouts, then [`Sandbox::extra_env`].
    pub fn env(&self) -> Vec<(String, OsString)> {
        let mut env: Vec<(String, OsString)> =
            pane_env(&self.home, &self.key, self.server.as_ref())
                .into_iter()
                .chain(match self.server {
                    Some(_) => Vec::new(),
                    None => self.stopped_urls.clone(),
                })
                .map(|(name, value)| (name.to_string(), value))
                .collect();
        for (name, value) in [
            ("PATH", SYSTEM_PATH),
            ("PANE_HTTP_TIMEOUT", "3"),
            ("PANE_LOCK_TIMEOUT", "60"),
        ]
        .into_iter()
        .chain(self.extra_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        {
            env.retain(|(existing, _)| existing != name);
            env.push((name.to_string(), value.into()));
        }
        env
    }

    /// `program` with only this sandbox's environment, run in `HOME`.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command.env_clear().envs(self.env()).current_dir(&self.home);
        command
    }

    /// Runs `exe` with `args` (and `env` on top) to its end.
    pub fn run(&self, exe: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<Run> {
        let output = self
            .command(exe)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run {} {}", exe.display(), args.join(" ")))?;
        Ok(Run::from(output))
    }

    /// Runs the installed pane to its end.
    pub fn pane(&self, args: &[&str]) -> Result<Run> {
        self.run(&self.install_path(), args, &[])
    }

    /// Publishes `release` into the release root, signed with the sandbox's key.
    pub fn publish(&self, release: Release) -> Result<ReleaseDir> {
        release.try_write(&self.root, &self.key)
    }

    /// Installs a fixture pane of `version` the way a manual download does
    /// (`pane self install --no-modify-path`).
    pub fn install(&self, version: &str) -> Result<()> {
        let exe = build_pane(version);
        let run = self.run(&exe, &["self", "install", "--no-modify-path"], &[])?;
        if run.code != Some(0) {
            crate::bail!("pane self install failed:\n{run}");
        }
        Ok(())
    }

    /// What the installed pane says it is (`pane --version`).
    pub fn installed_version(&self) -> Result<String> {
        let run = self.pane(&["--version"])?;
        match run.stdout.trim().strip_prefix("pane ") {
            Some(version) if run.code == Some(0) => Ok(version.to_string()),
            _ => crate::bail!("the installed pane does not run:\n{run}"),
        }
    }

    /// The install receipt, parsed.
    pub fn receipt(&self) -> Result<serde_json::Value> {
        let path = self.receipt_path();
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_slice(&bytes)
            .with_context(|| format!("the receipt {} is not JSON", path.display()))
    }

    /// Every file (not directory) under `HOME`, relative to it, in order.
    pub fn files_in_home(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        walk(&self.home, &mut |path, is_dir| {
            if !is_dir {
                files.push(path.strip_prefix(&self.home).unwrap_or(path).to_path_buf());
            }
        });
        files.sort();
        files
    }
}

/// Calls `visit` with every path under `dir` and whether it is a directory
/// (links are not followed), parents before what they hold.
pub fn walk(dir: &Path, visit: &mut dyn FnMut(&Path, bool)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        visit(&path, is_dir);
        if is_dir {
            walk(&path, visit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_env_overrides_the_defaults_once() {
        let mut sandbox = Sandbox::new("pane-sandbox-test-").unwrap();
        sandbox
            .extra_env
            .push(("PANE_LOCK_TIMEOUT".into(), "5".into()));
        let env = sandbox.env();
        let values: Vec<_> = env
            .iter()
            .filter(|(name, _)| name == "PANE_LOCK_TIMEOUT")
            .map(|(_, value)| value.clone())
            .collect();
        assert_eq!(values, [OsString::from("5")]);
        assert!(env
            .iter()
            .any(|(name, value)| name == "HOME" && Path::new(value) == sandbox.home));
        let urls = |env: Vec<(String, OsString)>| -> Vec<(String, OsString)> {
            env.into_iter()
                .filter(|(name, _)| name.starts_with("PANE_RELEASES_"))
                .collect()
        };
        let running = urls(env);
        assert_eq!(running.len(), 2, "{running:?}");
        // A stopped server's address is still what pane is given: nothing
        // falls back to the built-in GitHub URLs.
        sandbox.stop_server();
        assert_eq!(urls(sandbox.env()), running);
    }

    #[test]
    fn files_in_home_lists_files_only() {
        let sandbox = Sandbox::new("pane-sandbox-test-").unwrap();
        std::fs::create_dir_all(sandbox.home.join("a/b")).unwrap();
        std::fs::write(sandbox.home.join("a/b/c"), "").unwrap();
        std::fs::write(sandbox.home.join("d"), "").unwrap();
        assert_eq!(
            sandbox.files_in_home(),
            [PathBuf::from("a/b/c"), PathBuf::from("d")]
        );
    }
}
