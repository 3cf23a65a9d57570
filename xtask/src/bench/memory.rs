//! Peak RSS of an update of a big release.

use std::ffi::OsString;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::stage::{check_version, time_success, Stage};
use super::stats::Samples;
use super::update::Tool;
use super::{Bench, ContextNone, NEW};
use crate::error::{Context, Result};

pub(super) struct Memory {
    /// How the peak was read.
    pub(super) method: &'static str,
    pub(super) archive_size: u64,
    pub(super) pane: Vec<u64>,
    pub(super) pane_time: Samples,
    pub(super) peer: Vec<u64>,
}

impl Bench {
    /// Peak RSS of pane's update of the big release (and of the peer's, for
    /// comparison), `runs` times each.
    pub(super) fn memory(&self, stage: &Stage, runs: usize) -> Result<Memory> {
        let mut memory = Memory {
            method: if self.time_program.is_some() {
                "wait4 ru_maxrss (/usr/bin/time -f %M)"
            } else {
                "VmHWM of /proc/<pid>/status, polled every millisecond"
            },
            archive_size: stage.archive_size,
            pane: Vec::new(),
            pane_time: Samples::default(),
            peer: Vec::new(),
        };
        for run in 0..runs {
            for tool in [Tool::Pane, Tool::Peer] {
                let dir = self
                    .work
                    .join(format!("memory-{tool:?}-{run}").to_lowercase());
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                let result = (|| -> Result<(u64, Duration)> {
                    let (peak, elapsed, installed) = match tool {
                        Tool::Pane => {
                            let installed = self.install_pane(stage, &dir)?;
                            let (peak, elapsed) = self.peak_rss(|prefix| {
                                self.pane_command(prefix, &installed, stage, &dir)
                            })?;
                            (peak, elapsed, installed)
                        }
                        _ => {
                            let installed = self.install_peer(&dir)?;
                            let (peak, elapsed) = self.peak_rss(|prefix| {
                                self.peer_command(prefix, &installed, &stage.shim.base_url(), &dir)
                            })?;
                            (peak, elapsed, installed)
                        }
                    };
                    check_version(&installed, NEW)?;
                    Ok((peak, elapsed))
                })();
                let _ = std::fs::remove_dir_all(&dir);
                let (peak, elapsed) =
                    result.with_context(|| format!("{tool:?} update of the big release failed"))?;
                match tool {
                    Tool::Pane => {
                        memory.pane.push(peak);
                        memory.pane_time.push(elapsed);
                    }
                    _ => memory.peer.push(peak),
                }
            }
        }
        Ok(memory)
    }

    /// Runs the command `make` builds and returns its peak RSS in bytes and
    /// its wall time.
    pub(super) fn peak_rss(
        &self,
        make: impl Fn(&[OsString]) -> Command,
    ) -> Result<(u64, Duration)> {
        match &self.time_program {
            Some(time) => {
                let report =
                    tempfile::NamedTempFile::new().context("cannot make a temporary file")?;
                let prefix = [
                    time.clone().into_os_string(),
                    "-f".into(),
                    "%M".into(),
                    "-o".into(),
                    report.path().as_os_str().to_owned(),
                ];
                let elapsed = time_success(&mut make(&prefix), "the update under /usr/bin/time")?;
                let text = std::fs::read_to_string(report.path())
                    .context("cannot read /usr/bin/time's report")?;
                let kib: u64 = text
                    .lines()
                    .rev()
                    .find_map(|line| line.trim().parse().ok())
                    .context_none("/usr/bin/time printed no maximum RSS")?;
                Ok((kib * 1024, elapsed))
            }
            None => {
                let start = Instant::now();
                let mut child = make(&[])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .context("cannot start the update")?;
                let status_path = format!("/proc/{}/status", child.id());
                let mut peak = 0;
                let status = loop {
                    if let Ok(text) = std::fs::read_to_string(&status_path) {
                        if let Some(kib) = text
                            .lines()
                            .find_map(|l| l.strip_prefix("VmHWM:"))
                            .and_then(|v| {
                                v.trim().trim_end_matches("kB").trim().parse::<u64>().ok()
                            })
                        {
                            peak = peak.max(kib * 1024);
                        }
                    }
                    if let Some(status) = child.try_wait().context("cannot wait for the update")? {
                        break status;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                };
                if !status.success() {
                    crate::bail!("the update failed: {status}");
                }
                Ok((peak, start.elapsed()))
            }
        }
    }
}
