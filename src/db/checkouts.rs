//! Checkouts: changes of subscription being paid for, at most one per reader (the database's
//! unique key decides). A checkout is either pending (not known to be paid) or charged (the
//! processor's reference is saved); a charged checkout is only ever recorded, never charged
//! again.
//!
//! Every function that writes here is called by `billing` with the reader's lock held
//! (`db::users::lock`), which is what makes "read, decide, write" safe.

use diesel::prelude::*;
use time::OffsetDateTime;

use crate::domain::ids::{CheckoutId, UserId};
use crate::models::{Checkout, NewCheckout};
use crate::schema::checkouts;

/// The reader's checkout, if any.
pub fn find(conn: &mut PgConnection, user_id: UserId) -> QueryResult<Option<Checkout>> {
    checkouts::table
        .filter(checkouts::user_id.eq(user_id))
        .select(Checkout::as_select())
        .first(conn)
        .optional()
}

/// Opens a checkout; `None` when the reader already has one.
pub fn open(conn: &mut PgConnection, new: &NewCheckout<'_>) -> QueryResult<Option<Checkout>> {
    diesel::insert_into(checkouts::table)
        .values(new)
        .on_conflict(checkouts::user_id)
        .do_nothing()
        .returning(Checkout::as_returning())
        .get_result(conn)
        .optional()
}

/// Saves the processor's proof of payment on a pending checkout, and returns the checkout as
/// it now stands; `None` when it no longer exists or was already charged.
pub fn mark_charged(
    conn: &mut PgConnection,
    checkout_id: CheckoutId,
    gateway: &str,
    reference: &str,
    now: OffsetDateTime,
) -> QueryResult<Option<Checkout>> {
    diesel::update(
        checkouts::table
            .find(checkout_id)
            .filter(checkouts::gateway_reference.is_null()),
    )
    .set((
        checkouts::gateway.eq(gateway),
        checkouts::gateway_reference.eq(reference),
        checkouts::charged_at.eq(now),
    ))
    .returning(Checkout::as_returning())
    .get_result(conn)
    .optional()
}

/// Drops a pending checkout that was not paid (declined, or the processor says no money was
/// taken under its key), and returns it; `None` when there was none to drop. A charged
/// checkout is never released.
pub fn release(conn: &mut PgConnection, checkout_id: CheckoutId) -> QueryResult<Option<Checkout>> {
    diesel::delete(
        checkouts::table
            .find(checkout_id)
            .filter(checkouts::gateway_reference.is_null()),
    )
    .returning(Checkout::as_returning())
    .get_result(conn)
    .optional()
}

/// Removes a charged checkout once its subscription is recorded; false when another request
/// recorded it first.
pub fn close_recorded(conn: &mut PgConnection, checkout_id: CheckoutId) -> QueryResult<bool> {
    diesel::delete(
        checkouts::table
            .find(checkout_id)
            .filter(checkouts::gateway_reference.is_not_null()),
    )
    .execute(conn)
    .map(|deleted| deleted > 0)
}

/// Checkouts opened before `opened_before`, oldest first, at most `limit`: the request that
/// opened them is over, so whatever they still wait for is housekeeping's to settle.
pub fn left_behind(
    conn: &mut PgConnection,
    opened_before: OffsetDateTime,
    limit: i64,
) -> QueryResult<Vec<Checkout>> {
    checkouts::table
        .filter(checkouts::started_at.lt(opened_before))
        .order(checkouts::started_at)
        .limit(limit)
        .select(Checkout::as_select())
        .load(conn)
}
