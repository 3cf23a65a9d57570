//! The paths real users take: TLS with a CA given through `SSL_CERT_FILE`,
//! GitHub's redirect to a CDN host, CONNECT and SOCKS5 proxies (with and
//! without credentials), `NO_PROXY`, dead proxies next to a loopback mirror,
//! and nginx as the mirror. pane and install.sh alike, against the servers of
//! `xtask::net` on loopback; every refusal leaves the user's files as they were.

use std::path::Path;

use xtask::fixtures::{host_target, Run, TestKey};
use xtask::net::nginx::{nginx_binary, Nginx};
use xtask::net::proxy::{Kind, TestProxy};
use xtask::net::tls::TestCa;
use xtask::net::{Naming, TlsMirror, CDN_HOST, MIRROR_HOST};
use xtask::server::Server;

use crate::common::World;

/// A port nothing listens on: the discard port, never served on test machines.
const DEAD_PROXY: &str = "http://127.0.0.1:9";

fn ca() -> TestCa {
    TestCa::generate().expect("openssl makes the test CA (apt-get install openssl)")
}

/// 1.0.0 installed, 1.1.0 published, and the mirror over TLS.
fn world_with_mirror(ca: &TestCa, naming: Naming) -> (World, TlsMirror) {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    let mirror = TlsMirror::start(&world.root, ca, naming).expect("TLS mirror");
    (world, mirror)
}

