//! The network benchmark's harness, short: pane (the `dev` fixture build)
//! and `curl` update through a shaped relay (20 ms, 100 Mbit/s) from each of
//! the three release servers over TLS (pane's own, the Python one, nginx),
//! following GitHub's redirects to the CDN; the relay sees the traffic. The
//! self_update peer is left to `cargo xtask bench` (it takes minutes to build).

use std::process::Command;
use std::time::Duration;

use xtask::fixtures::Release;
use xtask::net::relay::Shape;
use xtask::net::tls::TestCa;
use xtask::net::{BenchServer, ServerKind};
use xtask::sandbox::Sandbox;

const SHAPE: Shape = Shape {
    rtt: Duration::from_millis(20),
    bytes_per_sec: 12_500_000,
};

/// Whether `tool` is here; without it, CI fails and a local run skips.
fn have(tool: &str, present: bool) -> bool {
    if !present {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} is not installed, and CI is set: apt-get install {tool}"
        );
        eprintln!("skipped: {tool} is not installed (apt-get install {tool})");
    }
    present
}

fn update_through(kind: ServerKind, ca: &TestCa) {
    let sandbox = Sandbox::new("pane-net-").unwrap();
    let release = sandbox.publish(Release::new("1.1.0")).unwrap();
    sandbox.install("1.0.0").unwrap();
    let (owner, repo) = xtask::workspace::Package::load()
        .unwrap()
        .github_repository()
        .unwrap();
    let server = BenchServer::start(kind, &sandbox.root, ca, &owner, &repo, SHAPE).unwrap();
    let ca_file = ca.ca_pem.to_str().unwrap();
    let mut env: Vec<(&str, String)> = server.env();
    env.push(("SSL_CERT_FILE", ca_file.to_string()));
    env.push(("PANE_HTTP_TIMEOUT", "30".to_string()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = sandbox
        .run(&sandbox.install_path(), &["self", "update", "--yes"], &env)
        .unwrap();
    assert_eq!(
        run.code,
        Some(0),
        "{kind:?}: pane self update failed:\n{run}"
    );
    assert_eq!(sandbox.installed_version().unwrap(), "1.1.0", "{kind:?}");
    let after_pane = server.relay_stats();
    assert!(after_pane.connections >= 2, "{kind:?}: {after_pane:?}");
    let archive_size = std::fs::metadata(&release.archive).unwrap().len();
    assert!(
        after_pane.bytes_down > archive_size,
        "{kind:?}: {after_pane:?}"
    );
    assert!(
        server.requests() >= 3,
        "{kind:?}: {} requests",
        server.requests()
    );

    // curl, the network's floor, through GitHub's redirect to the CDN, and
    // over TLS 1.3 only, as GitHub and its CDN speak it: a server that
    // offers only 1.2 (nginx 1.22 unless told) costs every contender a round
    // trip more per host.
    let out = sandbox.tmp.path().join("curl.tar.gz");
    let status = Command::new("curl")
        .args([
            "-sS",
            "--fail",
            "-L",
            "--tlsv1.3",
            "--cacert",
            ca_file,
            "-o",
        ])
        .arg(&out)
        .arg(server.download_url("1.1.0", &release.archive_name()))
        .status()
        .unwrap();
    assert!(status.success(), "{kind:?}: curl failed");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(&release.archive).unwrap(),
        "{kind:?}: curl fetched other bytes"
    );
    let curl = server.relay_stats().since(&after_pane);
    assert_eq!(curl.connections, 2, "{kind:?}: mirror, then CDN: {curl:?}");
    assert!(curl.bytes_down > archive_size, "{kind:?}: {curl:?}");
}

#[test]
fn pane_and_curl_update_through_a_relay_from_each_server() {
    if !have("openssl", xtask::net::have_tool("openssl"))
        || !have("curl", xtask::net::have_tool("curl"))
    {
        return;
    }
    let ca = TestCa::generate().unwrap();
    for kind in ServerKind::ALL {
        let tool = kind.tool().unwrap_or_default();
        if have(tool, kind.available()) {
            update_through(kind, &ca);
        }
    }
}
