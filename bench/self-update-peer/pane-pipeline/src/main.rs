//! pane's update pipeline alone: the `Updater` that `pane self update` runs,
//! with the same environment handling, in a binary without pane's CLI (no
//! clap, no progress bar, no other commands). Built with pane's release
//! profile, its size minus a bare binary's is what the updater adds.

use std::process::ExitCode;

use pane::update::source::{NoProgress, Progress};
use pane::update::{Events, UpdateOptions, Updater, Want};

struct Quiet(NoProgress);

impl Events for Quiet {
    fn downloading(&mut self) -> &mut dyn Progress {
        &mut self.0
    }
}

fn main() -> ExitCode {
    let env = pane::env::Env::from_process();
    let build = pane::env::Build {
        version: env!("CARGO_PKG_VERSION"),
    };
    let context = pane::env::context(&env, &build).map_err(|error| error.to_string());
    let result = context.and_then(|context| {
        Updater::new(&context)
            .update(
                &Want::Latest { prerelease: false },
                UpdateOptions::default(),
                &mut Quiet(NoProgress),
            )
            .map_err(|error| error.to_string())
    });
    match result {
        Ok(outcome) => {
            println!("{outcome:?}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
