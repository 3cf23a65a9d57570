//! Test fixtures for pane's integration tests, the demo and the benchmarks:
//! signing keys made at test time, real pane binaries stamped with any
//! version, and release directories built with the same code as a real
//! release (`package`, `checksums`, `sign`), or broken on purpose.
//!
//! ```no_run
//! use xtask::fixtures::{Release, TestKey};
//! use xtask::server::Server;
//!
//! let key = TestKey::generate();
//! let root = tempfile::tempdir().unwrap();
//! Release::new("1.0.0").write(root.path(), &key);
//! Release::new("1.1.0").write(root.path(), &key);
//! let server = Server::start(root.path()).unwrap();
//! // run pane with PANE_RELEASES_URL=server.releases_url(),
//! // PANE_RELEASES_API_URL=server.api_url(),
//! // PANE_TEST_PUBKEY=key.public_key_line()
//! ```
//!
//! The fixture functions panic with a clear message instead of returning
//! errors, as test helpers do; `try_*` variants return [`crate::Result`].

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::{BufWriter, Cursor, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Mutex, OnceLock};

use minisign::{PublicKey, SecretKey};

use crate::archive::{archive_name, package_with, PackageOptions, RawTarGz};
use crate::checksums::{self, SIGNATURE_NAME, SUMS_NAME};
use crate::error::{Context, Result};
use crate::fsutil::write_atomically;
use crate::signing;

/// A minisign key pair made at test time. The secret key is also written,
/// unencrypted, to a temporary file (as `minisign -G -W` would), removed when
/// the `TestKey` is dropped.
pub struct TestKey {
    secret: SecretKey,
    public: PublicKey,
    dir: tempfile::TempDir,
}

impl std::fmt::Debug for TestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestKey")
            .field("key_id", &self.key_id_hex())
            .finish()
    }
}

impl TestKey {
    pub fn generate() -> TestKey {
        TestKey::try_generate().unwrap_or_else(|e| panic!("cannot make a test key: {e:#}"))
    }

    pub fn try_generate() -> Result<TestKey> {
        let pair = minisign::KeyPair::generate_unencrypted_keypair()
            .context("cannot generate a key pair")?;
        let dir = tempfile::Builder::new()
            .prefix("pane-test-key-")
            .tempdir()
            .context("cannot make a temporary directory")?;
        let key = TestKey {
            secret: pair.sk,
            public: pair.pk,
            dir,
        };
        let secret_text = key
            .secret
            .to_box(Some("pane test secret key, not encrypted"))
            .context("cannot encode the secret key")?
            .into_string();
        std::fs::write(key.secret_key_path(), secret_text).context("cannot write the test key")?;
        std::fs::set_permissions(
            key.secret_key_path(),
            std::fs::Permissions::from_mode(0o600),
        )
        .context("cannot write the test key")?;
        std::fs::write(key.pub_path(), key.pub_file()).context("cannot write the test key")?;
        Ok(key)
    }

    /// The base64 key line, the value for `PANE_TEST_PUBKEY` and
    /// `PANE_INSTALL_PUBKEY`.
    pub fn public_key_line(&self) -> String {
        self.public.to_base64()
    }

    /// The standard two-line `.pub` file contents.
    pub fn pub_file(&self) -> String {
        self.public
            .to_box()
            .expect("public keys encode")
            .into_string()
    }

    /// A file holding [`TestKey::pub_file`], for `minisign -V -p`.
    pub fn pub_path(&self) -> PathBuf {
        self.dir.path().join("test.pub")
    }

    /// The unencrypted secret key file, usable by `cargo xtask sign --key`
    /// and `minisign -S -s`.
    pub fn secret_key_path(&self) -> PathBuf {
        self.dir.path().join("test.key")
    }

    /// The key id as minisign prints it: 16 uppercase hex digits.
    pub fn key_id_hex(&self) -> String {
        signing::key_id_hex(self.public.keynum())
    }

