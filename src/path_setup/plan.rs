//! Deciding a PATH set-up: pure, over a [`Survey`]; table-tested in `tests.rs`.

use std::path::{Path, PathBuf};

use super::survey::{targets, Survey, Targets};
use super::text::{
    contains, env_script, fish_script, fpath_line, has_line, owned_completion, source_line, tilde,
};
use super::{
    CompletionShell, PathContext, PathSetup, PathSetupError, ProfileEdit, OWNED_MARKER, ZSH_FILES,
};

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

/// The changes [`setup_path`](super::setup_path) will make and what it will report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub actions: Vec<Action>,
    pub result: PathSetup,
    /// The profiles that get a line (best effort: [`apply`](super::apply) skips one it cannot
    /// append to, with a note).
    pub profiles: Vec<PathBuf>,
    /// The install dir as the notes show it, and the profiles the "added … to PATH in" note
    /// names, as it names them.
    pub display_dir: String,
    pub added: Vec<(PathBuf, String)>,
    /// The home directory, for the notes.
    pub home: PathBuf,
}

/// The note that names the profiles that got the PATH line.
pub(super) fn added_note(display_dir: &str, names: &[&str]) -> String {
    format!("added {display_dir} to PATH in {}", names.join(", "))
}

/// The note for a profile that gets no line: why, and the line to add by hand.
pub(super) fn by_hand(home: &Path, file: &Path, why: &str, line: &str) -> String {
    format!(
        "could not add a line to {} ({why}); add `{}` to it yourself",
        tilde(home, file),
        line.trim_start_matches('\n')
    )
}

/// Decides the changes; no I/O. Fails only for an install dir that a shell line cannot name
/// (not UTF-8, or holding a newline).
pub fn plan(ctx: &PathContext, survey: &Survey) -> Result<Plan, PathSetupError> {
    let dir_text = nameable_dir(&ctx.install_dir)?;
    let mut plan = Plan {
        home: ctx.home.clone(),
        ..Plan::default()
    };
    let targets = targets(ctx);
    let planner = Planner { ctx, survey };
    // Completions first: a profile's own PATH line then stays its last line.
    planner.completions(&mut plan, &targets);
    if survey.on_path {
        plan.result.notes.push(format!(
            "{} is already on PATH; no PATH line was added",
            tilde(&ctx.home, &ctx.install_dir)
        ));
    } else {
        planner.path(&mut plan, &targets, dir_text)?;
    }
    Ok(plan)
}

/// `file` as it will be once the appends already planned for it are made.
fn planned(plan: &Plan, file: &Path, current: Option<Vec<u8>>) -> Option<Vec<u8>> {
    plan.actions
        .iter()
        .fold(current, |contents, action| match action {
            Action::Append { file: f, text, .. } if f == file => {
                let mut contents = contents.unwrap_or_default();
                contents.extend_from_slice(text.as_bytes());
                Some(contents)
            }
            _ => contents,
        })
}

/// The install dir as text a shell line can hold.
fn nameable_dir(dir: &Path) -> Result<&str, PathSetupError> {
    let text = dir.to_str().ok_or_else(|| {
        PathSetupError::Unnameable(format!(
            "{} is not valid UTF-8, so no shell profile can name it; use --no-modify-path and add it to PATH yourself",
            dir.display()
        ))
    })?;
    // `:` separates PATH's entries: a dir holding one would become two, one of them
    // relative (looked up from whatever the current directory is).
    if text.contains(['\n', '\r', ':']) || !dir.is_absolute() {
        return Err(PathSetupError::Unnameable(format!(
            "cannot add {dir:?} to PATH in a shell profile; use --no-modify-path and add it yourself"
        )));
    }
    Ok(text)
}

struct Planner<'a> {
    ctx: &'a PathContext,
    survey: &'a Survey,
}

