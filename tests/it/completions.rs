//! `pane self install` puts completions where bash (with bash-completion),
//! zsh and fish find them with no configuration: checked in real shells on a
//! real terminal (tmux), typing `pane self up<TAB>`. Uninstall leaves every
//! file as it was.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{timed_tree, World};
use xtask::fixtures::build_pane;

/// The tool, or `None` after saying why the case is skipped; with `CI` set a
/// missing tool fails the test (`.ci/run` installs them).
fn tool(name: &str) -> Option<PathBuf> {
    let found = ["/usr/bin", "/bin", "/usr/local/bin"]
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|path| path.exists());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{name} is missing, and CI is set: .ci/run installs it"
        );
        eprintln!("skipped: {name} is not installed");
    }
    found
}

/// A shell in tmux, in the world's home, with only the sandbox's environment.
struct Terminal {
    socket: PathBuf,
}

impl Terminal {
    fn start(world: &World, shell: &Path, args: &[&str]) -> Terminal {
        let socket = world.tmp.path().join(format!(
            "tmux-{}",
            shell.file_name().unwrap().to_string_lossy()
        ));
        let mut command = world.command(Path::new("/usr/bin/tmux"));
        command
            .env("TERM", "xterm-256color")
            .env("SHELL", shell)
            .arg("-S")
            .arg(&socket)
            .args([
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "160",
                "-y",
                "40",
            ])
            .arg(shell)
            .args(args);
        let status = command.status().expect("tmux starts");
        assert!(status.success(), "tmux new-session failed");
        Terminal { socket }
    }

    fn tmux(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p"])
    }

    /// Waits until the screen shows `needle`; the screen either way.
    fn wait_for(&self, needle: &str, within: Duration) -> (bool, String) {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return (true, screen);
            }
            if started.elapsed() > within {
                return (false, screen);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

/// Types `pane self up<TAB>` at the shell's prompt and expects the line to
/// read `pane self update`.
fn completes(world: &World, shell: &Path, args: &[&str]) {
    let terminal = Terminal::start(world, shell, args);
    // A marker echoed once the shell has read its start-up files.
    terminal.tmux(&["send-keys", "echo READY-X | tr X Y", "Enter"]);
    let (ready, screen) = terminal.wait_for("READY-Y", Duration::from_secs(20));
    assert!(ready, "{} did not start:\n{screen}", shell.display());
    terminal.tmux(&["send-keys", "clear", "Enter"]);
    std::thread::sleep(Duration::from_millis(300));
    terminal.tmux(&["send-keys", "pane self up", "Tab"]);
    let (done, screen) = terminal.wait_for("pane self update", Duration::from_secs(15));
    assert!(
        done,
        "{} did not complete `pane self up<TAB>`:\n{screen}",
        shell.display()
    );
}

#[test]
fn bash_zsh_and_fish_complete_after_self_install() {
    let (Some(tmux), Some(bash), Some(zsh), Some(fish)) =
        (tool("tmux"), tool("bash"), tool("zsh"), tool("fish"))
    else {
        return;
    };
    let _ = tmux;
    let bash_completion = Path::new("/usr/share/bash-completion/bash_completion");
    if !bash_completion.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "bash-completion is missing"
        );
        eprintln!("skipped: bash-completion is not installed");
        return;
    }
    let world = World::new();
    world.publish("1.0.0");
    // A user's start-up files, as Debian's skeleton and a zsh user have them.
    std::fs::write(
        world.home.join(".bashrc"),
        format!("# mine\n. {}\n", bash_completion.display()),
    )
    .unwrap();
    std::fs::write(
        world.home.join(".zshrc"),
        "autoload -Uz compinit && compinit -u\n",
    )
    .unwrap();
    let before = timed_tree(&world.home);

    world
        .run(&build_pane("1.0.0"), &["self", "install"], &[])
        .success();
    let data = world.home.join(".local/share");
    assert!(data.join("bash-completion/completions/pane").is_file());
    assert!(data.join("zsh/site-functions/_pane").is_file());
    assert!(world
        .home
        .join(".config/fish/completions/pane.fish")
        .is_file());

    completes(&world, &bash, &["--noprofile", "-i"]);
    completes(&world, &zsh, &["-i"]);
    completes(&world, &fish, &[]);

    world.pane(&["self", "uninstall", "--yes"]).success();
    let mut after = timed_tree(&world.home);
    // Shell state of their own (history, zsh's completion dump, fish's
    // variables) is the shells' doing; what pane made is gone.
    let shells_own = |path: &Path| {
        let text = path.to_string_lossy();
        text.starts_with(".zcompdump")
            || text.contains("history")
            || text.starts_with(".local/share/fish")
            || (text.starts_with(".config/fish") && !text.contains("pane"))
            || text.starts_with(".cache")
    };
    after.retain(|path, _| !shells_own(path));
    let mut before = before;
    before.retain(|path, _| !shells_own(path));
    // The install dir and the data dirs pane's binary needed may stay empty.
    for dir in [".local", ".local/bin", ".local/share", ".config"] {
        after.remove(Path::new(dir));
        before.remove(Path::new(dir));
    }
    let added: Vec<_> = after.keys().filter(|p| !before.contains_key(*p)).collect();
    let changed: Vec<_> = before
        .iter()
        .filter(|(p, v)| after.get(*p).map(|a| &a.1) != Some(&v.1))
        .map(|(p, _)| p)
        .collect();
    assert!(
        added.is_empty() && changed.is_empty(),
        "uninstall left {added:?} and changed {changed:?}"
    );
}
