//! Checkouts: changes of subscription being paid for, at most one per reader (the database's
//! unique key decides). A checkout is either pending (not known to be paid) or charged (the
//! processor's reference is saved); a charged checkout is only ever recorded, never charged
//! again.

use diesel::prelude::*;
use time::OffsetDateTime;

use crate::db;
use crate::domain::subscription::Status;
use crate::models::{Checkout, NewCheckout, NewSubscription};
use crate::schema::checkouts;

/// The reader's checkout, locked until the transaction ends.
pub fn find_for_update(conn: &mut PgConnection, user_id: i64) -> QueryResult<Option<Checkout>> {
    checkouts::table
        .filter(checkouts::user_id.eq(user_id))
        .select(Checkout::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// Opens a checkout; `None` when the reader already has one (opened concurrently).
pub fn open(conn: &mut PgConnection, new: &NewCheckout<'_>) -> QueryResult<Option<Checkout>> {
    diesel::insert_into(checkouts::table)
        .values(new)
        .on_conflict(checkouts::user_id)
        .do_nothing()
        .returning(Checkout::as_returning())
        .get_result(conn)
        .optional()
}

/// Saves the processor's proof of payment. Done on its own, straight after the charge, so the
/// payment is known even if recording the subscription fails.
pub fn mark_charged(
    conn: &mut PgConnection,
    checkout_id: i64,
    gateway: &str,
    reference: &str,
) -> QueryResult<()> {
    diesel::update(checkouts::table.find(checkout_id))
        .set((
            checkouts::gateway.eq(gateway),
            checkouts::gateway_reference.eq(reference),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Drops a checkout that was not paid (the payment was declined).
pub fn abandon(conn: &mut PgConnection, checkout_id: i64) -> QueryResult<()> {
    diesel::delete(
        checkouts::table
            .find(checkout_id)
            .filter(checkouts::gateway_reference.is_null()),
    )
    .execute(conn)
    .map(|_| ())
}

/// Turns a charged checkout into the reader's subscription: the current one (if any) ends,
/// the paid period begins. Call inside a transaction. Returns false when the checkout was
/// already recorded (by another request or by housekeeping).
pub fn record(
    conn: &mut PgConnection,
    checkout: &Checkout,
    now: OffsetDateTime,
) -> QueryResult<bool> {
    let (Some(gateway), Some(reference)) = (&checkout.gateway, &checkout.gateway_reference) else {
        return Ok(false);
    };
    let deleted = diesel::delete(checkouts::table.find(checkout.id)).execute(conn)?;
    if deleted == 0 {
        return Ok(false);
    }
    if let Some(current) = db::subscriptions::current_for_update(conn, checkout.user_id)? {
        db::subscriptions::end(conn, current.id, now)?;
    }
    let subscription = NewSubscription {
        user_id: checkout.user_id,
        plan_code: &checkout.plan_code,
        status: Status::Active.as_str(),
        current_period_start: checkout.started_at,
        current_period_end: checkout.period_end,
        gateway,
        gateway_reference: reference,
        period_value_cents: checkout.period_value_cents,
    };
    db::subscriptions::insert(conn, &subscription)?;
    Ok(true)
}

/// Charged checkouts opened before `opened_before` that were never recorded (the request
/// that paid failed or stopped half-way).
pub fn charged_unrecorded(
    conn: &mut PgConnection,
    opened_before: OffsetDateTime,
) -> QueryResult<Vec<Checkout>> {
    checkouts::table
        .filter(checkouts::gateway_reference.is_not_null())
        .filter(checkouts::started_at.lt(opened_before))
        .select(Checkout::as_select())
        .load(conn)
}
