//! Connections opened before anything asks for them.
//!
//! GitHub answers every download with a redirect to its CDN, a second host,
//! so the archive's bytes wait for a connection and a TLS handshake there
//! that cannot start before the redirect has named the host: two round trips
//! on top of the request itself. The host is the same from one release to
//! the next, and the last check or update saw it (`update-check.json`), so an
//! update that is about to download opens its connections there at once,
//! while its first requests to the mirror are under way, and the redirects
//! find them ready.
//!
//! reqwest has no way to open a connection without a request, and hides its
//! connection type, so this is a connector layer ([`OpenAhead`]) on a client
//! of its own for that one host. While it is armed, each connection the
//! client is asked for is opened on the client's runtime and kept in a
//! [`Stock`], and the request that asked (a request made only for this,
//! never sent) fails at once. Every connection asked for after that takes
//! one from the stock, waiting for it if it is still opening, or opens its
//! own when the stock is empty, when the one it took failed to open or when
//! it has waited longer than [`FRESH_FOR`] (a server may close a connection
//! that sends nothing). Nothing about trust changes: the connection is made
//! by the same connector with the same TLS verification, proxy and timeout
//! as any other, and nothing is read from it before a request is sent.

use std::any::Any;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A connection opened ahead (type-erased: reqwest's type cannot be named)
/// and when it was ready, or why it could not be opened.
type Opened = Result<(Instant, Box<dyn Any + Send>), BoxError>;

/// How long a connection opened ahead may wait for its request before it is
/// left for a new one: servers close a connection that has sent nothing
/// after some seconds (nginx after 60, others sooner), and a request on a
/// connection the server has closed fails.
pub const FRESH_FOR: Duration = Duration::from_secs(5);

/// The connections opened ahead, oldest first, and how many more to open.
#[derive(Default)]
pub struct Stock {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    to_open: usize,
    opening: VecDeque<oneshot::Receiver<Opened>>,
    handed_out: usize,
}

/// What a call of the connector does.
enum Role {
    /// Opens a connection for the stock.
    Open(oneshot::Sender<Opened>),
    /// Takes this one from the stock.
    Take(oneshot::Receiver<Opened>),
    /// Connects as if this layer were not there.
    Connect,
}

impl Stock {
    /// The next `count` connections asked for go to the stock.
    pub fn arm(&self, count: usize) {
        self.lock().to_open += count;
    }

    /// How many of the armed connections have not been asked for yet.
    pub fn still_to_open(&self) -> usize {
        self.lock().to_open
    }

    /// How many connections were taken from the stock.
    pub fn handed_out(&self) -> usize {
        self.lock().handed_out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn role(&self) -> Role {
        let mut state = self.lock();
        if state.to_open > 0 {
            state.to_open -= 1;
            let (sender, receiver) = oneshot::channel();
            state.opening.push_back(receiver);
            return Role::Open(sender);
        }
        match state.opening.pop_front() {
            Some(receiver) => {
                state.handed_out += 1;
                Role::Take(receiver)
            }
            None => Role::Connect,
        }
    }
}

/// The error of a request made only to open a connection ahead.
#[derive(Debug)]
pub struct OpenedAhead;

impl std::fmt::Display for OpenedAhead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection opened ahead; no request sent")
    }
}

impl std::error::Error for OpenedAhead {}

/// The connector layer: see the module docs.
#[derive(Clone)]
pub struct OpenAhead {
    stock: Arc<Stock>,
    /// How long opening one may take: reqwest's connect timeout bounds the
    /// request that waits for it, not the opening on its own.
    limit: Duration,
}

impl OpenAhead {
    pub fn new(stock: Arc<Stock>, limit: Duration) -> Self {
        Self { stock, limit }
    }
}

impl<S> tower_layer::Layer<S> for OpenAhead {
    type Service = OpenAheadService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        OpenAheadService {
            inner,
            stock: Arc::clone(&self.stock),
            limit: self.limit,
        }
    }
}

#[derive(Clone)]
pub struct OpenAheadService<S> {
    inner: S,
    stock: Arc<Stock>,
    limit: Duration,
}

type Connecting<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>>;

impl<S, R> tower_service::Service<R> for OpenAheadService<S>
where
    S: tower_service::Service<R, Error = BoxError> + Clone + Send + 'static,
    S::Response: Send + 'static,
    S::Future: Send + 'static,
    R: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Connecting<S::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        match self.stock.role() {
            Role::Open(sender) => {
                let connecting = self.inner.call(request);
                let limit = self.limit;
                // Without a runtime to run on (reqwest always has one), the
                // sender goes and whoever takes this connection opens its own.
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    runtime.spawn(async move {
                        let opened = match tokio::time::timeout(limit, connecting).await {
                            Ok(Ok(connection)) => {
                                Ok((Instant::now(), Box::new(connection) as Box<dyn Any + Send>))
                            }
                            Ok(Err(error)) => Err(error),
                            Err(elapsed) => Err(elapsed.into()),
                        };
                        let _ = sender.send(opened);
                    });
                }
                Box::pin(async { Err(BoxError::from(OpenedAhead)) })
            }
            Role::Take(receiver) => {
                let mut inner = self.inner.clone();
                Box::pin(async move {
                    if let Ok(Ok((ready_at, connection))) = receiver.await {
                        if ready_at.elapsed() <= FRESH_FOR {
                            if let Ok(connection) = connection.downcast::<S::Response>() {
                                return Ok(*connection);
                            }
                        }
                    }
                    std::future::poll_fn(|cx| inner.poll_ready(cx)).await?;
                    inner.call(request).await
                })
            }
            Role::Connect => Box::pin(self.inner.call(request)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_armed_calls_open_and_the_next_take_in_order() {
        let stock = Stock::default();
        stock.arm(2);
        let (Role::Open(first), Role::Open(second)) = (stock.role(), stock.role()) else {
            panic!("the two armed calls open");
        };
        assert_eq!(stock.still_to_open(), 0);
        let Role::Take(mut taken) = stock.role() else {
            panic!("the next call takes");
        };
        first.send(Err("first".into())).unwrap();
        second.send(Err("second".into())).unwrap();
        let Ok(Err(error)) = taken.try_recv() else {
            panic!("the first opened is the first taken");
        };
        assert_eq!(error.to_string(), "first");
        assert!(matches!(stock.role(), Role::Take(_)));
        assert!(matches!(stock.role(), Role::Connect));
        assert_eq!(stock.handed_out(), 2);
    }
}