fn with<'a>(
    base: &'a [(&'static str, String)],
    more: &[(&'static str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    base.iter()
        .map(|(k, v)| (*k, v.as_str()))
        .chain(more.iter().copied())
        .collect()
}

/// Runs install.sh (from this checkout) in `world`, which has nothing
/// installed, trusting `key` (the one that signed the releases served).
fn install_sh(world: &World, key: &TestKey, env: &[(&str, &str)]) -> Run {
    install_sh_with(world, key, env, &[])
}

/// [`install_sh`] with options.
fn install_sh_with(world: &World, key: &TestKey, env: &[(&str, &str)], args: &[&str]) -> Run {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh");
    let mut command = world.command(Path::new("sh"));
    command
        .arg(&script)
        .args(args)
        .env("PANE_INSTALL_PUBKEY", key.public_key_line())
        .env("PANE_TARGET", host_target())
        .env("PANE_NO_MODIFY_PATH", "1")
        .env("PANE_INSTALL_TIMEOUT", "10");
    for (k, v) in env {
        command.env(k, v);
    }
    Run::from(command.output().expect("run sh install.sh"))
}

/// A world serving 1.0.0 and 1.1.0 itself, with nothing installed.
fn empty_world() -> World {
    let world = World::new();
    world.publish("1.0.0");
    world.publish("1.1.0");
    world
}

/// No request to `server` carried a token or a cookie.
fn assert_no_credentials(server: &Server) {
    let requests = server.requests();
    assert!(!requests.is_empty(), "the CDN was never asked");
    for request in requests {
        assert_eq!(
            request.authorization, None,
            "token sent to the CDN: {request:?}"
        );
        assert_eq!(
            request.header("cookie"),
            None,
            "cookie sent to the CDN: {request:?}"
        );
    }
}

fn assert_archive_from_cdn(mirror: &TlsMirror) {
    assert!(
        mirror
            .cdn
            .requests()
            .iter()
            .any(|r| r.path.ends_with(".tar.gz")),
        "the archive did not come from the CDN: {:?}",
        mirror.cdn.requests()
    );
    assert_no_credentials(&mirror.cdn);
}

#[test]
fn update_list_and_install_sh_over_tls_with_the_test_ca() {
    let ca = ca();
    let (world, mirror) = world_with_mirror(&ca, Naming::Address);
    let base = mirror.env();
    let ca_file = ca.ca_pem.to_str().unwrap();
    // A token for the API host, which must not reach the CDN either.
    let env = with(
        &base,
        &[("SSL_CERT_FILE", ca_file), ("PANE_GITHUB_TOKEN", "t0ken")],
    );
    let list = world.pane_env(&["self", "list"], &env).success();
    assert!(list.stdout.contains("1.1.0"), "{list}");
    assert!(
        mirror
            .server
            .requests()
            .iter()
            .any(|r| r.authorization.as_deref() == Some("Bearer t0ken")),
        "the API request carried no token"
    );
    world.pane_env(&["self", "update"], &env).success();
    assert_eq!(world.installed_version(), "1.1.0");
    assert_archive_from_cdn(&mirror);

    let fresh = empty_world();
    let mirror = TlsMirror::start(&fresh.root, &ca, Naming::Address).unwrap();
    install_sh(
        &fresh,
        &fresh.key,
        &with(&mirror.env(), &[("SSL_CERT_FILE", ca_file)]),
    )
    .success();
    assert_eq!(fresh.installed_version(), "1.1.0");
    assert_archive_from_cdn(&mirror);
}

#[test]
fn a_certificate_from_an_untrusted_ca_is_refused_with_what_to_do() {
    let (ca, other) = (ca(), ca());
    let (world, mirror) = world_with_mirror(&ca, Naming::Address);
    let base = mirror.env();
    let before = world.snapshot();
    // The system's store, then another CA's file: neither trusts the mirror.
    for extra in [
        vec![],
        vec![("SSL_CERT_FILE", other.ca_pem.to_str().unwrap())],
    ] {
        let env = with(&base, &extra);
        let run = world.pane_env(&["self", "update"], &env);
        run.fails_with("is not trusted").fails_with("SSL_CERT_FILE");
        world.snapshot().assert_same(&before);
    }
    assert_eq!(world.installed_version(), "1.0.0");

    let fresh = World::new();
    let before = fresh.snapshot();
    let env = with(&base, &[("SSL_CERT_FILE", other.ca_pem.to_str().unwrap())]);
    install_sh(&fresh, &world.key, &env)
        .fails_with("is not trusted")
        .fails_with("SSL_CERT_FILE");
    fresh.snapshot().assert_same(&before);
}

/// An `SSL_CERT_FILE` that holds no certificate (empty, not PEM, missing)
/// leaves pane with nothing to trust: the message names the setting, not
/// the connection or the server, and nothing changes.
#[test]
fn a_cert_file_without_certificates_is_named_not_the_connection() {
    let ca = ca();
    let (world, mirror) = world_with_mirror(&ca, Naming::Address);
    let base = mirror.env();
    let before = world.snapshot();
    let empty = world.root.join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let garbage = world.root.join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let missing = world.root.join("missing.pem");
    for file in [&empty, &garbage, &missing] {
        let env = with(&base, &[("SSL_CERT_FILE", file.to_str().unwrap())]);
        let run = world.pane_env(&["self", "update", "--json"], &env);
        let json = run.json();
        let error = json["error"].as_str().unwrap_or_default();
        let hint = json["hint"].as_str().unwrap_or_default();
        assert!(
            error.starts_with("could not set up https to fetch https://"),
            "{}: {run}",
            file.display()
        );
        assert!(
            hint.contains("SSL_CERT_FILE") && hint.contains("SSL_CERT_DIR"),
            "{}: {run}",
            file.display()
        );
        assert!(!hint.contains("check your connection"), "{run}");
        world.snapshot().assert_same(&before);
    }
    assert_eq!(world.installed_version(), "1.0.0");
}

/// A mirror's URL may carry credentials (`https://user:password@host/...`):
/// pane sends them to the mirror as Basic auth, and no message, warning or
/// JSON document shows the password, whatever fails: a 404, a dead port, a
/// TLS set-up without certificates, a URL that does not parse.
#[test]
fn credentials_in_the_mirror_url_are_sent_but_never_shown() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    let releases = world.server().releases_url();
    let with_password = |url: &str| url.replacen("://", "://alice:s3cr%40t@", 1);
    let mirror = with_password(&releases);
    let run = world
        .pane_env(&["self", "check"], &[("PANE_RELEASES_URL", &mirror)])
        .code(10);
    assert!(run.stdout.contains("1.1.0"), "{run}");
    let sent: Vec<_> = world
        .server()
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/download/"))
        .collect();
    assert!(!sent.is_empty());
    for request in sent {
        assert_eq!(
            request.authorization.as_deref(),
            Some("Basic YWxpY2U6czNjckB0"),
            "{request:?}"
        );
    }

    let before = world.snapshot();
    let empty = world.root.join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let empty = empty.to_str().unwrap();
    let failing = [
        (with_password(&format!("{releases}/nothing")), "404"),
        (
            with_password("http://127.0.0.1:9/pane/releases"),
            "could not fetch",
        ),
        (
            with_password("https://127.0.0.1:9/pane/releases"),
            "could not set up https",
        ),
        (
            "http://alice:s3cr%40t@[bad/releases".to_string(),
            "not a valid URL",
        ),
    ];
    for (url, why) in &failing {
        for args in [&["self", "update"][..], &["self", "check", "--json"][..]] {
            let run = world.pane_env(
                args,
                &[("PANE_RELEASES_URL", url), ("SSL_CERT_FILE", empty)],
            );
            assert_eq!(run.code, Some(1), "{url}: {run}");
            let output = format!("{}{}", run.stdout, run.stderr);
            assert!(output.contains(why), "{url}: {run}");
            assert!(!output.contains("s3cr"), "the password shown: {run}");
            assert!(output.contains("alice:***@"), "{url}: {run}");
        }
        world.snapshot().assert_same(&before);
    }
    // Where pane shows the channel's URL, made from the mirror's.
    for args in [
        &["self", "config"][..],
        &["self", "config", "--json"],
        &["self", "status", "--json"],
    ] {
        let run = world
            .pane_env(args, &[("PANE_RELEASES_URL", &mirror)])
            .success();
        assert!(!run.stdout.contains("s3cr"), "the password shown: {run}");
        assert!(run.stdout.contains("alice:***@"), "{run}");
    }

    // install.sh sends them too (curl takes them from the URL), and shows
    // the password nowhere, also where it fails.
    let fresh = empty_world();
    let releases = fresh.server().releases_url();
    let run = install_sh(
        &fresh,
        &fresh.key,
        &[("PANE_RELEASES_URL", &with_password(&releases))],
    )
    .success();
    assert!(!run.stderr.contains("s3cr"), "the password shown: {run}");
    assert_eq!(fresh.installed_version(), "1.1.0");
    let archive = fresh
        .server()
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with(".tar.gz"))
        .expect("the archive was fetched");
    assert_eq!(
        archive.authorization.as_deref(),
        Some("Basic YWxpY2U6czNjckB0")
    );
    // --verbose names every URL it downloads; a 404 names the one missing.
    let missing = with_password(&format!("{releases}/nothing"));
    for (url, code) in [(with_password(&releases), 0), (missing, 1)] {
        let run = install_sh_with(
            &World::new(),
            &fresh.key,
            &[("PANE_RELEASES_URL", &url)],
            &["--verbose"],
        );
        assert_eq!(run.code, Some(code), "{run}");
        assert!(!run.stderr.contains("s3cr"), "the password shown: {run}");
        assert!(run.stderr.contains("alice:***@"), "{run}");
    }
}

