//! The release's supply-chain guarantees, checked on real builds:
//!
//! - `cargo xtask dist` gives the same bytes from two checkouts at different
//!   paths with different cargo homes (one under umask 077, its files dated
//!   2001), and leaves no absolute build path in the binary;
//! - the binary carries its dependency list, and `rust-audit-info` reads it;
//! - the SBOM beside the archive lists exactly that list's crates, among
//!   them every crate of pane's build closure (`cargo tree`), and none of the
//!   tests' or xtask's own dependencies;
//! - every third-party action in the workflows is pinned by commit SHA.
//!
//! The two builds are the expensive part (shared by these tests, made once).
//! They run in the `dev` profile: the remapping is the same in every profile,
//! and a dev build keeps its debug information, where most paths would hide,
//! so it is the harder case. CI's reproducibility job builds in `release`.
//! With `CI` set, a missing tool (cargo-auditable, rust-audit-info) fails the
//! tests; elsewhere they are skipped with a note.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use xtask::audit_data::DependencyList;
use xtask::reproduce::{count_occurrences, reproduce, Report, ReproduceOptions};

const PROFILE: &str = "dev";

/// The tool's path, or `None` (a skip) where it is missing outside CI.
fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        if std::env::var_os("CI").is_some() {
            panic!("{name} is not installed (`cargo install --locked {name}`; .ci/run does)");
        }
        eprintln!("skipped: {name} is not installed (`cargo install --locked {name}`)");
    }
    found
}

fn cargo_home() -> PathBuf {
    match std::env::var_os("CARGO_HOME").filter(|home| !home.is_empty()) {
        Some(home) => PathBuf::from(home),
        None => PathBuf::from(std::env::var_os("HOME").expect("HOME or CARGO_HOME")).join(".cargo"),
    }
}

/// The two builds, made once for all the tests here.
fn builds() -> Option<&'static Report> {
    tool("cargo-auditable")?;
    static REPORT: OnceLock<Report> = OnceLock::new();
    Some(REPORT.get_or_init(|| {
        let work_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("supply-chain");
        if work_dir.exists() {
            std::fs::remove_dir_all(&work_dir).expect("clear the previous run's copies");
        }
        reproduce(&ReproduceOptions {
            workspace: xtask::workspace::root(),
            cargo_home: cargo_home(),
            work_dir,
            profile: PROFILE.to_string(),
            version: "7.8.9".to_string(),
            mtime: 1_700_000_000,
        })
        .unwrap_or_else(|e| panic!("the two dist builds failed: {e:#}"))
    }))
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

#[test]
fn dist_is_byte_identical_from_two_checkouts_and_cargo_homes() {
    let Some(report) = builds() else { return };
    let (first, second) = (&report.first, &report.second);
    println!("{report}");

    // Two real directories, not one seen through a link.
    assert_ne!(first.workspace, second.workspace);
    assert_ne!(first.cargo_home, second.cargo_home);
    for build in [first, second] {
        let metadata = std::fs::symlink_metadata(&build.workspace).unwrap();
        assert!(metadata.is_dir() && !metadata.file_type().is_symlink());
        assert_eq!(build.workspace.canonicalize().unwrap(), build.workspace);
    }
    let modified = |workspace: &Path| {
        std::fs::metadata(workspace.join("src/main.rs"))
            .unwrap()
            .modified()
            .unwrap()
    };
    assert_ne!(
        modified(&first.workspace),
        modified(&second.workspace),
        "the copies' files carry different dates"
    );

    for (what, a, b) in [
        ("archive", &first.dist.archive, &second.dist.archive),
        ("SBOM", &first.dist.sbom, &second.dist.sbom),
        ("binary", &first.dist.binary, &second.dist.binary),
    ] {
        assert!(
            read(a) == read(b),
            "the {what}s differ: {} and {}",
            a.display(),
            b.display()
        );
    }
    let host = xtask::workspace::host_target().unwrap();
    assert_eq!(
        first.dist.archive.file_name().unwrap().to_str(),
        Some(format!("pane-7.8.9-{host}.tar.gz").as_str())
    );

    let binary = read(&first.dist.binary);
    let needles = [
        first.workspace.display().to_string(),
        second.workspace.display().to_string(),
        first.cargo_home.display().to_string(),
        second.cargo_home.display().to_string(),
        cargo_home().display().to_string(),
        xtask::workspace::root().display().to_string(),
        "/root/".to_string(),
        "/home/".to_string(),
    ];
    for needle in needles {
        assert_eq!(
            count_occurrences(&binary, needle.as_bytes()),
            0,
            "{} holds the build path {needle:?}",
            first.dist.binary.display()
        );
    }
    // The remapped names are there instead: the check above is not blind.
    assert!(count_occurrences(&binary, b"/cargo/registry/src/") > 0);
    assert!(report.reproducible());
}

