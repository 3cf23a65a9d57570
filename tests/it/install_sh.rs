//! `install.sh` against a real release server (`xtask::server`) and real pane binaries, under
//! dash, BusyBox sh and bash, and a fresh install under plain zsh too. Each run gets its own
//! HOME, XDG dirs and TMPDIR in a temporary directory (never the real HOME), trusts a key made
//! at test time, and installs the build for the host's triple (`PANE_TARGET`).
//!
//! The invariant every refusal is checked against: a non-zero exit, a `pane-install: error:`
//! that says what went wrong, no file under the sandbox's HOME or XDG dirs, and no temporary
//! directory left behind.

use crate::common::timed_tree;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use xtask::fixtures::{host_target, Release, TestKey};
use xtask::server::{Fault, Server};

/// The shells install.sh must run under, as argv prefixes.
const SHELLS: &[&[&str]] = &[&["dash"], &["busybox", "sh"], &["bash"]];

/// A PATH with the usual system tools and nothing from the developer's own set-up.
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn install_sh() -> PathBuf {
    repo_root().join("install.sh")
}

fn shell_name(shell: &[&str]) -> String {
    shell.join(" ")
}

/// [`SHELLS`] and plain zsh, as `curl … | zsh` runs the script (zsh's own rules, not `zsh
/// --emulate sh`). Without zsh, the zsh case is skipped; with `CI` set a missing zsh fails
/// (`.ci/run` installs it).
fn shells_and_zsh() -> Vec<&'static [&'static str]> {
    let mut shells = SHELLS.to_vec();
    let zsh = SYSTEM_PATH
        .split(':')
        .any(|dir| Path::new(dir).join("zsh").is_file());
    if zsh {
        shells.push(&["zsh"]);
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "zsh is missing, and CI is set: .ci/run installs it"
        );
        eprintln!("skipped under zsh: zsh is not installed");
    }
    shells
}

// ---------------------------------------------------------------------------------------------
// Fixtures

/// Releases 1.0.0 and 1.1.0 of real pane builds, signed with a test key, written once per test
/// process and shared read-only; each test starts its own server over them.
struct Shared {
    key: TestKey,
    root: PathBuf,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let key = TestKey::generate();
        let root = fixtures_dir("releases");
        Release::new("1.0.0").write(&root, &key);
        Release::new("1.1.0").write(&root, &key);
        Shared { key, root }
    })
}

/// A stand-in for pane: a small script that records how it was called (`$PANE_RECORD`) and
/// exits with `$PANE_RECORD_EXIT`. For the tests about what install.sh does up to and at the
/// hand-over, which need no real binary (nor a build of one).
const STAND_IN: &str = "#!/bin/sh\n\
    if [ \"${1:-}\" = --version ]; then echo 'pane (stand-in)'; exit 0; fi\n\
    {\n\
    printf 'PANE_INSTALLER=%s\\n' \"$PANE_INSTALLER\"\n\
    for arg in \"$@\"; do printf 'arg=%s\\n' \"$arg\"; done\n\
    } >\"${PANE_RECORD:-/dev/null}\"\n\
    exit \"${PANE_RECORD_EXIT:-0}\"\n";

/// Signed releases of the stand-in, in a directory of their own (tests may change them).
struct Fake {
    key: TestKey,
    root: tempfile::TempDir,
    binary: PathBuf,
    _binary_dir: tempfile::TempDir,
}

impl Fake {
    fn new(versions: &[&str]) -> Fake {
        let key = TestKey::generate();
        let root = tempfile::Builder::new()
            .prefix("pane-releases-")
            .tempdir()
            .unwrap();
        let binary_dir = tempfile::tempdir().unwrap();
        let binary = binary_dir.path().join("pane");
        fs::write(&binary, STAND_IN).unwrap();
        fs::set_permissions(&binary, fs::Permissions::from_mode(0o755)).unwrap();
        let fake = Fake {
            key,
            root,
            binary,
            _binary_dir: binary_dir,
        };
        for version in versions {
            fake.release(version).write(fake.root.path(), &fake.key);
        }
        fake
    }

    /// A release of the stand-in, to adjust before writing.
    fn release(&self, version: &str) -> Release {
        Release::new(version).binary(&self.binary)
    }

    fn root(&self) -> &Path {
        self.root.path()
    }

    fn key_line(&self) -> String {
        self.key.public_key_line()
    }
}

/// What the stand-in recorded: `PANE_INSTALLER=…` then one `arg=…` line per argument.
fn recorded(installer: &str, args: &[&str]) -> String {
    let mut text = format!("PANE_INSTALLER={installer}\n");
    for arg in args {
        text.push_str(&format!("arg={arg}\n"));
    }
    text
}

/// A fresh directory under cargo's per-target scratch dir for data that outlives one test
/// (statics are never dropped); old ones from earlier runs are cleared first.
fn fixtures_dir(what: &str) -> PathBuf {
    let parent = Path::new(env!("CARGO_TARGET_TMPDIR")).join("install-sh");
    fs::create_dir_all(&parent).unwrap();
    let prefix = format!("{what}-");
    if let Ok(entries) = fs::read_dir(&parent) {
        for entry in entries.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() > 3600);
            if old && entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
    tempfile::Builder::new()
        .prefix(&prefix)
        .tempdir_in(&parent)
        .unwrap()
        .keep()
}

fn start_server(root: &Path) -> Server {
    Server::start(root).expect("start the release server")
}

/// A throwaway user: HOME, XDG dirs and TMPDIR inside one temporary directory.
struct Sandbox {
    dir: tempfile::TempDir,
    env: BTreeMap<String, OsString>,
}

impl Sandbox {
    fn new(server: &Server, key_line: &str) -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("pane-install-sh-")
            .tempdir()
            .unwrap();
        for sub in ["home", "config", "data", "state", "cache", "tmp"] {
            fs::create_dir(dir.path().join(sub)).unwrap();
        }
        let p = |sub: &str| dir.path().join(sub).into_os_string();
        let mut env = BTreeMap::new();
        env.insert("PATH".into(), SYSTEM_PATH.into());
        env.insert("HOME".into(), p("home"));
        env.insert("XDG_CONFIG_HOME".into(), p("config"));
        env.insert("XDG_DATA_HOME".into(), p("data"));
        env.insert("XDG_STATE_HOME".into(), p("state"));
        env.insert("XDG_CACHE_HOME".into(), p("cache"));
        env.insert("TMPDIR".into(), p("tmp"));
        env.insert("PANE_RELEASES_URL".into(), server.releases_url().into());
        env.insert("PANE_RELEASES_API_URL".into(), server.api_url().into());
        env.insert("PANE_TARGET".into(), host_target().into());
        env.insert("PANE_INSTALL_PUBKEY".into(), key_line.into());
        env.insert("PANE_TEST_PUBKEY".into(), key_line.into());
        env.insert("PANE_NO_UPDATE_CHECK".into(), "1".into());
        Sandbox { dir, env }
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    fn home(&self) -> PathBuf {
        self.path("home")
    }

    fn set(&mut self, name: &str, value: impl Into<OsString>) -> &mut Self {
        self.env.insert(name.into(), value.into());
        self
    }

    fn unset(&mut self, name: &str) -> &mut Self {
        self.env.remove(name);
        self
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .env_clear()
            .envs(&self.env)
            .current_dir(self.dir.path());
        command
    }

    /// `sh install.sh ARGS`
    fn run(&self, shell: &[&str], args: &[&str]) -> Output {
        let mut command = self.command(shell[0]);
        command
            .args(&shell[1..])
            .arg(install_sh())
            .args(args)
            .stdin(Stdio::null());
        let output = command.output().expect("run the shell");
        self.assert_no_temp_left(shell);
        output
    }

    /// `... | sh -s -- ARGS`: the script on standard input, as `curl | sh` runs it.
    fn run_piped(&self, shell: &[&str], script: &[u8], args: &[&str]) -> Output {
        let mut command = self.command(shell[0]);
        command
            .args(&shell[1..])
            .arg("-s")
            .arg("--")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("run the shell");
        let mut stdin = child.stdin.take().unwrap();
        // The shell may stop reading early (a syntax error); a broken pipe is fine then.
        let _ = stdin.write_all(script);
        drop(stdin);
        let output = child.wait_with_output().unwrap();
        self.assert_no_temp_left(shell);
        output
    }

    fn assert_no_temp_left(&self, shell: &[&str]) {
        let left: Vec<_> = fs::read_dir(self.path("tmp"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(
            left.is_empty(),
            "{}: install.sh left temporary files: {left:?}",
            shell_name(shell)
        );
    }

    /// Every file and directory of the user's (HOME and XDG dirs).
    fn user_files(&self) -> Tree {
        let mut tree = Tree::new();
        for sub in ["home", "config", "data", "state", "cache"] {
            for (path, entry) in timed_tree(&self.dir.path().join(sub)) {
                tree.insert(Path::new(sub).join(path), entry);
            }
        }
        tree
    }

    /// What the stand-in records when install.sh hands over to `self install` with the default
    /// install dir, `~/.local/bin`, then `args`.
    fn handed_over(&self, args: &[&str]) -> String {
        let dir = self.home().join(".local/bin");
        let mut all = vec!["self", "install", "--install-dir", dir.to_str().unwrap()];
        all.extend_from_slice(args);
        recorded("install.sh", &all)
    }

    fn installed_version(&self, binary: &Path) -> String {
        let output = self
            .command(binary.to_str().unwrap())
            .arg("--version")
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", binary.display()));
        assert!(output.status.success(), "{}", describe(&output));
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    }
}

/// Path (relative to the sandbox) → what is there: kind, contents or link target, mode, mtime.
type Tree = BTreeMap<PathBuf, (String, Vec<u8>, u32, i64, i64)>;

/// The top directories alone: what a sandbox holds before anything is installed.
fn is_empty_user(tree: &Tree) -> bool {
    tree.values().all(|(kind, ..)| kind == "dir") && tree.len() == 5
}

fn describe(output: &Output) -> String {
    format!(
        "exit status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[track_caller]
fn assert_success(shell: &[&str], output: &Output) {
    assert!(
        output.status.success(),
        "{}: install.sh failed\n{}",
        shell_name(shell),
        describe(output)
    );
}

/// The refusal invariant: exit 1, the named error, and nothing of the user's changed.
#[track_caller]
fn assert_refused(shell: &[&str], sandbox: &Sandbox, output: &Output, expected: &[&str]) {
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}: expected a refusal\n{}",
        shell_name(shell),
        describe(output)
    );
    let err = stderr(output);
    assert!(
        err.contains("pane-install: error:"),
        "{}: no error line\n{err}",
        shell_name(shell)
    );
    for needle in expected {
        assert!(
            err.contains(needle),
            "{}: stderr lacks {needle:?}\n{err}",
            shell_name(shell)
        );
    }
    let files = sandbox.user_files();
    assert!(
        is_empty_user(&files),
        "{}: a refused install left files: {:?}",
        shell_name(shell),
        files.keys().collect::<Vec<_>>()
    );
}

fn receipt_text(sandbox: &Sandbox) -> String {
    let path = sandbox.path("data/pane/install-receipt.json");
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// Installs that succeed

#[test]
fn fresh_install_of_the_latest_release_under_each_shell() {
    let fixture = shared();
    let server = start_server(&fixture.root);
    // Two trusted keys, one a line, the signing one second, as the embedded keys come: each is
    // tried in turn (zsh splits the list only when told to).
    let other = TestKey::generate();
    let keys = format!(
        "{}\n{}",
        other.public_key_line(),
        fixture.key.public_key_line()
    );
    for shell in shells_and_zsh() {
        let mut sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
        sandbox.set("PANE_INSTALL_PUBKEY", &keys);
        let output = sandbox.run(shell, &["--yes"]);
        assert_success(shell, &output);
        let err = stderr(&output);
        assert!(
            err.contains("pane-install: trusting the public key from PANE_INSTALL_PUBKEY"),
            "{err}"
        );
        assert!(
            err.contains("verified the signature of SHA256SUMS for pane 1.1.0"),
            "{err}"
        );
        let binary = sandbox.home().join(".local/bin/pane");
        assert_eq!(sandbox.installed_version(&binary), "pane 1.1.0");
        assert!(receipt_text(&sandbox).contains("install.sh"));

        // The profile now puts the install dir on PATH for a new login shell.
        let profile = fs::read_to_string(sandbox.home().join(".profile")).unwrap();
        assert_eq!(profile, ". \"$HOME/.local/bin/pane.env\"\n");
        let found = sandbox
            .command(shell[0])
            .args(&shell[1..])
            .arg("-c")
            .arg(". \"$HOME/.profile\"; command -v pane")
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&found.stdout).trim(),
            binary.to_str().unwrap(),
            "{}",
            describe(&found)
        );
    }
}

#[test]
fn the_script_piped_into_sh_installs_too() {
    let fixture = shared();
    let server = start_server(&fixture.root);
    let script = fs::read(install_sh()).unwrap();
    let keys = format!(
        "{}\n{}",
        TestKey::generate().public_key_line(),
        fixture.key.public_key_line()
    );
    for shell in shells_and_zsh() {
        let mut sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
        sandbox.set("PANE_INSTALL_PUBKEY", &keys);
        let output = sandbox.run_piped(shell, &script, &["--version", "1.0.0", "--yes"]);
        assert_success(shell, &output);
        assert_eq!(
            sandbox.installed_version(&sandbox.home().join(".local/bin/pane")),
            "pane 1.0.0"
        );
    }
}

#[test]
fn a_pinned_version_from_the_flag_or_the_environment() {
    let fixture = shared();
    let server = start_server(&fixture.root);
    for shell in SHELLS {
        let sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
        let output = sandbox.run(shell, &["--version", "1.0.0", "--yes"]);
        assert_success(shell, &output);
        assert!(stderr(&output).contains("installing pane 1.0.0"));
        assert_eq!(
            sandbox.installed_version(&sandbox.home().join(".local/bin/pane")),
            "pane 1.0.0"
        );

        // PANE_VERSION, with the tag's "v", does the same.
        let mut sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
        sandbox.set("PANE_VERSION", "v1.0.0");
        let output = sandbox.run(shell, &[]);
        assert_success(shell, &output);
        assert_eq!(
            sandbox.installed_version(&sandbox.home().join(".local/bin/pane")),
            "pane 1.0.0"
        );
    }
    // Only the files of that version were asked for: no "latest", no API.
    let paths: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.path_only().to_string())
        .collect();
    assert!(
        paths.iter().all(|p| p.contains("/download/v1.0.0/")),
        "{paths:#?}"
    );
}

