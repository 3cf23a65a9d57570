//! The man pages and shell completions that every release archive carries,
//! made from pane's own clap definitions (`pane::cli::Cli`), so they list
//! exactly the commands and flags of the binary beside them:
//!
//! - `man/pane.1` and a page per visible subcommand (`man/pane-self.1`,
//!   `man/pane-self-update.1`, …), by clap_mangen;
//! - `completions/pane.bash`, `completions/_pane` (zsh) and
//!   `completions/pane.fish`, the scripts `pane completions <shell>` prints.
//!
//! `cargo xtask man DIR` and `cargo xtask completions DIR` write the same
//! files to a directory.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

use crate::error::{Context, Result};
use crate::fsutil::write_atomically;

/// The shells whose completions a release archive carries.
pub const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

/// The man pages: `(file name, roff)`, `pane.1` first, then the subcommands'
/// pages (hidden commands have none).
pub fn man_pages() -> Result<Vec<(String, Vec<u8>)>> {
    let mut command = pane::cli::Cli::command().disable_help_subcommand(true);
    // Names the subcommands' pages `pane-self-update` and their synopses
    // `pane self update`.
    command.build();
    let mut pages = Vec::new();
    add_pages(command, &mut pages)?;
    Ok(pages)
}

fn add_pages(command: clap::Command, pages: &mut Vec<(String, Vec<u8>)>) -> Result<()> {
    let subcommands: Vec<clap::Command> = command
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set())
        .cloned()
        .collect();
    // The help's `Example:` becomes an EXAMPLE section of its own, in place
    // of clap_mangen's EXTRA.
    let example = command.get_after_help().map(|text| text.to_string());
    let man = clap_mangen::Man::new(command.after_help(None::<&'static str>)).source("pane");
    let mut roff = Vec::new();
    man.render(&mut roff)
        .with_context(|| format!("cannot render {}", man.get_filename()))?;
    if let Some(example) = example {
        roff.extend_from_slice(example_section(&example)?.as_bytes());
    }
    pages.push((man.get_filename(), roff));
    for sub in subcommands {
        add_pages(sub, pages)?;
    }
    Ok(())
}

/// `Example: <what>\n  $ <command>` (the help's example) as a man page's
/// EXAMPLE section.
fn example_section(example: &str) -> Result<String> {
    use clap_mangen::roff::{roman, Roff};
    let text = example.trim();
    let Some((what, command)) = text
        .strip_prefix("Example:")
        .and_then(|rest| rest.split_once("\n  $ "))
    else {
        crate::bail!("the help's example {text:?} is not `Example: <what>` then `  $ <command>`");
    };
    let mut roff = Roff::new();
    roff.control("SH", ["EXAMPLE"])
        .text([roman(capitalized(what.trim()))])
        .control("PP", [])
        .control("RS", ["4"])
        .control("nf", [])
        .text([roman(format!("$ {}", command.trim()))])
        .control("fi", [])
        .control("RE", []);
    // Without the preamble that defines the apostrophe, which the page has.
    let preamble = Roff::new().render();
    let section = roff.render();
    Ok(section
        .strip_prefix(&preamble)
        .unwrap_or(&section)
        .to_string())
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The completion scripts of [`SHELLS`]: `(file name, script)`, named as each
/// shell looks them up (`pane.bash`, `_pane`, `pane.fish`).
pub fn completions() -> Vec<(String, Vec<u8>)> {
    SHELLS
        .iter()
        .map(|shell| {
            use clap_complete::Generator as _;
            let mut command = pane::cli::Cli::command();
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut command, "pane", &mut script);
            (shell.file_name("pane"), script)
        })
        .collect()
}

/// What a release archive carries beside the binary: `man/<page>` and
/// `completions/<script>`.
pub fn archive_files() -> Result<Vec<(String, Vec<u8>)>> {
    let man = man_pages()?
        .into_iter()
        .map(|(name, roff)| (format!("man/{name}"), roff));
    let completions = completions()
        .into_iter()
        .map(|(name, script)| (format!("completions/{name}"), script));
    Ok(man.chain(completions).collect())
}

/// `cargo xtask man DIR`: writes the man pages into `dir` (made if needed).
pub fn write_man_pages(dir: &Path) -> Result<Vec<PathBuf>> {
    write_all(dir, man_pages()?)
}

/// `cargo xtask completions DIR`: writes the completion scripts into `dir`.
pub fn write_completions(dir: &Path) -> Result<Vec<PathBuf>> {
    write_all(dir, completions())
}

fn write_all(dir: &Path, files: Vec<(String, Vec<u8>)>) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    for (name, contents) in files {
        let path = dir.join(name);
        write_atomically(&path, 0o644, |file| {
            file.write_all(&contents)
                .with_context(|| format!("cannot write {}", path.display()))
        })?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_for_pane_and_each_visible_subcommand() {
        let names: Vec<String> = man_pages().unwrap().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names[0], "pane.1");
        for name in ["pane-self.1", "pane-self-update.1", "pane-completions.1"] {
            assert!(names.iter().any(|n| n == name), "{name} missing: {names:?}");
        }
        assert!(!names.iter().any(|n| n.contains("background-check")));
        assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
    }

    #[test]
    fn archive_files_sit_in_man_and_completions() {
        let names: Vec<String> = archive_files()
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        for name in [
            "man/pane.1",
            "completions/pane.bash",
            "completions/_pane",
            "completions/pane.fish",
        ] {
            assert!(names.iter().any(|n| n == name), "{name} missing: {names:?}");
        }
    }
}
