//! Retention offers: pressing cancel on a live subscription first offers the retention
//! discount that applies (`domain::retention`), once per subscription; taking it applies the
//! discount to that subscription.
//!
//! Rules (on top of the module's):
//! - Whether the offer is shown is decided under the reader's lock, and the showing is noted
//!   in the same transaction (`subscriptions.retention_offered_at`), so of two presses of
//!   cancel one shows the offer and the other cancels.
//! - Taking the offer runs in one transaction: the reader's lock first, then the offer's count
//!   with one conditional UPDATE (`db::offers::take`), as redeeming any offer does; so a burst
//!   never redeems past the limit, and a reader's identical clicks redeem once (the others
//!   find the discount applied). It is taken only for the offer the reader may be shown now,
//!   on the subscription that was shown one: another offer, another reader's subscription, a
//!   canceled, ended, trial or discounted one change nothing.
//! - With a gateway that charges at once (the test gateway) the discount is recorded on the
//!   subscription (`offer_code`, `discount_from`: the end of the period already paid), and the
//!   periods Gazette charges for it while the discount lasts are charged at the discounted
//!   price (`choose_step` asks [`carried_discount`]); the period it records carries the
//!   discount on.
//! - With a processor that runs the subscription (Stripe) the offer is shown by the same rule.
//!   Taking it takes the redemption and notes the discount (`offer_code`, `discount_from`: the
//!   period's end, where the processor's next invoice is) in the same way, under the reader's
//!   lock; then, outside any transaction and within the reader's budget, the processor is
//!   asked to apply the offer's coupon to its subscription under a key made of the
//!   subscription and the offer (so a repeated request applies it once), and what it answers
//!   is recorded. When it refuses or cannot be reached (and, its answer lost, its subscription
//!   read again does not carry the discount), the redemption and the note are given back
//!   under the lock, and the reader is told nothing was applied. A repeated click finds
//!   the discount noted and asks the processor nothing.

use diesel::PgConnection;
use diesel::QueryResult;
use time::OffsetDateTime;

use super::hosted::terms;
use super::{Billing, BillingError, Canceled, Spent};
use crate::db;
use crate::domain::ids::{SubscriptionId, UserId};
use crate::domain::offer::Offer;
use crate::domain::retention::{self, Carried, Leaving, NotMade};
use crate::domain::subscription::Status;
use crate::models::{Plan, SubscriptionRow};
use crate::payments::hosted::{CheckoutOffer, HostedError, HostedGateway};

/// The retention offer made to a reader who pressed cancel.
#[derive(Clone, Debug)]
pub struct RetentionOffer {
    pub offer: Offer,
    pub plan: Plan,
    /// Where its discount starts: the end of the period already paid.
    pub from: OffsetDateTime,
}

/// What pressing cancel did.
#[derive(Clone, Debug)]
pub enum CancelAsked {
    /// Nothing was canceled: the reader is offered this first (once per subscription).
    Offered(RetentionOffer),
    /// Canceled as before (or why not).
    Canceled(Canceled),
}

/// What taking a retention offer did.
#[derive(Clone, Debug)]
pub enum Retained {
    /// The discount applies to the subscription from `from`.
    Applied(RetentionOffer),
    /// This offer applied to the subscription already (a repeated click): nothing changed.
    AlreadyApplied(RetentionOffer),
    /// Nothing changed.
    Refused(RetentionRefused),
}

/// Why a retention offer was not applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetentionRefused {
    /// Not an offer made to this subscription (none shown, another offer, or the subscription
    /// is canceled, ended, a trial or discounted), or not with this processor.
    NotOffered,
    Ended,
    UsedUp,
    /// A payment for the reader is being confirmed; try again.
    PaymentUnderWay,
    /// The processor refused or could not be reached: nothing was applied, nothing taken.
    ProcessorUnavailable,
    /// Not asked: the reader's requests have asked the processor all their budget allows.
    TooManyRequests {
        retry_after_secs: u64,
    },
}

/// A discount noted on a processor's subscription under the reader's lock, to be applied there.
struct ToApply {
    subscription: SubscriptionId,
    reference: String,
    applied: RetentionOffer,
}

impl Billing {
    /// The reader pressed cancel: offers the retention discount that applies, if it was not
    /// shown for this subscription before; otherwise cancels ([`Billing::cancel`]).
    pub async fn cancel_or_retain(&self, user_id: UserId) -> Result<CancelAsked, BillingError> {
        if self.hosted().is_none() && self.charges_now().is_none() {
            return Ok(CancelAsked::Canceled(self.cancel(user_id).await?));
        }
        let now = self.clock.now();
        let offered = self
            .for_reader(user_id, "offering a retention discount", move |conn| {
                offer_once(conn, user_id, now)
            })
            .await?;
        match offered {
            Some(offer) => {
                tracing::info!(
                    user_id = user_id.get(),
                    offer = %offer.offer.code,
                    "retention offer shown"
                );
                Ok(CancelAsked::Offered(offer))
            }
            None => Ok(CancelAsked::Canceled(self.cancel(user_id).await?)),
        }
    }

