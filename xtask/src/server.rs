//! A local release server over `ROOT/v<version>/<asset>`, speaking both of
//! the layouts pane reads from GitHub (docs/release-artifacts.md, "Where pane fetches a release"):
//!
//! - files: `GET /<owner>/<repo>/releases/download/v<V>/<asset>`, and
//!   `GET /<owner>/<repo>/releases/latest/download/<asset>`, answered with a
//!   `302` to the newest release that is not a semver pre-release;
//! - API: `GET /repos/<owner>/<repo>/releases?per_page=N&page=M`, a JSON array
//!   newest first with a GitHub-style `Link` header, plus `releases/latest`
//!   and `releases/tags/<tag>`.
//!
//! Plain HTTP/1.1 on std's `TcpListener`, a thread per connection and
//! `Connection: close`. Tests inject faults per path ([`Fault`]) and read the
//! log of every request ([`Server::requests`]). Dropping the [`Server`] stops
//! it: every connection thread polls a shutdown flag (sockets have short
//! timeouts), so a stalled download never keeps a test process alive.

use crate::channel::rfc3339;
use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, UNIX_EPOCH};

use crate::error::{Context, Result};
use crate::net::accept::Acceptor;

/// How long a connection thread blocks before it looks at the shutdown flag.
const POLL: Duration = Duration::from_millis(50);
/// How long a client may take to send its request head, unless
/// [`ServerBuilder::request_deadline`] says otherwise.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(10);
const MAX_REQUEST_HEAD: usize = 64 * 1024;
/// The session cookie a server with a CDN sets ([`ServerBuilder::cdn`]).
pub const CDN_COOKIE: &str = "_gh_sess=pane-test-session; Path=/; Secure; HttpOnly";

/// A misbehaviour injected into the responses for matching paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `Content-Length` says the full size, but the body stops after `after`
    /// bytes and the connection closes.
    Truncate { after: u64 },
    /// The byte at `offset` of the body is flipped (XOR 0xFF).
    CorruptByte { offset: u64 },
    /// Headers, then nothing; the socket stays open until the client leaves
    /// or the server is dropped.
    Stall,
    /// Headers and the first `after` bytes of the body, then nothing, as
    /// [`Fault::Stall`]: a connection that dies mid-download.
    StallAfter { after: u64 },
    /// This status code with a short text body instead of the real answer.
    Status(u16),
    /// `302 Found` with `Location:` this (absolute) URL.
    RedirectTo(String),
    /// `200 OK` with no `Content-Length` and a body that never ends.
    Endless,
    /// The real answer, sent at this many bytes per second.
    Throttle { bytes_per_sec: u64 },
    /// The real answer, but only once a request whose path contains this
    /// text has arrived; after [`AWAIT_LIMIT`] without one, `503`. A client
    /// that asks for files one after another, the awaited one last, fails.
    AwaitRequest(String),
    /// The real answer, after this long.
    Delay(Duration),
}

/// How long [`Fault::AwaitRequest`] waits.
pub const AWAIT_LIMIT: Duration = Duration::from_secs(10);

impl FromStr for Fault {
    type Err = crate::Error;

    /// `truncate:N`, `corrupt:N`, `stall`, `stall:N` (after N bytes),
    /// `status:N`, `redirect:URL`, `endless`, `await:TEXT`, `throttle:N`
    /// (bytes per second), `delay:N` (milliseconds).
    fn from_str(text: &str) -> Result<Fault> {
        let (kind, argument) = match text.split_once(':') {
            Some((kind, argument)) => (kind, Some(argument)),
            None => (text, None),
        };
        let number = |what: &str| -> Result<u64> {
            argument.and_then(|a| a.parse().ok()).ok_or_else(|| {
                crate::Error::msg(format!("fault `{kind}` needs a number: {kind}:{what}"))
            })
        };
        Ok(match kind {
            "truncate" => Fault::Truncate {
                after: number("BYTES")?,
            },
            "corrupt" => Fault::CorruptByte {
                offset: number("OFFSET")?,
            },
            "stall" if argument.is_none() => Fault::Stall,
            "stall" => Fault::StallAfter {
                after: number("BYTES")?,
            },
            "status" => Fault::Status(
                u16::try_from(number("CODE")?)
                    .ok()
                    .filter(|code| (100..1000).contains(code))
                    .ok_or_else(|| crate::Error::msg("status:CODE needs a code from 100 to 999"))?,
            ),
            "redirect" => match argument {
                Some(url) if !url.is_empty() => Fault::RedirectTo(url.to_string()),
                _ => crate::bail!("fault `redirect` needs a URL: redirect:URL"),
            },
            "endless" => Fault::Endless,
            "await" => match argument {
                Some(text) if !text.is_empty() => Fault::AwaitRequest(text.to_string()),
                _ => crate::bail!("fault `await` needs a path's text: await:TEXT"),
            },
            "throttle" => Fault::Throttle {
                bytes_per_sec: number("BYTES_PER_SEC")?.max(1),
            },
            "delay" => Fault::Delay(Duration::from_millis(number("MILLISECONDS")?)),
            _ => crate::bail!(
                "unknown fault {kind:?}; expected truncate:N, corrupt:N, stall, stall:N, status:N, redirect:URL, endless, await:TEXT, throttle:N or delay:N"
            ),
        })
    }
}

