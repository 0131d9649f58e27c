//! Checkouts on a processor's hosted page, at most one per reader (the unique key decides). A
//! row is written with its request key before the processor is asked to open the page, so a
//! double click or a second tab asks under the same key and gets the same page; the page's
//! reference and address are saved when the processor answers. The row goes once the page is
//! paid (its subscription recorded), expired or replaced. A checkout opened for an offer names
//! it (`offer_code`): the offer's redemption is held while it is open.
//!
//! Writes are made by `billing` with the reader's lock held.

use diesel::prelude::*;
use time::OffsetDateTime;

use crate::domain::ids::{HostedCheckoutId, UserId};
use crate::models::{HostedCheckout, NewHostedCheckout};
use crate::schema::hosted_checkouts;

pub fn find(conn: &mut PgConnection, user_id: UserId) -> QueryResult<Option<HostedCheckout>> {
    hosted_checkouts::table
        .filter(hosted_checkouts::user_id.eq(user_id))
        .select(HostedCheckout::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_reference(
    conn: &mut PgConnection,
    gateway: &str,
    reference: &str,
) -> QueryResult<Option<HostedCheckout>> {
    hosted_checkouts::table
        .filter(hosted_checkouts::gateway.eq(gateway))
        .filter(hosted_checkouts::reference.eq(reference))
        .select(HostedCheckout::as_select())
        .first(conn)
        .optional()
}

/// Opens the reader's checkout; `None` when the reader already has one.
pub fn open(
    conn: &mut PgConnection,
    new: &NewHostedCheckout<'_>,
) -> QueryResult<Option<HostedCheckout>> {
    diesel::insert_into(hosted_checkouts::table)
        .values(new)
        .on_conflict(hosted_checkouts::user_id)
        .do_nothing()
        .returning(HostedCheckout::as_returning())
        .get_result(conn)
        .optional()
}

/// Saves the page the processor opened for the checkout; false when the checkout is gone or
/// already has its page.
pub fn set_page(
    conn: &mut PgConnection,
    id: HostedCheckoutId,
    reference: &str,
    url: &str,
    expires_at: OffsetDateTime,
) -> QueryResult<bool> {
    diesel::update(
        hosted_checkouts::table
            .find(id)
            .filter(hosted_checkouts::reference.is_null()),
    )
    .set((
        hosted_checkouts::reference.eq(reference),
        hosted_checkouts::url.eq(url),
        hosted_checkouts::expires_at.eq(expires_at),
    ))
    .execute(conn)
    .map(|updated| updated > 0)
}

/// Removes a checkout that was paid, expired or replaced.
pub fn close(conn: &mut PgConnection, id: HostedCheckoutId) -> QueryResult<bool> {
    diesel::delete(hosted_checkouts::table.find(id))
        .execute(conn)
        .map(|deleted| deleted > 0)
}

/// Removes a checkout that ended, returning it (the offer it held, if any, is `billing`'s to
/// give back); `None` when it was gone already.
pub fn remove(
    conn: &mut PgConnection,
    id: HostedCheckoutId,
) -> QueryResult<Option<HostedCheckout>> {
    diesel::delete(hosted_checkouts::table.find(id))
        .returning(HostedCheckout::as_returning())
        .get_result(conn)
        .optional()
}

/// Removes the checkout opened under `request_key` (its subscription is recorded).
pub fn close_by_key(conn: &mut PgConnection, request_key: &str) -> QueryResult<bool> {
    diesel::delete(hosted_checkouts::table.filter(hosted_checkouts::request_key.eq(request_key)))
        .execute(conn)
        .map(|deleted| deleted > 0)
}

/// Checkouts not asked about since `checked_before` (a new one counts as asked when it
/// starts), the longest unasked first, at most `limit`.
pub fn due_for_check(
    conn: &mut PgConnection,
    checked_before: OffsetDateTime,
    limit: i64,
) -> QueryResult<Vec<HostedCheckout>> {
    hosted_checkouts::table
        .filter(hosted_checkouts::checked_at.lt(checked_before))
        .order(hosted_checkouts::checked_at)
        .limit(limit)
        .select(HostedCheckout::as_select())
        .load(conn)
}

pub fn mark_checked(
    conn: &mut PgConnection,
    id: HostedCheckoutId,
    now: OffsetDateTime,
) -> QueryResult<()> {
    diesel::update(hosted_checkouts::table.find(id))
        .set(hosted_checkouts::checked_at.eq(now))
        .execute(conn)
        .map(|_| ())
}