    /// Takes retention offer `code` (normalised) for the reader's live subscription.
    pub async fn retain(&self, user_id: UserId, code: &str) -> Result<Retained, BillingError> {
        let gateway = self.hosted();
        if gateway.is_none() && self.charges_now().is_none() {
            return Ok(Retained::Refused(RetentionRefused::NotOffered));
        }
        let now = self.clock.now();
        let processor = gateway.as_ref().map(|gateway| gateway.name());
        let owned = code.to_string();
        let (retained, to_apply) = self
            .for_reader(user_id, "taking a retention offer", move |conn| {
                take_offer(conn, user_id, &owned, processor, now)
            })
            .await?;
        let retained = match (gateway, to_apply) {
            (Some(gateway), Some(to_apply)) => {
                self.apply_at_processor(&*gateway, user_id, to_apply)
                    .await?
            }
            _ => retained,
        };
        if let Retained::Applied(applied) = &retained {
            tracing::info!(
                user_id = user_id.get(),
                offer = %applied.offer.code,
                "retention offer taken"
            );
        }
        Ok(retained)
    }

    /// Applies the discount noted under the lock to the processor's subscription, and records
    /// the processor's answer; when it cannot be applied, gives back what was taken.
    async fn apply_at_processor(
        &self,
        gateway: &dyn HostedGateway,
        user_id: UserId,
        to_apply: ToApply,
    ) -> Result<Retained, BillingError> {
        // The coupon (made once per offer), the subscription's update, and a read of it when
        // the answer is lost.
        if let Spent::Refused { retry_after_secs } = self.spend(user_id, 3).await? {
            self.give_back(user_id, &to_apply).await?;
            return Ok(Retained::Refused(RetentionRefused::TooManyRequests {
                retry_after_secs,
            }));
        }
        let offer = &to_apply.applied.offer;
        let request = CheckoutOffer {
            code: offer.code.clone(),
            deal: terms(offer, &to_apply.applied.plan),
        };
        let key = format!("retain-{}-{}", to_apply.reference, offer.code);
        let read_at = self.clock.now();
        match gateway
            .apply_discount(to_apply.reference.clone(), request, key)
            .await
        {
            Ok(held) => {
                self.record_held(gateway.name(), user_id, held, read_at)
                    .await?;
                Ok(Retained::Applied(to_apply.applied))
            }
            Err(error) => {
                tracing::warn!(
                    user_id = user_id.get(),
                    offer = %offer.code,
                    "applying a retention offer at the processor: {error}"
                );
                // An answer lost on the way back may hide a discount applied: the processor's
                // subscription says.
                if let HostedError::Unavailable(_) = error
                    && let Ok(held) = gateway.subscription(to_apply.reference.clone()).await
                    && held.offer_code.as_deref() == Some(offer.code.as_str())
                    && held.discount_start.is_some()
                {
                    self.record_held(gateway.name(), user_id, held, read_at)
                        .await?;
                    return Ok(Retained::Applied(to_apply.applied));
                }
                self.give_back(user_id, &to_apply).await?;
                Ok(Retained::Refused(RetentionRefused::ProcessorUnavailable))
            }
        }
    }

    /// Gives back the redemption and the note of a discount the processor did not apply.
    async fn give_back(&self, user_id: UserId, to_apply: &ToApply) -> Result<(), BillingError> {
        let (id, code, from) = (
            to_apply.subscription,
            to_apply.applied.offer.code.clone(),
            to_apply.applied.from,
        );
        self.for_reader(user_id, "giving back a retention offer", move |conn| {
            if db::subscriptions::clear_discount(conn, id, &code, from)?
                && db::offers::forget_redemption(conn, &code, user_id)?
            {
                db::offers::untake(conn, &code)?;
            }
            Ok(())
        })
        .await?;
        Ok(())
    }
}

/// The subscription as the retention rule sees it.
fn leaving(row: &SubscriptionRow, now: OffsetDateTime) -> Leaving<'_> {
    Leaving {
        plan_code: &row.plan_code,
        standing: row.standing(now),
        trial: row.offer.trial_ends_at.is_some(),
        discounted: row.offer.offer_code.is_some(),
    }
}

/// The reader's live subscription with the retention offers of its plan (newest first, each
/// with whether the reader redeemed it), and the plan; `None` without a subscription.
#[allow(clippy::type_complexity)]
fn candidates(
    conn: &mut PgConnection,
    user_id: UserId,
) -> QueryResult<Option<(SubscriptionRow, Vec<(Offer, bool)>, Plan)>> {
    let Some(row) = db::subscriptions::current(conn, user_id)? else {
        return Ok(None);
    };
    let Some(plan) = db::plans::find(conn, &row.plan_code)? else {
        return Ok(None);
    };
    let taken: Vec<String> = db::offers::redemptions_of(conn, user_id)?
        .into_iter()
        .map(|redemption| redemption.offer_code)
        .collect();
    let offers = db::offers::retention_for(conn, &row.plan_code)?
        .iter()
        .filter_map(|stored| stored.offer())
        .map(|offer| {
            let redeemed = taken.contains(&offer.code);
            (offer, redeemed)
        })
        .collect();
    Ok(Some((row, offers, plan)))
}

