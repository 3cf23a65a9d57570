//! `cargo xtask channel`: make and sign the release channel document of a
//! mirror.
//!
//! The document lives where pane looks for it on a static mirror,
//! `<PANE_RELEASES_URL>/download/channel/channel.json`: in the tree that
//! `cargo xtask serve ROOT` serves, `ROOT/channel/channel.json` and
//! `ROOT/channel/channel.json.minisig`, beside the releases `ROOT/v<V>/`.
//!
//! Each change reads the current document (or starts from an empty one),
//! checks that its signature verifies under the signing key (or under
//! `--base-pub`, after a key rotation), so a tampered mirror is never signed
//! over; applies the change; bumps the serial; sets `issued` to now and
//! `expires` to now plus `--valid-days`; and writes the document and its
//! signature (prehashed minisign, trusted comment
//! `product:pane<TAB>file:channel.json<TAB>serial:<n><TAB>timestamp:<unix>`).
//! The document is handled as JSON values, so fields this tool does not know
//! (written by hand or by a later tool) are kept.
//!
//! A version has one withdrawal entry: withdrawing it again on other targets
//! adds them to the entry (a withdrawal on every target covers them all),
//! and never lifts the withdrawal on the targets named before.
//!
//! A version the document names (a replacement, a rollout, a critical mark)
//! must be released in the mirror: `v<V>/SHA256SUMS` and its signature, which
//! must verify as pane verifies a release, under a release key pane trusts
//! (those compiled from `keys/`, with `keys/revoked`; or the public keys given
//! with `--release-pub`, for a mirror signed with others), its trusted
//! comment naming pane `V`'s `SHA256SUMS`. A channel key is never one of
//! those (the one signing, the `--base-pub` one, or one compiled from
//! `keys/channel/`): a key holds one role only.
//!
//! Refused: a replacement that is not released in the mirror, that is a
//! pre-release, that is withdrawn itself, that is
//! the version withdrawn, or that is below the oldest version the withdrawn
//! release lets a channel send it to ([`decide::minimum_version`]: it would
//! refuse the replacement, and its installations would have no way out); a
//! replacement other than the one an earlier withdrawal of the version names
//! for targets the new one does not cover; withdrawing a version that another
//! withdrawal names as its replacement; a rollout longer than
//! [`MAX_ROLLOUT_HOURS`] or ending more than that after now, a document
//! pane's own parser refuses, or a rollout or critical mark for a version that is
//! not released or is withdrawn.

use pane::channel::decide;
use pane::channel::document::{rollout_end, rollout_limit, MAX_ROLLOUT_HOURS};
use pane::channel::time::Timestamp;
use pane::channel::verify::ChannelKeys;
use pane::update::verify::{verify_sums, TrustStore, TrustedKey};
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use minisign::{PublicKey, SecretKey};
use semver::Version;
use serde_json::{json, Map, Value};

use crate::checksums::{SIGNATURE_NAME, SUMS_NAME};
use crate::error::{Context, Result};
use crate::fsutil::write_atomically;
use crate::signing;

/// The directory of the document in a mirror (served as `download/channel/`).
pub const CHANNEL_DIR: &str = "channel";
pub const DOCUMENT_NAME: &str = "channel.json";
pub const SIGNATURE_FILE_NAME: &str = "channel.json.minisig";

/// `cargo xtask channel` (the CLI's arguments; `main.rs` registers it).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The mirror's root, as given to `cargo xtask serve`: releases in
    /// ROOT/v<V>/, the document in ROOT/channel/
    #[arg(long, value_name = "ROOT", global = true)]
    pub mirror: Option<PathBuf>,
    /// The channel key: a minisign secret key file (password from MINISIGN_PASSWORD)
    #[arg(long, value_name = "FILE", global = true)]
    pub key: Option<PathBuf>,
    /// Check the current document's signature under this public key instead
    /// of the signing key's (after rotating the channel key)
    #[arg(long = "base-pub", value_name = "FILE", global = true)]
    pub base_pub: Option<PathBuf>,
    /// Check the releases a change names under these release keys (minisign
    /// public key files; repeatable) instead of those compiled from keys/,
    /// for a mirror whose releases are signed with other keys
    #[arg(long = "release-pub", value_name = "FILE", global = true)]
    pub release_pub: Vec<PathBuf>,
    /// How long the new document is valid: `expires` = now + DAYS
    #[arg(long, value_name = "DAYS", default_value_t = 14, global = true)]
    pub valid_days: u32,
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum Action {
    /// Withdraw VERSION: installations on it go to the replacement
    Withdraw {
        version: String,
        /// The released version installations go to instead
        #[arg(long)]
        replacement: String,
        /// Why, as users will read it
        #[arg(long)]
        reason: String,
        /// Only on this target triple (repeatable; default: every target)
        #[arg(long = "target", value_name = "TRIPLE")]
        targets: Vec<String>,
    },
    /// Roll VERSION out over HOURS from START (default: now)
    Rollout {
        version: String,
        #[arg(long)]
        hours: f64,
        /// YYYY-MM-DDTHH:MM:SSZ
        #[arg(long, value_name = "TIME")]
        start: Option<String>,
    },
    /// Mark VERSION critical: it skips any rollout and is announced on every run
    Critical { version: String },
    /// Print the current document and its signed serial
    Show,
}

