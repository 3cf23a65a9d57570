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
    // By the file, not the name: one file under two names (`~/.bash_profile -> .profile`, a
    // hard link) is read once and loses every line recorded under either name.
    let mut changed: BTreeMap<FileKey, Changed> = BTreeMap::new();
    for edit in ordered {
        let key = FileKey::of(&edit.file);
        let contents = match changed.get(&key) {
            Some(entry) => entry.contents.clone(),
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
                let entry = changed.entry(key).or_insert_with(|| Changed {
                    file: edit.file.clone(),
                    contents: Vec::new(),
                    lines: Vec::new(),
                });
                entry.contents = new_contents;
                entry
                    .lines
                    .push(edit.line.trim_start_matches('\n').to_string());
            }
            None => notes.push(format!(
                "{} no longer holds the line `{}`; left as it is",
                edit.file.display(),
                edit.line.trim_start_matches('\n')
            )),
        }
    }
    let created: Vec<FileKey> = created_files.iter().map(|c| FileKey::of(c)).collect();
    // Lines that stay where they are (a profile that can no longer be written): the files
    // they name are kept too, or each login would stop at a missing file.
    let mut stuck: Vec<String> = Vec::new();
    for (key, entry) in &changed {
        let file = entry.file.as_path();
        // A profile pane created, still a file of its own (not a link the user made to
        // their dotfiles since), and holding nothing but pane's line.
        let own_file = fs::symlink_metadata(file).is_ok_and(|m| m.is_file());
        if entry.contents.is_empty() && created.contains(key) && own_file {
            remove_file_if_present(file)?;
            undone.removed.push(file.to_path_buf());
            continue;
        }
        match rewrite_in_place(file, &entry.contents) {
            Ok(()) => undone.edited.push(file.to_path_buf()),
            // Never a reason to keep pane installed: named, to take out by hand.
            Err(error) => {
                for line in &entry.lines {
                    notes.push(format!(
                        "could not take `{line}` out of {} ({error}); remove it yourself",
                        file.display()
                    ));
                }
                stuck.extend(entry.lines.iter().cloned());
            }
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
            Ok(_)
                if path.file_name().is_some_and(|name| {
                    stuck
                        .iter()
                        .any(|line| line.contains(&*name.to_string_lossy()))
                }) =>
            {
                undone.notes.push(format!(
                    "kept {}: a profile pane could not rewrite still reads it",
                    path.display()
                ));
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

/// A file as undo groups its edits: by device and inode where it exists, else by name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum FileKey {
    Inode(u64, u64),
    Name(PathBuf),
}

impl FileKey {
    fn of(path: &Path) -> FileKey {
        match super::file_identity(path) {
            Some((dev, ino)) => FileKey::Inode(dev, ino),
            None => FileKey::Name(path.to_path_buf()),
        }
    }
}

/// One profile's new contents, under the first name an edit gave it, and the lines taken out.
struct Changed {
    file: PathBuf,
    contents: Vec<u8>,
    lines: Vec<String>,
}
