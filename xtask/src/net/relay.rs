//! A user-space shaping relay: TCP on loopback with a round-trip time and a
//! bandwidth, for benchmarks over "real" networks where the kernel has no
//! netem.
//!
//! One [`Relay`] is one client's link. It listens in front of one or more
//! upstreams ([`Relay::front`]), each front on the upstream's own loopback
//! address (so certificates naming 127.0.0.1 or 127.0.0.2 still match), and
//! every connection through any front shares one bandwidth bucket.
//!
//! The model:
//! - a new connection waits one RTT before its first byte flows (the TCP
//!   handshake);
//! - every chunk, in each direction, is stamped when read and written no
//!   sooner than RTT/2 later: a delay line, so pipelined or concurrent
//!   traffic overlaps (a request and its answer cost one RTT, two
//!   connections at once cost one RTT, not two);
//! - server→client bytes also pass a token bucket at `bytes_per_sec`, shared
//!   by all connections, with a 64 KiB burst;
//! - an EOF on one side shuts down the writing half of the other, so
//!   `Connection: close` answers end as they would.
//!
//! It counts the connections it accepted and the bytes it relayed.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::accept::Acceptor;
use crate::error::{Context, Result};

/// The bucket's burst: what may pass at once after a quiet spell.
const BURST: f64 = 64.0 * 1024.0;
/// Bytes read at a time: at most the burst, so the bucket shares fairly,
/// and large enough that loopback runs are not held up by the relay.
const CHUNK: usize = 64 * 1024;
/// Chunks in flight per direction (4 MiB): a window, so the reader does
/// not buffer a whole download ahead of the link.
const IN_FLIGHT: usize = 64;

/// A link: its round-trip time and its downstream bandwidth (0: unlimited).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub rtt: Duration,
    pub bytes_per_sec: u64,
}

impl Shape {
    /// Loopback as it is: no delay, no limit (the relay still counts).
    pub const NONE: Shape = Shape {
        rtt: Duration::ZERO,
        bytes_per_sec: 0,
    };
    /// A local network: 1 ms, 1 Gbit/s.
    pub const LAN: Shape = Shape {
        rtt: Duration::from_millis(1),
        bytes_per_sec: 125_000_000,
    };
    /// A good home connection: 30 ms, 100 Mbit/s.
    pub const BROADBAND: Shape = Shape {
        rtt: Duration::from_millis(30),
        bytes_per_sec: 12_500_000,
    };
    /// Far from the server: 150 ms, 20 Mbit/s.
    pub const FAR: Shape = Shape {
        rtt: Duration::from_millis(150),
        bytes_per_sec: 2_500_000,
    };

    /// "LAN (1 ms, 1000 Mbit/s)" and the like; "loopback" for [`Shape::NONE`].
    pub fn describe(&self) -> String {
        if *self == Shape::NONE {
            return "loopback".into();
        }
        let name = match *self {
            Shape::LAN => "LAN ",
            Shape::BROADBAND => "broadband ",
            Shape::FAR => "far ",
            _ => "",
        };
        format!(
            "{name}({} ms, {} Mbit/s)",
            self.rtt.as_millis(),
            self.bytes_per_sec * 8 / 1_000_000
        )
    }
}

/// What a relay has seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RelayStats {
    /// Connections accepted, over all fronts.
    pub connections: u64,
    /// Client→server bytes.
    pub bytes_up: u64,
    /// Server→client bytes.
    pub bytes_down: u64,
}

impl RelayStats {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &RelayStats) -> RelayStats {
        RelayStats {
            connections: self.connections - earlier.connections,
            bytes_up: self.bytes_up - earlier.bytes_up,
            bytes_down: self.bytes_down - earlier.bytes_down,
        }
    }
}

struct Shared {
    shape: Shape,
    stop: AtomicBool,
    connections: AtomicU64,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
    /// Tokens (may go negative: a reservation to sleep off) and when last
    /// refilled.
    bucket: Mutex<(f64, Instant)>,
    /// Every connection still open (by number), to shut down when the
    /// relay goes.
    open: Mutex<Vec<(u64, TcpStream, TcpStream)>>,
}

impl Shared {
    /// Takes `n` bytes' worth of tokens, sleeping off any debt: whoever
    /// asks first is served first.
    fn take(&self, n: usize) {
        let rate = self.shape.bytes_per_sec as f64;
        if rate <= 0.0 {
            return;
        }
        let debt = {
            let mut bucket = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let (tokens, last) = *bucket;
            let refilled = (tokens + now.duration_since(last).as_secs_f64() * rate).min(BURST);
            let left = refilled - n as f64;
            *bucket = (left, now);
            -left
        };
        if debt > 0.0 {
            std::thread::sleep(Duration::from_secs_f64(debt / rate));
        }
    }
}

/// One client's link, in front of any number of upstreams. Dropping it
/// stops every front and closes every connection.
pub struct Relay {
    shared: Arc<Shared>,
    accepts: Vec<Acceptor>,
}

