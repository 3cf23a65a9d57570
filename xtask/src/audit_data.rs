//! The dependency list cargo-auditable embeds in a binary: the `.dep-v0`
//! section (ELF, or Mach-O's `__DATA,.dep-v0`), zlib-compressed JSON in the
//! format of the `auditable-serde` crate.
//!
//! This reader is written here, apart from `rust-audit-info`, so the SBOM is
//! made from the binary's own list, and the tests can check this reader
//! against that independent one.

use std::io::Read;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Context, Result};

/// The section cargo-auditable writes.
pub const SECTION: &str = ".dep-v0";

/// The decoded list: every package the binary was built from, pane included.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct DependencyList {
    pub packages: Vec<Package>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub version: String,
    /// `crates.io`, `local`, `git`, `registry`, or another source kind.
    pub source: String,
    /// `runtime` (linked into the binary) or `build` (build scripts and
    /// proc-macros only).
    #[serde(default = "runtime")]
    pub kind: String,
    /// Indices into [`DependencyList::packages`].
    #[serde(default)]
    pub dependencies: Vec<usize>,
    /// The binary's own package.
    #[serde(default)]
    pub root: bool,
}

fn runtime() -> String {
    "runtime".to_string()
}

impl DependencyList {
    /// Reads and decodes the list embedded in the binary at `path`.
    pub fn read(path: &Path) -> Result<DependencyList> {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        DependencyList::from_binary(&bytes).with_context(|| format!("in {}", path.display()))
    }

    /// Decodes the list embedded in `binary` (an ELF or Mach-O file).
    pub fn from_binary(binary: &[u8]) -> Result<DependencyList> {
        let Some(compressed) = find_section(binary, SECTION)? else {
            crate::bail!(
                "no {SECTION} section: the binary was not built with `cargo auditable build`"
            );
        };
        let mut json = Vec::new();
        flate2::read::ZlibDecoder::new(compressed)
            .take(64 << 20)
            .read_to_end(&mut json)
            .context("the dependency list is not zlib data")?;
        let list: DependencyList = serde_json::from_slice(&json)
            .context("the dependency list is not the expected JSON")?;
        if list.packages.iter().filter(|p| p.root).count() != 1 {
            crate::bail!("the dependency list does not name exactly one root package");
        }
        let count = list.packages.len();
        if list
            .packages
            .iter()
            .any(|p| p.dependencies.iter().any(|&index| index >= count))
        {
            crate::bail!("the dependency list refers to a package it does not hold");
        }
        Ok(list)
    }

    /// The binary's own package.
    pub fn root(&self) -> &Package {
        self.packages
            .iter()
            .find(|p| p.root)
            .expect("checked when decoded")
    }
}

fn slice(bytes: &[u8], offset: u64, size: u64) -> Result<&[u8]> {
    let start = usize::try_from(offset).ok();
    let end = start
        .zip(usize::try_from(size).ok())
        .and_then(|(s, n)| s.checked_add(n));
    match (start, end) {
        (Some(start), Some(end)) if end <= bytes.len() => Ok(&bytes[start..end]),
        _ => crate::bail!("a section lies outside the file"),
    }
}

fn u16_at(bytes: &[u8], at: usize, little: bool) -> Result<u16> {
    let raw: [u8; 2] = bytes
        .get(at..at + 2)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| crate::Error::msg("truncated header"))?;
    Ok(if little {
        u16::from_le_bytes(raw)
    } else {
        u16::from_be_bytes(raw)
    })
}

fn u32_at(bytes: &[u8], at: usize, little: bool) -> Result<u32> {
    let raw: [u8; 4] = bytes
        .get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| crate::Error::msg("truncated header"))?;
    Ok(if little {
        u32::from_le_bytes(raw)
    } else {
        u32::from_be_bytes(raw)
    })
}

fn u64_at(bytes: &[u8], at: usize, little: bool) -> Result<u64> {
    let raw: [u8; 8] = bytes
        .get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| crate::Error::msg("truncated header"))?;
    Ok(if little {
        u64::from_le_bytes(raw)
    } else {
        u64::from_be_bytes(raw)
    })
}

/// The contents of the section called `name`, if the file has one.
pub fn find_section<'a>(binary: &'a [u8], name: &str) -> Result<Option<&'a [u8]>> {
    match binary.get(..4) {
        Some([0x7f, b'E', b'L', b'F']) => elf_section(binary, name),
        Some([0xcf, 0xfa, 0xed, 0xfe]) => macho64_section(binary, name),
        _ => crate::bail!("neither an ELF nor a 64-bit Mach-O file"),
    }
}

