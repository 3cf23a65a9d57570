//! Verification throughput of pane's own functions, built with pane's release
//! profile:
//!
//! - `verify-speed sha256 FILE` prints `pane::update::digest::sha256_file`'s
//!   digest of FILE (the bench times the whole process, as it times
//!   `sha256sum`);
//! - `verify-speed minisign SUMS SIG PUBKEY_LINE VERSION N` runs pane's whole
//!   signature check (`verify_sums`: minisign prehashed Ed25519, trusted
//!   comment, parsing `SHA256SUMS`) N times and prints the nanoseconds per check;
//! - `verify-speed minisign-file FILE SIG PUBKEY_LINE` checks a minisign
//!   signature over FILE with pane's verifier (the minisign-verify crate,
//!   streamed: BLAKE2b-512 of the file, then Ed25519) and prints `verified`
//!   (the bench times the whole process, as it times `minisign -V`).

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use pane::update::digest;
use pane::update::verify::{self, TrustStore};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("verify-speed: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<String, String> {
    match args {
        [mode, file] if mode == "sha256" => digest::sha256_file(Path::new(file))
            .map(|sum| digest::hex(&sum))
            .map_err(|e| format!("cannot read {file}: {e}")),
        [mode, sums, signature, key, version, iterations] if mode == "minisign" => {
            let sums = std::fs::read(sums).map_err(|e| format!("cannot read {sums}: {e}"))?;
            let signature = std::fs::read_to_string(signature)
                .map_err(|e| format!("cannot read {signature}: {e}"))?;
            let store = TrustStore::single("bench key", key).map_err(|e| e.to_string())?;
            let version = pane::update::parse_version(version).map_err(|e| e.to_string())?;
            let iterations: u32 = iterations
                .parse()
                .map_err(|_| format!("{iterations:?} is not a count"))?;
            let start = Instant::now();
            for _ in 0..iterations.max(1) {
                let verified = verify::verify_sums(&sums, &signature, &store, Some(&version))
                    .map_err(|e| e.to_string())?;
                std::hint::black_box(verified);
            }
            let per_check = start.elapsed().as_nanos() / u128::from(iterations.max(1));
            Ok(per_check.to_string())
        }
        [mode, file, signature, key] if mode == "minisign-file" => {
            verify_file(file, signature, key)
        }
        _ => Err("usage: verify-speed sha256 FILE | verify-speed minisign SUMS SIG PUBKEY_LINE VERSION N | verify-speed minisign-file FILE SIG PUBKEY_LINE".into()),
    }
}

fn verify_file(file: &str, signature: &str, key: &str) -> Result<String, String> {
    use std::io::Read;
    let text =
        std::fs::read_to_string(signature).map_err(|e| format!("cannot read {signature}: {e}"))?;
    let signature = minisign_verify::Signature::decode(&text).map_err(|e| e.to_string())?;
    let key = minisign_verify::PublicKey::from_base64(key).map_err(|e| e.to_string())?;
    let mut verifier = key.verify_stream(&signature).map_err(|e| e.to_string())?;
    let mut input = std::fs::File::open(file).map_err(|e| format!("cannot read {file}: {e}"))?;
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let n = input
            .read(&mut buffer)
            .map_err(|e| format!("cannot read {file}: {e}"))?;
        if n == 0 {
            break;
        }
        verifier.update(&buffer[..n]);
    }
    verifier.finalize().map_err(|e| e.to_string())?;
    Ok("verified".into())
}
