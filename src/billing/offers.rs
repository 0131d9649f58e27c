//! Redeeming an offer, and the end of free trials. With a gateway that charges at once (the
//! test gateway) Gazette applies the offer's terms itself (here); with a processor that runs
//! the subscription (Stripe) the processor applies them, on a checkout opened for the offer
//! (`hosted::offers`).
//!
//! Rules (on top of the module's):
//! - Redeeming runs in the reader's billing transaction (reader's lock first); the offer's
//!   count is then taken with one conditional UPDATE (`db::offers::take`), so the order of
//!   locks is always reader, then offer, and a burst never redeems past the limit. A reader
//!   redeems an offer at most once; a double click finds the first click's checkout or
//!   subscription and charges nothing more.
//! - A discount opens a checkout at the discounted price holding the redemption; if that
//!   checkout is released unpaid (declined, or never charged) the redemption is given back.
//!   The test gateway charges one period at a time and does not renew, so the discount applies
//!   to the period charged at checkout; how long it lasts is kept with the subscription and
//!   shown to the reader.
//! - A trial charges nothing now: the subscription's period is the trial. When it ends,
//!   housekeeping ([`Billing::end_trials`]) charges the plan's price through the normal
//!   checkout (one key, one charge) if the reader gave a payment method, and ends the
//!   subscription otherwise, so access stops with the trial. [`TRIAL_NOTICE`] before it ends
//!   the reader is owed a mail saying which (once per trial). On the test gateway a reader
//!   "gives no payment method" by starting the trial with its "without a card" box ticked.
//! - An offer is only for a reader without a subscription that gives access now: it starts a
//!   subscription, it never changes one.
//! - With a processor that runs the subscription the same rules hold (the reader's lock, then
//!   the offer's count; once per reader; never past the limit), the redemption being held by
//!   the hosted checkout instead (`hosted::offers`); its trials end at the processor.

use diesel::PgConnection;
use diesel::QueryResult;
use time::OffsetDateTime;

use super::record::{record_charged, start_subscription};
use super::{
    Billing, BillingError, PAYMENT_IN_FLIGHT, ROUNDS, SubscribeReply, Subscribed, Subscriber,
    payment_key, reply,
};
use crate::db;
use crate::domain::ids::{CheckoutId, UserId};
use crate::domain::mail::MailKind;
use crate::domain::offer::{Availability, Deal, discounted, trial_end};
use crate::domain::subscription::{Status, add_months};
use crate::models::{Checkout, NewCheckout};

/// Trials housekeeping ends in one pass.
const TRIAL_BATCH: i64 = 100;
/// How long before a trial ends its reader is told.
pub const TRIAL_NOTICE: time::Duration = time::Duration::days(3);

/// What a request to redeem an offer did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Redeemed {
    /// A discount: the discounted checkout's outcome, as subscribing answers it.
    Charged(SubscribeReply),
    /// A free trial started; it ends at `until`. `card`: a charge is made then.
    TrialStarted { until: OffsetDateTime, card: bool },
    /// Nothing was charged or changed.
    Refused(OfferRefused),
}

/// Why an offer was not applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OfferRefused {
    Unknown,
    Ended,
    UsedUp,
    /// The reader redeemed this offer before.
    AlreadyRedeemed,
    /// The reader has a subscription that gives access now.
    AlreadySubscribed,
    /// Payments are not set up.
    PaymentsDisabled,
    /// The payment processor in use takes no such offer here.
    NotWithThisProcessor,
}

/// What ending trials did in one pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrialsEnded {
    /// Trials that became paid subscriptions.
    pub charged: usize,
    /// Trials that ended without a charge (no payment method, or it was declined).
    pub ended: usize,
    /// Trials whose charge is not settled yet (tried again next pass).
    pub pending: usize,
    /// Readers told that their trial ends soon.
    pub notified: usize,
}

/// What one transaction decided a redemption does next.
enum OfferStep {
    Done(Redeemed),
    Pay(Checkout, String),
    Settle(Checkout),
}

