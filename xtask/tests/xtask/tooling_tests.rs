//! dist, checksums, sign, keygen, formula and the fixtures, checked with the
//! stock tools that users and CI run.

use super::*;

/// A directory holding one packaged archive of `version` (fake binary).
fn dir_with_archive(version: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let binary = fake_binary(scratch.path(), version);
    package_with(&binary, version, host_target(), dir.path(), &options()).unwrap();
    dir
}

fn options() -> PackageOptions {
    PackageOptions {
        mtime: 0,
        level: 9,
        extra_files: Vec::new(),
        contents: Vec::new(),
    }
}

fn run(command: &mut Command) -> Output {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        stderr(&output)
    );
    output
}

#[test]
fn package_is_byte_identical_across_runs_and_well_formed() {
    let scratch = tempfile::tempdir().unwrap();
    let binary = fake_binary(scratch.path(), "1.2.0");
    let readme = scratch.path().join("README.md");
    std::fs::write(&readme, "# pane\n").unwrap();
    let mut options = options();
    options.extra_files = vec![("README.md".into(), readme.clone())];
    let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = package_with(
        &binary,
        "1.2.0",
        "x86_64-unknown-linux-musl",
        first.path(),
        &options,
    )
    .unwrap();
    // Different mtimes and modes on the inputs must not matter.
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(&binary, std::fs::read(&binary).unwrap()).unwrap();
    let b = package_with(
        &binary,
        "1.2.0",
        "x86_64-unknown-linux-musl",
        second.path(),
        &options,
    )
    .unwrap();
    assert_eq!(
        a.file_name().unwrap(),
        "pane-1.2.0-x86_64-unknown-linux-musl.tar.gz"
    );
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());

    let bytes = std::fs::read(&a).unwrap();
    assert_eq!(&bytes[..2], [0x1f, 0x8b]);
    assert_eq!(bytes[3] & 0x08, 0, "no file name in the gzip header");
    assert_eq!(&bytes[4..8], [0, 0, 0, 0], "gzip mtime 0");

    let listing = run(Command::new("tar")
        .args(["--numeric-owner", "-tvzf"])
        .arg(&a))
    .stdout;
    let listing = String::from_utf8(listing).unwrap();
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 3, "{listing}");
    assert!(
        lines[0].starts_with("drwxr-xr-x 0/0")
            && lines[0].ends_with(" pane-1.2.0-x86_64-unknown-linux-musl/"),
        "{listing}"
    );
    assert!(
        lines[1].starts_with("-rw-r--r-- 0/0") && lines[1].ends_with("/README.md"),
        "{listing}"
    );
    assert!(
        lines[2].starts_with("-rwxr-xr-x 0/0") && lines[2].ends_with("/pane"),
        "{listing}"
    );
    assert!(
        lines.iter().all(|l| l.contains(" 1970-01-01 ")),
        "{listing}"
    );
    // Empty owner names: `tar -tv` without --numeric-owner shows ids.
    let named = run(Command::new("tar").args(["-tvzf"]).arg(&a)).stdout;
    assert!(String::from_utf8(named)
        .unwrap()
        .lines()
        .all(|l| l.contains(" 0/0 ")));

    // Unpacked, the binary is the input.
    let out = tempfile::tempdir().unwrap();
    run(Command::new("tar")
        .arg("-xzf")
        .arg(&a)
        .arg("-C")
        .arg(out.path()));
    let unpacked = out.path().join("pane-1.2.0-x86_64-unknown-linux-musl/pane");
    assert_eq!(
        std::fs::read(unpacked).unwrap(),
        std::fs::read(&binary).unwrap()
    );
}

#[test]
fn package_refuses_bad_versions_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let binary = fake_binary(dir.path(), "x");
    let out = tempfile::tempdir().unwrap();
    let error = package_with(
        &binary,
        "1.2",
        "x86_64-unknown-linux-musl",
        out.path(),
        &options(),
    )
    .unwrap_err();
    assert!(format!("{error:#}").contains("not semver"), "{error:#}");
    let error = package_with(
        &dir.path().join("missing"),
        "1.2.0",
        "x",
        out.path(),
        &options(),
    )
    .unwrap_err();
    assert!(format!("{error:#}").contains("missing"), "{error:#}");
    assert!(listing(out.path()).is_empty());
}

