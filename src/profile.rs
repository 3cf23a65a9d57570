//! PATH set-up for `pane self install`, and its exact undo for `pane self uninstall`.
//!
//! What [`setup_path`] guarantees:
//! - When the install dir is already on `PATH`, it changes nothing at all.
//! - Otherwise it writes two files that pane owns: `<install dir>/env` (POSIX sh: puts the dir
//!   first on `PATH` unless it is already there) and `<config>/fish/conf.d/pane.env.fish`, where
//!   `<config>` is `$XDG_CONFIG_HOME` or `~/.config` (fish reads `conf.d` by itself).
//! - It appends one line, `. "$HOME/.local/bin/env"` (the `$HOME` form when the dir is under the
//!   home directory), to `~/.profile` (created when missing), to each bash rc that exists
//!   (`~/.bashrc`, `~/.bash_profile`, `~/.bash_login`: bash reads the latter two *instead of*
//!   `~/.profile`), and to zsh's `.zshenv` (in `$ZDOTDIR`, else home), which every zsh reads,
//!   interactive or not. zsh is set up only when it looks used: `$ZDOTDIR` is set, one of
//!   `.zshenv`, `.zshrc`, `.zprofile`, `.zlogin` exists there, or `zsh` is on `PATH` (it is
//!   macOS's login shell). A machine without zsh gets no `.zshenv`.
//! - It appends the dir to the `$GITHUB_PATH` file when one is given (later CI steps see it).
//! - It is idempotent: a line already present (a whole line, byte for byte) is not added again
//!   and an owned file with the right contents is not rewritten, so a second run changes no file.
//! - It records every line it added ([`ProfileEdit`]: the file and exactly the text inserted,
//!   without its final newline) and every file and directory it created, so that [`undo_path`]
//!   returns each profile to its previous bytes.
//!
//! Planning is pure ([`plan`] over a [`Survey`] of the files involved) and has table tests; the
//! I/O is in [`survey`], [`apply`] and [`undo_path`]. Nothing here reads environment variables:
//! everything comes in through [`PathContext`].

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// One line that [`setup_path`] added to a shell profile; stored in the install receipt.
///
/// `line` is exactly the text inserted, without the newline that ends it. When the file did not
/// end with a newline, pane had to add one first; `line` then starts with that `\n`, so that
/// removing `line` plus its final newline gives back the previous bytes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProfileEdit {
    pub file: PathBuf,
    pub line: String,
}

/// Everything [`setup_path`] needs to know about the user, read once by the caller.
#[derive(Debug, Clone, Default)]
pub struct PathContext {
    /// The home directory (profiles live here).
    pub home: PathBuf,
    /// Where the `pane` binary is; absolute.
    pub install_dir: PathBuf,
    /// `$PATH`.
    pub path_env: Option<OsString>,
    /// `$ZDOTDIR`: where zsh reads its rc files instead of home.
    pub zdotdir: Option<PathBuf>,
    /// `$XDG_CONFIG_HOME` (default `~/.config`), for fish's `conf.d`.
    pub xdg_config_home: Option<PathBuf>,
    /// `$GITHUB_PATH`: a file whose lines GitHub Actions adds to `PATH` for later steps.
    pub github_path: Option<PathBuf>,
}

/// What [`setup_path`] did. Store `edits` and `created_files` in the receipt.
///
/// `edits` lists every pane line now in place: the ones added by this call, exactly as
/// inserted, and the ones found already there, as found. `created_files` lists the files and
/// directories this call created plus the two files pane owns (`env` and the fish file), in
/// creation order. On a re-install keep the union with the previous receipt's records
/// ([`merge_records`]): the first install knows best which files it created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathSetup {
    pub edits: Vec<ProfileEdit>,
    pub created_files: Vec<PathBuf>,
    /// For the user: what was done, and how to use pane in the current shell.
    pub notes: Vec<String>,
}

const ENV_FILE_NAME: &str = "env";
/// The first line of comment in the files pane owns; undo removes only files that hold it.
const OWNED_MARKER: &str = "# Written by `pane self install`; `pane self uninstall` removes it.";
const FISH_FILE_NAME: &str = "pane.env.fish";
const BASH_RCS: [&str; 3] = [".bashrc", ".bash_profile", ".bash_login"];
const ZSH_FILES: [&str; 4] = [".zshenv", ".zshrc", ".zprofile", ".zlogin"];

