//! The packager's build (`--no-default-features`): no self-management and no
//! network code. `pane self status` names who updates this copy; every other
//! `pane self` command says the same and exits 1; no command makes a request.

use std::path::PathBuf;

use crate::common::World;

/// Builds pane without the `self-update` feature, as Debian would.
fn packaged_pane() -> PathBuf {
    let target = xtask::workspace::root().join("target/packaged-test");
    let mut cargo = xtask::process::nested_cargo();
    cargo
        .current_dir(xtask::workspace::root())
        .args(["build", "--quiet", "--no-default-features", "--bin", "pane"])
        .arg("--target-dir")
        .arg(&target)
        .env("PANE_PACKAGED_BY", "Debian");
    xtask::process::checked_output(&mut cargo, "cargo build --no-default-features")
        .expect("the packager's build builds");
    target.join("debug/pane")
}

#[test]
fn the_packagers_build_refuses_self_management_and_stays_offline() {
    let pane = packaged_pane();
    let world = World::new();
    world.publish("1.0.0");
    let before = world.snapshot();
    for args in [
        &["self", "update"][..],
        &["self", "check"],
        &["self", "list"],
        &["self", "pin", "1.0.0"],
        &["self", "unpin"],
        &["self", "rollback"],
        &["self", "install"],
        &["self", "uninstall", "--yes"],
        &["self", "verify", "pane.tar.gz"],
    ] {
        world
            .run(&pane, args, &[])
            .fails_with("this pane is managed by Debian")
            .fails_with("update pane with Debian");
    }
    let status = world.run(&pane, &["self", "status"], &[]).success();
    assert!(status.stdout.contains("Debian"), "{status}");
    let json = world
        .run(&pane, &["self", "status", "--json"], &[])
        .success();
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value["installed_by"], "Debian");
    assert_eq!(value["self_update"], false);
    // The bare command (which runs the update notice in a managed build),
    // completions and --version work, and nothing asked the network.
    world.run(&pane, &[], &[]).success();
    world.run(&pane, &["completions", "bash"], &[]).success();
    world.run(&pane, &["--version"], &[]).success();
    assert!(
        world.server().requests().is_empty(),
        "the packager's build made requests: {:#?}",
        world.server().requests()
    );
    before.assert_same(&world.snapshot());
}

#[test]
fn the_packagers_build_links_no_network_code() {
    let mut cargo = xtask::process::nested_cargo();
    cargo.current_dir(xtask::workspace::root()).args([
        "tree",
        "--offline",
        "-e",
        "normal",
        "--no-default-features",
        "-p",
        "pane",
    ]);
    let output = xtask::process::checked_output(&mut cargo, "cargo tree").unwrap();
    let tree = String::from_utf8_lossy(&output.stdout);
    assert!(tree.contains("clap"), "{tree}");
    for crate_name in ["reqwest", "hyper", "rustls", "minisign-verify", "flate2"] {
        assert!(
            !tree.contains(&format!("{crate_name} v")),
            "{crate_name} is in the packager's build:\n{tree}"
        );
    }
}
