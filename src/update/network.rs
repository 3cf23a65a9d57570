//! The network around a request: which proxy it goes through, and what a
//! failed TLS handshake or proxy handshake means for the user. Never prints.
//!
//! Proxies come from [`ProxyConfig`], which `src/env.rs` fills from
//! `https_proxy`/`HTTPS_PROXY`, `all_proxy`/`ALL_PROXY` and
//! `no_proxy`/`NO_PROXY`; reqwest's own reading of the environment is turned
//! off, so this is the only place a proxy is chosen. Plain `http` goes only to
//! loopback (see `source::parse_allowed`), so `HTTP_PROXY` is never needed and
//! never read; and loopback is never sent through a proxy, whatever `NO_PROXY`
//! says: a mirror on this machine keeps working behind a proxy that cannot
//! reach it (or that is not running).
//!
//! Certificates are checked by rustls-platform-verifier: on Linux it reads the
//! system's CA store, or only `SSL_CERT_FILE` / `SSL_CERT_DIR` when either is
//! set (rustls-native-certs); on macOS and Windows, the system's trust
//! settings (the keychain on macOS).

use std::error::Error as StdError;

use reqwest::blocking::ClientBuilder;
use reqwest::{NoProxy, Proxy};

/// Hosts that never go through a proxy: this machine.
pub const LOOPBACK_HOSTS: &str = "localhost,127.0.0.0/8,::1";

/// The proxy for `https` requests, as the environment names it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyConfig {
    /// `https_proxy`, `HTTPS_PROXY`, `all_proxy` or `ALL_PROXY` (the first
    /// set, in that order): `http://`, `https://`, `socks5://` or
    /// `socks5h://`, with optional `user:password@` (percent-encoded).
    pub url: Option<String>,
    /// `no_proxy` or `NO_PROXY`: comma-separated hosts, domains (a domain
    /// covers its subdomains), IP addresses and CIDR ranges, or `*`.
    pub no_proxy: Option<String>,
}

impl ProxyConfig {
    /// Applies this configuration to a client: `https` requests through
    /// the proxy unless their host is loopback or in `no_proxy`; `http`
    /// (loopback only) never through one. Errors name the proxy URL.
    pub fn apply(&self, builder: ClientBuilder, tls: bool) -> Result<ClientBuilder, String> {
        // Off: reqwest would otherwise read the environment itself.
        let builder = builder.no_proxy();
        let Some(url) = self.url.as_deref().filter(|_| tls) else {
            return Ok(builder);
        };
        let bypass = match self.no_proxy.as_deref() {
            Some(list) if !list.trim().is_empty() => format!("{LOOPBACK_HOSTS},{list}"),
            _ => LOOPBACK_HOSTS.to_string(),
        };
        // reqwest takes any scheme here and ignores a proxy it cannot use.
        let scheme = url.split_once("://").map_or("http", |(scheme, _)| scheme);
        if !["http", "https", "socks5", "socks5h"].contains(&scheme.to_ascii_lowercase().as_str()) {
            return Err(redact(url));
        }
        let proxy = Proxy::https(url)
            .map_err(|_| redact(url))?
            .no_proxy(NoProxy::from_string(&bypass));
        Ok(builder.proxy(proxy))
    }

    /// The proxy URL without its password, for messages.
    pub fn shown(&self) -> Option<String> {
        self.url.as_deref().map(redact)
    }
}

/// `url` with any password replaced by `***`; also in text that does not
/// parse as a URL, where a password would be `scheme://user:PASSWORD@host`.
/// There the userinfo cannot be told from the rest with certainty (a
/// password may hold an unencoded `/`), so everything from the first `:`
/// after `://` to the last `@` goes: more hidden, never less.
pub fn redact(url: &str) -> String {
    if let Ok(mut parsed) = reqwest::Url::parse(url) {
        if parsed.password().is_some() {
            let _ = parsed.set_password(Some("***"));
            return parsed.to_string();
        }
        // A URL that parsed with no password has none to hide.
        return url.to_string();
    }
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    match (url[start..].find(':'), url[start..].rfind('@')) {
        (Some(colon), Some(at)) if colon < at => {
            format!("{}***{}", &url[..start + colon + 1], &url[start + at..])
        }
        _ => url.to_string(),
    }
}

