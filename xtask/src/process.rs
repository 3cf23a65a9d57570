//! Running the tools xtask drives (cargo, rustc, the bench's binaries): one
//! way to run a command to its end and fail with what it said.

use std::ffi::OsString;
use std::process::{Command, Output};

use crate::error::{Context, Result};

/// Runs `command` to its end and returns its output; an error naming `what`,
/// its exit status and what it printed (stderr, then stdout if any) unless it
/// succeeded.
pub fn checked_output(command: &mut Command, what: &str) -> Result<Output> {
    let output = command
        .output()
        .with_context(|| format!("cannot run {what}"))?;
    if !output.status.success() {
        let stdout = String::from_utf8_lossy(&output.stdout);
        crate::bail!(
            "{what} failed ({}):\n{}{}{stdout}",
            output.status,
            String::from_utf8_lossy(&output.stderr),
            if stdout.is_empty() {
                ""
            } else {
                "--- stdout\n"
            },
        );
    }
    Ok(output)
}

/// The cargo that runs xtask (`$CARGO`), or `cargo` from `PATH`.
pub fn cargo_program() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// A cargo command for a build of its own inside this one: not the parent
/// cargo's jobserver, build target or pane version stamp.
pub fn nested_cargo() -> Command {
    let mut command = Command::new(cargo_program());
    command
        .env_remove("CARGO_MAKEFLAGS")
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("PANE_BUILD_VERSION");
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_carries_its_status_and_output() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo said; echo complained >&2; exit 3"]);
        let error = checked_output(&mut command, "the probe").unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("the probe failed ("), "{text}");
        assert!(text.contains('3'), "{text}");
        assert!(text.contains("complained\n--- stdout\nsaid"), "{text}");
    }

    #[test]
    fn a_success_returns_stdout() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo fine"]);
        let output = checked_output(&mut command, "the probe").unwrap();
        assert_eq!(output.stdout, b"fine\n");
    }

    #[test]
    fn a_missing_program_is_an_error() {
        let mut command = Command::new("/nonexistent/xtask-probe");
        let error = checked_output(&mut command, "the probe").unwrap_err();
        assert_eq!(error.to_string(), "cannot run the probe");
    }
}
