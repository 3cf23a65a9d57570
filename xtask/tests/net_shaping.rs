//! The shaping relay (`xtask::net::relay`): a request costs its round trip,
//! concurrent requests overlap, and the bandwidth is shared.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use xtask::net::relay::{Relay, Shape};

/// A server on 127.0.0.1 that answers each connection's first bytes with
/// `size` bytes, then closes.
fn answering_server(size: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut request = [0u8; 16];
                if stream.read(&mut request).unwrap_or(0) == 0 {
                    return;
                }
                let body = vec![7u8; size];
                let _ = stream.write_all(&body);
            });
        }
    });
    addr
}

/// Connects, sends a request, reads the answer to EOF: its length.
fn fetch(addr: SocketAddr) -> usize {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(b"GET\n").unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    answer.len()
}

fn timed<T>(work: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = work();
    (value, start.elapsed())
}

#[test]
fn a_request_costs_its_round_trips_and_concurrent_ones_overlap() {
    let server = answering_server(100);
    let mut relay = Relay::new(Shape {
        rtt: Duration::from_millis(100),
        bytes_per_sec: 0,
    });
    let front = relay.front(server).unwrap();
    assert_eq!(front.ip(), server.ip());

    let (length, one) = timed(|| fetch(front));
    assert_eq!(length, 100);
    // The handshake's round trip, then the request's.
    assert!(
        one >= Duration::from_millis(200),
        "one request took {one:?}"
    );

    let (lengths, two) = timed(|| {
        let a = std::thread::spawn(move || fetch(front));
        let b = std::thread::spawn(move || fetch(front));
        [a.join().unwrap(), b.join().unwrap()]
    });
    assert_eq!(lengths, [100, 100]);
    assert!(two >= Duration::from_millis(200), "two took {two:?}");
    // Overlapped, not one after the other (which would take twice one);
    // the margin is for a loaded machine.
    assert!(
        two < one * 7 / 4,
        "two concurrent requests took {two:?}, one took {one:?}"
    );
    let stats = relay.stats();
    assert_eq!(stats.connections, 3);
    assert_eq!(stats.bytes_down, 300);
    assert_eq!(stats.bytes_up, 12);
}

#[test]
fn the_bandwidth_is_shared_by_every_connection_and_front() {
    const SIZE: usize = 2 * 1024 * 1024;
    let server = answering_server(SIZE);
    // 16 Mbit/s: 2 MiB in about 1.05 s.
    let mut relay = Relay::new(Shape {
        rtt: Duration::from_millis(2),
        bytes_per_sec: 2_000_000,
    });
    let front = relay.front(server).unwrap();
    let (length, one) = timed(|| fetch(front));
    assert_eq!(length, SIZE);
    assert!(one >= Duration::from_millis(950), "2 MiB took {one:?}");
    // Not throttled below the rate either (with room for a loaded machine).
    assert!(one < Duration::from_millis(4000), "2 MiB took {one:?}");

    // A second front before the same server shares the same bucket: two
    // downloads at once take about twice as long as one.
    let other = relay.front(server).unwrap();
    let (lengths, two) = timed(|| {
        let a = std::thread::spawn(move || fetch(front));
        let b = std::thread::spawn(move || fetch(other));
        [a.join().unwrap(), b.join().unwrap()]
    });
    assert_eq!(lengths, [SIZE, SIZE]);
    assert!(two >= Duration::from_millis(1900), "4 MiB took {two:?}");
    assert_eq!(relay.stats().bytes_down, 3 * SIZE as u64);
}
