//! `pane self verify <ARCHIVE>`: the offline check of a manual download
//! ([`crate::update::manual`]), and what to do next.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::json;

use super::{CommandResult, Ui};
use crate::update::digest::hex;
use crate::update::{manual, Context};

pub fn verify(
    ctx: &Context,
    ui: &Ui,
    archive_path: &Path,
    sums: Option<PathBuf>,
    sig: Option<PathBuf>,
) -> CommandResult {
    let dir = archive_path.parent().unwrap_or(Path::new("."));
    let sums_path = sums.unwrap_or_else(|| dir.join("SHA256SUMS"));
    let sig_path = sig.unwrap_or_else(|| {
        let mut name = sums_path.as_os_str().to_owned();
        name.push(".minisig");
        PathBuf::from(name)
    });
    let verified = manual::verify_download(archive_path, &sums_path, &sig_path, &ctx.trust)?;
    let archive = &verified.archive;
    let (name, top) = (archive.name.file_name(), archive.name.top());
    let (version, target) = (&archive.name.version, &archive.name.target);
    if ui.json {
        ui.json(&json!({
            "status": "verified",
            "archive": name,
            "version": version.to_string(),
            "target": target,
            "sha256": hex(&archive.sha256),
            "key": archive.key_name,
            "binary_size": verified.binary_size,
        }));
        return Ok(ExitCode::SUCCESS);
    }
    ui.done(&format!(
        "{name} is genuine: pane {version} for {target}, signed by {}, SHA-256 {}",
        archive.key_name,
        hex(&archive.sha256)
    ));
    if target != &ctx.target {
        ui.note(&format!(
            "note: this machine is {}, the archive is for {target}",
            ctx.target
        ));
    }
    ui.note(&format!(
        "next: tar -xzf {name} && ./{top}/pane self install"
    ));
    Ok(ExitCode::SUCCESS)
}