/// Sets up PATH for `ctx.install_dir` (see the module docs).
pub fn setup_path(ctx: &PathContext) -> io::Result<PathSetup> {
    let survey = survey(ctx)?;
    let plan = plan(ctx, &survey)?;
    apply(&plan)?;
    Ok(plan.result)
}

/// Removes exactly the recorded lines, then the recorded files and directories: a profile that
/// pane created is removed only when nothing but pane's line was in it; a directory only when
/// empty. Missing files and lines are skipped (and said so); returns notes for the user.
pub fn undo_path(edits: &[ProfileEdit], created_files: &[PathBuf]) -> io::Result<Vec<String>> {
    let mut notes = Vec::new();
    // Longer lines first: when both "\nX" and "X" are recorded for a file, "\nX" is the edit
    // that restores the previous bytes exactly.
    let mut ordered: Vec<&ProfileEdit> = edits.iter().collect();
    ordered.sort_by_key(|edit| std::cmp::Reverse(edit.line.len()));
    let mut changed: BTreeMap<&Path, Vec<u8>> = BTreeMap::new();
    for edit in ordered {
        let contents = match changed.get(edit.file.as_path()) {
            Some(contents) => contents.clone(),
            None => match fs::read(&edit.file) {
                Ok(contents) => contents,
                Err(error) if error.kind() == io::ErrorKind::NotFound => {
                    notes.push(format!(
                        "{} no longer exists; nothing to remove from it",
                        edit.file.display()
                    ));
                    continue;
                }
                Err(error) => return Err(with_path(error, "read", &edit.file)),
            },
        };
        match remove_line(&contents, &edit.line) {
            Some(new_contents) => {
                changed.insert(edit.file.as_path(), new_contents);
            }
            None => notes.push(format!(
                "{} no longer holds the line `{}`; left as it is",
                edit.file.display(),
                edit.line.trim_start_matches('\n')
            )),
        }
    }
    for (file, contents) in &changed {
        if contents.is_empty() && created_files.iter().any(|c| c == file) {
            remove_file_if_present(file)?;
            notes.push(format!("removed {}", file.display()));
        } else {
            rewrite_in_place(file, contents)?;
            notes.push(format!("removed pane's PATH line from {}", file.display()));
        }
    }
    for path in created_files.iter().rev() {
        if edits.iter().any(|e| &e.file == path) {
            // A profile: handled above, kept when anything but pane's line is in it.
            continue;
        }
        match fs::symlink_metadata(path) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(with_path(error, "inspect", path)),
            Ok(metadata) if metadata.is_dir() => {
                // Only when empty: anything else in it is not pane's.
                if fs::remove_dir(path).is_ok() {
                    notes.push(format!("removed {}", path.display()));
                }
            }
            Ok(_) => {
                // The env and fish files; a file that no longer says it is pane's is kept.
                let ours = fs::read(path)
                    .map(|contents| contains(&contents, OWNED_MARKER.as_bytes()))
                    .unwrap_or(false);
                if ours {
                    remove_file_if_present(path)?;
                    notes.push(format!("removed {}", path.display()));
                } else {
                    notes.push(format!(
                        "kept {}: it was changed after pane wrote it",
                        path.display()
                    ));
                }
            }
        }
    }
    Ok(notes)
}

/// Another executable `pane` that a shell would run instead of the one in `install_dir`: the
/// first one in a `PATH` entry before `install_dir`, or anywhere on `PATH` when `install_dir`
/// is not on it (that is what `pane` runs in this shell until its profile is read again).
pub fn shadowing_binary(path_env: Option<&OsStr>, install_dir: &Path) -> Option<PathBuf> {
    let ours = install_dir.join(crate::platform::BINARY_NAME);
    let ours_canonical = fs::canonicalize(&ours).ok();
    let install_canonical = fs::canonicalize(install_dir).ok();
    for entry in std::env::split_paths(path_env?) {
        // Relative and empty entries depend on the current directory; a shell user knows those.
        if !entry.is_absolute() {
            continue;
        }
        if same_dir(&entry, install_dir, install_canonical.as_deref()) {
            return None;
        }
        let candidate = entry.join(crate::platform::BINARY_NAME);
        if !is_executable_file(&candidate) {
            continue;
        }
        if ours_canonical.is_some() && fs::canonicalize(&candidate).ok() == ours_canonical {
            continue;
        }
        return Some(candidate);
    }
    None
}

