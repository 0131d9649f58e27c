//! A watch on every connection: how many are open (so a stop can wait for them), slow request
//! heads on kept-alive connections, and idle connections when the instance stops.
//!
//! actix applies its request-head timeout to the first request of a connection only, and stops
//! the keep-alive timer as soon as one byte of the next request arrives: a client that sends
//! one quick request and then the next head a byte at a time would hold its connection for
//! ever. So between requests a connection may stay quiet for the keep-alive limit plus the
//! head timeout (time to start the next request, then time to send its head); past that it is
//! shut down. The watch does not time a request being handled (its body is bounded by the
//! form extractor); from the moment the answer is ready, the client has that same time to take
//! it and send the next head.
//!
//! When the instance stops, idle connections are closed at once rather than left to their
//! keep-alive limit; busy ones close after their answer, which says `Connection: close`.
//! Each connection costs one task and one duplicate descriptor.

use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::net::Shutdown;
use std::os::fd::AsFd;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Extensions;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

/// The server's open connections, across its workers.
#[derive(Clone)]
pub struct OpenConnections(Arc<watch::Sender<usize>>);

impl Default for OpenConnections {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(0)))
    }
}

impl OpenConnections {
    pub fn count(&self) -> usize {
        *self.0.borrow()
    }

    /// Resolves when no connection is open.
    pub fn all_closed(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut watching = self.0.subscribe();
        async move {
            let _ = watching.wait_for(|open| *open == 0).await;
        }
    }

    /// Starts watching a new connection (actix's `on_connect`, on the connection's worker);
    /// `stopping` resolves when the instance stops.
    pub fn watch(
        &self,
        connection: &dyn Any,
        data: &mut Extensions,
        quiet_limit: Duration,
        stopping: impl Future<Output = ()> + 'static,
    ) {
        self.0.send_modify(|open| *open += 1);
        let quiet = Rc::new(Quiet {
            requests_in_flight: Cell::new(0),
            since: Cell::new(Instant::now()),
        });
        let (open, ended) = oneshot::channel();
        data.insert(ConnectionWatch {
            quiet: quiet.clone(),
            _counted: Counted(self.0.clone()),
            _open: open,
        });
        // Plain TCP is all the server listens on.
        let Some(stream) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() else {
            return;
        };
        // A duplicate descriptor of the same socket: shutting it down ends the connection, and
        // it can never name another connection's socket, whenever the original is closed.
        match stream.as_fd().try_clone_to_owned() {
            Ok(descriptor) => {
                let socket = std::net::TcpStream::from(descriptor);
                actix_web::rt::spawn(keep_watch(socket, quiet, quiet_limit, ended, stopping));
            }
            Err(error) => tracing::warn!("cannot watch a new connection: {error}"),
        }
    }
}

/// A connection's watch, kept in the connection's data: requests report to it, and dropping
/// it (the connection has ended) ends the watch and the count of the connection.
pub struct ConnectionWatch {
    quiet: Rc<Quiet>,
    _counted: Counted,
    _open: oneshot::Sender<()>,
}

struct Quiet {
    requests_in_flight: Cell<usize>,
    since: Cell<Instant>,
}

struct Counted(Arc<watch::Sender<usize>>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.send_modify(|open| *open = open.saturating_sub(1));
    }
}

impl ConnectionWatch {
    /// The connection is busy until the returned guard is dropped (answered or abandoned).
    pub fn request_started(&self) -> RequestInFlight {
        let quiet = &self.quiet;
        quiet
            .requests_in_flight
            .set(quiet.requests_in_flight.get() + 1);
        RequestInFlight(quiet.clone())
    }
}

pub struct RequestInFlight(Rc<Quiet>);

impl Drop for RequestInFlight {
    fn drop(&mut self) {
        let quiet = &self.0;
        quiet
            .requests_in_flight
            .set(quiet.requests_in_flight.get().saturating_sub(1));
        quiet.since.set(Instant::now());
    }
}

async fn keep_watch(
    socket: std::net::TcpStream,
    quiet: Rc<Quiet>,
    quiet_limit: Duration,
    mut ended: oneshot::Receiver<()>,
    stopping: impl Future<Output = ()>,
) {
    let mut stopping = std::pin::pin!(stopping);
    let mut instance_stopping = false;
    loop {
        let busy = quiet.requests_in_flight.get() > 0;
        let look_again = if busy {
            Instant::now() + quiet_limit
        } else {
            quiet.since.get() + quiet_limit
        };
        tokio::select! {
            _ = &mut ended => return,
            () = &mut stopping, if !instance_stopping => instance_stopping = true,
            () = tokio::time::sleep_until(look_again) => {}
        }
        let idle = quiet.requests_in_flight.get() == 0;
        let overdue = quiet.since.get() + quiet_limit <= Instant::now();
        if idle && (overdue || instance_stopping) {
            if overdue {
                tracing::debug!("closing a connection whose next request head did not arrive");
            }
            // The peer may already be gone; there is nothing left to do either way.
            let _ = socket.shutdown(Shutdown::Both);
            return;
        }
    }
}
