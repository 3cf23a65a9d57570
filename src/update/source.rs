//! Where releases come from: URLs in, bytes out. Never prints.
//!
//! Two layouts, both GitHub's (docs/release-artifacts.md, "Where pane fetches a
//! release"): files under `<releases>/download/v<V>/`
//! and `<releases>/latest/download/`, and the listing API
//! `<api>/releases?per_page=100&page=N`. Updating to the latest release and
//! installing an exact version use only the files, so no API rate limit applies.
//!
//! Transport rules, enforced on every hop: `https://` only, or `http://` to a
//! loopback host; never from https down to http; at most 5 redirects, followed
//! here rather than by reqwest so each hop is checked and a token is attached
//! only to requests for the API host. Every body has a byte cap counted on the
//! bytes received (not on `Content-Length`), a connect timeout and an idle-read
//! timeout. Proxies and what a TLS failure means: `network.rs`.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use reqwest::blocking::{Client, Response};
use reqwest::header::{HeaderValue, AUTHORIZATION, LOCATION, USER_AGENT};
use reqwest::{StatusCode, Url};
use semver::Version;

use super::ahead::{OpenAhead, Stock};
pub use super::fetch_error::FetchError;
pub use super::listing::{parse_listing, ListedRelease};
use super::network::{cause_of, Cause, ProxyConfig};
use super::pace::Pace;

pub const SIGNATURE_CAP: u64 = 4 * 1024;
pub const SUMS_CAP: u64 = 64 * 1024;
pub const API_PAGE_CAP: u64 = 2 * 1024 * 1024;
pub const ARCHIVE_CAP: u64 = 256 * 1024 * 1024;
const MAX_REDIRECTS: usize = 5;
/// How long a request for the host of [`Source::open_ahead`] waits for its
/// client to be ready before it goes on without it.
const ARMING_LIMIT: Duration = Duration::from_secs(2);

/// Progress of one download, reported to whoever shows it.
pub trait Progress {
    fn start(&mut self, _name: &str, _total: Option<u64>) {}
    fn advance(&mut self, _bytes: u64) {}
    fn finish(&mut self) {}
}

/// A `Progress` that shows nothing.
pub struct NoProgress;
impl Progress for NoProgress {}

#[derive(Clone, Debug)]
pub struct SourceConfig {
    /// `<base>` of `<base>/download/v<V>/<asset>`; no trailing slash.
    pub releases_url: String,
    /// `<api>` of `<api>/releases?per_page=100&page=N`; no trailing slash.
    pub api_url: String,
    pub token: Option<String>,
    pub connect_timeout: Duration,
    pub idle_timeout: Duration,
    pub user_agent: String,
    /// The proxy for `https` requests; loopback never goes through it.
    pub proxy: ProxyConfig,
}

/// A fetch under way on its own thread ([`Source::fetch_small_apart`]).
pub struct Apart(std::thread::JoinHandle<Result<(Vec<u8>, String), FetchError>>);

impl Apart {
    /// Its result, once it has one.
    pub fn wait(self) -> Result<(Vec<u8>, String), FetchError> {
        self.0
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

pub struct Source {
    config: SourceConfig,
    api_origin: Option<(String, Option<u16>)>,
    /// The origin of the releases URL: the mirror's own host.
    mirror_origin: Option<url::Origin>,
    /// The client for `https` URLs, built on first use: building it loads
    /// and parses the system's root certificates (rustls-platform-verifier
    /// reads every file in /etc/ssl/certs, some 3 ms), which a run that
    /// never leaves loopback `http` (a mirror on this machine, the tests,
    /// `cargo xtask bench`) should not pay for.
    tls: OnceLock<Client>,
    /// The client for `http` URLs, which [`parse_allowed`] limits to
    /// loopback. It trusts no certificate at all.
    plain: OnceLock<Client>,
    /// Connections opened ahead to one host ([`Source::open_ahead`]).
    ahead: OnceLock<Arc<Ahead>>,
    /// Where files under the releases URL last came from, after redirects.
    served_from: Mutex<Option<ServedFrom>>,
}

/// Where the files under the releases URL came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServedFrom {
    /// The mirror itself: no redirect led elsewhere.
    Mirror,
    /// This origin (`https://host[:port]`), another host a redirect led to
    /// (GitHub's CDN).
    Elsewhere(String),
}

/// The client of [`Source::open_ahead`], for its host only.
struct Ahead {
    origin: url::Origin,
    stock: Arc<Stock>,
    /// Set once armed: `None` when the client could not be built or armed.
    client: OnceLock<Option<Client>>,
    armed: (Mutex<bool>, Condvar),
    /// After a request through it failed: the rest go the usual way.
    abandoned: AtomicBool,
}

impl Ahead {
    fn set(&self, client: Option<Client>) {
        let _ = self.client.set(client);
        let (armed, ready) = &self.armed;
        *armed.lock().unwrap_or_else(PoisonError::into_inner) = true;
        ready.notify_all();
    }
}

impl Source {
    pub fn new(config: SourceConfig) -> Self {
        // rustls is built without a default provider (ring keeps the binary
        // small and needs no C toolchain beyond cc); install it once.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mirror_origin = Url::parse(&config.releases_url).ok().map(|u| u.origin());
        let api_origin = Url::parse(&config.api_url)
            .ok()
            .and_then(|u| Some((u.host_str()?.to_string(), u.port_or_known_default())));
        Self {
            config,
            api_origin,
            mirror_origin,
            tls: OnceLock::new(),
            plain: OnceLock::new(),
            ahead: OnceLock::new(),
            served_from: Mutex::new(None),
        }
    }