/// Runs a parsed `cargo xtask channel` and returns what to print.
pub fn run(args: &Args, password: Option<&str>) -> Result<String> {
    let Some(mirror) = &args.mirror else {
        crate::bail!("--mirror ROOT is required (the directory `cargo xtask serve` serves)");
    };
    if let Action::Show = args.action {
        return show(mirror);
    }
    let Some(key_path) = &args.key else {
        crate::bail!("--key FILE is required: the channel key signs the new document");
    };
    let key = signing::load_secret_key(key_path, password)?;
    let base_key = match &args.base_pub {
        Some(path) => Some(signing::parse_public_key(
            &std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?,
        )?),
        None => None,
    };
    let releases = release_keys(&args.release_pub)?;
    let now = unix_now();
    let document = publish(
        mirror,
        &args.action,
        &key,
        base_key.as_ref(),
        &releases,
        now,
        args.valid_days,
    )?;
    Ok(format!(
        "{} (serial {})",
        document_path(mirror).display(),
        document["serial"]
    ))
}

pub fn document_path(mirror: &Path) -> PathBuf {
    mirror.join(CHANNEL_DIR).join(DOCUMENT_NAME)
}

pub fn signature_path(mirror: &Path) -> PathBuf {
    mirror.join(CHANNEL_DIR).join(SIGNATURE_FILE_NAME)
}

/// The trusted comment of a channel document's signature.
pub fn trusted_comment(serial: u64, timestamp: u64) -> String {
    format!("product:pane\tfile:{DOCUMENT_NAME}\tserial:{serial}\ttimestamp:{timestamp}")
}

/// The release keys a release the document names must be signed with, as
/// pane checks a release: the public key files in `paths`, or, when there
/// are none, the release keys compiled into pane from `keys/`. The ids in
/// `keys/revoked` are refused either way.
pub fn release_keys(paths: &[PathBuf]) -> Result<TrustStore> {
    let compiled = TrustStore::compiled()
        .map_err(|e| crate::Error::msg(format!("the keys compiled from keys/: {e}")))?;
    release_keys_over(paths, compiled)
}

/// [`release_keys`] over the store `compiled` (the tests' stand-in for
/// `keys/`, whose `revoked` lists no id today).
fn release_keys_over(paths: &[PathBuf], compiled: TrustStore) -> Result<TrustStore> {
    if paths.is_empty() {
        return Ok(TrustStore {
            origin: "the release keys compiled from keys/ (for a mirror signed with others: --release-pub)".into(),
            ..compiled
        });
    }
    let mut keys = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let line = signing::parse_public_key(&text)
            .with_context(|| format!("{} is not a minisign public key", path.display()))?
            .to_base64();
        let name = path.display().to_string();
        let key = TrustedKey::from_base64(&name, &line).ok_or_else(|| {
            crate::Error::msg(format!("{name} is not a minisign Ed25519 public key"))
        })?;
        keys.push(key);
    }
    Ok(TrustStore {
        keys,
        revoked: compiled.revoked,
        origin: "the release keys given with --release-pub".into(),
    })
}

