//! Test proxies: HTTP `CONNECT` (optionally asking for Basic credentials,
//! `407` without the right ones, for every target or for one host's only)
//! and SOCKS5 (no authentication; names resolved by the proxy, as
//! `socks5h://` asks, or addresses). Both record every request and reach
//! only loopback: the [`super::TEST_HOSTS`] names, or 127.0.0.0/8 and `::1`
//! addresses.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;

use super::accept::Acceptor;
use crate::error::{Context, Result};

/// Which protocol a [`TestProxy`] speaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// HTTP `CONNECT`; with `Some((user, password))`, a request without
    /// `Proxy-Authorization: Basic` for them gets `407`.
    Connect(Option<(String, String)>),
    /// SOCKS5, no authentication.
    Socks5,
}

/// What a proxy was asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyRequest {
    /// `host:port` as the client named it.
    pub target: String,
    /// Whether it was let through (credentials right, target reachable).
    pub allowed: bool,
}

/// A proxy on 127.0.0.1; dropping it stops it (connections in flight end
/// when either side closes).
pub struct TestProxy {
    kind: Kind,
    log: Arc<Mutex<Vec<ProxyRequest>>>,
    acceptor: Acceptor,
}

impl TestProxy {
    pub fn start(kind: Kind) -> Result<TestProxy> {
        TestProxy::start_guarding(kind, None)
    }

    /// An HTTP `CONNECT` proxy that asks for `user:password` only for
    /// targets on `host` (any port) and lets the others through without:
    /// a proxy whose rules guard one destination.
    pub fn connect_asking_only_for(host: &str, user: &str, password: &str) -> Result<TestProxy> {
        let credentials = Some((user.to_string(), password.to_string()));
        TestProxy::start_guarding(Kind::Connect(credentials), Some(host.to_string()))
    }

