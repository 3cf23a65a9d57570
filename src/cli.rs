//! Command-line types. Only this module knows about clap; everything it parses
//! is handed to `commands` as plain data.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::builder::StyledStr;
use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "pane",
    about = "pane: a local command-line tool",
    disable_version_flag = true,
    after_help = example("pane self update", "update pane to the latest release")
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
    #[command(name = "self", subcommand, after_help = example(
        "pane self status && pane self update",
        "see what is installed, then update it to the latest release",
    ))]
    SelfCmd(SelfCommand),
    /// Print shell completions for SHELL (bash, zsh, fish, elvish, powershell).
    #[command(after_help = example(
        "pane completions bash > ~/.local/share/bash-completion/completions/pane",
        "complete pane's commands in bash from the next shell on",
    ))]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum SelfCommand {
    /// Update to the latest release, or to exactly VERSION (higher or lower).
    #[command(after_help = example(
        "pane self update --dry-run",
        "say what an update would install, and change nothing",
    ))]
    Update(UpdateArgs),
    /// Install VERSION (or the highest release matching a requirement such as ~1.2) and hold there.
    #[command(after_help = example(
        "pane self pin '~1.2'",
        "install the newest 1.2.x and stay on 1.2.x (`pane self unpin` to follow new releases)",
    ))]
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
    #[command(after_help = example(
        "pane self unpin && pane self update",
        "drop the pin and catch up with the latest release",
    ))]
    Unpin {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Swap back to the previous kept version, offline, and pin to it.
    #[command(after_help = example(
        "pane self rollback",
        "go back to the version before the last update, without the network",
    ))]
    Rollback {
        /// Go back to a version the release channel has withdrawn, all the same.
        #[arg(long)]
        allow_withdrawn: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// List the releases available, with installed / pinned / kept / pre-release marks.
    #[command(after_help = example(
        "pane self list --prerelease",
        "every release, pre-releases included",
    ))]
    List {
        /// Include pre-releases.
        #[arg(long)]
        prerelease: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show what is installed, where, by whom, the pin and the kept versions.
    #[command(after_help = example(
        "pane self status --json",
        "the same facts as a JSON document, for scripts",
    ))]
    Status {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Say whether an update is available (exit status 10 when one is), without installing it.
    #[command(after_help = example(
        "pane self check > /dev/null; [ $? -eq 10 ] && pane self update",
        "update only when `check` finds a newer release (exit status 10)",
    ))]
    Check {
        /// Consider pre-releases.
        #[arg(long)]
        prerelease: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Install the running binary into your user directories (used by install.sh and after a manual download).
    #[command(after_help = example(
        "./pane self install --install-dir ~/bin",
        "install a downloaded binary into ~/bin and put that on PATH",
    ))]
    Install(InstallArgs),
    /// Remove pane, its kept versions, its state and exactly the shell-profile lines it added.
    #[command(after_help = example(
        "pane self uninstall --yes",
        "remove everything pane added, without asking",
    ))]
    Uninstall {
        /// Do not ask for confirmation.
        #[arg(short, long)]
        yes: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Check a manually downloaded archive offline against SHA256SUMS and its signature.
    #[command(after_help = example(
        "pane self verify pane-1.2.0-x86_64-unknown-linux-musl.tar.gz",
        "check a download against SHA256SUMS and SHA256SUMS.minisig beside it",
    ))]
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
    #[command(after_help = example(
        "pane self config updates auto",
        "let pane install updates by itself, in the background",
    ))]
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
    /// Consider pre-releases when looking for the latest release (not with VERSION).
    #[arg(long, conflicts_with = "version")]
    pub prerelease: bool,
    /// Show what would happen without changing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Install a release that is still rolling out now, without waiting for this installation's turn.
    #[arg(long)]
    pub now: bool,
    /// Install VERSION (or the version of an exact pin) even though the release channel has
    /// withdrawn it.
    #[arg(long)]
    pub allow_withdrawn: bool,
    /// Accepted for scripts; `update` never asks.
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
    /// Accepted for scripts (install.sh passes it on); `install` never asks.
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
    /// No progress notes and no line saying it is done; results, warnings and errors still print.
    #[arg(short, long)]
    pub quiet: bool,
}

/// The `Example:` section at the end of a command's help: what it does, then
/// the command line. The heading is styled like clap's own headings.
fn example(command: &str, what: &str) -> StyledStr {
    use std::fmt::Write as _;
    let heading = clap::builder::Styles::default().get_header().to_owned();
    let mut text = StyledStr::new();
    let _ = write!(text, "{heading}Example:{heading:#} {what}\n  $ {command}");
    text
}

/// Parses the process's arguments like [`Parser::parse`]; when clap rejects a
/// command that is a common slip (`pane update`, `pane self upgrade`), its
/// error names the command that was meant.
pub fn parse() -> Cli {
    let args: Vec<OsString> = std::env::args_os().collect();
    match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(error) => with_suggestion(error, &args).exit(),
    }
}

/// `error` (from parsing `args`, the program name first) with a tip naming
/// the command meant, when the unknown subcommand is a known slip.
pub fn with_suggestion(mut error: clap::Error, args: &[OsString]) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if error.kind() != ErrorKind::InvalidSubcommand {
        return error;
    }
    let words: Vec<String> = args
        .iter()
        .skip(1)
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    let Some(meant) = meant_command(&words) else {
        return error;
    };
    let valid = clap::builder::Styles::default().get_valid().to_owned();
    let mut tip = StyledStr::new();
    use std::fmt::Write as _;
    let _ = write!(tip, "did you mean '{valid}{meant}{valid:#}'?");
    error.remove(ContextKind::SuggestedSubcommand);
    error.insert(ContextKind::Suggested, ContextValue::StyledStrs(vec![tip]));
    error
}

/// The command meant by `words` (the arguments after the program name), for
/// the slips [`with_suggestion`] knows: a `pane self` command without `self`,
/// and another tool's word for one.
fn meant_command(words: &[String]) -> Option<String> {
    let first = words.first()?;
    let (meant, rest) = match (first.as_str(), words.get(1).map(String::as_str)) {
        ("self", Some(word)) => (self_word(word)?, &words[2..]),
        (word, _) => {
            let meant = self_word(word).or_else(|| is_self_command(word).then(|| word.into()))?;
            (meant, &words[1..])
        }
    };
    let mut line = format!("pane self {meant}");
    for word in rest {
        line.push(' ');
        line.push_str(&shell_word(word));
    }
    Some(line)
}

/// Other tools' names for a `pane self` command.
fn self_word(word: &str) -> Option<String> {
    let meant = match word {
        "update" | "upgrade" | "self-update" | "selfupdate" => "update",
        "remove" | "uninstall" => "uninstall",
        _ => return None,
    };
    Some(meant.to_string())
}

/// Whether `pane self WORD` is a (visible) command.
fn is_self_command(word: &str) -> bool {
    use clap::CommandFactory;
    Cli::command()
        .find_subcommand("self")
        .and_then(|command| command.find_subcommand(word))
        .is_some_and(|command| !command.is_hide_set())
}

/// `word` as a shell would need it typed: bare when safe, else single-quoted.
fn shell_word(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.,/=:@%+".contains(c));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}