impl Billing {
    /// Redeems offer `code` (normalised) for the reader: starts its trial, or charges the
    /// discounted first period. `without_card`: a trial started without a payment method
    /// (test gateway), which ends without a charge.
    pub async fn redeem(
        &self,
        reader: &Subscriber<'_>,
        code: &str,
        without_card: bool,
    ) -> Result<Redeemed, BillingError> {
        if let Some(gateway) = self.hosted() {
            return self.redeem_hosted(&*gateway, reader, code).await;
        }
        let Some(gateway) = self.charges_now() else {
            return Ok(Redeemed::Refused(OfferRefused::PaymentsDisabled));
        };
        let user_id = reader.user_id;
        let mut earlier = None;
        for _ in 0..ROUNDS {
            let now = self.clock.now();
            let key = payment_key()?;
            let code = code.to_string();
            let gateway_name = gateway.name();
            let (step, recorded) = self
                .for_reader(user_id, "redeeming an offer", move |conn| {
                    choose_offer_step(conn, user_id, &code, now, &key, without_card, gateway_name)
                })
                .await?;
            earlier = earlier.or(recorded);
            match step {
                OfferStep::Done(Redeemed::Charged(done)) => {
                    return Ok(Redeemed::Charged(reply(done.outcome, earlier)));
                }
                OfferStep::Done(redeemed) => return Ok(redeemed),
                OfferStep::Pay(checkout, currency) => {
                    let outcome = self.pay(&*gateway, checkout, &currency).await?;
                    return Ok(Redeemed::Charged(reply(outcome, earlier)));
                }
                OfferStep::Settle(checkout) => match self.settle(&*gateway, checkout).await? {
                    super::Resolution::Recorded(until) => earlier = earlier.or(until),
                    super::Resolution::Released => {}
                    super::Resolution::Unknown => {
                        return Ok(Redeemed::Charged(reply(
                            Subscribed::EarlierPaymentUnconfirmed,
                            earlier,
                        )));
                    }
                },
            }
        }
        Ok(Redeemed::Charged(reply(
            Subscribed::PaymentUnderWay,
            earlier,
        )))
    }

    /// Ends the free trials that are over (gateway that charges at once): a trial with a
    /// payment method becomes a paid subscription at the plan's price, one without (or whose
    /// charge is declined) ends.
    pub async fn end_trials(&self) -> Result<TrialsEnded, BillingError> {
        let mut done = TrialsEnded::default();
        let Some(gateway) = self.charges_now() else {
            return Ok(done);
        };
        let now = self.clock.now();
        let name = gateway.name();
        done.notified = self.notify_trials_ending(name, now).await?;
        if done.notified > 0 {
            self.wake_mail();
        }
        let due = db::run(&self.pool, "finding free trials that ended", move |conn| {
            db::subscriptions::trials_ending(conn, name, now, TRIAL_BATCH)
        })
        .await?;
        for (user_id, id, without_card) in due {
            if without_card {
                if self.end_trial(user_id, id).await? {
                    tracing::info!(
                        user_id = user_id.get(),
                        "a free trial ended without a payment method"
                    );
                    done.ended += 1;
                }
                continue;
            }
            let plan = db::run(&self.pool, "finding a trial's plan", move |conn| {
                match db::subscriptions::current(conn, user_id)? {
                    Some(row) if row.id == id => db::plans::find(conn, &row.plan_code),
                    _ => Ok(None),
                }
            })
            .await?;
            let Some(plan) = plan else { continue };
            // The normal checkout: the trial's period is over, so the plan's price is charged
            // once under a fresh key and the paid period replaces the trial.
            let reader = Subscriber {
                user_id,
                email: "",
                site: "",
                next: "",
            };
            match self.subscribe(&reader, &plan).await?.outcome {
                Subscribed::Paid { .. } => {
                    tracing::info!(user_id = user_id.get(), "a free trial became paid");
                    done.charged += 1;
                }
                Subscribed::Declined { .. } => {
                    if self.end_trial(user_id, id).await? {
                        done.ended += 1;
                    }
                }
                _ => done.pending += 1,
            }
        }
        Ok(done)
    }

