//! Reading the files and facts a PATH set-up decides on.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::{
    CompletionShell, PathContext, PathSetupError, BASH_RCS, ENV_FILE_NAME, FISH_FILE_NAME,
    ZSH_FILES,
};

/// The file-system facts the plan decides on.
#[derive(Debug, Clone, Default)]
pub struct Survey {
    /// The current bytes of every file the plan may read or touch; `None` when missing.
    pub files: BTreeMap<PathBuf, Option<Vec<u8>>>,
    /// The directories on the way to the files pane owns (the fish file, the completion
    /// scripts) that do not exist yet, outermost first.
    pub missing_dirs: Vec<PathBuf>,
    /// The install dir is already an entry of `PATH`.
    pub on_path: bool,
    /// An executable `zsh` is on `PATH`.
    pub zsh_on_path: bool,
    /// Profiles that exist but could not be read, with the error: skipped, with a note.
    pub unreadable: BTreeMap<PathBuf, String>,
    /// The file each existing profile is (device and inode), so that one file under two
    /// names (`~/.bash_profile -> .profile`, a hard link into a dotfiles folder) gets
    /// pane's line once.
    pub identity: BTreeMap<PathBuf, (u64, u64)>,
}

pub(super) struct Targets {
    pub(super) env_file: PathBuf,
    pub(super) fish_file: PathBuf,
    pub(super) profile: PathBuf,
    pub(super) bash_rcs: Vec<PathBuf>,
    pub(super) zsh_dir: PathBuf,
    pub(super) zshenv: PathBuf,
    pub(super) bash_completion: PathBuf,
    pub(super) zsh_functions: PathBuf,
    pub(super) fish_completion: PathBuf,
}

impl Targets {
    /// Where the completion script for `shell` goes.
    pub(super) fn completion(&self, shell: CompletionShell) -> PathBuf {
        match shell {
            CompletionShell::Bash => self.bash_completion.clone(),
            CompletionShell::Zsh => self.zsh_functions.join("_pane"),
            CompletionShell::Fish => self.fish_completion.clone(),
        }
    }
}

pub(super) fn targets(ctx: &PathContext) -> Targets {
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
    let data = ctx
        .xdg_data_home
        .clone()
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| ctx.home.join(".local/share"));
    let bash_completions = ctx
        .bash_completion_user_dir
        .clone()
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| data.join("bash-completion"))
        .join("completions");
    Targets {
        bash_completion: bash_completions.join("pane"),
        zsh_functions: data.join("zsh").join("site-functions"),
        fish_completion: config.join("fish").join("completions").join("pane.fish"),
        env_file: ctx.install_dir.join(ENV_FILE_NAME),
        fish_file: config.join("fish").join("conf.d").join(FISH_FILE_NAME),
        profile: ctx.home.join(".profile"),
        bash_rcs: BASH_RCS.iter().map(|name| ctx.home.join(name)).collect(),
        zshenv: zsh_dir.join(".zshenv"),
        zsh_dir,
    }
}

/// Reads what [`plan`] needs.
pub fn survey(ctx: &PathContext) -> Result<Survey, PathSetupError> {
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
    let owned: Vec<PathBuf> = std::iter::once(targets.fish_file.clone())
        .chain(ctx.completions.iter().map(|c| targets.completion(c.shell)))
        .collect();
    paths.extend(owned.iter().skip(1).cloned());
    let profiles: Vec<PathBuf> = std::iter::once(targets.profile.clone())
        .chain(targets.bash_rcs.iter().cloned())
        .chain(ZSH_FILES.iter().map(|name| targets.zsh_dir.join(name)))
        .collect();
    let mut unreadable = BTreeMap::new();
    let mut identity = BTreeMap::new();
    for path in &profiles {
        if let Some(id) = super::file_identity(path) {
            identity.insert(path.clone(), id);
        }
    }
    for path in paths {
        let contents = match fs::read(&path) {
            Ok(contents) => Some(contents),
            Err(error) if error.kind() == io::ErrorKind::NotFound => None,
            // A profile is the user's: one pane cannot read is skipped, not fatal. The files
            // pane owns and `$GITHUB_PATH` must be readable for it to know what it writes.
            Err(error) if profiles.contains(&path) => {
                unreadable.insert(path, error.to_string());
                continue;
            }
            Err(error) => return Err(PathSetupError::io("read", &path)(error)),
        };
        files.insert(path, contents);
    }
    let mut missing_dirs: Vec<PathBuf> = Vec::new();
    for file in &owned {
        for dir in missing_ancestors(file) {
            if !missing_dirs.contains(&dir) {
                missing_dirs.push(dir);
            }
        }
    }
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
        unreadable,
        identity,
    })
}

/// The directories above `file` that do not exist, outermost first.
fn missing_ancestors(file: &Path) -> Vec<PathBuf> {
    let mut missing = Vec::new();
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d.exists() || d.as_os_str().is_empty() {
            break;
        }
        missing.push(d.to_path_buf());
        dir = d.parent();
    }
    missing.reverse();
    missing
}

pub(super) fn same_dir(entry: &Path, dir: &Path, dir_canonical: Option<&Path>) -> bool {
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

pub(super) fn is_executable_file(path: &Path) -> bool {
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
