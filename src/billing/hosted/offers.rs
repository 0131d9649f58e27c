//! Offers through a processor that runs the subscription: the processor applies the terms (a
//! discount on the subscription's invoices, or a free trial before its first charge), and
//! Gazette counts redemptions and says what applies. Every function here runs in a billing
//! transaction that holds the reader's lock.
//!
//! Rules (on top of the module's):
//! - The redemption is taken when the reader's hosted checkout is written for the offer (the
//!   reader's lock, then the offer's count: the order of `billing::offers`), and the checkout
//!   names the offer. A double click finds that checkout and is sent to the same page; nothing
//!   more is taken. A checkout that ends unpaid (expired, abandoned, replaced, or never opened)
//!   gives the redemption back ([`end_checkout`]); a paid one keeps it.
//! - The processor is told the offer's terms with the checkout ([`checkout_offer`]): a
//!   discount, or a trial, never both.
//! - What the processor applied is noted on the subscription when its state is recorded
//!   ([`note_held_offer`]): the offer, the trial's end and whether a payment method is on file,
//!   and until when the discount lasts.
//! - The processor's notice that a trial ends soon owes the reader the trial-ending mail once
//!   per trial ([`owe_trial_notice`]), saying whether a payment method is on file.

use diesel::PgConnection;
use diesel::QueryResult;
use time::OffsetDateTime;

use crate::billing::OfferRefused;
use crate::db;
use crate::domain::ids::{HostedCheckoutId, SubscriptionId, UserId};
use crate::domain::mail::MailKind;
use crate::domain::offer::{Availability, Deal, Lasting, Off, Offer, discount_until};
use crate::domain::subscription::Status;
use crate::models::{HostedCheckout, Plan, SubscriptionRow};
use crate::payments::hosted::{
    CheckoutDeal, CheckoutOffer, CouponDuration, CouponOff, HeldSubscription, Money,
};

/// How a hosted checkout ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::billing) enum CheckoutEnd {
    /// Paid: its subscription is (or is being) recorded, and keeps the offer it was for.
    Paid,
    /// Expired, abandoned, replaced or never opened: the offer's redemption is given back.
    Unpaid,
}

/// Removes the reader's hosted checkout `id` as it ended; false when it was gone already.
pub(in crate::billing) fn end_checkout(
    conn: &mut PgConnection,
    id: HostedCheckoutId,
    end: CheckoutEnd,
) -> QueryResult<bool> {
    let Some(removed) = db::hosted_checkouts::remove(conn, id)? else {
        return Ok(false);
    };
    if end == CheckoutEnd::Unpaid
        && let Some(code) = &removed.offer_code
        && db::offers::forget_redemption(conn, code, removed.user_id)?
    {
        db::offers::untake(conn, code)?;
        tracing::info!(
            user_id = removed.user_id.get(),
            offer = %code,
            "a checkout ended unpaid: its offer's redemption was given back"
        );
    }
    Ok(true)
}

/// Why the reader cannot take offer `code` (for `plan`) now; `None` when they can.
pub(super) fn refusal(
    conn: &mut PgConnection,
    user_id: UserId,
    code: &str,
    plan: &Plan,
    now: OffsetDateTime,
) -> QueryResult<Option<OfferRefused>> {
    // A retention offer is made only to a subscriber about to cancel, never by its code.
    let Some(offer) = db::offers::find(conn, code)?
        .and_then(|row| row.offer())
        .filter(|offer| !offer.retention)
    else {
        return Ok(Some(OfferRefused::Unknown));
    };
    if offer.plan_code != plan.code {
        return Ok(Some(OfferRefused::Unknown));
    }
    if db::offers::redeemed_by(conn, code, user_id)? {
        return Ok(Some(OfferRefused::AlreadyRedeemed));
    }
    Ok(match offer.availability(now) {
        Availability::Open => None,
        Availability::Ended => Some(OfferRefused::Ended),
        Availability::UsedUp => Some(OfferRefused::UsedUp),
    })
}

/// Takes one redemption of offer `code` for the reader (the checkout holding it was just
/// written); why not, when the offer ended or is used up meanwhile.
pub(super) fn take(
    conn: &mut PgConnection,
    user_id: UserId,
    code: &str,
    now: OffsetDateTime,
) -> QueryResult<Result<(), OfferRefused>> {
    if !db::offers::take(conn, code, now)? {
        let ended = db::offers::find(conn, code)?
            .and_then(|row| row.offer())
            .is_some_and(|offer| offer.availability(now) == Availability::Ended);
        return Ok(Err(if ended {
            OfferRefused::Ended
        } else {
            OfferRefused::UsedUp
        }));
    }
    if !db::offers::record_redemption(conn, code, user_id, now)? {
        // Taken before (the caller checked under the same lock): the count goes back.
        db::offers::untake(conn, code)?;
        return Ok(Err(OfferRefused::AlreadyRedeemed));
    }
    Ok(Ok(()))
}

