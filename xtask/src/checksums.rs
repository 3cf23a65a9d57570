//! `SHA256SUMS`: one line per asset, `<64 lowercase hex>  <name>`, sorted by
//! name, in the format `sha256sum -c` reads.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::archive::parse_archive_name;
use crate::error::{Context, Result};
use crate::fsutil::{write_atomically, TEMP_PREFIX};

pub const SUMS_NAME: &str = "SHA256SUMS";
pub const SIGNATURE_NAME: &str = "SHA256SUMS.minisig";

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 0xf)] as char);
    }
    out
}

/// SHA-256 of `reader`'s bytes, as lowercase hex; streams.
pub fn sha256_reader(mut reader: impl Read) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let n = reader.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// SHA-256 of a file, as lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    sha256_reader(file).with_context(|| format!("cannot read {}", path.display()))
}

/// The file names in `dir` that `SHA256SUMS` covers: every regular file except
/// the checksums, their signature, and hidden (temporary) files. Sorted.
pub fn asset_names(dir: &Path) -> Result<Vec<String>> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read directory {}", dir.display()))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read directory {}", dir.display()))?;
        let file_type = entry
            .file_type()
            .with_context(|| format!("cannot stat {}", entry.path().display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            crate::bail!(
                "{} has a file name that is not UTF-8: {name:?}",
                dir.display()
            );
        };
        if !file_type.is_file()
            || name.starts_with('.')
            || name.starts_with(TEMP_PREFIX)
            || name == SUMS_NAME
            || name == SIGNATURE_NAME
        {
            continue;
        }
        if name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
        {
            crate::bail!(
                "asset name {name:?} in {} cannot be listed in SHA256SUMS",
                dir.display()
            );
        }
        names.push(name.to_string());
    }
    names.sort();
    Ok(names)
}

/// The text of `SHA256SUMS` for `(sha256 hex, name)` pairs, in the given order.
pub fn render(entries: &[(String, String)]) -> String {
    entries
        .iter()
        .map(|(hash, name)| format!("{hash}  {name}\n"))
        .collect()
}

/// Parses `SHA256SUMS` text into `(sha256 hex, name)` pairs. Strict: every line
/// is 64 lowercase hex digits, two spaces (or space and `*`), then a name.
pub fn parse(text: &str) -> Result<Vec<(String, String)>> {
    let mut entries = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let valid = line.len() > 66
            && line.as_bytes()[..64]
                .iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            // `get`, not an index: a non-ASCII character straddling byte 65
            // is a malformed line, not a panic.
            && matches!(line.get(64..66), Some("  " | " *"));
        if !valid {
            crate::bail!(
                "SHA256SUMS line {} is not `<sha256>  <name>`: {line:?}",
                number + 1
            );
        }
        entries.push((line[..64].to_string(), line[66..].to_string()));
    }
    Ok(entries)
}

/// Reads and parses `dir/SHA256SUMS`, saying how to make it if it is missing.
pub fn read(dir: &Path) -> Result<Vec<(String, String)>> {
    let path = dir.join(SUMS_NAME);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read {}; run `cargo xtask checksums {}` first",
            path.display(),
            dir.display()
        )
    })?;
    parse(&text).with_context(|| format!("in {}", path.display()))
}

/// Writes `dir/SHA256SUMS` over every asset in `dir` and returns its path.
/// Refuses a directory with no release archive in it.
pub fn write_checksums(dir: &Path) -> Result<PathBuf> {
    let names = asset_names(dir)?;
    if !names.iter().any(|name| parse_archive_name(name).is_some()) {
        crate::bail!(
            "{} holds no release archive (pane-<version>-<target>.tar.gz); run `cargo xtask dist` first",
            dir.display()
        );
    }
    let mut entries = Vec::with_capacity(names.len());
    for name in names {
        entries.push((sha256_file(&dir.join(&name))?, name));
    }
    let path = dir.join(SUMS_NAME);
    let text = render(&entries);
    write_atomically(&path, 0o644, |file| {
        file.write_all(text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_and_padded() {
        assert_eq!(hex(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
    }

    #[test]
    fn render_and_parse_round_trip() {
        let entries = vec![
            ("a".repeat(64), "pane-1.0.0-x.tar.gz".to_string()),
            ("b".repeat(64), "install.sh".to_string()),
        ];
        assert_eq!(parse(&render(&entries)).unwrap(), entries);
    }

    #[test]
    fn parse_refuses_malformed_lines() {
        assert!(parse(&format!("{}  x\n", "A".repeat(64))).is_err());
        assert!(parse(&format!("{} x\n", "a".repeat(64))).is_err());
        assert!(parse(&format!("{}  \n", "a".repeat(64))).is_err());
        assert!(parse("short  x\n").is_err());
        assert!(parse(&format!("{}é x\n", "a".repeat(64))).is_err());
        assert!(parse(&format!("{} é\n", "a".repeat(64))).is_err());
        assert_eq!(
            parse(&format!("{}  é\n", "a".repeat(64))).unwrap(),
            [("a".repeat(64), "é".to_string())]
        );
    }
}
