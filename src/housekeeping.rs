//! Periodic upkeep, run by every instance (each step is safe to run twice at once):
//! - payments the processor took whose request failed before recording them become the
//!   readers' subscriptions (nothing paid for is lost);
//! - rows that no longer mean anything are deleted, so tables do not grow without bound:
//!   throttle counters whose window has closed, and login sessions that ended long ago.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use diesel::prelude::*;
use time::{Duration, OffsetDateTime};

use crate::clock::Clock;
use crate::db::{self, DbPool};
use crate::domain::throttle;

const EVERY: StdDuration = StdDuration::from_secs(600);
/// Ended sessions are kept a while: a browser whose login ended still gets the account's meter
/// for the month from them.
const KEEP_ENDED_SESSIONS: Duration = Duration::days(40);

/// A paid checkout this old was left by a request that failed half-way.
const RECORD_PAID_AFTER: Duration = Duration::minutes(1);

/// Runs a round now and every [`EVERY`] until `stop` resolves. Stopping is only noticed
/// between rounds: a round that has begun runs to its end, so the returned task finishes
/// once the round in progress (if any) is done.
pub fn spawn(
    pool: DbPool,
    clock: Arc<dyn Clock>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(EVERY);
        let mut stop = std::pin::pin!(stop);
        loop {
            tokio::select! {
                biased;
                () = &mut stop => break,
                _ = ticks.tick() => {}
            }
            let now = clock.now();
            let done = db::run(&pool, move |conn| {
                let recorded = record_paid_checkouts(conn, now)?;
                let counters = db::throttle::sweep(conn, now - throttle::WINDOW)?;
                let sessions = db::sessions::sweep(conn, now - KEEP_ENDED_SESSIONS)?;
                Ok((recorded, counters, sessions))
            })
            .await;
            match done {
                Ok((0, 0, 0)) => {}
                Ok((recorded, counters, sessions)) => {
                    tracing::info!(recorded, counters, sessions, "housekeeping done")
                }
                // The database may be down; the next round tries again.
                Err(error) => tracing::warn!("housekeeping skipped: {error}"),
            }
        }
        tracing::info!("housekeeping stopped");
    })
}

/// Records paid checkouts that their request left unrecorded; returns how many.
pub fn record_paid_checkouts(conn: &mut PgConnection, now: OffsetDateTime) -> QueryResult<usize> {
    let mut recorded = 0;
    for checkout in db::checkouts::charged_unrecorded(conn, now - RECORD_PAID_AFTER)? {
        if conn.transaction(|conn| db::checkouts::record(conn, &checkout, now))? {
            tracing::info!(
                user_id = checkout.user_id,
                "recorded a paid checkout left unrecorded"
            );
            recorded += 1;
        }
    }
    Ok(recorded)
}
