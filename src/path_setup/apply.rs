//! The I/O of a PATH set-up: making a [`Plan`], and rewriting a profile in place.

use std::fs;
use std::io::{self, Write as _};
use std::path::Path;

use super::plan::{added_note, by_hand};
use super::{Action, PathSetup, PathSetupError, Plan};
use crate::platform;

/// Makes the changes of a [`plan`](super::plan) and returns what was done. A line for a
/// profile that cannot take it (read-only, a dangling link, a missing `$ZDOTDIR`) is skipped:
/// its record goes, and a note gives the line to add by hand. Any other failure takes back the
/// changes already made (appended text cut off again, created files and directories removed),
/// so a failed set-up leaves every file as it was.
pub fn apply(plan: &Plan) -> Result<PathSetup, PathSetupError> {
    let mut done = Vec::new();
    let mut result = plan.result.clone();
    let mut skipped = Vec::new();
    for action in &plan.actions {
        match apply_one(action) {
            Ok(undo) => done.push(undo),
            Err(error) => match action {
                Action::Append { file, text, create } if plan.profiles.contains(file) => {
                    skip(&mut result, &plan.home, file, text, *create, &error);
                    skipped.push(file.clone());
                }
                _ => {
                    for undo in done.into_iter().rev() {
                        undo.run();
                    }
                    return Err(error);
                }
            },
        }
    }
    if skipped
        .iter()
        .any(|file| plan.added.iter().any(|(f, _)| f == file))
    {
        let names = |all: bool| -> Vec<&str> {
            plan.added
                .iter()
                .filter(|(file, _)| all || !skipped.contains(file))
                .map(|(_, name)| name.as_str())
                .collect()
        };
        let planned = added_note(&plan.display_dir, &names(true));
        let left = names(false);
        let position = result.notes.iter().position(|note| *note == planned);
        match position {
            Some(at) if left.is_empty() => {
                result.notes.remove(at);
            }
            Some(at) => result.notes[at] = added_note(&plan.display_dir, &left),
            None => {}
        }
    }
    Ok(result)
}

/// Forgets a profile's line that could not be appended, and says what to add by hand.
fn skip(
    result: &mut PathSetup,
    home: &Path,
    file: &Path,
    text: &str,
    create: bool,
    error: &PathSetupError,
) {
    let line = text.strip_suffix('\n').unwrap_or(text);
    result
        .edits
        .retain(|edit| !(edit.file == file && edit.line == line));
    if create {
        result.created_files.retain(|created| created != file);
    }
    let why = match error {
        PathSetupError::Io { source, .. } => source.to_string(),
        other => other.to_string(),
    };
    result.notes.push(by_hand(home, file, &why, line));
}

/// How to take one applied action back.
enum Undo {
    Nothing,
    Remove(std::path::PathBuf),
    RemoveDir(std::path::PathBuf),
    Truncate(std::path::PathBuf, u64),
}

impl Undo {
    fn run(self) {
        let _ = match self {
            Undo::Nothing => Ok(()),
            Undo::Remove(path) => fs::remove_file(path),
            Undo::RemoveDir(path) => fs::remove_dir(path),
            Undo::Truncate(path, len) => fs::OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|file| file.set_len(len)),
        };
    }
}

fn apply_one(action: &Action) -> Result<Undo, PathSetupError> {
    match action {
        Action::CreateDir(dir) => match fs::create_dir(dir) {
            Ok(()) => Ok(Undo::RemoveDir(dir.clone())),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(Undo::Nothing),
            Err(error) => Err(PathSetupError::io("create", dir)(error)),
        },
        Action::WriteOwned { path, contents } => {
            let existed = fs::symlink_metadata(path).is_ok();
            platform::write_atomic(path, contents.as_bytes(), 0o644)
                .map_err(PathSetupError::io("write", path))?;
            // A file pane owned already keeps its new contents: it is pane's.
            Ok(if existed {
                Undo::Nothing
            } else {
                Undo::Remove(path.clone())
            })
        }
        Action::Append { file, text, create } => append(file, text, *create),
    }
}

/// Appending in place keeps the file's owner, mode and any symlink to it (a dotfiles
/// repository), which a rename would replace.
fn append(file: &Path, text: &str, create: bool) -> Result<Undo, PathSetupError> {
    let mut options = fs::OpenOptions::new();
    options.append(true);
    if create {
        options.create_new(true);
    }
    let mut handle = options
        .open(file)
        .map_err(PathSetupError::io("open", file))?;
    let undo = if create {
        Undo::Remove(file.to_path_buf())
    } else {
        let len = handle
            .metadata()
            .map_err(PathSetupError::io("inspect", file))?
            .len();
        Undo::Truncate(file.to_path_buf(), len)
    };
    let written = handle
        .write_all(text.as_bytes())
        .and_then(|()| handle.sync_all());
    if let Err(error) = written {
        undo.run();
        return Err(PathSetupError::io("write", file)(error));
    }
    Ok(undo)
}

/// Gives a profile new contents while keeping it what it was: the target of a symlink stays
/// the target and keeps its mode; the rename makes a crash leave old or new, never half.
pub(super) fn rewrite_in_place(path: &Path, contents: &[u8]) -> Result<(), PathSetupError> {
    let (real, mode) =
        platform::rewrite_target(path).map_err(PathSetupError::io("resolve", path))?;
    // A file with other names (a hard link into a dotfiles folder) is written where it is:
    // a rename would leave the other names with the old bytes.
    let linked = {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(&real).is_ok_and(|m| m.nlink() > 1)
    };
    if linked {
        return overwrite(&real, contents).map_err(PathSetupError::io("write", &real));
    }
    match platform::write_atomic(&real, contents, mode) {
        Ok(()) => Ok(()),
        // A directory we may not write to (but a file we may): write the file itself.
        Err(error) if error.kind() == io::ErrorKind::PermissionDenied => {
            overwrite(&real, contents).map_err(PathSetupError::io("write", &real))
        }
        Err(error) => Err(PathSetupError::io("write", &real)(error)),
    }
}

/// Writes `contents` over the file's start, then cuts it to their length:
/// unlike a truncating write, a failure part-way (a full disk) leaves the old
/// bytes after what was written rather than an emptied file.
fn overwrite(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut file = fs::OpenOptions::new().write(true).open(path)?;
    file.write_all(contents)?;
    file.set_len(contents.len() as u64)?;
    file.sync_all()
}

pub(super) fn remove_file_if_present(path: &Path) -> Result<(), PathSetupError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(PathSetupError::io("remove", path)(error)),
    }
}
