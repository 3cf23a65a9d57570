//! HTTP on loopback, for the floor and the API shim the peer needs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Mutex;
use std::time::Duration;

use super::ContextNone;
use crate::error::{Context, Result};
use crate::net::accept::Acceptor;

pub(super) struct HttpResponse {
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Box<dyn Read + Send>,
}

impl HttpResponse {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `GET url` over plain HTTP/1.1 (`http://host:port/path` only); the body is
/// limited to `Content-Length` when the server sends one.
pub(super) fn http_get(url: &str) -> Result<HttpResponse> {
    let rest = url
        .strip_prefix("http://")
        .context_none("only http:// URLs are supported here")?;
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    let stream =
        TcpStream::connect(authority).with_context(|| format!("cannot connect to {authority}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .context("cannot set a timeout")?;
    let mut writer = stream.try_clone().context("cannot clone a socket")?;
    write!(
        writer,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: pane-bench\r\nConnection: close\r\n\r\n"
    )
    .with_context(|| format!("cannot send GET {url}"))?;
    let mut reader = BufReader::with_capacity(256 * 1024, stream);
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .with_context(|| format!("no answer to GET {url}"))?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| crate::Error::msg(format!("GET {url}: bad status line {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader
            .read_line(&mut line)
            .with_context(|| format!("GET {url}: cannot read the headers"))?;
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<u64>().ok());
    let body: Box<dyn Read + Send> = match length {
        Some(length) => Box::new(reader.take(length)),
        None => Box::new(reader),
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// self_update's GitHub backend downloads an asset from the API `url` the
/// listing gives it; the bench server lists only `browser_download_url` (the
/// file URL pane uses). This shim answers the peer's API requests with the
/// server's own JSON plus `"url": <browser_download_url>` on every asset, so
/// the peer then downloads the archive straight from the same server as pane
/// and the floor. Answers are cached after the first (warm-up) request, so
/// during timed runs the shim costs the peer no more than the server would.
pub(super) struct ApiShim {
    acceptor: Acceptor,
}

pub(super) type CachedAnswer = (u16, Vec<(String, String)>, Vec<u8>);

impl ApiShim {
    pub(super) fn start(upstream: &str) -> Result<ApiShim> {
        let listener = TcpListener::bind("127.0.0.1:0").context("cannot listen on 127.0.0.1")?;
        let addr = listener
            .local_addr()
            .context("cannot read the bound address")?;
        let upstream = upstream.to_string();
        let own_base = format!("http://{addr}");
        let cache: Mutex<Vec<(String, CachedAnswer)>> = Mutex::new(Vec::new());
        // One connection at a time, in the accepting thread: the peer asks
        // the API once per update.
        let acceptor = Acceptor::spawn(listener, "bench api shim", move |stream| {
            let _ = shim_answer(stream, &upstream, &own_base, &cache);
        })
        .context("cannot start the shim thread")?;
        Ok(ApiShim { acceptor })
    }

    pub(super) fn base_url(&self) -> String {
        format!("http://{}", self.acceptor.addr())
    }
}

pub(super) fn shim_answer(
    mut stream: TcpStream,
    upstream: &str,
    own_base: &str,
    cache: &Mutex<Vec<(String, CachedAnswer)>>,
) -> Result<()> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .context("cannot set a timeout")?;
    let mut reader = BufReader::new(stream.try_clone().context("cannot clone a socket")?);
    let mut request_line = String::new();
    reader
        .read_line(&mut request_line)
        .context("cannot read the request")?;
    let mut line = String::new();
    while reader
        .read_line(&mut line)
        .context("cannot read the request")?
        > 2
    {
        line.clear();
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let cached = {
        let cache = cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, a)| a.clone())
    };
    let (status, headers, body) = match cached {
        Some(answer) => answer,
        None => {
            let answer = shim_fetch(&format!("{upstream}{path}"), upstream, own_base)?;
            cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((path, answer.clone()));
            answer
        }
    };
    let mut head = format!("HTTP/1.1 {status} Shim\r\n");
    for (name, value) in &headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(&body))
        .context("cannot answer")
}

/// The server's answer for `url`, with `url` added to every asset and the
/// server's address in `Link` replaced by the shim's.
pub(super) fn shim_fetch(url: &str, upstream: &str, own_base: &str) -> Result<CachedAnswer> {
    let mut response = http_get(url)?;
    let mut body = Vec::new();
    response
        .body
        .read_to_end(&mut body)
        .with_context(|| format!("cannot read {url}"))?;
    let mut headers = vec![(
        "Content-Type".to_string(),
        response
            .header("content-type")
            .unwrap_or("application/json")
            .to_string(),
    )];
    if let Some(link) = response.header("link") {
        headers.push(("Link".into(), link.replace(upstream, own_base)));
    }
    if let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(&body) {
        add_asset_urls(&mut json);
        body = serde_json::to_vec(&json).context("cannot encode JSON")?;
    }
    Ok((response.status, headers, body))
}

pub(super) fn add_asset_urls(json: &mut serde_json::Value) {
    match json {
        serde_json::Value::Array(items) => items.iter_mut().for_each(add_asset_urls),
        serde_json::Value::Object(release) => {
            if let Some(serde_json::Value::Array(assets)) = release.get_mut("assets") {
                for asset in assets.iter_mut().filter_map(|a| a.as_object_mut()) {
                    if let Some(download) = asset.get("browser_download_url").cloned() {
                        asset.insert("url".into(), download);
                    }
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shim_adds_asset_urls() {
        let mut json = serde_json::json!([{
            "tag_name": "v1.1.0",
            "assets": [{ "name": "a.tar.gz", "browser_download_url": "http://x/a.tar.gz" }]
        }]);
        add_asset_urls(&mut json);
        assert_eq!(json[0]["assets"][0]["url"], "http://x/a.tar.gz");
    }
}