/// The union of the records of an earlier install and of a new [`setup_path`], earlier first,
/// without duplicates: what a re-install stores in the receipt.
pub fn merge_records(
    previous_edits: &[ProfileEdit],
    previous_created: &[PathBuf],
    setup: &PathSetup,
) -> (Vec<ProfileEdit>, Vec<PathBuf>) {
    let mut edits = previous_edits.to_vec();
    for edit in &setup.edits {
        if !edits.contains(edit) {
            edits.push(edit.clone());
        }
    }
    let mut created = previous_created.to_vec();
    for path in &setup.created_files {
        if !created.contains(path) {
            created.push(path.clone());
        }
    }
    (edits, created)
}

/// The file-system facts [`plan`] decides on.
#[derive(Debug, Clone, Default)]
pub struct Survey {
    /// The current bytes of every file the plan may read or touch; `None` when missing.
    pub files: BTreeMap<PathBuf, Option<Vec<u8>>>,
    /// The directories on the way to the fish file that do not exist yet, outermost first.
    pub missing_dirs: Vec<PathBuf>,
    /// The install dir is already an entry of `PATH`.
    pub on_path: bool,
    /// An executable `zsh` is on `PATH`.
    pub zsh_on_path: bool,
}

/// One change to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    CreateDir(PathBuf),
    /// Replace (or create) a file pane owns with these contents.
    WriteOwned {
        path: PathBuf,
        contents: String,
    },
    /// Append `text` to a profile (creating it when `create`).
    Append {
        file: PathBuf,
        text: String,
        create: bool,
    },
}

/// The changes [`setup_path`] will make and what it will report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub actions: Vec<Action>,
    pub result: PathSetup,
}

struct Targets {
    env_file: PathBuf,
    fish_file: PathBuf,
    profile: PathBuf,
    bash_rcs: Vec<PathBuf>,
    zsh_dir: PathBuf,
    zshenv: PathBuf,
}

fn targets(ctx: &PathContext) -> Targets {
    let config = ctx
        .xdg_config_home
        .clone()
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| ctx.home.join(".config"));
    let zsh_dir = ctx
        .zdotdir
        .clone()
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| ctx.home.clone());
    Targets {
        env_file: ctx.install_dir.join(ENV_FILE_NAME),
        fish_file: config.join("fish").join("conf.d").join(FISH_FILE_NAME),
        profile: ctx.home.join(".profile"),
        bash_rcs: BASH_RCS.iter().map(|name| ctx.home.join(name)).collect(),
        zshenv: zsh_dir.join(".zshenv"),
        zsh_dir,
    }
}

/// Reads what [`plan`] needs.
pub fn survey(ctx: &PathContext) -> io::Result<Survey> {
    let targets = targets(ctx);
    let mut files = BTreeMap::new();
    let mut paths = vec![
        targets.env_file.clone(),
        targets.fish_file.clone(),
        targets.profile.clone(),
    ];
    paths.extend(targets.bash_rcs.iter().cloned());
    paths.extend(ZSH_FILES.iter().map(|name| targets.zsh_dir.join(name)));
    paths.extend(ctx.github_path.iter().cloned());
    for path in paths {
        let contents = match fs::read(&path) {
            Ok(contents) => Some(contents),
            Err(error) if error.kind() == io::ErrorKind::NotFound => None,
            Err(error) => return Err(with_path(error, "read", &path)),
        };
        files.insert(path, contents);
    }
    let mut missing_dirs = Vec::new();
    let mut dir = targets.fish_file.parent();
    while let Some(d) = dir {
        if d.exists() || d.as_os_str().is_empty() {
            break;
        }
        missing_dirs.push(d.to_path_buf());
        dir = d.parent();
    }
    missing_dirs.reverse();
    let install_canonical = fs::canonicalize(&ctx.install_dir).ok();
    let entries: Vec<PathBuf> = ctx
        .path_env
        .as_deref()
        .map(|p| std::env::split_paths(p).collect())
        .unwrap_or_default();
    let on_path = entries
        .iter()
        .any(|entry| same_dir(entry, &ctx.install_dir, install_canonical.as_deref()));
    let zsh_on_path = entries
        .iter()
        .any(|entry| entry.is_absolute() && is_executable_file(&entry.join("zsh")));
    Ok(Survey {
        files,
        missing_dirs,
        on_path,
        zsh_on_path,
    })
}