#[test]
fn checksums_are_read_by_sha256sum_and_skip_themselves() {
    let dir = dir_with_archive("1.0.0");
    std::fs::write(dir.path().join("install.sh"), "#!/bin/sh\n").unwrap();
    std::fs::write(dir.path().join("SHA256SUMS.minisig"), "old").unwrap();
    let output = xtask_cli(&["checksums", dir.path().to_str().unwrap()], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = std::fs::read_to_string(dir.path().join("SHA256SUMS")).unwrap();
    let names: Vec<&str> = text.lines().map(|l| &l[66..]).collect();
    let archive = archive_name("1.0.0", host_target());
    let mut expected = vec!["install.sh", archive.as_str()];
    expected.sort();
    assert_eq!(names, expected);
    for line in text.lines() {
        assert!(line[..64]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(&line[64..66], "  ");
    }
    if need_gnu("sha256sum") {
        run(Command::new("sha256sum")
            .args(["-c", "--strict", "SHA256SUMS"])
            .current_dir(dir.path()));
    }
}

#[test]
fn checksums_refuse_a_directory_without_an_archive() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("install.sh"), "#!/bin/sh\n").unwrap();
    let output = xtask_cli(&["checksums", dir.path().to_str().unwrap()], &[]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("no release archive"),
        "{}",
        stderr(&output)
    );
    assert_eq!(listing(dir.path()), ["install.sh"]);
}

#[test]
fn checksums_leave_nothing_when_the_file_cannot_be_written() {
    let dir = dir_with_archive("1.0.0");
    // A directory in the way of SHA256SUMS: the rename fails.
    std::fs::create_dir(dir.path().join("SHA256SUMS")).unwrap();
    let before = listing(dir.path());
    let error = checksums::write_checksums(dir.path()).unwrap_err();
    assert!(format!("{error:#}").contains("SHA256SUMS"), "{error:#}");
    assert_eq!(listing(dir.path()), before);
}

/// What `minisign -V` prints as the trusted comment, after it verified.
fn stock_verify(dir: &Path, public_key: &Path) -> String {
    let output = run(Command::new("minisign")
        .args(["-V", "-m", "SHA256SUMS", "-p"])
        .arg(public_key)
        .current_dir(dir));
    let stdout = String::from_utf8(output.stdout).unwrap();
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("Trusted comment: "))
        .unwrap_or_else(|| panic!("no trusted comment in {stdout}"))
        .to_string()
}

#[test]
fn sign_makes_what_stock_minisign_verifies() {
    let key = TestKey::generate();
    let dir = dir_with_archive("1.3.0-beta.1");
    checksums::write_checksums(dir.path()).unwrap();
    let output = xtask_cli(
        &[
            "sign",
            dir.path().to_str().unwrap(),
            "--key",
            key.secret_key_path().to_str().unwrap(),
        ],
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let signature = std::fs::read_to_string(dir.path().join("SHA256SUMS.minisig")).unwrap();
    assert!(
        signature.starts_with("untrusted comment: signature from pane release tooling\nRU"),
        "{signature}"
    ); // "ED"
    let comment = signing::verify_release(dir.path(), key.public_key()).unwrap();
    let fields: Vec<&str> = comment.split('\t').collect();
    assert_eq!(
        fields[..3],
        ["product:pane", "version:1.3.0-beta.1", "file:SHA256SUMS"]
    );
    let timestamp: u64 = fields[3]
        .strip_prefix("timestamp:")
        .unwrap()
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now - timestamp < 600);
    assert_eq!(fields.len(), 4);
    if need("minisign") {
        assert_eq!(stock_verify(dir.path(), &key.pub_path()), comment);
    }
}