/// Reads the current document, applies `action`, bumps the serial, signs
/// and writes it. Returns the new document. A release the change names must
/// verify under `releases` (see [`release_keys`]).
pub fn publish(
    mirror: &Path,
    action: &Action,
    key: &SecretKey,
    base_key: Option<&PublicKey>,
    releases: &TrustStore,
    now: u64,
    valid_days: u32,
) -> Result<Value> {
    let signer = PublicKey::from_secret_key(key).context("cannot derive the public key")?;
    // Every key that signs or signed channel documents: the one --key signs
    // with, the --base-pub one of a rotation, and those compiled into pane
    // from keys/channel/.
    let compiled = ChannelKeys::compiled().map_err(|e| {
        crate::Error::msg(format!("the channel keys compiled from keys/channel/: {e}"))
    })?;
    let channel_ids: Vec<[u8; 8]> = [Some(&signer), base_key]
        .into_iter()
        .flatten()
        .filter_map(|k| pane::signature::key_id_of(&k.to_base64()))
        .chain(compiled.keys.iter().map(|k| k.key_id))
        .collect();
    if let Some(same) = releases
        .keys
        .iter()
        .find(|k| channel_ids.contains(&k.key_id))
    {
        crate::bail!(
            "{} is a channel key (the one --key signs the document with, the --base-pub one, or one compiled from keys/channel/): a key holds one role only, and pane never takes a channel key's signature on a release",
            same.name
        );
    }
    let mut document = load_current(mirror, base_key.unwrap_or(&signer))?;
    apply(&mut document, action, mirror, releases, now)?;
    let serial = document["serial"].as_u64().unwrap_or(0).checked_add(1);
    let Some(serial) = serial else {
        crate::bail!("the serial cannot go higher");
    };
    document["serial"] = json!(serial);
    document["issued"] = json!(rfc3339(now));
    document["expires"] = json!(rfc3339(now + u64::from(valid_days) * 86_400));
    let mut text = serde_json::to_string_pretty(&document).expect("JSON values serialize");
    text.push('\n');
    // Sign only what pane accepts: a document its own parser refuses would
    // reach no installation, and the withdrawal in it with it.
    pane::channel::document::ChannelDocument::parse(text.as_bytes())
        .map_err(|e| crate::Error::msg(format!("the new document would be refused: {e}")))?;
    let signature = signing::signature_text(
        key,
        Cursor::new(text.as_bytes()),
        &trusted_comment(serial, now),
    )?;
    std::fs::create_dir_all(mirror.join(CHANNEL_DIR))
        .with_context(|| format!("cannot create {}", mirror.join(CHANNEL_DIR).display()))?;
    for (path, contents) in [
        (document_path(mirror), text.as_bytes()),
        (signature_path(mirror), signature.as_bytes()),
    ] {
        write_atomically(&path, 0o644, |file| {
            file.write_all(contents)
                .with_context(|| format!("cannot write {}", path.display()))
        })?;
    }
    Ok(document)
}

/// The mirror's current document, its signature checked under `key`; an
/// empty document (serial 0) when the mirror has none yet.
pub fn load_current(mirror: &Path, key: &PublicKey) -> Result<Value> {
    let path = document_path(mirror);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(json!({ "schema": 1, "serial": 0, "withdrawn": [], "critical": [] }));
        }
        Err(error) => return Err(error).with_context(|| format!("cannot read {}", path.display())),
    };
    let signature_path = signature_path(mirror);
    let signature = std::fs::read_to_string(&signature_path)
        .with_context(|| format!("cannot read {}", signature_path.display()))?;
    let comment = signing::verify_signature(key, &bytes, &signature).with_context(|| {
        format!(
            "{} does not verify under the channel key (tampered, or signed by another key: pass --base-pub)",
            path.display()
        )
    })?;
    let document: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not JSON", path.display()))?;
    if !document.is_object() {
        crate::bail!("{} is not a JSON object", path.display());
    }
    let serial = document["serial"].as_u64();
    let signed_serial = comment
        .split('\t')
        .find_map(|pair| pair.strip_prefix("serial:"))
        .and_then(|s| s.parse::<u64>().ok());
    if serial.is_none() || serial != signed_serial {
        crate::bail!(
            "{}: its serial {:?} is not the signed one {:?}",
            path.display(),
            serial,
            signed_serial
        );
    }
    Ok(document)
}