/// Decides the changes; no I/O. Fails only for an install dir that a shell line cannot name
/// (not UTF-8, or holding a newline).
pub fn plan(ctx: &PathContext, survey: &Survey) -> io::Result<Plan> {
    let dir_text = ctx.install_dir.to_str().ok_or_else(|| {
        invalid_input(format!(
            "{} is not valid UTF-8, so no shell profile can name it; use --no-modify-path and add it to PATH yourself",
            ctx.install_dir.display()
        ))
    })?;
    if dir_text.contains(['\n', '\r']) || !ctx.install_dir.is_absolute() {
        return Err(invalid_input(format!(
            "cannot add {:?} to PATH in a shell profile; use --no-modify-path and add it yourself",
            ctx.install_dir
        )));
    }
    let mut plan = Plan::default();
    let display_dir = tilde(&ctx.home, &ctx.install_dir);
    if survey.on_path {
        plan.result.notes.push(format!(
            "{display_dir} is already on PATH; no shell profile was changed"
        ));
        return Ok(plan);
    }
    let targets = targets(ctx);
    let current = |path: &Path| survey.files.get(path).cloned().flatten();

    // Files pane owns: rewritten only when their contents differ.
    for (path, contents) in [
        (&targets.env_file, env_script(dir_text)),
        (&targets.fish_file, fish_script(dir_text)),
    ] {
        let existing = current(path);
        if path == &targets.fish_file {
            for dir in &survey.missing_dirs {
                plan.actions.push(Action::CreateDir(dir.clone()));
                plan.result.created_files.push(dir.clone());
            }
        }
        if existing.as_deref() != Some(contents.as_bytes()) {
            plan.actions.push(Action::WriteOwned {
                path: path.clone(),
                contents,
            });
        }
        plan.result.created_files.push(path.clone());
    }

    // Profiles that source the env file.
    let line = source_line(&ctx.home, &ctx.install_dir, dir_text);
    let zsh_used = ctx.zdotdir.is_some()
        || survey.zsh_on_path
        || ZSH_FILES
            .iter()
            .any(|name| current(&targets.zsh_dir.join(name)).is_some());
    let mut profiles: Vec<(PathBuf, bool)> = vec![(targets.profile.clone(), true)];
    profiles.extend(targets.bash_rcs.iter().map(|rc| (rc.clone(), false)));
    if zsh_used {
        profiles.push((targets.zshenv.clone(), true));
    }
    let mut added = Vec::new();
    for (file, create_if_missing) in profiles {
        match current(&file) {
            None if create_if_missing => {
                plan.actions.push(Action::Append {
                    file: file.clone(),
                    text: format!("{line}\n"),
                    create: true,
                });
                plan.result.created_files.push(file.clone());
                plan.result.edits.push(ProfileEdit {
                    file: file.clone(),
                    line: line.clone(),
                });
                added.push(tilde(&ctx.home, &file));
            }
            None => {}
            Some(contents) => {
                if has_line(&contents, &line) {
                    plan.result.edits.push(ProfileEdit {
                        file,
                        line: line.clone(),
                    });
                    continue;
                }
                let inserted = if contents.is_empty() || contents.ends_with(b"\n") {
                    line.clone()
                } else {
                    format!("\n{line}")
                };
                plan.actions.push(Action::Append {
                    file: file.clone(),
                    text: format!("{inserted}\n"),
                    create: false,
                });
                plan.result.edits.push(ProfileEdit {
                    file: file.clone(),
                    line: inserted,
                });
                added.push(tilde(&ctx.home, &file));
            }
        }
    }

    if let Some(github_path) = &ctx.github_path {
        let contents = current(github_path).unwrap_or_default();
        if !has_line(&contents, dir_text) {
            let separator = if contents.is_empty() || contents.ends_with(b"\n") {
                ""
            } else {
                "\n"
            };
            plan.actions.push(Action::Append {
                file: github_path.clone(),
                text: format!("{separator}{dir_text}\n"),
                create: false,
            });
            plan.result.notes.push(format!(
                "added {dir_text} to $GITHUB_PATH for the next steps of this job"
            ));
        }
    }

    if plan.actions.is_empty() {
        plan.result.notes.push(format!(
            "PATH set-up for {display_dir} is already in place; no file was changed"
        ));
    } else {
        if !added.is_empty() {
            plan.result.notes.push(format!(
                "added {display_dir} to PATH in {}",
                added.join(", ")
            ));
        }
        plan.result.notes.push(format!(
            "to use pane in this shell, run `{line}` (fish: `source {}`), or open a new shell",
            tilde(&ctx.home, &targets.fish_file)
        ));
    }
    Ok(plan)
}