#[test]
fn what_stock_minisign_signs_passes_our_check_and_its_keys_sign() {
    if !need("minisign") {
        return;
    }
    let keys = tempfile::tempdir().unwrap();
    let (public_key, secret_key) = (keys.path().join("k.pub"), keys.path().join("k.key"));
    run(Command::new("minisign")
        .args(["-G", "-W", "-p"])
        .arg(&public_key)
        .arg("-s")
        .arg(&secret_key));
    let public = signing::parse_public_key(&std::fs::read_to_string(&public_key).unwrap()).unwrap();

    let dir = dir_with_archive("2.0.0");
    checksums::write_checksums(dir.path()).unwrap();
    let comment = "product:pane\tversion:2.0.0\tfile:SHA256SUMS\ttimestamp:1700000000";
    run(Command::new("minisign")
        .args(["-S", "-s"])
        .arg(&secret_key)
        .args(["-m", "SHA256SUMS", "-t", comment])
        .current_dir(dir.path()));
    assert_eq!(
        signing::verify_release(dir.path(), &public).unwrap(),
        comment
    );

    // The stock CLI's unencrypted (-W) key works for `sign`.
    std::fs::remove_file(dir.path().join("SHA256SUMS.minisig")).unwrap();
    let output = xtask_cli(
        &[
            "sign",
            dir.path().to_str().unwrap(),
            "--key",
            secret_key.to_str().unwrap(),
        ],
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stock_verify(dir.path(), &public_key).starts_with("product:pane\tversion:2.0.0\t"));

    // And our own check refuses a tampered list.
    let sums = dir.path().join("SHA256SUMS");
    let mut text = std::fs::read_to_string(&sums).unwrap();
    text.push_str(&format!("{}  extra\n", "0".repeat(64)));
    std::fs::write(&sums, text).unwrap();
    assert!(signing::verify_release(dir.path(), &public).is_err());
}

