//! The machine gets in the way: a full disk under the download, the staging
//! and the receipt; a file size limit; the install dir on another filesystem,
//! behind a symlink, read-only; a `noexec` temp dir; a receipt that points at
//! a binary that is gone. Every failure exits 1 with a message and a hint a
//! user can act on, leaves the installation byte-identical with nothing left
//! behind, and the hint's way out works.
//!
//! Small filesystems are real tmpfs mounts where this process may mount (on
//! Linux, as root or through passwordless `sudo`, as on GitHub's runners);
//! elsewhere those cases say why they are skipped and the file size limit
//! (`ulimit -f`, needing no privilege) stands in for a full disk where it
//! can. Under `CI` on Linux a case that cannot mount fails instead.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{assert_no_temp_files, Run, World};
use xtask::fixtures::{build_pane, host_target};

const MIB: u64 = 1 << 20;

/// A tmpfs mounted over a directory for as long as it lives. Declare it
/// after the `World` whose directory it is in, so it is unmounted first.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` bytes with `options` at `dir`, owned by the
    /// user running the tests, or says why not.
    fn mount(dir: &Path, size: u64, options: &str) -> Result<Tmpfs, String> {
        use std::os::unix::fs::MetadataExt;
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let owner = std::fs::metadata(dir).map_err(|e| e.to_string())?;
        let mut all = format!(
            "size={size},mode=0755,uid={},gid={}",
            owner.uid(),
            owner.gid()
        );
        if !options.is_empty() {
            all = format!("{all},{options}");
        }
        run_tool(
            privileged("mount")?
                .args(["-t", "tmpfs", "-o", &all, "tmpfs"])
                .arg(dir),
        )?;
        Ok(Tmpfs {
            dir: dir.to_path_buf(),
        })
    }

    /// The tmpfs, or `None` after printing why the case is skipped.
    fn mount_or_skip(case: &str, dir: &Path, size: u64, options: &str) -> Option<Tmpfs> {
        match Tmpfs::mount(dir, size, options) {
            Ok(tmpfs) => Some(tmpfs),
            Err(why) => {
                skip(case, &format!("cannot mount a tmpfs here ({why})"));
                None
            }
        }
    }

    /// Bytes in use, from statfs.
    fn used(&self) -> u64 {
        let out = run_tool(
            Command::new("stat")
                .args(["-f", "-c", "%b %f %S"])
                .arg(&self.dir),
        )
        .expect("stat -f");
        let n: Vec<u64> = out.split_whitespace().map(|v| v.parse().unwrap()).collect();
        (n[0] - n[1]) * n[2]
    }

    /// Leaves exactly `free` bytes (rounded up to pages) free.
    fn leave_free(&self, free: u64) {
        let size = self.used() + free.div_ceil(4096) * 4096;
        run_tool(
            privileged("mount")
                .expect("the mount that made the tmpfs")
                .args(["-o", &format!("remount,size={size}")])
                .arg(&self.dir),
        )
        .expect("remount the tmpfs");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        if let Ok(mut umount) = privileged("umount") {
            let _ = umount.arg("-l").arg(&self.dir).output();
        }
    }
}

/// `tool` run as root: as it is when this process is root, else through
/// `sudo -n` where that needs no password (GitHub's Linux runners), else
/// why not.
fn privileged(tool: &str) -> Result<Command, String> {
    if Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
    {
        return Ok(Command::new(tool));
    }
    let sudo = Command::new("sudo")
        .args(["-n", "true"])
        .stderr(std::process::Stdio::null())
        .status();
    if sudo.is_ok_and(|status| status.success()) {
        let mut command = Command::new("sudo");
        command.args(["-n", tool]);
        return Ok(command);
    }
    Err("not root, and no sudo without a password".to_string())
}

/// Says why `case` is skipped; under `CI` on Linux, where every case must
/// run (`.ci/run` runs as root, GitHub's runners have `sudo`), fails.
fn skip(case: &str, why: &str) {
    assert!(
        !(cfg!(target_os = "linux") && std::env::var_os("CI").is_some()),
        "{case}: {why}; under CI on Linux every fault case must run"
    );
    eprintln!("skipped: {case}: {why}");
}

