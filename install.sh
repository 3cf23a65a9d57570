#!/bin/sh
# install.sh: download, verify and install pane.
#
#   curl --proto '=https' --tlsv1.2 -sSf https://github.com/pane-cli/pane/releases/latest/download/install.sh | sh
#   curl --proto '=https' --tlsv1.2 -sSf .../install.sh | sh -s -- --version 1.2.0 --install-dir ~/bin
#
# What it does, in this order, trusting nothing before it has been checked:
#   1. fetches SHA256SUMS.minisig and SHA256SUMS from the release;
#   2. verifies the minisign signature against the public keys embedded below (with `minisign`,
#      else with OpenSSL 3), including the signed trusted comment: product, file and version;
#      without either tool it installs nothing, unless this script was stamped for the version
#      being installed (see stamped_sums below) or --insecure-skip-signature says so;
#   3. refuses a pre-release nobody asked for, and (without --version) a version below the
#      highest one this machine has verified, which is no error: it says so and stops;
#   4. takes the one SHA256SUMS line for pane-<version>-<target>.tar.gz, downloads that archive
#      and checks its SHA-256 (fails closed);
#   5. unpacks it in a temporary directory and hands over to the verified binary:
#      `pane self install`, which places it, writes the install receipt and sets up PATH (in
#      GitHub Actions, this script appends the install dir to $GITHUB_PATH instead).
#
# It never runs sudo and only speaks https (plain http only to a loopback host, for mirrors on
# this machine), through a downloader that checks certificates, with a deadline on every
# download. Every line of code is inside a function and `main "$@"` is the last line, so a
# download cut short runs nothing. That line is a brace group, `{ main "$@"; }`, because a shell
# runs a brace group only once it has read all of it: a download cut to `main` or `main "$@"`
# (without the arguments the user gave) is then a syntax error rather than an install.

usage() {
    cat <<'EOF'
pane-install: download, verify and install pane

USAGE:
    curl --proto '=https' --tlsv1.2 -sSf <releases>/latest/download/install.sh | sh -s -- [OPTIONS]
    sh install.sh [OPTIONS]

OPTIONS:
    --version VERSION   install exactly this version (e.g. 1.2.0) instead of the latest release;
                        the only way to go below a version this machine already has
    --prerelease        install the highest release, pre-releases included (listed through
                        PANE_RELEASES_API_URL); without it, a pre-release is installed only
                        when named with --version
    --install-dir DIR   put the pane binary in DIR
                        [default: $XDG_BIN_HOME when absolute, else ~/.local/bin]
    --no-modify-path    do not edit shell profiles, write PATH set-up files or $GITHUB_PATH
    --insecure-skip-signature
                        install even when no tool here can check the release's signature
                        (neither minisign nor OpenSSL 3): only the unsigned SHA-256 is checked
    -y, --yes           do not ask for confirmation
    -q, --quiet         print only warnings and errors
    -v, --verbose       also say which tools are used and every URL downloaded
    -h, --help          print this help

The signature of the release is always checked, with minisign or OpenSSL 3. The install.sh
published with a release carries the SHA-256 of that release's archives, so it installs its own
version with no signature tool at all (stock macOS); any other version needs one.

In GitHub Actions ($GITHUB_PATH set) the install dir is added to $GITHUB_PATH instead of
editing shell profiles.

ENVIRONMENT:
    PANE_VERSION            same as --version
    PANE_INSTALL_DIR        same as --install-dir
    PANE_NO_MODIFY_PATH=1   same as --no-modify-path
    PANE_PRERELEASE=1       same as --prerelease
    PANE_INSTALL_INSECURE_SKIP_SIGNATURE=1
                            same as --insecure-skip-signature
    PANE_RELEASES_URL       where releases are downloaded from (a mirror with the same layout)
                            [default: https://github.com/pane-cli/pane/releases]
    PANE_RELEASES_API_URL   where --prerelease lists releases
                            [default: https://api.github.com/repos/pane-cli/pane]
    PANE_REQUIRE_SIGNATURE=1
                            refuse --insecure-skip-signature (for provisioning scripts that
                            must never install an unchecked release)
    PANE_INSTALL_TIMEOUT    seconds allowed for the signature and SHA256SUMS [default: 30]; the
                            archive gets 20 times as long and must average 16 KiB/s
    PANE_INSTALL_PUBKEY     trust this minisign public key (base64 key line) instead of the
                            keys embedded in this script (for forks and tests)
EOF
}

# Hides the password of a URL with credentials (scheme://user:PASSWORD@host) in text bound for
# the terminal: everything from the user's colon to the last @ of the word, more rather than less.
# Without sed (check_tools names it missing, through die), the text goes out as it is.
redact() {
    if command -v sed >/dev/null 2>&1; then
        sed 's#\(://[^:/@[:space:]]*\):[^[:space:]]*@#\1:***@#g'
    else
        while IFS= read -r _line || [ -n "$_line" ]; do
            printf '%s\n' "$_line"
        done
    fi
}

say() {
    if [ "${_quiet:-0}" = 0 ]; then
        printf 'pane-install: %s\n' "$*" | redact >&2
    fi
}

# Only with --verbose.
debug() {
    if [ "${_verbose:-0}" = 1 ]; then
        printf 'pane-install: %s\n' "$*" | redact >&2
    fi
}

warn() {
    printf 'pane-install: warning: %s\n' "$*" | redact >&2
}

die() {
    printf 'pane-install: error: %s\n' "$*" | redact >&2
    exit 1
}

usage_error() {
    printf 'pane-install: error: %s\n' "$*" >&2
    printf 'pane-install: run with --help for usage\n' >&2
    exit 2
}

has() {
    command -v "$1" >/dev/null 2>&1
}

# True for "1", "true", "yes", "on" (any case); false for empty, "0", "false", "no", "off".
truthy() {
    case "$1" in
        '' | 0 | [Ff][Aa][Ll][Ss][Ee] | [Nn][Oo] | [Oo][Ff][Ff]) return 1 ;;
        *) return 0 ;;
    esac
}

# The public keys that may sign releases: keys/*.pub minus keys/revoked. Generated; a test
# (tests/it/install_sh.rs) fails when this block and keys/ disagree, and rewrites the block
# when run with PANE_BLESS=1.
# BEGIN EMBEDDED KEYS
embedded_keys() {
    # keys/pane-backup-1.pub, key id 1FDAA0D0CADCC87D
    echo 'RWR9yNzK0KDaHxDV4ikNUwi9MhixEPjkq4kj8V/4DGXou4V2SY4krftk'
    # keys/pane-release-1.pub, key id 95C291429C79615D
    echo 'RWRdYXmcQpHClUdAYgLW09S8Z/f03jxRTe8zg6wNZ6Q//vzYDpaxTYyk'
}
# END EMBEDDED KEYS

