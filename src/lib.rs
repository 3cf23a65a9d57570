//! pane's library: the CLI's commands and the self-update pipeline (the
//! `self-update` feature, on by default; packagers build without it).

#[cfg(feature = "self-update")]
pub mod channel;
pub mod cli;
pub mod commands;
pub mod env;
pub mod failpoint;
#[cfg(feature = "self-update")]
pub mod path_setup;
pub mod platform;
#[cfg(feature = "self-update")]
pub mod self_install;
#[cfg(feature = "self-update")]
pub mod signature;
#[cfg(feature = "self-update")]
pub mod update;

/// The trust root compiled in from `keys/` by build.rs.
#[cfg(feature = "self-update")]
pub mod keys {
    include!(concat!(env!("OUT_DIR"), "/keys.rs"));
}

pub use commands::run;