#[test]
fn sign_with_an_encrypted_key_needs_the_right_password() {
    // The key comes from `keygen` (stock minisign decrypts those: see the
    // keygen test). A key from stock `minisign -G` works the same way but
    // uses scrypt with 1 GiB, far too slow for an unoptimized test build.
    let keys = tempfile::tempdir().unwrap();
    let output = xtask_cli(
        &[
            "keygen",
            "--out",
            keys.path().to_str().unwrap(),
            "--id",
            "e",
        ],
        &[("MINISIGN_PASSWORD", "correct horse")],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let (public_key, secret_key) = (keys.path().join("e.pub"), keys.path().join("e.key"));

    let dir = dir_with_archive("1.0.0");
    checksums::write_checksums(dir.path()).unwrap();
    let before = listing(dir.path());
    let sign = |env: &[(&str, &str)]| {
        xtask_cli(
            &[
                "sign",
                dir.path().to_str().unwrap(),
                "--key",
                secret_key.to_str().unwrap(),
            ],
            env,
        )
    };

    let output = sign(&[]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("MINISIGN_PASSWORD"),
        "{}",
        stderr(&output)
    );
    assert_eq!(listing(dir.path()), before);

    let output = sign(&[("MINISIGN_PASSWORD", "wrong")]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("Wrong password"),
        "{}",
        stderr(&output)
    );
    assert_eq!(listing(dir.path()), before);

    let output = sign(&[("MINISIGN_PASSWORD", "correct horse")]);
    assert!(output.status.success(), "{}", stderr(&output));
    let public = signing::parse_public_key(&std::fs::read_to_string(&public_key).unwrap()).unwrap();
    assert!(signing::verify_release(dir.path(), &public)
        .unwrap()
        .contains("version:1.0.0"));
    if need("minisign") {
        assert!(stock_verify(dir.path(), &public_key).contains("version:1.0.0"));
    }
}

/// `sign` checks what speaks of the archives before it signs: an
/// `install.sh` stamped before an archive was rebuilt (it would refuse its
/// own release), or an SBOM named for no archive here, is refused and
/// nothing is signed; the script stamped anew signs.
#[test]
fn sign_refuses_a_script_stamped_for_another_build_and_a_stray_sbom() {
    let key = TestKey::generate();
    let sign = |dir: &Path| {
        xtask_cli(
            &[
                "sign",
                dir.to_str().unwrap(),
                "--key",
                key.secret_key_path().to_str().unwrap(),
            ],
            &[],
        )
    };
    let script = xtask::workspace::root().join("install.sh");
    let dir = dir_with_archive("1.0.0");
    xtask::install_script::write_stamped(dir.path(), &script).unwrap();
    // The archive rebuilt after the stamp: same name, other bytes.
    let scratch = tempfile::tempdir().unwrap();
    let rebuilt = fake_binary(scratch.path(), "1.0.0 rebuilt");
    package_with(&rebuilt, "1.0.0", host_target(), dir.path(), &options()).unwrap();
    checksums::write_checksums(dir.path()).unwrap();
    let output = sign(dir.path());
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("is stamped for another build"),
        "{}",
        stderr(&output)
    );
    assert!(!dir.path().join("SHA256SUMS.minisig").exists());

    // Stamped anew from the repository's script: signed.
    std::fs::remove_file(dir.path().join("install.sh")).unwrap();
    xtask::install_script::write_stamped(dir.path(), &script).unwrap();
    checksums::write_checksums(dir.path()).unwrap();
    let output = sign(dir.path());
    assert!(output.status.success(), "{}", stderr(&output));

    // An SBOM of another version beside the archive.
    let stray = xtask::dist::sbom_name("1.0.1", host_target());
    std::fs::write(dir.path().join(&stray), "{}\n").unwrap();
    std::fs::remove_file(dir.path().join("SHA256SUMS.minisig")).unwrap();
    checksums::write_checksums(dir.path()).unwrap();
    let output = sign(dir.path());
    assert!(
        stderr(&output).contains(&format!("{stray} in"))
            && stderr(&output).contains("is not the SBOM of any archive"),
        "{}",
        stderr(&output)
    );
    assert!(!dir.path().join("SHA256SUMS.minisig").exists());
    // Its own name, but describing another version (or none): refused.
    std::fs::remove_file(dir.path().join(&stray)).unwrap();
    let own = dir
        .path()
        .join(xtask::dist::sbom_name("1.0.0", host_target()));
    for (text, says) in [
        (
            r#"{"metadata":{"component":{"version":"0.1.0"}}}"#,
            "describes pane 0.1.0, not pane 1.0.0",
        ),
        ("{}", "describes pane (no version), not pane 1.0.0"),
    ] {
        std::fs::write(&own, text).unwrap();
        checksums::write_checksums(dir.path()).unwrap();
        let output = sign(dir.path());
        assert!(stderr(&output).contains(says), "{}", stderr(&output));
        assert!(!dir.path().join("SHA256SUMS.minisig").exists());
    }
    // Its own SBOM of its own version is fine.
    std::fs::write(&own, r#"{"metadata":{"component":{"version":"1.0.0"}}}"#).unwrap();
    checksums::write_checksums(dir.path()).unwrap();
    let output = sign(dir.path());
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn sign_refuses_bad_directories_and_leaves_nothing() {
    let key = TestKey::generate();
    let key_path = key.secret_key_path();
    let sign = |dir: &Path, key: &Path| {
        xtask_cli(
            &[
                "sign",
                dir.to_str().unwrap(),
                "--key",
                key.to_str().unwrap(),
            ],
            &[],
        )
    };

    // Missing key file.
    let dir = dir_with_archive("1.0.0");
    checksums::write_checksums(dir.path()).unwrap();
    let before = listing(dir.path());
    let output = sign(dir.path(), &dir.path().join("no-such.key"));
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("cannot read the secret key"),
        "{}",
        stderr(&output)
    );
    assert_eq!(listing(dir.path()), before);

    // Not a key at all.
    let output = sign(dir.path(), &dir.path().join("SHA256SUMS"));
    assert!(
        stderr(&output).contains("not a minisign secret key"),
        "{}",
        stderr(&output)
    );
    assert_eq!(listing(dir.path()), before);

    // No archive.
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("SHA256SUMS"), "").unwrap();
    let output = sign(empty.path(), &key_path);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("no release archive"),
        "{}",
        stderr(&output)
    );
    assert_eq!(listing(empty.path()), ["SHA256SUMS"]);

    // Two versions.
    let scratch = tempfile::tempdir().unwrap();
    let binary = fake_binary(scratch.path(), "x");
    package_with(
        &binary,
        "1.1.0",
        "aarch64-apple-darwin",
        dir.path(),
        &options(),
    )
    .unwrap();
    checksums::write_checksums(dir.path()).unwrap();
    let before = listing(dir.path());
    let output = sign(dir.path(), &key_path);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("mixes two versions")
            && message.contains("1.0.0")
            && message.contains("1.1.0"),
        "{message}"
    );
    assert_eq!(listing(dir.path()), before);

    // Stale SHA256SUMS.
    let dir = dir_with_archive("1.0.0");
    checksums::write_checksums(dir.path()).unwrap();
    std::fs::write(dir.path().join("install.sh"), "late\n").unwrap();
    let output = sign(dir.path(), &key_path);
    assert!(stderr(&output).contains("stale"), "{}", stderr(&output));
    assert!(!dir.path().join("SHA256SUMS.minisig").exists());

    // Unwritable: a directory where the signature goes.
    let dir = dir_with_archive("1.0.0");
    checksums::write_checksums(dir.path()).unwrap();
    std::fs::create_dir(dir.path().join("SHA256SUMS.minisig")).unwrap();
    let before = listing(dir.path());
    let output = sign(dir.path(), &key_path);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("cannot write"),
        "{}",
        stderr(&output)
    );
    assert_eq!(listing(dir.path()), before);

    // Unwritable: DIR is a path under a regular file.
    let output = sign(&dir.path().join("SHA256SUMS").join("sub"), &key_path);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("cannot read directory"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn keygen_makes_keys_stock_minisign_uses_and_guards_keys_dir() {
    let out = tempfile::tempdir().unwrap();
    let output = xtask_cli(
        &[
            "keygen",
            "--out",
            out.path().to_str().unwrap(),
            "--id",
            "plain",
        ],
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let output = xtask_cli(
        &[
            "keygen",
            "--out",
            out.path().to_str().unwrap(),
            "--id",
            "locked",
        ],
        &[("MINISIGN_PASSWORD", "pw")],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let key_id = stdout
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap()
        .to_string();
    assert_eq!(key_id.len(), 16);

    use std::os::unix::fs::PermissionsExt;
    for id in ["plain", "locked"] {
        let mode = std::fs::metadata(out.path().join(format!("{id}.key")))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{id}");
        let public = std::fs::read_to_string(out.path().join(format!("{id}.pub"))).unwrap();
        let lines: Vec<&str> = public.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("untrusted comment: minisign public key: "));
        assert_eq!(lines[1].len(), 56);
    }
    let locked_pub = std::fs::read_to_string(out.path().join("locked.pub")).unwrap();
    assert!(locked_pub.starts_with(&format!(
        "untrusted comment: minisign public key: {key_id}\n"
    )));

    // Overwriting is refused.
    let output = xtask_cli(
        &[
            "keygen",
            "--out",
            out.path().to_str().unwrap(),
            "--id",
            "plain",
        ],
        &[],
    );
    assert!(
        stderr(&output).contains("already exists"),
        "{}",
        stderr(&output)
    );

    // Into the repository's keys/, or a folder of it that does not exist
    // yet: refused, nothing written, not even the folder made.
    let keys = xtask::workspace::root().join("keys");
    let before = listing(&keys);
    for out in [keys.clone(), keys.join("new/deeper")] {
        let output = xtask_cli(
            &["keygen", "--out", out.to_str().unwrap(), "--id", "oops"],
            &[],
        );
        assert!(!output.status.success());
        assert!(
            stderr(&output).contains("refusing to write a secret key"),
            "{}",
            stderr(&output)
        );
        assert_eq!(listing(&keys), before);
    }

    // Under a regular file: a clear error.
    let output = xtask_cli(
        &[
            "keygen",
            "--out",
            out.path().join("plain.pub").join("x").to_str().unwrap(),
        ],
        &[],
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("cannot create"),
        "{}",
        stderr(&output)
    );

    if !need("minisign") {
        return;
    }
    let data = out.path().join("data");
    std::fs::write(&data, "hello\n").unwrap();
    run(Command::new("minisign")
        .args(["-S", "-s"])
        .arg(out.path().join("plain.key"))
        .arg("-m")
        .arg(&data));
    run(Command::new("minisign")
        .args(["-V", "-p"])
        .arg(out.path().join("plain.pub"))
        .arg("-m")
        .arg(&data));
    let mut child = Command::new("minisign")
        .args(["-S", "-s"])
        .arg(out.path().join("locked.key"))
        .arg("-m")
        .arg(&data)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"pw\n").unwrap();
    assert!(
        child.wait().unwrap().success(),
        "stock minisign decrypts keygen's key"
    );
    run(Command::new("minisign")
        .args(["-V", "-p"])
        .arg(out.path().join("locked.pub"))
        .arg("-m")
        .arg(&data));
}

#[test]
fn formula_covers_every_target_and_ruby_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let binary = fake_binary(scratch.path(), "1.4.0");
    for (_, _, target) in xtask::formula::FORMULA_TARGETS {
        package_with(&binary, "1.4.0", target, dir.path(), &options()).unwrap();
    }
    checksums::write_checksums(dir.path()).unwrap();
    let sums =
        checksums::parse(&std::fs::read_to_string(dir.path().join("SHA256SUMS")).unwrap()).unwrap();
    let out = scratch.path().join("pane.rb");
    let output = xtask_cli(
        &[
            "formula",
            dir.path().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("class Pane < Formula"));
    assert!(text.contains("version \"1.4.0\""));
    for (hash, name) in &sums {
        assert!(text.contains(&format!(
            "url \"https://github.com/pane-cli/pane/releases/download/v1.4.0/{name}\"\n      sha256 \"{hash}\""
        )), "{name} in\n{text}");
    }
    assert!(
        text.contains("assert_match \"pane #{version}\", shell_output(\"#{bin}/pane --version\")")
    );
    if need("ruby") {
        let check = run(Command::new("ruby").arg("-c").arg(&out));
        assert!(String::from_utf8_lossy(&check.stdout).contains("Syntax OK"));
    }
}

#[test]
fn formula_refuses_missing_targets_unless_allowed() {
    let dir = dir_with_archive("1.4.0");
    checksums::write_checksums(dir.path()).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("pane.rb");
    let output = xtask_cli(
        &[
            "formula",
            dir.path().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("--allow-missing"),
        "{}",
        stderr(&output)
    );
    assert!(listing(scratch.path()).is_empty());

    let output = xtask_cli(
        &[
            "formula",
            dir.path().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--allow-missing",
        ],
        &[],
    );
    let host_is_listed = xtask::formula::FORMULA_TARGETS
        .iter()
        .any(|(_, _, t)| *t == host_target());
    assert_eq!(
        output.status.success(),
        host_is_listed,
        "{}",
        stderr(&output)
    );
    if host_is_listed && need("ruby") {
        run(Command::new("ruby").arg("-c").arg(&out));
    }
}

#[test]
fn raw_archives_hold_exactly_the_hostile_entries_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.tar.gz");
    RawTarGz::new()
        .directory("pane-1.0.0-x/")
        .file("pane-1.0.0-x/pane", b"one".to_vec(), 0o755)
        .file("pane-1.0.0-x/pane", b"two".to_vec(), 0o755)
        .symlink("pane-1.0.0-x/link", "/etc/passwd")
        .hardlink("pane-1.0.0-x/hard", "/etc/shadow")
        .file("../escape", b"x".to_vec(), 0o644)
        .file("/absolute", b"x".to_vec(), 0o644)
        .write(&path)
        .unwrap();
    // The exact header bytes, read back with the tar crate.
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(&path).unwrap(),
    ));
    let entries: Vec<(String, Option<String>, tar::EntryType)> = archive
        .entries()
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let header = entry.header();
            (
                String::from_utf8(header.path_bytes().into_owned()).unwrap(),
                header
                    .link_name_bytes()
                    .map(|l| String::from_utf8(l.into_owned()).unwrap()),
                header.entry_type(),
            )
        })
        .collect();
    use tar::EntryType::{Directory, Link, Regular, Symlink};
    let expected = [
        ("pane-1.0.0-x/", None, Directory),
        ("pane-1.0.0-x/pane", None, Regular),
        ("pane-1.0.0-x/pane", None, Regular),
        ("pane-1.0.0-x/link", Some("/etc/passwd"), Symlink),
        ("pane-1.0.0-x/hard", Some("/etc/shadow"), Link),
        ("../escape", None, Regular),
        ("/absolute", None, Regular),
    ];
    assert_eq!(entries.len(), expected.len());
    for (entry, (name, link, kind)) in entries.iter().zip(expected) {
        assert_eq!(
            (entry.0.as_str(), entry.1.as_deref(), entry.2),
            (name, link, kind)
        );
    }
    // GNU tar reads it too (and lists all seven).
    let listing = run(Command::new("tar").arg("-tzf").arg(&path)).stdout;
    assert_eq!(String::from_utf8(listing).unwrap().lines().count(), 7);
}

