//! `cargo xtask dist`: a release build of pane stamped with a version,
//! packaged as `pane-<version>-<target>.tar.gz`, with its CycloneDX SBOM
//! `pane-<version>-<target>.cdx.json` beside it.
//!
//! What it guarantees:
//!
//! - **The same bytes from any machine.** Given the same source, `Cargo.lock`,
//!   toolchain (pinned in `rust-toolchain.toml`), target and
//!   `SOURCE_DATE_EPOCH`, the archive and the SBOM are byte-identical whatever
//!   the checkout's path, the builder's cargo home, rustup home, umask or
//!   clock. Every absolute path the compiler would embed (panic locations of
//!   registry crates, `OUT_DIR` includes, the toolchain's sources) is remapped
//!   with `--remap-path-prefix` to a fixed name: [`path_remaps`].
//! - **An auditable binary.** pane is built with `cargo auditable build`, so
//!   the binary carries its dependency list (`cargo audit bin`,
//!   `rust-audit-info` and distributions' scanners read it). It costs 2,144
//!   bytes (a 2,004-byte `.dep-v0` section) of a 3,053,656-byte x86_64
//!   Linux release binary: 0.07%.
//! - **An SBOM of exactly that binary.** The SBOM is made from the list read
//!   back out of the built binary ([`crate::sbom`]), not from `Cargo.lock`,
//!   which also holds xtask's and the tests' dependencies.
//! - **`--locked`**: the build uses `Cargo.lock` as committed, or fails.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::archive::{archive_name, package_with, PackageOptions};
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
    /// The mtime of the archive entries and the SBOM's timestamp (the CLI
    /// passes `SOURCE_DATE_EPOCH`).
    pub mtime: u64,
    /// The workspace to build: [`crate::workspace::root`] for `cargo xtask
    /// dist`, a copy of it for the reproducibility check.
    pub workspace: PathBuf,
    /// The builder's cargo home (`CARGO_HOME`, else `~/.cargo`): its path is
    /// remapped out of the binary, and the build runs with it.
    pub cargo_home: PathBuf,
    /// `--target-dir` (default: wherever cargo's configuration puts it).
    pub target_dir: Option<PathBuf>,
    /// Build with `--offline`: nothing is downloaded (with `--locked`, this
    /// is `--frozen`).
    pub offline: bool,
    /// The umask the build runs with (default: this process's).
    pub umask: Option<u32>,
}

impl DistOptions {
    /// Options for this workspace, with everything else defaulted.
    pub fn new(out_dir: impl Into<PathBuf>, cargo_home: impl Into<PathBuf>) -> DistOptions {
        DistOptions {
            target: None,
            version: None,
            profile: "release".to_string(),
            out_dir: out_dir.into(),
            mtime: 0,
            workspace: crate::workspace::root(),
            cargo_home: cargo_home.into(),
            target_dir: None,
            offline: false,
            umask: None,
        }
    }
}

/// What [`dist`] made.
#[derive(Clone, Debug)]
pub struct Dist {
    /// `out_dir/pane-<version>-<target>.tar.gz`
    pub archive: PathBuf,
    /// `out_dir/pane-<version>-<target>.cdx.json`
    pub sbom: PathBuf,
    /// The built binary in cargo's target directory (the one in the archive).
    pub binary: PathBuf,
}

/// `pane-<version>-<target>.cdx.json`: the SBOM's asset name.
pub fn sbom_name(version: &str, target: &str) -> String {
    let archive = archive_name(version, target);
    let stem = archive.strip_suffix(".tar.gz").unwrap_or(&archive);
    format!("{stem}.cdx.json")
}

