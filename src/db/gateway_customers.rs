//! Readers' customers at a payment processor that keeps its own (Stripe). At most one per
//! reader and processor (the primary key decides), written with its request key before the
//! processor is asked, so every request for the reader asks under the same key and the
//! processor answers with the same customer: a double click never makes a second one. A row
//! whose answer never came keeps its key until the processor may have forgotten it; then the
//! customer is looked for, and only when none is found is a new key written
//! ([`renew_key`]), `created_at` saying when.
//!
//! Each row also keeps the e-mail address the processor holds for the customer, as last sent;
//! customers whose address is not the account's are found by [`emails_behind`].
//!
//! Writes are made by `billing` with the reader's lock held.

use diesel::prelude::*;
use time::OffsetDateTime;

use crate::domain::ids::UserId;
use crate::models::GatewayCustomer;
use crate::schema::{gateway_customers, users};

pub fn find(
    conn: &mut PgConnection,
    user_id: UserId,
    gateway: &str,
) -> QueryResult<Option<GatewayCustomer>> {
    gateway_customers::table
        .find((user_id, gateway))
        .select(GatewayCustomer::as_select())
        .first(conn)
        .optional()
}

/// The reader's customer row, written now with `request_key` unless one exists already (whose
/// key then stands).
pub fn start(
    conn: &mut PgConnection,
    user_id: UserId,
    gateway: &str,
    request_key: &str,
    now: OffsetDateTime,
) -> QueryResult<GatewayCustomer> {
    diesel::insert_into(gateway_customers::table)
        .values((
            gateway_customers::user_id.eq(user_id),
            gateway_customers::gateway.eq(gateway),
            gateway_customers::request_key.eq(request_key),
            gateway_customers::created_at.eq(now),
        ))
        .on_conflict((gateway_customers::user_id, gateway_customers::gateway))
        .do_nothing()
        .execute(conn)?;
    gateway_customers::table
        .find((user_id, gateway))
        .select(GatewayCustomer::as_select())
        .first(conn)
}

/// Saves the processor's id for the customer asked for under `request_key`, and the address
/// it holds; false when the row is gone or already has one.
pub fn set_reference(
    conn: &mut PgConnection,
    user_id: UserId,
    gateway: &str,
    request_key: &str,
    reference: &str,
    email: Option<&str>,
) -> QueryResult<bool> {
    diesel::update(
        gateway_customers::table
            .find((user_id, gateway))
            .filter(gateway_customers::request_key.eq(request_key))
            .filter(gateway_customers::reference.is_null()),
    )
    .set((
        gateway_customers::reference.eq(reference),
        gateway_customers::email.eq(email),
    ))
    .execute(conn)
    .map(|updated| updated > 0)
}

/// Replaces the request key of a customer never answered for (`old_key`) with `new_key`,
/// written `now`; false when another request did first, or the customer has its id.
pub fn renew_key(
    conn: &mut PgConnection,
    user_id: UserId,
    gateway: &str,
    old_key: &str,
    new_key: &str,
    now: OffsetDateTime,
) -> QueryResult<bool> {
    diesel::update(
        gateway_customers::table
            .find((user_id, gateway))
            .filter(gateway_customers::request_key.eq(old_key))
            .filter(gateway_customers::reference.is_null()),
    )
    .set((
        gateway_customers::request_key.eq(new_key),
        gateway_customers::created_at.eq(now),
    ))
    .execute(conn)
    .map(|updated| updated > 0)
}

/// Notes that the processor now holds `email` for the customer `reference`.
pub fn set_email(
    conn: &mut PgConnection,
    gateway: &str,
    reference: &str,
    email: &str,
) -> QueryResult<bool> {
    diesel::update(
        gateway_customers::table
            .filter(gateway_customers::gateway.eq(gateway))
            .filter(gateway_customers::reference.eq(reference)),
    )
    .set(gateway_customers::email.eq(email))
    .execute(conn)
    .map(|updated| updated > 0)
}

/// A customer whose address at the processor is not (or not known to be) the account's.
#[derive(Clone, Debug, PartialEq, Eq, Queryable)]
pub struct EmailBehind {
    pub user_id: UserId,
    pub reference: String,
    /// The account's address, to be sent.
    pub account_email: String,
}

/// Customers at processor `gateway` whose address is not the account's, at most `limit`, by
/// reader; only `user_id`'s when given.
pub fn emails_behind(
    conn: &mut PgConnection,
    gateway: &str,
    user_id: Option<UserId>,
    limit: i64,
) -> QueryResult<Vec<EmailBehind>> {
    let mut query = gateway_customers::table
        .inner_join(users::table)
        .filter(gateway_customers::gateway.eq(gateway))
        .filter(gateway_customers::reference.is_not_null())
        .filter(gateway_customers::email.is_distinct_from(users::email.nullable()))
        .into_boxed();
    if let Some(user_id) = user_id {
        query = query.filter(gateway_customers::user_id.eq(user_id));
    }
    query
        .order(gateway_customers::user_id)
        .limit(limit)
        .select((
            gateway_customers::user_id,
            gateway_customers::reference.assume_not_null(),
            users::email,
        ))
        .load(conn)
}

/// The reader whose customer this is; `None` for a customer Gazette did not create.
pub fn owner(
    conn: &mut PgConnection,
    gateway: &str,
    reference: &str,
) -> QueryResult<Option<UserId>> {
    gateway_customers::table
        .filter(gateway_customers::gateway.eq(gateway))
        .filter(gateway_customers::reference.eq(reference))
        .select(gateway_customers::user_id)
        .first(conn)
        .optional()
}

/// Forgets a customer the processor deleted, so the reader's next checkout makes a new one.
pub fn forget(conn: &mut PgConnection, gateway: &str, reference: &str) -> QueryResult<bool> {
    diesel::delete(
        gateway_customers::table
            .filter(gateway_customers::gateway.eq(gateway))
            .filter(gateway_customers::reference.eq(reference)),
    )
    .execute(conn)
    .map(|deleted| deleted > 0)
}
