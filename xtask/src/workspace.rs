//! Facts about the workspace: where it is, and the root package's metadata.
//!
//! The repository URL (and so the GitHub owner and repo the release server
//! and the formula speak for) is read here and nowhere else.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Context, Result};

/// The workspace root: the directory holding the root `Cargo.toml`.
pub fn root() -> PathBuf {
    // xtask lives at `<root>/xtask`; this is fixed at compile time, so it holds
    // for the `cargo xtask` binary and for pane's tests linking this library.
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .expect("xtask is a member directory of the workspace")
        .to_path_buf()
}

/// The `[package]` metadata of the root package that the release tooling uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub version: String,
    pub description: String,
    pub license: String,
    /// `https://github.com/<owner>/<repo>`
    pub repository: String,
}

impl Package {
    /// Reads the root `Cargo.toml`.
    pub fn load() -> Result<Package> {
        let path = root().join("Cargo.toml");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Package::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    /// Parses the string keys of the `[package]` table. This is not a TOML
    /// parser: it reads `key = "value"` lines, which is all the root manifest
    /// uses for these fields.
    pub fn parse(manifest: &str) -> Result<Package> {
        let mut in_package = false;
        let mut fields = std::collections::HashMap::new();
        for line in manifest.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                in_package = line == "[package]";
                continue;
            }
            if !in_package {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim();
            if let Some(value) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                fields.insert(key.trim().to_string(), value.to_string());
            }
        }
        let mut take = |key: &str| {
            fields
                .remove(key)
                .ok_or_else(|| crate::Error::msg(format!("[package] has no string `{key}`")))
        };
        Ok(Package {
            name: take("name")?,
            version: take("version")?,
            description: take("description")?,
            license: take("license")?,
            repository: take("repository")?,
        })
    }

    /// `(owner, repo)` from `https://github.com/<owner>/<repo>`.
    pub fn github_repository(&self) -> Result<(String, String)> {
        parse_github_url(&self.repository)
    }

    /// `https://github.com/<owner>/<repo>/releases`: the base of the file layout.
    pub fn releases_url(&self) -> String {
        format!("{}/releases", self.repository.trim_end_matches('/'))
    }
}

fn parse_github_url(url: &str) -> Result<(String, String)> {
    let rest = url.strip_prefix("https://github.com/").ok_or_else(|| {
        crate::Error::msg(format!("repository {url:?} is not on https://github.com/"))
    })?;
    let mut parts = rest
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(owner), Some(repo), None) if !owner.is_empty() && !repo.is_empty() => {
            Ok((owner.to_string(), repo.to_string()))
        }
        _ => crate::bail!("repository {url:?} is not https://github.com/<owner>/<repo>"),
    }
}

/// The host's target triple, as `rustc -vV` reports it.
pub fn host_target() -> Result<String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let mut command = Command::new(&rustc);
    command.arg("-vV");
    let output =
        crate::process::checked_output(&mut command, "`rustc -vV` (to find the host target)")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(|host| host.trim().to_string())
        .ok_or_else(|| crate::Error::msg("`rustc -vV` printed no `host:` line"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_package_table_only() {
        let manifest = r#"
[package]
name = "pane"
version = "0.1.0"
description = "pane: a tool"
license = "MIT OR Apache-2.0"
repository = "https://github.com/pane-cli/pane"
keywords = ["cli"]

[dependencies]
version = "9"
"#;
        let package = Package::parse(manifest).unwrap();
        assert_eq!(package.version, "0.1.0");
        assert_eq!(
            package.github_repository().unwrap(),
            ("pane-cli".to_string(), "pane".to_string())
        );
        assert_eq!(
            package.releases_url(),
            "https://github.com/pane-cli/pane/releases"
        );
    }

    #[test]
    fn refuses_a_repository_that_is_not_github() {
        assert!(parse_github_url("https://gitlab.com/a/b").is_err());
        assert!(parse_github_url("https://github.com/a").is_err());
        assert!(parse_github_url("https://github.com/a/b/c").is_err());
    }

    #[test]
    fn the_real_manifest_parses() {
        let package = Package::load().unwrap();
        assert_eq!(package.name, "pane");
        assert_eq!(package.github_repository().unwrap().1, "pane");
    }
}