/// Makes the changes of a [`plan`].
pub fn apply(plan: &Plan) -> io::Result<()> {
    for action in &plan.actions {
        match action {
            Action::CreateDir(dir) => match fs::create_dir(dir) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
                Err(error) => return Err(with_path(error, "create", dir)),
            },
            Action::WriteOwned { path, contents } => {
                write_atomically(path, contents.as_bytes(), 0o644)?;
            }
            Action::Append { file, text, create } => {
                // Appending in place keeps the file's owner, mode and any symlink to it (a
                // dotfiles repository), which a rename would replace.
                let mut options = fs::OpenOptions::new();
                options.append(true);
                if *create {
                    options.create_new(true);
                }
                let mut handle = options
                    .open(file)
                    .map_err(|error| with_path(error, "open", file))?;
                handle
                    .write_all(text.as_bytes())
                    .and_then(|()| handle.sync_all())
                    .map_err(|error| with_path(error, "write", file))?;
            }
        }
    }
    Ok(())
}

/// The sh file that puts `dir` first on PATH, once.
fn env_script(dir: &str) -> String {
    let quoted = sh_single_quote(dir);
    format!(
        "#!/bin/sh\n\
         {OWNED_MARKER}\n\
         # Puts pane's directory first on PATH unless it is already there.\n\
         case \":${{PATH}}:\" in\n    \
             *:{quoted}:*) ;;\n    \
             *) export PATH={quoted}\"${{PATH:+:${{PATH}}}}\" ;;\n\
         esac\n"
    )
}

fn fish_script(dir: &str) -> String {
    let quoted = fish_single_quote(dir);
    format!(
        "{OWNED_MARKER}\n\
         # Puts pane's directory first on PATH unless it is already there.\n\
         if not contains -- {quoted} $PATH\n    \
             set -gx PATH {quoted} $PATH\n\
         end\n"
    )
}

/// `. "$HOME/<rel>/env"` under home, `. "<dir>/env"` elsewhere.
fn source_line(home: &Path, install_dir: &Path, dir_text: &str) -> String {
    let under_home = install_dir
        .strip_prefix(home)
        .ok()
        .filter(|_| !home.as_os_str().is_empty() && home.is_absolute())
        .and_then(Path::to_str);
    let target = match under_home {
        Some("") => "$HOME".to_string(),
        Some(relative) => format!("$HOME/{}", sh_double_quote_escape(relative)),
        None => sh_double_quote_escape(dir_text),
    };
    format!(". \"{target}/{ENV_FILE_NAME}\"")
}

fn sh_single_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn sh_double_quote_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn fish_single_quote(text: &str) -> String {
    format!("'{}'", text.replace('\\', r"\\").replace('\'', r"\'"))
}

/// `~/rest` for display when `path` is under `home`.
fn tilde(home: &Path, path: &Path) -> String {
    match path.strip_prefix(home) {
        Ok(rest) if home.is_absolute() && !rest.as_os_str().is_empty() => {
            format!("~/{}", rest.display())
        }
        _ => path.display().to_string(),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// `contents` holds `line` as a whole line.
fn has_line(contents: &[u8], line: &str) -> bool {
    contents
        .split(|&b| b == b'\n')
        .any(|l| l == line.as_bytes() || l.strip_suffix(b"\r") == Some(line.as_bytes()))
}

/// `contents` without the last whole-line occurrence of `line` and the newline after it (see
/// [`ProfileEdit`]); `None` when it is not there.
fn remove_line(contents: &[u8], line: &str) -> Option<Vec<u8>> {
    let needle = line.as_bytes();
    if needle.is_empty() {
        return None;
    }
    let mut candidates: Vec<usize> = (0..=contents.len().saturating_sub(needle.len()))
        .filter(|&start| contents[start..].starts_with(needle))
        .collect();
    candidates.reverse();
    for start in candidates {
        let end = start + needle.len();
        // A line that pane inserted after adding a newline may start anywhere; a plain line
        // must start a line.
        let starts_line = needle[0] == b'\n' || start == 0 || contents[start - 1] == b'\n';
        let remove_to = if end == contents.len() {
            end
        } else if contents[end] == b'\n' {
            end + 1
        } else {
            continue;
        };
        if starts_line {
            // The newline pane added before its line now ends the user's line when more
            // follows; it goes only when pane's line is still the last.
            let start = if needle[0] == b'\n' && remove_to < contents.len() {
                start + 1
            } else {
                start
            };
            let mut out = contents[..start].to_vec();
            out.extend_from_slice(&contents[remove_to..]);
            return Some(out);
        }
    }
    None
}

fn same_dir(entry: &Path, dir: &Path, dir_canonical: Option<&Path>) -> bool {
    if entry.as_os_str().is_empty() {
        return false;
    }
    if entry == dir {
        return true;
    }
    match (dir_canonical, fs::canonicalize(entry)) {
        (Some(dir), Ok(entry)) => entry == dir,
        _ => false,
    }
}

fn is_executable_file(path: &Path) -> bool {
    let Ok(metadata) = fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        metadata.is_file() && metadata.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        metadata.is_file()
    }
}

/// Replaces `path` with `contents` through a temporary file and a rename, with `mode`.
fn write_atomically(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|error| with_path(error, "create", dir))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = crate::platform::temp_path_in(dir, &name);
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)?;
        file.write_all(contents)?;
        set_mode(&file, mode)?;
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result.map_err(|error| with_path(error, "write", path))
}