/// The offer `checkout` was opened for, as the processor is told it.
pub(super) fn checkout_offer(
    conn: &mut PgConnection,
    checkout: &HostedCheckout,
) -> QueryResult<Option<CheckoutOffer>> {
    let Some(code) = &checkout.offer_code else {
        return Ok(None);
    };
    let offer = db::offers::find(conn, code)?.and_then(|row| row.offer());
    let plan = db::plans::find(conn, &checkout.plan_code)?;
    let (Some(offer), Some(plan)) = (offer, plan) else {
        return Ok(None);
    };
    let deal = terms(&offer, &plan);
    Ok(Some(CheckoutOffer {
        code: code.clone(),
        deal,
    }))
}

/// What `offer` (on `plan`) gives, as the processor is told it.
pub(in crate::billing) fn terms(offer: &Offer, plan: &Plan) -> CheckoutDeal {
    match offer.deal {
        Deal::Trial { days } => CheckoutDeal::Trial { days },
        Deal::Discount { off, lasting } => CheckoutDeal::Discount {
            off: match off {
                Off::Percent(percent) => CouponOff::Percent(percent),
                Off::Amount(cents) => CouponOff::Amount(Money {
                    minor_units: i64::from(cents),
                    currency: plan.currency.to_ascii_uppercase(),
                }),
            },
            duration: match lasting {
                Lasting::Once => CouponDuration::Once,
                Lasting::Months(months) => CouponDuration::Months(months),
                Lasting::Forever => CouponDuration::Forever,
            },
        },
    }
}

/// Notes on row `id` the offer the processor's subscription `held` began with (see the
/// module's rules); what was noted before stands where the processor no longer says (a
/// discount that ran out is no longer on the subscription).
pub(in crate::billing) fn note_held_offer(
    conn: &mut PgConnection,
    id: SubscriptionId,
    held: &HeldSubscription,
    existing: Option<&SubscriptionRow>,
    plan: &Plan,
) -> QueryResult<()> {
    let Some(code) = &held.offer_code else {
        return Ok(());
    };
    // Only an offer of Gazette's (another product's coupon names none).
    let Some(offer) = db::offers::find(conn, code)?.and_then(|row| row.offer()) else {
        return Ok(());
    };
    let noted = existing.map(|row| &row.offer);
    let discount_ends_at = match (offer.deal, held.discount_start) {
        (Deal::Discount { lasting, .. }, Some(start)) => {
            // A discount taken on the live subscription (a retention offer) is applied
            // mid-period: the processor's first invoice with it, the one `once` covers, is the
            // renewal it was noted from.
            let start = match lasting {
                Lasting::Once => noted.and_then(|offer| offer.discount_from).unwrap_or(start),
                _ => start,
            };
            discount_until(start, lasting, plan.period_months)
        }
        _ => None,
    }
    .or(noted.and_then(|offer| offer.discount_ends_at));
    let trial_ends_at = held
        .trial_end
        .or(noted.and_then(|offer| offer.trial_ends_at));
    let without_card = trial_ends_at.is_some()
        && match held.payment_method {
            Some(on_file) => !on_file,
            None => noted.is_some_and(|offer| offer.trial_without_card),
        };
    db::subscriptions::set_held_offer(
        conn,
        id,
        code,
        trial_ends_at,
        without_card,
        discount_ends_at,
    )
}

/// The processor says the trial of `held` ends soon: the reader is owed the trial-ending mail,
/// once per trial (true when it was queued now).
pub(in crate::billing) fn owe_trial_notice(
    conn: &mut PgConnection,
    gateway: &str,
    user_id: UserId,
    held: &HeldSubscription,
    now: OffsetDateTime,
) -> QueryResult<bool> {
    let Some(row) = db::subscriptions::find_by_reference(conn, gateway, &held.reference)? else {
        return Ok(false);
    };
    // A trial canceled meanwhile just ends; one over already is not "ending".
    let Some(ends) = held.trial_end.or(row.offer.trial_ends_at) else {
        return Ok(false);
    };
    if row.user_id != user_id || row.status != Status::Active || ends <= now {
        return Ok(false);
    }
    let Some(user) = db::users::find(conn, user_id)? else {
        return Ok(false);
    };
    if !db::subscriptions::mark_trial_notice(conn, row.id, now)? {
        return Ok(false);
    }
    // Words are made when it is sent (`outbox`): plan, end, payment method.
    let card = if held.payment_method.unwrap_or(!row.offer.trial_without_card) {
        "card"
    } else {
        "no-card"
    };
    let detail = format!("{} {} {card}", row.plan_code, ends.unix_timestamp());
    let kind = MailKind::TrialEnding;
    db::outbox::owe(conn, kind, &user.email, Some(user_id), &detail, now)?;
    tracing::info!(
        user_id = user_id.get(),
        card,
        "told a reader their trial ends"
    );
    Ok(true)
}
