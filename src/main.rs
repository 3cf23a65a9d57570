use std::process::ExitCode;

fn main() -> ExitCode {
    // `pane --version` answers before anything else is set up: scripts and
    // the updater's own smoke test call it, and it should cost no more than
    // a bare binary's start (BENCHMARKS.md).
    if let Some(version) = bare_version_request() {
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), "pane {version}");
        return ExitCode::SUCCESS;
    }
    pane::platform::ignore_file_size_signal();
    // The version is stamped here rather than in the library so that a
    // different PANE_BUILD_VERSION relinks only this file.
    let build = pane::env::Build { version: VERSION };
    pane::run(pane::cli::parse(), &build)
}

const VERSION: &str = match option_env!("PANE_BUILD_VERSION") {
    Some(version) => version,
    None => env!("CARGO_PKG_VERSION"),
};

/// `Some(version)` when the arguments are exactly `--version` or `-V`.
fn bare_version_request() -> Option<&'static str> {
    let mut args = std::env::args_os().skip(1);
    match (args.next(), args.next()) {
        (Some(flag), None) if flag == "--version" || flag == "-V" => Some(VERSION),
        _ => None,
    }
}

/// glibc's `pow`, from the `libm` crate, so that the binary does not load
/// libm.so for its one caller (indicatif's rate estimator): see Cargo.toml.
/// The linker resolves the `pow` that `f64::powf` lowers to here, and with
/// `--as-needed` libm.so is then no longer a dependency.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[unsafe(no_mangle)]
extern "C" fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}
