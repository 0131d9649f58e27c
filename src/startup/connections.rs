//! A watch on every connection, so that the next request head cannot crawl in.
//!
//! actix applies its request-head timeout to the first request of a connection only, and stops
//! the keep-alive timer as soon as one byte of the next request arrives: a client that sends
//! one quick request and then the next head a byte at a time would hold its connection for
//! ever. So between requests a connection may stay quiet for the keep-alive limit plus the
//! head timeout (time to start the next request, then time to send its head); past that it is
//! shut down. The watch does not time a request being handled (its body is bounded by the
//! form extractor); from the moment the answer is ready, the client has that same time to take
//! it and send the next head. It costs one task and one duplicate descriptor per connection.

use std::any::Any;
use std::cell::Cell;
use std::net::Shutdown;
use std::os::fd::AsFd;
use std::rc::Rc;
use std::time::Duration;

use actix_web::dev::Extensions;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// A connection's watch, kept in the connection's data: requests report to it, and dropping
/// it (the connection has ended) ends the watch.
pub struct ConnectionWatch {
    quiet: Rc<Quiet>,
    _open: oneshot::Sender<()>,
}

struct Quiet {
    requests_in_flight: Cell<usize>,
    since: Cell<Instant>,
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

/// Starts watching a new connection (actix's `on_connect`, on the connection's worker). Plain
/// TCP only: that is all the server listens on.
pub fn watch(connection: &dyn Any, data: &mut Extensions, quiet_limit: Duration) {
    let Some(stream) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() else {
        return;
    };
    // A duplicate descriptor of the same socket: shutting it down ends the connection, and it
    // can never name another connection's socket, whenever the original is closed.
    let socket = match stream.as_fd().try_clone_to_owned() {
        Ok(descriptor) => std::net::TcpStream::from(descriptor),
        Err(error) => {
            tracing::warn!("cannot watch a new connection for slow request heads: {error}");
            return;
        }
    };
    let quiet = Rc::new(Quiet {
        requests_in_flight: Cell::new(0),
        since: Cell::new(Instant::now()),
    });
    let (open, mut ended) = oneshot::channel();
    data.insert(ConnectionWatch {
        quiet: quiet.clone(),
        _open: open,
    });
    actix_web::rt::spawn(async move {
        loop {
            let busy = quiet.requests_in_flight.get() > 0;
            let look_again = if busy {
                Instant::now() + quiet_limit
            } else {
                quiet.since.get() + quiet_limit
            };
            tokio::select! {
                _ = &mut ended => return,
                () = tokio::time::sleep_until(look_again) => {}
            }
            let overdue = quiet.since.get() + quiet_limit <= Instant::now();
            if quiet.requests_in_flight.get() == 0 && overdue {
                tracing::debug!("closing a connection whose next request head did not arrive");
                // The peer may already be gone; there is nothing left to do either way.
                let _ = socket.shutdown(Shutdown::Both);
                return;
            }
        }
    });
}