/// What went wrong below HTTP, when it is something the user can fix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The server's certificate does not chain to a trusted CA (or does not
    /// name the host, or has expired).
    Certificate,
    /// The proxy answered 407: it wants credentials, or other ones.
    ProxyAuth,
}

/// Walks the chain of `error` for a certificate or proxy-auth failure.
pub fn cause_of(error: &(dyn StdError + 'static)) -> Option<Cause> {
    let mut next = Some(error);
    while let Some(current) = next {
        let inner = current
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|e| e as &(dyn StdError + 'static));
        for candidate in [Some(current), inner].into_iter().flatten() {
            let text = candidate.to_string();
            // rustls's error, which reaches here boxed in types that are
            // not exported; its text is rustls's `Display`.
            if let Some(rustls::Error::InvalidCertificate(_)) = candidate.downcast_ref() {
                return Some(Cause::Certificate);
            }
            if text.starts_with("invalid peer certificate") {
                return Some(Cause::Certificate);
            }
            // hyper-util's CONNECT tunnel error ("tunnel error: proxy
            // authorization required"), which is not exported either.
            if text.ends_with("proxy authorization required") {
                return Some(Cause::ProxyAuth);
            }
        }
        next = current.source();
    }
    None
}

/// What to do about a certificate that is not trusted, on this platform.
pub fn certificate_hint() -> String {
    if cfg!(target_os = "macos") {
        "if your network or mirror uses its own certificate authority (a corporate proxy does), \
         add that CA to the System keychain and trust it for SSL (Keychain Access, or \
         `sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain ca.pem`)"
            .into()
    } else if cfg!(windows) {
        "if your network or mirror uses its own certificate authority (a corporate proxy does), \
         import that CA into the Trusted Root Certification Authorities store"
            .into()
    } else {
        "if your network or mirror uses its own certificate authority (a corporate proxy does), \
         set SSL_CERT_FILE to a PEM file holding that CA (and the public roots, if you still need \
         them: SSL_CERT_FILE replaces the system's store), or add it to the system's store \
         (update-ca-certificates)"
            .into()
    }
}

/// What to do when no certificate to trust could be loaded, on this
/// platform.
pub fn tls_setup_hint() -> String {
    if cfg!(any(target_os = "macos", windows)) {
        "the system's certificate store could not be read; check its trust settings".into()
    } else {
        "no certificate to trust was found: SSL_CERT_FILE (a PEM file of CA certificates) and \
         SSL_CERT_DIR, when set, replace the system's store; point them at certificates, or unset \
         both to use the system's store"
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_also_in_urls_that_do_not_parse() {
        for (url, shown) in [
            ("https://u:pw@host/x", "https://u:***@host/x"),
            ("https://u@host/x", "https://u@host/x"),
            ("https://host/x@y:z", "https://host/x@y:z"),
            ("https://u:pw@[bad/x", "https://u:***@[bad/x"),
            ("https://u:p@w@host:1/x", "https://u:***@host:1/x"),
            ("https://u:pa/ss@host/x", "https://u:***@host/x"),
            ("https://u:pa?s#s@[bad/x", "https://u:***@[bad/x"),
            ("not a url", "not a url"),
        ] {
            assert_eq!(redact(url), shown, "{url}");
        }
    }

    #[test]
    fn passwords_are_not_shown() {
        let config = ProxyConfig {
            url: Some("http://alice:s3cret@proxy.example:3128".into()),
            no_proxy: None,
        };
        let shown = config.shown().unwrap();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("alice"), "{shown}");
    }

    #[test]
    fn only_usable_proxy_urls_are_taken() {
        let apply = |url: &str| {
            let config = ProxyConfig {
                url: Some(url.into()),
                no_proxy: None,
            };
            config
                .apply(reqwest::blocking::Client::builder(), true)
                .map(|_| ())
        };
        for good in [
            "http://proxy.example:3128",
            "proxy.example:3128",
            "HTTPS://proxy.example",
            "socks5://127.0.0.1:1080",
            "socks5h://u:p@127.0.0.1",
        ] {
            assert_eq!(apply(good), Ok(()), "{good}");
        }
        for bad in [
            "ftp://proxy.example",
            "socks4://proxy.example",
            "http://[bad",
        ] {
            assert!(apply(bad).is_err(), "{bad} taken");
        }
    }
}
