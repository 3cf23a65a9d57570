//! Update time: pane, the self_update peer and the floor, round after round,
//! from the stage's plain server on loopback or, over TLS, from one of the
//! network cases' [`BenchServer`]s behind a shaping relay.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use super::floor::floor_update;
use super::stage::{check_version, isolated, time_success, Stage};
use super::stats::Samples;
use super::{Bench, NEW};
use crate::archive::archive_folder;
use crate::error::{Context, Result};
use crate::net::relay::Shape;
use crate::net::{BenchServer, ServerKind};
use crate::server::Fault;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tool {
    Pane,
    Peer,
    /// In-process: one GET, one SHA-256, one gunzip and untar, one rename.
    Floor,
    /// The network's floor: `curl` fetching the archive, GitHub's redirect
    /// included, as a whole process.
    Curl,
    /// pane's update after an untimed `pane self check` through the same
    /// link, as after the update notice: the check's `latest` is its guess.
    PaneAfterCheck,
}

pub(super) const TOOLS: [Tool; 3] = [Tool::Pane, Tool::Peer, Tool::Floor];
pub(super) const NET_TOOLS: [Tool; 3] = [Tool::Pane, Tool::Peer, Tool::Curl];
/// On a shaped link, where a round trip saved shows.
pub(super) const SHAPED_TOOLS: [Tool; 4] =
    [Tool::Pane, Tool::Peer, Tool::Curl, Tool::PaneAfterCheck];

/// A server over TLS behind a relay, and the CA file every client trusts.
pub(super) struct Net {
    pub(super) server: BenchServer,
    pub(super) ca_pem: PathBuf,
}

impl Net {
    /// pane's environment for this server: its URLs, and trust in the CA.
    fn reach(&self, command: &mut Command) {
        command
            .envs(self.server.env())
            .env("SSL_CERT_FILE", &self.ca_pem);
    }
}

/// What one contender's update cost on the wire (its last timed round).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Traffic {
    pub(super) connections: u64,
    pub(super) requests: usize,
}

pub(super) struct UpdateCase {
    pub(super) archive_size: u64,
    pub(super) throttle: Option<u64>,
    /// The server and the link, for a network case.
    pub(super) network: Option<(ServerKind, Shape)>,
    pub(super) pane: Samples,
    pub(super) peer: Samples,
    /// The floor: [`Tool::Floor`], or [`Tool::Curl`] in a network case.
    pub(super) floor: Samples,
    /// pane after a check ([`Tool::PaneAfterCheck`]), on a shaped link.
    pub(super) after_check: Samples,
    /// pane's, the peer's, the floor's and pane's after a check traffic, in
    /// a network case.
    pub(super) traffic: Option<[Traffic; 4]>,
}

impl Bench {
    /// `rounds` rounds of pane, the peer and the floor from the stage's
    /// server, in an order that rotates every round, after one untimed
    /// warm-up of each.
    pub(super) fn update_case(
        &self,
        stage: &Stage,
        rounds: usize,
        throttle: Option<u64>,
    ) -> Result<UpdateCase> {
        for tool in TOOLS {
            self.update_once(tool, stage, None, "warm-up")?;
        }
        if let Some(rate) = throttle {
            stage.server.set_fault(
                ".tar.gz",
                Fault::Throttle {
                    bytes_per_sec: rate,
                },
            );
        }
        let case = self.rounds(stage, None, rounds, throttle);
        stage.server.clear_faults();
        case
    }

    /// The same over the network: pane, the peer and curl from `net`.
    pub(super) fn network_case(
        &self,
        stage: &Stage,
        net: &Net,
        rounds: usize,
        warm_up: bool,
    ) -> Result<UpdateCase> {
        if warm_up {
            for tool in NET_TOOLS {
                self.update_once(tool, stage, Some(net), "warm-up")?;
            }
        }
        self.rounds(stage, Some(net), rounds, None)
    }

    fn rounds(
        &self,
        stage: &Stage,
        net: Option<&Net>,
        rounds: usize,
        throttle: Option<u64>,
    ) -> Result<UpdateCase> {
        let tools: &[Tool] = match net {
            Some(net) if net.server.shape() != Shape::NONE => &SHAPED_TOOLS,
            Some(_) => &NET_TOOLS,
            None => &TOOLS,
        };
        let mut case = UpdateCase {
            archive_size: stage.archive_size,
            throttle,
            network: net.map(|n| (n.server.kind(), n.server.shape())),
            pane: Samples::default(),
            peer: Samples::default(),
            floor: Samples::default(),
            after_check: Samples::default(),
            traffic: net.map(|_| [Traffic::default(); 4]),
        };
        for round in 0..rounds {
            for offset in 0..tools.len() {
                let index = (round + offset) % tools.len();
                let (elapsed, traffic) =
                    self.update_once(tools[index], stage, net, &format!("round-{round}"))?;
                if let (Some(traffic), Some(all)) = (traffic, case.traffic.as_mut()) {
                    all[index] = traffic;
                }
                [
                    &mut case.pane,
                    &mut case.peer,
                    &mut case.floor,
                    &mut case.after_check,
                ][index]
                    .push(elapsed);
            }
        }
        Ok(case)
    }

