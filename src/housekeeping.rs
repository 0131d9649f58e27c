//! Periodic upkeep, run by every instance (each step is safe to run twice at once):
//! - payments whose request stopped half-way are settled (`billing`): a charged checkout is
//!   recorded, a pending one is asked of the processor by its key, so nothing paid for is
//!   lost and nothing unpaid stays in the way; gift subscriptions likewise
//!   (`billing::Billing::settle_gifts`);
//! - with a processor that runs subscriptions (Stripe), what its events did not bring is
//!   caught up (`billing::reconcile`): open checkouts, subscriptions about to renew, and events
//!   it could not deliver while Gazette was down;
//! - readers whose comp or gift ends within a week are invited to subscribe, once per grant
//!   (`billing::grants::queue_reminders`);
//! - free trials that are over (gateway that charges at once) become paid subscriptions, or
//!   end when the reader gave no payment method (`billing::Billing::end_trials`);
//! - rows that no longer mean anything are deleted, so tables do not grow without bound:
//!   throttle counters whose window has closed, login sessions that ended long ago, links sent
//!   by mail that expired, the meter of months before the previous one, gifted articles of
//!   past months whose links have run out, processor events
//!   long past redelivery, and newsletter addresses never confirmed within a confirmation
//!   link's lifetime (`newsletter::members::sweep_stale_signups`). Each deletion goes in bounded batches through an
//!   index, so a large backlog never holds locks for long, and a sweep that comes back full
//!   runs again at once, so a backlog goes in one round however large it is (as fast as the
//!   database deletes, rather than a sweep's worth per interval).
//!
//! Stopping is noticed between steps: a step that has begun runs to its end (a sweep through a
//! backlog, to the end of its current run of batches).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use diesel::{PgConnection, QueryResult};
use time::Duration;

use crate::billing::{Billing, BillingError, Reconciled, Settled, TrialsEnded};
use crate::clock::Clock;
use crate::db::{self, DbError, DbPool};
use crate::domain::meter::Month;
use crate::media::{MediaError, MediaLibrary};
use crate::newsletter;

/// Ended sessions are kept a while: a browser whose login ended still gets the account's meter
/// for the month from them.
const KEEP_ENDED_SESSIONS: Duration = Duration::days(40);
/// Applied processor events are kept while the processor might still deliver them or list
/// them as undelivered (Stripe: three days of retries, thirty days of listing).
const KEEP_EVENTS: Duration = Duration::days(40);

/// What housekeeping works with.
#[derive(Clone)]
pub struct Housekeeping {
    pub pool: DbPool,
    pub clock: Arc<dyn Clock>,
    pub billing: Billing,
    /// The login throttling window: counters whose window closed are deleted.
    pub throttle_window: Duration,
    /// Its store's bytes of deleted pictures are swept.
    pub media: Arc<MediaLibrary>,
}

/// What one pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub payments: Settled,
    /// Gift subscriptions whose payment was settled (paid or not).
    pub gifts_settled: usize,
    pub reconciled: Reconciled,
    pub trials: TrialsEnded,
    pub events: usize,
    pub counters: usize,
    pub sessions: usize,
    pub links: usize,
    pub meter_reads: usize,
    pub article_gifts: usize,
    pub newsletter_signups: usize,
    pub picture_variants: usize,
    /// Invitations to subscribe queued for grants about to end.
    pub grant_reminders: usize,
}