    pub fn secret_key(&self) -> &SecretKey {
        &self.secret
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// A prehashed (`ED`) minisign signature of `data` with any trusted
    /// comment, as `.minisig` text.
    pub fn sign_with_comment(&self, data: &[u8], trusted_comment: &str) -> String {
        signing::signature_text(&self.secret, Cursor::new(data), trusted_comment)
            .unwrap_or_else(|e| panic!("cannot sign: {e:#}"))
    }

    /// A legacy (non-prehashed `Ed`) signature of `data`, which pane must refuse.
    pub fn sign_legacy(&self, data: &[u8], trusted_comment: &str) -> String {
        signing::legacy_signature_text(&self.secret, data, trusted_comment)
            .unwrap_or_else(|e| panic!("cannot sign: {e:#}"))
    }

    /// The signature a real release of `version` carries over `sums`.
    pub fn sign_release_sums(&self, sums: &[u8], version: &str) -> String {
        self.sign_with_comment(sums, &signing::trusted_comment(version, unix_now()))
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// The host's target triple (cached).
pub fn host_target() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        crate::workspace::host_target()
            .unwrap_or_else(|e| panic!("cannot find the host target: {e:#}"))
    })
}

/// The directory that fixture builds use as `CARGO_TARGET_DIR`, apart from
/// `target/debug` so they never replace the binary a test harness runs.
pub fn fixtures_target_dir() -> PathBuf {
    crate::workspace::root().join("target").join("fixtures")
}

/// A real pane binary (debug profile, so `PANE_TEST_PUBKEY` is honoured)
/// that says `pane <version>`, at `target/fixtures/bins/<version>/pane`.
pub fn build_pane(version: &str) -> PathBuf {
    build_pane_with_profile(version, "dev")
}

/// [`build_pane`] with a cargo profile: `dev`, or `fastrelease` for a build
/// without debug assertions. Non-dev builds land in
/// `target/fixtures/bins/<profile>/<version>/pane`.
pub fn build_pane_with_profile(version: &str, profile: &str) -> PathBuf {
    try_build_pane(version, profile)
        .unwrap_or_else(|e| panic!("cannot build pane {version} ({profile}): {e:#}"))
}

/// Builds are serialized across threads (this mutex, which also guards the
/// per-process cache) and across processes (a file lock). A binary is reused
/// while the fingerprint of pane's inputs stored beside it still matches.
pub fn try_build_pane(version: &str, profile: &str) -> Result<PathBuf> {
    static BUILT: Mutex<Option<HashMap<(String, String), PathBuf>>> = Mutex::new(None);
    semver::Version::parse(version)
        .with_context(|| format!("version {version:?} is not semver"))?;
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let cache = built.get_or_insert_with(HashMap::new);
    let cache_key = (version.to_string(), profile.to_string());
    if let Some(path) = cache.get(&cache_key) {
        return Ok(path.clone());
    }

    let root = crate::workspace::root();
    let target_dir = fixtures_target_dir();
    std::fs::create_dir_all(&target_dir)
        .with_context(|| format!("cannot create {}", target_dir.display()))?;
    let lock_path = target_dir.join("build.lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open {}", lock_path.display()))?;
    lock.lock()
        .with_context(|| format!("cannot lock {}", lock_path.display()))?;

    let bins = target_dir.join("bins");
    let out_dir = match profile {
        "dev" => bins.join(version),
        other => bins.join(other).join(version),
    };
    let binary = out_dir.join("pane");
    let stamp = out_dir.join("pane.inputs");
    // Taken before building: an edit made during the build makes it stale.
    let fingerprint = input_fingerprint(&root)?;
    let fresh = binary.is_file()
        && std::fs::read_to_string(&stamp).is_ok_and(|text| text.trim() == fingerprint);
    if !fresh {
        let mut build = crate::process::nested_cargo();
        build
            .current_dir(&root)
            .args([
                "build",
                "--package",
                "pane",
                "--bin",
                "pane",
                "--profile",
                profile,
            ])
            .env("PANE_BUILD_VERSION", version)
            .env("CARGO_TARGET_DIR", &target_dir);
        crate::process::checked_output(
            &mut build,
            &format!("`cargo build -p pane --profile {profile}` with PANE_BUILD_VERSION={version}"),
        )?;
        let profile_dir = if profile == "dev" { "debug" } else { profile };
        let built_binary = target_dir.join(profile_dir).join("pane");
        std::fs::create_dir_all(&out_dir)
            .with_context(|| format!("cannot create {}", out_dir.display()))?;
        write_atomically(&binary, 0o755, |file| {
            let mut source = File::open(&built_binary)
                .with_context(|| format!("cannot open {}", built_binary.display()))?;
            std::io::copy(&mut source, file)
                .map(drop)
                .with_context(|| format!("cannot copy {}", built_binary.display()))
        })?;
        write_atomically(&stamp, 0o644, |file| {
            writeln!(file, "{fingerprint}").context("cannot write the build stamp")
        })?;
    }
    drop(lock);
    cache.insert(cache_key, binary.clone());
    Ok(binary)
}

