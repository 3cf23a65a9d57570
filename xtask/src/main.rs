//! `cargo xtask`: pane's release tooling. Parses, reads the environment once,
//! and calls the `xtask` library.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::server::{Fault, Server};
use xtask::{checksums, dist, formula, install_script, signing, Context, Result};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "pane's release tooling")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build pane in release mode with cargo-auditable, stamped with a
    /// version, and package it as DIR/pane-<version>-<target>.tar.gz with its
    /// CycloneDX SBOM DIR/pane-<version>-<target>.cdx.json (reproducible:
    /// build paths remapped, archive dates from SOURCE_DATE_EPOCH)
    Dist {
        /// Target triple (default: the host's)
        #[arg(long)]
        target: Option<String>,
        /// Version to stamp (default: Cargo.toml's)
        #[arg(long)]
        version: Option<String>,
        /// Cargo profile
        #[arg(long, default_value = "release")]
        profile: String,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Write DIR/install.sh: the repository's install.sh stamped with the
    /// version and archive SHA-256s of the release in DIR (before `checksums`)
    InstallSh {
        dir: PathBuf,
        /// The script to stamp (default: the repository's install.sh)
        #[arg(long, value_name = "FILE")]
        script: Option<PathBuf>,
    },
    /// Build the release twice as two machines would (copies at other paths,
    /// other cargo homes, umask 077, other file dates; offline) and check the
    /// outputs are byte-identical and hold no absolute build path
    Reproduce {
        /// Cargo profile
        #[arg(long, default_value = "release")]
        profile: String,
        /// Where the copies and builds go (default: a temporary directory,
        /// removed afterwards)
        #[arg(long, value_name = "DIR")]
        work_dir: Option<PathBuf>,
    },
    /// Write DIR/SHA256SUMS over every asset in DIR
    Checksums { dir: PathBuf },
    /// Sign DIR/SHA256SUMS as DIR/SHA256SUMS.minisig (password from MINISIGN_PASSWORD)
    Sign {
        dir: PathBuf,
        /// A minisign secret key file
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
    },
    /// Check DIR/SHA256SUMS.minisig under a public key, and print its trusted comment
    Verify {
        dir: PathBuf,
        /// A minisign public key file (.pub)
        #[arg(long = "pub", value_name = "FILE")]
        public_key: PathBuf,
    },
    /// Make a minisign key pair DIR/<id>.pub and DIR/<id>.key (encrypted with
    /// MINISIGN_PASSWORD if set)
    Keygen {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        #[arg(long, value_name = "NAME", default_value = "pane-release")]
        id: String,
    },
    /// Write a Homebrew formula for the release in DIR
    Formula {
        dir: PathBuf,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Leave out targets DIR has no archive for (for tests)
        #[arg(long)]
        allow_missing: bool,
    },
    /// Serve ROOT/v<version>/<asset> like GitHub releases (files and API)
    Serve {
        root: PathBuf,
        /// 0 picks a free port
        #[arg(long, default_value_t = 0)]
        port: u16,
        #[arg(long, default_value = "127.0.0.1")]
        host: IpAddr,
        /// Inject a fault: PATH_SUFFIX=KIND[:ARG], KIND one of truncate:N,
        /// corrupt:N, stall, stall:N, status:N, redirect:URL, endless,
        /// throttle:N
        #[arg(long, value_name = "PATH_SUFFIX=KIND[:ARG]")]
        fault: Vec<String>,
    },
    /// Build pane at three versions, serve them signed on 127.0.0.1, and run
    /// install.sh and the `pane self` commands in a throwaway HOME
    Demo {
        /// Also write the run, as it happens, to FILE as an asciicast (v2)
        #[arg(long, value_name = "FILE")]
        record: Option<PathBuf>,
    },
    /// Record the demo into docs/demo.cast and render it as docs/demo.svg
    /// (with svg-term-cli from npm, installed into target/recording-tools)
    Recording,
    /// Write pane's man pages (pane.1 and one per subcommand) into DIR
    Man { dir: PathBuf },
    /// Write pane's bash, zsh and fish completions into DIR
    Completions { dir: PathBuf },
    /// Benchmarks, side by side with the self_update crate and the floor, as
    /// ratios; a full run writes BENCHMARKS.md
    Bench(xtask::bench::Options),
    /// Make and sign the release channel document of a mirror
    /// (ROOT/channel/channel.json): withdraw, rollout, critical, show
    Channel(xtask::channel::Args),
    /// Rehearse a bad release on a fleet of installations in simulated time:
    /// rollout, withdrawal, critical fix; prints a table, writes a chart, and
    /// exits non-zero if a check fails
    Drill(xtask::drill::Options),
    /// Kill `pane self update` with SIGKILL at random moments, and race
    /// updaters against each other, checking the installation after each
    Chaos {
        /// SIGKILLs to deliver
        #[arg(long, default_value_t = 200)]
        kills: u32,
        /// Racing rounds (one new release each, 8 updaters at once)
        #[arg(long, default_value_t = 20)]
        rounds: u32,
        /// Seed of the kill delays
        #[arg(long, default_value_t = 0x5eed)]
        seed: u64,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo xtask chaos`: progress on stderr, the two summary lines on stdout.
fn chaos(kills: u32, rounds: u32, seed: u64) -> Result<()> {
    use xtask::chaos::{kill_chaos, race_chaos, KillOptions, RaceOptions};
    let mut log = std::io::stderr();
    let killed = kill_chaos(
        &KillOptions {
            kills,
            seed,
            ..KillOptions::default()
        },
        &mut log,
    )?;
    println!("{killed}");
    let raced = race_chaos(&RaceOptions::rounds(rounds), &mut log)?;
    println!("{raced}");
    if killed.failure.is_some() || raced.failure.is_some() {
        xtask::bail!("the installation did not survive the chaos (see above)");
    }
    Ok(())
}

/// `cargo xtask drill`: progress on stderr; the table and the summary on stdout.
fn drill(options: &xtask::drill::Options) -> Result<()> {
    let report = xtask::drill::run(options, &mut std::io::stderr())?;
    println!("{}", report.table);
    print!("{}", report.summary);
    if !report.passed() {
        xtask::bail!("the drill's checks failed (see above)");
    }
    Ok(())
}

/// The commands that make what readers see: the demo and its recording, the
/// man pages and the completions.
fn for_readers(command: Command) -> Result<()> {
    match command {
        Command::Demo { record: None } => xtask::demo::run()?,
        Command::Demo { record: Some(file) } => {
            let exe = std::env::current_exe().context("cannot find this program")?;
            xtask::recording::record_demo(&exe, &file)?;
            eprintln!("recorded {}", file.display());
        }
        Command::Recording => {
            let exe = std::env::current_exe().context("cannot find this program")?;
            let made = xtask::recording::regenerate(&exe)?;
            println!(
                "{} ({} bytes; the run took {:.1} s)",
                made.cast.display(),
                made.cast_bytes,
                made.recorded
            );
            println!(
                "{} ({} bytes; plays in {:.1} s)",
                made.svg.display(),
                made.svg_bytes,
                made.played
            );
        }
        Command::Man { dir } => {
            for path in xtask::man::write_man_pages(&dir)? {
                println!("{}", path.display());
            }
        }
        Command::Completions { dir } => {
            for path in xtask::man::write_completions(&dir)? {
                println!("{}", path.display());
            }
        }
        _ => unreachable!("run() passes only the commands above"),
    }
    Ok(())
}

fn run(cli: Cli) -> Result<()> {
    // The environment is read here and nowhere else.
    let password = std::env::var("MINISIGN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    let cargo_home = || -> Result<PathBuf> {
        match std::env::var_os("CARGO_HOME").filter(|home| !home.is_empty()) {
            Some(home) => Ok(PathBuf::from(home)),
            None => match std::env::var_os("HOME").filter(|home| !home.is_empty()) {
                Some(home) => Ok(PathBuf::from(home).join(".cargo")),
                None => xtask::bail!("neither CARGO_HOME nor HOME is set"),
            },
        }
    };
    let source_date_epoch = || -> Result<u64> {
        match std::env::var("SOURCE_DATE_EPOCH") {
            Ok(text) => text
                .trim()
                .parse()
                .with_context(|| format!("SOURCE_DATE_EPOCH={text:?} is not a number")),
            Err(_) => Ok(0),
        }
    };
    match cli.command {
        command @ (Command::Demo { .. }
        | Command::Recording
        | Command::Man { .. }
        | Command::Completions { .. }) => for_readers(command)?,
        Command::Channel(args) => println!("{}", xtask::channel::run(&args, password.as_deref())?),
        Command::Bench(options) => xtask::bench::run(&options)?,
        Command::Drill(options) => drill(&options)?,
        Command::Chaos {
            kills,
            rounds,
            seed,
        } => chaos(kills, rounds, seed)?,
        Command::Dist {
            target,
            version,
            profile,
            out,
        } => {
            let made = dist::dist(&dist::DistOptions {
                target,
                version,
                profile,
                mtime: source_date_epoch()?,
                ..dist::DistOptions::new(out, cargo_home()?)
            })?;
            println!("{}", made.archive.display());
            println!("{}", made.sbom.display());
        }
        Command::Reproduce { profile, work_dir } => {
            let temporary;
            let work_dir = match work_dir {
                Some(dir) => dir,
                None => {
                    temporary = tempfile::Builder::new()
                        .prefix("pane-reproduce-")
                        .tempdir()
                        .context("cannot make a temporary directory")?;
                    temporary.path().to_path_buf()
                }
            };
            let report = xtask::reproduce::reproduce(&xtask::reproduce::ReproduceOptions {
                workspace: xtask::workspace::root(),
                cargo_home: cargo_home()?,
                work_dir,
                profile,
                version: xtask::workspace::Package::load()?.version,
                mtime: source_date_epoch()?,
            })?;
            println!("{report}");
            if !report.reproducible() {
                xtask::bail!("the two builds differ (see above)");
            }
        }
        Command::InstallSh { dir, script } => {
            let script = script.unwrap_or_else(|| xtask::workspace::root().join("install.sh"));
            let path = install_script::write_stamped(&dir, &script)?;
            println!("{}", path.display());
        }
        Command::Checksums { dir } => {
            let path = checksums::write_checksums(&dir)?;
            println!("{}", path.display());
        }
        Command::Sign { dir, key } => {
            let secret_key = signing::load_secret_key(&key, password.as_deref())?;
            let path = signing::sign_release(&dir, &secret_key)?;
            println!("{}", path.display());
        }
        Command::Verify { dir, public_key } => {
            let text = std::fs::read_to_string(&public_key)
                .with_context(|| format!("cannot read {}", public_key.display()))?;
            let key = signing::parse_public_key(&text)
                .with_context(|| format!("in {}", public_key.display()))?;
            let comment = signing::verify_release(&dir, &key)?;
            println!("{comment}");
        }
        Command::Keygen { out, id } => {
            let files = signing::keygen(&out, &id, password.as_deref())?;
            println!("key id     {}", files.key_id);
            println!("public key {}", files.public_key.display());
            println!(
                "secret key {}{}",
                files.secret_key.display(),
                if password.is_some() {
                    " (encrypted with MINISIGN_PASSWORD)"
                } else {
                    " (NOT encrypted: set MINISIGN_PASSWORD to encrypt)"
                }
            );
        }
        Command::Formula {
            dir,
            out,
            allow_missing,
        } => {
            let path = formula::write_formula(&dir, &out, allow_missing)?;
            println!("{}", path.display());
        }
        Command::Serve {
            root,
            port,
            host,
            fault,
        } => {
            if !root.is_dir() {
                xtask::bail!("{} is not a directory", root.display());
            }
            let server = Server::builder(root)
                .host(host)
                .port(port)
                .log_to_stderr(true)
                .start()?;
            for spec in fault {
                let Some((pattern, kind)) = spec.split_once('=') else {
                    xtask::bail!("--fault {spec:?} is not PATH_SUFFIX=KIND[:ARG]");
                };
                server.set_fault(pattern, kind.parse::<Fault>()?);
            }
            println!("PANE_RELEASES_URL={}", server.releases_url());
            println!("PANE_RELEASES_API_URL={}", server.api_url());
            use std::io::Write as _;
            let _ = std::io::stdout().flush();
            server.wait();
        }
    }
    Ok(())
}
