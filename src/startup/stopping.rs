//! Stopping an instance gracefully: on the first SIGTERM or SIGINT the health check answers 503
//! while pages are still served for `SHUTDOWN_DRAIN_SECONDS`, so load balancers stop sending;
//! then no connection is accepted any more, requests in flight finish (cut after
//! `SHUTDOWN_TIMEOUT_SECONDS`), idle connections are closed, housekeeping stops between rounds
//! and the mail sender between messages, and the listener closes. A second signal stops at
//! once.

use super::Application;
use crate::lifecycle::{Phase, StopSignals, Stopped};

impl Application {
    /// Serves until SIGTERM or SIGINT, then stops gracefully (see the module's doc); a second
    /// signal stops at once.
    pub async fn run_until_signalled(self) -> std::io::Result<Stopped> {
        // Listening before announcing the address: a signal sent as soon as the address is
        // known must not find the default handler, which would end the process on the spot.
        let mut signals = StopSignals::listen()?;
        tracing::info!("Gazette is serving on http://{}", self.address);
        let Self {
            server,
            lifecycle,
            connections,
            housekeeping,
            mail_sender,
            newsletter_sender,
            shutdown_drain,
            shutdown_timeout,
            ..
        } = self;
        let handle = server.handle();
        // Its own task: the server must keep running (and take commands) while this one waits.
        let mut server = tokio::spawn(server);

        let first = tokio::select! {
            served = &mut server => {
                served.map_err(std::io::Error::other)??;
                return Ok(Stopped::Gracefully);
            }
            signal = signals.next() => signal,
        };
        tracing::info!(
            signal = first,
            drain_seconds = shutdown_drain.as_secs(),
            "stopping: the health check answers 503 while load balancers stop sending"
        );
        lifecycle.advance(Phase::Draining);

        let graceful = async {
            tokio::time::sleep(shutdown_drain).await;
            // Paused, not stopped: actix's stop lets a worker end as soon as its listener is
            // gone, dropping the requests it was still answering. So the stop waits for the
            // connections (and housekeeping) itself, and only then closes the listener.
            handle.pause().await;
            tracing::info!(
                open_connections = connections.count(),
                timeout_seconds = shutdown_timeout.as_secs(),
                "no longer accepting connections; finishing the requests in flight"
            );
            lifecycle.advance(Phase::Stopping);
            let deadline = tokio::time::Instant::now() + shutdown_timeout;
            let housekeeping_stopped = async {
                if tokio::time::timeout_at(deadline, housekeeping)
                    .await
                    .is_err()
                {
                    tracing::warn!(
                        "housekeeping was still in a round at the deadline; what it had not \
                         committed is rolled back"
                    );
                }
                // The sender stops between messages; one cut short stays in the outbox and is
                // sent by another instance, or this one when it is back.
                if tokio::time::timeout_at(deadline, mail_sender)
                    .await
                    .is_err()
                {
                    tracing::warn!("the mail sender was still sending at the deadline");
                }
                // The newsletter's sender stops between messages too; deliveries it took but
                // had not begun are given back for another instance.
                if tokio::time::timeout_at(deadline, newsletter_sender)
                    .await
                    .is_err()
                {
                    tracing::warn!("the newsletter sender was still sending at the deadline");
                }
            };
            let connections_closed = async {
                let closed = tokio::time::timeout_at(deadline, connections.all_closed()).await;
                if closed.is_err() {
                    tracing::warn!(
                        open_connections = connections.count(),
                        "connections still open at the deadline are cut"
                    );
                }
                closed.is_ok()
            };
            let ((), all_closed) = tokio::join!(housekeeping_stopped, connections_closed);
            let (served, ()) = tokio::join!(&mut server, handle.stop(all_closed));
            served.map_err(std::io::Error::other)?
        };
        tokio::select! {
            served = graceful => {
                served?;
                tracing::info!("stopped");
                Ok(Stopped::Gracefully)
            }
            signal = signals.next() => {
                tracing::warn!(signal, "second stop signal: stopping at once");
                Ok(Stopped::AtOnce)
            }
        }
    }
}