#[test]
fn a_custom_install_dir_from_the_flag_or_the_environment() {
    let fixture = shared();
    let server = start_server(&fixture.root);
    for shell in SHELLS {
        let sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
        // Outside HOME and with a space: the profile line names it in full, quoted.
        let dir = sandbox.path("opt/my tools/bin");
        let output = sandbox.run(shell, &["--install-dir", dir.to_str().unwrap(), "--yes"]);
        assert_success(shell, &output);
        assert_eq!(sandbox.installed_version(&dir.join("pane")), "pane 1.1.0");
        assert!(!sandbox.home().join(".local/bin/pane").exists());
        let profile = fs::read_to_string(sandbox.home().join(".profile")).unwrap();
        assert_eq!(profile, format!(". \"{}/pane.env\"\n", dir.display()));

        let mut sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
        let dir = sandbox.home().join("bin");
        sandbox.set("PANE_INSTALL_DIR", &dir);
        sandbox.set("PANE_NO_MODIFY_PATH", "1");
        let output = sandbox.run(shell, &[]);
        assert_success(shell, &output);
        assert_eq!(sandbox.installed_version(&dir.join("pane")), "pane 1.1.0");
        // PANE_NO_MODIFY_PATH: no profile, no env file.
        assert!(!sandbox.home().join(".profile").exists());
        assert!(!dir.join("pane.env").exists());

        // A leading `~` that no shell expanded (`--install-dir=~/bin`, a quoted variable) is
        // the home directory, as a shell would have made it; nothing goes to ./~.
        for (args, env) in [
            (&["--install-dir=~/bin", "--yes"][..], None),
            (&["--yes"][..], Some("~/bin")),
        ] {
            let mut sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
            if let Some(value) = env {
                sandbox.set("PANE_INSTALL_DIR", value);
            }
            let output = sandbox.run(shell, args);
            assert_success(shell, &output);
            let dir = sandbox.home().join("bin");
            assert_eq!(sandbox.installed_version(&dir.join("pane")), "pane 1.1.0");
            let profile = fs::read_to_string(sandbox.home().join(".profile")).unwrap();
            assert_eq!(profile, ". \"$HOME/bin/pane.env\"\n");
            assert!(!sandbox.path("~").exists(), "{}", shell_name(shell));
        }
    }
}

#[test]
fn running_it_again_changes_nothing() {
    let fixture = shared();
    let server = start_server(&fixture.root);
    for shell in SHELLS {
        let sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
        fs::write(sandbox.home().join(".bashrc"), "alias ll='ls -l'\n").unwrap();
        assert_success(shell, &sandbox.run(shell, &["--yes"]));
        let before = sandbox.user_files();
        let output = sandbox.run(shell, &["--yes"]);
        assert_success(shell, &output);
        let after = sandbox.user_files();
        // The update lock is pane's own bookkeeping (it records who holds it), not the user's.
        let lock = PathBuf::from("data/pane/update.lock");
        let changed: Vec<_> = after
            .iter()
            .filter(|(path, _)| **path != lock)
            .filter(|(path, entry)| before.get(*path) != Some(entry))
            .map(|(path, _)| path)
            .chain(before.keys().filter(|path| !after.contains_key(*path)))
            .collect();
        assert!(
            changed.is_empty(),
            "{}: the second run changed {changed:?}\n{}",
            shell_name(shell),
            describe(&output)
        );
        let bashrc = fs::read_to_string(sandbox.home().join(".bashrc")).unwrap();
        assert_eq!(
            bashrc,
            "alias ll='ls -l'\n. \"$HOME/.local/bin/pane.env\"\n"
        );
    }
}