#[test]
fn a_gzip_bomb_is_small_packed_and_huge_unpacked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.tar.gz");
    RawTarGz::new()
        .zeros("pane-1.0.0-x/pane", 640 << 20, 0o755)
        .write(&path)
        .unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() < 2 << 20);
    let listing = run(Command::new("tar").args(["-tvzf"]).arg(&path)).stdout;
    assert!(String::from_utf8(listing)
        .unwrap()
        .contains(&(640u64 << 20).to_string()));
}

#[test]
fn test_keys_sign_what_stock_minisign_verifies_and_legacy_signatures_are_legacy() {
    let key = TestKey::generate();
    assert_eq!(key.key_id_hex().len(), 16);
    assert!(key
        .key_id_hex()
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)));
    assert_eq!(
        key.pub_file(),
        format!(
            "untrusted comment: minisign public key: {}\n{}\n",
            key.key_id_hex(),
            key.public_key_line()
        )
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::write(&data, "some bytes\n").unwrap();
    std::fs::write(
        dir.path().join("data.minisig"),
        key.sign_with_comment(b"some bytes\n", "anything\tgoes"),
    )
    .unwrap();
    if need("minisign") {
        let output = run(Command::new("minisign")
            .args(["-V", "-m"])
            .arg(&data)
            .arg("-P")
            .arg(key.public_key_line()));
        assert!(String::from_utf8_lossy(&output.stdout).contains("Trusted comment: anything\tgoes"));
        let legacy = key.sign_legacy(b"some bytes\n", "product:pane");
        assert!(legacy.lines().nth(1).unwrap().starts_with("RW"), "{legacy}"); // "Ed"
        std::fs::write(dir.path().join("data.minisig"), legacy).unwrap();
        // Stock minisign 0.11 still accepts legacy signatures: they are valid,
        // only pane's policy refuses them.
        let output = Command::new("minisign")
            .args(["-V", "-m"])
            .arg(&data)
            .arg("-P")
            .arg(key.public_key_line())
            .output()
            .unwrap();
        eprintln!(
            "stock minisign on a legacy signature: {}",
            String::from_utf8_lossy(&output.stdout).trim()
        );
    }
}