    /// `guarded`: the only host a `CONNECT` proxy's credentials are asked
    /// for; `None`: every host.
    fn start_guarding(kind: Kind, guarded: Option<String>) -> Result<TestProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").context("binding the proxy")?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let (thread_kind, thread_log) = (kind.clone(), Arc::clone(&log));
        let acceptor = Acceptor::spawn(listener, "test-proxy", move |stream| {
            let (kind, log, guarded) = (
                thread_kind.clone(),
                Arc::clone(&thread_log),
                guarded.clone(),
            );
            let _ = std::thread::Builder::new()
                .name("test-proxy connection".into())
                .spawn(move || {
                    let _ = match kind {
                        Kind::Connect(credentials) => {
                            serve_connect(stream, credentials.as_ref(), guarded.as_deref(), &log)
                        }
                        Kind::Socks5 => serve_socks5(stream, &log),
                    };
                });
        })?;
        Ok(TestProxy {
            kind,
            log,
            acceptor,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.acceptor.addr()
    }

    /// The proxy URL without credentials: `http://…` or `socks5h://…`.
    pub fn url(&self) -> String {
        match self.kind {
            Kind::Connect(_) => format!("http://{}", self.addr()),
            Kind::Socks5 => format!("socks5h://{}", self.addr()),
        }
    }

    /// The proxy URL with `user:password@` (taken as they are: encode them).
    pub fn url_with(&self, user: &str, password: &str) -> String {
        let url = self.url();
        let (scheme, rest) = url.split_once("://").expect("scheme");
        format!("{scheme}://{user}:{password}@{rest}")
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<ProxyRequest> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Where `host:port` is, if the proxy may go there: a test name, or a
/// loopback address. Nothing leaves this machine.
pub fn resolve(host: &str, port: u16) -> Option<SocketAddr> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Some((_, ip)) = super::TEST_HOSTS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(host))
    {
        return Some(SocketAddr::new(*ip, port));
    }
    if host.eq_ignore_ascii_case("localhost") {
        return Some(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    let ip: IpAddr = host.parse().ok()?;
    ip.is_loopback().then_some(SocketAddr::new(ip, port))
}

fn record(log: &Mutex<Vec<ProxyRequest>>, target: &str, allowed: bool) {
    log.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(ProxyRequest {
            target: target.to_string(),
            allowed,
        });
}

fn serve_connect(
    mut client: TcpStream,
    credentials: Option<&(String, String)>,
    guarded: Option<&str>,
    log: &Mutex<Vec<ProxyRequest>>,
) -> io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte)? == 0 || head.len() > 16 * 1024 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let mut words = text.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    if method != "CONNECT" {
        record(log, target, false);
        return client.write_all(
            b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    }
    let host = target.rsplit_once(':').map_or(target, |(host, _)| host);
    let asked = credentials.filter(|_| guarded.is_none_or(|g| g.eq_ignore_ascii_case(host)));
    if let Some((user, password)) = asked {
        let expected =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let given = text.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("proxy-authorization")
                .then(|| value.trim().to_string())
        });
        let right = given
            .as_deref()
            .and_then(|g| g.split_once(' '))
            .is_some_and(|(scheme, token)| {
                scheme.eq_ignore_ascii_case("basic") && token.trim() == expected
            });
        if !right {
            record(log, target, false);
            return client.write_all(
                b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"pane-test\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    }
    let upstream = target
        .rsplit_once(':')
        .and_then(|(host, port)| resolve(host, port.parse().ok()?))
        .and_then(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok());
    let Some(upstream) = upstream else {
        record(log, target, false);
        return client.write_all(
            b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    };
    record(log, target, true);
    client.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")?;
    splice(client, upstream)
}

fn serve_socks5(mut client: TcpStream, log: &Mutex<Vec<ProxyRequest>>) -> io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut greeting = [0u8; 2];
    client.read_exact(&mut greeting)?;
    let mut methods = vec![0u8; greeting[1] as usize];
    client.read_exact(&mut methods)?;
    if greeting[0] != 5 || !methods.contains(&0) {
        return client.write_all(&[5, 0xff]);
    }
    client.write_all(&[5, 0])?;
    let mut request = [0u8; 4];
    client.read_exact(&mut request)?;
    let host = match request[3] {
        1 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip)?;
            IpAddr::from(ip).to_string()
        }
        4 => {
            let mut ip = [0u8; 16];
            client.read_exact(&mut ip)?;
            IpAddr::from(ip).to_string()
        }
        3 => {
            let mut length = [0u8; 1];
            client.read_exact(&mut length)?;
            let mut name = vec![0u8; length[0] as usize];
            client.read_exact(&mut name)?;
            String::from_utf8_lossy(&name).to_string()
        }
        _ => return client.write_all(&[5, 8, 0, 1, 0, 0, 0, 0, 0, 0]),
    };
    let mut port = [0u8; 2];
    client.read_exact(&mut port)?;
    let port = u16::from_be_bytes(port);
    let target = format!("{host}:{port}");
    let upstream = (request[1] == 1)
        .then(|| resolve(&host, port))
        .flatten()
        .and_then(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok());
    let Some(upstream) = upstream else {
        record(log, &target, false);
        // 2: connection not allowed by ruleset.
        return client.write_all(&[5, 2, 0, 1, 0, 0, 0, 0, 0, 0]);
    };
    record(log, &target, true);
    client.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0])?;
    splice(client, upstream)
}

/// Copies both ways until either side closes.
fn splice(client: TcpStream, upstream: TcpStream) -> io::Result<()> {
    client.set_read_timeout(None)?;
    let (mut client_read, mut upstream_write) = (client.try_clone()?, upstream.try_clone()?);
    let forward = std::thread::spawn(move || {
        let _ = io::copy(&mut client_read, &mut upstream_write);
        let _ = upstream_write.shutdown(std::net::Shutdown::Write);
    });
    let (mut upstream_read, mut client_write) = (upstream, client);
    let _ = io::copy(&mut upstream_read, &mut client_write);
    let _ = client_write.shutdown(std::net::Shutdown::Both);
    let _ = forward.join();
    Ok(())
}
