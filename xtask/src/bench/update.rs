//! Update time: pane, the self_update peer and the floor, round after round.

use std::ffi::OsString;
use std::time::{Duration, Instant};

use super::floor::floor_update;
use super::stage::{check_version, time_success, Stage};
use super::stats::Samples;
use super::{Bench, NEW};
use crate::archive::archive_folder;
use crate::error::{Context, Result};
use crate::server::Fault;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tool {
    Pane,
    Peer,
    Floor,
}

pub(super) const TOOLS: [Tool; 3] = [Tool::Pane, Tool::Peer, Tool::Floor];

pub(super) struct UpdateCase {
    pub(super) archive_size: u64,
    pub(super) throttle: Option<u64>,
    pub(super) pane: Samples,
    pub(super) peer: Samples,
    pub(super) floor: Samples,
}

impl Bench {
    /// `rounds` rounds of pane, the peer and the floor, in an order that
    /// rotates every round, after one untimed warm-up of each.
    pub(super) fn update_case(
        &self,
        stage: &Stage,
        rounds: usize,
        throttle: Option<u64>,
    ) -> Result<UpdateCase> {
        for tool in TOOLS {
            self.update_once(tool, stage, "warm-up")?;
        }
        if let Some(rate) = throttle {
            stage.server.set_fault(
                ".tar.gz",
                Fault::Throttle {
                    bytes_per_sec: rate,
                },
            );
        }
        let mut case = UpdateCase {
            archive_size: stage.archive_size,
            throttle,
            pane: Samples::default(),
            peer: Samples::default(),
            floor: Samples::default(),
        };
        for round in 0..rounds {
            for offset in 0..TOOLS.len() {
                let tool = TOOLS[(round + offset) % TOOLS.len()];
                let elapsed = self.update_once(tool, stage, &format!("round-{round}"))?;
                match tool {
                    Tool::Pane => case.pane.push(elapsed),
                    Tool::Peer => case.peer.push(elapsed),
                    Tool::Floor => case.floor.push(elapsed),
                }
            }
        }
        stage.server.clear_faults();
        Ok(case)
    }

    /// One update from [`OLD`] to [`NEW`] by `tool` in a fresh directory;
    /// only the update itself is timed. The result is checked, then removed.
    pub(super) fn update_once(&self, tool: Tool, stage: &Stage, label: &str) -> Result<Duration> {
        let dir = self.work.join(format!("{tool:?}-{label}").to_lowercase());
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let result = (|| -> Result<Duration> {
            let (elapsed, installed) = match tool {
                Tool::Pane => {
                    let installed = self.install_pane(stage, &dir)?;
                    let wrapper = self.wrap_pane.as_deref().unwrap_or_default();
                    let prefix: Vec<OsString> = wrapper
                        .replace("{label}", label)
                        .split_whitespace()
                        .map(OsString::from)
                        .collect();
                    let mut command = self.pane_command(&prefix, &installed, stage, &dir);
                    (time_success(&mut command, "pane self update")?, installed)
                }
                Tool::Peer => {
                    let installed = self.install_peer(&dir)?;
                    let mut command = self.peer_command(&[], &installed, stage, &dir);
                    (time_success(&mut command, "self-update-peer")?, installed)
                }
                Tool::Floor => {
                    let installed = dir.join("bin").join("pane");
                    let url = stage
                        .server
                        .download_url(NEW, &stage.release.archive_name());
                    let top = archive_folder(NEW, &self.target);
                    let start = Instant::now();
                    floor_update(&url, &stage.sha256, &top, &installed)?;
                    (start.elapsed(), installed)
                }
            };
            check_version(&installed, NEW)?;
            Ok(elapsed)
        })();
        let _ = std::fs::remove_dir_all(&dir);
        result.with_context(|| format!("{tool:?} update ({label}) failed"))
    }
}
