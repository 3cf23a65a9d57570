//! The release server: both layouts, and every fault.

use super::*;

/// Releases 1.0.0, 1.1.0, 1.2.0-beta.1, 0.9.0 and 1.1.1-rc.1 with fake binaries.
fn server_with_releases() -> (tempfile::TempDir, TestKey, Server) {
    let root = tempfile::tempdir().unwrap();
    let key = TestKey::generate();
    for version in ["1.0.0", "1.1.0", "1.2.0-beta.1", "0.9.0", "1.1.1-rc.1"] {
        fake_release(root.path(), version, &key);
    }
    let server = Server::builder(root.path())
        .repository("pane-cli", "pane")
        .start()
        .unwrap();
    (root, key, server)
}

fn path_of(url: &str) -> String {
    let rest = url.strip_prefix("http://").unwrap();
    rest[rest.find('/').unwrap()..].to_string()
}

#[test]
fn serves_assets_byte_for_byte() {
    let (root, _key, server) = server_with_releases();
    let name = archive_name("1.1.0", host_target());
    let response = get(
        server.base_url(),
        &path_of(&server.download_url("1.1.0", &name)),
    );
    assert_eq!(response.status, 200);
    let on_disk = std::fs::read(root.path().join("v1.1.0").join(&name)).unwrap();
    assert_eq!(response.body, on_disk);
    assert_eq!(
        response.header("content-length").unwrap(),
        on_disk.len().to_string()
    );
    assert_eq!(response.header("connection"), Some("close"));

    let missing = get(
        server.base_url(),
        &path_of(&server.download_url("1.1.0", "nope")),
    );
    assert_eq!(missing.status, 404);
    let traversal = get(
        server.base_url(),
        "/pane-cli/pane/releases/download/v1.1.0/../v1.0.0/SHA256SUMS",
    );
    assert_eq!(traversal.status, 404);
    let other_repo = get(
        server.base_url(),
        "/someone/else/releases/download/v1.1.0/SHA256SUMS",
    );
    assert_eq!(other_repo.status, 404);
}

#[test]
fn latest_redirects_to_the_newest_release_that_is_not_a_prerelease() {
    let (_root, _key, server) = server_with_releases();
    let response = get(
        server.base_url(),
        &path_of(&server.latest_url("SHA256SUMS.minisig")),
    );
    assert_eq!(response.status, 302);
    assert_eq!(
        response.header("location"),
        Some("/pane-cli/pane/releases/download/v1.1.0/SHA256SUMS.minisig")
    );
}

