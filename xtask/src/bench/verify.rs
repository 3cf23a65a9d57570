//! Verification throughput: SHA-256 and minisign checks, pane against the
//! stock tools.

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::machine::command_line;
use super::stage::Stage;
use super::stats::Samples;
use super::{file_size, Bench, NEW};
use crate::error::{Context, Result};

pub(super) struct Verify {
    pub(super) file_size: u64,
    pub(super) pane: Samples,
    pub(super) sha256sum: Samples,
    pub(super) openssl: Option<Samples>,
    /// One signature check of `SHA256SUMS` (minisign, trusted comment, parse).
    pub(super) signature_check: Duration,
    pub(super) sums_size: u64,
    /// A minisign check over the whole file: pane's verifier, and the stock
    /// `minisign -V` when it is installed.
    pub(super) minisign_pane: Samples,
    pub(super) minisign_cli: Option<Samples>,
}

impl Bench {
    /// The same file through every SHA-256 tool, then through pane's
    /// minisign verifier and the stock CLI, and pane's check of a release's
    /// signature; `rounds` alternating rounds each.
    pub(super) fn verify_throughput(&self, stage: &Stage, rounds: usize) -> Result<Verify> {
        let (pane, sha256sum, openssl) = self.sha256_rounds(stage, rounds)?;
        let (minisign_pane, minisign_cli) = self.minisign_rounds(stage, rounds)?;
        Ok(Verify {
            file_size: file_size(&stage.release.archive)?,
            pane,
            sha256sum,
            openssl,
            signature_check: self.signature_check(stage)?,
            sums_size: file_size(&stage.release.sums_path())?,
            minisign_pane,
            minisign_cli,
        })
    }

    /// pane's `sha256_file`, `sha256sum` and (when installed) `openssl dgst`
    /// over the archive, the whole process timed, in rotating order.
    fn sha256_rounds(
        &self,
        stage: &Stage,
        rounds: usize,
    ) -> Result<(Samples, Samples, Option<Samples>)> {
        let file = &stage.release.archive;
        let expected = &stage.sha256;
        // The same file through each tool; the whole process is timed.
        let time = |program: &Path, args: &[&str], what: &str| -> Result<Duration> {
            let mut command = Command::new(program);
            command.args(args).arg(file);
            time_digest(&mut command, expected, what)
        };
        let pane = || time(&self.bins.verify_speed, &["sha256"], "verify-speed sha256");
        let sha256sum = || time(Path::new("sha256sum"), &[], "sha256sum");
        let openssl = || time(Path::new("openssl"), &["dgst", "-sha256", "-r"], "openssl");
        let mut pane_samples = Samples::default();
        let mut sha256sum_samples = Samples::default();
        let mut openssl_samples = command_line("openssl", &["version"]).map(|_| Samples::default());
        // Warm the page cache; every tool then reads the same cached file.
        pane()?;
        sha256sum()?;
        for round in 0..rounds {
            for offset in 0..3 {
                match (round + offset) % 3 {
                    0 => pane_samples.push(pane()?),
                    1 => sha256sum_samples.push(sha256sum()?),
                    _ => {
                        if let Some(samples) = &mut openssl_samples {
                            samples.push(openssl()?);
                        }
                    }
                }
            }
        }
        Ok((pane_samples, sha256sum_samples, openssl_samples))
    }

    /// A minisign signature over the whole archive, checked by pane's
    /// verifier and (when installed) by the stock CLI, alternating.
    fn minisign_rounds(&self, stage: &Stage, rounds: usize) -> Result<(Samples, Option<Samples>)> {
        let file = &stage.release.archive;
        let signature = stage.root.join("whole-file.minisig");
        let text = File::open(file)
            .context("cannot open the archive")
            .and_then(|f| crate::signing::signature_text(self.key.secret_key(), f, "bench"))?;
        std::fs::write(&signature, text)
            .with_context(|| format!("cannot write {}", signature.display()))?;
        let key = self.key.public_key_line();
        let pane_check = || {
            let mut command = Command::new(&self.bins.verify_speed);
            command
                .arg("minisign-file")
                .arg(file)
                .arg(&signature)
                .arg(&key);
            time_digest(&mut command, "verified", "verify-speed minisign-file")
        };
        let cli_check = || {
            let mut command = Command::new("minisign");
            command
                .args(["-V", "-m"])
                .arg(file)
                .arg("-x")
                .arg(&signature)
                .args(["-P", &key]);
            time_digest(&mut command, "Signature", "minisign -V")
        };
        let mut pane = Samples::default();
        let mut cli = command_line("minisign", &["-v"]).map(|_| Samples::default());
        pane_check()?;
        for round in 0..rounds {
            if round % 2 == 1 || cli.is_none() {
                pane.push(pane_check()?);
            }
            if let Some(samples) = &mut cli {
                samples.push(cli_check()?);
            }
            if round % 2 == 0 && cli.is_some() {
                pane.push(pane_check()?);
            }
        }
        Ok((pane, cli))
    }

    /// pane's signature check of the release's `SHA256SUMS` (timed inside
    /// `verify-speed` over 2,000 checks), the median of three runs.
    fn signature_check(&self, stage: &Stage) -> Result<Duration> {
        let mut checks = Samples::default();
        for _ in 0..3 {
            let mut command = Command::new(&self.bins.verify_speed);
            command
                .arg("minisign")
                .arg(stage.release.sums_path())
                .arg(stage.release.signature_path())
                .arg(self.key.public_key_line())
                .arg(NEW)
                .arg("2000");
            let output = crate::process::checked_output(&mut command, "verify-speed minisign")?;
            let nanos: u64 = String::from_utf8_lossy(&output.stdout)
                .trim()
                .parse()
                .context("verify-speed minisign printed no number")?;
            checks.push(Duration::from_nanos(nanos));
        }
        Ok(checks.median())
    }
}

/// Times `command`, which must print `expected` as the first word.
pub(super) fn time_digest(command: &mut Command, expected: &str, what: &str) -> Result<Duration> {
    let start = Instant::now();
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {what}"))?;
    let elapsed = start.elapsed();
    let printed = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || printed.split_whitespace().next() != Some(expected) {
        crate::bail!(
            "{what} printed {printed:?} ({}), not the digest {expected}",
            output.status
        );
    }
    Ok(elapsed)
}
