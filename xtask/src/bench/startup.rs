//! Binary sizes and `pane --version` start-up against a bare binary.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::build::Binaries;
use super::stage::check_version;
use super::stats::Samples;
use super::{file_size, NEW};
use crate::error::{Context, Result};

pub(super) struct Sizes {
    pub(super) pane: u64,
    pub(super) hello: u64,
    pub(super) pipeline: u64,
    pub(super) peer: u64,
}

impl Sizes {
    pub(super) fn measure(bins: &Binaries) -> Result<Sizes> {
        Ok(Sizes {
            pane: file_size(&bins.pane_release)?,
            hello: file_size(&bins.hello)?,
            pipeline: file_size(&bins.pipeline)?,
            peer: file_size(&bins.peer)?,
        })
    }
}

pub(super) struct Startup {
    pub(super) pane: Samples,
    pub(super) bare: Samples,
}

/// `pane --version` and the bare binary, alternating, `runs` times each.
pub(super) fn startup(bins: &Binaries, runs: usize) -> Result<Startup> {
    check_version(&bins.pane_release, NEW)?;
    let time = |program: &Path| -> Result<Duration> {
        let start = Instant::now();
        let status = Command::new(program)
            .arg("--version")
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .with_context(|| format!("cannot run {}", program.display()))?;
        let elapsed = start.elapsed();
        if !status.success() {
            crate::bail!("{} --version failed: {status}", program.display());
        }
        Ok(elapsed)
    };
    let mut result = Startup {
        pane: Samples::default(),
        bare: Samples::default(),
    };
    // A few untimed runs first: page cache, dynamic loader.
    for _ in 0..5 {
        time(&bins.pane_release)?;
        time(&bins.hello)?;
    }
    for round in 0..runs {
        if round % 2 == 0 {
            result.pane.push(time(&bins.pane_release)?);
            result.bare.push(time(&bins.hello)?);
        } else {
            result.bare.push(time(&bins.hello)?);
            result.pane.push(time(&bins.pane_release)?);
        }
    }
    Ok(result)
}
