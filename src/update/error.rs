//! The pipeline's error: one variant per layer (each with its own type and
//! hint), plus the refusals of the pipeline itself.

use std::path::PathBuf;

use semver::Version;

use super::lock::LockError;
use super::manual::ManualFile;
use super::receipt::ReceiptError;
use super::source::FetchError;
use super::swap::SwapError;
use super::verify::VerifyError;
use crate::channel::decide::ReplacementError;
use crate::path_setup::PathSetupError;
use crate::platform::{self, ForeignOwner};

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Swap(#[from] SwapError),
    #[error(transparent)]
    Receipt(#[from] ReceiptError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    PathSetup(#[from] PathSetupError),

    #[error("this pane is managed by {}; pane will not replace it", .0.name())]
    Foreign(ForeignOwner),
    #[error("this pane was not installed by pane's installer (no install receipt at {0})")]
    NotInstalled(PathBuf),
    #[error("{requested} is outside the pin {pin}")]
    OutsidePin { requested: String, pin: String },
    #[error("this pane is {running}, older than the pane {installed} installed now; refusing to go down")]
    OlderThanInstalled {
        running: Version,
        installed: Version,
    },
    #[error("pane {version} has been withdrawn: {reason}")]
    Withdrawn {
        version: Version,
        reason: String,
        /// The replacement the channel names, as this installation may use
        /// it; `Err` says why it may not (a pre-release it did not ask for,
        /// withdrawn itself, below the minimum), and it is not suggested.
        replacement: Result<Option<Version>, Box<ReplacementError>>,
    },
    #[error("update policy: {0}")]
    Policy(String),
    #[error("updates are turned off by the administrator in {0}")]
    AdministratorOff(PathBuf),
    /// The administrator's file is there but does not read: it may say
    /// `off`, so nothing is updated until it does.
    #[error("the administrator's update policy cannot be read: {0}")]
    AdministratorUnreadable(String, PathBuf),
    #[error("no release matches {0}")]
    NoMatch(String),
    /// A version asked for by name whose signed files the server does not have.
    #[error("{source}")]
    Unpublished {
        version: Version,
        source: FetchError,
    },
    #[error("{0:?} is neither a version (1.2.0) nor a version requirement (~1.2)")]
    BadRequirement(String),
    /// The receipt's `pin` field, edited into something that does not parse.
    #[error("the pin stored in the install receipt, {0:?}, is neither a version nor a version requirement")]
    BadStoredPin(String),
    /// Arguments clap accepts that pane cannot use (`pane self config foo`).
    #[error("{message}")]
    Usage { message: String, hint: String },
    #[error("cannot tell where to install: no home directory")]
    NoHome,
    #[error("{from} {dir:?} starts with a `~` that no shell expanded")]
    UnexpandedTilde { dir: PathBuf, from: &'static str },
    #[error("there is no previous version to roll back to")]
    NoPrevious,
    /// A file `pane self verify` was given (or looked for beside the archive).
    #[error("could not read {file} {path}")]
    Manual {
        file: ManualFile,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl UpdateError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            UpdateError::Fetch(e) => e.hint(),
            UpdateError::Swap(e) => e.hint(),
            UpdateError::Receipt(e) => e.hint(),
            UpdateError::Lock(e) => e.hint(),
            UpdateError::PathSetup(e) => e.hint(),
            UpdateError::Verify(e) => verify_hint(e),
            UpdateError::Foreign(owner) => Some(format!("update it with `{}`", owner.update_command())),
            UpdateError::NotInstalled(_) => Some(
                "run `pane self install` to let pane manage this binary, or use the installer: curl … install.sh | sh".into(),
            ),
            UpdateError::OutsidePin { requested, .. } => Some(format!(
                "run `pane self pin {requested}` to move the pin, or `pane self unpin` first"
            )),
            UpdateError::Withdrawn { replacement, .. } => Some(match replacement {
                Ok(Some(r)) => format!("its replacement is {r}; add --allow-withdrawn to install it anyway"),
                Ok(None) => "add --allow-withdrawn to install it anyway".into(),
                Err(problem) => format!(
                    "add --allow-withdrawn to install it anyway; pane does not suggest the channel's replacement: {problem}"
                ),
            }),
            UpdateError::Policy(_) => Some("`pane self config` shows each setting and where it comes from".into()),
            UpdateError::AdministratorOff(path) => Some(format!(
                "ask your administrator: {} sets updates = \"off\"",
                path.display()
            )),
            UpdateError::AdministratorUnreadable(_, path) => Some(format!(
                "pane updates itself only once {} reads (it may turn updates off): ask your administrator",
                path.display()
            )),
            UpdateError::OlderThanInstalled { running, .. } => Some(format!(
                "to go down anyway, pass --allow-downgrade, or run `pane self pin {running}` with the installed pane"
            )),
            UpdateError::NoMatch(_) => Some("see `pane self list` for the releases there are".into()),
            UpdateError::Unpublished { version, .. } => Some(format!(
                "no release {version} is published; see `pane self list` for the releases there are"
            )),
            UpdateError::BadRequirement(_) => None,
            UpdateError::BadStoredPin(_) => Some(
                "`pane self unpin` removes it, `pane self pin VERSION` replaces it".into(),
            ),
            UpdateError::Usage { hint, .. } => Some(hint.clone()),
            UpdateError::NoHome => Some("pass --install-dir DIR, or set HOME".into()),
            UpdateError::UnexpandedTilde { dir, .. } => {
                let rest = dir.strip_prefix("~").unwrap_or(dir);
                let home = if rest.as_os_str().is_empty() {
                    "$HOME".into()
                } else {
                    std::path::Path::new("$HOME").join(rest)
                };
                Some(format!(
                    "for a directory in your home, write {} (a shell expands `~` only at the start of a word: `--install-dir ~/bin`, not `--install-dir=~/bin` or \"~/bin\"); for a directory named `~` here, write {}",
                    home.display(),
                    std::path::Path::new(".").join(dir).display()
                ))
            }
            UpdateError::NoPrevious => Some("install another version with `pane self update <VERSION>`".into()),
            UpdateError::Manual { file, source, .. } => manual_hint(*file, source),
            UpdateError::Io { source, path, .. } => platform::io_hint(source, path),
        }
    }

    /// Usage errors exit 2, everything else 1.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            UpdateError::BadRequirement(_)
                | UpdateError::BadStoredPin(_)
                | UpdateError::UnexpandedTilde { .. }
                | UpdateError::Usage { .. }
        )
    }

    /// The error of `action` on `path`, for `map_err`.
    pub fn io(action: &'static str, path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| UpdateError::Io {
            action,
            path,
            source,
        }
    }
}

/// Offline, about files the user downloaded: never the installation's repair.
fn manual_hint(file: ManualFile, error: &std::io::Error) -> Option<String> {
    match (file, error.kind()) {
        (ManualFile::Sums | ManualFile::Signature, std::io::ErrorKind::NotFound) => Some(
            "download SHA256SUMS and SHA256SUMS.minisig of that release beside the archive, or pass --sums FILE and --sig FILE"
                .into(),
        ),
        _ => None,
    }
}

fn verify_hint(error: &VerifyError) -> Option<String> {
    match error {
        VerifyError::ChecksumMismatch { .. }
        | VerifyError::BadSignature { .. }
        | VerifyError::UnknownKey { .. } => Some(
            "the download was not what the release signed; nothing was changed. Try again later, or report it if it persists"
                .into(),
        ),
        // Offline (`self verify`): the files at hand do not belong together.
        VerifyError::NotThisRelease { .. } => Some(
            "pass the SHA256SUMS and SHA256SUMS.minisig of the archive's own release with --sums and --sig (they sit beside the archive on the release page)"
                .into(),
        ),
        _ => Some("the release does not verify; nothing was changed".into()),
    }
}