/// One request as the server saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The request target: path and query, as sent.
    pub path: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The `Host` header, if any.
    pub host: Option<String>,
    /// Every header, names lowercased, in order.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The path without the query.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or_default()
    }

    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

struct FaultRule {
    pattern: String,
    fault: Fault,
    /// `None`: every time; `Some(n)`: the next n matching requests.
    remaining: Option<u32>,
}

struct Shared {
    root: PathBuf,
    owner: String,
    repo: String,
    base_url: String,
    log_to_stderr: bool,
    cdn: Option<String>,
    public_base: Option<String>,
    request_deadline: Duration,
    shutdown: AtomicBool,
    faults: Mutex<Vec<FaultRule>>,
    requests: Mutex<Vec<Request>>,
    connections: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    /// Waits until a request whose path contains `text` has arrived, up to
    /// [`AWAIT_LIMIT`]; whether one did.
    fn await_request(&self, text: &str) -> bool {
        let deadline = Instant::now() + AWAIT_LIMIT;
        while Instant::now() < deadline && !self.stopping() {
            if lock(&self.requests).iter().any(|r| r.path.contains(text)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }
}

/// Lock a mutex, ignoring poisoning: a panicking connection thread must not
/// take the test's view of the log with it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Settings for [`Server`]; see [`Server::builder`].
#[derive(Clone, Debug)]
pub struct ServerBuilder {
    root: PathBuf,
    host: IpAddr,
    port: u16,
    repository: Option<(String, String)>,
    log_to_stderr: bool,
    cdn: Option<String>,
    public_base: Option<String>,
    request_deadline: Duration,
}

impl ServerBuilder {
    /// GitHub's shape: answer every `download/<tag>/<asset>` with a `302` to
    /// `<cdn>/<same path>` (another host, as GitHub's CDN), and set a session
    /// cookie on every response, which a client must not carry to the CDN.
    /// [`crate::net`] puts this together with TLS.
    pub fn cdn(mut self, base_url: impl Into<String>) -> Self {
        self.cdn = Some(base_url.into());
        self
    }

    /// The base URL clients reach this server at when that is not its own
    /// address (a TLS front, a relay): the API's JSON and `Link` headers
    /// name it, and every asset gets GitHub's `url` field too (here equal to
    /// `browser_download_url`), which self_update downloads from.
    pub fn public_base(mut self, base_url: impl Into<String>) -> Self {
        self.public_base = Some(base_url.into());
        self
    }

    /// The address to bind (default 127.0.0.1). Tests may use 127.0.0.2 for
    /// a second, "other" host.
    pub fn host(mut self, host: IpAddr) -> Self {
        self.host = host;
        self
    }

    /// The port (default 0: any free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The GitHub owner and repo in the URLs (default: from the root
    /// Cargo.toml's `repository`).
    pub fn repository(mut self, owner: impl Into<String>, repo: impl Into<String>) -> Self {
        self.repository = Some((owner.into(), repo.into()));
        self
    }

    /// How long a connection may stay silent before its request head is in
    /// (default 10 s); the server then closes it, as servers close idle
    /// connections.
    pub fn request_deadline(mut self, deadline: Duration) -> Self {
        self.request_deadline = deadline;
        self
    }

    /// Print one line per request to stderr (the CLI does).
    pub fn log_to_stderr(mut self, yes: bool) -> Self {
        self.log_to_stderr = yes;
        self
    }

    pub fn start(self) -> Result<Server> {
        let (owner, repo) = match self.repository {
            Some(pair) => pair,
            None => crate::workspace::Package::load()?.github_repository()?,
        };
        let listener = TcpListener::bind((self.host, self.port))
            .with_context(|| format!("cannot listen on {}:{}", self.host, self.port))?;
        let addr = listener
            .local_addr()
            .context("cannot read the bound address")?;
        let shared = Arc::new(Shared {
            root: self.root,
            owner,
            repo,
            base_url: format!("http://{addr}"),
            log_to_stderr: self.log_to_stderr,
            cdn: self.cdn,
            public_base: self.public_base,
            request_deadline: self.request_deadline,
            shutdown: AtomicBool::new(false),
            faults: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            connections: Mutex::new(Vec::new()),
        });
        let accept_shared = Arc::clone(&shared);
        let acceptor = Acceptor::spawn(listener, "release-server", move |stream| {
            accept(&accept_shared, stream)
        })
        .context("cannot start the server thread")?;
        Ok(Server { shared, acceptor })
    }
}

/// A running release server; dropping it stops it.
pub struct Server {
    shared: Arc<Shared>,
    acceptor: Acceptor,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.acceptor.addr())
            .field("root", &self.shared.root)
            .finish()
    }
}

