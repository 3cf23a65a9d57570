//! `cargo xtask reproduce`: proves that [`crate::dist`] gives the same bytes
//! on another machine, by building twice on this one with everything that
//! differs between machines made different:
//!
//! - two copies of the workspace, real directories (not links) at paths of
//!   different lengths and depths, the second one's files dated in 2001;
//! - two fresh cargo homes, neither the builder's own, whose registry
//!   (index and downloaded `.crate` files) is hard-linked from the builder's,
//!   so nothing is downloaded: the builds run `--locked --offline`;
//! - the second build under umask 077.
//!
//! It then compares the two archives, SBOMs and binaries byte for byte, and
//! looks for absolute build paths left in the binaries: both checkouts, both
//! cargo homes, the builder's own cargo home and toolchain, `/root/`,
//! `/home/`. The test suite runs it in the `dev` profile; CI's
//! reproducibility job and `cargo xtask reproduce` run it in `release`.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::dist::{dist, Dist, DistOptions};
use crate::error::{Context, Result};

#[derive(Clone, Debug)]
pub struct ReproduceOptions {
    /// The workspace to copy (normally [`crate::workspace::root`]).
    pub workspace: PathBuf,
    /// The builder's cargo home, whose registry the two builds link to.
    pub cargo_home: PathBuf,
    /// Where the copies, cargo homes and outputs go (made if missing).
    pub work_dir: PathBuf,
    pub profile: String,
    pub version: String,
    pub mtime: u64,
}

/// One of the two builds.
#[derive(Clone, Debug)]
pub struct Build {
    pub workspace: PathBuf,
    pub cargo_home: PathBuf,
    pub dist: Dist,
    pub seconds: u64,
}

/// What the two builds gave.
#[derive(Clone, Debug)]
pub struct Report {
    pub first: Build,
    pub second: Build,
    /// One line per output that differs between the builds.
    pub differences: Vec<String>,
    /// One line per absolute build path found in a binary.
    pub leaks: Vec<String>,
}

impl Report {
    pub fn reproducible(&self) -> bool {
        self.differences.is_empty() && self.leaks.is_empty()
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (label, build) in [("first", &self.first), ("second", &self.second)] {
            let size = std::fs::metadata(&build.dist.archive)
                .map(|m| m.len())
                .unwrap_or(0);
            writeln!(
                f,
                "{label}: {} ({size} bytes), built in {} s from {} with CARGO_HOME={}",
                build.dist.archive.display(),
                build.seconds,
                build.workspace.display(),
                build.cargo_home.display()
            )?;
        }
        if self.reproducible() {
            let sha = crate::checksums::sha256_file(&self.first.dist.archive)
                .unwrap_or_else(|e| e.to_string());
            writeln!(f, "identical: archive sha256 {sha}, SBOM and binary too")?;
            write!(f, "no absolute build path in the binary")
        } else {
            for line in self.differences.iter().chain(&self.leaks) {
                writeln!(f, "{line}")?;
            }
            write!(f, "NOT reproducible")
        }
    }
}

/// Builds twice as described in the module documentation and compares.
pub fn reproduce(options: &ReproduceOptions) -> Result<Report> {
    let work = &options.work_dir;
    std::fs::create_dir_all(work).with_context(|| format!("cannot create {}", work.display()))?;
    let work = work
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", work.display()))?;
    let places = [
        (
            work.join("first/pane"),
            work.join("first/cargo-home"),
            None,
            None,
        ),
        (
            work.join("second/a/much/longer/path/to/the/checkout"),
            work.join("second/another user's/.cargo"),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000)),
            Some(0o077),
        ),
    ];
    let mut builds = Vec::new();
    for (index, (workspace, cargo_home, mtime, umask)) in places.into_iter().enumerate() {
        copy_tree(&options.workspace, &workspace, mtime)?;
        link_registry(&options.cargo_home, &cargo_home)?;
        let started = std::time::Instant::now();
        let dist = dist(&DistOptions {
            target: None,
            version: Some(options.version.clone()),
            profile: options.profile.clone(),
            out_dir: work.join(format!("out-{}", index + 1)),
            mtime: options.mtime,
            target_dir: Some(workspace.join("target")),
            workspace: workspace.clone(),
            cargo_home: cargo_home.clone(),
            offline: true,
            umask,
        })?;
        builds.push(Build {
            workspace,
            cargo_home,
            dist,
            seconds: started.elapsed().as_secs(),
        });
    }
    let second = builds.pop().expect("two builds");
    let first = builds.pop().expect("two builds");

    let mut differences = Vec::new();
    for (what, a, b) in [
        ("archive", &first.dist.archive, &second.dist.archive),
        ("SBOM", &first.dist.sbom, &second.dist.sbom),
        ("binary", &first.dist.binary, &second.dist.binary),
    ] {
        if let Some(difference) = compare(a, b)? {
            differences.push(format!("{what}s differ: {difference}"));
        }
    }

    let mut needles: Vec<String> = vec!["/root/".into(), "/home/".into()];
    for path in [
        &first.workspace,
        &second.workspace,
        &first.cargo_home,
        &second.cargo_home,
        &options.cargo_home,
        &options.workspace,
    ] {
        needles.push(path.display().to_string());
    }
    let mut leaks = Vec::new();
    for build in [&first, &second] {
        let bytes = std::fs::read(&build.dist.binary)
            .with_context(|| format!("cannot read {}", build.dist.binary.display()))?;
        for needle in &needles {
            let count = count_occurrences(&bytes, needle.as_bytes());
            if count > 0 {
                leaks.push(format!(
                    "{} holds {needle:?} {count} times",
                    build.dist.binary.display()
                ));
            }
        }
    }
    Ok(Report {
        first,
        second,
        differences,
        leaks,
    })
}

