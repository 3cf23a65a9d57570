//! PATH set-up and its undo, on real files: `pane::path_setup::{setup_path, undo_path}` directly,
//! and end to end through `pane self install` / `pane self uninstall --yes`. The property checked
//! throughout: after the undo every file under the temporary home is back to its previous bytes
//! and mode (symlinks still symlinks), and nothing pane made is left.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::timed_tree;
use pane::path_setup::{
    merge_records, setup_path, shadowing_binary, undo_path, PathContext, ProfileEdit,
};

/// Path (relative to the root) → kind, contents or link target, mode.
type Tree = BTreeMap<PathBuf, (String, Vec<u8>, u32)>;
/// The same with the modification time, to see that a file was not even rewritten.
fn tree(root: &Path) -> Tree {
    timed_tree(root)
        .into_iter()
        .map(|(path, (kind, contents, mode, _, _))| (path, (kind, contents, mode)))
        .collect()
}

#[track_caller]
fn assert_same_tree(before: &Tree, after: &Tree, what: &str) {
    if before == after {
        return;
    }
    let mut differences = Vec::new();
    for (path, entry) in after {
        match before.get(path) {
            None => differences.push(format!("added {}", path.display())),
            Some(old) if old != entry => differences.push(format!(
                "changed {}: {:?} -> {:?}",
                path.display(),
                String::from_utf8_lossy(&old.1),
                String::from_utf8_lossy(&entry.1)
            )),
            _ => {}
        }
    }
    for path in before.keys().filter(|p| !after.contains_key(*p)) {
        differences.push(format!("removed {}", path.display()));
    }
    panic!("{what}:\n{}", differences.join("\n"));
}

/// A temporary home; the context that `pane self install` would build for it.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::Builder::new()
            .prefix("pane-profile-")
            .tempdir()
            .unwrap();
        fs::create_dir(dir.path().join("home")).unwrap();
        Home { dir }
    }

    /// A home with the XDG dirs `run_pane` points at, as a real pane run needs.
    fn with_xdg_dirs() -> Home {
        let home = Home::new();
        for dir in ["config", "data", "state", "cache"] {
            fs::create_dir(home.root().join(dir)).unwrap();
        }
        home
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn home(&self) -> PathBuf {
        self.root().join("home")
    }

    fn write(&self, relative: &str, contents: &str) -> PathBuf {
        let path = self.root().join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, contents).unwrap();
        path
    }

    fn read(&self, relative: &str) -> String {
        fs::read_to_string(self.root().join(relative)).unwrap()
    }

    /// An empty directory for PATH, so that nothing on the machine (a zsh, a pane) matters.
    fn context(&self, install_dir: &Path) -> PathContext {
        let empty_bin = self.root().join("path-bin");
        fs::create_dir_all(&empty_bin).unwrap();
        fs::create_dir_all(install_dir).unwrap();
        PathContext {
            home: self.home(),
            install_dir: install_dir.to_path_buf(),
            path_env: Some(empty_bin.into_os_string()),
            zdotdir: None,
            xdg_config_home: None,
            github_path: None,
            xdg_data_home: None,
            bash_completion_user_dir: None,
            completions: Vec::new(),
        }
    }
}

/// Set up, check, set up again (changes nothing), undo with the merged records (as a re-install
/// stores them): the tree is as before.
fn round_trip(home: &Home, context: &PathContext, check: impl Fn(&Home)) {
    let before = tree(home.root());
    let first = setup_path(context).unwrap();
    check(home);
    let after_first = timed_tree(home.root());
    let second = setup_path(context).unwrap();
    assert_eq!(
        timed_tree(home.root()),
        after_first,
        "the second setup_path changed files"
    );
    assert!(
        second.notes.iter().any(|n| n.contains("already in place")),
        "{:?}",
        second.notes
    );
    let (edits, created) = merge_records(&first.edits, &first.created_files, &second);
    // The receipt stores the records as JSON.
    let edits: Vec<ProfileEdit> =
        serde_json::from_str(&serde_json::to_string(&edits).unwrap()).unwrap();
    undo_path(&edits, &created).unwrap();
    assert_same_tree(&before, &tree(home.root()), "undo did not restore the home");
}