#[test]
fn release_fixture_with_a_fake_binary_is_a_real_release() {
    let key = TestKey::generate();
    let root = tempfile::tempdir().unwrap();
    let release = fake_release(root.path(), "1.5.0", &key);
    assert_eq!(release.dir, root.path().join("v1.5.0"));
    assert_eq!(listing(&release.dir), {
        let mut names = vec![
            release.archive_name(),
            "SHA256SUMS".into(),
            "SHA256SUMS.minisig".into(),
        ];
        names.sort();
        names
    });
    let comment = signing::verify_release(&release.dir, key.public_key()).unwrap();
    assert!(comment.starts_with("product:pane\tversion:1.5.0\tfile:SHA256SUMS\ttimestamp:"));
    if need_gnu("sha256sum") {
        run(Command::new("sha256sum")
            .args(["-c", "SHA256SUMS"])
            .current_dir(&release.dir));
    }

    // Variants for the updater's refusals.
    let scratch = tempfile::tempdir().unwrap();
    let binary = fake_binary(scratch.path(), "x");
    let wrong = Release::new("1.6.0")
        .binary(&binary)
        .trusted_comment("product:pane\tversion:9.9.9\tfile:SHA256SUMS")
        .write(root.path(), &key);
    assert!(signing::verify_release(&wrong.dir, key.public_key())
        .unwrap()
        .contains("9.9.9"));
    let legacy = Release::new("1.7.0")
        .binary(&binary)
        .legacy_signature()
        .write(root.path(), &key);
    assert!(signing::verify_release(&legacy.dir, key.public_key()).is_err());
    let unsigned = Release::new("1.8.0")
        .binary(&binary)
        .unsigned()
        .write(root.path(), &key);
    assert!(!unsigned.signature_path().exists());
    let bomb = Release::new("1.9.0")
        .raw_archive(RawTarGz::new().zeros("pane-1.9.0-x/pane", 1 << 20, 0o755))
        .asset("install.sh", "#!/bin/sh\n")
        .write(root.path(), &key);
    let sums = std::fs::read_to_string(bomb.sums_path()).unwrap();
    assert!(sums.contains(&bomb.archive_sha256()) && sums.contains("  install.sh\n"));
    let padded = Release::new("2.0.0")
        .binary(&binary)
        .padding(3 << 20)
        .write(root.path(), &key);
    assert!(std::fs::metadata(&padded.archive).unwrap().len() > 3 << 20);
}