/// Gives a profile new contents while keeping it what it was: the target of a symlink stays
/// the target and keeps its mode; the rename makes a crash leave old or new, never half.
fn rewrite_in_place(path: &Path, contents: &[u8]) -> io::Result<()> {
    let real = fs::canonicalize(path).map_err(|error| with_path(error, "resolve", path))?;
    let metadata = fs::metadata(&real).map_err(|error| with_path(error, "inspect", &real))?;
    match write_atomically(&real, contents, permissions_mode(&metadata)) {
        Ok(()) => Ok(()),
        // A directory we may not write to (but a file we may): write the file itself.
        Err(error) if error.kind() == io::ErrorKind::PermissionDenied => {
            fs::write(&real, contents).map_err(|error| with_path(error, "write", &real))
        }
        Err(error) => Err(error),
    }
}

fn permissions_mode(metadata: &fs::Metadata) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        metadata.permissions().mode() & 0o7777
    }
    #[cfg(not(unix))]
    {
        let _ = metadata;
        0o644
    }
}

fn set_mode(file: &fs::File, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (file, mode);
        Ok(())
    }
}

fn remove_file_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(with_path(error, "remove", path)),
    }
}

fn with_path(error: io::Error, action: &str, path: &Path) -> io::Error {
    io::Error::new(
        error.kind(),
        format!("cannot {action} {}: {error}", path.display()),
    )
}

