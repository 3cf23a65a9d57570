//! pane's integration tests: one binary, driving the real pane against a real
//! release server on loopback.

mod ahead;
mod channel;
mod chaos;
mod cli;
mod common;
mod completions;
mod failpoints;
mod faults;
mod fuzz;
mod help;
mod hostile;
mod install_sh;
mod lifecycle;
mod network;
mod notice;
mod older;
mod packaged;
mod prefetch;
mod profile;
