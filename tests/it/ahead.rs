//! After a check (or an update) has seen where the release files are served
//! from (GitHub's CDN, here a second server on 127.0.0.2), an update opens
//! its connections there at once, before any redirect names the host, and
//! the redirects use them (`src/update/ahead.rs`). Shown by counting
//! connections and requests, without timing anything; behind a proxy, also
//! by what the proxy was asked for.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use xtask::net::proxy::{Kind, TestProxy};
use xtask::net::tls::TestCa;
use xtask::net::{Naming, TlsMirror, CDN_HOST, MIRROR_HOST};
use xtask::server::{Fault, Server, REQUEST_DEADLINE};

use crate::common::World;

/// 1.0.0 installed, 1.1.0 published, the mirror over TLS with its CDN, and a
/// check through it that saw both 1.1.0 and the CDN.
struct Checked {
    world: World,
    mirror: TlsMirror,
    /// The environment that reaches the mirror and trusts its CA.
    env: Vec<(String, String)>,
    /// Holds the CA file `env` names: bind it (`_ca`), not `..`, which
    /// would drop it at once.
    _ca: TestCa,
}

fn checked_over_tls() -> Checked {
    checked(Naming::Address, &[])
}

/// [`checked_over_tls`], the hosts named as `naming` says, with `extra`
/// in the environment (of the check, and in `env` for what follows).
fn checked(naming: Naming, extra: &[(&str, &str)]) -> Checked {
    let ca = TestCa::generate().expect("openssl makes the test CA");
    let world = World::installed(&["1.0.0", "1.1.0"]);
    let mirror = TlsMirror::start(&world.root, &ca, naming).unwrap();
    let mut env: Vec<(String, String)> = mirror
        .env()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    env.push(("SSL_CERT_FILE".into(), ca.ca_pem.display().to_string()));
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    world.pane_env(&["self", "check"], &pairs(&env)).code(10);
    Checked {
        world,
        mirror,
        env,
        _ca: ca,
    }
}