#[test]
fn an_empty_home_gets_a_profile_and_loses_it_again() {
    let home = Home::new();
    let install_dir = home.home().join(".local/bin");
    let context = home.context(&install_dir);
    round_trip(&home, &context, |home| {
        assert_eq!(
            home.read("home/.profile"),
            ". \"$HOME/.local/bin/pane.env\"\n"
        );
        assert!(home
            .read("home/.local/bin/pane.env")
            .contains("export PATH="));
        assert!(home
            .read("home/.config/fish/conf.d/pane.env.fish")
            .contains("set -gx PATH"));
        // No zsh here, so no .zshenv; no bash rc existed, so none is made.
        assert!(!home.home().join(".zshenv").exists());
        assert!(!home.home().join(".bashrc").exists());
    });
    // The directories pane made for the fish file went too, the install dir stays (the binary's).
    assert!(!home.home().join(".config").exists());
    assert!(install_dir.exists());
}

#[test]
fn existing_profiles_of_every_kind_are_restored_byte_for_byte() {
    let home = Home::new();
    // No final newline; CRLF line ends; a symlink into a dotfiles repository; a read-only file.
    home.write("home/.profile", "export EDITOR=vi");
    home.write("home/.bash_profile", "[ -f ~/.bashrc ] && . ~/.bashrc\r\n");
    let dotfiles = home.write("dotfiles/bashrc", "alias ll='ls -l'\n");
    symlink(&dotfiles, home.home().join(".bashrc")).unwrap();
    let login = home.write("home/.bash_login", "");
    fs::set_permissions(&login, fs::Permissions::from_mode(0o600)).unwrap();
    home.write("home/.zshrc", "setopt autocd\n");
    home.write("home/.config/fish/conf.d/other.fish", "set -gx X 1\n");
    let install_dir = home.home().join(".local/bin");
    let context = home.context(&install_dir);
    round_trip(&home, &context, |home| {
        let line = ". \"$HOME/.local/bin/pane.env\"";
        assert_eq!(
            home.read("home/.profile"),
            format!("export EDITOR=vi\n{line}\n")
        );
        assert_eq!(
            home.read("home/.bash_profile"),
            format!("[ -f ~/.bashrc ] && . ~/.bashrc\r\n{line}\n")
        );
        // Through the symlink, which is still one.
        assert!(fs::symlink_metadata(home.home().join(".bashrc"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(
            home.read("dotfiles/bashrc"),
            format!("alias ll='ls -l'\n{line}\n")
        );
        assert_eq!(home.read("home/.bash_login"), format!("{line}\n"));
        // zsh is in use (a .zshrc): its .zshenv, read by every zsh, is created.
        assert_eq!(home.read("home/.zshenv"), format!("{line}\n"));
        assert!(home
            .root()
            .join("home/.config/fish/conf.d/pane.env.fish")
            .exists());
    });
    assert_eq!(
        fs::metadata(&login).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn zdotdir_xdg_config_home_and_an_install_dir_outside_home() {
    let home = Home::new();
    home.write("zdot/.zshrc", "");
    let install_dir = home.root().join("opt/it's a \"dir\" with $dollar");
    let mut context = home.context(&install_dir);
    context.zdotdir = Some(home.root().join("zdot"));
    context.xdg_config_home = Some(home.root().join("xdg-config"));
    round_trip(&home, &context, |home| {
        let line = format!(
            ". \"{}/opt/it's a \\\"dir\\\" with \\$dollar/pane.env\"",
            home.root().display()
        );
        assert_eq!(home.read("zdot/.zshenv"), format!("{line}\n"));
        assert!(!home.home().join(".zshenv").exists());
        assert_eq!(home.read("home/.profile"), format!("{line}\n"));
        assert!(home
            .root()
            .join("xdg-config/fish/conf.d/pane.env.fish")
            .exists());
        assert!(!home.home().join(".config").exists());
    });
}

#[test]
fn zsh_on_path_means_a_zshenv() {
    let home = Home::new();
    let install_dir = home.home().join("bin");
    let context = home.context(&install_dir);
    let zsh = home.root().join("path-bin/zsh");
    fs::write(&zsh, "#!/bin/sh\n").unwrap();
    fs::set_permissions(&zsh, fs::Permissions::from_mode(0o755)).unwrap();
    round_trip(&home, &context, |home| {
        assert_eq!(home.read("home/.zshenv"), ". \"$HOME/bin/pane.env\"\n");
    });
}

#[test]
fn lines_the_user_added_afterwards_stay() {
    let home = Home::new();
    home.write("home/.bashrc", "one");
    let install_dir = home.home().join(".local/bin");
    let context = home.context(&install_dir);
    let setup = setup_path(&context).unwrap();
    let bashrc = home.home().join(".bashrc");
    let mut text = fs::read_to_string(&bashrc).unwrap();
    assert_eq!(text, "one\n. \"$HOME/.local/bin/pane.env\"\n");
    text.push_str("two\n");
    fs::write(&bashrc, &text).unwrap();
    let profile = home.home().join(".profile");
    fs::write(
        &profile,
        format!("{}export X=1\n", fs::read_to_string(&profile).unwrap()),
    )
    .unwrap();
    let undone = undo_path(&setup.edits, &setup.created_files).unwrap();
    // pane's line is gone; the user's lines are intact and still separate.
    assert_eq!(fs::read_to_string(&bashrc).unwrap(), "one\ntwo\n");
    // A .profile pane created but the user has since written to is kept, without pane's line.
    assert_eq!(fs::read_to_string(&profile).unwrap(), "export X=1\n");
    assert!(!install_dir.join("pane.env").exists());
    assert!(undone.edited.contains(&bashrc), "{undone:?}");
    assert!(undone.edited.contains(&profile), "{undone:?}");
    assert!(
        undone.removed.contains(&install_dir.join("pane.env")),
        "{undone:?}"
    );
}

#[test]
fn undo_leaves_what_is_no_longer_pane_s() {
    let home = Home::new();
    let install_dir = home.home().join(".local/bin");
    let context = home.context(&install_dir);
    let setup = setup_path(&context).unwrap();
    // The user removed pane's line by hand and rewrote the env file.
    fs::write(home.home().join(".profile"), "mine\n").unwrap();
    fs::write(install_dir.join("pane.env"), "my own env\n").unwrap();
    let notes = undo_path(&setup.edits, &setup.created_files).unwrap().notes;
    assert_eq!(home.read("home/.profile"), "mine\n");
    assert_eq!(home.read("home/.local/bin/pane.env"), "my own env\n");
    assert!(
        notes.iter().any(|n| n.contains("no longer holds the line")),
        "{notes:?}"
    );
    assert!(notes.iter().any(|n| n.contains("kept")), "{notes:?}");
    // And undoing twice is harmless.
    undo_path(&setup.edits, &setup.created_files).unwrap();
}

#[test]
fn nothing_when_the_dir_is_already_on_path() {
    let home = Home::new();
    home.write("home/.bashrc", "x\n");
    let install_dir = home.home().join(".local/bin");
    let mut context = home.context(&install_dir);
    let mut path = OsString::from("/usr/bin:");
    // A trailing slash, and a symlink to it, both count.
    path.push(format!("{}/", install_dir.display()));
    for path_env in [path, {
        let link = home.root().join("link-to-bin");
        symlink(&install_dir, &link).unwrap();
        link.into_os_string()
    }] {
        context.path_env = Some(path_env);
        let before = timed_tree(home.root());
        let setup = setup_path(&context).unwrap();
        assert!(setup.edits.is_empty() && setup.created_files.is_empty());
        assert!(
            setup.notes[0].contains("already on PATH"),
            "{:?}",
            setup.notes
        );
        assert_eq!(timed_tree(home.root()), before);
    }
}

#[test]
fn github_path_gets_the_dir_once() {
    let home = Home::new();
    let install_dir = home.home().join(".local/bin");
    let mut context = home.context(&install_dir);
    let github_path = home.write("runner/github_path", "/opt/tool/bin\n");
    context.github_path = Some(github_path.clone());
    setup_path(&context).unwrap();
    setup_path(&context).unwrap();
    assert_eq!(
        fs::read_to_string(&github_path).unwrap(),
        format!("/opt/tool/bin\n{}\n", install_dir.display())
    );
}

#[test]
fn the_env_file_puts_the_dir_first_once_under_every_shell() {
    let home = Home::new();
    let install_dir = home.root().join("we'ird dir/with \"quotes\" and $x");
    let context = home.context(&install_dir);
    setup_path(&context).unwrap();
    for shell in [&["dash"][..], &["busybox", "sh"], &["bash"]] {
        let output = Command::new(shell[0])
            .args(&shell[1..])
            .arg("-c")
            .arg(". \"$HOME/.profile\"; . \"$HOME/.profile\"; printf '%s' \"$PATH\"")
            .env_clear()
            .env("HOME", home.home())
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap();
        assert!(output.status.success(), "{shell:?}: {output:?}");
        assert_eq!(
            String::from_utf8(output.stdout).unwrap(),
            format!("{}:/usr/bin:/bin", install_dir.display()),
            "{shell:?}"
        );
        // With an empty PATH no empty entry (the current directory) is added.
        let output = Command::new(shell[0])
            .args(&shell[1..])
            .arg("-c")
            .arg(format!(
                "PATH=; . '{}/pane.env'; printf '%s' \"$PATH\"",
                install_dir.display().to_string().replace('\'', "'\\''")
            ))
            .env_clear()
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(output.stdout).unwrap(),
            install_dir.display().to_string(),
            "{shell:?}"
        );
    }
    // fish is not installed on the test machines, so its file is checked for form only.
    let fish = fs::read_to_string(home.home().join(".config/fish/conf.d/pane.env.fish")).unwrap();
    assert!(fish.contains("if not contains -- '"), "{fish}");
}

#[test]
fn shadowing_binary_finds_another_pane_earlier_on_path() {
    let home = Home::new();
    let ours_dir = home.root().join("ours");
    let other_dir = home.root().join("other");
    let later_dir = home.root().join("later");
    let not_executable_dir = home.root().join("plain");
    for (dir, mode) in [
        (&ours_dir, 0o755),
        (&other_dir, 0o755),
        (&later_dir, 0o755),
        (&not_executable_dir, 0o644),
    ] {
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join("pane"), "#!/bin/sh\n").unwrap();
        fs::set_permissions(dir.join("pane"), fs::Permissions::from_mode(mode)).unwrap();
    }
    let link_dir = home.root().join("link");
    fs::create_dir_all(&link_dir).unwrap();
    symlink(ours_dir.join("pane"), link_dir.join("pane")).unwrap();
    let path = |dirs: &[&Path]| std::env::join_paths(dirs).unwrap();
    let cases: Vec<(OsString, Option<PathBuf>)> = vec![
        (path(&[&ours_dir, &other_dir]), None),
        (path(&[&other_dir, &ours_dir]), Some(other_dir.join("pane"))),
        (path(&[&not_executable_dir, &ours_dir, &later_dir]), None),
        // A symlink to our own binary is ours.
        (path(&[&link_dir, &ours_dir]), None),
        // Not on PATH at all: what `pane` runs in this shell.
        (path(&[&later_dir]), Some(later_dir.join("pane"))),
        (OsString::new(), None),
    ];
    for (path_env, expected) in cases {
        assert_eq!(
            shadowing_binary(Some(&path_env), &ours_dir),
            expected,
            "{path_env:?}"
        );
    }
    assert_eq!(shadowing_binary(None, &ours_dir), None);
}

// ---------------------------------------------------------------------------------------------
// End to end: `pane self install` and `pane self uninstall --yes`

fn run_pane(binary: &Path, home: &Home, path_env: &str, args: &[&str]) -> Output {
    let mut command = Command::new(binary);
    command
        .args(args)
        .env_clear()
        .env("HOME", home.home())
        .env("PATH", path_env)
        .env("XDG_CONFIG_HOME", home.root().join("config"))
        .env("XDG_DATA_HOME", home.root().join("data"))
        .env("XDG_STATE_HOME", home.root().join("state"))
        .env("XDG_CACHE_HOME", home.root().join("cache"))
        .env("PANE_NO_UPDATE_CHECK", "1")
        .current_dir(home.root());
    command.output().unwrap()
}

#[track_caller]
fn assert_ok(output: &Output) {
    assert!(
        output.status.success(),
        "exit status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn self_install_then_uninstall_restores_every_profile_byte_for_byte() {
    let binary = xtask::fixtures::build_pane("1.0.0");
    let home = Home::with_xdg_dirs();
    home.write("home/.profile", "# my profile\nexport EDITOR=vi");
    home.write("home/.bashrc", "alias ll='ls -l'\n");
    home.write("home/.bash_profile", ". ~/.bashrc\n");
    home.write("home/.zshrc", "setopt autocd\n");
    home.write("config/fish/conf.d/mine.fish", "set -gx X 1\n");
    let path_env = "/usr/local/bin:/usr/bin:/bin";
    let before = tree(home.root());

    let output = run_pane(&binary, &home, path_env, &["self", "install", "--yes"]);
    assert_ok(&output);
    let line = ". \"$HOME/.local/bin/pane.env\"";
    assert_eq!(
        home.read("home/.profile"),
        format!("# my profile\nexport EDITOR=vi\n{line}\n")
    );
    for rc in [".bashrc", ".bash_profile", ".zshenv"] {
        assert!(
            home.read(&format!("home/{rc}"))
                .ends_with(&format!("{line}\n")),
            "{rc}"
        );
    }
    assert!(home
        .root()
        .join("config/fish/conf.d/pane.env.fish")
        .exists());
    assert!(home.home().join(".local/bin/pane").exists());

    // Again: no profile or set-up file changes.
    let profiles = |home: &Home| {
        let mut all = timed_tree(&home.home());
        all.retain(|path, _| !path.starts_with(".local/bin/pane"));
        all.extend(timed_tree(&home.root().join("config")));
        all
    };
    let after_first = profiles(&home);
    assert_ok(&run_pane(
        &binary,
        &home,
        path_env,
        &["self", "install", "--yes"],
    ));
    assert_eq!(
        profiles(&home),
        after_first,
        "a second install changed files"
    );

    // The installed pane uninstalls itself, and everything is as it was.
    let installed = home.home().join(".local/bin/pane");
    let output = run_pane(&installed, &home, path_env, &["self", "uninstall", "--yes"]);
    assert_ok(&output);
    let mut after = tree(home.root());
    // The install dir (~/.local/bin) was made for the binary, not by the PATH set-up, and
    // uninstall may leave it when it is empty; nothing else may be left.
    let leftover: Vec<&PathBuf> = after
        .keys()
        .filter(|path| path.starts_with("home/.local"))
        .collect();
    let allowed = [
        PathBuf::from("home/.local"),
        PathBuf::from("home/.local/bin"),
    ];
    assert!(
        leftover.iter().all(|path| allowed.contains(path)),
        "uninstall left {leftover:?}"
    );
    after.retain(|path, _| !allowed.contains(path));
    assert_same_tree(&before, &after, "uninstall did not restore the home");
}

#[test]
fn self_install_with_no_modify_path_touches_no_profile() {
    let binary = xtask::fixtures::build_pane("1.0.0");
    let home = Home::with_xdg_dirs();
    home.write("home/.bashrc", "x\n");
    let before = tree(&home.home());
    let output = run_pane(
        &binary,
        &home,
        "/usr/bin:/bin",
        &["self", "install", "--no-modify-path", "--yes"],
    );
    assert_ok(&output);
    let mut after = tree(&home.home());
    after.retain(|path, _| !path.starts_with(".local"));
    assert_same_tree(&before, &after, "--no-modify-path changed the home");
    assert!(!home.root().join("config/fish").exists());
    // `.local` holds the binary, and nothing of the PATH set-up.
    assert!(!home.home().join(".local/bin/pane.env").exists());
}

#[test]
fn another_installers_env_file_and_line_are_never_pane_s() {
    let binary = xtask::fixtures::build_pane("1.0.0");
    let home = Home::with_xdg_dirs();
    // uv (and every cargo-dist installer) writes ~/.local/bin/env and sources it.
    let uv_env = "#!/bin/sh\n# uv's env\nexport PATH=\"$HOME/.local/bin:$PATH\"\n";
    let uv_line = ". \"$HOME/.local/bin/env\"";
    home.write("home/.local/bin/env", uv_env);
    home.write("home/.profile", &format!("{uv_line}\n"));
    home.write("home/.bashrc", &format!("alias ll='ls -l'\n{uv_line}\n"));
    let path_env = "/usr/local/bin:/usr/bin:/bin";
    let before = tree(home.root());

    assert_ok(&run_pane(
        &binary,
        &home,
        path_env,
        &["self", "install", "--yes"],
    ));
    // pane's own file and line, beside uv's, which are untouched.
    assert_eq!(home.read("home/.local/bin/env"), uv_env);
    assert!(home
        .read("home/.local/bin/pane.env")
        .contains("export PATH="));
    let pane_line = ". \"$HOME/.local/bin/pane.env\"";
    assert_eq!(
        home.read("home/.profile"),
        format!("{uv_line}\n{pane_line}\n")
    );
    let receipt = fs::read_to_string(home.root().join("data/pane/install-receipt.json")).unwrap();
    assert!(
        !receipt.contains("bin/env\\\""),
        "pane claimed uv's line: {receipt}"
    );
    assert!(
        !receipt.contains("bin/env\""),
        "pane claimed uv's file: {receipt}"
    );

    let installed = home.home().join(".local/bin/pane");
    assert_ok(&run_pane(
        &installed,
        &home,
        path_env,
        &["self", "uninstall", "--yes"],
    ));
    let mut after = tree(home.root());
    after.retain(|path, _| !path.starts_with("data"));
    let mut before = before;
    before.retain(|path, _| !path.starts_with("data"));
    assert_same_tree(
        &before,
        &after,
        "uninstall touched another installer's files",
    );
}

#[test]
fn a_file_of_pane_s_name_that_pane_did_not_write_is_refused() {
    let binary = xtask::fixtures::build_pane("1.0.0");
    let home = Home::with_xdg_dirs();
    home.write("home/.local/bin/pane.env", "# something of the user's\n");
    home.write("home/.bashrc", "x\n");
    let before = tree(&home.home());
    let output = run_pane(
        &binary,
        &home,
        "/usr/bin:/bin",
        &["self", "install", "--yes"],
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("was not written by pane"), "{stderr}");
    assert!(stderr.contains("--no-modify-path"), "{stderr}");
    assert_same_tree(
        &before,
        &tree(&home.home()),
        "a refused install changed the home",
    );
}

#[test]
fn a_profile_that_cannot_take_the_line_is_skipped_with_the_line_to_add() {
    let home = Home::new();
    // A dangling link where ~/.profile would be created, a directory where zsh's rc is (it
    // cannot be read), a `$ZDOTDIR` that does not exist, and a .bashrc that takes the line.
    symlink(home.root().join("gone"), home.home().join(".profile")).unwrap();
    home.write("home/.bashrc", "# mine\n");
    let install_dir = home.home().join(".local/bin");
    let mut context = home.context(&install_dir);
    let before = tree(home.root());
    context.zdotdir = Some(home.root().join("no-such-zdotdir"));
    let setup = setup_path(&context).unwrap();
    let line = ". \"$HOME/.local/bin/pane.env\"";
    assert_eq!(home.read("home/.bashrc"), format!("# mine\n{line}\n"));
    for skipped in ["~/.profile", "no-such-zdotdir/.zshenv"] {
        assert!(
            setup.notes.iter().any(|n| n.contains(skipped)
                && n.contains("could not add a line")
                && n.contains(&format!("add `{line}` to it yourself"))),
            "{skipped}: {:#?}",
            setup.notes
        );
    }
    assert!(
        setup
            .notes
            .iter()
            .any(|n| n.ends_with("to PATH in ~/.bashrc")),
        "{:#?}",
        setup.notes
    );
    // Only what was done is recorded, and undoing it gives everything back.
    let files: Vec<&Path> = setup.edits.iter().map(|e| e.file.as_path()).collect();
    assert_eq!(files, [home.home().join(".bashrc")], "{:#?}", setup.edits);
    assert!(!setup.created_files.contains(&home.home().join(".profile")));
    undo_path(&setup.edits, &setup.created_files).unwrap();
    assert_same_tree(&before, &tree(home.root()), "after the undo");

    // A zsh rc that cannot be read: zsh is set up elsewhere, that file is not guessed at.
    let home = Home::new();
    fs::create_dir_all(home.home().join(".zshenv")).unwrap();
    let context = home.context(&home.home().join(".local/bin"));
    let setup = setup_path(&context).unwrap();
    assert!(
        setup
            .notes
            .iter()
            .any(|n| n.contains("could not add a line to ~/.zshenv")),
        "{:#?}",
        setup.notes
    );
    assert!(home.home().join(".zshenv").is_dir());
}

/// `~/.bash_profile -> .profile` (or a hard link): one file under two names. pane must add
/// its line to it once, and uninstall must give back its bytes.
#[test]
fn a_profile_linked_to_another_profile_gets_one_line_and_loses_it_again() {
    let binary = xtask::fixtures::build_pane("1.0.0");
    let home = Home::with_xdg_dirs();
    home.write("home/.profile", "# shared by sh and bash\n");
    symlink(".profile", home.home().join(".bash_profile")).unwrap();
    home.write("home/dotfiles/bashrc", "alias ll='ls -l'\n");
    fs::hard_link(
        home.root().join("home/dotfiles/bashrc"),
        home.home().join(".bashrc"),
    )
    .unwrap();
    let empty_path = home.root().join("path-bin");
    fs::create_dir_all(&empty_path).unwrap();
    let path_env = empty_path.to_str().unwrap();
    let before = tree(home.root());

    assert_ok(&run_pane(
        &binary,
        &home,
        path_env,
        &["self", "install", "--yes"],
    ));
    let line = ". \"$HOME/.local/bin/pane.env\"";
    assert_eq!(
        home.read("home/.profile").matches(line).count(),
        1,
        "{:?}",
        home.read("home/.profile")
    );

    let installed = home.home().join(".local/bin/pane");
    assert_ok(&run_pane(
        &installed,
        &home,
        path_env,
        &["self", "uninstall", "--yes"],
    ));
    assert!(
        !home.read("home/.profile").contains(line),
        "{:?}",
        home.read("home/.profile")
    );
    assert!(
        !home.read("home/dotfiles/bashrc").contains(line),
        "{:?}",
        home.read("home/dotfiles/bashrc")
    );
    let mut after = tree(home.root());
    after.retain(|path, _| !path.starts_with("home/.local"));
    assert_same_tree(&before, &after, "uninstall did not restore the home");
}

/// pane made `~/.profile`; the user then moved it into a dotfiles repository and linked it
/// back (`stow --adopt`). Uninstall must take pane's line out of the file the link leads to
/// and leave the user's link.
#[test]
fn uninstall_keeps_a_link_that_replaced_a_profile_pane_made() {
    let binary = xtask::fixtures::build_pane("1.0.0");
    let home = Home::with_xdg_dirs();
    let empty_path = home.root().join("path-bin");
    fs::create_dir_all(&empty_path).unwrap();
    let path_env = empty_path.to_str().unwrap();
    assert_ok(&run_pane(
        &binary,
        &home,
        path_env,
        &["self", "install", "--yes"],
    ));
    fs::create_dir(home.home().join("dotfiles")).unwrap();
    fs::rename(
        home.home().join(".profile"),
        home.home().join("dotfiles/profile"),
    )
    .unwrap();
    symlink("dotfiles/profile", home.home().join(".profile")).unwrap();

    let installed = home.home().join(".local/bin/pane");
    assert_ok(&run_pane(
        &installed,
        &home,
        path_env,
        &["self", "uninstall", "--yes"],
    ));
    let link = fs::symlink_metadata(home.home().join(".profile"));
    assert!(
        link.is_ok_and(|m| m.file_type().is_symlink()),
        "uninstall removed the user's link ~/.profile"
    );
    assert!(
        !home.read("home/dotfiles/profile").contains("pane.env"),
        "pane's line is left in the link's target: {:?}",
        home.read("home/dotfiles/profile")
    );
}

/// A `:` in the install dir splits the PATH entry in two, one of them relative (`bin`, looked
/// up from whatever the current directory is): no profile may get such a line.
#[test]
fn an_install_dir_with_a_colon_gets_no_path_line() {
    let binary = xtask::fixtures::build_pane("1.0.0");
    let home = Home::with_xdg_dirs();
    let dir = home.root().join("tools:bin");
    let args = |extra: &'static str| {
        [
            "self",
            "install",
            "--yes",
            "--install-dir",
            dir.to_str().unwrap(),
            extra,
        ]
    };
    // Refused for the `:`, with the way out, before anything is placed.
    let output = run_pane(&binary, &home, "/usr/bin:/bin", &args("--quiet"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("cannot add") && stderr.contains("--no-modify-path"),
        "{stderr}"
    );
    assert!(
        !home.home().join(".profile").exists(),
        "{:?}",
        fs::read_to_string(home.home().join(".profile"))
    );
    assert!(!dir.join("pane").exists());
    // The way out works.
    assert_ok(&run_pane(
        &binary,
        &home,
        "/usr/bin:/bin",
        &args("--no-modify-path"),
    ));
    assert!(dir.join("pane").is_file());
}

/// has_line takes `line\r` for pane's line (a re-install adds nothing); undo must take it too.
#[test]
fn a_line_an_editor_saved_with_crlf_is_still_taken_back() {
    let home = Home::new();
    home.write("home/.bashrc", "# mine\n");
    let context = home.context(&home.home().join(".local/bin"));
    let setup = setup_path(&context).unwrap();
    let bashrc = home.home().join(".bashrc");
    let crlf = fs::read_to_string(&bashrc).unwrap().replace('\n', "\r\n");
    fs::write(&bashrc, &crlf).unwrap();
    undo_path(&setup.edits, &setup.created_files).unwrap();
    assert_eq!(fs::read_to_string(&bashrc).unwrap(), "# mine\r\n");
}