impl Server {
    /// Settings for a server over `root` (holding `v<version>/` folders).
    pub fn builder(root: impl Into<PathBuf>) -> ServerBuilder {
        ServerBuilder {
            root: root.into(),
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            repository: None,
            log_to_stderr: false,
            cdn: None,
            public_base: None,
            request_deadline: REQUEST_DEADLINE,
        }
    }

    /// A server over `root` on 127.0.0.1 and a free port.
    pub fn start(root: impl Into<PathBuf>) -> Result<Server> {
        Server::builder(root).start()
    }

    pub fn addr(&self) -> SocketAddr {
        self.acceptor.addr()
    }

    /// How many connections it has accepted.
    pub fn connections(&self) -> usize {
        self.acceptor.accepted()
    }

    pub fn root(&self) -> &Path {
        &self.shared.root
    }

    /// `http://<addr>`
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The value for `PANE_RELEASES_URL`: `http://<addr>/<owner>/<repo>/releases`.
    pub fn releases_url(&self) -> String {
        self.shared.releases_url()
    }

    /// The value for `PANE_RELEASES_API_URL`: `http://<addr>/repos/<owner>/<repo>`.
    pub fn api_url(&self) -> String {
        self.shared.api_url()
    }

    /// `<releases>/download/v<version>/<asset>`
    pub fn download_url(&self, version: &str, asset: &str) -> String {
        format!("{}/download/v{version}/{asset}", self.releases_url())
    }

    /// `<releases>/latest/download/<asset>`
    pub fn latest_url(&self, asset: &str) -> String {
        format!("{}/latest/download/{asset}", self.releases_url())
    }

    /// Injects `fault` into every response whose path (without query) ends
    /// with `pattern`, or, if `pattern` holds `*`, matches it as a glob over
    /// the whole path. The newest matching rule wins.
    pub fn set_fault(&self, pattern: impl Into<String>, fault: Fault) {
        self.add_rule(pattern.into(), fault, None);
    }

    /// Like [`Server::set_fault`], for the next `times` matching requests only.
    pub fn set_fault_times(&self, pattern: impl Into<String>, fault: Fault, times: u32) {
        self.add_rule(pattern.into(), fault, Some(times));
    }

    fn add_rule(&self, pattern: String, fault: Fault, remaining: Option<u32>) {
        let mut faults = lock(&self.shared.faults);
        faults.retain(|rule| rule.pattern != pattern);
        faults.push(FaultRule {
            pattern,
            fault,
            remaining,
        });
    }

    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.shared.requests).clone()
    }

    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }

    /// Serves until the process is killed (for the CLI).
    pub fn wait(mut self) {
        self.acceptor.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        self.acceptor.stop();
        let connections = std::mem::take(&mut *lock(&self.shared.connections));
        for connection in connections {
            let _ = connection.join();
        }
    }
}

