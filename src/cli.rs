//! Command-line types. Only this module knows about clap; everything it parses
//! is handed to `commands` as plain data.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "pane",
    about = "pane: a local command-line tool",
    disable_version_flag = true
)]
pub struct Cli {
    /// Print the version and exit.
    #[arg(short = 'V', long = "version")]
    pub version: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage this installation of pane: update, pin, roll back, uninstall.
    #[command(name = "self", subcommand)]
    SelfCmd(SelfCommand),
    /// Print shell completions for SHELL (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum SelfCommand {
    /// Update to the latest release, or to exactly VERSION (higher or lower).
    Update(UpdateArgs),
    /// Install VERSION (or the highest release matching a requirement such as ~1.2) and hold there.
    Pin {
        /// An exact version (1.2.0) or a semver requirement (~1.2, >=1.1, <2).
        requirement: String,
        /// Consider pre-releases when resolving a requirement.
        #[arg(long)]
        prerelease: bool,
        /// Pin a version the release channel has withdrawn, all the same.
        #[arg(long)]
        allow_withdrawn: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Let `pane self update` follow new releases again.
    Unpin {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Swap back to the previous kept version, offline, and pin to it.
    Rollback {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// List the releases available, with installed / pinned / kept / pre-release marks.
    List {
        /// Include pre-releases.
        #[arg(long)]
        prerelease: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show what is installed, where, by whom, the pin and the kept versions.
    Status {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Say whether an update is available (exit status 10 when one is), without installing it.
    Check {
        /// Consider pre-releases.
        #[arg(long)]
        prerelease: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Install the running binary into your user directories (used by install.sh and after a manual download).
    Install(InstallArgs),
    /// Remove pane, its kept versions, its state and exactly the shell-profile lines it added.
    Uninstall {
        /// Do not ask for confirmation.
        #[arg(short, long)]
        yes: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Check a manually downloaded archive offline against SHA256SUMS and its signature.
    Verify {
        /// The archive, e.g. pane-1.2.0-x86_64-unknown-linux-musl.tar.gz
        archive: PathBuf,
        /// The checksum file [default: SHA256SUMS beside the archive]
        #[arg(long)]
        sums: Option<PathBuf>,
        /// The signature [default: <sums>.minisig]
        #[arg(long)]
        sig: Option<PathBuf>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show the update policy and where each value comes from, or set yours: `pane self config updates auto|notify|off`.
    Config {
        /// The setting to change (only `updates`).
        key: Option<String>,
        /// Its new value.
        value: Option<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Background update check used by the update notice (internal).
    #[command(hide = true, name = "background-check")]
    BackgroundCheck,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Update (or downgrade) to exactly this version.
    pub version: Option<String>,
    /// Consider pre-releases when looking for the latest release.
    #[arg(long)]
    pub prerelease: bool,
    /// Show what would happen without changing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Install a release that is still rolling out now, without waiting for this installation's turn.
    #[arg(long)]
    pub now: bool,
    /// Install VERSION even though the release channel has withdrawn it.
    #[arg(long)]
    pub allow_withdrawn: bool,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub yes: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Where to put the `pane` binary [default: $PANE_INSTALL_DIR, $XDG_BIN_HOME or ~/.local/bin]
    #[arg(long, value_name = "DIR")]
    pub install_dir: Option<PathBuf>,
    /// Do not edit shell profiles or write PATH set-up files.
    #[arg(long)]
    pub no_modify_path: bool,
    /// Do not install shell completions (bash, zsh, fish).
    #[arg(long)]
    pub no_completions: bool,
    /// Install even when this binary is older than the pane installed now.
    #[arg(long)]
    pub allow_downgrade: bool,
    /// Then follow the release channel: if this version has been withdrawn here, install its
    /// replacement (install.sh passes this when no --version was asked for).
    #[arg(long)]
    pub follow_channel: bool,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub yes: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args, Clone, Copy, Default)]
pub struct OutputArgs {
    /// Print machine-readable JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Print only errors.
    #[arg(short, long)]
    pub quiet: bool,
}
