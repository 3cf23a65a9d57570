//! Undoing a PATH set-up: exactly the recorded lines and files, nothing else.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::apply::{remove_file_if_present, rewrite_in_place};
use super::text::{contains, remove_line};
use super::{PathSetupError, ProfileEdit, OWNED_MARKER};

/// What [`undo_path`] did.
#[derive(Debug, Default)]
pub struct Undone {
    /// The files and directories removed, in the order they went.
    pub removed: Vec<PathBuf>,
    /// The profiles pane's line was taken out of, kept for the user's own lines.
    pub edited: Vec<PathBuf>,
    /// What was left as it was found, and why, in words for the user.
    pub notes: Vec<String>,
}

/// Removes exactly the recorded lines, then the recorded files and directories: a profile that
/// pane created is removed only when nothing but pane's line was in it; a directory only when
/// empty. Missing files and lines are skipped (and said so in the notes).
pub fn undo_path(
    edits: &[ProfileEdit],
    created_files: &[PathBuf],
) -> Result<Undone, PathSetupError> {
    let mut undone = Undone::default();
    let notes = &mut undone.notes;
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
                Err(error) => return Err(PathSetupError::io("read", &edit.file)(error)),
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
            undone.removed.push(file.to_path_buf());
        } else {
            rewrite_in_place(file, contents)?;
            undone.edited.push(file.to_path_buf());
        }
    }
    for path in created_files.iter().rev() {
        if edits.iter().any(|e| &e.file == path) {
            // A profile: handled above, kept when anything but pane's line is in it.
            continue;
        }
        match fs::symlink_metadata(path) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(PathSetupError::io("inspect", path)(error)),
            Ok(metadata) if metadata.is_dir() => {
                // Only when empty: anything else in it is not pane's.
                if fs::remove_dir(path).is_ok() {
                    undone.removed.push(path.clone());
                }
            }
            Ok(_) => {
                // The env and fish files; a file that no longer says it is pane's is kept.
                let ours = fs::read(path)
                    .map(|contents| contains(&contents, OWNED_MARKER.as_bytes()))
                    .unwrap_or(false);
                if ours {
                    remove_file_if_present(path)?;
                    undone.removed.push(path.clone());
                } else {
                    undone.notes.push(format!(
                        "kept {}: it was changed after pane wrote it",
                        path.display()
                    ));
                }
            }
        }
    }
    Ok(undone)
}