/// ELF, 32- or 64-bit, either byte order: the section header table and its
/// string table.
fn elf_section<'a>(binary: &'a [u8], name: &str) -> Result<Option<&'a [u8]>> {
    let wide = match binary.get(4) {
        Some(1) => false,
        Some(2) => true,
        _ => crate::bail!("ELF file of unknown class"),
    };
    let little = match binary.get(5) {
        Some(1) => true,
        Some(2) => false,
        _ => crate::bail!("ELF file of unknown byte order"),
    };
    let (table, entry_size, count, names_index) = if wide {
        (
            u64_at(binary, 0x28, little)?,
            u16_at(binary, 0x3a, little)?,
            u16_at(binary, 0x3c, little)?,
            u16_at(binary, 0x3e, little)?,
        )
    } else {
        (
            u64::from(u32_at(binary, 0x20, little)?),
            u16_at(binary, 0x2e, little)?,
            u16_at(binary, 0x30, little)?,
            u16_at(binary, 0x32, little)?,
        )
    };
    // (name offset, file offset, size) of section `index`.
    let header = |index: u16| -> Result<(u32, u64, u64)> {
        let at = usize::try_from(table + u64::from(index) * u64::from(entry_size))
            .map_err(|_| crate::Error::msg("section table out of range"))?;
        Ok(if wide {
            (
                u32_at(binary, at, little)?,
                u64_at(binary, at + 0x18, little)?,
                u64_at(binary, at + 0x20, little)?,
            )
        } else {
            (
                u32_at(binary, at, little)?,
                u64::from(u32_at(binary, at + 0x10, little)?),
                u64::from(u32_at(binary, at + 0x14, little)?),
            )
        })
    };
    let (_, names_offset, names_size) = header(names_index)?;
    let names = slice(binary, names_offset, names_size)?;
    for index in 0..count {
        let (name_offset, offset, size) = header(index)?;
        let Some(rest) = names.get(name_offset as usize..) else {
            continue;
        };
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        if &rest[..end] == name.as_bytes() {
            return slice(binary, offset, size).map(Some);
        }
    }
    Ok(None)
}

/// 64-bit little-endian Mach-O: the sections of its `LC_SEGMENT_64` commands.
fn macho64_section<'a>(binary: &'a [u8], name: &str) -> Result<Option<&'a [u8]>> {
    const LC_SEGMENT_64: u32 = 0x19;
    let commands = u32_at(binary, 16, true)?;
    let mut at = 32usize;
    for _ in 0..commands {
        let command = u32_at(binary, at, true)?;
        let size = u32_at(binary, at + 4, true)? as usize;
        if size < 8 {
            crate::bail!("Mach-O load command of size {size}");
        }
        if command == LC_SEGMENT_64 {
            let sections = u32_at(binary, at + 64, true)?;
            for index in 0..sections as usize {
                let section = at + 72 + index * 80;
                let section_name = binary
                    .get(section..section + 16)
                    .ok_or_else(|| crate::Error::msg("truncated Mach-O section"))?;
                let end = section_name.iter().position(|&b| b == 0).unwrap_or(16);
                if &section_name[..end] == name.as_bytes() {
                    let size = u64_at(binary, section + 40, true)?;
                    let offset = u32_at(binary, section + 48, true)?;
                    return slice(binary, u64::from(offset), size).map(Some);
                }
            }
        }
        at += size;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_of_another_format_is_refused() {
        assert!(DependencyList::from_binary(b"MZ\x90\x00 a PE file").is_err());
        assert!(DependencyList::from_binary(b"").is_err());
    }

    #[test]
    fn a_binary_without_the_section_is_named_as_such() {
        // This test binary itself: built by plain cargo, not cargo auditable.
        let me = std::env::current_exe().unwrap();
        let bytes = std::fs::read(me).unwrap();
        if bytes.starts_with(b"\x7fELF") {
            let error = DependencyList::from_binary(&bytes).unwrap_err();
            assert!(
                error.to_string().contains("cargo auditable build"),
                "{error}"
            );
            // …and the reader does find sections that are there.
            assert!(find_section(&bytes, ".text").unwrap().is_some());
        }
    }
}
