//! The release tooling against real things: the stock `minisign` and
//! `sha256sum`, `ruby -c`, GNU tar, and a plain HTTP client over TCP.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use xtask::archive::{archive_name, package_with, PackageOptions, RawTarGz};
use xtask::checksums;
use xtask::fixtures::{host_target, Release, TestKey};
use xtask::server::{Fault, Server};
use xtask::signing;

mod man_tests;
mod server_tests;
mod tooling_tests;

/// A small stand-in for the pane binary (packaging does not care).
fn fake_binary(dir: &Path, contents: &str) -> PathBuf {
    let path = dir.join("pane-binary");
    std::fs::write(&path, format!("#!/bin/sh\necho 'pane {contents}'\n")).unwrap();
    path
}

/// A release of `version` with a fake binary, written the way real ones are.
fn fake_release(root: &Path, version: &str, key: &TestKey) -> xtask::fixtures::ReleaseDir {
    let scratch = tempfile::tempdir().unwrap();
    let binary = fake_binary(scratch.path(), version);
    Release::new(version).binary(binary).write(root, key)
}

fn xtask_cli(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command.args(args).env_remove("MINISIGN_PASSWORD");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Whether `tool` is installed. When it is not, the test says it checked
/// nothing, or fails when `CI` is set (.ci/run installs every such tool).
fn need(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "`{tool}` is not installed, and with CI set this test must run (.ci/run installs it)"
        );
        eprintln!("\n!!!!! SKIPPED: `{tool}` is not installed; this test checked nothing !!!!!\n");
    }
    found
}

/// [`need`] for a GNU tool: on Linux; elsewhere (macOS has no GNU
/// coreutils) only where it happens to be installed.
fn need_gnu(tool: &str) -> bool {
    if cfg!(target_os = "linux") {
        need(tool)
    } else {
        need_if_present(tool)
    }
}

fn need_if_present(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Files in `dir`, sorted, to prove a failure left nothing behind.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// One HTTP/1.1 response, read to EOF (or until `read_for` passes).
#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// The body ended by timeout rather than EOF.
    timed_out: bool,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn get(base: &str, path: &str) -> Response {
    request(base, "GET", path, &[], Duration::from_secs(10), usize::MAX)
}

fn request(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    read_for: Duration,
    max_body: usize,
) -> Response {
    let authority = base.strip_prefix("http://").unwrap();
    let mut stream = TcpStream::connect(authority).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let deadline = Instant::now() + read_for;
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 16384];
    let mut timed_out = false;
    loop {
        if Instant::now() > deadline || bytes.len() > max_body {
            timed_out = true;
            break;
        }
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("read: {e}"),
        }
    }
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8(bytes[..end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_string(), v.trim().to_string())
        })
        .collect();
    Response {
        status,
        headers,
        body: bytes[end + 4..].to_vec(),
        timed_out,
    }
}