fn invalid_input(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> PathContext {
        PathContext {
            home: PathBuf::from("/home/u"),
            install_dir: PathBuf::from("/home/u/.local/bin"),
            path_env: Some("/usr/bin:/bin".into()),
            ..PathContext::default()
        }
    }

    fn survey_with(files: &[(&str, &str)]) -> Survey {
        let mut survey = Survey::default();
        for (path, contents) in files {
            survey
                .files
                .insert(PathBuf::from(path), Some(contents.as_bytes().to_vec()));
        }
        survey
    }

    fn appended(plan: &Plan) -> Vec<(String, String)> {
        plan.actions
            .iter()
            .filter_map(|action| match action {
                Action::Append { file, text, .. } => {
                    Some((file.display().to_string(), text.clone()))
                }
                _ => None,
            })
            .collect()
    }

    const LINE: &str = ". \"$HOME/.local/bin/env\"";

    #[test]
    fn source_line_forms() {
        let home = Path::new("/home/u");
        let cases = [
            ("/home/u/.local/bin", ". \"$HOME/.local/bin/env\""),
            ("/home/u", ". \"$HOME/env\""),
            ("/opt/pane/bin", ". \"/opt/pane/bin/env\""),
            ("/home/user2/bin", ". \"/home/user2/bin/env\""),
            (
                "/home/u/we\"ird $dir`x\\",
                ". \"$HOME/we\\\"ird \\$dir\\`x\\\\/env\"",
            ),
        ];
        for (dir, expected) in cases {
            assert_eq!(source_line(home, Path::new(dir), dir), expected, "{dir}");
        }
    }

    #[test]
    fn already_on_path_changes_nothing() {
        for path in [
            "/usr/bin:/home/u/.local/bin",
            "/home/u/.local/bin/:/usr/bin",
            "/home/u/.local/bin",
        ] {
            let mut survey = survey_with(&[]);
            survey.on_path = true;
            let context = PathContext {
                path_env: Some(path.into()),
                ..ctx()
            };
            let plan = plan(&context, &survey).unwrap();
            assert!(plan.actions.is_empty(), "{path}");
            assert!(plan.result.edits.is_empty());
            assert!(plan.result.created_files.is_empty());
            assert!(plan.result.notes[0].contains("already on PATH"));
        }
    }

    /// (existing files, zsh on PATH, ZDOTDIR, files that get the line)
    type ProfileCase<'a> = (
        &'a [(&'a str, &'a str)],
        bool,
        Option<&'a str>,
        &'a [&'a str],
    );

    #[test]
    fn which_profiles_get_the_line() {
        let cases: &[ProfileCase] = &[
            (&[], false, None, &["/home/u/.profile"]),
            (
                &[("/home/u/.bashrc", "alias l=ls\n")],
                false,
                None,
                &["/home/u/.profile", "/home/u/.bashrc"],
            ),
            (
                &[
                    ("/home/u/.bash_profile", ""),
                    ("/home/u/.bash_login", "x\n"),
                    ("/home/u/.profile", "y\n"),
                ],
                false,
                None,
                &[
                    "/home/u/.profile",
                    "/home/u/.bash_profile",
                    "/home/u/.bash_login",
                ],
            ),
            (&[], true, None, &["/home/u/.profile", "/home/u/.zshenv"]),
            (
                &[("/home/u/.zshrc", "")],
                false,
                None,
                &["/home/u/.profile", "/home/u/.zshenv"],
            ),
            (
                &[],
                false,
                Some("/home/u/.config/zsh"),
                &["/home/u/.profile", "/home/u/.config/zsh/.zshenv"],
            ),
            (
                // A .zshrc in home does not count when ZDOTDIR points elsewhere... but ZDOTDIR
                // being set does.
                &[("/home/u/.zshrc", "")],
                false,
                Some("/z"),
                &["/home/u/.profile", "/z/.zshenv"],
            ),
        ];
        for (files, zsh_on_path, zdotdir, expected) in cases {
            let mut survey = survey_with(files);
            survey.zsh_on_path = *zsh_on_path;
            let context = PathContext {
                zdotdir: zdotdir.map(PathBuf::from),
                ..ctx()
            };
            let plan = plan(&context, &survey).unwrap();
            let files: Vec<String> = appended(&plan).into_iter().map(|(f, _)| f).collect();
            assert_eq!(&files, expected, "{files:?}");
            let edited: Vec<String> = plan
                .result
                .edits
                .iter()
                .map(|e| e.file.display().to_string())
                .collect();
            assert_eq!(&edited, expected);
        }
    }

    #[test]
    fn appended_text_and_recorded_line() {
        // (existing contents of ~/.profile, appended text, recorded line)
        let cases: &[(Option<&str>, &str, &str)] = &[
            (None, ". \"$HOME/.local/bin/env\"\n", LINE),
            (Some(""), ". \"$HOME/.local/bin/env\"\n", LINE),
            (Some("a\n"), ". \"$HOME/.local/bin/env\"\n", LINE),
            (
                Some("a"),
                "\n. \"$HOME/.local/bin/env\"\n",
                "\n. \"$HOME/.local/bin/env\"",
            ),
        ];
        for (existing, text, line) in cases {
            let mut survey = Survey::default();
            survey.files.insert(
                PathBuf::from("/home/u/.profile"),
                existing.map(|e| e.as_bytes().to_vec()),
            );
            let plan = plan(&ctx(), &survey).unwrap();
            assert_eq!(
                appended(&plan),
                vec![("/home/u/.profile".to_string(), text.to_string())]
            );
            assert_eq!(plan.result.edits[0].line, *line);
            assert_eq!(
                plan.result
                    .created_files
                    .contains(&PathBuf::from("/home/u/.profile")),
                existing.is_none()
            );
            // And undoing that edit gives the previous bytes back.
            let before = existing.unwrap_or("").as_bytes();
            let after = [before, text.as_bytes()].concat();
            assert_eq!(remove_line(&after, line).unwrap(), before);
        }
    }

    #[test]
    fn second_run_changes_nothing() {
        let context = ctx();
        let first = plan(&context, &survey_with(&[("/home/u/.bashrc", "x")])).unwrap();
        // Simulate the file system after the first run.
        let mut survey = Survey::default();
        for action in &first.actions {
            match action {
                Action::WriteOwned { path, contents } => {
                    survey
                        .files
                        .insert(path.clone(), Some(contents.as_bytes().to_vec()));
                }
                Action::Append { file, text, .. } => {
                    let before = if file.ends_with(".bashrc") { "x" } else { "" };
                    survey
                        .files
                        .insert(file.clone(), Some(format!("{before}{text}").into_bytes()));
                }
                Action::CreateDir(_) => {}
            }
        }
        let second = plan(&context, &survey).unwrap();
        assert_eq!(second.actions, vec![]);
        assert!(second.result.notes[0].contains("already in place"));
        // The lines found are still reported, as found.
        assert_eq!(second.result.edits.len(), 2);
        assert!(second.result.edits.iter().all(|e| e.line == LINE));
    }

    #[test]
    fn owned_files_and_missing_dirs() {
        let mut survey = survey_with(&[]);
        survey.missing_dirs = vec![
            PathBuf::from("/home/u/.config"),
            PathBuf::from("/home/u/.config/fish"),
            PathBuf::from("/home/u/.config/fish/conf.d"),
        ];
        let plan = plan(&ctx(), &survey).unwrap();
        assert_eq!(
            plan.result.created_files,
            [
                "/home/u/.local/bin/env",
                "/home/u/.config",
                "/home/u/.config/fish",
                "/home/u/.config/fish/conf.d",
                "/home/u/.config/fish/conf.d/pane.env.fish",
                "/home/u/.profile",
            ]
            .map(PathBuf::from)
        );
        let context = PathContext {
            xdg_config_home: Some("/x".into()),
            ..ctx()
        };
        let plan = super::plan(&context, &survey_with(&[])).unwrap();
        assert!(plan
            .actions
            .iter()
            .any(|a| matches!(a, Action::WriteOwned { path, .. } if path == Path::new("/x/fish/conf.d/pane.env.fish"))));
    }

    #[test]
    fn github_path() {
        let cases: &[(&str, Option<&str>)] = &[
            ("", Some("/home/u/.local/bin\n")),
            ("/a\n", Some("/home/u/.local/bin\n")),
            ("/a", Some("\n/home/u/.local/bin\n")),
            ("/a\n/home/u/.local/bin\n", None),
        ];
        for (existing, expected) in cases {
            let context = PathContext {
                github_path: Some("/gh".into()),
                ..ctx()
            };
            let plan = plan(&context, &survey_with(&[("/gh", existing)])).unwrap();
            let gh: Vec<String> = appended(&plan)
                .into_iter()
                .filter(|(f, _)| f == "/gh")
                .map(|(_, t)| t)
                .collect();
            assert_eq!(
                gh,
                expected.iter().map(|s| s.to_string()).collect::<Vec<_>>()
            );
            assert!(plan.result.edits.iter().all(|e| e.file != Path::new("/gh")));
        }
    }

    #[test]
    fn unusable_install_dirs() {
        for dir in ["relative/bin", "/home/u/new\nline"] {
            let context = PathContext {
                install_dir: dir.into(),
                ..ctx()
            };
            let error = plan(&context, &survey_with(&[])).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
            assert!(error.to_string().contains("--no-modify-path"));
        }
    }

    #[test]
    fn remove_line_cases() {
        // (contents, line, result)
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("a\nL\n", "L", Some("a\n")),
            ("L\n", "L", Some("")),
            ("a\nL", "L", Some("a\n")),
            ("a\nL\nb\n", "L", Some("a\nb\n")),
            ("L\nL\n", "L", Some("L\n")),
            ("aL\n", "L", None),
            ("a\nLx\n", "L", None),
            ("a\nL\n", "\nL", Some("a")),
            ("a\nL\nb\n", "\nL", Some("a\nb\n")),
            ("a\n", "L", None),
        ];
        for (contents, line, expected) in cases {
            let result = remove_line(contents.as_bytes(), line);
            assert_eq!(
                result.as_deref(),
                expected.map(str::as_bytes),
                "{contents:?} - {line:?}"
            );
        }
    }

    #[test]
    fn scripts_quote_the_dir() {
        let env = env_script("/opt/it's");
        assert!(env.contains("*:'/opt/it'\\''s':*) ;;"), "{env}");
        assert!(env.contains("export PATH='/opt/it'\\''s'\"${PATH:+:${PATH}}\""));
        let fish = fish_script("/opt/it's\\x");
        assert!(
            fish.contains("contains -- '/opt/it\\'s\\\\x' $PATH"),
            "{fish}"
        );
    }

    #[test]
    fn merge_keeps_earlier_records_first() {
        let first = ProfileEdit {
            file: "/p".into(),
            line: "\nL".into(),
        };
        let second = ProfileEdit {
            file: "/p".into(),
            line: "L".into(),
        };
        let setup = PathSetup {
            edits: vec![second.clone()],
            created_files: vec!["/env".into()],
            notes: vec![],
        };
        let (edits, created) = merge_records(
            std::slice::from_ref(&first),
            &["/p".into(), "/env".into()],
            &setup,
        );
        assert_eq!(edits, vec![first, second]);
        assert_eq!(created, vec![PathBuf::from("/p"), PathBuf::from("/env")]);
    }
}
