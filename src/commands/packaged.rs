//! `pane self` in a build without self-management (`--no-default-features`,
//! for distribution packages): the package manager updates this pane. `status`
//! says so; every other `pane self` command says the same and exits 1, as the
//! managed build does for a Homebrew or cargo copy. Nothing here touches the
//! network or the disk.

use std::process::ExitCode;

use serde_json::json;

use super::{output_of, Ui, EXIT_FAILURE};
use crate::cli::SelfCommand;
use crate::env::{Build, Env};

/// Who updates this copy: `PANE_PACKAGED_BY` at build time (say "Debian"),
/// else the package manager in general.
pub const PACKAGED_BY: &str = match option_env!("PANE_PACKAGED_BY") {
    Some(name) => name,
    None => "your package manager",
};

pub fn run_self(command: SelfCommand, env: &Env, build: &Build) -> ExitCode {
    let ui = Ui::new(output_of(&command), env);
    let exe = std::env::current_exe().unwrap_or_default();
    if let SelfCommand::Status { .. } = command {
        if ui.json {
            ui.json(&json!({
                "managed": false,
                "version": build.version,
                "running_version": build.version,
                "install_path": exe,
                "installed_by": PACKAGED_BY,
                "self_update": false,
            }));
        } else {
            super::out(&format!("pane {} (packaged)", build.version));
            super::out(&format!("binary:        {}", exe.display()));
            super::out(&format!(
                "installed by:  {PACKAGED_BY} (this build does not update itself)"
            ));
        }
        return ExitCode::SUCCESS;
    }
    let message =
        format!("this pane is managed by {PACKAGED_BY}; it does not update or install itself");
    let hint = format!("update pane with {PACKAGED_BY}");
    ui.report_error(&Refused(message), Some(&hint));
    ExitCode::from(EXIT_FAILURE)
}

#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}
