//! The man pages and shell completions of release archives: written by
//! `cargo xtask man` and `completions`, packaged by `cargo xtask dist`,
//! rendered by groff and man without a warning, equal to what the archived
//! binary prints, found where the Homebrew formula installs them from, and
//! no obstacle to pane's own updater.

use super::*;

fn run(command: &mut Command) -> Output {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}",
        stderr(&output)
    );
    output
}

/// `groff -ww -man -Tutf8 PAGE` and `man -l PAGE`: both must succeed with an
/// empty stderr. Returns what man printed.
fn render_cleanly(page: &Path) -> String {
    let groff = Command::new("groff")
        .args(["-ww", "-man", "-Tutf8"])
        .arg(page)
        .output()
        .unwrap();
    assert!(
        groff.status.success(),
        "groff {}: {}",
        page.display(),
        stderr(&groff)
    );
    assert_eq!(
        stderr(&groff),
        "",
        "groff -ww warns about {}",
        page.display()
    );
    assert!(!groff.stdout.is_empty());

    let man = Command::new("man")
        .arg("-l")
        .arg(page)
        .env("MANWIDTH", "80")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap();
    assert!(
        man.status.success(),
        "man -l {}: {}",
        page.display(),
        stderr(&man)
    );
    assert_eq!(stderr(&man), "", "man -l warns about {}", page.display());
    let text = String::from_utf8(man.stdout).unwrap();
    for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "EXAMPLE"] {
        assert!(
            text.contains(section),
            "{} has no {section}:\n{text}",
            page.display()
        );
    }
    text
}

#[test]
fn xtask_man_writes_pages_that_render_without_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let output = xtask_cli(&["man", dir.path().to_str().unwrap()], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let pages = listing(dir.path());
    for page in [
        "pane.1",
        "pane-self.1",
        "pane-self-update.1",
        "pane-self-pin.1",
        "pane-completions.1",
    ] {
        assert!(pages.iter().any(|p| p == page), "{page} missing: {pages:?}");
    }
    assert!(pages.iter().all(|p| p.ends_with(".1")), "{pages:?}");
    let printed = String::from_utf8(output.stdout).unwrap();
    assert_eq!(printed.lines().count(), pages.len(), "{printed}");

    if !(need("groff") && need("man")) {
        return;
    }
    for page in &pages {
        render_cleanly(&dir.path().join(page));
    }
    let pin = render_cleanly(&dir.path().join("pane-self-pin.1"));
    // The example as typed: plain ASCII quotes, not typographic ones.
    assert!(pin.contains("$ pane self pin '~1.2'"), "{pin}");
    assert!(pin.contains("pane self pin [--prerelease]"), "{pin}");
    let top = render_cleanly(&dir.path().join("pane.1"));
    assert!(top.contains("pane-self(1)"), "{top}");
}

#[test]
fn xtask_completions_writes_the_three_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let output = xtask_cli(&["completions", dir.path().to_str().unwrap()], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(listing(dir.path()), ["_pane", "pane.bash", "pane.fish"]);
    let bash = std::fs::read_to_string(dir.path().join("pane.bash")).unwrap();
    assert!(bash.contains("complete -F _pane"), "{bash}");
    let fish = std::fs::read_to_string(dir.path().join("pane.fish")).unwrap();
    assert!(fish.contains("complete -c pane"), "{fish}");
    let zsh = std::fs::read_to_string(dir.path().join("_pane")).unwrap();
    assert!(zsh.starts_with("#compdef pane"), "{zsh}");
}

/// Every file the formula's `install` block takes from the archive
/// (`man/*.1` and the completions) is there.
fn assert_formula_finds_its_files(unpacked: &Path) {
    let mut checked = 0;
    for line in xtask::formula::INSTALL.lines() {
        let Some(path) = line.split('"').nth(1) else {
            continue;
        };
        if let Some(pattern) = path.strip_suffix("*.1") {
            let pages = listing(&unpacked.join(pattern));
            assert!(pages.iter().any(|p| p == "pane.1"), "{line}: {pages:?}");
        } else {
            assert!(
                unpacked.join(path).is_file(),
                "{line}: no {path} in the archive"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 5, "{}", xtask::formula::INSTALL);
}

#[test]
fn dist_archives_carry_man_pages_and_completions() {
    let out = tempfile::tempdir().unwrap();
    let output = xtask_cli(
        &[
            "dist",
            "--profile",
            "fastrelease",
            "--version",
            "3.2.1",
            "--out",
            out.path().to_str().unwrap(),
        ],
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let top = format!("pane-3.2.1-{}", host_target());
    let archive = out.path().join(archive_name("3.2.1", host_target()));

    let listing_text = run(Command::new("tar")
        .args(["--numeric-owner", "-tvzf"])
        .arg(&archive))
    .stdout;
    let listing_text = String::from_utf8(listing_text).unwrap();
    for (mode, name) in [
        ("drwxr-xr-x", "completions/"),
        ("-rw-r--r--", "completions/_pane"),
        ("-rw-r--r--", "completions/pane.bash"),
        ("-rw-r--r--", "completions/pane.fish"),
        ("drwxr-xr-x", "man/"),
        ("-rw-r--r--", "man/pane.1"),
        ("-rw-r--r--", "man/pane-self-update.1"),
        ("-rwxr-xr-x", "pane"),
    ] {
        let entry = format!(" {top}/{name}");
        assert!(
            listing_text
                .lines()
                .any(|l| l.starts_with(&format!("{mode} 0/0")) && l.ends_with(&entry)),
            "no {mode} {entry} in\n{listing_text}"
        );
    }

    let unpacked = tempfile::tempdir().unwrap();
    run(Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(unpacked.path()));
    let folder = unpacked.path().join(&top);
    // The scripts are exactly what the binary beside them prints.
    for (shell, file) in [
        ("bash", "pane.bash"),
        ("zsh", "_pane"),
        ("fish", "pane.fish"),
    ] {
        let printed = run(Command::new(folder.join("pane")).args(["completions", shell])).stdout;
        let shipped = std::fs::read(folder.join("completions").join(file)).unwrap();
        assert!(
            printed == shipped,
            "completions/{file} is not `pane completions {shell}`"
        );
    }
    assert_formula_finds_its_files(&folder);
    if need("groff") && need("man") {
        for page in listing(&folder.join("man")) {
            render_cleanly(&folder.join("man").join(page));
        }
    }

    // pane's updater takes the binary out of such an archive.
    let mut binary = Vec::new();
    pane::update::archive::extract_binary(
        &archive,
        &top,
        &mut binary,
        pane::update::archive::UNPACKED_CAP,
    )
    .unwrap();
    assert!(binary == std::fs::read(folder.join("pane")).unwrap());

    // What the man pages and completions add to the download.
    let bare = tempfile::tempdir().unwrap();
    let options = PackageOptions {
        contents: Vec::new(),
        ..PackageOptions::for_workspace(0).unwrap()
    };
    let without = package_with(
        &folder.join("pane"),
        "3.2.1",
        host_target(),
        bare.path(),
        &options,
    )
    .unwrap();
    let size = |path: &Path| std::fs::metadata(path).unwrap().len();
    let added = size(&archive) - size(&without);
    eprintln!("man pages and completions add {added} bytes to the archive");
    assert!(added > 1024 && added < 32 * 1024, "{added} bytes");
}