impl Planner<'_> {
    fn current(&self, path: &Path) -> Option<Vec<u8>> {
        self.survey.files.get(path).cloned().flatten()
    }

    /// The PATH part: pane's env files, the profile lines, `$GITHUB_PATH`.
    fn path(
        &self,
        plan: &mut Plan,
        targets: &Targets,
        dir_text: &str,
    ) -> Result<(), PathSetupError> {
        let ctx = self.ctx;
        let display_dir = tilde(&ctx.home, &ctx.install_dir);
        let planned_before = plan.actions.len();
        self.owned_files(plan, targets, dir_text)?;
        let line = source_line(&ctx.home, &ctx.install_dir, dir_text);
        let added = self.profiles(plan, targets, &line);
        self.github_path(plan, dir_text);
        plan.display_dir = display_dir.clone();
        if plan.actions.len() == planned_before {
            plan.result.notes.push(format!(
                "PATH set-up for {display_dir} is already in place; no file was changed"
            ));
            return Ok(());
        }
        if !added.is_empty() {
            let names: Vec<&str> = added.iter().map(|(_, name)| name.as_str()).collect();
            plan.result.notes.push(added_note(&display_dir, &names));
        }
        plan.added = added;
        plan.result.notes.push(format!(
            "to use pane in this shell, run `{line}` (fish: `source {}`), or open a new shell",
            tilde(&ctx.home, &targets.fish_file)
        ));
        Ok(())
    }

    /// The missing directories above `file`, created before it (once each).
    fn ensure_dirs(&self, plan: &mut Plan, file: &Path) {
        for dir in &self.survey.missing_dirs {
            let action = Action::CreateDir(dir.clone());
            if file.starts_with(dir) && !plan.actions.contains(&action) {
                plan.actions.push(action);
                plan.result.created_files.push(dir.clone());
            }
        }
    }

    /// zsh looks used here (see the module docs).
    fn zsh_used(&self, targets: &Targets) -> bool {
        self.ctx.zdotdir.is_some()
            || self.survey.zsh_on_path
            || ZSH_FILES.iter().any(|name| {
                let file = targets.zsh_dir.join(name);
                self.current(&file).is_some() || self.survey.unreadable.contains_key(&file)
            })
    }

    /// The completion scripts, each where its shell looks; zsh's also gets its `fpath` line.
    fn completions(&self, plan: &mut Plan, targets: &Targets) {
        let mut installed = Vec::new();
        for completion in &self.ctx.completions {
            let zsh = completion.shell == CompletionShell::Zsh;
            if zsh && !self.zsh_used(targets) {
                continue;
            }
            let path = targets.completion(completion.shell);
            let existing = self.current(&path);
            if existing
                .as_deref()
                .is_some_and(|bytes| !contains(bytes, OWNED_MARKER.as_bytes()))
            {
                plan.result.notes.push(format!(
                    "kept {}: a completion file pane did not write",
                    tilde(&self.ctx.home, &path)
                ));
                continue;
            }
            let contents = owned_completion(completion);
            self.ensure_dirs(plan, &path);
            if existing.as_deref() != Some(contents.as_bytes()) {
                plan.actions.push(Action::WriteOwned {
                    path: path.clone(),
                    contents,
                });
            }
            plan.result.created_files.push(path);
            if zsh {
                if let Some(line) = fpath_line(&self.ctx.home, &targets.zsh_functions) {
                    self.profile(plan, &targets.zshenv, true, &line);
                }
            }
            installed.push(format!("{:?}", completion.shell).to_lowercase());
        }
        if !installed.is_empty() {
            plan.result.notes.push(format!(
                "installed completions for {} (new shells complete `pane <TAB>`)",
                installed.join(", ")
            ));
        }
    }

    /// Files pane owns: rewritten only when their contents differ, and never when what is
    /// there does not say it is pane's.
    fn owned_files(
        &self,
        plan: &mut Plan,
        targets: &Targets,
        dir_text: &str,
    ) -> Result<(), PathSetupError> {
        for (path, contents) in [
            (&targets.env_file, env_script(dir_text)),
            (&targets.fish_file, fish_script(dir_text)),
        ] {
            if path == &targets.fish_file {
                self.ensure_dirs(plan, path);
            }
            let existing = self.current(path);
            if existing
                .as_deref()
                .is_some_and(|bytes| !contains(bytes, OWNED_MARKER.as_bytes()))
            {
                return Err(PathSetupError::NotOurs(path.clone()));
            }
            if existing.as_deref() != Some(contents.as_bytes()) {
                plan.actions.push(Action::WriteOwned {
                    path: path.clone(),
                    contents,
                });
            }
            plan.result.created_files.push(path.clone());
        }
        Ok(())
    }

    /// Profiles that source the env file; returns the ones that get the line, with their
    /// names for display.
    fn profiles(&self, plan: &mut Plan, targets: &Targets, line: &str) -> Vec<(PathBuf, String)> {
        let zsh_used = self.zsh_used(targets);
        let mut profiles: Vec<(PathBuf, bool)> = vec![(targets.profile.clone(), true)];
        profiles.extend(targets.bash_rcs.iter().map(|rc| (rc.clone(), false)));
        if zsh_used {
            profiles.push((targets.zshenv.clone(), true));
        }
        let mut added = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (file, create_if_missing) in profiles {
            // The same file under a second name already has its line.
            if let Some(id) = self.survey.identity.get(&file) {
                if !seen.insert(*id) {
                    continue;
                }
            }
            if self.profile(plan, &file, create_if_missing, line) {
                let name = tilde(&self.ctx.home, &file);
                added.push((file, name));
            }
        }
        added
    }

    /// Plans the line in one profile; true when it is to be added.
    fn profile(&self, plan: &mut Plan, file: &Path, create_if_missing: bool, line: &str) -> bool {
        if let Some(why) = self.survey.unreadable.get(file) {
            let note = by_hand(&self.ctx.home, file, why, line);
            plan.result.notes.push(note);
            return false;
        }
        let (inserted, create) = match planned(plan, file, self.current(file)) {
            None if create_if_missing => (line.to_string(), true),
            None => return false,
            // Already there: not pane's doing now, so not recorded (an earlier install's
            // own record of it is kept by `merge_records`).
            Some(contents) if has_line(&contents, line) => return false,
            Some(contents) if contents.is_empty() || contents.ends_with(b"\n") => {
                (line.to_string(), false)
            }
            Some(_) => (format!("\n{line}"), false),
        };
        plan.actions.push(Action::Append {
            file: file.to_path_buf(),
            text: format!("{inserted}\n"),
            create,
        });
        if !plan.profiles.iter().any(|p| p == file) {
            plan.profiles.push(file.to_path_buf());
        }
        if create {
            plan.result.created_files.push(file.to_path_buf());
        }
        plan.result.edits.push(ProfileEdit {
            file: file.to_path_buf(),
            line: inserted,
            other: Default::default(),
        });
        true
    }

    fn github_path(&self, plan: &mut Plan, dir_text: &str) {
        let Some(github_path) = &self.ctx.github_path else {
            return;
        };
        let contents = self.current(github_path).unwrap_or_default();
        if has_line(&contents, dir_text) {
            return;
        }
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
