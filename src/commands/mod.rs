//! The commands: the only code that prints. Each maps the pipeline's result to
//! words on the terminal (or JSON on stdout with `--json`) and an exit code:
//! 0 done (also "already up to date" and "held by pin"), 1 failure, 2 bad
//! usage, 10 from `check` when an update is available.

use std::io::IsTerminal;
use std::process::ExitCode;

use crate::cli::{Cli, Command, OutputArgs, SelfCommand, UpdateArgs};
use crate::env::{Build, Env};
use crate::update::source::Progress;
use crate::update::{Events, UpdateError};

/// Writes a line of results to stdout. A closed pipe (`pane self list | head
/// -1`) is not an error worth a panic: the reader has what it wanted.
pub fn out(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// `println!` that tolerates a closed stdout.
macro_rules! outln {
    ($($arg:tt)*) => { $crate::commands::out(&format!($($arg)*)) };
}

mod info;
pub mod notice;
mod self_install;
mod update;
mod verify;

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
            notice::maybe_show(&Env::from_process(), build);
            ExitCode::SUCCESS
        }
        Some(Command::Completions { shell }) => {
            use clap::CommandFactory;
            let mut command = Cli::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "pane", &mut script);
            use std::io::Write;
            let _ = std::io::stdout().lock().write_all(&script);
            ExitCode::SUCCESS
        }
        Some(Command::SelfCmd(command)) => run_self(command, &Env::from_process(), build),
    }
}

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
    let result = match command {
        SelfCommand::Update(args) => update::update(&ctx, &ui, args),
        SelfCommand::Pin {
            requirement,
            prerelease,
            ..
        } => update::pin(&ctx, &ui, &requirement, prerelease),
        SelfCommand::Unpin { .. } => update::unpin(&ctx, &ui),
        SelfCommand::Rollback { .. } => update::rollback(&ctx, &ui),
        SelfCommand::List { prerelease, .. } => info::list(&ctx, &ui, prerelease),
        SelfCommand::Status { .. } => info::status(&ctx, &ui),
        SelfCommand::Check { prerelease, .. } => info::check(&ctx, &ui, prerelease),
        SelfCommand::Install(args) => self_install::install(&ctx, &ui, env, args),
        SelfCommand::Uninstall { yes, .. } => self_install::uninstall(&ctx, &ui, yes),
        SelfCommand::Verify {
            archive, sums, sig, ..
        } => verify::verify(&ctx, &ui, &archive, sums, sig),
        SelfCommand::BackgroundCheck => {
            notice::background_check(&ctx);
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
        SelfCommand::Update(UpdateArgs {
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

fn output_of(command: &SelfCommand) -> OutputArgs {
    match command {
        SelfCommand::Update(args) => args.output,
        SelfCommand::Install(args) => args.output,
        SelfCommand::Pin { output, .. }
        | SelfCommand::Unpin { output }
        | SelfCommand::Rollback { output }
        | SelfCommand::List { output, .. }
        | SelfCommand::Status { output }
        | SelfCommand::Check { output, .. }
        | SelfCommand::Uninstall { output, .. }
        | SelfCommand::Verify { output, .. } => *output,
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

    pub fn report(&self, error: &UpdateError) {
        self.report_error(error, error.hint().as_deref());
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

    pub fn events(&self) -> UiEvents<'_> {
        UiEvents {
            ui: self,
            bar: None,
        }
    }
}

/// Renders pipeline events: lock waits, recoveries and an indicatif bar for
/// downloads (drawn only on a terminal, never with --quiet or --json).
pub struct UiEvents<'a> {
    ui: &'a Ui,
    bar: Option<indicatif::ProgressBar>,
}

impl Events for UiEvents<'_> {
    fn waiting_for_lock(&mut self, holder: &str) {
        self.ui
            .note(&format!("waiting for another pane to finish ({holder})…"));
    }
    fn recovered(&mut self, what: &str) {
        self.ui.note(&format!("recovered: {what}"));
    }
    fn downloading(&mut self) -> &mut dyn Progress {
        self
    }
}

impl Progress for UiEvents<'_> {
    fn start(&mut self, name: &str, total: Option<u64>) {
        if !self.ui.stderr_terminal || self.ui.quiet || self.ui.json {
            return;
        }
        let bar = match total {
            Some(total) => indicatif::ProgressBar::new(total),
            None => indicatif::ProgressBar::no_length(),
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(format!("downloading {name}"));
        self.bar = Some(bar);
    }
    fn advance(&mut self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }
    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

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

pub(crate) type CommandResult = Result<ExitCode, UpdateError>;