/// Runs a system tool; its stdout, or what went wrong.
fn run_tool(command: &mut Command) -> Result<String, String> {
    let output = command.output().map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
    }
}

fn archive_len(world: &World, version: &str) -> u64 {
    let name = format!("pane-{version}-{}.tar.gz", host_target());
    std::fs::metadata(world.root.join(format!("v{version}")).join(name))
        .unwrap()
        .len()
}

fn binary_len(version: &str) -> u64 {
    std::fs::metadata(build_pane(version)).unwrap().len()
}

/// A world with 1.0.0 and 1.1.0 published, and a tmpfs of 256 MiB mounted
/// at `under` (relative to HOME) before 1.0.0 is installed.
fn world_with_tmpfs(case: &str, under: &str) -> Option<(World, Tmpfs)> {
    let world = World::new();
    world.publish("1.0.0");
    world.publish("1.1.0");
    let tmpfs = Tmpfs::mount_or_skip(case, &world.home.join(under), 256 * MIB, "")?;
    world.install("1.0.0");
    Some((world, tmpfs))
}

/// The update fails with `needle` and `hint` in its message, and changes
/// nothing; then `repair` makes room and the update goes through.
fn fails_cleanly_then_recovers(world: &World, needles: &[&str], repair: impl FnOnce()) {
    let before = world.snapshot();
    let mut run = world.pane(&["self", "update"]);
    eprintln!("{run}");
    for needle in needles {
        run = run.fails_with(needle);
    }
    before.assert_same(&world.snapshot());
    assert_no_temp_files(&world.home);
    assert_eq!(world.installed_version(), "1.0.0");
    repair();
    world.pane(&["self", "update"]).success();
    assert_eq!(world.installed_version(), "1.1.0");
    assert_no_temp_files(&world.home);
}

// ------------------------------------------------------------- full disks

#[test]
fn full_disk_under_the_download() {
    let Some((world, data)) = world_with_tmpfs("download on a full disk", ".local/share") else {
        return;
    };
    data.leave_free(archive_len(&world, "1.1.0") / 2);
    fails_cleanly_then_recovers(
        &world,
        &[
            "could not write the download",
            "no space left",
            "hint: the disk is full",
        ],
        || data.leave_free(256 * MIB),
    );
}

#[test]
fn full_disk_under_the_staging() {
    let Some((world, bin)) = world_with_tmpfs("staging on a full disk", ".local/bin") else {
        return;
    };
    bin.leave_free(binary_len("1.1.0") / 2);
    fails_cleanly_then_recovers(
        &world,
        &[
            "could not write the unpacked binary",
            "hint: the disk is full",
        ],
        || bin.leave_free(256 * MIB),
    );
}

#[test]
fn full_disk_under_the_receipt() {
    let Some((world, data)) = world_with_tmpfs("receipt on a full disk", ".local/share") else {
        return;
    };
    // Room for the lock's record (a page), the download (smaller than the
    // binary, and gone before keeping starts) and keeping the new binary,
    // and not one page more: the receipt's journal is the write that fails.
    data.leave_free(4096 + binary_len("1.1.0"));
    fails_cleanly_then_recovers(
        &world,
        &[
            "could not write the install receipt",
            "hint: the disk is full",
        ],
        || data.leave_free(256 * MIB),
    );
}

#[test]
fn full_disk_under_keeping_the_versions() {
    let Some((world, data)) = world_with_tmpfs("keeping on a full disk", ".local/share") else {
        return;
    };
    // The outgoing version's folder is gone (its binary is listed but not
    // there), so the update keeps a copy of the installed binary first.
    std::fs::remove_dir_all(world.data_dir.join("versions/1.0.0")).unwrap();
    // Room for the lock's record, that copy, and half of the incoming one
    // (a copy too: the data dir is another filesystem than the install
    // dir's, so no hard link). Both folders this update made must go.
    data.leave_free(4096 + binary_len("1.0.0") + binary_len("1.1.0") / 2);
    fails_cleanly_then_recovers(
        &world,
        &["could not keep a copy", "hint: the disk is full"],
        || {
            for version in ["1.0.0", "1.1.0"] {
                let dir = world.data_dir.join("versions").join(version);
                assert!(!dir.exists(), "{} was left", dir.display());
            }
            data.leave_free(256 * MIB)
        },
    );
    assert!(world.data_dir.join("versions/1.0.0/pane").is_file());
}

