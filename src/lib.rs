//! pane's library: the CLI's commands and the self-update pipeline.

pub mod channel;
pub mod cli;
pub mod commands;
pub mod env;
pub mod failpoint;
pub mod path_setup;
pub mod platform;
pub mod self_install;
pub mod signature;
pub mod update;

/// The trust root compiled in from `keys/` by build.rs.
pub mod keys {
    include!(concat!(env!("OUT_DIR"), "/keys.rs"));
}

pub use commands::run;