    /// Owes each reader whose active trial ends within [`TRIAL_NOTICE`] a mail saying so
    /// (once per trial); returns how many were owed one.
    async fn notify_trials_ending(
        &self,
        gateway: &'static str,
        now: OffsetDateTime,
    ) -> Result<usize, BillingError> {
        let due = db::run(
            &self.pool,
            "finding trials to tell of their end",
            move |conn| {
                db::subscriptions::trials_to_notify(conn, gateway, now + TRIAL_NOTICE, TRIAL_BATCH)
            },
        )
        .await?;
        let mut told = 0;
        for (user_id, id) in due {
            let owed = self
                .for_reader(user_id, "telling a reader their trial ends", move |conn| {
                    let Some(row) = db::subscriptions::current(conn, user_id)?
                        .filter(|row| row.id == id && row.status == Status::Active)
                    else {
                        return Ok(false);
                    };
                    let (Some(ends), Some(user)) =
                        (row.offer.trial_ends_at, db::users::find(conn, user_id)?)
                    else {
                        return Ok(false);
                    };
                    if !db::subscriptions::mark_trial_notice(conn, id, now)? {
                        return Ok(false);
                    }
                    // Words are made when it is sent (`outbox`): plan, end, payment method.
                    let card = if row.offer.trial_without_card {
                        "no-card"
                    } else {
                        "card"
                    };
                    let detail = format!("{} {} {card}", row.plan_code, ends.unix_timestamp());
                    let kind = MailKind::TrialEnding;
                    db::outbox::owe(conn, kind, &user.email, Some(user_id), &detail, now)?;
                    Ok(true)
                })
                .await?;
            told += usize::from(owed);
        }
        Ok(told)
    }

    /// Ends trial `id` if it is still the reader's current, active, and over; true if it did.
    async fn end_trial(
        &self,
        user_id: UserId,
        id: crate::domain::ids::SubscriptionId,
    ) -> Result<bool, BillingError> {
        let now = self.clock.now();
        let ended = self
            .for_reader(user_id, "ending a free trial", move |conn| {
                match db::subscriptions::current(conn, user_id)? {
                    Some(row)
                        if row.id == id
                            && row.status == Status::Active
                            && row.offer.trial_ends_at.is_some_and(|end| end <= now) =>
                    {
                        // Access ended with the trial, not when this ran.
                        db::subscriptions::end(conn, id, row.current_period_end.min(now))?;
                        Ok(true)
                    }
                    _ => Ok(false),
                }
            })
            .await?;
        Ok(ended)
    }
}

/// Releases a pending checkout that was not paid, giving back the offer redemption it held
/// (not one taken earlier, whose discount it carried); false when there was none to release.
pub(super) fn release(conn: &mut PgConnection, id: CheckoutId) -> QueryResult<bool> {
    let Some(released) = db::checkouts::release(conn, id)? else {
        return Ok(false);
    };
    if let Some(code) = &released.offer_code
        && released.discount_from.is_none()
        && db::offers::forget_redemption(conn, code, released.user_id)?
    {
        db::offers::untake(conn, code)?;
    }
    Ok(true)
}

/// Decides, with the reader's lock held, what redeeming does: an earlier checkout is dealt
/// with first (as when subscribing); then the offer is checked, its redemption taken, and the
/// trial started or the discounted checkout opened.
fn choose_offer_step(
    conn: &mut PgConnection,
    user_id: UserId,
    code: &str,
    now: OffsetDateTime,
    key: &str,
    without_card: bool,
    gateway: &str,
) -> QueryResult<(OfferStep, Option<OffsetDateTime>)> {
    let mut recorded = None;
    if let Some(checkout) = db::checkouts::find(conn, user_id)? {
        if checkout.gateway_reference.is_some() {
            recorded = record_charged(conn, &checkout, now)?;
        } else if now - checkout.started_at < PAYMENT_IN_FLIGHT {
            return Ok((charged(Subscribed::PaymentUnderWay), None));
        } else {
            return Ok((OfferStep::Settle(checkout), None));
        }
    }
    let refuse = |why| Ok((OfferStep::Done(Redeemed::Refused(why)), recorded));
    // A retention offer is made only to a subscriber about to cancel (`retention`), never by
    // its code.
    let Some(offer) = db::offers::find(conn, code)?
        .and_then(|row| row.offer())
        .filter(|offer| !offer.retention)
    else {
        return refuse(OfferRefused::Unknown);
    };
    let Some(plan) = db::plans::find(conn, &offer.plan_code)? else {
        return refuse(OfferRefused::Unknown);
    };
    if db::offers::redeemed_by(conn, code, user_id)? {
        return refuse(OfferRefused::AlreadyRedeemed);
    }
    if db::subscriptions::current(conn, user_id)?
        .is_some_and(|row| row.standing(now).grants_access())
    {
        return refuse(OfferRefused::AlreadySubscribed);
    }
    if !db::offers::take(conn, code, now)? {
        return refuse(match offer.availability(now) {
            Availability::Ended => OfferRefused::Ended,
            _ => OfferRefused::UsedUp,
        });
    }
    db::offers::record_redemption(conn, code, user_id, now)?;
    let step = match offer.deal {
        Deal::Trial { days } => {
            let until = trial_end(now, days);
            let id = start_subscription(
                conn,
                user_id,
                &plan.code,
                now,
                until,
                0,
                gateway,
                &format!("trial-{key}"),
            )?;
            db::subscriptions::set_offer(conn, id, code, Some(until), without_card)?;
            tracing::info!(user_id = user_id.get(), offer = code, "free trial started");
            OfferStep::Done(Redeemed::TrialStarted {
                until,
                card: !without_card,
            })
        }
        Deal::Discount { off, .. } => {
            let amount = discounted(plan.price_cents, off);
            let new = NewCheckout {
                user_id,
                plan_code: &plan.code,
                amount_cents: amount,
                period_value_cents: amount,
                period_months: plan.period_months,
                period_end_at_least: add_months(now, plan.period_months),
                payment_key: key,
                started_at: now,
                offer_code: Some(code),
                discount_from: None,
            };
            match db::checkouts::open(conn, &new)? {
                Some(checkout) => OfferStep::Pay(checkout, plan.currency.clone()),
                // Not reachable with the lock held and no checkout found above.
                None => return Ok((charged(Subscribed::PaymentUnderWay), recorded)),
            }
        }
    };
    Ok((step, recorded))
}

