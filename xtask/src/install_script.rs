//! The `install.sh` published with a release: the repository's script with
//! the release stamped into it (its version and the SHA-256 of each of its
//! archives), so that it can install its own version where no tool can check
//! a minisign signature (stock macOS has LibreSSL, without Ed25519). It is
//! written before `SHA256SUMS`, which then lists it, and is signed with it.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::archive::parse_archive_name;
use crate::checksums::{asset_names, sha256_file};
use crate::error::{Context, Result};
use crate::fsutil::write_atomically;
use crate::signing::release_version;

pub const NAME: &str = "install.sh";
const BEGIN: &str = "# BEGIN STAMPED RELEASE\n";
const END: &str = "# END STAMPED RELEASE\n";

/// `script` with its stamped block filled in for `version`, whose archives
/// are `sums` (SHA-256 hex, archive name). Refuses a script without exactly
/// one stamped block, or one already stamped.
pub fn stamp(script: &str, version: &str, sums: &[(String, String)]) -> Result<String> {
    let (Some(start), Some(end)) = (script.find(BEGIN), script.find(END)) else {
        crate::bail!(
            "install.sh has no `{}` … `{}` block",
            BEGIN.trim(),
            END.trim()
        );
    };
    if script.matches(BEGIN).count() != 1 || script.matches(END).count() != 1 || end < start {
        crate::bail!("install.sh must have exactly one stamped-release block");
    }
    let block = &script[start..end];
    if !block.contains("stamped_version() {\n    :\n}") {
        crate::bail!("install.sh is already stamped");
    }
    let safe = |text: &str| {
        !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'))
    };
    if !safe(version) {
        crate::bail!("cannot stamp install.sh with the version {version:?}");
    }
    let mut body =
        format!("{BEGIN}stamped_version() {{\n    echo '{version}'\n}}\nstamped_sums() {{\n");
    if sums.is_empty() {
        crate::bail!("no archives to stamp into install.sh");
    }
    for (sha256, name) in sums {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) || !safe(name) {
            crate::bail!("cannot stamp install.sh with {sha256:?} {name:?}");
        }
        body.push_str(&format!(
            "    echo '{}  {name}'\n",
            sha256.to_ascii_lowercase()
        ));
    }
    body.push_str("}\n");
    Ok(format!("{}{body}{}", &script[..start], &script[end..]))
}

/// What a stamped script carries, as [`stamp`] wrote it.
#[derive(Debug, PartialEq, Eq)]
pub struct Stamp {
    pub version: String,
    /// SHA-256 (hex) and archive name.
    pub sums: Vec<(String, String)>,
}

/// The stamp of a script; `None` for a script that is not stamped (or has
/// no stamped-release block at all). Refuses a stamped block that does not
/// read.
pub fn read_stamp(script: &str) -> Result<Option<Stamp>> {
    // A file of that name without the block is not the repository's script
    // (a test release's stand-in): it carries no stamp to check.
    let (start, end) = match (script.find(BEGIN), script.find(END)) {
        (None, None) => return Ok(None),
        (Some(start), Some(end)) if start < end => (start, end),
        _ => crate::bail!("install.sh's stamped-release block is cut or out of order"),
    };
    let block = &script[start..end];
    if block.contains("stamped_version() {\n    :\n}") {
        return Ok(None);
    }
    let echoed = |line: &str| {
        line.strip_prefix("    echo '")
            .and_then(|rest| rest.strip_suffix('\''))
            .map(str::to_string)
    };
    let mut version = None;
    let mut sums = Vec::new();
    let mut in_sums = false;
    for line in block.lines() {
        match line {
            "stamped_sums() {" => in_sums = true,
            "}" => in_sums = false,
            _ => {
                let Some(text) = echoed(line) else { continue };
                if in_sums {
                    let Some((sha256, name)) = text.split_once("  ") else {
                        crate::bail!("install.sh's stamped sums hold {text:?}");
                    };
                    sums.push((sha256.to_string(), name.to_string()));
                } else {
                    version = Some(text);
                }
            }
        }
    }
    match version {
        Some(version) if !sums.is_empty() => Ok(Some(Stamp { version, sums })),
        _ => crate::bail!("install.sh's stamped block does not read"),
    }
}

/// Writes `dir/install.sh`: `script` stamped with the release in `dir` (the
/// version from its archive names, and each archive's SHA-256).
pub fn write_stamped(dir: &Path, script: &Path) -> Result<PathBuf> {
    let version = release_version(dir)?;
    let text = std::fs::read_to_string(script)
        .with_context(|| format!("cannot read {}", script.display()))?;
    let mut sums = Vec::new();
    for name in asset_names(dir)? {
        if parse_archive_name(&name).is_some() {
            sums.push((sha256_file(&dir.join(&name))?, name));
        }
    }
    let stamped = stamp(&text, &version.to_string(), &sums)
        .with_context(|| format!("in {}", script.display()))?;
    let out = dir.join(NAME);
    write_atomically(&out, 0o755, |file| {
        file.write_all(stamped.as_bytes())
            .with_context(|| format!("cannot write {}", out.display()))
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRIPT: &str = "a\n# BEGIN STAMPED RELEASE\nstamped_version() {\n    :\n}\nstamped_sums() {\n    :\n}\n# END STAMPED RELEASE\nb\n";

    #[test]
    fn stamps_the_block_once() {
        let sums = vec![(
            "ab".repeat(32),
            "pane-1.2.0-x86_64-apple-darwin.tar.gz".to_string(),
        )];
        let stamped = stamp(SCRIPT, "1.2.0", &sums).unwrap();
        assert_eq!(
            stamped,
            format!(
                "a\n# BEGIN STAMPED RELEASE\nstamped_version() {{\n    echo '1.2.0'\n}}\nstamped_sums() {{\n    echo '{}  pane-1.2.0-x86_64-apple-darwin.tar.gz'\n}}\n# END STAMPED RELEASE\nb\n",
                "ab".repeat(32)
            )
        );
        assert!(stamp(&stamped, "1.2.0", &sums).is_err(), "stamped twice");
        assert!(stamp("no block\n", "1.2.0", &sums).is_err());
        assert!(stamp(SCRIPT, "1.2.0'; rm -rf ~; '", &sums).is_err());
        assert!(stamp(SCRIPT, "1.2.0", &[("zz".repeat(32), "x".into())]).is_err());
        assert!(stamp(SCRIPT, "1.2.0", &[]).is_err());
        assert_eq!(read_stamp(SCRIPT).unwrap(), None);
        assert_eq!(
            read_stamp(&stamped).unwrap(),
            Some(Stamp {
                version: "1.2.0".to_string(),
                sums: sums.clone()
            })
        );
        assert_eq!(read_stamp("no block\n").unwrap(), None);
        let cut = &stamped[..stamped.find("# END").unwrap()];
        assert!(read_stamp(cut).is_err(), "a block without its end");
        assert!(read_stamp(&stamped[stamped.find("}\n# END").unwrap()..]).is_err());
    }
}
