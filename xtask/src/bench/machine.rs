//! What the bench ran on, for the report's first line.

use std::process::Command;

pub(super) struct Machine {
    pub(super) cpus: usize,
    pub(super) cpu_model: String,
    pub(super) sha_extensions: bool,
    pub(super) date: String,
    pub(super) kernel: String,
    pub(super) rustc: String,
}

impl Machine {
    pub(super) fn detect() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |name: &str| {
            cpuinfo
                .lines()
                .find(|line| line.starts_with(name))
                .and_then(|line| line.split_once(':'))
                .map(|(_, value)| value.trim().to_string())
        };
        let flags = field("flags").unwrap_or_default();
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model: field("model name").unwrap_or_else(|| "unknown CPU".into()),
            sha_extensions: flags.split_whitespace().any(|f| f == "sha_ni"),
            date: command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
                .unwrap_or_else(|| "unknown date".into()),
            kernel: command_line("uname", &["-sr"]).unwrap_or_else(|| "unknown kernel".into()),
            rustc: command_line("rustc", &["-V"]).unwrap_or_else(|| "rustc".into()),
        }
    }
}

/// The first line a command prints, if it runs.
pub(super) fn command_line(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output.status.success().then(|| {
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string()
    })
}
