use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    pane::platform::ignore_file_size_signal();
    // The version is stamped here rather than in the library so that a
    // different PANE_BUILD_VERSION relinks only this file.
    let build = pane::env::Build {
        version: option_env!("PANE_BUILD_VERSION").unwrap_or(env!("CARGO_PKG_VERSION")),
    };
    pane::run(pane::cli::Cli::parse(), &build)
}
