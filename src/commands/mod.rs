//! The commands: the only code that prints. Each maps the pipeline's result to
//! words on the terminal (or JSON on stdout with `--json`) and an exit code:
//! 0 done (also "already up to date" and "held by pin"), 1 failure, 2 bad
//! usage, 10 from `check` when an update is available.

use std::io::IsTerminal;
use std::process::ExitCode;

use crate::cli::{Cli, Command, OutputArgs, SelfCommand};
use crate::env::{Build, Env};
#[cfg(feature = "self-update")]
use crate::update::UpdateError;

/// Writes a line of results to stdout. A closed pipe (`pane self list | head
/// -1`) is not an error worth a panic: the reader has what it wanted.
pub fn out(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// `println!` that tolerates a closed stdout.
#[cfg(feature = "self-update")]
macro_rules! outln {
    ($($arg:tt)*) => { $crate::commands::out(&format!($($arg)*)) };
}

#[cfg(feature = "self-update")]
mod auto;
#[cfg(feature = "self-update")]
mod config;
#[cfg(feature = "self-update")]
mod events;
#[cfg(feature = "self-update")]
mod info;
#[cfg(feature = "self-update")]
pub mod notice;
#[cfg(not(feature = "self-update"))]
mod packaged;
#[cfg(feature = "self-update")]
mod self_install;
#[cfg(feature = "self-update")]
mod status_channel;
#[cfg(feature = "self-update")]
mod update;
#[cfg(feature = "self-update")]
mod verify;

#[cfg(feature = "self-update")]
pub use events::UiEvents;
#[cfg(not(feature = "self-update"))]
use packaged::run_self;

pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_UPDATE_AVAILABLE: u8 = 10;

pub fn run(cli: Cli, build: &Build) -> ExitCode {
    if cli.version {
        out(&format!("pane {}", build.version));
        return ExitCode::SUCCESS;
    }
    match cli.command {
        None => {
            use clap::CommandFactory;
            let _ = Cli::command().print_help();
            #[cfg(feature = "self-update")]
            notice::maybe_show(&Env::from_process(), build);
            ExitCode::SUCCESS
        }
        Some(Command::Completions { shell }) => {
            use std::io::Write;
            let _ = std::io::stdout()
                .lock()
                .write_all(completion_script(shell).as_bytes());
            ExitCode::SUCCESS
        }
        Some(Command::SelfCmd(command)) => run_self(command, &Env::from_process(), build),
    }
}

/// The completion script for `shell`, as `pane completions <shell>` prints it.
pub fn completion_script(shell: clap_complete::Shell) -> String {
    use clap::CommandFactory;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "pane", &mut script);
    String::from_utf8_lossy(&script).into_owned()
}