/// `rust-audit-info`'s reading of the binary: `name@version` of every package.
fn audit_info(binary: &Path) -> Option<(serde_json::Value, BTreeSet<String>)> {
    let rust_audit_info = tool("rust-audit-info")?;
    let output = Command::new(rust_audit_info).arg(binary).output().unwrap();
    assert!(
        output.status.success(),
        "rust-audit-info {}: {}",
        binary.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let packages = json["packages"]
        .as_array()
        .expect("a packages array")
        .iter()
        .map(|p| {
            format!(
                "{}@{}",
                p["name"].as_str().unwrap(),
                p["version"].as_str().unwrap()
            )
        })
        .collect();
    Some((json, packages))
}

#[test]
fn rust_audit_info_reads_the_dependency_list_from_the_built_binary() {
    let Some(report) = builds() else { return };
    let binary = &report.first.dist.binary;
    let Some((json, packages)) = audit_info(binary) else {
        return;
    };
    let roots: Vec<&str> = json["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["root"] == true)
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(roots, ["pane"]);
    let names: BTreeSet<&str> = packages
        .iter()
        .map(|p| p.split('@').next().unwrap())
        .collect();
    for linked in ["rustls", "sha2", "minisign-verify", "flate2", "reqwest"] {
        assert!(names.contains(linked), "{linked} missing from {names:?}");
    }
    // xtask's and the tests' crates are not in pane.
    for absent in ["minisign", "xtask", "tempfile", "proptest", "scrypt"] {
        assert!(!names.contains(absent), "{absent} is not part of pane");
    }

    // xtask's own reader (which the SBOM is made with) agrees.
    let ours = DependencyList::read(binary).unwrap();
    let ours: BTreeSet<String> = ours
        .packages
        .iter()
        .map(|p| format!("{}@{}", p.name, p.version))
        .collect();
    assert_eq!(ours, packages);
}

/// `name@version` of every package `cargo tree` finds for the host along
/// normal and build edges (no dev-dependencies), from the `selection`
/// (`--package pane`, or `--workspace`).
fn cargo_tree(workspace: &Path, cargo_home: &Path, selection: &[&str]) -> BTreeSet<String> {
    let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(workspace)
        .env("CARGO_HOME", cargo_home)
        .args(["tree", "--locked", "--offline"])
        .args(selection)
        .args([
            "--edges",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo tree: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next()?;
            let version = words.next()?.strip_prefix('v')?;
            Some(format!("{name}@{version}"))
        })
        .collect()
}

#[test]
fn the_sbom_lists_exactly_the_binary_s_dependency_closure() {
    let Some(report) = builds() else { return };
    let sbom: serde_json::Value = serde_json::from_slice(&read(&report.first.dist.sbom)).unwrap();
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    assert_eq!(sbom["specVersion"], "1.5");
    assert_eq!(sbom["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
    let root = &sbom["metadata"]["component"];
    assert_eq!(root["name"], "pane");
    // The release's version (what `dist --version` stamped, and what `sign`
    // checks), where the embedded list has Cargo.toml's.
    assert_eq!(root["version"], "7.8.9");
    // The SBOM names the very binary it describes.
    assert_eq!(
        root["hashes"][0]["content"],
        xtask::checksums::sha256_file(&report.first.dist.binary).unwrap()
    );

    let mut listed = BTreeSet::new();
    listed.insert(format!(
        "{}@{}",
        root["name"].as_str().unwrap(),
        root["version"].as_str().unwrap()
    ));
    for component in sbom["components"].as_array().unwrap() {
        let entry = format!(
            "{}@{}",
            component["name"].as_str().unwrap(),
            component["version"].as_str().unwrap()
        );
        assert!(listed.insert(entry.clone()), "{entry} listed twice");
        if component["properties"][0]["value"] == "crates.io" {
            assert_eq!(component["purl"], format!("pkg:cargo/{}", entry));
            assert_eq!(component["hashes"][0]["alg"], "SHA-256");
        }
    }

    // Exactly the list embedded in the binary, as xtask and rust-audit-info
    // read it, the root at the stamped version.
    let stamped = |entry: String| {
        if entry == "pane@0.1.0" {
            "pane@7.8.9".to_string()
        } else {
            entry
        }
    };
    let embedded: BTreeSet<String> = DependencyList::read(&report.first.dist.binary)
        .unwrap()
        .packages
        .iter()
        .map(|p| stamped(format!("{}@{}", p.name, p.version)))
        .collect();
    assert_eq!(
        listed, embedded,
        "the SBOM is not the binary's embedded list"
    );
    if let Some((_, read_by_rust_audit_info)) = audit_info(&report.first.dist.binary) {
        let read: BTreeSet<String> = read_by_rust_audit_info.into_iter().map(stamped).collect();
        assert_eq!(listed, read);
    }

    // Every crate of pane's build closure is listed. The embedded list is
    // `cargo metadata`'s view, which unifies features across the workspace,
    // so it may also hold a crate another member's features add (xtask's
    // flate2 with its default miniz_oxide backend); never one from outside
    // the workspace's normal and build graph (dev-dependencies, say).
    let (workspace, cargo_home) = (&report.first.workspace, &report.first.cargo_home);
    let closure: BTreeSet<String> = cargo_tree(workspace, cargo_home, &["--package", "pane"])
        .into_iter()
        .map(stamped)
        .collect();
    assert!(closure.len() > 20, "cargo tree found only {closure:?}");
    let unlisted: Vec<_> = closure.difference(&listed).collect();
    assert!(
        unlisted.is_empty(),
        "crates of pane missing from the SBOM: {unlisted:?}"
    );
    let whole_graph = cargo_tree(workspace, cargo_home, &["--workspace"]);
    let extra: BTreeSet<_> = listed.difference(&closure).collect();
    let unexplained: Vec<_> = extra
        .iter()
        .filter(|p| !whole_graph.contains(**p))
        .collect();
    assert!(
        unexplained.is_empty(),
        "the SBOM lists crates from outside the workspace's build graph: {unexplained:?}"
    );
    println!(
        "SBOM: {} crates, the {} of pane's closure and {} by workspace feature unification: {extra:?}",
        listed.len(),
        closure.len(),
        extra.len()
    );
}

#[test]
fn every_third_party_action_is_pinned_by_commit_sha() {
    let workflows = xtask::workspace::root().join(".github/workflows");
    let mut checked = 0;
    for entry in std::fs::read_dir(&workflows).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for (number, line) in text.lines().enumerate() {
            let Some(reference) = line.trim().trim_start_matches("- ").strip_prefix("uses: ")
            else {
                continue;
            };
            if reference.starts_with("./") {
                continue;
            }
            let at = format!("{}:{}", path.display(), number + 1);
            let (action, rest) = reference
                .split_once('@')
                .unwrap_or_else(|| panic!("{at}: {reference} has no @ref"));
            let (sha, comment) = rest.split_once(" # ").unwrap_or((rest, ""));
            assert!(
                sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
                "{at}: {action} is pinned to {sha:?}, not a full commit SHA"
            );
            assert!(
                comment.starts_with('v'),
                "{at}: {action}@{sha} has no `# v<tag>` comment"
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} `uses:` found");
}

#[test]
fn every_cargo_build_in_the_workflows_is_locked() {
    let workflows = xtask::workspace::root().join(".github/workflows");
    let builds = [
        "cargo build",
        "cargo test",
        "cargo clippy",
        "cargo install",
        "cargo publish",
        "cargo package",
        "cargo run",
    ];
    for entry in std::fs::read_dir(&workflows).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            let command = line
                .trim_start_matches("- ")
                .trim_start_matches("run: ")
                .trim_start();
            if !builds.iter().any(|b| command.starts_with(b)) {
                continue;
            }
            assert!(
                line.contains("--locked"),
                "{}:{}: `{line}` is not --locked",
                path.display(),
                number + 1
            );
        }
    }
    // `cargo xtask` is `cargo run` through the alias.
    let config =
        std::fs::read_to_string(xtask::workspace::root().join(".cargo/config.toml")).unwrap();
    let alias = config
        .lines()
        .find(|line| line.starts_with("xtask = "))
        .expect("the xtask alias");
    assert!(alias.contains("--locked"), "{alias}");
}
