//! `pane self verify <ARCHIVE>`: the offline check of a manual download, in
//! the same order as an update (signature, trusted comment, the one
//! SHA256SUMS line, the archive's SHA-256), plus the archive's structure.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::json;

use super::{CommandResult, Ui};
use crate::update::verify::{self, VerifyError};
use crate::update::{archive, Context, UpdateError};

pub fn verify(
    ctx: &Context,
    ui: &Ui,
    archive_path: &Path,
    sums: Option<PathBuf>,
    sig: Option<PathBuf>,
) -> CommandResult {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| UpdateError::Io {
            action: "read",
            path,
            source,
        }
    };
    let dir = archive_path.parent().unwrap_or(Path::new("."));
    let sums_path = sums.unwrap_or_else(|| dir.join("SHA256SUMS"));
    let sig_path = sig.unwrap_or_else(|| {
        let mut name = sums_path.as_os_str().to_owned();
        name.push(".minisig");
        PathBuf::from(name)
    });
    let name = archive_path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| VerifyError::NotInSums(archive_path.display().to_string()))?
        .to_string();
    let signature = std::fs::read(&sig_path).map_err(io(&sig_path))?;
    let signature = String::from_utf8(signature).map_err(|_| VerifyError::MalformedSignature)?;
    let sums_bytes = std::fs::read(&sums_path).map_err(io(&sums_path))?;
    let verified = verify::verify_sums(&sums_bytes, &signature, &ctx.trust, None)?;
    let version = verified.version().clone();
    let prefix = format!("pane-{version}-");
    let target = name
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix(".tar.gz"))
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            UpdateError::NoMatch(format!(
                "{name}: the signed SHA256SUMS is for pane {version}"
            ))
        })?
        .to_string();
    let expected = verified.expected(&name)?;
    let actual = verify::sha256_file(archive_path).map_err(io(archive_path))?;
    verify::check_digest(&name, &expected, &actual)?;
    let top = format!("pane-{version}-{target}");
    let size = archive::extract_binary(
        archive_path,
        &top,
        &mut std::io::sink(),
        archive::UNPACKED_CAP,
    )
    .map_err(crate::update::install::InstallError::from)?;
    if ui.json {
        ui.json(&json!({
            "status": "verified",
            "archive": name,
            "version": version.to_string(),
            "target": target,
            "sha256": verify::hex(&actual),
            "key": verified.key_name,
            "binary_size": size,
        }));
    } else {
        ui.done(&format!(
            "{name} is genuine: pane {version} for {target}, signed by {}, SHA-256 {}",
            verified.key_name,
            verify::hex(&actual)
        ));
        if target != ctx.target {
            ui.note(&format!(
                "note: this machine is {}, the archive is for {target}",
                ctx.target
            ));
        }
        ui.note(&format!(
            "next: tar -xzf {name} && ./{top}/pane self install"
        ));
    }
    Ok(ExitCode::SUCCESS)
}