/// Applies one change to a document (the serial and dates are the caller's);
/// the releases it names must verify under `releases`.
pub fn apply(
    document: &mut Value,
    action: &Action,
    mirror: &Path,
    releases: &TrustStore,
    now: u64,
) -> Result<()> {
    let object = document.as_object_mut().expect("checked by load_current");
    match action {
        Action::Withdraw {
            version,
            replacement,
            reason,
            targets,
        } => withdraw(
            object,
            mirror,
            releases,
            version,
            replacement,
            reason,
            targets,
        ),
        Action::Rollout {
            version,
            hours,
            start,
        } => {
            let version = released_and_current(object, mirror, releases, version)?;
            // Releases approved out of order must not move the rollout back
            // to an older one (and with it what "latest" rolls out).
            if let Some(current) = object
                .get("rollout")
                .and_then(|r| r["version"].as_str())
                .and_then(|v| Version::parse(v).ok())
                .filter(|current| current > &version)
            {
                crate::bail!(
                    "the document rolls out {current}, newer than {version}: a rollout never goes back to an older release"
                );
            }
            if !(0.0..=MAX_ROLLOUT_HOURS).contains(hours) {
                crate::bail!(
                    "--hours {hours} is not a number of hours from 0 to {MAX_ROLLOUT_HOURS} (a year)"
                );
            }
            let start = match start {
                Some(text) => parse_rfc3339(text).map(rfc3339).ok_or_else(|| {
                    crate::Error::msg(format!("--start {text:?} is not YYYY-MM-DDTHH:MM:SSZ"))
                })?,
                None => rfc3339(now),
            };
            let rollout = pane::channel::document::Rollout {
                version: version.clone(),
                start: Timestamp::parse(&start).expect("written by rfc3339"),
                hours: *hours,
            };
            let limit = rollout_limit(Timestamp::from_unix(now as i64));
            if rollout_end(&rollout) > limit {
                crate::bail!(
                    "a rollout from {start} over {hours} hours ends after {limit}: a rollout ends within a year"
                );
            }
            object.insert(
                "rollout".into(),
                json!({ "version": version.to_string(), "start": start, "hours": hours }),
            );
            Ok(())
        }
        Action::Critical { version } => {
            let version = released_and_current(object, mirror, releases, version)?.to_string();
            let critical = array(object, "critical");
            if !critical
                .iter()
                .any(|v| v.as_str() == Some(version.as_str()))
            {
                critical.push(json!(version));
            }
            Ok(())
        }
        Action::Show => Ok(()),
    }
}

fn withdraw(
    object: &mut Map<String, Value>,
    mirror: &Path,
    releases: &TrustStore,
    version: &str,
    replacement: &str,
    reason: &str,
    targets: &[String],
) -> Result<()> {
    let version = parse_version(version)?;
    let replacement = parse_version(replacement)?;
    if reason.trim().is_empty() {
        crate::bail!("--reason must say why {version} is withdrawn");
    }
    if replacement == version {
        crate::bail!("{version} cannot be its own replacement");
    }
    if !replacement.pre.is_empty() {
        crate::bail!(
            "the replacement {replacement} is a pre-release: stable installations would be sent to it; pick a stable release"
        );
    }
    let minimum = decide::minimum_version(&version);
    if replacement < minimum {
        crate::bail!(
            "the replacement {replacement} is below {minimum}, the oldest version pane {version} lets a channel send it to: it would refuse {replacement}, and its installations would stay on {version}; pick a replacement of {minimum} or above"
        );
    }
    let targets: Vec<String> = if targets.is_empty() || targets.iter().any(|t| t == "*") {
        vec!["*".into()]
    } else {
        targets.to_vec()
    };
    require_released(mirror, releases, &replacement)?;
    let others: Vec<&Value> = entries(object, "withdrawn")
        .filter(|w| w["version"].as_str() != Some(version.to_string().as_str()))
        .collect();
    if let Some(entry) = others
        .iter()
        .find(|w| names(w, "version", &replacement) && overlaps(w, &targets))
    {
        crate::bail!(
            "the replacement {replacement} is itself withdrawn ({}); pick another replacement",
            entry["reason"].as_str().unwrap_or("no reason given")
        );
    }
    if let Some(entry) = others
        .iter()
        .find(|w| names(w, "replacement", &version) && overlaps(w, &targets))
    {
        crate::bail!(
            "{version} is the replacement for {}: withdraw that one with another replacement first",
            entry["version"].as_str().unwrap_or("another version")
        );
    }
    let targets = merged_targets(object, &version, &replacement, targets)?;
    let list = array(object, "withdrawn");
    list.retain(|w| !names(w, "version", &version));
    list.push(json!({
        "version": version.to_string(),
        "targets": targets,
        "reason": reason.trim(),
        "replacement": replacement.to_string(),
    }));
    // A withdrawn version is neither rolled out nor critical any more.
    array(object, "critical").retain(|v| v.as_str() != Some(version.to_string().as_str()));
    if object
        .get("rollout")
        .is_some_and(|r| names(r, "version", &version))
    {
        object.remove("rollout");
    }
    Ok(())
}

