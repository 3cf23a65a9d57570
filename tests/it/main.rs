//! pane's integration tests: one binary, driving the real pane against a real
//! release server on loopback.

mod chaos;
mod common;
mod failpoints;
mod faults;
mod fuzz;
mod help;
mod hostile;
mod install_sh;
mod lifecycle;
mod notice;
mod profile;