/// Builds, packages and writes the SBOM.
pub fn dist(options: &DistOptions) -> Result<Dist> {
    let root = &options.workspace;
    let version = match &options.version {
        Some(version) => version.clone(),
        None => {
            let manifest = root.join("Cargo.toml");
            let text = std::fs::read_to_string(&manifest)
                .with_context(|| format!("cannot read {}", manifest.display()))?;
            crate::workspace::Package::parse(&text)
                .with_context(|| format!("in {}", manifest.display()))?
                .version
        }
    };
    semver::Version::parse(&version)
        .with_context(|| format!("version {version:?} is not semver (e.g. 1.2.0)"))?;
    let rustc = Rustc::query(root)?;
    let target = options.target.clone().unwrap_or_else(|| rustc.host.clone());

    let cargo = crate::process::cargo_program();
    let target_dir = match &options.target_dir {
        Some(dir) => dir.clone(),
        None => target_directory(&cargo, root)?,
    };
    let remaps = path_remaps(&RemapInputs {
        workspace: root,
        target_dir: &target_dir,
        cargo_home: &options.cargo_home,
        sysroot: &rustc.sysroot,
        rustc_commit: &rustc.commit_hash,
    })?;

    let mut build = match options.umask {
        None => Command::new(&cargo),
        Some(umask) => {
            let mut shell = Command::new("sh");
            shell
                .arg("-c")
                .arg(format!("umask {umask:03o} && exec \"$0\" \"$@\""))
                .arg(&cargo);
            shell
        }
    };
    build
        .current_dir(root)
        .args([
            "auditable",
            "build",
            "--locked",
            "--profile",
            &options.profile,
            "--bin",
            "pane",
            "--package",
            "pane",
        ])
        .env("PANE_BUILD_VERSION", &version)
        .env("CARGO_HOME", &options.cargo_home)
        // Replaces RUSTFLAGS and any `build.rustflags`: a release is built
        // with these flags and no others, whoever's configuration runs it.
        .env("CARGO_ENCODED_RUSTFLAGS", encoded_rustflags(&remaps))
        .env_remove("RUSTFLAGS")
        // C and assembly (ring's) get the same remapping; cc-rs adds these
        // to its flags, read shell-quoted so paths may hold spaces.
        .env(
            format!("CFLAGS_{}", target.replace(['-', '.'], "_")),
            c_flags(&remaps),
        )
        .env("CC_SHELL_ESCAPED_FLAGS", "1")
        // Incremental compilation does not promise the same bytes.
        .env("CARGO_INCREMENTAL", "0");
    if options.target.is_some() {
        build.args(["--target", &target]);
    }
    if options.target_dir.is_some() {
        build.arg("--target-dir").arg(&target_dir);
    }
    if options.offline {
        build.arg("--offline");
    }
    let status = build.status().context("cannot run cargo auditable build")?;
    if !status.success() {
        crate::bail!(
            "`cargo auditable build --locked --profile {} --target {target}` failed \
             (cargo-auditable is installed with `cargo install cargo-auditable --locked`)",
            options.profile
        );
    }

    let profile_dir = match options.profile.as_str() {
        "dev" | "test" => "debug",
        "bench" => "release",
        other => other,
    };
    let mut binary = target_dir;
    if options.target.is_some() {
        binary.push(&target);
    }
    binary.push(profile_dir);
    binary.push("pane");

    std::fs::create_dir_all(&options.out_dir)
        .with_context(|| format!("cannot create {}", options.out_dir.display()))?;
    let mut package = PackageOptions::for_workspace(options.mtime)?;
    // The same documents, taken from the workspace being built.
    for (name, source) in &mut package.extra_files {
        *source = root.join(&*name);
    }
    let archive = package_with(&binary, &version, &target, &options.out_dir, &package)?;

    let sbom = options.out_dir.join(sbom_name(&version, &target));
    crate::sbom::write_sbom(
        &binary,
        &version,
        &root.join("Cargo.lock"),
        options.mtime,
        &sbom,
    )?;
    Ok(Dist {
        archive,
        sbom,
        binary,
    })
}

/// The paths a build may embed, and the fixed names they become.
pub struct RemapInputs<'a> {
    pub workspace: &'a Path,
    pub target_dir: &'a Path,
    pub cargo_home: &'a Path,
    pub sysroot: &'a Path,
    pub rustc_commit: &'a str,
}

/// `(from, to)` pairs for `--remap-path-prefix`, in the order to pass them.
///
/// rustc applies the last mapping that matches, so the pairs are sorted by
/// the length of `from`: a more specific prefix (a target directory inside
/// the checkout, a cargo home inside the home) wins over a shorter one.
///
/// - the workspace → `/pane`, its target directory → `/pane/target`;
/// - the cargo home → `/cargo` (registry sources become
///   `/cargo/registry/src/index.crates.io-<hash>/<crate>-<version>/…`);
/// - the standard library's sources in the sysroot (the rust-src component)
///   → `/rustc/<commit>`, the name the shipped standard library already uses,
///   and the rest of the sysroot → `/rustc/<commit>/sysroot`.
pub fn path_remaps(inputs: &RemapInputs<'_>) -> Result<Vec<(String, String)>> {
    let commit = inputs.rustc_commit;
    let pairs = [
        (inputs.workspace.to_path_buf(), "/pane".to_string()),
        (inputs.target_dir.to_path_buf(), "/pane/target".to_string()),
        (inputs.cargo_home.to_path_buf(), "/cargo".to_string()),
        (
            inputs.sysroot.to_path_buf(),
            format!("/rustc/{commit}/sysroot"),
        ),
        (
            inputs.sysroot.join("lib/rustlib/src/rust"),
            format!("/rustc/{commit}"),
        ),
    ];
    let mut remaps = Vec::new();
    for (from, to) in pairs {
        let Some(from) = from.to_str() else {
            crate::bail!(
                "{} is not UTF-8 and cannot be remapped out of the binary; build from a UTF-8 path",
                from.display()
            );
        };
        if from.contains('=') {
            // --remap-path-prefix splits FROM=TO at the last `=`; an `=` in
            // FROM would be read as a different mapping.
            crate::bail!("{from} holds `=`, which --remap-path-prefix cannot express");
        }
        remaps.push((from.trim_end_matches('/').to_string(), to));
    }
    remaps.sort_by_key(|(from, _)| from.len());
    remaps.dedup_by(|later, earlier| later.0 == earlier.0);
    Ok(remaps)
}

