//! minisign keys and signatures for releases.
//!
//! `SHA256SUMS.minisig` is a prehashed (`ED`) minisign signature whose trusted
//! comment names the product, version and file:
//! `product:pane\tversion:<V>\tfile:SHA256SUMS\ttimestamp:<unix seconds>`.
//! Keys are stock minisign key files; an encrypted secret key's password is
//! passed in by the caller (the CLI reads `MINISIGN_PASSWORD`).

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use minisign::{PublicKey, SecretKey, SecretKeyBox, SignatureBox};

use crate::archive::parse_archive_name;
use crate::checksums::{self, SIGNATURE_NAME, SUMS_NAME};
use crate::error::{Context, Result};
use crate::fsutil::{write_atomically, write_new};

/// The untrusted comment of release signatures.
pub const UNTRUSTED_COMMENT: &str = "signature from pane release tooling";

/// The trusted comment of a release's `SHA256SUMS.minisig`.
pub fn trusted_comment(version: &str, timestamp: u64) -> String {
    format!("product:pane\tversion:{version}\tfile:{SUMS_NAME}\ttimestamp:{timestamp}")
}

/// A minisign key id (the 8-byte key number) as minisign prints it: 16
/// uppercase hex digits of the little-endian number.
pub fn key_id_hex(keynum: &[u8]) -> String {
    let bytes: [u8; 8] = keynum.try_into().expect("minisign key numbers are 8 bytes");
    format!("{:016X}", u64::from_le_bytes(bytes))
}

/// Loads a stock minisign secret key file. An unencrypted key (as made by
/// `minisign -G -W`) needs no password; an encrypted one needs `password`.
pub fn load_secret_key(path: &Path, password: Option<&str>) -> Result<SecretKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the secret key {}", path.display()))?;
    let encoded = text.lines().nth(1).map(str::trim).unwrap_or_default();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .filter(|bytes| bytes.len() >= 4 && &bytes[..2] == b"Ed")
        .ok_or_else(|| {
            crate::Error::msg(format!(
                "{} is not a minisign secret key file (`untrusted comment: …` then a base64 key line)",
                path.display()
            ))
        })?;
    let encrypted = bytes[2..4] != [0, 0];
    let key = if encrypted {
        let Some(password) = password else {
            crate::bail!(
                "the secret key {} is encrypted: set MINISIGN_PASSWORD to its password",
                path.display()
            );
        };
        let key_box = SecretKeyBox::from_string(&text).expect("infallible");
        SecretKey::from_box(key_box, Some(password.to_string()))
    } else {
        // Stock `minisign -G -W` leaves the checksum of an unencrypted key
        // zeroed, which the crate's `from_unencrypted_box` calls corrupted;
        // read the fields directly and check the key pair below instead.
        SecretKey::from_bytes(&bytes)
    };
    let key = key.with_context(|| format!("cannot load the secret key {}", path.display()))?;
    check_key_pair(&key)
        .with_context(|| format!("cannot load the secret key {}", path.display()))?;
    Ok(key)
}

/// The parts of a decrypted secret key, by `SecretKey::to_bytes` layout:
/// sig_alg(2) kdf_alg(2) chk_alg(2) salt(32) opslimit(8) memlimit(8)
/// keynum(8) secret(64: seed then public key) chk(32).
struct KeyParts {
    keynum: [u8; 8],
    seed: [u8; 32],
    public: [u8; 32],
}

fn key_parts(key: &SecretKey) -> Result<KeyParts> {
    let bytes = key.to_bytes();
    if bytes.len() < 126 {
        crate::bail!("the secret key is truncated");
    }
    Ok(KeyParts {
        keynum: bytes[54..62].try_into().expect("8 bytes"),
        seed: bytes[62..94].try_into().expect("32 bytes"),
        public: bytes[94..126].try_into().expect("32 bytes"),
    })
}

/// The Ed25519 seed must give the public key stored beside it: catches a
/// corrupted key file before anything is signed with it.
fn check_key_pair(key: &SecretKey) -> Result<ring::signature::Ed25519KeyPair> {
    let parts = key_parts(key)?;
    ring::signature::Ed25519KeyPair::from_seed_and_public_key(&parts.seed, &parts.public)
        .map_err(|_| crate::Error::msg("the key is corrupted (its halves do not match)"))
}

/// Loads a minisign public key, from a two-line `.pub` file's text or from the
/// bare base64 key line.
pub fn parse_public_key(text: &str) -> Result<PublicKey> {
    let line = text
        .lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty() && !line.starts_with("untrusted comment:"))
        .unwrap_or_default();
    PublicKey::from_base64(line).context("not a minisign public key")
}