#[test]
fn a_connect_proxy_with_and_without_credentials() {
    let ca = ca();
    let (world, mirror) = world_with_mirror(&ca, Naming::Name);
    let base = mirror.env();
    let proxy = TestProxy::start(Kind::Connect(Some(("alice".into(), "s3cr%t".into())))).unwrap();
    let ca_file = ca.ca_pem.to_str().unwrap();
    let before = world.snapshot();

    // No credentials, then wrong ones: 407, said so, nothing changed.
    let wrong = proxy.url_with("alice", "nope");
    for url in [proxy.url(), wrong] {
        let env = with(
            &base,
            &[("SSL_CERT_FILE", ca_file), ("HTTPS_PROXY", url.as_str())],
        );
        let run = world.pane_env(&["self", "update"], &env).fails_with("407");
        assert!(
            !run.stderr.contains("nope"),
            "the password was shown:\n{run}"
        );
        run.fails_with("user:password@");
        world.snapshot().assert_same(&before);
    }
    let fresh = World::new();
    let fresh_before = fresh.snapshot();
    let bare = proxy.url();
    let env = with(&base, &[("SSL_CERT_FILE", ca_file), ("https_proxy", &bare)]);
    install_sh(&fresh, &world.key, &env)
        .fails_with("407")
        .fails_with("user:password@");
    fresh.snapshot().assert_same(&fresh_before);
    assert!(
        proxy.requests().iter().all(|r| !r.allowed),
        "{:?}",
        proxy.requests()
    );

    // The right ones, percent-encoded in the URL: through the proxy to both hosts.
    let right = proxy.url_with("alice", "s3cr%25t");
    let env = with(
        &base,
        &[("SSL_CERT_FILE", ca_file), ("HTTPS_PROXY", &right)],
    );
    world.pane_env(&["self", "update"], &env).success();
    assert_eq!(world.installed_version(), "1.1.0");
    assert_archive_from_cdn(&mirror);
    let allowed: Vec<String> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.allowed)
        .map(|r| r.target)
        .collect();
    let mirror_port = mirror.front.addr().port();
    let cdn_port = mirror.cdn_front.addr().port();
    assert!(
        allowed.contains(&format!("{MIRROR_HOST}:{mirror_port}")),
        "{allowed:?}"
    );
    assert!(
        allowed.contains(&format!("{CDN_HOST}:{cdn_port}")),
        "{allowed:?}"
    );

    let env = with(
        &base,
        &[("SSL_CERT_FILE", ca_file), ("https_proxy", &right)],
    );
    install_sh(&fresh, &world.key, &env).success();
    assert_eq!(fresh.installed_version(), "1.1.0");
}

