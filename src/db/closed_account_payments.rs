//! What is kept of a deleted account's payments for accounting: each payment recorded as a
//! subscription (switches paid by credit are not payments), with nothing that names the
//! reader. Written only while deleting the account, with its lock held.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamptz};
use time::OffsetDateTime;

use crate::domain::ids::UserId;

/// Copies the account's payments here, without the account; returns how many.
pub fn keep_for(
    conn: &mut PgConnection,
    user_id: UserId,
    closed_at: OffsetDateTime,
) -> QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO closed_account_payments (plan_code, gateway, gateway_reference, \
           period_value_cents, current_period_start, current_period_end, recorded_at, \
           account_closed_at) \
         SELECT plan_code, gateway, gateway_reference, period_value_cents, \
           current_period_start, current_period_end, created_at, $2 \
         FROM subscriptions WHERE user_id = $1 AND gateway <> 'credit' \
         ON CONFLICT (gateway, gateway_reference) DO NOTHING",
    )
    .bind::<BigInt, _>(user_id)
    .bind::<Timestamptz, _>(closed_at)
    .execute(conn)
}