fn charged(outcome: Subscribed) -> OfferStep {
    OfferStep::Done(Redeemed::Charged(reply(outcome, None)))
}

/// An offer as an admin asks for it (the command line, the desk).
#[derive(Clone, Debug)]
pub struct OfferTerms {
    /// As typed: checked and kept in lower case.
    pub code: String,
    pub plan_code: String,
    pub deal: Deal,
    /// The last day it can be taken (it ends at the start of the next day, UTC).
    pub last_day: Option<time::Date>,
    pub limit: Option<i32>,
    pub retention: bool,
}

/// Why an offer was not created.
#[derive(Debug, thiserror::Error)]
pub enum OfferError {
    #[error(transparent)]
    Terms(#[from] crate::domain::offer::TermsError),
    #[error("there is no plan '{0}'")]
    NoPlan(String),
    #[error("an offer with the code '{0}' exists already")]
    Taken(String),
    #[error("saving the offer: {0}")]
    Db(#[from] diesel::result::Error),
}

/// Creates an offer; returns its code as stored.
pub fn create_offer(
    conn: &mut PgConnection,
    terms: &OfferTerms,
    now: OffsetDateTime,
) -> Result<String, OfferError> {
    use crate::domain::offer::{Off, TermsError, check_deal, normalise_code};
    let code = normalise_code(&terms.code).ok_or(TermsError::Code)?;
    let plan = db::plans::find(conn, &terms.plan_code)?
        .ok_or_else(|| OfferError::NoPlan(terms.plan_code.clone()))?;
    let deal = check_deal(terms.deal, plan.price_cents)?;
    crate::domain::retention::check_retention(deal, terms.retention)?;
    if terms.limit.is_some_and(|limit| limit < 1) {
        return Err(TermsError::Limit.into());
    }
    let ends_at = terms
        .last_day
        .map(|day| day.next_day().unwrap_or(day).midnight().assume_utc());
    if ends_at.is_some_and(|end| end <= now) {
        return Err(TermsError::Ends.into());
    }
    let (percent_off, amount_off_cents, duration, trial_days) = match deal {
        Deal::Trial { days } => (None, None, None, Some(days)),
        Deal::Discount { off, lasting } => {
            let (percent, amount) = match off {
                Off::Percent(percent) => (Some(percent), None),
                Off::Amount(cents) => (None, Some(cents)),
            };
            (percent, amount, Some(lasting.stored()), None)
        }
    };
    let new = crate::models::NewOffer {
        code: &code,
        plan_code: &plan.code,
        percent_off,
        amount_off_cents,
        duration: duration.map(|(name, _)| name),
        duration_months: duration.and_then(|(_, months)| months),
        trial_days,
        ends_at,
        redemption_limit: terms.limit,
        retention: terms.retention,
        created_at: now,
    };
    if !db::offers::insert(conn, &new)? {
        return Err(OfferError::Taken(code));
    }
    Ok(code)
}