    /// One update from [`OLD`](super::OLD) to [`NEW`] by `tool` in a fresh
    /// directory; only the update itself is timed, and over the network only
    /// its traffic counted. The result is checked, then removed.
    pub(super) fn update_once(
        &self,
        tool: Tool,
        stage: &Stage,
        net: Option<&Net>,
        label: &str,
    ) -> Result<(Duration, Option<Traffic>)> {
        let dir = self.work.join(format!("{tool:?}-{label}").to_lowercase());
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let result = self.timed_update(tool, stage, net, label, &dir);
        let _ = std::fs::remove_dir_all(&dir);
        result.with_context(|| format!("{tool:?} update ({label}) failed"))
    }

    fn timed_update(
        &self,
        tool: Tool,
        stage: &Stage,
        net: Option<&Net>,
        label: &str,
        dir: &std::path::Path,
    ) -> Result<(Duration, Option<Traffic>)> {
        let trust = |command: &mut Command| {
            if let Some(net) = net {
                command.env("SSL_CERT_FILE", &net.ca_pem);
            }
        };
        // Each of pane's two contenders gets its own profile under `--wrap-pane`.
        let label = match tool {
            Tool::PaneAfterCheck => format!("{label}-after-check"),
            _ => label.to_string(),
        };
        let (timed, installed) = match tool {
            Tool::Pane | Tool::PaneAfterCheck => {
                let installed = self.install_pane(stage, dir)?;
                if tool == Tool::PaneAfterCheck {
                    let net =
                        net.ok_or_else(|| crate::Error::msg("a check runs over the network"))?;
                    self.check_first(&installed, stage, net, dir)?;
                }
                let wrapper = self.wrap_pane.as_deref().unwrap_or_default();
                let prefix: Vec<OsString> = wrapper
                    .replace("{label}", &label)
                    .split_whitespace()
                    .map(OsString::from)
                    .collect();
                let mut command = self.pane_command(&prefix, &installed, stage, dir);
                if let Some(net) = net {
                    net.reach(&mut command);
                }
                let timed = counted(net, || time_success(&mut command, "pane self update"))?;
                (timed, installed)
            }
            Tool::Peer => {
                let installed = self.install_peer(dir)?;
                let api = match net {
                    Some(net) => net.server.api_base().to_string(),
                    None => stage.shim.base_url(),
                };
                let mut command = self.peer_command(&[], &installed, &api, dir);
                trust(&mut command);
                let timed = counted(net, || time_success(&mut command, "self-update-peer"))?;
                (timed, installed)
            }
            Tool::Floor => {
                let installed = dir.join("bin").join("pane");
                let url = stage
                    .server
                    .download_url(NEW, &stage.release.archive_name());
                let top = archive_folder(NEW, &self.target);
                let start = Instant::now();
                floor_update(&url, &stage.sha256, &top, &installed)?;
                ((start.elapsed(), None), installed)
            }
            Tool::Curl => {
                let net = net.ok_or_else(|| crate::Error::msg("curl runs over the network"))?;
                let out = dir.join("archive.tar.gz");
                let url = net.server.download_url(NEW, &stage.release.archive_name());
                let mut command = isolated(&[], std::path::Path::new("curl"), dir);
                command
                    .args(["-sS", "--fail", "-L", "--cacert"])
                    .arg(&net.ca_pem)
                    .arg("-o")
                    .arg(&out)
                    .arg(url);
                let timed = counted(Some(net), || time_success(&mut command, "curl"))?;
                let sha256 = crate::checksums::sha256_file(&out)?;
                if sha256 != stage.sha256 {
                    crate::bail!("curl fetched other bytes (SHA-256 {sha256})");
                }
                return Ok(timed);
            }
        };
        check_version(&installed, NEW)?;
        Ok(timed)
    }

    /// `pane self check` through `net`, untimed and not counted: it must see [`NEW`] and
    /// leave it in the update notice's cache, as the notice's check does.
    fn check_first(
        &self,
        installed: &std::path::Path,
        stage: &Stage,
        net: &Net,
        dir: &std::path::Path,
    ) -> Result<()> {
        let mut command = isolated(&[], installed, dir);
        self.pane_env(&mut command, stage, dir);
        net.reach(&mut command);
        command.args(["self", "check"]);
        let output = command.output().context("cannot run pane self check")?;
        // 10: an update is available.
        if output.status.code() != Some(10) {
            crate::bail!(
                "pane self check did not see {NEW}: {}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }
}

/// `run`, and over `net` the connections and requests it made.
fn counted<T>(net: Option<&Net>, run: impl FnOnce() -> Result<T>) -> Result<(T, Option<Traffic>)> {
    let Some(net) = net else {
        return Ok((run()?, None));
    };
    let (stats, requests) = (net.server.relay_stats(), net.server.requests());
    let value = run()?;
    let traffic = Traffic {
        connections: net.server.relay_stats().since(&stats).connections,
        requests: net.server.requests().saturating_sub(requests),
    };
    Ok((value, Some(traffic)))
}
