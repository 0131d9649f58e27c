//! The life of a running instance: serving, draining, stopping, and the signals that move it.

use std::future::Future;
use std::sync::Arc;

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;

/// Where an instance is in its life; it only ever moves forward.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Serving,
    /// A stop signal came: the health check answers 503 so load balancers stop sending, and
    /// pages are still served to those that have not noticed yet.
    Draining,
    /// No connection is accepted; requests in flight finish, idle connections are closed and
    /// housekeeping stops.
    Stopping,
}

/// The instance's phase, shared by the health check, the middleware and background tasks.
#[derive(Clone)]
pub struct Lifecycle(Arc<watch::Sender<Phase>>);

impl Default for Lifecycle {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(Phase::Serving)))
    }
}

impl Lifecycle {
    pub fn phase(&self) -> Phase {
        *self.0.borrow()
    }

    pub fn is_draining(&self) -> bool {
        self.phase() >= Phase::Draining
    }

    pub fn advance(&self, to: Phase) {
        self.0.send_if_modified(|phase| {
            let forward = to > *phase;
            if forward {
                *phase = to;
            }
            forward
        });
    }

    /// Resolves once the instance has reached `phase` (or nothing can move it any more).
    pub fn reached(&self, phase: Phase) -> impl Future<Output = ()> + Send + 'static {
        let mut watching = self.0.subscribe();
        async move {
            let _ = watching.wait_for(|now| *now >= phase).await;
        }
    }
}

/// How the instance stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Stopped {
    /// Drained; requests in flight finished (or were cut at the timeout); housekeeping stopped.
    Gracefully,
    /// A second signal asked to stop at once.
    AtOnce,
}

/// The signals that ask the process to stop: SIGTERM (orchestrators) and SIGINT (Ctrl-C).
pub struct StopSignals {
    terminate: Signal,
    interrupt: Signal,
}

impl StopSignals {
    pub fn listen() -> std::io::Result<Self> {
        Ok(Self {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    pub async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.interrupt.recv() => "SIGINT",
        }
    }
}