#[test]
fn install_sh_then_pane_self_uninstall_leaves_the_home_as_it_was() {
    let fixture = shared();
    let server = start_server(&fixture.root);
    for shell in SHELLS {
        let sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
        fs::write(sandbox.home().join(".profile"), "export EDITOR=vi").unwrap();
        fs::write(sandbox.home().join(".bashrc"), "alias ll='ls -l'\n").unwrap();
        let before = sandbox.user_files();
        assert_success(shell, &sandbox.run(shell, &["--yes"]));
        let output = sandbox
            .command(sandbox.home().join(".local/bin/pane").to_str().unwrap())
            .args(["self", "uninstall", "--yes"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", describe(&output));
        let mut after = sandbox.user_files();
        // The install dir was made for the binary; an empty one may stay.
        for dir in ["home/.local/bin", "home/.local"] {
            let path = PathBuf::from(dir);
            let empty = after
                .keys()
                .filter(|p| p.starts_with(&path) && **p != path)
                .all(|p| p == Path::new("home/.local/bin"));
            if empty {
                after.remove(&path);
            }
        }
        let without_time = |tree: &Tree| -> BTreeMap<PathBuf, (String, Vec<u8>, u32)> {
            tree.iter()
                .map(|(path, (kind, contents, mode, ..))| {
                    (path.clone(), (kind.clone(), contents.clone(), *mode))
                })
                .collect()
        };
        assert_eq!(
            without_time(&after),
            without_time(&before),
            "{}: uninstall did not restore the home\n{}",
            shell_name(shell),
            describe(&output)
        );
    }
}

#[test]
fn works_when_home_is_unset() {
    // HOME comes from the password database then. A `getent` of the sandbox's
    // own answers for it (the real one would name the real home of whoever
    // runs the tests), and `dscl` is hidden: the install must land in the
    // home it names, so a script that ignored the lookup would fail here.
    let fixture = shared();
    let server = start_server(&fixture.root);
    for shell in SHELLS {
        let mut sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
        let home = sandbox.home();
        let tools = tools_dir(&["getent", "dscl"]);
        let getent = tools.path().join("getent");
        fs::write(
            &getent,
            format!(
                "#!/bin/sh\n[ \"$1\" = passwd ] || exit 2\necho \"$2:x:1000:1000::{}:/bin/sh\"\n",
                home.display()
            ),
        )
        .unwrap();
        fs::set_permissions(&getent, fs::Permissions::from_mode(0o755)).unwrap();
        sandbox.set("PATH", tools.path()).unset("HOME");
        let output = sandbox.run(shell, &["--no-modify-path", "--yes"]);
        assert_success(shell, &output);
        let dir = home.join(".local/bin");
        assert_eq!(sandbox.installed_version(&dir.join("pane")), "pane 1.1.0");
        let receipt: serde_json::Value = serde_json::from_str(&receipt_text(&sandbox)).unwrap();
        assert_eq!(receipt["installed_by"], "install.sh", "{receipt}");
        assert_eq!(receipt["install_dir"], dir.to_str().unwrap(), "{receipt}");
        assert_eq!(receipt["profile_edits"], serde_json::json!([]), "{receipt}");
        assert_eq!(receipt["created_files"], serde_json::json!([]), "{receipt}");
    }
}

#[test]
fn curl_or_wget() {
    let fake = Fake::new(&["1.0.0"]);
    let server = start_server(fake.root());
    // GNU wget and BusyBox wget, with curl out of sight.
    let gnu_wget = which("wget");
    let busybox = which("busybox");
    for (name, wget) in [("GNU wget", gnu_wget), ("BusyBox wget", busybox)] {
        let bin = tools_dir(&["curl", "wget"]);
        std::os::unix::fs::symlink(&wget, bin.path().join("wget")).unwrap();
        for shell in SHELLS {
            let mut sandbox = Sandbox::new(&server, &fake.key_line());
            sandbox.set("PATH", bin.path());
            sandbox.set("PANE_RECORD", sandbox.path("record"));
            let output = sandbox.run(shell, &["--version", "1.0.0", "--yes"]);
            assert!(output.status.success(), "{name}: {}", describe(&output));
            assert_eq!(
                fs::read_to_string(sandbox.path("record")).unwrap(),
                sandbox.handed_over(&["--yes"])
            );
        }
    }
    // And neither: a clear error.
    let bin = tools_dir(&["curl", "wget"]);
    for shell in SHELLS {
        let mut sandbox = Sandbox::new(&server, &fake.key_line());
        sandbox.set("PATH", bin.path());
        let output = sandbox.run(shell, &["--yes"]);
        assert_refused(shell, &sandbox, &output, &["neither curl nor wget"]);
    }
}

// ---------------------------------------------------------------------------------------------
// The hand-over to `pane self install`

/// (arguments, environment, the command line pane gets, `<HOME>` standing for the sandbox's)
type HandOverCase<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a [&'a str]);

#[test]
fn hands_over_to_the_verified_binary_with_the_options_given() {
    let fake = Fake::new(&["2.0.0"]);
    let server = start_server(fake.root());
    // The install dir is always named: the one install.sh checked is the one pane installs into.
    let cases: &[HandOverCase] = &[
        (
            &[],
            &[],
            &["self", "install", "--install-dir", "<HOME>/.local/bin"],
        ),
        (
            &["--yes"],
            &[],
            &[
                "self",
                "install",
                "--install-dir",
                "<HOME>/.local/bin",
                "--yes",
            ],
        ),
        (
            &["-y"],
            &[],
            &[
                "self",
                "install",
                "--install-dir",
                "<HOME>/.local/bin",
                "--yes",
            ],
        ),
        (
            &["--install-dir", "/x y/bin", "--no-modify-path", "--yes"],
            &[],
            &[
                "self",
                "install",
                "--install-dir",
                "/x y/bin",
                "--no-modify-path",
                "--yes",
            ],
        ),
        (
            &["--install-dir=/a"],
            &[],
            &["self", "install", "--install-dir", "/a"],
        ),
        (
            &[],
            &[("PANE_INSTALL_DIR", "/b"), ("PANE_NO_MODIFY_PATH", "1")],
            &["self", "install", "--install-dir", "/b", "--no-modify-path"],
        ),
        (
            &[],
            &[("PANE_NO_MODIFY_PATH", "0")],
            &["self", "install", "--install-dir", "<HOME>/.local/bin"],
        ),
        (
            &["--install-dir", "/c"],
            &[("PANE_INSTALL_DIR", "/b")],
            &["self", "install", "--install-dir", "/c"],
        ),
        (
            &[],
            &[("XDG_BIN_HOME", "/d")],
            &["self", "install", "--install-dir", "/d"],
        ),
        (
            &[],
            &[("XDG_BIN_HOME", "d")],
            &["self", "install", "--install-dir", "<HOME>/.local/bin"],
        ),
        (
            &["--install-dir=~/e"],
            &[],
            &["self", "install", "--install-dir", "<HOME>/e"],
        ),
        (
            &[],
            &[("PANE_INSTALL_DIR", "~")],
            &["self", "install", "--install-dir", "<HOME>"],
        ),
    ];
    for shell in SHELLS {
        for (args, env, expected) in cases {
            let mut sandbox = Sandbox::new(&server, &fake.key_line());
            let record = sandbox.path("record");
            sandbox.set("PANE_RECORD", &record);
            for (name, value) in *env {
                sandbox.set(name, *value);
            }
            let output = sandbox.run(shell, args);
            assert_success(shell, &output);
            let home = sandbox.home();
            let expected: Vec<String> = expected
                .iter()
                .map(|arg| arg.replace("<HOME>", home.to_str().unwrap()))
                .collect();
            let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
            assert_eq!(
                fs::read_to_string(&record).unwrap(),
                recorded("install.sh", &expected),
                "{} {args:?} {env:?}",
                shell_name(shell)
            );
        }
        // pane's own failure is the script's failure.
        let mut sandbox = Sandbox::new(&server, &fake.key_line());
        sandbox.set("PANE_RECORD", sandbox.path("record"));
        sandbox.set("PANE_RECORD_EXIT", "3");
        let output = sandbox.run(shell, &[]);
        assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
        assert!(stderr(&output).contains("pane self install failed (exit status 3)"));
        // 126: the shell could not run it (a noexec temporary directory).
        sandbox.set("PANE_RECORD_EXIT", "126");
        let output = sandbox.run(shell, &[]);
        assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
        assert!(stderr(&output).contains("mounted noexec? Set TMPDIR"));
    }
}

#[test]
fn a_pre_release_only_on_request() {
    let fake = Fake::new(&["2.0.0", "2.1.0-beta.1"]);
    let server = start_server(fake.root());
    for shell in SHELLS {
        let sandbox = Sandbox::new(&server, &fake.key_line());
        let output = sandbox.run(shell, &["--version", "2.1.0-beta.1"]);
        assert_success(shell, &output);
        assert!(
            stderr(&output).contains("verified the signature of SHA256SUMS for pane 2.1.0-beta.1")
        );
        let sandbox = Sandbox::new(&server, &fake.key_line());
        let output = sandbox.run(shell, &[]);
        assert_success(shell, &output);
        assert!(stderr(&output).contains("verified the signature of SHA256SUMS for pane 2.0.0"));
    }
}

#[test]
fn the_platform_decides_the_target() {
    // uname and sysctl stand-ins answer from the environment; no PANE_TARGET.
    let bin = tools_dir(&["uname", "sysctl"]);
    for (name, script) in [
        (
            "uname",
            "#!/bin/sh\ncase \"$1\" in -s) echo \"$FAKE_OS\" ;; -m) echo \"$FAKE_ARCH\" ;; *) echo \"$FAKE_OS\" ;; esac\n",
        ),
        (
            "sysctl",
            "#!/bin/sh\n[ -n \"$FAKE_TRANSLATED\" ] || exit 1\n[ \"$1 $2\" = '-n sysctl.proc_translated' ] && echo \"$FAKE_TRANSLATED\"\n",
        ),
    ] {
        let path = bin.path().join(name);
        fs::write(&path, script).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let fake = Fake::new(&["1.0.0"]);
    let server = start_server(fake.root());
    // (uname -s, uname -m, sysctl.proc_translated, target or None for unsupported)
    let cases = [
        ("Linux", "x86_64", "", Some("x86_64-unknown-linux-musl")),
        ("Linux", "amd64", "", Some("x86_64-unknown-linux-musl")),
        ("Linux", "aarch64", "", Some("aarch64-unknown-linux-musl")),
        ("Linux", "arm64", "", Some("aarch64-unknown-linux-musl")),
        ("Darwin", "arm64", "", Some("aarch64-apple-darwin")),
        ("Darwin", "x86_64", "", Some("x86_64-apple-darwin")),
        ("Darwin", "x86_64", "0", Some("x86_64-apple-darwin")),
        // Rosetta 2: an x86_64 shell on Apple silicon gets the native build.
        ("Darwin", "x86_64", "1", Some("aarch64-apple-darwin")),
        // Only macOS has Rosetta.
        ("Linux", "x86_64", "1", Some("x86_64-unknown-linux-musl")),
        ("FreeBSD", "amd64", "", None),
        ("Linux", "i686", "", None),
        ("Linux", "armv7l", "", None),
        ("MINGW64_NT-10.0", "x86_64", "", None),
    ];
    for shell in SHELLS {
        for (os, arch, translated, target) in cases {
            let mut sandbox = Sandbox::new(&server, &fake.key_line());
            sandbox.unset("PANE_TARGET");
            sandbox.set("PATH", bin.path());
            sandbox.set("FAKE_OS", os);
            sandbox.set("FAKE_ARCH", arch);
            sandbox.set("FAKE_TRANSLATED", translated);
            let output = sandbox.run(shell, &["--version", "1.0.0"]);
            match target {
                // The release has only the host's build, so the script says what it looked for.
                Some(target) => assert_refused(
                    shell,
                    &sandbox,
                    &output,
                    &[&format!(
                        "SHA256SUMS has no line for pane-1.0.0-{target}.tar.gz: this release has no build for {target}"
                    )],
                ),
                None => {
                    assert_refused(
                        shell,
                        &sandbox,
                        &output,
                        &[
                            &format!("there is no prebuilt pane for this platform ({os} {arch})"),
                            "Manual download",
                            &server.releases_url(),
                        ],
                    );
                }
            }
        }
    }
}

#[test]
fn usage_and_bad_arguments() {
    let fixture = Fake::new(&["1.0.0", "1.1.0"]);
    let server = start_server(fixture.root());
    for shell in SHELLS {
        let sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
        let output = sandbox.run(shell, &["--help"]);
        assert_success(shell, &output);
        let help = String::from_utf8_lossy(&output.stdout);
        for option in [
            "--version",
            "--install-dir",
            "--no-modify-path",
            "--yes",
            "PANE_RELEASES_URL",
            "PANE_REQUIRE_SIGNATURE",
        ] {
            assert!(help.contains(option), "{help}");
        }
        for (args, message) in [
            (&["--frobnicate"][..], "unknown option: --frobnicate"),
            (&["--version"][..], "--version needs a value"),
            (&["--install-dir"][..], "--install-dir needs a value"),
            (&["--version", "latest"][..], "not a version: latest"),
            (&["--version", "1.2"][..], "not a version: 1.2"),
            (&["--version", "1.2.0/../x"][..], "not a version"),
        ] {
            let output = sandbox.run(shell, args);
            assert_eq!(
                output.status.code(),
                Some(2),
                "{args:?}: {}",
                describe(&output)
            );
            assert!(stderr(&output).contains(message), "{}", describe(&output));
        }
        // No deadline is no PANE_INSTALL_TIMEOUT: 00 (which curl and timeout(1) read as none)
        // is refused as 0 is.
        for value in ["0", "00", "x", "1.5", "-1"] {
            let mut sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
            sandbox.set("PANE_INSTALL_TIMEOUT", value);
            let output = sandbox.run(shell, &["--yes"]);
            assert_eq!(
                output.status.code(),
                Some(2),
                "PANE_INSTALL_TIMEOUT={value}: {}",
                describe(&output)
            );
            assert!(
                stderr(&output).contains("PANE_INSTALL_TIMEOUT must be a number of seconds"),
                "{}",
                describe(&output)
            );
        }
        assert!(is_empty_user(&sandbox.user_files()));
    }
    assert!(server.requests().is_empty());
}

/// The lines of `text` from the heading `heading` to the next heading of its level or above.
fn doc_section<'a>(text: &'a str, heading: &str) -> &'a str {
    let start = text
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("no {heading:?}"));
    let level = heading.split(' ').next().unwrap();
    let rest = &text[start + heading.len() + 2..];
    let end = rest
        .match_indices("\n#")
        .find(|(at, _)| {
            let hashes = rest[at + 1..].split(' ').next().unwrap();
            hashes.len() <= level.len() && hashes.chars().all(|c| c == '#')
        })
        .map_or(rest.len(), |(at, _)| at);
    &rest[..end]
}

#[test]
fn the_reference_names_every_option_and_variable_of_the_help() {
    // docs/commands.md (the synopsis and the options) and docs/environment.md (the table) are
    // the reference for install.sh: what --help offers, they describe.
    let output = Command::new("sh")
        .arg(install_sh())
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    let help = String::from_utf8(output.stdout).unwrap();
    let commands = fs::read_to_string(repo_root().join("docs/commands.md")).unwrap();
    let commands = doc_section(&commands, "## `install.sh`");
    let synopsis = commands.split("```").nth(1).unwrap();
    let environment = fs::read_to_string(repo_root().join("docs/environment.md")).unwrap();
    let environment = doc_section(&environment, "## install.sh");
    let words = |text: &str| -> Vec<String> {
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .map(str::to_string)
            .collect()
    };
    let (options, variables) = help
        .split_once("ENVIRONMENT:")
        .expect("an ENVIRONMENT: section");
    let options = options
        .split_once("OPTIONS:")
        .expect("an OPTIONS: section")
        .1;
    for word in words(options) {
        if word.starts_with('-') && word.len() > 1 {
            assert!(
                synopsis.contains(&word) && commands.contains(&format!("`{word}")),
                "commands.md's install.sh section lacks {word}"
            );
        }
    }
    for word in words(variables) {
        if word.starts_with("PANE_") {
            assert!(
                environment.contains(&format!("| `{word}` |")),
                "environment.md's install.sh table lacks {word}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Refusals

#[test]
fn an_untrusted_key_is_refused() {
    let fixture = Fake::new(&["1.0.0", "1.1.0"]);
    let server = start_server(fixture.root());
    let stranger = TestKey::generate();
    for shell in SHELLS {
        let sandbox = Sandbox::new(&server, &stranger.public_key_line());
        let output = sandbox.run(shell, &["--yes"]);
        assert_refused(
            shell,
            &sandbox,
            &output,
            &[
                &format!(
                    "does not verify: it was made by key {}, which is not the key in \
                     PANE_INSTALL_PUBKEY",
                    fixture.key.key_id_hex()
                ),
                "Nothing was installed",
            ],
        );
    }
    // The keys embedded in the script do not know the test key either.
    for shell in SHELLS {
        let mut sandbox = Sandbox::new(&server, "");
        sandbox.unset("PANE_INSTALL_PUBKEY");
        let output = sandbox.run(shell, &["--yes"]);
        assert_refused(
            shell,
            &sandbox,
            &output,
            &["which is not one of the keys embedded in this script"],
        );
        assert!(!stderr(&output).contains("PANE_INSTALL_PUBKEY"));
    }
    // It stopped before the archive.
    assert!(server
        .requests()
        .iter()
        .all(|r| !r.path_only().ends_with(".tar.gz")));
}

#[test]
fn a_tampered_archive_is_refused_and_nothing_installed() {
    let key = TestKey::generate();
    let root = tempfile::tempdir().unwrap();
    let release = Release::new("1.0.0").write(root.path(), &key);
    let server = start_server(root.path());
    for shell in SHELLS {
        // One flipped byte on the way.
        server.set_fault(release.archive_name(), Fault::CorruptByte { offset: 1000 });
        let sandbox = Sandbox::new(&server, &key.public_key_line());
        let output = sandbox.run(shell, &["--yes"]);
        assert_refused(
            shell,
            &sandbox,
            &output,
            &[
                "checksum mismatch for",
                &release.archive_sha256(),
                "Nothing was installed",
            ],
        );
        server.clear_faults();
    }
    // And an archive replaced on the server after signing.
    let mut bytes = fs::read(&release.archive).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    fs::write(&release.archive, bytes).unwrap();
    for shell in SHELLS {
        let sandbox = Sandbox::new(&server, &key.public_key_line());
        let output = sandbox.run(shell, &["--version", "1.0.0"]);
        assert_refused(shell, &sandbox, &output, &["checksum mismatch for"]);
    }
}

#[test]
fn signed_releases_that_are_wrong_in_one_way_are_refused() {
    let fake = Fake::new(&[]);
    let (key, root) = (&fake.key, &fake.root);
    let target = host_target();
    let name = |v: &str| format!("pane-{v}-{target}.tar.gz");
    // A release signed for another version.
    fake.release("2.0.0")
        .trusted_comment("product:pane\tversion:2.0.1\tfile:SHA256SUMS")
        .write(root.path(), key);
    // For another product, another file, or with a key twice.
    fake.release("2.1.0")
        .trusted_comment("product:other\tversion:2.1.0\tfile:SHA256SUMS")
        .write(root.path(), key);
    fake.release("2.2.0")
        .trusted_comment("product:pane\tversion:2.2.0\tfile:other")
        .write(root.path(), key);
    fake.release("2.3.0")
        .trusted_comment("product:pane\tversion:2.3.0\tfile:SHA256SUMS\tversion:2.3.0")
        .write(root.path(), key);
    // A legacy (non-prehashed) signature.
    fake.release("2.4.0")
        .legacy_signature()
        .write(root.path(), key);
    // No line, or two lines, for the archive.
    fake.release("2.5.0")
        .sums(format!("{}  {}\n", "0".repeat(64), name("9.9.9")))
        .write(root.path(), key);
    let twice = fake.release("2.6.0").write(root.path(), key);
    let line = format!("{}  {}\n", twice.archive_sha256(), twice.archive_name());
    fake.release("2.6.0")
        .sums(format!("{line}{line}"))
        .write(root.path(), key);
    // Not signed at all.
    fake.release("2.7.0").unsigned().write(root.path(), key);
    let server = start_server(root.path());
    let cases = [
        (
            "2.0.0",
            "asked for version 2.0.0 but the release is signed as version 2.0.1",
        ),
        ("2.1.0", "is not for pane's SHA256SUMS"),
        ("2.2.0", "is not for pane's SHA256SUMS"),
        ("2.3.0", "names version more than once"),
        ("2.4.0", "legacy"),
        ("2.5.0", "SHA256SUMS has no line for"),
        ("2.6.0", "SHA256SUMS has 2 lines for"),
        ("2.7.0", "could not download"),
    ];
    for shell in SHELLS {
        for (version, message) in cases {
            let sandbox = Sandbox::new(&server, &key.public_key_line());
            let output = sandbox.run(shell, &["--version", version]);
            assert_refused(shell, &sandbox, &output, &[message]);
        }
    }
}

#[test]
fn an_impossible_install_dir_is_a_clear_error() {
    let fixture = Fake::new(&["1.0.0", "1.1.0"]);
    let server = start_server(fixture.root());
    for shell in SHELLS {
        let sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
        let file = sandbox.path("a-file");
        fs::write(&file, "not a directory").unwrap();
        let dir = file.join("bin");
        let output = sandbox.run(shell, &["--install-dir", dir.to_str().unwrap()]);
        assert_refused(
            shell,
            &sandbox,
            &output,
            &[
                &format!("cannot install into {}", dir.display()),
                "--install-dir",
            ],
        );
        // Found before anything was downloaded.
        assert!(server.requests().is_empty());
    }
    // A directory this user may not write to: 0555 for a user, a read-only bind mount for
    // root (who may write anywhere else).
    for shell in SHELLS {
        let sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
        let locked = sandbox.path("locked");
        fs::create_dir(&locked).unwrap();
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o555)).unwrap();
        let _mount = if is_root() {
            match ReadOnlyBind::new(&locked) {
                Ok(mount) => Some(mount),
                Err(why) => {
                    assert!(
                        std::env::var_os("CI").is_none(),
                        "as root, a read-only bind mount must stand for an unwritable dir under CI: {why}"
                    );
                    eprintln!("skipped: the unwritable-directory case as root: {why}");
                    continue;
                }
            }
        } else {
            None
        };
        let dir = locked.join("bin");
        let output = sandbox.run(shell, &["--install-dir", dir.to_str().unwrap()]);
        assert_refused(
            shell,
            &sandbox,
            &output,
            &["is not writable", "never uses sudo", "--install-dir"],
        );
    }
}

fn is_root() -> bool {
    let output = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&output.stdout).trim() == "0"
}

/// `dir` bind-mounted read-only over itself for as long as this lives.
struct ReadOnlyBind(PathBuf);

impl ReadOnlyBind {
    fn new(dir: &Path) -> Result<ReadOnlyBind, String> {
        let mount = |args: &[&str]| {
            let output = Command::new("mount")
                .args(args)
                .arg(dir)
                .arg(dir)
                .output()
                .map_err(|e| e.to_string())?;
            if output.status.success() {
                Ok(())
            } else {
                Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
            }
        };
        mount(&["--bind"])?;
        let bind = ReadOnlyBind(dir.to_path_buf());
        // `mount -o remount,bind,ro DIR` takes one path.
        let output = Command::new("mount")
            .args(["-o", "remount,bind,ro"])
            .arg(dir)
            .output()
            .map_err(|e| e.to_string())?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).trim().to_string());
        }
        Ok(bind)
    }
}