#[test]
fn the_api_lists_releases_newest_first_in_pages_with_link_headers() {
    let (_root, _key, server) = server_with_releases();
    let api = path_of(&server.api_url());
    let mut tags = Vec::new();
    let mut next = Some(format!("{api}/releases?per_page=2&page=1"));
    let mut pages = 0;
    while let Some(path) = next.take() {
        let response = get(server.base_url(), &path);
        assert_eq!(response.status, 200);
        let releases: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        for release in releases.as_array().unwrap() {
            tags.push(release["tag_name"].as_str().unwrap().to_string());
            assert_eq!(release["draft"], false);
            assert_eq!(
                release["prerelease"],
                release["tag_name"].as_str().unwrap().contains('-')
            );
            assert!(release["published_at"].as_str().unwrap().ends_with('Z'));
            let assets = release["assets"].as_array().unwrap();
            let names: Vec<&str> = assets.iter().map(|a| a["name"].as_str().unwrap()).collect();
            assert!(names.contains(&"SHA256SUMS") && names.contains(&"SHA256SUMS.minisig"));
            for asset in assets {
                let url = asset["browser_download_url"].as_str().unwrap();
                let file = get(server.base_url(), &path_of(url));
                assert_eq!(file.status, 200, "{url}");
                assert_eq!(file.body.len() as u64, asset["size"].as_u64().unwrap());
            }
        }
        next = response.header("link").and_then(|link| {
            link.split(", ")
                .find(|part| part.ends_with("rel=\"next\""))
                .map(|part| path_of(part.trim_start_matches('<').split('>').next().unwrap()))
        });
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(
        tags,
        ["v1.2.0-beta.1", "v1.1.1-rc.1", "v1.1.0", "v1.0.0", "v0.9.0"]
    );

    let first = get(
        server.base_url(),
        &format!("{api}/releases?per_page=2&page=1"),
    );
    let link = first.header("link").unwrap();
    assert!(link.contains("page=2>; rel=\"next\""), "{link}");
    assert!(link.contains("page=3>; rel=\"last\""), "{link}");
    let beyond = get(
        server.base_url(),
        &format!("{api}/releases?per_page=2&page=9"),
    );
    assert_eq!(
        beyond
            .body
            .iter()
            .filter(|b| !b.is_ascii_whitespace())
            .count(),
        2
    ); // []
    let all = get(server.base_url(), &format!("{api}/releases?per_page=100"));
    assert!(all.header("link").is_none());

    let latest = get(server.base_url(), &format!("{api}/releases/latest"));
    let latest: serde_json::Value = serde_json::from_slice(&latest.body).unwrap();
    assert_eq!(latest["tag_name"], "v1.1.0");
    let tagged = get(server.base_url(), &format!("{api}/releases/tags/v1.0.0"));
    assert_eq!(tagged.status, 200);
}

#[test]
fn every_request_is_logged_with_authorization_and_host() {
    let (_root, _key, server) = server_with_releases();
    let api = path_of(&server.api_url());
    request(
        server.base_url(),
        "GET",
        &format!("{api}/releases?per_page=100&page=1"),
        &[("Authorization", "Bearer secret-token")],
        Duration::from_secs(5),
        usize::MAX,
    );
    get(
        server.base_url(),
        "/pane-cli/pane/releases/latest/download/SHA256SUMS",
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(
        requests[0].path,
        format!("{api}/releases?per_page=100&page=1")
    );
    assert_eq!(
        requests[0].authorization.as_deref(),
        Some("Bearer secret-token")
    );
    assert_eq!(
        requests[0].host.as_deref(),
        Some(&server.base_url()["http://".len()..])
    );
    assert_eq!(requests[1].authorization, None);
    server.clear_requests();
    assert!(server.requests().is_empty());
}

#[test]
fn fault_truncate_promises_the_full_length_and_cuts_the_body() {
    let (_root, _key, server) = server_with_releases();
    server.set_fault("v1.0.0/SHA256SUMS", Fault::Truncate { after: 10 });
    let response = get(
        server.base_url(),
        "/pane-cli/pane/releases/download/v1.0.0/SHA256SUMS",
    );
    assert_eq!(response.status, 200);
    let promised: usize = response.header("content-length").unwrap().parse().unwrap();
    assert!(promised > 10);
    assert_eq!(response.body.len(), 10);
    assert!(!response.timed_out, "the connection closes after the cut");
    // Other paths are untouched.
    let other = get(
        server.base_url(),
        "/pane-cli/pane/releases/download/v1.1.0/SHA256SUMS",
    );
    assert_eq!(
        other.body.len().to_string(),
        other.header("content-length").unwrap()
    );
}

#[test]
fn fault_corrupt_byte_flips_exactly_one_byte() {
    let (root, _key, server) = server_with_releases();
    let name = archive_name("1.0.0", host_target());
    server.set_fault(name.clone(), Fault::CorruptByte { offset: 100 });
    let response = get(
        server.base_url(),
        &format!("/pane-cli/pane/releases/download/v1.0.0/{name}"),
    );
    let on_disk = std::fs::read(root.path().join("v1.0.0").join(&name)).unwrap();
    assert_eq!(response.body.len(), on_disk.len());
    let differing: Vec<usize> = (0..on_disk.len())
        .filter(|&i| response.body[i] != on_disk[i])
        .collect();
    assert_eq!(differing, [100]);
}

#[test]
fn fault_stall_sends_headers_then_nothing_and_dropping_the_server_ends_it() {
    let (_root, _key, server) = server_with_releases();
    server.set_fault("SHA256SUMS", Fault::Stall);
    let response = request(
        server.base_url(),
        "GET",
        "/pane-cli/pane/releases/download/v1.0.0/SHA256SUMS",
        &[],
        Duration::from_millis(700),
        usize::MAX,
    );
    assert_eq!(response.status, 200);
    assert!(response.timed_out, "the stalled connection stayed open");
    assert!(response.body.is_empty());

    // A client that never hangs up must not keep the server alive.
    let authority = server.base_url()["http://".len()..].to_string();
    let mut held = TcpStream::connect(&authority).unwrap();
    held.write_all(b"GET /pane-cli/pane/releases/download/v1.0.0/SHA256SUMS HTTP/1.1\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    drop(server);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "drop took {:?}",
        started.elapsed()
    );
    drop(held);
}

#[test]
fn fault_status_and_redirect_replace_the_answer() {
    let (root, key, server) = server_with_releases();
    server.set_fault("/releases", Fault::Status(403));
    let api = path_of(&server.api_url());
    let response = get(
        server.base_url(),
        &format!("{api}/releases?per_page=100&page=1"),
    );
    assert_eq!(response.status, 403);

    // A redirect to another host: a second server on 127.0.0.2.
    let other = Server::builder(root.path())
        .host(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)))
        .repository("pane-cli", "pane")
        .start()
        .unwrap();
    assert!(other.base_url().starts_with("http://127.0.0.2:"));
    let target = other.download_url("1.0.0", "SHA256SUMS");
    server.set_fault("v1.0.0/SHA256SUMS", Fault::RedirectTo(target.clone()));
    let response = get(
        server.base_url(),
        "/pane-cli/pane/releases/download/v1.0.0/SHA256SUMS",
    );
    assert_eq!(response.status, 302);
    assert_eq!(response.header("location"), Some(target.as_str()));
    let followed = get(other.base_url(), &path_of(&target));
    assert_eq!(followed.status, 200);
    assert_eq!(other.requests().len(), 1);

    server.clear_faults();
    let response = get(
        server.base_url(),
        "/pane-cli/pane/releases/download/v1.0.0/SHA256SUMS",
    );
    assert_eq!(response.status, 200);
    drop(key);
}