/// `CARGO_ENCODED_RUSTFLAGS` for `remaps`: flags separated by 0x1f, so paths
/// may hold spaces.
pub fn encoded_rustflags(remaps: &[(String, String)]) -> OsString {
    let flags: Vec<String> = remaps
        .iter()
        .map(|(from, to)| format!("--remap-path-prefix={from}={to}"))
        .collect();
    flags.join("\x1f").into()
}

/// `-ffile-prefix-map=FROM=TO` for each remap, shell-quoted, for C
/// compilers (GCC 8+, Clang 10+): the same remapping in debug information
/// and `__FILE__`, in the same last-match-wins order.
pub fn c_flags(remaps: &[(String, String)]) -> String {
    remaps
        .iter()
        .map(|(from, to)| {
            let flag = format!("-ffile-prefix-map={from}={to}");
            format!("'{}'", flag.replace('\'', "'\\''"))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What `rustc -vV` and `rustc --print sysroot` say, run in the workspace
/// (so `rust-toolchain.toml` picks the toolchain).
struct Rustc {
    host: String,
    commit_hash: String,
    sysroot: PathBuf,
}

impl Rustc {
    fn query(root: &Path) -> Result<Rustc> {
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let run = |args: &[&str]| -> Result<String> {
            let output = Command::new(&rustc)
                .current_dir(root)
                .args(args)
                .output()
                .with_context(|| format!("cannot run `rustc {}`", args.join(" ")))?;
            if !output.status.success() {
                crate::bail!(
                    "`rustc {}` failed: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            String::from_utf8(output.stdout).map_err(|_| {
                crate::Error::msg(format!("`rustc {}` printed non-UTF-8", args.join(" ")))
            })
        };
        let version = run(&["-vV"])?;
        let field = |name: &str| {
            version
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .map(|value| value.trim().to_string())
                .ok_or_else(|| crate::Error::msg(format!("`rustc -vV` printed no `{name}` line")))
        };
        Ok(Rustc {
            host: field("host:")?,
            commit_hash: field("commit-hash:")?,
            sysroot: PathBuf::from(run(&["--print", "sysroot"])?.trim()),
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs<'a>(
        workspace: &'a Path,
        target_dir: &'a Path,
        cargo_home: &'a Path,
        sysroot: &'a Path,
    ) -> RemapInputs<'a> {
        RemapInputs {
            workspace,
            target_dir,
            cargo_home,
            sysroot,
            rustc_commit: "abc123",
        }
    }

    #[test]
    fn the_more_specific_prefix_comes_last_and_wins() {
        let remaps = path_remaps(&inputs(
            Path::new("/home/me/pane"),
            Path::new("/home/me/pane/target"),
            Path::new("/home/me/.cargo"),
            Path::new("/home/me/.rustup/toolchains/1.95.0-x86_64-unknown-linux-gnu"),
        ))
        .unwrap();
        let from: Vec<&str> = remaps.iter().map(|(from, _)| from.as_str()).collect();
        assert_eq!(
            from,
            [
                "/home/me/pane",
                "/home/me/.cargo",
                "/home/me/pane/target",
                "/home/me/.rustup/toolchains/1.95.0-x86_64-unknown-linux-gnu",
                "/home/me/.rustup/toolchains/1.95.0-x86_64-unknown-linux-gnu/lib/rustlib/src/rust",
            ]
        );
        assert_eq!(remaps[2].1, "/pane/target");
        assert_eq!(remaps[4].1, "/rustc/abc123");
    }

    #[test]
    fn paths_with_spaces_survive_encoding_and_an_equals_sign_is_refused() {
        let remaps = path_remaps(&inputs(
            Path::new("/tmp/my pane/"),
            Path::new("/tmp/my pane/target"),
            Path::new("/tmp/cargo home"),
            Path::new("/opt/rust"),
        ))
        .unwrap();
        let encoded = encoded_rustflags(&remaps);
        let flags: Vec<&str> = encoded.to_str().unwrap().split('\x1f').collect();
        assert_eq!(flags.len(), 5);
        assert!(flags.contains(&"--remap-path-prefix=/tmp/my pane=/pane"));
        assert!(flags.contains(&"--remap-path-prefix=/tmp/cargo home=/cargo"));

        assert!(c_flags(&remaps).contains("'-ffile-prefix-map=/tmp/my pane=/pane'"));
        let quoted = c_flags(&[("/a'b".to_string(), "/x".to_string())]);
        assert_eq!(quoted, r"'-ffile-prefix-map=/a'\''b=/x'");

        let refused = path_remaps(&inputs(
            Path::new("/tmp/a=b"),
            Path::new("/tmp/a=b/target"),
            Path::new("/c"),
            Path::new("/d"),
        ));
        assert!(refused.is_err());
    }

    #[test]
    fn the_sbom_sits_beside_the_archive() {
        assert_eq!(
            sbom_name("1.2.0-rc.1", "x86_64-unknown-linux-musl"),
            "pane-1.2.0-rc.1-x86_64-unknown-linux-musl.cdx.json"
        );
    }
}