impl Drop for ReadOnlyBind {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).output();
    }
}

#[test]
fn plain_http_is_refused_unless_the_host_is_loopback() {
    let fixture = Fake::new(&["1.0.0", "1.1.0"]);
    let server = start_server(fixture.root());
    let refused = [
        ("http://example.com/pane/releases", "refusing plain http"),
        ("http://127.0.0.1.example.com/r", "refusing plain http"),
        ("http://localhost.example.com/r", "refusing plain http"),
        ("http://localhost@example.com/r", "refusing plain http"),
        ("http://127.0.0.1@example.com/r", "refusing plain http"),
        ("http://u:p@example.com/r", "refusing plain http"),
        ("http://u:p@127.0.0.1.example.com/r", "refusing plain http"),
        ("http://[::2]/r", "refusing plain http"),
        ("http://10.0.0.1/r", "refusing plain http"),
        ("http://127.0.0.1:80x/r", "refusing plain http"),
        ("ftp://127.0.0.1/r", "must be an https:// URL"),
        ("file:///tmp/r", "must be an https:// URL"),
        ("https://exa mple.com/r", "spaces or control characters"),
    ];
    for shell in SHELLS {
        for (url, message) in refused {
            let mut sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
            sandbox.set("PANE_RELEASES_URL", url);
            let output = sandbox.run(shell, &["--yes"]);
            assert_refused(shell, &sandbox, &output, &[message]);
        }
        // Loopback by name works as well as by address.
        let mut sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
        let url = server.releases_url().replace("127.0.0.1", "localhost");
        sandbox.set("PANE_RELEASES_URL", url);
        assert_success(shell, &sandbox.run(shell, &["--version", "1.0.0"]));
        // A login before the loopback host is not the host.
        let mut sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
        let url = server.releases_url().replace("://", "://alice:pw@");
        sandbox.set("PANE_RELEASES_URL", url);
        assert_success(shell, &sandbox.run(shell, &["--version", "1.0.0"]));
    }
}

#[test]
fn a_download_that_fails_says_which_and_installs_nothing() {
    let fixture = Fake::new(&["1.0.0", "1.1.0"]);
    let server = start_server(fixture.root());
    for shell in SHELLS {
        let sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
        let output = sandbox.run(shell, &["--version", "9.9.9"]);
        assert_refused(
            shell,
            &sandbox,
            &output,
            &[
                "could not download",
                "/download/v9.9.9/SHA256SUMS.minisig",
                "Is 9.9.9 a released version",
            ],
        );
        // A server that keeps failing (curl retries, then gives up).
        server.set_fault("*.tar.gz", Fault::Status(500));
        let sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
        let output = sandbox.run(shell, &["--version", "1.0.0"]);
        assert_refused(shell, &sandbox, &output, &["could not download"]);
        server.clear_faults();
        // A signature file larger than any real one, with no Content-Length to refuse it by: cut
        // off at the cap, long before the 30 s deadline.
        server.set_fault("SHA256SUMS.minisig", Fault::Endless);
        let sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
        let started = std::time::Instant::now();
        let output = sandbox.run(shell, &["--version", "1.0.0"]);
        assert_refused(
            shell,
            &sandbox,
            &output,
            &["larger than the 4096 bytes allowed", "could not download"],
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(15),
            "{}: an endless body took {:?}",
            shell_name(shell),
            started.elapsed()
        );
        server.clear_faults();
    }
}

// ---------------------------------------------------------------------------------------------
// Signature checking without minisign

/// A directory of symlinks to every program on the system PATH except `hidden`.
fn tools_dir(hidden: &[&str]) -> tempfile::TempDir {
    let bin = tempfile::Builder::new()
        .prefix("pane-tools-")
        .tempdir()
        .unwrap();
    for dir in SYSTEM_PATH.split(':') {
        let Ok(entries) = fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if hidden.iter().any(|h| name == *h) {
                continue;
            }
            let link = bin.path().join(&name);
            if !link.exists() && fs::symlink_metadata(&link).is_err() {
                let _ = std::os::unix::fs::symlink(entry.path(), link);
            }
        }
    }
    bin
}

fn which(program: &str) -> PathBuf {
    SYSTEM_PATH
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("{program} is needed by this test and is not installed"))
}