fn pairs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn cache(world: &World) -> serde_json::Value {
    let text = std::fs::read_to_string(world.data_dir.join("update-check.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn a_check_remembers_where_the_files_came_from_and_for_which_mirror() {
    let Checked {
        world, mirror, _ca, ..
    } = checked_over_tls();
    let served = &cache(&world)["served_from"];
    assert_eq!(
        served["origin"],
        format!("https://127.0.0.2:{}", mirror.cdn_front.addr().port())
    );
    assert_eq!(served["releases"], mirror.releases_url());
}

#[test]
fn after_a_check_an_update_connects_to_the_files_host_before_any_redirect_names_it() {
    let Checked {
        world,
        mirror,
        mut env,
        _ca,
    } = checked_over_tls();
    let before = world.snapshot();
    let (connections, requests) = (mirror.cdn_front.connections(), mirror.cdn.requests().len());
    // The mirror answers nothing in time: no redirect ever names the CDN.
    mirror
        .server
        .set_fault("*/download/*", Fault::Delay(Duration::from_secs(3)));
    env.push(("PANE_HTTP_TIMEOUT".into(), "1".into()));
    world
        .pane_env(&["self", "update"], &pairs(&env))
        .fails_with("timed out");
    assert_eq!(
        mirror.cdn_front.connections() - connections,
        3,
        "three connections (archive, sums, signature) opened to the CDN ahead"
    );
    assert_eq!(
        mirror.cdn.requests().len(),
        requests,
        "no request was sent on them"
    );
    before.assert_same(&world.snapshot());
}

#[test]
fn the_connections_opened_ahead_carry_the_update_s_requests() {
    let Checked {
        world,
        mirror,
        env,
        _ca,
    } = checked_over_tls();
    let (connections, requests) = (mirror.cdn_front.connections(), mirror.cdn.requests().len());
    world.pane_env(&["self", "update"], &pairs(&env)).success();
    assert_eq!(world.installed_version(), "1.1.0");
    let asked: Vec<String> = mirror.cdn.requests()[requests..]
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert!(
        asked.iter().any(|path| path.ends_with(".tar.gz")),
        "the archive came from the CDN: {asked:?}"
    );
    // The front answers one request per connection: one more connection
    // than requests would be one opened ahead and never used.
    assert_eq!(
        mirror.cdn_front.connections() - connections,
        asked.len(),
        "every connection to the CDN carried a request: {asked:?}"
    );
}

/// Plain `http` on loopback: the CDN on 127.0.0.2 closes a connection that
/// sends nothing for 200 ms, and the mirror answers each download a second
/// late, so every connection opened ahead is closed before its request.
#[test]
fn a_connection_the_files_host_closed_before_its_request_is_replaced() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    let cdn = cdn_closing_silent_connections_after(&world, Duration::from_millis(200));
    let mirror = redirecting_to(&world, &cdn);
    let env = env_for(&mirror);
    world.pane_env(&["self", "check"], &pairs(&env)).code(10);
    assert_eq!(cache(&world)["served_from"]["origin"], cdn.base_url());
    let (connections, requests) = (cdn.connections(), cdn.requests().len());
    mirror.set_fault("*/download/*", Fault::Delay(Duration::from_secs(1)));
    world.pane_env(&["self", "update"], &pairs(&env)).success();
    assert_eq!(world.installed_version(), "1.1.0");
    let asked = cdn.requests().len() - requests;
    assert!(
        cdn.connections() - connections >= asked + 3,
        "three connections opened ahead ({} connections for {asked} requests)",
        cdn.connections() - connections
    );
}

/// What a check saw for one mirror is no guess for another.
#[test]
fn another_mirror_opens_nothing_ahead() {
    let Checked {
        world, mirror, _ca, ..
    } = checked_over_tls();
    let connections = mirror.cdn_front.connections();
    // The world's own server, on plain loopback http.
    world.pane(&["self", "update"]).success();
    assert_eq!(world.installed_version(), "1.1.0");
    assert_eq!(
        mirror.cdn_front.connections(),
        connections,
        "nothing opened to the other mirror's CDN"
    );
}

/// A mirror on 127.0.0.1 that redirects every download to `cdn`.
fn redirecting_to(world: &World, cdn: &Server) -> Server {
    Server::builder(&world.root)
        .cdn(cdn.base_url())
        .start()
        .unwrap()
}

/// A second server on 127.0.0.2, serving the world's releases: the CDN.
fn cdn_of(world: &World) -> Server {
    cdn_closing_silent_connections_after(world, REQUEST_DEADLINE)
}

/// [`cdn_of`], closing a connection that has sent nothing for `deadline`.
fn cdn_closing_silent_connections_after(world: &World, deadline: Duration) -> Server {
    Server::builder(&world.root)
        .host(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)))
        .request_deadline(deadline)
        .start()
        .unwrap()
}

fn env_for(mirror: &Server) -> Vec<(String, String)> {
    vec![
        ("PANE_RELEASES_URL".to_string(), mirror.releases_url()),
        ("PANE_RELEASES_API_URL".to_string(), mirror.api_url()),
    ]
}

/// A password in the mirror's URL goes with every request to the mirror
/// and is shown as `***`; the cache names the mirror without it.
#[test]
fn a_password_in_the_mirror_url_is_never_written_down() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    let cdn = cdn_of(&world);
    let mirror = redirecting_to(&world, &cdn);
    let with_password = mirror
        .releases_url()
        .replacen("://", "://alice:s3cr%40t@", 1);
    let env = [("PANE_RELEASES_URL".to_string(), with_password)];
    world.pane_env(&["self", "check"], &pairs(&env)).code(10);
    let text = std::fs::read_to_string(world.data_dir.join("update-check.json")).unwrap();
    assert!(!text.contains("s3cr") && !text.contains("alice"), "{text}");
    assert_eq!(
        cache(&world)["served_from"]["releases"],
        mirror.releases_url()
    );
    assert!(
        cdn.requests().iter().all(|r| r.authorization.is_none()),
        "the password went to the CDN"
    );
    // The entry still counts for the URL with the password: the update
    // connects to the CDN ahead while the mirror answers nothing in time.
    let (connections, requests) = (cdn.connections(), cdn.requests().len());
    mirror.set_fault("*/download/*", Fault::Delay(Duration::from_secs(3)));
    let env = [
        env[0].clone(),
        ("PANE_HTTP_TIMEOUT".to_string(), "1".to_string()),
    ];
    world
        .pane_env(&["self", "update"], &pairs(&env))
        .fails_with("timed out");
    assert_eq!(cdn.connections() - connections, 3, "opened ahead");
    assert_eq!(cdn.requests().len(), requests, "no request sent on them");
}