#[test]
fn build_pane_stamps_the_version_and_release_fixtures_run() {
    let binary = xtask::fixtures::build_pane("7.8.9-test.1");
    assert_eq!(
        binary,
        xtask::workspace::root().join("target/fixtures/bins/7.8.9-test.1/pane")
    );
    let output = run(Command::new(&binary).arg("--version"));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "pane 7.8.9-test.1"
    );
    // Cached: the same path, the same file, not written again.
    let stamp = |path: &Path| {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path).unwrap();
        (meta.ino(), meta.mtime(), meta.mtime_nsec())
    };
    let before = stamp(&binary);
    assert_eq!(xtask::fixtures::build_pane("7.8.9-test.1"), binary);
    assert_eq!(stamp(&binary), before);

    let key = TestKey::generate();
    let root = tempfile::tempdir().unwrap();
    let release = Release::new("7.8.9-test.1").write(root.path(), &key);
    if need("minisign") {
        stock_verify(&release.dir, &key.pub_path());
    }
    let out = tempfile::tempdir().unwrap();
    run(Command::new("tar")
        .arg("-xzf")
        .arg(&release.archive)
        .arg("-C")
        .arg(out.path()));
    let unpacked = out
        .path()
        .join(format!("pane-7.8.9-test.1-{}/pane", host_target()));
    let output = run(Command::new(unpacked).arg("--version"));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "pane 7.8.9-test.1"
    );
}

