//! The network cases: pane, the self_update peer and `curl` over TLS from
//! release servers in GitHub's shape (a mirror that redirects downloads to
//! a CDN on a second host), through a relay that gives loopback a
//! round-trip time and a bandwidth ([`crate::net::relay`]).
//!
//! - loopback TLS, no shaping: each of the three servers (pane's own, a
//!   Python `http.server`, nginx), 3 and 40 MiB;
//! - shaped (LAN, broadband, far), 3 and 40 MiB, on nginx, the server
//!   nobody here wrote (the Python one where nginx is missing, outside CI).

use super::stage::Stage;
use super::update::{Net, UpdateCase};
use super::{Bench, MIB, OWNER, REPO};
use crate::error::Result;
use crate::net::relay::Shape;
use crate::net::tls::TestCa;
use crate::net::{BenchServer, ServerKind};

/// One network case: `rounds` rounds of a release of about `size` bytes from
/// `server` behind a link shaped as `shape`.
#[derive(Clone, Copy, Debug)]
pub(super) struct NetworkPlan {
    pub(super) server: ServerKind,
    pub(super) shape: Shape,
    pub(super) size: u64,
    pub(super) rounds: usize,
}

/// The network cases of a full run, or of a `--quick` one.
pub(super) fn plan(quick: bool, shaped_server: ServerKind) -> Vec<NetworkPlan> {
    let case = |server, shape, size, rounds| NetworkPlan {
        server,
        shape,
        size,
        rounds,
    };
    let mut cases = Vec::new();
    for server in ServerKind::ALL {
        // Fifteen rounds at 3 MiB: each update takes some 40 ms there, and
        // a few milliseconds of a shared machine's noise in a median of
        // nine moved the server-to-server spread by 5 to 7%.
        cases.push(case(
            server,
            Shape::NONE,
            3 * MIB,
            if quick { 2 } else { 15 },
        ));
        cases.push(case(
            server,
            Shape::NONE,
            40 * MIB,
            if quick { 1 } else { 5 },
        ));
    }
    // (shape, rounds at 3 MiB, rounds at 40 MiB; 0: not in a quick run)
    let shaped = if quick {
        [
            (Shape::LAN, 1, 1),
            (Shape::BROADBAND, 1, 1),
            (Shape::FAR, 1, 0),
        ]
    } else {
        // Far at 40 MiB is some 17 s a transfer.
        [
            (Shape::LAN, 7, 5),
            (Shape::BROADBAND, 5, 3),
            (Shape::FAR, 3, 2),
        ]
    };
    for (shape, small, big) in shaped {
        for (size, rounds) in [(3 * MIB, small), (40 * MIB, big)] {
            if rounds > 0 {
                cases.push(case(shaped_server, shape, size, rounds));
            }
        }
    }
    cases
}

/// nginx for the shaped cases; without it, the Python server, except in CI.
pub(super) fn shaped_server() -> Result<ServerKind> {
    if ServerKind::Nginx.available() {
        Ok(ServerKind::Nginx)
    } else if std::env::var_os("CI").is_some() {
        crate::bail!("nginx is not installed, and CI is set: apt-get install nginx")
    } else {
        eprintln!("bench: nginx is not installed; the shaped cases use the Python server");
        Ok(ServerKind::Python)
    }
}

impl Bench {
    /// Every network case of `cases`, staging each release size once.
    pub(super) fn network_cases(&self, cases: &[NetworkPlan]) -> Result<Vec<UpdateCase>> {
        let ca = TestCa::generate()?;
        let mut results = Vec::new();
        let mut stages: Vec<(u64, Stage)> = Vec::new();
        for plan in cases {
            if !plan.server.available() {
                let tool = plan.server.tool().unwrap_or_default();
                if std::env::var_os("CI").is_some() {
                    crate::bail!("{tool} is not installed, and CI is set: apt-get install {tool}");
                }
                eprintln!(
                    "bench: {tool} is not installed; {} skipped",
                    plan.server.name()
                );
                continue;
            }
            if !stages.iter().any(|(size, _)| *size == plan.size) {
                let name = format!("network-{}", plan.size / MIB);
                stages.push((plan.size, self.stage(&name, plan.size)?));
            }
            let stage = &stages
                .iter()
                .find(|(size, _)| *size == plan.size)
                .expect("staged")
                .1;
            eprintln!(
                "bench: network, {}, {}, ~{} MiB release, {} round(s)",
                plan.server.name(),
                plan.shape.describe(),
                plan.size / MIB,
                plan.rounds
            );
            let net = Net {
                server: BenchServer::start(plan.server, &stage.root, &ca, OWNER, REPO, plan.shape)?,
                ca_pem: ca.ca_pem.clone(),
            };
            // Loopback cases warm the caches up; shaped ones come after them
            // and would pay a far link's seconds for nothing.
            let warm_up = plan.shape == Shape::NONE;
            results.push(self.network_case(stage, &net, plan.rounds, warm_up)?);
        }
        Ok(results)
    }
}