/// A `served_from` this pane cannot use (another shape, a newer pane's)
/// costs nothing else in the cache, and no command fails on it.
#[test]
fn a_served_from_this_pane_cannot_read_is_no_error_and_loses_nothing() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    let cdn = cdn_of(&world);
    let mirror = redirecting_to(&world, &cdn);
    let env = env_for(&mirror);
    let path = world.data_dir.join("update-check.json");
    for odd in [
        serde_json::json!("garbage"),
        serde_json::json!({"releases": mirror.releases_url(), "origin": "ftp://127.0.0.2/"}),
        serde_json::json!({"releases": mirror.releases_url(), "origin": "https://".to_string() + &"x".repeat(50_000)}),
        serde_json::json!({"releases": 7, "origin": ["a"]}),
    ] {
        let before = serde_json::json!({
            "checked_at": 1, "latest": "1.0.0", "attempted_at": 2, "notified_at": 3,
            "last_notice": "pane 1.0.1 is available", "served_from": odd,
        });
        std::fs::write(&path, before.to_string()).unwrap();
        world
            .pane_env(&["self", "update", "--dry-run"], &pairs(&env))
            .success();
        world.pane_env(&["self", "check"], &pairs(&env)).code(10);
        let after = cache(&world);
        for kept in ["attempted_at", "notified_at", "last_notice"] {
            assert_eq!(after[kept], before[kept], "{kept} lost: {after}");
        }
        assert_eq!(after["served_from"]["origin"], cdn.base_url());
    }
}

/// `--dry-run` changes nothing, the cache included.
#[test]
fn a_dry_run_leaves_the_cache_as_it_was() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    let cdn = cdn_of(&world);
    let mirror = redirecting_to(&world, &cdn);
    let path = world.data_dir.join("update-check.json");
    let text = r#"{"checked_at":1,"latest":"1.0.0","attempted_at":0,"notified_at":0}"#;
    std::fs::write(&path, text).unwrap();
    let env = env_for(&mirror);
    world
        .pane_env(&["self", "update", "--dry-run"], &pairs(&env))
        .success();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

/// The entry follows the mirror an update used: another mirror served from
/// the same host takes it over, and a mirror that serves its own files
/// leaves none (nothing to open ahead).
#[test]
fn the_entry_follows_the_mirror_the_last_update_used() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    let cdn = cdn_of(&world);
    let first = redirecting_to(&world, &cdn);
    world
        .pane_env(&["self", "check"], &pairs(&env_for(&first)))
        .code(10);
    assert_eq!(
        cache(&world)["served_from"]["releases"],
        first.releases_url()
    );
    let second = redirecting_to(&world, &cdn);
    world
        .pane_env(&["self", "update"], &pairs(&env_for(&second)))
        .success();
    assert_eq!(world.installed_version(), "1.1.0");
    let served = &cache(&world)["served_from"];
    assert_eq!(served["releases"], second.releases_url());
    assert_eq!(served["origin"], cdn.base_url());
    // The world's own server answers with the files themselves.
    world.pane(&["self", "pin", "1.0.0"]).success();
    assert_eq!(world.installed_version(), "1.0.0");
    assert!(
        cache(&world).get("served_from").is_none(),
        "{}",
        cache(&world)
    );
}

