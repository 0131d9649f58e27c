//! Periodic upkeep, run by every instance (each step is safe to run twice at once):
//! - payments whose request stopped half-way are settled (`billing`): a charged checkout is
//!   recorded, a pending one is asked of the processor by its key, so nothing paid for is
//!   lost and nothing unpaid stays in the way;
//! - rows that no longer mean anything are deleted, so tables do not grow without bound:
//!   throttle counters whose window has closed, and login sessions that ended long ago.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use time::Duration;

use crate::billing::{Billing, Settled};
use crate::clock::Clock;
use crate::db::{self, DbError, DbPool};
use crate::domain::throttle;

/// Ended sessions are kept a while: a browser whose login ended still gets the account's meter
/// for the month from them.
const KEEP_ENDED_SESSIONS: Duration = Duration::days(40);

/// What one pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub payments: Settled,
    pub counters: usize,
    pub sessions: usize,
}

pub fn spawn(pool: DbPool, clock: Arc<dyn Clock>, billing: Billing, every: StdDuration) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        loop {
            ticks.tick().await;
            match run_once(&pool, &*clock, &billing).await {
                Ok(report) if report == Report::default() => {}
                Ok(report) => tracing::info!(?report, "housekeeping done"),
                // The database may be down; the next round tries again.
                Err(error) => tracing::warn!("housekeeping skipped: {error}"),
            }
        }
    });
}

/// One pass of every step.
pub async fn run_once(
    pool: &DbPool,
    clock: &dyn Clock,
    billing: &Billing,
) -> Result<Report, DbError> {
    let payments = billing.settle_left_behind().await?;
    let now = clock.now();
    let (counters, sessions) = db::run(pool, move |conn| {
        let counters = db::throttle::sweep(conn, now - throttle::WINDOW)?;
        let sessions = db::sessions::sweep(conn, now - KEEP_ENDED_SESSIONS)?;
        Ok((counters, sessions))
    })
    .await?;
    Ok(Report {
        payments,
        counters,
        sessions,
    })
}
