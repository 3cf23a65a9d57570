//! pane's release tooling, as a library: `cargo xtask` is a thin CLI over it,
//! and pane's integration tests, demo and benchmarks use the same code
//! through [`fixtures`] and [`server`], so a test release is made exactly the
//! way a real one is.
//!
//! - [`archive`] — reproducible `pane-<version>-<target>.tar.gz`, and hostile ones
//! - [`channel`] — `cargo xtask channel`: the signed release channel document of a mirror
//! - [`checksums`] — `SHA256SUMS`
//! - [`signing`] — minisign keys, `SHA256SUMS.minisig`
//! - [`formula`] — the Homebrew formula
//! - [`install_script`] — the `install.sh` published with a release, stamped with it
//! - [`server`] — a local release server with fault injection
//! - [`dist`] — build and package a release binary, reproducibly, with its SBOM
//! - [`audit_data`] — the dependency list cargo-auditable embeds in a binary
//! - [`sbom`] — the release's CycloneDX SBOM, made from that list
//! - [`reproduce`] — `cargo xtask reproduce`: two builds as on two machines, compared
//! - [`process`] — running cargo, rustc and other tools, failing with their output
//! - [`sandbox`] — a throwaway home, key and release server that pane runs in
//! - [`net`] — TLS, a test CA, a CDN host, proxies and nginx around it, on loopback
//! - [`fixtures`] — keys, stamped binaries and release directories for tests
//! - [`bench`] — `cargo xtask bench`: benchmarks against self_update and the floor
//! - [`demo`] — `cargo xtask demo`: the whole life cycle in a throwaway home
//! - [`chaos`] — `cargo xtask chaos`: random kill -9 and racing updaters
//! - [`drill`] — `cargo xtask drill`: a bad release, withdrawn and fixed, on a fleet in simulated time
//! - [`man`] — the man pages and shell completions release archives carry
//! - [`asciicast`] — asciicast v2 recordings: written, read, retimed
//! - [`recording`] — `cargo xtask demo --record` and `cargo xtask recording`

pub mod archive;
pub mod asciicast;
pub mod audit_data;
pub mod bench;
pub mod channel;
pub mod chaos;
pub mod checksums;
pub mod demo;
pub mod dist;
pub mod drill;
mod error;
pub mod fixtures;
pub mod formula;
mod fsutil;
pub mod install_script;
pub mod man;
pub mod net;
pub mod process;
pub mod recording;
pub mod reproduce;
pub mod sandbox;
pub mod sbom;
pub mod server;
pub mod signing;
pub mod workspace;

pub use error::{Context, Error, Result};
