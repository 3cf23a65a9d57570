//! The floor: the least any updater that checks a download must do.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::http::http_get;
use super::ContextNone;
use crate::error::{Context, Result};

/// The floor: what any updater that checks a download before unpacking it
/// must at least do with these bytes. One HTTP GET streamed to a file while
/// one SHA-256 runs over it, the digest compared, one gunzip and untar of the
/// binary into the target's directory, one rename. No signature, no fsync,
/// no smoke test, no kept copy. Done as well as pane does it: the hash and
/// the write of the download on a second thread, the binary written in
/// 256 KiB pieces.
pub(super) fn floor_update(url: &str, expected: &str, top: &str, target: &Path) -> Result<()> {
    let dir = target
        .parent()
        .context_none("the target has no directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let archive_path = dir.join(".floor-download.tar.gz");
    let mut response = http_get(url)?;
    if response.status != 200 {
        crate::bail!("GET {url}: status {}", response.status);
    }
    let archive = File::create(&archive_path)
        .with_context(|| format!("cannot create {}", archive_path.display()))?;
    let digest = download_on_two_threads(&mut response.body, archive)
        .with_context(|| format!("cannot download {url} to {}", archive_path.display()))?;
    if crate::checksums::hex(&digest) != expected {
        crate::bail!("the floor's download does not match its SHA-256");
    }

    let wanted = format!("{top}/pane");
    let staged = dir.join(".floor-staged");
    let file = File::open(&archive_path)
        .with_context(|| format!("cannot open {}", archive_path.display()))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(BufReader::new(file)));
    let mut found = false;
    for entry in tar.entries().context("the archive is not a .tar.gz")? {
        let mut entry = entry.context("the archive is not a .tar.gz")?;
        if entry.path_bytes().as_ref() != wanted.as_bytes() {
            continue;
        }
        let out =
            File::create(&staged).with_context(|| format!("cannot create {}", staged.display()))?;
        let mut out = std::io::BufWriter::with_capacity(256 * 1024, out);
        std::io::copy(&mut entry, &mut out).context("cannot unpack the binary")?;
        let out = out
            .into_inner()
            .map_err(|e| e.into_error())
            .context("cannot unpack the binary")?;
        out.set_permissions(std::fs::Permissions::from_mode(0o755))
            .context("cannot set the binary's mode")?;
        found = true;
        break;
    }
    let _ = std::fs::remove_file(&archive_path);
    if !found {
        crate::bail!("the archive has no {wanted}");
    }
    std::fs::rename(&staged, target).with_context(|| format!("cannot replace {}", target.display()))
}

/// Reads `body` to its end on this thread while a second one writes it to
/// `file` and hashes it; returns the SHA-256. Buffers go back and forth, so
/// nothing is allocated per chunk.
pub(super) fn download_on_two_threads(
    body: &mut impl Read,
    mut file: File,
) -> std::io::Result<[u8; 32]> {
    const CHUNK: usize = 256 * 1024;
    std::thread::scope(|scope| {
        let (to_writer, full) = std::sync::mpsc::sync_channel::<Vec<u8>>(2);
        let (to_reader, empty) = std::sync::mpsc::channel::<Vec<u8>>();
        let writer = scope.spawn(move || -> std::io::Result<[u8; 32]> {
            let mut hasher = Sha256::new();
            for chunk in full {
                file.write_all(&chunk)?;
                hasher.update(&chunk);
                let _ = to_reader.send(chunk);
            }
            Ok(hasher.finalize().into())
        });
        let mut made = 0;
        loop {
            let mut buffer = match empty.try_recv() {
                Ok(buffer) => buffer,
                Err(_) if made < 4 => {
                    made += 1;
                    vec![0u8; CHUNK]
                }
                Err(_) => match empty.recv() {
                    Ok(buffer) => buffer,
                    Err(_) => break,
                },
            };
            // Whole chunks: a socket read returns less than one.
            buffer.resize(CHUNK, 0);
            let mut filled = 0;
            while filled < CHUNK {
                let n = body.read(&mut buffer[filled..])?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            if filled == 0 {
                break;
            }
            buffer.truncate(filled);
            if to_writer.send(buffer).is_err() || filled < CHUNK {
                break;
            }
        }
        drop(to_writer);
        writer.join().expect("the floor's writer thread panicked")
    })
}