    /// Opens `count` connections to `origin` (where the last check or update
    /// found the release files) ahead of the redirects that will lead there
    /// (`ahead.rs`), on a thread of its own, once per run. An origin the
    /// transport rules refuse, or the mirror's own, opens nothing.
    pub fn open_ahead(self: &Arc<Self>, origin: &str, count: usize) {
        let Ok(url) = parse_allowed(origin) else {
            return;
        };
        if self.mirror_origin.as_ref() == Some(&url.origin()) {
            return;
        }
        let ahead = Arc::new(Ahead {
            origin: url.origin(),
            stock: Arc::new(Stock::default()),
            client: OnceLock::new(),
            armed: (Mutex::new(false), Condvar::new()),
            abandoned: AtomicBool::new(false),
        });
        if self.ahead.set(Arc::clone(&ahead)).is_err() {
            return;
        }
        let source = Arc::clone(self);
        let arm = move || {
            let client = source.build_client(&url, Some(Arc::clone(&ahead.stock)));
            if let Ok(client) = &client {
                ahead.stock.arm(count);
                for _ in 0..count {
                    // Fails at once by design (`OpenedAhead`): the
                    // connection it asked for goes to the stock.
                    let _ = client
                        .get(url.clone())
                        .header(USER_AGENT, source.config.user_agent.as_str())
                        .send();
                }
            }
            let armed = ahead.stock.still_to_open() == 0;
            ahead.set(client.ok().filter(|_| armed));
        };
        let spawned = std::thread::Builder::new()
            .name("pane open ahead".into())
            .spawn(arm);
        if spawned.is_err() {
            if let Some(ahead) = self.ahead.get() {
                ahead.set(None);
            }
        }
    }

    /// The client of [`Source::open_ahead`] when `url` is on its host and it
    /// is armed (waiting up to [`ARMING_LIMIT`] for that).
    fn ahead_client_for(&self, url: &Url) -> Option<&Client> {
        let ahead = self.ahead.get()?;
        if ahead.abandoned.load(Ordering::Relaxed) || url.origin() != ahead.origin {
            return None;
        }
        let (armed, ready) = &ahead.armed;
        let guard = armed.lock().unwrap_or_else(PoisonError::into_inner);
        let (guard, _) = ready
            .wait_timeout_while(guard, ARMING_LIMIT, |armed| !*armed)
            .unwrap_or_else(PoisonError::into_inner);
        if !*guard {
            ahead.abandoned.store(true, Ordering::Relaxed);
            return None;
        }
        ahead.client.get()?.as_ref()
    }

    /// After a request through `client` failed: when that is the client of
    /// [`Source::open_ahead`] and it handed out a connection opened ahead
    /// (which the server may have closed meanwhile), it is set aside and the
    /// request is worth one more try the usual way.
    fn set_aside_ahead(&self, client: &Client) -> bool {
        let Some(ahead) = self.ahead.get() else {
            return false;
        };
        let was_ahead = matches!(ahead.client.get(), Some(Some(c)) if std::ptr::eq(c, client));
        if !was_ahead || ahead.stock.handed_out() == 0 {
            return false;
        }
        ahead.abandoned.store(true, Ordering::Relaxed);
        true
    }