impl Housekeeping {
    /// Runs a pass now and every `every` until `stop` resolves; returns the task, which
    /// finishes once the step in progress (if any) is done.
    pub fn spawn(
        self,
        every: StdDuration,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            let stop = Stop::watch(stop);
            loop {
                tokio::select! {
                    biased;
                    () = stop.wait() => break,
                    _ = ticks.tick() => {}
                }
                match self.run_once(&stop).await {
                    Ok(report) if report == Report::default() => {}
                    Ok(report) => tracing::info!(?report, "housekeeping done"),
                    // The database may be down; the next round tries again.
                    Err(error) => tracing::warn!("housekeeping skipped: {error}"),
                }
            }
            tracing::info!("housekeeping stopped");
        })
    }

    /// One pass of every step, leaving out those after `stop` is reached.
    async fn run_once(&self, stop: &Stop) -> Result<Report, DbError> {
        let mut report = Report {
            payments: self.billing.settle_left_behind().await?,
            ..Report::default()
        };
        report.gifts_settled = self.billing.settle_gifts().await?;
        if stop.reached() {
            return Ok(report);
        }
        report.reconciled = self.billing.reconcile().await?;
        if stop.reached() {
            return Ok(report);
        }
        report.trials = match self.billing.end_trials().await {
            Ok(trials) => trials,
            Err(BillingError::Db(error)) => return Err(error),
            // A charge that could not be made is tried again next round.
            Err(error) => {
                tracing::warn!("ending free trials skipped: {error}");
                TrialsEnded::default()
            }
        };
        let now = self.clock.now();
        if stop.reached() {
            return Ok(report);
        }
        report.grant_reminders = self
            .sweep(
                stop,
                "inviting readers whose access ends soon",
                move |conn| crate::billing::grants::queue_reminders(conn, now),
            )
            .await?;
        if report.grant_reminders > 0 {
            self.billing.wake_mail();
        }
        if stop.reached() {
            return Ok(report);
        }
        let closed_before = now - self.throttle_window;
        report.counters = self
            .sweep(stop, "sweeping closed throttle windows", move |conn| {
                db::throttle::sweep(conn, closed_before)
            })
            .await?;
        if stop.reached() {
            return Ok(report);
        }
        report.sessions = self
            .sweep(stop, "sweeping long-ended login sessions", move |conn| {
                db::sessions::sweep(conn, now - KEEP_ENDED_SESSIONS)
            })
            .await?;
        if stop.reached() {
            return Ok(report);
        }
        report.links = self
            .sweep(stop, "sweeping expired mailed links", move |conn| {
                db::tokens::sweep(conn, now)
            })
            .await?;
        if stop.reached() {
            return Ok(report);
        }
        report.meter_reads = self
            .sweep(stop, "pruning the meter of past months", move |conn| {
                db::meter::prune(conn, Month::of(now).first_day())
            })
            .await?;
        if stop.reached() {
            return Ok(report);
        }
        report.article_gifts = self
            .sweep(stop, "pruning run-out gifts of past months", move |conn| {
                db::article_gifts::prune(conn, now, Month::of(now).first_day())
            })
            .await?;
        if stop.reached() {
            return Ok(report);
        }
        report.events = self
            .sweep(stop, "pruning long-applied processor events", move |conn| {
                db::gateway_events::prune(conn, now - KEEP_EVENTS)
            })
            .await?;
        if stop.reached() {
            return Ok(report);
        }
        report.newsletter_signups = self
            .sweep(
                stop,
                "sweeping newsletter addresses never confirmed",
                move |conn| newsletter::members::sweep_stale_signups(conn, now),
            )
            .await?;
        if stop.reached() {
            return Ok(report);
        }
        report.picture_variants = match self.media.sweep(now).await {
            Ok(swept) => swept,
            Err(MediaError::Database(error)) => return Err(error),
            // The store may be away; the next round tries again.
            Err(error) => {
                tracing::warn!("sweeping deleted pictures' bytes skipped: {error}");
                0
            }
        };
        Ok(report)
    }

    /// Runs `sweep` until it comes back short of a full sweep (nothing is left) or the
    /// instance stops; returns the rows deleted.
    async fn sweep(
        &self,
        stop: &Stop,
        step: &'static str,
        sweep: impl Fn(&mut PgConnection) -> QueryResult<usize> + Clone + Send + 'static,
    ) -> Result<usize, DbError> {
        let mut deleted = 0;
        loop {
            let swept = db::run(&self.pool, step, sweep.clone()).await?;
            deleted += swept;
            if swept < db::SWEEP_MAX_ROWS || stop.reached() {
                return Ok(deleted);
            }
        }
    }
}

/// The stop future, watched from a task of its own so that it can be both awaited and asked.
struct Stop(tokio::sync::watch::Receiver<bool>);

impl Stop {
    fn watch(stop: impl Future<Output = ()> + Send + 'static) -> Self {
        let (reached, watching) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            stop.await;
            let _ = reached.send(true);
        });
        Self(watching)
    }

    fn reached(&self) -> bool {
        *self.0.borrow()
    }

    async fn wait(&self) {
        let mut watching = self.0.clone();
        let _ = watching.wait_for(|reached| *reached).await;
    }
}