/// A prehashed minisign signature of `data` with `trusted_comment`, as the
/// text of a `.minisig` file.
pub fn signature_text(key: &SecretKey, data: impl Read, trusted_comment: &str) -> Result<String> {
    if trusted_comment.contains(['\n', '\r']) {
        crate::bail!("a trusted comment cannot hold a line break");
    }
    let public_key = PublicKey::from_secret_key(key).context("cannot derive the public key")?;
    let signature = minisign::sign(
        Some(&public_key),
        key,
        data,
        Some(trusted_comment),
        Some(UNTRUSTED_COMMENT),
    )
    .context("cannot sign")?;
    Ok(signature.into_string())
}

/// The version of the release in `dir`, from its archive names
/// `pane-<version>-<target>.tar.gz`. Refuses a directory without archives or
/// whose archives disagree.
pub fn release_version(dir: &Path) -> Result<semver::Version> {
    let mut versions: Vec<(semver::Version, String)> = Vec::new();
    for name in checksums::asset_names(dir)? {
        if let Some((version, _target)) = parse_archive_name(&name) {
            versions.push((version, name));
        }
    }
    let Some((first, first_name)) = versions.first() else {
        crate::bail!(
            "{} holds no release archive (pane-<version>-<target>.tar.gz); nothing to sign",
            dir.display()
        );
    };
    if let Some((other, other_name)) = versions.iter().find(|(v, _)| v != first) {
        crate::bail!(
            "{} mixes two versions: {first_name} is {first} but {other_name} is {other}; a release directory holds one version",
            dir.display()
        );
    }
    Ok(first.clone())
}

/// Signs `dir/SHA256SUMS` as `dir/SHA256SUMS.minisig`, with the version taken
/// from the archive names and the current time. First checks that
/// `SHA256SUMS` lists exactly the assets in `dir` with their current hashes,
/// so a stale list is never signed.
pub fn sign_release(dir: &Path, key: &SecretKey) -> Result<PathBuf> {
    let version = release_version(dir)?;
    let sums_path = dir.join(SUMS_NAME);
    let listed = checksums::read(dir)?;
    let mut listed_names: Vec<&str> = listed.iter().map(|(_, name)| name.as_str()).collect();
    listed_names.sort_unstable();
    let assets = checksums::asset_names(dir)?;
    let stale = || {
        format!(
            "{} is stale; run `cargo xtask checksums {}` again",
            sums_path.display(),
            dir.display()
        )
    };
    if listed_names != assets {
        crate::bail!(
            "{}: it lists {listed_names:?} but the directory holds {assets:?}",
            stale()
        );
    }
    for (hash, name) in &listed {
        if checksums::sha256_file(&dir.join(name))? != *hash {
            crate::bail!("{}: {name} changed", stale());
        }
    }
    check_companions(dir, &version.to_string(), &listed)?;
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let comment = trusted_comment(&version.to_string(), timestamp);
    write_signature(dir, key, &comment)
}

/// The files that speak of the archives agree with them before anything is
/// signed: a stamped `install.sh` carries this release's version and exactly
/// the archives' SHA-256 as `SHA256SUMS` lists them (an archive rebuilt after
/// the stamp would make the published script refuse its own release), and
/// each SBOM is named for an archive of this release.
fn check_companions(dir: &Path, version: &str, listed: &[(String, String)]) -> Result<()> {
    let mut archives: Vec<(String, String)> = listed
        .iter()
        .filter(|(_, name)| parse_archive_name(name).is_some())
        .cloned()
        .collect();
    archives.sort();
    let script_path = dir.join(crate::install_script::NAME);
    if listed
        .iter()
        .any(|(_, name)| name == crate::install_script::NAME)
    {
        let script = std::fs::read_to_string(&script_path)
            .with_context(|| format!("cannot read {}", script_path.display()))?;
        let stamp = crate::install_script::read_stamp(&script)
            .with_context(|| format!("in {}", script_path.display()))?;
        if let Some(crate::install_script::Stamp {
            version: stamped_version,
            sums: mut stamped_sums,
        }) = stamp
        {
            stamped_sums.sort();
            if stamped_version != version || stamped_sums != archives {
                crate::bail!(
                    "{} is stamped for another build (version {stamped_version}, archives {stamped_sums:?}) \
                     than the archives here (version {version}, {archives:?}); run `cargo xtask install-sh {}` \
                     on a fresh copy of install.sh, then `cargo xtask checksums` again",
                    script_path.display(),
                    dir.display()
                );
            }
        }
    }
    for (_, name) in listed {
        if !name.ends_with(".cdx.json") {
            continue;
        }
        let described = archives.iter().any(|(_, archive)| {
            parse_archive_name(archive)
                .is_some_and(|(v, target)| *name == crate::dist::sbom_name(&v.to_string(), &target))
        });
        if !described {
            crate::bail!(
                "{name} in {} is not the SBOM of any archive of pane {version} there",
                dir.display()
            );
        }
        let path = dir.join(name);
        let described_version = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .and_then(|sbom| {
                sbom["metadata"]["component"]["version"]
                    .as_str()
                    .map(str::to_string)
            });
        if described_version.as_deref() != Some(version) {
            crate::bail!(
                "{} describes pane {}, not pane {version}",
                path.display(),
                described_version.as_deref().unwrap_or("(no version)")
            );
        }
    }
    Ok(())
}