/// One connection, in a thread of its own.
fn accept(shared: &Arc<Shared>, stream: TcpStream) {
    let connection_shared = Arc::clone(shared);
    let spawned = std::thread::Builder::new()
        .name("release-server connection".into())
        .spawn(move || handle_connection(&connection_shared, stream));
    if let Ok(handle) = spawned {
        let mut connections = lock(&shared.connections);
        connections.retain(|c| !c.is_finished());
        connections.push(handle);
    }
}

impl Shared {
    fn stopping(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }

    fn releases_url(&self) -> String {
        format!("{}/{}/{}/releases", self.base_url, self.owner, self.repo)
    }

    fn api_url(&self) -> String {
        format!("{}/repos/{}/{}", self.base_url, self.owner, self.repo)
    }

    fn public(&self) -> &str {
        self.public_base.as_deref().unwrap_or(&self.base_url)
    }

    /// [`Shared::releases_url`] as clients reach it.
    fn public_releases_url(&self) -> String {
        format!("{}/{}/{}/releases", self.public(), self.owner, self.repo)
    }

    /// [`Shared::api_url`] as clients reach it.
    fn public_api_url(&self) -> String {
        format!("{}/repos/{}/{}", self.public(), self.owner, self.repo)
    }

    /// The fault for this path, if any; counts down one-shot rules.
    fn take_fault(&self, path: &str) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        let index = faults
            .iter()
            .rposition(|rule| pattern_matches(&rule.pattern, path))?;
        let rule = &mut faults[index];
        let fault = rule.fault.clone();
        if let Some(remaining) = &mut rule.remaining {
            *remaining -= 1;
            if *remaining == 0 {
                faults.remove(index);
            }
        }
        Some(fault)
    }
}

fn pattern_matches(pattern: &str, path: &str) -> bool {
    if pattern.contains('*') {
        glob_matches(pattern.as_bytes(), path.as_bytes())
    } else {
        path.ends_with(pattern)
    }
}

/// `*` matches any run of bytes (including `/`); everything else literally.
fn glob_matches(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|skip| glob_matches(rest, &text[skip..])),
        Some((c, rest)) => text.first() == Some(c) && glob_matches(rest, &text[1..]),
    }
}

fn handle_connection(shared: &Shared, mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(POLL));
    let _ = stream.set_write_timeout(Some(POLL));
    let _ = stream.set_nodelay(true);
    let Some(request) = read_request(shared, &mut stream) else {
        return;
    };
    if shared.log_to_stderr {
        eprintln!("{} {}", request.method, request.path);
    }
    lock(&shared.requests).push(request.clone());
    let mut fault = shared.take_fault(request.path_only());
    if let Some(Fault::AwaitRequest(text)) = &fault {
        fault = (!shared.await_request(text)).then_some(Fault::Status(503));
    }
    if let Some(Fault::Delay(delay)) = fault {
        std::thread::sleep(delay);
        fault = None;
    }
    let mut response = route(shared, &request);
    if let Some(cdn) = &shared.cdn {
        if response.status == 200 && request.path_only().contains("/releases/download/") {
            response = Response::redirect(format!("{cdn}{}", request.path_only()));
        }
        response
            .headers
            .push(("Set-Cookie".into(), CDN_COOKIE.into()));
    }
    let head_only = request.method == "HEAD";
    let _ = send(shared, &mut stream, response, fault, head_only);
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

