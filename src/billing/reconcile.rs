//! Catching up with a processor that runs the subscription, for whatever its events did not
//! bring (Gazette was down, an event was lost, an answer timed out). Run by housekeeping on
//! every instance; each step is safe to run on several at once (the reader's lock, the
//! events table and the order of reads decide).
//!
//! - Readers with an open checkout (quiet for ten minutes): the processor is asked what
//!   became of it; a paid one is recorded, an expired one closed (giving back the offer's
//!   redemption it held), and for one still open the subscriptions the processor holds for
//!   the reader are compared with those held here.
//! - Subscriptions whose period is about to end (or ended without word of a renewal): the
//!   processor's subscription is re-read and applied, so a renewal whose event was lost still
//!   extends access, and an ended one still ends it. Each re-read is noted whatever its
//!   answer, and a pass takes those asked about longest ago first: a subscription that cannot
//!   be brought up to date (gone from the processor) never holds back the others.
//! - Events the processor could not deliver in the last days (its events API) are applied
//!   like webhooks: those already applied are skipped by their id.
//! - Customers whose e-mail address at the processor is not the account's are sent the
//!   account's (`customers`).

use time::{Duration, OffsetDateTime};

use super::Billing;
use super::hosted::Asking;
use crate::db::{self, DbError};
use crate::domain::ids::{HostedCheckoutId, UserId};
use crate::payments::hosted::{CheckoutState, HostedError, HostedGateway};

/// A checkout is left to its own events for this long before it is asked about, and asked
/// again this long after, while it is open.
const CHECKOUT_EVERY: Duration = Duration::minutes(10);
/// A checkout whose page was never opened (its request stopped half-way) is dropped after this.
const CHECKOUT_NEVER_OPENED: Duration = Duration::hours(1);
/// Subscriptions whose period ends within this are re-read...
const PERIOD_ENDING: Duration = Duration::days(1);
/// ...at most this often...
const SUBSCRIPTION_EVERY: Duration = Duration::hours(1);
/// ...and for this long after their period ended without word from the processor.
const GIVE_UP_AFTER: Duration = Duration::days(35);
/// Stripe delivers an event again for three days; older undelivered ones are not asked for.
const EVENTS_SINCE: Duration = Duration::days(3);
/// At most this many of each, per pass.
const BATCH: i64 = 100;
const EVENTS_BATCH: usize = 500;

/// What one pass of reconciliation did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Checkouts found paid or expired and settled.
    pub checkouts: usize,
    /// Subscriptions re-read and brought up to date.
    pub subscriptions: usize,
    /// Undelivered events applied.
    pub events: usize,
    /// Customers sent the account's e-mail address.
    pub emails: usize,
    /// Questions the processor could not answer this time.
    pub unanswered: usize,
}

impl Billing {
    /// One pass of reconciliation (see the module's doc); nothing to do without a processor.
    pub async fn reconcile(&self) -> Result<Reconciled, DbError> {
        let mut done = Reconciled::default();
        let Some(gateway) = self.hosted() else {
            return Ok(done);
        };
        self.reconcile_checkouts(&*gateway, &mut done).await?;
        self.reconcile_subscriptions(&*gateway, &mut done).await?;
        self.reconcile_events(&*gateway, &mut done).await?;
        self.reconcile_emails(&*gateway, &mut done).await?;
        Ok(done)
    }

