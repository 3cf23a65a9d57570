//! The release's SBOM: a CycloneDX 1.5 JSON document describing one built
//! binary, made from the dependency list embedded in that binary
//! ([`crate::audit_data`]). Its components are exactly the packages of that
//! list, and nothing from the rest of `Cargo.lock` (xtask's and the tests'
//! dependencies are not in a release binary, so they are not in its SBOM).
//!
//! - `metadata.component`: pane itself, with the binary's SHA-256;
//! - `components`: every other package, with its `pkg:cargo` purl, the
//!   SHA-256 of its `.crate` file from `Cargo.lock`, and scope `required`
//!   (linked in) or `excluded` (only ran at build time: build scripts,
//!   proc-macros);
//! - `dependencies`: the graph, as the binary records it.
//!
//! The document is reproducible: no random serial number, and the timestamp
//! is `SOURCE_DATE_EPOCH`.
//!
//! cargo-auditable records the graph as `cargo metadata` resolves it, with
//! features unified across the workspace: a crate that another member's
//! features pull in is listed though pane does not link it (xtask enables
//! flate2's default miniz_oxide backend, so miniz_oxide, adler2, crc32fast
//! and simd-adler32 appear). The list errs towards listing more, never less;
//! the tests check that every crate of pane's own closure is in it.

use crate::channel::rfc3339;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

use serde_json::{json, Value};

use crate::audit_data::{DependencyList, Package};
use crate::error::{Context, Result};
use crate::fsutil::write_atomically;

/// Writes the SBOM of `binary` to `out`, with `.crate` hashes from
/// `lockfile` and `mtime` as its timestamp.
pub fn write_sbom(
    binary: &Path,
    version: &str,
    lockfile: &Path,
    mtime: u64,
    out: &Path,
) -> Result<()> {
    let mut list = DependencyList::read(binary)?;
    // The release's version, which the binary is stamped with: the same as
    // Cargo.toml's for a release (the workflow refuses a tag that differs),
    // and what `sign` checks the SBOM against.
    for root in list.packages.iter_mut().filter(|p| p.root) {
        root.version = version.to_string();
    }
    let lock_text = std::fs::read_to_string(lockfile)
        .with_context(|| format!("cannot read {}", lockfile.display()))?;
    let binary_sha256 = crate::checksums::sha256_file(binary)?;
    let document = cyclonedx(&list, &lock_checksums(&lock_text), &binary_sha256, mtime)?;
    let mut text = serde_json::to_string_pretty(&document).context("cannot render the SBOM")?;
    text.push('\n');
    write_atomically(out, 0o644, |file| {
        file.write_all(text.as_bytes())
            .with_context(|| format!("cannot write {}", out.display()))
    })
}

/// `(name, version) → checksum` of the registry packages in `Cargo.lock`.
/// Reads the `[[package]]` tables' `key = "value"` lines; that is all of the
/// lockfile format this needs.
pub fn lock_checksums(lockfile: &str) -> HashMap<(String, String), String> {
    let mut checksums = HashMap::new();
    let mut current: HashMap<&str, &str> = HashMap::new();
    let mut flush = |current: &mut HashMap<&str, &str>| {
        if let (Some(name), Some(version), Some(checksum)) = (
            current.get("name"),
            current.get("version"),
            current.get("checksum"),
        ) {
            checksums.insert(
                (name.to_string(), version.to_string()),
                checksum.to_string(),
            );
        }
        current.clear();
    };
    for line in lockfile.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            flush(&mut current);
            continue;
        }
        if let Some((key, value)) = line.split_once(" = ") {
            if let Some(value) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                current.insert(key, value);
            }
        }
    }
    flush(&mut current);
    checksums
}

/// The `bom-ref` of a package: its purl for registry packages, else
/// `name@version`.
fn reference(package: &Package) -> String {
    match purl(package) {
        Some(purl) => purl,
        None => format!("{}@{}", package.name, package.version),
    }
}

/// `pkg:cargo/<name>@<version>` for packages from crates.io; none for
/// others (a purl without a repository URL means crates.io).
fn purl(package: &Package) -> Option<String> {
    (package.source == "crates.io")
        .then(|| format!("pkg:cargo/{}@{}", package.name, package.version))
}