/// A connection opened ahead that has waited longer than five seconds
/// (`FRESH_FOR`) is left for a new one: the server may be about to close it.
#[test]
fn a_connection_opened_ahead_that_waited_too_long_is_left_for_a_new_one() {
    let world = World::installed(&["1.0.0", "1.1.0"]);
    // The CDN keeps silent connections open for 30 s, so only their age
    // (8 s and more, when the mirror's redirects come) sets them aside.
    let cdn = cdn_closing_silent_connections_after(&world, Duration::from_secs(30));
    let mirror = redirecting_to(&world, &cdn);
    let mut env = env_for(&mirror);
    world.pane_env(&["self", "check"], &pairs(&env)).code(10);
    let (connections, requests) = (cdn.connections(), cdn.requests().len());
    mirror.set_fault("*/download/*", Fault::Delay(Duration::from_secs(8)));
    env.push(("PANE_HTTP_TIMEOUT".into(), "30".into()));
    world.pane_env(&["self", "update"], &pairs(&env)).success();
    assert_eq!(world.installed_version(), "1.1.0");
    let asked = cdn.requests().len() - requests;
    assert_eq!(
        cdn.connections() - connections,
        asked + 3,
        "three connections opened ahead, none used"
    );
}

// Behind a proxy. The mirror and its CDN are named `mirror.pane.test` and
// `cdn.pane.test`, which only the test proxies resolve (loopback addresses
// never go through a proxy, and `.test` names are in no DNS): a connection
// to the CDN that does not go through the proxy cannot reach it. The CDN's
// front counts the connections it accepts, the proxy the ones it made, so
// the two counts agree when none came another way.

/// 1.0.0 installed, 1.1.0 published, the mirror and its CDN over TLS under
/// their names, and a check through the proxy `url` (in `var`) that saw
/// both and wrote the CDN down.
fn checked_behind(var: &str, url: &str) -> Checked {
    let checked = checked(Naming::Name, &[(var, url)]);
    assert_eq!(
        cache(&checked.world)["served_from"]["origin"],
        format!("https://{}", cdn_target(&checked.mirror))
    );
    checked
}

/// `cdn.pane.test:<port>`: the CDN as a proxy is asked for it.
fn cdn_target(mirror: &TlsMirror) -> String {
    format!("{CDN_HOST}:{}", mirror.cdn_front.addr().port())
}

/// `env` with `var` set to `value` (in place of any value it had).
fn setting(env: &[(String, String)], var: &str, value: &str) -> Vec<(String, String)> {
    env.iter()
        .filter(|(k, _)| k != var)
        .cloned()
        .chain([(var.to_string(), value.to_string())])
        .collect()
}

/// Of the requests `proxy` had after its first `since`: how many asked
/// for `target`, and how many of those it let through.
fn asked_for(proxy: &TestProxy, since: usize, target: &str) -> (usize, usize) {
    let asked: Vec<_> = proxy.requests()[since..]
        .iter()
        .filter(|r| r.target == target)
        .cloned()
        .collect();
    (asked.len(), asked.iter().filter(|r| r.allowed).count())
}