/// A fingerprint of everything a pane build reads from the workspace: the
/// path, size and mtime of each file under `src/` and `keys/`, and of the
/// manifest, lock file and build script.
fn input_fingerprint(root: &Path) -> Result<String> {
    let mut files = Vec::new();
    for name in ["Cargo.toml", "Cargo.lock", "build.rs"] {
        files.push(root.join(name));
    }
    for dir in ["src", "keys"] {
        collect_files(&root.join(dir), &mut files)?;
    }
    files.sort();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for file in &files {
        if let Ok(metadata) = std::fs::metadata(file) {
            file.hash(&mut hasher);
            metadata.len().hash(&mut hasher);
            metadata.modified().ok().hash(&mut hasher);
        }
    }
    Ok(format!("{:016x}-{}", hasher.finish(), files.len()))
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        let path = entry.path();
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            collect_files(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

/// Writes `len` deterministic, incompressible bytes (a fixed-seed PRNG).
pub fn write_padding(mut writer: impl Write, len: u64) -> std::io::Result<()> {
    // splitmix64: fast, fixed, and gzip cannot squeeze its output.
    let mut state: u64 = 0x005e_ed0f_9ae5_0001;
    let mut buffer = vec![0u8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        for word in buffer.chunks_exact_mut(8) {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            word.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
        }
        let n = left.min(buffer.len() as u64) as usize;
        writer.write_all(&buffer[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// How a test release is signed.
#[derive(Clone, Debug)]
enum Signature {
    /// What `cargo xtask sign` makes.
    Release,
    /// Prehashed, with this trusted comment.
    Comment(String),
    /// Legacy `Ed`, with this trusted comment.
    Legacy(String),
    /// No `SHA256SUMS.minisig` at all.
    None,
}

/// Builds `root/v<version>/` like a real release: the archive (from
/// [`crate::archive::package_with`]), `SHA256SUMS` (from
/// [`crate::checksums::write_checksums`]) and `SHA256SUMS.minisig` (from
/// [`crate::signing::sign_release`]); or, through the other methods, a
/// release that is wrong in one chosen way.
#[derive(Clone, Debug)]
pub struct Release {
    version: String,
    binary: Option<PathBuf>,
    target: Option<String>,
    padding: u64,
    raw_archive: Option<RawTarGz>,
    assets: Vec<(String, Vec<u8>)>,
    sums: Option<String>,
    signature: Signature,
}

/// A release directory that [`Release::write`] made.
#[derive(Clone, Debug)]
pub struct ReleaseDir {
    /// `root/v<version>`
    pub dir: PathBuf,
    pub version: String,
    pub target: String,
    /// `dir/pane-<version>-<target>.tar.gz`
    pub archive: PathBuf,
}

impl ReleaseDir {
    pub fn archive_name(&self) -> String {
        archive_name(&self.version, &self.target)
    }

    pub fn sums_path(&self) -> PathBuf {
        self.dir.join(SUMS_NAME)
    }

    pub fn signature_path(&self) -> PathBuf {
        self.dir.join(SIGNATURE_NAME)
    }

    /// The SHA-256 of the archive, as listed in `SHA256SUMS`.
    pub fn archive_sha256(&self) -> String {
        checksums::sha256_file(&self.archive).unwrap_or_else(|e| panic!("{e:#}"))
    }
}

impl Release {
    pub fn new(version: impl Into<String>) -> Release {
        Release {
            version: version.into(),
            binary: None,
            target: None,
            padding: 0,
            raw_archive: None,
            assets: Vec::new(),
            sums: None,
            signature: Signature::Release,
        }
    }

    /// The binary to package (default: [`build_pane`] of this version).
    pub fn binary(mut self, path: impl Into<PathBuf>) -> Release {
        self.binary = Some(path.into());
        self
    }

    /// The target triple in the names (default: the host's).
    pub fn target(mut self, target: impl Into<String>) -> Release {
        self.target = Some(target.into());
        self
    }

    /// Appends `bytes` deterministic incompressible bytes to the binary, for
    /// big releases. The binary still runs: trailing bytes are ignored.
    pub fn padding(mut self, bytes: u64) -> Release {
        self.padding = bytes;
        self
    }

    /// Ships this archive, under the release's archive name, instead of the
    /// packaged binary. It is listed and signed like a good one.
    pub fn raw_archive(mut self, archive: RawTarGz) -> Release {
        self.raw_archive = Some(archive);
        self
    }

    /// Another asset (e.g. `install.sh`), listed in `SHA256SUMS`.
    pub fn asset(mut self, name: impl Into<String>, contents: impl Into<Vec<u8>>) -> Release {
        self.assets.push((name.into(), contents.into()));
        self
    }

    /// `SHA256SUMS` with exactly this text instead of the computed one
    /// (it is still signed).
    pub fn sums(mut self, text: impl Into<String>) -> Release {
        self.sums = Some(text.into());
        self
    }

    /// Sign with this trusted comment instead of the release's own.
    pub fn trusted_comment(mut self, comment: impl Into<String>) -> Release {
        self.signature = Signature::Comment(comment.into());
        self
    }

    /// Sign with a legacy (non-prehashed `Ed`) signature, with the right
    /// trusted comment.
    pub fn legacy_signature(mut self) -> Release {
        self.signature = Signature::Legacy(signing::trusted_comment(&self.version, unix_now()));
        self
    }

    /// Leave out `SHA256SUMS.minisig`.
    pub fn unsigned(mut self) -> Release {
        self.signature = Signature::None;
        self
    }

    pub fn write(self, root: &Path, key: &TestKey) -> ReleaseDir {
        let version = self.version.clone();
        self.try_write(root, key)
            .unwrap_or_else(|e| panic!("cannot write release {version}: {e:#}"))
    }

    pub fn try_write(self, root: &Path, key: &TestKey) -> Result<ReleaseDir> {
        let target = self
            .target
            .clone()
            .unwrap_or_else(|| host_target().to_string());
        let dir = root.join(format!("v{}", self.version));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let archive = dir.join(archive_name(&self.version, &target));
        self.write_archive(&dir, &target, &archive)?;
        self.write_assets_and_sums(&dir)?;
        self.write_signature(&dir, key)?;
        Ok(ReleaseDir {
            dir,
            version: self.version,
            target,
            archive,
        })
    }

    /// The archive: the raw one if given, else the (padded) binary packaged.
    fn write_archive(&self, dir: &Path, target: &str, archive: &Path) -> Result<()> {
        match &self.raw_archive {
            Some(raw) => raw.write(archive)?,
            None => {
                let binary = match &self.binary {
                    Some(binary) => binary.clone(),
                    None => try_build_pane(&self.version, "dev")?,
                };
                // Fixtures skip the workspace docs: only `pane`, so tests see
                // the same archive whatever README the repository has.
                let mut options = PackageOptions {
                    mtime: 0,
                    level: 6,
                    extra_files: Vec::new(),
                    contents: Vec::new(),
                };
                if self.padding == 0 {
                    package_with(&binary, &self.version, target, dir, &options)?;
                } else {
                    let scratch =
                        tempfile::tempdir().context("cannot make a temporary directory")?;
                    let padded = scratch.path().join("pane");
                    let result = (|| -> std::io::Result<()> {
                        let mut out = BufWriter::new(File::create(&padded)?);
                        std::io::copy(&mut File::open(&binary)?, &mut out)?;
                        write_padding(&mut out, self.padding)?;
                        out.into_inner().map_err(|e| e.into_error())?.sync_all()
                    })();
                    result.with_context(|| format!("cannot pad {}", binary.display()))?;
                    // Padding does not compress; spend no time trying.
                    options.level = 1;
                    package_with(&padded, &self.version, target, dir, &options)?;
                }
            }
        }
        Ok(())
    }

    /// The extra assets, then `SHA256SUMS` (computed, or the text given).
    fn write_assets_and_sums(&self, dir: &Path) -> Result<()> {
        for (name, contents) in &self.assets {
            let path = dir.join(name);
            write_atomically(&path, 0o644, |file| {
                file.write_all(contents)
                    .with_context(|| format!("cannot write {}", path.display()))
            })?;
        }
        match &self.sums {
            None => {
                checksums::write_checksums(dir)?;
            }
            Some(text) => {
                let path = dir.join(SUMS_NAME);
                write_atomically(&path, 0o644, |file| {
                    file.write_all(text.as_bytes())
                        .with_context(|| format!("cannot write {}", path.display()))
                })?;
            }
        }
        Ok(())
    }

    /// `SHA256SUMS.minisig` as [`Release`] was told to sign, or none.
    fn write_signature(&self, dir: &Path, key: &TestKey) -> Result<()> {
        let signature_path = dir.join(SIGNATURE_NAME);
        match &self.signature {
            Signature::Release if self.sums.is_none() => {
                signing::sign_release(dir, key.secret_key())?;
            }
            Signature::Release => {
                let comment = signing::trusted_comment(&self.version, unix_now());
                signing::write_signature(dir, key.secret_key(), &comment)?;
            }
            Signature::Comment(comment) => {
                signing::write_signature(dir, key.secret_key(), comment)?;
            }
            Signature::Legacy(comment) => {
                let sums = std::fs::read(dir.join(SUMS_NAME)).context("cannot read SHA256SUMS")?;
                let text = signing::legacy_signature_text(key.secret_key(), &sums, comment)?;
                std::fs::write(&signature_path, text)
                    .with_context(|| format!("cannot write {}", signature_path.display()))?;
            }
            Signature::None => {
                let _ = std::fs::remove_file(&signature_path);
            }
        }
        Ok(())
    }
}

/// A finished process, with its output as text: what the tests and
/// `cargo xtask chaos` get back from running pane. The checks panic, for tests.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub signal: Option<i32>,
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code(),
            signal: output.status.signal(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    pub fn success(self) -> Run {
        assert_eq!(self.code, Some(0), "expected success:\n{self}");
        self
    }

    pub fn code(self, code: i32) -> Run {
        assert_eq!(self.code, Some(code), "expected exit {code}:\n{self}");
        self
    }

    /// A clean failure: exit 1, no panic, and `needle` in stderr.
    pub fn fails_with(self, needle: &str) -> Run {
        assert_eq!(self.code, Some(1), "expected exit 1:\n{self}");
        assert!(!self.stderr.contains("panicked"), "panicked:\n{self}");
        assert!(
            self.stderr.to_lowercase().contains(&needle.to_lowercase()),
            "stderr lacks {needle:?}:\n{self}"
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{self}"))
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?} signal {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.signal, self.stdout, self.stderr
        )
    }
}