/// How often `needle` occurs in `haystack`.
pub fn count_occurrences(haystack: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() {
        return 0;
    }
    haystack
        .windows(needle.len())
        .filter(|window| *window == needle)
        .count()
}

/// `None` if the files are identical, else where they first differ.
fn compare(a: &Path, b: &Path) -> Result<Option<String>> {
    let read = |path: &Path| {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
    };
    let (a_bytes, b_bytes) = (read(a)?, read(b)?);
    if a_bytes == b_bytes {
        return Ok(None);
    }
    let offset = a_bytes
        .iter()
        .zip(&b_bytes)
        .position(|(x, y)| x != y)
        .unwrap_or(a_bytes.len().min(b_bytes.len()));
    Ok(Some(format!(
        "{} ({} bytes) and {} ({} bytes) first differ at byte {offset}",
        a.display(),
        a_bytes.len(),
        b.display(),
        b_bytes.len()
    )))
}

/// Copies the workspace's files to `to` (real files, not links), leaving out
/// `.git` and every `target` directory; with `mtime`, every copied file gets
/// that modification time.
pub fn copy_tree(from: &Path, to: &Path, mtime: Option<SystemTime>) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    let entries =
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", from.display()))?;
        let name = entry.file_name();
        let source = entry.path();
        let destination = to.join(&name);
        let file_type = entry
            .file_type()
            .with_context(|| format!("cannot stat {}", source.display()))?;
        if file_type.is_dir() {
            if name == ".git" || name == "target" {
                continue;
            }
            copy_tree(&source, &destination, mtime)?;
        } else if file_type.is_file() {
            std::fs::copy(&source, &destination).with_context(|| {
                format!(
                    "cannot copy {} to {}",
                    source.display(),
                    destination.display()
                )
            })?;
            if let Some(mtime) = mtime {
                std::fs::File::options()
                    .write(true)
                    .open(&destination)
                    .and_then(|file| file.set_modified(mtime))
                    .with_context(|| format!("cannot date {}", destination.display()))?;
            }
        }
        // Symbolic links (and anything else) are not part of the source.
    }
    Ok(())
}

/// Makes `cargo_home/registry/{index,cache}` hard links of the builder's
/// (copies where a hard link is impossible, e.g. across file systems), so an
/// offline build finds every crate without downloading one. The extracted
/// sources (`registry/src`) are not linked: cargo unpacks them itself, at
/// this cargo home's path.
pub fn link_registry(from_home: &Path, cargo_home: &Path) -> Result<()> {
    for part in ["registry/index", "registry/cache"] {
        let source = from_home.join(part);
        if !source.is_dir() {
            crate::bail!(
                "{} does not exist: fetch the dependencies first (`cargo fetch --locked`)",
                source.display()
            );
        }
        link_tree(&source, &cargo_home.join(part))?;
    }
    Ok(())
}

fn link_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    let entries =
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", from.display()))?;
        let source = entry.path();
        let destination = to.join(entry.file_name());
        let file_type = entry
            .file_type()
            .with_context(|| format!("cannot stat {}", source.display()))?;
        if file_type.is_dir() {
            link_tree(&source, &destination)?;
        } else if file_type.is_file() && std::fs::hard_link(&source, &destination).is_err() {
            std::fs::copy(&source, &destination).with_context(|| {
                format!(
                    "cannot link or copy {} to {}",
                    source.display(),
                    destination.display()
                )
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_needles() {
        assert_eq!(count_occurrences(b"/home/a /home/b", b"/home/"), 2);
        assert_eq!(count_occurrences(b"/hom", b"/home/"), 0);
        assert_eq!(count_occurrences(b"abc", b""), 0);
    }

    #[test]
    fn copies_are_real_files_without_target_or_git_and_dated_as_asked() {
        let tmp = tempfile::tempdir().unwrap();
        let from = tmp.path().join("from");
        std::fs::create_dir_all(from.join("src")).unwrap();
        std::fs::create_dir_all(from.join("target/release")).unwrap();
        std::fs::create_dir_all(from.join(".git")).unwrap();
        std::fs::write(from.join("src/main.rs"), "fn main() {}").unwrap();
        std::fs::write(from.join("target/release/pane"), "binary").unwrap();
        let to = tmp.path().join("to");
        let date = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        copy_tree(&from, &to, Some(date)).unwrap();
        let copied = to.join("src/main.rs");
        assert_eq!(std::fs::read_to_string(&copied).unwrap(), "fn main() {}");
        assert!(!std::fs::symlink_metadata(&copied)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(
            std::fs::metadata(&copied).unwrap().modified().unwrap(),
            date
        );
        assert!(!to.join("target").exists());
        assert!(!to.join(".git").exists());
    }
}