/// Signs `dir/SHA256SUMS` as it is, with any trusted comment. The building
/// block of [`sign_release`], and of test releases with odd comments.
pub fn write_signature(dir: &Path, key: &SecretKey, trusted_comment: &str) -> Result<PathBuf> {
    let sums_path = dir.join(SUMS_NAME);
    let sums = std::fs::read(&sums_path)
        .with_context(|| format!("cannot read {}", sums_path.display()))?;
    let text = signature_text(key, Cursor::new(sums), trusted_comment)?;
    let path = dir.join(SIGNATURE_NAME);
    write_atomically(&path, 0o644, |file| {
        file.write_all(text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))
    })?;
    Ok(path)
}

/// Checks `dir/SHA256SUMS.minisig` against `dir/SHA256SUMS` under
/// `public_key`, refusing legacy (non-prehashed) signatures, and returns the
/// trusted comment. What `sign` makes must pass; so must the stock CLI's.
pub fn verify_release(dir: &Path, public_key: &PublicKey) -> Result<String> {
    let sums_path = dir.join(SUMS_NAME);
    let signature_path = dir.join(SIGNATURE_NAME);
    let sums = std::fs::read(&sums_path)
        .with_context(|| format!("cannot read {}", sums_path.display()))?;
    let signature_text = std::fs::read_to_string(&signature_path)
        .with_context(|| format!("cannot read {}", signature_path.display()))?;
    verify_signature(public_key, &sums, &signature_text)
        .with_context(|| format!("{} does not verify", signature_path.display()))
}

/// Verifies minisig text over `data`; legacy `Ed` signatures are refused.
/// Returns the trusted comment.
pub fn verify_signature(
    public_key: &PublicKey,
    data: &[u8],
    signature_text: &str,
) -> Result<String> {
    let signature = SignatureBox::from_string(signature_text).context("malformed signature")?;
    if !signature.is_prehashed() {
        crate::bail!("legacy (non-prehashed `Ed`) signatures are refused");
    }
    minisign::verify(
        public_key,
        &signature,
        Cursor::new(data),
        true,
        false,
        false,
    )
    .context("bad signature")?;
    signature
        .trusted_comment()
        .context("malformed trusted comment")
}

/// The files [`keygen`] wrote.
#[derive(Clone, Debug)]
pub struct KeyFiles {
    pub public_key: PathBuf,
    pub secret_key: PathBuf,
    pub key_id: String,
}

/// Where `path` leads, resolved before it exists: its components in order,
/// each name that exists resolved (a link followed), `..` taken from what
/// is resolved so far, and the names that do not exist kept as written
/// (they cannot be links). A link met after a missing folder and a `..`
/// is followed like any other, so `new/../link-to-keys` is seen for what it
/// is.
fn resolve_ahead(path: &Path) -> std::io::Result<PathBuf> {
    use std::path::Component;
    let path = std::path::absolute(path)?;
    let mut resolved = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Prefix(_) | Component::RootDir => resolved.push(component),
            Component::CurDir => {}
            Component::ParentDir => {
                resolved.pop();
            }
            Component::Normal(name) => {
                let next = resolved.join(name);
                resolved = match next.canonicalize() {
                    Ok(real) => real,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => next,
                    Err(e) => return Err(e),
                };
            }
        }
    }
    Ok(resolved)
}