/// `ulimit -f` for one run, in the 512-byte blocks of POSIX `sh`.
fn with_file_size_limit(world: &World, bytes: u64, args: &[&str]) -> Run {
    let mut command = world.command(Path::new("/bin/sh"));
    command
        .arg("-c")
        .arg(format!("ulimit -f {} && exec \"$0\" \"$@\"", bytes / 512))
        .arg(world.install_path())
        .args(args);
    Run::from(command.output().unwrap())
}

#[test]
fn file_size_limit_under_the_download_and_the_staging() {
    // No privilege needed: this runs everywhere. Without pane ignoring
    // SIGXFSZ, the kernel would kill it without a word at the limit.
    let world = World::installed(&["1.0.0", "1.1.0"]);
    let (archive, binary) = (archive_len(&world, "1.1.0"), binary_len("1.1.0"));
    assert!(archive < binary, "the test needs a binary that compresses");
    for (limit, needle) in [
        (archive / 2, "could not write the download"),
        (
            (archive + binary) / 2,
            "could not write the unpacked binary",
        ),
    ] {
        let before = world.snapshot();
        let run = with_file_size_limit(&world, limit, &["self", "update"]);
        eprintln!("{run}");
        assert_eq!(run.signal, None, "killed by a signal:\n{run}");
        run.fails_with(needle)
            .fails_with("hint: a file size limit (ulimit -f) stopped the write");
        before.assert_same(&world.snapshot());
        assert_no_temp_files(&world.home);
    }
    world.pane(&["self", "update"]).success();
    assert_eq!(world.installed_version(), "1.1.0");
}

// ------------------------------------------------------------- odd places

#[test]
fn install_dir_and_data_dir_on_different_filesystems() {
    for under in [".local/bin", ".local/share"] {
        let case = format!("{under} on its own filesystem");
        let Some((world, _tmpfs)) = world_with_tmpfs(&case, under) else {
            return;
        };
        world.pane(&["self", "update"]).success();
        assert_eq!(world.installed_version(), "1.1.0", "{case}");
        world.pane(&["self", "rollback"]).success();
        assert_eq!(world.installed_version(), "1.0.0", "{case}");
        world.pane(&["self", "unpin"]).success();
        world.pane(&["self", "update"]).success();
        assert_eq!(world.installed_version(), "1.1.0", "{case}");
        assert_no_temp_files(&world.home);
    }
}

#[test]
fn install_path_reached_through_a_symlink() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    // The binary lives elsewhere (a dotfiles manager's doing), on another
    // filesystem where this machine allows it, so a rename across would fail.
    let apps = world.home.join("apps/pane");
    let _tmpfs = Tmpfs::mount_or_skip(
        "the symlink's target on another filesystem (on the same one instead)",
        &apps,
        128 * MIB,
        "",
    );
    std::fs::create_dir_all(&apps).unwrap();
    let real = apps.join("pane");
    std::fs::copy(world.install_path(), &real).unwrap();
    std::fs::remove_file(world.install_path()).unwrap();
    std::os::unix::fs::symlink(&real, world.install_path()).unwrap();

    for (args, version) in [
        (&["self", "update"][..], "1.1.0"),
        (&["self", "rollback"], "1.0.0"),
    ] {
        world.pane(args).success();
        let link = std::fs::symlink_metadata(world.install_path()).unwrap();
        assert!(link.file_type().is_symlink(), "the link was replaced");
        assert_eq!(std::fs::read_link(world.install_path()).unwrap(), real);
        assert_eq!(world.installed_version(), version);
        let target = world.run(&real, &["--version"], &[]).success();
        assert_eq!(target.stdout.trim(), format!("pane {version}"));
        assert_no_temp_files(&world.home);
    }
}