/// Behind `proxy`, given to pane as `url` in `var`, after a check through
/// it: an update whose mirror answers nothing in time (so no redirect ever
/// names the CDN) has opened its three connections to the CDN through the
/// proxy, and they are all the CDN saw; then an update succeeds, and every
/// connection the CDN accepted is one the proxy made.
fn assert_opened_ahead_through(proxy: &TestProxy, var: &str, url: &str) {
    let Checked {
        world,
        mirror,
        env,
        _ca,
    } = checked_behind(var, url);
    let cdn = cdn_target(&mirror);
    let before = world.snapshot();

    let (asked, connections, requests) = (
        proxy.requests().len(),
        mirror.cdn_front.connections(),
        mirror.cdn.requests().len(),
    );
    mirror
        .server
        .set_fault("*/download/*", Fault::Delay(Duration::from_secs(3)));
    world
        .pane_env(
            &["self", "update"],
            &pairs(&setting(&env, "PANE_HTTP_TIMEOUT", "1")),
        )
        .fails_with("timed out");
    assert_eq!(
        asked_for(proxy, asked, &cdn),
        (3, 3),
        "three connections to the CDN opened ahead, through the proxy: {:?}",
        &proxy.requests()[asked..]
    );
    assert_eq!(
        mirror.cdn_front.connections() - connections,
        3,
        "the CDN accepted the proxy's three connections and none other"
    );
    assert_eq!(
        mirror.cdn.requests().len(),
        requests,
        "no request sent on them"
    );
    before.assert_same(&world.snapshot());

    mirror.server.clear_faults();
    let (asked, connections, requests) = (
        proxy.requests().len(),
        mirror.cdn_front.connections(),
        mirror.cdn.requests().len(),
    );
    world.pane_env(&["self", "update"], &pairs(&env)).success();
    assert_eq!(world.installed_version(), "1.1.0");
    let (to_cdn, let_through) = asked_for(proxy, asked, &cdn);
    let accepted = mirror.cdn_front.connections() - connections;
    let asked_cdn = mirror.cdn.requests().len() - requests;
    assert!(
        mirror.cdn.requests()[requests..]
            .iter()
            .any(|r| r.path.ends_with(".tar.gz")),
        "the archive came from the CDN"
    );
    assert_eq!(to_cdn, let_through, "{:?}", &proxy.requests()[asked..]);
    assert_eq!(
        accepted, let_through,
        "every connection the CDN accepted came from the proxy, none direct"
    );
    // The front answers one request per connection: the three opened
    // ahead carried requests, as without a proxy.
    assert_eq!(accepted, asked_cdn, "every connection carried a request");
}

#[test]
fn behind_a_connect_proxy_the_connections_opened_ahead_go_through_it() {
    let proxy = TestProxy::start(Kind::Connect(None)).unwrap();
    assert_opened_ahead_through(&proxy, "HTTPS_PROXY", &proxy.url());
}

/// `socks5h://`: the proxy resolves the names, as it must here.
#[test]
fn behind_a_socks5_proxy_the_connections_opened_ahead_go_through_it() {
    let proxy = TestProxy::start(Kind::Socks5).unwrap();
    assert!(proxy.url().starts_with("socks5h://"));
    assert_opened_ahead_through(&proxy, "ALL_PROXY", &proxy.url());
}

/// `NO_PROXY` naming the CDN (not the mirror) holds for the connections
/// opened ahead too: they go direct, where nothing resolves the CDN's
/// name, so nothing reaches it, and the proxy is never asked for it.
#[test]
fn no_proxy_naming_the_files_host_keeps_the_connections_opened_ahead_off_the_proxy() {
    let proxy = TestProxy::start(Kind::Connect(None)).unwrap();
    let Checked {
        world,
        mirror,
        env,
        _ca,
    } = checked_behind("HTTPS_PROXY", &proxy.url());
    let cdn = cdn_target(&mirror);
    let to_mirror = format!("{MIRROR_HOST}:{}", mirror.front.addr().port());
    let before = world.snapshot();
    let (asked, connections) = (proxy.requests().len(), mirror.cdn_front.connections());
    let env = setting(&env, "NO_PROXY", &format!("example.org,{CDN_HOST}"));
    let run = world.pane_env(&["self", "update"], &pairs(&env));
    assert_eq!(
        asked_for(&proxy, asked, &cdn),
        (0, 0),
        "the proxy was asked for the CDN: {:?}",
        &proxy.requests()[asked..]
    );
    // The CDN's name resolves nowhere without the proxy: "could not fetch",
    // or "timed out waiting for" where the machine's resolver is slow to
    // say so; either names the CDN.
    run.fails_with(&format!("https://{cdn}/"));
    let (_, to_mirror) = asked_for(&proxy, asked, &to_mirror);
    assert!(
        to_mirror > 0,
        "the mirror is still reached through the proxy"
    );
    assert_eq!(mirror.cdn_front.connections(), connections);
    before.assert_same(&world.snapshot());
    assert_eq!(world.installed_version(), "1.0.0");
}