    /// Where the release files of this run came from, if any came.
    pub fn served_from(&self) -> Option<ServedFrom> {
        self.served_from
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Notes where a file under the releases URL, `asked`, finally came from.
    fn note_served_from(&self, asked: &str, from: &Url) {
        if !asked.starts_with(&self.config.releases_url) {
            return;
        }
        // `from` passed `parse_allowed`: http(s) with a host, a tuple origin.
        let served = if self.mirror_origin.as_ref() == Some(&from.origin()) {
            ServedFrom::Mirror
        } else {
            ServedFrom::Elsewhere(from.origin().ascii_serialization())
        };
        *self
            .served_from
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(served);
    }

    /// The client for `url`'s scheme, built the first time it is needed.
    fn client_for(&self, url: &Url) -> Result<&Client, FetchError> {
        let tls = url.scheme() == "https";
        let cell = if tls { &self.tls } else { &self.plain };
        if let Some(client) = cell.get() {
            return Ok(client);
        }
        let client = self.build_client(url, None)?;
        Ok(cell.get_or_init(|| client))
    }

    /// A client for `url`'s scheme; with `stock`, one that opens connections
    /// ahead into it (`ahead.rs`).
    fn build_client(&self, url: &Url, stock: Option<Arc<Stock>>) -> Result<Client, FetchError> {
        let tls = url.scheme() == "https";
        let mut builder = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.config.connect_timeout)
            // In the blocking client this bounds the wait for the headers and
            // for every single read of the body: an idle-read timeout.
            .timeout(self.config.idle_timeout);
        if !tls {
            builder = builder.tls_certs_only(std::iter::empty());
        }
        if let Some(stock) = stock {
            builder = builder.connector_layer(OpenAhead::new(stock, self.config.connect_timeout));
        }
        let builder = (self.config.proxy)
            .apply(builder, tls)
            .map_err(|proxy| FetchError::BadProxy { proxy })?;
        builder.build().map_err(|source| {
            let url = url.to_string();
            // Building the https client loads the certificates to trust;
            // the plain client has none to load.
            if tls {
                FetchError::TlsSetup { url, source }
            } else {
                FetchError::Network { url, source }
            }
        })
    }

    /// URL of an asset of an exact version, or of the latest release.
    pub fn asset_url(&self, version: Option<&Version>, asset: &str) -> String {
        match version {
            Some(v) => format!("{}/download/v{v}/{asset}", self.config.releases_url),
            None => format!("{}/latest/download/{asset}", self.config.releases_url),
        }
    }

    /// [`Source::fetch_small`] on a thread of its own, not a scoped one, for
    /// a file fetched beside another: when the other fails (a 404, a dead
    /// host), the caller returns at once instead of waiting for this one,
    /// which a stalled server draws out to the idle timeout (with the lock
    /// held). Left behind, the thread ends on its own; it only reads into
    /// memory.
    pub fn fetch_small_apart(self: &Arc<Self>, url: String, cap: u64) -> Apart {
        let source = Arc::clone(self);
        Apart(std::thread::spawn(move || source.fetch_small(&url, cap)))
    }

    /// Fetches a small file whole, refusing more than `cap` bytes. Returns
    /// the bytes and the URL they finally came from, after redirects.
    pub fn fetch_small(&self, url: &str, cap: u64) -> Result<(Vec<u8>, String), FetchError> {
        let mut body = Vec::new();
        let final_url = self.download(url, cap, &mut body, &mut NoProgress, "")?.1;
        Ok((body, final_url))
    }

    /// Streams `url` into `out`, refusing more than `cap` bytes. Returns the
    /// number of bytes written and the final URL.
    pub fn download(
        &self,
        url: &str,
        cap: u64,
        out: &mut dyn Write,
        progress: &mut dyn Progress,
        name: &str,
    ) -> Result<(u64, String), FetchError> {
        let pace = Pace::start(self.config.idle_timeout, cap);
        self.get(url, false)
            .and_then(|response| read_body(response, (cap, &pace), out, progress, name))
            .map_err(FetchError::redacted)
    }

    /// GETs `url` without following a redirect: where a "latest" URL leads
    /// names the version (a hint) before any file is read, so the files of
    /// that version can be asked for at once. A server that answers with
    /// the file itself gets it read whole, under `cap`.
    pub fn first_hop(&self, url: &str, cap: u64) -> Result<Hop, FetchError> {
        let pace = Pace::start(self.config.idle_timeout, cap);
        let hop = || match self.get_once(&parse_allowed(url)?, false)? {
            Answer::Redirect(next) => Ok(Hop::Redirect(next)),
            Answer::Final(response) => {
                let mut body = Vec::new();
                let (_, from) = read_body(response, (cap, &pace), &mut body, &mut NoProgress, "")?;
                Ok(Hop::Body(body, from))
            }
        };
        hop().map_err(FetchError::redacted)
    }