    async fn reconcile_checkouts(
        &self,
        gateway: &dyn HostedGateway,
        done: &mut Reconciled,
    ) -> Result<(), DbError> {
        let now = self.clock.now();
        let due = db::run(&self.pool, "listing open checkouts to check", move |conn| {
            db::hosted_checkouts::due_for_check(conn, now - CHECKOUT_EVERY, BATCH)
        })
        .await?;
        for checkout in due {
            let (user_id, id) = (checkout.user_id, checkout.id);
            let Some(reference) = checkout.reference.clone() else {
                if checkout.started_at < now - CHECKOUT_NEVER_OPENED {
                    self.close_open_checkout(user_id, id).await?;
                    done.checkouts += 1;
                }
                continue;
            };
            match gateway.checkout(reference.clone()).await {
                Ok(CheckoutState::Open) => {
                    // Not paid here; perhaps paid some other way: compare what Stripe holds.
                    if let Err(error) = self.sync_customer(gateway, user_id).await? {
                        tracing::warn!(
                            user_id = user_id.get(),
                            "comparing a reader's subscriptions: {error}"
                        );
                        done.unanswered += 1;
                    }
                    self.for_reader(user_id, "noting a checkout was checked", move |conn| {
                        db::hosted_checkouts::mark_checked(conn, id, now)
                    })
                    .await?;
                }
                Ok(CheckoutState::Complete { .. }) => {
                    match self
                        .check_checkout(user_id, Some(reference), Asking::ForHousekeeping)
                        .await
                    {
                        Ok(_) => done.checkouts += 1,
                        Err(super::BillingError::Db(error)) => return Err(error),
                        Err(error) => {
                            tracing::warn!(
                                user_id = user_id.get(),
                                "reconciling a checkout: {error}"
                            );
                            done.unanswered += 1;
                        }
                    }
                }
                Ok(CheckoutState::Expired) | Err(HostedError::Missing(_)) => {
                    self.close_open_checkout(user_id, id).await?;
                    done.checkouts += 1;
                }
                Err(error) => {
                    tracing::warn!(user_id = user_id.get(), "reconciling a checkout: {error}");
                    done.unanswered += 1;
                }
            }
        }
        Ok(())
    }

    async fn close_open_checkout(
        &self,
        user_id: UserId,
        id: HostedCheckoutId,
    ) -> Result<(), DbError> {
        // Expired, gone, or never opened: unpaid.
        self.for_reader(user_id, "closing a finished checkout", move |conn| {
            super::hosted::end_checkout(conn, id, super::hosted::CheckoutEnd::Unpaid)
        })
        .await
        .map(|_| ())
    }

    async fn reconcile_subscriptions(
        &self,
        gateway: &dyn HostedGateway,
        done: &mut Reconciled,
    ) -> Result<(), DbError> {
        let now: OffsetDateTime = self.clock.now();
        let name = gateway.name();
        let due = db::run(
            &self.pool,
            "listing subscriptions to re-read",
            move |conn| {
                db::subscriptions::due_for_sync(
                    conn,
                    name,
                    now - GIVE_UP_AFTER,
                    now + PERIOD_ENDING,
                    now - SUBSCRIPTION_EVERY,
                    BATCH,
                )
            },
        )
        .await?;
        for (user_id, reference) in due {
            match self.refresh(gateway, user_id, reference.clone()).await? {
                Ok(_) => done.subscriptions += 1,
                Err(error) => {
                    tracing::warn!(user_id = user_id.get(), subscription = %reference, "re-reading a subscription: {error}");
                    done.unanswered += 1;
                }
            }
            // Asked, whatever came of it: the next pass starts with the others.
            let now = self.clock.now();
            self.for_reader(user_id, "noting a subscription was re-read", move |conn| {
                db::subscriptions::mark_checked(conn, name, &reference, now)
            })
            .await?;
        }
        Ok(())
    }

    async fn reconcile_events(
        &self,
        gateway: &dyn HostedGateway,
        done: &mut Reconciled,
    ) -> Result<(), DbError> {
        let since = self.clock.now() - EVENTS_SINCE;
        let events = match gateway.undelivered(since, EVENTS_BATCH).await {
            Ok(events) => events,
            Err(error) => {
                tracing::warn!("listing undelivered events: {error}");
                done.unanswered += 1;
                return Ok(());
            }
        };
        // Oldest first, as they would have arrived (the order does not decide anything).
        for event in events.into_iter().rev() {
            let id = event.id.clone();
            match self.apply_notification(gateway, event).await {
                Ok(super::Received::Applied) => {
                    tracing::info!(event = %id, "applied an event that was not delivered");
                    done.events += 1;
                }
                Ok(_) => {}
                Err(super::BillingError::Db(error)) => return Err(error),
                Err(error) => {
                    tracing::warn!(event = %id, "applying an undelivered event: {error}");
                    done.unanswered += 1;
                }
            }
        }
        Ok(())
    }
}