impl Relay {
    pub fn new(shape: Shape) -> Relay {
        Relay {
            shared: Arc::new(Shared {
                shape,
                stop: AtomicBool::new(false),
                connections: AtomicU64::new(0),
                bytes_up: AtomicU64::new(0),
                bytes_down: AtomicU64::new(0),
                bucket: Mutex::new((BURST, Instant::now())),
                open: Mutex::new(Vec::new()),
            }),
            accepts: Vec::new(),
        }
    }

    pub fn shape(&self) -> Shape {
        self.shared.shape
    }

    /// Listens on `upstream`'s IP (any free port) and relays every
    /// connection there to `upstream`; returns the address to connect to.
    /// `upstream` need not listen yet: it is connected to per connection.
    pub fn front(&mut self, upstream: SocketAddr) -> Result<SocketAddr> {
        let listener =
            TcpListener::bind((upstream.ip(), 0)).context("binding the relay's front")?;
        let shared = Arc::clone(&self.shared);
        let accept = Acceptor::spawn(listener, "relay", move |client| {
            let number = shared.connections.fetch_add(1, Ordering::SeqCst);
            let shared = Arc::clone(&shared);
            let _ = std::thread::Builder::new()
                .name("relay connection".into())
                .spawn(move || {
                    let _ = connection(&shared, number, client, upstream);
                });
        })?;
        let addr = accept.addr();
        self.accepts.push(accept);
        Ok(addr)
    }

    /// The counters so far.
    pub fn stats(&self) -> RelayStats {
        RelayStats {
            connections: self.shared.connections.load(Ordering::SeqCst),
            bytes_up: self.shared.bytes_up.load(Ordering::SeqCst),
            bytes_down: self.shared.bytes_down.load(Ordering::SeqCst),
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Each stops as it goes.
        self.accepts.clear();
        let open = std::mem::take(&mut *self.shared.open.lock().unwrap_or_else(|e| e.into_inner()));
        for (_, client, server) in open {
            let _ = client.shutdown(Shutdown::Both);
            let _ = server.shutdown(Shutdown::Both);
        }
    }
}

/// One connection: the handshake's RTT, then both directions through their
/// delay lines until each side is done.
fn connection(
    shared: &Arc<Shared>,
    number: u64,
    client: TcpStream,
    upstream: SocketAddr,
) -> io::Result<()> {
    let _ = client.set_nodelay(true);
    std::thread::sleep(shared.shape.rtt);
    let server = TcpStream::connect(upstream)?;
    let _ = server.set_nodelay(true);
    shared.open.lock().unwrap_or_else(|e| e.into_inner()).push((
        number,
        client.try_clone()?,
        server.try_clone()?,
    ));
    // Dropped while this one was in its handshake's round trip: the relay
    // has already shut what was open, and this one was not there yet.
    if shared.stop.load(Ordering::SeqCst) {
        let _ = client.shutdown(Shutdown::Both);
        let _ = server.shutdown(Shutdown::Both);
        return Ok(());
    }
    let up = direction(shared, client.try_clone()?, server.try_clone()?, false)?;
    let down = direction(shared, server, client, true)?;
    for handle in up.into_iter().chain(down) {
        let _ = handle.join();
    }
    shared
        .open
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|(n, _, _)| *n != number);
    Ok(())
}

/// A reader stamping chunks from `from` and a writer releasing them to `to`
/// after RTT/2 (and, downstream, the bucket); EOF becomes a half-close.
fn direction(
    shared: &Arc<Shared>,
    from: TcpStream,
    to: TcpStream,
    downstream: bool,
) -> io::Result<[JoinHandle<()>; 2]> {
    let (sender, receiver) = sync_channel::<(Instant, Vec<u8>)>(IN_FLIGHT);
    let reader = std::thread::Builder::new()
        .name("relay reader".into())
        .spawn(move || read_side(from, &sender))?;
    let shared = Arc::clone(shared);
    let writer = std::thread::Builder::new()
        .name("relay writer".into())
        .spawn(move || write_side(&shared, to, &receiver, downstream))?;
    Ok([reader, writer])
}

fn read_side(mut from: TcpStream, sender: &SyncSender<(Instant, Vec<u8>)>) {
    let mut buffer = vec![0u8; CHUNK];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if sender.send((Instant::now(), buffer[..n].to_vec())).is_err() {
                    break;
                }
            }
        }
    }
    // Dropping the sender tells the writer: EOF.
}

fn write_side(
    shared: &Shared,
    mut to: TcpStream,
    receiver: &Receiver<(Instant, Vec<u8>)>,
    downstream: bool,
) {
    let half = shared.shape.rtt / 2;
    let counter = if downstream {
        &shared.bytes_down
    } else {
        &shared.bytes_up
    };
    while let Ok((read_at, chunk)) = receiver.recv() {
        let due = read_at + half;
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        if downstream {
            shared.take(chunk.len());
        }
        if to.write_all(&chunk).is_err() {
            // The other side is gone: stop reading what nobody takes.
            let _ = to.shutdown(Shutdown::Both);
            return;
        }
        counter.fetch_add(chunk.len() as u64, Ordering::SeqCst);
    }
    let _ = to.flush();
    let _ = to.shutdown(Shutdown::Write);
}