    /// Every release the API lists, newest first as the server orders them;
    /// drafts and tags that are not `v<semver>` are skipped.
    pub fn list_releases(&self) -> Result<Vec<ListedRelease>, FetchError> {
        self.list_all_releases().map_err(FetchError::redacted)
    }

    fn list_all_releases(&self) -> Result<Vec<ListedRelease>, FetchError> {
        let mut releases = Vec::new();
        // GitHub caps listings at 1000 releases; so do we, whatever the server says.
        for page in 1..=10 {
            let url = format!("{}/releases?per_page=100&page={page}", self.config.api_url);
            let pace = Pace::start(self.config.idle_timeout, API_PAGE_CAP);
            let mut response = self.get(&url, true)?;
            let has_next = response
                .headers()
                .get_all(reqwest::header::LINK)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .any(|v| v.contains("rel=\"next\""));
            let mut body = Vec::new();
            copy_capped(
                &mut response,
                &mut body,
                (API_PAGE_CAP, &pace),
                &mut NoProgress,
                &url,
            )?;
            let items = parse_listing(&body).ok_or(FetchError::BadListing { url: url.clone() })?;
            let empty = items.is_empty();
            releases.extend(items);
            if !has_next || empty {
                break;
            }
        }
        Ok(releases)
    }

    /// GET with the redirect and token rules of the module docs.
    fn get(&self, url: &str, is_api: bool) -> Result<Response, FetchError> {
        let mut current = parse_allowed(url)?;
        for _ in 0..=MAX_REDIRECTS {
            match self.get_once(&current, is_api)? {
                Answer::Redirect(next) => current = next,
                Answer::Final(response) => {
                    if !is_api {
                        self.note_served_from(url, &current);
                    }
                    return Ok(response);
                }
            }
        }
        Err(FetchError::TooManyRedirects {
            url: url.to_string(),
        })
    }

    /// One request: a success, or a redirect the rules allow to follow.
    fn get_once(&self, current: &Url, is_api: bool) -> Result<Answer, FetchError> {
        let client = match self.ahead_client_for(current) {
            Some(client) => client,
            None => self.client_for(current)?,
        };
        let send = |client: &Client| {
            let mut request = client
                .get(current.clone())
                .header(USER_AGENT, self.config.user_agent.as_str());
            if is_api {
                request = request.header("Accept", "application/vnd.github+json");
                if let Some(token) = self.token_for(current) {
                    request = request.header(AUTHORIZATION, token);
                }
            }
            request.send()
        };
        let response = match send(client) {
            Err(error) if !error.is_timeout() && self.set_aside_ahead(client) => {
                send(self.client_for(current)?)
            }
            sent => sent,
        };
        let response = response.map_err(|e| match classify(e, current.as_str()) {
            // classify cannot know which proxy answered.
            FetchError::ProxyAuth { url, .. } => FetchError::ProxyAuth {
                url,
                proxy: self.config.proxy.shown().unwrap_or_default(),
            },
            other => other,
        })?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| FetchError::Status {
                    url: current.to_string(),
                    status: status.as_u16(),
                })?;
            return Ok(Answer::Redirect(follow_redirect(current, location)?));
        }
        let url = current.to_string();
        match status {
            s if s.is_success() => Ok(Answer::Final(response)),
            StatusCode::NOT_FOUND => Err(FetchError::NotFound { url }),
            StatusCode::UNAUTHORIZED if is_api => Err(FetchError::ApiUnauthorized { url }),
            StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS if is_api => {
                Err(FetchError::RateLimited {
                    url,
                    status: status.as_u16(),
                })
            }
            _ => Err(FetchError::Status {
                url,
                status: status.as_u16(),
            }),
        }
    }

    /// The `Authorization` header for `url`, only when it is on the API host.
    fn token_for(&self, url: &Url) -> Option<HeaderValue> {
        let token = self.config.token.as_deref()?;
        let origin = (url.host_str()?.to_string(), url.port_or_known_default());
        if self.api_origin.as_ref() != Some(&origin) {
            return None;
        }
        let mut value = HeaderValue::from_str(&format!("Bearer {token}")).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

/// Parses a URL and applies the transport rule: https, or http to loopback.
pub fn parse_allowed(url: &str) -> Result<Url, FetchError> {
    let parsed = Url::parse(url).map_err(|_| FetchError::BadUrl {
        url: url.to_string(),
    })?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback(&parsed) => Ok(parsed),
        _ => Err(FetchError::Insecure {
            url: url.to_string(),
        }),
    }
}