# The release this copy of the script belongs to, stamped by `cargo xtask install-sh` into the
# install.sh published with each release (itself listed in the signed SHA256SUMS): its version,
# and the SHA-256 of each of its archives, one `<sha256>  <archive>` line each. Empty in the
# repository. A stamped script installs its own version by default, and needs no signature tool
# for it: the checksums it carries came over the same TLS connection as the script itself.
# BEGIN STAMPED RELEASE
stamped_version() {
    :
}
stamped_sums() {
    :
}
# END STAMPED RELEASE

cleanup() {
    if [ -n "${_tmp:-}" ] && [ -d "$_tmp" ]; then
        rm -rf "$_tmp"
    fi
}

# HOME may be unset (cron, some containers, `env -i`): take it from the password database.
resolve_home() {
    if [ -n "${HOME:-}" ]; then
        return 0
    fi
    _user=$(id -un 2>/dev/null) || _user=""
    _home=""
    if [ -n "$_user" ] && has getent; then
        _home=$(getent passwd "$_user" 2>/dev/null | cut -d: -f6)
    fi
    if [ -z "$_home" ] && [ -n "$_user" ] && has dscl; then
        _home=$(dscl . -read "/Users/$_user" NFSHomeDirectory 2>/dev/null | sed -n 's/^NFSHomeDirectory: //p')
    fi
    if [ -n "$_home" ]; then
        HOME=$_home
        export HOME
    fi
}

# Sets _target to the release target triple for this machine.
detect_target() {
    if [ -n "${PANE_TARGET:-}" ]; then
        # Undocumented: lets tests install a build made for the host triple.
        case "$PANE_TARGET" in
            *[!A-Za-z0-9_.-]*) usage_error "PANE_TARGET is not a target triple: $PANE_TARGET" ;;
        esac
        _target=$PANE_TARGET
        return 0
    fi
    _os=$(uname -s 2>/dev/null) || _os=unknown
    _arch=$(uname -m 2>/dev/null) || _arch=unknown
    case "$_os" in
        Linux) _os_part=unknown-linux-musl ;;
        Darwin) _os_part=apple-darwin ;;
        *) unsupported_platform "$_os" "$_arch" ;;
    esac
    case "$_arch" in
        x86_64 | amd64) _arch_part=x86_64 ;;
        aarch64 | arm64) _arch_part=aarch64 ;;
        *) unsupported_platform "$_os" "$_arch" ;;
    esac
    # An x86_64 shell on Apple silicon runs under Rosetta 2; the native build is the better one.
    if [ "$_os" = Darwin ] && [ "$_arch_part" = x86_64 ]; then
        if [ "$(sysctl -n sysctl.proc_translated 2>/dev/null)" = 1 ]; then
            _arch_part=aarch64
        fi
    fi
    _target="$_arch_part-$_os_part"
}

unsupported_platform() {
    die "there is no prebuilt pane for this platform ($1 $2).
    Builds exist for x86_64 and aarch64 Linux (musl) and macOS. To install by hand, download the
    archive for your platform with SHA256SUMS and SHA256SUMS.minisig from $_base (see
    \"Manual download\" in the README), or build from source: cargo install --locked --git $_repo"
}

# valid_version V: true when V (without a leading "v") is a semver version.
valid_version() {
    case "$1" in
        '' | *[!0-9A-Za-z.+-]*) return 1 ;;
    esac
    printf '%s\n' "$1" |
        grep -Eq '^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$'
}

# is_prerelease V: true when the semver version V has a pre-release part (1.3.0-beta.1).
is_prerelease() {
    case "${1%%+*}" in
        *-*) return 0 ;;
        *) return 1 ;;
    esac
}

# version_lt A B: true when version A is lower than B by semver precedence (build metadata
# ignored; numeric identifiers compare as numbers, others in ASCII order; a pre-release is lower
# than its release).
version_lt() {
    LC_ALL=C awk -v a="$1" -v b="$2" '
        function cmp(x, y) {
            if (x ~ /^[0-9]+$/ && y ~ /^[0-9]+$/) {
                if (length(x) != length(y)) return length(x) < length(y) ? -1 : 1
            } else if (x ~ /^[0-9]+$/) {
                return -1
            } else if (y ~ /^[0-9]+$/) {
                return 1
            }
            return x "" < y "" ? -1 : (x "" > y "" ? 1 : 0)
        }
        BEGIN {
            sub(/\+.*/, "", a); sub(/\+.*/, "", b)
            ap = ""; bp = ""
            i = index(a, "-"); if (i) { ap = substr(a, i + 1); a = substr(a, 1, i - 1) }
            i = index(b, "-"); if (i) { bp = substr(b, i + 1); b = substr(b, 1, i - 1) }
            split(a, an, "."); split(b, bn, ".")
            for (k = 1; k <= 3; k++) { c = cmp(an[k], bn[k]); if (c) exit (c < 0 ? 0 : 1) }
            if (ap == bp || ap == "") exit 1
            if (bp == "") exit 0
            n = split(ap, ax, "."); m = split(bp, bx, ".")
            for (k = 1; k <= n && k <= m; k++) { c = cmp(ax[k], bx[k]); if (c) exit (c < 0 ? 0 : 1) }
            exit (n < m ? 0 : 1)
        }'
}

