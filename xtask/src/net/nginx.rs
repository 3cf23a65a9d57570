//! nginx from the distribution's packages serving a mirror over TLS, as an
//! air-gapped site would: the release files under
//! `/<owner>/<repo>/releases/download/v<V>/<asset>` straight from `ROOT/v<V>/`,
//! and `latest/download/<asset>` answered by `return 302` to the newest
//! release that is not a pre-release (fixed when the configuration is
//! written). No listing API: a static server has none.
//!
//! The configuration goes into a temp dir; nginx runs in the foreground as a
//! child (`daemon off`, `master_process off`: one process, no user switch),
//! on 127.0.0.1 and a free port, and is killed when the value is dropped.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::tls::TestCa;
use crate::error::{Context, Result};

pub struct Nginx {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
    owner: String,
    repo: String,
}

/// The nginx binary: on PATH, else Debian's `/usr/sbin/nginx` (sbin is not
/// on a normal user's PATH).
pub fn nginx_binary() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("nginx"))
            .find(|candidate| candidate.is_file())
    });
    on_path.or_else(|| {
        let sbin = PathBuf::from("/usr/sbin/nginx");
        sbin.is_file().then_some(sbin)
    })
}

/// The newest `v<semver>` directory under `root` that is not a pre-release.
pub(super) fn latest_tag(root: &Path) -> Result<String> {
    let mut best: Option<semver::Version> = None;
    for entry in std::fs::read_dir(root).context("reading the release root")? {
        let name = entry.context("reading the release root")?.file_name();
        let Some(version) = name
            .to_str()
            .and_then(|n| n.strip_prefix('v'))
            .and_then(|v| semver::Version::parse(v).ok())
        else {
            continue;
        };
        if version.pre.is_empty() && best.as_ref().is_none_or(|b| version > *b) {
            best = Some(version);
        }
    }
    match best {
        Some(version) => Ok(format!("v{version}")),
        None => crate::bail!("no release under {}", root.display()),
    }
}

impl Nginx {
    /// nginx over `root` (holding `v<version>/` folders) for `owner/repo`,
    /// with `ca`'s server certificate.
    pub fn start(root: &Path, ca: &TestCa, owner: &str, repo: &str) -> Result<Nginx> {
        let Some(binary) = nginx_binary() else {
            crate::bail!("nginx is not installed (apt-get install nginx)");
        };
        let dir = tempfile::tempdir().context("temp dir for nginx")?;
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let port = super::free_port(ip)?;
        let addr = SocketAddr::new(ip, port);
        let root = root.canonicalize().context("the release root")?;
        let latest = latest_tag(&root)?;
        let config = format!(
            r#"{preamble}
    server {{
        listen {addr} ssl;
        server_name {mirror} localhost;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location ~ ^/{owner}/{repo}/releases/latest/download/([^/]+)$ {{
            return 302 /{owner}/{repo}/releases/download/{latest}/$1;
        }}
        location /{owner}/{repo}/releases/download/ {{
            alias {root}/;
        }}
    }}
}}
"#,
            preamble = preamble(dir.path(), 64),
            mirror = super::MIRROR_HOST,
            cert = ca.cert_pem.display(),
            key = ca.key_pem.display(),
            root = root.display(),
        );
        Nginx::spawn(&binary, dir, config, addr, owner, repo)
    }

    /// Writes `config` into `dir` and runs nginx on it until it listens on
    /// `addr`.
    pub(super) fn spawn(
        binary: &Path,
        dir: tempfile::TempDir,
        config: String,
        addr: SocketAddr,
        owner: &str,
        repo: &str,
    ) -> Result<Nginx> {
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, config).context("writing nginx.conf")?;
        let child = Command::new(binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut nginx = Nginx {
            child,
            addr,
            dir,
            owner: owner.to_string(),
            repo: repo.to_string(),
        };
        nginx.wait_ready()?;
        Ok(nginx)
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                crate::bail!("nginx exited ({status}): {}", self.error_log());
            }
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        crate::bail!(
            "nginx did not listen on {}: {}",
            self.addr,
            self.error_log()
        )
    }

    /// What nginx wrote to its error log.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// Every request line nginx logged.
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `PANE_RELEASES_URL`: `https://127.0.0.1:<port>/<owner>/<repo>/releases`.
    pub fn releases_url(&self) -> String {
        format!(
            "https://{}/{}/{}/releases",
            self.addr, self.owner, self.repo
        )
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The start of an nginx configuration that keeps everything (pid, logs,
/// temp paths) in `dir`, up to the opening of its `http` block.
pub(super) fn preamble(dir: &Path, connections: u32) -> String {
    let d = dir.display();
    format!(
        r#"daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections {connections}; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    default_type application/octet-stream;
    # TLS 1.3, as GitHub and its CDN speak it: its handshake takes one round
    # trip where 1.2's takes two, and nginx 1.22 (Debian 12) offers only up
    # to 1.2 unless told.
    ssl_protocols TLSv1.2 TLSv1.3;"#
    )
}