/// A symlinked install path is swapped by staging again beside the file it
/// points to; a kill before the rename leaves that staged binary there, in a
/// directory that is not pane's. The next command that takes the lock
/// removes it and nothing else there, and so does uninstall.
#[test]
fn a_staged_binary_left_beside_a_symlinks_target_is_removed() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    let apps = world.home.join("apps/pane");
    std::fs::create_dir_all(&apps).unwrap();
    let real = apps.join("pane");
    std::fs::copy(world.install_path(), &real).unwrap();
    std::fs::remove_file(world.install_path()).unwrap();
    std::os::unix::fs::symlink(&real, world.install_path()).unwrap();
    // Not pane's: a name of the same prefix that pane never stages.
    let theirs = apps.join(".pane-tmp-notes");
    std::fs::write(&theirs, "the user's\n").unwrap();
    let staged = apps.join(".pane-tmp-staged-999999-0-0123456789abcdef");

    std::fs::copy(&real, &staged).unwrap();
    let run = world.pane(&["self", "unpin"]).success();
    assert!(run.stderr.contains("removed leftovers"), "{run}");
    assert!(!staged.exists(), "the staged binary was left");
    world.pane(&["self", "update"]).success();
    assert_eq!(world.installed_version(), "1.1.0");

    std::fs::copy(&real, &staged).unwrap();
    world.pane(&["self", "uninstall", "--yes"]).success();
    assert!(!staged.exists(), "uninstall left the staged binary");
    assert_eq!(std::fs::read_to_string(&theirs).unwrap(), "the user's\n");
    assert!(real.is_file(), "the link's target was removed");
}

/// Undoes a change to the machine when dropped (also when a check panics,
/// so the temp dir can go). Declare it after the `World`.
struct Undo(Box<dyn Fn()>);

impl Drop for Undo {
    fn drop(&mut self) {
        (self.0)();
    }
}

/// Makes `dir` unwritable by whatever works here: permissions for a normal
/// user, a read-only bind mount or the immutable flag for root. Returns the
/// undo, or says why nothing worked.
fn make_read_only(dir: &Path) -> Result<Undo, String> {
    use std::os::unix::fs::PermissionsExt;
    let writable = || {
        let probe = dir.join(".probe");
        let ok = std::fs::write(&probe, b"").is_ok();
        let _ = std::fs::remove_file(&probe);
        ok
    };
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    if !writable() {
        let dir = dir.to_path_buf();
        return Ok(Undo(Box::new(move || {
            let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755));
        })));
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Root ignores permissions.
    let bind = run_tool(Command::new("mount").arg("--bind").arg(dir).arg(dir)).and_then(|_| {
        run_tool(
            Command::new("mount")
                .args(["-o", "remount,bind,ro"])
                .arg(dir),
        )
        .inspect_err(|_| drop(Command::new("umount").arg(dir).output()))
    });
    if bind.is_ok() && !writable() {
        let dir = dir.to_path_buf();
        return Ok(Undo(Box::new(move || {
            let _ = Command::new("umount").arg(&dir).output();
        })));
    }
    let chattr = run_tool(Command::new("chattr").arg("+i").arg(dir));
    if chattr.is_ok() && !writable() {
        let dir = dir.to_path_buf();
        return Ok(Undo(Box::new(move || {
            let _ = Command::new("chattr").arg("-i").arg(&dir).output();
        })));
    }
    Err(format!(
        "0555 does not stop this user, and neither a read-only bind mount ({}) nor chattr +i ({}) worked",
        bind.err().unwrap_or_default(),
        chattr.err().unwrap_or_default()
    ))
}

#[test]
fn read_only_install_dir() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    let _undo = match make_read_only(&world.bin_dir) {
        Ok(undo) => undo,
        Err(why) => {
            skip("read-only install dir", &why);
            return;
        }
    };
    let before = world.snapshot();
    let run = world.pane(&["self", "update"]);
    eprintln!("{run}");
    run.fails_with(&world.bin_dir.display().to_string())
        .fails_with("pane self install --install-dir");
    before.assert_same(&world.snapshot());
    assert_no_temp_files(&world.home);
    // The way out the hint gives: install elsewhere, update from there.
    let elsewhere = world.home.join("bin");
    let dir = elsewhere.display().to_string();
    world
        .pane(&["self", "install", "--install-dir", &dir, "--no-modify-path"])
        .success();
    world
        .run(&elsewhere.join("pane"), &["self", "update"], &[])
        .success();
    let moved = world
        .run(&elsewhere.join("pane"), &["--version"], &[])
        .success();
    assert_eq!(moved.stdout.trim(), "pane 1.1.0");
}

