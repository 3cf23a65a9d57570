//! A test certificate authority made at run time with the `openssl` command,
//! and a TLS front: rustls on a loopback port, each connection forwarded in
//! plain text to a backend (the release server, which answers one request per
//! connection and closes).

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::accept::Acceptor;
use crate::error::{Context, Result};

/// A CA and one server certificate it signed, naming 127.0.0.1, 127.0.0.2,
/// `::1`, `localhost` and the [`super::TEST_HOSTS`]. Files live in a temp dir
/// that goes with the value.
pub struct TestCa {
    dir: tempfile::TempDir,
    /// The CA certificate (PEM): what `SSL_CERT_FILE` names.
    pub ca_pem: PathBuf,
    /// The server certificate (PEM).
    pub cert_pem: PathBuf,
    /// The server's private key (PKCS#8 PEM).
    pub key_pem: PathBuf,
}

impl TestCa {
    /// A new CA (P-256, valid two days) and server certificate, with
    /// `openssl` (which must be on PATH).
    pub fn generate() -> Result<TestCa> {
        let dir = tempfile::tempdir().context("temp dir for the test CA")?;
        let path = |name: &str| dir.path().join(name);
        let sans = super::TEST_HOSTS
            .iter()
            .map(|(name, _)| format!("DNS:{name}"))
            .collect::<Vec<_>>()
            .join(",");
        std::fs::write(
            path("server.ext"),
            format!(
                "subjectAltName=IP:127.0.0.1,IP:127.0.0.2,IP:::1,DNS:localhost,{sans}\n\
                 basicConstraints=critical,CA:FALSE\n\
                 keyUsage=critical,digitalSignature\n\
                 extendedKeyUsage=serverAuth\n"
            ),
        )
        .context("writing server.ext")?;
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        openssl(
            dir.path(),
            &[
                &["req", "-x509", "-nodes", "-days", "2"],
                &ec[..],
                &[
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                    "-subj",
                    "/CN=pane test CA",
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign",
                ],
            ],
        )?;
        openssl(
            dir.path(),
            &[
                &["req", "-nodes"],
                &ec[..],
                &[
                    "-keyout",
                    "server.key",
                    "-out",
                    "server.csr",
                    "-subj",
                    "/CN=pane test server",
                ],
            ],
        )?;
        openssl(
            dir.path(),
            &[&[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "server.ext",
                "-out",
                "server.pem",
            ]],
        )?;
        Ok(TestCa {
            ca_pem: path("ca.pem"),
            cert_pem: path("server.pem"),
            key_pem: path("server.key"),
            dir,
        })
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A rustls server configuration with this certificate.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>> {
        let certs = CertificateDer::pem_file_iter(&self.cert_pem)
            .context("reading the server certificate")?
            .collect::<std::result::Result<Vec<_>, _>>()
            .context("parsing the server certificate")?;
        let key = PrivateKeyDer::from_pem_file(&self.key_pem).context("reading the server key")?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS versions")?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .context("the server certificate and key")?;
        Ok(Arc::new(config))
    }
}

fn openssl(dir: &Path, parts: &[&[&str]]) -> Result<()> {
    let args: Vec<&str> = parts.iter().flat_map(|p| p.iter().copied()).collect();
    let output = Command::new("openssl")
        .args(&args)
        .current_dir(dir)
        .output()
        .context("running openssl (install it: apt-get install openssl)")?;
    if !output.status.success() {
        crate::bail!(
            "openssl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// TLS on a loopback port, forwarding to a plain-text backend. Dropping it
/// stops it.
pub struct TlsFront {
    acceptor: Acceptor,
}

impl TlsFront {
    /// Listens on `ip` (any free port) and forwards to `backend`, one
    /// request per connection.
    pub fn start(ca: &TestCa, ip: IpAddr, backend: SocketAddr) -> Result<TlsFront> {
        TlsFront::bind(ca, SocketAddr::new(ip, 0), backend, false)
    }

    /// Listens on `addr` (port 0: any free port) and forwards to `backend`.
    /// With `keep_alive`, a connection carries any number of requests, as a
    /// real server's does: the backend's `Connection: close` is dropped from
    /// every answer with a `Content-Length`, exactly that many bytes are
    /// forwarded, and the next request is read from the same connection.
    pub fn bind(
        ca: &TestCa,
        addr: SocketAddr,
        backend: SocketAddr,
        keep_alive: bool,
    ) -> Result<TlsFront> {
        let config = ca.server_config()?;
        let listener = TcpListener::bind(addr).context("binding the TLS front")?;
        let acceptor = Acceptor::spawn(listener, "tls-front", move |stream| {
            let config = Arc::clone(&config);
            let _ = std::thread::Builder::new()
                .name("tls-front connection".into())
                .spawn(move || {
                    let _ = if keep_alive {
                        forward_keep_alive(stream, config, backend)
                    } else {
                        forward(stream, config, backend)
                    };
                });
        })?;
        Ok(TlsFront { acceptor })
    }

    pub fn addr(&self) -> SocketAddr {
        self.acceptor.addr()
    }

    /// How many connections it has accepted.
    pub fn connections(&self) -> usize {
        self.acceptor.accepted()
    }
}

/// One connection: the TLS handshake, the request head (the release server
/// takes GET and HEAD only, so no body), then the backend's answer until it
/// closes.
fn forward(
    stream: TcpStream,
    config: Arc<rustls::ServerConfig>,
    backend: SocketAddr,
) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let connection = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(connection, stream);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if Instant::now() > deadline || head.len() > 64 * 1024 {
            return Ok(());
        }
        match tls.read(&mut chunk)? {
            0 => return Ok(()),
            n => head.extend_from_slice(&chunk[..n]),
        }
    }
    let mut upstream = TcpStream::connect(backend)?;
    upstream.set_read_timeout(Some(Duration::from_secs(60)))?;
    upstream.write_all(&head)?;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match upstream.read(&mut buffer)? {
            0 => break,
            n => tls.write_all(&buffer[..n])?,
        }
    }
    tls.conn.send_close_notify();
    tls.flush()
}

/// One connection carrying many requests (see [`TlsFront::bind`]): each
/// request goes to a new backend connection, and its answer comes back
/// without `Connection: close` when its length is known.
fn forward_keep_alive(
    stream: TcpStream,
    config: Arc<rustls::ServerConfig>,
    backend: SocketAddr,
) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let _ = stream.set_nodelay(true);
    let connection = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(connection, stream);
    let mut pending = Vec::new();
    while let Some(head) = next_head(&mut tls, &mut pending)? {
        let mut upstream = TcpStream::connect(backend)?;
        upstream.set_read_timeout(Some(Duration::from_secs(60)))?;
        upstream.write_all(&head)?;
        let mut upstream = io::BufReader::with_capacity(64 * 1024, upstream);
        let (answer, length) = answer_head(&mut upstream)?;
        tls.write_all(&answer)?;
        match length {
            Some(_) if head.starts_with(b"HEAD ") => {}
            Some(length) => {
                let copied = io::copy(&mut (&mut upstream).take(length), &mut tls)?;
                if copied < length {
                    break;
                }
            }
            None => {
                io::copy(&mut upstream, &mut tls)?;
                break;
            }
        }
        tls.flush()?;
    }
    tls.conn.send_close_notify();
    tls.flush()
}

