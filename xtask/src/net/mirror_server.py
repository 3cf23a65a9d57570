"""A release mirror in GitHub's shape, written apart from pane's own server:
Python's standard library only (http.server, ssl, json).

It listens twice, over TLS, with HTTP/1.1 keep-alive and a Content-Length on
every answer:

- the mirror (--mirror HOST:PORT):
  /OWNER/REPO/releases/latest/download/X -> 302 to
  /OWNER/REPO/releases/download/vLATEST/X; every
  /OWNER/REPO/releases/download/vV/X -> 302 to the CDN (--cdn-public + path);
  /repos/OWNER/REPO/releases (per_page, page, Link), .../releases/latest and
  .../releases/tags/T: GitHub's JSON, every asset with browser_download_url
  and url (both the mirror's download URL);
- the CDN (--cdn HOST:PORT): the files, ROOT/vV/X under
  /OWNER/REPO/releases/download/vV/X.

URLs it hands out name --mirror-public and --cdn-public, which may be a relay
in front of it. Each request is logged as one line to --log.
"""

import argparse
import json
import os
import re
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = 256 * 1024
LOG_LOCK = threading.Lock()


def semver_key(tag):
    match = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?", tag)
    if not match:
        return None
    major, minor, patch, pre = match.groups()
    # A release sorts after its pre-releases.
    return (int(major), int(minor), int(patch), pre is None, pre or "")


def releases(root):
    """(tag, is_prerelease, dir) for every vX.Y.Z folder, newest first."""
    found = []
    for name in os.listdir(root):
        path = os.path.join(root, name)
        key = semver_key(name)
        if key is not None and os.path.isdir(path):
            found.append((key, name, path))
    found.sort(reverse=True)
    return [(name, not key[3], path) for key, name, path in found]


