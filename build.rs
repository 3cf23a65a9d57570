//! Compiles the trust root into the binary and records the target triple.
//!
//! Keys have roles, given by where they sit in `keys/`:
//! - `keys/*.pub`: **release** keys, which may sign `SHA256SUMS`;
//! - `keys/channel/*.pub`: **channel** keys, which may sign `channel.json`;
//! - `keys/revoked`: key ids refused in either role.
//!
//! A key may hold one role only: the build fails if one key id is in both.
//! The version stamp (`PANE_BUILD_VERSION`) is read in `src/main.rs` with
//! `option_env!`, so changing it relinks only the binary and not the library.

use std::{env, fs, path::Path};

/// `(file name, base64 key line)` of every `*.pub` directly in `dir`, sorted.
fn read_keys(dir: &Path) -> Vec<(String, String)> {
    let mut keys = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return keys;
    };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if !path.is_file() || path.extension().and_then(|e| e.to_str()) != Some("pub") {
            continue;
        }
        println!("cargo:rerun-if-changed={}", path.display());
        let text = fs::read_to_string(&path).expect("readable key file");
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with("untrusted comment:"))
            .unwrap_or_else(|| panic!("{} holds no key line", path.display()));
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        keys.push((name, line.to_string()));
    }
    keys
}

fn key_list(name: &str, doc: &str, keys: &[(String, String)]) -> String {
    let mut out = format!("/// {doc}\npub const {name}: &[(&str, &str)] = &[\n");
    for (file, line) in keys {
        out.push_str(&format!("    ({file:?}, {line:?}),\n"));
    }
    out.push_str("];\n");
    out
}

fn main() {
    println!("cargo:rerun-if-changed=keys");
    println!("cargo:rerun-if-changed=keys/channel");
    let target = env::var("TARGET").expect("cargo sets TARGET");
    println!("cargo:rustc-env=PANE_TARGET={target}");

    let keys_dir = Path::new("keys");
    let release = read_keys(keys_dir);
    let channel = read_keys(&keys_dir.join("channel"));
    for (channel_file, channel_line) in &channel {
        for (release_file, release_line) in &release {
            if channel_line == release_line {
                panic!(
                    "keys/channel/{channel_file} and keys/{release_file} are the same key: \
                     a key holds one role only (release or channel)"
                );
            }
        }
    }
    let revoked: Vec<String> = fs::read_to_string(keys_dir.join("revoked"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();

    let mut out = key_list(
        "RELEASE_KEYS",
        "`(file name, base64 key line)` of every release key (`keys/*.pub`): the keys that may sign `SHA256SUMS`.",
        &release,
    );
    out.push_str(
        "/// The keys a release may be signed with: the release keys, and only those.\n\
         pub const COMPILED_KEYS: &[(&str, &str)] = RELEASE_KEYS;\n",
    );
    out.push_str(&key_list(
        "CHANNEL_KEYS",
        "`(file name, base64 key line)` of every channel key (`keys/channel/*.pub`): the keys that may sign `channel.json`.",
        &channel,
    ));
    out.push_str("/// Key ids from `keys/revoked`, refused in either role.\npub const REVOKED_KEY_IDS: &[&str] = &[\n");
    for id in &revoked {
        out.push_str(&format!("    {id:?},\n"));
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").unwrap()).join("keys.rs");
    fs::write(dest, out).expect("write keys.rs");
}