#[test]
fn the_openssl_path_verifies_and_rejects_when_minisign_is_absent() {
    which("openssl");
    let fake = Fake::new(&[]);
    let (key, root) = (&fake.key, &fake.root);
    let good = fake.release("1.0.0").write(root.path(), key);
    // The same release with its signed trusted comment edited (the global signature then fails).
    let edited = fake.release("1.0.1").write(root.path(), key);
    let signature = fs::read_to_string(edited.signature_path()).unwrap();
    let edited_signature = signature.replace("version:1.0.1", "version:1.0.1\tnote:x");
    assert_ne!(signature, edited_signature);
    fs::write(edited.signature_path(), edited_signature).unwrap();
    // SHA256SUMS changed after signing.
    let altered = fake.release("1.0.2").write(root.path(), key);
    let mut sums = fs::read(altered.sums_path()).unwrap();
    sums.extend_from_slice(b"\n");
    fs::write(altered.sums_path(), sums).unwrap();
    // Legacy signature.
    fake.release("1.0.3")
        .legacy_signature()
        .write(root.path(), key);
    let server = start_server(root.path());
    let stranger = TestKey::generate();

    let bin = tools_dir(&["minisign"]);
    for shell in SHELLS {
        let run = |key_line: &str, version: &str| {
            let mut sandbox = Sandbox::new(&server, key_line);
            sandbox.set("PATH", bin.path());
            sandbox.set("PANE_REQUIRE_SIGNATURE", "1");
            sandbox.set("PANE_RECORD", sandbox.path("record"));
            let output = sandbox.run(shell, &["--version", version, "--yes"]);
            (sandbox, output)
        };
        let (sandbox, output) = run(&key.public_key_line(), &good.version);
        assert_success(shell, &output);
        assert!(stderr(&output).contains("verified the signature of SHA256SUMS for pane 1.0.0"));
        assert!(!stderr(&output).contains("NOT checked"));
        assert_eq!(
            fs::read_to_string(sandbox.path("record")).unwrap(),
            sandbox.handed_over(&["--yes"])
        );
        for (key_line, version, message) in [
            (
                stranger.public_key_line(),
                "1.0.0",
                "which is not the key in",
            ),
            (
                key.public_key_line(),
                "1.0.1",
                "or its signature was altered",
            ),
            (
                key.public_key_line(),
                "1.0.2",
                "or its signature was altered",
            ),
            (key.public_key_line(), "1.0.3", "legacy"),
        ] {
            let (sandbox, output) = run(&key_line, version);
            assert_refused(shell, &sandbox, &output, &[message]);
        }
    }

    // With minisign present the same releases get the same verdicts.
    for shell in SHELLS {
        for (version, ok) in [("1.0.0", true), ("1.0.1", false), ("1.0.2", false)] {
            let sandbox = Sandbox::new(&server, &key.public_key_line());
            let output = sandbox.run(shell, &["--version", version, "--yes"]);
            assert_eq!(
                output.status.success(),
                ok,
                "{version}: {}",
                describe(&output)
            );
        }
    }
}