fn read_request(shared: &Shared, stream: &mut TcpStream) -> Option<Request> {
    let deadline = Instant::now() + shared.request_deadline;
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = find(&buffer, b"\r\n\r\n") {
            break end;
        }
        if buffer.len() > MAX_REQUEST_HEAD || shared.stopping() || Instant::now() > deadline {
            return None;
        }
        match stream.read(&mut chunk) {
            Ok(0) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            Err(e) if is_timeout(&e) => continue,
            Err(_) => return None,
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]);
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_string();
    let path = request_line.next()?.to_string();
    let mut headers = Vec::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v): &(String, String)| v.clone())
    };
    Some(Request {
        authorization: header("authorization"),
        host: header("host"),
        method,
        path,
        headers,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

enum Body {
    Bytes(Vec<u8>),
    File(PathBuf),
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Body,
}

impl Response {
    fn bytes(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: Body::Bytes(body.into()),
        }
    }

    fn json(status: u16, value: &serde_json::Value) -> Response {
        let mut text = serde_json::to_vec_pretty(value).expect("JSON values serialize");
        text.push(b'\n');
        Response::bytes(status, "application/json; charset=utf-8", text)
    }

    fn not_found() -> Response {
        Response::json(
            404,
            &serde_json::json!({ "message": "Not Found", "documentation_url": "https://docs.github.com/rest" }),
        )
    }

    fn redirect(location: String) -> Response {
        Response {
            status: 302,
            headers: vec![("Location".into(), location)],
            body: Body::Bytes(Vec::new()),
        }
    }
}

fn route(shared: &Shared, request: &Request) -> Response {
    if request.method != "GET" && request.method != "HEAD" {
        let mut response = Response::bytes(405, "text/plain", "method not allowed\n");
        response.headers.push(("Allow".into(), "GET, HEAD".into()));
        return response;
    }
    let (path, query) = match request.path.split_once('?') {
        Some((path, query)) => (path, query),
        None => (request.path.as_str(), ""),
    };
    let Some(segments) = path
        .strip_prefix('/')
        .map(|p| p.split('/').collect::<Vec<_>>())
    else {
        return Response::not_found();
    };
    // Nothing outside ROOT/v*/: no dot segments, no empty segments, no
    // backslashes, no percent-escapes (asset names never need them).
    if segments
        .iter()
        .any(|s| s.is_empty() || s.starts_with('.') || s.contains(['\\', '%']))
    {
        return Response::not_found();
    }
    let ours = |owner: &str, repo: &str| owner == shared.owner && repo == shared.repo;
    match segments.as_slice() {
        [owner, repo, "releases", "download", tag, asset] if ours(owner, repo) => {
            serve_asset(shared, tag, asset)
        }
        [owner, repo, "releases", "latest", "download", asset] if ours(owner, repo) => {
            match releases(shared)
                .into_iter()
                .find(|r| r.version.pre.is_empty())
            {
                Some(latest) => Response::redirect(format!(
                    "/{}/{}/releases/download/{}/{asset}",
                    shared.owner, shared.repo, latest.tag
                )),
                None => Response::not_found(),
            }
        }
        ["repos", owner, repo, "releases"] if ours(owner, repo) => list_releases(shared, query),
        ["repos", owner, repo, "releases", "latest"] if ours(owner, repo) => {
            match releases(shared)
                .into_iter()
                .find(|r| r.version.pre.is_empty())
            {
                Some(latest) => Response::json(200, &release_json(shared, &latest)),
                None => Response::not_found(),
            }
        }
        ["repos", owner, repo, "releases", "tags", tag] if ours(owner, repo) => {
            match releases(shared).into_iter().find(|r| r.tag == *tag) {
                Some(release) => Response::json(200, &release_json(shared, &release)),
                None => Response::not_found(),
            }
        }
        _ => Response::not_found(),
    }
}

fn serve_asset(shared: &Shared, tag: &str, asset: &str) -> Response {
    let path = shared.root.join(tag).join(asset);
    match std::fs::metadata(&path) {
        Ok(metadata) if metadata.is_file() => Response {
            status: 200,
            headers: vec![("Content-Type".into(), "application/octet-stream".into())],
            body: Body::File(path),
        },
        _ => Response::not_found(),
    }
}

struct Release {
    tag: String,
    version: semver::Version,
    dir: PathBuf,
}

/// The releases under ROOT (`v<semver>` folders), newest first.
fn releases(shared: &Shared) -> Vec<Release> {
    let Ok(entries) = std::fs::read_dir(&shared.root) else {
        return Vec::new();
    };
    let mut releases: Vec<Release> = entries
        .flatten()
        .filter(|entry| entry.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .filter_map(|entry| {
            let tag = entry.file_name().to_str()?.to_string();
            let version = semver::Version::parse(tag.strip_prefix('v')?).ok()?;
            Some(Release {
                tag,
                version,
                dir: entry.path(),
            })
        })
        .collect();
    releases.sort_by(|a, b| b.version.cmp(&a.version));
    releases
}

fn list_releases(shared: &Shared, query: &str) -> Response {
    let parameters: BTreeMap<&str, &str> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .collect();
    let number = |name: &str, default: usize| {
        parameters
            .get(name)
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(default)
    };
    // GitHub's defaults and limits.
    let per_page = number("per_page", 30).clamp(1, 100);
    let page = number("page", 1).max(1);
    let all = releases(shared);
    let last_page = all.len().div_ceil(per_page).max(1);
    let items: Vec<serde_json::Value> = all
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|release| release_json(shared, release))
        .collect();
    let mut response = Response::json(200, &serde_json::Value::Array(items));
    let link = |page: usize, rel: &str| {
        format!(
            "<{}/releases?per_page={per_page}&page={page}>; rel=\"{rel}\"",
            shared.public_api_url()
        )
    };
    let mut links = Vec::new();
    if page < last_page {
        links.push(link(page + 1, "next"));
        links.push(link(last_page, "last"));
    }
    if page > 1 {
        links.push(link((page - 1).min(last_page), "prev"));
        links.push(link(1, "first"));
    }
    if !links.is_empty() {
        response.headers.push(("Link".into(), links.join(", ")));
    }
    response
}

fn release_json(shared: &Shared, release: &Release) -> serde_json::Value {
    let mut assets = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&release.dir) {
        let mut files: Vec<(String, u64)> = entries
            .flatten()
            .filter_map(|entry| {
                let metadata = entry.metadata().ok()?;
                let name = entry.file_name().to_str()?.to_string();
                (metadata.is_file() && !name.starts_with('.')).then_some((name, metadata.len()))
            })
            .collect();
        files.sort();
        for (index, (name, size)) in files.into_iter().enumerate() {
            let download = format!(
                "{}/download/{}/{name}",
                shared.public_releases_url(),
                release.tag
            );
            let mut asset = serde_json::json!({
                "id": index + 1,
                "name": name,
                "label": "",
                "content_type": "application/octet-stream",
                "state": "uploaded",
                "size": size,
                "browser_download_url": download,
            });
            if shared.public_base.is_some() {
                asset["url"] = serde_json::Value::String(download);
            }
            assets.push(asset);
        }
    }
    let published = std::fs::metadata(&release.dir)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .unwrap_or(0);
    serde_json::json!({
        "url": format!("{}/releases/tags/{}", shared.public_api_url(), release.tag),
        "html_url": format!("{}/tag/{}", shared.public_releases_url(), release.tag),
        "tag_name": release.tag,
        "name": release.tag,
        "draft": false,
        "prerelease": !release.version.pre.is_empty(),
        "created_at": rfc3339(published),
        "published_at": rfc3339(published),
        "body": "",
        "assets": assets,
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Writes all of `bytes`, riding out write timeouts until shutdown.
fn write_fully(shared: &Shared, stream: &mut TcpStream, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        if shared.stopping() {
            return Err(io::Error::other("server stopping"));
        }
        match stream.write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if is_timeout(&e) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Sleeps for `duration` unless the server stops first.
fn pause(shared: &Shared, duration: Duration) -> io::Result<()> {
    let end = Instant::now() + duration;
    loop {
        if shared.stopping() {
            return Err(io::Error::other("server stopping"));
        }
        let now = Instant::now();
        if now >= end {
            return Ok(());
        }
        std::thread::sleep((end - now).min(POLL));
    }
}

fn send(
    shared: &Shared,
    stream: &mut TcpStream,
    response: Response,
    fault: Option<Fault>,
    head_only: bool,
) -> io::Result<()> {
    let response = match &fault {
        Some(Fault::Status(code)) => Response::bytes(
            *code,
            "text/plain",
            format!("injected fault: status {code}\n"),
        ),
        Some(Fault::RedirectTo(url)) => Response::redirect(url.clone()),
        _ => response,
    };
    let length = match &response.body {
        Body::Bytes(bytes) => bytes.len() as u64,
        Body::File(path) => std::fs::metadata(path)?.len(),
    };
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if fault != Some(Fault::Endless) {
        head.push_str(&format!("Content-Length: {length}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    write_fully(shared, stream, head.as_bytes())?;
    if head_only {
        return Ok(());
    }

    match fault {
        Some(Fault::Stall) => {
            hold_open(shared, stream);
            return Ok(());
        }
        Some(Fault::Endless) => {
            let chunk = vec![b'A'; 64 * 1024];
            loop {
                write_fully(shared, stream, &chunk)?;
            }
        }
        _ => {}
    }

    let limit = match fault {
        Some(Fault::Truncate { after } | Fault::StallAfter { after }) => after.min(length),
        _ => length,
    };
    let corrupt_at = match fault {
        Some(Fault::CorruptByte { offset }) => Some(offset),
        _ => None,
    };
    let bytes_per_sec = match fault {
        Some(Fault::Throttle { bytes_per_sec }) => Some(bytes_per_sec.max(1)),
        _ => None,
    };
    // Throttled: small chunks, each followed by the pause it "costs".
    let chunk_size = match bytes_per_sec {
        Some(rate) => (rate / 20).clamp(1, 64 * 1024) as usize,
        None => 64 * 1024,
    };
    let mut reader: Box<dyn Read> = match response.body {
        Body::Bytes(bytes) => Box::new(io::Cursor::new(bytes)),
        Body::File(path) => Box::new(File::open(path)?),
    };
    let mut reader = reader.by_ref().take(limit);
    let mut buffer = vec![0u8; chunk_size];
    let mut offset = 0u64;
    loop {
        let n = reader.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        let chunk = &mut buffer[..n];
        if let Some(at) = corrupt_at {
            if (offset..offset + n as u64).contains(&at) {
                chunk[(at - offset) as usize] ^= 0xff;
            }
        }
        write_fully(shared, stream, chunk)?;
        offset += n as u64;
        if let Some(rate) = bytes_per_sec {
            pause(shared, Duration::from_secs_f64(n as f64 / rate as f64))?;
        }
    }
    if matches!(fault, Some(Fault::StallAfter { .. })) {
        hold_open(shared, stream);
    }
    Ok(())
}

/// Holds the socket open, sending nothing, until the client gives up or the
/// server stops.
fn hold_open(shared: &Shared, stream: &mut TcpStream) {
    let mut scratch = [0u8; 1024];
    loop {
        if shared.stopping() {
            return;
        }
        match stream.read(&mut scratch) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if is_timeout(&e) => {}
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_from_the_command_line_form() {
        assert_eq!(
            "truncate:10".parse::<Fault>().unwrap(),
            Fault::Truncate { after: 10 }
        );
        assert_eq!(
            "corrupt:3".parse::<Fault>().unwrap(),
            Fault::CorruptByte { offset: 3 }
        );
        assert_eq!("stall".parse::<Fault>().unwrap(), Fault::Stall);
        assert_eq!(
            "stall:5".parse::<Fault>().unwrap(),
            Fault::StallAfter { after: 5 }
        );
        assert_eq!("status:503".parse::<Fault>().unwrap(), Fault::Status(503));
        assert_eq!(
            "redirect:http://127.0.0.2:9/x".parse::<Fault>().unwrap(),
            Fault::RedirectTo("http://127.0.0.2:9/x".into())
        );
        assert_eq!("endless".parse::<Fault>().unwrap(), Fault::Endless);
        assert_eq!(
            "await:.tar.gz".parse::<Fault>().unwrap(),
            Fault::AwaitRequest(".tar.gz".into())
        );
        assert_eq!(
            "throttle:100".parse::<Fault>().unwrap(),
            Fault::Throttle { bytes_per_sec: 100 }
        );
        for bad in [
            "truncate",
            "stall:x",
            "status:abc",
            "status:5",
            "redirect:",
            "explode",
        ] {
            assert!(bad.parse::<Fault>().is_err(), "{bad}");
        }
    }

    #[test]
    fn patterns_are_suffixes_or_globs() {
        assert!(pattern_matches(
            "SHA256SUMS",
            "/o/r/releases/download/v1.0.0/SHA256SUMS"
        ));
        assert!(!pattern_matches(
            "SHA256SUMS",
            "/o/r/releases/download/v1.0.0/SHA256SUMS.minisig"
        ));
        // A glob covers the whole path.
        assert!(!pattern_matches(
            "/v1.*/pane-*.tar.gz",
            "/o/r/releases/download/v1.2.0/pane-1.2.0-x.tar.gz"
        ));
        assert!(pattern_matches(
            "*/v1.*/pane-*.tar.gz",
            "/o/r/releases/download/v1.2.0/pane-1.2.0-x.tar.gz"
        ));
    }

    #[test]
    fn dates_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