/// The CycloneDX document for `list`.
pub fn cyclonedx(
    list: &DependencyList,
    checksums: &HashMap<(String, String), String>,
    binary_sha256: &str,
    mtime: u64,
) -> Result<Value> {
    let references: Vec<String> = list.packages.iter().map(reference).collect();
    let mut seen = BTreeMap::new();
    for (index, reference) in references.iter().enumerate() {
        if let Some(earlier) = seen.insert(reference.as_str(), index) {
            crate::bail!(
                "the dependency list holds {reference} twice (entries {earlier} and {index})"
            );
        }
    }

    let root = list.root();
    let mut root_component = json!({
        "type": "application",
        "bom-ref": reference(root),
        "name": root.name,
        "version": root.version,
        "hashes": [{ "alg": "SHA-256", "content": binary_sha256 }],
    });
    if let Some(purl) = purl(root) {
        root_component["purl"] = json!(purl);
    }

    let mut components = Vec::new();
    for package in list.packages.iter().filter(|p| !p.root) {
        let mut component = json!({
            "type": "library",
            "bom-ref": reference(package),
            "name": package.name,
            "version": package.version,
            "scope": if package.kind == "build" { "excluded" } else { "required" },
            "properties": [
                { "name": "cargo:source", "value": package.source },
                { "name": "cargo:kind", "value": package.kind },
            ],
        });
        if let Some(purl) = purl(package) {
            component["purl"] = json!(purl);
        }
        if let Some(checksum) = checksums.get(&(package.name.clone(), package.version.clone())) {
            component["hashes"] = json!([{ "alg": "SHA-256", "content": checksum }]);
        }
        components.push(component);
    }
    components.sort_by(|a, b| a["bom-ref"].as_str().cmp(&b["bom-ref"].as_str()));

    let mut dependencies: Vec<Value> = list
        .packages
        .iter()
        .zip(&references)
        .map(|(package, reference)| {
            let mut depends_on: Vec<&str> = package
                .dependencies
                .iter()
                .map(|&index| references[index].as_str())
                .collect();
            depends_on.sort_unstable();
            json!({ "ref": reference, "dependsOn": depends_on })
        })
        .collect();
    dependencies.sort_by(|a, b| a["ref"].as_str().cmp(&b["ref"].as_str()));

    Ok(json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {
            "timestamp": rfc3339(mtime),
            "tools": {
                "components": [{
                    "type": "application",
                    "name": "cargo xtask dist",
                    "description": "made from the dependency list cargo-auditable embedded in the binary",
                }],
            },
            "component": root_component,
        },
        "components": components,
        "dependencies": dependencies,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str, source: &str, kind: &str, dependencies: &[usize]) -> Package {
        Package {
            name: name.to_string(),
            version: "1.0.0".to_string(),
            source: source.to_string(),
            kind: kind.to_string(),
            dependencies: dependencies.to_vec(),
            root: source == "local",
        }
    }

    #[test]
    fn components_are_the_list_without_the_root_and_build_only_crates_are_excluded() {
        let list = DependencyList {
            packages: vec![
                package("pane", "local", "runtime", &[1, 2]),
                package("sha2", "crates.io", "runtime", &[]),
                package("cc", "crates.io", "build", &[]),
            ],
        };
        let checksums =
            HashMap::from([(("sha2".to_string(), "1.0.0".to_string()), "ab".repeat(32))]);
        let document = cyclonedx(&list, &checksums, &"cd".repeat(32), 0).unwrap();
        assert_eq!(document["metadata"]["component"]["name"], "pane");
        assert_eq!(
            document["metadata"]["component"]["hashes"][0]["content"],
            "cd".repeat(32)
        );
        let components = document["components"].as_array().unwrap();
        let names: Vec<&str> = components
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["cc", "sha2"]);
        assert_eq!(components[0]["scope"], "excluded");
        assert_eq!(components[1]["scope"], "required");
        assert_eq!(components[1]["purl"], "pkg:cargo/sha2@1.0.0");
        assert_eq!(components[1]["hashes"][0]["content"], "ab".repeat(32));
        assert_eq!(
            document["dependencies"][0]["dependsOn"],
            json!(["pkg:cargo/cc@1.0.0", "pkg:cargo/sha2@1.0.0"])
        );
        assert_eq!(document["metadata"]["timestamp"], "1970-01-01T00:00:00Z");
    }

    #[test]
    fn a_package_listed_twice_is_refused() {
        let list = DependencyList {
            packages: vec![
                package("pane", "local", "runtime", &[1, 2]),
                package("sha2", "crates.io", "runtime", &[]),
                package("sha2", "crates.io", "runtime", &[]),
            ],
        };
        assert!(cyclonedx(&list, &HashMap::new(), "", 0).is_err());
    }

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn lockfile_checksums() {
        let lock = r#"
version = 4

[[package]]
name = "pane"
version = "0.1.0"
dependencies = [
 "sha2",
]

[[package]]
name = "sha2"
version = "0.11.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "0123"
"#;
        let checksums = lock_checksums(lock);
        assert_eq!(checksums.len(), 1);
        assert_eq!(
            checksums[&("sha2".to_string(), "0.11.0".to_string())],
            "0123"
        );
    }
}