#[test]
fn without_minisign_or_openssl_it_refuses_with_or_without_require_signature() {
    let fixture = Fake::new(&["1.0.0", "1.1.0"]);
    let server = start_server(fixture.root());
    let bin = tools_dir(&["minisign", "openssl"]);
    for shell in SHELLS {
        // Fails closed: no signature tool is no install (it once warned and installed).
        let mut sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
        sandbox.set("PATH", bin.path());
        let output = sandbox.run(shell, &["--yes"]);
        assert_refused(
            shell,
            &sandbox,
            &output,
            &["cannot check the signature", "--insecure-skip-signature"],
        );

        // PANE_REQUIRE_SIGNATURE refuses the opt-out too, so the refusal does not offer it.
        let mut sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
        sandbox.set("PATH", bin.path());
        sandbox.set("PANE_REQUIRE_SIGNATURE", "1");
        let output = sandbox.run(shell, &["--yes"]);
        assert_refused(
            shell,
            &sandbox,
            &output,
            &["(PANE_REQUIRE_SIGNATURE is set)", "Install minisign"],
        );
        assert!(
            !stderr(&output).contains("--insecure-skip-signature"),
            "{}: {}",
            shell_name(shell),
            describe(&output)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// A download cut short runs nothing

#[test]
fn every_truncation_of_the_script_does_nothing() {
    let fixture = Fake::new(&["1.0.0", "1.1.0"]);
    let server = start_server(fixture.root());
    let script = fs::read(install_sh()).unwrap();
    // Every line boundary, every cut just before a newline, and every byte of the last lines
    // (where a cut could leave a bare `main`).
    let mut cuts: Vec<usize> = Vec::new();
    for (index, byte) in script.iter().enumerate() {
        if *byte == b'\n' {
            cuts.push(index);
            cuts.push(index + 1);
        }
    }
    let tail_start = script.len().saturating_sub(120);
    cuts.extend(tail_start..script.len());
    cuts.push(0);
    // All but the final newline is the whole script: that one runs, as it should.
    assert!(script.ends_with(b"; }\n"));
    cuts.retain(|&n| n < script.len() - 1);
    cuts.sort_unstable();
    cuts.dedup();
    for shell in SHELLS {
        let sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
        for &n in &cuts {
            let output = sandbox.run_piped(shell, &script[..n], &["--yes"]);
            assert!(
                !stderr(&output).contains("pane-install:") && output.stdout.is_empty(),
                "{}: the first {n} bytes did something\n{}",
                shell_name(shell),
                describe(&output)
            );
            assert!(
                server.requests().is_empty(),
                "{}: the first {n} bytes downloaded something",
                shell_name(shell)
            );
            assert!(is_empty_user(&sandbox.user_files()));
        }
        // The whole script does run.
        let output = sandbox.run_piped(shell, &script, &["--help"]);
        assert_success(shell, &output);
    }
}

// ---------------------------------------------------------------------------------------------
// The script itself

/// `keys/*.pub` minus the ids in `keys/revoked`, as the install.sh block.
fn expected_key_block() -> String {
    key_block(&repo_root().join("keys"))
}

/// The `*.pub` keys of `keys_dir` minus the ids in its `revoked`, as the install.sh block.
fn key_block(keys_dir: &Path) -> String {
    let revoked: Vec<String> = fs::read_to_string(keys_dir.join("revoked"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            l.split('#')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_uppercase()
        })
        .filter(|l| !l.is_empty())
        .collect();
    let mut paths: Vec<PathBuf> = fs::read_dir(keys_dir)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    paths.retain(|p| p.extension().is_some_and(|e| e == "pub"));
    paths.sort();
    let mut body = String::new();
    for path in &paths {
        let text = fs::read_to_string(path).unwrap();
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with("untrusted comment:"))
            .unwrap_or_else(|| panic!("{} holds no key line", path.display()));
        let raw = base64_decode(line);
        assert!(
            raw.len() == 42 && &raw[..2] == b"Ed",
            "{} is not a minisign public key",
            path.display()
        );
        let mut id = [0u8; 8];
        id.copy_from_slice(&raw[2..10]);
        let id = format!("{:016X}", u64::from_le_bytes(id));
        if revoked.contains(&id) {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy();
        body.push_str(&format!("    # keys/{name}, key id {id}\n"));
        body.push_str(&format!("    echo '{line}'\n"));
    }
    if body.is_empty() {
        body.push_str("    :\n");
    }
    format!("# BEGIN EMBEDDED KEYS\nembedded_keys() {{\n{body}}}\n# END EMBEDDED KEYS\n")
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap_or_else(|e| panic!("{text:?} is not base64: {e}"))
}

#[test]
fn the_embedded_keys_are_those_of_keys_dir() {
    let script = fs::read_to_string(install_sh()).unwrap();
    let start = script
        .find("# BEGIN EMBEDDED KEYS\n")
        .expect("install.sh has a # BEGIN EMBEDDED KEYS line");
    let end = script
        .find("# END EMBEDDED KEYS\n")
        .expect("install.sh has a # END EMBEDDED KEYS line")
        + "# END EMBEDDED KEYS\n".len();
    let expected = expected_key_block();
    if script[start..end] != expected {
        if std::env::var_os("PANE_BLESS").is_some() {
            let updated = format!("{}{expected}{}", &script[..start], &script[end..]);
            fs::write(install_sh(), updated).unwrap();
            eprintln!("note: rewrote the embedded keys of install.sh from keys/");
        } else {
            panic!(
                "install.sh's embedded keys differ from keys/ (minus keys/revoked); run \
                 `PANE_BLESS=1 cargo test install_sh::the_embedded_keys` to rewrite them.\n\
                 --- install.sh\n{}--- expected\n{expected}",
                &script[start..end]
            );
        }
    }
    assert!(
        expected.contains("echo 'RW"),
        "keys/ holds no usable public key, so install.sh could verify nothing"
    );
}

/// install.sh with its key block made from `keys_dir`.
fn script_with_keys_of(keys_dir: &Path) -> Vec<u8> {
    let script = fs::read_to_string(install_sh()).unwrap();
    let start = script.find("# BEGIN EMBEDDED KEYS\n").unwrap();
    let end = script.find("# END EMBEDDED KEYS\n").unwrap() + "# END EMBEDDED KEYS\n".len();
    format!(
        "{}{}{}",
        &script[..start],
        key_block(keys_dir),
        &script[end..]
    )
    .into_bytes()
}

#[test]
fn the_embedded_keys_are_what_it_trusts_and_revoked_ones_are_left_out() {
    let active = TestKey::generate();
    let retired = TestKey::generate();
    let keys_dir = tempfile::tempdir().unwrap();
    fs::write(keys_dir.path().join("active.pub"), active.pub_file()).unwrap();
    fs::write(keys_dir.path().join("retired.pub"), retired.pub_file()).unwrap();
    fs::write(
        keys_dir.path().join("revoked"),
        format!("# retired\n{}  # rotated\n", retired.key_id_hex()),
    )
    .unwrap();
    let block = key_block(keys_dir.path());
    assert!(block.contains(&active.public_key_line()), "{block}");
    assert!(!block.contains(&retired.public_key_line()), "{block}");
    let script = script_with_keys_of(keys_dir.path());

    let fake = Fake::new(&[]);
    fake.release("1.0.0").write(fake.root(), &active);
    fake.release("1.1.0").write(fake.root(), &retired);
    let server = start_server(fake.root());
    for shell in SHELLS {
        for (version, ok) in [("1.0.0", true), ("1.1.0", false)] {
            let mut sandbox = Sandbox::new(&server, "");
            sandbox.unset("PANE_INSTALL_PUBKEY");
            let output = sandbox.run_piped(shell, &script, &["--version", version]);
            assert!(!stderr(&output).contains("PANE_INSTALL_PUBKEY"));
            if ok {
                assert_success(shell, &output);
            } else {
                assert_refused(shell, &sandbox, &output, &["does not verify"]);
            }
        }
    }
}

#[test]
fn the_default_releases_url_is_cargo_tomls_repository() {
    let manifest = fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
    let repository = manifest
        .lines()
        .find_map(|l| l.strip_prefix("repository = "))
        .expect("Cargo.toml names a repository")
        .trim()
        .trim_matches('"');
    let script = fs::read_to_string(install_sh()).unwrap();
    assert!(
        script.contains(&format!("_repo={repository}\n")),
        "install.sh's _repo is not {repository}"
    );
    // Every releases URL (the default, the usage examples) is the repository's.
    for (index, _) in script.match_indices("https://github.com/") {
        let url = script[index..]
            .split(|c: char| c.is_whitespace() || c == '\'' || c == '"')
            .next()
            .unwrap();
        if url.contains("/releases") {
            assert!(
                url.starts_with(repository),
                "install.sh names another repository's releases: {url}"
            );
        }
    }
}

#[test]
fn shellcheck_finds_nothing() {
    let output = Command::new("shellcheck")
        .args(["-s", "sh"])
        .arg(install_sh())
        .output()
        .expect("shellcheck is needed by this test (apt-get install shellcheck)");
    assert!(output.status.success(), "{}", describe(&output));
}

#[test]
fn every_line_of_code_is_inside_a_function() {
    // Top level holds only comments, blank lines, function definitions and the final call.
    let script = fs::read_to_string(install_sh()).unwrap();
    let mut depth = 0usize;
    let mut heredoc: Option<String> = None;
    let lines: Vec<&str> = script.lines().collect();
    for (number, line) in lines.iter().enumerate() {
        if let Some(end) = &heredoc {
            if line.trim() == end {
                heredoc = None;
            }
            continue;
        }
        if let Some(position) = line.find("<<'") {
            let end = line[position + 3..].split('\'').next().unwrap();
            heredoc = Some(end.to_string());
        }
        let trimmed = line.trim();
        if depth == 0 {
            let allowed = trimmed.is_empty()
                || trimmed.starts_with('#')
                || trimmed.ends_with("() {")
                || (number == lines.len() - 1 && trimmed == "{ main \"$@\"; }");
            assert!(
                allowed,
                "install.sh:{}: code outside a function: {line}",
                number + 1
            );
        }
        if trimmed.ends_with("() {") {
            depth += 1;
        } else if *line == "}" {
            depth = depth.checked_sub(1).expect("unbalanced braces");
        }
    }
    assert_eq!(depth, 0);
    assert_eq!(lines.last(), Some(&"{ main \"$@\"; }"));
}

// ---------------------------------------------------------------------------------------------
// Fail closed on the signature (issue 12, finding 1)

/// A stand-in for stock macOS's `openssl` (LibreSSL): it says it is LibreSSL, lists no Ed25519
/// and cannot verify with it, and otherwise is the real openssl (base64, SHA-256).
const LIBRESSL: &str = "#!/bin/sh\n\
    case \"$1\" in\n\
    version) echo 'LibreSSL 3.3.6' ;;\n\
    list) printf 'RSA\\nEC\\nSHA256\\n' ;;\n\
    pkeyutl) echo 'pkeyutl: Ed25519 is not supported' >&2; exit 1 ;;\n\
    *) exec /usr/bin/openssl \"$@\" ;;\n\
    esac\n";

/// The system tools without minisign, and LibreSSL's `openssl` in place of OpenSSL 3.
fn tools_like_stock_macos() -> tempfile::TempDir {
    which("openssl");
    let bin = tools_dir(&["minisign", "openssl"]);
    let path = bin.path().join("openssl");
    fs::write(&path, LIBRESSL).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

#[test]
fn without_a_signature_tool_it_refuses_unless_told_loudly() {
    let fake = Fake::new(&["1.0.0", "1.1.0"]);
    let server = start_server(fake.root());
    let bin = tools_like_stock_macos();
    let sandbox_for = |_shell: &[&str]| {
        let mut sandbox = Sandbox::new(&server, &fake.key_line());
        sandbox.set("PATH", bin.path());
        sandbox.set("PANE_RECORD", sandbox.path("record"));
        sandbox
    };
    for shell in SHELLS {
        for args in [&["--yes"][..], &["--version", "1.0.0", "--yes"][..]] {
            let sandbox = sandbox_for(shell);
            let output = sandbox.run(shell, args);
            assert_refused(
                shell,
                &sandbox,
                &output,
                &[
                    "cannot check the signature of this release",
                    "neither minisign nor OpenSSL 3",
                    "--insecure-skip-signature",
                    "Nothing was installed",
                ],
            );
            assert!(!sandbox.path("record").exists(), "pane was run");
        }
        // Refused before anything was downloaded.
        assert!(server.requests().is_empty(), "{:?}", server.requests());

        // The opt-out, by flag or by variable, installs with a loud warning.
        for (args, env) in [
            (&["--insecure-skip-signature", "--yes"][..], None),
            (
                &["--yes"][..],
                Some(("PANE_INSTALL_INSECURE_SKIP_SIGNATURE", "1")),
            ),
        ] {
            let mut sandbox = sandbox_for(shell);
            if let Some((name, value)) = env {
                sandbox.set(name, value);
            }
            let output = sandbox.run(shell, args);
            assert_success(shell, &output);
            let err = stderr(&output);
            assert!(err.contains("warning: !!! INSECURE"), "{err}");
            assert!(err.contains("was NOT checked"), "{err}");
            assert!(!err.contains("verified the signature"), "{err}");
            assert!(err.contains("verified the SHA-256"), "{err}");
            assert_eq!(
                fs::read_to_string(sandbox.path("record")).unwrap(),
                sandbox.handed_over(&["--yes"])
            );
        }
        // PANE_REQUIRE_SIGNATURE overrides the opt-out, and the refusal names the one given.
        for (args, env, given) in [
            (
                &["--insecure-skip-signature", "--yes"][..],
                None,
                "--insecure-skip-signature asks",
            ),
            (
                &["--yes"][..],
                Some(("PANE_INSTALL_INSECURE_SKIP_SIGNATURE", "1")),
                "PANE_INSTALL_INSECURE_SKIP_SIGNATURE asks",
            ),
        ] {
            let mut sandbox = sandbox_for(shell);
            sandbox.set("PANE_REQUIRE_SIGNATURE", "1");
            if let Some((name, value)) = env {
                sandbox.set(name, value);
            }
            let output = sandbox.run(shell, args);
            assert_refused(
                shell,
                &sandbox,
                &output,
                &[given, "but PANE_REQUIRE_SIGNATURE is set"],
            );
        }
        server.clear_requests();
    }
}

/// install.sh as `cargo xtask install-sh` stamps it for `release`.
fn stamped_script(release: &xtask::fixtures::ReleaseDir) -> Vec<u8> {
    let script = fs::read_to_string(install_sh()).unwrap();
    xtask::install_script::stamp(
        &script,
        &release.version,
        &[(release.archive_sha256(), release.archive_name())],
    )
    .expect("stamp install.sh")
    .into_bytes()
}

#[test]
fn the_stamped_script_installs_its_own_version_with_no_signature_tool() {
    let fake = Fake::new(&[]);
    let own = fake.release("1.0.0").write(fake.root(), &fake.key);
    fake.release("1.1.0").write(fake.root(), &fake.key);
    let server = start_server(fake.root());
    let script = stamped_script(&own);
    let bin = tools_like_stock_macos();
    for shell in SHELLS {
        let sandbox_with = |path: &Path| {
            let mut sandbox = Sandbox::new(&server, &fake.key_line());
            sandbox.set("PATH", path);
            sandbox.set("PANE_RECORD", sandbox.path("record"));
            sandbox
        };
        // Its own version, by default or by name: no signature tool, no warning.
        for args in [&["--yes"][..], &["--version", "1.0.0", "--yes"][..]] {
            server.clear_requests();
            let sandbox = sandbox_with(bin.path());
            let output = sandbox.run_piped(shell, &script, args);
            assert_success(shell, &output);
            let err = stderr(&output);
            assert!(
                err.contains("belongs to pane 1.0.0") || args.len() > 1,
                "{err}"
            );
            assert!(
                err.contains("against the SHA-256 this install.sh carries"),
                "{err}"
            );
            assert!(!err.contains("warning"), "{err}");
            assert_eq!(
                fs::read_to_string(sandbox.path("record")).unwrap(),
                sandbox.handed_over(&["--yes"])
            );
            // Only the archive of that version was fetched.
            let paths: Vec<String> = server
                .requests()
                .iter()
                .map(|r| r.path_only().to_string())
                .collect();
            assert_eq!(
                paths,
                [format!(
                    "/pane-cli/pane/releases/download/v1.0.0/{}",
                    own.archive_name()
                )]
            );
        }
        // Another version needs a signature tool.
        let sandbox = sandbox_with(bin.path());
        let output = sandbox.run_piped(shell, &script, &["--version", "1.1.0", "--yes"]);
        assert_refused(
            shell,
            &sandbox,
            &output,
            &[
                "cannot check the signature",
                "or install pane 1.0.0, which this script vouches for",
            ],
        );
        // An archive other than the one it carries the checksum of is refused.
        server.set_fault(own.archive_name(), Fault::CorruptByte { offset: 100 });
        let sandbox = sandbox_with(bin.path());
        let output = sandbox.run_piped(shell, &script, &["--yes"]);
        assert_refused(
            shell,
            &sandbox,
            &output,
            &["checksum mismatch for", &own.archive_sha256()],
        );
        server.clear_faults();
        // With minisign at hand it checks the signature as well.
        let sandbox = sandbox_with(Path::new(SYSTEM_PATH));
        let output = sandbox.run_piped(shell, &script, &["--yes"]);
        assert_success(shell, &output);
        assert!(
            stderr(&output).contains("verified the signature of SHA256SUMS for pane 1.0.0"),
            "{}",
            describe(&output)
        );
    }
}

#[test]
fn busybox_wget_is_refused_for_https() {
    let busybox = which("busybox");
    let bin = tools_dir(&["curl", "wget"]);
    std::os::unix::fs::symlink(&busybox, bin.path().join("wget")).unwrap();
    let fake = Fake::new(&["1.0.0"]);
    let server = start_server(fake.root());
    for shell in SHELLS {
        let mut sandbox = Sandbox::new(&server, &fake.key_line());
        sandbox.set("PATH", bin.path());
        sandbox.set(
            "PANE_RELEASES_URL",
            server.releases_url().replace("http://", "https://"),
        );
        let output = sandbox.run(shell, &["--yes"]);
        assert_refused(
            shell,
            &sandbox,
            &output,
            &[
                "(BusyBox wget), which does not verify TLS certificates",
                "Install curl or GNU wget",
            ],
        );
    }
    assert!(server.requests().is_empty());
}

// ---------------------------------------------------------------------------------------------
// A pre-release served as "latest" (issue 12, finding 2)

/// Makes the server answer `latest/download/` for the signature and SHA256SUMS with those of
/// `version`, as a mirror (or an attacker) that calls it the latest release would.
fn serve_as_latest(server: &Server, version: &str) {
    for asset in ["SHA256SUMS.minisig", "SHA256SUMS"] {
        server.set_fault(
            format!("/releases/latest/download/{asset}"),
            Fault::RedirectTo(server.download_url(version, asset)),
        );
    }
}

#[test]
fn a_pre_release_served_as_latest_is_installed_only_with_prerelease() {
    let fake = Fake::new(&["2.0.0", "2.1.0-beta.1"]);
    let server = start_server(fake.root());
    serve_as_latest(&server, "2.1.0-beta.1");
    for shell in SHELLS {
        server.clear_requests();
        let mut sandbox = Sandbox::new(&server, &fake.key_line());
        sandbox.set("PANE_RECORD", sandbox.path("record"));
        let output = sandbox.run(shell, &["--yes"]);
        assert_refused(
            shell,
            &sandbox,
            &output,
            &[
                "offers the pre-release 2.1.0-beta.1 as its latest release",
                "--version 2.1.0-beta.1",
                "--prerelease",
            ],
        );
        assert!(!sandbox.path("record").exists(), "pane was run");
        assert!(
            server
                .requests()
                .iter()
                .all(|r| !r.path_only().ends_with(".tar.gz")),
            "an archive was fetched"
        );
        // Asked for, by flag or variable, it is installed.
        for (args, env) in [
            (&["--prerelease", "--yes"][..], None),
            (&["--yes"][..], Some(("PANE_PRERELEASE", "1"))),
        ] {
            let mut sandbox = Sandbox::new(&server, &fake.key_line());
            sandbox.set("PANE_RECORD", sandbox.path("record"));
            if let Some((name, value)) = env {
                sandbox.set(name, value);
            }
            let output = sandbox.run(shell, args);
            assert_success(shell, &output);
            assert!(
                stderr(&output)
                    .contains("verified the signature of SHA256SUMS for pane 2.1.0-beta.1"),
                "{}",
                describe(&output)
            );
        }
    }
}

#[test]
fn a_stamped_pre_release_script_installs_only_on_request() {
    let fake = Fake::new(&["2.0.0"]);
    let beta = fake.release("2.1.0-beta.1").write(fake.root(), &fake.key);
    let server = start_server(fake.root());
    let script = stamped_script(&beta);
    for shell in SHELLS {
        let mut sandbox = Sandbox::new(&server, &fake.key_line());
        sandbox.set("PANE_RECORD", sandbox.path("record"));
        let output = sandbox.run_piped(shell, &script, &["--yes"]);
        assert_refused(
            shell,
            &sandbox,
            &output,
            &[
                "belongs to the pre-release 2.1.0-beta.1",
                "--version 2.1.0-beta.1",
            ],
        );
        let output = sandbox.run_piped(shell, &script, &["--version", "2.1.0-beta.1"]);
        assert_success(shell, &output);
    }
}

// ---------------------------------------------------------------------------------------------
// The downgrade floor (issue 12, finding 3)

#[test]
fn an_older_latest_does_not_downgrade_an_installation() {
    let fixture = shared();
    let server = start_server(&fixture.root);
    for shell in SHELLS {
        server.clear_faults();
        let sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
        assert_success(shell, &sandbox.run(shell, &["--yes"]));
        let binary = sandbox.home().join(".local/bin/pane");
        assert_eq!(sandbox.installed_version(&binary), "pane 1.1.0");

        // "latest" now says 1.0.0 (a replay, or a backport published last).
        serve_as_latest(&server, "1.0.0");
        let before = sandbox.user_files();
        let output = sandbox.run(shell, &["--yes"]);
        assert_success(shell, &output);
        let err = stderr(&output);
        assert!(
            err.contains(
                "the pane on this machine (1.1.0, and 1.1.0 verified before) is newer than 1.0.0"
            ),
            "{err}"
        );
        assert!(err.contains("--version 1.0.0"), "{err}");
        assert_eq!(sandbox.user_files(), before, "{}", shell_name(shell));

        // The floor is the machine's, not the install dir's.
        let other = sandbox.path("other/bin");
        let output = sandbox.run(shell, &["--install-dir", other.to_str().unwrap(), "--yes"]);
        assert_success(shell, &output);
        assert!(stderr(&output).contains("is newer than 1.0.0"));
        assert!(!other.exists());
        assert_eq!(sandbox.user_files(), before, "{}", shell_name(shell));

        // Naming the version is explicit.
        let output = sandbox.run(shell, &["--version", "1.0.0", "--yes"]);
        assert_success(shell, &output);
        assert_eq!(sandbox.installed_version(&binary), "pane 1.0.0");
    }
}

// ---------------------------------------------------------------------------------------------
// Slow retrieval (issue 12, finding 5)

#[test]
fn a_slow_download_is_given_up_on_its_deadline() {
    // PANE_INSTALL_TIMEOUT=2: the signature and SHA256SUMS get 2 s each; the archive 40 s in
    // all, and no 2 s below 16 KiB/s (curl; wget has the deadline alone).
    let fake = Fake::new(&[]);
    fake.release("1.0.0")
        .padding(48 * 1024)
        .write(fake.root(), &fake.key);
    let server = start_server(fake.root());
    let no_curl = tools_dir(&["curl"]);
    which("wget");
    // (downloader's PATH, asset throttled, bytes per second, seconds allowed). Unbounded, the
    // signature (a few hundred bytes) at 20 B/s would take ~15 s, the archive at 1000 B/s ~50 s.
    let cases: [(&Path, &str, u64, u64); 3] = [
        (Path::new(SYSTEM_PATH), "SHA256SUMS.minisig", 20, 9),
        (Path::new(SYSTEM_PATH), ".tar.gz", 1000, 40),
        (no_curl.path(), "SHA256SUMS.minisig", 20, 9),
    ];
    for shell in SHELLS {
        for (path, asset, rate, allowed) in cases {
            server.set_fault(
                format!("*{asset}"),
                Fault::Throttle {
                    bytes_per_sec: rate,
                },
            );
            let mut sandbox = Sandbox::new(&server, &fake.key_line());
            sandbox.set("PATH", path);
            sandbox.set("PANE_INSTALL_TIMEOUT", "2");
            sandbox.set("PANE_RECORD", sandbox.path("record"));
            let started = std::time::Instant::now();
            let output = sandbox.run(shell, &["--version", "1.0.0", "--yes"]);
            let took = started.elapsed();
            assert_refused(
                shell,
                &sandbox,
                &output,
                &["could not download", asset, "too slow; gave up after"],
            );
            assert!(!sandbox.path("record").exists(), "pane was run");
            assert!(
                took < std::time::Duration::from_secs(allowed),
                "{}: {asset} at {rate} B/s took {took:?}",
                shell_name(shell)
            );
            server.clear_faults();
        }
    }
}

#[test]
fn a_download_that_stalls_once_is_retried_from_the_start() {
    // Half the archive, then nothing: curl gives up on that attempt after 2 s below 16 KiB/s,
    // GNU wget after a 2 s read timeout, and both try again; the second answer is whole. The
    // retry's bytes must replace the first attempt's, not follow them.
    let fake = Fake::new(&[]);
    let release = fake
        .release("1.0.0")
        .padding(48 * 1024)
        .write(fake.root(), &fake.key);
    let half = fs::metadata(&release.archive).unwrap().len() / 2;
    let server = start_server(fake.root());
    let no_curl = tools_dir(&["curl"]);
    which("wget");
    for shell in SHELLS {
        for (name, path) in [
            ("curl", Path::new(SYSTEM_PATH)),
            ("GNU wget", no_curl.path()),
        ] {
            server.set_fault_times("*.tar.gz", Fault::StallAfter { after: half }, 1);
            let mut sandbox = Sandbox::new(&server, &fake.key_line());
            sandbox.set("PATH", path);
            sandbox.set("PANE_INSTALL_TIMEOUT", "2");
            sandbox.set("PANE_RECORD", sandbox.path("record"));
            let output = sandbox.run(shell, &["--version", "1.0.0", "--yes"]);
            assert!(
                output.status.success(),
                "{} with {name}: {}",
                shell_name(shell),
                describe(&output)
            );
            assert!(
                stderr(&output).contains("verified the SHA-256"),
                "{}",
                describe(&output)
            );
            assert!(sandbox.path("record").exists(), "pane was not run");
            let archives = server
                .requests()
                .iter()
                .filter(|r| r.path_only().ends_with(".tar.gz"))
                .count();
            assert_eq!(archives, 2, "{} with {name}", shell_name(shell));
            server.clear_faults();
            server.clear_requests();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// CI and containers (issue 14)

#[test]
fn in_github_actions_the_dir_goes_to_github_path_and_no_profile_is_touched() {
    let fixture = shared();
    let server = start_server(&fixture.root);
    for shell in SHELLS {
        let mut sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
        let github_path = sandbox.path("github_path");
        fs::write(&github_path, "/opt/earlier/bin\n").unwrap();
        sandbox.set("GITHUB_PATH", &github_path);
        sandbox.set("GITHUB_ACTIONS", "true");
        sandbox.set("CI", "true");
        fs::write(sandbox.home().join(".bashrc"), "alias ll='ls -l'\n").unwrap();
        let output = sandbox.run(shell, &["--yes"]);
        assert_success(shell, &output);
        let dir = sandbox.home().join(".local/bin");
        assert_eq!(sandbox.installed_version(&dir.join("pane")), "pane 1.1.0");
        assert_eq!(
            fs::read_to_string(&github_path).unwrap(),
            format!("/opt/earlier/bin\n{}\n", dir.display())
        );
        assert!(stderr(&output).contains("added"), "{}", describe(&output));
        for profile in [
            ".profile",
            ".bash_profile",
            ".bash_login",
            ".zshenv",
            ".zshrc",
        ] {
            assert!(
                !sandbox.home().join(profile).exists(),
                "{}: {profile} was written",
                shell_name(shell)
            );
        }
        assert_eq!(
            fs::read_to_string(sandbox.home().join(".bashrc")).unwrap(),
            "alias ll='ls -l'\n"
        );
        assert!(!dir.join("pane.env").exists());
        let receipt: serde_json::Value = serde_json::from_str(&receipt_text(&sandbox)).unwrap();
        assert_eq!(receipt["profile_edits"], serde_json::json!([]), "{receipt}");
        assert_eq!(receipt["created_files"], serde_json::json!([]), "{receipt}");

        // --no-modify-path leaves GITHUB_PATH alone too.
        let mut sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
        let github_path = sandbox.path("github_path");
        fs::write(&github_path, "").unwrap();
        sandbox.set("GITHUB_PATH", &github_path);
        let output = sandbox.run(shell, &["--no-modify-path", "--yes"]);
        assert_success(shell, &output);
        assert_eq!(fs::read_to_string(&github_path).unwrap(), "");

        // XDG_BIN_HOME counts only when absolute, as for pane: a relative one leaves the default,
        // and GITHUB_PATH gets the dir pane was installed into; an absolute one is that dir.
        for absolute in [false, true] {
            let mut sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
            let github_path = sandbox.path("github_path");
            sandbox.set("GITHUB_PATH", &github_path);
            let dir = if absolute {
                let dir = sandbox.path("xdg/bin");
                sandbox.set("XDG_BIN_HOME", &dir);
                dir
            } else {
                sandbox.set("XDG_BIN_HOME", "relbin");
                sandbox.home().join(".local/bin")
            };
            let output = sandbox.run(shell, &["--yes"]);
            assert_success(shell, &output);
            assert_eq!(sandbox.installed_version(&dir.join("pane")), "pane 1.1.0");
            assert_eq!(
                fs::read_to_string(&github_path).unwrap(),
                format!("{}\n", dir.display()),
                "{}: XDG_BIN_HOME absolute: {absolute}",
                shell_name(shell)
            );
            assert!(!sandbox.path("relbin").exists());
        }

        // A relative --install-dir is found from the current directory, whatever CDPATH
        // names: GITHUB_PATH gets that dir, once.
        let mut sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
        let github_path = sandbox.path("github_path");
        sandbox.set("GITHUB_PATH", &github_path);
        fs::create_dir_all(sandbox.path("elsewhere/bin")).unwrap();
        sandbox.set("CDPATH", sandbox.path("elsewhere"));
        let output = sandbox.run(shell, &["--install-dir", "bin", "--yes"]);
        assert_success(shell, &output);
        let dir = sandbox.path("bin");
        assert_eq!(sandbox.installed_version(&dir.join("pane")), "pane 1.1.0");
        assert_eq!(
            fs::read_to_string(&github_path).unwrap(),
            format!("{}\n", dir.display()),
            "{}",
            shell_name(shell)
        );
    }
}

#[test]
fn a_relative_tmpdir_is_taken_from_the_current_directory() {
    // mktemp -d then gives a relative path, which must still name the working directory after
    // the script has changed into a directory under it to unpack, and whatever CDPATH names.
    let fake = Fake::new(&["1.0.0"]);
    let server = start_server(fake.root());
    for shell in SHELLS {
        let mut sandbox = Sandbox::new(&server, &fake.key_line());
        sandbox.set("TMPDIR", "tmp");
        fs::create_dir_all(sandbox.path("elsewhere/tmp")).unwrap();
        sandbox.set("CDPATH", sandbox.path("elsewhere"));
        sandbox.set("PANE_RECORD", sandbox.path("record"));
        let output = sandbox.run(shell, &["--version", "1.0.0", "--yes"]);
        assert_success(shell, &output);
        assert_eq!(
            fs::read_to_string(sandbox.path("record")).unwrap(),
            sandbox.handed_over(&["--yes"])
        );
        let left: Vec<_> = fs::read_dir(sandbox.path("elsewhere/tmp"))
            .unwrap()
            .collect();
        assert!(left.is_empty(), "{}: {left:?}", shell_name(shell));
    }
}

#[test]
fn quiet_and_verbose() {
    let fixture = shared();
    let server = start_server(&fixture.root);
    for shell in SHELLS {
        for flag in ["--quiet", "-q"] {
            let sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
            let output = sandbox.run(shell, &[flag, "--yes"]);
            assert_success(shell, &output);
            assert!(
                output.stdout.is_empty() && output.stderr.is_empty(),
                "{}: {flag} printed something\n{}",
                shell_name(shell),
                describe(&output)
            );
            assert_eq!(
                sandbox.installed_version(&sandbox.home().join(".local/bin/pane")),
                "pane 1.1.0"
            );
        }
        for flag in ["--verbose", "-v"] {
            let sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
            let output = sandbox.run(shell, &[flag, "--yes"]);
            assert_success(shell, &output);
            let err = stderr(&output);
            for needle in [
                "downloading with /usr/bin/curl",
                "signature checked with: minisign",
                &format!("downloading {}", server.latest_url("SHA256SUMS.minisig")),
                "handing over: ",
            ] {
                assert!(
                    err.contains(needle),
                    "{}: lacks {needle:?}\n{err}",
                    shell_name(shell)
                );
            }
        }
        // A refusal still says why under --quiet.
        let mut sandbox = Sandbox::new(&server, &fixture.key.public_key_line());
        sandbox.set("PANE_RELEASES_URL", "http://example.com/r");
        let output = sandbox.run(shell, &["--quiet"]);
        assert_refused(shell, &sandbox, &output, &["refusing plain http"]);
    }
}

#[test]
fn missing_tar_gzip_or_sed_is_a_clear_error_before_any_download() {
    let fake = Fake::new(&["1.0.0"]);
    let server = start_server(fake.root());
    for hidden in ["tar", "gzip", "sed"] {
        let bin = tools_dir(&[hidden]);
        for shell in SHELLS {
            let mut sandbox = Sandbox::new(&server, &fake.key_line());
            sandbox.set("PATH", bin.path());
            let output = sandbox.run(shell, &["--yes"]);
            assert_refused(
                shell,
                &sandbox,
                &output,
                &[
                    &format!("this script needs these tools, which are not installed: {hidden}."),
                    "apt-get install",
                ],
            );
        }
    }
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

// ---------------------------------------------------------------------------------------------
// Certificates are checked whatever the user's downloader configuration says

/// `openssl s_server -WWW`: an https file server (one connection at a time) over a copy of a
/// release root laid out as GitHub's download paths, with a self-signed certificate for
/// 127.0.0.1 made now. Stopped when dropped.
struct TlsFiles {
    child: std::process::Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl TlsFiles {
    fn start(root: &Path) -> TlsFiles {
        let openssl = which("openssl");
        let dir = tempfile::Builder::new()
            .prefix("pane-tls-")
            .tempdir()
            .unwrap();
        let made = Command::new(&openssl)
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
            .args([
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ])
            .args(["-keyout", "key.pem", "-out", "cert.pem"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(made.status.success(), "{}", describe(&made));
        let download = dir.path().join("www/pane-cli/pane/releases/download");
        for release in fs::read_dir(root).unwrap().flatten() {
            let into = download.join(release.file_name());
            fs::create_dir_all(&into).unwrap();
            for file in fs::read_dir(release.path()).unwrap().flatten() {
                fs::copy(file.path(), into.join(file.file_name())).unwrap();
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&openssl)
            .args(["s_server", "-quiet", "-WWW", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-cert", "../cert.pem", "-key", "../key.pem"])
            .current_dir(dir.path().join("www"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let files = TlsFiles { child, port, dir };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "openssl s_server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        files
    }

    fn releases_url(&self) -> String {
        format!("https://127.0.0.1:{}/pane-cli/pane/releases", self.port)
    }

    fn cert(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }
}

impl Drop for TlsFiles {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_curlrc_or_wgetrc_cannot_turn_certificate_checks_off() {
    let fake = Fake::new(&["1.0.0"]);
    let server = start_server(fake.root());
    let tls = TlsFiles::start(fake.root());
    let no_curl = tools_dir(&["curl"]);
    which("curl");
    which("wget");
    for shell in SHELLS {
        for (path, downloader) in [(Path::new(SYSTEM_PATH), "curl"), (no_curl.path(), "wget")] {
            let mut sandbox = Sandbox::new(&server, &fake.key_line());
            sandbox.set("PATH", path);
            sandbox.set("PANE_RELEASES_URL", tls.releases_url());
            sandbox.set("PANE_RECORD", sandbox.path("record"));
            fs::write(sandbox.home().join(".curlrc"), "insecure\n").unwrap();
            fs::write(sandbox.home().join(".wgetrc"), "check_certificate = off\n").unwrap();
            let before = sandbox.user_files();
            let output = sandbox.run(shell, &["--version", "1.0.0", "--yes"]);
            assert_eq!(
                output.status.code(),
                Some(1),
                "{} with {downloader}: a certificate nobody trusts was accepted\n{}",
                shell_name(shell),
                describe(&output)
            );
            assert!(
                stderr(&output).contains("could not download"),
                "{}",
                describe(&output)
            );
            assert!(!sandbox.path("record").exists(), "pane was run");
            assert_eq!(sandbox.user_files(), before, "{}", shell_name(shell));
        }
        // The same server, its certificate trusted (curl's CURL_CA_BUNDLE): it installs.
        let mut sandbox = Sandbox::new(&server, &fake.key_line());
        sandbox.set("PANE_RELEASES_URL", tls.releases_url());
        sandbox.set("CURL_CA_BUNDLE", tls.cert());
        sandbox.set("PANE_RECORD", sandbox.path("record"));
        let output = sandbox.run(shell, &["--version", "1.0.0", "--yes"]);
        assert_success(shell, &output);
        assert_eq!(
            fs::read_to_string(sandbox.path("record")).unwrap(),
            sandbox.handed_over(&["--yes"])
        );
    }
}

/// A receipt as pane writes it (pretty JSON), with these versions.
fn write_receipt(sandbox: &Sandbox, version: &str, highest: &str, highest_stable: Option<&str>) {
    let receipt = serde_json::json!({
        "schema": 1,
        "version": version,
        "target": host_target(),
        "install_dir": sandbox.home().join(".local/bin"),
        "installed_by": "install.sh",
        "pin": null,
        "highest_verified": highest,
        "highest_verified_stable": highest_stable,
        "previous": null,
        "kept": [],
        "profile_edits": [],
        "created_files": [],
        "updated_at": 1,
    });
    let path = sandbox.path("data/pane/install-receipt.json");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut text = serde_json::to_string_pretty(&receipt).unwrap();
    text.push('\n');
    fs::write(path, text).unwrap();
}

#[test]
fn the_floor_is_the_receipts_stable_record_and_an_explicit_version_goes_below_it() {
    // A stand-in that knows `self install --allow-downgrade`, as a pane guarding downgrades does.
    let knows = tempfile::tempdir().unwrap();
    let binary = knows.path().join("pane");
    fs::write(
        &binary,
        STAND_IN.replacen(
            "{\n",
            "if [ \"$*\" = 'self install --help' ]; then echo '  --allow-downgrade'; exit 0; fi\n{\n",
            1,
        ),
    )
    .unwrap();
    fs::set_permissions(&binary, fs::Permissions::from_mode(0o755)).unwrap();
    let fake = Fake::new(&["2.0.0", "3.0.5"]);
    Release::new("2.5.0")
        .binary(&binary)
        .write(fake.root(), &fake.key);
    let server = start_server(fake.root());
    for shell in SHELLS {
        // 3.1.0-beta.1 was tried, 3.0.0 is the highest stable: the stable channel's floor.
        let receipt = |sandbox: &Sandbox| {
            write_receipt(sandbox, "3.1.0-beta.1", "3.1.0-beta.1", Some("3.0.0"))
        };
        for (latest, installs) in [("2.0.0", false), ("3.0.5", true)] {
            serve_as_latest(&server, latest);
            let mut sandbox = Sandbox::new(&server, &fake.key_line());
            sandbox.set("PANE_RECORD", sandbox.path("record"));
            receipt(&sandbox);
            let before = sandbox.user_files();
            let output = sandbox.run(shell, &["--yes"]);
            assert_success(shell, &output);
            if installs {
                assert_eq!(
                    fs::read_to_string(sandbox.path("record")).unwrap(),
                    sandbox.handed_over(&["--yes"])
                );
            } else {
                assert!(
                    stderr(&output).contains(&format!(
                        "(3.1.0-beta.1, and 3.0.0 verified before) is newer than {latest}"
                    )),
                    "{}",
                    describe(&output)
                );
                assert!(!sandbox.path("record").exists(), "pane was run");
                assert_eq!(sandbox.user_files(), before);
            }
            server.clear_faults();
        }
        // Named, a lower version is installed; a pane that guards `self install` is told
        // that the downgrade is deliberate, one that does not know the flag is not.
        for (version, args) in [
            ("2.5.0", &["--yes", "--allow-downgrade"][..]),
            ("2.0.0", &["--yes"][..]),
        ] {
            let mut sandbox = Sandbox::new(&server, &fake.key_line());
            sandbox.set("PANE_RECORD", sandbox.path("record"));
            receipt(&sandbox);
            let output = sandbox.run(shell, &["--version", version, "--yes"]);
            assert_success(shell, &output);
            assert_eq!(
                fs::read_to_string(sandbox.path("record")).unwrap(),
                sandbox.handed_over(args),
                "{version}"
            );
        }
    }
}

#[test]
fn prerelease_installs_the_highest_listed_release() {
    let fake = Fake::new(&["2.0.0", "2.1.0-beta.1", "2.1.0-beta.10", "2.1.0-beta.2"]);
    let server = start_server(fake.root());
    for shell in SHELLS {
        server.clear_requests();
        let sandbox = Sandbox::new(&server, &fake.key_line());
        let output = sandbox.run(shell, &["--prerelease", "--yes"]);
        assert_success(shell, &output);
        let err = stderr(&output);
        assert!(
            err.contains("the highest release listed, pre-releases included, is 2.1.0-beta.10"),
            "{err}"
        );
        assert!(
            err.contains("verified the signature of SHA256SUMS for pane 2.1.0-beta.10"),
            "{err}"
        );
        // Listed through the API, then fetched by exact version, never through "latest".
        let paths: Vec<String> = server
            .requests()
            .iter()
            .map(|r| r.path_only().to_string())
            .collect();
        assert!(paths[0].ends_with("/releases"), "{paths:#?}");
        assert!(
            paths[1..]
                .iter()
                .all(|p| p.contains("/download/v2.1.0-beta.10/")),
            "{paths:#?}"
        );
        // Without it, the latest stable release.
        let sandbox = Sandbox::new(&server, &fake.key_line());
        let output = sandbox.run(shell, &["--yes"]);
        assert_success(shell, &output);
        assert!(
            stderr(&output).contains("for pane 2.0.0"),
            "{}",
            describe(&output)
        );
    }
}

#[test]
fn the_release_pipeline_publishes_a_stamped_script_listed_in_the_signed_sums() {
    let fake = Fake::new(&[]);
    let release = fake.release("1.0.0").write(fake.root(), &fake.key);
    let dir = fake.root().join("v1.0.0");
    // release.yml's order: `cargo xtask install-sh`, `checksums`, `sign`.
    xtask::install_script::write_stamped(&dir, &install_sh()).unwrap();
    xtask::checksums::write_checksums(&dir).unwrap();
    xtask::signing::sign_release(&dir, fake.key.secret_key()).unwrap();
    let script = fs::read(dir.join("install.sh")).unwrap();
    let script_sha256 = xtask::checksums::sha256_file(&dir.join("install.sh")).unwrap();
    let sums = fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
    assert!(
        sums.contains(&format!("{script_sha256}  install.sh\n")),
        "{sums}"
    );
    assert!(String::from_utf8_lossy(&script).contains(&format!(
        "    echo '{}  {}'\n",
        release.archive_sha256(),
        release.archive_name()
    )));

    let server = start_server(fake.root());
    let stock = tools_like_stock_macos();
    for shell in SHELLS {
        for (path, signature_checked) in [(stock.path(), false), (Path::new(SYSTEM_PATH), true)] {
            let mut sandbox = Sandbox::new(&server, &fake.key_line());
            sandbox.set("PATH", path);
            sandbox.set("PANE_RECORD", sandbox.path("record"));
            // curl … /download/v1.0.0/install.sh | sh -s -- --yes
            let fetched = sandbox
                .command("curl")
                .args(["-sSf", &server.download_url("1.0.0", "install.sh")])
                .output()
                .unwrap();
            assert!(fetched.status.success(), "{}", describe(&fetched));
            assert_eq!(fetched.stdout, script);
            let output = sandbox.run_piped(shell, &fetched.stdout, &["--yes"]);
            assert_success(shell, &output);
            assert_eq!(
                stderr(&output).contains("verified the signature of SHA256SUMS for pane 1.0.0"),
                signature_checked,
                "{}",
                describe(&output)
            );
            assert_eq!(
                fs::read_to_string(sandbox.path("record")).unwrap(),
                sandbox.handed_over(&["--yes"])
            );
        }
    }
}
