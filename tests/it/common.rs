//! The test world: a temporary HOME with its own XDG dirs, a test key made
//! now, a real release server on loopback, and real pane binaries stamped
//! with chosen versions (all from the xtask fixtures, the same code that
//! makes releases).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::Command;

pub use xtask::fixtures::Run;
use xtask::fixtures::{Release, ReleaseDir};
use xtask::sandbox::Sandbox;

/// [`xtask::sandbox::Sandbox`] (whose fields and methods it derefs to), with
/// methods that panic as test helpers do.
pub struct World(Sandbox);

impl Deref for World {
    type Target = Sandbox;

    fn deref(&self) -> &Sandbox {
        &self.0
    }
}

impl DerefMut for World {
    fn deref_mut(&mut self) -> &mut Sandbox {
        &mut self.0
    }
}

impl World {
    pub fn new() -> World {
        World(Sandbox::new(".tmp").unwrap_or_else(|e| panic!("cannot make the test world: {e:#}")))
    }

    /// A world with releases of `versions` published and the first installed.
    pub fn installed(versions: &[&str]) -> World {
        let world = World::new();
        for v in versions {
            world.publish(v);
        }
        world.install(versions[0]);
        world
    }

    pub fn publish(&self, version: &str) -> ReleaseDir {
        Release::new(version).write(&self.root, &self.key)
    }

    pub fn receipt(&self) -> serde_json::Value {
        self.0.receipt().unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// A command running `exe` with only this world's environment.
    pub fn command(&self, exe: &Path) -> Command {
        self.0.command(exe)
    }

    /// Runs the installed pane.
    pub fn pane(&self, args: &[&str]) -> Run {
        self.run(&self.install_path(), args, &[])
    }

    pub fn pane_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.run(&self.install_path(), args, env)
    }

    pub fn run(&self, exe: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.0
            .run(exe, args, env)
            .unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// Installs a fixture pane of `version` the way a manual download does.
    pub fn install(&self, version: &str) {
        self.0.install(version).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(self.installed_version(), version);
    }

    pub fn installed_version(&self) -> String {
        let run = self.pane(&["--version"]).success();
        run.stdout
            .trim()
            .strip_prefix("pane ")
            .expect("pane <version>")
            .to_string()
    }

    /// Every file under HOME (bar the lock file) with a digest of its bytes.
    pub fn snapshot(&self) -> Snapshot {
        let mut files = BTreeMap::new();
        collect(&self.home, &self.home, &mut files);
        files.remove(Path::new(".local/share/pane/update.lock"));
        Snapshot(files)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot(pub BTreeMap<PathBuf, String>);

impl Snapshot {
    /// Asserts nothing changed, naming what did.
    pub fn assert_same(&self, after: &Snapshot) {
        if self != after {
            let mut report = String::new();
            for (path, digest) in &self.0 {
                match after.0.get(path) {
                    None => report += &format!("  removed: {}\n", path.display()),
                    Some(d) if d != digest => report += &format!("  changed: {}\n", path.display()),
                    _ => {}
                }
            }
            for path in after.0.keys().filter(|p| !self.0.contains_key(*p)) {
                report += &format!("  added:   {}\n", path.display());
            }
            panic!("the installation changed:\n{report}");
        }
    }
}

fn collect(base: &Path, dir: &Path, files: &mut BTreeMap<PathBuf, String>) {
    xtask::sandbox::walk(dir, &mut |path, is_dir| {
        if is_dir {
            return;
        }
        let rel = path.strip_prefix(base).unwrap().to_path_buf();
        let meta = std::fs::symlink_metadata(path).unwrap();
        let value = if meta.file_type().is_symlink() {
            format!("link:{}", std::fs::read_link(path).unwrap().display())
        } else {
            xtask::checksums::sha256_file(path).unwrap()
        };
        files.insert(rel, value);
    });
}

/// No `.pane-tmp-*` file anywhere under `dir`.
pub fn assert_no_temp_files(dir: &Path) {
    let mut files = BTreeMap::new();
    collect(dir, dir, &mut files);
    let leftovers: Vec<_> = files
        .keys()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".pane-tmp-"))
        })
        .collect();
    assert!(
        leftovers.is_empty(),
        "temp files left behind: {leftovers:?}"
    );
}

/// Runs the installed pane with `args` on a pty (util-linux `script -qec`),
/// with the update notice enabled (the harness disables it by default).
/// What pane wrote to the terminal comes back as `stdout`.
pub fn on_terminal(world: &World, args: &str, env: &[(&str, &str)]) -> Run {
    let mut command = world.command(Path::new("script"));
    command
        .env_remove("PANE_NO_UPDATE_CHECK")
        .env("TERM", "xterm");
    for (k, v) in env {
        command.env(k, v);
    }
    let line = format!("{} {args}", world.install_path().display());
    command.args(["-qec", &line, "/dev/null"]);
    Run::from(command.output().expect("script (util-linux) runs"))
}

/// Path (relative to the root walked) → what is there: kind (`file`, `dir`,
/// `link`), contents or link target, mode, mtime (seconds, nanoseconds; 0 for
/// directories, whose mtime moves when a temp file comes and goes in them).
pub type TimedTree = BTreeMap<PathBuf, (String, Vec<u8>, u32, i64, i64)>;

/// Everything under `root` (itself included, as the empty path), or nothing
/// if it does not exist.
pub fn timed_tree(root: &Path) -> TimedTree {
    let mut tree = TimedTree::new();
    walk_timed(root, root, &mut tree);
    tree
}

fn walk_timed(root: &Path, path: &Path, tree: &mut TimedTree) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let Ok(metadata) = std::fs::symlink_metadata(path) else {
        return;
    };
    let relative = path.strip_prefix(root).unwrap().to_path_buf();
    let (kind, contents) = if metadata.file_type().is_symlink() {
        (
            "link",
            std::fs::read_link(path)
                .unwrap()
                .into_os_string()
                .into_encoded_bytes(),
        )
    } else if metadata.is_dir() {
        ("dir", Vec::new())
    } else {
        ("file", std::fs::read(path).unwrap())
    };
    let (mtime, mtime_ns) = if metadata.is_dir() {
        (0, 0)
    } else {
        (metadata.mtime(), metadata.mtime_nsec())
    };
    tree.insert(
        relative,
        (
            kind.to_string(),
            contents,
            metadata.permissions().mode(),
            mtime,
            mtime_ns,
        ),
    );
    if metadata.is_dir() {
        for entry in std::fs::read_dir(path).unwrap().flatten() {
            walk_timed(root, &entry.path(), tree);
        }
    }
}
