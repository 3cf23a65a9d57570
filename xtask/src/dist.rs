//! `cargo xtask dist`: a release build of pane stamped with a version,
//! packaged as `pane-<version>-<target>.tar.gz`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::archive::{package_with, PackageOptions};
use crate::error::{Context, Result};

#[derive(Clone, Debug)]
pub struct DistOptions {
    /// Default: the host's triple.
    pub target: Option<String>,
    /// Default: the root package's version.
    pub version: Option<String>,
    /// A cargo profile, e.g. `release` or `fastrelease`.
    pub profile: String,
    pub out_dir: PathBuf,
    /// The mtime of the archive entries (the CLI passes `SOURCE_DATE_EPOCH`).
    pub mtime: u64,
}

/// Builds and packages; returns the archive's path.
pub fn dist(options: &DistOptions) -> Result<PathBuf> {
    let root = crate::workspace::root();
    let version = match &options.version {
        Some(version) => version.clone(),
        None => crate::workspace::Package::load()?.version,
    };
    semver::Version::parse(&version)
        .with_context(|| format!("version {version:?} is not semver (e.g. 1.2.0)"))?;
    let host = crate::workspace::host_target()?;
    let target = options.target.clone().unwrap_or_else(|| host.clone());

    let cargo = crate::process::cargo_program();
    let mut build = Command::new(&cargo);
    build
        .current_dir(&root)
        .args([
            "build",
            "--profile",
            &options.profile,
            "--bin",
            "pane",
            "--package",
            "pane",
        ])
        .env("PANE_BUILD_VERSION", &version);
    if options.target.is_some() {
        build.args(["--target", &target]);
    }
    let status = build.status().context("cannot run cargo build")?;
    if !status.success() {
        crate::bail!(
            "`cargo build --profile {} --target {target}` failed",
            options.profile
        );
    }

    let profile_dir = match options.profile.as_str() {
        "dev" | "test" => "debug",
        "bench" => "release",
        other => other,
    };
    let mut binary = target_directory(&cargo, &root)?;
    if options.target.is_some() {
        binary.push(&target);
    }
    binary.push(profile_dir);
    binary.push("pane");

    std::fs::create_dir_all(&options.out_dir)
        .with_context(|| format!("cannot create {}", options.out_dir.display()))?;
    package_with(
        &binary,
        &version,
        &target,
        &options.out_dir,
        &PackageOptions::for_workspace(options.mtime)?,
    )
}

/// Cargo's target directory, wherever configuration put it.
fn target_directory(cargo: &std::ffi::OsStr, root: &Path) -> Result<PathBuf> {
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--no-deps"]);
    let output = crate::process::checked_output(&mut command, "cargo metadata")?;
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("cargo metadata printed invalid JSON")?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| crate::Error::msg("cargo metadata has no target_directory"))
}
