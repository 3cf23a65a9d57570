//! The three release servers the network benchmarks compare, each in
//! GitHub's shape over TLS (a mirror on 127.0.0.1 that redirects downloads
//! to a CDN on 127.0.0.2, and the releases API), each behind one shaping
//! [`Relay`] whose fronts every URL names, Location headers included:
//!
//! - [`ServerKind::Pane`]: pane's own release server ([`Server`]) behind
//!   [`TlsFront`]s in keep-alive mode;
//! - [`ServerKind::Python`]: [`PythonMirror`], written apart from pane's;
//! - [`ServerKind::Nginx`]: the distribution's nginx ([`Nginx::start_github`]).

use std::net::SocketAddr;
use std::path::Path;

use super::nginx::Nginx;
use super::python::PythonMirror;
use super::relay::{Relay, RelayStats, Shape};
use super::tls::{TestCa, TlsFront};
use super::Endpoints;
use crate::error::Result;
use crate::server::Server;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerKind {
    Pane,
    Python,
    Nginx,
}

impl ServerKind {
    pub const ALL: [ServerKind; 3] = [ServerKind::Pane, ServerKind::Python, ServerKind::Nginx];

    pub fn name(self) -> &'static str {
        match self {
            ServerKind::Pane => "pane's server",
            ServerKind::Python => "Python http.server",
            ServerKind::Nginx => "nginx",
        }
    }

    /// The outside program it needs, if any.
    pub fn tool(self) -> Option<&'static str> {
        match self {
            ServerKind::Pane => None,
            ServerKind::Python => Some("python3"),
            ServerKind::Nginx => Some("nginx"),
        }
    }

    /// Whether it can run here.
    pub fn available(self) -> bool {
        match self {
            ServerKind::Pane => true,
            ServerKind::Python => super::have_tool("python3"),
            ServerKind::Nginx => super::nginx::nginx_binary().is_some(),
        }
    }
}

enum Running {
    Pane {
        mirror: Server,
        cdn: Server,
        _fronts: [TlsFront; 2],
    },
    Python(PythonMirror),
    Nginx(Nginx),
}

/// A release server over TLS in GitHub's shape, behind a shaping relay.
pub struct BenchServer {
    kind: ServerKind,
    at: Endpoints,
    owner: String,
    repo: String,
    running: Running,
    // Dropped last: the servers go first.
    relay: Relay,
}

impl BenchServer {
    /// `kind` over `root` for `owner/repo`, behind a relay shaped as `shape`.
    pub fn start(
        kind: ServerKind,
        root: &Path,
        ca: &TestCa,
        owner: &str,
        repo: &str,
        shape: Shape,
    ) -> Result<BenchServer> {
        let mut relay = Relay::new(shape);
        let at = Endpoints::choose(Some(&mut relay))?;
        let running = match kind {
            ServerKind::Pane => start_pane(root, ca, owner, repo, &at)?,
            ServerKind::Python => Running::Python(PythonMirror::start(root, ca, owner, repo, &at)?),
            ServerKind::Nginx => Running::Nginx(Nginx::start_github(root, ca, owner, repo, &at)?),
        };
        Ok(BenchServer {
            kind,
            at,
            owner: owner.into(),
            repo: repo.into(),
            running,
            relay,
        })
    }

    pub fn kind(&self) -> ServerKind {
        self.kind
    }

    pub fn shape(&self) -> Shape {
        self.relay.shape()
    }

    /// `PANE_RELEASES_URL`: `https://<mirror front>/<owner>/<repo>/releases`.
    pub fn releases_url(&self) -> String {
        format!(
            "{}/{}/{}/releases",
            self.at.mirror_public, self.owner, self.repo
        )
    }

    /// `PANE_RELEASES_API_URL`: `https://<mirror front>/repos/<owner>/<repo>`.
    pub fn api_url(&self) -> String {
        format!(
            "{}/repos/{}/{}",
            self.at.mirror_public, self.owner, self.repo
        )
    }

    /// The API's base, as self_update's `api_base_url` takes it.
    pub fn api_base(&self) -> &str {
        &self.at.mirror_public
    }

    /// `<releases>/download/v<version>/<asset>` (answered by a redirect to
    /// the CDN).
    pub fn download_url(&self, version: &str, asset: &str) -> String {
        format!("{}/download/v{version}/{asset}", self.releases_url())
    }

    /// The environment that points pane at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PANE_RELEASES_URL", self.releases_url()),
            ("PANE_RELEASES_API_URL", self.api_url()),
        ]
    }

    /// What the relay has seen so far.
    pub fn relay_stats(&self) -> RelayStats {
        self.relay.stats()
    }

    /// Requests answered so far, mirror and CDN together.
    pub fn requests(&self) -> usize {
        match &self.running {
            Running::Pane { mirror, cdn, .. } => mirror.requests().len() + cdn.requests().len(),
            Running::Python(python) => python.requests().len(),
            Running::Nginx(nginx) => nginx.access_log().lines().count(),
        }
    }

    /// The mirror's and the CDN's own addresses (behind the relay).
    pub fn backends(&self) -> [SocketAddr; 2] {
        [self.at.mirror, self.at.cdn]
    }
}

/// pane's release server and its CDN, each behind a keep-alive TLS front on
/// the chosen address.
fn start_pane(
    root: &Path,
    ca: &TestCa,
    owner: &str,
    repo: &str,
    at: &Endpoints,
) -> Result<Running> {
    let cdn = Server::builder(root)
        .host(at.cdn.ip())
        .repository(owner, repo)
        .start()?;
    let cdn_front = TlsFront::bind(ca, at.cdn, cdn.addr(), true)?;
    let mirror = Server::builder(root)
        .host(at.mirror.ip())
        .repository(owner, repo)
        .cdn(at.cdn_public.clone())
        .public_base(at.mirror_public.clone())
        .start()?;
    let front = TlsFront::bind(ca, at.mirror, mirror.addr(), true)?;
    Ok(Running::Pane {
        mirror,
        cdn,
        _fronts: [front, cdn_front],
    })
}
