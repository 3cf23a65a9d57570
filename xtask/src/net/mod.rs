//! Real networks on loopback, for the tests and the benchmarks: a test CA and
//! server certificates made at run time ([`tls::TestCa`]), the release server
//! behind TLS ([`tls::TlsFront`]), GitHub's shape with a CDN on a second host
//! ([`TlsMirror`]), an HTTP CONNECT proxy and a SOCKS5 proxy that record what
//! they were asked for ([`proxy::TestProxy`]), and nginx serving the same
//! mirror layout over TLS ([`nginx::Nginx`]). For the benchmarks: a shaping
//! relay that gives loopback a round-trip time and a bandwidth
//! ([`relay::Relay`]), and three release servers in GitHub's shape behind it
//! ([`BenchServer`]: pane's own, a Python one, nginx).
//!
//! Everything listens on 127.0.0.0/8. Host names under `.pane.test` (see
//! [`TEST_HOSTS`]) are in every certificate, and the proxies resolve them to
//! their loopback addresses: a client that goes through a proxy asks for
//! `mirror.pane.test`, as it would for `github.com`, and never needs DNS.

pub mod accept;
mod mirrors;
pub mod nginx;
mod nginx_github;
pub mod proxy;
pub mod python;
pub mod relay;
pub mod tls;

pub use mirrors::{BenchServer, ServerKind};

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;

use crate::error::Result;
use crate::server::Server;
use tls::{TestCa, TlsFront};

/// The mirror's name.
pub const MIRROR_HOST: &str = "mirror.pane.test";
/// The CDN's name.
pub const CDN_HOST: &str = "cdn.pane.test";
/// The names the proxies resolve, and to what; every test certificate names
/// them (and 127.0.0.1, 127.0.0.2 and localhost).
pub const TEST_HOSTS: [(&str, IpAddr); 2] = [
    (MIRROR_HOST, IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1))),
    (CDN_HOST, IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))),
];

/// How URLs name the hosts: by loopback address (reachable directly), or by
/// their `.pane.test` names (reachable only through a test proxy, which is
/// how a proxy gets used at all: loopback never goes through one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Naming {
    Address,
    Name,
}

/// The release server over `https`, with a CDN: downloads are answered by a
/// `302` to a second server (127.0.0.2, or `cdn.pane.test`), over TLS too.
/// The first server sets a session cookie ([`crate::server::CDN_COOKIE`]); the
/// CDN's [`Server::requests`] show what was carried there.
pub struct TlsMirror {
    pub server: Server,
    pub front: TlsFront,
    pub cdn: Server,
    pub cdn_front: TlsFront,
    naming: Naming,
}

impl TlsMirror {
    /// Both servers over `root`, with certificates from `ca`.
    pub fn start(root: &Path, ca: &TestCa, naming: Naming) -> Result<TlsMirror> {
        let cdn_ip = TEST_HOSTS[1].1;
        let cdn = Server::builder(root).host(cdn_ip).start()?;
        let cdn_front = TlsFront::start(ca, cdn_ip, cdn.addr())?;
        let cdn_host = match naming {
            Naming::Address => cdn_ip.to_string(),
            Naming::Name => CDN_HOST.to_string(),
        };
        let cdn_base = format!("https://{cdn_host}:{}", cdn_front.addr().port());
        let server = Server::builder(root).cdn(cdn_base).start()?;
        let front = TlsFront::start(ca, TEST_HOSTS[0].1, server.addr())?;
        Ok(TlsMirror {
            server,
            front,
            cdn,
            cdn_front,
            naming,
        })
    }

    /// `https://<host>:<port>`
    pub fn base_url(&self) -> String {
        let host = match self.naming {
            Naming::Address => self.front.addr().ip().to_string(),
            Naming::Name => MIRROR_HOST.to_string(),
        };
        format!("https://{host}:{}", self.front.addr().port())
    }

    /// `PANE_RELEASES_URL` over TLS.
    pub fn releases_url(&self) -> String {
        self.rebase(&self.server.releases_url())
    }

    /// `PANE_RELEASES_API_URL` over TLS.
    pub fn api_url(&self) -> String {
        self.rebase(&self.server.api_url())
    }

    fn rebase(&self, plain: &str) -> String {
        let path = plain
            .strip_prefix(self.server.base_url())
            .expect("the server's URLs start with its base");
        format!("{}{path}", self.base_url())
    }

    /// The environment that points pane (and install.sh) at this mirror.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PANE_RELEASES_URL", self.releases_url()),
            ("PANE_RELEASES_API_URL", self.api_url()),
        ]
    }
}

/// A free TCP port on `ip` (bound, then released: a tiny race, fine for
/// tests, for servers such as nginx that must be told their port).
pub fn free_port(ip: IpAddr) -> Result<u16> {
    use crate::error::Context;
    let listener = std::net::TcpListener::bind((ip, 0)).context("cannot find a free port")?;
    Ok(listener.local_addr().context("bound address")?.port())
}

/// Whether the tool `name` runs here (`name -v`/`--version`/`version`).
pub fn have_tool(name: &str) -> bool {
    ["-v", "--version", "version"].iter().any(|flag| {
        std::process::Command::new(name)
            .arg(flag)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Where a mirror and its CDN listen, and the base URLs clients reach them
/// at (the same, or a relay's fronts before them).
#[derive(Clone, Debug)]
pub struct Endpoints {
    pub mirror: SocketAddr,
    pub cdn: SocketAddr,
    /// `https://<host:port>` of the mirror as clients reach it.
    pub mirror_public: String,
    /// `https://<host:port>` of the CDN as clients reach it.
    pub cdn_public: String,
}

impl Endpoints {
    /// Free ports on 127.0.0.1 (the mirror) and 127.0.0.2 (the CDN); with a
    /// relay, its fronts before them are what clients are told.
    pub fn choose(relay: Option<&mut relay::Relay>) -> Result<Endpoints> {
        let mirror = SocketAddr::new(TEST_HOSTS[0].1, free_port(TEST_HOSTS[0].1)?);
        let cdn = SocketAddr::new(TEST_HOSTS[1].1, free_port(TEST_HOSTS[1].1)?);
        let (mirror_public, cdn_public) = match relay {
            Some(relay) => (relay.front(mirror)?, relay.front(cdn)?),
            None => (mirror, cdn),
        };
        Ok(Endpoints {
            mirror,
            cdn,
            mirror_public: format!("https://{mirror_public}"),
            cdn_public: format!("https://{cdn_public}"),
        })
    }
}

/// Waits until something listens on `addr` (20 s at most).
pub fn wait_listening(addr: SocketAddr) -> Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        if std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(200))
            .is_ok()
        {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    crate::bail!("nothing listens on {addr}")
}