/// Where a redirect from `current` to `location` leads, if it may be followed:
/// never from https down to http, and only to a URL the transport rule allows.
pub fn follow_redirect(current: &Url, location: &str) -> Result<Url, FetchError> {
    let next = current.join(location).map_err(|_| FetchError::BadUrl {
        url: location.to_string(),
    })?;
    if current.scheme() == "https" && next.scheme() != "https" {
        return Err(FetchError::InsecureRedirect {
            from: current.to_string(),
            to: next.to_string(),
        });
    }
    parse_allowed(next.as_str())
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// The version in a `…/download/v<version>/…` URL, if there is one: where a
/// "latest" redirect led. A hint only, used to refuse, never to trust. Only
/// the last `download` segment of the path counts: a mirror's own path may
/// hold a `download/v…` of its own (`/download/vendor/pane/releases/…`),
/// and `…/latest/download/<asset>` names no version whatever comes before.
pub fn tag_version_in(url: &str) -> Option<Version> {
    let parsed = Url::parse(url).ok()?;
    let segments: Vec<&str> = parsed.path_segments()?.collect();
    let last = segments
        .iter()
        .rposition(|segment| *segment == "download")?;
    Version::parse(segments.get(last + 1)?.strip_prefix('v')?).ok()
}

/// The first answer to a GET ([`Source::first_hop`]).
pub enum Hop {
    /// A redirect the transport rules allow: where it leads.
    Redirect(Url),
    /// The file itself, whole, and the URL it came from.
    Body(Vec<u8>, String),
}

enum Answer {
    Redirect(Url),
    Final(Response),
}

/// Reads a successful answer into `out` under `cap` (and its own
/// `Content-Length`); returns the bytes written and the URL they came from.
fn read_body(
    mut response: Response,
    (cap, pace): (u64, &Pace),
    out: &mut dyn Write,
    progress: &mut dyn Progress,
    name: &str,
) -> Result<(u64, String), FetchError> {
    let final_url = response.url().to_string();
    let expected = response.content_length();
    if let Some(length) = expected {
        if length > cap {
            return Err(FetchError::TooLarge {
                url: final_url,
                cap,
            });
        }
    }
    progress.start(name, expected);
    let received = copy_capped(&mut response, out, (cap, pace), progress, &final_url)?;
    progress.finish();
    if let Some(expected) = expected {
        if received != expected {
            return Err(FetchError::Truncated {
                url: final_url,
                received,
                expected,
            });
        }
    }
    Ok((received, final_url))
}

fn classify(error: reqwest::Error, url: &str) -> FetchError {
    let url = url.to_string();
    if error.is_timeout() {
        return FetchError::Timeout { url };
    }
    match cause_of(&error) {
        Some(Cause::Certificate) => FetchError::Untrusted { url, source: error },
        Some(Cause::ProxyAuth) => FetchError::ProxyAuth {
            url,
            proxy: String::new(),
        },
        None => FetchError::Network { url, source: error },
    }
}

fn copy_capped(
    response: &mut Response,
    out: &mut dyn Write,
    (cap, pace): (u64, &Pace),
    progress: &mut dyn Progress,
    url: &str,
) -> Result<u64, FetchError> {
    let mut buffer = vec![0u8; 64 * 1024];
    let mut received: u64 = 0;
    loop {
        let n = match response.read(&mut buffer) {
            Ok(0) => return Ok(received),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(e, url)),
        };
        received += n as u64;
        if !pace.on_time(received) {
            return Err(FetchError::TooSlow {
                url: url.to_string(),
                received,
                seconds: pace.elapsed().as_secs(),
            });
        }
        if received > cap {
            return Err(FetchError::TooLarge {
                url: url.to_string(),
                cap,
            });
        }
        out.write_all(&buffer[..n])
            .map_err(|source| FetchError::Write {
                url: url.to_string(),
                source,
            })?;
        progress.advance(n as u64);
    }
}