/// The next request head from `tls` (bytes after it stay in `pending`), or
/// `None` at the end of the connection.
fn next_head(tls: &mut impl Read, pending: &mut Vec<u8>) -> io::Result<Option<Vec<u8>>> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = pending.split_off(end + 4);
            return Ok(Some(std::mem::replace(pending, rest)));
        }
        if pending.len() > 64 * 1024 {
            return Ok(None);
        }
        match tls.read(&mut chunk) {
            Ok(0) => return Ok(None),
            Ok(n) => pending.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
    }
}

/// The backend's answer head without its `Connection` header when it has
/// a `Content-Length` (then also returned), else as it came.
fn answer_head(upstream: &mut impl io::BufRead) -> io::Result<(Vec<u8>, Option<u64>)> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if upstream.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if line == "\r\n" || line == "\n" {
            break;
        }
        lines.push(line);
    }
    let header = |line: &str, name: &str| {
        line.split_once(':')
            .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
    };
    let length = lines
        .iter()
        .find_map(|l| header(l, "content-length"))
        .and_then(|v| v.parse::<u64>().ok());
    let mut answer = String::new();
    for line in &lines {
        if length.is_some() && header(line, "connection").is_some() {
            continue;
        }
        answer.push_str(line);
    }
    answer.push_str("\r\n");
    Ok((answer.into_bytes(), length))
}
