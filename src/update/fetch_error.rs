//! What can go wrong fetching a file, and what the user can do about it.

use super::network::{certificate_hint, redact, tls_setup_hint};

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url} is not a valid URL")]
    BadUrl { url: String },
    #[error("refusing {url}: only https:// is allowed (plain http only to a loopback host)")]
    Insecure { url: String },
    #[error("refusing the redirect from {from} to {to}: it leaves https")]
    InsecureRedirect { from: String, to: String },
    #[error("too many redirects fetching {url}")]
    TooManyRedirects { url: String },
    #[error("{url} was not found (404)")]
    NotFound { url: String },
    #[error("the GitHub API refused the request ({status}) for {url}; it may be rate-limited")]
    RateLimited { url: String, status: u16 },
    #[error("the release listing API at {url} refused the token or wants one (401)")]
    ApiUnauthorized { url: String },
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url} sent more than {cap} bytes; refusing the rest")]
    TooLarge { url: String, cap: u64 },
    #[error("{url} stopped after {received} of {expected} bytes")]
    Truncated {
        url: String,
        received: u64,
        expected: u64,
    },
    #[error("timed out waiting for {url}")]
    Timeout { url: String },
    #[error("{url} came too slowly: {received} bytes in {seconds} seconds")]
    TooSlow {
        url: String,
        received: u64,
        seconds: u64,
    },
    #[error("the certificate of {url} is not trusted")]
    Untrusted {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("the proxy {proxy} refused to connect to {url} without valid credentials (407)")]
    ProxyAuth { url: String, proxy: String },
    #[error("the proxy URL {proxy} is not usable (http://, https://, socks5:// or socks5h://)")]
    BadProxy { proxy: String },
    /// The `https` client could not be built: on Linux, no certificate to
    /// trust was found where `SSL_CERT_FILE` / `SSL_CERT_DIR` point.
    #[error("could not set up https to fetch {url}")]
    TlsSetup {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("could not fetch {url}")]
    Network {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("could not write the download of {url}")]
    Write {
        url: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the release listing at {url} is not what GitHub's API returns")]
    BadListing { url: String },
}

impl FetchError {
    /// This error with the password of every URL in it, its own and its
    /// source's, shown as `***`: a mirror's URL may carry credentials
    /// (`https://user:password@host/...`), which pane sends but never shows.
    pub fn redacted(mut self) -> Self {
        fn hide(url: &mut String) {
            *url = redact(url);
        }
        match &mut self {
            FetchError::InsecureRedirect { from, to } => {
                hide(from);
                hide(to);
            }
            // Its proxy is already shown redacted.
            FetchError::ProxyAuth { url, .. } => hide(url),
            FetchError::BadProxy { .. } => {}
            FetchError::Untrusted { url, source }
            | FetchError::TlsSetup { url, source }
            | FetchError::Network { url, source } => {
                hide(url);
                if let Some(inner) = source.url_mut() {
                    if inner.password().is_some() {
                        let _ = inner.set_password(Some("***"));
                    }
                }
            }
            FetchError::BadUrl { url }
            | FetchError::Insecure { url }
            | FetchError::TooManyRedirects { url }
            | FetchError::NotFound { url }
            | FetchError::RateLimited { url, .. }
            | FetchError::ApiUnauthorized { url }
            | FetchError::Status { url, .. }
            | FetchError::TooLarge { url, .. }
            | FetchError::Truncated { url, .. }
            | FetchError::Timeout { url }
            | FetchError::TooSlow { url, .. }
            | FetchError::Write { url, .. }
            | FetchError::BadListing { url } => hide(url),
        }
        self
    }

    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            FetchError::RateLimited { .. } => Some(
                "set PANE_GITHUB_TOKEN (or GITHUB_TOKEN) to a GitHub token to raise the API rate limit"
                    .into(),
            ),
            FetchError::Timeout { .. }
            | FetchError::TooSlow { .. }
            | FetchError::Network { .. }
            | FetchError::Truncated { .. } => {
                Some("check your connection (and PANE_RELEASES_URL if you use a mirror), then try again".into())
            }
            FetchError::Untrusted { .. } => Some(certificate_hint()),
            FetchError::TlsSetup { .. } => Some(tls_setup_hint()),
            FetchError::ProxyAuth { .. } => Some(
                "put the proxy's credentials in its URL: HTTPS_PROXY=http://user:password@host:port (percent-encode special characters)".into(),
            ),
            FetchError::BadProxy { .. } => {
                Some("fix or unset HTTPS_PROXY / ALL_PROXY (and their lowercase forms)".into())
            }
            FetchError::Status { status: 500..=599, .. } => Some(
                "the server failed to answer; try again later (with a mirror in PANE_RELEASES_URL, check that it is up)"
                    .into(),
            ),
            FetchError::Status { status: 401 | 403, .. } => Some(
                "the server wants a login or refused it: a mirror that needs one takes it in PANE_RELEASES_URL (https://user:password@host/...)"
                    .into(),
            ),
            FetchError::ApiUnauthorized { .. } => Some(
                "check PANE_GITHUB_TOKEN (or GITHUB_TOKEN): it is sent to the listing API only, and an expired or revoked token is refused; with a mirror, check PANE_RELEASES_API_URL"
                    .into(),
            ),
            FetchError::TooManyRedirects { .. } => Some(
                "the server redirects in a loop or too far (more than 5 hops); check PANE_RELEASES_URL if you use a mirror, or try again later"
                    .into(),
            ),
            FetchError::Insecure { .. } | FetchError::InsecureRedirect { .. } => {
                Some("use an https:// mirror in PANE_RELEASES_URL".into())
            }
            // No space left, a file size limit: the data dir's disk.
            FetchError::Write { source, .. } => {
                crate::platform::io_hint(source, std::path::Path::new(""))
            }
            _ => None,
        }
    }
}