# True when the URL's host is loopback: 127.0.0.0/8, [::1] or localhost. Anything odd in the
# authority (user info, unexpected characters) counts as not loopback.
is_loopback_url() {
    _rest=${1#*://}
    _authority=${_rest%%/*}
    _authority=${_authority%%\?*}
    _authority=${_authority%%#*}
    # A login (user:password@) is not the host: take what follows the last @ (curl splits at the
    # first and then refuses a host that holds another @, so nothing more is let through).
    _authority=${_authority##*@}
    case "$_authority" in
        '' | *[!A-Za-z0-9.:\[\]-]*) return 1 ;;
    esac
    case "$_authority" in
        '[::1]' | '[::1]:'*) _host='[::1]' ;;
        \[*) return 1 ;;
        *) _host=${_authority%%:*} ;;
    esac
    _port=${_authority#"$_host"}
    case "$_port" in
        '' | :) ;;
        :*[!0-9]*) return 1 ;;
        :*) ;;
        *) return 1 ;;
    esac
    case "$_host" in
        '[::1]' | [Ll][Oo][Cc][Aa][Ll][Hh][Oo][Ss][Tt]) return 0 ;;
        127.*) printf '%s\n' "$_host" | grep -Eq '^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$' ;;
        *) return 1 ;;
    esac
}

# Checks the releases URL against the transport rule and sets _allow_http.
check_base_url() {
    case "$_base" in
        *[![:graph:]]*) die "PANE_RELEASES_URL contains spaces or control characters: $_base" ;;
    esac
    case "$_base" in
        https://?*) _allow_http=0 ;;
        http://?*)
            if is_loopback_url "$_base"; then
                _allow_http=1
            else
                die "refusing plain http for $_base: only https is allowed, or http to a loopback host (127.0.0.1, ::1, localhost)"
            fi
            ;;
        *) die "PANE_RELEASES_URL must be an https:// URL: $_base" ;;
    esac
}

# Sets _downloader and the options it supports.
pick_downloader() {
    if has curl; then
        _downloader=curl
        _curl_help=$(curl --help all 2>/dev/null) || _curl_help=""
        if [ -z "$_curl_help" ]; then
            _curl_help=$(curl --help 2>/dev/null) || _curl_help=""
        fi
    elif has wget; then
        _downloader=wget
        if wget --version 2>/dev/null | grep -q 'GNU Wget'; then
            _wget_gnu=1
        else
            _wget_gnu=0
            # BusyBox wget does not check TLS certificates at all ("TLS certificate validation
            # not implemented"), so over https an on-path attacker could serve both the archive
            # and its checksum.
            if [ "$_allow_http" = 0 ]; then
                die "the only downloader here is $(command -v wget) (BusyBox wget), which does not verify TLS certificates; refusing to download over https with it. Install curl or GNU wget (apk add curl; apt-get install curl) and run this again"
            fi
        fi
    else
        die "neither curl nor wget was found; install one of them (apt-get install curl; apk add curl; dnf install curl) and run this again"
    fi
    if has timeout; then
        _timeout_cmd=1
    else
        _timeout_cmd=0
    fi
    debug "downloading with $(command -v "$_downloader")"
}

# The tools this script needs besides a downloader, checked before anything is downloaded so
# that a missing one is a clear error rather than a failure half-way.
check_tools() {
    _missing=""
    for _tool in tar gzip mktemp awk sed grep head wc tr cut sort uniq od chmod mkdir rm cat dirname; do
        has "$_tool" || _missing="$_missing $_tool"
    done
    if [ -n "$_missing" ]; then
        die "this script needs these tools, which are not installed:$_missing. Install them (on Debian or Ubuntu: apt-get install tar gzip coreutils; on Alpine: apk add tar gzip coreutils) and run this again"
    fi
}

# Proxies and CAs. curl reads https_proxy/HTTPS_PROXY and all_proxy/ALL_PROXY (http://,
# https://, socks5://, socks5h://, with user:password@) and SSL_CERT_FILE/SSL_CERT_DIR itself
# (CURL_CA_BUNDLE first); GNU wget reads https_proxy but not the CA variables, which become its
# options in download. Loopback never goes through a proxy: its names join no_proxy, which both
# read.
setup_network() {
    no_proxy=${no_proxy:-${NO_PROXY:-}}
    no_proxy="${no_proxy:+$no_proxy,}localhost,127.0.0.1,::1,127.0.0.0/8"
    NO_PROXY=$no_proxy
    export no_proxy NO_PROXY
}

# explain_failure URL ERRFILE: a line on what to do about a proxy's 407 or an untrusted certificate.
explain_failure() {
    if grep -Eqi '(response|error:) 407|Proxy Authentication Required' "$2" 2>/dev/null; then
        printf 'pane-install: %s\n' "the proxy refused to connect to $(printf '%s\n' "$1" | redact) without valid credentials (407 Proxy Authentication Required); put them in its URL: https_proxy=http://user:password@host:port (percent-encode special characters)" >&2
    elif grep -Eqi 'certificate' "$2" 2>/dev/null; then
        printf 'pane-install: %s\n' "the certificate of $(printf '%s\n' "$1" | redact) is not trusted. If your network or mirror uses its own certificate authority (a corporate proxy does), set SSL_CERT_FILE to a PEM file holding it (on macOS, add it to the System keychain instead)" >&2
    fi
}

curl_supports() {
    case "$_curl_help" in
        *"$1"*) return 0 ;;
        *) return 1 ;;
    esac
}

# download URL FILE MAX_BYTES DEADLINE MIN_RATE: fetches URL into FILE; fails on an HTTP error, a
# redirect to plain http (unless the base is loopback http), a body larger than MAX_BYTES, a
# download that takes more than DEADLINE seconds in all (retries included), or, with curl, one
# that averages less than MIN_RATE bytes per second over any $_timeout seconds.
download() {
    _url=$1
    _file=$2
    _max=$3
    _deadline=$4
    _min_rate=$5
    debug "downloading $_url (at most $_max bytes, $_deadline s)"
    if [ "$_downloader" = curl ]; then
        set -- curl --fail --silent --show-error --location --max-redirs 5 --connect-timeout "$_timeout"
        if [ "$_allow_http" = 1 ]; then
            set -- "$@" --proto '=http,https' --proto-redir '=http,https'
        elif curl_supports --proto; then
            set -- "$@" --proto '=https' --proto-redir '=https'
        else
            warn "this curl cannot be restricted to https (--proto); relying on the signature alone"
        fi
        if curl_supports --tlsv1.2; then
            set -- "$@" --tlsv1.2
        fi
        # A ~/.curlrc may say `insecure`; the command line comes after it and wins.
        set -- "$@" --no-insecure
        if curl_supports --proxy-insecure; then
            set -- "$@" --no-proxy-insecure
        fi
        if curl_supports --retry; then
            set -- "$@" --retry 3
            # The deadline covers the retries too.
            if curl_supports --retry-max-time; then
                set -- "$@" --retry-max-time "$_deadline"
            fi
        fi
        if curl_supports --speed-time; then
            set -- "$@" --speed-limit "$_min_rate" --speed-time "$_timeout"
        fi
        if curl_supports --max-filesize; then
            set -- "$@" --max-filesize "$_max"
        fi
        set -- "$@" --max-time "$_deadline"
    elif [ "$_wget_gnu" = 1 ]; then
        # GNU wget's --timeout bounds each read, not the whole download: timeout(1) does that.
        set -- wget --quiet "--timeout=$_timeout" --tries=3 --max-redirect=5
        if [ "$_allow_http" = 0 ]; then
            # --check-certificate=on overrides `check_certificate = off` in a wgetrc.
            set -- "$@" --https-only --secure-protocol=TLSv1_2 --check-certificate=on
        fi
        if [ -n "${SSL_CERT_FILE:-}" ]; then
            set -- "$@" "--ca-certificate=$SSL_CERT_FILE"
        fi
        if [ -n "${SSL_CERT_DIR:-}" ]; then
            set -- "$@" "--ca-directory=$SSL_CERT_DIR"
        fi
        set -- "$@" -O -
    else
        # BusyBox wget (loopback http only: see pick_downloader): few options, and -T crashes
        # builds made without timeout support (Debian's before 1.36.1-5:
        # https://github.com/docker-easyconnect/docker-easyconnect/pull/369), so timeout(1)
        # bounds it.
        set -- wget -q -O -
    fi
    if [ "$_downloader" = wget ] && [ "$_timeout_cmd" = 1 ]; then
        set -- timeout "$_deadline" "$@"
    fi
    rm -f "$_file" "$_file.status" "$_file.err"
    if [ "$_downloader" = curl ]; then
        # curl writes the file itself: before a retry it empties the file, where a pipe would
        # keep the bytes of the attempt that failed ahead of the next one's. A body that goes on
        # past the cap is cut off by the file size limit (curl's --max-filesize does that only
        # from curl 8.4.0 on, and earlier only when a Content-Length announced it): curl then
        # fails to write, with SIGXFSZ ignored so that curl, not the shell, says so.
        : >"$_file"
        # `ulimit -f` counts 512-byte blocks in POSIX shells and 1024-byte ones in bash outside
        # its POSIX mode.
        _block=512
        # shellcheck disable=SC3044 # only bash reaches shopt
        if [ -n "${BASH_VERSION:-}" ] && ! (shopt -qo posix) 2>/dev/null; then
            _block=1024
        fi
        (
            trap '' XFSZ
            ulimit -f "$((_max / _block + 2))" 2>/dev/null
            exec "$@" --output "$_file" "$_url"
        ) 2>"$_file.err"
        _status=$?
    else
        # The body passes through `head -c` so that a server sending more than it should, or
        # never stopping, is cut off at the cap whatever its Content-Length said. A retry of GNU
        # wget asks for the rest only, and skips what it already wrote when the server sends the
        # whole file again. The downloader's exit status comes back through a file: a
        # pipeline's status is that of its last command.
        {
            "$@" "$_url" 2>"$_file.err"
            echo "$?" >"$_file.status"
        } | head -c "$((_max + 1))" >"$_file"
        _status=$(cat "$_file.status" 2>/dev/null) || _status=1
        rm -f "$_file.status"
    fi
    if [ -f "$_file.err" ]; then
        redact <"$_file.err" >&2
    fi
    if [ "$_status" != 0 ]; then
        explain_failure "$_url" "$_file.err"
    fi
    rm -f "$_file.err"
    _size=$(wc -c <"$_file" | tr -d ' ')
    if [ "$_size" -gt "$_max" ]; then
        say "$_url is larger than the $_max bytes allowed for it"
        return 1
    fi
    case "$_status" in
        0) return 0 ;;
        28 | 124) say "$_url: too slow; gave up after $_deadline seconds or below $_min_rate bytes/s (PANE_INSTALL_TIMEOUT=$_timeout)" ;;
    esac
    return 1
}

# fetch URL FILE MAX_BYTES DEADLINE MIN_RATE: download, or stop with a message.
fetch() {
    if ! download "$1" "$2" "$3" "$4" "$5"; then
        if [ -n "$_version" ]; then
            die "could not download $1
    Is $_version a released version with a build for $_target? See $_base"
        fi
        die "could not download $1"
    fi
}

# Sets _keys to the trusted public keys, one base64 key line each.
load_keys() {
    if [ -n "${PANE_INSTALL_PUBKEY:-}" ]; then
        say "trusting the public key from PANE_INSTALL_PUBKEY instead of the keys embedded in this script"
        _keys=$PANE_INSTALL_PUBKEY
        _trust_source="the key in PANE_INSTALL_PUBKEY"
    else
        _keys=$(embedded_keys)
        _trust_source="one of the keys embedded in this script"
    fi
    for _key in $_keys; do
        # The key starts with the algorithm "Ed", which base64 spells RW[Q-T]; 42 bytes make 56
        # characters.
        case "$_key" in
            RW[QRST]*) ;;
            *) die "not a minisign public key: $_key" ;;
        esac
        if [ "${#_key}" -ne 56 ]; then
            die "not a minisign public key: $_key"
        fi
        case "$_key" in
            *[!A-Za-z0-9+/=]*) die "not a minisign public key: $_key" ;;
        esac
    done
    if [ -z "$_keys" ]; then
        die "this install.sh has no public keys to check releases against"
    fi
}

# Sets _verifier to the tool that checks the signature: minisign, openssl (OpenSSL 3 with
# Ed25519 and BLAKE2b-512) or none. LibreSSL (stock macOS) has no Ed25519.
pick_verifier() {
    if has minisign; then
        _verifier=minisign
    elif have_openssl_ed25519; then
        _verifier=openssl
    else
        _verifier=none
    fi
    debug "signature checked with: $_verifier"
}

# The install receipt `pane self install` keeps in its data dir (the `directories` crate's, for
# the project dev.pane.pane).
receipt_path() {
    if [ "$(uname -s 2>/dev/null)" = Darwin ]; then
        printf '%s\n' "${HOME:-}/Library/Application Support/dev.pane.pane/install-receipt.json"
        return 0
    fi
    case "${XDG_DATA_HOME:-}" in
        /*) printf '%s\n' "$XDG_DATA_HOME/pane/install-receipt.json" ;;
        *) printf '%s\n' "${HOME:-}/.local/share/pane/install-receipt.json" ;;
    esac
}

# receipt_field FILE NAME: the string value of the receipt's top-level field NAME (the receipt
# is pretty-printed JSON and its top-level fields come before the nested ones), or nothing.
receipt_field() {
    sed -n "s/^  \"$2\": \"\([0-9A-Za-z.+-]*\)\",\{0,1\}\$/\1/p" "$1" 2>/dev/null | head -n 1
}

# Sets _floor to the version that an install without --version may not go below: the highest
# version this machine has verified (only stable ones, unless --prerelease), as the receipt
# records it; and _installed to the version installed. Both empty without a receipt.
read_floor() {
    _floor=""
    _installed=""
    _receipt=$(receipt_path)
    [ -f "$_receipt" ] || return 0
    _installed=$(receipt_field "$_receipt" version)
    _highest=$(receipt_field "$_receipt" highest_verified)
    _highest_stable=$(receipt_field "$_receipt" highest_verified_stable)
    if [ "$_prerelease" = 1 ]; then
        _floor=$_highest
    elif [ -n "$_highest_stable" ]; then
        _floor=$_highest_stable
    elif ! is_prerelease "$_highest"; then
        _floor=$_highest
    fi
    valid_version "$_floor" || _floor=""
    valid_version "$_installed" || _installed=""
    debug "receipt $_receipt: installed ${_installed:-?}, floor ${_floor:-none}"
}

have_openssl_ed25519() {
    has openssl || return 1
    case "$(openssl version 2>/dev/null)" in
        "OpenSSL "[3-9].*) ;;
        *) return 1 ;;
    esac
    openssl list -public-key-algorithms 2>/dev/null | grep -qi ed25519 || return 1
    openssl list -digest-algorithms 2>/dev/null | grep -qi blake2b512 || return 1
}

# verify_signature SUMS SIG: checks SIG (a minisign signature) over SUMS with the trusted keys and
# sets _comment to its verified trusted comment. Returns 1 when it verifies under no key; sets
# _checked=0 when no tool could check it at all.
verify_signature() {
    _sums=$1
    _sig=$2
    _checked=1
    case "$(sed -n 1p "$_sig")" in
        "untrusted comment: "*) ;;
        *) die "SHA256SUMS.minisig is not a minisign signature" ;;
    esac
    _sig_line=$(sed -n 2p "$_sig")
    _comment_line=$(sed -n 3p "$_sig")
    _global_line=$(sed -n 4p "$_sig")
    # The first two bytes name the algorithm: "ED" (prehashed, base64 RU[Q-T]) or the legacy
    # "Ed" (base64 RW[Q-T]), which pane refuses.
    case "$_sig_line" in
        RU[QRST]*) ;;
        RW[QRST]*) die "SHA256SUMS.minisig is a legacy (non-prehashed) minisign signature; pane releases are never signed that way" ;;
        *) die "SHA256SUMS.minisig is not a minisign signature" ;;
    esac
    case "$_comment_line" in
        "trusted comment: "*) ;;
        *) die "SHA256SUMS.minisig has no trusted comment" ;;
    esac
    # minisign ignores a trailing carriage return on the comment line; so does this.
    _comment=$(printf '%s' "${_comment_line#trusted comment: }" | tr -d '\r')
    case "$_sig_line" in
        *[!A-Za-z0-9+/=]*) die "SHA256SUMS.minisig is not a minisign signature" ;;
    esac
    case "$_global_line" in
        '' | *[!A-Za-z0-9+/=]*) die "SHA256SUMS.minisig is not a minisign signature" ;;
    esac

    if has minisign; then
        for _key in $_keys; do
            if minisign -V -H -q -m "$_sums" -x "$_sig" -P "$_key" >/dev/null 2>&1; then
                return 0
            fi
        done
        return 1
    fi
    if have_openssl_ed25519; then
        for _key in $_keys; do
            if openssl_verify "$_sums" "$_key"; then
                return 0
            fi
        done
        return 1
    fi
    _checked=0
    return 0
}

# key_id_of LINE: the key id in a minisign key or signature line (base64), as minisign prints
# it (16 uppercase hex digits: the 8 bytes after the algorithm, little-endian); nothing when no
# base64 decoder is at hand. Only for messages: verification compares the raw bytes.
key_id_of() {
    if has openssl; then
        _hex=$(printf '%s' "$1" | openssl base64 -d -A 2>/dev/null | od -An -v -tx1 | tr -d ' \n')
    elif has base64; then
        _hex=$(printf '%s\n' "$1" | base64 -d 2>/dev/null | od -An -v -tx1 | tr -d ' \n')
    else
        return 0
    fi
    [ "${#_hex}" -ge 20 ] || return 0
    _hex=${_hex#????}
    _id=""
    _i=0
    while [ "$_i" -lt 8 ]; do
        _id=${_hex%"${_hex#??}"}$_id
        _hex=${_hex#??}
        _i=$((_i + 1))
    done
    printf '%s' "$_id" | tr 'abcdef' 'ABCDEF'
}

# Says why the signature did not verify under any trusted key, and stops.
refuse_signature() {
    _sig_id=$(key_id_of "$_sig_line")
    _known=0
    for _key in $_keys; do
        if [ -n "$_sig_id" ] && [ "$(key_id_of "$_key")" = "$_sig_id" ]; then
            _known=1
        fi
    done
    if [ -n "$_sig_id" ] && [ "$_known" = 0 ]; then
        die "the signature of SHA256SUMS does not verify: it was made by key $_sig_id, which is not $_trust_source. This release is not genuine, or this script is older than the key that signed it. Nothing was installed."
    fi
    die "the signature of SHA256SUMS does not verify${_sig_id:+ under key $_sig_id}: SHA256SUMS or its signature was altered. Nothing was installed."
}

b64decode() {
    printf '%s' "$1" | openssl base64 -d -A >"$2" 2>/dev/null
}

hex_of() {
    od -An -v -tx1 "$1" | tr -d ' \n'
}

# openssl_verify SUMS KEY: minisign's prehashed scheme with OpenSSL 3: the signature is Ed25519
# over BLAKE2b-512(SUMS); the global signature is Ed25519 over signature || trusted comment.
# See https://jedisct1.github.io/minisign/#signature-format
openssl_verify() {
    _v="$_tmp/openssl"
    rm -rf "$_v"
    mkdir "$_v" || return 1
    b64decode "$2" "$_v/pub.raw" || return 1
    b64decode "$_sig_line" "$_v/sig.raw" || return 1
    b64decode "$_global_line" "$_v/global.sig" || return 1
    [ "$(wc -c <"$_v/pub.raw" | tr -d ' ')" = 42 ] || return 1
    [ "$(wc -c <"$_v/sig.raw" | tr -d ' ')" = 74 ] || return 1
    [ "$(wc -c <"$_v/global.sig" | tr -d ' ')" = 64 ] || return 1
    # The algorithm (2 bytes) and key id (8 bytes) must match: "Ed" + id in the key, "ED" + id in
    # the signature.
    dd if="$_v/pub.raw" of="$_v/pub.head" bs=1 count=10 2>/dev/null || return 1
    dd if="$_v/sig.raw" of="$_v/sig.head" bs=1 count=10 2>/dev/null || return 1
    _pub_head=$(hex_of "$_v/pub.head")
    _sig_head=$(hex_of "$_v/sig.head")
    [ "${_pub_head%"${_pub_head#????}"}" = 4564 ] || return 1
    [ "${_sig_head%"${_sig_head#????}"}" = 4544 ] || return 1
    [ "${_pub_head#????}" = "${_sig_head#????}" ] || return 1
    # An Ed25519 SubjectPublicKeyInfo is this fixed 12-byte DER prefix followed by the raw key.
    {
        printf '\060\052\060\005\006\003\053\145\160\003\041\000'
        dd if="$_v/pub.raw" bs=1 skip=10 count=32 2>/dev/null
    } >"$_v/pub.der" || return 1
    dd if="$_v/sig.raw" of="$_v/sig.bin" bs=1 skip=10 count=64 2>/dev/null || return 1
    openssl dgst -blake2b512 -binary <"$1" >"$_v/hash" || return 1
    openssl pkeyutl -verify -pubin -keyform DER -inkey "$_v/pub.der" -rawin \
        -in "$_v/hash" -sigfile "$_v/sig.bin" >/dev/null 2>&1 || return 1
    {
        cat "$_v/sig.bin"
        printf '%s' "$_comment"
    } >"$_v/global.dat" || return 1
    openssl pkeyutl -verify -pubin -keyform DER -inkey "$_v/pub.der" -rawin \
        -in "$_v/global.dat" -sigfile "$_v/global.sig" >/dev/null 2>&1 || return 1
}

# Checks the signed trusted comment (tab-separated key:value pairs) and sets _version from it.
check_comment() {
    _fields=$(printf '%s\n' "$_comment" | tr '\t' '\n')
    _dups=$(printf '%s\n' "$_fields" | sed 's/:.*//' | sort | uniq -d)
    if [ -n "$_dups" ]; then
        die "the signed trusted comment names $(printf '%s' "$_dups" | tr '\n' ' ') more than once: $_comment"
    fi
    _product=$(printf '%s\n' "$_fields" | sed -n 's/^product://p')
    _file=$(printf '%s\n' "$_fields" | sed -n 's/^file://p')
    _signed_version=$(printf '%s\n' "$_fields" | sed -n 's/^version://p')
    if [ "$_product" != pane ] || [ "$_file" != SHA256SUMS ]; then
        die "the signature is not for pane's SHA256SUMS (trusted comment: $_comment)"
    fi
    if [ -z "$_signed_version" ]; then
        die "the signed trusted comment names no version: $_comment"
    fi
    if [ -n "$_version" ]; then
        if [ "$_signed_version" != "$_version" ]; then
            die "asked for version $_version but the release is signed as version $_signed_version"
        fi
    else
        valid_version "$_signed_version" || die "the release is signed with a malformed version: $_signed_version"
        _version=$_signed_version
    fi
}

# Sets _expected_sha256 from the one SHA256SUMS line for the archive.
find_checksum() {
    _matches=$(awk -v name="$_archive" '{ f = $2; sub(/^\*/, "", f); if (f == name) print $1 }' "$1")
    _count=$(printf '%s' "$_matches" | grep -c '^')
    if [ "$_count" -eq 0 ]; then
        die "SHA256SUMS has no line for $_archive: this release has no build for $_target"
    fi
    if [ "$_count" -ne 1 ]; then
        die "SHA256SUMS has $_count lines for $_archive; refusing to guess"
    fi
    case "$_matches" in
        *[!0-9a-f]*) die "SHA256SUMS has a malformed checksum for $_archive" ;;
    esac
    if [ "${#_matches}" -ne 64 ]; then
        die "SHA256SUMS has a malformed checksum for $_archive"
    fi
    _expected_sha256=$_matches
}

sha256_of() {
    if has sha256sum; then
        sha256sum <"$1" | awk '{ print $1 }'
    elif has shasum; then
        shasum -a 256 <"$1" | awk '{ print $1 }'
    elif has openssl; then
        openssl dgst -sha256 <"$1" | awk '{ print $NF }'
    fi
}

check_sha256() {
    if ! has sha256sum && ! has shasum && ! has openssl; then
        die "no SHA-256 tool found (sha256sum, shasum or openssl); cannot check $_archive"
    fi
    _actual=$(sha256_of "$1") || _actual=""
    case "$_actual" in
        *[!0-9a-f]* | '') die "could not compute the SHA-256 of $_archive" ;;
    esac
    if [ "$_actual" != "$_expected_sha256" ]; then
        die "checksum mismatch for $_archive: SHA256SUMS says $_expected_sha256, the download is $_actual. Nothing was installed."
    fi
}

