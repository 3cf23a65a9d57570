//! PATH set-up for `pane self install`, and its exact undo for `pane self uninstall`.
//!
//! What [`setup_path`] guarantees:
//! - When the install dir is already on `PATH`, it adds nothing for `PATH` (no env file, no
//!   profile line); the completion scripts, which a directory on `PATH` does not give, are still
//!   installed.
//! - Otherwise it writes two files that pane owns: `<install dir>/pane.env` (POSIX sh: puts the dir
//!   first on `PATH` unless it is already there) and `<config>/fish/conf.d/pane.env.fish`, where
//!   `<config>` is `$XDG_CONFIG_HOME` or `~/.config` (fish reads `conf.d` by itself).
//! - It appends one line, `. "$HOME/.local/bin/pane.env"` (the `$HOME` form when the dir is under the
//!   home directory), to `~/.profile` (created when missing), to each bash rc that exists
//!   (`~/.bashrc`, `~/.bash_profile`, `~/.bash_login`: bash reads the latter two *instead of*
//!   `~/.profile`), and to zsh's `.zshenv` (in `$ZDOTDIR`, else home), which every zsh reads,
//!   interactive or not. zsh is set up only when it looks used: `$ZDOTDIR` is set, one of
//!   `.zshenv`, `.zshrc`, `.zprofile`, `.zlogin` exists there, or `zsh` is on `PATH` (it is
//!   macOS's login shell). A machine without zsh gets no `.zshenv`.
//! - It appends the dir to the `$GITHUB_PATH` file when one is given (later CI steps see it).
//! - It installs the completion scripts it is given where each shell finds them with no
//!   configuration: bash-completion's user dir (`$BASH_COMPLETION_USER_DIR`, else
//!   `<data>/bash-completion/completions/pane`), fish's `<config>/fish/completions/pane.fish`, and
//!   for zsh `<data>/zsh/site-functions/_pane` with an `fpath=(… $fpath)` line in `.zshenv`
//!   (read before any `.zshrc` runs `compinit`), recorded like the PATH lines. `<data>` is
//!   `$XDG_DATA_HOME` or `~/.local/share`. A completion file there that pane did not write is left
//!   alone.
//! - It is idempotent: a line already present (a whole line, byte for byte) is not added again
//!   and an owned file with the right contents is not rewritten, so a second run changes no file.
//! - It claims nothing it did not write: the files it owns have names of pane's own (other
//!   installers write `<dir>/env`), a file of that name that does not carry pane's marker is
//!   refused rather than overwritten, and a line found already in place is not recorded.
//! - It is best effort per profile: a profile it cannot read or append to (a read-only file of a
//!   dotfiles manager, a dangling link, a `$ZDOTDIR` that does not exist) is skipped with a note
//!   that gives the line to add by hand; the rest of the set-up goes on.
//! - It records every line it added ([`ProfileEdit`]: the file and exactly the text inserted,
//!   without its final newline) and every file and directory it created, so that [`undo_path`]
//!   returns each profile to its previous bytes.
//!
//! Planning is pure ([`plan`] over a [`Survey`] of the files involved) and has table tests; the
//! I/O is in [`survey`], [`apply`] and [`undo_path`]. Nothing here reads environment variables:

mod apply;
mod plan;
mod survey;
mod text;
mod undo;

#[cfg(test)]
mod tests;

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub use apply::apply;
pub use plan::{plan, Action, Plan};
pub use survey::{survey, Survey};
pub use undo::{undo_path, Undone};

use survey::{is_executable_file, same_dir};
#[cfg(test)]
use text::{env_script, fish_script, remove_line, source_line};

/// The file at `path` (following links) as device and inode, where it exists: one file under
/// two names (`~/.bash_profile -> .profile`, a hard link into a dotfiles folder) is one profile.
fn file_identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// A PATH set-up that could not be made or undone. The I/O variant keeps the OS error, so
/// that a full disk or a read-only home gets its hint ([`crate::platform::io_hint`]).
#[derive(Debug, thiserror::Error)]
pub enum PathSetupError {
    #[error("cannot {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// An install dir that no shell line can name.
    #[error("{0}")]
    Unnameable(String),
    /// A file where pane writes its own, holding something pane did not write.
    #[error("{0} exists and was not written by pane; pane will not overwrite it")]
    NotOurs(PathBuf),
}

