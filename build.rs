//! Compiles the trust root (`keys/*.pub`, `keys/revoked`) into the binary and
//! records the target triple. The version stamp (`PANE_BUILD_VERSION`) is read
//! in `src/main.rs` with `option_env!`, so changing it relinks only the binary
//! and not the library.

use std::{env, fs, path::Path};

fn main() {
    println!("cargo:rerun-if-changed=keys");
    let target = env::var("TARGET").expect("cargo sets TARGET");
    println!("cargo:rustc-env=PANE_TARGET={target}");

    let keys_dir = Path::new("keys");
    let mut keys = Vec::new();
    if let Ok(entries) = fs::read_dir(keys_dir) {
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            if path.extension().and_then(|e| e.to_str()) != Some("pub") {
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
    }
    let revoked: Vec<String> = fs::read_to_string(keys_dir.join("revoked"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();

    let mut out = String::from("/// `(file name, base64 key line)` of every key in `keys/`.\n");
    out.push_str("pub const COMPILED_KEYS: &[(&str, &str)] = &[\n");
    for (name, line) in &keys {
        out.push_str(&format!("    ({name:?}, {line:?}),\n"));
    }
    out.push_str("];\n/// Key ids from `keys/revoked`.\npub const REVOKED_KEY_IDS: &[&str] = &[\n");
    for id in &revoked {
        out.push_str(&format!("    {id:?},\n"));
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").unwrap()).join("keys.rs");
    fs::write(dest, out).expect("write keys.rs");
}