#[test]
fn noexec_temp_dir() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    let tmp = world.tmp.path().join("tmp");
    let Some(_tmpfs) = Tmpfs::mount_or_skip("noexec TMPDIR", &tmp, 64 * MIB, "noexec") else {
        return;
    };
    let tmpdir = tmp.display().to_string();
    // pane stages in the install dir, so a noexec /tmp cannot stop the
    // smoke test; nothing is written to TMPDIR at all.
    world
        .pane_env(&["self", "update"], &[("TMPDIR", &tmpdir)])
        .success();
    assert_eq!(world.installed_version(), "1.1.0");
    world
        .pane_env(&["self", "rollback"], &[("TMPDIR", &tmpdir)])
        .success();
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
}

// -------------------------------------------- a receipt and a missing binary

#[test]
fn receipt_pointing_at_a_missing_binary() {
    // The user removed things behind pane's back, and still has the pane
    // they once downloaded.
    let downloaded = build_pane("1.0.0");
    // What the error says first (docs/robustness.md), before its hint.
    for (case, removed, error) in [
        ("the binary", &["pane"][..], ""),
        (
            "the binary and the kept versions",
            &["pane", "versions"],
            "error: could not keep a copy of ",
        ),
        (
            "the install dir",
            &["bin"],
            "error: could not create a file in ",
        ),
    ] {
        let world = World::installed(&["1.0.0", "1.1.0"]);
        for what in removed {
            match *what {
                "pane" => std::fs::remove_file(world.install_path()).unwrap(),
                "versions" => std::fs::remove_dir_all(world.data_dir.join("versions")).unwrap(),
                _ => std::fs::remove_dir_all(&world.bin_dir).unwrap(),
            }
        }
        let status = world.run(&downloaded, &["self", "status"], &[]).success();
        assert!(status.stdout.contains("is missing"), "{case}: {status}");
        let json = world
            .run(&downloaded, &["self", "status", "--json"], &[])
            .success()
            .json();
        assert_eq!(json["binary_missing"], true, "{case}");
        if case == "the binary" {
            // The kept copy is enough: the update puts a binary back.
            world.run(&downloaded, &["self", "update"], &[]).success();
        } else {
            let before = world.snapshot();
            let run = world.run(&downloaded, &["self", "update"], &[]);
            eprintln!("removed {case}: {run}");
            run.fails_with(error)
                .fails_with("is missing")
                .fails_with("run `pane self install`");
            before.assert_same(&world.snapshot());
            // The way out the hint gives.
            world
                .run(&downloaded, &["self", "install", "--no-modify-path"], &[])
                .success();
            world.pane(&["self", "update"]).success();
        }
        assert_eq!(world.installed_version(), "1.1.0", "removed {case}");
        assert_no_temp_files(&world.home);
    }
}

#[test]
fn full_disk_under_the_path_set_up() {
    let world = World::new();
    world.publish("1.0.0");
    // The fish file's directory is on a full filesystem: one page, filled.
    let config = world.home.join(".config");
    let Some(_tmpfs) = Tmpfs::mount_or_skip("PATH set-up on a full disk", &config, 4096, "") else {
        return;
    };
    std::fs::write(config.join("filler"), vec![0u8; 4096]).unwrap();
    std::fs::write(world.home.join(".bashrc"), "# the user's\n").unwrap();
    let before = world.snapshot();
    let run = world
        .run(&build_pane("1.0.0"), &["self", "install"], &[])
        .fails_with("cannot write")
        .fails_with("hint: the disk is full");
    eprintln!("{run}");
    // Nothing installed, no profile touched, no file of pane's left behind.
    before.assert_same(&world.snapshot());
    assert!(!world.install_path().exists());
    assert_no_temp_files(&world.home);
}

