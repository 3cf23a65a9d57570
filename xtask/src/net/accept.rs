//! Accepting connections in a thread of its own, for every server here (the
//! release server, the TLS front, the relay, the proxies, the bench's API
//! shim).
//!
//! The listener blocks in `accept`, so a connection is taken the moment it
//! arrives; stopping wakes it with a connection of its own. A non-blocking
//! listener polled every few milliseconds would hold each new connection
//! for up to that long, and the benchmarks would count the wait as the
//! server's: more for a client that connects one connection after another
//! than for one that opens several at once.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::{Context, Result};

/// A thread accepting on a listener until stopped (or dropped).
pub struct Acceptor {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl Acceptor {
    /// Accepts on `listener` in a thread called `what` and the address,
    /// handing every connection to `each` (which should return quickly:
    /// spawn a thread for the connection).
    pub fn spawn(
        listener: TcpListener,
        what: &str,
        mut each: impl FnMut(TcpStream) + Send + 'static,
    ) -> Result<Acceptor> {
        listener
            .set_nonblocking(false)
            .context("a blocking listener")?;
        let addr = listener.local_addr().context("the bound address")?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        let thread = std::thread::Builder::new()
            .name(format!("{what} {addr}"))
            .spawn(move || {
                for stream in listener.incoming() {
                    if flag.load(Ordering::SeqCst) {
                        break;
                    }
                    match stream {
                        Ok(stream) => {
                            count.fetch_add(1, Ordering::SeqCst);
                            each(stream)
                        }
                        // Out of descriptors, say: let some close first.
                        Err(_) => std::thread::sleep(Duration::from_millis(1)),
                    }
                }
            })
            .context("starting the accepting thread")?;
        Ok(Acceptor {
            addr,
            stop,
            accepted,
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many connections it has accepted (not counting the one that
    /// wakes it to stop).
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Waits for the thread, which accepts until the process ends.
    pub fn wait(&mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// Stops accepting and waits for the thread. Connections already
    /// handed over are not touched. Should the wake-up connection fail, it
    /// returns without waiting: a connection accepted just before may then
    /// still be in `each`.
    pub fn stop(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.stop.store(true, Ordering::SeqCst);
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(match wake.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        // Without the wake-up connection the thread would never return:
        // leave it blocked (it ends with the process) rather than hang here.
        if TcpStream::connect_timeout(&wake, Duration::from_secs(5)).is_ok() {
            let _ = thread.join();
        }
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn hands_over_every_connection_and_stops_when_dropped() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let (tx, rx) = mpsc::channel();
        let acceptor = Acceptor::spawn(listener, "test acceptor", move |stream| {
            let _ = tx.send(stream.peer_addr().unwrap());
        })
        .unwrap();
        for _ in 0..5 {
            let client = TcpStream::connect(acceptor.addr()).unwrap();
            let peer = rx.recv_timeout(Duration::from_secs(5)).unwrap();
            assert_eq!(peer, client.local_addr().unwrap());
        }
        drop(acceptor);
        // The thread has ended (with it `each` and the sender), and the
        // wake-up connection was not handed over.
        assert!(matches!(
            rx.recv_timeout(Duration::from_secs(5)),
            Err(mpsc::RecvTimeoutError::Disconnected)
        ));
    }
}