/// The targets of `version`'s withdrawal once `targets` are added to those
/// it is withdrawn on already: `["*"]` if either covers every target. The
/// entry names one replacement, so an earlier withdrawal on targets that
/// `targets` leaves out must name the same one.
fn merged_targets(
    object: &Map<String, Value>,
    version: &Version,
    replacement: &Version,
    targets: Vec<String>,
) -> Result<Vec<String>> {
    let mut merged: Vec<String> = Vec::new();
    for entry in entries(object, "withdrawn").filter(|w| names(w, "version", version)) {
        let theirs: Vec<String> = match entry["targets"].as_array() {
            Some(list) => list
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            None => vec!["*".into()],
        };
        let left_out: Vec<&String> = theirs
            .iter()
            .filter(|t| !targets.iter().any(|n| n == "*" || n == *t))
            .collect();
        if !left_out.is_empty() && !names(entry, "replacement", replacement) {
            let on = left_out
                .iter()
                .map(|t| {
                    if *t == "*" {
                        "every target"
                    } else {
                        t.as_str()
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            let theirs = entry["replacement"].as_str().unwrap_or("none");
            crate::bail!(
                "{version} is withdrawn already on {on} with the replacement {theirs}: a withdrawal names one replacement for all its targets; withdraw {version} on every target (no --target) to name another"
            );
        }
        merged.extend(theirs);
    }
    merged.extend(targets);
    let mut seen = Vec::new();
    merged.retain(|t| {
        let first = !seen.contains(t);
        seen.push(t.clone());
        first
    });
    if merged.iter().any(|t| t == "*") {
        merged = vec!["*".into()];
    }
    Ok(merged)
}

/// `version` parsed, released in the mirror, and not withdrawn anywhere.
fn released_and_current(
    object: &mut Map<String, Value>,
    mirror: &Path,
    releases: &TrustStore,
    version: &str,
) -> Result<Version> {
    let version = parse_version(version)?;
    require_released(mirror, releases, &version)?;
    if entries(object, "withdrawn").any(|w| names(w, "version", &version)) {
        crate::bail!("{version} is withdrawn");
    }
    Ok(version)
}

/// A release is in the mirror when `v<V>/SHA256SUMS` and its signature
/// are, the signature's trusted comment naming pane `V`'s `SHA256SUMS`, and
/// the signature verifying, as pane verifies a release, under `releases`. An
/// installation would refuse a release signed by any other key (the channel
/// key too): named as a replacement, it would leave them no way out.
fn require_released(mirror: &Path, releases: &TrustStore, version: &Version) -> Result<()> {
    let dir = mirror.join(format!("v{version}"));
    if !(dir.join(SUMS_NAME).is_file() && dir.join(SIGNATURE_NAME).is_file()) {
        crate::bail!(
            "{version} is not released in {} (no {}/{SUMS_NAME} with its signature)",
            mirror.display(),
            dir.display()
        );
    }
    let path = dir.join(SIGNATURE_NAME);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let comment = text
        .lines()
        .find_map(|line| line.strip_prefix("trusted comment: "))
        .map(pane::update::verify::parse_trusted_comment);
    match comment {
        Some(Ok(c)) if c.product == "pane" && &c.version == version && c.file == SUMS_NAME => {
            let sums_path = dir.join(SUMS_NAME);
            let sums = std::fs::read(&sums_path)
                .with_context(|| format!("cannot read {}", sums_path.display()))?;
            verify_sums(&sums, &text, releases, Some(version))
                .map(drop)
                .map_err(|e| {
                    crate::Error::msg(format!(
                        "{} does not verify under a release key pane trusts: {e}",
                        path.display()
                    ))
                })
        }
        Some(Ok(c)) => crate::bail!(
            "{} signs {} {}'s {}, not pane {version}'s {SUMS_NAME}",
            path.display(),
            c.product,
            c.version,
            c.file
        ),
        _ => crate::bail!(
            "{} is not a minisign signature with pane's trusted comment",
            path.display()
        ),
    }
}

fn parse_version(text: &str) -> Result<Version> {
    Version::parse(text.strip_prefix('v').unwrap_or(text))
        .with_context(|| format!("{text:?} is not a semver version"))
}

fn names(entry: &Value, field: &str, version: &Version) -> bool {
    entry[field]
        .as_str()
        .and_then(|v| Version::parse(v).ok())
        .as_ref()
        == Some(version)
}

fn overlaps(entry: &Value, targets: &[String]) -> bool {
    let theirs: Vec<&str> = entry["targets"]
        .as_array()
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_else(|| vec!["*"]);
    theirs.contains(&"*")
        || targets.iter().any(|t| t == "*")
        || targets.iter().any(|t| theirs.contains(&t.as_str()))
}

fn entries<'a>(object: &'a Map<String, Value>, key: &str) -> impl Iterator<Item = &'a Value> {
    object
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// `object[key]` as an array, made one if absent or not an array.
fn array<'a>(object: &'a mut Map<String, Value>, key: &str) -> &'a mut Vec<Value> {
    let slot = object.entry(key).or_insert_with(|| json!([]));
    if !slot.is_array() {
        *slot = json!([]);
    }
    slot.as_array_mut().expect("just made an array")
}