/// Makes a new key pair as `out_dir/<id>.pub` and `out_dir/<id>.key` (0600).
/// With a password the secret key is encrypted (scrypt, as stock minisign
/// does). Refuses to overwrite files, and to put a secret key in the
/// repository's `keys/`.
pub fn keygen(out_dir: &Path, id: &str, password: Option<&str>) -> Result<KeyFiles> {
    if id.is_empty() || id.contains(['/', '\0']) || id.starts_with('.') {
        crate::bail!("key id {id:?} must be a plain file name");
    }
    // Where the keys would land, resolved before anything is created: a
    // refused `--out keys/new` leaves no new folder behind in keys/.
    let out_canonical =
        resolve_ahead(out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    let keys_dir = crate::workspace::root().join("keys");
    if let Ok(keys_canonical) = keys_dir.canonicalize() {
        if out_canonical.starts_with(&keys_canonical) {
            crate::bail!(
                "refusing to write a secret key into {}: keys/ is committed and holds public keys only; \
                 use a directory outside the repository, then copy the .pub file into keys/",
                keys_dir.display()
            );
        }
    }
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let pair = match password {
        Some(password) => minisign::KeyPair::generate_encrypted_keypair(Some(password.to_string())),
        None => minisign::KeyPair::generate_unencrypted_keypair(),
    }
    .context("cannot generate a key pair")?;
    let key_id = key_id_hex(pair.pk.keynum());
    let public_text = pair
        .pk
        .to_box()
        .context("cannot encode the public key")?
        .into_string();
    let comment = match password {
        Some(_) => format!("minisign encrypted secret key {id} ({key_id})"),
        None => format!("minisign secret key {id} ({key_id}), not encrypted"),
    };
    let secret_text = pair
        .sk
        .to_box(Some(&comment))
        .context("cannot encode the secret key")?
        .into_string();

    let public_key = out_dir.join(format!("{id}.pub"));
    let secret_key = out_dir.join(format!("{id}.key"));
    for path in [&public_key, &secret_key] {
        if path.exists() {
            crate::bail!(
                "{} already exists; refusing to overwrite a key",
                path.display()
            );
        }
    }
    write_new(&secret_key, 0o600, secret_text.as_bytes())?;
    if let Err(error) = write_new(&public_key, 0o644, public_text.as_bytes()) {
        // No half pair left behind.
        let _ = std::fs::remove_file(&secret_key);
        return Err(error);
    }
    Ok(KeyFiles {
        public_key,
        secret_key,
        key_id,
    })
}

/// A legacy (non-prehashed, `Ed`) minisign signature of `data`: Ed25519 over
/// the raw bytes, as minisign before 0.8 made. pane must refuse these; the
/// minisign crate cannot make them, so this signs with ring.
pub fn legacy_signature_text(
    key: &SecretKey,
    data: &[u8],
    trusted_comment: &str,
) -> Result<String> {
    let keynum = key_parts(key)?.keynum;
    let pair = check_key_pair(key)?;
    let signature = pair.sign(data);
    let mut signature_bytes = b"Ed".to_vec();
    signature_bytes.extend_from_slice(&keynum);
    signature_bytes.extend_from_slice(signature.as_ref());
    let mut global_input = signature.as_ref().to_vec();
    global_input.extend_from_slice(trusted_comment.as_bytes());
    let global = pair.sign(&global_input);
    let b64 = base64::engine::general_purpose::STANDARD;
    Ok(format!(
        "untrusted comment: {UNTRUSTED_COMMENT}\n{}\ntrusted comment: {trusted_comment}\n{}\n",
        b64.encode(&signature_bytes),
        b64.encode(global.as_ref())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_destination_is_resolved_before_it_exists() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().canonicalize().unwrap();
        std::fs::create_dir(real.join("keys")).unwrap();
        // A link to keys/ reached through a missing folder and `..`.
        std::os::unix::fs::symlink(real.join("keys"), real.join("link")).unwrap();
        assert_eq!(
            resolve_ahead(&real.join("new/../link/x")).unwrap(),
            real.join("keys/x")
        );
        for (ahead, resolved) in [
            ("new/deeper", real.join("new/deeper")),
            ("missing/../keys/x", real.join("keys/x")),
            ("missing/../../x", real.parent().unwrap().join("x")),
            ("./a/./b", real.join("a/b")),
        ] {
            assert_eq!(
                resolve_ahead(&real.join(ahead)).unwrap(),
                resolved,
                "{ahead}"
            );
        }
    }

    #[test]
    fn trusted_comment_is_tab_separated() {
        assert_eq!(
            trusted_comment("1.2.0", 1700000000),
            "product:pane\tversion:1.2.0\tfile:SHA256SUMS\ttimestamp:1700000000"
        );
    }

    #[test]
    fn key_ids_print_like_minisign() {
        assert_eq!(key_id_hex(&[1, 2, 3, 4, 5, 6, 7, 0xab]), "AB07060504030201");
    }

    #[test]
    fn prehashed_signatures_verify_and_legacy_ones_are_refused() {
        let pair = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
        let text = signature_text(&pair.sk, &b"data"[..], "product:pane").unwrap();
        assert_eq!(
            verify_signature(&pair.pk, b"data", &text).unwrap(),
            "product:pane"
        );
        assert!(verify_signature(&pair.pk, b"other", &text).is_err());

        let legacy = legacy_signature_text(&pair.sk, b"data", "product:pane").unwrap();
        let parsed = SignatureBox::from_string(&legacy).unwrap();
        assert!(!parsed.is_prehashed());
        // Valid as a legacy signature...
        minisign::verify(&pair.pk, &parsed, Cursor::new(b"data"), true, false, true).unwrap();
        // ...and refused as a release signature.
        assert!(verify_signature(&pair.pk, b"data", &legacy).is_err());
    }
}
