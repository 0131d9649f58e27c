//! Periodic upkeep, run by every instance (each step is safe to run twice at once):
//! - payments whose request stopped half-way are settled (`billing`): a charged checkout is
//!   recorded, a pending one is asked of the processor by its key, so nothing paid for is
//!   lost and nothing unpaid stays in the way;
//! - rows that no longer mean anything are deleted, so tables do not grow without bound:
//!   throttle counters whose window has closed, login sessions that ended long ago, and the
//!   meter of months before the previous one. Each deletion goes in bounded batches through an
//!   index, so a large backlog never holds locks for long.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use time::Duration;

use crate::billing::{Billing, Settled};
use crate::clock::Clock;
use crate::db::{self, DbError, DbPool};
use crate::domain::meter::Month;

/// Ended sessions are kept a while: a browser whose login ended still gets the account's meter
/// for the month from them.
const KEEP_ENDED_SESSIONS: Duration = Duration::days(40);

/// What housekeeping works with.
#[derive(Clone)]
pub struct Housekeeping {
    pub pool: DbPool,
    pub clock: Arc<dyn Clock>,
    pub billing: Billing,
    /// The login throttling window: counters whose window closed are deleted.
    pub throttle_window: Duration,
}

/// What one pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub payments: Settled,
    pub counters: usize,
    pub sessions: usize,
    pub meter_reads: usize,
}

impl Housekeeping {
    pub fn spawn(self, every: StdDuration) {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            loop {
                ticks.tick().await;
                match self.run_once().await {
                    Ok(report) if report == Report::default() => {}
                    Ok(report) => tracing::info!(?report, "housekeeping done"),
                    // The database may be down; the next round tries again.
                    Err(error) => tracing::warn!("housekeeping skipped: {error}"),
                }
            }
        });
    }

    /// One pass of every step.
    pub async fn run_once(&self) -> Result<Report, DbError> {
        let payments = self.billing.settle_left_behind().await?;
        let now = self.clock.now();
        let closed_before = now - self.throttle_window;
        let (counters, sessions, meter_reads) = db::run(&self.pool, move |conn| {
            let counters = db::throttle::sweep(conn, closed_before)?;
            let sessions = db::sessions::sweep(conn, now - KEEP_ENDED_SESSIONS)?;
            let meter_reads = db::meter::prune(conn, Month::of(now).first_day())?;
            Ok((counters, sessions, meter_reads))
        })
        .await?;
        Ok(Report {
            payments,
            counters,
            sessions,
            meter_reads,
        })
    }
}
