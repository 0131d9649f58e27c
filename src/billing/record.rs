//! Turning a payment into the reader's subscription. Called only inside a billing transaction
//! that holds the reader's lock.

use diesel::PgConnection;
use diesel::QueryResult;
use time::OffsetDateTime;

use crate::db;
use crate::domain::ids::{SubscriptionId, UserId};
use crate::domain::subscription::{Status, add_months};
use crate::models::{Checkout, NewSubscription};

/// Records a charged checkout as the reader's subscription: the current one (if any) ends,
/// and the paid period starts when the payment was confirmed. Returns the end of the paid
/// period, or `None` when the checkout is not charged or was already recorded.
pub(super) fn record_charged(
    conn: &mut PgConnection,
    checkout: &Checkout,
    now: OffsetDateTime,
) -> QueryResult<Option<OffsetDateTime>> {
    let (Some(gateway), Some(reference)) = (&checkout.gateway, &checkout.gateway_reference) else {
        return Ok(None);
    };
    if !db::checkouts::close_recorded(conn, checkout.id)? {
        return Ok(None);
    }
    let confirmed_at = checkout.charged_at.unwrap_or(now);
    let until = add_months(confirmed_at, checkout.period_months).max(checkout.period_end_at_least);
    let id = start_subscription(
        conn,
        checkout.user_id,
        &checkout.plan_code,
        confirmed_at,
        until,
        checkout.period_value_cents,
        gateway,
        reference,
    )?;
    match (&checkout.offer_code, checkout.discount_from) {
        // A discount taken on the subscription before goes on with it.
        (Some(offer), Some(from)) => db::subscriptions::set_discount(conn, id, offer, from)?,
        (Some(offer), None) => db::subscriptions::set_offer(conn, id, offer, None, false)?,
        (None, _) => {}
    }
    Ok(Some(until))
}

/// Ends the reader's current subscription (if any) at `start` and begins a new active one;
/// returns the new one's id.
#[allow(clippy::too_many_arguments)]
pub(super) fn start_subscription(
    conn: &mut PgConnection,
    user_id: UserId,
    plan_code: &str,
    start: OffsetDateTime,
    until: OffsetDateTime,
    value_cents: i32,
    gateway: &str,
    reference: &str,
) -> QueryResult<SubscriptionId> {
    if let Some(current) = db::subscriptions::current(conn, user_id)? {
        db::subscriptions::end(conn, current.id, start)?;
    }
    db::subscriptions::insert(
        conn,
        &NewSubscription {
            user_id,
            plan_code,
            status: Status::Active.as_str(),
            current_period_start: start,
            current_period_end: until,
            gateway,
            gateway_reference: reference,
            period_value_cents: value_cents,
        },
    )
}