/// A proxy that wants credentials for the CDN only (its rules guard that
/// destination): without them, or with wrong ones, the connections opened
/// ahead are refused (407), and so is the request that then goes the usual
/// way; the update fails with the proxy's error and what to do about it,
/// and changes nothing.
#[test]
fn a_proxy_refusing_the_files_host_without_credentials_fails_the_update_cleanly() {
    let proxy = TestProxy::connect_asking_only_for(CDN_HOST, "alice", "s3cret").unwrap();
    let right = proxy.url_with("alice", "s3cret");
    let Checked {
        world,
        mirror,
        env,
        _ca,
    } = checked_behind("HTTPS_PROXY", &right);
    let cdn = cdn_target(&mirror);
    let before = world.snapshot();
    for url in [proxy.url(), proxy.url_with("alice", "nope")] {
        let (asked, connections) = (proxy.requests().len(), mirror.cdn_front.connections());
        let run = world
            .pane_env(
                &["self", "update"],
                &pairs(&setting(&env, "HTTPS_PROXY", &url)),
            )
            .fails_with(&format!("refused to connect to https://{cdn}/"))
            .fails_with("without valid credentials (407)")
            .fails_with("HTTPS_PROXY=http://user:password@");
        assert!(!run.stderr.contains("nope"), "the password shown: {run}");
        let (to_cdn, let_through) = asked_for(&proxy, asked, &cdn);
        // Usually five, 407 each: the three opened ahead, the one the
        // request opened when it found them refused, and the request's own
        // the usual way. Only the last two are sure to reach the proxy
        // before pane exits (the others are opened on a thread of their
        // own, which a loaded machine may not have run that far).
        assert!(
            to_cdn >= 2 && let_through == 0,
            "{url}: {:?}",
            &proxy.requests()[asked..]
        );
        assert_eq!(mirror.cdn_front.connections(), connections);
        before.assert_same(&world.snapshot());
        assert_eq!(world.installed_version(), "1.0.0");
    }
}

/// The same proxy given its credentials: the connections opened ahead
/// carry them (the proxy lets all three through before any redirect), and
/// the update succeeds through them.
#[test]
fn the_connections_opened_ahead_give_the_proxy_its_credentials() {
    let proxy = TestProxy::connect_asking_only_for(CDN_HOST, "alice", "s3cr%t").unwrap();
    assert_opened_ahead_through(&proxy, "HTTPS_PROXY", &proxy.url_with("alice", "s3cr%25t"));
}

/// Loopback never goes through a proxy, and the connections opened ahead
/// keep to that: with a proxy that is not running, they still reach a CDN
/// on 127.0.0.2.
#[test]
fn a_dead_proxy_does_not_stop_connections_opened_ahead_to_loopback() {
    // The discard port, never served on test machines (as in network.rs).
    let dead = "http://127.0.0.1:9";
    let Checked {
        world,
        mirror,
        env,
        _ca,
    } = checked(
        Naming::Address,
        &[("HTTPS_PROXY", dead), ("ALL_PROXY", dead)],
    );
    let (connections, requests) = (mirror.cdn_front.connections(), mirror.cdn.requests().len());
    mirror
        .server
        .set_fault("*/download/*", Fault::Delay(Duration::from_secs(3)));
    world
        .pane_env(
            &["self", "update"],
            &pairs(&setting(&env, "PANE_HTTP_TIMEOUT", "1")),
        )
        .fails_with("timed out");
    assert_eq!(
        mirror.cdn_front.connections() - connections,
        3,
        "three connections opened ahead, past the dead proxy"
    );
    assert_eq!(
        mirror.cdn.requests().len(),
        requests,
        "no request sent on them"
    );
}