#[test]
fn dist_is_reproducible() {
    let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for out in [&first, &second] {
        let output = xtask_cli(
            &[
                "dist",
                "--profile",
                "fastrelease",
                "--version",
                "3.2.1",
                "--out",
                out.path().to_str().unwrap(),
            ],
            &[],
        );
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let name = archive_name("3.2.1", host_target());
    let (a, b) = (first.path().join(&name), second.path().join(&name));
    if checksums::sha256_file(&a).unwrap() != checksums::sha256_file(&b).unwrap() {
        // Say which half is not reproducible: the build or the packaging.
        let unpack = |archive: &Path| {
            let out = tempfile::tempdir().unwrap();
            run(Command::new("tar")
                .arg("-xzf")
                .arg(archive)
                .arg("-C")
                .arg(out.path()));
            std::fs::read(
                out.path()
                    .join(format!("pane-3.2.1-{}/pane", host_target())),
            )
            .unwrap()
        };
        assert!(
            unpack(&a) == unpack(&b),
            "the two `dist` runs built different binaries: did pane's sources change during the test?"
        );
        panic!("the same binary packaged twice gave different archives");
    }
    // The archive and its SBOM, nothing else.
    let sbom = xtask::dist::sbom_name("3.2.1", host_target());
    assert_eq!(listing(first.path()), [sbom, name.clone()]);
    let out = tempfile::tempdir().unwrap();
    run(Command::new("tar")
        .arg("-xzf")
        .arg(first.path().join(&name))
        .arg("-C")
        .arg(out.path()));
    let binary = out
        .path()
        .join(format!("pane-3.2.1-{}/pane", host_target()));
    let output = run(Command::new(binary).arg("--version"));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "pane 3.2.1");
}
