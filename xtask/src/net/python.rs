//! A release mirror in GitHub's shape written apart from pane's own server:
//! `mirror_server.py` (Python's standard library: `http.server` with
//! HTTP/1.1 keep-alive, `ssl`), one process listening twice, as the mirror
//! and as its CDN. The script is embedded here and written to a temp dir at
//! run time; `python3` runs it, and dropping the value kills it.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::tls::TestCa;
use super::Endpoints;
use crate::error::{Context, Result};

const SCRIPT: &str = include_str!("mirror_server.py");

pub struct PythonMirror {
    child: Child,
    dir: tempfile::TempDir,
}

impl PythonMirror {
    /// The mirror and its CDN over `root` (holding `v<version>/` folders)
    /// for `owner/repo`, listening where `at` says and naming its public
    /// URLs; returns once both listen.
    pub fn start(
        root: &Path,
        ca: &TestCa,
        owner: &str,
        repo: &str,
        at: &Endpoints,
    ) -> Result<PythonMirror> {
        let dir = tempfile::tempdir().context("temp dir for the Python mirror")?;
        let script = dir.path().join("mirror_server.py");
        std::fs::write(&script, SCRIPT).context("writing mirror_server.py")?;
        let root = root.canonicalize().context("the release root")?;
        let child = Command::new("python3")
            .arg(&script)
            .arg("--root")
            .arg(&root)
            .args(["--owner", owner, "--repo", repo])
            .arg("--cert")
            .arg(&ca.cert_pem)
            .arg("--key")
            .arg(&ca.key_pem)
            .args(["--mirror", &at.mirror.to_string()])
            .args(["--cdn", &at.cdn.to_string()])
            .args(["--mirror-public", &at.mirror_public])
            .args(["--cdn-public", &at.cdn_public])
            .arg("--log")
            .arg(dir.path().join("requests.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("stderr.log")).context("stderr log")?)
            .spawn()
            .context("starting python3 (install it: apt-get install python3)")?;
        let mut mirror = PythonMirror { child, dir };
        mirror.wait_ready(&[at.mirror, at.cdn])?;
        Ok(mirror)
    }

    fn wait_ready(&mut self, addrs: &[SocketAddr]) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                crate::bail!("the Python mirror exited ({status}): {}", self.stderr());
            }
            if addrs
                .iter()
                .all(|a| TcpStream::connect_timeout(a, Duration::from_millis(200)).is_ok())
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        crate::bail!("the Python mirror did not listen: {}", self.stderr())
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// Every request it answered, one line each: `<role> <method> <path>`.
    pub fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("requests.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for PythonMirror {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