# The nearest existing ancestor of the install dir must be a directory this user may write to;
# pane never asks for sudo, so say how to choose another directory instead.
check_install_dir() {
    _dir=$1
    _probe=$_dir
    while [ ! -e "$_probe" ] && [ ! -L "$_probe" ]; do
        _probe=$(dirname "$_probe")
    done
    if [ ! -d "$_probe" ]; then
        die "cannot install into $_dir: $_probe is not a directory. Choose another directory with --install-dir DIR"
    fi
    # `test -w` alone is not the truth everywhere: BusyBox's, run as root, says yes on a
    # read-only filesystem. So a file is made there too (and removed at once).
    if [ ! -w "$_probe" ] || [ ! -x "$_probe" ] || ! can_create_in "$_probe"; then
        die "cannot install into $_dir: $_probe is not writable by $(id -un 2>/dev/null || echo you) and this script never uses sudo. Choose a directory you own with --install-dir DIR"
    fi
}

# Whether a new file can be made in directory $1: one that does not exist yet (noclobber), at
# once removed again.
can_create_in() {
    _new="$1/.pane-install-probe.$$"
    (set -C && : >"$_new") 2>/dev/null || return 1
    rm -f "$_new"
}

unpack() {
    _top="pane-$_version-$_target"
    _listing=$(gzip -dc "$1" | tar -tf -) || die "$_archive is not a readable .tar.gz"
    _odd=$(printf '%s\n' "$_listing" | grep -v -e "^$_top/" -e "^$_top\$" -e '^\./$' || true)
    if [ -n "$_odd" ] || printf '%s\n' "$_listing" | grep -q -e '/\.\./' -e '/\.\.$'; then
        die "$_archive holds files outside $_top/; refusing to unpack it"
    fi
    mkdir "$_tmp/unpack" || die "cannot create a directory in $_tmp"
    (cd "$_tmp/unpack" && gzip -dc "$1" | tar -xf -) || die "could not unpack $_archive"
    _binary="$_tmp/unpack/$_top/pane"
    if [ -L "$_binary" ] || [ ! -f "$_binary" ]; then
        die "$_archive has no regular file $_top/pane"
    fi
    chmod 755 "$_binary" || die "cannot make $_binary executable"
}