#[test]
fn fault_endless_never_ends_and_has_no_length() {
    let (_root, _key, server) = server_with_releases();
    server.set_fault("SHA256SUMS.minisig", Fault::Endless);
    let response = request(
        server.base_url(),
        "GET",
        "/pane-cli/pane/releases/download/v1.0.0/SHA256SUMS.minisig",
        &[],
        Duration::from_secs(10),
        // The cap counts the head too, so the body read stops a little short
        // of it: the cap is twice what the body must exceed.
        8 << 20,
    );
    assert_eq!(response.status, 200);
    assert!(response.header("content-length").is_none());
    assert!(response.body.len() > 4 << 20);
    assert!(response.timed_out);
}

#[test]
fn fault_throttle_sends_everything_slowly() {
    let (root, _key, server) = server_with_releases();
    server.set_fault(
        "v1.0.0/SHA256SUMS",
        Fault::Throttle {
            bytes_per_sec: 1000,
        },
    );
    let started = Instant::now();
    let response = get(
        server.base_url(),
        "/pane-cli/pane/releases/download/v1.0.0/SHA256SUMS",
    );
    let elapsed = started.elapsed();
    let on_disk = std::fs::read(root.path().join("v1.0.0/SHA256SUMS")).unwrap();
    assert_eq!(response.body, on_disk);
    let expected = Duration::from_secs_f64(on_disk.len() as f64 / 1000.0);
    assert!(
        elapsed >= expected.mul_f64(0.8),
        "{elapsed:?} for {} bytes",
        on_disk.len()
    );
}

#[test]
fn a_fault_can_hit_only_the_next_requests() {
    let (_root, _key, server) = server_with_releases();
    server.set_fault_times("SHA256SUMS", Fault::Status(500), 1);
    let path = "/pane-cli/pane/releases/download/v1.0.0/SHA256SUMS";
    assert_eq!(get(server.base_url(), path).status, 500);
    assert_eq!(get(server.base_url(), path).status, 200);
}

#[test]
fn head_requests_get_headers_only() {
    let (_root, _key, server) = server_with_releases();
    let response = request(
        server.base_url(),
        "HEAD",
        "/pane-cli/pane/releases/download/v1.0.0/SHA256SUMS",
        &[],
        Duration::from_secs(5),
        usize::MAX,
    );
    assert_eq!(response.status, 200);
    assert!(response.body.is_empty());
    assert_ne!(response.header("content-length"), Some("0"));
}

#[test]
fn the_cli_prints_both_base_urls_and_takes_faults() {
    let (root, _key, _server) = server_with_releases();
    let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["serve"])
        .arg(root.path())
        .args(["--port", "0", "--fault", "v1.0.0/SHA256SUMS=status:418"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..2 {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
        lines.push(line.trim().to_string());
    }
    let releases = lines[0]
        .strip_prefix("PANE_RELEASES_URL=")
        .unwrap()
        .to_string();
    let api = lines[1]
        .strip_prefix("PANE_RELEASES_API_URL=")
        .unwrap()
        .to_string();
    assert!(
        releases.starts_with("http://127.0.0.1:") && releases.ends_with("/pane-cli/pane/releases")
    );
    assert!(api.ends_with("/repos/pane-cli/pane"));
    let base = releases
        .trim_end_matches("/pane-cli/pane/releases")
        .to_string();
    assert_eq!(
        get(&base, "/pane-cli/pane/releases/download/v1.0.0/SHA256SUMS").status,
        418
    );
    assert_eq!(
        get(&base, "/pane-cli/pane/releases/download/v1.1.0/SHA256SUMS").status,
        200
    );
    child.kill().unwrap();
    child.wait().unwrap();
}