#[test]
fn a_socks5_proxy_resolving_names() {
    let ca = ca();
    let (world, mirror) = world_with_mirror(&ca, Naming::Name);
    let base = mirror.env();
    let proxy = TestProxy::start(Kind::Socks5).unwrap();
    let ca_file = ca.ca_pem.to_str().unwrap();
    let url = proxy.url();
    let env = with(&base, &[("SSL_CERT_FILE", ca_file), ("ALL_PROXY", &url)]);
    world.pane_env(&["self", "update"], &env).success();
    assert_eq!(world.installed_version(), "1.1.0");
    let targets: Vec<String> = proxy.requests().into_iter().map(|r| r.target).collect();
    assert!(
        targets.iter().any(|t| t.starts_with(MIRROR_HOST)),
        "{targets:?}"
    );
    assert!(
        targets.iter().any(|t| t.starts_with(CDN_HOST)),
        "{targets:?}"
    );

    let fresh = World::new();
    install_sh(&fresh, &world.key, &env).success();
    assert_eq!(fresh.installed_version(), "1.1.0");
}

#[test]
fn no_proxy_hosts_and_loopback_never_go_through_a_proxy() {
    let ca = ca();
    // Dead proxies everywhere: the loopback mirror, plain http and https, still works.
    let dead = [
        ("HTTP_PROXY", DEAD_PROXY),
        ("http_proxy", DEAD_PROXY),
        ("HTTPS_PROXY", DEAD_PROXY),
        ("https_proxy", DEAD_PROXY),
        ("ALL_PROXY", DEAD_PROXY),
        ("all_proxy", DEAD_PROXY),
    ];
    let world = World::installed(&["1.0.0", "1.1.0"]);
    world.pane_env(&["self", "list"], &dead).success();
    world.pane_env(&["self", "update"], &dead).success();
    assert_eq!(world.installed_version(), "1.1.0");
    let fresh = empty_world();
    install_sh(&fresh, &fresh.key, &dead).success();
    assert_eq!(fresh.installed_version(), "1.1.0");

    let (world, mirror) = world_with_mirror(&ca, Naming::Address);

    let base = mirror.env();
    let ca_file = ca.ca_pem.to_str().unwrap();
    let mut env = with(&base, &dead);
    env.push(("SSL_CERT_FILE", ca_file));
    world.pane_env(&["self", "update"], &env).success();
    assert_eq!(world.installed_version(), "1.1.0");

    // NO_PROXY naming the domain: pane goes direct (and, with no DNS for
    // the test names, fails), the proxy is never asked.
    let (world, mirror) = world_with_mirror(&ca, Naming::Name);
    let base = mirror.env();
    let proxy = TestProxy::start(Kind::Connect(None)).unwrap();
    let before = world.snapshot();
    let url = proxy.url();
    let env = with(
        &base,
        &[
            ("SSL_CERT_FILE", ca_file),
            ("HTTPS_PROXY", &url),
            ("NO_PROXY", "example.org, .pane.test"),
        ],
    );
    world
        .pane_env(&["self", "update"], &env)
        .fails_with("could not fetch");
    world.snapshot().assert_same(&before);
    assert_eq!(proxy.requests(), vec![], "NO_PROXY was not honoured");
}

#[test]
fn an_nginx_mirror_over_tls() {
    if nginx_binary().is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "nginx is not installed, and CI is set: apt-get install nginx"
        );
        eprintln!("skipped: nginx is not installed (apt-get install nginx)");
        return;
    }
    let ca = ca();
    let world = World::installed(&["1.0.0", "1.1.0"]);
    let (owner, repo) = repo_of(&world);
    let nginx = Nginx::start(&world.root, &ca, &owner, &repo).expect("nginx starts");
    let releases = nginx.releases_url();
    let env = [
        ("PANE_RELEASES_URL", releases.as_str()),
        ("SSL_CERT_FILE", ca.ca_pem.to_str().unwrap()),
    ];
    world.pane_env(&["self", "update"], &env).success();
    assert_eq!(world.installed_version(), "1.1.0");
    let log = nginx.access_log();
    assert!(
        log.contains("/latest/download/SHA256SUMS.minisig HTTP/1.1\" 302"),
        "{log}"
    );
    assert!(
        log.contains("/download/v1.1.0/SHA256SUMS HTTP/1.1\" 200"),
        "{log}"
    );

    let fresh = World::new();
    install_sh(&fresh, &world.key, &env).success();
    assert_eq!(fresh.installed_version(), "1.1.0");
}

/// The owner and repo in the world's release URLs.
fn repo_of(world: &World) -> (String, String) {
    let url = world.server().releases_url();
    let path = url.strip_prefix(world.server().base_url()).unwrap();
    let mut parts = path.trim_start_matches('/').split('/');
    (
        parts.next().unwrap().to_string(),
        parts.next().unwrap().to_string(),
    )
}
