//! A writer that writes and hashes on a second thread.
//!
//! An update moves every byte of a release twice: downloaded into a file under
//! a SHA-256 (checked before anything is unpacked), then gunzipped into the
//! staged binary under another SHA-256 (the digest the receipt and the kept
//! copy are checked against). Done inline, the thread that reads the socket or
//! inflates the archive also waits for the hash and for the page cache; here
//! it hands full 256 KiB chunks to a worker thread that does both, and goes on
//! producing the next chunk. On two cores that takes the hash and the write
//! off the critical path: a fifth off a 40 MiB update, 262 ms to 208 ms in
//! `cargo xtask bench --updates-only` (BENCHMARKS.md).
//!
//! The buffers circulate between the two threads (at most [`CHUNKS`] of them
//! exist), so memory stays flat whatever the size of the release. An error of
//! the worker (a full disk, a file-size limit) is returned by the next `write`
//! or by [`HashingSink::finish`], never lost.

use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::{Scope, ScopedJoinHandle};

use super::digest::StreamingSha256;

/// Bytes handed to the worker at a time.
const CHUNK: usize = 256 * 1024;
/// Buffers in circulation: one being filled, one being written, one queued.
const CHUNKS: usize = 3;

/// What the worker hands back: the inner writer and the digest.
type Finished<W> = io::Result<(W, [u8; 32])>;

/// Writes into `W` on a thread of `scope`, hashing what it writes.
pub struct HashingSink<'scope, W: Write + Send + 'scope> {
    current: Vec<u8>,
    /// Full buffers to the worker; `None` once finished or failed.
    to_worker: Option<SyncSender<Vec<u8>>>,
    /// Emptied buffers back from the worker.
    returned: Receiver<Vec<u8>>,
    /// Buffers not yet made; allocated on demand, so a small write never
    /// costs the whole pool.
    unmade: usize,
    worker: Option<ScopedJoinHandle<'scope, Finished<W>>>,
}

impl<'scope, W: Write + Send + 'scope> HashingSink<'scope, W> {
    pub fn new<'env>(scope: &'scope Scope<'scope, 'env>, mut inner: W) -> Self {
        let (to_worker, from_producer) = mpsc::sync_channel::<Vec<u8>>(CHUNKS);
        let (to_producer, returned) = mpsc::channel::<Vec<u8>>();
        let worker = scope.spawn(move || {
            let mut hasher = StreamingSha256::default();
            for mut chunk in from_producer {
                inner.write_all(&chunk)?;
                hasher.update(&chunk);
                chunk.clear();
                // The producer may be gone (it failed, or it is finishing).
                let _ = to_producer.send(chunk);
            }
            inner.flush()?;
            Ok((inner, hasher.finish()))
        });
        Self {
            current: Vec::with_capacity(CHUNK),
            to_worker: Some(to_worker),
            returned,
            unmade: CHUNKS - 1,
            worker: Some(worker),
        }
    }

    /// Hands the current buffer to the worker and takes an empty one.
    fn send_current(&mut self) -> io::Result<()> {
        let next = match self.returned.try_recv() {
            Ok(buffer) => buffer,
            Err(_) if self.unmade > 0 => {
                self.unmade -= 1;
                Vec::with_capacity(CHUNK)
            }
            // All buffers are out: wait for one (or for the worker to stop).
            Err(_) => match self.returned.recv() {
                Ok(buffer) => buffer,
                Err(_) => return Err(self.worker_error()),
            },
        };
        let full = std::mem::replace(&mut self.current, next);
        let sent = match &self.to_worker {
            Some(sender) => sender.send(full).is_ok(),
            None => false,
        };
        if sent {
            Ok(())
        } else {
            Err(self.worker_error())
        }
    }

    /// The error the worker stopped on (it only stops early on an error).
    fn worker_error(&mut self) -> io::Error {
        self.to_worker = None;
        match self.worker.take().map(ScopedJoinHandle::join) {
            Some(Ok(Err(error))) => error,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            _ => io::Error::other("the writer thread stopped"),
        }
    }

    /// Writes what is left, waits for the worker, and returns the inner
    /// writer with the SHA-256 of everything written.
    pub fn finish(mut self) -> Finished<W> {
        if !self.current.is_empty() {
            self.send_current()?;
        }
        self.to_worker = None;
        match self.worker.take().map(ScopedJoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => Err(io::Error::other("the writer thread stopped")),
        }
    }
}

impl<'scope, W: Write + Send + 'scope> Write for HashingSink<'scope, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.to_worker.is_none() {
            return Err(io::Error::other("the writer thread stopped"));
        }
        let n = buf.len().min(CHUNK - self.current.len());
        self.current.extend_from_slice(&buf[..n]);
        if self.current.len() == CHUNK {
            self.send_current()?;
        }
        Ok(n)
    }

    /// Buffered bytes reach the inner writer by [`HashingSink::finish`];
    /// `flush` cannot wait for the worker without ending it.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    /// Whatever the sizes of the writes, the inner writer gets the same
    /// bytes in order and the digest is theirs.
    #[test]
    fn writes_and_hashes_everything_in_order() {
        for (len, step) in [
            (0, 1),
            (1, 1),
            (CHUNK - 1, 4096),
            (CHUNK, CHUNK),
            (CHUNK + 1, 7919),
            (5 * CHUNK + 3, 65536),
            (3 * CHUNK, 1),
        ] {
            let data = pattern(len);
            let (out, digest) = std::thread::scope(|scope| {
                let mut sink = HashingSink::new(scope, Vec::new());
                for piece in data.chunks(step) {
                    sink.write_all(piece).unwrap();
                }
                sink.finish().unwrap()
            });
            assert!(out == data, "{len} bytes in writes of {step}");
            assert_eq!(digest, <[u8; 32]>::from(Sha256::digest(&data)));
        }
    }

    /// A writer that fails after `room` bytes, like a full disk.
    struct Full {
        room: usize,
    }
    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// The worker's error reaches the producer: at a later write when there
    /// is more to write, at `finish` otherwise; it is never swallowed.
    #[test]
    fn the_worker_error_is_returned() {
        let data = pattern(20 * CHUNK);
        let error = std::thread::scope(|scope| {
            let mut sink = HashingSink::new(scope, Full { room: CHUNK + 10 });
            // Twenty chunks and three buffers: the error must stop a write.
            for piece in data.chunks(1000) {
                if let Err(error) = sink.write_all(piece) {
                    return error;
                }
            }
            panic!("every write succeeded on a full disk");
        });
        assert_eq!(error.kind(), io::ErrorKind::StorageFull);

        let error = std::thread::scope(|scope| {
            let mut sink = HashingSink::new(scope, Full { room: 10 });
            sink.write_all(&data[..100]).unwrap();
            sink.finish()
                .err()
                .expect("finish succeeded on a full disk")
        });
        assert_eq!(error.kind(), io::ErrorKind::StorageFull);
    }
}