#[cfg(feature = "self-update")]
fn run_self(command: SelfCommand, env: &Env, build: &Build) -> ExitCode {
    let output = output_of(&command);
    let ui = Ui::new(output, env);
    if let Some((error, hint)) = mistaken(&command) {
        ui.report_error(&error, Some(hint));
        return ExitCode::from(EXIT_USAGE);
    }
    let ctx = match crate::env::context(env, build) {
        Ok(ctx) => ctx,
        Err(error) => {
            ui.report_error(&error, None);
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    if !matches!(command, SelfCommand::BackgroundCheck) {
        for warning in &env.warnings {
            ui.warn(warning);
        }
        warn_pinned_withdrawn(&ctx, &ui);
    }
    let result = match command {
        SelfCommand::Update(args) => update::update(&ctx, &ui, args),
        SelfCommand::Pin {
            requirement,
            prerelease,
            allow_withdrawn,
            ..
        } => update::pin(&ctx, &ui, &requirement, prerelease, allow_withdrawn),
        SelfCommand::Unpin { .. } => update::unpin(&ctx, &ui),
        SelfCommand::Rollback {
            allow_withdrawn, ..
        } => update::rollback(&ctx, &ui, allow_withdrawn),
        SelfCommand::List { prerelease, .. } => info::list(&ctx, &ui, prerelease),
        SelfCommand::Status { .. } => info::status(&ctx, &ui),
        SelfCommand::Check { prerelease, .. } => info::check(&ctx, &ui, prerelease),
        SelfCommand::Install(args) => self_install::install(&ctx, &ui, env, args),
        SelfCommand::Uninstall { yes, .. } => self_install::uninstall(&ctx, &ui, yes),
        SelfCommand::Verify {
            archive, sums, sig, ..
        } => verify::verify(&ctx, &ui, &archive, sums, sig),
        SelfCommand::Config { key, value, .. } => config::config(&ctx, &ui, key, value),
        SelfCommand::BackgroundCheck => {
            auto::background_check(&ctx);
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            ui.report(&error);
            ExitCode::from(if error.is_usage() {
                EXIT_USAGE
            } else {
                EXIT_FAILURE
            })
        }
    }
}

#[cfg(feature = "self-update")]
/// A command that cannot mean what it says, with the command that was meant:
/// a pin holds versions, so `pin latest` means `unpin`; `update` goes to the
/// latest release when given no version.
fn mistaken(command: &SelfCommand) -> Option<(UpdateError, &'static str)> {
    let is_latest = |text: &str| text.trim().eq_ignore_ascii_case("latest");
    let (text, hint) = match command {
        SelfCommand::Pin { requirement, .. } if is_latest(requirement) => (
            requirement,
            "a pin holds a version or a range; to follow the latest release again, run `pane self unpin`, then `pane self update`",
        ),
        SelfCommand::Update(crate::cli::UpdateArgs {
            version: Some(version),
            ..
        }) if is_latest(version) => (
            version,
            "leave the version out: `pane self update` installs the latest release",
        ),
        _ => return None,
    };
    Some((UpdateError::BadRequirement(text.clone()), hint))
}

/// A pinned installation keeps its pin, but every command says when the
/// pinned version has been withdrawn, and why (from the document accepted
/// before: no network).
#[cfg(feature = "self-update")]
fn warn_pinned_withdrawn(ctx: &crate::update::Context, ui: &Ui) {
    if let Some(text) = notice::pinned_withdrawn_text(ctx) {
        ui.warn(&text);
    }
}

pub(crate) fn output_of(command: &SelfCommand) -> OutputArgs {
    match command {
        SelfCommand::Update(args) => args.output,
        SelfCommand::Install(args) => args.output,
        SelfCommand::Pin { output, .. }
        | SelfCommand::Unpin { output }
        | SelfCommand::Rollback { output, .. }
        | SelfCommand::List { output, .. }
        | SelfCommand::Status { output }
        | SelfCommand::Check { output, .. }
        | SelfCommand::Uninstall { output, .. }
        | SelfCommand::Verify { output, .. }
        | SelfCommand::Config { output, .. } => *output,
        SelfCommand::BackgroundCheck => OutputArgs {
            json: false,
            quiet: true,
        },
    }
}

/// How to talk to the user: human words on stderr (progress, notes, errors),
/// results on stdout, JSON on stdout with `--json`.
pub struct Ui {
    pub json: bool,
    pub quiet: bool,
    color: bool,
    /// Whether a download bar may be drawn.
    #[cfg_attr(not(feature = "self-update"), allow(dead_code))]
    stderr_terminal: bool,
    pub stdin_terminal: bool,
}

impl Ui {
    pub fn new(output: OutputArgs, env: &Env) -> Ui {
        let stderr_terminal = std::io::stderr().is_terminal();
        Ui {
            json: output.json,
            quiet: output.quiet,
            color: stderr_terminal && !env.no_color,
            stderr_terminal,
            stdin_terminal: std::io::stdin().is_terminal(),
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// A progress note on stderr (hidden with --quiet or --json).
    pub fn note(&self, message: &str) {
        if !self.quiet && !self.json {
            eprintln!("{message}");
        }
    }

    /// The result of a command, in words (stderr, like rustup and uv).
    pub fn done(&self, message: &str) {
        if !self.quiet && !self.json {
            eprintln!("{} {message}", self.paint("1;32", "✓"));
        }
    }

    pub fn warn(&self, message: &str) {
        if !self.json {
            eprintln!("{} {message}", self.paint("1;33", "warning:"));
        }
    }

    /// Prints a JSON document on stdout.
    pub fn json(&self, value: &serde_json::Value) {
        out(&serde_json::to_string_pretty(value).expect("JSON always serializes"));
    }

    fn error(&self, message: &str, causes: &[String], hint: Option<&str>) {
        eprintln!("{} {message}", self.paint("1;31", "error:"));
        for cause in causes {
            eprintln!("  caused by: {cause}");
        }
        if let Some(hint) = hint {
            eprintln!("  {} {hint}", self.paint("1;36", "hint:"));
        }
        if self.json {
            self.json(&serde_json::json!({
                "status": "error",
                "error": message,
                "causes": causes,
                "hint": hint,
            }));
        }
    }

    /// An error with its chain of causes, and what to do about it.
    pub fn report_error(&self, error: &dyn std::error::Error, hint: Option<&str>) {
        let mut causes = Vec::new();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !causes.contains(&text) && text != error.to_string() {
                causes.push(text);
            }
            source = cause.source();
        }
        self.error(&error.to_string(), &causes, hint);
    }
}

#[cfg(feature = "self-update")]
pub(crate) fn confirm(question: &str) -> bool {
    use std::io::Write;
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if std::io::stdin().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim(), "y" | "Y" | "yes" | "Yes")
}

#[cfg(feature = "self-update")]
pub(crate) type CommandResult = Result<ExitCode, UpdateError>;