impl PathSetupError {
    pub fn hint(&self) -> Option<String> {
        match self {
            // The shell's files are not the installation: a missing directory
            // (a link to nowhere where completions go) is no call to repair it.
            PathSetupError::Io { source, path, .. }
                if source.kind() == io::ErrorKind::NotFound =>
            {
                Some(format!(
                    "a directory on the way to {} does not exist (or a link there points nowhere): create it, or leave it out with --no-completions (completion scripts) or --no-modify-path (all of the PATH set-up)",
                    path.display()
                ))
            }
            // A shell's file pane may not write (a read-only dotfiles store, say): another
            // install dir would meet the same file, so the way out is to leave it out.
            PathSetupError::Io { source, path, .. }
                if matches!(source.raw_os_error(), Some(30 | 13 | 1)) =>
            {
                Some(format!(
                    "{} cannot be written here: leave it out with --no-completions (completion scripts) or --no-modify-path (all of the PATH set-up), and add the install dir to PATH yourself",
                    path.display()
                ))
            }
            PathSetupError::Io { source, path, .. } => crate::platform::io_hint(source, path),
            PathSetupError::Unnameable(_) => None,
            PathSetupError::NotOurs(path) => Some(format!(
                "move {} out of the way, or pass --no-modify-path and add the install dir to PATH yourself",
                path.display()
            )),
        }
    }

    /// The kind of the I/O error; `InvalidInput` for an install dir no line can name.
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            PathSetupError::Io { source, .. } => source.kind(),
            PathSetupError::Unnameable(_) => io::ErrorKind::InvalidInput,
            PathSetupError::NotOurs(_) => io::ErrorKind::AlreadyExists,
        }
    }

    /// The error of `action` on `path`, for `map_err`.
    pub(crate) fn io(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| PathSetupError::Io {
            action,
            path,
            source,
        }
    }
}

/// One line that [`setup_path`] added to a shell profile; stored in the install receipt.
///
/// `line` is exactly the text inserted, without the newline that ends it. When the file did not
/// end with a newline, pane had to add one first; `line` then starts with that `\n`, so that
/// removing `line` plus its final newline gives back the previous bytes.
///
/// Two edits are the same edit when their file and line are: fields a newer
/// pane added to the record ride along, kept as they are when the receipt is
/// rewritten, and do not make it another edit.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ProfileEdit {
    pub file: PathBuf,
    pub line: String,
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl PartialEq for ProfileEdit {
    fn eq(&self, other: &ProfileEdit) -> bool {
        (&self.file, &self.line) == (&other.file, &other.line)
    }
}

impl Eq for ProfileEdit {}

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
    /// `$XDG_DATA_HOME` (default `~/.local/share`): bash-completion's user dir and zsh's
    /// `site-functions` live under it.
    pub xdg_data_home: Option<PathBuf>,
    /// `$BASH_COMPLETION_USER_DIR`, where bash-completion looks first.
    pub bash_completion_user_dir: Option<PathBuf>,
    /// The completion scripts to install (none: no completions).
    pub completions: Vec<Completion>,
}

/// A shell that pane installs a completion script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

/// A completion script, as `pane completions <shell>` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub shell: CompletionShell,
    pub script: String,
}

/// What [`setup_path`] did. Store `edits` and `created_files` in the receipt.
///
/// `edits` lists the lines this call added, exactly as inserted: a line found already in place
/// is not pane's doing now and is not claimed (the receipt of the install that added it keeps
/// its own record). `created_files` lists the files and
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

/// pane's own name: other installers (uv, cargo-dist's) write `<dir>/env` and source it with
/// the same kind of line, so a file or line of that name may be theirs.
const ENV_FILE_NAME: &str = "pane.env";
/// The first line of comment in the files pane owns; undo removes only files that hold it.
const OWNED_MARKER: &str = "# Written by `pane self install`; `pane self uninstall` removes it.";
const FISH_FILE_NAME: &str = "pane.env.fish";
const BASH_RCS: [&str; 3] = [".bashrc", ".bash_profile", ".bash_login"];
const ZSH_FILES: [&str; 4] = [".zshenv", ".zshrc", ".zprofile", ".zlogin"];

/// Sets up PATH for `ctx.install_dir`, and the completions in `ctx.completions` (see the
/// module docs).
pub fn setup_path(ctx: &PathContext) -> Result<PathSetup, PathSetupError> {
    apply(&plan_path(ctx)?)
}

/// What [`setup_path`] would do, read and decided but not done: `self install` records it in
/// the receipt before any file changes, so that no edit of pane's is ever unrecorded, then
/// [`apply`]s it.
pub fn plan_path(ctx: &PathContext) -> Result<Plan, PathSetupError> {
    plan(ctx, &survey(ctx)?)
}

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
