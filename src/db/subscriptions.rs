//! Subscription rows. At most one row per reader is not `ended`; the database enforces it.

use diesel::prelude::*;
use time::OffsetDateTime;

use crate::models::{NewSubscription, SubscriptionRow};
use crate::schema::subscriptions;

/// The reader's current (not ended) subscription, whether or not its period has run out.
pub fn current(conn: &mut PgConnection, user_id: i64) -> QueryResult<Option<SubscriptionRow>> {
    subscriptions::table
        .filter(subscriptions::user_id.eq(user_id))
        .filter(subscriptions::status.ne("ended"))
        .select(SubscriptionRow::as_select())
        .first(conn)
        .optional()
}

/// As [`current`], locking the row until the transaction ends.
pub fn current_for_update(
    conn: &mut PgConnection,
    user_id: i64,
) -> QueryResult<Option<SubscriptionRow>> {
    subscriptions::table
        .filter(subscriptions::user_id.eq(user_id))
        .filter(subscriptions::status.ne("ended"))
        .select(SubscriptionRow::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// Fails with a unique violation when the reader already has a current subscription.
pub fn insert(conn: &mut PgConnection, new: &NewSubscription<'_>) -> QueryResult<i64> {
    diesel::insert_into(subscriptions::table)
        .values(new)
        .returning(subscriptions::id)
        .get_result(conn)
}

pub fn cancel(conn: &mut PgConnection, id: i64, now: OffsetDateTime) -> QueryResult<()> {
    diesel::update(subscriptions::table.find(id))
        .set((
            subscriptions::status.eq("canceled"),
            subscriptions::canceled_at.eq(Some(now)),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn resume(conn: &mut PgConnection, id: i64) -> QueryResult<()> {
    diesel::update(subscriptions::table.find(id))
        .set((
            subscriptions::status.eq("active"),
            subscriptions::canceled_at.eq(None::<OffsetDateTime>),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn end(conn: &mut PgConnection, id: i64, now: OffsetDateTime) -> QueryResult<()> {
    diesel::update(subscriptions::table.find(id))
        .set((
            subscriptions::status.eq("ended"),
            subscriptions::ended_at.eq(Some(now)),
        ))
        .execute(conn)
        .map(|_| ())
}
