//! Building the binaries the bench runs: pane twice (the release build, and
//! the installed updater with debug assertions) and the peers.

use std::path::{Path, PathBuf};

use super::{NEW, OLD};
use crate::error::Result;

/// Every binary the bench runs.
pub(super) struct Binaries {
    /// `cargo build --release -p pane`, stamped [`NEW`]: measured for size
    /// and start-up, and the binary every bench release ships.
    pub(super) pane_release: PathBuf,
    /// The release profile with debug assertions, stamped [`OLD`]: the
    /// installed pane that updates (it honours `PANE_TEST_PUBKEY`).
    pub(super) pane_updater: PathBuf,
    /// `bench/self-update-peer`: self_update's GitHub flow.
    pub(super) peer: PathBuf,
    /// A bare binary printing one line.
    pub(super) hello: PathBuf,
    /// pane's update pipeline without its CLI.
    pub(super) pipeline: PathBuf,
    /// pane's `sha256_file` and signature check, alone.
    pub(super) verify_speed: PathBuf,
}

impl Binaries {
    pub(super) fn build() -> Result<Binaries> {
        let root = crate::workspace::root();
        let bench_target = root.join("target").join("bench");
        let release_dir = bench_target.join("release");
        let updater_dir = bench_target.join("release-debug-assertions");
        let peer_dir = bench_target.join("peer");
        let pane_build = ["--package", "pane", "--bin", "pane"];
        cargo_build(
            &root,
            &release_dir,
            &pane_build,
            &[("PANE_BUILD_VERSION", NEW)],
        )?;
        // Debug assertions in pane's own crate only (that is what makes it
        // trust the bench's key): its dependencies, whose inner loops
        // (zlib-rs, sha2) carry debug assertions of their own, stay exactly
        // as in the release build.
        let mut updater_build = pane_build.to_vec();
        updater_build.extend([
            "--config",
            "profile.release.package.pane.debug-assertions=true",
        ]);
        cargo_build(
            &root,
            &updater_dir,
            &updater_build,
            &[("PANE_BUILD_VERSION", OLD)],
        )?;
        // One package per build: features are then resolved per binary, as
        // in an application that uses only that crate.
        let peer_manifest = root.join("bench").join("self-update-peer");
        for package in ["self-update-peer", "hello", "pane-pipeline"] {
            cargo_build(&peer_manifest, &peer_dir, &["--package", package], &[])?;
        }
        let peer_bin = |name: &str| peer_dir.join("release").join(name);
        Ok(Binaries {
            pane_release: release_dir.join("release").join("pane"),
            pane_updater: updater_dir.join("release").join("pane"),
            peer: peer_bin("self-update-peer"),
            hello: peer_bin("hello"),
            pipeline: peer_bin("pane-pipeline"),
            verify_speed: peer_bin("verify-speed"),
        })
    }
}

/// `cargo build --release ARGS` in `dir` (a workspace root) into `target_dir`.
pub(super) fn cargo_build(
    dir: &Path,
    target_dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<()> {
    let mut command = crate::process::nested_cargo();
    command
        .current_dir(dir)
        .args(["build", "--release"])
        .args(args)
        .env("CARGO_TARGET_DIR", target_dir)
        .envs(env.iter().copied());
    let what = format!(
        "`cargo build --release {}` in {}",
        args.join(" "),
        dir.display()
    );
    crate::process::checked_output(&mut command, &what).map(drop)
}