main() {
    # Run by zsh (`curl … | zsh`), everything below is read as sh reads it: zsh's own rules split
    # no unquoted parameter (a list of keys would be one word) and give `set -f` another meaning.
    if [ -n "${ZSH_VERSION:-}" ]; then
        emulate sh
    fi
    # No globbing anywhere: nothing below means to expand a pattern.
    set -u -f
    _repo=https://github.com/pane-cli/pane
    _base=${PANE_RELEASES_URL:-$_repo/releases}
    _base=${_base%/}
    _tmp=""
    _version=""
    _install_dir=${PANE_INSTALL_DIR:-}
    _no_modify_path=0
    _yes=0
    _quiet=0
    _verbose=0
    _prerelease=0
    _insecure=0
    _insecure_by=""
    if truthy "${PANE_NO_MODIFY_PATH:-}"; then
        _no_modify_path=1
    fi
    if truthy "${PANE_PRERELEASE:-}"; then
        _prerelease=1
    fi
    if truthy "${PANE_INSTALL_INSECURE_SKIP_SIGNATURE:-}"; then
        _insecure=1
        _insecure_by=PANE_INSTALL_INSECURE_SKIP_SIGNATURE
    fi

    _requested=${PANE_VERSION:-}
    while [ $# -gt 0 ]; do
        case "$1" in
            --version)
                [ $# -ge 2 ] || usage_error "--version needs a value"
                _requested=$2
                shift
                ;;
            --version=*) _requested=${1#--version=} ;;
            --install-dir)
                [ $# -ge 2 ] || usage_error "--install-dir needs a value"
                _install_dir=$2
                shift
                ;;
            --install-dir=*) _install_dir=${1#--install-dir=} ;;
            --no-modify-path) _no_modify_path=1 ;;
            --prerelease) _prerelease=1 ;;
            --insecure-skip-signature)
                _insecure=1
                _insecure_by=--insecure-skip-signature
                ;;
            -y | --yes) _yes=1 ;;
            -q | --quiet)
                _quiet=1
                _verbose=0
                ;;
            -v | --verbose)
                _verbose=1
                _quiet=0
                ;;
            -h | --help)
                usage
                exit 0
                ;;
            *) usage_error "unknown option: $1" ;;
        esac
        shift
    done
    if [ -n "$_requested" ]; then
        _version=${_requested#v}
        valid_version "$_version" || usage_error "not a version: $_requested (expected e.g. 1.2.0)"
    fi
    _timeout=${PANE_INSTALL_TIMEOUT:-30}
    case "$_timeout" in
        '' | *[!0-9]*) usage_error "PANE_INSTALL_TIMEOUT must be a number of seconds: $_timeout" ;;
    esac
    # Without its leading zeros: 00, which curl and timeout(1) would read as no limit at all, is
    # 0, and 010 is 10 (not the octal 8 of shell arithmetic).
    _timeout=${_timeout#"${_timeout%%[!0]*}"}
    if [ -z "$_timeout" ]; then
        usage_error "PANE_INSTALL_TIMEOUT must be a number of seconds: ${PANE_INSTALL_TIMEOUT:-}"
    fi

    check_base_url
    detect_target
    resolve_home
    # A shell expands a leading ~ only at the start of a word, so --install-dir=~/bin, and a
    # quoted PANE_INSTALL_DIR='~/bin', arrive with the ~: it means the home directory here, as
    # it would have there (pane refuses a dir whose first component is ~).
    case "$_install_dir" in
        \~ | \~/*)
            [ -n "${HOME:-}" ] || die "HOME is not set and could not be found, so $_install_dir cannot be expanded; give the install dir in full with --install-dir DIR"
            _install_dir=$HOME${_install_dir#"~"}
            ;;
    esac
    # The install dir, chosen here as pane chooses it (XDG_BIN_HOME only when absolute) and handed
    # over with --install-dir: the dir checked is the dir installed into, and the dir added to
    # GITHUB_PATH.
    _xdg_bin_home=""
    case "${XDG_BIN_HOME:-}" in
        /*) _xdg_bin_home=$XDG_BIN_HOME ;;
    esac
    if [ -n "$_install_dir" ]; then
        _dir=$_install_dir
    elif [ -n "$_xdg_bin_home" ]; then
        _dir=$_xdg_bin_home
    elif [ -n "${HOME:-}" ]; then
        _dir=$HOME/.local/bin
    else
        die "HOME is not set and could not be found; choose where to install with --install-dir DIR"
    fi
    check_install_dir "$_dir"
    _bin_dir=$_dir
    check_tools
    pick_downloader
    setup_network
    load_keys
    pick_verifier

    trap cleanup EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
    _tmp=$(mktemp -d 2>/dev/null || mktemp -d -t pane-install) || die "cannot create a temporary directory"
    [ -d "$_tmp" ] || die "cannot create a temporary directory"
    # From a relative TMPDIR mktemp gives a relative path, which unpack, changing directory,
    # would lose.
    _tmp_abs=$(CDPATH='' cd -P -- "$_tmp" && pwd -P) || die "cannot find the temporary directory $_tmp"
    _tmp=$_tmp_abs

    # Which version, and what vouches for it. A stamped script installs its own version unless
    # told otherwise; it vouches for that version's archives by itself.
    _stamped=$(stamped_version)
    if [ -z "$_version" ] && [ "$_prerelease" = 1 ]; then
        highest_listed
    elif [ -z "$_version" ] && [ -n "$_stamped" ]; then
        valid_version "$_stamped" || die "this install.sh is stamped with a malformed version: $_stamped"
        _version=$_stamped
        say "this install.sh belongs to pane $_stamped; to install another version, use --version"
    fi
    if [ -n "$_version" ] && [ -z "$_requested" ]; then
        check_prerelease
    fi
    if [ -n "$_stamped" ] && [ "$_version" = "$_stamped" ]; then
        _vouched=stamp
    elif [ "$_verifier" != none ]; then
        _vouched=signature
    elif [ "$_insecure" = 1 ] && ! truthy "${PANE_REQUIRE_SIGNATURE:-}"; then
        _vouched=nothing
    else
        if [ "$_insecure" = 1 ]; then
            die "$_insecure_by asks to install without checking the signature, but PANE_REQUIRE_SIGNATURE is set; nothing was installed"
        fi
        # The opt-out is offered only where it would be taken.
        _required=""
        _opt_out=" To install without the signature anyway, pass --insecure-skip-signature."
        if truthy "${PANE_REQUIRE_SIGNATURE:-}"; then
            _required=" (PANE_REQUIRE_SIGNATURE is set)"
            _opt_out=""
        fi
        die "cannot check the signature of this release$_required: neither minisign nor OpenSSL 3 (with Ed25519) is installed, and installing without checking it could install anything. Install minisign (brew install minisign; apt-get install minisign) and run this again${_stamped:+, or install pane $_stamped, which this script vouches for by itself (run it without --version)}.$_opt_out Nothing was installed."
    fi

    if [ -n "$_version" ]; then
        _release="$_base/download/v$_version"
        say "installing pane $_version for $_target from $_base"
    else
        _release="$_base/latest/download"
        say "installing the latest pane for $_target from $_base"
    fi
    _archive_deadline=$((_timeout * 20))
    if [ "$_vouched" = stamp ]; then
        stamped_sums >"$_tmp/STAMPED_SUMS"
        _archive="pane-$_version-$_target.tar.gz"
        find_checksum "$_tmp/STAMPED_SUMS"
        _stamped_sha256=$_expected_sha256
    fi
    if [ "$_vouched" != stamp ] || [ "$_verifier" != none ]; then
        fetch "$_release/SHA256SUMS.minisig" "$_tmp/SHA256SUMS.minisig" 4096 "$_timeout" 1
        fetch "$_release/SHA256SUMS" "$_tmp/SHA256SUMS" 65536 "$_timeout" 1
        if ! verify_signature "$_tmp/SHA256SUMS" "$_tmp/SHA256SUMS.minisig"; then
            refuse_signature
        fi
        if [ "$_checked" = 0 ] && [ "$_vouched" != stamp ]; then
            warn "!!! INSECURE: --insecure-skip-signature: the signature of SHA256SUMS was NOT checked (neither minisign nor OpenSSL 3 is installed). Anyone who can alter the download can make this install a program of their choosing; only the unsigned SHA-256 in SHA256SUMS is compared. !!!"
        fi
        check_comment
        _archive="pane-$_version-$_target.tar.gz"
        find_checksum "$_tmp/SHA256SUMS"
        if [ "$_checked" = 1 ]; then
            say "verified the signature of SHA256SUMS for pane $_version"
        fi
        if [ "$_vouched" = stamp ] && [ "$_expected_sha256" != "$_stamped_sha256" ]; then
            die "SHA256SUMS and this install.sh disagree about $_archive ($_expected_sha256 against $_stamped_sha256). Nothing was installed."
        fi
    else
        say "checking $_archive against the SHA-256 this install.sh carries (no signature tool is needed for its own version)"
    fi
    if [ -z "$_requested" ]; then
        check_prerelease
        read_floor
        if [ -n "$_floor" ] && version_lt "$_version" "$_floor"; then
            if [ "$_quiet" = 0 ]; then
                printf 'pane-install: the pane on this machine (%s, and %s verified before) is newer than %s, the version this run would install; nothing was changed. To install %s anyway, run this again with --version %s\n' \
                    "${_installed:-?}" "$_floor" "$_version" "$_version" "$_version" >&2
            fi
            exit 0
        fi
    else
        read_floor
    fi

    if [ -z "$_requested" ] && [ -z "$_stamped" ]; then
        _release="$_base/download/v$_version"
    fi
    fetch "$_release/$_archive" "$_tmp/$_archive" 268435456 "$_archive_deadline" 16384
    check_sha256 "$_tmp/$_archive"
    say "verified the SHA-256 of $_archive"
    unpack "$_tmp/$_archive"

    # In GitHub Actions a later step finds the binary through $GITHUB_PATH; profiles are for
    # people at a terminal.
    _github_path=0
    if [ -n "${GITHUB_PATH:-}" ] && [ "$_no_modify_path" = 0 ]; then
        _github_path=1
    fi
    set -- self install --install-dir "$_dir"
    if [ "$_no_modify_path" = 1 ] || [ "$_github_path" = 1 ]; then
        set -- "$@" --no-modify-path
    fi
    if [ "$_yes" = 1 ]; then
        set -- "$@" --yes
    fi
    if [ "$_quiet" = 1 ]; then
        set -- "$@" --quiet
    fi
    # An explicit --version below what this machine has verified is a deliberate downgrade; a
    # pane that guards `self install` against downgrades is told so.
    if [ -n "$_floor" ] && version_lt "$_version" "$_floor" &&
        "$_binary" self install --help 2>/dev/null | grep -q -e '--allow-downgrade'; then
        set -- "$@" --allow-downgrade
    fi
    # Without --version, the verified binary then follows the signed release channel: a release
    # the maintainers withdrew here is replaced by the one they named.
    if [ -z "$_requested" ] &&
        "$_binary" self install --help 2>/dev/null | grep -q -e '--follow-channel'; then
        set -- "$@" --follow-channel
    fi
    debug "handing over: $_binary $*"
    PANE_INSTALLER=install.sh "$_binary" "$@"
    _status=$?
    if [ "$_status" -eq 126 ]; then
        die "cannot run $_binary: is $(dirname "$_tmp") mounted noexec? Set TMPDIR to a directory where programs may run, and try again"
    fi
    if [ "$_status" -ne 0 ]; then
        die "pane self install failed (exit status $_status)"
    fi
    if [ "$_github_path" = 1 ]; then
        # A relative dir is the one under the current directory, not one CDPATH names.
        _bin_dir=$(CDPATH='' cd -P -- "$_bin_dir" && pwd -P) || die "cannot find the install dir $_bin_dir"
        printf '%s\n' "$_bin_dir" >>"$GITHUB_PATH" || die "cannot append to GITHUB_PATH ($GITHUB_PATH)"
        say "added $_bin_dir to GITHUB_PATH for the next steps of this job"
    fi
}

# --prerelease: sets _version to the highest release the listing API names, pre-releases
# included. The listing is only a hint: the signature must then vouch for that exact version.
highest_listed() {
    _api=${PANE_RELEASES_API_URL:-https://api.github.com/repos/pane-cli/pane}
    _api=${_api%/}
    _saved_allow_http=$_allow_http
    case "$_api" in
        *[![:graph:]]*) die "PANE_RELEASES_API_URL contains spaces or control characters: $_api" ;;
        https://?*)
            if [ "$_downloader" = wget ] && [ "$_wget_gnu" = 0 ]; then
                die "BusyBox wget does not verify TLS certificates; refusing to list releases at $_api with it. Install curl or GNU wget"
            fi
            _allow_http=0
            ;;
        http://?*)
            is_loopback_url "$_api" ||
                die "refusing plain http for $_api: only https is allowed, or http to a loopback host (127.0.0.1, ::1, localhost)"
            _allow_http=1
            ;;
        *) die "PANE_RELEASES_API_URL must be an https:// URL: $_api" ;;
    esac
    fetch "$_api/releases?per_page=100" "$_tmp/releases.json" 2097152 "$_timeout" 1
    _allow_http=$_saved_allow_http
    grep -o '"tag_name" *: *"v[^"]*"' "$_tmp/releases.json" | sed 's/.*"v//; s/"$//' >"$_tmp/tags"
    _best=""
    while IFS= read -r _tag; do
        valid_version "$_tag" || continue
        if [ -z "$_best" ] || version_lt "$_best" "$_tag"; then
            _best=$_tag
        fi
    done <"$_tmp/tags"
    [ -n "$_best" ] || die "$_api/releases lists no release"
    _version=$_best
    say "the highest release listed, pre-releases included, is $_version"
}

# A pre-release is installed only when asked for: by name, or with --prerelease.
check_prerelease() {
    if is_prerelease "$_version" && [ "$_prerelease" = 0 ]; then
        if [ -n "$_stamped" ] && [ "$_version" = "$_stamped" ]; then
            die "this install.sh belongs to the pre-release $_version, which is installed only on request: run it with --version $_version. Nothing was installed."
        fi
        die "$_base offers the pre-release $_version as its latest release; a pre-release is installed only on request: --version $_version (or --prerelease). Nothing was installed."
    fi
}

{ main "$@"; }
