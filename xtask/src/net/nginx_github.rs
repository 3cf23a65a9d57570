//! nginx in GitHub's shape: a mirror and, in a second `server` block on
//! another address, its CDN. The mirror answers `latest/download/X` with a
//! `302` to `download/v<latest>/X` and every `download/v<V>/X` with a `302`
//! to the CDN, which serves the files; the API is static JSON the harness
//! writes next to the configuration (`releases`, `releases/latest`,
//! `releases/tags/<tag>`; a query such as `per_page` is ignored, which is
//! fine for the handful of releases a bench serves). Keep-alive is nginx's
//! default.

use std::path::Path;

use super::nginx::{latest_tag, nginx_binary, Nginx};
use super::tls::TestCa;
use super::Endpoints;
use crate::error::{Context, Result};

impl Nginx {
    /// nginx over `root` for `owner/repo`, listening where `at` says (the
    /// mirror and the CDN) and naming `at`'s public URLs.
    pub fn start_github(
        root: &Path,
        ca: &TestCa,
        owner: &str,
        repo: &str,
        at: &Endpoints,
    ) -> Result<Nginx> {
        let Some(binary) = nginx_binary() else {
            crate::bail!("nginx is not installed (apt-get install nginx)");
        };
        let dir = tempfile::tempdir().context("temp dir for nginx")?;
        let root = root.canonicalize().context("the release root")?;
        let latest = latest_tag(&root)?;
        let api = dir.path().join("api");
        write_api(&root, &api, owner, repo, &at.mirror_public)?;
        let config = github_config(dir.path(), &root, &api, ca, owner, repo, at, &latest);
        let nginx = Nginx::spawn(&binary, dir, config, at.mirror, owner, repo)?;
        super::wait_listening(at.cdn)?;
        Ok(nginx)
    }
}

/// The configuration: the mirror's `server` block, the CDN's, both over TLS.
#[allow(clippy::too_many_arguments)]
fn github_config(
    dir: &Path,
    root: &Path,
    api: &Path,
    ca: &TestCa,
    owner: &str,
    repo: &str,
    at: &Endpoints,
    latest: &str,
) -> String {
    let preamble = super::nginx::preamble(dir, 256);
    let tls = format!(
        "ssl_certificate {};\n        ssl_certificate_key {};",
        ca.cert_pem.display(),
        ca.key_pem.display()
    );
    let releases = format!("/{owner}/{repo}/releases");
    format!(
        r#"{preamble}
server {{
    listen {mirror} ssl;
    server_name {mirror_host} localhost;
    {tls}
    location ~ ^{releases}/latest/download/([^/]+)$ {{
        return 302 {mirror_public}{releases}/download/{latest}/$1;
    }}
    location ~ ^({releases}/download/[^/]+/[^/]+)$ {{
        return 302 {cdn_public}$1;
    }}
    location = /repos/{owner}/{repo}/releases {{
        default_type application/json;
        alias {api}/releases.json;
    }}
    location = /repos/{owner}/{repo}/releases/latest {{
        default_type application/json;
        alias {api}/latest.json;
    }}
    location ~ ^/repos/{owner}/{repo}/releases/tags/([^/]+)$ {{
        default_type application/json;
        alias {api}/tags/$1.json;
    }}
}}
server {{
    listen {cdn} ssl;
    server_name {cdn_host} localhost;
    {tls}
    location {releases}/download/ {{
        alias {root}/;
    }}
}}
}}
"#,
        mirror = at.mirror,
        cdn = at.cdn,
        mirror_host = super::MIRROR_HOST,
        cdn_host = super::CDN_HOST,
        mirror_public = at.mirror_public,
        cdn_public = at.cdn_public,
        api = api.display(),
        root = root.display(),
    )
}

/// GitHub's JSON for every release under `root`, as static files under
/// `api`: `releases.json` (newest first), `latest.json`, `tags/<tag>.json`.
/// Every asset has `browser_download_url` and `url` (the same: the mirror's
/// download URL, which self_update downloads from).
fn write_api(root: &Path, api: &Path, owner: &str, repo: &str, public: &str) -> Result<()> {
    std::fs::create_dir_all(api.join("tags")).context("creating the API dir")?;
    let releases_url = format!("{public}/{owner}/{repo}/releases");
    let api_url = format!("{public}/repos/{owner}/{repo}");
    let mut releases = Vec::new();
    for entry in std::fs::read_dir(root).context("reading the release root")? {
        let entry = entry.context("reading the release root")?;
        let tag = entry.file_name().to_string_lossy().into_owned();
        let Some(version) = tag
            .strip_prefix('v')
            .and_then(|v| semver::Version::parse(v).ok())
        else {
            continue;
        };
        releases.push((version, tag, entry.path()));
    }
    releases.sort_by(|a, b| b.0.cmp(&a.0));
    let mut all = Vec::new();
    for (version, tag, dir) in &releases {
        let mut files: Vec<(String, u64)> = std::fs::read_dir(dir)
            .context("reading a release")?
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_str()?.to_string();
                let metadata = e.metadata().ok()?;
                (metadata.is_file() && !name.starts_with('.')).then_some((name, metadata.len()))
            })
            .collect();
        files.sort();
        let assets: Vec<serde_json::Value> = files
            .iter()
            .enumerate()
            .map(|(index, (name, size))| {
                let download = format!("{releases_url}/download/{tag}/{name}");
                serde_json::json!({
                    "id": index + 1, "name": name, "label": "",
                    "content_type": "application/octet-stream", "state": "uploaded",
                    "size": size, "browser_download_url": download, "url": download,
                })
            })
            .collect();
        let published = crate::channel::rfc3339(0);
        let release = serde_json::json!({
            "url": format!("{api_url}/releases/tags/{tag}"),
            "html_url": format!("{releases_url}/tag/{tag}"),
            "tag_name": tag, "name": tag, "draft": false,
            "prerelease": !version.pre.is_empty(),
            "created_at": published, "published_at": published,
            "body": "", "assets": assets,
        });
        write_json(&api.join("tags").join(format!("{tag}.json")), &release)?;
        if version.pre.is_empty() && !api.join("latest.json").exists() {
            write_json(&api.join("latest.json"), &release)?;
        }
        all.push(release);
    }
    write_json(&api.join("releases.json"), &serde_json::Value::Array(all))
}

fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_vec(value).context("encoding JSON")?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