fn read_error(error: std::io::Error, url: &str) -> FetchError {
    let timed_out = error.kind() == std::io::ErrorKind::TimedOut
        || error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
            .is_some_and(reqwest::Error::is_timeout);
    if timed_out {
        return FetchError::Timeout {
            url: url.to_string(),
        };
    }
    match error.into_inner() {
        Some(inner) => match inner.downcast::<reqwest::Error>() {
            Ok(source) => classify(*source, url),
            Err(other) => FetchError::Write {
                url: url.to_string(),
                source: std::io::Error::other(other),
            },
        },
        None => FetchError::Timeout {
            url: url.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_rule() {
        for ok in [
            "https://github.com/x",
            "http://127.0.0.1:8080/x",
            "http://127.3.4.5/x",
            "http://[::1]:9/x",
            "http://localhost/x",
        ] {
            assert!(parse_allowed(ok).is_ok(), "{ok} refused");
        }
        for bad in [
            "http://github.com/x",
            "http://10.0.0.1/x",
            "http://localhost.evil.com/x",
            "ftp://127.0.0.1/x",
            "file:///etc/passwd",
            "not a url",
        ] {
            assert!(parse_allowed(bad).is_err(), "{bad} allowed");
        }
    }

    /// A run that stays on loopback `http` never builds the TLS client (and
    /// so never reads the system's root certificates); an `https` URL gets
    /// the verifying client, and never the plain one, which trusts nothing.
    #[test]
    fn the_tls_client_is_built_only_for_https() {
        use std::net::TcpListener;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request).unwrap();
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                .unwrap();
        });
        let config = |base: String| SourceConfig {
            api_url: base.clone(),
            releases_url: base,
            token: None,
            connect_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(5),
            user_agent: "pane-test".into(),
            proxy: ProxyConfig::default(),
        };
        let source = Source::new(config(format!("http://127.0.0.1:{port}")));
        let (body, _) = source
            .fetch_small(&format!("http://127.0.0.1:{port}/x"), 16)
            .unwrap();
        server.join().unwrap();
        assert_eq!(body, b"ok");
        assert!(source.plain.get().is_some());
        assert!(
            source.tls.get().is_none(),
            "loopback http built the TLS client"
        );

        let source = Source::new(config("https://github.com/o/r/releases".into()));
        source
            .client_for(&Url::parse("https://github.com/o/r/releases").unwrap())
            .unwrap();
        assert!(source.tls.get().is_some());
        assert!(source.plain.get().is_none());
    }

    #[test]
    fn redirect_rule() {
        let https = Url::parse("https://github.com/o/r/releases/latest/download/x").unwrap();
        let loopback = Url::parse("http://127.0.0.1:8/o/r/releases/latest/download/x").unwrap();
        assert!(follow_redirect(&https, "https://objects.githubusercontent.com/x").is_ok());
        assert!(follow_redirect(&https, "/o/r/releases/download/v1.0.0/x").is_ok());
        assert!(matches!(
            follow_redirect(&https, "http://127.0.0.1/x"),
            Err(FetchError::InsecureRedirect { .. })
        ));
        assert!(matches!(
            follow_redirect(&https, "http://evil.example/x"),
            Err(FetchError::InsecureRedirect { .. })
        ));
        assert!(follow_redirect(&loopback, "/o/r/releases/download/v1.0.0/x").is_ok());
        assert!(matches!(
            follow_redirect(&loopback, "http://evil.example/x"),
            Err(FetchError::Insecure { .. })
        ));
        assert!(follow_redirect(&loopback, "file:///etc/passwd").is_err());
    }

    #[test]
    fn tag_versions() {
        assert_eq!(
            tag_version_in("http://127.0.0.1:1/o/r/releases/download/v1.2.0/SHA256SUMS"),
            Some(Version::new(1, 2, 0))
        );
        assert_eq!(
            tag_version_in("http://127.0.0.1:1/o/r/releases/latest/download/SHA256SUMS"),
            None
        );
        assert_eq!(tag_version_in("http://127.0.0.1:1/download/vnext/x"), None);
        // A mirror whose own path has a download/v… in it: the release's counts.
        for url in [
            "https://m.example/download/vendor/pane/releases/download/v1.2.0/SHA256SUMS",
            "https://m.example/download/v9.9.9/pane/releases/download/v1.2.0/SHA256SUMS",
        ] {
            assert_eq!(tag_version_in(url), Some(Version::new(1, 2, 0)), "{url}");
        }
        // Served at "latest" itself: no version, whatever the mirror's path says.
        assert_eq!(
            tag_version_in("https://m.example/download/v9.9.9/releases/latest/download/SHA256SUMS"),
            None
        );
    }
}