#[test]
fn an_install_that_fails_after_the_path_set_up_takes_it_back() {
    let world = World::new();
    world.publish("1.0.0");
    std::fs::write(world.home.join(".bashrc"), "# the user's\n").unwrap();
    // The install path is taken by a directory: the swap fails after the
    // profiles got their lines.
    std::fs::create_dir_all(world.install_path()).unwrap();
    let before = world.snapshot();
    world
        .run(&build_pane("1.0.0"), &["self", "install"], &[])
        .fails_with("could not replace");
    before.assert_same(&world.snapshot());
    assert!(world.install_path().is_dir());
    assert_no_temp_files(&world.home);
}

/// A re-install whose profile lines the old receipt already records (the user took one out
/// by hand, deleted a profile pane made) and that then fails: every profile as it was.
#[test]
fn a_failed_re_install_leaves_the_profiles_as_they_were() {
    let world = World::new();
    std::fs::write(world.home.join(".bashrc"), "# the user's\n").unwrap();
    world
        .run(&build_pane("1.0.0"), &["self", "install"], &[])
        .success();
    // The user takes pane's line out of .bashrc and deletes the .profile pane made.
    std::fs::write(world.home.join(".bashrc"), "# the user's\n").unwrap();
    std::fs::remove_file(world.home.join(".profile")).unwrap();
    // The swap will fail after the PATH set-up (as in the test above).
    std::fs::remove_file(world.install_path()).unwrap();
    std::fs::create_dir_all(world.install_path()).unwrap();
    let before = world.snapshot();
    world
        .run(&build_pane("1.1.0"), &["self", "install"], &[])
        .fails_with("could not replace");
    before.assert_same(&world.snapshot());
}

/// A profile that holds pane's line and can no longer be rewritten (a dotfiles manager moved
/// it into a read-only store) must not make every uninstall fail: the line is named, to
/// remove by hand, as for an unfinished install's lines.
#[test]
fn a_profile_that_became_read_only_does_not_block_uninstall() {
    use std::os::unix::fs::PermissionsExt;
    let world = World::new();
    let store = world.home.join("store");
    std::fs::create_dir(&store).unwrap();
    std::fs::write(store.join("bashrc"), "# the user's\n").unwrap();
    std::os::unix::fs::symlink(store.join("bashrc"), world.home.join(".bashrc")).unwrap();
    world
        .run(&build_pane("1.0.0"), &["self", "install"], &[])
        .success();
    std::fs::set_permissions(store.join("bashrc"), std::fs::Permissions::from_mode(0o444)).unwrap();
    let _undo = match make_read_only(&store) {
        Ok(undo) => undo,
        Err(why) => {
            skip("read-only profile", &why);
            return;
        }
    };
    let run = world.pane(&["self", "uninstall", "--yes"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(!world.install_path().exists());
    assert!(!world.receipt_path().exists());
    // The line is named, to take out by hand, and the file it reads stays, or
    // every login would stop at a missing file.
    let said = format!("{}{}", run.stdout, run.stderr);
    assert!(
        said.contains("pane.env\"` out of") && said.contains("remove it yourself"),
        "{run}"
    );
    assert!(std::fs::read_to_string(store.join("bashrc"))
        .unwrap()
        .contains("pane.env"));
    assert!(world.bin_dir.join("pane.env").is_file(), "{run}");
}

/// A shell's directory pane may not write (fish's, a link into a read-only store): the hint
/// names the way out that works, leaving the PATH set-up out, not another install dir, which
/// would meet the same directory.
#[test]
fn a_shell_dir_pane_may_not_write_names_the_way_out() {
    let world = World::new();
    let fish = world.home.join(".config/fish");
    std::fs::create_dir_all(&fish).unwrap();
    let _undo = match make_read_only(&fish) {
        Ok(undo) => undo,
        Err(why) => {
            skip("read-only fish dir", &why);
            return;
        }
    };
    let before = world.snapshot();
    let run = world
        .run(&build_pane("1.0.0"), &["self", "install"], &[])
        .fails_with("cannot be written here")
        .fails_with("--no-modify-path (all of the PATH set-up)");
    assert!(!run.stderr.contains("--install-dir"), "{run}");
    before.assert_same(&world.snapshot());
    world
        .run(
            &build_pane("1.0.0"),
            &["self", "install", "--no-modify-path"],
            &[],
        )
        .success();
    assert_eq!(world.installed_version(), "1.0.0");
}
