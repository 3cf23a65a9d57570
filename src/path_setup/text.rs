//! The text of a PATH set-up: the scripts pane owns, the line it adds, quoting, and finding
//! and removing whole lines byte for byte.

use std::path::Path;

use super::{Completion, CompletionShell, ENV_FILE_NAME, OWNED_MARKER};

/// The sh file that puts `dir` first on PATH, once.
pub(super) fn env_script(dir: &str) -> String {
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

pub(super) fn fish_script(dir: &str) -> String {
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
pub(super) fn source_line(home: &Path, install_dir: &Path, dir_text: &str) -> String {
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

/// `fpath=("$HOME/<rel>" $fpath)` (or the absolute dir), for `.zshenv`; `None` for a dir no
/// line can name.
pub(super) fn fpath_line(home: &Path, dir: &Path) -> Option<String> {
    let text = dir.to_str().filter(|t| !t.contains(['\n', '\r']))?;
    let under_home = dir
        .strip_prefix(home)
        .ok()
        .filter(|_| !home.as_os_str().is_empty() && home.is_absolute())
        .and_then(Path::to_str);
    let quoted = match under_home {
        Some(relative) if !relative.is_empty() => {
            format!("$HOME/{}", sh_double_quote_escape(relative))
        }
        _ => sh_double_quote_escape(text),
    };
    Some(format!("fpath=(\"{quoted}\" $fpath)"))
}

/// A completion script with pane's marker, so that undo knows the file is pane's. zsh reads
/// `#compdef` from the first line, so there the marker comes second.
pub(super) fn owned_completion(completion: &Completion) -> String {
    let script = &completion.script;
    match (completion.shell, script.split_once('\n')) {
        (CompletionShell::Zsh, Some((first, rest))) => format!("{first}\n{OWNED_MARKER}\n{rest}"),
        _ => format!("{OWNED_MARKER}\n{script}"),
    }
}

pub(super) fn sh_single_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

pub(super) fn sh_double_quote_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub(super) fn fish_single_quote(text: &str) -> String {
    format!("'{}'", text.replace('\\', r"\\").replace('\'', r"\'"))
}

/// `~/rest` for display when `path` is under `home`.
pub(super) fn tilde(home: &Path, path: &Path) -> String {
    match path.strip_prefix(home) {
        Ok(rest) if home.is_absolute() && !rest.as_os_str().is_empty() => {
            format!("~/{}", rest.display())
        }
        _ => path.display().to_string(),
    }
}

pub(super) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// `contents` holds `line` as a whole line.
pub(super) fn has_line(contents: &[u8], line: &str) -> bool {
    contents
        .split(|&b| b == b'\n')
        .any(|l| l == line.as_bytes() || l.strip_suffix(b"\r") == Some(line.as_bytes()))
}

/// `contents` without the last whole-line occurrence of `line` and the newline after it (see
/// [`ProfileEdit`]); `None` when it is not there.
pub(super) fn remove_line(contents: &[u8], line: &str) -> Option<Vec<u8>> {
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
        // An editor may have saved the file with CRLF line ends since (`has_line` takes
        // that line as pane's too, so this must).
        let remove_to = if end == contents.len() {
            end
        } else if contents[end] == b'\n' {
            end + 1
        } else if contents[end..].starts_with(b"\r\n") {
            end + 2
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
