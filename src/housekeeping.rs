//! Deleting rows that no longer mean anything, so tables do not grow without bound: throttle
//! counters whose window has closed, and login sessions that ended long ago. Every instance
//! runs it; the deletes are idempotent, so running it twice at once does no harm.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use time::Duration;

use crate::clock::Clock;
use crate::db::{self, DbPool};
use crate::domain::throttle;

const EVERY: StdDuration = StdDuration::from_secs(600);
/// Ended sessions are kept a while: a browser whose login ended still gets the account's meter
/// for the month from them.
const KEEP_ENDED_SESSIONS: Duration = Duration::days(40);

pub fn spawn(pool: DbPool, clock: Arc<dyn Clock>) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(EVERY);
        loop {
            ticks.tick().await;
            let now = clock.now();
            let swept = db::run(&pool, move |conn| {
                let counters = db::throttle::sweep(conn, now - throttle::WINDOW)?;
                let sessions = db::sessions::sweep(conn, now - KEEP_ENDED_SESSIONS)?;
                Ok((counters, sessions))
            })
            .await;
            match swept {
                Ok((0, 0)) => {}
                Ok((counters, sessions)) => {
                    tracing::info!(counters, sessions, "housekeeping: deleted stale rows")
                }
                // The database may be down; the next round tries again.
                Err(error) => tracing::warn!("housekeeping skipped: {error}"),
            }
        }
    });
}