def rfc3339(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


class Config:
    def __init__(self, args):
        self.root = args.root
        self.owner = args.owner
        self.repo = args.repo
        self.mirror_public = args.mirror_public.rstrip("/")
        self.cdn_public = args.cdn_public.rstrip("/")
        self.log = open(args.log, "a", encoding="utf-8")

    def releases_url(self):
        return f"{self.mirror_public}/{self.owner}/{self.repo}/releases"

    def api_url(self):
        return f"{self.mirror_public}/repos/{self.owner}/{self.repo}"

    def release_json(self, tag, prerelease, path):
        assets = []
        files = sorted(
            n for n in os.listdir(path)
            if not n.startswith(".") and os.path.isfile(os.path.join(path, n))
        )
        for index, name in enumerate(files):
            download = f"{self.releases_url()}/download/{tag}/{name}"
            assets.append({
                "id": index + 1,
                "name": name,
                "label": "",
                "content_type": "application/octet-stream",
                "state": "uploaded",
                "size": os.path.getsize(os.path.join(path, name)),
                "browser_download_url": download,
                "url": download,
            })
        published = rfc3339(int(os.path.getmtime(path)))
        return {
            "url": f"{self.api_url()}/releases/tags/{tag}",
            "html_url": f"{self.releases_url()}/tag/{tag}",
            "tag_name": tag,
            "name": tag,
            "draft": False,
            "prerelease": prerelease,
            "created_at": published,
            "published_at": published,
            "body": "",
            "assets": assets,
        }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pane-bench-python"
    timeout = 60
    # TCP_NODELAY, as nginx sets on keep-alive connections: the head and the
    # body go out in separate writes, and Nagle's algorithm would hold the
    # second until the client's delayed ACK.
    disable_nagle_algorithm = True
    config = None
    role = None

    def log_message(self, format, *args):
        pass

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def redirect(self, location):
        self.answer(302, headers=[("Location", location)])

    def json(self, value, headers=()):
        body = json.dumps(value).encode()
        self.answer(200, body, [("Content-Type", "application/json")] + list(headers))

    def not_found(self):
        self.answer(404, b"not found\n", [("Content-Type", "text/plain")])

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        config = self.config
        with LOG_LOCK:
            config.log.write(f"{self.role} {self.command} {self.path}\n")
            config.log.flush()
        path, _, query = self.path.partition("?")
        parts = path.strip("/").split("/")
        if any(p in ("", ".", "..") or p.startswith(".") for p in parts):
            return self.not_found()
        ours = parts[:2] == [config.owner, config.repo]
        repos = parts[:3] == ["repos", config.owner, config.repo]
        if self.role == "cdn":
            if ours and len(parts) == 6 and parts[2:4] == ["releases", "download"]:
                return self.send_file(os.path.join(config.root, parts[4], parts[5]))
            return self.not_found()
        if ours and len(parts) == 6 and parts[2:5] == ["releases", "latest", "download"]:
            stable = [r for r in releases(config.root) if not r[1]]
            if not stable:
                return self.not_found()
            return self.redirect(
                f"{config.releases_url()}/download/{stable[0][0]}/{parts[5]}")
        if ours and len(parts) == 6 and parts[2:4] == ["releases", "download"]:
            if not os.path.isfile(os.path.join(config.root, parts[4], parts[5])):
                return self.not_found()
            return self.redirect(config.cdn_public + path)
        if repos and parts[3:] == ["releases"]:
            return self.list_releases(query)
        if repos and parts[3:] == ["releases", "latest"]:
            stable = [r for r in releases(config.root) if not r[1]]
            if not stable:
                return self.not_found()
            return self.json(config.release_json(*stable[0]))
        if repos and len(parts) == 6 and parts[3:5] == ["releases", "tags"]:
            for release in releases(config.root):
                if release[0] == parts[5]:
                    return self.json(config.release_json(*release))
        return self.not_found()

    def list_releases(self, query):
        params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)

        def number(name, default):
            try:
                return int(params.get(name, default))
            except ValueError:
                return default

        per_page = min(max(number("per_page", 30), 1), 100)
        page = max(number("page", 1), 1)
        everything = releases(self.config.root)
        last = max((len(everything) + per_page - 1) // per_page, 1)
        items = everything[(page - 1) * per_page:page * per_page]
        base = f"{self.config.api_url()}/releases?per_page={per_page}"
        links = []
        if page < last:
            links.append(f'<{base}&page={page + 1}>; rel="next"')
            links.append(f'<{base}&page={last}>; rel="last"')
        if page > 1:
            links.append(f'<{base}&page={min(page - 1, last)}>; rel="prev"')
            links.append(f'<{base}&page=1>; rel="first"')
        headers = [("Link", ", ".join(links))] if links else []
        self.json([self.config.release_json(*r) for r in items], headers)

    def send_file(self, path):
        try:
            size = os.path.getsize(path)
            source = open(path, "rb")
        except OSError:
            return self.not_found()
        with source:
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            if self.command == "HEAD":
                return
            while True:
                chunk = source.read(CHUNK)
                if not chunk:
                    break
                self.wfile.write(chunk)


class TlsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, handler, context):
        super().__init__(address, handler)
        self.context = context

    def finish_request(self, request, client_address):
        # The handshake happens on the connection's own thread, so a slow
        # client never holds up the others.
        try:
            request = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        super().finish_request(request, client_address)


def serve(role, listen, config, context):
    host, port = listen.rsplit(":", 1)
    handler = type(f"{role.title()}Handler", (Handler,), {"config": config, "role": role})
    server = TlsServer((host, int(port)), handler, context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


def main():
    parser = argparse.ArgumentParser()
    for name in ("root", "owner", "repo", "cert", "key", "mirror", "cdn",
                 "mirror-public", "cdn-public", "log"):
        parser.add_argument(f"--{name}", required=True)
    args = parser.parse_args()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    config = Config(args)
    threads = [serve("cdn", args.cdn, config, context),
               serve("mirror", args.mirror, config, context)]
    print("listening", flush=True)
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    sys.exit(main())