/// `cargo xtask channel show`: the document, and the serial its signature says.
pub fn show(mirror: &Path) -> Result<String> {
    let path = document_path(mirror);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(format!("{} does not exist yet (serial 0)", path.display()));
        }
        Err(error) => return Err(error).with_context(|| format!("cannot read {}", path.display())),
    };
    let signature = std::fs::read_to_string(signature_path(mirror)).unwrap_or_default();
    let comment = signature
        .lines()
        .find_map(|l| l.strip_prefix("trusted comment: "))
        .unwrap_or("(no signature)");
    Ok(format!(
        "{}\n{}\nsigned: {}",
        path.display(),
        text.trim_end(),
        comment.replace('\t', " ")
    ))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch: pane's own
/// formatter, so what the tooling writes is what pane reads.
pub fn rfc3339(seconds: u64) -> String {
    Timestamp::from_unix(seconds as i64).to_string()
}

/// Seconds since the epoch of an exact `YYYY-MM-DDTHH:MM:SSZ`, as pane
/// parses it (only canonical, valid dates from 1970 pass).
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    Timestamp::parse(text)
        .ok()
        .and_then(|t| u64::try_from(t.unix()).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key in `keys/revoked` stays refused when `--release-pub` names it:
    /// the keys given replace the compiled ones, not the revoked ids.
    #[test]
    fn a_revoked_key_given_with_release_pub_is_still_refused() {
        let mirror = tempfile::tempdir().unwrap();
        let key = crate::fixtures::TestKey::generate();
        let binary = mirror.path().join("pane-binary");
        std::fs::write(&binary, "#!/bin/sh\necho pane\n").unwrap();
        crate::fixtures::Release::new("1.1.3")
            .binary(&binary)
            .write(mirror.path(), &key);
        let version = Version::new(1, 1, 3);
        let id = pane::signature::key_id_of(&key.public_key().to_base64()).unwrap();
        let compiled = |revoked: Vec<[u8; 8]>| TrustStore {
            keys: Vec::new(),
            revoked,
            origin: "keys/".into(),
        };
        let given = release_keys_over(&[key.pub_path()], compiled(Vec::new())).unwrap();
        require_released(mirror.path(), &given, &version).unwrap();
        let given = release_keys_over(&[key.pub_path()], compiled(vec![id])).unwrap();
        let error = require_released(mirror.path(), &given, &version)
            .unwrap_err()
            .to_string();
        assert!(error.contains("revoked"), "{error}");
    }

    #[test]
    fn dates_round_trip_and_only_canonical_ones_parse() {
        assert_eq!(rfc3339(1_796_119_200), "2026-12-01T10:00:00Z");
        assert_eq!(parse_rfc3339("2026-12-01T10:00:00Z"), Some(1_796_119_200));
        assert_eq!(parse_rfc3339("2024-02-29T23:59:59Z"), Some(1_709_251_199));
        for bad in [
            "2026-02-30T10:00:00Z",
            "2026-12-01T24:00:00Z",
            "2026-12-01T10:00:00+01:00",
            "2026-12-01",
            "1969-12-31T23:59:59Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn trusted_comments_name_file_and_serial() {
        assert_eq!(
            trusted_comment(7, 9),
            "product:pane\tfile:channel.json\tserial:7\ttimestamp:9"
        );
    }
}