/// With the reader's lock held: the offer to show now (noted as shown), or `None` to cancel.
fn offer_once(
    conn: &mut PgConnection,
    user_id: UserId,
    now: OffsetDateTime,
) -> QueryResult<Option<RetentionOffer>> {
    if db::checkouts::find(conn, user_id)?.is_some() {
        // Canceling answers that a payment is being confirmed.
        return Ok(None);
    }
    let Some((row, offers, plan)) = candidates(conn, user_id)? else {
        return Ok(None);
    };
    if row.status != Status::Active || !retention::show(row.offer.retention_offered_at) {
        return Ok(None);
    }
    let Some(offer) = retention::choose(&offers, &leaving(&row, now), now).cloned() else {
        return Ok(None);
    };
    if !db::subscriptions::mark_retention_offered(conn, row.id, now)? {
        return Ok(None);
    }
    Ok(Some(RetentionOffer {
        offer,
        plan,
        from: row.current_period_end,
    }))
}

/// With the reader's lock held: applies offer `code` to the subscription it was shown for,
/// taking its redemption. With a processor that runs the subscription (`processor`, its
/// name), the discount is noted and returned to be applied there.
fn take_offer(
    conn: &mut PgConnection,
    user_id: UserId,
    code: &str,
    processor: Option<&'static str>,
    now: OffsetDateTime,
) -> QueryResult<(Retained, Option<ToApply>)> {
    let refuse = |why| Ok((Retained::Refused(why), None));
    if db::checkouts::find(conn, user_id)?.is_some() {
        return refuse(RetentionRefused::PaymentUnderWay);
    }
    let Some((row, offers, plan)) = candidates(conn, user_id)? else {
        return refuse(RetentionRefused::NotOffered);
    };
    let Some((offer, redeemed)) = offers.into_iter().find(|(offer, _)| offer.code == code) else {
        return refuse(RetentionRefused::NotOffered);
    };
    // A repeated click: the first one applied it.
    if row.offer.offer_code.as_deref() == Some(code)
        && let Some(from) = row.offer.discount_from
        && row.standing(now).grants_access()
    {
        let applied = RetentionOffer { offer, plan, from };
        return Ok((Retained::AlreadyApplied(applied), None));
    }
    let held_there = processor.is_some_and(|name| row.gateway == name && row.renews);
    if row.status != Status::Active
        || row.offer.retention_offered_at.is_none()
        || processor.is_some() != held_there
    {
        return refuse(RetentionRefused::NotOffered);
    }
    match retention::applies(&offer, &leaving(&row, now), redeemed, now) {
        Ok(()) => {}
        Err(NotMade::Ended) => return refuse(RetentionRefused::Ended),
        Err(NotMade::UsedUp) => return refuse(RetentionRefused::UsedUp),
        Err(_) => return refuse(RetentionRefused::NotOffered),
    }
    if !db::offers::take(conn, code, now)? {
        // Used up or ended since it was read: the count decides.
        return refuse(if offer.ends_at.is_some_and(|end| end <= now) {
            RetentionRefused::Ended
        } else {
            RetentionRefused::UsedUp
        });
    }
    if !db::offers::record_redemption(conn, code, user_id, now)? {
        // Not reachable with the lock held and the redemption checked above; never counted
        // twice either way.
        db::offers::untake(conn, code)?;
        return refuse(RetentionRefused::NotOffered);
    }
    let from = row.current_period_end;
    db::subscriptions::set_discount(conn, row.id, code, from)?;
    let applied = RetentionOffer { offer, plan, from };
    let to_apply = processor.map(|_| ToApply {
        subscription: row.id,
        reference: row.gateway_reference.clone(),
        applied: applied.clone(),
    });
    Ok((Retained::Applied(applied), to_apply))
}

/// The discount a renewal of `plan` carries: for the reader's current subscription on the same
/// plan with a discount taken on it (a retention offer), the price of a period charged at
/// `now`, the offer's code and where the discount started; `None` when none applies.
pub(super) fn carried_discount(
    conn: &mut PgConnection,
    current: Option<&SubscriptionRow>,
    plan: &Plan,
    now: OffsetDateTime,
) -> QueryResult<Option<(i32, String, OffsetDateTime)>> {
    let Some((code, from)) = current
        .filter(|row| row.plan_code == plan.code)
        .and_then(|row| row.offer.offer_code.clone().zip(row.offer.discount_from))
    else {
        return Ok(None);
    };
    let Some(offer) = db::offers::find(conn, &code)?.and_then(|row| row.offer()) else {
        return Ok(None);
    };
    let carried = Carried {
        deal: offer.deal,
        from,
    };
    let price = retention::period_price(plan.price_cents, plan.period_months, carried, now);
    Ok((price < plan.price_cents).then_some((price, code, from)))
}
